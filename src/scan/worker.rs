//! The worker stage of the scan pipeline: one per rayon thread. It reads a job's input (a
//! file read whole or streamed, a mapped zip, stdin, a staged or history blob), expands it
//! ([`Expander`]), runs the artifact checks, searches every leaf unit with its [`Searcher`], and
//! turns what is found into records, held per input ([`JobBuffer`]) until the input is done. A
//! unit that fails or panics becomes an error record for that unit; the worker goes on.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use gix_hash::ObjectId;

use super::produce::{Job, excluded};
use super::{Counters, Shared};
use crate::checks::{self, Checks, Hit};
use crate::config::IoOptions;
use crate::config::filter::Filters;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind};
use crate::git;
use crate::input::archive::Expander;
use crate::input::staged;
use crate::input::{Chain, Content, SkipReason, Visitor, mmap};
use crate::job::{JobBuffer, Outbox};
use crate::report::Record;
use crate::rules::RuleId;
use crate::search::{self, Located, Searcher};
use crate::state::Lookup;

/// A rayon worker: owns its searcher and buffers, scans units, sends records.
pub(super) struct Worker<'a> {
    engine: &'a Engine,
    searcher: Searcher<'a>,
    expander: Expander,
    io: IoOptions,
    filters: &'a Filters,
    /// Artifact checks (issue 5), shared by every worker.
    checks: &'a Checks,
    /// Repositories already reported in the current top-level input.
    repos: HashSet<Chain>,
    records: Outbox,
    /// The current top-level input's records and what attributes them (issue 12).
    buffer: JobBuffer,
    shared: Option<&'a Shared>,
    counters: &'a Counters,
    read_buf: Vec<u8>,
    /// The git origin of the unit being scanned (history scans), copied into its findings.
    git: Option<Arc<git::Origin>>,
    /// Test hook: a unit at this path panics, to prove the worker survives it.
    #[cfg(test)]
    panic_in: Option<PathBuf>,
}

impl<'a> Worker<'a> {
    pub(super) fn new(
        engine: &'a Engine,
        expander: Expander,
        io: IoOptions,
        filters: &'a Filters,
        checks: &'a Checks,
        records: Outbox,
        counters: &'a Counters,
    ) -> Self {
        Worker {
            engine,
            searcher: Searcher::new(engine, io.window),
            expander,
            io,
            filters,
            checks,
            repos: HashSet::new(),
            records,
            buffer: JobBuffer::default(),
            shared: None,
            counters,
            read_buf: Vec::new(),
            git: None,
            #[cfg(test)]
            panic_in: None,
        }
    }

    pub(super) fn shared(mut self, shared: &'a Shared) -> Self {
        self.shared = Some(shared);
        self
    }

    pub(super) fn job(&mut self, job: Job) {
        self.buffer.clear();
        let key = match (&job, self.shared.and_then(|s| s.store.as_ref())) {
            (Job::File(path), Some(store)) => match store.lookup(path, self.engine.rules()) {
                Ok(Lookup::Hit(records, totals)) => return self.replay(path, records, totals),
                Ok(Lookup::Miss(key)) => Some(key),
                Err(_) => None, // unreadable: the scan reports why
            },
            _ => None,
        };
        let path = match &job {
            Job::File(p) | Job::Staged(p, _) | Job::StagedLarge(p, _, _) => p.clone(),
            Job::GitBlob(_, _, origin) => origin.member_path(),
            Job::Stdin => PathBuf::from("-"),
        };
        self.scan_job(job);
        let mut done = match self.shared {
            Some(s) => self.buffer.finish(&path, &s.vendored, s.map_ids),
            None => crate::job::Finished { records: std::mem::take(&mut self.buffer.records), ..Default::default() },
        };
        done.store = key;
        self.records.done(done);
    }

    /// An unchanged input: its stored records and totals, as if it had been scanned.
    fn replay(&mut self, path: &Path, records: Vec<Record>, totals: crate::job::Totals) {
        self.counters.files.fetch_add(totals.files, Ordering::Relaxed);
        self.counters.bytes.fetch_add(totals.bytes, Ordering::Relaxed);
        self.counters.archives.fetch_add(totals.archives, Ordering::Relaxed);
        self.counters.members.fetch_add(totals.members, Ordering::Relaxed);
        let _ = path;
        self.records.done(crate::job::Finished { records, totals, replayed: true, ..Default::default() });
    }

    fn scan_job(&mut self, job: Job) {
        self.repos.clear();
        let chain = match &job {
            Job::File(p) | Job::Staged(p, _) | Job::StagedLarge(p, _, _) => Chain::file(p),
            Job::GitBlob(_, _, origin) => Chain::file(origin.member_path()),
            Job::Stdin => Chain::file("-"),
        };
        let result = catch_unwind(AssertUnwindSafe(|| match job {
            Job::File(path) => self.file(&path),
            Job::Stdin => {
                self.counters.files.fetch_add(1, Ordering::Relaxed);
                let mut stdin = io::stdin().lock();
                let chain = Chain::file("-");
                let expander = self.expander;
                expander.process(&chain, Content::Reader(&mut stdin), self)
            }
            Job::Staged(path, bytes) => {
                self.counters.files.fetch_add(1, Ordering::Relaxed);
                let expander = self.expander;
                expander.process(&Chain::file(path), Content::Bytes(&bytes), self)
            }
            Job::StagedLarge(path, top, oid) => {
                self.counters.files.fetch_add(1, Ordering::Relaxed);
                let mut blob = staged::open_blob(&top, &oid)?;
                let expander = self.expander;
                expander.process(&Chain::file(path), Content::Reader(&mut blob), self)
            }
            Job::GitBlob(repo, id, origin) => self.git_blob(&repo, &id, origin),
        }));
        self.git = None;
        self.settle(&chain, result);
    }

    /// How a unit ended: its error, or a panic inside it, becomes an error record for that unit,
    /// and the worker goes on with the next one (so `panic = "abort"` must never be set).
    fn settle(&mut self, chain: &Chain, result: std::thread::Result<Result<(), Error>>) {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.error(chain, &e),
            Err(panic) => {
                // The scratch may hold a half-finished scan; start afresh.
                self.searcher.reset();
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                self.error(chain, &Error::new(ErrorKind::Io, format!("internal error while scanning (panic: {what})")));
            }
        }
    }

    /// One blob of a history scan, located `<commit>:<path>` with its origin on every finding.
    fn git_blob(&mut self, repo: &git::repo::Objects, id: &ObjectId, origin: Arc<git::Origin>) -> Result<(), Error> {
        let chain = Chain::file(origin.member_path());
        self.counters.files.fetch_add(1, Ordering::Relaxed);
        let mut buf = std::mem::take(&mut self.read_buf);
        let result = match repo.read_blob(id, &mut buf) {
            Ok(true) => {
                self.git = Some(origin);
                let expander = self.expander;
                expander.process(&chain, Content::Bytes(&buf), self)
            }
            Ok(false) => Err(Error::new(ErrorKind::Io, format!("blob {id} is missing"))),
            // Over the object store's allocation limit: a size-limit skip, not an error.
            Err(e) => match repo.blob_size(id) {
                Ok(Some(size)) if size > git::repo::BLOB_CAP => {
                    let detail = format!("blob over {} MiB not scanned", git::repo::BLOB_CAP >> 20);
                    self.skipped(&chain, SkipReason::SizeLimit, &detail);
                    Ok(())
                }
                _ => Err(e),
            },
        };
        if buf.capacity() > 2 * self.io.read_max as usize {
            buf = Vec::new();
        }
        self.read_buf = buf;
        result
    }

    fn file(&mut self, path: &Path) -> Result<(), Error> {
        let chain = Chain::file(path);
        let mut file = File::open(path).map_err(|e| Error::io(&e))?;
        let meta = file.metadata().map_err(|e| Error::io(&e))?;
        if !meta.is_file() {
            self.skipped(&chain, SkipReason::NotAFile, "not a regular file");
            return Ok(());
        }
        self.counters.files.fetch_add(1, Ordering::Relaxed);
        self.buffer.totals.files += 1;
        let len = meta.len();
        let expander = self.expander;
        if len <= self.io.read_max {
            let mut buf = std::mem::take(&mut self.read_buf);
            buf.clear();
            // A file that grows while we read is cut at the size it had when we looked.
            let read = (&mut file).take(len).read_to_end(&mut buf);
            let result = match read {
                Ok(_) => expander.process(&chain, Content::Bytes(&buf), self),
                Err(e) => Err(Error::io(&e)),
            };
            self.read_buf = buf;
            result
        } else if self.io.map_zip && expander.enabled && is_zip(&mut file) {
            // A zip's central directory is at its end and members are read at random: map it
            // rather than buffer it (see `IoOptions` for why nothing else is mapped).
            let bytes = mmap::map_or_read(&mut file, len).map_err(|e| Error::io(&e))?;
            expander.process(&chain, Content::Bytes(&bytes), self)
        } else {
            expander.process(&chain, Content::Reader(&mut file), self)
        }
    }

    fn send(&mut self, record: Record) {
        // Held until the input is done (see `job`), then sent with its package.
        self.buffer.records.push(record);
    }

    /// Counts bytes searched, for the summary and the input's totals.
    fn count_bytes(&mut self, n: u64) {
        self.counters.bytes.fetch_add(n, Ordering::Relaxed);
        self.buffer.totals.bytes += n;
    }

    fn scan_bytes(&mut self, chain: &Chain, bytes: &[u8]) {
        self.count_bytes(bytes.len() as u64);
        let (git, out) = (self.git.as_ref(), Out::Records(&mut self.buffer.records));
        self.searcher.slice(bytes, &mut Records { chain, filters: self.filters, git, out });
    }

    fn scan_stream(&mut self, chain: &Chain, reader: &mut dyn Read) -> Result<(), Error> {
        let (git, out) = (self.git.as_ref(), Out::Records(&mut self.buffer.records));
        let mut sink = Records { chain, filters: self.filters, git, out };
        let n = self
            .searcher
            .stream(reader, &mut sink)
            .map_err(|e| Error::new(ErrorKind::Io, crate::error::io_message(&e)))?;
        self.count_bytes(n);
        Ok(())
    }
}

/// The worker's sink: located findings become hits, with the config's secret allow list, the
/// context label and the unit's git origin applied, and then records or, for a check's nested
/// scan, hits returned to it.
struct Records<'s> {
    chain: &'s Chain,
    filters: &'s Filters,
    git: Option<&'s Arc<git::Origin>>,
    out: Out<'s>,
}

/// Where [`Records`] puts what it is handed.
enum Out<'s> {
    /// The input's records.
    Records(&'s mut Vec<Record>),
    /// Hits for a check ([`checks::Host::scan_collect`]).
    Hits(&'s mut Vec<Hit>),
}

impl search::Sink for Records<'_> {
    fn found(&mut self, found: Located<'_>) {
        let secret = found.secret();
        if self.filters.allows_secret(secret) {
            return;
        }
        let f = found.finding;
        let hit = Hit {
            rule: f.rule,
            chain: self.chain.clone(),
            line: Some(found.line),
            column: Some(found.column),
            secret: secret.to_vec(),
            entropy: Some(f.entropy),
            validated: f.validated,
            context: crate::context::of(self.chain, &self.filters.roots, Some((found.haystack, f.span.start))),
            meta: None,
            git: self.git.cloned(),
        };
        match &mut self.out {
            Out::Records(records) => records.push(Record::Finding(crate::job::record(hit))),
            Out::Hits(hits) => hits.push(hit),
        }
    }
}

impl Visitor for Worker<'_> {
    fn leaf(&mut self, chain: &Chain, content: Content<'_>) -> Result<(), Error> {
        #[cfg(test)]
        assert!(self.panic_in.as_ref() != Some(&chain.path), "test hook in {}", chain.path.display());
        if let Some(x) = &self.filters.exclude
            && chain.members.iter().any(|m| x.relative(&String::from_utf8_lossy(m)))
        {
            self.send(excluded(chain.clone()));
            return Ok(());
        }
        if let Content::Bytes(bytes) = &content {
            self.buffer.leaf(chain, bytes);
        }
        let checks = self.checks;
        if let Some(plan) = checks.plan(chain) {
            return checks.run(plan, chain, content, self);
        }
        match content {
            Content::Bytes(b) => {
                self.scan_bytes(chain, b);
                Ok(())
            }
            Content::Reader(r) => self.scan_stream(chain, r),
        }
    }

    fn skipped(&mut self, chain: &Chain, reason: SkipReason, detail: &str) {
        self.send(Record::Skipped { chain: chain.clone(), reason, message: detail.to_string() });
    }

    fn error(&mut self, chain: &Chain, error: &Error) {
        self.send(Record::Error { chain: chain.clone(), message: error.message().to_string() });
    }

    fn archive_opened(&mut self, chain: &Chain) {
        self.counters.archives.fetch_add(1, Ordering::Relaxed);
        self.buffer.archive_opened(chain);
        let checks = self.checks;
        checks.archive_opened(chain, self);
    }

    fn member(&mut self, chain: &Chain) {
        self.counters.members.fetch_add(1, Ordering::Relaxed);
        self.buffer.member(chain);
    }
}

impl checks::Host for Worker<'_> {
    fn finding(&mut self, rule: RuleId, chain: &Chain, at: Option<(u64, u64)>, secret: Vec<u8>) {
        if at.is_some() && self.filters.allows_secret(&secret) {
            return;
        }
        let hit = Hit {
            rule,
            chain: chain.clone(),
            line: at.map(|a| a.0),
            column: at.map(|a| a.1),
            secret,
            entropy: None,
            validated: None,
            context: crate::context::of(chain, &self.filters.roots, None),
            meta: None,
            git: self.git.clone(),
        };
        self.report(hit);
    }

    fn skipped(&mut self, chain: &Chain, reason: SkipReason, detail: &str) {
        Visitor::skipped(self, chain, reason, detail);
    }

    fn error(&mut self, chain: &Chain, error: &Error) {
        Visitor::error(self, chain, error);
    }

    fn scan(&mut self, chain: &Chain, content: Content<'_>) -> Result<(), Error> {
        match content {
            Content::Bytes(b) => {
                self.scan_bytes(chain, b);
                Ok(())
            }
            Content::Reader(r) => self.scan_stream(chain, r),
        }
    }

    fn scan_collect(&mut self, chain: &Chain, bytes: &[u8]) -> Vec<Hit> {
        self.count_bytes(bytes.len() as u64);
        let mut hits = Vec::new();
        let git = self.git.as_ref();
        self.searcher.slice(bytes, &mut Records { chain, filters: self.filters, git, out: Out::Hits(&mut hits) });
        hits
    }

    fn report(&mut self, hit: Hit) {
        let record = crate::job::record(hit);
        self.send(Record::Finding(record));
    }

    fn first_in_input(&mut self, key: &Chain) -> bool {
        self.repos.insert(key.clone())
    }

    fn source_map(&mut self, facts: crate::checks::mapsummary::MapFacts) {
        self.buffer.source_map(facts);
    }
}

/// True when `file` starts with a zip local header; the read position is restored.
fn is_zip(file: &mut File) -> bool {
    use std::io::{Seek, SeekFrom};
    let mut head = [0u8; 4];
    let ok = file.read_exact(&mut head).is_ok()
        && crate::input::archive::sniff(&head) == Some(crate::input::archive::Format::Zip);
    file.seek(SeekFrom::Start(0)).is_ok() && ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::job::Msg;
    use crate::rules::RuleSet;

    fn token() -> String {
        let body = "abcdefghijABCDEFGHIJ0123456789";
        let tail = crate::rules::validate::base62_6(crc32fast::hash(body.as_bytes()));
        format!("ghp_{body}{}", std::str::from_utf8(&tail).unwrap())
    }

    /// Goes through `Worker::job` itself: without its `catch_unwind` the hook's panic would end
    /// this test.
    #[test]
    fn a_panic_in_one_unit_becomes_an_error_record_and_the_worker_goes_on() {
        let engine = Engine::new(RuleSet::builtin().unwrap()).unwrap();
        let config = Config::default();
        let filters = Filters::new(&config).unwrap();
        let checks = Checks::new(engine.rules(), config.limits, &config.inputs);
        let counters = Counters::default();
        let (tx, rx) = crossbeam_channel::unbounded::<Msg>();
        let expander = Expander { limits: config.limits, enabled: true };
        let mut worker = Worker::new(&engine, expander, config.io, &filters, &checks, Outbox(tx), &counters);
        worker.panic_in = Some(PathBuf::from("bad.js"));
        let secret = format!("t = '{}'", token()).into_bytes();
        worker.job(Job::Staged("bad.js".into(), secret.clone()));
        worker.job(Job::Staged("next.js".into(), secret));
        drop(worker);
        let done: Vec<Vec<Record>> = rx
            .try_iter()
            .map(|m| match m {
                Msg::Done(d) => d.records,
                Msg::Record(r) => vec![r],
            })
            .collect();
        assert_eq!(done.len(), 2, "{done:?}");
        match &done[0][..] {
            [Record::Error { chain, message }] => {
                assert_eq!(chain, &Chain::file("bad.js"));
                assert_eq!(message, "internal error while scanning (panic: test hook in bad.js)");
            }
            r => panic!("not one error record: {r:?}"),
        }
        assert!(matches!(&done[1][..], [Record::Finding(f)] if f.chain == Chain::file("next.js")), "{done:?}");
    }
}
