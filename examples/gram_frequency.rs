//! Regenerates `src/engine/gram-frequency.txt`, the table from which the prefilter picks each
//! keyword's rarest 4-byte gram:
//!
//! ```text
//! cargo run --release --example gram_frequency -- DIR... > src/engine/gram-frequency.txt
//! ```
//!
//! It counts every case-folded (`byte | 0x20`) 4-byte gram in the files under the given
//! directories (unpacked registry packages: npm, PyPI and crates sources) and writes, per 100 MB,
//! the count of every gram of a built-in keyword seen at least 10 times per 100 MB, plus the 4,000
//! most common grams overall (a fallback for the keywords of `--rules` files). A gram missing
//! from the table counts as rare. A stale table never loses a finding; it only makes the
//! prefilter pick a worse gram for a new keyword.
#![allow(missing_docs, clippy::print_stdout)]

use std::collections::{HashMap, HashSet};

fn main() {
    let dirs: Vec<String> = std::env::args().skip(1).collect();
    assert!(!dirs.is_empty(), "usage: gram_frequency DIR...");
    let mut counts: HashMap<u32, u64> = HashMap::new();
    let mut total = 0u64;
    for dir in &dirs {
        for entry in ignore::WalkBuilder::new(dir).standard_filters(false).build().flatten() {
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let Ok(bytes) = std::fs::read(entry.path()) else { continue };
            total += bytes.len() as u64;
            for w in bytes.windows(4) {
                *counts.entry(u32::from_le_bytes([w[0], w[1], w[2], w[3]]) | 0x2020_2020).or_default() += 1;
            }
        }
    }
    let per_100mb = |n: u64| n * 100_000_000 / total.max(1);
    let mut wanted: HashSet<u32> = HashSet::new();
    let rules = sluicebox::rules::RuleSet::builtin().expect("built-in rules load");
    for rule in rules.rules() {
        for kw in &rule.keywords {
            for w in kw.as_bytes().windows(4) {
                wanted.insert(u32::from_le_bytes([w[0], w[1], w[2], w[3]]) | 0x2020_2020);
            }
        }
    }
    let mut common: Vec<(u32, u64)> = counts.iter().map(|(&g, &n)| (g, n)).collect();
    common.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut keep: Vec<(u32, u64)> = common.iter().take(4000).copied().collect();
    keep.extend(wanted.iter().filter_map(|g| Some((*g, *counts.get(g)?))));
    keep.retain(|&(_, n)| per_100mb(n) >= 10);
    keep.sort_unstable();
    keep.dedup();
    println!("# Case-folded 4-byte grams (hex, little-endian) and their count per 100 MB of registry");
    println!(
        "# package sources ({} MB). Regenerate: cargo run --release --example gram_frequency -- DIR...",
        total / 1_000_000
    );
    for (g, n) in keep {
        println!("{g:08x} {}", per_100mb(n));
    }
}
