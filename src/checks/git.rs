//! `.git` in a package (issue 5): where a repository starts in a name ([`repo_end`]), which part
//! of it a unit is ([`Part`]), remote URLs with credentials in `.git/config`
//! ([`config_credentials`]), and loose objects inflated so their content is scanned with lines
//! counted in the blob ([`loose_object`]). Packfiles are decoded by `crate::git::shipped`.

use std::io::{self, Cursor, Read};
use std::path::{Component, Path, PathBuf};

use flate2::read::ZlibDecoder;

use super::Host;
use crate::error::{Error, ErrorKind};
use crate::input::{Chain, Content, Limits, SkipReason};

/// Git objects up to this size are inflated into memory; larger ones are streamed.
const INFLATE_IN_MEMORY: u64 = 1 << 20;
/// Inflated bytes always allowed before the ratio limit applies (small objects compress well).
const RATIO_FLOOR: u64 = 1 << 20;

/// Which part of a repository a unit inside `.git/` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// `.git/config` (or a submodule's `.git/modules/*/config`).
    Config,
    /// A loose object, `.git/objects/ab/cdef…`.
    LooseObject,
    /// A packfile, `.git/objects/pack/pack-*.pack`.
    Pack,
    /// Anything else (refs, logs, index, hooks): scanned as it is.
    Other,
}

/// The byte offset just past the first `.git` directory component of a `/`-separated name (the
/// repository prefix is `name[..end]`); `None` when no directory in the name is `.git`.
pub fn repo_end(name: &[u8]) -> Option<usize> {
    memchr::memmem::find_iter(name, b".git/")
        .find(|&i| i == 0 || name[i - 1] == b'/' || name[i - 1] == b'\\')
        .map(|i| i + 4)
}

/// The repository directory of an on-disk path inside a `.git` directory.
pub fn repo_dir(path: &Path) -> Option<PathBuf> {
    let mut dir = PathBuf::new();
    let mut components = path.components().peekable();
    while let Some(c) = components.next() {
        dir.push(c);
        if matches!(c, Component::Normal(n) if n == ".git") && components.peek().is_some() {
            return Some(dir);
        }
    }
    None
}

/// What `rest` (the name after the repository prefix, starting with `/`) is.
pub fn part(rest: &[u8]) -> Part {
    let hex = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_hexdigit);
    if rest == b"/config" || (rest.starts_with(b"/modules/") && rest.ends_with(b"/config")) {
        return Part::Config;
    }
    let Some(obj) = rest.strip_prefix(b"/objects/") else { return Part::Other };
    if obj.starts_with(b"pack/") && obj.ends_with(b".pack") {
        return Part::Pack;
    }
    match obj.split(|&b| b == b'/').collect::<Vec<_>>().as_slice() {
        [dir, file] if dir.len() == 2 && hex(dir) && (file.len() == 38 || file.len() == 62) && hex(file) => {
            Part::LooseObject
        }
        _ => Part::Other,
    }
}

/// `(line, column, secret)` of every URL with an embedded password in a git config.
pub fn config_credentials(config: &[u8]) -> Vec<(u64, u64, &[u8])> {
    let mut out = Vec::new();
    for (i, line) in config.split(|&b| b == b'\n').enumerate() {
        if let Some((s, e)) = super::credfiles::url_password(line) {
            out.push((i as u64 + 1, s as u64 + 1, &line[s..e]));
        }
    }
    out
}

/// True for bytes that start a zlib stream (git objects are zlib-compressed).
fn is_zlib(head: &[u8]) -> bool {
    head.len() >= 2 && head[0] & 0x0f == 8 && ((u16::from(head[0]) << 8) | u16::from(head[1])) % 31 == 0
}

/// Inflates a loose object and scans its content (blobs, commits, tags; trees hold only names
/// and ids) under the object's own chain, so lines are counted in the blob. A unit named like an
/// object that is not zlib data is scanned as it is.
pub fn loose_object(chain: &Chain, content: Content<'_>, limits: &Limits, host: &mut dyn Host) -> Result<(), Error> {
    match content {
        Content::Bytes(b) if !is_zlib(b) => host.scan(chain, Content::Bytes(b)),
        Content::Bytes(b) => {
            inflate(chain, b, limits, host);
            Ok(())
        }
        Content::Reader(r) => {
            let mut head = Vec::with_capacity(2);
            (&mut *r).take(2).read_to_end(&mut head).map_err(|e| Error::io(&e))?;
            let mut joined = Cursor::new(head.as_slice()).chain(r);
            if is_zlib(&head) {
                inflate(chain, &mut joined, limits, host);
                Ok(())
            } else {
                host.scan(chain, Content::Reader(&mut joined))
            }
        }
    }
}

fn inflate(chain: &Chain, compressed: impl Read, limits: &Limits, host: &mut dyn Host) {
    let mut z = Bounded { z: ZlibDecoder::new(compressed), ratio: limits.max_ratio, tripped: false };
    let result = (|| {
        let (kind, size) = header(&mut z)?;
        if kind == b"tree" {
            // Names and ids only; nothing for the content rules.
            return Ok(());
        }
        let mut body = (&mut z).take(size);
        if size <= INFLATE_IN_MEMORY {
            let mut buf = Vec::with_capacity(size as usize);
            body.read_to_end(&mut buf).map_err(|e| Error::io(&e))?;
            host.scan(chain, Content::Bytes(&buf))
        } else {
            host.scan(chain, Content::Reader(&mut body))
        }
    })();
    if let Err(e) = result {
        host.error(chain, &Error::new(ErrorKind::Archive, format!("git object: {}", e.message())));
    } else if z.tripped {
        let detail = format!("git object expands more than {}x; the rest was not scanned", limits.max_ratio);
        host.skipped(chain, SkipReason::RatioLimit, &detail);
    }
}

/// Reads `<type> <size>\0`.
fn header(r: &mut impl Read) -> Result<(Vec<u8>, u64), Error> {
    let mut header = Vec::with_capacity(32);
    let mut byte = [0u8];
    loop {
        if r.read(&mut byte).map_err(|e| Error::io(&e))? == 0 || header.len() > 32 {
            return Err(Error::new(ErrorKind::Archive, "truncated or invalid object header"));
        }
        if byte[0] == 0 {
            break;
        }
        header.push(byte[0]);
    }
    let bad =
        || Error::new(ErrorKind::Archive, format!("invalid object header '{}'", String::from_utf8_lossy(&header)));
    let space = memchr::memchr(b' ', &header).ok_or_else(bad)?;
    let kind = &header[..space];
    if !matches!(kind, b"blob" | b"commit" | b"tag" | b"tree") {
        return Err(bad());
    }
    let size = std::str::from_utf8(&header[space + 1..]).ok().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    Ok((kind.to_vec(), size))
}

/// A zlib reader that stops (as if at end of stream) once the output exceeds `ratio` times the
/// input, so a crafted object cannot make the scan inflate gigabytes.
struct Bounded<R: Read> {
    z: ZlibDecoder<R>,
    ratio: u64,
    tripped: bool,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let out = self.z.total_out();
        if out > RATIO_FLOOR && out > self.z.total_in().saturating_mul(self.ratio) {
            self.tripped = true;
            return Ok(0);
        }
        self.z.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_prefix() {
        let cases: &[(&str, Option<&str>)] = &[
            ("package/.git/config", Some("package/.git")),
            (".git/HEAD", Some(".git")),
            ("a/.git", None),
            ("a/.github/workflows/x.yml", None),
            ("a/x.git/config", None),
            ("a/.git/modules/b/.git/x", Some("a/.git")),
        ];
        for &(name, want) in cases {
            assert_eq!(repo_end(name.as_bytes()).map(|e| &name[..e]), want, "{name}");
        }
        assert_eq!(repo_dir(Path::new("v/x/.git/objects/ab")), Some(PathBuf::from("v/x/.git")));
        assert_eq!(repo_dir(Path::new("v/x/.git")), None);
    }

    #[test]
    fn parts() {
        let oid = "0123456789abcdef0123456789abcdef01234567";
        let cases = [
            ("/config".to_string(), Part::Config),
            ("/modules/sub/config".to_string(), Part::Config),
            (format!("/objects/{}/{}", &oid[..2], &oid[2..]), Part::LooseObject),
            (format!("/objects/pack/pack-{oid}.pack"), Part::Pack),
            (format!("/objects/pack/pack-{oid}.idx"), Part::Other),
            ("/objects/info/alternates".to_string(), Part::Other),
            ("/HEAD".to_string(), Part::Other),
            ("/objects/zz/0123".to_string(), Part::Other),
        ];
        for (rest, want) in cases {
            assert_eq!(part(rest.as_bytes()), want, "{rest}");
        }
    }

    #[test]
    fn config_urls() {
        let cfg = b"[core]\n\tbare = false\n[remote \"origin\"]\n\turl = https://deployer:s3cretvalue1@github.com/acme/w.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n[remote \"up\"]\n\turl = git@github.com:acme/w.git\n"; // sluice:allow url.basic-auth (made-up test value)
        assert_eq!(config_credentials(cfg), vec![(4, 25, &b"s3cretvalue1"[..])]);
    }

    #[test]
    fn zlib_magic() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, b"blob 1\0x").unwrap();
        assert!(is_zlib(&z.finish().unwrap()));
        assert!(!is_zlib(b"ref: refs/heads/main"));
        let mut r: &[u8] = b"blob 12\0hello";
        assert_eq!(header(&mut r).unwrap(), (b"blob".to_vec(), 12));
        assert!(header(&mut &b"nope 1\0"[..]).is_err());
        assert!(header(&mut &b"blob 1"[..]).is_err());
    }
}
