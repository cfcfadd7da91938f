//! The scan pipeline: walker → bounded channel → rayon workers (one [`Scratch`] each) → one
//! reporter loop. A unit that fails (or panics) becomes an error record; the scan goes on.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};
use gix_hash::ObjectId;
use rayon::prelude::*;

use crate::baseline::Baseline;
use crate::checks::{self, Checks};
use crate::config::filter::Filters;
use crate::config::{Config, IoOptions};
use crate::engine::{Engine, Finding, Scratch};
use crate::error::{Error, ErrorKind};
use crate::git;
use crate::input::archive::Expander;
use crate::input::staged::{self, Blob, EntryKind};
use crate::input::walk::{self, Entry};
use crate::input::{Chain, Content, SkipReason, Visitor, lines, mmap, window};
use crate::job::{JobBuffer, MapTallies, Msg, Outbox};
use crate::package::Vendored;
use crate::progress::{Progress, Snapshot};
use crate::report::{FindingRecord, Record, Reporter, Summary};
use crate::rules::{RuleId, RuleSet, Severity};
use crate::shard::{self, Shard};
use crate::state::{Lookup, Store};

/// What a scan returns besides the records it reported.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Totals.
    pub summary: Summary,
    /// The highest severity among reported findings.
    pub worst: Option<Severity>,
}

impl Outcome {
    /// Exit code per DESIGN.md: 1 for findings at or above `fail_on`, else 2 when an input
    /// could not be fully scanned, else 0.
    pub fn exit_code(&self, fail_on: Severity) -> i32 {
        if self.worst.is_some_and(|w| w >= fail_on) {
            1
        } else if self.summary.errors > 0 {
            2
        } else {
            0
        }
    }
}

/// Loads the builtin and extra rules of `config` and compiles them.
pub fn build_engine(config: &Config) -> Result<Engine, Error> {
    let mut rules = if config.builtin_rules { RuleSet::builtin()? } else { RuleSet::default() };
    for path in &config.extra_rules {
        for file in rule_files(path)? {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Error::new(ErrorKind::Rule, crate::error::io_message(&e)).context(file.display()))?;
            rules.add_toml(&file.display().to_string(), &text)?;
        }
    }
    let unknown = rules.disable(&config.disabled_rules);
    // Without the builtin pack, disabling one of its ids is harmless: only typos are errors.
    if let Some(id) =
        unknown.iter().find(|id| config.builtin_rules || RuleSet::builtin().is_ok_and(|b| b.find(id).is_none()))
    {
        return Err(Error::new(ErrorKind::Config, format!("cannot disable unknown rule '{id}'"))
            .with_hint("'sluice rules list' shows the rule ids"));
    }
    let engine = Engine::new(rules)?;
    if !config.extra_rules.is_empty() {
        // Patterns compile on first use, and the builtin ones are known to (tests/rules.rs). A
        // user's pattern over a regex size limit must fail here, naming the rule, not panic in
        // every worker that meets its keyword (issue 7).
        engine.compile_all()?;
    }
    Ok(engine)
}

/// A rule file, or every `*.toml` in a directory (sorted).
fn rule_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Error::io(&e).context(path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

#[derive(Default)]
struct Counters {
    files: AtomicU64,
    bytes: AtomicU64,
    archives: AtomicU64,
    members: AtomicU64,
}

/// Scans `config.inputs` with `engine`, sending every record to `reporter`. `cancel` stops the
/// scan early (a signal, a closed pipe).
pub fn run(
    config: &Config,
    engine: &Engine,
    reporter: &mut dyn Reporter,
    cancel: &AtomicBool,
) -> Result<Outcome, Error> {
    let start = Instant::now();
    let counters = Counters::default();
    if config.limits.max_depth > crate::input::MAX_DEPTH {
        return Err(Error::new(
            ErrorKind::Config,
            format!("max depth {} is over the supported {}", config.limits.max_depth, crate::input::MAX_DEPTH),
        )
        .with_hint(format!(
            "use --max-depth {} or less (packages nest two or three levels)",
            crate::input::MAX_DEPTH
        )));
    }
    let filters = Filters::new(config)?;
    let checks = Checks::new(engine.rules(), config.limits, &config.inputs);
    let baseline = config.baseline.as_deref().map(Baseline::load).transpose()?;
    let threads =
        if config.threads == 0 { std::thread::available_parallelism().map_or(1, usize::from) } else { config.threads };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("sluice-worker-{i}"))
        .build()
        .map_err(|e| Error::new(ErrorKind::Config, format!("cannot start {threads} threads: {e}")))?;
    let (record_tx, record_rx) = bounded::<Msg>(4096);
    let record_tx = Outbox(record_tx);
    let expander = Expander { limits: config.limits, enabled: config.archives };
    let shared = Shared {
        vendored: Vendored::default(),
        map_ids: crate::checks::mapsummary::Ids::new(engine.rules()),
        store: match &config.state {
            Some(path) => {
                let version = crate::state::rules_version(engine.rules(), config);
                Some(Store::open(path, version, config.rescan)?)
            }
            None => None,
        },
    };
    let mut tallies = MapTallies::default();

    let mut outcome = Outcome::default();
    let mut write_error = None;
    std::thread::scope(|s| {
        let counters = &counters;
        let filters = &filters;
        let checks = &checks;
        let shared = &shared;
        s.spawn(move || {
            let (job_tx, job_rx) = bounded::<Job>(1024);
            std::thread::scope(|s2| {
                let walker_records = record_tx.clone();
                // The walker owns the job sender: the workers' loop ends when the walk does.
                s2.spawn(move || produce(config, filters, &job_tx, &walker_records, cancel));
                pool.install(|| {
                    job_rx.into_iter().par_bridge().for_each_init(
                        || {
                            Worker::new(engine, expander, config.io, filters, checks, record_tx.clone(), counters)
                                .shared(shared)
                        },
                        |worker, job| {
                            if !cancel.load(Ordering::Relaxed) {
                                worker.job(job);
                            }
                        },
                    );
                });
            });
            drop(record_tx);
        });
        let mut progress = config.progress.then(|| Progress::new(io::stderr()));
        let mut deliver = |mut record: Record, progress: Option<&mut Progress<io::Stderr>>| {
            if write_error.is_some() {
                return; // drain so workers never block
            }
            if let Record::Finding(f) = &mut record {
                // One hash per finding, for the known-public list and the baseline.
                let fingerprint = f.fingerprint(engine.rules());
                f.known_public = crate::report::known_public(&fingerprint);
                if baseline.as_ref().is_some_and(|b| b.contains(&fingerprint)) {
                    outcome.summary.suppressed += 1;
                    return;
                }
                if !config.reports(engine.rules().get(f.rule).confidence(), f.context) {
                    outcome.summary.filtered += 1;
                    return;
                }
            }
            if let (Some(p), Record::Error { .. }) = (progress, &record) {
                p.clear(); // the human reporter prints errors on stderr now
            }
            tally(&mut outcome, engine.rules(), &record);
            if let Err(e) = reporter.record(engine.rules(), &record) {
                cancel.store(true, Ordering::Relaxed);
                write_error = Some(e);
            }
        };
        let (mut found, mut replayed) = (0, 0);
        while let Some(msg) = next_record(&record_rx, progress.as_mut(), counters, found) {
            match msg {
                Msg::Record(record) => deliver(record, progress.as_mut()),
                Msg::Done(done) => {
                    let done = *done;
                    replayed += u64::from(done.replayed);
                    if let (Some(store), Some(key)) = (&shared.store, &done.store) {
                        // Stored before the baseline applies: a replay goes through it again.
                        if let Err(e) = store.put(key, &done.records, done.totals, engine.rules()) {
                            deliver(Record::Error { chain: Chain::file(key_path(key)), message: e.to_string() }, None);
                        }
                    }
                    tallies.merge(done.tallies);
                    for record in done.records {
                        found += u64::from(matches!(record, Record::Finding(_)));
                        deliver(record, progress.as_mut());
                    }
                }
            }
        }
        // Source maps of trees on disk: one summary per package, now that every file is in.
        for record in std::mem::take(&mut tallies).findings(shared.map_ids) {
            deliver(record, progress.as_mut());
        }
        outcome.summary.replayed = replayed;
        if let Some(p) = progress.as_mut() {
            p.clear();
        }
    });
    let s = &mut outcome.summary;
    s.files = counters.files.load(Ordering::Relaxed);
    s.bytes = counters.bytes.load(Ordering::Relaxed);
    s.archives = counters.archives.load(Ordering::Relaxed);
    s.members = counters.members.load(Ordering::Relaxed);
    s.elapsed_ms = start.elapsed().as_millis() as u64;
    s.interrupted = cancel.load(Ordering::Relaxed) && write_error.is_none();
    match write_error {
        Some(e) => Err(Error::new(ErrorKind::Io, format!("cannot write output: {}", crate::error::io_message(&e)))
            .with_io_kind(e.kind())),
        None => {
            reporter.end(engine.rules(), &outcome.summary).map_err(|e| {
                Error::new(ErrorKind::Io, format!("cannot write output: {}", crate::error::io_message(&e)))
                    .with_io_kind(e.kind())
            })?;
            Ok(outcome)
        }
    }
}

/// What every worker shares besides the engine and checks (issue 12).
struct Shared {
    vendored: Vendored,
    map_ids: crate::checks::mapsummary::Ids,
    store: Option<Store>,
}

fn key_path(key: &crate::state::Key) -> PathBuf {
    key.path().to_path_buf()
}

/// The next message, redrawing the progress line (if any) while waiting for it.
fn next_record(
    rx: &Receiver<Msg>,
    progress: Option<&mut Progress<io::Stderr>>,
    counters: &Counters,
    findings: u64,
) -> Option<Msg> {
    let Some(p) = progress else { return rx.recv().ok() };
    loop {
        p.tick(Instant::now(), || Snapshot {
            files: counters.files.load(Ordering::Relaxed),
            bytes: counters.bytes.load(Ordering::Relaxed),
            archives: counters.archives.load(Ordering::Relaxed),
            findings,
        });
        match rx.recv_timeout(p.until_next()) {
            Ok(record) => return Some(record),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

fn tally(outcome: &mut Outcome, rules: &RuleSet, record: &Record) {
    match record {
        Record::Finding(f) => {
            outcome.summary.findings += 1;
            let sev = f.severity(rules);
            outcome.worst = outcome.worst.max(Some(sev));
        }
        Record::Error { .. } => outcome.summary.errors += 1,
        Record::Skipped { reason, .. } => {
            *outcome.summary.skipped.entry(reason.as_str()).or_default() += 1;
        }
    }
}

/// One unit of work for a worker.
enum Job {
    File(PathBuf),
    Stdin,
    /// A staged blob (repo-relative path, contents).
    Staged(PathBuf, Vec<u8>),
    /// A staged blob too large to hold: streamed from git (repo-relative path, top level, blob id).
    StagedLarge(PathBuf, PathBuf, String),
    /// A blob of a history scan (`--git`, issue 13), read by the worker.
    GitBlob(Arc<git::repo::Objects>, ObjectId, Arc<git::Origin>),
}

/// Walks the inputs, sending files to the workers and skips/errors straight to the reporter.
fn produce(config: &Config, filters: &Filters, jobs: &Sender<Job>, records: &Outbox, cancel: &AtomicBool) {
    if let Some(top) = &config.staged {
        produce_staged(top, config.io.read_max, filters, jobs, records, cancel);
        return;
    }
    if let Some(history) = &config.git {
        produce_git(history, filters, jobs, records, cancel);
        return;
    }
    let (stdin, roots): (Vec<&PathBuf>, Vec<&PathBuf>) = config.inputs.iter().partition(|p| p.as_os_str() == "-");
    if !stdin.is_empty() && jobs.send(Job::Stdin).is_err() {
        return;
    }
    let roots: Vec<PathBuf> = roots.into_iter().cloned().collect();
    let shard = config.shard.clone().map(|s| plan_shard(s, &roots, config, filters, cancel));
    walk::walk(&roots, &config.walk, |entry| {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        match entry {
            Entry::File(path) if filters.exclude.as_ref().is_some_and(|x| roots.iter().any(|r| x.path(r, &path))) => {
                records.send(excluded(Chain::file(path))).is_ok()
            }
            Entry::File(path) if shard.as_ref().is_some_and(|s| !s.selects(&roots, &path)) => true,
            Entry::File(path) => jobs.send(Job::File(path)).is_ok(),
            Entry::Skipped(chain, reason, message) => records.send(Record::Skipped { chain, reason, message }).is_ok(),
            Entry::Error(chain, e) => records.send(Record::Error { chain, message: e.message().to_string() }).is_ok(),
        }
    });
}

/// `--shard`: its range placed by bytes over a listing of the same walk (see [`Shard::balanced`]),
/// a `stat` per file before the scan.
fn plan_shard(shard: Shard, roots: &[PathBuf], config: &Config, filters: &Filters, cancel: &AtomicBool) -> Shard {
    let mut points = Vec::new();
    walk::walk(roots, &config.walk, |entry| {
        if let Entry::File(path) = entry
            && !filters.exclude.as_ref().is_some_and(|x| roots.iter().any(|r| x.path(r, &path)))
        {
            let size = std::fs::metadata(&path).map_or(0, |m| m.len());
            points.push((shard::point(roots, &path), size));
        }
        !cancel.load(Ordering::Relaxed)
    });
    shard.balanced(points)
}

fn excluded(chain: Chain) -> Record {
    Record::Skipped { chain, reason: SkipReason::Excluded, message: "excluded by the config".into() }
}

/// Sends the staged blobs of the repository at `top` (see `input::staged`).
fn produce_staged(
    top: &Path,
    max_inline: u64,
    filters: &Filters,
    jobs: &Sender<Job>,
    records: &Outbox,
    cancel: &AtomicBool,
) {
    let fail = |e: &Error| {
        let _ = records.send(Record::Error { chain: Chain::file(top), message: e.to_string() });
    };
    let entries = match staged::entries(top) {
        Ok(entries) => entries,
        Err(e) => return fail(&e),
    };
    let mut scan = Vec::with_capacity(entries.len());
    for e in entries {
        let chain = Chain::file(&e.path);
        let skip = match e.kind {
            _ if filters.exclude.as_ref().is_some_and(|x| x.relative(&e.path.to_string_lossy())) => {
                Some(excluded(chain))
            }
            EntryKind::Symlink => Some(Record::Skipped {
                chain,
                reason: SkipReason::Symlink,
                message: "staged symlink not followed".into(),
            }),
            EntryKind::Submodule => None, // a commit id, not content of this repository
            EntryKind::File => {
                scan.push(e);
                continue;
            }
        };
        if let Some(record) = skip
            && records.send(record).is_err()
        {
            return;
        }
    }
    let result = staged::read_blobs(top, &scan, max_inline, |entry, blob| {
        let job = match blob {
            Blob::Bytes(bytes) => Job::Staged(entry.path.clone(), bytes),
            Blob::Large(_) => Job::StagedLarge(entry.path.clone(), top.to_path_buf(), entry.oid.clone()),
        };
        !cancel.load(Ordering::Relaxed) && jobs.send(job).is_ok()
    });
    if let Err(e) = result {
        fail(&e);
    }
}

/// Sends the blobs of a history scan (see `git::repo`); problems become error records.
fn produce_git(
    history: &git::repo::HistoryScan,
    filters: &Filters,
    jobs: &Sender<Job>,
    records: &Outbox,
    cancel: &AtomicBool,
) {
    let top = Chain::file(&history.repo);
    let repo = match git::repo::open(&history.repo) {
        Ok(r) => r,
        Err(e) => {
            let _ = records.send(Record::Error { chain: top, message: e.to_string() });
            return;
        }
    };
    let mut problem = |message: String| {
        let _ = records.send(Record::Error { chain: top.clone(), message });
    };
    let objects = repo.objects();
    let mut blob = |id: ObjectId, origin: git::Origin| {
        let path = origin.path.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
        if filters.exclude.as_ref().is_some_and(|x| x.relative(&path)) {
            return records.send(excluded(Chain::file(origin.member_path()))).is_ok();
        }
        !cancel.load(Ordering::Relaxed) && jobs.send(Job::GitBlob(objects.clone(), id, Arc::new(origin))).is_ok()
    };
    if let Err(e) = repo.plan(&history.range, &mut problem, &mut blob) {
        problem(e.to_string());
    }
}

/// A rayon worker: owns its engine scratch and buffers, scans units, sends records.
struct Worker<'a> {
    engine: &'a Engine,
    scratch: Scratch,
    expander: Expander,
    io: IoOptions,
    filters: &'a Filters,
    /// Artifact checks (issue 5), shared by every worker.
    checks: &'a Checks,
    /// Repositories already reported in the current top-level input.
    repos: HashSet<Chain>,
    /// When set, findings are collected here instead of sent (see `checks::Host::scan_collect`).
    capture: Option<Vec<FindingRecord>>,
    records: Outbox,
    /// The current top-level input's records and what attributes them (issue 12).
    buffer: JobBuffer,
    shared: Option<&'a Shared>,
    counters: &'a Counters,
    read_buf: Vec<u8>,
    window_buf: Vec<u8>,
    found: Vec<Finding>,
    /// The git origin of the unit being scanned (history scans), copied into its findings.
    git: Option<Arc<git::Origin>>,
}

impl<'a> Worker<'a> {
    fn new(
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
            scratch: engine.scratch(),
            expander,
            io,
            filters,
            checks,
            repos: HashSet::new(),
            capture: None,
            records,
            buffer: JobBuffer::default(),
            shared: None,
            counters,
            read_buf: Vec::new(),
            window_buf: Vec::new(),
            found: Vec::new(),
            git: None,
        }
    }

    fn shared(mut self, shared: &'a Shared) -> Self {
        self.shared = Some(shared);
        self
    }

    fn job(&mut self, job: Job) {
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
                self.scratch = self.engine.scratch();
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

    /// Turns engine findings in `bytes` into records (inline allows applied).
    fn report_findings(
        &mut self,
        chain: &Chain,
        bytes: &[u8],
        lines: &lines::LineTracker,
        keep: impl Fn(&Finding) -> bool,
    ) {
        let rules = self.engine.rules();
        // Findings come grouped by rule, in offset order within a rule: one newline count per
        // rule, not one per finding (a file with 10,000 findings stays linear, issue 14).
        let mut cursor = (0, 0);
        for f in self.found.drain(..) {
            if !keep(&f)
                || allowed_inline(bytes, &f, &rules.get(f.rule).id)
                || self.filters.allows_secret(&bytes[f.secret.clone()])
            {
                continue;
            }
            let (line, column) = lines.position_from(bytes, f.span.start, &mut cursor);
            let record = FindingRecord {
                rule: f.rule,
                chain: chain.clone(),
                line: Some(line),
                column: Some(column),
                secret: bytes[f.secret.clone()].to_vec(),
                entropy: Some(f.entropy),
                validated: f.validated,
                context: crate::context::of(chain, &self.filters.roots, Some((bytes, f.span.start))),
                known_public: false,
                meta: None,
                git: self.git.clone(),
            };
            match &mut self.capture {
                Some(captured) => captured.push(record),
                None => self.buffer.records.push(Record::Finding(record)),
            }
        }
    }

    fn scan_bytes(&mut self, chain: &Chain, bytes: &[u8]) {
        self.counters.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.buffer.totals.bytes += bytes.len() as u64;
        if let Some(text) = guess_utf16(bytes) {
            // A guess (no BOM): the raw bytes are scanned below as well, so a wrong guess hides
            // nothing (issue 7: PowerShell and .NET write BOM-less UTF-16).
            self.engine.scan(&text, &mut self.scratch, &mut self.found);
            self.report_findings(chain, &text, &lines::LineTracker::default(), |_| true);
        }
        let decoded;
        let bytes = match decode_utf16(bytes) {
            Some(d) => {
                decoded = d;
                &decoded[..]
            }
            None => bytes,
        };
        self.engine.scan(bytes, &mut self.scratch, &mut self.found);
        self.report_findings(chain, bytes, &lines::LineTracker::default(), |_| true);
    }

    fn scan_stream(&mut self, chain: &Chain, reader: &mut dyn Read) -> Result<(), Error> {
        let mut buf = std::mem::take(&mut self.window_buf);
        let result = window::for_each_window(reader, &mut buf, self.io.window, |w| {
            self.engine.scan(w.bytes, &mut self.scratch, &mut self.found);
            let range = w.report_end.clone();
            self.report_findings(chain, w.bytes, w.lines, |f| range.contains(&f.span.end));
        });
        self.window_buf = buf;
        if self.window_buf.capacity() > 4 * self.io.window {
            self.window_buf = Vec::new();
        }
        let n = result.map_err(|e| Error::new(ErrorKind::Io, crate::error::io_message(&e)))?;
        self.counters.bytes.fetch_add(n, Ordering::Relaxed);
        self.buffer.totals.bytes += n;
        Ok(())
    }
}

impl Visitor for Worker<'_> {
    fn leaf(&mut self, chain: &Chain, content: Content<'_>) -> Result<(), Error> {
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
        let record = FindingRecord {
            rule,
            chain: chain.clone(),
            line: at.map(|a| a.0),
            column: at.map(|a| a.1),
            secret,
            entropy: None,
            validated: None,
            context: crate::context::of(chain, &self.filters.roots, None),
            known_public: false,
            meta: None,
            git: self.git.clone(),
        };
        self.send(Record::Finding(record));
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

    fn scan_collect(&mut self, chain: &Chain, bytes: &[u8]) -> Vec<FindingRecord> {
        let outer = self.capture.replace(Vec::new());
        self.scan_bytes(chain, bytes);
        std::mem::replace(&mut self.capture, outer).unwrap_or_default()
    }

    fn report(&mut self, finding: FindingRecord) {
        self.send(Record::Finding(finding));
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

/// True when the finding's line carries `sluice:allow`, bare or naming this rule id.
fn allowed_inline(bytes: &[u8], f: &Finding, rule_id: &str) -> bool {
    const MARK: &[u8] = b"sluice:allow";
    let line = lines::line_around(bytes, f.span.start, 4096);
    let Some(i) = memchr::memmem::find(line, MARK) else {
        return false;
    };
    let rest = &line[i + MARK.len()..];
    let named: &[u8] = if rest.first().is_some_and(u8::is_ascii_whitespace) {
        let rest = rest.trim_ascii_start();
        let end = rest
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')))
            .unwrap_or(rest.len());
        &rest[..end]
    } else {
        &[]
    };
    // A bare mark allows every rule; a mark followed by a rule-id-looking word allows that rule.
    if named.contains(&b'.') { named == rule_id.as_bytes() } else { true }
}

/// UTF-16 text (with a byte-order mark) decoded to UTF-8 so its secrets are found.
fn decode_utf16(bytes: &[u8]) -> Option<Vec<u8>> {
    let (le, body) = match bytes {
        [0xff, 0xfe, rest @ ..] => (true, rest),
        [0xfe, 0xff, rest @ ..] => (false, rest),
        _ => return None,
    };
    Some(utf16_to_utf8(body, le))
}

/// UTF-16 text without a byte-order mark, decoded: at least 90% of the first (up to 256) code
/// units are ASCII text with a zero high byte, in the same byte order.
fn guess_utf16(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return None;
    }
    let text = |b: u8| b.is_ascii_graphic() || matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let head = &bytes[..bytes.len().min(512)];
    let n = head.len() / 2;
    if n < 8 {
        return None;
    }
    let (mut le, mut be) = (0, 0);
    for c in head.chunks_exact(2) {
        match (c[0], c[1]) {
            (a, 0) if text(a) => le += 1,
            (0, b) if text(b) => be += 1,
            _ => {}
        }
    }
    if le * 10 >= n * 9 {
        Some(utf16_to_utf8(bytes, true))
    } else if be * 10 >= n * 9 {
        Some(utf16_to_utf8(bytes, false))
    } else {
        None
    }
}

fn utf16_to_utf8(body: &[u8], le: bool) -> Vec<u8> {
    let units = body
        .chunks_exact(2)
        .map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) });
    let s: String = char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect();
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_allow() {
        let f = |start| Finding {
            rule: crate::rules::RuleId(0),
            span: start..start + 3,
            secret: start..start + 3,
            entropy: 0.0,
            validated: None,
        };
        assert!(allowed_inline(b"k = abc # sluice:allow", &f(4), "a.b"));
        assert!(allowed_inline(b"k = abc # sluice:allow a.b", &f(4), "a.b"));
        assert!(!allowed_inline(b"k = abc # sluice:allow c.d", &f(4), "a.b"));
        assert!(!allowed_inline(b"k = abc\n# sluice:allow", &f(4), "a.b"));
    }

    #[test]
    fn utf16() {
        let text = "key = 'x'";
        let mut le = vec![0xff, 0xfe];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode_utf16(&le).unwrap(), text.as_bytes());
        let mut be = vec![0xfe, 0xff];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode_utf16(&be).unwrap(), text.as_bytes());
        assert!(guess_utf16(&le).is_none() && guess_utf16(&be).is_none(), "a BOM is not a guess");
    }

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
        // The same catch as `job` around a unit that panics half-way through a scan.
        let result = catch_unwind(AssertUnwindSafe(|| -> Result<(), Error> {
            worker.scan_bytes(&Chain::file("before.js"), b"x = 1");
            panic!("boom in {}", "unit");
        }));
        worker.settle(&Chain::file("bad.js"), result);
        let body = "abcdefghijABCDEFGHIJ0123456789";
        let tail = crate::engine::validate::base62_6(crc32fast::hash(body.as_bytes()));
        let token = format!("ghp_{body}{}", std::str::from_utf8(&tail).unwrap());
        worker.scan_bytes(&Chain::file("next.js"), format!("t = '{token}'").as_bytes());
        let records = std::mem::take(&mut worker.buffer.records);
        drop(worker);
        assert_eq!(rx.try_iter().count(), 0, "held until the input is done");
        assert_eq!(records.len(), 2, "{records:?}");
        match &records[0] {
            Record::Error { chain, message } => {
                assert_eq!(chain, &Chain::file("bad.js"));
                assert_eq!(message, "internal error while scanning (panic: boom in unit)");
            }
            r => panic!("not an error record: {r:?}"),
        }
        assert!(matches!(&records[1], Record::Finding(f) if f.chain == Chain::file("next.js")), "{records:?}");
    }

    #[test]
    fn utf16_without_bom() {
        let text = "$token = 'abc'\r\nWrite-Host $token\r\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(guess_utf16(&le).unwrap(), text.as_bytes());
        assert_eq!(guess_utf16(&be).unwrap(), text.as_bytes());
        let cases: &[&[u8]] =
            &[&[0; 4096], b"plain ascii text, long enough to judge", &[0x41, 0, 0x42, 0], &[0xff; 64]];
        for &bytes in cases {
            assert!(guess_utf16(bytes).is_none(), "{bytes:?}");
        }
    }
}
