//! Walking the inputs: `ignore::WalkBuilder` set up to scan everything by default (hidden and
//! git-ignored files ship unless the publish allow-list excludes them), never following symlinks
//! unless asked, and skipping the `.git` directory at a scan root (the repository being scanned).

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;

use super::{Chain, SkipReason};
use crate::error::{Error, ErrorKind};

/// Walker settings.
#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    /// Apply `.gitignore`, `.ignore` and git excludes.
    pub respect_gitignore: bool,
    /// Follow symlinks (loops are detected and reported).
    pub follow_symlinks: bool,
}

/// What the walker found.
#[derive(Debug)]
pub enum Entry {
    /// A regular file to scan.
    File(PathBuf),
    /// Something not scanned (symlink, FIFO, device), with the reason.
    Skipped(Chain, SkipReason, String),
    /// A path that could not be read.
    Error(Chain, Error),
}

/// Walks `roots` in order, calling `each` for every entry; stops early when `each` returns false.
pub fn walk(roots: &[PathBuf], opts: &WalkOptions, mut each: impl FnMut(Entry) -> bool) {
    for root in roots {
        let mut builder = WalkBuilder::new(root);
        let respect = opts.respect_gitignore;
        builder
            .hidden(false)
            .parents(respect)
            .ignore(respect)
            .git_ignore(respect)
            .git_global(respect)
            .git_exclude(respect)
            .require_git(false)
            .follow_links(opts.follow_symlinks)
            .filter_entry(|e| {
                !(e.depth() == 1 && e.file_name() == ".git" && e.file_type().is_some_and(|t| t.is_dir()))
            });
        for result in builder.build() {
            let keep_going = match result {
                Ok(entry) => match entry.file_type() {
                    Some(t) if t.is_file() => each(Entry::File(entry.into_path())),
                    Some(t) if t.is_dir() => true,
                    Some(t) if t.is_symlink() => each(Entry::Skipped(
                        Chain::file(entry.path()),
                        SkipReason::Symlink,
                        "symlink not followed".into(),
                    )),
                    // stdin is handled by the caller; anything else is a FIFO, socket or device.
                    _ => each(Entry::Skipped(
                        Chain::file(entry.path()),
                        SkipReason::NotAFile,
                        "not a regular file".into(),
                    )),
                },
                Err(err) => each(walk_error(root, &err)),
            };
            if !keep_going {
                return;
            }
        }
    }
}

fn walk_error(root: &Path, err: &ignore::Error) -> Entry {
    let mut path = root.to_path_buf();
    let mut e = err;
    loop {
        match e {
            ignore::Error::WithPath { path: p, err } => {
                path.clone_from(p);
                e = err;
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                e = err;
            }
            ignore::Error::Loop { child, .. } => {
                return Entry::Skipped(Chain::file(child), SkipReason::Symlink, "symlink loop".into());
            }
            ignore::Error::Io(io) => return Entry::Error(Chain::file(path), Error::io(io)),
            other => {
                return Entry::Error(Chain::file(path), Error::new(ErrorKind::Io, other.to_string()));
            }
        }
    }
}
