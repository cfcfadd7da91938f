//! `sluice watch` name index (issue 16): build over 5 million generated npm-like names (each
//! inserted as `sluice watch` does, with the duplicate check, then the parallel build), and one
//! query against them, for a short name (one edit) and a long one (two edits: the query expands
//! its one-edit variants). The bar: build <= 10 s, query <= 50 ms.
//!
//! Names are generated (seeded, no corpus needed): 4 to 14 characters of `a-z` and `-`, as the
//! conformance check does, plus planted squats whose presence in the results is asserted, so a
//! fast but wrong index fails.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sluicebox::watch::index::{NameIndex, NameIndexBuilder};
use sluicebox::watch::names::Ecosystem;

const N: usize = 5_000_000;

fn names() -> Vec<String> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"abcdefghijklmnopqrstuvwxyz-";
    let mut out = Vec::with_capacity(N + 2);
    for _ in 0..N {
        let len = 4 + (next() % 11) as usize;
        let s: String = (0..len).map(|_| alphabet[(next() % 27) as usize] as char).collect();
        let s = s.trim_matches('-').to_string();
        out.push(if s.is_empty() { "x".to_string() } else { s });
    }
    out.push("lodahs".to_string());
    out.push("expresss-sesion".to_string());
    out.sort();
    out.dedup();
    out
}

fn build(names: &[String]) -> NameIndex {
    let mut b = NameIndexBuilder::new();
    for n in names {
        b.insert(Ecosystem::Npm, n);
    }
    b.build()
}

fn bench(c: &mut Criterion) {
    let names = names();
    let mut g = c.benchmark_group("watch");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(30));
    g.bench_function("build/5M", |b| b.iter(|| black_box(build(&names))));
    let index = build(&names);
    eprintln!("index: {} names, {} MiB", index.len(), index.heap_bytes() >> 20);
    for (target, planted) in [("lodash", "lodahs"), ("express-session", "expresss-sesion")] {
        let hits = index.query(Ecosystem::Npm, target);
        assert!(hits.iter().any(|h| index.name(h.id) == planted), "{planted} not found for {target}");
        g.bench_function(format!("query/{target}"), |b| b.iter(|| black_box(index.query(Ecosystem::Npm, target))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
