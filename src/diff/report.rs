//! A [`Diff`] written out: terminal text, one JSON document, or one SARIF 2.1.0 run with one
//! rule per item kind. Names from the packages have their control characters escaped.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Diff, Item, Level};
use crate::input::Chain;
use crate::report::escape_control;
use crate::report::sarif::uri;
use crate::rules::Severity;

fn by_level(diff: &Diff) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for l in ["high", "medium", "low", "info"] {
        m.insert(l, diff.items.iter().filter(|i| i.level.as_str() == l).count());
    }
    m
}

fn side(path: &std::path::Path, id: Option<&String>) -> String {
    let p = escape_control(&path.to_string_lossy());
    match id {
        Some(id) => format!("{} ({p})", escape_control(id)),
        None => p,
    }
}

/// Terminal text: a header, the file totals, one line per item (most severe first), a count.
pub fn human(diff: &Diff, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let paint = |level: Level, s: &str| -> String {
        if !color {
            return s.to_string();
        }
        let code = match level {
            Level::At(Severity::High) => "1;31",
            Level::At(Severity::Medium) => "33",
            Level::At(Severity::Low) => "36",
            Level::Info => "2",
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    };
    writeln!(out, "sluice diff")?;
    writeln!(out, "  old: {}", side(&diff.old, diff.old_id.as_ref()))?;
    writeln!(out, "  new: {}", side(&diff.new, diff.new_id.as_ref()))?;
    let c = &diff.counts;
    writeln!(
        out,
        "  files: {} added, {} removed, {} changed, {} unchanged ({} → {} bytes)",
        c.added, c.removed, c.changed, c.unchanged, c.old_bytes, c.new_bytes
    )?;
    writeln!(out)?;
    for item in &diff.items {
        let tag = format!("{:<6}", item.level.as_str().to_uppercase());
        writeln!(out, "{} {}", paint(item.level, &tag), escape_control(&item.title))?;
        for line in item.detail.iter().flat_map(|d| d.lines()) {
            writeln!(out, "       {}", escape_control(line))?;
        }
    }
    for p in &diff.problems {
        writeln!(out, "error  {}", escape_control(p))?;
    }
    let n = by_level(diff);
    if diff.items.is_empty() {
        writeln!(out, "no changes")?;
    } else {
        writeln!(
            out,
            "\n{} items: {} high, {} medium, {} low, {} info",
            diff.items.len(),
            n["high"],
            n["medium"],
            n["low"],
            n["info"]
        )?;
    }
    Ok(())
}

fn item_json(item: &Item) -> Value {
    json!({
        "kind": item.kind,
        "severity": item.level.as_str(),
        "path": item.path,
        "title": item.title,
        "detail": item.detail,
    })
}

/// One JSON document: `{"old","new","old_package","new_package","summary","items","errors"}`.
pub fn json(diff: &Diff, out: &mut dyn Write) -> io::Result<()> {
    let c = &diff.counts;
    let doc = json!({
        "old": diff.old.to_string_lossy(),
        "new": diff.new.to_string_lossy(),
        "old_package": diff.old_id,
        "new_package": diff.new_id,
        "summary": {
            "added": c.added, "removed": c.removed, "changed": c.changed, "unchanged": c.unchanged,
            "old_bytes": c.old_bytes, "new_bytes": c.new_bytes,
            "items": by_level(diff),
            "sluice_version": env!("CARGO_PKG_VERSION"),
        },
        "items": diff.items.iter().map(item_json).collect::<Vec<_>>(),
        "errors": diff.problems,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::At(Severity::High) => "error",
        Level::At(Severity::Medium) => "warning",
        Level::At(Severity::Low) | Level::Info => "note",
    }
}

/// One SARIF 2.1.0 run: one rule per item kind; a result per item located in NEW (the file for
/// a directory; the archive plus a logical location `archive!member` for an archive).
pub fn sarif(diff: &Diff, out: &mut dyn Write) -> io::Result<()> {
    let mut kinds: Vec<&'static str> = diff.items.iter().map(|i| i.kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let rules: Vec<Value> = kinds
        .iter()
        .map(|k| json!({"id": format!("diff.{k}"), "name": format!("diff.{k}"), "shortDescription": {"text": format!("release review: {k}")}}))
        .collect();
    let new_is_dir = diff.new.is_dir();
    let results: Vec<Value> = diff
        .items
        .iter()
        .map(|i| {
            let index = kinds.iter().position(|k| *k == i.kind).unwrap_or(0);
            let mut text = i.title.clone();
            if let Some(d) = &i.detail {
                text.push_str(&format!(" ({d})"));
            }
            let mut location = match (&i.path, new_is_dir) {
                (Some(p), true) => {
                    json!({"physicalLocation": {"artifactLocation": {"uri": uri(&Chain::file(diff.new.join(p)))}}})
                }
                _ => json!({"physicalLocation": {"artifactLocation": {"uri": uri(&Chain::file(&diff.new))}}}),
            };
            if let (Some(p), false) = (&i.path, new_is_dir) {
                location["logicalLocations"] =
                    json!([{"fullyQualifiedName": format!("{}!{p}", diff.new.to_string_lossy())}]);
            }
            json!({
                "ruleId": format!("diff.{}", i.kind),
                "ruleIndex": index,
                "level": sarif_level(i.level),
                "message": {"text": text},
                "locations": [location],
                "properties": {"severity": i.level.as_str(), "path": i.path},
            })
        })
        .collect();
    let version = env!("CARGO_PKG_VERSION");
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "sluice", "version": version, "semanticVersion": version, "rules": rules}},
            "invocations": [{"executionSuccessful": diff.problems.is_empty(), "toolExecutionNotifications":
                diff.problems.iter().map(|p| json!({"level": "error", "message": {"text": p}})).collect::<Vec<_>>()}],
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
