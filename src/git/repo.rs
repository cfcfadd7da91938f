//! `sluice scan --git [REPO]` (issue 13): a repository's history as an input. Refs (loose and
//! packed, gix-ref) give the tips; commits are read through gix-odb (loose objects, every pack,
//! alternates), ordered parents first, and their trees walked so every reachable blob is planned
//! once with the first commit, path and author date that introduced it. The blobs themselves are
//! read by the scan workers, each with its own object cache ([`Repo::read_blob`]). No `git`
//! process is run.
//!
//! `--since REF` scans what `REF..HEAD` adds, `--range A..B` what `A..B` adds: the commits reachable
//! from the right side and not the left, and only blobs that the boundary commits (the excluded
//! parents) do not already hold. REF, A and B are ref names (`main`, `v1.2.0`, `origin/main`,
//! `HEAD`) or full commit ids. A shallow clone's missing parents are its boundary, not errors.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use gix_hash::ObjectId;
use gix_object::{Find, FindHeader, Kind};

use super::Origin;
use super::history::{self, Met, Walker};
use crate::error::{Error, ErrorKind};

/// Largest blob read for scanning; a larger one is skipped (size-limit).
pub const BLOB_CAP: u64 = 64 << 20;
/// Annotated tags peeled at most this deep (a tag of a tag of …).
const MAX_PEEL: usize = 16;

/// Which commits a history scan covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Range {
    /// Everything reachable from any ref or HEAD.
    All,
    /// `REF..HEAD`.
    Since(String),
    /// `A..B`.
    Between(String, String),
}

/// A history scan: the repository (work tree, `.git` directory or bare repository) and range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryScan {
    /// The repository.
    pub repo: PathBuf,
    /// The commits to cover.
    pub range: Range,
}

type Handle = gix_odb::HandleArc;

/// An open repository: refs (read by the planning thread only) and the shared [`Objects`].
pub struct Repo {
    refs: gix_ref::file::Store,
    git_dir: PathBuf,
    objects: Arc<Objects>,
    shallow: HashSet<ObjectId>,
}

/// A repository's object store with a pool of handles, each with its own pack cache: shared
/// by the scan workers.
pub struct Objects {
    store: Arc<gix_odb::Store>,
    handles: Mutex<Vec<Handle>>,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Objects").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo").field("git_dir", &self.git_dir).finish_non_exhaustive()
    }
}

fn git_error(what: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, what.to_string())
}

/// The git directory of `path`: `path/.git` (a directory, or a `gitdir:` file), or `path` itself
/// when it is a `.git` or bare repository.
fn git_dir(path: &Path) -> Result<PathBuf, Error> {
    let dot = path.join(".git");
    if dot.is_dir() {
        return Ok(dot);
    }
    if dot.is_file() {
        let text = std::fs::read_to_string(&dot).map_err(|e| Error::io(&e).context(dot.display()))?;
        if let Some(target) = text.trim_end().strip_prefix("gitdir:") {
            return Ok(path.join(target.trim()));
        }
    }
    if path.join("HEAD").is_file() && path.join("objects").is_dir() {
        return Ok(path.to_path_buf());
    }
    Err(Error::new(ErrorKind::Config, format!("'{}' is not a git repository", path.display()))
        .with_hint("--git takes a work tree, a .git directory or a bare repository"))
}

/// Opens the repository at `path`.
pub fn open(path: &Path) -> Result<Repo, Error> {
    let git_dir = git_dir(path)?;
    // A linked work tree keeps its refs and objects in the common directory.
    let common = match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(c) => git_dir.join(c.trim_end()),
        Err(_) => git_dir.clone(),
    };
    let options = gix_odb::store::init::Options {
        alloc_limit_bytes: Some(BLOB_CAP as usize),
        ..gix_odb::store::init::Options::default()
    };
    let store = gix_odb::Store::at_opts(common.join("objects"), gix_hash::Kind::Sha1, &mut std::iter::empty(), options)
        .map_err(|e| Error::io(&e).context(common.join("objects").display()))?;
    let shallow = std::fs::read_to_string(common.join("shallow"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| ObjectId::from_hex(l.trim().as_bytes()).ok())
        .collect();
    Ok(Repo {
        refs: gix_ref::file::Store::at(common, gix_hash::Kind::Sha1),
        git_dir,
        objects: Arc::new(Objects { store: Arc::new(store), handles: Mutex::new(Vec::new()) }),
        shallow,
    })
}

impl Objects {
    fn with_handle<T>(&self, f: impl FnOnce(&Handle) -> T) -> T {
        let handle = self.handles.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_else(|| {
            let mut h = self.store.to_cache_arc();
            h.set_pack_cache(|| Box::new(gix_pack::cache::lru::StaticLinkedList::<64>::new(4 << 20)));
            h
        });
        let out = f(&handle);
        self.handles.lock().unwrap_or_else(PoisonError::into_inner).push(handle);
        out
    }

    /// Reads object `id` of `kind` into `buf`; `Ok(false)` when it is missing.
    fn read(&self, id: &ObjectId, kind: Kind, buf: &mut Vec<u8>) -> Result<bool, Error> {
        self.with_handle(|h| {
            // The object is decoded into `buf` (no copy); where in it is found by address.
            let (found, at, len) = match h.try_find(id, buf) {
                Ok(Some(data)) => (data.kind, data.data.as_ptr() as usize, data.data.len()),
                Ok(None) => return Ok(false),
                Err(e) => return Err(git_error(format!("object {id}: {}", super::pack::message(&e)))),
            };
            if found != kind {
                return Err(git_error(format!("object {id} is a {found}, not a {kind}")));
            }
            let start = at.wrapping_sub(buf.as_ptr() as usize);
            if start > buf.len() || len > buf.len() - start {
                return Err(git_error(format!("object {id}: decoded outside its buffer")));
            }
            buf.truncate(start + len);
            buf.drain(..start);
            Ok(true)
        })
    }

    /// The size of blob `id`, `None` when it is missing.
    pub fn blob_size(&self, id: &ObjectId) -> Result<Option<u64>, Error> {
        self.with_handle(|h| match h.try_header(id) {
            Ok(Some(header)) => Ok(Some(header.size)),
            Ok(None) => Ok(None),
            Err(e) => Err(git_error(format!("object {id}: {}", super::pack::message(&e)))),
        })
    }

    /// Reads blob `id` into `buf`; `Ok(false)` when it is missing.
    pub fn read_blob(&self, id: &ObjectId, buf: &mut Vec<u8>) -> Result<bool, Error> {
        self.read(id, Kind::Blob, buf)
    }
}

impl Repo {
    /// The object store, for the scan workers.
    pub fn objects(&self) -> Arc<Objects> {
        self.objects.clone()
    }

    fn read(&self, id: &ObjectId, kind: Kind, buf: &mut Vec<u8>) -> Result<bool, Error> {
        self.objects.read(id, kind, buf)
    }

    fn with_handle<T>(&self, f: impl FnOnce(&Handle) -> T) -> T {
        self.objects.with_handle(f)
    }

    /// Follows annotated tags from `id` to a commit; `None` when it leads elsewhere.
    fn peel(&self, mut id: ObjectId) -> Option<ObjectId> {
        let mut buf = Vec::new();
        for _ in 0..MAX_PEEL {
            let kind = self.with_handle(|h| h.try_header(&id).ok().flatten().map(|hd| hd.kind))?;
            match kind {
                Kind::Commit => return Some(id),
                Kind::Tag if self.read(&id, Kind::Tag, &mut buf).ok()? => id = history::tag_target(&buf)?,
                _ => return None,
            }
        }
        None
    }

    /// Every ref (and HEAD) peeled to a commit.
    fn tips(&self) -> Result<Vec<ObjectId>, Error> {
        let mut tips = Vec::new();
        let platform =
            self.refs.iter().map_err(|e| git_error(format!("cannot read refs: {}", super::pack::message(&e))))?;
        let all = platform.all().map_err(|e| git_error(format!("cannot read refs: {e}")))?;
        for r in all {
            let Ok(r) = r else { continue };
            if let gix_ref::Target::Object(id) = r.target {
                tips.extend(self.peel(r.peeled.unwrap_or(id)));
            }
        }
        // A detached HEAD of this work tree.
        if let Ok(text) = std::fs::read_to_string(self.git_dir.join("HEAD"))
            && let Ok(id) = ObjectId::from_hex(text.trim().as_bytes())
        {
            tips.extend(self.peel(id));
        }
        tips.sort_unstable();
        tips.dedup();
        Ok(tips)
    }

    /// A ref name or full commit id, peeled to a commit.
    fn resolve(&self, spec: &str) -> Result<ObjectId, Error> {
        let bad = || {
            Error::new(ErrorKind::Config, format!("cannot resolve '{spec}' to a commit"))
                .with_hint("use a branch or tag name, HEAD, or a full 40-character commit id")
        };
        let id = if let Ok(id) = ObjectId::from_hex(spec.as_bytes()) {
            id
        } else if spec == "HEAD" {
            self.head()?.ok_or_else(bad)?
        } else {
            let mut r = self.refs.try_find(spec).ok().flatten().ok_or_else(bad)?;
            let mut hops = 0;
            loop {
                match r.target {
                    gix_ref::Target::Object(id) => break r.peeled.unwrap_or(id),
                    gix_ref::Target::Symbolic(name) if hops < MAX_PEEL => {
                        hops += 1;
                        r = self.refs.try_find(name.as_ref()).ok().flatten().ok_or_else(bad)?;
                    }
                    gix_ref::Target::Symbolic(_) => return Err(bad()),
                }
            }
        };
        self.peel(id).ok_or_else(bad)
    }

    /// HEAD as a commit id (`None` on an unborn branch).
    fn head(&self) -> Result<Option<ObjectId>, Error> {
        let text = std::fs::read_to_string(self.git_dir.join("HEAD")).map_err(|e| Error::io(&e))?;
        let text = text.trim();
        if let Some(name) = text.strip_prefix("ref:") {
            let r = self.refs.try_find(name.trim()).ok().flatten();
            return Ok(r.and_then(|r| match r.target {
                gix_ref::Target::Object(id) => self.peel(r.peeled.unwrap_or(id)),
                gix_ref::Target::Symbolic(_) => None,
            }));
        }
        Ok(ObjectId::from_hex(text.as_bytes()).ok().and_then(|id| self.peel(id)))
    }

    /// The commits reachable from `tips`, stopping at `stop`. Missing commits outside the
    /// shallow boundary are reported to `problem`.
    fn commits(
        &self,
        tips: &[ObjectId],
        stop: &HashSet<ObjectId>,
        problem: &mut dyn FnMut(String),
    ) -> HashMap<ObjectId, history::Commit> {
        let mut out = HashMap::new();
        let mut queue: VecDeque<ObjectId> = tips.iter().copied().filter(|t| !stop.contains(t)).collect();
        let mut seen: HashSet<ObjectId> = queue.iter().copied().collect();
        let mut buf = Vec::new();
        while let Some(id) = queue.pop_front() {
            match self.read(&id, Kind::Commit, &mut buf) {
                Ok(true) => {}
                Ok(false) => {
                    problem(format!("commit {id} is missing; its history was not scanned"));
                    continue;
                }
                Err(e) => {
                    problem(e.message().to_string());
                    continue;
                }
            }
            let Some(commit) = history::parse_commit(&buf) else {
                problem(format!("commit {id} cannot be parsed; its history was not scanned"));
                continue;
            };
            if !self.shallow.contains(&id) {
                for p in &commit.parents {
                    if !stop.contains(p) && seen.insert(*p) {
                        queue.push_back(*p);
                    }
                }
            }
            out.insert(id, commit);
        }
        out
    }

    /// Plans the blobs of `range`: calls `blob(id, origin)` for each blob first introduced in
    /// it (false stops), and `problem` for what could not be read (missing commits or trees).
    pub fn plan(
        &self,
        range: &Range,
        problem: &mut dyn FnMut(String),
        blob: &mut dyn FnMut(ObjectId, Origin) -> bool,
    ) -> Result<PlanStats, Error> {
        let (include, exclude) = match range {
            Range::All => (self.tips()?, Vec::new()),
            Range::Since(r) => (self.head()?.into_iter().collect(), vec![self.resolve(r)?]),
            Range::Between(a, b) => (vec![self.resolve(b)?], vec![self.resolve(a)?]),
        };
        let excluded: HashSet<ObjectId> = if exclude.is_empty() {
            HashSet::new()
        } else {
            self.commits(&exclude, &HashSet::new(), &mut |_| {}).into_keys().collect()
        };
        let commits = self.commits(&include, &excluded, problem);
        let mut walker = Walker::default();
        let mut tree_error = None;
        let mut load = |id: &ObjectId, buf: &mut Vec<u8>| match self.read(id, Kind::Tree, buf) {
            Ok(found) => found,
            Err(e) => {
                tree_error = Some(e);
                false
            }
        };
        // What the boundary commits hold is not new in the range.
        let boundary: HashSet<ObjectId> =
            commits.values().flat_map(|c| c.parents.iter()).filter(|p| excluded.contains(*p)).copied().collect();
        let mut buf = Vec::new();
        for b in &boundary {
            if self.read(b, Kind::Commit, &mut buf)?
                && let Some(c) = history::parse_commit(&buf)
            {
                walker.walk(c.tree, &mut load, &mut |_| {});
            }
        }
        let mut stats = PlanStats { commits: commits.len() as u64, blobs: 0 };
        for id in history::order(&commits) {
            let commit = &commits[&id];
            let mut go_on = true;
            let mut met = |m: Met<'_>| match m {
                Met::Blob(b, path) if go_on => {
                    stats.blobs += 1;
                    let origin = Origin {
                        commit: Some(id.to_string()),
                        blob: b.to_string(),
                        path: Some(path.to_vec()),
                        author_date: commit.author_date.clone(),
                    };
                    go_on = blob(b, origin);
                }
                Met::Blob(..) => {}
                Met::MissingTree(t, path) => {
                    let at =
                        if path.is_empty() { String::new() } else { format!(" ('{}')", String::from_utf8_lossy(path)) };
                    problem(format!("tree {t}{at} of commit {id} is missing; its files were not scanned"));
                }
            };
            walker.walk(commit.tree, &mut load, &mut met);
            if !go_on {
                break;
            }
        }
        if let Some(e) = tree_error {
            problem(e.message().to_string());
        }
        Ok(stats)
    }
}

/// What a plan covered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanStats {
    /// Commits walked.
    pub commits: u64,
    /// Blobs planned.
    pub blobs: u64,
}
