//! tar (POSIX ustar, pax, GNU, v7): headers parsed from a stream, members handed on as
//! streams limited to their size, so nothing larger than one header block (or one bounded
//! pax/long-name record) is ever held. Names come from pax `path`, GNU `L` records or
//! ustar prefix + name, as raw bytes. Directories, devices and hard links carry no content of
//! their own and are passed over; symbolic links are reported as skipped (`symlink`), never
//! followed. A bad checksum, a bad size field or a truncated member is an error naming the
//! archive and the byte offset; members before it have been scanned.

use std::io::{self, BufReader, Read};

use super::{Content, FaultKind, Flow, Session, StreamId};
use crate::error::Error;
use crate::input::{Chain, SkipReason, Visitor};

const BLOCK: u64 = 512;

/// Largest pax extended header or GNU long name/link record read into memory.
const META_MAX: u64 = 1 << 20;

/// True when `head` starts with a tar header: the ustar/GNU magic, or (v7, which has none) a
/// non-empty name and a valid header checksum.
pub(super) fn sniff(head: &[u8]) -> bool {
    if head.len() < BLOCK as usize {
        return false;
    }
    let h = &head[..BLOCK as usize];
    &h[257..262] == b"ustar" || (h[0] != 0 && checksum_ok(h))
}

/// The header checksum: the sum of the header bytes with the checksum field as spaces,
/// unsigned (POSIX) or signed (some old tars).
fn checksum_ok(h: &[u8]) -> bool {
    let Some(stored) = parse_octal(&h[148..156]) else { return false };
    let mut unsigned = 0u64;
    let mut signed = 0i64;
    for (i, &b) in h.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b.cast_signed());
    }
    stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed)
}

/// An octal field: optional leading spaces, digits, then NULs or spaces.
fn parse_octal(field: &[u8]) -> Option<u64> {
    let field = field.trim_ascii_start();
    let end = field.iter().position(|&b| b == 0 || b == b' ').unwrap_or(field.len());
    let digits = &field[..end];
    if digits.is_empty() {
        return None;
    }
    let mut v = 0u64;
    for &d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(v)
}

/// The size field: octal, or GNU base-256 for sizes of 8 GiB and more.
fn parse_size(field: &[u8]) -> Option<u64> {
    match field.first() {
        Some(&b) if b & 0x80 != 0 => {
            if b == 0xff {
                return None; // negative
            }
            let mut v = u64::from(b & 0x7f);
            for &d in &field[1..] {
                v = v.checked_mul(256)?.checked_add(u64::from(d))?;
            }
            Some(v)
        }
        _ => parse_octal(field),
    }
}

/// A NUL-terminated field.
fn cstr(field: &[u8]) -> &[u8] {
    let end = memchr::memchr(0, field).unwrap_or(field.len());
    &field[..end]
}

/// The name in the header itself: ustar prefix + `/` + name, or the name alone.
fn header_name(h: &[u8]) -> Vec<u8> {
    let name = cstr(&h[..100]);
    // POSIX ustar only: GNU tar keeps other fields where ustar has the prefix.
    let prefix = if &h[257..263] == b"ustar\0" { cstr(&h[345..500]) } else { &[] };
    if prefix.is_empty() {
        name.to_vec()
    } else {
        let mut v = prefix.to_vec();
        v.push(b'/');
        v.extend_from_slice(name);
        v
    }
}

/// What pax or GNU records say about the next entry.
#[derive(Default)]
struct Pending {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
}

impl Pending {
    /// Applies pax `len key=value\n` records; a malformed one ends the parse.
    fn pax(&mut self, data: &[u8]) {
        let mut rest = data;
        while !rest.is_empty() {
            let Some(sp) = memchr::memchr(b' ', rest) else { return };
            let Some(len) = std::str::from_utf8(&rest[..sp]).ok().and_then(|s| s.parse::<usize>().ok()) else { return };
            if len <= sp + 1 || len > rest.len() {
                return;
            }
            let record = &rest[sp + 1..len];
            let record = record.strip_suffix(b"\n").unwrap_or(record);
            if let Some(eq) = memchr::memchr(b'=', record) {
                let (key, value) = (&record[..eq], &record[eq + 1..]);
                match key {
                    b"path" => self.path = Some(value.to_vec()),
                    b"linkpath" => self.link = Some(value.to_vec()),
                    b"size" => self.size = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()),
                    _ => {}
                }
            }
            rest = &rest[len..];
        }
    }
}

/// The archive stream with its offset (for messages).
struct Input<'a> {
    inner: BufReader<&'a mut dyn Read>,
    pos: u64,
}

impl Read for Input<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Expands the tar archive read from `input`; `chain` names the archive.
pub(super) fn expand(
    s: &Session,
    chain: &Chain,
    input: &mut dyn Read,
    level: usize,
    visitor: &mut dyn Visitor,
) -> Result<(), Error> {
    let id = s.open_stream();
    let mut input = Input { inner: BufReader::with_capacity(64 << 10, input), pos: 0 };
    walk(s, id, chain, &mut input, level, visitor);
    s.close(id, chain, Ok(()), visitor)
}

fn walk(s: &Session, id: StreamId, chain: &Chain, input: &mut Input<'_>, level: usize, visitor: &mut dyn Visitor) {
    let fail = |message: String| {
        s.fail(Some(id), FaultKind::Error, message);
    };
    let mut pending = Pending::default();
    let mut block = [0u8; BLOCK as usize];
    loop {
        if s.faulted() {
            return;
        }
        let at = input.pos;
        match read_full(input, &mut block) {
            Ok(0) => return,
            Ok(n) if n < block.len() => return fail(format!("tar: truncated header at byte {at}")),
            Ok(_) => {}
            Err(e) => return read_error(s, id, &e, at),
        }
        if block.iter().all(|&b| b == 0) {
            // The end-of-archive marker. What follows is zeros up to the record size; a
            // partial block there means the archive was cut.
            return match skip(input, u64::MAX) {
                Ok(n) if n % BLOCK == 0 => {}
                Ok(_) => fail(format!("tar: truncated archive at byte {} (a partial block at its end)", input.pos)),
                Err(e) => read_error(s, id, &e, input.pos),
            };
        }
        if !checksum_ok(&block) {
            return fail(format!("tar: bad header checksum at byte {at}"));
        }
        let Some(size) = parse_size(&block[124..136]) else {
            return fail(format!("tar: bad size field in the header at byte {at}"));
        };
        let kind = block[156];
        if matches!(kind, b'x' | b'g' | b'L' | b'K') {
            if size > META_MAX {
                return fail(format!(
                    "tar: {size}-byte extended header at byte {at} is over the {META_MAX}-byte bound"
                ));
            }
            let mut data = vec![0u8; size as usize];
            match read_full(input, &mut data) {
                Ok(n) if n == data.len() => {}
                Ok(_) => return fail(format!("tar: truncated extended header at byte {at}")),
                Err(e) => return read_error(s, id, &e, at),
            }
            if let Err(e) = skip(input, padding(size)) {
                return read_error(s, id, &e, at);
            }
            match kind {
                b'x' => pending.pax(&data),
                b'L' => pending.path = pending.path.take().or_else(|| Some(cstr(&data).to_vec())),
                b'K' => pending.link = pending.link.take().or_else(|| Some(cstr(&data).to_vec())),
                _ => {} // global pax records: nothing a scanner needs
            }
            continue;
        }
        if !s.count_entry(chain, visitor) {
            return;
        }
        let size = pending.size.take().unwrap_or(size);
        let name = pending.path.take().unwrap_or_else(|| header_name(&block));
        let link = pending.link.take().unwrap_or_else(|| cstr(&block[157..257]).to_vec());
        if kind == b'S'
            && block[482] != 0
            && let Err(e) = skip_sparse_extensions(input)
        {
            return read_error(s, id, &e, at);
        }
        let is_file = matches!(kind, b'0' | 0 | b'7' | b'S') && !name.ends_with(b"/");
        let is_special = matches!(kind, b'1'..=b'6' | b'V' | b'D' | b'M' | b'N') || name.ends_with(b"/");
        let mut rest = size;
        if kind == b'2' {
            let target = String::from_utf8_lossy(&link);
            visitor.skipped(
                &chain.child(name),
                SkipReason::Symlink,
                &format!("symlink to '{}'", target.escape_debug()),
            );
        } else if is_file || !is_special {
            // Unknown entry types are read as regular files, as POSIX asks.
            let child = chain.child(name);
            let mut member = Member { input, session: s, id, remaining: size, size };
            let flow = s.member(&child, Content::Reader(&mut member), level, visitor);
            rest = member.remaining;
            if flow == Flow::Stop {
                return;
            }
        }
        let data_at = input.pos;
        match skip(input, rest) {
            Ok(n) if n == rest => {}
            Ok(_) => return fail(format!("tar: truncated member data at byte {data_at}")),
            Err(e) => return read_error(s, id, &e, data_at),
        }
        // Padding to the next block.
        match skip(input, padding(size)) {
            Ok(n) if n == padding(size) => {}
            Ok(_) => return fail(format!("tar: truncated archive at byte {} (in the padding of a member)", input.pos)),
            Err(e) => return read_error(s, id, &e, input.pos),
        }
    }
}

/// A read of the archive stream failed: the fault of an enclosing decoder, or our own.
fn read_error(s: &Session, id: StreamId, e: &io::Error, at: u64) {
    if !s.faulted() {
        s.fail(Some(id), FaultKind::Error, format!("tar: read error at byte {at}: {}", crate::error::io_message(e)));
    }
}

fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

/// GNU sparse headers may continue in extension blocks (each flags whether another follows).
fn skip_sparse_extensions(input: &mut Input<'_>) -> io::Result<()> {
    let mut block = [0u8; BLOCK as usize];
    loop {
        if read_full(input, &mut block)? < block.len() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "truncated sparse header"));
        }
        if block[504] == 0 {
            return Ok(());
        }
    }
}

fn read_full(input: &mut Input<'_>, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads and drops `n` bytes; returns how many there were.
fn skip(input: &mut Input<'_>, n: u64) -> io::Result<u64> {
    io::copy(&mut input.take(n), &mut io::sink())
}

/// One member's data: the archive stream limited to the member's size. A stream that ends
/// early is a truncated archive (a fault of the tar, reported at the archive).
struct Member<'a, 'b> {
    input: &'a mut Input<'b>,
    session: &'a Session,
    id: StreamId,
    remaining: u64,
    size: u64,
}

impl Read for Member<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = match self.input.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted || self.session.faulted() => return Err(e),
            Err(e) => {
                let message = format!("tar: read error at byte {}: {}", self.input.pos, crate::error::io_message(&e));
                return Err(self.session.fail(Some(self.id), FaultKind::Error, message));
            }
        };
        if n == 0 {
            let message = format!(
                "tar: truncated member at byte {} ({} of {} bytes)",
                self.input.pos,
                self.size - self.remaining,
                self.size
            );
            return Err(self.session.fail(Some(self.id), FaultKind::Error, message));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &[u8], size: u64, kind: u8, magic: &[u8]) -> [u8; 512] {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name);
        h[100..108].copy_from_slice(b"0000644\0");
        h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        h[156] = kind;
        h[257..257 + magic.len()].copy_from_slice(magic);
        let sum: u32 =
            h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u32::from(b) }).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        h
    }

    #[test]
    fn sniffs_ustar_gnu_and_v7() {
        assert!(sniff(&header(b"a.txt", 3, b'0', b"ustar\x0000")));
        assert!(sniff(&header(b"a.txt", 3, b'0', b"ustar  \0")));
        assert!(sniff(&header(b"a.txt", 3, b'0', b"")));
        let mut bad = header(b"a.txt", 3, b'0', b"");
        bad[0] = b'b';
        assert!(!sniff(&bad), "v7 needs a valid checksum");
        assert!(!sniff(&[b'a'; 512]));
        assert!(!sniff(&[0; 512]));
    }

    #[test]
    fn fields() {
        assert_eq!(parse_octal(b"  0000644\0"), Some(0o644));
        assert_eq!(parse_octal(b"\0\0\0"), None);
        assert_eq!(parse_octal(b"0009"), None);
        assert_eq!(parse_size(b"00000000012\0"), Some(10));
        let mut big = [0u8; 12];
        big[0] = 0x80;
        big[11] = 1;
        big[10] = 2;
        assert_eq!(parse_size(&big), Some(513));
        assert_eq!(parse_size(&[0xff; 12]), None);
        let mut p = Pending::default();
        p.pax(b"29 path=a/very/long/name.txt\n11 size=42\n");
        assert_eq!(p.path.as_deref(), Some(&b"a/very/long/name.txt"[..]));
        assert_eq!(p.size, Some(42));
        let mut junk = Pending::default();
        junk.pax(b"999 path=x\n");
        assert!(junk.path.is_none());
    }

    #[test]
    fn prefix_joins_only_for_posix_ustar() {
        let mut h = header(b"name.txt", 0, b'0', b"ustar\x0000");
        h[345..348].copy_from_slice(b"dir");
        assert_eq!(header_name(&h), b"dir/name.txt");
        let mut g = header(b"name.txt", 0, b'0', b"ustar  \0");
        g[345..348].copy_from_slice(b"xyz");
        assert_eq!(header_name(&g), b"name.txt");
    }
}
