//! Artifact checks (issue 5): what must never ship in a package, even when no content rule
//! matches. Credential files by name ([`credfiles`]), source maps and the original sources in
//! them ([`sourcemap`]), and `.git` directories with their remotes and loose objects ([`git`]).
//!
//! The scan worker asks [`Checks::plan`] about every leaf unit, plain or inside archives (a cheap
//! look at the innermost name); a unit a check wants is handed to [`Checks::run`], which reports
//! whole-file findings (line `None`) and runs the content scan itself, on decoded bytes where
//! there are any (a map's `sourcesContent`, an inflated git object). Checks report under the rule
//! ids of `rules/checks.toml`, so they are listed, disabled and baselined like any rule: a
//! disabled id silences its finding, while the decoding that feeds the content rules goes on.
//! Checks return their findings as [`Hit`]s through the [`Host`]; the scan turns them into
//! records.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod credfiles;
pub mod git;
pub mod mapsummary;
pub mod sourcemap;

use std::collections::HashSet;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::input::{Chain, Content, Limits, SkipReason};
use crate::package::FindingMeta;
use crate::rules::validate::Validator;
use crate::rules::{RuleId, RuleSet, Severity};
use credfiles::Kind;

/// What the checks need from the scanner.
pub trait Host {
    /// Reports a finding of `rule` at `chain`: whole-file when `at` is `None`, else `(line, column)`.
    fn finding(&mut self, rule: RuleId, chain: &Chain, at: Option<(u64, u64)>, secret: Vec<u8>);
    /// Reports a unit that was not (fully) decoded.
    fn skipped(&mut self, chain: &Chain, reason: SkipReason, detail: &str);
    /// Reports a unit that could not be decoded.
    fn error(&mut self, chain: &Chain, error: &Error);
    /// Runs the content rules over `content` and reports what they find (no checks).
    fn scan(&mut self, chain: &Chain, content: Content<'_>) -> Result<(), Error>;
    /// Runs the content rules over `bytes` and returns the findings instead of reporting them.
    fn scan_collect(&mut self, chain: &Chain, bytes: &[u8]) -> Vec<Hit>;
    /// Reports a finding returned by [`Host::scan_collect`].
    fn report(&mut self, hit: Hit);
    /// True the first time `key` is seen within the current top-level input.
    fn first_in_input(&mut self, key: &Chain) -> bool;
    /// A source map (or a script's inline maps) was read: counted per package, reported as a
    /// summary when the package is complete ([`mapsummary`]).
    fn source_map(&mut self, facts: mapsummary::MapFacts);
}

/// A finding as the checks see and return it: a rule at a place, with the secret (or a content
/// hash for a whole-file finding). The checks never build the reporter's records; the scan turns
/// hits into records ([`crate::job::record`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The rule that matched.
    pub rule: RuleId,
    /// Where.
    pub chain: Chain,
    /// 1-based line, `None` for a whole-file finding.
    pub line: Option<u64>,
    /// 1-based byte column, `None` for a whole-file finding.
    pub column: Option<u64>,
    /// The secret value (or what identifies a whole-file finding).
    pub secret: Vec<u8>,
    /// Shannon entropy of the secret (content rules).
    pub entropy: Option<f32>,
    /// The validator that confirmed it (content rules).
    pub validated: Option<Validator>,
    /// `test`, `docs` or `example` ([`crate::context`]); `None` for shipped runtime code.
    pub context: Option<crate::context::Context>,
    /// Package attribution and a summary's note (per-package summaries).
    pub meta: Option<std::sync::Arc<FindingMeta>>,
    /// For a finding in git objects: commit, blob, path in the tree, author date.
    pub git: Option<std::sync::Arc<crate::git::Origin>>,
}

/// The rule ids the checks report under; `None` when the rule is not loaded (disabled).
#[derive(Clone, Debug)]
struct Ids {
    credential: [Option<RuleId>; Kind::ALL.len()],
    repository: Option<RuleId>,
    gitdir_file: Option<RuleId>,
    remote_credentials: Option<RuleId>,
}

/// The checks of one scan: rule ids, limits, and the on-disk repositories already reported.
/// Shared by every worker.
#[derive(Debug)]
pub struct Checks {
    ids: Ids,
    /// Severity of every rule, by [`RuleId`] (to keep the strongest of same-secret findings).
    severities: Vec<Severity>,
    /// Per rule: a content rule for private keys (`private-key.*`), which makes a key file's
    /// `credential-file.private-key` finding redundant (issue 11: one secret, one finding).
    key_rules: Vec<bool>,
    limits: Limits,
    roots: Vec<PathBuf>,
    on_disk: Mutex<HashSet<PathBuf>>,
}

/// What a check wants to do with one unit ([`Checks::plan`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Offset past the `.git` directory component of the innermost name.
    repo: Option<usize>,
    unit: Unit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Plain,
    Credential(Kind),
    SourceMap,
    Script,
    GitFile,
    Git(git::Part),
}

/// Hex SHA-256 of a whole-file finding's content: the fingerprint then follows the content,
/// not the file name (a moved file keeps it, an edited one gets a new one).
fn content_hash(bytes: &[u8]) -> Vec<u8> {
    let mut hex = Vec::with_capacity(64);
    for b in Sha256::digest(bytes) {
        hex.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    hex
}

/// The innermost name of a chain: the last member, or the file path.
fn innermost(chain: &Chain) -> &[u8] {
    match chain.members.last() {
        Some(m) => m,
        None => chain.path.as_os_str().as_encoded_bytes(),
    }
}

/// A unit's bytes, whole or (past a cap) in part.
enum Held<'a> {
    /// All of it.
    Whole(&'a [u8]),
    /// The first `cap` bytes, and the whole unit to scan.
    Over(&'a [u8], Content<'a>),
}

/// Calls `f` with the unit's bytes when they fit in `cap` (a streamed unit is read into memory),
/// else with its first `cap` bytes and the whole unit as content.
fn hold(content: Content<'_>, cap: usize, f: impl FnOnce(Held<'_>) -> Result<(), Error>) -> Result<(), Error> {
    match content {
        Content::Bytes(b) if b.len() <= cap => f(Held::Whole(b)),
        Content::Bytes(b) => f(Held::Over(&b[..cap], Content::Bytes(b))),
        Content::Reader(r) => {
            let mut buf = Vec::new();
            (&mut *r).take(cap as u64 + 1).read_to_end(&mut buf).map_err(|e| Error::io(&e))?;
            if buf.len() <= cap {
                f(Held::Whole(&buf))
            } else {
                let mut joined = Cursor::new(&buf[..]).chain(r);
                f(Held::Over(&buf[..cap], Content::Reader(&mut joined)))
            }
        }
    }
}

impl Checks {
    /// Resolves the check rule ids in `rules`; `roots` are the scan's inputs (a `.git` at or
    /// above a root is the repository being scanned, not a shipped one).
    pub fn new(rules: &RuleSet, limits: Limits, roots: &[PathBuf]) -> Checks {
        let ids = Ids {
            credential: Kind::ALL.map(|k| rules.find(k.rule_id())),
            repository: rules.find("git.repository"),
            gitdir_file: rules.find("git.gitdir-file"),
            remote_credentials: rules.find("git.remote-credentials"),
        };
        let severities = rules.rules().iter().map(|r| r.severity).collect();
        let key_rules = rules.rules().iter().map(|r| r.id.starts_with("private-key.")).collect();
        Checks { ids, severities, key_rules, limits, roots: roots.to_vec(), on_disk: Mutex::new(HashSet::new()) }
    }

    /// What the checks want to do with the unit at `chain`, judged by its name; `None` (the
    /// common case) means a plain content scan.
    pub fn plan(&self, chain: &Chain) -> Option<Plan> {
        let name = innermost(chain);
        let repo = git::repo_end(name);
        let unit = if let Some(end) = repo {
            match git::part(&name[end..]) {
                git::Part::Other => Unit::Plain,
                part => Unit::Git(part),
            }
        } else {
            let base = name.rsplit(|&b| b == b'/' || b == b'\\').next().unwrap_or(name);
            if base == b".git" {
                Unit::GitFile
            } else if let Some(kind) = Kind::classify(name) {
                Unit::Credential(kind)
            } else if sourcemap::is_map_name(base) {
                Unit::SourceMap
            } else if sourcemap::is_script(base) {
                Unit::Script
            } else {
                return None;
            }
        };
        Some(Plan { repo, unit })
    }

    /// Runs the planned checks on one unit, content scan included.
    pub fn run(&self, plan: Plan, chain: &Chain, content: Content<'_>, host: &mut dyn Host) -> Result<(), Error> {
        if let Some(end) = plan.repo {
            self.repository(chain, end, host);
        }
        match plan.unit {
            Unit::Plain => host.scan(chain, content),
            Unit::Credential(kind) => self.credential_file(kind, chain, content, host),
            Unit::SourceMap => Self::source_map(chain, content, host),
            Unit::Script => Self::script(chain, content, host),
            Unit::GitFile => self.git_file(chain, content, host),
            Unit::Git(git::Part::Config) => self.git_config(chain, content, host),
            Unit::Git(git::Part::LooseObject) => git::loose_object(chain, content, &self.limits, host),
            Unit::Git(git::Part::Pack) => crate::git::shipped::scan_pack(chain, content, &self.limits, host),
            Unit::Git(git::Part::Other) => unreachable!("planned as plain"),
        }
    }

    /// An archive inside a `.git` directory never reaches [`Checks::run`]; its name still shows
    /// the repository.
    pub fn archive_opened(&self, chain: &Chain, host: &mut dyn Host) {
        if let Some(end) = git::repo_end(innermost(chain)) {
            self.repository(chain, end, host);
        }
    }

    /// One `git.repository` finding per repository and top-level input.
    fn repository(&self, chain: &Chain, end: usize, host: &mut dyn Host) {
        let Some(rule) = self.ids.repository else { return };
        let repo = if let Some((last, outer)) = chain.members.split_last() {
            let mut members = outer.to_vec();
            members.push(last[..end].to_vec());
            let repo = Chain { path: chain.path.clone(), members };
            if !host.first_in_input(&repo) {
                return;
            }
            repo
        } else {
            let Some(dir) = git::repo_dir(&chain.path) else { return };
            if !self.first_on_disk(&dir) {
                return;
            }
            Chain::file(dir)
        };
        // The fingerprint must not depend on where the scan ran (issue 12): the repository's
        // place inside the archive, or below the scan root, not the absolute path.
        let secret = self.relative_name(&repo);
        host.finding(rule, &repo, None, secret);
    }

    /// `chain` without the part that depends on where the scan ran: the member names of an
    /// archive's insides, or the path below the scan root of a file on disk.
    fn relative_name(&self, chain: &Chain) -> Vec<u8> {
        if !chain.members.is_empty() {
            return chain.members.join(&b'!');
        }
        let rel = self
            .roots
            .iter()
            .filter_map(|r| chain.path.strip_prefix(r).ok())
            .min_by_key(|rel| rel.as_os_str().len())
            .filter(|rel| !rel.as_os_str().is_empty())
            .unwrap_or_else(|| chain.path.file_name().map_or(chain.path.as_path(), Path::new));
        rel.as_os_str().as_encoded_bytes().to_vec()
    }

    /// True the first time an on-disk repository is seen, and only for one below a scan root
    /// (the root's own `.git` is the repository being scanned).
    fn first_on_disk(&self, dir: &Path) -> bool {
        let scanned = self.roots.iter().any(|root| root.starts_with(dir) || dir.parent() == Some(root.as_path()));
        !scanned && self.on_disk.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(dir.to_path_buf())
    }

    fn credential_file(
        &self,
        kind: Kind,
        chain: &Chain,
        content: Content<'_>,
        host: &mut dyn Host,
    ) -> Result<(), Error> {
        let Some(rule) = self.ids.credential[kind as usize] else { return host.scan(chain, content) };
        hold(content, credfiles::CONTENT_CAP, |held| {
            let (head, content) = match held {
                Held::Whole(b) if kind == Kind::PrivateKey => {
                    // A key file whose key a `private-key.*` rule reports (with its line) is one
                    // finding, not two with different fingerprints.
                    let found = host.scan_collect(chain, b);
                    let keyed = found.iter().any(|f| self.key_rules[f.rule.index()]);
                    if !keyed && kind.holds(b) {
                        host.finding(rule, chain, None, content_hash(b));
                    }
                    for f in found {
                        host.report(f);
                    }
                    return Ok(());
                }
                Held::Whole(b) => (b, Content::Bytes(b)),
                Held::Over(head, content) => (head, content),
            };
            if kind.holds(head) {
                host.finding(rule, chain, None, content_hash(head));
            }
            host.scan(chain, content)
        })
    }

    fn source_map(chain: &Chain, content: Content<'_>, host: &mut dyn Host) -> Result<(), Error> {
        hold(content, sourcemap::MAP_CAP, |held| match held {
            Held::Whole(json) => {
                let (parsed, ok, seen, embedded) = decode_map(chain, json, host);
                if parsed.is_map {
                    let build_path = parsed.build_path.clone();
                    host.source_map(mapsummary::MapFacts { chain: chain.clone(), inline: false, embedded, build_path });
                }
                if !(parsed.is_map && ok) {
                    // Not a source map (or a broken one): the bytes are scanned as they are,
                    // without repeating what the decoded sources already reported.
                    for f in host.scan_collect(chain, json) {
                        if !seen.contains(&(f.rule, f.secret.clone())) {
                            host.report(f);
                        }
                    }
                }
                Ok(())
            }
            Held::Over(head, content) => {
                let head = head.trim_ascii_start();
                let looks = head.starts_with(b"{")
                    && memchr::memmem::find(head, b"\"version\"").is_some()
                    && memchr::memmem::find(head, b"\"mappings\"").is_some();
                if looks {
                    host.source_map(mapsummary::MapFacts { chain: chain.clone(), ..Default::default() });
                    let detail = format!("source map over {} MiB not decoded", sourcemap::MAP_CAP >> 20);
                    host.skipped(chain, SkipReason::SizeLimit, &detail);
                }
                host.scan(chain, content)
            }
        })
    }

    /// Scripts and stylesheets: scanned as they are, then their inline maps are decoded.
    fn script(chain: &Chain, content: Content<'_>, host: &mut dyn Host) -> Result<(), Error> {
        let maps = match content {
            Content::Bytes(bytes) => {
                host.scan(chain, Content::Bytes(bytes))?;
                sourcemap::inline_maps(bytes).collect()
            }
            Content::Reader(r) => {
                // Not buffered: a large streamed bundle keeps the memory of any stream.
                let mut tap = sourcemap::InlineTap::new(r);
                host.scan(chain, Content::Reader(&mut tap))?;
                tap.into_maps()
            }
        };
        let mut facts = mapsummary::MapFacts { chain: chain.clone(), inline: true, ..Default::default() };
        let mut any = false;
        for json in maps {
            let (parsed, _, _, embedded) = decode_map(chain, &json, host);
            any |= parsed.sources > 0;
            facts.embedded.extend(embedded);
            facts.build_path = facts.build_path.or(parsed.build_path);
        }
        if any {
            host.source_map(facts);
        }
        Ok(())
    }

    fn git_file(&self, chain: &Chain, content: Content<'_>, host: &mut dyn Host) -> Result<(), Error> {
        hold(content, 4096, |held| {
            let (head, content) = match held {
                Held::Whole(b) => (b, Content::Bytes(b)),
                Held::Over(head, content) => (head, content),
            };
            // A `gitdir:` file is a submodule's pointer to a repository kept elsewhere, not a
            // repository (issue 12): low, and its fingerprint is its content, not its location.
            if head.starts_with(b"gitdir:")
                && let Some(rule) = self.ids.gitdir_file
            {
                let first =
                    if chain.members.is_empty() { self.first_on_disk(&chain.path) } else { host.first_in_input(chain) };
                if first {
                    let line = head.split(|&b| b == b'\n').next().unwrap_or(head).trim_ascii();
                    host.finding(rule, chain, None, line.to_vec());
                }
            }
            host.scan(chain, content)
        })
    }

    /// Remote URLs with credentials: one finding per secret, whether content rules (a provider
    /// token and a URL-password rule may both match it; the most severe is kept) or this check
    /// (any other password) find it.
    fn git_config(&self, chain: &Chain, content: Content<'_>, host: &mut dyn Host) -> Result<(), Error> {
        hold(content, credfiles::CONTENT_CAP, |held| match held {
            Held::Whole(config) => {
                let mut found = host.scan_collect(chain, config);
                found.sort_by_key(|f| {
                    (f.line, f.secret.clone(), std::cmp::Reverse(self.severities[f.rule.index()]), f.column)
                });
                found.dedup_by(|b, a| a.line == b.line && a.secret == b.secret);
                let lines: HashSet<Option<u64>> = found.iter().map(|f| f.line).collect();
                for f in found {
                    host.report(f);
                }
                if let Some(rule) = self.ids.remote_credentials {
                    for (line, column, secret) in git::config_credentials(config) {
                        if !lines.contains(&Some(line)) {
                            host.finding(rule, chain, Some((line, column)), secret.to_vec());
                        }
                    }
                }
                Ok(())
            }
            Held::Over(_, content) => host.scan(chain, content),
        })
    }
}

/// What [`decode_map`] returns.
type Decoded = (sourcemap::Parsed, bool, HashSet<(RuleId, Vec<u8>)>, Vec<String>);

/// Scans every `sourcesContent` entry of `json` as a child unit of `chain`. Returns what the
/// parse found, whether it completed, the `(rule, secret)` pairs reported, and the names of the
/// embedded sources.
fn decode_map(chain: &Chain, json: &[u8], host: &mut dyn Host) -> Decoded {
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    let (parsed, result) = sourcemap::for_each_source(json, &mut |name, text| {
        if names.len() < 10_000 {
            names.push(name.to_string());
        }
        let child = chain.child(name.as_bytes());
        for f in host.scan_collect(&child, text.as_bytes()) {
            seen.insert((f.rule, f.secret.clone()));
            host.report(f);
        }
    });
    (parsed, result.is_ok(), seen, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(path: &str, members: &[&str]) -> Option<Unit> {
        let rules = RuleSet::builtin().unwrap();
        let checks = Checks::new(&rules, Limits::default(), &[]);
        let chain = Chain { path: path.into(), members: members.iter().map(|m| m.as_bytes().to_vec()).collect() };
        checks.plan(&chain).map(|p| p.unit)
    }

    #[test]
    fn plans() {
        assert_eq!(plan("src/lib.rs", &[]), None);
        assert_eq!(plan("p.tgz", &["package/README.md"]), None);
        assert_eq!(plan("p.tgz", &["package/.env"]), Some(Unit::Credential(Kind::Dotenv)));
        assert_eq!(plan("d/.env", &[]), Some(Unit::Credential(Kind::Dotenv)));
        assert_eq!(plan("p.tgz", &["package/dist/a.js.map"]), Some(Unit::SourceMap));
        assert_eq!(plan("p.tgz", &["package/dist/a.js"]), Some(Unit::Script));
        assert_eq!(plan("p.tgz", &["package/.git"]), Some(Unit::GitFile));
        assert_eq!(plan("p.tgz", &["package/.git/config"]), Some(Unit::Git(git::Part::Config)));
        assert_eq!(plan("p.tgz", &["package/.git/HEAD"]), Some(Unit::Plain));
        assert_eq!(plan("v/.git/objects/pack/pack-1.pack", &[]), Some(Unit::Git(git::Part::Pack)));
    }

    /// Every check rule in `rules/checks.toml` is one the checks report, and its `examples` (paths)
    /// are planned for it while its `negative_examples` are not.
    #[test]
    fn rule_examples_are_paths_the_checks_classify() {
        let rules = RuleSet::builtin().unwrap();
        let checks = Checks::new(&rules, Limits::default(), &[]);
        let check_rules: Vec<_> = rules.rules().iter().filter(|r| !r.is_content_rule()).collect();
        assert!(check_rules.len() >= 17, "{} check rules", check_rules.len());
        for rule in check_rules {
            assert!(!rule.examples.is_empty() && !rule.negative_examples.is_empty(), "{} lacks examples", rule.id);
            assert!(rule.remediation.is_some(), "{} lacks a remediation hint", rule.id);
            let planned_for = |path: &str| -> bool {
                let chain = Chain { path: "pkg.tgz".into(), members: vec![path.as_bytes().to_vec()] };
                let Some(p) = checks.plan(&chain) else { return false };
                match (rule.id.as_str(), p.unit) {
                    ("git.repository", _) => p.repo.is_some() || p.unit == Unit::GitFile,
                    ("git.gitdir-file", Unit::GitFile)
                    | ("git.remote-credentials", Unit::Git(git::Part::Config))
                    | ("source-map.file" | "source-map.sources" | "source-map.build-paths", Unit::SourceMap)
                    | ("source-map.inline", Unit::Script) => true,
                    (id, Unit::Credential(k)) => k.rule_id() == id,
                    _ => false,
                }
            };
            for ex in &rule.examples {
                let ex = ex.input();
                assert!(planned_for(ex), "{}: example {ex:?} is not planned for it", rule.id);
            }
            for ex in &rule.negative_examples {
                assert!(!planned_for(ex), "{}: negative example {ex:?} is planned for it", rule.id);
            }
        }
        for kind in Kind::ALL {
            assert!(rules.find(kind.rule_id()).is_some(), "no rule {}", kind.rule_id());
        }
        for id in [
            "source-map.file",
            "source-map.inline",
            "source-map.sources",
            "source-map.build-paths",
            "git.repository",
            "git.gitdir-file",
            "git.remote-credentials",
        ] {
            assert!(rules.find(id).is_some(), "no rule {id}");
        }
    }
}
