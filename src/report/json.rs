//! JSON Lines (`--format jsonl`, one object per line, flushed per record, a summary record
//! last) and one JSON document (`--format json`: `{"findings":[],"errors":[],"skipped":[],"summary":{}}`).
//!
//! Record shapes are in DESIGN.md. Names that are not valid UTF-8 are written lossily in `path`
//! and `chain`, and exactly (base64 of the raw bytes) in `path_base64` / `chain_base64`.

use std::io::{self, Write};

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::{Record, Reporter, Summary, mask};
use crate::input::Chain;
use crate::rules::RuleSet;

/// Writes one JSON object per record.
pub struct JsonLines<W: Write + Send> {
    out: W,
    show_secrets: bool,
}

impl<W: Write + Send> JsonLines<W> {
    /// A JSON Lines reporter writing to `out`.
    pub fn new(out: W, show_secrets: bool) -> Self {
        JsonLines { out, show_secrets }
    }
}

impl<W: Write + Send> Reporter for JsonLines<W> {
    fn record(&mut self, rules: &RuleSet, record: &Record) -> io::Result<()> {
        let v = record_json(rules, record, self.show_secrets);
        serde_json::to_writer(&mut self.out, &v)?;
        self.out.write_all(b"\n")?;
        // Flushed per record: a killed scan keeps every record already written.
        self.out.flush()
    }

    fn end(&mut self, _rules: &RuleSet, summary: &Summary) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, &summary_json(summary))?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// Collects records and writes one document at the end, findings sorted by location.
pub struct JsonDocument<W: Write + Send> {
    out: W,
    show_secrets: bool,
    records: Vec<Record>,
}

impl<W: Write + Send> JsonDocument<W> {
    /// A JSON document reporter writing to `out`.
    pub fn new(out: W, show_secrets: bool) -> Self {
        JsonDocument { out, show_secrets, records: Vec::new() }
    }
}

impl<W: Write + Send> Reporter for JsonDocument<W> {
    fn record(&mut self, _rules: &RuleSet, record: &Record) -> io::Result<()> {
        self.records.push(record.clone());
        Ok(())
    }

    fn end(&mut self, rules: &RuleSet, summary: &Summary) -> io::Result<()> {
        sort_records(&mut self.records);
        let (mut findings, mut errors, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
        for r in &self.records {
            let v = record_json(rules, r, self.show_secrets);
            match r {
                Record::Finding(_) => findings.push(v),
                Record::Error { .. } => errors.push(v),
                Record::Skipped { .. } => skipped.push(v),
            }
        }
        let doc = json!({"findings": findings, "errors": errors, "skipped": skipped, "summary": summary_json(summary)});
        serde_json::to_writer_pretty(&mut self.out, &doc)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// Sorts records by location (path, chain, line, column), then rule.
pub fn sort_records(records: &mut [Record]) {
    records.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
}

fn sort_key(r: &Record) -> (&Chain, u8, u64, u64, u32) {
    match r {
        Record::Finding(f) => (&f.chain, 0, f.line.unwrap_or(0), f.column.unwrap_or(0), f.rule.0),
        Record::Error { chain, .. } => (chain, 1, 0, 0, 0),
        Record::Skipped { chain, .. } => (chain, 2, 0, 0, 0),
    }
}

/// The JSON object for one record (shared by jsonl and json).
pub fn record_json(rules: &RuleSet, record: &Record, show_secrets: bool) -> Value {
    let mut m = Map::new();
    let chain = match record {
        Record::Finding(f) => {
            let rule = rules.get(f.rule);
            m.insert("kind".into(), "finding".into());
            m.insert("rule".into(), rule.id.clone().into());
            m.insert("category".into(), rule.category.as_str().into());
            m.insert("severity".into(), f.severity(rules).as_str().into());
            m.insert("confidence".into(), rule.confidence().as_str().into());
            m.insert("description".into(), rule.description.clone().into());
            &f.chain
        }
        Record::Error { chain, .. } => {
            m.insert("kind".into(), "error".into());
            chain
        }
        Record::Skipped { chain, reason, .. } => {
            m.insert("kind".into(), "skipped".into());
            m.insert("reason".into(), reason.as_str().into());
            chain
        }
    };
    insert_chain(&mut m, chain);
    match record {
        Record::Finding(f) => {
            m.insert("line".into(), f.line.into());
            m.insert("column".into(), f.column.into());
            m.insert("secret".into(), mask(&f.secret, show_secrets).into());
            m.insert("fingerprint".into(), f.fingerprint(rules).into());
            m.insert("entropy".into(), f.entropy.map(|e| (f64::from(e) * 100.0).round() / 100.0).into());
            m.insert("validated".into(), f.validated.map(crate::rules::validate::Validator::name).into());
            if f.known_public {
                m.insert("known_public".into(), true.into());
            }
            if let Some(c) = f.context {
                m.insert("context".into(), c.as_str().into());
            }
            if let Some(meta) = &f.meta {
                insert_meta(&mut m, meta);
            }
            if let Some(g) = &f.git {
                insert_git(&mut m, g);
            }
            if let Some(scope) = crate::scope::of(&rules.get(f.rule).id, &f.secret) {
                m.insert("scope".into(), scope.to_json());
            }
        }
        Record::Error { message, .. } | Record::Skipped { message, .. } => {
            m.insert("message".into(), message.clone().into());
        }
    }
    Value::Object(m)
}

/// `package`, `dependency` (`{"ecosystem","name","version"}`), and a summary's `note`, `count`
/// and `examples` (issue 12).
pub fn insert_meta(m: &mut Map<String, Value>, meta: &crate::package::FindingMeta) {
    let pkg =
        |p: &crate::package::Package| json!({"ecosystem": p.ecosystem.as_str(), "name": p.name, "version": p.version});
    if let Some(p) = &meta.package {
        m.insert("package".into(), pkg(p));
    }
    if let Some(p) = &meta.dependency {
        m.insert("dependency".into(), pkg(p));
    }
    if let Some(note) = &meta.note {
        m.insert("note".into(), note.clone().into());
    }
    if let Some(n) = meta.count {
        m.insert("count".into(), n.into());
    }
    if !meta.examples.is_empty() {
        m.insert("examples".into(), meta.examples.clone().into());
    }
}

/// `commit`, `blob`, `tree_path`, `author_date` of a finding in git objects (issue 13).
pub fn insert_git(m: &mut Map<String, Value>, g: &crate::git::Origin) {
    if let Some(c) = &g.commit {
        m.insert("commit".into(), c.clone().into());
    }
    m.insert("blob".into(), g.blob.clone().into());
    if let Some(p) = &g.path {
        m.insert("tree_path".into(), String::from_utf8_lossy(p).into_owned().into());
    }
    if let Some(d) = &g.author_date {
        m.insert("author_date".into(), d.clone().into());
    }
}

fn insert_chain(m: &mut Map<String, Value>, chain: &Chain) {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let raw_path = chain.path.as_os_str().as_encoded_bytes();
    m.insert("path".into(), String::from_utf8_lossy(raw_path).into_owned().into());
    let members: Vec<Value> = chain.members.iter().map(|c| String::from_utf8_lossy(c).into_owned().into()).collect();
    m.insert("chain".into(), members.into());
    if std::str::from_utf8(raw_path).is_err() {
        m.insert("path_base64".into(), b64(raw_path).into());
    }
    if chain.members.iter().any(|c| std::str::from_utf8(c).is_err()) {
        let raw: Vec<Value> = chain.members.iter().map(|c| b64(c).into()).collect();
        m.insert("chain_base64".into(), raw.into());
    }
}

/// The summary object (`kind: summary`).
pub fn summary_json(s: &Summary) -> Value {
    let skipped: Map<String, Value> = crate::input::SkipReason::ALL
        .iter()
        .map(|r| (r.as_str().to_string(), s.skipped.get(r.as_str()).copied().unwrap_or(0).into()))
        .collect();
    let mut v = json!({
        "kind": "summary",
        "files": s.files,
        "bytes": s.bytes,
        "archives": s.archives,
        "members": s.members,
        "findings": s.findings,
        "suppressed": s.suppressed,
        "filtered": s.filtered,
        "skipped": skipped,
        "errors": s.errors,
        "elapsed_ms": s.elapsed_ms,
        "sluice_version": env!("CARGO_PKG_VERSION"),
    });
    if s.interrupted {
        v["interrupted"] = true.into();
    }
    if s.replayed > 0 {
        v["replayed"] = s.replayed.into();
    }
    v
}

/// The records of a JSON Lines scan output (`sluice report`, `sluice merge`): blank lines are
/// skipped, a line that is not JSON is an error naming it.
pub fn read_records(input: impl io::BufRead) -> impl Iterator<Item = io::Result<Value>> {
    input.lines().enumerate().filter_map(|(i, line)| match line {
        Err(e) => Some(Err(e)),
        Ok(l) if l.trim().is_empty() => None,
        Ok(l) => Some(
            serde_json::from_str(&l)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("line {}: not JSON ({e})", i + 1))),
        ),
    })
}
