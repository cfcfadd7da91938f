//! Nested archives (issue 4): the same secret gives the same finding in every format and
//! nesting, chains name every level, limits produce skip records, and hostile archives (corrupt,
//! truncated, lying, overlapping, bombs, deep nesting, odd names, links, encryption) produce
//! error or skip records without a panic, a hang or unbounded memory. Every fixture is
//! generated here; the secret is a made-up token for a test-only rule.
#![allow(clippy::many_single_char_names)] // d(ir), p(ath), c(ollected), t(ar), z(ip) in fixtures

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use flate2::Compression;
use flate2::write::GzEncoder;
use sluicebox::config::Config;
use sluicebox::input::{Limits, SkipReason};
use sluicebox::report::{Record, fingerprint};
use sluicebox::rules::RuleSet;
use sluicebox::{Engine, scan};

use crate::util::{self, Collect, Rng};

const RULE: &str = r#"
[[rule]]
id = "archive-test.token"
description = "made-up token for the archive tests"
category = "secret"
severity = "high"
keywords = ["sltk_"]
pattern = '''\b(sltk_[A-Za-z0-9]{32})\b'''
examples = ["key = sltk_0123456789abcdefghijABCDEFGHIJ01"]
negative_examples = ["sltk_short"]
"#;

fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut rules = RuleSet::default();
        rules.add_toml("archive-test.toml", RULE).unwrap();
        Engine::new(rules).unwrap()
    })
}

fn token(seed: u64) -> String {
    format!("sltk_{}", Rng::new(seed).alnum(32))
}

/// A source file with the token on line 7, column 9.
fn source(tok: &str) -> Vec<u8> {
    format!("# config\n\n\n\n\nimport os\nAPI = \"{tok}\"  # line 7\nprint(API)\n").into_bytes()
}

fn scan_with(paths: &[&Path], limits: Limits, archives: bool) -> Collect {
    let config = Config {
        inputs: paths.iter().map(|p| p.to_path_buf()).collect(),
        threads: 2,
        limits,
        archives,
        ..Config::default()
    };
    let mut c = Collect::default();
    scan::run(&config, engine(), &mut c, &AtomicBool::new(false)).unwrap();
    c
}

fn scan(path: &Path) -> Collect {
    scan_with(&[path], Limits::default(), true)
}

/// `path!member!member` relative to `dir`.
fn rel(dir: &Path, chain: &sluicebox::input::Chain) -> String {
    chain.to_string().strip_prefix(&format!("{}/", dir.display())).unwrap_or(&chain.to_string()).to_string()
}

struct Hit {
    at: String,
    line: Option<u64>,
    column: Option<u64>,
    fingerprint: String,
}

fn hits(dir: &Path, c: &Collect) -> Vec<Hit> {
    let rules = engine().rules();
    let mut v: Vec<Hit> = c
        .findings()
        .iter()
        .map(|f| Hit {
            at: rel(dir, &f.chain),
            line: f.line,
            column: f.column,
            fingerprint: fingerprint(&rules.get(f.rule).id, &f.secret),
        })
        .collect();
    v.sort_by(|a, b| a.at.cmp(&b.at));
    v
}

fn errors(dir: &Path, c: &Collect) -> Vec<(String, String)> {
    c.records
        .iter()
        .filter_map(|r| match r {
            Record::Error { chain, message } => Some((rel(dir, chain), message.clone())),
            _ => None,
        })
        .collect()
}

fn skips(dir: &Path, c: &Collect) -> Vec<(String, SkipReason, String)> {
    c.records
        .iter()
        .filter_map(|r| match r {
            Record::Skipped { chain, reason, message } => Some((rel(dir, chain), *reason, message.clone())),
            _ => None,
        })
        .collect()
}

// ---- fixture builders -------------------------------------------------------------------

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A tar written by the `tar` crate (GNU headers, long names as the crate writes them).
fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn tgz(files: &[(&str, &[u8])]) -> Vec<u8> {
    gzip(&tar(files))
}

fn zip(files: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, data) in files {
        w.start_file(*name, options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn deflated(files: &[(&str, &[u8])]) -> Vec<u8> {
    zip(files, zip::CompressionMethod::Deflated)
}

/// A raw ustar entry with any name bytes and type (the tar crate refuses hostile names).
fn raw_tar_entry(name: &[u8], kind: u8, data: &[u8], link: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum: u32 = h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u32::from(b) }).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut v = h.to_vec();
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

fn raw_tar(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut v: Vec<u8> = entries.concat();
    v.extend([0u8; 1024]);
    v
}

/// A raw stored zip: (name bytes, data, general-purpose flags) per member.
fn raw_zip(files: &[(&[u8], &[u8], u16)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data, flags) in files {
        let offset = out.len() as u32;
        let crc = crc32fast::hash(data);
        let n = name.len() as u16;
        let size = data.len() as u32;
        out.extend(b"PK\x03\x04");
        out.extend(20u16.to_le_bytes());
        out.extend(flags.to_le_bytes());
        out.extend(0u16.to_le_bytes()); // stored
        out.extend([0u8; 4]); // time, date
        out.extend(crc.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend(n.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(*name);
        out.extend(*data);
        central.extend(b"PK\x01\x02");
        central.extend(20u16.to_le_bytes());
        central.extend(20u16.to_le_bytes());
        central.extend(flags.to_le_bytes());
        central.extend(0u16.to_le_bytes());
        central.extend([0u8; 4]);
        central.extend(crc.to_le_bytes());
        central.extend(size.to_le_bytes());
        central.extend(size.to_le_bytes());
        central.extend(n.to_le_bytes());
        central.extend([0u8; 12]); // extra, comment, disk, internal attrs, external attrs
        central.extend(offset.to_le_bytes());
        central.extend(*name);
    }
    let cd_offset = out.len() as u32;
    let cd_size = central.len() as u32;
    out.extend(central);
    out.extend(b"PK\x05\x06");
    out.extend([0u8; 4]);
    out.extend((files.len() as u16).to_le_bytes());
    out.extend((files.len() as u16).to_le_bytes());
    out.extend(cd_size.to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

// ---- the same finding everywhere ---------------------------------------------------------

#[test]
fn the_same_secret_gives_the_same_finding_in_every_format() {
    let dir = util::tempdir();
    let d = dir.path();
    let tok = token(1);
    let src = source(&tok);
    let file = src.as_slice();
    let tar_plain = tar(&[("pkg/cfg.py", file)]);
    let whl = deflated(&[("x/cfg.py", file), ("x-1.0.dist-info/METADATA", b"Name: x\n")]);
    let data_tgz = tgz(&[("lib/cfg.py", file)]);
    let gem = tar(&[("metadata.gz", &gzip(b"--- !ruby/object:Gem::Specification\n")), ("data.tar.gz", &data_tgz)]);
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(&tar_plain).unwrap();
    let inner_zip = deflated(&[("deep/cfg.py", file)]);
    let mid = tgz(&[("mid/inner.zip", &inner_zip)]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("cfg.py", src.clone(), ""),
        ("pkg-1.0.0.tgz", tgz(&[("package/lib/cfg.py", file)]), "!package/lib/cfg.py"),
        ("foo-0.1.0.crate", tgz(&[("foo-0.1.0/src/cfg.py", file)]), "!foo-0.1.0/src/cfg.py"),
        ("app.zip", deflated(&[("app/cfg.py", file)]), "!app/cfg.py"),
        ("stored.jar", zip(&[("META-INF/cfg.py", file)], zip::CompressionMethod::Stored), "!META-INF/cfg.py"),
        ("zstd.zip", zip(&[("z/cfg.py", file)], zip::CompressionMethod::Zstd), "!z/cfg.py"),
        ("bz.zip", zip(&[("b/cfg.py", file)], zip::CompressionMethod::Bzip2), "!b/cfg.py"),
        ("outer.tgz", tgz(&[("package/vendor/x.whl", &whl)]), "!package/vendor/x.whl!x/cfg.py"),
        ("thing-1.0.gem", gem, "!data.tar.gz!lib/cfg.py"),
        ("z.tar.zst", zstd::encode_all(&tar_plain[..], 3).unwrap(), "!pkg/cfg.py"),
        ("b.tar.bz2", bz.finish().unwrap(), "!pkg/cfg.py"),
        ("x.tar.xz", xz(&tar_plain), "!pkg/cfg.py"),
        ("cfg.py.xz", xz(file), ""),
        ("plain.tar", tar_plain.clone(), "!pkg/cfg.py"),
        ("cfg.py.gz", gzip(file), ""),
        ("nest.zip", deflated(&[("a/mid.tgz", &mid)]), "!a/mid.tgz!mid/inner.zip!deep/cfg.py"),
        ("download.bin", tgz(&[("p/cfg.py", file)]), "!p/cfg.py"),
    ];
    let paths: Vec<PathBuf> = cases.iter().map(|(name, bytes, _)| write(d, name, bytes)).collect();
    let c = scan_with(&paths.iter().map(PathBuf::as_path).collect::<Vec<_>>(), Limits::default(), true);
    assert!(errors(d, &c).is_empty(), "{:?}", errors(d, &c));
    let got = hits(d, &c);
    let want_fp = fingerprint("archive-test.token", tok.as_bytes());
    for (name, _, chain) in &cases {
        let at = format!("{name}{chain}");
        let found: Vec<_> = got.iter().filter(|h| h.at == at).collect();
        assert_eq!(found.len(), 1, "{at}: {:?}", got.iter().map(|h| &h.at).collect::<Vec<_>>());
        let h = found[0];
        assert_eq!((h.line, h.column), (Some(7), Some(8)), "{at}");
        assert_eq!(h.fingerprint, want_fp, "{at}");
    }
    assert_eq!(got.len(), cases.len());
    let summary = c.summary.unwrap();
    assert!(summary.archives >= 14, "{summary:?}");
    assert!(summary.members >= 14, "{summary:?}");
}

#[test]
fn no_archives_treats_them_as_opaque_bytes() {
    let dir = util::tempdir();
    let p = write(dir.path(), "a.tgz", &tgz(&[("a/cfg.py", &source(&token(2)))]));
    let c = scan_with(&[&p], Limits::default(), false);
    assert!(c.findings().is_empty());
    assert_eq!(c.summary.unwrap().archives, 0);
}

// ---- streaming ---------------------------------------------------------------------------

#[test]
fn a_secret_across_a_window_boundary_inside_a_streamed_member_is_found_once() {
    let dir = util::tempdir();
    let tok = token(3);
    let window = sluicebox::search::window::WINDOW;
    // Lines of 99 bytes + newline; the token starts 10 bytes before the first window boundary.
    let mut member = Vec::with_capacity(3 * window);
    while member.len() < window - 10 - 100 {
        member.extend([b'a'; 99]);
        member.push(b'\n');
    }
    let pad = window - 10 - member.len();
    member.extend(std::iter::repeat_n(b'b', pad - 1));
    member.push(b' ');
    let column = pad as u64 + 1;
    let line = (memchr::memchr_iter(b'\n', &member).count() + 1) as u64;
    member.extend(tok.as_bytes());
    member.push(b'\n');
    while member.len() < 3 * window {
        member.extend([b'c'; 63]);
        member.push(b'\n');
    }
    let p = write(dir.path(), "big.tgz", &tgz(&[("big/data.txt", &member)]));
    let c = scan(&p);
    let got = hits(dir.path(), &c);
    assert_eq!(got.len(), 1, "{:?}", got.iter().map(|h| &h.at).collect::<Vec<_>>());
    assert_eq!(got[0].at, "big.tgz!big/data.txt");
    assert_eq!((got[0].line, got[0].column), (Some(line), Some(column)));
}

// ---- limits ------------------------------------------------------------------------------

#[test]
fn depth_limit_skips_deeper_archives_and_keeps_shallower_findings() {
    let dir = util::tempdir();
    let d = dir.path();
    let inner = tgz(&[("in/cfg.py", &source(&token(4)))]);
    let mid = deflated(&[("mid/inner.tgz", &inner), ("mid/cfg.py", &source(&token(5)))]);
    let p = write(d, "outer.tgz", &tgz(&[("o/mid.zip", &mid)]));
    let limits = Limits { max_depth: 2, ..Limits::default() };
    let c = scan_with(&[&p], limits, true);
    let got = hits(d, &c);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].at, "outer.tgz!o/mid.zip!mid/cfg.py");
    let s = skips(d, &c);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!((s[0].0.as_str(), s[0].1), ("outer.tgz!o/mid.zip!mid/inner.tgz", SkipReason::TooDeep));
    // With the default depth everything is found.
    assert_eq!(hits(d, &scan(&p)).len(), 2);
}

#[test]
fn a_thousand_deep_nesting_stops_at_the_depth_limit() {
    let dir = util::tempdir();
    let d = dir.path();
    let tok = token(6);
    let mut gz = source(&tok);
    for _ in 0..1000 {
        gz = gzip(&gz);
    }
    let mut z = source(&tok);
    for i in 0..1000 {
        z = raw_zip(&[(format!("l{i}.zip").as_bytes(), &z, 0)]);
    }
    let pg = write(d, "deep.gz", &gz);
    let pz = write(d, "deep.zip", &z);
    let c = scan_with(&[&pg, &pz], Limits::default(), true);
    assert!(c.findings().is_empty());
    let s = skips(d, &c);
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(s.iter().all(|(_, r, _)| *r == SkipReason::TooDeep));
    let zs = s.iter().find(|(at, ..)| at.starts_with("deep.zip")).unwrap();
    assert_eq!(zs.0.matches('!').count(), 8, "{}", zs.0);
    assert!(errors(d, &c).is_empty());
}

/// 1 GiB of zeros, gzipped as it is generated (never held in memory).
fn write_gzip_bomb(path: &Path) {
    let f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut e = GzEncoder::new(f, Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        e.write_all(&chunk).unwrap();
    }
    e.finish().unwrap().flush().unwrap();
}

#[test]
fn a_gzip_bomb_is_stopped_by_the_ratio_limit() {
    let dir = util::tempdir();
    let d = dir.path();
    let bomb = d.join("bomb.gz");
    write_gzip_bomb(&bomb);
    let tok = token(7);
    // A bomb inside a tarball, after a member with a secret.
    let mut tar_bytes = raw_tar_entry(b"pkg/cfg.py", b'0', &source(&tok), b"");
    tar_bytes.extend(raw_tar_entry(b"pkg/zeros.bin", b'0', &vec![0u8; 64 << 20], b""));
    tar_bytes.extend([0u8; 1024]);
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(&tar_bytes).unwrap();
    let p = write(d, "pkg.tgz", &e.finish().unwrap());
    let c = scan_with(&[&bomb, &p], Limits::default(), true);
    let s = skips(d, &c);
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(s.iter().any(|(at, r, _)| at == "bomb.gz" && *r == SkipReason::RatioLimit), "{s:?}");
    assert!(s.iter().any(|(at, r, _)| at == "pkg.tgz!pkg/zeros.bin" && *r == SkipReason::RatioLimit), "{s:?}");
    // The member before the bomb was scanned and reported.
    assert_eq!(hits(d, &c).len(), 1);
    // Stopped early: a few MiB expanded, not 1 GiB.
    assert!(c.summary.unwrap().bytes < 32 << 20);
    // A ratio limit above the bomb's lets it through (it is zeros: no findings, no records).
    let c = scan_with(&[&bomb], Limits { max_ratio: 1_000_000, ..Limits::default() }, true);
    assert!(skips(d, &c).is_empty());
    assert_eq!(c.summary.unwrap().bytes, 1 << 30);
}

#[test]
fn a_42_zip_style_bomb_is_bounded() {
    let dir = util::tempdir();
    let d = dir.path();
    // 16 wide, 4 deep: 65,536 leaves of 4 MiB of zeros each (256 GiB expanded).
    let leaf = deflated(&[("zeros.bin", &vec![0u8; 4 << 20])]);
    let mut level = leaf;
    for depth in 0..4 {
        let names: Vec<String> = (0..16).map(|i| format!("d{depth}-{i:x}.zip")).collect();
        let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), level.as_slice())).collect();
        level = deflated(&files);
    }
    let p = write(d, "42.zip", &level);
    let c = scan_with(&[&p], Limits { max_ratio: 100, ..Limits::default() }, true);
    let s = skips(d, &c);
    assert!(!s.is_empty() && s.len() <= 9, "{} skips", s.len());
    assert!(s.iter().all(|(_, r, _)| *r == SkipReason::RatioLimit), "{s:?}");
    assert!(s.last().unwrap().2.contains("rest of the input skipped"), "{s:?}");
    assert!(c.summary.unwrap().bytes < 64 << 20);
    // And by the expanded-bytes budget when the ratio allows it.
    let c = scan_with(&[&p], Limits { max_archive_bytes: 40 << 20, max_ratio: 1_000_000, ..Limits::default() }, true);
    let s = skips(d, &c);
    assert!(s.iter().any(|(_, r, _)| *r == SkipReason::SizeLimit), "{s:?}");
}

#[test]
fn expanded_bytes_and_entry_budgets() {
    let dir = util::tempdir();
    let d = dir.path();
    let tok = token(8);
    let big: Vec<u8> = (0..(3u32 << 20)).map(|i| b"abcdefghijklmnopqrstuvwxyz\n"[(i % 27) as usize]).collect();
    let p =
        write(d, "big.tgz", &tgz(&[("a/cfg.py", &source(&tok)), ("a/big.txt", &big), ("a/late.py", &source(&tok))]));
    let c = scan_with(&[&p], Limits { max_archive_bytes: 1 << 20, ..Limits::default() }, true);
    let s = skips(d, &c);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!((s[0].0.as_str(), s[0].1), ("big.tgz!a/big.txt", SkipReason::SizeLimit));
    assert_eq!(hits(d, &c).len(), 1, "the member before the limit is reported");

    let many: Vec<(String, Vec<u8>)> = (0..50).map(|i| (format!("f/{i}.txt"), b"x\n".to_vec())).collect();
    let files: Vec<(&str, &[u8])> = many.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let p = write(d, "many.zip", &deflated(&files));
    let c = scan_with(&[&p], Limits { max_entries: 10, ..Limits::default() }, true);
    let s = skips(d, &c);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!((s[0].0.as_str(), s[0].1), ("many.zip", SkipReason::SizeLimit));
    assert_eq!(c.summary.unwrap().members, 10);
}

#[test]
fn a_zip_in_a_stream_over_the_buffer_bound_is_read_by_its_local_headers() {
    let dir = util::tempdir();
    let d = dir.path();
    let mut rng = Rng::new(9);
    let noise: Vec<u8> = (0..(66 << 20)).map(|_| rng.next() as u8).collect();
    let late = source(&token(20));
    let big_zip = zip(&[("noise.bin", &noise), ("late/cfg.py", &late)], zip::CompressionMethod::Stored);
    let p = write(d, "wrap.tgz", &tgz(&[("w/big.jar", &big_zip), ("w/cfg.py", &source(&token(10)))]));
    let c = scan(&p);
    assert!(skips(d, &c).is_empty(), "{:?}", skips(d, &c));
    assert!(errors(d, &c).is_empty(), "{:?}", errors(d, &c));
    let got: Vec<_> = hits(d, &c).into_iter().map(|h| (h.at, h.line, h.column)).collect();
    assert_eq!(
        got,
        [
            ("wrap.tgz!w/big.jar!late/cfg.py".to_string(), Some(7), Some(8)),
            ("wrap.tgz!w/cfg.py".to_string(), Some(7), Some(8))
        ]
    );
}

#[test]
fn a_zip_cut_before_its_central_directory_is_read_by_its_local_headers() {
    let dir = util::tempdir();
    let d = dir.path();
    let tok = token(21);
    // Written to a stream: data descriptors, no sizes in the local headers.
    let mut w = zip::ZipWriter::new_stream(Vec::new());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for name in ["a/one.py", "a/two.py"] {
        w.start_file(name, options).unwrap();
        w.write_all(&source(&tok)).unwrap();
    }
    let whole = w.finish().unwrap().into_inner();
    let cd = memchr::memmem::find(&whole, b"PK\x01\x02").unwrap();
    let p = write(d, "cut.zip", &whole[..cd + 10]);
    let mid = memchr::memmem::find(&whole[40..], b"PK\x03\x04").unwrap() + 40;
    let q = write(d, "cut-mid.zip", &whole[..mid - 5]);
    let w = write(d, "whole.zip", &whole);
    let c = scan_with(&[&p, &q, &w], Limits::default(), true);
    let got: Vec<_> = hits(d, &c).into_iter().map(|h| h.at).collect();
    assert_eq!(
        got,
        ["cut-mid.zip!a/one.py", "cut.zip!a/one.py", "cut.zip!a/two.py", "whole.zip!a/one.py", "whole.zip!a/two.py"]
    );
    let e = errors(d, &c);
    assert!(e.iter().any(|(at, m)| at == "cut.zip" && m.contains("no end of central directory")), "{e:?}");
    assert!(e.iter().any(|(at, _)| at.starts_with("cut-mid.zip")), "{e:?}");
    assert!(!e.iter().any(|(at, _)| at.starts_with("whole.zip")), "{e:?}");
}

// ---- hostile archives --------------------------------------------------------------------

/// Deterministic incompressible bytes.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.next() as u8).collect()
}

#[test]
fn truncated_and_corrupt_gzip_report_an_error_and_keep_earlier_findings() {
    let dir = util::tempdir();
    let d = dir.path();
    let good = tgz(&[("t/cfg.py", &source(&token(11))), ("t/noise.bin", &noise(1, 1 << 20))]);
    let truncated = write(d, "truncated.tgz", &good[..good.len() / 2]);
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    for b in &mut bad[mid..mid + 64] {
        *b = 0xff;
    }
    let corrupt = write(d, "corrupt.tgz", &bad);
    let mut trailer = good.clone();
    let n = trailer.len();
    trailer[n - 6] ^= 0x55; // the CRC in the gzip trailer
    let crc = write(d, "crc.tgz", &trailer);
    let c = scan_with(&[&truncated, &corrupt, &crc], Limits::default(), true);
    let e = errors(d, &c);
    for name in ["truncated.tgz", "corrupt.tgz", "crc.tgz"] {
        let mine: Vec<_> = e.iter().filter(|(at, _)| at == name).collect();
        assert_eq!(mine.len(), 1, "{name}: {e:?}");
        assert!(mine[0].1.starts_with("gzip: "), "{mine:?}");
    }
    let got = hits(d, &c);
    assert_eq!(got.len(), 3, "findings before the corruption point are kept");
}

#[test]
fn bad_tar_checksum_and_truncated_tar() {
    let dir = util::tempdir();
    let d = dir.path();
    let mut t = raw_tar_entry(b"a/cfg.py", b'0', &source(&token(12)), b"");
    let mut second = raw_tar_entry(b"a/b.txt", b'0', b"hello\n", b"");
    second[0] = b'X'; // checksum no longer matches
    t.extend(second);
    t.extend([0u8; 1024]);
    let p = write(d, "bad.tar", &t);
    let whole = raw_tar(&[
        raw_tar_entry(b"b/cfg.py", b'0', &source(&token(13)), b""),
        raw_tar_entry(b"b/big", b'0', &noise(2, 100_000), b""),
    ]);
    let q = write(d, "cut.tar", &whole[..whole.len() - 60_000]);
    let c = scan_with(&[&p, &q], Limits::default(), true);
    let e = errors(d, &c);
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e.iter().any(|(at, m)| at == "bad.tar" && m.starts_with("tar: bad header checksum at byte")), "{e:?}");
    assert!(e.iter().any(|(at, m)| at == "cut.tar" && m.starts_with("tar: truncated member")), "{e:?}");
    assert_eq!(hits(d, &c).len(), 2);
}

#[test]
fn zips_whose_central_directory_lies() {
    let dir = util::tempdir();
    let d = dir.path();
    let tok = token(14);
    let good = raw_zip(&[(b"a/cfg.py", &source(&tok), 0), (b"a/b.txt", b"hello\n", 0)]);
    let eocd = good.len() - 22;
    // More entries than there are.
    let mut count = good.clone();
    count[eocd + 8] = 3;
    count[eocd + 10] = 3;
    // The directory starts at the wrong offset.
    let mut offset = good.clone();
    offset[eocd + 16] = offset[eocd + 16].wrapping_add(7);
    // The second entry's local header names another file.
    let mut name = good.clone();
    let second = memchr::memmem::find(&name, b"a/b.txt").unwrap();
    name[second] = b'z';
    // A compressed member whose declared size is a lie.
    let mut sizes = deflated(&[("s/cfg.py", &source(&tok))]);
    let cd = memchr::memmem::rfind(&sizes, b"PK\x01\x02").unwrap();
    sizes[cd + 24] = sizes[cd + 24].wrapping_add(1);
    let paths = [
        write(d, "count.zip", &count),
        write(d, "offset.zip", &offset),
        write(d, "name.zip", &name),
        write(d, "sizes.zip", &sizes),
        write(d, "cut.zip", &good[..good.len() - 30]),
    ];
    let c = scan_with(&paths.iter().map(PathBuf::as_path).collect::<Vec<_>>(), Limits::default(), true);
    let e = errors(d, &c);
    for p in &paths {
        let n = p.file_name().unwrap().to_str().unwrap();
        assert!(e.iter().any(|(at, m)| at.starts_with(n) && m.starts_with("zip: ")), "{n}: {e:?}");
    }
    let got = hits(d, &c);
    // count.zip and name.zip still give the honest entry; sizes.zip scans what it inflated;
    // cut.zip is read by its local headers.
    for n in ["count.zip!a/cfg.py", "name.zip!a/cfg.py", "sizes.zip!s/cfg.py", "cut.zip!a/cfg.py"] {
        assert!(got.iter().any(|h| h.at == n), "{n}: {:?}", got.iter().map(|h| &h.at).collect::<Vec<_>>());
    }
}

#[test]
fn overlapping_zip_members_are_refused() {
    let dir = util::tempdir();
    let d = dir.path();
    let z = raw_zip(&[(b"k", &source(&token(15)), 0)]);
    // A second central directory entry pointing at the same local header (a Fifield bomb).
    let cd = memchr::memmem::find(&z, b"PK\x01\x02").unwrap();
    let eocd = z.len() - 22;
    let entry = z[cd..eocd].to_vec();
    let mut bomb = z[..eocd].to_vec();
    bomb.extend(&entry);
    let mut end = z[eocd..].to_vec();
    end[8] = 2;
    end[10] = 2;
    end[12..16].copy_from_slice(&((2 * entry.len()) as u32).to_le_bytes());
    bomb.extend(end);
    let p = write(d, "overlap.zip", &bomb);
    let c = scan(&p);
    let e = errors(d, &c);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].1.contains("overlap"), "{e:?}");
    assert!(c.findings().is_empty());
}

#[test]
fn hostile_member_names_are_kept_raw_and_never_used_as_paths() {
    let dir = util::tempdir();
    let d = dir.path().join("scan");
    std::fs::create_dir(&d).unwrap();
    let tok = token(16);
    let src = source(&tok);
    let names: [&[u8]; 5] =
        [b"../../etc/passwd", b"/abs/cfg.py", b"esc\x1b[31mred\x1b[0m.py", b"nul\0byte.py", b"latin1-\xe9.py"];
    let t = raw_tar(&names.iter().map(|n| raw_tar_entry(n, b'0', &src, b"")).collect::<Vec<_>>());
    let files: Vec<(&[u8], &[u8], u16)> = names.iter().map(|n| (*n, src.as_slice(), 0)).collect();
    let z = raw_zip(&files);
    let pt = write(&d, "names.tar", &t);
    let pz = write(&d, "names.zip", &z);
    let before: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    let c = scan_with(&[&pt, &pz], Limits::default(), true);
    let after: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(before, after, "nothing is written");
    for p in [&pt, &pz] {
        let mut members: Vec<Vec<u8>> =
            c.findings().iter().filter(|f| &f.chain.path == p).map(|f| f.chain.members[0].clone()).collect();
        members.sort();
        let mut want: Vec<Vec<u8>> = names.iter().map(|n| n.split(|&b| b == 0).next().unwrap().to_vec()).collect();
        if p == &pz {
            // zip names are length-prefixed: the NUL stays
            want = names.iter().map(|n| n.to_vec()).collect();
        }
        want.sort();
        assert_eq!(members, want, "{}", p.display());
    }
}

#[test]
fn links_directories_and_encrypted_members() {
    let dir = util::tempdir();
    let d = dir.path();
    let tok = token(17);
    let t = raw_tar(&[
        raw_tar_entry(b"p/", b'5', b"", b""),
        raw_tar_entry(b"p/link", b'2', b"", b"../../../etc/shadow"),
        raw_tar_entry(b"p/hard", b'1', b"", b"p/cfg.py"),
        raw_tar_entry(b"p/fifo", b'6', b"", b""),
        raw_tar_entry(b"p/cfg.py", b'0', &source(&tok), b""),
    ]);
    let pt = write(d, "links.tar", &t);
    let z = raw_zip(&[(b"e/secret.py", &source(&tok), 1), (b"e/dir/", b"", 0), (b"e/cfg.py", &source(&tok), 0)]);
    let pz = write(d, "enc.zip", &z);
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.add_symlink("s/link", "/etc/passwd", zip::write::SimpleFileOptions::default()).unwrap();
    let ps = write(d, "sym.zip", &w.finish().unwrap().into_inner());
    let c = scan_with(&[&pt, &pz, &ps], Limits::default(), true);
    let mut s = skips(d, &c);
    s.sort_by(|a, b| a.0.cmp(&b.0));
    let s: Vec<_> = s.iter().map(|(at, r, _)| (at.as_str(), *r)).collect();
    assert_eq!(
        s,
        [
            ("enc.zip!e/secret.py", SkipReason::Encrypted),
            ("links.tar!p/link", SkipReason::Symlink),
            ("sym.zip!s/link", SkipReason::Symlink),
        ]
    );
    let got: Vec<_> = hits(d, &c).into_iter().map(|h| h.at).collect();
    assert_eq!(got, ["enc.zip!e/cfg.py", "links.tar!p/cfg.py"]);
    assert!(errors(d, &c).is_empty());
}

#[test]
fn pax_and_gnu_long_names() {
    let dir = util::tempdir();
    let d = dir.path();
    let tok = token(18);
    let long = format!("package/{}/cfg.py", "very-long-directory-name".repeat(8));
    // The tar crate writes GNU `L` records for long names.
    let gnu = tar(&[(long.as_str(), &source(&tok))]);
    // A pax record by hand.
    let record = format!("path={long}\n");
    let mut len = record.len() + 3;
    if format!("{len} {record}").len() != len {
        len += 1;
    }
    let pax = format!("{len} {record}");
    let t = raw_tar(&[
        raw_tar_entry(b"PaxHeader", b'x', pax.as_bytes(), b""),
        raw_tar_entry(b"short", b'0', &source(&tok), b""),
    ]);
    let pg = write(d, "gnu.tar", &gnu);
    let pp = write(d, "pax.tar", &t);
    let c = scan_with(&[&pg, &pp], Limits::default(), true);
    let got: Vec<_> = hits(d, &c).into_iter().map(|h| h.at).collect();
    assert_eq!(got, [format!("gnu.tar!{long}"), format!("pax.tar!{long}")]);
}

#[test]
fn the_binary_reports_chains_in_jsonl() {
    let dir = util::tempdir();
    let d = dir.path();
    let rules = write(d, "rules.toml", RULE.as_bytes());
    let whl = deflated(&[("x/cfg.py", &source(&token(19)))]);
    let p = write(d, "outer.tgz", &tgz(&[("package/vendor/x.whl", &whl)]));
    let out = util::sluice(&[
        "scan",
        p.to_str().unwrap(),
        "--no-builtin-rules",
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    let recs = util::jsonl(&out.stdout);
    let f: Vec<_> = recs.iter().filter(|r| r["kind"] == "finding").collect();
    assert_eq!(f.len(), 1, "{recs:?}");
    assert_eq!(f[0]["chain"], serde_json::json!(["package/vendor/x.whl", "x/cfg.py"]));
    assert_eq!((f[0]["line"].as_u64(), f[0]["column"].as_u64()), (Some(7), Some(8)));
    assert_eq!(out.status.code(), Some(1));
}

/// `bytes` xz-compressed (the reference encoder, as `xz -6` writes it).
fn xz(bytes: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}
