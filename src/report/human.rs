//! Terminal text. Findings are buffered, sorted and grouped by package (a header line naming
//! `ecosystem:name@version`, issue 12), then by file (a blank line between files); each line
//! starts with its full location `path!member:line:col` so editors and terminals can jump to it, then severity, rule id, description and the masked secret. One
//! remediation hint per rule family follows the findings, then one summary line. Control
//! characters in names and secrets are escaped; color only when asked (the CLI enables it on a
//! tty without `NO_COLOR`). Errors go to stderr as they happen.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{FindingRecord, OutputOptions, Record, Reporter, Summary, escape_control, hints, mask};
use crate::context;
use crate::package::Package;
use crate::rules::{Confidence, RuleSet, Severity};

/// Buffers findings and prints them grouped at the end.
pub struct Human<W: Write + Send> {
    out: W,
    opts: OutputOptions,
    quiet: bool,
    findings: Vec<FindingRecord>,
}

impl<W: Write + Send> Human<W> {
    /// A human reporter writing to `out`.
    pub fn new(out: W, opts: OutputOptions) -> Self {
        Human { out, opts, quiet: false, findings: Vec::new() }
    }

    /// Leaves out the summary line (`--quiet`); findings and errors are still printed.
    #[must_use]
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.opts.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }

    /// `text` padded to `width` columns (padding outside the color codes).
    fn paint_pad(&self, code: &str, text: &str, width: usize) -> String {
        let pad = width.saturating_sub(text.chars().count());
        format!("{}{}", self.paint(code, text), " ".repeat(pad))
    }
}

impl<W: Write + Send> Reporter for Human<W> {
    fn record(&mut self, _rules: &RuleSet, record: &Record) -> io::Result<()> {
        match record {
            Record::Finding(f) => self.findings.push(f.clone()),
            Record::Error { chain, message } => {
                let label = if self.opts.color { "\x1b[31merror\x1b[0m" } else { "error" };
                let mut err = io::stderr().lock();
                writeln!(err, "sluice: {label}: {}: {}", escape_control(&chain.to_string()), escape_control(message))?;
            }
            Record::Skipped { .. } => {}
        }
        Ok(())
    }

    fn end(&mut self, rules: &RuleSet, summary: &Summary) -> io::Result<()> {
        let mut findings = std::mem::take(&mut self.findings);
        // Grouped by package first (issue 12): a registry operator acts on a release.
        findings.sort_by(|a, b| {
            (package(a), &a.chain, a.line, a.column, a.rule).cmp(&(package(b), &b.chain, b.line, b.column, b.rule))
        });
        let mut hints: BTreeMap<String, &str> = BTreeMap::new();
        let mut current: Option<&Package> = None;
        for group in findings.chunk_by(|a, b| a.chain == b.chain && package(a) == package(b)) {
            if let Some(pkg) = package(&group[0])
                && current != Some(pkg)
            {
                current = Some(pkg);
                writeln!(self.out, "{}", self.paint("1;4", &escape_control(&pkg.to_string())))?;
            }
            let locations: Vec<String> = group.iter().map(location).collect();
            let loc_width = locations.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            let id_width = group.iter().map(|f| rules.get(f.rule).id.len()).max().unwrap_or(0);
            let descriptions: Vec<String> = group
                .iter()
                .map(|f| match f.meta.as_ref().and_then(|m| m.note.as_ref()) {
                    Some(note) => escape_control(note),
                    None => escape_control(&rules.get(f.rule).description),
                })
                .collect();
            let desc_width = descriptions.iter().map(|d| d.chars().count()).max().unwrap_or(0);
            for ((f, loc), description) in group.iter().zip(&locations).zip(&descriptions) {
                let rule = rules.get(f.rule);
                hints.entry(hints::group(rule)).or_insert_with(|| hints::hint(rule));
                let sev = match f.severity(rules) {
                    Severity::High => self.paint_pad("31", "high", 6),
                    Severity::Medium => self.paint_pad("33", "medium", 6),
                    Severity::Low => self.paint_pad("36", "low", 6),
                };
                let is_note = f.meta.as_ref().is_some_and(|m| m.note.is_some());
                let secret = if is_note {
                    String::new() // a summary: the note says it all
                } else {
                    self.paint("33", &escape_control(&mask(&f.secret, self.opts.show_secrets)))
                };
                let mut context = f.context.map(|c| format!("  ({c})")).unwrap_or_default();
                if let Some(dep) = f.meta.as_ref().and_then(|m| m.dependency.as_ref()) {
                    context.push_str(&format!("  (in {})", escape_control(&dep.to_string())));
                }
                if let Some(scope) = crate::scope::of(&rule.id, &f.secret) {
                    // What the token can do, read from the token (issue 15).
                    context.push_str(&format!("  [{}]", escape_control(&scope.summary)));
                }
                writeln!(
                    self.out,
                    "{}  {sev}  {}  {description:<desc_width$}  {secret}{context}",
                    self.paint_pad("1", loc, loc_width),
                    self.paint_pad("36", &rule.id, id_width),
                )?;
            }
            writeln!(self.out)?;
        }
        if !hints.is_empty() {
            writeln!(self.out, "{}", self.paint("1", "how to fix:"))?;
            let width = hints.keys().map(String::len).max().unwrap_or(0);
            for (group, hint) in &hints {
                writeln!(self.out, "  {group:<width$}  {}", escape_control(hint))?;
            }
            writeln!(self.out)?;
        }
        if !self.quiet {
            let line = summary_line(summary, &findings, rules);
            let line = if findings.is_empty() { line } else { self.paint("1", &line) };
            writeln!(self.out, "{line}")?;
        }
        self.out.flush()
    }
}

/// The package a finding lies in, if known.
fn package(f: &FindingRecord) -> Option<&Package> {
    f.meta.as_ref().and_then(|m| m.package.as_ref())
}

/// `path!member:line:col` (escaped), or the chain alone for a whole-file finding.
fn location(f: &FindingRecord) -> String {
    let name = escape_control(&f.chain.to_string());
    match (f.line, f.column) {
        (Some(l), Some(c)) => format!("{name}:{l}:{c}"),
        _ => name,
    }
}

/// `n thing` or `n things`.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The last line: findings by severity, what was read, skips by reason, errors, time.
pub fn summary_line(s: &Summary, findings: &[FindingRecord], rules: &RuleSet) -> String {
    let mut line = if s.findings == 0 { "no findings".to_string() } else { count(s.findings, "finding", "findings") };
    let by_sev: Vec<String> = [Severity::High, Severity::Medium, Severity::Low]
        .iter()
        .filter_map(|&sev| {
            let n = findings.iter().filter(|f| f.severity(rules) == sev).count();
            (n > 0).then(|| format!("{n} {}", sev.as_str()))
        })
        .collect();
    if !by_sev.is_empty() {
        line.push_str(&format!(" ({})", by_sev.join(", ")));
    }
    // Issue 11: how sure, and where (runtime code versus fixtures and docs).
    let by_confidence: Vec<String> = [Confidence::High, Confidence::Medium, Confidence::Low]
        .iter()
        .filter_map(|&c| {
            let n = findings.iter().filter(|f| rules.get(f.rule).confidence() == c).count();
            (n > 0).then(|| format!("{n} {}", c.as_str()))
        })
        .collect();
    if !by_confidence.is_empty() {
        line.push_str(&format!(" (confidence: {})", by_confidence.join(", ")));
    }
    let by_context: Vec<String> =
        [None, Some(context::Context::Test), Some(context::Context::Docs), Some(context::Context::Example)]
            .iter()
            .filter_map(|&c| {
                let n = findings.iter().filter(|f| f.context == c).count();
                (n > 0 && (n < findings.len() || c.is_some()))
                    .then(|| format!("{n} {}", c.map_or(context::RUNTIME, context::Context::as_str)))
            })
            .collect();
    if !by_context.is_empty() {
        line.push_str(&format!(" (context: {})", by_context.join(", ")));
    }
    line.push_str(&format!(" in {} ({})", count(s.files, "file", "files"), size(s.bytes)));
    if s.archives > 0 {
        line.push_str(&format!(
            ", {} ({})",
            count(s.archives, "archive", "archives"),
            count(s.members, "member", "members")
        ));
    }
    let skipped: u64 = s.skipped.values().sum();
    line.push_str(&format!(", {skipped} skipped"));
    if skipped > 0 {
        let reasons: Vec<String> = s.skipped.iter().filter(|(_, n)| **n > 0).map(|(r, n)| format!("{n} {r}")).collect();
        line.push_str(&format!(" ({})", reasons.join(", ")));
    }
    line.push_str(&format!(", {}", count(s.errors, "error", "errors")));
    if s.suppressed > 0 {
        line.push_str(&format!(", {} suppressed by the baseline", s.suppressed));
    }
    if s.filtered > 0 {
        line.push_str(&format!(", {} below --min-confidence or outside --context", s.filtered));
    }
    if s.replayed > 0 {
        line.push_str(&format!(", {} unchanged (replayed from the state store)", count(s.replayed, "input", "inputs")));
    }
    line.push_str(&format!(", {:.2}s", s.elapsed_ms as f64 / 1000.0));
    if s.interrupted {
        line.push_str(" (interrupted)");
    }
    line
}

/// A byte count for people: `512 B`, `1.2 kB`, `3.4 MB`, `5.6 GB` (decimal units).
pub fn size(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = 0;
    while v >= 999.95 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let cases = [
            (0, "0 B"),
            (999, "999 B"),
            (1000, "1.0 kB"),
            (1_234_567, "1.2 MB"),
            (999_999, "1.0 MB"),
            (5 << 30, "5.4 GB"),
        ];
        for (n, want) in cases {
            assert_eq!(size(n), want, "{n}");
        }
    }

    #[test]
    fn summary_lines() {
        let rules = RuleSet::default();
        let mut s = Summary { files: 1, bytes: 10, elapsed_ms: 1234, ..Summary::default() };
        assert_eq!(summary_line(&s, &[], &rules), "no findings in 1 file (10 B), 0 skipped, 0 errors, 1.23s");
        s.archives = 2;
        s.members = 1;
        s.errors = 1;
        s.skipped.insert("symlink", 2);
        s.suppressed = 3;
        s.interrupted = true;
        assert_eq!(
            summary_line(&s, &[], &rules),
            "no findings in 1 file (10 B), 2 archives (1 member), 2 skipped (2 symlink), 1 error, 3 suppressed by the baseline, 1.23s (interrupted)"
        );
    }
}
