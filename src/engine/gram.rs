//! The prefilter's first stage: a bitset of hashed, case-folded 4-byte grams, one per keyword.
//!
//! Every keyword of 4 bytes or more is represented by its rarest 4-byte gram (rarity from
//! `gram-frequency.txt`, measured on registry packages); a keyword of 3 bytes by the 128 grams
//! of itself plus any folded byte (one table lookup per position instead of two: the table
//! lookups are this stage's cost). A position whose 4 bytes pass the table is a *candidate*; the
//! prefilter then compares the keywords filed under that hash. The test at each position is a
//! few independent instructions (no dependency from one byte to the next, unlike an automaton's
//! state), and the AVX2 kernel (`simd.rs`) tests 8 positions at once, so this stage runs several
//! times faster than an aho-corasick DFA over a thousand keywords, whose table does not fit in
//! the cache. Folding is `byte | 0x20`: it maps ASCII upper to lower case (and merges a few
//! other pairs such as `_` and DEL), so it can only add candidates, never lose one.

use std::sync::OnceLock;

/// log2 of the table's size in `u32` words: 256 KiB.
pub(crate) const TABLE_WORD_BITS: u32 = 16;
/// Number of `u32` words in the table.
pub(crate) const TABLE_WORDS: usize = 1 << TABLE_WORD_BITS;
/// Multiplier of the 4-byte hash (odd: multiplication is a bijection).
pub(crate) const MUL4: u32 = 0x9E37_79B1;
/// Case fold of four bytes at once.
pub(crate) const FOLD: u32 = 0x2020_2020;
/// Shifts that take the two bit positions (5 bits each) out of a hash, below the word index.
pub(crate) const BIT_SHIFTS: (u32, u32) = (32 - TABLE_WORD_BITS - 5, 32 - TABLE_WORD_BITS - 10);

/// Hash of the 4 bytes `w` (little-endian), folded. Its top bits pick a table word, the next
/// two 5-bit fields two bits in it (a Bloom filter with both probes in one word: one load per
/// position, and about 0.01% false candidates with 6,500 grams where one bit gave 0.1% with 1,300).
#[inline]
pub(crate) fn hash4(w: u32) -> u32 {
    (w | FOLD).wrapping_mul(MUL4)
}

/// The table word and the two-bit mask of hash `h`.
#[inline]
fn probe(h: u32) -> (usize, u32) {
    let mask = 1 << (h >> BIT_SHIFTS.0 & 31) | 1 << (h >> BIT_SHIFTS.1 & 31);
    ((h >> (32 - TABLE_WORD_BITS)) as usize, mask)
}

/// The bytes at `at..at + 4` as a little-endian word, zero-padded past the end.
#[inline]
pub(crate) fn word(haystack: &[u8], at: usize) -> u32 {
    match haystack.get(at..at + 4) {
        Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        None => {
            let mut b = [0u8; 4];
            let tail = haystack.get(at..).unwrap_or_default();
            b[..tail.len()].copy_from_slice(tail);
            u32::from_le_bytes(b)
        }
    }
}

/// The filter: the probe bits of every keyword's gram hash are set.
#[derive(Debug)]
pub(crate) struct Table {
    words: Vec<u32>,
}

impl Table {
    pub(crate) fn new() -> Table {
        Table { words: vec![0; TABLE_WORDS] }
    }

    pub(crate) fn set(&mut self, h: u32) {
        let (at, mask) = probe(h);
        self.words[at] |= mask;
    }

    #[inline]
    pub(crate) fn get(&self, h: u32) -> bool {
        let (at, mask) = probe(h);
        self.words[at] & mask == mask
    }

    /// True when position `at` is a candidate.
    #[inline]
    fn candidate(&self, haystack: &[u8], at: usize) -> bool {
        self.get(hash4(word(haystack, at)))
    }

    /// Calls `f` with every candidate position of `haystack`, in increasing order.
    pub(crate) fn for_each_candidate(&self, haystack: &[u8], f: &mut impl FnMut(usize)) {
        let done = super::simd::candidates(&self.words, haystack, f);
        self.scalar(haystack, done, f);
    }

    /// The portable loop, from position `from` on (the SIMD kernel's tail, or all of it).
    pub(crate) fn scalar(&self, haystack: &[u8], from: usize, f: &mut impl FnMut(usize)) {
        for at in from..haystack.len() {
            if self.candidate(haystack, at) {
                f(at);
            }
        }
    }
}

/// Offset of `keyword`'s rarest 4-byte gram (keywords of 4 bytes or more).
pub(crate) fn rarest_gram(keyword: &[u8]) -> usize {
    (0..=keyword.len() - 4).min_by_key(|&o| frequency(word(keyword, o) | FOLD)).unwrap_or(0)
}

/// Occurrences per 100 MB of the folded gram `g` in registry packages; 0 when rarer than the
/// table records.
fn frequency(g: u32) -> u32 {
    static TABLE: OnceLock<Vec<(u32, u32)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut v: Vec<(u32, u32)> = include_str!("gram-frequency.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (g, n) = l.split_once(' ')?;
                Some((u32::from_str_radix(g, 16).ok()?, n.trim().parse().ok()?))
            })
            .collect();
        v.sort_unstable();
        v
    });
    table.binary_search_by_key(&g, |e| e.0).map_or(0, |i| table[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_equals_scalar() {
        let mut table = Table::new();
        for kw in [&b"oken"[..], b"ghp_", b"$1$ ", b"eyjh"] {
            table.set(hash4(word(kw, 0)));
        }
        let mut state = 0x2545_f491_u64;
        let mut hay = Vec::new();
        for i in 0..5000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let alphabet = b"okenTOKENghp_$1eyJ x";
            hay.push(alphabet[(state % alphabet.len() as u64) as usize]);
            if i % 97 == 0 {
                hay.extend_from_slice(b"GHP_");
            }
        }
        for len in [0, 1, 3, 4, 15, 16, 17, 31, 33, 100, hay.len()] {
            let h = &hay[..len];
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            table.for_each_candidate(h, &mut |p| fast.push(p));
            table.scalar(h, 0, &mut |p| slow.push(p));
            assert_eq!(fast, slow, "length {len}");
        }
    }

    #[test]
    fn rarest_gram_avoids_common_words() {
        // `toke` and `oken` are common in code; the grams around `_` are not.
        let toke = frequency(word(b"toke", 0) | FOLD);
        assert!(toke > 1000, "{toke}");
        let at = rarest_gram(b"token_secret");
        assert!((2..=5).contains(&at), "{at}");
        assert!(frequency(word(b"token_secret", at) | FOLD) < toke / 10);
    }
}
