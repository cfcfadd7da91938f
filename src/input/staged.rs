//! The git index as an input (`sluice scan --staged`): the blobs `git commit` would record, not
//! the work tree. Read through `git` itself (`diff --cached --raw` for the staged paths and blob
//! ids, one `cat-file --batch` for the contents), so every index format, a hook's
//! `GIT_INDEX_FILE` and a partial commit's temporary index are honoured without a git library.
//! Nothing here runs a filter, textconv or hook: raw blobs only.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::error::{Error, ErrorKind};

/// What a staged path holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular (possibly executable) file.
    File,
    /// A symlink: the blob is the link target.
    Symlink,
    /// A submodule commit (no content in this repository).
    Submodule,
}

/// One staged path (added, copied, modified or renamed; deletions have nothing to scan).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedEntry {
    /// Path relative to the repository top level.
    pub path: PathBuf,
    /// The blob id in the index.
    pub oid: String,
    /// What the path holds.
    pub kind: EntryKind,
}

/// A staged blob's content, or only its size when it is too large to hold in memory.
#[derive(Debug)]
pub enum Blob {
    /// The whole blob.
    Bytes(Vec<u8>),
    /// A blob over the in-memory limit: stream it with [`open_blob`].
    Large(u64),
}

fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    // `-c core.quotepath=off` is moot with -z; color and pagers are off on a pipe, but be sure.
    cmd.arg("-C").arg(dir).args(["--no-pager", "-c", "color.ui=never"]);
    cmd.stdin(Stdio::null());
    cmd
}

fn run(mut cmd: Command, what: &str) -> Result<Vec<u8>, Error> {
    let out = cmd.output().map_err(|e| spawn_error(&e))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let msg = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("failed").trim().to_string();
        return Err(Error::new(ErrorKind::Io, format!("'git {what}' failed: {}", msg.trim_start_matches("fatal: "))));
    }
    Ok(out.stdout)
}

fn spawn_error(e: &std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("cannot run 'git': {}", crate::error::io_message(e)))
        .with_hint("--staged reads the git index through the 'git' command; install git or scan paths instead")
}

/// The top level of the git work tree containing `dir`.
pub fn toplevel(dir: &Path) -> Result<PathBuf, Error> {
    let mut cmd = git(dir);
    cmd.args(["rev-parse", "--show-toplevel"]);
    let out = run(cmd, "rev-parse --show-toplevel").map_err(|e| {
        if e.message().contains("not a git repository") {
            Error::new(ErrorKind::Config, format!("'{}' is not inside a git repository", dir.display()))
                .with_hint("--staged scans the git index; run it inside a work tree, or scan paths instead")
        } else {
            e
        }
    })?;
    let text = String::from_utf8(out).map_err(|_| Error::new(ErrorKind::Io, "git top level is not valid UTF-8"))?;
    Ok(PathBuf::from(text.trim_end_matches(['\n', '\r'])))
}

/// The staged paths of the repository at `top`, in git's order.
pub fn entries(top: &Path) -> Result<Vec<StagedEntry>, Error> {
    let mut cmd = git(top);
    // --no-renames: a rename is an added path (and `diff.renames` cannot change the format).
    cmd.args(["diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames", "--diff-filter=ACMR", "--no-ext-diff"]);
    parse_raw(&run(cmd, "diff --cached")?)
}

/// Parses `git diff --raw -z`: `:old_mode new_mode old_oid new_oid status NUL path NUL`
/// (two paths for copies and renames, of which the second is the staged one).
fn parse_raw(out: &[u8]) -> Result<Vec<StagedEntry>, Error> {
    let bad = || Error::new(ErrorKind::Io, "unexpected 'git diff --raw' output");
    let mut fields = out.split(|&b| b == 0).filter(|f| !f.is_empty());
    let mut entries = Vec::new();
    while let Some(header) = fields.next() {
        let header = std::str::from_utf8(header).map_err(|_| bad())?;
        let parts: Vec<&str> = header.trim_start_matches(':').split(' ').collect();
        let [_, new_mode, _, new_oid, status] = parts[..] else { return Err(bad()) };
        let mut path = fields.next().ok_or_else(bad)?;
        if status.starts_with(['R', 'C']) {
            path = fields.next().ok_or_else(bad)?;
        }
        let kind = match new_mode {
            "120000" => EntryKind::Symlink,
            "160000" => EntryKind::Submodule,
            _ => EntryKind::File,
        };
        entries.push(StagedEntry { path: path_from_bytes(path), oid: new_oid.to_string(), kind });
    }
    Ok(entries)
}

#[cfg(unix)]
fn path_from_bytes(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

#[cfg(not(unix))]
fn path_from_bytes(b: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

/// Reads the blobs of `entries` (files only) with one `git cat-file --batch`, calling `each` in
/// order; blobs over `max_inline` bytes are passed as [`Blob::Large`]. Stops when `each` returns
/// false.
pub fn read_blobs(
    top: &Path,
    entries: &[StagedEntry],
    max_inline: u64,
    mut each: impl FnMut(&StagedEntry, Blob) -> bool,
) -> Result<(), Error> {
    let files: Vec<&StagedEntry> = entries.iter().filter(|e| e.kind == EntryKind::File).collect();
    if files.is_empty() {
        return Ok(());
    }
    let mut cmd = git(top);
    cmd.args(["cat-file", "--batch"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn().map_err(|e| spawn_error(&e))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let ids: Vec<u8> = files.iter().flat_map(|e| format!("{}\n", e.oid).into_bytes()).collect();
    // Written from a thread: git answers while we are still asking, and both pipes are bounded.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&ids);
    });
    let mut out = BufReader::with_capacity(64 << 10, child.stdout.take().expect("piped stdout"));
    let result = (|| {
        let mut header = Vec::new();
        for entry in files {
            header.clear();
            out.read_until(b'\n', &mut header).map_err(|e| Error::io(&e))?;
            let text = String::from_utf8_lossy(&header);
            let mut parts = text.split_ascii_whitespace();
            let (Some(_oid), Some(kind), Some(size)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("'git cat-file' cannot read the staged blob of '{}'", entry.path.display()),
                ));
            };
            let size: u64 = size.parse().map_err(|_| Error::new(ErrorKind::Io, "unexpected 'git cat-file' output"))?;
            let blob = if kind != "blob" || size > max_inline {
                std::io::copy(&mut (&mut out).take(size), &mut std::io::sink()).map_err(|e| Error::io(&e))?;
                Blob::Large(size)
            } else {
                let mut bytes = Vec::with_capacity(size as usize);
                (&mut out).take(size).read_to_end(&mut bytes).map_err(|e| Error::io(&e))?;
                if bytes.len() as u64 != size {
                    return Err(Error::new(ErrorKind::Io, "'git cat-file' output ended early"));
                }
                Blob::Bytes(bytes)
            };
            let mut newline = [0u8; 1];
            out.read_exact(&mut newline).map_err(|e| Error::io(&e))?;
            if !each(entry, blob) {
                break;
            }
        }
        Ok(())
    })();
    drop(out);
    let _ = child.kill();
    let _ = child.wait();
    let _ = writer.join();
    result
}

/// A staged blob streamed from `git cat-file blob` (for blobs too large to hold in memory).
pub struct BlobReader {
    child: Child,
    stdout: ChildStdout,
}

/// Opens the blob `oid` of the repository at `top` as a stream.
pub fn open_blob(top: &Path, oid: &str) -> Result<BlobReader, Error> {
    let mut cmd = git(top);
    cmd.args(["cat-file", "blob", oid]).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn().map_err(|e| spawn_error(&e))?;
    let stdout = child.stdout.take().expect("piped stdout");
    Ok(BlobReader { child, stdout })
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stdout.read(buf)
    }
}

impl Drop for BlobReader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_output() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        let raw = format!(
            ":000000 100644 {z} {a} A\0new file.txt\0:100644 100755 {a} {a} M\0bin/run\0:100644 100644 {a} {a} R087\0old\0renamed\0:000000 120000 {z} {a} A\0link\0:000000 160000 {z} {a} A\0sub\0"
        );
        let entries = parse_raw(raw.as_bytes()).unwrap();
        let got: Vec<(&str, EntryKind)> = entries.iter().map(|e| (e.path.to_str().unwrap(), e.kind)).collect();
        assert_eq!(
            got,
            [
                ("new file.txt", EntryKind::File),
                ("bin/run", EntryKind::File),
                ("renamed", EntryKind::File),
                ("link", EntryKind::Symlink),
                ("sub", EntryKind::Submodule),
            ]
        );
        assert_eq!(entries[0].oid, a);
        assert!(parse_raw(b"garbage\0").is_err());
        assert!(parse_raw(b"").unwrap().is_empty());
    }
}
