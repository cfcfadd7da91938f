//! The engine on arbitrary bytes, with the builtin rules: no panic, the prefiltered scan equals
//! the naive all-regex oracle, and the searcher reports exactly the same located findings for
//! the bytes as one slice and as a stream of overlapping windows (as large files and archive
//! members are read), whatever the window size and read sizes.
#![no_main]

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sluicebox::engine::{Engine, Finding, Scratch};
use sluicebox::rules::RuleSet;
use sluicebox::search::window::{OVERLAP, WINDOW};
use sluicebox::search::{Searcher, utf16};

/// Inputs above this are cut: bigger ones find nothing new and slow the fuzzer down.
const MAX_INPUT: usize = 1 << 16;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// Window size beyond the minimum (`OVERLAP + 1`), so tiny windows get exercised.
    window_extra: u16,
    /// Largest chunk the reader hands out per `read` call (0: unlimited).
    read_chunk: u8,
    data: &'a [u8],
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(RuleSet::builtin().expect("builtin rules")).expect("engine"))
}

/// One scratch and one searcher for the whole run, as a worker keeps them across files (their
/// regex caches are costly to build, and reusing them must not change results).
fn scratch() -> MutexGuard<'static, Scratch> {
    static SCRATCH: OnceLock<Mutex<Scratch>> = OnceLock::new();
    SCRATCH.get_or_init(|| Mutex::new(engine().scratch())).lock().unwrap_or_else(PoisonError::into_inner)
}

fn searcher() -> MutexGuard<'static, Searcher<'static>> {
    static SEARCHER: OnceLock<Mutex<Searcher<'static>>> = OnceLock::new();
    SEARCHER.get_or_init(|| Mutex::new(Searcher::new(engine(), WINDOW))).lock().unwrap_or_else(PoisonError::into_inner)
}

/// A reader that hands out at most `chunk` bytes per call, like a pipe or a decompressor.
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl std::io::Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.data.len()).min(self.chunk);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|input: Input<'_>| {
    let data = &input.data[..input.data.len().min(MAX_INPUT)];
    let engine = engine();
    let mut fast: Vec<Finding> = Vec::new();
    let mut naive: Vec<Finding> = Vec::new();
    {
        let mut guard = scratch();
        engine.scan(data, &mut guard, &mut fast);
        engine.scan_naive(data, &mut guard, &mut naive);
    }
    for f in &fast {
        assert!(f.span.start <= f.secret.start && f.secret.end <= f.span.end && f.span.end <= data.len());
    }
    assert_eq!(fast, naive, "prefiltered scan differs from the naive oracle");
    if utf16::is_utf16(data) {
        return; // slices decode UTF-16, streams do not (`search::utf16`)
    }
    let window = OVERLAP + 1 + usize::from(input.window_extra);
    let chunk = if input.read_chunk == 0 { usize::MAX } else { usize::from(input.read_chunk) };
    let mut searcher = searcher();
    searcher.set_window(window);
    let (mut whole, mut streamed) = (Vec::new(), Vec::new());
    searcher.slice(data, &mut whole);
    let n = searcher.stream(&mut Chunked { data, chunk }, &mut streamed).expect("in-memory reads do not fail");
    assert_eq!(n, data.len() as u64);
    let key = |f: &(Finding, u64, u64)| (f.0.span.start, f.0.span.end, f.0.rule);
    whole.sort_by_key(key);
    streamed.sort_by_key(key);
    assert_eq!(whole, streamed, "windowed search differs from the whole-slice search (window {window})");
});
