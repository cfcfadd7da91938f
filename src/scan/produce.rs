//! The walker stage of the scan pipeline: turns the inputs (paths, the git index, a history
//! range) into [`Job`]s for the workers; what is skipped or fails on the way (excluded paths,
//! symlinks, unreadable directories) goes straight to the reporter as a record.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::Sender;
use gix_hash::ObjectId;

use crate::config::Config;
use crate::config::filter::Filters;
use crate::error::Error;
use crate::git;
use crate::input::staged::{self, Blob, EntryKind};
use crate::input::walk::{self, Entry};
use crate::input::{Chain, SkipReason};
use crate::job::Outbox;
use crate::report::Record;
use crate::shard::{self, Shard};

/// One unit of work for a worker.
pub(super) enum Job {
    /// A file found by the walker.
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// A staged blob (repo-relative path, contents).
    Staged(PathBuf, Vec<u8>),
    /// A staged blob too large to hold: streamed from git (repo-relative path, top level, blob id).
    StagedLarge(PathBuf, PathBuf, String),
    /// A blob of a history scan (`--git`, issue 13), read by the worker.
    GitBlob(Arc<git::repo::Objects>, ObjectId, Arc<git::Origin>),
}

/// Walks the inputs, sending files to the workers and skips/errors straight to the reporter.
pub(super) fn produce(config: &Config, filters: &Filters, jobs: &Sender<Job>, records: &Outbox, cancel: &AtomicBool) {
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

pub(super) fn excluded(chain: Chain) -> Record {
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
