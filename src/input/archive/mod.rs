//! Archive expansion: sniff a unit's magic bytes, and expand archives into child units within
//! [`Limits`], recursively. Each format lives in its own module: bytes or a stream in, child
//! units out. Nothing is written to disk, and member names are never used as paths. Pure
//! compression formats implement one trait (`Codec`: sniff + decoder) and are registered in
//! one list (`CODECS`); the containers (tar, zip) are expanded here.
//!
//! Compressed streams (gzip, zstd, bzip2, xz) and tar members are handed on as streams, decoded on
//! the fly, so a 10 GiB member costs what a small one does. A zip needs random access: a mapped
//! zip is read in place (central directory from the slice, members inflated on demand); a zip
//! arriving as a stream (a `.whl` in a `.tgz`) is buffered up to [`STREAM_BUFFER_MAX`].
//!
//! Everything that can go wrong inside an archive (corrupt data, a budget running out) is
//! raised by the reader that saw it as a [`Fault`] on the per-input [`Session`], so the layers
//! above unwind quickly and the fault is reported once, at the right chain: skips (ratio, size)
//! at the member being read, errors at the archive whose stream broke (issue 4).

mod bzip2;
mod gzip;
mod tar;
mod xz;
mod zip;
mod zstd;

use std::cell::{Cell, RefCell};
use std::io::{self, BufRead, Cursor, Read};

use super::{Chain, Content, Limits, SkipReason, Visitor};
use crate::error::{Error, ErrorKind};

/// Archive and compression formats recognised by magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A pure compression format (registered in `CODECS`): decoded as one stream under the same chain.
    Compressed(Compressor),
    /// POSIX ustar, GNU or v7 tar (`.tar`, `.gem`).
    Tar,
    /// zip family (`.zip`, `.whl`, `.jar`, `.nupkg`, `.apk`, ...).
    Zip,
}

impl Format {
    /// The format's name, as messages use it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Compressed(c) => c.name(),
            Format::Tar => "tar",
            Format::Zip => "zip",
        }
    }
}

/// A pure compression format: sniffed by its magic bytes, decoded as one stream whose output is
/// the same unit (a `.tgz` is one level). A new format is one file implementing this plus one
/// line in `CODECS`; budgets (ratio, expanded bytes), faults and nesting are handled here.
trait Codec: Sync {
    /// The name used in messages (`gzip: invalid deflate block at compressed byte 5120`).
    fn name(&self) -> &'static str;
    /// True when `head` (up to [`SNIFF_LEN`] bytes) starts a stream of this format.
    fn sniff(&self, head: &[u8]) -> bool;
    /// A decoder reading `input`; an error when it cannot even start (a bad header, a memory
    /// limit the stream asks to exceed).
    fn decoder<'a>(&self, input: Input<'a>) -> io::Result<Box<dyn Decode + 'a>>;
}

/// Every compression format, in sniffing order (before zip and tar).
const CODECS: &[&dyn Codec] = &[&gzip::Gzip, &zstd::Zstd, &bzip2::Bzip2, &xz::Xz];

/// One of the registered compression formats.
#[derive(Clone, Copy)]
pub struct Compressor(&'static dyn Codec);

impl Compressor {
    /// The format's name (`gzip`, `zstd`, `bzip2`, `xz`).
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl PartialEq for Compressor {
    fn eq(&self, other: &Compressor) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Compressor {}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Bytes needed to sniff every format (tar's header is one 512-byte block).
pub const SNIFF_LEN: usize = 512;

/// Members up to this size are read whole and scanned as one slice, as small files are; larger
/// ones are scanned as streams in overlapping windows.
pub const SMALL_MEMBER: usize = 256 << 10;

/// A zip arriving as a stream (inside a tarball, or a zip member that is compressed) must be
/// buffered for its central directory: at most this many bytes are buffered at once per
/// top-level input, all nesting levels together, so memory stays bounded per thread.
pub const STREAM_BUFFER_MAX: u64 = 64 << 20;

/// The expanded/compressed ratio is only judged after this many bytes out of one member, so a
/// small, very compressible file is never mistaken for a bomb.
pub const RATIO_MIN_OUT: u64 = 1 << 20;

/// After this many members over the ratio limit, the rest of the top-level input is skipped:
/// a 42.zip-style bomb is not inflated a megabyte at a time, 65,536 times.
pub const MAX_RATIO_TRIPS: u32 = 8;

/// The format of a unit starting with `head`, if it is an archive.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if let Some(codec) = CODECS.iter().find(|c| c.sniff(head)) {
        Some(Format::Compressed(Compressor(*codec)))
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") || head.starts_with(b"PK\x07\x08PK") {
        Some(Format::Zip)
    } else if tar::sniff(head) {
        Some(Format::Tar)
    } else {
        None
    }
}

/// Settings shared by every expansion of one scan.
#[derive(Clone, Copy, Debug)]
pub struct Expander {
    /// Expansion limits.
    pub limits: Limits,
    /// False under `--no-archives`: every unit is a leaf.
    pub enabled: bool,
}

impl Expander {
    /// Sniffs `content` (one top-level input) and either hands it to `visitor` as a leaf or
    /// expands it, recursively, within the limits. Problems inside archives are reported to the
    /// visitor with their chain; the error returned is one the caller should report at `chain`.
    pub fn process(&self, chain: &Chain, content: Content<'_>, visitor: &mut dyn Visitor) -> Result<(), Error> {
        if !self.enabled {
            return visitor.leaf(chain, content);
        }
        if let Content::Bytes(bytes) = content
            && sniff(bytes).is_none()
        {
            // The common case on extracted trees: no session, no allocation.
            return visitor.leaf(chain, content);
        }
        let session = Session::new(self.limits);
        let result = session.unit(chain, content, 0, false, visitor);
        session.finish(chain, result, visitor)
    }
}

/// Identifies one decoding stream within a session, so its fault is cleared by its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StreamId(u32);

/// What a fault does to the scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FaultKind {
    /// A budget ran out: a skip record.
    Skip(SkipReason),
    /// Corrupt or truncated data: an error record.
    Error,
}

/// Something that stopped a stream: raised by the reader that saw it, reported once.
#[derive(Debug)]
struct Fault {
    /// The stream it belongs to; `None` stops the whole top-level input.
    stream: Option<StreamId>,
    kind: FaultKind,
    message: String,
    reported: bool,
}

/// What a container does after one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// Per top-level input state: budgets, the pending fault, and reusable buffers.
struct Session {
    limits: Limits,
    /// Bytes produced by decoders so far (`--max-archive-bytes`).
    expanded: Cell<u64>,
    /// Archive entries seen so far (`Limits::max_entries`).
    entries: Cell<u64>,
    /// Bytes held in stream buffers right now (bounded by [`STREAM_BUFFER_MAX`]).
    buffered: Cell<u64>,
    ratio_trips: Cell<u32>,
    next_stream: Cell<u32>,
    fault: RefCell<Option<Fault>>,
    /// Small-member buffers, one per nesting level in use.
    pool: RefCell<Vec<Vec<u8>>>,
}

impl Session {
    fn new(limits: Limits) -> Session {
        Session {
            limits,
            expanded: Cell::new(0),
            entries: Cell::new(0),
            buffered: Cell::new(0),
            ratio_trips: Cell::new(0),
            next_stream: Cell::new(0),
            fault: RefCell::new(None),
            pool: RefCell::new(Vec::new()),
        }
    }

    /// One unit at nesting `level`: a leaf, or an archive to expand. `decoded` is true for
    /// the output of a compression layer, where a tar is the same archive (`.tgz` is one level).
    fn unit(
        &self,
        chain: &Chain,
        content: Content<'_>,
        level: usize,
        decoded: bool,
        visitor: &mut dyn Visitor,
    ) -> Result<(), Error> {
        match content {
            Content::Bytes(bytes) => match sniff(bytes) {
                None => visitor.leaf(chain, Content::Bytes(bytes)),
                Some(format) => self.expand(format, chain, Content::Bytes(bytes), level, decoded, visitor),
            },
            Content::Reader(reader) => {
                let mut buf = self.pool.borrow_mut().pop().unwrap_or_default();
                let result = self.stream(chain, reader, &mut buf, level, decoded, visitor);
                if buf.capacity() <= 2 * SMALL_MEMBER {
                    self.pool.borrow_mut().push(buf);
                }
                result
            }
        }
    }

    /// A streamed unit: small ones are read whole and handled as bytes (exactly as a small file
    /// is), large ones are sniffed and passed on as a stream.
    fn stream(
        &self,
        chain: &Chain,
        reader: &mut dyn Read,
        buf: &mut Vec<u8>,
        level: usize,
        decoded: bool,
        visitor: &mut dyn Visitor,
    ) -> Result<(), Error> {
        buf.clear();
        let complete = match read_up_to(reader, buf, SMALL_MEMBER + 1) {
            Ok(n) => n <= SMALL_MEMBER,
            Err(e) => {
                // What was read before the failure is still scanned.
                visitor.leaf(chain, Content::Bytes(buf))?;
                return Err(Error::io(&e));
            }
        };
        if complete {
            return self.unit(chain, Content::Bytes(buf), level, decoded, visitor);
        }
        let format = sniff(buf);
        if format == Some(Format::Zip) {
            let Some(level) = self.enter(Format::Zip, chain, level, decoded, visitor) else { return Ok(()) };
            return self.buffered_zip(chain, buf, reader, level, visitor);
        }
        let mut joined = Cursor::new(&buf[..]).chain(reader);
        match format {
            None => visitor.leaf(chain, Content::Reader(&mut joined)),
            Some(format) => self.expand(format, chain, Content::Reader(&mut joined), level, decoded, visitor),
        }
    }

    /// Opens an archive at `level`: the level of its members, or `None` (after a skip record)
    /// when it is nested too deep.
    fn enter(
        &self,
        format: Format,
        chain: &Chain,
        level: usize,
        decoded: bool,
        visitor: &mut dyn Visitor,
    ) -> Option<usize> {
        // A tar straight out of a compression layer is the same archive (`.tgz`, `.tar.zst`).
        if decoded && format == Format::Tar {
            return Some(level);
        }
        if level >= self.limits.max_depth {
            let detail = format!("{} archive nested deeper than --max-depth {}", format.name(), self.limits.max_depth);
            visitor.skipped(chain, SkipReason::TooDeep, &detail);
            return None;
        }
        visitor.archive_opened(chain);
        Some(level + 1)
    }

    fn expand(
        &self,
        format: Format,
        chain: &Chain,
        content: Content<'_>,
        level: usize,
        decoded: bool,
        visitor: &mut dyn Visitor,
    ) -> Result<(), Error> {
        let Some(level) = self.enter(format, chain, level, decoded, visitor) else { return Ok(()) };
        match format {
            Format::Compressed(codec) => {
                let id = self.open_stream();
                let input = match content {
                    Content::Bytes(bytes) => Input::Slice(SliceInput::new(bytes)),
                    Content::Reader(reader) => Input::Stream(CountingInput::new(reader)),
                };
                let result = self.decoded(id, chain, codec.0, input, level, visitor);
                self.close(id, chain, result, visitor)
            }
            Format::Tar => match content {
                Content::Bytes(bytes) => tar::expand(self, chain, &mut &bytes[..], level, visitor),
                Content::Reader(reader) => tar::expand(self, chain, reader, level, visitor),
            },
            Format::Zip => match content {
                Content::Bytes(bytes) => {
                    zip::expand(self, chain, bytes, level, visitor);
                    Ok(())
                }
                Content::Reader(reader) => {
                    let mut buf = Vec::new();
                    self.buffered_zip(chain, &mut buf, reader, level, visitor)
                }
            },
        }
    }

    /// Hands a decoder's output on as one unit (same chain), guarded so its faults are reported
    /// once; a decoder that cannot even start is an error at `chain`.
    fn decoded(
        &self,
        id: StreamId,
        chain: &Chain,
        codec: &dyn Codec,
        input: Input<'_>,
        level: usize,
        visitor: &mut dyn Visitor,
    ) -> Result<(), Error> {
        match codec.decoder(input) {
            Ok(d) => {
                let mut g = Guard::new(self, id, codec.name(), d);
                let r = self.unit(chain, Content::Reader(&mut g), level, true, visitor);
                g.drain(r)
            }
            Err(e) => {
                let what = codec.name();
                visitor.error(chain, &archive_error(format!("{what}: {}", crate::error::io_message(&e))));
                Ok(())
            }
        }
    }

    /// A zip that arrived as a stream: buffer it (`head` holds its first bytes) within
    /// [`STREAM_BUFFER_MAX`], then expand it in place.
    fn buffered_zip(
        &self,
        chain: &Chain,
        head: &mut Vec<u8>,
        rest: &mut dyn Read,
        level: usize,
        visitor: &mut dyn Visitor,
    ) -> Result<(), Error> {
        let room = STREAM_BUFFER_MAX.saturating_sub(self.buffered.get());
        let have = head.len() as u64;
        let limit = room.saturating_sub(have);
        let read = read_up_to(rest, head, (limit + 1).min(usize::MAX as u64) as usize);
        let result = match read {
            Err(e) => {
                // A zip cut short has no central directory: nothing in it can be found.
                return Err(Error::new(ErrorKind::Archive, crate::error::io_message(&e)));
            }
            Ok(n) if n as u64 > limit => {
                // Too big to buffer: read it front to back by its local headers instead.
                zip::expand_stream(self, chain, &mut Cursor::new(&head[..]).chain(rest), level, visitor);
                Ok(())
            }
            Ok(_) => {
                let len = head.len() as u64;
                self.buffered.set(self.buffered.get() + len);
                zip::expand(self, chain, head, level, visitor);
                self.buffered.set(self.buffered.get() - len);
                Ok(())
            }
        };
        if head.capacity() > 2 * SMALL_MEMBER {
            *head = Vec::new();
        }
        result
    }

    /// A member of a container: counts it, expands or scans it, and reports what went wrong at
    /// its chain. `Stop` when the container's own stream (or the whole input) is finished.
    fn member(&self, chain: &Chain, content: Content<'_>, level: usize, visitor: &mut dyn Visitor) -> Flow {
        visitor.member(chain);
        let result = self.unit(chain, content, level, false, visitor);
        self.settle(chain, result, visitor)
    }

    /// After a member: a skip fault is reported at the member; any live fault stops the
    /// container; a plain error is reported at the member.
    fn settle(&self, chain: &Chain, result: Result<(), Error>, visitor: &mut dyn Visitor) -> Flow {
        let mut fault = self.fault.borrow_mut();
        if let Some(f) = fault.as_mut() {
            if !f.reported
                && let FaultKind::Skip(reason) = f.kind
            {
                f.reported = true;
                let message = f.message.clone();
                drop(fault);
                visitor.skipped(chain, reason, &message);
            }
            return Flow::Stop;
        }
        drop(fault);
        if let Err(e) = result {
            visitor.error(chain, &e);
        }
        Flow::Continue
    }

    /// A new stream id.
    fn open_stream(&self) -> StreamId {
        let id = self.next_stream.get();
        self.next_stream.set(id + 1);
        StreamId(id)
    }

    /// The owner of stream `id` is done with it: its fault, if not yet reported, is reported at
    /// `chain`, and cleared. A fault of another stream (or of the input) is left for the layers
    /// above; an error without a fault is returned.
    fn close(
        &self,
        id: StreamId,
        chain: &Chain,
        result: Result<(), Error>,
        visitor: &mut dyn Visitor,
    ) -> Result<(), Error> {
        let mut slot = self.fault.borrow_mut();
        match slot.as_ref() {
            Some(f) if f.stream == Some(id) => {
                let f = slot.take().expect("checked");
                drop(slot);
                if !f.reported {
                    report(visitor, chain, &f);
                }
                Ok(())
            }
            Some(_) => Ok(()),
            None => result,
        }
    }

    /// The end of the top-level input: a fault nobody reported is reported at its chain.
    fn finish(&self, chain: &Chain, result: Result<(), Error>, visitor: &mut dyn Visitor) -> Result<(), Error> {
        match self.fault.borrow_mut().take() {
            Some(f) => {
                if !f.reported {
                    report(visitor, chain, &f);
                }
                Ok(())
            }
            None => result,
        }
    }

    /// Raises a fault (the first one wins) and returns the io error that unwinds the readers.
    fn fail(&self, stream: Option<StreamId>, kind: FaultKind, message: String) -> io::Error {
        let mut slot = self.fault.borrow_mut();
        if slot.is_none() {
            *slot = Some(Fault { stream, kind, message: message.clone(), reported: false });
        }
        io::Error::other(message)
    }

    /// True when a fault is pending: every reader stops and every container unwinds.
    fn faulted(&self) -> bool {
        self.fault.borrow().is_some()
    }

    /// Raises an input-wide fault and reports it at `chain` now (from a container, where no
    /// reader will carry it up).
    fn stop_input(&self, chain: &Chain, reason: SkipReason, message: &str, visitor: &mut dyn Visitor) {
        let mut slot = self.fault.borrow_mut();
        if slot.is_none() {
            let message = message.to_string();
            *slot =
                Some(Fault { stream: None, kind: FaultKind::Skip(reason), message: message.clone(), reported: true });
            drop(slot);
            visitor.skipped(chain, reason, &message);
        }
    }

    /// Counts one archive entry; false (after reporting at `chain`) when over the limit.
    fn count_entry(&self, chain: &Chain, visitor: &mut dyn Visitor) -> bool {
        let n = self.entries.get() + 1;
        self.entries.set(n);
        if n > self.limits.max_entries {
            let message = format!("more than {} archive entries in one input", self.limits.max_entries);
            self.stop_input(chain, SkipReason::SizeLimit, &message, visitor);
            return false;
        }
        true
    }

    /// Counts `n` expanded bytes; an input-wide size fault once over `--max-archive-bytes`.
    fn add_expanded(&self, n: u64) -> io::Result<()> {
        let total = self.expanded.get() + n;
        self.expanded.set(total);
        if total > self.limits.max_archive_bytes {
            let message = format!(
                "expanded more than {} bytes from one input (--max-archive-bytes)",
                self.limits.max_archive_bytes
            );
            return Err(self.fail(None, FaultKind::Skip(SkipReason::SizeLimit), message));
        }
        Ok(())
    }

    /// A member over the ratio limit: its own stream stops, or the whole input after
    /// [`MAX_RATIO_TRIPS`] of them.
    fn ratio_trip(&self, id: StreamId, message: String) -> io::Error {
        let trips = self.ratio_trips.get() + 1;
        self.ratio_trips.set(trips);
        if trips > MAX_RATIO_TRIPS {
            let message = format!(
                "{message}; more than {MAX_RATIO_TRIPS} members over the ratio limit, rest of the input skipped"
            );
            self.fail(None, FaultKind::Skip(SkipReason::RatioLimit), message)
        } else {
            self.fail(Some(id), FaultKind::Skip(SkipReason::RatioLimit), message)
        }
    }
}

fn report(visitor: &mut dyn Visitor, chain: &Chain, f: &Fault) {
    match f.kind {
        FaultKind::Skip(reason) => visitor.skipped(chain, reason, &f.message),
        FaultKind::Error => visitor.error(chain, &archive_error(f.message.clone())),
    }
}

fn archive_error(message: String) -> Error {
    Error::new(ErrorKind::Archive, message)
}

/// Appends up to `limit` bytes of `reader` to `buf`; returns how many. On an error, what was
/// read before it is in `buf`.
fn read_up_to(reader: &mut dyn Read, buf: &mut Vec<u8>, limit: usize) -> io::Result<usize> {
    reader.take(limit as u64).read_to_end(buf)
}

/// A decoder's input that knows how many compressed bytes the decoder has consumed (exactly:
/// counted at `consume`, not at the read-ahead), for the ratio limit and error offsets.
trait Consumed {
    fn consumed(&self) -> u64;
}

/// A decoder that can say how much of its input it has consumed.
trait Decode: Read {
    fn consumed(&self) -> u64;
}

impl<D: Decode + ?Sized> Decode for Box<D> {
    fn consumed(&self) -> u64 {
        (**self).consumed()
    }
}

/// A compressed stream's input: a slice (a file in memory, a mapped zip's member) or a stream.
enum Input<'a> {
    Slice(SliceInput<'a>),
    Stream(CountingInput<'a>),
}

impl Read for Input<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Slice(s) => s.read(buf),
            Input::Stream(s) => s.read(buf),
        }
    }
}

impl BufRead for Input<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Input::Slice(s) => s.fill_buf(),
            Input::Stream(s) => s.fill_buf(),
        }
    }
    fn consume(&mut self, amt: usize) {
        match self {
            Input::Slice(s) => s.consume(amt),
            Input::Stream(s) => s.consume(amt),
        }
    }
}

impl Consumed for Input<'_> {
    fn consumed(&self) -> u64 {
        match self {
            Input::Slice(s) => s.consumed(),
            Input::Stream(s) => s.consumed(),
        }
    }
}

/// A slice as a decoder's input.
struct SliceInput<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> SliceInput<'a> {
    fn new(data: &'a [u8]) -> SliceInput<'a> {
        SliceInput { data, pos: 0 }
    }
}

impl Read for SliceInput<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (&self.data[self.pos..]).read(buf)?;
        self.pos += n;
        Ok(n)
    }
}

impl BufRead for SliceInput<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(&self.data[self.pos..])
    }
    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.data.len());
    }
}

impl Consumed for SliceInput<'_> {
    fn consumed(&self) -> u64 {
        self.pos as u64
    }
}

/// A stream as a decoder's input, buffered.
struct CountingInput<'a> {
    inner: &'a mut dyn Read,
    buf: Box<[u8]>,
    pos: usize,
    cap: usize,
    consumed: u64,
}

impl<'a> CountingInput<'a> {
    fn new(inner: &'a mut dyn Read) -> CountingInput<'a> {
        CountingInput { inner, buf: vec![0; 64 << 10].into_boxed_slice(), pos: 0, cap: 0, consumed: 0 }
    }
}

impl Read for CountingInput<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.fill_buf()?.read(out)?;
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for CountingInput<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.cap {
            self.pos = 0;
            self.cap = 0;
            loop {
                match self.inner.read(&mut self.buf) {
                    Ok(n) => {
                        self.cap = n;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(&self.buf[self.pos..self.cap])
    }
    fn consume(&mut self, amt: usize) {
        let amt = amt.min(self.cap - self.pos);
        self.pos += amt;
        self.consumed += amt as u64;
    }
}

impl Consumed for CountingInput<'_> {
    fn consumed(&self) -> u64 {
        self.consumed
    }
}

/// Wraps a decoder: stops when a fault is pending, counts expanded bytes against the input's
/// budget, judges the member's ratio, and turns decoder errors into a fault of this stream.
struct Guard<'s, D> {
    session: &'s Session,
    id: StreamId,
    what: &'static str,
    inner: D,
    out: u64,
}

impl<'s, D: Decode> Guard<'s, D> {
    fn new(session: &'s Session, id: StreamId, what: &'static str, inner: D) -> Guard<'s, D> {
        Guard { session, id, what, inner, out: 0 }
    }
}

impl<D: Decode> Guard<'_, D> {
    /// After the unit read from this stream is done (a tar ends at its end-of-archive block,
    /// before the gzip trailer): read the stream to its end, unscanned, so a corrupt or
    /// truncated tail and the trailer CRC are still checked. Any failure is this stream's fault.
    fn drain(&mut self, result: Result<(), Error>) -> Result<(), Error> {
        if result.is_ok() && !self.session.faulted() {
            let _ = io::copy(self, &mut io::sink());
        }
        result
    }
}

impl<D: Decode> Read for Guard<'_, D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.session.faulted() {
            return Err(io::Error::other("archive expansion stopped"));
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) if matches!(e.get_ref(), Some(inner) if inner.is::<zstd::OverLimit>()) => {
                let message = e.to_string();
                return Err(self.session.fail(Some(self.id), FaultKind::Skip(SkipReason::SizeLimit), message));
            }
            Err(e) => {
                let message = format!(
                    "{}: {} at compressed byte {}",
                    self.what,
                    crate::error::io_message(&e),
                    self.inner.consumed()
                );
                return Err(self.session.fail(Some(self.id), FaultKind::Error, message));
            }
        };
        self.out += n as u64;
        self.session.add_expanded(n as u64)?;
        let ratio = self.session.limits.max_ratio;
        let consumed = self.inner.consumed().max(1);
        if n > 0 && self.out >= RATIO_MIN_OUT && self.out > ratio.saturating_mul(consumed) {
            let message = format!(
                "{}: expanded/compressed ratio over {ratio} ({} bytes out of {consumed}; --max-ratio)",
                self.what, self.out
            );
            return Err(self.session.ratio_trip(self.id, message));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_magic() {
        let mut tar = vec![0u8; 512];
        tar[..5].copy_from_slice(b"a.txt");
        tar[257..263].copy_from_slice(b"ustar\0");
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"\x1f\x8b\x08\x00", Some("gzip")),
            (b"\x28\xb5\x2f\xfd\x00", Some("zstd")),
            (b"BZh91AY&SY", Some("bzip2")),
            (b"\xfd7zXZ\x00", Some("xz")),
            (b"BZh9x", None),
            (b"PK\x03\x04", Some("zip")),
            (b"PK\x05\x06", Some("zip")),
            (b"PK\x01\x02", None),
            (&tar, Some("tar")),
            (b"plain text", None),
            (b"", None),
        ];
        for &(head, want) in cases {
            assert_eq!(sniff(head).map(Format::name), want, "{:?}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn read_up_to_stops_at_limit() {
        let data = vec![7u8; 300_000];
        let mut buf = Vec::new();
        assert_eq!(read_up_to(&mut &data[..], &mut buf, 1000).unwrap(), 1000);
        assert_eq!(read_up_to(&mut &data[1000..], &mut buf, 1_000_000).unwrap(), 299_000);
        assert_eq!(buf.len(), 300_000);
    }

    #[test]
    fn counting_input_counts_consumed_not_read_ahead() {
        let data = vec![1u8; 100_000];
        let mut src = &data[..];
        let mut input = CountingInput::new(&mut src);
        assert_eq!(input.fill_buf().unwrap().len(), 64 << 10);
        input.consume(10);
        assert_eq!(input.consumed(), 10);
    }
}
