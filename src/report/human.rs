//! Terminal text: findings grouped by file and sorted, secrets masked, control characters in
//! names escaped, color only when asked (the CLI enables it on a tty without `NO_COLOR`).
//! Errors go to stderr as they happen; the summary line ends the output.

use std::io::{self, Write};

use super::{FindingRecord, OutputOptions, Record, Reporter, Summary, escape_control, mask};
use crate::rules::{RuleSet, Severity};

/// Buffers findings and prints them grouped at the end.
pub struct Human<W: Write + Send> {
    out: W,
    opts: OutputOptions,
    findings: Vec<FindingRecord>,
}

impl<W: Write + Send> Human<W> {
    /// A human reporter writing to `out`.
    pub fn new(out: W, opts: OutputOptions) -> Self {
        Human { out, opts, findings: Vec::new() }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.opts.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
}

impl<W: Write + Send> Reporter for Human<W> {
    fn record(&mut self, _rules: &RuleSet, record: &Record) -> io::Result<()> {
        match record {
            Record::Finding(f) => self.findings.push(f.clone()),
            Record::Error { chain, message } => {
                let mut err = io::stderr().lock();
                writeln!(err, "sluice: error: {}: {}", escape_control(&chain.to_string()), escape_control(message))?;
            }
            Record::Skipped { .. } => {}
        }
        Ok(())
    }

    fn end(&mut self, rules: &RuleSet, summary: &Summary) -> io::Result<()> {
        let mut findings = std::mem::take(&mut self.findings);
        findings.sort_by(|a, b| (&a.chain, a.line, a.column, a.rule).cmp(&(&b.chain, b.line, b.column, b.rule)));
        let mut last_chain = None;
        for f in &findings {
            if last_chain != Some(&f.chain) {
                if last_chain.is_some() {
                    writeln!(self.out)?;
                }
                let name = escape_control(&f.chain.to_string());
                let header = self.paint("1", &name);
                writeln!(self.out, "{header}")?;
                last_chain = Some(&f.chain);
            }
            let rule = rules.get(f.rule);
            let pos = match (f.line, f.column) {
                (Some(l), Some(c)) => format!("{l}:{c}"),
                _ => "-".to_string(),
            };
            let sev = match rule.severity {
                Severity::High => self.paint("31", "high"),
                Severity::Medium => self.paint("33", "medium"),
                Severity::Low => self.paint("36", "low"),
            };
            let secret = escape_control(&mask(&f.secret, self.opts.show_secrets));
            let context = if f.context.is_some() { " (test)" } else { "" };
            writeln!(self.out, "  {pos:<9} {sev:<6} {}  {}{context}  {secret}", rule.id, rule.description)?;
            if let Some(hint) = &rule.remediation {
                writeln!(self.out, "            hint: {hint}")?;
            }
        }
        if !findings.is_empty() {
            writeln!(self.out)?;
        }
        let skipped: u64 = summary.skipped.values().sum();
        writeln!(
            self.out,
            "{} findings in {} files ({} bytes, {} archives, {} members), {} skipped, {} errors, {:.2}s{}",
            summary.findings,
            summary.files,
            summary.bytes,
            summary.archives,
            summary.members,
            skipped,
            summary.errors,
            summary.elapsed_ms as f64 / 1000.0,
            if summary.interrupted { " (interrupted)" } else { "" },
        )?;
        self.out.flush()
    }
}
