//! Archive benchmarks (criterion, `Throughput::Bytes` of expanded bytes): the haystacks in
//! `corpus/bench/` (provenance in `corpus/README.md`) packed at bench time as a `.tgz`, a
//! `.zip`, a `.whl` inside a `.tgz` and a `.tar.zst`, then
//! - `inflate/*`: the decoder alone (flate2 or zstd to a sink): the floor;
//! - `expand/*`: `Expander::process` with a visitor that only drains the members: expansion
//!   overhead (tar/zip parsing, budgets, small-member buffering) over the floor;
//! - `scan/*`: expansion plus the builtin engine over every member, as `sluice scan` does.
//!
//! The finding count of every `scan/*` run is asserted equal to scanning the plain files, so a
//! fast but wrong change fails.
#![allow(missing_docs)]

use std::hint::black_box;
use std::io::{Cursor, Write};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluicebox::Engine;
use sluicebox::error::Error;
use sluicebox::input::archive::Expander;
use sluicebox::input::{Chain, Content, Limits, SkipReason, Visitor};
use sluicebox::rules::RuleSet;
use sluicebox::search::{self, Searcher, window};

fn haystacks() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/bench");
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

fn tar(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, format!("package/{name}"), &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zip(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        w.start_file(format!("pkg/{name}"), options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Drains every member (and counts its bytes): expansion without scanning.
#[derive(Default)]
struct Drain {
    bytes: u64,
    buf: Vec<u8>,
}

impl Visitor for Drain {
    fn leaf(&mut self, _chain: &Chain, content: Content<'_>) -> Result<(), Error> {
        match content {
            Content::Bytes(b) => self.bytes += black_box(b).len() as u64,
            Content::Reader(r) => {
                self.buf.resize(1 << 20, 0);
                loop {
                    let n = r.read(&mut self.buf).map_err(|e| Error::new(sluicebox::ErrorKind::Io, e.to_string()))?;
                    if n == 0 {
                        break;
                    }
                    self.bytes += n as u64;
                }
            }
        }
        Ok(())
    }
    fn skipped(&mut self, chain: &Chain, _reason: SkipReason, detail: &str) {
        panic!("{chain}: skipped: {detail}");
    }
    fn error(&mut self, chain: &Chain, error: &Error) {
        panic!("{chain}: {error}");
    }
}

/// Searches every member as the scan workers do (the same [`Searcher`]: slices whole, streams
/// in overlapping windows), and counts findings.
struct Scan<'e> {
    searcher: Searcher<'e>,
    findings: Count,
}

/// A sink that counts located findings.
#[derive(Default)]
struct Count(usize);

impl search::Sink for Count {
    fn found(&mut self, _found: search::Located<'_>) {
        self.0 += 1;
    }
}

impl Visitor for Scan<'_> {
    fn leaf(&mut self, _chain: &Chain, content: Content<'_>) -> Result<(), Error> {
        match content {
            Content::Bytes(b) => self.searcher.slice(b, &mut self.findings),
            Content::Reader(r) => {
                self.searcher
                    .stream(r, &mut self.findings)
                    .map_err(|e| Error::new(sluicebox::ErrorKind::Io, e.to_string()))?;
            }
        }
        Ok(())
    }
    fn skipped(&mut self, chain: &Chain, _reason: SkipReason, detail: &str) {
        panic!("{chain}: skipped: {detail}");
    }
    fn error(&mut self, chain: &Chain, error: &Error) {
        panic!("{chain}: {error}");
    }
}

fn archives(c: &mut Criterion) {
    let files = haystacks();
    let plain: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
    let tar_bytes = tar(&files);
    let tgz = gzip(&tar_bytes);
    let zip_bytes = zip(&files);
    let whl_in_tgz = gzip(&tar(&[("vendor/x.whl".to_string(), zip_bytes.clone())]));
    let tzst = zstd::encode_all(&tar_bytes[..], 3).unwrap();
    let cases: [(&str, &[u8]); 4] =
        [("tgz", &tgz), ("zip", &zip_bytes), ("whl-in-tgz", &whl_in_tgz), ("tar.zst", &tzst)];
    let expander = Expander { limits: Limits::default(), enabled: true };
    let chain = Chain::file("bench");

    let mut group = c.benchmark_group("inflate");
    group.throughput(Throughput::Bytes(tar_bytes.len() as u64));
    group.bench_function("gzip", |b| {
        b.iter(|| {
            std::io::copy(&mut flate2::read::MultiGzDecoder::new(black_box(&tgz[..])), &mut std::io::sink()).unwrap()
        });
    });
    group.bench_function("zstd", |b| {
        b.iter(|| std::io::copy(&mut zstd::Decoder::new(black_box(&tzst[..])).unwrap(), &mut std::io::sink()).unwrap());
    });
    group.finish();

    let mut group = c.benchmark_group("expand");
    group.throughput(Throughput::Bytes(plain));
    for (name, bytes) in cases {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut v = Drain::default();
                expander.process(&chain, Content::Bytes(black_box(bytes)), &mut v).unwrap();
                assert_eq!(v.bytes, plain);
            });
        });
    }
    group.finish();

    let engine = Engine::new(RuleSet::builtin().unwrap()).unwrap();
    let mut searcher = Searcher::new(&engine, window::WINDOW);
    let mut want = Count::default();
    for (_, bytes) in &files {
        searcher.slice(bytes, &mut want);
    }
    let want = want.0;
    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Bytes(plain));
    group.sample_size(20);
    let mut v = Scan { searcher, findings: Count::default() };
    for (name, bytes) in [("plain", &[][..])].into_iter().chain(cases) {
        group.bench_function(name, |b| {
            b.iter(|| {
                v.findings = Count::default();
                if bytes.is_empty() {
                    for (_, f) in &files {
                        v.leaf(&chain, Content::Bytes(black_box(f))).unwrap();
                    }
                } else {
                    expander.process(&chain, Content::Bytes(black_box(bytes)), &mut v).unwrap();
                }
                assert_eq!(v.findings.0, want, "{name}: findings differ from the plain files");
            });
        });
    }
    group.finish();
}

criterion_group!(benches, archives);
criterion_main!(benches);
