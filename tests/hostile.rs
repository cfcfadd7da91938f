//! Hostile inputs through the real binary (issue 7): bombs and huge inputs in bounded memory
//! (peak RSS of the child measured with `wait4`), archives cut at every byte, odd encodings and
//! names, unreadable files, symlink loops, FIFOs and devices, files that change during the scan,
//! and nothing lost when the process is killed, interrupted or its pipe closes. Every fixture is
//! generated here; every secret is a made-up token with a valid checksum.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder};
use serde_json::Value;

use crate::util::{self, Rng};

// ---- running the binary ------------------------------------------------------------------

/// What one run of the binary left behind.
struct Run {
    code: Option<i32>,
    signal: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    /// Peak resident set of the child alone, KiB.
    rss_kib: i64,
    /// The command line, for the note each check prints (`--nocapture` shows them).
    args: String,
}

impl Run {
    fn records(&self) -> Vec<Value> {
        util::jsonl(&self.stdout)
    }

    fn kind(&self, kind: &str) -> Vec<Value> {
        self.records().into_iter().filter(|r| r["kind"] == kind).collect()
    }

    fn summary(&self) -> Value {
        self.kind("summary").pop().unwrap_or_else(|| panic!("no summary: {}", self.stderr))
    }

    /// No panic and no death by signal: the scan ended on its own terms.
    fn assert_sane(&self) {
        eprintln!("note: sluice {}: exit {:?}, peak RSS {} KiB", self.args, self.code, self.rss_kib);
        assert!(self.signal.is_none(), "killed by signal {:?}; stderr: {}", self.signal, self.stderr);
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        assert!(!String::from_utf8_lossy(&self.stdout).contains("internal error"), "caught panic in output");
        assert!(matches!(self.code, Some(0..=2)), "exit {:?}; stderr: {}", self.code, self.stderr);
    }
}

/// Starts the binary; stderr goes to a file so neither pipe can fill up and block it.
fn spawn(args: &[&str], stdin: Stdio, stderr_to: &Path) -> Child {
    Command::new(util::bin())
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(File::create(stderr_to).unwrap())
        .spawn()
        .unwrap()
}

/// Reaps `child` with `wait4`, for its own peak RSS.
#[allow(unsafe_code)]
fn reap(child: &Child) -> (Option<i32>, Option<i32>, i64) {
    let pid = child.id().cast_signed();
    let mut status = 0;
    // SAFETY: plain FFI call with valid out-pointers; the child is ours and not yet reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    assert_eq!(r, pid, "wait4 failed");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let signal = libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status));
    (code, signal, usage.ru_maxrss)
}

/// Forks and execs the command in argv[1..], waits for it, writes its own peak RSS (KiB) to the
/// file named by `$SLUICE_RSS_OUT`, and exits as it did (128 + signal when killed).
///
/// Why a trampoline: a child spawned straight from the test binary (vfork + exec) starts with
/// the test process's own high-water RSS in its `ru_maxrss`, and the test binary runs other
/// in-process tests at the same time. A child forked from this small, freshly exec'd process
/// starts from its few MiB instead.
const TRAMPOLINE: &str = r#"
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
with open(os.environ["SLUICE_RSS_OUT"], "w") as f:
    f.write(str(ru.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"#;

fn have_python() -> bool {
    static HAVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAVE.get_or_init(|| Command::new("python3").arg("-c").arg("pass").status().is_ok_and(|s| s.success()))
}

/// Runs the binary to completion, feeding `input` (if any) on stdin from another thread; its
/// peak RSS is measured through [`TRAMPOLINE`] (-1 when python3 is missing).
/// Writes a child's stdin from another thread.
type Feed = Box<dyn FnOnce(&mut dyn Write) + Send>;

fn run(args: &[&str], input: Option<Feed>) -> Run {
    let dir = util::tempdir();
    let err_path = dir.path().join("stderr");
    let rss_path = dir.path().join("rss");
    let stdin = if input.is_some() { Stdio::piped() } else { Stdio::null() };
    let mut cmd = if have_python() {
        let mut c = Command::new("python3");
        c.arg("-c").arg(TRAMPOLINE).arg(util::bin()).env("SLUICE_RSS_OUT", &rss_path);
        c
    } else {
        Command::new(util::bin())
    };
    let mut child =
        cmd.args(args).stdin(stdin).stdout(Stdio::piped()).stderr(File::create(&err_path).unwrap()).spawn().unwrap();
    let feeder = input.map(|feed| {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || feed(&mut pipe))
    });
    let mut stdout = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
    let status = child.wait().unwrap();
    if let Some(f) = feeder {
        f.join().unwrap();
    }
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    let (code, signal) = match status.code() {
        Some(c) if c > 128 && have_python() => (None, Some(c - 128)),
        Some(c) => (Some(c), None),
        None => (None, std::os::unix::process::ExitStatusExt::signal(&status)),
    };
    let rss_kib = fs::read_to_string(&rss_path).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(-1);
    Run { code, signal, stdout, stderr, rss_kib, args: args.join(" ") }
}

/// Asserts the peak RSS bound, or notes that it could not be measured.
fn assert_rss(r: &Run, what: &str) {
    if r.rss_kib < 0 {
        eprintln!("note: python3 not found, peak RSS of '{what}' not measured");
        return;
    }
    assert!(r.rss_kib < RSS_BOUND_KIB, "{what}: peak RSS {} KiB", r.rss_kib);
    eprintln!("{what}: peak RSS {} MiB", r.rss_kib >> 10);
}

fn scan(args: &[&str]) -> Run {
    let mut all = vec!["scan", "--format", "jsonl"];
    all.extend_from_slice(args);
    run(&all, None)
}

/// A hang detector, not a timing assertion: fails only if the child is still running after a
/// minute (every case here ends in well under a second).
#[allow(clippy::zombie_processes)] // reaped by wait4 in `reap`
fn finish_or_fail(mut child: Child, what: &str) -> Run {
    let mut stdout = Vec::new();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        out.read_to_end(&mut stdout).unwrap();
        stdout
    });
    let deadline = Instant::now() + Duration::from_mins(1);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{what}: sluice blocked for a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let stdout = reader.join().unwrap();
    let code = child.wait().unwrap().code();
    Run { code, signal: None, stdout, stderr: String::new(), rss_kib: -1, args: what.to_string() }
}

// ---- fixtures ----------------------------------------------------------------------------

fn token(seed: u64) -> String {
    util::github_token(&mut Rng::new(seed), "ghp_")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        w.start_file(*name, options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A zip of `copies` members, each `size` zeros deflated once and stored `copies` times (not
/// overlapping: each member has its own copy of the compressed bytes).
fn zip_of_zeros(size: u64, copies: usize) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..size >> 20 {
        e.write_all(&chunk).unwrap();
    }
    let data = e.finish().unwrap();
    let mut crc = crc32fast::Hasher::new();
    for _ in 0..size >> 20 {
        crc.update(&chunk);
    }
    let crc = crc.finalize();
    let (mut out, mut central) = (Vec::new(), Vec::new());
    let le16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let le32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    for i in 0..copies {
        let name = format!("zeros-{i:02}.bin");
        let offset = out.len() as u32;
        le32(&mut out, 0x0403_4b50);
        for x in [20, 0, 8, 0, 0] {
            le16(&mut out, x);
        }
        for x in [crc, data.len() as u32, size as u32] {
            le32(&mut out, x);
        }
        le16(&mut out, name.len() as u16);
        le16(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&data);
        le32(&mut central, 0x0201_4b50);
        for x in [20, 20, 0, 8, 0, 0] {
            le16(&mut central, x);
        }
        for x in [crc, data.len() as u32, size as u32] {
            le32(&mut central, x);
        }
        for x in [name.len() as u16, 0, 0, 0, 0] {
            le16(&mut central, x);
        }
        le32(&mut central, 0);
        le32(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    let cd_len = central.len() as u32;
    out.extend_from_slice(&central);
    le32(&mut out, 0x0605_4b50);
    for x in [0, 0, copies as u16, copies as u16] {
        le16(&mut out, x);
    }
    le32(&mut out, cd_len);
    le32(&mut out, cd_offset);
    le16(&mut out, 0);
    out
}

/// `size` zeros gzipped `layers` times, streamed (never held whole in memory).
fn nested_gzip_of_zeros(size: u64, layers: usize) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..size >> 20 {
        e.write_all(&chunk).unwrap();
    }
    let mut data = e.finish().unwrap();
    for _ in 1..layers {
        data = gzip(&data);
    }
    data
}

fn write(dir: &Path, name: impl AsRef<Path>, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Peak RSS bound for the child: the rule set, two workers' buffers and windows, and slack.
/// The inputs below are 200 MiB to 2 GiB (expanded: up to 4 GiB), so a leak of input-sized
/// buffers cannot fit under it.
const RSS_BOUND_KIB: i64 = 128 * 1024;

// ---- bombs and huge inputs ---------------------------------------------------------------

#[test]
fn zip_and_nested_gzip_bombs_trip_the_ratio_limit_in_bounded_memory() {
    let dir = util::tempdir();
    let d = dir.path();
    // 16 members × 256 MiB of zeros (4 GiB expanded from ~4 MiB).
    write(d, "bomb.zip", &zip_of_zeros(256 << 20, 16));
    // 1 GiB of zeros gzipped three times over.
    write(d, "bomb.gz.gz.gz", &nested_gzip_of_zeros(1 << 30, 3));
    let tok = token(1);
    write(d, "after.py", format!("t = '{tok}'\n").as_bytes());
    let r = scan(&[s(d), "--threads", "2"]);
    r.assert_sane();
    let skipped = r.kind("skipped");
    let ratio: Vec<_> = skipped.iter().filter(|s| s["reason"] == "ratio-limit").collect();
    assert!(ratio.iter().any(|s| s["path"].as_str().unwrap().ends_with("bomb.zip")), "{skipped:?}");
    assert!(ratio.iter().any(|s| s["path"].as_str().unwrap().ends_with("bomb.gz.gz.gz")), "{skipped:?}");
    assert_eq!(r.kind("finding").len(), 1, "the file next to the bombs is still scanned");
    assert!(r.summary()["bytes"].as_u64().unwrap() < 256 << 20, "{}", r.summary());
    assert_rss(&r, "zip bomb + triple-gzip bomb (ratio limit)");

    // With the ratio limit out of the way, the byte budget stops the zip bomb instead.
    let r = scan(&[s(&d.join("bomb.zip")), "--max-ratio", "100000000", "--max-archive-bytes", "536870912"]);
    r.assert_sane();
    let skipped = r.kind("skipped");
    assert!(skipped.iter().any(|s| s["reason"] == "size-limit"), "{skipped:?}");
    assert_rss(&r, "zip bomb (byte budget)");
}

#[test]
fn a_thousand_deep_nesting_is_skipped_at_the_depth_limit_and_does_not_overflow_the_stack() {
    let dir = util::tempdir();
    let d = dir.path();
    let tok = token(2);
    let mut tgz = format!("k = '{tok}'\n").into_bytes();
    for i in 0..1000 {
        tgz = gzip(&tar(&[(&format!("l{i}.tgz"), &tgz)]));
    }
    let p = write(d, "deep.tgz", &tgz);
    let r = scan(&[s(&p)]);
    r.assert_sane();
    let skipped = r.kind("skipped");
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0]["reason"], "too-deep");
    assert_eq!(skipped[0]["chain"].as_array().unwrap().len(), 8);
    assert_rss(&r, "1000-deep tgz, default depth");
    // At the deepest supported depth the expansion stays within bounds too.
    let r = scan(&[s(&p), "--max-depth", &sluicebox::input::MAX_DEPTH.to_string()]);
    r.assert_sane();
    assert_eq!(r.kind("skipped")[0]["chain"].as_array().unwrap().len(), sluicebox::input::MAX_DEPTH);
    assert_rss(&r, "1000-deep tgz, --max-depth 64");
    // Deeper is refused up front: 1,000 open levels overflowed a worker's stack (an abort).
    let r = scan(&[s(&p), "--max-depth", "1000"]);
    assert_eq!((r.code, r.signal), (Some(2), None), "{}", r.stderr);
    assert!(r.stderr.contains("max depth 1000"), "{}", r.stderr);
}

#[test]
fn a_2_gib_sparse_file_streams_in_bounded_memory() {
    let dir = util::tempdir();
    let path = dir.path().join("sparse.img");
    let file = File::create(&path).unwrap();
    file.set_len(2 << 30).unwrap();
    // One secret in the middle, one in the last bytes; the rest is holes (zeros).
    let (middle, end) = (token(3), token(4));
    std::os::unix::fs::FileExt::write_all_at(&file, format!("\nk='{middle}'\n").as_bytes(), 1 << 30).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, format!("\nk='{end}'\n").as_bytes(), (2 << 30) - 64).unwrap();
    drop(file);
    let r = scan(&[s(&path), "--threads", "2"]);
    r.assert_sane();
    let found = r.kind("finding");
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0]["line"], 2);
    assert_eq!(found[1]["line"], 4);
    assert_eq!(r.summary()["bytes"], 2u64 << 30);
    assert_rss(&r, "2 GiB sparse file");
}

#[test]
fn a_200_mb_single_line_on_stdin_streams_in_bounded_memory() {
    let tok = token(5);
    let line = tok.clone();
    let feed: Feed = Box::new(move |w| {
        let chunk: Vec<u8> = (0..(1 << 20)).map(|i| b"abcdefghij0123456789+/="[i % 23]).collect();
        for i in 0..200 {
            if i == 100 {
                let _ = write!(w, "var t=\"{line}\";");
            }
            if w.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = write!(w, ";k=\"{line}\"");
    });
    let r = run(&["scan", "-", "--format", "jsonl"], Some(feed));
    r.assert_sane();
    let found = r.kind("finding");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|f| f["line"] == 1 && f["path"] == "-"));
    assert_rss(&r, "200 MB single line on stdin");
}

#[test]
fn a_file_of_nul_bytes_is_clean_and_a_secret_inside_nuls_is_found() {
    let dir = util::tempdir();
    let d = dir.path();
    write(d, "zeros.bin", &vec![0u8; 8 << 20]);
    let r = scan(&[s(&d.join("zeros.bin"))]);
    r.assert_sane();
    assert_eq!(r.code, Some(0));
    assert_eq!(r.records().len(), 1, "only the summary");
    let mut bin = vec![0u8; 1 << 20];
    bin.extend_from_slice(token(6).as_bytes());
    bin.extend(vec![0u8; 1 << 20]);
    write(d, "blob.bin", &bin);
    let r = scan(&[s(&d.join("blob.bin"))]);
    assert_eq!(r.kind("finding").len(), 1, "a secret embedded in binary data still leaks");
}

// ---- archives cut at every byte, and corrupted ------------------------------------------

/// One small archive per format, each holding a secret in a member.
fn small_archives(tok: &str) -> Vec<(&'static str, Vec<u8>)> {
    let src = format!("// config\nconst key = '{tok}';\n").into_bytes();
    let padding = vec![b'y'; 600];
    let t = tar(&[("p/a.js", &src), ("p/pad.txt", &padding)]);
    vec![
        ("tgz", gzip(&t)),
        ("tar.zst", zstd::encode_all(&t[..], 3).unwrap()),
        ("tar.xz", {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            std::io::Write::write_all(&mut e, &t).unwrap();
            e.finish().unwrap()
        }),
        ("tar", t.clone()),
        ("zip", zip(&[("p/a.js", &src), ("p/pad.txt", &padding)])),
    ]
}

#[test]
fn archives_cut_at_every_byte_offset_report_errors_at_their_path_and_never_panic() {
    let dir = util::tempdir();
    let d = dir.path();
    let tok = token(7);
    let mut cuts = Vec::new();
    for (ext, bytes) in small_archives(&tok) {
        for cut in 1..bytes.len() {
            let name = format!("cut-{cut:05}.{ext}");
            write(d, &name, &bytes[..cut]);
            cuts.push((name, ext, cut, bytes.len()));
        }
        write(d, format!("whole.{ext}"), &bytes);
    }
    let r = scan(&[s(d), "--threads", "2"]);
    r.assert_sane();
    let errors = r.kind("error");
    let findings = r.kind("finding");
    let name_of =
        |v: &Value| Path::new(v["path"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
    for ext in ["tgz", "tar.zst", "tar.xz", "tar", "zip"] {
        let whole = format!("whole.{ext}");
        assert!(findings.iter().any(|f| name_of(f) == whole), "{whole} not found");
        assert!(!errors.iter().any(|e| name_of(e) == whole), "{whole} reported an error");
    }
    let mut silent = Vec::new();
    for (name, ext, cut, len) in &cuts {
        let errs: Vec<_> = errors.iter().filter(|e| name_of(e) == *name).collect();
        for e in &errs {
            assert!(!e["message"].as_str().unwrap().is_empty());
        }
        // A cut compressed stream or zip is always an error, named by its path. A tar cut on a
        // block boundary is indistinguishable from a shorter tar (no end marker is required).
        let must_error = match *ext {
            "tgz" | "tar.zst" | "zip" => *cut >= 4,
            "tar.xz" => *cut >= 6,
            _ => *cut >= 512 && cut % 512 != 0,
        };
        if errs.is_empty() && must_error {
            silent.push(format!("{name} ({cut}/{len})"));
        }
    }
    assert!(silent.is_empty(), "truncated archives with no error record: {silent:?}");
    eprintln!("{} truncated archives: {} error records, {} findings", cuts.len(), errors.len(), findings.len());
}

#[test]
fn corrupted_archives_never_panic_or_hang() {
    let dir = util::tempdir();
    let d = dir.path();
    let tok = token(8);
    let mut rng = Rng::new(8);
    let mut n = 0;
    for (ext, bytes) in small_archives(&tok) {
        // Every byte flipped once, then random multi-byte damage.
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0xff;
            write(d, format!("flip-{i:05}.{ext}"), &b);
            n += 1;
        }
        for k in 0..200 {
            let mut b = bytes.clone();
            for _ in 0..4 {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            write(d, format!("noise-{k:03}.{ext}"), &b);
            n += 1;
        }
    }
    let r = scan(&[s(d), "--threads", "2"]);
    r.assert_sane();
    assert_eq!(r.summary()["files"], n);
    eprintln!("{n} corrupted archives: {} errors, {} findings", r.kind("error").len(), r.kind("finding").len());
}

// ---- encodings and names -----------------------------------------------------------------

fn utf16(text: &str, le: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if le { &[0xff, 0xfe] } else { &[0xfe, 0xff] });
    }
    for u in text.encode_utf16() {
        out.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    out
}

#[test]
fn utf16_and_invalid_utf8_around_a_secret_are_found() {
    let dir = util::tempdir();
    let d = dir.path();
    let text = |seed| format!("# settings\r\nGITHUB_TOKEN = \"{}\"\r\n", token(seed));
    write(d, "le.txt", &utf16(&text(10), true, true));
    write(d, "be.txt", &utf16(&text(11), false, true));
    write(d, "le-nobom.ps1", &utf16(&text(12), true, false));
    write(d, "be-nobom.ps1", &utf16(&text(13), false, false));
    let mut bad = b"\xc3\x28\xa0\xa1 junk \xf0\x28\x8c\xbc\nk=".to_vec();
    bad.extend_from_slice(token(14).as_bytes());
    bad.extend_from_slice(b"\xff\xc0\x80\n");
    write(d, "latin.txt", &bad);
    // And a UTF-16 file inside an archive.
    write(d, "w.tgz", &gzip(&tar(&[("w/env.txt", &utf16(&text(15), true, true))])));
    let r = scan(&[s(d)]);
    r.assert_sane();
    let found = r.kind("finding");
    let files: Vec<String> = found
        .iter()
        .map(|f| Path::new(f["path"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in ["le.txt", "be.txt", "le-nobom.ps1", "be-nobom.ps1", "latin.txt", "w.tgz"] {
        assert!(files.iter().any(|f| f == want), "secret in {want} missed: {files:?}");
    }
    let latin = found.iter().find(|f| f["path"].as_str().unwrap().ends_with("latin.txt")).unwrap();
    assert_eq!((latin["line"].as_u64(), latin["column"].as_u64()), (Some(2), Some(3)));
    let le = found.iter().find(|f| f["path"].as_str().unwrap().ends_with("le.txt")).unwrap();
    assert_eq!(le["line"], 2, "lines count in the decoded text");
}

#[test]
fn hostile_file_names_are_escaped_for_humans_and_exact_in_json() {
    let dir = util::tempdir();
    let d = dir.path();
    let names: Vec<Vec<u8>> = vec![
        b"new\nline.txt".to_vec(),
        b"evil\x1b[31mred\x1b[0m.txt".to_vec(),
        b"bell\x07\rcr.txt".to_vec(),
        b"bad\xff\xfeutf8.txt".to_vec(),
    ];
    for (i, name) in names.iter().enumerate() {
        let p = d.join(std::ffi::OsStr::from_bytes(name));
        fs::write(&p, format!("t = '{}'\n", token(20 + i as u64))).unwrap();
    }
    // And an archive member named with escapes.
    let member = "pkg/\x1b]0;owned\x07x.js".to_string();
    write(d, "m.tgz", &gzip(&tar(&[(&member, format!("t='{}'\n", token(30)).as_bytes())])));

    let r = scan(&[s(d)]);
    r.assert_sane();
    let found = r.kind("finding");
    assert_eq!(found.len(), names.len() + 1, "{found:?}");
    for name in &names {
        let want = [d.as_os_str().as_bytes(), b"/", name].concat();
        let hit = found.iter().any(|f| match f.get("path_base64") {
            Some(b) => base64_decode(b.as_str().unwrap()) == want,
            None => f["path"].as_str().unwrap().as_bytes() == want.as_slice(),
        });
        assert!(hit, "no exact path for {:?}", String::from_utf8_lossy(name));
    }
    assert!(found.iter().any(|f| f["chain"][0] == member.as_str()), "member name not exact in JSON");

    let human = run(&["scan", s(d), "--color", "never"], None);
    let out = String::from_utf8_lossy(&human.stdout);
    assert!(!out.contains('\x1b') && !out.contains('\x07') && !out.contains('\r'), "raw control bytes: {out:?}");
    assert!(out.contains("new\\nline.txt"), "{out}");
    assert!(out.contains("\\x{1b}[31mred"), "{out}");
    // One line per finding: no name splits a line.
    assert_eq!(out.lines().filter(|l| l.contains("github.pat")).count(), names.len() + 1, "{out}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

// ---- filesystem oddities -----------------------------------------------------------------

#[test]
fn unreadable_files_are_errors_that_name_the_path() {
    use std::os::unix::process::CommandExt;
    let dir = util::tempdir();
    let d = dir.path();
    fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
    let locked = write(d, "locked.env", format!("T={}\n", token(40)).as_bytes());
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads anything (CI runs as root): then scan as `nobody`, so the denial is real.
    let as_root = File::open(&locked).is_ok();
    let bin = util::bin();
    if as_root && !bin.ancestors().all(|p| p.metadata().is_ok_and(|m| m.permissions().mode() & 0o001 != 0)) {
        eprintln!("note: running as root and the binary is not reachable by 'nobody': permission test skipped");
        return;
    }
    let run = || {
        let mut cmd = Command::new(&bin);
        cmd.args(["scan", "--format", "jsonl", s(d)]).stderr(Stdio::null());
        if as_root {
            cmd.uid(65534).gid(65534);
        }
        let out = cmd.output().unwrap();
        (out.status.code(), util::jsonl(&out.stdout))
    };
    let (code, records) = run();
    assert_eq!(code, Some(2), "nothing found but an input could not be read: {records:?}");
    let errors: Vec<_> = records.iter().filter(|r| r["kind"] == "error").collect();
    assert!(errors.iter().any(|e| e["path"].as_str().unwrap().ends_with("locked.env")), "{errors:?}");
    assert!(errors.iter().all(|e| e["message"] == "permission denied"), "{errors:?}");
    write(d, "leak.py", format!("t = '{}'\n", token(41)).as_bytes());
    let (code, _) = run();
    assert_eq!(code, Some(1), "findings win over errors");
}

#[test]
fn symlink_loops_are_skipped_with_and_without_following() {
    let dir = util::tempdir();
    let d = dir.path();
    fs::create_dir(d.join("sub")).unwrap();
    std::os::unix::fs::symlink(".", d.join("sub/self")).unwrap();
    std::os::unix::fs::symlink("b", d.join("a")).unwrap();
    std::os::unix::fs::symlink("a", d.join("b")).unwrap();
    std::os::unix::fs::symlink("..", d.join("sub/up")).unwrap();
    write(d, "sub/leak.py", format!("t = '{}'\n", token(42)).as_bytes());
    for follow in [false, true] {
        let mut args = vec![s(d)];
        if follow {
            args.push("--follow-symlinks");
        }
        let mut all = vec!["scan", "--format", "jsonl"];
        all.extend(args);
        let child = spawn(&all, Stdio::null(), &d.join("stderr"));
        let r = finish_or_fail(child, "symlink loop");
        assert!(matches!(r.code, Some(1 | 2)), "exit {:?}", r.code);
        let recs = r.records();
        let findings = recs.iter().filter(|v| v["kind"] == "finding").count();
        assert!(findings >= 1, "follow={follow}");
        if !follow {
            let links = recs.iter().filter(|v| v["kind"] == "skipped" && v["reason"] == "symlink").count();
            assert_eq!(links, 4, "follow={follow}: {recs:?}");
        }
    }
    // A loop named on the command line.
    let r = scan(&[s(&d.join("a"))]);
    r.assert_sane();
    assert_eq!(r.kind("finding").len(), 0);
}

#[test]
fn fifos_and_devices_are_skipped_and_never_opened() {
    let dir = util::tempdir();
    let d = dir.path();
    let fifo = d.join("pipe");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    #[allow(unsafe_code)]
    // SAFETY: plain FFI call with a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(rc, 0);
    write(d, "leak.py", format!("t = '{}'\n", token(43)).as_bytes());
    let to_pipe = d.join("to-pipe");
    std::os::unix::fs::symlink(&fifo, &to_pipe).unwrap();
    // In a walked directory, named explicitly, through a followed symlink, and devices.
    let cases: Vec<Vec<&str>> = vec![
        vec![s(d)],
        vec![s(d), "--follow-symlinks"],
        vec![s(&fifo)],
        vec!["/dev/zero"],
        vec!["/dev/null", s(&fifo), s(&to_pipe), "--follow-symlinks"],
    ];
    for args in cases {
        let mut all = vec!["scan", "--format", "jsonl"];
        all.extend(args.iter().copied());
        let child = spawn(&all, Stdio::null(), &d.join("stderr"));
        let r = finish_or_fail(child, &format!("{args:?}"));
        assert!(matches!(r.code, Some(0 | 1)), "{args:?}: exit {:?}", r.code);
        let skipped = r.kind("skipped");
        assert!(skipped.iter().all(|v| v["reason"] == "not-a-file" || v["reason"] == "symlink"), "{skipped:?}");
        assert!(!skipped.is_empty(), "{args:?}: nothing skipped");
    }
}

#[test]
fn files_that_vanish_shrink_or_grow_during_the_scan() {
    let dir = util::tempdir();
    let d = dir.path().to_path_buf();
    // Large enough to be read whole or streamed (above the small-file threshold).
    let body: Vec<u8> = b"ghp_ x = 1;\n".iter().copied().cycle().take(4 << 20).collect();
    for i in 0..24 {
        write(&d, format!("f{i:02}.js"), &body);
    }
    let child = spawn(&["scan", "--format", "jsonl", "--threads", "2", s(&d)], Stdio::null(), &d.join("stderr"));
    let mutate = {
        let d = d.clone();
        std::thread::spawn(move || {
            for round in 0..50 {
                for i in 0..24 {
                    let p = d.join(format!("f{i:02}.js"));
                    match (round + i) % 3 {
                        0 => drop(fs::remove_file(&p)),
                        1 => drop(File::options().write(true).open(&p).map(|f| f.set_len(10))),
                        _ => drop(File::options().append(true).open(&p).map(|mut f| f.write_all(&body[..1 << 20]))),
                    }
                }
            }
        })
    };
    let r = finish_or_fail(child, "mutating tree");
    mutate.join().unwrap();
    assert!(matches!(r.code, Some(0..=2)), "exit {:?} (a signal means a crash, e.g. SIGBUS on a mapped file)", r.code);
    for e in r.kind("error") {
        assert!(e["path"].as_str().unwrap().contains("/f"), "{e}");
    }
}

// ---- nothing lost ------------------------------------------------------------------------

/// A tree of `n` files, each a few KiB with one secret.
fn secret_tree(d: &Path, n: usize) {
    let filler = "x".repeat(2000);
    for i in 0..n {
        let mut text = String::new();
        for _ in 0..8 {
            text.push_str(&filler);
            text.push('\n');
        }
        text.push_str(&format!("t = '{}'\n", token(1000 + i as u64)));
        write(d, format!("f{i:05}.js"), text.as_bytes());
    }
}

fn finding_keys(records: &[Value]) -> Vec<(String, u64, String)> {
    let mut v: Vec<_> = records
        .iter()
        .filter(|r| r["kind"] == "finding")
        .map(|r| (r["path"].as_str().unwrap().to_string(), r["line"].as_u64().unwrap(), r["fingerprint"].to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn sigkill_mid_scan_leaves_only_complete_lines_that_a_full_run_also_reports() {
    let dir = util::tempdir();
    let tree = dir.path().join("tree");
    fs::create_dir(&tree).unwrap();
    secret_tree(&tree, 3000);
    let out = dir.path().join("out.jsonl");
    let mut child = Command::new(util::bin())
        .args(["scan", s(&tree), "--format", "jsonl", "--output", s(&out), "--threads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once some records are on disk (polling the file, not the clock).
    loop {
        let n = fs::read(&out).map_or(0, |b| memchr::memchr_iter(b'\n', &b).count());
        if n >= 20 || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let bytes = fs::read(&out).unwrap();
    assert!(bytes.is_empty() || bytes.ends_with(b"\n"), "a partial last line");
    let partial = util::jsonl(&bytes); // panics on any incomplete line
    assert!(partial.len() >= 20);
    let full = scan(&[s(&tree)]);
    let all = finding_keys(&full.records());
    for k in finding_keys(&partial) {
        assert!(all.binary_search(&k).is_ok(), "killed run reported {k:?}, the full run did not");
    }
    assert_eq!(all.len(), 3000);
}

#[test]
#[allow(clippy::zombie_processes)] // reaped by wait4 in `reap` or `try_wait`
fn sigint_stops_cleanly_with_an_interrupted_summary_and_exit_130() {
    let dir = util::tempdir();
    let d = dir.path();
    let leak = write(d, "leak.py", format!("t = '{}'\n", token(50)).as_bytes());
    // stdin stays open, so the scan cannot finish before the signal: deterministic.
    let mut child =
        spawn(&["scan", "--format", "jsonl", "--threads", "2", "-", s(&leak)], Stdio::piped(), &d.join("e"));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"partial input\n").unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap(); // the finding: the handler is installed by now
    assert!(first.contains("\"finding\""), "{first}");
    signal(&child, libc::SIGINT);
    drop(stdin); // let the stdin unit finish
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let (code, sig, _) = reap(&child);
    assert_eq!((code, sig), (Some(130), None), "{rest}");
    let summary: Value = serde_json::from_str(rest.lines().last().unwrap()).unwrap();
    assert_eq!(summary["kind"], "summary");
    assert_eq!(summary["interrupted"], true, "{summary}");

    // A second SIGINT exits at once, even while a unit is still blocked on input.
    let mut child = spawn(&["scan", "--format", "jsonl", "-", s(&leak)], Stdio::piped(), &d.join("e"));
    let stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    // Signals sent back to back can merge into one, so keep sending until it exits (the first
    // sets the flag, any later one exits); the stdin unit is still blocked throughout.
    let deadline = Instant::now() + Duration::from_mins(1);
    let status = loop {
        signal(&child, libc::SIGINT);
        std::thread::sleep(Duration::from_millis(20));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "a second SIGINT did not stop the scan");
    };
    drop(stdin);
    assert_eq!(status.code(), Some(130));
}

#[allow(unsafe_code)]
fn signal(child: &Child, sig: i32) {
    // SAFETY: plain FFI call; the pid is our live, unreaped child.
    let rc = unsafe { libc::kill(child.id().cast_signed(), sig) };
    assert_eq!(rc, 0);
}

#[test]
#[allow(clippy::zombie_processes)] // reaped by wait4 in `reap` or `try_wait`
fn a_closed_pipe_exits_quietly_with_code_0() {
    let dir = util::tempdir();
    let tree = dir.path().join("tree");
    fs::create_dir(&tree).unwrap();
    secret_tree(&tree, 600); // far more output than a pipe buffer holds
    for format in ["jsonl", "human"] {
        let err = dir.path().join("stderr");
        let mut child = spawn(&["scan", s(&tree), "--format", format, "--show-secrets"], Stdio::null(), &err);
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap(); // `| head -1`
        drop(out);
        let (code, sig, _) = reap(&child);
        assert_eq!((code, sig), (Some(0), None), "{format}");
        let stderr = fs::read_to_string(&err).unwrap();
        assert!(stderr.is_empty(), "{format}: {stderr}");
    }
}

// ---- concurrency -------------------------------------------------------------------------

#[test]
fn the_same_findings_with_1_2_and_8_threads() {
    let corpus = util::root().join("corpus");
    let runs: Vec<_> = [1, 2, 8]
        .iter()
        .map(|t| {
            let config =
                sluicebox::Config { inputs: vec![corpus.clone()], threads: *t, ..sluicebox::Config::default() };
            util::locations(&util::scan_with(&config))
        })
        .collect();
    assert!(!runs[0].is_empty());
    assert_eq!(runs[0], runs[1], "1 vs 2 threads");
    assert_eq!(runs[0], runs[2], "1 vs 8 threads");
}

// ---- hostile rule files ------------------------------------------------------------------

#[test]
fn a_user_rule_over_the_regex_size_limit_is_refused_up_front() {
    let dir = util::tempdir();
    let d = dir.path();
    // A pattern that parses but is over regex-automata's size limit (also a fuzz reproducer).
    let rule = util::root().join("corpus/fuzz/rule_parse/oversized-pattern-panics-on-first-keyword.toml");
    write(d, "a.txt", b"hugekey abc\n");
    // Patterns compile on first use: this rule used to panic in every worker that met its
    // keyword (one internal-error record per file) instead of failing once, naming the rule.
    let r = scan(&[s(&d.join("a.txt")), "--rules", s(&rule)]);
    assert_eq!((r.code, r.signal), (Some(2), None), "{}", r.stderr);
    assert!(r.stderr.contains("huge.pattern"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

// ---- build settings ----------------------------------------------------------------------

#[test]
fn panics_unwind_so_one_bad_unit_cannot_abort_the_scan() {
    // scan.rs catches a panic per unit (tested there); `panic = "abort"` would defeat it.
    let manifest: toml::Table = fs::read_to_string(util::root().join("Cargo.toml")).unwrap().parse().unwrap();
    let profiles = manifest.get("profile").and_then(|p| p.as_table()).cloned().unwrap_or_default();
    for (name, profile) in &profiles {
        assert_ne!(profile.get("panic").and_then(|p| p.as_str()), Some("abort"), "profile.{name} sets panic = abort");
    }
}
