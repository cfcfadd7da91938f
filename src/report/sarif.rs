//! SARIF 2.1.0 (`--format sarif`): one log with one run, as GitHub code scanning reads it.
//!
//! - `tool.driver.rules`: one `reportingDescriptor` per rule of the rule set (so `ruleIndex` is
//!   the rule's index), with the description, a help text holding the remediation hint, a
//!   `helpUri`, `defaultConfiguration.level` from the severity and GitHub's `security-severity`.
//! - `results`: `ruleId`, `ruleIndex`, `level`, a message with the masked secret, one location
//!   and `partialFingerprints["sluice/v1"]` (the finding fingerprint, so code scanning tracks a
//!   secret across moves as a baseline does).
//! - Locations: `artifactLocation.uri` is always a real file (the path relative to the scan, or
//!   a `file://` URI for an absolute path), so code scanning can place it. A finding inside an
//!   archive names the archive file, carries no region (its line is in the member, not the
//!   archive) and adds a `logicalLocations` entry whose `fullyQualifiedName` is the full chain
//!   `path!member!member`; its member line and column are in the message and in `properties`.
//!   Whole-file findings have no region.
//! - Errors become `invocations[0].toolExecutionNotifications`; `executionSuccessful` is false
//!   when any input could not be fully scanned.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Record, Reporter, Summary, escape_control, hints, json::sort_records, mask};
use crate::input::Chain;
use crate::rules::{RuleSet, Severity};

/// The `partialFingerprints` key holding the finding fingerprint.
pub const FINGERPRINT_KEY: &str = "sluice/v1";

/// Collects records and writes the log at the end.
pub struct Sarif<W: Write + Send> {
    out: W,
    show_secrets: bool,
    records: Vec<Record>,
}

impl<W: Write + Send> Sarif<W> {
    /// A SARIF reporter writing to `out`.
    pub fn new(out: W, show_secrets: bool) -> Self {
        Sarif { out, show_secrets, records: Vec::new() }
    }
}

impl<W: Write + Send> Reporter for Sarif<W> {
    fn record(&mut self, _rules: &RuleSet, record: &Record) -> io::Result<()> {
        if !matches!(record, Record::Skipped { .. }) {
            self.records.push(record.clone());
        }
        Ok(())
    }

    fn end(&mut self, rules: &RuleSet, summary: &Summary) -> io::Result<()> {
        sort_records(&mut self.records);
        let log = log(rules, &self.records, summary, self.show_secrets);
        serde_json::to_writer_pretty(&mut self.out, &log)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// The whole SARIF log for `records` (findings and errors, sorted by the caller).
pub fn log(rules: &RuleSet, records: &[Record], summary: &Summary, show_secrets: bool) -> Value {
    let descriptors: Vec<Value> = rules.rules().iter().map(descriptor).collect();
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for record in records {
        match record {
            Record::Finding(f) => {
                let rule = rules.get(f.rule);
                let secret = escape_control(&mask(&f.secret, show_secrets));
                let mut location = json!({"physicalLocation": {"artifactLocation": {"uri": uri(&f.chain)}}});
                let mut properties =
                    json!({"category": rule.category.as_str(), "severity": f.severity(rules).as_str()});
                let mut text = format!("{}: {secret}", rule.description);
                if f.chain.members.is_empty() {
                    if let (Some(line), Some(column)) = (f.line, f.column) {
                        location["physicalLocation"]["region"] = json!({"startLine": line, "startColumn": column});
                    }
                } else {
                    let full = escape_control(&f.chain.to_string());
                    location["logicalLocations"] = json!([{
                        "name": escape_control(&String::from_utf8_lossy(&f.chain.leaf_name())),
                        "fullyQualifiedName": full,
                        "kind": "module",
                    }]);
                    let members: Vec<String> =
                        f.chain.members.iter().map(|m| escape_control(&String::from_utf8_lossy(m))).collect();
                    properties["chain"] = members.into();
                    text.push_str(&format!(" in {full}"));
                    if let (Some(line), Some(column)) = (f.line, f.column) {
                        properties["line"] = line.into();
                        properties["column"] = column.into();
                        text.push_str(&format!(":{line}:{column}"));
                    }
                }
                properties["confidence"] = rule.confidence().as_str().into();
                if f.known_public {
                    properties["known_public"] = true.into();
                }
                if let Some(v) = f.validated {
                    properties["validated"] = v.name().into();
                }
                if let Some(c) = f.context {
                    properties["context"] = c.as_str().into();
                }
                if let (Some(meta), Some(props)) = (&f.meta, properties.as_object_mut()) {
                    super::json::insert_meta(props, meta);
                    if let Some(note) = &meta.note {
                        text = format!("{}: {}", rule.description, escape_control(note));
                    }
                }
                if let Some(g) = &f.git
                    && let Some(obj) = properties.as_object_mut()
                {
                    super::json::insert_git(obj, g);
                }
                if let Some(scope) = crate::scope::of(&rule.id, &f.secret) {
                    properties["scope"] = scope.to_json();
                }
                results.push(json!({
                    "ruleId": rule.id,
                    "ruleIndex": f.rule.0,
                    "level": level(f.severity(rules)),
                    "message": {"text": text},
                    "locations": [location],
                    "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint(rules)},
                    "properties": properties,
                }));
            }
            Record::Error { chain, message } => notifications.push(json!({
                "level": "error",
                "message": {"text": format!("{}: {}", escape_control(&chain.to_string()), escape_control(message))},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri(chain)}}}],
            })),
            Record::Skipped { .. } => {}
        }
    }
    let version = env!("CARGO_PKG_VERSION");
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "sluice",
                "version": version,
                "semanticVersion": version,
                "rules": descriptors,
            }},
            "invocations": [{
                "executionSuccessful": summary.errors == 0 && !summary.interrupted,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub's `security-severity` (a CVSS-like score as a string: ≥ 7 high, ≥ 4 medium).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "8.0",
        Severity::Medium => "5.0",
        Severity::Low => "2.0",
    }
}

fn descriptor(rule: &crate::rules::Rule) -> Value {
    let hint = hints::hint(rule);
    let mut help = format!("{}.\n\nRemediation: {hint}.", rule.description.trim_end_matches('.'));
    let mut markdown = format!("{}.\n\n**Remediation:** {hint}.", rule.description.trim_end_matches('.'));
    if !rule.references.is_empty() {
        help.push_str("\n\nReferences:");
        markdown.push_str("\n\n**References:**\n");
        for r in &rule.references {
            help.push_str(&format!("\n- {r}"));
            markdown.push_str(&format!("\n- <{r}>"));
        }
    }
    let mut d = json!({
        "id": rule.id,
        "name": rule.id,
        "shortDescription": {"text": rule.description},
        "fullDescription": {"text": format!("{} ({}, {} severity)", rule.description, rule.category, rule.severity.as_str())},
        "help": {"text": help, "markdown": markdown},
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": {
            "tags": ["security", rule.category.as_str()],
            "security-severity": security_severity(rule.severity),
            "precision": if rule.validate.is_some() { "very-high" } else { "high" },
        },
    });
    if let Some(url) = rule.references.iter().find(|r| r.starts_with("https://") || r.starts_with("http://")) {
        d["helpUri"] = url.as_str().into();
    }
    d
}

/// The artifact URI of a chain's file: relative paths as relative references (`/`-separated,
/// `./` dropped), absolute paths as `file://` URIs; bytes outside the URI path set are
/// percent-encoded.
pub fn uri(chain: &Chain) -> String {
    let raw = chain.path.as_os_str().as_encoded_bytes();
    let mut path: &[u8] = raw;
    while let Some(rest) = path.strip_prefix(b"./") {
        path = rest;
    }
    let mut out = String::with_capacity(path.len() + 8);
    if path.first() == Some(&b'/') {
        out.push_str("file://");
    }
    // A ':' before the first '/' would read as a URI scheme.
    let mut slash = !out.is_empty();
    for &b in path {
        slash |= b == b'/';
        let keep = b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&b) || (b == b':' && slash);
        if keep {
            out.push(b as char);
        } else if b == b'\\' && cfg!(windows) {
            out.push('/');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() { ".".to_string() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        let cases = [
            ("src/a.js", "src/a.js"),
            ("./src/a.js", "src/a.js"),
            ("/tmp/x y/a.js", "file:///tmp/x%20y/a.js"),
            ("dir/100%.txt", "dir/100%25.txt"),
            ("a:b", "a%3Ab"),
            ("d/a:b", "d/a:b"),
            ("naïve#1?.txt", "na%C3%AFve%231%3F.txt"),
        ];
        for (path, want) in cases {
            assert_eq!(uri(&Chain::file(path)), want, "{path}");
        }
    }
}
