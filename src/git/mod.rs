//! Git objects (issue 13): packfiles read with gitoxide ([`pack`]), the first commit, path and
//! author date that introduced a blob ([`history`]), packs inside a shipped `.git` ([`shipped`])
//! and whole-history scans of a repository (`sluice scan --git`, [`repo`]).
//!
//! A finding in a git blob is located as `<commit>:<path>` (git's own `rev:path` syntax, so
//! `git show <commit>:<path>` prints the blob) followed by line and column: the file path of a
//! `--git` scan, or one member after the shipped repository
//! (`pkg.tgz!package/.git!<commit>:<path>:3:14`). A blob that no commit reaches is located by its
//! own id (`….git!<blob>`), a commit or tag message by the object id. The JSON records add
//! `commit`, `blob`, `tree_path` and `author_date` ([`Origin`]).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod history;
pub mod pack;
pub mod repo;
pub mod shipped;

use gix_hash::ObjectId;

/// Where a finding inside git objects comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The commit that introduced the blob (full hex id), when a commit reaches it.
    pub commit: Option<String>,
    /// The object scanned (full hex id).
    pub blob: String,
    /// The path in the commit's tree (`/`-separated, raw bytes).
    pub path: Option<Vec<u8>>,
    /// The commit's author date, RFC 3339.
    pub author_date: Option<String>,
}

impl Origin {
    /// An object that no commit reaches.
    pub fn blob(id: ObjectId) -> Origin {
        Origin { commit: None, blob: id.to_string(), path: None, author_date: None }
    }

    /// [`Origin::member`] as a path (the file path of a `--git` finding).
    pub fn member_path(&self) -> std::path::PathBuf {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            std::path::PathBuf::from(std::ffi::OsString::from_vec(self.member()))
        }
        #[cfg(not(unix))]
        {
            std::path::PathBuf::from(String::from_utf8_lossy(&self.member()).into_owned())
        }
    }

    /// The location member: `<commit>:<path>`, else the object id.
    pub fn member(&self) -> Vec<u8> {
        match (&self.commit, &self.path) {
            (Some(c), Some(p)) => {
                let mut m = Vec::with_capacity(c.len() + 1 + p.len());
                m.extend_from_slice(c.as_bytes());
                m.push(b':');
                m.extend_from_slice(p);
                m
            }
            _ => self.blob.clone().into_bytes(),
        }
    }
}
