//! Helpers shared by the integration tests: fake-secret generators (live-looking values built at
//! test time, never real credentials), a collecting reporter, and running the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::AtomicBool;

use serde_json::Value;
use sluicebox::config::Config;
use sluicebox::report::{FindingRecord, Record, Reporter, Summary};
use sluicebox::rules::RuleSet;
use sluicebox::{Engine, scan};

/// A deterministic xorshift generator so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn alnum(&mut self, n: usize) -> String {
        const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..n).map(|_| A[self.below(A.len())] as char).collect()
    }
}

/// A GitHub-style token (`ghp_`, `gho_`, ...) with a valid CRC32 tail.
pub fn github_token(rng: &mut Rng, prefix: &str) -> String {
    checksummed(rng, prefix)
}

/// An npm token with a valid CRC32 tail.
pub fn npm_token(rng: &mut Rng) -> String {
    checksummed(rng, "npm_")
}

fn checksummed(rng: &mut Rng, prefix: &str) -> String {
    let body = rng.alnum(30);
    let tail = sluicebox::rules::validate::base62_6(crc32(body.as_bytes()));
    format!("{prefix}{body}{}", std::str::from_utf8(&tail).unwrap())
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Collects every record and the summary.
#[derive(Default)]
pub struct Collect {
    pub records: Vec<Record>,
    pub summary: Option<Summary>,
}

impl Reporter for Collect {
    fn record(&mut self, _rules: &RuleSet, record: &Record) -> std::io::Result<()> {
        self.records.push(record.clone());
        Ok(())
    }

    fn end(&mut self, _rules: &RuleSet, summary: &Summary) -> std::io::Result<()> {
        self.summary = Some(summary.clone());
        Ok(())
    }
}

impl Collect {
    pub fn findings(&self) -> Vec<&FindingRecord> {
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::Finding(f) => Some(f),
                _ => None,
            })
            .collect()
    }
}

/// The builtin engine, compiled once per test binary.
pub fn engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(RuleSet::builtin().unwrap()).unwrap())
}

/// Scans with the library and the builtin engine.
pub fn scan_with(config: &Config) -> Collect {
    let mut c = Collect::default();
    scan::run(config, engine(), &mut c, &AtomicBool::new(false)).unwrap();
    c
}

/// Scans `paths` with default settings.
pub fn scan_paths(paths: &[&Path]) -> Collect {
    let config = Config { inputs: paths.iter().map(|p| p.to_path_buf()).collect(), threads: 2, ..Config::default() };
    scan_with(&config)
}

/// `(rule id, path!chain, line, column)` of every finding, sorted.
pub fn locations(c: &Collect) -> Vec<(String, String, Option<u64>, Option<u64>)> {
    let rules = engine().rules();
    let mut v: Vec<_> =
        c.findings().iter().map(|f| (rules.get(f.rule).id.clone(), f.chain.to_string(), f.line, f.column)).collect();
    v.sort();
    v
}

/// The binary under test: `$SLUICE_BIN` (e.g. a release build) or the one cargo built.
pub fn bin() -> PathBuf {
    std::env::var_os("SLUICE_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sluice")), PathBuf::from)
}

/// Runs the binary with `args`.
pub fn sluice(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().expect("run sluice")
}

/// Parses JSON Lines output.
pub fn jsonl(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary and returns (exit code, stdout, peak RSS in KiB) of that process alone.
///
/// The peak is the kernel's `VmHWM` of the child, polled until it exits. `wait4`'s `ru_maxrss`
/// is no good here: it keeps the high-water mark of the memory the child shared with this
/// (large, multi-threaded) test process before `exec`.
pub fn run_measured(args: &[&str]) -> (i32, Vec<u8>, u64) {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(bin()).args(args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).unwrap();
        out
    });
    let mut peak = 0;
    let code = loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            let hwm = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
            peak = peak.max(hwm.unwrap_or(0));
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    (code, reader.join().unwrap(), peak)
}

/// Hands out at most `chunk` bytes per `read`, like a pipe or a decompressor.
pub struct Chunked<'a> {
    pub data: &'a [u8],
    pub chunk: usize,
}

impl std::io::Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.data.len()).min(self.chunk);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// A tar archive of `files` (GNU headers, mode 644), for tests that pack their own inputs.
pub fn tar_bytes<S: AsRef<str>>(files: &[(S, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name.as_ref(), bytes.as_slice()).unwrap();
    }
    tar.into_inner().unwrap()
}

/// `bytes` gzip-compressed.
pub fn gz(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    g.write_all(bytes).unwrap();
    g.finish().unwrap()
}

/// A `.tgz` of `files`.
pub fn tgz<S: AsRef<str>>(files: &[(S, Vec<u8>)]) -> Vec<u8> {
    gz(&tar_bytes(files))
}
