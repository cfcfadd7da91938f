//! Engine benchmarks (criterion, `Throughput::Bytes`): rule compilation, and scanning the
//! real-world haystacks in `corpus/bench/` (provenance in `corpus/README.md`) with the
//! prefiltered engine versus the naive all-regex oracle. The finding count is asserted against
//! the oracle so a fast but wrong change fails.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluicebox::Engine;
use sluicebox::rules::RuleSet;

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

fn compile(c: &mut Criterion) {
    c.bench_function("compile/builtin-rules", |b| {
        b.iter(|| Engine::new(black_box(RuleSet::builtin().unwrap())).unwrap());
    });
    // Every pattern compiled eagerly (what `sluice rules check` and `--rules` files pay; scans
    // compile a builtin pattern on its rule's first keyword hit).
    c.bench_function("compile/builtin-rules-all-patterns", |b| {
        b.iter(|| {
            let engine = Engine::new(black_box(RuleSet::builtin().unwrap())).unwrap();
            engine.compile_all().unwrap();
        });
    });
}

fn scan(c: &mut Criterion) {
    let engine = Engine::new(RuleSet::builtin().unwrap()).unwrap();
    let mut scratch = engine.scratch();
    let all: Vec<u8> = haystacks().into_iter().flat_map(|(_, b)| b).collect();
    let (mut fast, mut naive) = (Vec::new(), Vec::new());
    engine.scan(&all, &mut scratch, &mut fast);
    engine.scan_naive(&all, &mut scratch, &mut naive);
    assert_eq!(fast.len(), naive.len(), "prefiltered engine disagrees with the oracle");
    let (candidates, hits, rules) = engine.hit_stats(&all);
    eprintln!(
        "{} rules; {candidates} gram candidates ({:.3}% of positions); {hits} keyword hits; rules run per hit {:.2}",
        engine.rules().len(),
        candidates as f64 * 100.0 / all.len().max(1) as f64,
        rules as f64 / hits.max(1) as f64
    );

    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Bytes(all.len() as u64));
    group.bench_function("corpus-bench/prefiltered", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            engine.scan(black_box(&all), &mut scratch, &mut out);
            assert_eq!(out.len(), fast.len());
        });
    });
    group.sample_size(10);
    group.bench_function("corpus-bench/naive-oracle", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            engine.scan_naive(black_box(&all), &mut scratch, &mut out);
        });
    });
    group.finish();

    let mut group = c.benchmark_group("scan-file");
    for (name, bytes) in haystacks() {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut out = Vec::new();
                engine.scan(black_box(&bytes), &mut scratch, &mut out);
            });
        });
    }
    group.finish();
}

/// A GitHub-style token with a valid CRC32 tail (made up at bench time).
fn github_token(seed: &mut u64) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let body: String = (0..30)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            A[(*seed % 62) as usize] as char
        })
        .collect();
    let mut crc = !0u32;
    for &b in body.as_bytes() {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    let (mut n, mut tail) = (!crc, Vec::new());
    for _ in 0..6 {
        tail.push(A[(n % 62) as usize]);
        n /= 62;
    }
    tail.reverse();
    format!("ghp_{body}{}", String::from_utf8(tail).unwrap())
}

/// Issue 14: a buffer dense with findings (one every 8 lines, about 17,000 per 8 MiB) costs time
/// linear in its size: line numbers are counted once per buffer, not once per finding.
fn dense(c: &mut Criterion) {
    let engine = Engine::new(RuleSet::builtin().unwrap()).unwrap();
    let mut group = c.benchmark_group("dense-findings");
    group.sample_size(10);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for mib in [1usize, 8] {
        let (mut text, mut planted) = (String::new(), 0);
        while text.len() < mib << 20 {
            if planted * 8 <= text.len() / 61 {
                text.push_str(&format!("k = \"{}\"\n", github_token(&mut seed)));
                planted += 1;
            } else {
                text.push_str(&"x".repeat(60));
                text.push('\n');
            }
        }
        let mut searcher = sluicebox::search::Searcher::new(&engine, 1 << 20);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("{mib}MiB"), |b| {
            b.iter(|| {
                let mut out: Vec<(sluicebox::engine::Finding, u64, u64)> = Vec::new();
                searcher.slice(black_box(text.as_bytes()), &mut out);
                assert_eq!(out.len(), planted);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, compile, scan, dense);
criterion_main!(benches);
