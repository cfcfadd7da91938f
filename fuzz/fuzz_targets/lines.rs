//! Line/column mapping (`search::lines`) against a naive byte-by-byte count: whole slices, a
//! tracker advanced across arbitrary split points (as streamed windows do), and `line_around`.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sluicebox::search::lines::{self, LineTracker};

const MAX_INPUT: usize = 1 << 14;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// Offsets at which the tracker drops the front of its buffer (taken modulo the length).
    splits: Vec<u16>,
    /// Offset to look up, modulo the length.
    probe: u16,
    /// Byte budget each side for `line_around`.
    max: u16,
    data: &'a [u8],
}

/// 1-based (line, byte column) of `offset`, counted one byte at a time.
fn naive(data: &[u8], offset: usize) -> (u64, u64) {
    let (mut line, mut col) = (1, 1);
    for &b in &data[..offset] {
        if b == b'\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

fuzz_target!(|input: Input<'_>| {
    let data = &input.data[..input.data.len().min(MAX_INPUT)];
    let len = data.len();
    let probe = if len == 0 { 0 } else { usize::from(input.probe) % len };
    if len > 0 {
        assert_eq!(lines::position(data, probe), naive(data, probe), "offset {probe}");
    }

    // A tracker that drops the front of the buffer at each split, like a streamed window.
    let mut tracker = LineTracker::default();
    let mut buf = data;
    let mut dropped = 0usize;
    let mut splits: Vec<usize> = input.splits.iter().map(|&s| usize::from(s) % (len + 1)).collect();
    splits.sort_unstable();
    for split in splits {
        let by = split.saturating_sub(dropped);
        tracker.advance(buf, by);
        buf = &buf[by..];
        dropped += by;
        assert_eq!(tracker.offset(), dropped as u64);
        for rel in [0, buf.len() / 2, buf.len().saturating_sub(1)] {
            if rel < buf.len() {
                assert_eq!(tracker.position(buf, rel), naive(data, dropped + rel), "split {dropped} rel {rel}");
            }
        }
    }

    if len > 0 {
        let max = usize::from(input.max);
        let line = lines::line_around(data, probe, max);
        assert!(!line.contains(&b'\n'), "line_around spans a newline");
        assert!(line.len() <= 2 * max, "line_around longer than its budget");
        // The returned slice lies inside `data` and around the probe.
        let start = line.as_ptr() as usize - data.as_ptr() as usize;
        assert!(start <= probe && probe <= start + line.len());
    }
});
