//! Reporting: records (findings, errors, skips) and the summary, turned into human text, JSON
//! Lines or one JSON document. Reporters see records and rule metadata, never automata.

pub mod group;
pub mod hints;
pub mod human;
pub mod json;
pub mod merge;
pub mod sarif;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::input::{Chain, SkipReason};
use crate::rules::{RuleId, RuleSet, Severity};

/// One finding, located.
#[derive(Clone, Debug, PartialEq)]
pub struct FindingRecord {
    /// The rule that matched.
    pub rule: RuleId,
    /// Where: file path and archive members.
    pub chain: Chain,
    /// 1-based line, `None` for whole-file findings.
    pub line: Option<u64>,
    /// 1-based byte column, `None` for whole-file findings.
    pub column: Option<u64>,
    /// The secret value (raw bytes; masked on output unless `--show-secrets`).
    pub secret: Vec<u8>,
    /// Shannon entropy of the secret.
    pub entropy: Option<f32>,
    /// The validator that confirmed it.
    pub validated: Option<crate::rules::validate::Validator>,
    /// `test`, `docs` or `example` ([`crate::context`]); `None` for shipped runtime code.
    pub context: Option<crate::context::Context>,
    /// A documented sample or widely shipped test key ([`known_public`]): reported at `low`.
    pub known_public: bool,
    /// The package it lies in, and a summary's note (issue 12); shared by an input's findings.
    pub meta: Option<std::sync::Arc<crate::package::FindingMeta>>,
    /// For a finding in git objects: commit, blob, path in the tree, author date (issue 13).
    pub git: Option<std::sync::Arc<crate::git::Origin>>,
}

impl FindingRecord {
    /// Hash of rule id and secret value only: stable when the secret moves.
    pub fn fingerprint(&self, rules: &RuleSet) -> String {
        fingerprint(&rules.get(self.rule).id, &self.secret)
    }

    /// The rule's severity, or `low` for a known public value.
    pub fn severity(&self, rules: &RuleSet) -> Severity {
        if self.known_public { Severity::Low } else { rules.get(self.rule).severity }
    }
}

/// True when `fingerprint` is in the builtin list of known public values (`rules/known-public.txt`:
/// documented sample keys and the test keys that many packages ship; data, not code).
pub fn known_public(fingerprint: &str) -> bool {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        include_str!("../../rules/known-public.txt")
            .lines()
            .filter_map(|l| l.split('#').next()?.split_whitespace().next())
            .collect()
    })
    .contains(fingerprint)
}

/// Hex SHA-256 of `rule id`, a NUL byte and the secret.
pub fn fingerprint(rule_id: &str, secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0]);
    h.update(secret);
    let mut hex = String::with_capacity(64);
    for b in h.finalize() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Anything a scan reports besides the summary.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// A finding.
    Finding(FindingRecord),
    /// A unit that could not be (fully) scanned.
    Error {
        /// Where.
        chain: Chain,
        /// Lowercase message.
        message: String,
    },
    /// A unit that was deliberately not scanned.
    Skipped {
        /// Where.
        chain: Chain,
        /// Why.
        reason: SkipReason,
        /// Detail.
        message: String,
    },
}

/// Totals for the whole scan.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Files read from disk (or stdin).
    pub files: u64,
    /// Bytes scanned, archive members expanded included.
    pub bytes: u64,
    /// Archives opened.
    pub archives: u64,
    /// Archive members visited.
    pub members: u64,
    /// Findings reported.
    pub findings: u64,
    /// Skips by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Error records.
    pub errors: u64,
    /// Findings suppressed because their fingerprint is in the baseline.
    pub suppressed: u64,
    /// Findings not reported because of `--min-confidence` or `--context`.
    pub filtered: u64,
    /// Inputs not scanned but replayed from the state store (`--state`, issue 12).
    pub replayed: u64,
    /// Wall time.
    pub elapsed_ms: u64,
    /// The scan was stopped by a signal.
    pub interrupted: bool,
}

/// Output options shared by every reporter.
#[derive(Clone, Copy, Debug, Default)]
pub struct OutputOptions {
    /// Print secrets in full.
    pub show_secrets: bool,
    /// Use ANSI colors (human output only).
    pub color: bool,
}

/// A reporter gets every record once, then the summary.
pub trait Reporter: Send {
    /// One record; streaming reporters write (and flush) it now.
    fn record(&mut self, rules: &RuleSet, record: &Record) -> io::Result<()>;
    /// The end of the scan.
    fn end(&mut self, rules: &RuleSet, summary: &Summary) -> io::Result<()>;
}

/// `first4…last4` of a secret, or a shorter mask for short secrets.
pub fn mask(secret: &[u8], show: bool) -> String {
    let s = String::from_utf8_lossy(secret);
    if show {
        return s.into_owned();
    }
    let chars: Vec<char> = s.chars().collect();
    if chars.len() >= 12 {
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}…{tail}")
    } else if chars.len() >= 6 {
        let head: String = chars[..2].iter().collect();
        format!("{head}…")
    } else {
        "…".to_string()
    }
}

/// A path as a display string (lossy for non-UTF-8).
pub fn path_string(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Escapes control characters (and `\`) so a name or snippet cannot drive the terminal.
pub fn escape_control(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask(b"ghp_abcdefghijklmnopqrstuvwxyz", false), "ghp_…wxyz");
        assert_eq!(mask(b"ghp_abcdefghijklmnopqrstuvwxyz", true), "ghp_abcdefghijklmnopqrstuvwxyz");
        assert_eq!(mask(b"abcdefg", false), "ab…");
        assert_eq!(mask(b"abc", false), "…");
    }

    #[test]
    fn escapes() {
        assert_eq!(escape_control("a\x1b[31mb\n"), "a\\x{1b}[31mb\\n");
    }

    #[test]
    fn known_public_values_are_low() {
        let listed = "fb2612d824d39cc84081634d5e0af49e18aa944578f50f72659318fc6b136973";
        assert!(known_public(listed));
        assert!(!known_public(&fingerprint("private-key.pem", b"a key nobody has seen")));
        assert!(!known_public("#"));
        let mut rules = RuleSet::default();
        rules
            .add_toml(
                "t",
                "[[rule]]\nid = \"t.k\"\ndescription = \"d\"\ncategory = \"secret\"\nseverity = \"high\"\nkeywords = [\"k\"]\npattern = 'k'\nexamples = ['k']\nnegative_examples = ['x']\n",
            )
            .unwrap();
        let mut f = FindingRecord {
            rule: RuleId(0),
            chain: Chain::file("a"),
            line: None,
            column: None,
            secret: b"k".to_vec(),
            entropy: None,
            validated: None,
            context: None,
            known_public: false,
            meta: None,
            git: None,
        };
        assert_eq!(f.severity(&rules), Severity::High);
        f.known_public = true;
        assert_eq!(f.severity(&rules), Severity::Low);
    }

    #[test]
    fn fingerprint_depends_on_rule_and_secret_only() {
        assert_eq!(fingerprint("a.b", b"s"), fingerprint("a.b", b"s"));
        assert_ne!(fingerprint("a.b", b"s"), fingerprint("a.c", b"s"));
        assert_eq!(fingerprint("a.b", b"s").len(), 64);
    }
}
