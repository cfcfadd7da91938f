//! Replays the fuzzers' findings: every file in `corpus/fuzz/<target>/` goes through the same
//! property its fuzz target checks (`fuzz/fuzz_targets/<target>.rs`), so a crash or hang found
//! once stays fixed. Add a finding with `cp fuzz/artifacts/<target>/crash-* corpus/fuzz/<target>/`.
//!
//! The targets decode their input with `arbitrary` 1.x; [`Fields`] reads the same layout: fixed
//! size fields from the front, little-endian, zero-filled once the input runs out, and the last
//! byte-slice field takes the rest.

use std::io::{self, Read};
use std::path::Path;

use sluicebox::engine::{Engine, Finding, check};
use sluicebox::input::archive::Expander;
use sluicebox::input::{Chain, Content, Limits, SkipReason, Visitor};
use sluicebox::rules::RuleSet;
use sluicebox::search::lines::{self, LineTracker};
use sluicebox::search::window::OVERLAP;
use sluicebox::search::{Searcher, utf16};
use sluicebox::{Error, checks::sourcemap};

use crate::util::{self, Chunked};

/// `(file name, bytes)` of every reproducer for `target`, sorted.
fn reproducers(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = util::root().join("corpus/fuzz").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

/// `arbitrary`'s byte layout for the targets' input structs.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }
    fn rest(self) -> &'a [u8] {
        self.0
    }
}

/// `fuzz_targets/scan_bytes.rs`: prefiltered == naive, searched as a stream == as a slice.
fn scan_bytes(engine: &Engine, input: &[u8]) {
    let mut f = Fields(input);
    let window = OVERLAP + 1 + usize::from(f.u16());
    let chunk = match f.u8() {
        0 => usize::MAX,
        c => usize::from(c),
    };
    let rest = f.rest();
    let data = &rest[..rest.len().min(1 << 16)];
    let mut scratch = engine.scratch();
    let mut fast = Vec::new();
    engine.scan(data, &mut scratch, &mut fast);
    let mut naive = Vec::new();
    engine.scan_naive(data, &mut scratch, &mut naive);
    assert_eq!(fast, naive, "prefiltered scan differs from the naive oracle");
    if utf16::is_utf16(data) {
        return;
    }
    let mut searcher = Searcher::new(engine, window);
    let (mut whole, mut streamed) = (Vec::new(), Vec::new());
    searcher.slice(data, &mut whole);
    let n = searcher.stream(&mut Chunked { data, chunk }, &mut streamed).unwrap();
    assert_eq!(n, data.len() as u64);
    let key = |f: &(Finding, u64, u64)| (f.0.span.start, f.0.span.end, f.0.rule);
    whole.sort_by_key(key);
    streamed.sort_by_key(key);
    assert_eq!(whole, streamed, "windowed search differs from the whole-slice search (window {window})");
}

/// Drains every leaf an expansion hands over.
#[derive(Default)]
struct Drain {
    leaf_bytes: u64,
}

impl Visitor for Drain {
    fn leaf(&mut self, _chain: &Chain, content: Content<'_>) -> Result<(), Error> {
        self.leaf_bytes += match content {
            Content::Bytes(b) => b.len() as u64,
            Content::Reader(r) => io::copy(&mut r.take(64 << 20), &mut io::sink()).unwrap_or(0),
        };
        Ok(())
    }
    fn skipped(&mut self, _chain: &Chain, _reason: SkipReason, _detail: &str) {}
    fn error(&mut self, chain: &Chain, error: &Error) {
        assert!(!error.message().is_empty(), "empty error message at {chain}");
    }
}

/// `fuzz_targets/archive_open.rs`: expansion under arbitrary limits ends, within its budget.
fn archive_open(input: &[u8]) {
    const MAX_EXPANDED: u64 = 8 << 20;
    let mut f = Fields(input);
    let limits = Limits {
        max_depth: usize::from(f.u8() % 12),
        max_archive_bytes: MAX_EXPANDED,
        max_ratio: u64::from(f.u16() % 2048) + 1,
        max_entries: u64::from(f.u16() % 4096) + 1,
    };
    let stream = f.bool();
    let chunk = match f.u8() {
        0 => usize::MAX,
        c => usize::from(c),
    };
    let rest = f.rest();
    let data = &rest[..rest.len().min(1 << 16)];
    let expander = Expander { limits, enabled: true };
    let mut drain = Drain::default();
    let chain = Chain::file("fuzz.bin");
    let _ = if stream {
        expander.process(&chain, Content::Reader(&mut Chunked { data, chunk }), &mut drain)
    } else {
        expander.process(&chain, Content::Bytes(data), &mut drain)
    };
    assert!(drain.leaf_bytes <= MAX_EXPANDED + data.len() as u64, "{} leaf bytes", drain.leaf_bytes);
}

/// `fuzz_targets/rule_parse.rs`: parsing and compiling never panic; errors name what is at fault.
fn rule_parse(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else { return };
    let mut set = RuleSet::default();
    if let Err(e) = set.add_toml("fuzz.toml", text) {
        assert!(e.message().starts_with("fuzz.toml: "), "{e}");
        return;
    }
    match Engine::new(set) {
        Ok(engine) => {
            if let Err(e) = engine.compile_all() {
                assert!(e.message().contains("rule '"), "{e}");
                return;
            }
            let _ = check::check(&engine);
            engine.scan(text.as_bytes(), &mut engine.scratch(), &mut Vec::new());
        }
        Err(e) => assert!(e.message().contains("rule '"), "{e}"),
    }
}

/// `fuzz_targets/lines.rs`, with the whole file as text: every offset, and a tracker advanced
/// in steps, agree with a byte-by-byte count.
fn lines_check(data: &[u8]) {
    let mut naive = Vec::with_capacity(data.len());
    let (mut line, mut col) = (1, 1);
    for &b in data {
        naive.push((line, col));
        if b == b'\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    for (off, want) in naive.iter().enumerate() {
        assert_eq!(lines::position(data, off), *want, "offset {off}");
    }
    let mut tracker = LineTracker::default();
    let mut buf = data;
    let step = (data.len() / 7).max(1);
    while buf.len() > step {
        tracker.advance(buf, step);
        buf = &buf[step..];
        let base = tracker.offset() as usize;
        assert_eq!(tracker.position(buf, 0), naive[base], "tracker at {base}");
    }
}

/// `fuzz_targets/sourcemap.rs`: counts agree and decoding only shrinks.
fn sourcemap_check(data: &[u8]) {
    fn sources(json: &[u8]) {
        let (mut count, mut text) = (0, 0);
        let (parsed, _) = sourcemap::for_each_source(json, &mut |_, s| {
            count += 1;
            text += s.len();
        });
        assert_eq!(parsed.sources, count);
        assert!(text <= json.len());
    }
    sources(data);
    for map in sourcemap::inline_maps(data) {
        assert!(map.len() <= data.len());
        sources(&map);
    }
}

/// `fuzz_targets/git_pack.rs`: the pack walk never hands out an object over the cap, and its
/// total is what it handed out.
fn git_pack_check(input: &[u8]) {
    use sluicebox::git::pack::{self, PackLimits};
    let mut f = Fields(input);
    let (objects, object_cap, budget, max_ratio, raw) = (f.u8(), f.u16(), f.u32(), f.u16(), f.bool());
    let data = f.rest();
    let bytes = if raw {
        data.to_vec()
    } else {
        let mut b = b"PACK\0\0\0\x02".to_vec();
        b.extend_from_slice(&u32::from(objects).to_be_bytes());
        b.extend_from_slice(data);
        b.extend_from_slice(&[0; 20]);
        b
    };
    let limits = PackLimits {
        object_cap: usize::from(object_cap).max(1) << 4,
        inflated_budget: u64::from(budget),
        max_ratio: u64::from(max_ratio).max(1),
    };
    let mut total = 0u64;
    let walked = pack::walk(&bytes, limits, |_, _, data| {
        assert!(data.len() <= limits.object_cap, "object over the cap");
        total += data.len() as u64;
    });
    assert_eq!(walked.bytes, total);
}

fn replay(target: &str, check: impl Fn(&[u8])) {
    for (name, bytes) in reproducers(target) {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&bytes)));
        assert!(result.is_ok(), "corpus/fuzz/{target}/{name} fails again");
    }
}

#[test]
fn fuzz_findings_stay_fixed() {
    let engine = util::engine();
    replay("scan_bytes", |b| scan_bytes(engine, b));
    replay("archive_open", archive_open);
    replay("rule_parse", rule_parse);
    replay("lines", lines_check);
    replay("sourcemap", sourcemap_check);
    replay("git_pack", git_pack_check);
}

#[test]
fn every_corpus_directory_is_a_fuzz_target() {
    let targets = util::root().join("fuzz/fuzz_targets");
    for entry in std::fs::read_dir(util::root().join("corpus/fuzz")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(targets.join(format!("{name}.rs")).is_file(), "corpus/fuzz/{name}/ has no fuzz target");
            assert!(Path::new(&path).read_dir().unwrap().next().is_some(), "corpus/fuzz/{name}/ is empty");
        }
    }
}
