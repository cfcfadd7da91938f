//! The scan pipeline: walker ([`produce`]) → bounded channel → rayon workers ([`worker`], one
//! [`crate::search::Searcher`] each) → one reporter loop here, which applies the baseline and the
//! `--min-confidence`/`--context` filters, stores inputs for `--state`, and tallies the summary.
//! A unit that fails (or panics) becomes an error record; the scan goes on.

mod produce;
mod worker;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, RecvTimeoutError, bounded};
use rayon::prelude::*;

use crate::baseline::Baseline;
use crate::checks::Checks;
use crate::config::Config;
use crate::config::filter::Filters;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind};
use crate::input::Chain;
use crate::input::archive::Expander;
use crate::job::{MapTallies, Msg, Outbox};
use crate::package::Vendored;
use crate::progress::{Progress, Snapshot};
use crate::report::{Record, Reporter, Summary};
use crate::rules::{RuleSet, Severity};
use crate::state::Store;
use produce::{Job, produce};
use worker::Worker;

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

/// Totals every worker adds to, read by the progress line and the summary.
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
