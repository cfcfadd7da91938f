//! `sluice watch` output: one JSON document (`{"candidates": [...], "summary": {...}}`) or
//! terminal text, most suspicious first. Names come from the input, so control characters are
//! escaped in text output.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Candidate, Report};

/// The JSON document.
pub fn to_json(report: &Report) -> Value {
    let candidates: Vec<Value> = report.candidates.iter().map(candidate_json).collect();
    json!({
        "candidates": candidates,
        "summary": {
            "targets": report.targets.iter().map(|(e, n)| json!({"ecosystem": e.as_str(), "name": n})).collect::<Vec<_>>(),
            "names": report.names,
            "archives": report.archives,
            "candidates": report.candidates.len(),
            "errors": report.errors.len(),
            "build_ms": report.build_ms,
            "query_ms": report.query_ms,
            "sluice_version": env!("CARGO_PKG_VERSION"),
        },
        "errors": report.errors,
    })
}

fn candidate_json(c: &Candidate) -> Value {
    let mut v = json!({
        "name": c.name,
        "ecosystem": c.ecosystem.as_str(),
        "kind": c.kind.as_str(),
        "rules": c.rules.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "target": c.target,
        "evidence": c.evidence,
        "versions": c.versions,
        "related": c.related,
        "score": c.score,
    });
    if let Some(copy) = &c.copy {
        v["copy"] = json!({
            "of": copy.of,
            "share": (copy.share() * 1000.0).round() / 1000.0,
            "identical": copy.identical,
            "files": copy.files,
            "differs": copy.differs.iter().map(|(p, ch)| json!({"path": p, "change": ch})).collect::<Vec<_>>(),
        });
    }
    v
}

/// Writes the JSON document.
pub fn write_json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_json(report))?;
    writeln!(out)
}

fn clean(s: &str) -> String {
    s.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

/// Writes terminal text: one block per candidate.
pub fn write_human(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for c in &report.candidates {
        writeln!(
            out,
            "{} {}  {} of '{}'  (score {})",
            c.ecosystem,
            clean(&c.name),
            c.kind.as_str(),
            clean(&c.target),
            c.score
        )?;
        writeln!(out, "    {}", clean(&c.evidence))?;
        if !c.versions.is_empty() {
            writeln!(out, "    versions: {}", clean(&c.versions.join(", ")))?;
        }
        if let Some(copy) = &c.copy {
            for (path, change) in &copy.differs {
                writeln!(out, "    {change}: {}", clean(path))?;
            }
        }
        if !c.related.is_empty() {
            writeln!(out, "    likely family: {}", clean(&c.related.join("; ")))?;
        }
    }
    Ok(())
}

/// One summary line for stderr.
pub fn summary_line(report: &Report) -> String {
    let source = if report.archives > 0 {
        format!("{} names in {} archives", report.names, report.archives)
    } else {
        format!("{} names", report.names)
    };
    let errors = if report.errors.is_empty() { String::new() } else { format!(", {} errors", report.errors.len()) };
    format!(
        "{} candidates for {} target names among {source}{errors} (index {} ms, queries {} ms)",
        report.candidates.len(),
        report.targets.len(),
        report.build_ms,
        report.query_ms
    )
}
