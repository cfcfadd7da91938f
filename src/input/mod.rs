//! Inputs: where bytes come from and what they are called. A unit is a [`Chain`] (the file path
//! plus one member name per archive level) and its [`Content`] (a slice, or a stream that
//! [`crate::search`] reads in overlapping windows). This module knows no rules, no engine and no
//! output formats; it sniffs formats by magic bytes and expands archives in memory, never into
//! files.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod archive;
pub mod mmap;
pub mod staged;
pub mod walk;

use std::fmt;
use std::io::Read;
use std::path::PathBuf;

use crate::error::Error;

/// Where a unit lives: a filesystem path, then one member name per archive level.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Chain {
    /// The path given on the command line or found by the walker (`-` for stdin).
    pub path: PathBuf,
    /// Member names, outermost first, as raw bytes (they need not be UTF-8).
    pub members: Vec<Vec<u8>>,
}

impl Chain {
    /// A chain for a file on disk.
    pub fn file(path: impl Into<PathBuf>) -> Chain {
        Chain { path: path.into(), members: Vec::new() }
    }

    /// This chain plus one more member.
    #[must_use]
    pub fn child(&self, member: impl Into<Vec<u8>>) -> Chain {
        let mut c = self.clone();
        c.members.push(member.into());
        c
    }

    /// Archive nesting depth (0 for a plain file).
    pub fn depth(&self) -> usize {
        self.members.len()
    }

    /// The innermost name: the last member, or the file path.
    pub fn leaf_name(&self) -> Vec<u8> {
        match self.members.last() {
            Some(m) => m.clone(),
            None => self.path.as_os_str().as_encoded_bytes().to_vec(),
        }
    }
}

impl fmt::Display for Chain {
    /// `path!member!member`, lossy for non-UTF-8 names (reporters escape control characters).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        for m in &self.members {
            write!(f, "!{}", String::from_utf8_lossy(m))?;
        }
        Ok(())
    }
}

/// The bytes of one unit.
pub enum Content<'a> {
    /// The whole unit in memory (a small file read, a mapped file, a decoded child).
    Bytes(&'a [u8]),
    /// A stream (a large file, a decompressing archive member): scanned in windows
    /// ([`crate::search`]).
    Reader(&'a mut dyn Read),
}

/// Why a unit was not scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// Archive nesting deeper than `--max-depth`.
    TooDeep,
    /// Expanded/compressed ratio over `--max-ratio`.
    RatioLimit,
    /// Expanded bytes over `--max-archive-bytes`, or a member too big to buffer.
    SizeLimit,
    /// A symlink that was not followed, or a symlink loop.
    Symlink,
    /// Not a regular file (FIFO, socket, device).
    NotAFile,
    /// An encrypted archive member.
    Encrypted,
    /// A file excluded by configuration.
    Excluded,
    /// A format sluice recognises but does not decode (a git packfile).
    Unsupported,
}

impl SkipReason {
    /// Every reason, in the order the summary lists them.
    pub const ALL: [SkipReason; 8] = [
        SkipReason::TooDeep,
        SkipReason::RatioLimit,
        SkipReason::SizeLimit,
        SkipReason::Symlink,
        SkipReason::NotAFile,
        SkipReason::Encrypted,
        SkipReason::Excluded,
        SkipReason::Unsupported,
    ];

    /// The name used in records and the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::TooDeep => "too-deep",
            SkipReason::RatioLimit => "ratio-limit",
            SkipReason::SizeLimit => "size-limit",
            SkipReason::Symlink => "symlink",
            SkipReason::NotAFile => "not-a-file",
            SkipReason::Encrypted => "encrypted",
            SkipReason::Excluded => "excluded",
            SkipReason::Unsupported => "unsupported",
        }
    }
}

/// The deepest `max_depth` a scan accepts. Each open level holds its own decoder and buffers
/// (about 0.6 MiB) and a few KiB of worker stack: 1,000 levels overflowed the stack and aborted
/// the process (issue 7). Real packages nest two or three levels.
pub const MAX_DEPTH: usize = 64;

/// Archive expansion limits (DESIGN.md "Command line").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Maximum archive nesting depth.
    pub max_depth: usize,
    /// Maximum expanded bytes per top-level input.
    pub max_archive_bytes: u64,
    /// Maximum expanded/compressed ratio per member.
    pub max_ratio: u64,
    /// Maximum archive members per top-level input.
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_depth: 8, max_archive_bytes: 16 << 30, max_ratio: 1000, max_entries: 1_000_000 }
    }
}

/// What expansion reports back besides leaf units.
pub trait Visitor {
    /// A unit that is not an archive (or archives are off): scan it.
    fn leaf(&mut self, chain: &Chain, content: Content<'_>) -> Result<(), Error>;
    /// A unit that was not scanned, with the reason and a detail message.
    fn skipped(&mut self, chain: &Chain, reason: SkipReason, detail: &str);
    /// A unit that could only be partly scanned.
    fn error(&mut self, chain: &Chain, error: &Error);
    /// An archive was opened (for the summary).
    fn archive_opened(&mut self, _chain: &Chain) {}
    /// An archive member was visited (for the summary).
    fn member(&mut self, _chain: &Chain) {}
}
