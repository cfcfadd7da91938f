//! The fast path must equal the naive oracle: the prefiltered, windowed engine finds exactly
//! what running every rule's regex over the whole input finds; and every read path (read,
//! mmap, streamed windows of any size) reports identical findings.

use std::fmt::Write as _;

use sluicebox::config::{Config, IoOptions};

use crate::util::{self, Rng};

/// Generated haystacks: rule examples, negatives, tokens and noise glued with random separators.
fn haystack(rng: &mut Rng, pieces: usize) -> Vec<u8> {
    let rules = util::engine().rules();
    let mut samples: Vec<String> = rules
        .rules()
        .iter()
        .flat_map(|r| r.examples.iter().map(|e| e.input().to_string()).chain(r.negative_examples.iter().cloned()))
        .collect();
    samples.push(util::github_token(rng, "ghp_"));
    samples.push(util::npm_token(rng));
    let seps: &[&[u8]] =
        &[b" ", b"\n", b"\r\n", b"\t", b"=", b"\"", b"'", b"\xff\xfe", b"\0", b"", b"\xef\xbb\xbf", b";"];
    let mut out = Vec::new();
    for _ in 0..pieces {
        match rng.below(4) {
            0 => {
                let n = rng.below(40);
                out.extend_from_slice(rng.alnum(n).as_bytes());
            }
            1 => {
                for _ in 0..rng.below(30) {
                    out.push(rng.next() as u8);
                }
            }
            _ => out.extend_from_slice(rng.pick(&samples).as_bytes()),
        }
        out.extend_from_slice(seps[rng.below(seps.len())]);
    }
    out
}

#[test]
fn prefiltered_engine_equals_naive_oracle() {
    let engine = util::engine();
    let mut scratch = engine.scratch();
    let mut total = 0;
    for seed in 0..300 {
        let mut rng = Rng::new(seed);
        let pieces = 1 + rng.below(60);
        let hay = haystack(&mut rng, pieces);
        let (mut fast, mut naive) = (Vec::new(), Vec::new());
        engine.scan(&hay, &mut scratch, &mut fast);
        engine.scan_naive(&hay, &mut scratch, &mut naive);
        let key = |f: &sluicebox::Finding| (f.rule, f.span.start, f.span.end, f.secret.start);
        fast.sort_by_key(key);
        naive.sort_by_key(key);
        assert_eq!(fast, naive, "seed {seed}: {:?}", String::from_utf8_lossy(&hay));
        total += fast.len();
    }
    assert!(total > 100, "the generator should produce findings, got {total}");
}

/// `(rule, location, line, column, secret)`.
type Located = (String, String, Option<u64>, Option<u64>, Vec<u8>);

fn scan_file_with(path: &std::path::Path, io: IoOptions) -> Vec<Located> {
    let config = Config { inputs: vec![path.to_path_buf()], threads: 1, io, ..Config::default() };
    let c = util::scan_with(&config);
    let rules = util::engine().rules();
    let mut v: Vec<_> = c
        .findings()
        .iter()
        .map(|f| (rules.get(f.rule).id.clone(), f.chain.to_string(), f.line, f.column, f.secret.clone()))
        .collect();
    v.sort();
    v
}

const READ: IoOptions = IoOptions { read_max: u64::MAX, map_zip: true, window: 1 << 20 };
const MAP_ZIP: IoOptions = IoOptions { read_max: 0, map_zip: true, window: 1 << 20 };

fn stream(window: usize) -> IoOptions {
    IoOptions { read_max: 0, map_zip: false, window }
}

#[test]
fn read_and_stream_agree() {
    let dir = util::tempdir();
    let mut rng = Rng::new(7);
    let mut text = String::new();
    for i in 0..4000 {
        match rng.below(10) {
            0 => writeln!(text, "TOKEN_{i} = \"{}\"", util::github_token(&mut rng, "ghp_")).unwrap(),
            1 => writeln!(text, "//registry/:_authToken={}", util::npm_token(&mut rng)).unwrap(),
            _ => writeln!(text, "let value_{i} = compute({}, {});", rng.alnum(20), rng.below(1000)).unwrap(),
        }
    }
    let path = dir.path().join("big.js");
    std::fs::write(&path, &text).unwrap();
    let read = scan_file_with(&path, READ);
    assert!(read.len() > 300, "expected many findings, got {}", read.len());
    for window in [5000, 8192, 65536] {
        assert_eq!(read, scan_file_with(&path, stream(window)), "stream window {window} differs from read");
    }
}

#[test]
fn read_mapped_and_inside_archive_agree() {
    use std::io::Write as _;
    let dir = util::tempdir();
    let mut rng = Rng::new(9);
    let mut text = String::new();
    for i in 0..500 {
        if i % 7 == 0 {
            writeln!(text, "k{i} = \"{}\"", util::github_token(&mut rng, "ghp_")).unwrap();
        } else {
            writeln!(text, "filler line {i} {}", rng.alnum(30)).unwrap();
        }
    }
    let plain = dir.path().join("app.py");
    std::fs::write(&plain, &text).unwrap();
    let zip_path = dir.path().join("app.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    z.start_file("pkg/app.py", zip::write::SimpleFileOptions::default()).unwrap();
    z.write_all(text.as_bytes()).unwrap();
    z.finish().unwrap();
    // (rule, line, column, secret): the location differs only by the member chain.
    let strip = |v: Vec<Located>| v.into_iter().map(|(r, _, l, c, s)| (r, l, c, s)).collect::<Vec<_>>();
    let want = strip(scan_file_with(&plain, READ));
    assert!(want.len() > 60, "{}", want.len());
    assert_eq!(want, strip(scan_file_with(&plain, stream(5000))), "streamed");
    assert_eq!(want, strip(scan_file_with(&zip_path, READ)), "zip read whole");
    assert_eq!(want, strip(scan_file_with(&zip_path, MAP_ZIP)), "zip mapped");
    assert_eq!(want, strip(scan_file_with(&zip_path, stream(5000))), "zip streamed (buffered)");
}

#[test]
fn a_secret_split_across_a_window_boundary_is_found_once() {
    let dir = util::tempdir();
    let mut rng = Rng::new(11);
    let window = 8192;
    let token = util::github_token(&mut rng, "ghp_");
    for at in (window - token.len() - 3)..=(window + 3) {
        let mut body = vec![b'x'; at];
        // Newlines so lines and columns are exercised too.
        for i in (100..at).step_by(100) {
            body[i] = b'\n';
        }
        body.push(b' ');
        body.extend_from_slice(token.as_bytes());
        body.extend_from_slice(b" tail\n");
        body.extend(std::iter::repeat_n(b'y', 3 * window));
        let path = dir.path().join(format!("split-{at}.txt"));
        std::fs::write(&path, &body).unwrap();
        let streamed = scan_file_with(&path, stream(window));
        assert_eq!(streamed.len(), 1, "token at {at}: {streamed:?}");
        assert_eq!(streamed, scan_file_with(&path, READ), "token at {at}");
    }
}

#[test]
fn crlf_bom_and_invalid_utf8_around_a_secret() {
    let dir = util::tempdir();
    let mut rng = Rng::new(3);
    let token = util::github_token(&mut rng, "ghp_");
    let cases: Vec<(&str, Vec<u8>, u64, u64)> = vec![
        ("crlf", format!("a\r\nb\r\nkey = {token}\r\n").into_bytes(), 3, 7),
        ("bom", [b"\xef\xbb\xbf".as_slice(), format!("key = {token}\n").as_bytes()].concat(), 1, 10),
        ("latin1", [b"caf\xe9 \xff\xfe\n\xc3(".as_slice(), token.as_bytes(), b"\xff"].concat(), 2, 3),
        ("nul", [b"\0\0\0\n\0".as_slice(), token.as_bytes(), b"\0"].concat(), 2, 2),
    ];
    for (name, bytes, line, column) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let found = scan_file_with(&path, READ);
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert_eq!((found[0].2, found[0].3), (Some(line), Some(column)), "{name}");
        assert_eq!(found[0].4, token.as_bytes(), "{name}");
        assert_eq!(found, scan_file_with(&path, stream(5000)), "{name} streamed");
    }
}

#[test]
fn utf16_text_is_decoded() {
    let dir = util::tempdir();
    let mut rng = Rng::new(5);
    let token = util::github_token(&mut rng, "ghp_");
    let text = format!("first\nkey = '{token}'\n");
    let mut le = vec![0xff, 0xfe];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let mut be = vec![0xfe, 0xff];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    for (name, bytes) in [("le.txt", le), ("be.txt", be)] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let found = scan_file_with(&path, READ);
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert_eq!((found[0].2, found[0].4.clone()), (Some(2), token.clone().into_bytes()), "{name}");
    }
}
