//! Release review (issue 15): what changed between two releases of a package. `sluice diff OLD
//! NEW` reads both (archives with the project's own readers, in memory; or directories) and
//! reports, each with a severity:
//! - files added, removed and changed, with sizes; added executables and binaries; files that
//!   look minified or obfuscated and did not before;
//! - install-time code added or changed (npm install scripts, `binding.gyp`, `setup.py`, the
//!   Python build backend, `.pth` files, `build.rs`, gem extensions);
//! - dependencies added, removed or loosened, and new commands (`bin`);
//! - findings of the scan that the old release did not have (compared by fingerprint).
//!
//! [`source`] compares a package with the repository it was built from instead.
//! [`locate`] finds OLD when only NEW is given (a mirror directory, the package managers'
//! caches); [`report`] writes the result as text, JSON or SARIF.

pub mod content;
pub mod locate;
pub mod manifest;
pub mod package;
pub mod report;
pub mod source;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::config::Config;
use crate::engine::Engine;
use crate::error::Error;
use crate::report::{FindingRecord, Record, Reporter, Summary};
use crate::rules::{RuleSet, Severity};
use manifest::{Manifest, loosened};
use package::Package;

/// How much an item matters. `Info` items are listed but never fail the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// A change worth knowing, not a risk on its own (a changed file, a removed dependency).
    Info,
    /// At the scan's severities.
    At(Severity),
}

impl Level {
    /// `info`, `low`, `medium` or `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::At(s) => s.as_str(),
        }
    }
}

const HIGH: Level = Level::At(Severity::High);
const MEDIUM: Level = Level::At(Severity::Medium);
const LOW: Level = Level::At(Severity::Low);

/// One difference between the releases.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Stable kind id (`file.added`, `install.script`, `dependency.added`, `finding.new`, ...).
    pub kind: &'static str,
    /// Severity.
    pub level: Level,
    /// The member path in NEW (or OLD, for removals), normalized; `None` for package-wide items.
    pub path: Option<String>,
    /// One line saying what changed.
    pub title: String,
    /// Details: old and new values, sizes, the finding's location.
    pub detail: Option<String>,
}

impl Item {
    fn new(kind: &'static str, level: Level, path: Option<&str>, title: impl Into<String>) -> Item {
        Item { kind, level, path: path.map(str::to_string), title: title.into(), detail: None }
    }

    fn detail(mut self, d: impl Into<String>) -> Item {
        self.detail = Some(d.into());
        self
    }
}

/// Totals of the file comparison.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Files only in NEW.
    pub added: usize,
    /// Files only in OLD.
    pub removed: usize,
    /// Files in both, with different content.
    pub changed: usize,
    /// Files in both, identical.
    pub unchanged: usize,
    /// Total size of OLD's files.
    pub old_bytes: u64,
    /// Total size of NEW's files.
    pub new_bytes: u64,
}

/// The whole comparison.
#[derive(Clone, Debug)]
pub struct Diff {
    /// OLD as given (or found).
    pub old: PathBuf,
    /// NEW as given.
    pub new: PathBuf,
    /// Name and version of each side, when a manifest tells.
    pub old_id: Option<String>,
    /// Name and version of NEW.
    pub new_id: Option<String>,
    /// Every item, most severe first.
    pub items: Vec<Item>,
    /// File totals.
    pub counts: Counts,
    /// Members that could not be read (either side); they make the exit code 2 when nothing
    /// else fails.
    pub problems: Vec<String>,
}

impl Diff {
    /// The highest severity among the items (`Info` items do not count).
    pub fn worst(&self) -> Option<Severity> {
        self.items
            .iter()
            .filter_map(|i| match i.level {
                Level::At(s) => Some(s),
                Level::Info => None,
            })
            .max()
    }

    /// 1 when an item is at or above `fail_on`, else 2 when a member could not be read, else 0.
    pub fn exit_code(&self, fail_on: Severity) -> i32 {
        if self.worst().is_some_and(|w| w >= fail_on) {
            1
        } else if self.problems.is_empty() {
            0
        } else {
            2
        }
    }
}

/// Compares `old` and `new` (archives or directories) with the scan settings of `config`.
pub fn run(old: &Path, new: &Path, config: &Config, engine: &Engine) -> Result<Diff, Error> {
    let a = Package::load(old, config.limits)?;
    let b = Package::load(new, config.limits)?;
    compare(&a, &b, None, config, engine)
}

/// Compares two packages already read. `new_findings`, when given, are the findings of a scan
/// of `b` already made (`sluice preflight` scanned its publish set); otherwise `b.sources` are
/// scanned. `a.sources` are always scanned.
pub fn compare(
    a: &Package,
    b: &Package,
    new_findings: Option<&[FindingRecord]>,
    config: &Config,
    engine: &Engine,
) -> Result<Diff, Error> {
    let mut items = Vec::new();
    let counts = files(a, b, &mut items);
    let (ma, mb) = (Manifest::of(a), Manifest::of(b));
    manifests(&ma, &mb, &mut items);
    for broken in &mb.broken {
        items.push(Item::new("manifest.broken", MEDIUM, None, format!("manifest does not parse: {broken}")));
    }
    let mut problems: Vec<String> = a.problems.iter().chain(&b.problems).cloned().collect();
    findings(a, b, new_findings, config, engine, &mut items, &mut problems)?;
    items.sort_by(|x, y| y.level.cmp(&x.level).then_with(|| x.kind.cmp(y.kind)).then_with(|| x.path.cmp(&y.path)));
    Ok(Diff { old: a.path.clone(), new: b.path.clone(), old_id: ma.id(), new_id: mb.id(), items, counts, problems })
}

/// Compares the package at `pkg` with the repository `repo` at `rev` (its work tree without
/// one): packaged files that match neither the repository nor a build output pattern.
pub fn run_source(
    repo: &Path,
    rev: Option<&str>,
    pkg: &Path,
    build_outputs: &[String],
    config: &Config,
) -> Result<Diff, Error> {
    let a = source::load(repo, rev, config.limits)?;
    let b = Package::load(pkg, config.limits)?;
    let shown = match rev {
        Some(r) => PathBuf::from(format!("{}@{r}", repo.display())),
        None => repo.to_path_buf(),
    };
    compare_source(&a, shown, &b, build_outputs)
}

/// [`run_source`] on a repository and a package already read; `shown` names the repository
/// side in the report.
pub fn compare_source(repo: &Package, shown: PathBuf, pkg: &Package, build_outputs: &[String]) -> Result<Diff, Error> {
    let mut items = source::compare(repo, pkg, build_outputs)?;
    let counts = files(repo, pkg, &mut Vec::new());
    items.sort_by(|x, y| y.level.cmp(&x.level).then_with(|| x.path.cmp(&y.path)));
    Ok(Diff {
        old: shown,
        new: pkg.path.clone(),
        old_id: None,
        new_id: Manifest::of(pkg).id(),
        items,
        counts,
        problems: repo.problems.iter().chain(&pkg.problems).cloned().collect(),
    })
}

/// Install-time files by name: what runs when a consumer installs or builds the package.
fn install_file(key: &str) -> Option<&'static str> {
    let name = key.rsplit('/').next().unwrap_or(key);
    let top = !key.contains('/');
    match name {
        "binding.gyp" if top => Some("node-gyp build (runs at npm install)"),
        "setup.py" if top => Some("setup.py (runs at pip install of the sdist)"),
        "build.rs" if top => Some("Cargo build script (runs at every build of a dependent)"),
        "extconf.rb" => Some("gem native extension (runs at gem install)"),
        _ if name.to_ascii_lowercase().ends_with(".pth") && !key.contains('!') => {
            Some(".pth file (runs at every Python start-up)")
        }
        _ => None,
    }
}

fn size(n: u64) -> String {
    match n {
        n if n >= 10 << 20 => format!("{} MiB", n >> 20),
        n if n >= 10 << 10 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

/// Files added, removed and changed, and what the added or changed ones look like.
fn files(a: &Package, b: &Package, items: &mut Vec<Item>) -> Counts {
    let mut c = Counts {
        old_bytes: a.files.values().map(|f| f.size).sum(),
        new_bytes: b.files.values().map(|f| f.size).sum(),
        ..Counts::default()
    };
    // Files every release rewrites: the gem's checksums, the wheel's RECORD, the crate's
    // VCS info; their changes say nothing.
    let churn = |k: &str| {
        matches!(k, "checksums.yaml.gz" | ".cargo_vcs_info.json" | "Cargo.toml.orig" | "PKG-INFO")
            || k.ends_with(".dist-info/RECORD")
            || k.ends_with(".dist-info/WHEEL")
            || k.ends_with(".egg-info/PKG-INFO")
            || k.ends_with(".egg-info/SOURCES.txt")
    };
    for (key, f) in &b.files {
        let old = a.files.get(key);
        match old {
            Some(o) if o.hash == f.hash => {
                c.unchanged += 1;
                continue;
            }
            Some(o) => {
                c.changed += 1;
                if !churn(key) {
                    items.push(
                        Item::new("file.changed", Level::Info, Some(key), format!("changed: {key}")).detail(format!(
                            "{} → {}",
                            size(o.size),
                            size(f.size)
                        )),
                    );
                }
            }
            None => {
                c.added += 1;
                let (level, what) = if let Some(kind) = content::executable_kind(key, &f.head) {
                    (HIGH, format!("added {kind}"))
                } else if content::is_binary(&f.head) {
                    (LOW, "added binary file".to_string())
                } else {
                    (Level::Info, "added".to_string())
                };
                let kind = if level == Level::Info { "file.added" } else { "file.added-binary" };
                items.push(Item::new(kind, level, Some(key), format!("{what}: {key}")).detail(size(f.size)));
            }
        }
        if let Some(what) = install_file(key) {
            let (level, verb) = if old.is_some() { (MEDIUM, "changed") } else { (HIGH, "added") };
            items.push(Item::new("install.file", level, Some(key), format!("install-time code {verb}: {what}")));
        }
        if let Some(why) = content::obfuscation(key, f)
            && old.is_none_or(|o| content::obfuscation(key, o).is_none())
        {
            items.push(
                Item::new("file.obfuscated", MEDIUM, Some(key), format!("looks minified or obfuscated: {key}"))
                    .detail(why),
            );
        }
    }
    for (key, f) in &a.files {
        if !b.files.contains_key(key) {
            c.removed += 1;
            items.push(
                Item::new("file.removed", Level::Info, Some(key), format!("removed: {key}")).detail(size(f.size)),
            );
        }
    }
    c
}

/// Dependencies, install hooks and commands.
fn manifests(a: &Manifest, b: &Manifest, items: &mut Vec<Item>) {
    let manifest_path = match b.ecosystem {
        Some("npm") => "package.json",
        Some("crates") => "Cargo.toml",
        Some("pypi") => "METADATA",
        Some("gems") => "metadata.gz",
        _ => "manifest",
    };
    let at = Some(manifest_path);
    for (hook, cmd) in &b.hooks {
        match a.hooks.get(hook) {
            None => items.push(
                Item::new("install.script", HIGH, at, format!("install-time hook added: {hook}")).detail(cmd.clone()),
            ),
            Some(old) if old != cmd => items.push(
                Item::new("install.script", HIGH, at, format!("install-time hook changed: {hook}"))
                    .detail(format!("{old} → {cmd}")),
            ),
            Some(_) => {}
        }
    }
    for hook in a.hooks.keys().filter(|h| !b.hooks.contains_key(*h)) {
        items.push(Item::new("install.removed", Level::Info, at, format!("install-time hook removed: {hook}")));
    }
    for (dep, spec) in &b.deps {
        let dev = dep.starts_with("dev:");
        match a.deps.get(dep) {
            None => {
                let level = if dev { LOW } else { MEDIUM };
                items.push(Item::new("dependency.added", level, at, format!("dependency added: {dep} {spec}")));
            }
            Some(old) if old != spec => {
                let (level, why) = match loosened(old, spec, b.ecosystem == Some("crates")) {
                    Some(why) if dev => (LOW, format!(" ({why})")),
                    Some(why) => (MEDIUM, format!(" ({why})")),
                    None => (Level::Info, String::new()),
                };
                let kind = if why.is_empty() { "dependency.changed" } else { "dependency.loosened" };
                items.push(Item::new(kind, level, at, format!("dependency range changed: {dep} {old} → {spec}{why}")));
            }
            Some(_) => {}
        }
    }
    for dep in a.deps.keys().filter(|d| !b.deps.contains_key(*d)) {
        items.push(Item::new("dependency.removed", Level::Info, at, format!("dependency removed: {dep}")));
    }
    for (bin, target) in &b.bins {
        match a.bins.get(bin) {
            None => items.push(
                Item::new("bin.added", MEDIUM, at, format!("new command installed: {bin}")).detail(target.clone()),
            ),
            Some(old) if old != target => items.push(
                Item::new("bin.changed", LOW, at, format!("command now points elsewhere: {bin}"))
                    .detail(format!("{old} → {target}")),
            ),
            Some(_) => {}
        }
    }
}

/// Collects the records of a scan.
#[derive(Default)]
struct Collect(Vec<FindingRecord>, Vec<String>);

impl Reporter for Collect {
    fn record(&mut self, _rules: &RuleSet, record: &Record) -> std::io::Result<()> {
        match record {
            Record::Finding(f) => self.0.push(f.clone()),
            Record::Error { chain, message } => self.1.push(format!("{chain}: {message}")),
            Record::Skipped { .. } => {}
        }
        Ok(())
    }

    fn end(&mut self, _rules: &RuleSet, _summary: &Summary) -> std::io::Result<()> {
        Ok(())
    }
}

/// Findings of the scan in NEW whose fingerprint OLD does not have.
fn findings(
    a: &Package,
    b: &Package,
    new_findings: Option<&[FindingRecord]>,
    config: &Config,
    engine: &Engine,
    items: &mut Vec<Item>,
    problems: &mut Vec<String>,
) -> Result<(), Error> {
    let scan = |p: &Package| -> Result<Collect, Error> {
        let mut collect = Collect::default();
        if p.sources.is_empty() {
            return Ok(collect);
        }
        let config = Config { inputs: p.sources.clone(), output: None, progress: false, ..config.clone() };
        crate::scan::run(&config, engine, &mut collect, &AtomicBool::new(false))?;
        Ok(collect)
    };
    let old = scan(a)?;
    let new = match new_findings {
        Some(f) => Collect(f.to_vec(), Vec::new()),
        None => scan(b)?,
    };
    let rules = engine.rules();
    let known: BTreeSet<String> = old.0.iter().map(|f| f.fingerprint(rules)).collect();
    let mut seen = BTreeSet::new();
    problems.extend(new.1);
    for f in new.0 {
        let fp = f.fingerprint(rules);
        if known.contains(&fp) || !seen.insert(fp) {
            continue;
        }
        let rule = rules.get(f.rule);
        let path = finding_path(b, &f);
        let at = match f.line {
            Some(l) => format!("{path}:{l}"),
            None => path.clone(),
        };
        items.push(
            Item::new(
                "finding.new",
                Level::At(f.severity(rules)),
                Some(&path),
                format!("new finding: {}", rule.description),
            )
            .detail(format!(
                "{} ({}) at {at}: {}",
                rule.id,
                rule.category,
                crate::report::mask(&f.secret, config.show_secrets)
            )),
        );
    }
    Ok(())
}

/// A finding's location as the normalized member path of `pkg`.
fn finding_path(pkg: &Package, f: &FindingRecord) -> String {
    let mut members: Vec<String> = f.chain.members.iter().map(|m| String::from_utf8_lossy(m).into_owned()).collect();
    if pkg.root.is_none() && f.chain.path != pkg.path {
        // A directory: the file's path relative to it comes first.
        let rel = f.chain.path.strip_prefix(&pkg.path).unwrap_or(&f.chain.path);
        members.insert(0, rel.to_string_lossy().replace('\\', "/"));
    }
    if members.is_empty() {
        return String::new();
    }
    if members.len() > 1 && members[0] == "data.tar.gz" {
        members.remove(0);
    }
    if let Some(root) = &pkg.root
        && let Some(rest) = members[0].strip_prefix(root.as_str())
    {
        members[0] = rest.to_string();
    }
    members.join("!")
}

/// OLD for `new` when only NEW is given: the previous release of the same package name in
/// `mirror`, or in the package managers' caches ([`locate::previous`]).
pub fn find_previous(new: &Path, mirror: Option<&Path>, limits: crate::input::Limits) -> Result<PathBuf, Error> {
    let file = new.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let from_file = locate::parse_file_name(&file);
    let manifest = Manifest::of(&Package::load(new, limits)?);
    let ((Some(name), Some(version), _) | (_, _, Some((name, version)))) = (manifest.name, manifest.version, from_file)
    else {
        return Err(Error::new(
            crate::error::ErrorKind::Config,
            format!("cannot tell the package name and version of '{}'", new.display()),
        )
        .with_hint("give OLD as a path: sluice diff OLD NEW"));
    };
    locate::previous(&name, &version, false, &file, mirror)
}
