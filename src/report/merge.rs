//! `sluice merge SHARD.jsonl... --output FILE` (issue 12): the JSON Lines outputs of `--shard`
//! runs combined into one, as if one process had scanned everything. Findings are deduplicated
//! on (rule, path, chain, line, column, fingerprint), errors and skips on their location and
//! message, and the shards' summaries become one (counts summed, `findings` and `errors`
//! recounted after deduplication, `elapsed_ms` the slowest shard's).

use std::collections::HashSet;
use std::io::{self, BufRead, Write};

use serde_json::{Map, Value};

/// What a merge wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// Findings written.
    pub findings: u64,
    /// Error records written.
    pub errors: u64,
    /// Shards whose summary was missing (a shard that did not finish).
    pub incomplete: u64,
}

fn key(v: &Value) -> String {
    let f = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    Value::Array(vec![
        f("kind"),
        f("rule"),
        f("path"),
        f("chain"),
        f("line"),
        f("column"),
        f("fingerprint"),
        f("reason"),
        f("message"),
    ])
    .to_string()
}

/// Merges `inputs` (each a JSON Lines scan output) into `out`.
pub fn merge(inputs: Vec<Box<dyn BufRead>>, out: &mut dyn Write) -> io::Result<Merged> {
    let mut seen = HashSet::new();
    let mut merged = Merged::default();
    let mut summary: Map<String, Value> = Map::new();
    for input in inputs {
        let mut had_summary = false;
        for v in super::json::read_records(input) {
            let v = v?;
            match v.get("kind").and_then(Value::as_str) {
                Some("summary") => {
                    had_summary = true;
                    add_summary(&mut summary, &v);
                }
                Some(kind) => {
                    if !seen.insert(key(&v)) {
                        continue;
                    }
                    merged.findings += u64::from(kind == "finding");
                    merged.errors += u64::from(kind == "error");
                    serde_json::to_writer(&mut *out, &v)?;
                    out.write_all(b"\n")?;
                }
                None => {}
            }
        }
        merged.incomplete += u64::from(!had_summary);
    }
    summary.insert("kind".into(), "summary".into());
    summary.insert("findings".into(), merged.findings.into());
    summary.insert("errors".into(), merged.errors.into());
    if merged.incomplete > 0 {
        summary.insert("incomplete_shards".into(), merged.incomplete.into());
    }
    serde_json::to_writer(&mut *out, &Value::Object(summary))?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(merged)
}

/// Adds one shard's summary: numbers summed (nested maps too), `elapsed_ms` the maximum,
/// anything else kept from the first.
fn add_summary(total: &mut Map<String, Value>, v: &Value) {
    let Some(obj) = v.as_object() else { return };
    for (k, val) in obj {
        match (total.get_mut(k), val) {
            (Some(Value::Number(a)), Value::Number(b)) => {
                let (a, b) = (a.as_u64().unwrap_or(0), b.as_u64().unwrap_or(0));
                total.insert(k.clone(), (if k == "elapsed_ms" { a.max(b) } else { a + b }).into());
            }
            (Some(Value::Object(a)), Value::Object(_)) => add_summary(a, val),
            (Some(Value::Bool(a)), Value::Bool(b)) => *a |= *b,
            (Some(_), _) => {}
            (None, _) => {
                total.insert(k.clone(), val.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedups_and_sums() {
        let a = r#"{"kind":"finding","rule":"r","path":"a","chain":[],"line":1,"column":1,"fingerprint":"f"}
{"kind":"summary","files":2,"findings":1,"errors":0,"skipped":{"symlink":1},"elapsed_ms":5}
"#;
        let b = r#"{"kind":"finding","rule":"r","path":"a","chain":[],"line":1,"column":1,"fingerprint":"f"}
{"kind":"error","path":"b","chain":[],"message":"bad"}
{"kind":"summary","files":3,"findings":1,"errors":1,"skipped":{"symlink":2},"elapsed_ms":9}
"#;
        let inputs: Vec<Box<dyn BufRead>> = vec![Box::new(a.as_bytes()), Box::new(b.as_bytes())];
        let mut out = Vec::new();
        let m = merge(inputs, &mut out).unwrap();
        assert_eq!(m, Merged { findings: 1, errors: 1, incomplete: 0 });
        let text = String::from_utf8(out).unwrap();
        let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(last["files"], 5);
        assert_eq!(last["skipped"]["symlink"], 3);
        assert_eq!(last["elapsed_ms"], 9);
        assert_eq!(last["findings"], 1);
        assert_eq!(text.lines().count(), 3);
    }
}
