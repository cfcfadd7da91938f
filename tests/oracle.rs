//! The fast path must equal the naive oracle: the prefiltered, windowed engine finds exactly
//! what running every rule's regex over the whole input finds. That every read path (slice,
//! streamed windows of any size, archive members, mapped zips) reports identical findings is
//! the searcher tester's job (`tests/searcher.rs`).

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
