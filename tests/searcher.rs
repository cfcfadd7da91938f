//! The searcher tester (issue 14), after ripgrep's `grep-searcher` `testutil.rs`: every case is
//! searched through every read strategy, and all must give the same located findings (rule,
//! line, column, secret):
//! - one slice ([`Searcher::slice`]);
//! - a stream with the smallest legal window (`OVERLAP + 1`), read a few bytes at a time;
//! - streams whose window boundary (and report boundary, `MARGIN` before it) falls at every
//!   offset around each secret;
//! - the whole scan pipeline on the case as a plain file, as a member of a tgz, of a stored zip
//!   and of a deflated zip, each small (read whole) and over the in-memory thresholds (a
//!   streamed file and member, a mapped zip).

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::Path;

use sluicebox::Finding;
use sluicebox::config::{Config, IoOptions};
use sluicebox::input::archive::SMALL_MEMBER;
use sluicebox::report::Record;
use sluicebox::search::window::{MARGIN, OVERLAP, WINDOW};
use sluicebox::search::{Searcher, utf16};

use crate::util::{self, Chunked, Rng};

/// `(rule id, line, column, secret)`, sorted.
type Locs = Vec<(String, u64, u64, Vec<u8>)>;

/// One test case: bytes and how many findings they hold.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    want: usize,
}

/// Filler lines putting every case's secrets past `OVERLAP`, so window boundaries can fall
/// anywhere around them.
fn prefix() -> Vec<u8> {
    let mut p = String::new();
    let mut i = 0;
    while p.len() < OVERLAP + 2000 {
        writeln!(p, "let filler_{i} = compute({i}, \"plain text without secrets\");").unwrap();
        i += 1;
    }
    p.into_bytes()
}

fn cases() -> Vec<Case> {
    let mut rng = Rng::new(14);
    let mut tok = || util::github_token(&mut rng, "ghp_");
    let (t1, t2, t3, t4) = (tok(), tok(), tok(), tok());
    let npm = util::npm_token(&mut Rng::new(15));
    let mut dense = String::new();
    let mut dense_rng = Rng::new(16);
    for i in 0..200 {
        match i % 3 {
            0 => writeln!(dense, "TOKEN_{i} = \"{}\"", util::github_token(&mut dense_rng, "ghp_")).unwrap(),
            1 => writeln!(dense, "//registry/:_authToken={}", util::npm_token(&mut dense_rng)).unwrap(),
            _ => writeln!(dense, "value_{i} = {}", dense_rng.alnum(40)).unwrap(),
        }
    }
    let long_line = format!("{}{t1}{}\n", "x ".repeat(40_000), " y".repeat(40_000));
    let far_allow = format!("# sluice:allow {}k = {t2}\n", "z ".repeat(1900));
    let cases: Vec<(&str, Vec<u8>, usize)> = vec![
        ("token", format!("key = \"{t1}\"\n").into_bytes(), 1),
        ("crlf", format!("a\r\nb\r\nkey = {t1}\r\n").into_bytes(), 1),
        ("latin1", [b"caf\xe9 \xff\xfe\n\xc3(".as_slice(), t1.as_bytes(), b"\xff"].concat(), 1),
        ("nul", [b"\0\0\0\n\0".as_slice(), t1.as_bytes(), b"\0"].concat(), 1),
        ("utf8-bom-inside", [b"\xef\xbb\xbf".as_slice(), format!("key = {t1}\n").as_bytes()].concat(), 1),
        ("two-rules", format!("a = {t1}\nb = {npm}\nc = {t2}\n").into_bytes(), 3),
        ("allow-bare", format!("a = {t1} # sluice:allow\nb = {t2}\n").into_bytes(), 1),
        (
            "allow-named",
            format!("a = {t1} # sluice:allow github.pat\nb = {t2} // sluice:allow npm.x\n").into_bytes(),
            1,
        ),
        ("allow-far-back", far_allow.into_bytes(), 0),
        ("allow-far-ahead", format!("k = {t3} {}# sluice:allow\n", "w ".repeat(1900)).into_bytes(), 0),
        ("long-line", long_line.into_bytes(), 1),
        ("at-end", format!("last = {t4}").into_bytes(), 1),
        ("dense", dense.into_bytes(), 134),
    ];
    let prefix = prefix();
    cases.into_iter().map(|(name, body, want)| Case { name, bytes: [&prefix[..], &body[..]].concat(), want }).collect()
}

fn locs(data: &[u8], found: &[(Finding, u64, u64)]) -> Locs {
    let rules = util::engine().rules();
    let mut v: Locs = found
        .iter()
        .map(|(f, line, column)| (rules.get(f.rule).id.clone(), *line, *column, data[f.secret.clone()].to_vec()))
        .collect();
    v.sort();
    v
}

fn streamed(searcher: &mut Searcher<'_>, data: &[u8], window: usize, chunk: usize) -> Vec<(Finding, u64, u64)> {
    searcher.set_window(window);
    let mut found = Vec::new();
    let n = searcher.stream(&mut Chunked { data, chunk }, &mut found).unwrap();
    assert_eq!(n, data.len() as u64);
    found
}

/// The searcher's own strategies: slice, smallest window, and windows split around every secret.
fn searcher_strategies(case: &Case) -> Locs {
    let data = &case.bytes[..];
    assert!(!utf16::is_utf16(data), "{}: UTF-16 is searched in slices only", case.name);
    let mut searcher = Searcher::new(util::engine(), WINDOW);
    let mut whole = Vec::new();
    searcher.slice(data, &mut whole);
    let want = locs(data, &whole);
    assert_eq!(
        want.len(),
        case.want,
        "{}: {want:?} in {:?}",
        case.name,
        String::from_utf8_lossy(&data[data.len().saturating_sub(200)..])
    );
    let got = locs(data, &streamed(&mut searcher, data, OVERLAP + 1, 7));
    assert_eq!(got, want, "{}: smallest window", case.name);
    // Around every match the engine finds, inline allows included (at most three per case:
    // each costs ~100 streams).
    let mut matches = Vec::new();
    util::engine().scan(data, &mut util::engine().scratch(), &mut matches);
    for f in matches.iter().take(3) {
        for edge in [f.span.start, f.span.start + MARGIN] {
            for window in edge.saturating_sub(2)..=edge + f.span.len() + 2 {
                if window <= OVERLAP {
                    continue;
                }
                let got = locs(data, &streamed(&mut searcher, data, window, usize::MAX));
                assert_eq!(got, want, "{}: window {window}", case.name);
            }
        }
    }
    want
}

fn tgz(name: &str, data: &[u8]) -> Vec<u8> {
    let mut t = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    t.append_data(&mut h, name, data).unwrap();
    t.into_inner().unwrap().finish().unwrap()
}

fn zip(name: &str, data: &[u8], method: zip::CompressionMethod) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    z.start_file(name, zip::write::SimpleFileOptions::default().compression_method(method)).unwrap();
    z.write_all(data).unwrap();
    z.finish().unwrap().into_inner()
}

/// The pipeline on the case as a plain file and as an archive member; one `Locs` per form.
fn pipeline(dir: &Path, case: &Case, io: IoOptions) -> Vec<(String, Locs)> {
    let data = &case.bytes[..];
    let files = [
        ("plain.txt", data.to_vec()),
        ("member.tgz", tgz("pkg/member.txt", data)),
        ("stored.zip", zip("pkg/member.txt", data, zip::CompressionMethod::Stored)),
        ("deflated.zip", zip("pkg/member.txt", data, zip::CompressionMethod::Deflated)),
    ];
    let mut inputs = Vec::new();
    for (name, bytes) in &files {
        let path = dir.join(format!("{}-{name}", case.name));
        std::fs::write(&path, bytes).unwrap();
        inputs.push(path);
    }
    let config = Config { inputs: inputs.clone(), threads: 1, io, ..Config::default() };
    let c = util::scan_with(&config);
    let other: Vec<_> = c.records.iter().filter(|r| !matches!(r, Record::Finding(_))).collect();
    assert!(other.is_empty(), "{}: {other:?}", case.name);
    let rules = util::engine().rules();
    inputs
        .iter()
        .map(|path| {
            let mut v: Locs = c
                .findings()
                .iter()
                .filter(|f| &f.chain.path == path)
                .map(|f| (rules.get(f.rule).id.clone(), f.line.unwrap(), f.column.unwrap(), f.secret.clone()))
                .collect();
            v.sort();
            (path.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect()
}

#[test]
fn every_case_gives_the_same_findings_through_every_read_strategy() {
    let dir = util::tempdir();
    // Over every in-memory threshold: a member read whole, and (with `read_max: 0`) a file read
    // whole; the zips are then mapped, their members streamed.
    let mut tail = String::new();
    let mut i = 0;
    while tail.len() < SMALL_MEMBER + 64 * 1024 {
        writeln!(tail, "trailing_{i} = \"nothing to see here, only filler\"").unwrap();
        i += 1;
    }
    let streamed_io = IoOptions { read_max: 0, map_zip: true, window: OVERLAP + 1 };
    for small in cases() {
        let large =
            Case { name: small.name, bytes: [&small.bytes[..], b"\n", tail.as_bytes()].concat(), want: small.want };
        for (case, io, size) in [(&small, IoOptions::default(), "small"), (&large, streamed_io, "large")] {
            let want = searcher_strategies(case);
            for (form, got) in pipeline(dir.path(), case, io) {
                assert_eq!(got, want, "{} ({size}) as {form}", case.name);
            }
        }
    }
}

#[test]
fn utf16_text_is_decoded_in_slices_and_small_members() {
    let dir = util::tempdir();
    let token = util::github_token(&mut Rng::new(5), "ghp_");
    let text = format!("first\nkey = '{token}'\n");
    let mut le = vec![0xff, 0xfe];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let mut be = vec![0xfe, 0xff];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    let bare: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    for (name, bytes) in [("le", le), ("be", be), ("bare-le", bare)] {
        let case = Case { name, bytes, want: 1 };
        let mut found = Vec::new();
        Searcher::new(util::engine(), WINDOW).slice(&case.bytes, &mut found);
        assert_eq!(found.len(), 1, "{name}");
        assert_eq!((found[0].1, found[0].2), (2, 8), "{name}: line and column in the decoded text");
        for (form, got) in pipeline(dir.path(), &case, IoOptions::default()) {
            assert_eq!(got, vec![("github.pat".to_string(), 2, 8, token.clone().into_bytes())], "{name} as {form}");
        }
    }
}
