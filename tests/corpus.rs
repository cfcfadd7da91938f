//! The committed corpus: the scan finds exactly the planted secrets listed in
//! `corpus/cases/EXPECTED.tsv` (no misses, no false positives), and the JSON output for it
//! matches the golden file (`UPDATE_GOLDEN=1 cargo test` rewrites it after a deliberate change).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::util;

fn expected() -> BTreeSet<(String, String, String)> {
    let text = std::fs::read_to_string(util::root().join("corpus/cases/EXPECTED.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

#[test]
fn the_scan_finds_exactly_the_planted_secrets() {
    let out = util::sluice(&["scan", "corpus/cases", "--format", "jsonl", "--threads", "2"]);
    assert_eq!(out.status.code(), Some(1));
    let got: BTreeSet<(String, String, String)> = util::jsonl(&out.stdout)
        .iter()
        .filter(|r| r["kind"] == "finding")
        .map(|r| {
            let path = r["path"].as_str().unwrap().trim_start_matches("corpus/cases/").to_string();
            let line = r["line"].as_u64().map_or("-".to_string(), |l| l.to_string());
            (path, line, r["rule"].as_str().unwrap().to_string())
        })
        .collect();
    let want = expected();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nextra (false positives) {extra:?}");
}

/// Replaces values that change from run to run.
fn normalise(v: &mut Value) {
    if let Some(summary) = v.get_mut("summary") {
        summary["elapsed_ms"] = 0.into();
    }
}

fn golden(name: &str, actual: &str) {
    let path = util::root().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(actual, want, "output differs from {}", Path::new(name).display());
}

#[test]
fn golden_json() {
    let out = util::sluice(&["scan", "corpus/cases", "--format", "json", "--threads", "2"]);
    let mut doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    normalise(&mut doc);
    golden("corpus.json", &(serde_json::to_string_pretty(&doc).unwrap() + "\n"));
}

#[test]
fn golden_jsonl_sorted() {
    // JSON Lines are streamed in completion order; sorted lines must still be stable.
    let out = util::sluice(&["scan", "corpus/cases", "--format", "jsonl", "--threads", "2"]);
    let mut lines: Vec<String> = util::jsonl(&out.stdout)
        .into_iter()
        .map(|mut v| {
            if v["kind"] == "summary" {
                v["elapsed_ms"] = 0.into();
            }
            v.to_string()
        })
        .collect();
    lines.sort();
    golden("corpus.jsonl", &(lines.join("\n") + "\n"));
}
