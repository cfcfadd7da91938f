//! `sluice report SCAN.jsonl` (issue 12): occurrences grouped into secrets. The unit a registry
//! operator acts on is the secret (one fingerprint: rule and value), with the packages and
//! versions that carry it, not each file it was found in. Input is JSON Lines output of `sluice
//! scan` (or `sluice merge`); records other than findings are ignored.
//!
//! JSON: `{"secrets": [{"rule","category","severity","confidence","secret","fingerprint",
//! "occurrences","outside_test","packages":[{"ecosystem","name","versions",...}],
//! "first_version","last_version","locations"}], "occurrences": N}`. Human: a table sorted by
//! severity, then spread (packages, versions, occurrences).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, Write};

use serde_json::{Value, json};

use super::escape_control;
use crate::package::version_cmp;

/// Locations kept per secret.
const LOCATIONS: usize = 3;

/// One secret and where it occurs.
#[derive(Clone, Debug, Default)]
pub struct Secret {
    /// Rule id.
    pub rule: String,
    /// Rule category.
    pub category: String,
    /// `high`, `medium` or `low`.
    pub severity: String,
    /// Confidence, when the scan reported one.
    pub confidence: Option<String>,
    /// The secret as the scan wrote it (masked unless `--show-secrets`).
    pub secret: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// Findings that carry it.
    pub occurrences: u64,
    /// Any occurrence outside test context.
    pub outside_test: bool,
    /// `(ecosystem, name)` → versions.
    pub packages: BTreeMap<(String, String), BTreeSet<String>>,
    /// A few locations (`path!member:line`).
    pub locations: Vec<String>,
}

impl Secret {
    fn versions(&self) -> impl Iterator<Item = &String> {
        self.packages.values().flatten()
    }

    /// The lowest and highest version carrying it (over all its packages).
    pub fn span(&self) -> Option<(&str, &str)> {
        let min = self.versions().min_by(|a, b| version_cmp(a, b))?;
        let max = self.versions().max_by(|a, b| version_cmp(a, b))?;
        Some((min, max))
    }

    fn rank(&self) -> (u8, Reverse<usize>, Reverse<usize>, Reverse<u64>) {
        let sev = match self.severity.as_str() {
            "high" => 0,
            "medium" => 1,
            "low" => 2,
            _ => 3,
        };
        (sev, Reverse(self.packages.len()), Reverse(self.versions().count()), Reverse(self.occurrences))
    }
}

/// Groups the findings of a JSON Lines scan by fingerprint. Lines that are not JSON are an error
/// naming the line.
pub fn group(input: impl BufRead) -> io::Result<Vec<Secret>> {
    let mut by_fp: BTreeMap<String, Secret> = BTreeMap::new();
    for v in super::json::read_records(input) {
        let v = v?;
        if v.get("kind").and_then(Value::as_str) != Some("finding") {
            continue;
        }
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let fp = s("fingerprint");
        let entry = by_fp.entry(fp.clone()).or_insert_with(|| Secret {
            rule: s("rule"),
            category: s("category"),
            severity: s("severity"),
            confidence: v.get("confidence").and_then(Value::as_str).map(str::to_string),
            secret: s("secret"),
            fingerprint: fp,
            ..Secret::default()
        });
        entry.occurrences += 1;
        entry.outside_test |= v.get("context").and_then(Value::as_str) != Some("test");
        if let Some(p) = v.get("package") {
            let f = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            entry.packages.entry((f("ecosystem"), f("name"))).or_default().insert(f("version"));
        }
        if entry.locations.len() < LOCATIONS {
            entry.locations.push(location(&v));
        }
    }
    let mut secrets: Vec<Secret> = by_fp.into_values().collect();
    secrets.sort_by(|a, b| a.rank().cmp(&b.rank()).then_with(|| a.rule.cmp(&b.rule)));
    Ok(secrets)
}

fn location(v: &Value) -> String {
    let mut loc = v.get("path").and_then(Value::as_str).unwrap_or_default().to_string();
    for m in v.get("chain").and_then(Value::as_array).into_iter().flatten() {
        loc.push('!');
        loc.push_str(m.as_str().unwrap_or_default());
    }
    if let Some(l) = v.get("line").and_then(Value::as_u64) {
        loc.push_str(&format!(":{l}"));
    }
    loc
}

/// The JSON document.
pub fn to_json(secrets: &[Secret]) -> Value {
    let list: Vec<Value> = secrets
        .iter()
        .map(|s| {
            let packages: Vec<Value> = s
                .packages
                .iter()
                .map(|((eco, name), versions)| {
                    let mut vs: Vec<&String> = versions.iter().collect();
                    vs.sort_by(|a, b| version_cmp(a, b));
                    json!({"ecosystem": eco, "name": name, "versions": vs,
                           "first_version": vs.first(), "last_version": vs.last()})
                })
                .collect();
            let (first, last) = s.span().unzip();
            json!({
                "rule": s.rule, "category": s.category, "severity": s.severity, "confidence": s.confidence,
                "secret": s.secret, "fingerprint": s.fingerprint, "occurrences": s.occurrences,
                "outside_test": s.outside_test, "packages": packages,
                "first_version": first, "last_version": last, "locations": s.locations,
            })
        })
        .collect();
    let occurrences: u64 = secrets.iter().map(|s| s.occurrences).sum();
    json!({"secrets": list, "occurrences": occurrences})
}

/// The human table: severity, rule, secret, spread, where.
pub fn human(secrets: &[Secret], out: &mut dyn Write) -> io::Result<()> {
    let rule_w = secrets.iter().map(|s| s.rule.len()).max().unwrap_or(4).max(4);
    let secret_w = secrets.iter().map(|s| s.secret.chars().count()).max().unwrap_or(6).clamp(6, 24);
    writeln!(
        out,
        "{:<6}  {:<rule_w$}  {:<secret_w$}  {:>5}  {:>4}  {:>4}  WHERE",
        "SEV", "RULE", "SECRET", "OCCUR", "PKGS", "VERS"
    )?;
    for s in secrets {
        let versions = s.versions().count();
        let mut place: Vec<String> = s
            .packages
            .iter()
            .take(3)
            .map(|((eco, name), vs)| {
                let mut vs: Vec<&String> = vs.iter().collect();
                vs.sort_by(|a, b| version_cmp(a, b));
                match (vs.first(), vs.last()) {
                    (Some(a), Some(b)) if a != b => format!("{eco}:{name} {a}…{b}"),
                    (Some(a), _) => format!("{eco}:{name} {a}"),
                    _ => format!("{eco}:{name}"),
                }
            })
            .collect();
        if s.packages.len() > 3 {
            place.push(format!("+{} more", s.packages.len() - 3));
        }
        if place.is_empty() {
            place.extend(s.locations.first().cloned());
        }
        let test = if s.outside_test { "" } else { "  (test only)" };
        let secret: String = escape_control(&s.secret).chars().take(secret_w).collect();
        writeln!(
            out,
            "{:<6}  {:<rule_w$}  {secret:<secret_w$}  {:>5}  {:>4}  {:>4}  {}{test}",
            s.severity,
            s.rule,
            s.occurrences,
            s.packages.len(),
            versions,
            escape_control(&place.join(", ")),
        )?;
    }
    let occurrences: u64 = secrets.iter().map(|s| s.occurrences).sum();
    writeln!(out, "\n{} secrets in {occurrences} occurrences", secrets.len())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_fingerprint() {
        let line = |fp: &str, sev: &str, ver: &str, ctx: Option<&str>| {
            let mut v = json!({"kind":"finding","rule":"r.x","severity":sev,"category":"secret","secret":"ab…","fingerprint":fp,
                "path":"m/x.tgz","chain":["package/a.js"],"line":1,
                "package":{"ecosystem":"npm","name":"x","version":ver}});
            if let Some(c) = ctx {
                v["context"] = c.into();
            }
            v.to_string()
        };
        let text = [
            line("a", "low", "1.0.0", None),
            line("b", "high", "1.10.0", Some("test")),
            line("b", "high", "1.9.0", Some("test")),
            r#"{"kind":"summary","files":1}"#.to_string(),
        ]
        .join("\n");
        let secrets = group(text.as_bytes()).unwrap();
        assert_eq!(secrets.len(), 2);
        assert_eq!(secrets[0].fingerprint, "b");
        assert_eq!(secrets[0].occurrences, 2);
        assert!(!secrets[0].outside_test);
        assert_eq!(secrets[0].span(), Some(("1.9.0", "1.10.0")));
        let doc = to_json(&secrets);
        assert_eq!(doc["secrets"][0]["last_version"], "1.10.0");
        let mut out = Vec::new();
        human(&secrets, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("npm:x 1.9.0…1.10.0  (test only)"), "{text}");
    }
}
