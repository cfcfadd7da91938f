//! The progress line on stderr: files, throughput, archives and findings, redrawn at most ten
//! times a second from the scan's batched counters by the reporter loop, and erased before
//! anything else is printed and at the end. The CLI turns it on only when stderr is a terminal
//! (never when piped, under `--quiet` or `--no-progress`); this module only draws.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::report::human::size;

/// Shortest time between two redraws.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// What the line shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Files read.
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Archives opened.
    pub archives: u64,
    /// Findings reported so far.
    pub findings: u64,
}

/// A progress line drawn on `out` (stderr).
pub struct Progress<W: Write> {
    out: W,
    start: Instant,
    next: Instant,
    drawn: bool,
}

impl<W: Write> Progress<W> {
    /// A progress line; the first tick draws at once (a short scan flashes it, then erases it).
    pub fn new(out: W) -> Self {
        let now = Instant::now();
        Progress { out, start: now, next: now, drawn: false }
    }

    /// Time until the next redraw is due.
    pub fn until_next(&self) -> Duration {
        self.next.saturating_duration_since(Instant::now())
    }

    /// Redraws the line with `snapshot()` when a redraw is due at `now`.
    pub fn tick(&mut self, now: Instant, snapshot: impl FnOnce() -> Snapshot) {
        if now < self.next {
            return;
        }
        self.next = now + INTERVAL;
        let line = render(&snapshot(), now.saturating_duration_since(self.start));
        // One write per frame: `\r`, erase the line, the text (no newline).
        let _ = write!(self.out, "\r\x1b[K{line}");
        let _ = self.out.flush();
        self.drawn = true;
    }

    /// Erases the line if it is showing (before other output and at the end).
    pub fn clear(&mut self) {
        if self.drawn {
            let _ = self.out.write_all(b"\r\x1b[K");
            let _ = self.out.flush();
            self.drawn = false;
        }
    }
}

impl<W: Write> Drop for Progress<W> {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The text of one frame, short enough for an 80-column terminal.
pub fn render(s: &Snapshot, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { s.bytes as f64 / secs } else { 0.0 };
    format!(
        "scanning: {} files, {}/s, {} archives, {} findings, {:.0}s",
        s.files,
        size(rate as u64),
        s.archives,
        s.findings,
        secs.floor()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_at_most_once_per_interval_and_clears() {
        let mut out = Vec::new();
        {
            let mut p = Progress::new(&mut out);
            let t0 = p.start;
            let snap = || Snapshot { files: 3, bytes: 2_000_000, archives: 1, findings: 2 };
            p.tick(t0, snap);
            p.tick(t0 + Duration::from_millis(50), snap); // not due
            p.tick(t0 + Duration::from_millis(100), snap);
            p.clear();
            p.clear(); // nothing showing
        }
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("scanning: 3 files").count(), 2, "{text:?}");
        assert!(text.ends_with("\r\x1b[K"), "{text:?}");
        assert_eq!(text.matches("\r\x1b[K").count(), 3, "{text:?}");
    }

    #[test]
    fn frame_text() {
        let s = Snapshot { files: 10, bytes: 3 << 20, archives: 2, findings: 1 };
        assert_eq!(render(&s, Duration::from_secs(1)), "scanning: 10 files, 3.1 MB/s, 2 archives, 1 findings, 1s");
        assert!(render(&s, Duration::ZERO).contains("0 B/s"));
    }
}
