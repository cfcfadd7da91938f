//! `sluice preflight [DIR]`: the publishing checklist, checked from the repository (issues 5 and
//! 8). It builds the publish set with the ecosystem's own tool ([`publish_set`]), scans exactly
//! those files through [`crate::scan`], and checks CI workflows ([`workflows`], [`release`]),
//! release signing ([`signing`]), what changed since the previous release and against the
//! repository ([`review`]), dependencies ([`deps`], [`audit`]), the security policy and account
//! hygiene ([`policy`]). Every check yields [`Item`]s: a [`Status`] plus the evidence (file and line) that
//! decided it. [`report`] writes them; nothing else here prints. External programs (npm, cargo,
//! python3, git) run through [`tool`], with a timeout and without lifecycle scripts.

pub mod audit;
pub mod deps;
pub mod policy;
pub mod publish_set;
pub mod release;
pub mod report;
pub mod review;
pub mod signing;
pub mod tool;
pub mod workflows;

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind};
use crate::report::Summary;
use crate::rules::Severity;

/// Files bigger than this in the publish set are called out.
pub const LARGE_FILE: u64 = 10 << 20;

/// The verdict of one checklist item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Checked and fine.
    Pass,
    /// Worth fixing; fails the run under `--strict`.
    Warn,
    /// Must be fixed before publishing; the exit code is 1.
    Fail,
    /// Cannot be checked locally: a reminder.
    Manual,
}

impl Status {
    /// Every status, in summary order.
    pub const ALL: [Status; 4] = [Status::Pass, Status::Warn, Status::Fail, Status::Manual];

    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Manual => "manual",
        }
    }

    /// The checklist mark used in human output.
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Warn => "!",
            Status::Fail => "✗",
            Status::Manual => "?",
        }
    }
}

/// The checklist sections, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// What would be published, and what the scan found in it.
    PublishSet,
    /// The publishing job depends on the tests.
    TestsGate,
    /// Publishing from CI, pinned actions and toolchains.
    BuildIntegrity,
    /// Provenance attestations, trusted publishing, long-lived tokens.
    Provenance,
    /// Signed release tags.
    Signing,
    /// What changed since the previous release (`--previous`) and the publish set against the
    /// repository (`--against-source`).
    Release,
    /// Lockfiles, ranges, audits.
    Dependencies,
    /// SECURITY.md.
    Disclosure,
    /// MFA, tokens.
    Account,
}

impl Section {
    /// Every section, in report order.
    pub const ALL: [Section; 9] = [
        Section::PublishSet,
        Section::TestsGate,
        Section::BuildIntegrity,
        Section::Provenance,
        Section::Signing,
        Section::Release,
        Section::Dependencies,
        Section::Disclosure,
        Section::Account,
    ];

    /// The stable name used in JSON and item ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Section::PublishSet => "publish-set",
            Section::TestsGate => "tests-gate",
            Section::BuildIntegrity => "build-integrity",
            Section::Provenance => "provenance",
            Section::Signing => "signing",
            Section::Release => "release",
            Section::Dependencies => "dependencies",
            Section::Disclosure => "disclosure",
            Section::Account => "account",
        }
    }

    /// The heading used in human output.
    pub fn title(self) -> &'static str {
        match self {
            Section::PublishSet => "Publish set",
            Section::TestsGate => "Tests gate the release",
            Section::BuildIntegrity => "Build integrity",
            Section::Provenance => "Provenance and trusted publishing",
            Section::Signing => "Release signing",
            Section::Release => "Release review",
            Section::Dependencies => "Dependencies",
            Section::Disclosure => "Vulnerability disclosure",
            Section::Account => "Account security",
        }
    }
}

/// A file and line (and what was seen there) that decided an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// Path relative to the checked directory (`..` when it lies above it, e.g. workflows of a
    /// package in a monorepo); a ref such as `refs/tags/v1.0.0` for git facts.
    pub path: String,
    /// 1-based line, when the evidence is one line.
    pub line: Option<u64>,
    /// What is there, in a few words.
    pub note: String,
}

impl Evidence {
    /// Evidence at `path`, optionally a line, with a note.
    pub fn new(path: impl Into<String>, line: Option<u64>, note: impl Into<String>) -> Evidence {
        Evidence { path: path.into(), line, note: note.into() }
    }
}

/// One checklist item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Stable id, `section.check` (plus `.ecosystem` where one item per ecosystem is made).
    pub id: String,
    /// The section it belongs to.
    pub section: Section,
    /// One line saying what was found.
    pub title: String,
    /// The verdict.
    pub status: Status,
    /// What decided it.
    pub evidence: Vec<Evidence>,
    /// One line saying how to fix it (warn, fail) or what to do (manual).
    pub fix: Option<String>,
    /// How much it matters, for items that carry a severity (release review, audits): at or
    /// above `--fail-on` the item fails, below it warns.
    pub severity: Option<Severity>,
    /// Lines of detail shown under the evidence (a unified diff).
    pub detail: Option<String>,
}

impl Item {
    /// A new item without evidence or fix.
    pub fn new(id: impl Into<String>, section: Section, status: Status, title: impl Into<String>) -> Item {
        Item {
            id: id.into(),
            section,
            title: title.into(),
            status,
            evidence: Vec::new(),
            fix: None,
            severity: None,
            detail: None,
        }
    }

    /// An item with a severity: `fail` at or above `fail_on`, else `warn`.
    pub fn rated(
        id: impl Into<String>,
        section: Section,
        severity: Severity,
        fail_on: Severity,
        title: impl Into<String>,
    ) -> Item {
        let status = if severity >= fail_on { Status::Fail } else { Status::Warn };
        Item { severity: Some(severity), ..Item::new(id, section, status, title) }
    }

    /// Adds evidence.
    #[must_use]
    pub fn with(mut self, evidence: Evidence) -> Item {
        self.evidence.push(evidence);
        self
    }

    /// Sets the fix line.
    #[must_use]
    pub fn fix(mut self, fix: impl Into<String>) -> Item {
        self.fix = Some(fix.into());
        self
    }
}

/// A package ecosystem found in the checked directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    /// `package.json`.
    Npm,
    /// `Cargo.toml` with a `[package]`.
    Cargo,
    /// `pyproject.toml` or `setup.py`.
    Python,
}

impl Ecosystem {
    /// The lowercase name used in ids and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Npm => "npm",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Python => "python",
        }
    }
}

/// What `preflight` may do besides reading.
#[derive(Clone, Debug)]
pub struct Options {
    /// The package directory.
    pub dir: PathBuf,
    /// Run the ecosystem tools (npm pack, cargo package, the Python build backend) and the
    /// dependency auditors; when false the directory itself is scanned.
    pub run_tools: bool,
    /// Publish-set files bigger than this are a warn.
    pub large_file: u64,
    /// `--previous`: compare the publish set with an earlier release ([`review`]).
    pub previous: Option<Previous>,
    /// Look for `--previous auto` in this mirror directory instead of the package caches.
    pub mirror: Option<PathBuf>,
    /// `--against-source [REF]`: compare the publish set with the repository at this ref.
    pub against_source: Option<String>,
    /// Items with a severity (release review, audits) at or above this fail; below, they warn.
    pub fail_on: Severity,
    /// How the dependency auditors run ([`audit`]); `offline` skips them.
    pub audit: audit::AuditOptions,
}

/// Where `--previous` comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Previous {
    /// A package archive or directory.
    Path(PathBuf),
    /// The highest release at or below the manifest's version in `--mirror DIR` or the local
    /// package caches.
    Auto,
}

impl Options {
    /// Defaults for `dir`: tools on, 10 MiB large-file threshold, no release review, auditors
    /// as installed, `--fail-on low`.
    pub fn new(dir: impl Into<PathBuf>) -> Options {
        Options {
            dir: dir.into(),
            run_tools: true,
            large_file: LARGE_FILE,
            previous: None,
            mirror: None,
            against_source: None,
            fail_on: Severity::Low,
            audit: audit::AuditOptions::default(),
        }
    }
}

/// The finished checklist.
#[derive(Clone, Debug)]
pub struct Report {
    /// The directory checked, as given.
    pub dir: PathBuf,
    /// Ecosystems found there.
    pub ecosystems: Vec<Ecosystem>,
    /// Every item, in section order.
    pub items: Vec<Item>,
    /// Files in the publish set.
    pub publish_files: usize,
    /// Totals of the publish-set scan.
    pub scan: Summary,
}

impl Report {
    /// How many items have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.items.iter().filter(|i| i.status == status).count()
    }

    /// 1 on any fail (or any warn under `strict`), else 0.
    pub fn exit_code(&self, strict: bool) -> i32 {
        let bad = self.count(Status::Fail) + if strict { self.count(Status::Warn) } else { 0 };
        i32::from(bad > 0)
    }
}

/// The checked directory and what git knows about it.
#[derive(Clone, Debug)]
pub struct Repo {
    /// The package directory (canonical).
    pub dir: PathBuf,
    /// The git top level, or `dir` outside git.
    pub root: PathBuf,
    /// Files git tracks under `dir`, relative to it; `None` outside git.
    pub tracked: Option<BTreeSet<String>>,
}

impl Repo {
    /// Opens `dir`; fails when it is not a directory.
    pub fn open(dir: &Path) -> Result<Repo, Error> {
        let dir = dir.canonicalize().map_err(|e| Error::io(&e).context(format!("'{}'", dir.display())))?;
        if !dir.is_dir() {
            return Err(Error::new(ErrorKind::Config, format!("'{}' is not a directory", dir.display())));
        }
        let top = tool::git(&dir, &["rev-parse", "--show-toplevel"]).map(|s| PathBuf::from(s.trim()));
        let (root, tracked) = match top.and_then(|t| t.canonicalize().ok()) {
            Some(root) => {
                let list = tool::git(&dir, &["ls-files", "-z", "--full-name"]).unwrap_or_default();
                let prefix = dir.strip_prefix(&root).map(Path::to_path_buf).unwrap_or_default();
                let tracked = list
                    .split('\0')
                    .filter(|s| !s.is_empty())
                    .filter_map(|s| Path::new(s).strip_prefix(&prefix).ok().map(slash))
                    .collect();
                (root, Some(tracked))
            }
            None => (dir.clone(), None),
        };
        Ok(Repo { dir, root, tracked })
    }

    /// `path` for display: relative to `dir`, with `..` when it lies above it.
    pub fn rel(&self, path: &Path) -> String {
        if let Ok(p) = path.strip_prefix(&self.dir) {
            return slash(p);
        }
        if let (Ok(p), Ok(up)) = (path.strip_prefix(&self.root), self.dir.strip_prefix(&self.root)) {
            let mut s = "../".repeat(up.components().filter(|c| matches!(c, Component::Normal(_))).count());
            s.push_str(&slash(p));
            return s;
        }
        path.display().to_string()
    }

    /// Whether `rel` (relative to `dir`) is committed; `None` outside git.
    pub fn is_tracked(&self, rel: &str) -> Option<bool> {
        self.tracked.as_ref().map(|t| t.contains(rel))
    }
}

/// A path with `/` separators.
fn slash(p: &Path) -> String {
    let mut s = String::new();
    for c in p.components() {
        if !s.is_empty() {
            s.push('/');
        }
        s.push_str(&c.as_os_str().to_string_lossy());
    }
    s
}

/// The manifests of the checked directory, read and parsed once.
#[derive(Clone, Debug, Default)]
pub struct Manifests {
    /// `package.json`: text and value.
    pub npm: Option<(String, serde_json::Value)>,
    /// `Cargo.toml`: text and table.
    pub cargo: Option<(String, toml::Table)>,
    /// `pyproject.toml`: text and table.
    pub pyproject: Option<(String, toml::Table)>,
    /// `setup.py` exists.
    pub setup_py: bool,
    /// Manifests that exist but do not parse: (file, message).
    pub broken: Vec<(String, String)>,
}

impl Manifests {
    /// Reads the manifests in `dir`.
    pub fn load(dir: &Path) -> Manifests {
        let mut m = Manifests { setup_py: dir.join("setup.py").is_file(), ..Manifests::default() };
        if let Some(text) = read_text(&dir.join("package.json")) {
            match serde_json::from_str(&text) {
                Ok(v) => m.npm = Some((text, v)),
                Err(e) => m.broken.push(("package.json".into(), e.to_string())),
            }
        }
        for (name, slot) in [("Cargo.toml", &mut m.cargo), ("pyproject.toml", &mut m.pyproject)] {
            if let Some(text) = read_text(&dir.join(name)) {
                match toml::from_str::<toml::Table>(&text) {
                    Ok(t) => *slot = Some((text, t)),
                    Err(e) => m.broken.push((name.into(), e.message().trim().to_string())),
                }
            }
        }
        m
    }

    /// The ecosystems these manifests describe.
    pub fn ecosystems(&self) -> Vec<Ecosystem> {
        let mut out = Vec::new();
        if self.npm.is_some() {
            out.push(Ecosystem::Npm);
        }
        if self.cargo.as_ref().is_some_and(|(_, t)| t.contains_key("package")) {
            out.push(Ecosystem::Cargo);
        }
        if self.pyproject.is_some() || self.setup_py {
            out.push(Ecosystem::Python);
        }
        out
    }
}

/// A text file, or `None` when it is missing or not UTF-8.
pub(crate) fn read_text(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    String::from_utf8(bytes).ok()
}

/// The 1-based line of the first line containing `needle` at or after line `from`.
pub(crate) fn line_of(text: &str, needle: &str, from: u64) -> Option<u64> {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1) as usize)
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i as u64 + 1)
}

/// `1 file`, `2 files`, `3 dependencies`.
pub(crate) fn plural(n: usize, word: &str) -> String {
    match (n, word.strip_suffix('y')) {
        (1, _) => format!("1 {word}"),
        (_, Some(stem)) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{n} {stem}ies"),
        _ => format!("{n} {word}s"),
    }
}

/// The line of `"key":` in JSON text, at or after line `from`.
pub(crate) fn json_key_line(text: &str, key: &str, from: u64) -> Option<u64> {
    let quoted = format!("\"{key}\"");
    text.lines().enumerate().skip(from.saturating_sub(1) as usize).find_map(|(i, l)| {
        let at = l.find(&quoted)?;
        l[at + quoted.len()..].trim_start().starts_with(':').then_some(i as u64 + 1)
    })
}

/// The line of `key =` inside the TOML table `[header]` (`None` header: the top level), or of
/// a dotted `header.key =` at the top level.
pub(crate) fn toml_key_line(text: &str, header: Option<&str>, key: &str) -> Option<u64> {
    let mut current: Option<String> = None;
    let bare = key.trim_matches('"');
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            current = Some(t.trim_start_matches('[').trim_end_matches(']').trim().to_string());
            continue;
        }
        let Some((lhs, _)) = t.split_once('=') else { continue };
        let lhs = lhs.trim();
        let here = match (&current, header) {
            (None, None) => lhs.trim_matches('"') == bare,
            (Some(c), Some(h)) if c == h => lhs.trim_matches('"') == bare || lhs.starts_with(&format!("{bare}.")),
            (None, Some(h)) => lhs == format!("{h}.{bare}"),
            _ => false,
        };
        if here {
            return Some(i as u64 + 1);
        }
    }
    None
}

/// Runs the whole checklist over `opts.dir`, scanning the publish set with `engine` and the
/// scan settings of `config` (its `inputs` are replaced by the publish set).
pub fn run(opts: &Options, config: &Config, engine: &Engine) -> Result<Report, Error> {
    let repo = Repo::open(&opts.dir)?;
    let manifests = Manifests::load(&repo.dir);
    let ecosystems = manifests.ecosystems();
    let mut items = Vec::new();
    for (file, message) in &manifests.broken {
        items.push(
            Item::new("publish-set.manifest", Section::PublishSet, Status::Fail, format!("{file} does not parse"))
                .with(Evidence::new(file.clone(), None, message.clone()))
                .fix(format!("fix {file}: the registry tool cannot read it either")),
        );
    }
    let set = publish_set::build(&repo, &manifests, &ecosystems, opts, &mut items);
    publish_set::allow_lists(&repo, &manifests, &ecosystems, &mut items);
    publish_set::large_files(&set, opts.large_file, &mut items);
    let scan = publish_set::scan(&repo, &set, config, engine, &mut items)?;

    let ci = workflows::load(&repo);
    release::check(&repo, &manifests, &ecosystems, &ci, &mut items);
    signing::check(&repo, &mut items);
    review::check(&repo, &set, &scan.findings, opts, config, engine, &mut items);
    deps::check(&repo, &manifests, &ecosystems, opts, &mut items);
    policy::security_policy(&repo, &mut items);
    policy::account(&scan.findings, engine, &repo, &mut items);

    items.sort_by_key(|i| i.section);
    Ok(Report { dir: opts.dir.clone(), ecosystems, items, publish_files: set.files.len(), scan: scan.summary })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let mut r = Report {
            dir: PathBuf::from("."),
            ecosystems: Vec::new(),
            items: vec![Item::new("a.b", Section::Account, Status::Pass, "ok")],
            publish_files: 0,
            scan: Summary::default(),
        };
        assert_eq!(r.exit_code(true), 0);
        r.items.push(Item::new("a.c", Section::Account, Status::Warn, "hm"));
        r.items.push(Item::new("a.d", Section::Account, Status::Manual, "check"));
        assert_eq!((r.exit_code(false), r.exit_code(true)), (0, 1));
        r.items.push(Item::new("a.e", Section::Account, Status::Fail, "bad"));
        assert_eq!((r.exit_code(false), r.exit_code(true)), (1, 1));
    }

    #[test]
    fn lines() {
        let text = "a\n\"files\": [\nb\n\"files\"\n";
        assert_eq!(line_of(text, "\"files\"", 1), Some(2));
        assert_eq!(line_of(text, "\"files\"", 3), Some(4));
        assert_eq!(line_of(text, "zzz", 1), None);
        assert_eq!(
            (plural(1, "file"), plural(2, "file"), plural(3, "dependency")),
            ("1 file".into(), "2 files".into(), "3 dependencies".into())
        );
        let json = "{\n  \"name\": \"files\",\n  \"files\" : [\"dist\"]\n}";
        assert_eq!(json_key_line(json, "files", 1), Some(3));
        let toml = "name = 1\n[package]\nname = \"x\"\ninclude = [\"src\"]\n[dependencies]\nserde = \"1\"\nfoo.workspace = true\n";
        assert_eq!(toml_key_line(toml, Some("package"), "include"), Some(4));
        assert_eq!(toml_key_line(toml, Some("dependencies"), "foo"), Some(7));
        assert_eq!(toml_key_line(toml, None, "name"), Some(1));
        assert_eq!(toml_key_line("package.include = []\n", Some("package"), "include"), Some(1));
    }

    #[test]
    fn rel_paths() {
        let repo = Repo { dir: PathBuf::from("/r/pkgs/a"), root: PathBuf::from("/r"), tracked: None };
        assert_eq!(repo.rel(Path::new("/r/pkgs/a/src/x.js")), "src/x.js");
        assert_eq!(repo.rel(Path::new("/r/.github/workflows/ci.yml")), "../../.github/workflows/ci.yml");
        assert_eq!(repo.rel(Path::new("/elsewhere/x")), "/elsewhere/x");
    }
}
