//! zip family (`.zip`, `.whl`, `.jar`, `.war`, `.egg`, `.nupkg`, `.vsix`, `.apk`): the central
//! directory is read from the slice (a mapped file or a buffered member), each member's data is
//! located through its local header and inflated on demand as a stream (stored members are
//! handed on as sub-slices, without a copy). Deflate, deflate64, bzip2 and zstd members are
//! read; each decoded member is checked against its declared size and CRC-32.
//!
//! A directory that lies is an error naming the archive: an end record or entry that is not
//! where it says, a local header that names another file, data past the end, and members whose
//! data overlap (the non-recursive zip bomb) - overlapping archives are not expanded at all.
//! Encrypted members are skipped (`encrypted`), symlink members are skipped (`symlink`).

use std::io::{self, BufRead, Read};
use std::ops::Range;

use super::{
    Consumed, CountingInput, Decode, FaultKind, Flow, Guard, RATIO_MIN_OUT, Session, SliceInput, StreamId,
    archive_error,
};
use crate::input::{Chain, Content, SkipReason, Visitor};

const EOCD: &[u8; 4] = b"PK\x05\x06";
const EOCD64: &[u8; 4] = b"PK\x06\x06";
const EOCD64_LOCATOR: &[u8; 4] = b"PK\x06\x07";
const CENTRAL: &[u8; 4] = b"PK\x01\x02";
const LOCAL: &[u8; 4] = b"PK\x03\x04";

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(at..at + 8)?.try_into().ok()?))
}

/// One central directory entry.
#[derive(Debug)]
struct Entry<'a> {
    name: &'a [u8],
    made_by: u16,
    flags: u16,
    method: u16,
    crc: u32,
    csize: u64,
    usize: u64,
    offset: u64,
    external: u32,
}

impl Entry<'_> {
    fn is_dir(&self) -> bool {
        self.name.ends_with(b"/")
    }

    fn is_symlink(&self) -> bool {
        const S_IFMT: u32 = 0o170_000;
        const S_IFLNK: u32 = 0o120_000;
        self.made_by >> 8 == 3 && (self.external >> 16) & S_IFMT == S_IFLNK
    }

    fn is_encrypted(&self) -> bool {
        self.flags & 1 != 0 || self.method == 99
    }
}

/// The parsed central directory.
struct Directory<'a> {
    entries: Vec<Entry<'a>>,
    /// Bytes before the archive proper (a self-extractor stub): added to every offset.
    shift: u64,
    /// Where the central directory starts (member data must end before it).
    start: u64,
    /// A lie found part-way through: the entries before it are still read.
    problem: Option<String>,
}

/// Finds the end of central directory record, searching back over a comment of up to 64 KiB.
fn find_eocd(data: &[u8]) -> Option<usize> {
    let last = data.len().checked_sub(22)?;
    let first = last.saturating_sub(0xffff);
    (first..=last).rev().find(|&p| &data[p..p + 4] == EOCD)
}

impl<'a> Directory<'a> {
    fn read(data: &'a [u8]) -> Result<Directory<'a>, String> {
        let eocd = find_eocd(data).ok_or("no end of central directory record (truncated?)")?;
        let field16 = |at| u16_at(data, eocd + at).map_or(0, u64::from);
        let field32 = |at| u32_at(data, eocd + at).map_or(0, u64::from);
        let (mut count, mut size, mut offset) = (field16(10), field32(12), field32(16));
        let mut end = eocd as u64;
        if field16(4) != 0 || field16(6) != 0 {
            return Err("multi-disk archives are not supported".into());
        }
        if count == 0xffff || size == 0xffff_ffff || offset == 0xffff_ffff {
            // zip64: the locator sits just before the end record.
            let loc =
                eocd.checked_sub(20).filter(|&l| &data[l..l + 4] == EOCD64_LOCATOR).ok_or("zip64 locator missing")?;
            let at64 = u64_at(data, loc + 8).ok_or("zip64 locator truncated")?;
            let at = usize::try_from(at64).map_err(|_| "zip64 end record offset out of range")?;
            if data.get(at..at + 4) != Some(&EOCD64[..]) {
                return Err(format!("central directory lies: no zip64 end record at byte {at}"));
            }
            count = u64_at(data, at + 32).ok_or("zip64 end record truncated")?;
            size = u64_at(data, at + 40).ok_or("zip64 end record truncated")?;
            offset = u64_at(data, at + 48).ok_or("zip64 end record truncated")?;
            end = at as u64;
        }
        let cd_end = offset.checked_add(size).ok_or("central directory lies: size overflows")?;
        let shift = end
            .checked_sub(cd_end)
            .ok_or_else(|| format!("central directory lies: it ends at byte {cd_end}, past its end record at {end}"))?;
        let start = offset + shift;
        // A count that lies is found out entry by entry: parsing stops at the first bad one.
        let mut entries = Vec::with_capacity(count.min(size / 46).min(1 << 16) as usize);
        let mut problem = None;
        let mut p = start as usize;
        let limit = (start + size) as usize;
        for i in 0..count {
            match parse_entry(data, p, limit) {
                Some((entry, next)) => {
                    entries.push(entry);
                    p = next;
                }
                None => {
                    problem = Some(format!(
                        "central directory lies: entry {} of {count} at byte {p} is not a valid entry",
                        i + 1
                    ));
                    break;
                }
            }
        }
        Ok(Directory { entries, shift, start, problem })
    }
}

/// Parses the central directory entry at `p` (which must end by `limit`).
fn parse_entry(data: &[u8], p: usize, limit: usize) -> Option<(Entry<'_>, usize)> {
    if p + 46 > limit || &data[p..p + 4] != CENTRAL {
        return None;
    }
    let name_len = usize::from(u16_at(data, p + 28)?);
    let extra_len = usize::from(u16_at(data, p + 30)?);
    let comment_len = usize::from(u16_at(data, p + 32)?);
    let next = p + 46 + name_len + extra_len + comment_len;
    if next > limit {
        return None;
    }
    let mut entry = Entry {
        name: &data[p + 46..p + 46 + name_len],
        made_by: u16_at(data, p + 4)?,
        flags: u16_at(data, p + 8)?,
        method: u16_at(data, p + 10)?,
        crc: u32_at(data, p + 16)?,
        csize: u64::from(u32_at(data, p + 20)?),
        usize: u64::from(u32_at(data, p + 24)?),
        offset: u64::from(u32_at(data, p + 42)?),
        external: u32_at(data, p + 38)?,
    };
    // zip64 extra field: the 64-bit values of the fields that are saturated, in this order.
    let mut extra = &data[p + 46 + name_len..p + 46 + name_len + extra_len];
    while extra.len() >= 4 {
        let id = u16_at(extra, 0)?;
        let len = usize::from(u16_at(extra, 2)?);
        let body = extra.get(4..4 + len)?;
        if id == 1 {
            let mut at = 0;
            for field in [&mut entry.usize, &mut entry.csize, &mut entry.offset] {
                if *field == 0xffff_ffff {
                    *field = u64_at(body, at)?;
                    at += 8;
                }
            }
        }
        extra = &extra[4 + len..];
    }
    Some((entry, next))
}

/// The local header of `entry`: its span from header to end of data, and the data range.
fn locate(data: &[u8], dir: &Directory<'_>, entry: &Entry<'_>) -> Result<(Range<u64>, Range<usize>), String> {
    let lh = entry.offset.checked_add(dir.shift).ok_or("local header offset overflows")?;
    let at = usize::try_from(lh).map_err(|_| "local header offset out of range")?;
    if data.get(at..at + 4) != Some(&LOCAL[..]) {
        return Err(format!("central directory lies: no local header at byte {lh}"));
    }
    let name_len = usize::from(u16_at(data, at + 26).ok_or("truncated local header")?);
    let extra_len = usize::from(u16_at(data, at + 28).ok_or("truncated local header")?);
    let start = at + 30 + name_len + extra_len;
    if data.get(at + 30..at + 30 + name_len) != Some(entry.name) {
        return Err("central directory lies: the local header names another file".into());
    }
    let end = (start as u64).checked_add(entry.csize).ok_or("member size overflows")?;
    if end > dir.start.min(data.len() as u64) {
        return Err(format!("member data runs past the end of the archive ({} bytes at byte {start})", entry.csize));
    }
    Ok((lh..end, start..end as usize))
}

/// Expands the zip archive `data`; `chain` names it.
pub(super) fn expand(s: &Session, chain: &Chain, data: &[u8], level: usize, visitor: &mut dyn Visitor) {
    let dir = match Directory::read(data) {
        Ok(d) => d,
        Err(message) => {
            visitor.error(chain, &archive_error(format!("zip: {message}")));
            if find_eocd(data).is_none() {
                // Cut short: what is before the cut can still be read member by member.
                expand_stream(s, chain, &mut &data[..], level, visitor);
            }
            return;
        }
    };
    if let Some(problem) = &dir.problem {
        visitor.error(chain, &archive_error(format!("zip: {problem}")));
    }
    let located: Vec<_> = dir.entries.iter().map(|e| locate(data, &dir, e)).collect();
    // Members whose data overlap are a non-recursive zip bomb: nothing of it is expanded.
    let mut spans: Vec<(Range<u64>, usize)> =
        located.iter().enumerate().filter_map(|(i, l)| l.as_ref().ok().map(|(span, _)| (span.clone(), i))).collect();
    spans.sort_by_key(|(span, _)| span.start);
    for pair in spans.windows(2) {
        if pair[1].0.start < pair[0].0.end {
            let a = String::from_utf8_lossy(dir.entries[pair[0].1].name);
            let b = String::from_utf8_lossy(dir.entries[pair[1].1].name);
            let message = format!(
                "zip: members '{}' and '{}' overlap (a zip bomb?); not expanded",
                a.escape_debug(),
                b.escape_debug()
            );
            visitor.error(chain, &archive_error(message));
            return;
        }
    }
    for (entry, place) in dir.entries.iter().zip(&located) {
        if s.faulted() || !s.count_entry(chain, visitor) {
            break;
        }
        if entry.is_dir() && entry.usize == 0 {
            continue;
        }
        let child = chain.child(entry.name);
        if entry.is_encrypted() {
            visitor.skipped(&child, SkipReason::Encrypted, "encrypted zip member");
            continue;
        }
        if entry.is_symlink() {
            visitor.skipped(&child, SkipReason::Symlink, "symlink member");
            continue;
        }
        let raw = match place {
            Ok((_, range)) => &data[range.clone()],
            Err(message) => {
                visitor.error(&child, &archive_error(format!("zip: {message}")));
                continue;
            }
        };
        if member(s, &child, entry, raw, level, visitor) == Flow::Stop {
            break;
        }
    }
}

/// One member: stored data as a sub-slice, compressed data through a checked decoder.
fn member(s: &Session, child: &Chain, entry: &Entry<'_>, raw: &[u8], level: usize, visitor: &mut dyn Visitor) -> Flow {
    if entry.method == 0 {
        if entry.csize != entry.usize {
            let message = format!(
                "zip: stored member of {} bytes declares {} (central directory lies)",
                entry.csize, entry.usize
            );
            visitor.error(child, &archive_error(message));
            return Flow::Continue;
        }
        if s.add_expanded(entry.csize).is_err() {
            return s.settle(child, Ok(()), visitor);
        }
        return s.member(child, Content::Bytes(raw), level, visitor);
    }
    let id = s.open_stream();
    let ratio = s.limits.max_ratio;
    let result = if entry.usize >= RATIO_MIN_OUT && entry.usize > ratio.saturating_mul(entry.csize.max(1)) {
        let message = format!(
            "zip: declared expanded/compressed ratio over {ratio} ({} bytes from {}; --max-ratio)",
            entry.usize, entry.csize
        );
        s.ratio_trip(id, message);
        Ok(())
    } else {
        let Some(inflate) = Inflate::new(entry.method, SliceInput::new(raw)) else {
            let message = format!("zip: unsupported compression method {}", entry.method);
            visitor.error(child, &archive_error(message));
            return Flow::Continue;
        };
        let mut guard = Guard::new(s, id, "zip", Checked::new(inflate, Some((entry.usize, entry.crc))));
        visitor.member(child);
        let r = s.unit(child, Content::Reader(&mut guard), level, false, visitor);
        guard.drain(r)
    };
    let result = s.close(id, child, result, visitor);
    s.settle(child, result, visitor)
}

/// The decoders a zip member may need, over the member's compressed bytes (a slice, or the
/// bounded part of a stream).
enum Inflate<B: BufRead> {
    Stored(B),
    Deflate(flate2::bufread::DeflateDecoder<B>),
    Deflate64(Box<deflate64::Deflate64Decoder<B>>),
    Bzip2(::bzip2::bufread::BzDecoder<B>),
    Zstd(super::zstd::Decoder<B>),
}

impl<B: BufRead> Inflate<B> {
    fn new(method: u16, input: B) -> Option<Inflate<B>> {
        Some(match method {
            0 => Inflate::Stored(input),
            8 => Inflate::Deflate(flate2::bufread::DeflateDecoder::new(input)),
            9 => Inflate::Deflate64(Box::new(deflate64::Deflate64Decoder::with_buffer(input))),
            12 => Inflate::Bzip2(::bzip2::bufread::BzDecoder::new(input)),
            93 => Inflate::Zstd(super::zstd::Decoder::new(input).ok()?),
            _ => return None,
        })
    }

    fn input(&self) -> &B {
        match self {
            Inflate::Stored(b) => b,
            Inflate::Deflate(d) => d.get_ref(),
            Inflate::Deflate64(d) => d.get_ref(),
            Inflate::Bzip2(d) => d.get_ref(),
            Inflate::Zstd(d) => d.input(),
        }
    }
}

impl<B: BufRead> Read for Inflate<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Inflate::Stored(d) => d.read(buf),
            Inflate::Deflate(d) => d.read(buf),
            Inflate::Deflate64(d) => d.read(buf),
            Inflate::Bzip2(d) => d.read(buf),
            Inflate::Zstd(d) => d.read(buf),
        }
    }
}

impl<B: BufRead + Consumed> Decode for Inflate<B> {
    fn consumed(&self) -> u64 {
        self.input().consumed()
    }
}

/// Checks a decoded member against its declared size and CRC-32 when they are known; never
/// reads past the declared size (a member that lies about its size is cut there and reported).
struct Checked<D> {
    inner: D,
    crc: crc32fast::Hasher,
    out: u64,
    /// Declared size and CRC-32 (unknown for a streamed member with a data descriptor).
    expect: Option<(u64, u32)>,
}

impl<D> Checked<D> {
    fn new(inner: D, expect: Option<(u64, u32)>) -> Checked<D> {
        Checked { inner, crc: crc32fast::Hasher::new(), out: 0, expect }
    }
}

impl<D: Decode> Read for Checked<D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let Some((size, crc)) = self.expect else {
            let n = self.inner.read(buf)?;
            self.out += n as u64;
            self.crc.update(&buf[..n]);
            return Ok(n);
        };
        let room = size - self.out;
        // One byte more than declared is enough to tell a lie.
        let want = buf.len().min(usize::try_from(room.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > room {
            return Err(io::Error::other(format!("member inflates past its declared {size} bytes")));
        }
        self.out += n as u64;
        self.crc.update(&buf[..n]);
        if n == 0 {
            if self.out != size {
                return Err(io::Error::other(format!("member inflates to {} bytes, its header says {size}", self.out)));
            }
            let got = self.crc.clone().finalize();
            if got != crc {
                return Err(io::Error::other(format!("crc mismatch: {got:08x}, header says {crc:08x}")));
            }
        }
        Ok(n)
    }
}

impl<D: Decode> Decode for Checked<D> {
    fn consumed(&self) -> u64 {
        self.inner.consumed()
    }
}

/// The next `remaining` bytes of a stream, as a decoder's input.
struct Limited<'a, 'b> {
    inner: &'a mut CountingInput<'b>,
    remaining: u64,
    used: u64,
}

impl Read for Limited<'_, '_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.fill_buf()?.read(out)?;
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Limited<'_, '_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let buf = self.inner.fill_buf()?;
        let n = buf.len().min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        Ok(&buf[..n])
    }
    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt);
        self.remaining -= amt as u64;
        self.used += amt as u64;
    }
}

impl Consumed for Limited<'_, '_> {
    fn consumed(&self) -> u64 {
        self.used
    }
}

/// Reads a zip front to back by its local headers: for a zip that cannot be read through its
/// central directory, because it was cut short (no end record) or because it arrives as a
/// stream too large to buffer. Members with a data descriptor are found by decoding to the end
/// of their compressed stream; the walk ends at the central directory.
pub(super) fn expand_stream(s: &Session, chain: &Chain, input: &mut dyn Read, level: usize, visitor: &mut dyn Visitor) {
    let id = s.open_stream();
    let mut input = CountingInput::new(input);
    walk_local(s, id, chain, &mut input, level, visitor);
    let _ = s.close(id, chain, Ok(()), visitor);
}

fn walk_local(
    s: &Session,
    id: StreamId,
    chain: &Chain,
    input: &mut CountingInput<'_>,
    level: usize,
    visitor: &mut dyn Visitor,
) {
    let fail = |message: String| {
        s.fail(Some(id), FaultKind::Error, message);
    };
    loop {
        if s.faulted() {
            return;
        }
        let at = input.consumed();
        let mut head = [0u8; 30];
        let n = match read_full(input, &mut head) {
            Ok(n) => n,
            Err(e) => return stream_error(s, id, &e, at),
        };
        if n == 0 || (n >= 4 && [CENTRAL, EOCD, EOCD64].contains(&&head[..4].try_into().expect("4 bytes"))) {
            return; // the central directory: every member has been read
        }
        if n < 30 || &head[..4] != LOCAL {
            return fail(format!("zip: no local header at byte {at} (truncated or not a zip)"));
        }
        let field16 = |at: usize| u16::from_le_bytes([head[at], head[at + 1]]);
        let field32 = |at: usize| u32::from_le_bytes(head[at..at + 4].try_into().expect("4 bytes"));
        let (flags, method, crc) = (field16(6), field16(8), field32(14));
        let (mut csize, mut usize) = (u64::from(field32(18)), u64::from(field32(22)));
        let mut name = vec![0u8; usize::from(field16(26))];
        let mut extra = vec![0u8; usize::from(field16(28))];
        match (read_full(input, &mut name), read_full(input, &mut extra)) {
            (Ok(a), Ok(b)) if a == name.len() && b == extra.len() => {}
            (Err(e), _) | (_, Err(e)) => return stream_error(s, id, &e, at),
            _ => return fail(format!("zip: truncated local header at byte {at}")),
        }
        let zip64 = zip64_local(&extra, &mut usize, &mut csize);
        if !s.count_entry(chain, visitor) {
            return;
        }
        let descriptor = flags & 8 != 0;
        let child = chain.child(name);
        let encrypted = flags & 1 != 0 || method == 99;
        if descriptor && (encrypted || method == 0) {
            // Nothing says where such a member ends.
            if encrypted {
                visitor.skipped(&child, SkipReason::Encrypted, "encrypted zip member");
            }
            return fail(format!("zip: member at byte {at} has no size in its local header; the rest is not read"));
        }
        if encrypted || (child.leaf_name().ends_with(b"/") && usize == 0) {
            if encrypted {
                visitor.skipped(&child, SkipReason::Encrypted, "encrypted zip member");
            }
            match skip(input, csize) {
                Ok(n) if n == csize => continue,
                Ok(_) => return fail(format!("zip: truncated member data at byte {}", input.consumed())),
                Err(e) => return stream_error(s, id, &e, at),
            }
        }
        let limited = Limited { inner: &mut *input, remaining: if descriptor { u64::MAX } else { csize }, used: 0 };
        let Some(inflate) = Inflate::new(method, limited) else {
            visitor.error(&child, &archive_error(format!("zip: unsupported compression method {method}")));
            if descriptor {
                return fail(format!("zip: member at byte {at} cannot be passed over; the rest is not read"));
            }
            match skip(input, csize) {
                Ok(n) if n == csize => continue,
                Ok(_) => return fail(format!("zip: truncated member data at byte {}", input.consumed())),
                Err(e) => return stream_error(s, id, &e, at),
            }
        };
        let member_id = s.open_stream();
        let expect = (!descriptor).then_some((usize, crc));
        let mut guard = Guard::new(s, member_id, "zip", Checked::new(inflate, expect));
        visitor.member(&child);
        let r = s.unit(&child, Content::Reader(&mut guard), level, false, visitor);
        let r = guard.drain(r);
        let finished = !s.faulted();
        let (out, got_crc) = (guard.inner.out, guard.inner.crc.clone().finalize());
        let left = guard.inner.inner.input().remaining;
        drop(guard);
        let r = s.close(member_id, &child, r, visitor);
        if s.settle(&child, r, visitor) == Flow::Stop || (descriptor && !finished) {
            return;
        }
        if !descriptor {
            match skip(input, left) {
                Ok(n) if n == left => continue,
                Ok(_) => return fail(format!("zip: truncated member data at byte {}", input.consumed())),
                Err(e) => return stream_error(s, id, &e, at),
            }
        }
        // The data descriptor: an optional signature, the CRC-32, then both sizes.
        let mut desc = [0u8; 24];
        let want = if zip64 { 20 } else { 12 };
        let n = match read_full(input, &mut desc[..4]) {
            Ok(n) => n,
            Err(e) => return stream_error(s, id, &e, at),
        };
        let sig = n == 4 && &desc[..4] == b"PK\x07\x08";
        let more = if sig { want } else { want - 4 };
        match read_full(input, &mut desc[4..4 + more]) {
            Ok(k) if n == 4 && k == more => {}
            Ok(_) => return fail(format!("zip: truncated data descriptor after the member at byte {at}")),
            Err(e) => return stream_error(s, id, &e, at),
        }
        let (want_crc, want_size) = if sig {
            (u32_at(&desc, 4), if zip64 { u64_at(&desc, 16) } else { u32_at(&desc, 12).map(u64::from) })
        } else {
            (u32_at(&desc, 0), if zip64 { u64_at(&desc, 12) } else { u32_at(&desc, 8).map(u64::from) })
        };
        if want_crc != Some(got_crc) || want_size != Some(out) {
            let message = format!("zip: member does not match its data descriptor ({out} bytes, crc {got_crc:08x})");
            visitor.error(&child, &archive_error(message));
        }
    }
}

/// zip64 sizes in a local header's extra field (usize, then csize, each only when saturated).
fn zip64_local(extra: &[u8], usize: &mut u64, csize: &mut u64) -> bool {
    let mut rest = extra;
    while rest.len() >= 4 {
        let id = u16::from_le_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
        let Some(body) = rest.get(4..4 + len) else { return false };
        if id == 1 {
            let mut at = 0;
            for field in [usize, csize] {
                if *field == 0xffff_ffff
                    && let Some(v) = u64_at(body, at)
                {
                    *field = v;
                    at += 8;
                }
            }
            return true;
        }
        rest = &rest[4 + len..];
    }
    false
}

fn stream_error(s: &Session, id: StreamId, e: &io::Error, at: u64) {
    if !s.faulted() {
        s.fail(Some(id), FaultKind::Error, format!("zip: read error after byte {at}: {}", crate::error::io_message(e)));
    }
}

fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
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

fn skip(input: &mut impl Read, n: u64) -> io::Result<u64> {
    io::copy(&mut input.take(n), &mut io::sink())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_end_record_is_an_error() {
        assert!(Directory::read(b"PK\x03\x04 and nothing else").is_err());
        assert!(Directory::read(b"").is_err());
    }

    #[test]
    fn empty_archive() {
        let mut d = Vec::from(&EOCD[..]);
        d.extend([0u8; 18]);
        let dir = Directory::read(&d).unwrap();
        assert!(dir.entries.is_empty());
        assert!(dir.problem.is_none());
    }

    #[test]
    fn entry_count_that_cannot_fit_is_a_lie() {
        let mut d = Vec::from(&EOCD[..]);
        d.extend([0, 0, 0, 0, 100, 0, 100, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let err = Directory::read(&d).err().unwrap();
        assert!(err.contains("central directory lies"), "{err}");
        let mut short = Vec::from(&EOCD[..]);
        short.extend([0, 0, 0, 0, 100, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let dir = Directory::read(&short).unwrap();
        assert!(dir.entries.is_empty());
        assert!(dir.problem.unwrap().contains("entry 1 of 100"));
    }
}
