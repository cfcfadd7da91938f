//! Offset → 1-based line and byte column, computed on demand (memchr counts) for reported
//! findings only, and carried across the windows of a stream.

/// Tracks the line count of everything before the current buffer of a stream.
#[derive(Clone, Copy, Debug, Default)]
pub struct LineTracker {
    /// Absolute offset of the buffer's first byte.
    offset: u64,
    /// Newlines before the buffer.
    newlines: u64,
    /// Absolute offset of the first byte of the line the buffer starts in.
    line_start: u64,
}

impl LineTracker {
    /// 1-based `(line, column)` of `rel`, an offset into `buf` (the current buffer).
    pub fn position(&self, buf: &[u8], rel: usize) -> (u64, u64) {
        let before = &buf[..rel];
        let n = memchr::memchr_iter(b'\n', before).count() as u64;
        match memchr::memrchr(b'\n', before) {
            Some(nl) => (self.newlines + n + 1, (rel - nl) as u64),
            None => (self.newlines + 1, self.offset + rel as u64 - self.line_start + 1),
        }
    }

    /// [`LineTracker::position`], counting newlines only from `cursor` (an earlier offset in
    /// `buf` and the newlines before it) when `rel` is past it, then moving the cursor to `rel`:
    /// findings in offset order cost one pass over the buffer in all, not one pass each.
    pub fn position_from(&self, buf: &[u8], rel: usize, cursor: &mut (usize, u64)) -> (u64, u64) {
        if rel < cursor.0 {
            *cursor = (0, 0);
        }
        cursor.1 += memchr::memchr_iter(b'\n', &buf[cursor.0..rel]).count() as u64;
        cursor.0 = rel;
        match memchr::memrchr(b'\n', &buf[..rel]) {
            Some(nl) => (self.newlines + cursor.1 + 1, (rel - nl) as u64),
            None => (self.newlines + 1, self.offset + rel as u64 - self.line_start + 1),
        }
    }

    /// Moves the buffer start forward by `by` bytes of `buf`.
    pub fn advance(&mut self, buf: &[u8], by: usize) {
        let consumed = &buf[..by];
        self.newlines += memchr::memchr_iter(b'\n', consumed).count() as u64;
        if let Some(nl) = memchr::memrchr(b'\n', consumed) {
            self.line_start = self.offset + nl as u64 + 1;
        }
        self.offset += by as u64;
    }

    /// Absolute offset of the buffer start.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

/// 1-based `(line, column)` of `offset` in a whole slice.
pub fn position(haystack: &[u8], offset: usize) -> (u64, u64) {
    LineTracker::default().position(haystack, offset)
}

/// The bytes of the line containing `offset` (without the newline), at most `max` bytes each side.
pub fn line_around(haystack: &[u8], offset: usize, max: usize) -> &[u8] {
    let lo = offset.saturating_sub(max);
    let hi = (offset + max).min(haystack.len());
    let start = memchr::memrchr(b'\n', &haystack[lo..offset]).map_or(lo, |i| lo + i + 1);
    let end = memchr::memchr(b'\n', &haystack[offset..hi]).map_or(hi, |i| offset + i);
    &haystack[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        let hay = b"ab\ncd\r\nefg";
        let cases = [(0, (1, 1)), (1, (1, 2)), (3, (2, 1)), (7, (3, 1)), (9, (3, 3))];
        for (off, want) in cases {
            assert_eq!(position(hay, off), want, "offset {off}");
        }
    }

    #[test]
    fn cursor_positions_match_in_any_order() {
        let hay = b"one\ntwo three\n\nfour five six\nseven";
        let t = LineTracker::default();
        let mut cursor = (0, 0);
        let order: Vec<usize> = (0..hay.len()).chain((0..hay.len()).rev()).chain([3, 4, 20, 1, 30]).collect();
        for off in order {
            assert_eq!(t.position_from(hay, off, &mut cursor), position(hay, off), "offset {off}");
        }
    }

    #[test]
    fn tracker_matches_whole_slice() {
        let hay = b"one\ntwo three\n\nfour five six\nseven";
        for split in 0..hay.len() {
            let mut t = LineTracker::default();
            t.advance(hay, split);
            for off in split..hay.len() {
                assert_eq!(t.position(&hay[split..], off - split), position(hay, off), "split {split} off {off}");
            }
        }
    }

    #[test]
    fn line_bounds() {
        assert_eq!(line_around(b"a\nbcd\ne", 3, 100), b"bcd");
        assert_eq!(line_around(b"abcdef", 3, 1), b"cd");
    }
}
