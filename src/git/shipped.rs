//! A packfile inside a shipped `.git` (issue 13), on disk or streamed out of an archive: the pack
//! is held in memory (up to [`PACK_CAP`], never spilled to disk), walked once without its `.idx`
//! ([`super::pack`]), every blob, commit and tag scanned as it is decoded, and the findings in
//! blobs then named by the first commit and path that reach them
//! (`pkg.tgz!package/.git!<commit>:<path>:line:column`; `…!.git!<blob>` when no commit in the
//! pack reaches the blob). The archive limits apply to decoded bytes: `--max-archive-bytes` per
//! pack and `--max-ratio` against the pack's size.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use gix_hash::ObjectId;
use gix_object::Kind;

use super::Origin;
use super::history::{self, Met, Walker};
use super::pack::{self, PackLimits, Stop};
use crate::checks::{Hit, Host};
use crate::error::{Error, ErrorKind};
use crate::input::{Chain, Content, Limits, SkipReason};

/// Largest packfile read into memory; a larger one is reported as skipped (size-limit).
pub const PACK_CAP: u64 = 256 << 20;
/// Largest single object decoded; a larger one is an object error.
pub const OBJECT_CAP: usize = 64 << 20;
/// Tree bytes kept for attributing findings to a path; past it findings name only the blob.
const TREE_BUDGET: usize = 64 << 20;

/// The chain of the repository a pack unit belongs to (`pkg.tgz!package/.git`, or the on-disk
/// `.git` directory).
fn repo_chain(chain: &Chain) -> Chain {
    if let Some((last, outer)) = chain.members.split_last()
        && let Some(end) = crate::checks::git::repo_end(last)
    {
        let mut members = outer.to_vec();
        members.push(last[..end].to_vec());
        return Chain { path: chain.path.clone(), members };
    }
    match crate::checks::git::repo_dir(&chain.path) {
        Some(dir) if chain.members.is_empty() => Chain::file(dir),
        _ => chain.clone(),
    }
}

/// Decodes the pack at `chain` and scans its objects (see the module docs).
pub fn scan_pack(chain: &Chain, content: Content<'_>, limits: &Limits, host: &mut dyn Host) -> Result<(), Error> {
    let cap = PACK_CAP.min(limits.max_archive_bytes);
    let held;
    let bytes: &[u8] = match content {
        Content::Bytes(b) => b,
        Content::Reader(r) => {
            let mut buf = Vec::new();
            r.take(cap + 1).read_to_end(&mut buf).map_err(|e| Error::io(&e))?;
            held = buf;
            &held
        }
    };
    if bytes.len() as u64 > cap {
        let detail = format!("git packfile over {} MiB not decoded", cap >> 20);
        host.skipped(chain, SkipReason::SizeLimit, &detail);
        return Ok(());
    }
    let repo = repo_chain(chain);
    let pack_limits =
        PackLimits { object_cap: OBJECT_CAP, inflated_budget: limits.max_archive_bytes, max_ratio: limits.max_ratio };
    let mut commits: HashMap<ObjectId, history::Commit> = HashMap::new();
    let mut trees: HashMap<ObjectId, Vec<u8>> = HashMap::new();
    let mut tree_bytes = 0usize;
    let mut pending: HashMap<ObjectId, Vec<Hit>> = HashMap::new();
    let walked = pack::walk(bytes, pack_limits, |id, kind, data| match kind {
        Kind::Tree => {
            if tree_bytes + data.len() <= TREE_BUDGET {
                tree_bytes += data.len();
                trees.insert(*id, data.to_vec());
            }
        }
        Kind::Blob => {
            let found = host.scan_collect(&repo.child(id.to_string()), data);
            if !found.is_empty() {
                pending.entry(*id).or_default().extend(found);
            }
        }
        Kind::Commit | Kind::Tag => {
            if kind == Kind::Commit
                && let Some(c) = history::parse_commit(data)
            {
                commits.insert(*id, c);
            }
            // Messages are scanned too, located at the object (`….git!<commit>`).
            for mut f in host.scan_collect(&repo.child(id.to_string()), data) {
                let commit = (kind == Kind::Commit).then(|| id.to_string());
                f.git = Some(Arc::new(Origin { commit, ..Origin::blob(*id) }));
                host.report(f);
            }
        }
    });
    attribute(&repo, &commits, &trees, pending, host);
    let errors = walked.errors.len();
    if let Some((offset, first)) = walked.errors.first() {
        let more = if errors > 1 { format!(" and {} more", errors - 1) } else { String::new() };
        let msg = format!("git packfile: object at offset {offset} not decoded{more}: {first}");
        host.error(chain, &Error::new(ErrorKind::Archive, msg));
    }
    if let Some((offset, size)) = walked.oversized.first() {
        let n = walked.oversized.len();
        let more = if n > 1 { format!(" and {} more", n - 1) } else { String::new() };
        let detail = format!(
            "git object at offset {offset} ({size} bytes){more} over the {} MiB object limit not scanned",
            OBJECT_CAP >> 20
        );
        host.skipped(chain, SkipReason::SizeLimit, &detail);
    }
    match walked.stopped {
        None => {}
        Some(Stop::Corrupt(msg)) => {
            let msg = format!("git packfile: {msg}; {} objects read, the rest was not", walked.objects);
            host.error(chain, &Error::new(ErrorKind::Archive, msg));
        }
        Some(Stop::Budget) => {
            let detail =
                format!("git packfile expands past {} bytes; the rest was not scanned", limits.max_archive_bytes);
            host.skipped(chain, SkipReason::SizeLimit, &detail);
        }
        Some(Stop::Ratio) => {
            let detail = format!("git packfile expands more than {}x; the rest was not scanned", limits.max_ratio);
            host.skipped(chain, SkipReason::RatioLimit, &detail);
        }
    }
    Ok(())
}

/// Reports the findings of `pending` blobs under the first commit and path that reach them.
fn attribute(
    repo: &Chain,
    commits: &HashMap<ObjectId, history::Commit>,
    trees: &HashMap<ObjectId, Vec<u8>>,
    mut pending: HashMap<ObjectId, Vec<Hit>>,
    host: &mut dyn Host,
) {
    if pending.is_empty() {
        return;
    }
    let mut walker = Walker::default();
    let mut load = |id: &ObjectId, buf: &mut Vec<u8>| match trees.get(id) {
        Some(t) => {
            buf.extend_from_slice(t);
            true
        }
        None => false,
    };
    for id in history::order(commits) {
        if pending.is_empty() {
            break;
        }
        let commit = &commits[&id];
        let mut met = |m: Met<'_>| {
            if let Met::Blob(blob, path) = m
                && let Some(found) = pending.remove(&blob)
            {
                let origin = Arc::new(Origin {
                    commit: Some(id.to_string()),
                    blob: blob.to_string(),
                    path: Some(path.to_vec()),
                    author_date: commit.author_date.clone(),
                });
                let chain = repo.child(origin.member());
                for mut f in found {
                    f.chain = chain.clone();
                    f.git = Some(origin.clone());
                    host.report(f);
                }
            }
        };
        walker.walk(commit.tree, &mut load, &mut met);
    }
    let mut rest: Vec<_> = pending.into_iter().collect();
    rest.sort_by_key(|(id, _)| *id);
    for (blob, found) in rest {
        let origin = Arc::new(Origin::blob(blob));
        for mut f in found {
            f.git = Some(origin.clone());
            host.report(f);
        }
    }
}
