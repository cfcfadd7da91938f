//! `--state FILE` (issue 12): an embedded SQLite store that remembers, per top-level input's
//! content hash and rule-pack version, the records its scan produced. A rescan skips unchanged
//! inputs and replays their records; `--rescan` ignores what is stored (and refreshes it).
//!
//! Two tables: `files` (path, size, mtime → content hash: an unchanged file is not even read,
//! as git's index does) and `inputs` ((hash, rules) → records and totals). Each finished input is
//! committed on its own, so a killed run loses at most the inputs in flight. Records are stored
//! exactly (secrets unmasked, names as raw bytes): the state file is as sensitive as a
//! `--show-secrets` output and belongs next to the mirror, not in a report.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::input::{Chain, SkipReason};
use crate::job::Totals;
use crate::package::{Ecosystem, FindingMeta, Package};
use crate::report::{FindingRecord, Record};
use crate::rules::RuleSet;

/// The state store of one scan, shared by the workers (lookups) and the reporter (writes).
pub struct Store {
    conn: Mutex<Connection>,
    rules: String,
    rescan: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("rules", &self.rules).field("rescan", &self.rescan).finish_non_exhaustive()
    }
}

/// Which stored input a file is, by content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    path: PathBuf,
    size: i64,
    mtime: i64,
    hash: String,
}

impl Key {
    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The result of a lookup.
#[derive(Debug)]
pub enum Lookup {
    /// Unchanged since it was stored: its records (with this path) and totals.
    Hit(Vec<Record>, Totals),
    /// Not stored (or `--rescan`): scan it, then [`Store::put`] under this key.
    Miss(Key),
}

fn err(e: &rusqlite::Error) -> Error {
    Error::new(ErrorKind::Io, format!("state store: {}", e.to_string().to_lowercase()))
}

/// The rule-pack version: a hash of every loaded rule and of the settings that change what a
/// scan reports, and the sluice version. Stored records are replayed only under the same one.
pub fn rules_version(rules: &RuleSet, config: &Config) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    h.update(format!("{:?}", rules.rules()));
    h.update(format!(
        "{:?}{:?}{:?}{:?}{}",
        config.allow_secrets, config.disabled_rules, config.exclude, config.limits, config.archives
    ));
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl Store {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path, rules_version: String, rescan: bool) -> Result<Store, Error> {
        let conn = Connection::open(path).map_err(|e| err(&e).context(path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS files (path BLOB PRIMARY KEY, size INTEGER, mtime INTEGER, hash TEXT);
             CREATE TABLE IF NOT EXISTS inputs (hash TEXT, rules TEXT, records TEXT, totals TEXT,
                                                PRIMARY KEY (hash, rules));",
        )
        .map_err(|e| err(&e).context(path.display()))?;
        Ok(Store { conn: Mutex::new(conn), rules: rules_version, rescan })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Looks the file at `path` up: its stored records when its content was scanned before
    /// under the same rules.
    pub fn lookup(&self, path: &Path, rules: &RuleSet) -> Result<Lookup, Error> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(&e))?;
        let size = meta.len().cast_signed();
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let raw = path.as_os_str().as_encoded_bytes();
        let known: Option<String> = self
            .conn()
            .query_row(
                "SELECT hash FROM files WHERE path = ?1 AND size = ?2 AND mtime = ?3",
                params![raw, size, mtime],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| err(&e))?;
        let hash = match known {
            Some(h) => h,
            None => hash_file(path)?,
        };
        let key = Key { path: path.to_path_buf(), size, mtime, hash };
        if self.rescan {
            return Ok(Lookup::Miss(key));
        }
        let stored: Option<(String, String)> = self
            .conn()
            .query_row(
                "SELECT records, totals FROM inputs WHERE hash = ?1 AND rules = ?2",
                params![key.hash, self.rules],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| err(&e))?;
        let Some((records, totals)) = stored else { return Ok(Lookup::Miss(key)) };
        let records = decode_records(&records, path, rules);
        let totals = decode_totals(&totals);
        match (records, totals) {
            (Some(records), Some(totals)) => {
                self.remember_file(&key)?;
                Ok(Lookup::Hit(records, totals))
            }
            _ => Ok(Lookup::Miss(key)), // written by another version: scan again
        }
    }

    fn remember_file(&self, key: &Key) -> Result<(), Error> {
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO files (path, size, mtime, hash) VALUES (?1, ?2, ?3, ?4)",
                params![key.path.as_os_str().as_encoded_bytes(), key.size, key.mtime, key.hash],
            )
            .map(drop)
            .map_err(|e| err(&e))
    }

    /// Stores the records of a finished input (one transaction: all or nothing).
    pub fn put(&self, key: &Key, records: &[Record], totals: Totals, rules: &RuleSet) -> Result<(), Error> {
        let encoded: Vec<Value> = records.iter().map(|r| encode_record(r, &key.path, rules)).collect();
        let records = Value::Array(encoded).to_string();
        let totals = json!([totals.files, totals.bytes, totals.archives, totals.members]).to_string();
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| err(&e))?;
        tx.execute(
            "INSERT OR REPLACE INTO files (path, size, mtime, hash) VALUES (?1, ?2, ?3, ?4)",
            params![key.path.as_os_str().as_encoded_bytes(), key.size, key.mtime, key.hash],
        )
        .map_err(|e| err(&e))?;
        tx.execute(
            "INSERT OR REPLACE INTO inputs (hash, rules, records, totals) VALUES (?1, ?2, ?3, ?4)",
            params![key.hash, self.rules, records, totals],
        )
        .map_err(|e| err(&e))?;
        tx.commit().map_err(|e| err(&e))
    }
}

fn hash_file(path: &Path) -> Result<String, Error> {
    let mut file = File::open(path).map_err(|e| Error::io(&e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(&e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(v: &Value) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(v.as_str()?).ok()
}

/// A chain as stored: its members, and its path only when it is not the input's own.
fn encode_chain(chain: &Chain, input: &Path) -> Value {
    let members: Vec<String> = chain.members.iter().map(|m| b64(m)).collect();
    if chain.path == input {
        json!({"m": members})
    } else {
        json!({"m": members, "p": b64(chain.path.as_os_str().as_encoded_bytes())})
    }
}

fn decode_chain(v: &Value, input: &Path) -> Option<Chain> {
    let members = v.get("m")?.as_array()?.iter().map(unb64).collect::<Option<Vec<_>>>()?;
    let path = match v.get("p") {
        Some(p) => PathBuf::from(String::from_utf8(unb64(p)?).ok()?),
        None => input.to_path_buf(),
    };
    Some(Chain { path, members })
}

fn encode_package(p: &Package) -> Value {
    json!([p.ecosystem.as_str(), p.name, p.version])
}

fn decode_package(v: &Value) -> Option<Package> {
    let a = v.as_array()?;
    Some(Package {
        ecosystem: Ecosystem::parse(a.first()?.as_str()?)?,
        name: a.get(1)?.as_str()?.to_string(),
        version: a.get(2)?.as_str()?.to_string(),
    })
}

fn encode_record(r: &Record, input: &Path, rules: &RuleSet) -> Value {
    match r {
        Record::Finding(f) => {
            let mut v = json!({
                "rule": rules.get(f.rule).id, "c": encode_chain(&f.chain, input), "l": f.line, "col": f.column,
                "s": b64(&f.secret), "e": f.entropy, "v": f.validated.map(crate::rules::validate::Validator::name), "ctx": f.context.map(crate::context::Context::as_str),
            });
            if let Some(m) = &f.meta {
                v["pkg"] = m.package.as_ref().map(encode_package).into();
                v["dep"] = m.dependency.as_ref().map(encode_package).into();
                v["note"] = m.note.clone().into();
                v["n"] = m.count.into();
                v["eg"] = m.examples.clone().into();
            }
            v
        }
        Record::Error { chain, message } => json!({"err": message, "c": encode_chain(chain, input)}),
        Record::Skipped { chain, reason, message } => {
            json!({"skip": reason.as_str(), "msg": message, "c": encode_chain(chain, input)})
        }
    }
}

fn decode_record(v: &Value, input: &Path, rules: &RuleSet) -> Option<Record> {
    let chain = decode_chain(v.get("c")?, input)?;
    if let Some(message) = v.get("err") {
        return Some(Record::Error { chain, message: message.as_str()?.to_string() });
    }
    if let Some(reason) = v.get("skip") {
        let reason = SkipReason::ALL.into_iter().find(|r| Some(r.as_str()) == reason.as_str())?;
        return Some(Record::Skipped { chain, reason, message: v.get("msg")?.as_str()?.to_string() });
    }
    let meta = if v.get("pkg").is_some() || v.get("note").is_some() {
        Some(std::sync::Arc::new(FindingMeta {
            package: v.get("pkg").and_then(decode_package),
            dependency: v.get("dep").and_then(decode_package),
            note: v.get("note").and_then(Value::as_str).map(str::to_string),
            count: v.get("n").and_then(Value::as_u64),
            examples: v
                .get("eg")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|e| e.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
        }))
    } else {
        None
    };
    Some(Record::Finding(FindingRecord {
        rule: rules.find(v.get("rule")?.as_str()?)?,
        chain,
        line: v.get("l").and_then(Value::as_u64),
        column: v.get("col").and_then(Value::as_u64),
        secret: unb64(v.get("s")?)?,
        entropy: v.get("e").and_then(Value::as_f64).map(|e| e as f32),
        validated: v
            .get("v")
            .filter(|v| v.is_string())
            .and_then(|v| serde_json::from_value::<crate::rules::validate::Validator>(v.clone()).ok()),
        context: v.get("ctx").and_then(Value::as_str).and_then(crate::context::Context::parse),
        known_public: false, // judged again from the fingerprint when replayed
        meta,
        git: None, // history scans are not replayed from the state store
    }))
}

fn decode_records(text: &str, input: &Path, rules: &RuleSet) -> Option<Vec<Record>> {
    let v: Value = serde_json::from_str(text).ok()?;
    v.as_array()?.iter().map(|r| decode_record(r, input, rules)).collect()
}

fn decode_totals(text: &str) -> Option<Totals> {
    let v: Vec<u64> = serde_json::from_str(text).ok()?;
    Some(Totals { files: *v.first()?, bytes: *v.get(1)?, archives: *v.get(2)?, members: *v.get(3)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let rules = RuleSet::builtin().unwrap();
        let input = Path::new("/m/x-1.0.tgz");
        let meta = FindingMeta {
            package: Some(Package { ecosystem: Ecosystem::Npm, name: "x".into(), version: "1.0".into() }),
            note: Some("ships 2 source maps".into()),
            count: Some(2),
            examples: vec!["a.map".into()],
            ..FindingMeta::default()
        };
        let records = vec![
            Record::Finding(FindingRecord {
                rule: rules.find("source-map.file").unwrap(),
                chain: Chain::file(input).child(&b"package/\xffa.map"[..]),
                line: Some(3),
                column: None,
                secret: b"npm:x".to_vec(),
                entropy: Some(4.5),
                validated: Some(crate::rules::validate::Validator::GithubChecksum),
                context: Some(crate::context::Context::Test),
                known_public: false,
                meta: Some(std::sync::Arc::new(meta)),
                git: None,
            }),
            Record::Error { chain: Chain::file(input), message: "gzip: bad".into() },
            Record::Skipped {
                chain: Chain::file(input).child("a"),
                reason: SkipReason::SizeLimit,
                message: "big".into(),
            },
        ];
        let text = Value::Array(records.iter().map(|r| encode_record(r, input, &rules)).collect()).to_string();
        assert_eq!(decode_records(&text, input, &rules).unwrap(), records);
        let moved = decode_records(&text, Path::new("/n/x-1.0.tgz"), &rules).unwrap();
        assert!(matches!(&moved[1], Record::Error { chain, .. } if chain.path == Path::new("/n/x-1.0.tgz")));
    }
}
