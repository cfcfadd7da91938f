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
use index::{Arena, NameIndexBuilder};
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

/// What a mirror knows of one distinct (ecosystem, normalised name) of the source.
#[derive(Default)]
struct Entry {
    versions: Vec<String>,
    packages: Vec<usize>,
}

/// A name list knows nothing more than the names.
static NO_ENTRY: Entry = Entry { versions: Vec::new(), packages: Vec::new() };

/// The source's distinct names, each with one id in the index, in `display` and in `entries`.
struct Universe {
    /// Each name as published (its first spelling in the source).
    display: Arena,
    /// Versions and archives, from a mirror only (empty for a name list).
    entries: Vec<Entry>,
    index: index::NameIndex,
    packages: Vec<(Ecosystem, Package)>,
}

impl Universe {
    fn entry(&self, id: u32) -> &Entry {
        self.entries.get(id as usize).unwrap_or(&NO_ENTRY)
    }
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
    report.names = universe.index.len();
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
    for (eco, target) in &targets {
        let target_id = universe.index.find(*eco, target);
        let target_display = target_id.map_or(target.as_str(), |i| universe.display.get(i)).to_string();
        for hit in universe.index.query(*eco, target) {
            let related = related(&universe, target_id, hit.id);
            let mut score = hit.confusion.kind.weight();
            if !related.is_empty() {
                score = score.saturating_sub(50);
            }
            if operator_view && targets.iter().any(|(e, t)| e == eco && t == universe.index.name(hit.id)) {
                // Two popular names that resemble each other are both established.
                score = score.saturating_sub(30);
            }
            let cand = Candidate {
                name: universe.display.get(hit.id).to_string(),
                ecosystem: *eco,
                kind: hit.confusion.kind,
                rules: vec![hit.confusion.kind],
                target: target_display.clone(),
                evidence: hit.confusion.evidence,
                versions: universe.entry(hit.id).versions.clone(),
                related,
                copy: None,
                score,
            };
            let slot = by_key.entry((*eco, hit.id)).or_insert_with(|| cand.clone());
            if cand.score > slot.score {
                *slot = cand;
            }
        }
        if let Some(ours) = target_id.filter(|&i| !universe.entry(i).packages.is_empty()) {
            find_copies(&universe, *eco, &target_display, ours, &mut by_key);
        }
    }
    let mut candidates: Vec<Candidate> = by_key.into_values().collect();
    // Fully ordered (the same name can come from two ecosystems): the map's order is random.
    candidates
        .sort_by(|a, b| (b.score, &a.target, &a.name, a.ecosystem).cmp(&(a.score, &b.target, &b.name, b.ecosystem)));
    report.candidates = candidates;
    report.targets = targets;
    report.query_ms = started.elapsed().as_millis();
    Ok(report)
}

fn find_copies(
    universe: &Universe,
    eco: Ecosystem,
    target: &str,
    ours_id: u32,
    by_key: &mut HashMap<(Ecosystem, u32), Candidate>,
) {
    let ours = universe.entry(ours_id);
    let pkgs: Vec<usize> = (0..universe.packages.len()).filter(|&i| universe.packages[i].0 == eco).collect();
    let slice: Vec<&Package> = pkgs.iter().map(|&i| &universe.packages[i].1).collect();
    let ours_local: Vec<usize> =
        pkgs.iter().enumerate().filter(|(_, g)| ours.packages.contains(g)).map(|(l, _)| l).collect();
    for m in copies::find(&slice, &ours_local) {
        let copy = &slice[m.copy];
        let original = &slice[m.original];
        let Some(id) = universe.index.find(eco, &eco.normalise(&copy.name)) else { continue };
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
        let mut related = related(universe, Some(ours_id), id);
        related.retain(|r| !r.starts_with("same repository"));
        let score = if related.is_empty() { Kind::Copy.weight() } else { Kind::Copy.weight() - 50 };
        let slot = by_key.entry((eco, id)).or_insert_with(|| Candidate {
            name: universe.display.get(id).to_string(),
            ecosystem: eco,
            kind: Kind::Copy,
            rules: Vec::new(),
            target: target.to_string(),
            evidence: String::new(),
            versions: universe.entry(id).versions.clone(),
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
fn related(universe: &Universe, target: Option<u32>, cand: u32) -> Vec<String> {
    let mut out = Vec::new();
    let Some(target) = target else { return out };
    let pkgs = |id: u32| universe.entry(id).packages.iter().map(|&i| &universe.packages[i]).collect::<Vec<_>>();
    let (tp, cp) = (pkgs(target), pkgs(cand));
    let (target_name, cand_name) = (universe.display.get(target), universe.display.get(cand));
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
    if types_of(target_name, cand_name) || types_of(cand_name, target_name) {
        out.push("DefinitelyTyped types package".to_string());
    }
    if depends(&cp, target_name) {
        out.push(format!("depends on '{target_name}'"));
    }
    if depends(&tp, cand_name) {
        out.push(format!("'{target_name}' depends on it"));
    }
    out
}

/// The largest name list read (its names, normalised and as published, are kept in buffers
/// indexed by 32-bit offsets; a full registry's list is well under 100 MiB).
const MAX_NAMES_FILE: u64 = 1 << 30;

fn load_names(path: &Path, only: Option<Ecosystem>, report: &mut Report) -> Result<Universe, Error> {
    let io = |e: std::io::Error| Error::new(ErrorKind::Io, format!("cannot read '{}': {e}", path.display()));
    if std::fs::metadata(path).map_err(io)?.len() > MAX_NAMES_FILE {
        let msg = format!("'{}' is larger than {} MiB", path.display(), MAX_NAMES_FILE >> 20);
        return Err(Error::new(ErrorKind::Config, msg).with_hint("split the name list per ecosystem"));
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let mut builder = NameIndexBuilder::with_capacity(memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1);
    let mut display = Arena::default();
    // Lines are parsed and normalised in batches, and each batch inserted at once.
    let mut batch = Batch::default();
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
        batch.push(eco, name);
        if batch.names.len() == Batch::SIZE {
            batch.flush(&mut builder, &mut display);
        }
    }
    batch.flush(&mut builder, &mut display);
    drop(text);
    Ok(Universe { display, entries: Vec::new(), index: builder.build(), packages: Vec::new() })
}

/// Names of a name list on their way into the index: normalised into one buffer.
#[derive(Default)]
struct Batch<'a> {
    norms: String,
    names: Vec<(Ecosystem, &'a str, usize)>,
    ids: Vec<(u32, bool)>,
}

impl<'a> Batch<'a> {
    const SIZE: usize = 64;

    fn push(&mut self, eco: Ecosystem, name: &'a str) {
        let start = self.norms.len();
        eco.normalise_into(name, &mut self.norms);
        self.names.push((eco, name, start));
    }

    /// Inserts the batch; each name new to the index keeps its first spelling in `display`.
    fn flush(&mut self, builder: &mut NameIndexBuilder, display: &mut Arena) {
        let ends = self.names.iter().skip(1).map(|n| n.2).chain([self.norms.len()]);
        let norms: Vec<(Ecosystem, &str)> =
            self.names.iter().zip(ends).map(|(&(eco, _, start), end)| (eco, &self.norms[start..end])).collect();
        builder.insert_batch(&norms, &mut self.ids);
        for (&(_, name, _), &(_, new)) in self.names.iter().zip(&self.ids) {
            if new {
                display.push(name);
            }
        }
        self.norms.clear();
        self.names.clear();
        self.ids.clear();
    }
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
    let mut display = Arena::default();
    let mut entries: Vec<Entry> = Vec::new();
    for (i, (eco, p)) in packages.iter().enumerate() {
        let (id, new) = builder.insert(*eco, &eco.normalise(&p.name));
        if new {
            display.push(&p.name);
            entries.push(Entry::default());
        }
        let entry = &mut entries[id as usize];
        if !entry.versions.contains(&p.version) {
            entry.versions.push(p.version.clone());
        }
        entry.packages.push(i);
    }
    Ok(Universe { display, entries, index: builder.build(), packages })
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
