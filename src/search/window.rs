//! Scanning a stream in overlapping windows, so a member of any size uses the same memory and a
//! match spanning a window boundary is still found exactly once.
//!
//! Each window is `WINDOW` bytes of new data plus the `OVERLAP` bytes before it. A match is
//! reported by the first window in which it ends at least `MARGIN` bytes before the window end
//! (or in the last window), and never again: the next window starts `OVERLAP` = 2 × `MARGIN`
//! before the end, so it still sees every deferred match whole. `MARGIN` is the longest match
//! (`MAX_MATCH`) plus the line context the searcher reads each side of a finding
//! ([`allow::LINE_REACH`]), so an inline allow is judged on the same bytes as in a whole slice.

use std::io::{self, Read};

use super::allow;
use super::lines::LineTracker;
use crate::rules::bounds::MAX_MATCH;

/// New bytes per window.
pub const WINDOW: usize = 1 << 20;
/// A match must end this far before a window's end to be reported by it (unless it is the last).
pub const MARGIN: usize = MAX_MATCH + allow::LINE_REACH;
/// Bytes carried over from one window to the next.
pub const OVERLAP: usize = 2 * MARGIN;

/// One window handed to the callback.
pub struct Window<'a> {
    /// The window's bytes.
    pub bytes: &'a [u8],
    /// Line position of the window start (use `lines.position(bytes, rel)`).
    pub lines: &'a LineTracker,
    /// Report only matches whose end offset (relative to `bytes`) is in this range.
    pub report_end: std::ops::RangeInclusive<usize>,
}

/// Reads `reader` to the end in windows of `window` new bytes, calling `each` for every window.
/// `buf` is reused across calls. Returns the number of bytes read.
pub fn for_each_window(
    reader: &mut dyn Read,
    buf: &mut Vec<u8>,
    window: usize,
    mut each: impl FnMut(Window<'_>),
) -> io::Result<u64> {
    assert!(window > OVERLAP, "window must be larger than the overlap");
    buf.clear();
    let mut lines = LineTracker::default();
    // Matches ending at or before this offset (relative to `buf`) were already reported.
    let mut reported_to = 0usize;
    loop {
        let target = window + buf.len();
        // A read error ends the stream, but what was read before it is still scanned.
        let (eof, err) = match fill(reader, buf, target) {
            Ok(eof) => (eof, None),
            Err(e) => (true, Some(e)),
        };
        let len = buf.len();
        let hi = if eof { len } else { len - MARGIN };
        if hi > reported_to {
            each(Window { bytes: buf, lines: &lines, report_end: reported_to + 1..=hi });
        }
        if eof {
            return match err {
                Some(e) => Err(e),
                None => Ok(lines.offset() + len as u64),
            };
        }
        let drop = len - OVERLAP;
        lines.advance(buf, drop);
        buf.drain(..drop);
        reported_to = hi - drop;
    }
}

/// Reads until `buf` holds `target` bytes or the reader ends; true at end of stream.
fn fill(reader: &mut dyn Read, buf: &mut Vec<u8>, target: usize) -> io::Result<bool> {
    let mut start = buf.len();
    buf.resize(target, 0);
    while start < target {
        match reader.read(&mut buf[start..]) {
            Ok(0) => {
                buf.truncate(start);
                return Ok(true);
            }
            Ok(n) => start += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    }
    Ok(false)
}
