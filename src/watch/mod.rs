//! `sluice watch`: after publishing, find typosquats of our names and republished copies of our
//! files, in a registry mirror or a list of names (issue 16).
//!
//! The names in the source are normalised per ecosystem ([`names`]), deduplicated (names equal
//! under normalisation are one package) and indexed ([`index`]); each target name is a query.
//! From a mirror, archives are read in memory ([`mirror`]) for versions, manifests and file
//! hashes, which also give the copies ([`copies`]) and, for the registry-operator view (no target
//! names: every name against the popular ones), the mirror's most-depended-upon packages.
//! Ranking: the rule's weight ([`names::Kind::weight`]), minus a family discount when the two
//! packages share a repository or one depends on the other.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod copies;
pub mod index;
pub mod mirror;
pub mod names;
pub mod output;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Error, ErrorKind};
use index::NameIndexBuilder;
use mirror::Package;
use names::{Ecosystem, Kind};

/// Where the names come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// A mirror directory of archives (`npm/`, `pypi/`, `crates/`).
    Mirror(PathBuf),
    /// A file of `ecosystem name` lines.
    Names(PathBuf),
}

/// What `sluice watch` was asked.
#[derive(Clone, Debug)]
pub struct Options {
    /// Our names; empty for the registry-operator view.
    pub targets: Vec<String>,
    /// Only this ecosystem (default: every ecosystem in the source).
    pub ecosystem: Option<Ecosystem>,
    /// The names to check.
    pub source: Source,
    /// Popular names (`name` or `ecosystem name` per line) for the registry-operator view.
    pub top: Option<PathBuf>,
    /// Without `top`: how many of the mirror's most-depended-upon packages are the popular ones.
    pub top_count: usize,
}

/// A copy's evidence.
#[derive(Clone, Debug)]
pub struct CopyEvidence {
    /// `name@version` of our package it copies.
    pub of: String,
    /// Files of the copy identical to ours.
    pub identical: usize,
    /// Files of the copy compared (licences and empty files left out).
    pub files: usize,
    /// Files that differ, and how (`modified`, `added`).
    pub differs: Vec<(String, &'static str)>,
}

impl CopyEvidence {
    /// Share of identical files.
    pub fn share(&self) -> f64 {
        if self.files == 0 { 0.0 } else { self.identical as f64 / self.files as f64 }
    }
}

/// One suspicious package.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The name as published (first spelling seen).
    pub name: String,
    /// Its ecosystem.
    pub ecosystem: Ecosystem,
    /// The strongest rule that matched.
    pub kind: Kind,
    /// Every rule that matched (a copy can also be a name confusion).
    pub rules: Vec<Kind>,
    /// The name it imitates.
    pub target: String,
    /// What matched, in words.
    pub evidence: String,
    /// Its versions in the mirror (empty for a name list).
    pub versions: Vec<String>,
    /// Signs that it is a real family member rather than an impostor (same repository,
    /// dependency either way).
    pub related: Vec<String>,
    /// Set when its files are mostly ours.
    pub copy: Option<CopyEvidence>,
    /// Rank: higher is more suspicious.
    pub score: u32,
}

/// The result of a watch.
#[derive(Debug, Default)]
pub struct Report {
    /// Candidates, most suspicious first.
    pub candidates: Vec<Candidate>,
    /// The target names checked, with their ecosystem.
    pub targets: Vec<(Ecosystem, String)>,
    /// Distinct names in the source (after normalisation).
    pub names: usize,
    /// Archives read (mirror only).
    pub archives: usize,
    /// Problems reading the source (unreadable archives, bad lines).
    pub errors: Vec<String>,
    /// Time to read the source and build the index.
    pub build_ms: u128,
    /// Time for all the queries (copies included).
    pub query_ms: u128,
}

/// One distinct (ecosystem, normalised name) of the source.
#[derive(Default)]
struct Entry {
    name: String,
    versions: Vec<String>,
    packages: Vec<usize>,
}

struct Universe {
    entries: Vec<Entry>,
    index: index::NameIndex,
    packages: Vec<(Ecosystem, Package)>,
}

/// Runs a watch.
pub fn run(opts: &Options) -> Result<Report, Error> {
    let started = Instant::now();
    let mut report = Report::default();
    let ecos: Vec<Ecosystem> = opts.ecosystem.map_or(Ecosystem::ALL.to_vec(), |e| vec![e]);
    let universe = match &opts.source {
        Source::Names(path) => load_names(path, opts.ecosystem, &mut report)?,
        Source::Mirror(dir) => load_mirror(dir, &ecos, &mut report)?,
    };
    report.names = universe.entries.len();
    report.build_ms = started.elapsed().as_millis();
    let started = Instant::now();

    let targets: Vec<(Ecosystem, String)> = if opts.targets.is_empty() {
        popular(opts, &universe, &ecos)?
    } else {
        let present: Vec<Ecosystem> = ecos
            .iter()
            .copied()
            .filter(|&e| (0..universe.index.len() as u32).any(|i| universe.index.ecosystem(i) == e))
            .collect();
        let ecos = if opts.ecosystem.is_some() || present.is_empty() { ecos.clone() } else { present };
        opts.targets.iter().flat_map(|t| ecos.iter().map(move |&e| (e, e.normalise(t)))).collect()
    };
    let operator_view = opts.targets.is_empty();
    let mut by_key: HashMap<(Ecosystem, u32), Candidate> = HashMap::new();
    // Name → id for the targets, and for every name only from a mirror (copies are named by
    // package): a map of 5 million names would cost more than the queries.
    let wanted: HashSet<(Ecosystem, &str)> = targets.iter().map(|(e, t)| (*e, t.as_str())).collect();
    let lookup: HashMap<(Ecosystem, &str), u32> = (0..universe.index.len() as u32)
        .map(|i| ((universe.index.ecosystem(i), universe.index.name(i)), i))
        .filter(|k| !universe.packages.is_empty() || wanted.contains(&k.0))
        .collect();
    for (eco, target) in &targets {
        let target_entry = lookup.get(&(*eco, target.as_str())).map(|&i| &universe.entries[i as usize]);
        let target_display = target_entry.map_or(target.as_str(), |e| e.name.as_str()).to_string();
        for hit in universe.index.query(*eco, target) {
            let entry = &universe.entries[hit.id as usize];
            let related = related(&universe, target_entry, entry);
            let mut score = hit.confusion.kind.weight();
            if !related.is_empty() {
                score = score.saturating_sub(50);
            }
            if operator_view && targets.iter().any(|(e, t)| e == eco && t == universe.index.name(hit.id)) {
                // Two popular names that resemble each other are both established.
                score = score.saturating_sub(30);
            }
            let cand = Candidate {
                name: entry.name.clone(),
                ecosystem: *eco,
                kind: hit.confusion.kind,
                rules: vec![hit.confusion.kind],
                target: target_display.clone(),
                evidence: hit.confusion.evidence,
                versions: entry.versions.clone(),
                related,
                copy: None,
                score,
            };
            let slot = by_key.entry((*eco, hit.id)).or_insert_with(|| cand.clone());
            if cand.score > slot.score {
                *slot = cand;
            }
        }
        if let Some(ours) = target_entry.filter(|e| !e.packages.is_empty()) {
            find_copies(&universe, &lookup, *eco, &target_display, ours, &mut by_key);
        }
    }
    let mut candidates: Vec<Candidate> = by_key.into_values().collect();
    candidates
        .sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.target.cmp(&b.target)).then_with(|| a.name.cmp(&b.name)));
    report.candidates = candidates;
    report.targets = targets;
    report.query_ms = started.elapsed().as_millis();
    Ok(report)
}

fn find_copies(
    universe: &Universe,
    lookup: &HashMap<(Ecosystem, &str), u32>,
    eco: Ecosystem,
    target: &str,
    ours: &Entry,
    by_key: &mut HashMap<(Ecosystem, u32), Candidate>,
) {
    let pkgs: Vec<usize> = (0..universe.packages.len()).filter(|&i| universe.packages[i].0 == eco).collect();
    let slice: Vec<&Package> = pkgs.iter().map(|&i| &universe.packages[i].1).collect();
    let ours_local: Vec<usize> =
        pkgs.iter().enumerate().filter(|(_, g)| ours.packages.contains(g)).map(|(l, _)| l).collect();
    for m in copies::find(&slice, &ours_local) {
        let copy = &slice[m.copy];
        let original = &slice[m.original];
        let norm = eco.normalise(&copy.name);
        let Some(&id) = lookup.get(&(eco, norm.as_str())) else { continue };
        let entry = &universe.entries[id as usize];
        let evidence = CopyEvidence {
            of: format!("{}@{}", original.name, original.version),
            identical: m.identical,
            files: m.total,
            differs: m.differs.iter().map(|(p, c)| (p.clone(), c.as_str())).collect(),
        };
        let words = format!(
            "{} {}: {}/{} files identical to {} ({:.0}%)",
            copy.name,
            copy.version,
            m.identical,
            m.total,
            evidence.of,
            evidence.share() * 100.0
        );
        // A copy keeps our manifest's repository URL, so for a copy only a dependency counts
        // as a sign of family.
        let mut related = related(universe, Some(ours), entry);
        related.retain(|r| !r.starts_with("same repository"));
        let score = if related.is_empty() { Kind::Copy.weight() } else { Kind::Copy.weight() - 50 };
        let slot = by_key.entry((eco, id)).or_insert_with(|| Candidate {
            name: entry.name.clone(),
            ecosystem: eco,
            kind: Kind::Copy,
            rules: Vec::new(),
            target: target.to_string(),
            evidence: String::new(),
            versions: entry.versions.clone(),
            related,
            copy: None,
            score,
        });
        if slot.copy.as_ref().is_none_or(|c| c.share() < evidence.share()) {
            if !slot.rules.contains(&Kind::Copy) {
                slot.rules.insert(0, Kind::Copy);
            }
            slot.evidence = if slot.evidence.is_empty() || slot.kind == Kind::Copy {
                words
            } else {
                format!("{words}; {}", slot.evidence)
            };
            slot.kind = Kind::Copy;
            slot.score = slot.score.max(score);
            slot.target = target.to_string();
            slot.copy = Some(evidence);
        }
    }
}

/// Signs of a real family: a shared repository, or a dependency either way.
fn related(universe: &Universe, target: Option<&Entry>, cand: &Entry) -> Vec<String> {
    let mut out = Vec::new();
    let Some(target) = target else { return out };
    let pkgs = |e: &Entry| e.packages.iter().map(|&i| &universe.packages[i]).collect::<Vec<_>>();
    let (tp, cp) = (pkgs(target), pkgs(cand));
    let repos = |p: &[&(Ecosystem, Package)]| p.iter().filter_map(|(_, p)| p.repository.clone()).collect::<Vec<_>>();
    let (tr, cr) = (repos(&tp), repos(&cp));
    if let Some(r) = cr.iter().find(|r| tr.contains(r)) {
        out.push(format!("same repository ({r})"));
    }
    let depends = |from: &[&(Ecosystem, Package)], on: &str| {
        from.iter().any(|(eco, p)| p.dependencies.iter().any(|d| eco.normalise(d) == eco.normalise(on)))
    };
    // DefinitelyTyped: `@types/x` (or `@types/scope__x` for `@scope/x`) types the package `x`.
    let types_of =
        |a: &str, b: &str| a.strip_prefix("@types/").is_some_and(|t| t == b.trim_start_matches('@').replace('/', "__"));
    if types_of(&target.name, &cand.name) || types_of(&cand.name, &target.name) {
        out.push("DefinitelyTyped types package".to_string());
    }
    if depends(&cp, &target.name) {
        out.push(format!("depends on '{}'", target.name));
    }
    if depends(&tp, &cand.name) {
        out.push(format!("'{}' depends on it", target.name));
    }
    out
}

fn load_names(path: &Path, only: Option<Ecosystem>, report: &mut Report) -> Result<Universe, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot read '{}': {e}", path.display())))?;
    let mut builder = NameIndexBuilder::new();
    let mut entries = Vec::new();
    let mut seen: HashMap<(Ecosystem, String), u32> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (eco, name) = match line.split_once(char::is_whitespace) {
            Some((e, name)) => match Ecosystem::parse(e) {
                Some(eco) => (eco, name.trim()),
                None => {
                    report.errors.push(format!("{}:{}: unknown ecosystem '{e}'", path.display(), n + 1));
                    continue;
                }
            },
            None => match only {
                Some(eco) => (eco, line),
                None => {
                    let msg = format!("{}:{}: expected 'ecosystem name', got '{line}'", path.display(), n + 1);
                    return Err(Error::new(ErrorKind::Config, msg).with_hint("or give --ecosystem"));
                }
            },
        };
        if only.is_some_and(|o| o != eco) {
            continue;
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = seen.entry((eco, eco.normalise(name))) {
            let id = builder.push(eco, &slot.key().1);
            slot.insert(id);
            entries.push(Entry { name: name.to_string(), ..Entry::default() });
        }
    }
    drop(seen);
    Ok(Universe { entries, index: builder.build(), packages: Vec::new() })
}

fn load_mirror(dir: &Path, ecos: &[Ecosystem], report: &mut Report) -> Result<Universe, Error> {
    if !Ecosystem::ALL.iter().any(|e| dir.join(e.as_str()).is_dir()) {
        return Err(mirror::no_mirror(dir));
    }
    let mut packages = Vec::new();
    for &eco in ecos {
        for p in mirror::read(dir, eco, true)? {
            for e in &p.errors {
                report.errors.push(format!("{}: {e}", p.path.display()));
            }
            packages.push((eco, p));
        }
    }
    report.archives = packages.len();
    let mut builder = NameIndexBuilder::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen: HashMap<(Ecosystem, String), u32> = HashMap::new();
    for (i, (eco, p)) in packages.iter().enumerate() {
        let norm = eco.normalise(&p.name);
        let id = *seen.entry((*eco, norm.clone())).or_insert_with(|| {
            entries.push(Entry { name: p.name.clone(), ..Entry::default() });
            builder.push(*eco, &norm)
        });
        let entry = &mut entries[id as usize];
        if !entry.versions.contains(&p.version) {
            entry.versions.push(p.version.clone());
        }
        entry.packages.push(i);
    }
    Ok(Universe { entries, index: builder.build(), packages })
}

/// The popular names of the registry-operator view: `--top FILE`, else the mirror's
/// most-depended-upon packages (each depending package counted once, whatever its versions).
fn popular(opts: &Options, universe: &Universe, ecos: &[Ecosystem]) -> Result<Vec<(Ecosystem, String)>, Error> {
    if let Some(path) = &opts.top {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot read '{}': {e}", path.display())))?;
        let mut out = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            match line.split_once(char::is_whitespace) {
                Some((e, name)) if Ecosystem::parse(e).is_some() => {
                    let eco = Ecosystem::parse(e).unwrap_or(Ecosystem::Npm);
                    if ecos.contains(&eco) {
                        out.push((eco, eco.normalise(name.trim())));
                    }
                }
                _ => out.extend(ecos.iter().map(|&e| (e, e.normalise(line)))),
            }
        }
        out.dedup();
        return Ok(out);
    }
    if universe.packages.is_empty() {
        return Err(Error::new(ErrorKind::Config, "no names to watch").with_hint(
            "give NAME..., or --top FILE of popular names (or --mirror DIR to use its most-depended-upon)",
        ));
    }
    let mut counts: HashMap<(Ecosystem, String), HashSet<String>> = HashMap::new();
    for (eco, p) in &universe.packages {
        let from = eco.normalise(&p.name);
        for d in &p.dependencies {
            counts.entry((*eco, eco.normalise(d))).or_default().insert(from.clone());
        }
    }
    let mut ranked: Vec<((Ecosystem, String), usize)> = counts.into_iter().map(|(k, v)| (k, v.len())).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out = Vec::new();
    for eco in ecos {
        out.extend(ranked.iter().filter(|((e, _), _)| e == eco).take(opts.top_count).map(|(k, _)| k.clone()));
    }
    Ok(out)
}
