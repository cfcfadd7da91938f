//! One top-level input's records, held until the input is done (issue 12). Archive members arrive
//! in stream order and a package's manifest may come after the file with the finding, so a
//! worker buffers the records of its current input here, collects the manifests, member names
//! and source maps that pass by, and at the end attributes every finding to its package
//! ([`crate::package`]) and turns the maps into per-package summaries ([`mapsummary`]). An input
//! is also the unit of the state store and of a killed run: its records are written together.
//! [`record`] is the one place a check's or the searcher's hit becomes a reporter's record.

use std::path::Path;
use std::sync::Arc;

use crate::checks::Hit;
use crate::checks::mapsummary::{self, MapFacts, Shipped, Tally};
use crate::input::Chain;
use crate::package::{ArchivePackages, FindingMeta, Package, Vendored, manifest};
use crate::report::{FindingRecord, Record};

/// A check's or the searcher's [`Hit`] as the reporter's record (`known_public` is judged later,
/// from the fingerprint).
pub fn record(hit: Hit) -> FindingRecord {
    FindingRecord {
        rule: hit.rule,
        chain: hit.chain,
        line: hit.line,
        column: hit.column,
        secret: hit.secret,
        entropy: hit.entropy,
        validated: hit.validated,
        context: hit.context,
        known_public: false,
        meta: hit.meta,
        git: hit.git,
    }
}

/// Member names kept per input for "does this map's source ship?" (beyond it, sources of later
/// maps are judged against the names seen so far).
const MEMBER_NAMES_MAX: usize = 200_000;

/// Totals of one input, for the summary (and replayed with its records).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Files read (1, or 0 when it was not a regular file).
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Archives opened.
    pub archives: u64,
    /// Members visited.
    pub members: u64,
}

/// What a worker collects while it scans one top-level input.
#[derive(Debug, Default)]
pub struct JobBuffer {
    /// Records, in the order they were found.
    pub records: Vec<Record>,
    /// Totals.
    pub totals: Totals,
    archive: bool,
    packages: ArchivePackages,
    members: Vec<Vec<u8>>,
    maps: Vec<MapFacts>,
}

/// What a finished input hands to the reporter.
#[derive(Debug, Default)]
pub struct Finished {
    /// Its records, findings attributed, map summaries included (for an archive).
    pub records: Vec<Record>,
    /// Map tallies of files on disk, to merge across inputs per package.
    pub tallies: Vec<(Option<Package>, Tally)>,
    /// Totals.
    pub totals: Totals,
    /// Where to store the records (`--state`), when the input was scanned.
    pub store: Option<crate::state::Key>,
    /// The records were replayed from the state store.
    pub replayed: bool,
}

impl JobBuffer {
    /// Starts a new input.
    pub fn clear(&mut self) {
        // A big archive's buffers are not kept for the next input: memory follows the input.
        fn reset<T>(v: &mut Vec<T>) {
            if v.capacity() > 4096 {
                *v = Vec::new();
            } else {
                v.clear();
            }
        }
        reset(&mut self.records);
        reset(&mut self.members);
        reset(&mut self.maps);
        self.totals = Totals::default();
        self.archive = false;
        self.packages.clear();
    }

    /// An archive was opened at `chain`.
    pub fn archive_opened(&mut self, chain: &Chain) {
        self.totals.archives += 1;
        if chain.members.is_empty() {
            self.archive = true;
        }
    }

    /// A member was visited.
    pub fn member(&mut self, chain: &Chain) {
        self.totals.members += 1;
        if self.members.len() < MEMBER_NAMES_MAX
            && let Some(name) = chain.members.last()
        {
            self.members.push(name.clone());
        }
    }

    /// A leaf unit with its bytes: read it if it is a package manifest.
    pub fn leaf(&mut self, chain: &Chain, bytes: &[u8]) {
        if let Some(found) = manifest::classify(&chain.members)
            && bytes.len() <= manifest::MANIFEST_CAP
        {
            self.packages.add(&chain.path, &chain.members, found, bytes);
        }
    }

    /// A source map was read.
    pub fn source_map(&mut self, facts: MapFacts) {
        self.maps.push(facts);
    }

    /// The input at `path` is done: attribute, summarise, hand over.
    pub fn finish(&mut self, path: &Path, vendored: &Vendored, ids: mapsummary::Ids) -> Finished {
        let own = if self.archive { self.packages.own(path) } else { None }.or_else(|| vendored.lookup(path));
        let plain = own.as_ref().map(|p| Arc::new(FindingMeta { package: Some(p.clone()), ..FindingMeta::default() }));
        let mut records = std::mem::take(&mut self.records);
        for r in &mut records {
            let Record::Finding(f) = r else { continue };
            if f.meta.is_some() {
                continue;
            }
            let dep = self.packages.dependency(&f.chain.members);
            f.meta = match (dep, &plain) {
                (Some(dep), _) => Some(Arc::new(FindingMeta {
                    package: own.clone(),
                    dependency: Some(dep.clone()),
                    ..FindingMeta::default()
                })),
                (None, Some(meta)) => Some(Arc::clone(meta)),
                (None, None) => None,
            };
        }
        let mut tallies = Vec::new();
        if !self.maps.is_empty() {
            let mut tally = Tally::default();
            if self.archive {
                let shipped = Shipped::new(self.members.iter().map(Vec::as_slice));
                let check = |facts: &MapFacts, name: &str| match facts.chain.members.last() {
                    Some(map) => shipped.contains(map, name),
                    None => mapsummary::on_disk(&facts.chain.path, name),
                };
                for facts in &self.maps {
                    tally.add(facts, &check);
                }
                let meta = FindingMeta { package: own.clone(), ..FindingMeta::default() };
                records.extend(tally.findings(ids, &meta).into_iter().map(|h| Record::Finding(record(h))));
            } else {
                let check = |facts: &MapFacts, name: &str| mapsummary::on_disk(&facts.chain.path, name);
                for facts in &self.maps {
                    tally.add(facts, &check);
                }
                tallies.push((own, tally));
            }
        }
        self.maps.clear();
        Finished { records, tallies, totals: self.totals, ..Finished::default() }
    }
}

/// What the workers and the walker send to the reporter loop.
#[derive(Debug)]
pub enum Msg {
    /// A record of its own (the walker's skips and errors).
    Record(Record),
    /// A finished top-level input.
    Done(Box<Finished>),
}

/// The reporter loop is gone (output failed; the scan is being cancelled).
#[derive(Clone, Copy, Debug)]
pub struct Closed;

/// The sending end of the reporter loop's channel.
#[derive(Clone, Debug)]
pub struct Outbox(pub crossbeam_channel::Sender<Msg>);

impl Outbox {
    /// Sends one record; fails only when the reporter is gone (output failed).
    pub fn send(&self, record: Record) -> Result<(), Closed> {
        self.0.send(Msg::Record(record)).map_err(|_| Closed)
    }

    /// Sends a finished input.
    pub fn done(&self, finished: Finished) {
        let _ = self.0.send(Msg::Done(Box::new(finished)));
    }
}

/// Map tallies of trees on disk, merged per package over the whole scan.
#[derive(Debug, Default)]
pub struct MapTallies(std::collections::BTreeMap<Option<Package>, Tally>);

impl MapTallies {
    /// Adds one input's tallies.
    pub fn merge(&mut self, tallies: Vec<(Option<Package>, Tally)>) {
        for (pkg, t) in tallies {
            self.0.entry(pkg).or_default().merge(t);
        }
    }

    /// The summary findings, one package at a time.
    pub fn findings(self, ids: mapsummary::Ids) -> Vec<Record> {
        let mut out = Vec::new();
        for (package, tally) in self.0 {
            let meta = FindingMeta { package, ..FindingMeta::default() };
            out.extend(tally.findings(ids, &meta).into_iter().map(|h| Record::Finding(record(h))));
        }
        out
    }
}
