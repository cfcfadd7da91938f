//! Baselines (`--baseline FILE`): the fingerprints of findings already known, read from a
//! previous `--format json`, `jsonl` or `sarif` output (`sluice baseline create` writes json).
//! A fingerprint hashes the rule id and the secret value only, so a finding stays suppressed
//! when its line moves or its file is renamed; a new secret, or the same one under another rule,
//! is reported.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// A set of finding fingerprints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baseline {
    fingerprints: HashSet<String>,
}

impl Baseline {
    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("cannot read baseline '{}': {}", path.display(), crate::error::io_message(&e)),
            )
        })?;
        Baseline::parse(&text).map_err(|e| {
            e.context(format!("baseline '{}'", path.display())).with_hint(
                "a baseline is the output of 'sluice baseline create' or of a scan with --format json, jsonl or sarif",
            )
        })
    }

    /// Parses a json document (`{"findings": [...]}`), JSON Lines, or a SARIF log.
    pub fn parse(text: &str) -> Result<Baseline, Error> {
        let mut baseline = Baseline::default();
        let trimmed = text.trim_start();
        // One document (json or SARIF) parses whole; JSON Lines does not (or is a single line).
        match serde_json::from_str::<Value>(trimmed) {
            Ok(doc) if doc.get("findings").is_some() || doc.get("runs").is_some() => baseline.add_document(&doc)?,
            Ok(one) => baseline.add_line(&one),
            Err(_) => {
                for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                    let v: Value = serde_json::from_str(line)
                        .map_err(|e| Error::new(ErrorKind::Config, format!("line {}: not JSON: {e}", i + 1)))?;
                    baseline.add_line(&v);
                }
            }
        }
        Ok(baseline)
    }

    fn add_document(&mut self, doc: &Value) -> Result<(), Error> {
        if let Some(findings) = doc.get("findings") {
            let list = findings.as_array().ok_or_else(|| Error::new(ErrorKind::Config, "'findings' is not a list"))?;
            for f in list {
                self.add_line(f);
            }
        }
        for run in doc.get("runs").and_then(Value::as_array).into_iter().flatten() {
            for result in run.get("results").and_then(Value::as_array).into_iter().flatten() {
                let prints = result.get("partialFingerprints").and_then(Value::as_object);
                if let Some(fp) =
                    prints.and_then(|p| p.get(crate::report::sarif::FINGERPRINT_KEY)).and_then(Value::as_str)
                {
                    self.fingerprints.insert(fp.to_string());
                }
            }
        }
        Ok(())
    }

    fn add_line(&mut self, v: &Value) {
        let is_finding = v.get("kind").is_none_or(|k| k == "finding");
        if let (true, Some(fp)) = (is_finding, v.get("fingerprint").and_then(Value::as_str)) {
            self.fingerprints.insert(fp.to_string());
        }
    }

    /// True when a finding with this fingerprint is in the baseline.
    pub fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    /// Number of fingerprints.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    /// True when the baseline holds no fingerprint.
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format() {
        let cases: &[(&str, &[&str])] = &[
            (
                r#"{"findings":[{"kind":"finding","fingerprint":"aa"},{"fingerprint":"bb"}],"errors":[],"summary":{}}"#,
                &["aa", "bb"],
            ),
            (
                "{\"kind\":\"finding\",\"fingerprint\":\"aa\"}\n\n{\"kind\":\"error\",\"fingerprint\":\"zz\"}\n{\"kind\":\"summary\"}\n",
                &["aa"],
            ),
            ("{\"kind\":\"finding\",\"fingerprint\":\"cc\"}\n", &["cc"]),
            (r#"{"version":"2.1.0","runs":[{"results":[{"partialFingerprints":{"sluice/v1":"dd"}}]}]}"#, &["dd"]),
            ("", &[]),
        ];
        for &(text, want) in cases {
            let b = Baseline::parse(text).unwrap();
            assert_eq!(b.len(), want.len(), "{text}");
            for fp in want {
                assert!(b.contains(fp), "{text} {fp}");
            }
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(Baseline::parse("{\"kind\":\"finding\"}\nnot json\n").unwrap_err().to_string().contains("line 2"));
        assert!(Baseline::parse(r#"{"findings": 3}"#).is_err());
    }
}
