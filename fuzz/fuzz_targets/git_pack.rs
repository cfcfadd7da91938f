//! The git pack reader (issue 13) on arbitrary bytes: `git::pack::walk` over a pack whose header
//! is valid (so the fuzzer spends its time in entries: truncated zlib, deltas pointing anywhere,
//! ref-deltas to missing or later bases, oversized sizes), under arbitrary limits. No panic, no
//! hang, objects handed out never exceed the object cap, and the reported total is what was
//! handed out.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sluicebox::git::pack::{self, PackLimits};

const MAX_INPUT: usize = 1 << 16;

#[derive(Arbitrary, Debug)]
struct Options {
    /// Object count written into the header.
    objects: u8,
    object_cap: u16,
    budget: u32,
    max_ratio: u16,
    /// Use `data` as the whole pack (header included) instead of entries after a valid header.
    raw: bool,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    opts: Options,
    data: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    if input.data.len() > MAX_INPUT {
        return;
    }
    let o = &input.opts;
    let bytes = if o.raw {
        input.data.to_vec()
    } else {
        let mut b = b"PACK\0\0\0\x02".to_vec();
        b.extend_from_slice(&u32::from(o.objects).to_be_bytes());
        b.extend_from_slice(input.data);
        b.extend_from_slice(&[0; 20]);
        b
    };
    let limits = PackLimits {
        object_cap: usize::from(o.object_cap).max(1) << 4,
        inflated_budget: u64::from(o.budget),
        max_ratio: u64::from(o.max_ratio).max(1),
    };
    let mut total = 0u64;
    let walked = pack::walk(&bytes, limits, |_, _, data| {
        assert!(data.len() <= limits.object_cap, "object over the cap");
        total += data.len() as u64;
    });
    assert_eq!(walked.bytes, total);
});
