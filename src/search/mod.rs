//! The searcher (issue 14): the one place where a unit's bytes become located findings. It owns
//! the read strategy (a whole slice, or a stream in overlapping [`window`]s), UTF-16 decoding of
//! slices ([`utf16`]), the window-boundary rule (a match is reported by one window only, with its
//! offsets shifted to the unit), incremental line and column ([`lines`]) and inline allows
//! ([`allow`]), and pushes each located finding into a [`Sink`]. The scan worker, the checks'
//! nested scans, the fuzz target, the regression replay and the benches all search through it,
//! as ripgrep's `Searcher` sits between its `Matcher` and its `Sink`.
//!
//! The [`Engine`] below it sees only byte slices; what is done with a located finding (records,
//! context labels, config allow lists) is the sink's business.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod allow;
pub mod lines;
pub mod utf16;
pub mod window;

use std::io::{self, Read};
use std::ops::{Range, RangeInclusive};

use crate::engine::{Engine, Finding, Scratch};
use lines::LineTracker;

/// A finding located in its unit, handed to a [`Sink`].
#[derive(Debug)]
pub struct Located<'a> {
    /// The engine's finding; its offsets index `haystack`.
    pub finding: &'a Finding,
    /// The bytes searched: the whole slice, the current window, or decoded UTF-16 text.
    pub haystack: &'a [u8],
    /// Offset of `haystack[0]` in the searched text (non-zero in the later windows of a stream).
    pub base: u64,
    /// 1-based line.
    pub line: u64,
    /// 1-based byte column.
    pub column: u64,
}

impl Located<'_> {
    /// The secret's bytes.
    pub fn secret(&self) -> &[u8] {
        &self.haystack[self.finding.secret.clone()]
    }

    /// The finding with its offsets shifted from the haystack to the searched text.
    pub fn absolute(&self) -> Finding {
        let base = self.base as usize;
        let shift = |r: &Range<usize>| r.start + base..r.end + base;
        Finding { span: shift(&self.finding.span), secret: shift(&self.finding.secret), ..self.finding.clone() }
    }
}

/// Receives located findings from a [`Searcher`] (one dynamic call per finding, never per byte).
pub trait Sink {
    /// One located finding, inline allows already applied.
    fn found(&mut self, found: Located<'_>);
}

/// A sink that keeps `(finding with absolute offsets, line, column)`: for tests, fuzz targets
/// and benches.
impl Sink for Vec<(Finding, u64, u64)> {
    fn found(&mut self, found: Located<'_>) {
        self.push((found.absolute(), found.line, found.column));
    }
}

/// Searches units with one engine; owns the per-thread scratch and the stream buffer, so one
/// searcher per thread, reused across units.
#[derive(Debug)]
pub struct Searcher<'e> {
    engine: &'e Engine,
    scratch: Scratch,
    found: Vec<Finding>,
    /// New bytes per stream window (more than [`window::OVERLAP`]).
    window: usize,
    window_buf: Vec<u8>,
}

impl<'e> Searcher<'e> {
    /// A searcher reading streams in windows of `window` new bytes ([`window::WINDOW`] unless a
    /// test wants them small). Panics when `window` is not larger than [`window::OVERLAP`].
    pub fn new(engine: &'e Engine, window: usize) -> Searcher<'e> {
        assert!(window > window::OVERLAP, "window must be larger than the overlap");
        Searcher { engine, scratch: engine.scratch(), found: Vec::new(), window, window_buf: Vec::new() }
    }

    /// Changes the stream window (same bound as [`Searcher::new`]).
    pub fn set_window(&mut self, window: usize) {
        assert!(window > window::OVERLAP, "window must be larger than the overlap");
        self.window = window;
        self.window_buf = Vec::new();
    }

    /// The engine searched with.
    pub fn engine(&self) -> &'e Engine {
        self.engine
    }

    /// Drops state a panic may have left half-updated (the scratch of an interrupted scan).
    pub fn reset(&mut self) {
        self.scratch = self.engine.scratch();
        self.found.clear();
    }

    /// Searches a whole unit in memory. UTF-16 text with a byte-order mark is searched decoded
    /// instead of raw; UTF-16-looking text without one is searched decoded and raw.
    pub fn slice(&mut self, bytes: &[u8], sink: &mut dyn Sink) {
        if let Some(text) = utf16::guess(bytes) {
            self.whole(&text, sink);
        }
        match utf16::decode_bom(bytes) {
            Some(text) => self.whole(&text, sink),
            None => self.whole(bytes, sink),
        }
    }

    /// Searches a stream to its end in overlapping windows (memory bounded by the window, not
    /// the stream). Returns the bytes read; a read error still reports what was read before it.
    pub fn stream(&mut self, reader: &mut dyn Read, sink: &mut dyn Sink) -> io::Result<u64> {
        let mut buf = std::mem::take(&mut self.window_buf);
        let (engine, scratch, found) = (self.engine, &mut self.scratch, &mut self.found);
        let result = window::for_each_window(reader, &mut buf, self.window, |w| {
            engine.scan(w.bytes, scratch, found);
            locate(engine, found, w.bytes, w.lines, Some(&w.report_end), sink);
        });
        // Keep the buffer for the next stream unless a long read-ahead grew it.
        if buf.capacity() <= 4 * self.window {
            self.window_buf = buf;
        }
        result
    }

    fn whole(&mut self, bytes: &[u8], sink: &mut dyn Sink) {
        self.engine.scan(bytes, &mut self.scratch, &mut self.found);
        locate(self.engine, &mut self.found, bytes, &LineTracker::default(), None, sink);
    }
}

/// Hands the engine's findings in `bytes` to `sink`, located: those ending in `report_end` (all
/// when `None`), without the ones an inline allow covers.
fn locate(
    engine: &Engine,
    found: &mut Vec<Finding>,
    bytes: &[u8],
    lines: &LineTracker,
    report_end: Option<&RangeInclusive<usize>>,
    sink: &mut dyn Sink,
) {
    let rules = engine.rules();
    // Findings come grouped by rule, in offset order within a rule: one newline count per rule,
    // not one per finding (a file with 10,000 findings stays linear, issue 14).
    let mut cursor = (0, 0);
    for f in found.drain(..) {
        if report_end.is_some_and(|r| !r.contains(&f.span.end))
            || allow::allowed_inline(bytes, f.span.start, &rules.get(f.rule).id)
        {
            continue;
        }
        let (line, column) = lines.position_from(bytes, f.span.start, &mut cursor);
        sink.found(Located { finding: &f, haystack: bytes, base: lines.offset(), line, column });
    }
}
