//! Archive expansion on arbitrary bytes, every format (gzip, zstd, tar, zip, nested): drive
//! `Expander::process` with a visitor that drains every leaf, from a slice and from a stream, under
//! arbitrary limits. No panic, leaves stay within the byte limit, and nothing hangs.
#![no_main]

use std::io::{self, Read};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sluicebox::Error;
use sluicebox::input::archive::Expander;
use sluicebox::input::{Chain, Content, Limits, SkipReason, Visitor};

const MAX_INPUT: usize = 1 << 16;
/// The fuzzer's byte budget per input; the limits below must keep expansion under it.
const MAX_EXPANDED: u64 = 8 << 20;

#[derive(Arbitrary, Debug)]
struct Options {
    max_depth: u8,
    max_ratio: u16,
    max_entries: u16,
    /// Hand the archive over as a stream (large files, stdin) instead of a slice.
    stream: bool,
    /// Largest chunk the stream hands out per `read` call (0: unlimited).
    read_chunk: u8,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    opts: Options,
    data: &'a [u8],
}

/// Drains every leaf and counts what it saw.
#[derive(Default)]
struct Drain {
    leaf_bytes: u64,
    leaves: u64,
    buf: Vec<u8>,
}

impl Visitor for Drain {
    fn leaf(&mut self, chain: &Chain, content: Content<'_>) -> Result<(), Error> {
        assert!(chain.depth() <= 64, "absurd nesting {}", chain.depth());
        self.leaves += 1;
        let n = match content {
            Content::Bytes(b) => b.len() as u64,
            Content::Reader(r) => {
                // Read in bounded pieces: a leaf stream must end on its own (limits), so cap
                // what we take to catch one that never does.
                self.buf.resize(1 << 16, 0);
                let mut n = 0u64;
                loop {
                    match r.read(&mut self.buf) {
                        Ok(0) => break,
                        Ok(k) => n += k as u64,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                    assert!(n <= 4 * MAX_EXPANDED, "a leaf stream ran past every limit");
                }
                n
            }
        };
        self.leaf_bytes += n;
        Ok(())
    }

    fn skipped(&mut self, chain: &Chain, _reason: SkipReason, detail: &str) {
        let _ = (chain.to_string(), detail);
    }

    fn error(&mut self, chain: &Chain, error: &Error) {
        assert!(!error.message().is_empty(), "empty error message at {chain}");
    }
}

/// A reader that hands out at most `chunk` bytes per call.
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.data.len()).min(self.chunk);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|input: Input<'_>| {
    let data = &input.data[..input.data.len().min(MAX_INPUT)];
    let o = &input.opts;
    let limits = Limits {
        max_depth: usize::from(o.max_depth % 12),
        max_archive_bytes: MAX_EXPANDED,
        max_ratio: u64::from(o.max_ratio % 2048) + 1,
        max_entries: u64::from(o.max_entries % 4096) + 1,
    };
    let expander = Expander { limits, enabled: true };
    let chain = Chain::file("fuzz.bin");
    let mut drain = Drain::default();
    let result = if o.stream {
        let chunk = if o.read_chunk == 0 { usize::MAX } else { usize::from(o.read_chunk) };
        let mut reader = Chunked { data, chunk };
        expander.process(&chain, Content::Reader(&mut reader), &mut drain)
    } else {
        expander.process(&chain, Content::Bytes(data), &mut drain)
    };
    if let Err(e) = result {
        assert!(!e.message().is_empty());
    }
    // Leaves never add up to more than the expansion budget (plus the input itself, which
    // is handed over whole when it is not an archive).
    assert!(drain.leaf_bytes <= MAX_EXPANDED + data.len() as u64, "{} leaf bytes", drain.leaf_bytes);
});
