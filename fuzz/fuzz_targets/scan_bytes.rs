//! The engine on arbitrary bytes, with the builtin rules: no panic, the prefiltered scan equals
//! the naive all-regex oracle, and scanning the same bytes as a stream of overlapping windows
//! (as large files and archive members are scanned) reports exactly the same findings.
#![no_main]

use std::sync::{Mutex, OnceLock};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sluicebox::engine::{Engine, Finding, Scratch};
use sluicebox::input::window::{self, OVERLAP};
use sluicebox::rules::RuleSet;

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

/// One scratch for the whole run, as a worker keeps one across files (its regex caches are
/// costly to build, and reusing them must not change results).
fn scratch() -> std::sync::MutexGuard<'static, Scratch> {
    static SCRATCH: OnceLock<Mutex<Scratch>> = OnceLock::new();
    SCRATCH.get_or_init(|| Mutex::new(engine().scratch())).lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
    let mut guard = scratch();
    let scratch = &mut *guard;

    let mut fast: Vec<Finding> = Vec::new();
    engine.scan(data, scratch, &mut fast);
    for f in &fast {
        assert!(f.span.start <= f.secret.start && f.secret.end <= f.span.end && f.span.end <= data.len());
    }
    let mut naive: Vec<Finding> = Vec::new();
    engine.scan_naive(data, scratch, &mut naive);
    assert_eq!(fast, naive, "prefiltered scan differs from the naive oracle");

    let window = OVERLAP + 1 + usize::from(input.window_extra);
    let chunk = if input.read_chunk == 0 { usize::MAX } else { usize::from(input.read_chunk) };
    let mut reader = Chunked { data, chunk };
    let mut buf = Vec::new();
    let mut streamed: Vec<Finding> = Vec::new();
    let mut found = Vec::new();
    let n = window::for_each_window(&mut reader, &mut buf, window, |w| {
        let base = w.lines.offset() as usize;
        found.clear();
        engine.scan(w.bytes, scratch, &mut found);
        for f in found.drain(..) {
            if w.report_end.contains(&f.span.end) {
                let shift = |r: std::ops::Range<usize>| r.start + base..r.end + base;
                streamed.push(Finding { span: shift(f.span), secret: shift(f.secret), ..f });
            }
        }
    })
    .expect("in-memory reads do not fail");
    assert_eq!(n, data.len() as u64);
    let key = |f: &Finding| (f.span.start, f.span.end, f.rule);
    let mut whole = fast;
    whole.sort_by_key(key);
    streamed.sort_by_key(key);
    assert_eq!(whole, streamed, "windowed scan differs from the whole-slice scan (window {window})");
});
