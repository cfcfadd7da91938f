//! The AVX2 kernel of the gram filter (`gram.rs`): 8 positions per step, and the engine's only
//! `unsafe` (unaligned loads and table gathers whose bounds are checked before each use).
//! Returns how far it got; the portable loop does the rest, and does everything on CPUs without
//! AVX2. `gram::tests::simd_equals_scalar` holds the two to the same answer.
#![allow(unsafe_code)]

/// Calls `f` with the candidate positions of a prefix of `haystack`; returns the prefix's length.
#[cfg(target_arch = "x86_64")]
pub(crate) fn candidates(words: &[u32], haystack: &[u8], f: &mut impl FnMut(usize)) -> usize {
    if !std::arch::is_x86_feature_detected!("avx2") {
        return 0;
    }
    // SAFETY: the CPU supports AVX2 (checked just above).
    unsafe { avx2(words, haystack, f) }
}

/// No SIMD kernel on this architecture: the portable loop does all of it.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn candidates(_words: &[u32], _haystack: &[u8], _f: &mut impl FnMut(usize)) -> usize {
    0
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn avx2(words: &[u32], haystack: &[u8], f: &mut impl FnMut(usize)) -> usize {
    use std::arch::x86_64::{
        __m128i, __m256i, _mm_loadu_si128, _mm256_and_si256, _mm256_broadcastsi128_si256, _mm256_castsi256_ps,
        _mm256_cmpeq_epi32, _mm256_i32gather_epi32, _mm256_movemask_ps, _mm256_mullo_epi32, _mm256_or_si256,
        _mm256_set1_epi32, _mm256_setr_epi8, _mm256_shuffle_epi8, _mm256_sllv_epi32, _mm256_srli_epi32,
    };

    use super::gram::{BIT_SHIFTS, FOLD, MUL4, TABLE_WORD_BITS, TABLE_WORDS};

    const WORD: i32 = 32 - TABLE_WORD_BITS.cast_signed();
    const BIT1: i32 = BIT_SHIFTS.0.cast_signed();
    const BIT2: i32 = BIT_SHIFTS.1.cast_signed();
    assert_eq!(words.len(), TABLE_WORDS);
    let fold = _mm256_set1_epi32(FOLD.cast_signed());
    let mul4 = _mm256_set1_epi32(MUL4.cast_signed());
    let low5 = _mm256_set1_epi32(31);
    let one = _mm256_set1_epi32(1);
    // Lane k (of 8) gets the 4 bytes at position k: the low half picks from bytes 0..7, the high
    // half (which holds the same 16 bytes) from bytes 4..11.
    let spread = _mm256_setr_epi8(
        0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10,
    );
    let base = words.as_ptr().cast::<i32>();
    // `gram::Table::get` for 8 hashes: all-ones lanes where both probe bits are set.
    let probe = |h: __m256i| {
        let mask = _mm256_or_si256(
            _mm256_sllv_epi32(one, _mm256_and_si256(_mm256_srli_epi32::<BIT1>(h), low5)),
            _mm256_sllv_epi32(one, _mm256_and_si256(_mm256_srli_epi32::<BIT2>(h), low5)),
        );
        // SAFETY: every index is `h >> WORD`, below `2^TABLE_WORD_BITS` = `TABLE_WORDS`, which
        // is `words.len()` (asserted above).
        let w = unsafe { _mm256_i32gather_epi32::<4>(base, _mm256_srli_epi32::<WORD>(h)) };
        _mm256_cmpeq_epi32(_mm256_and_si256(w, mask), mask)
    };
    let mut at = 0;
    while at + 16 <= haystack.len() {
        // SAFETY: `at + 16 <= haystack.len()`, so the 16 bytes read are inside the slice;
        // `_mm_loadu_si128` needs no alignment.
        #[allow(clippy::cast_ptr_alignment)]
        let bytes = unsafe { _mm_loadu_si128(haystack.as_ptr().add(at).cast::<__m128i>()) };
        let grams = _mm256_or_si256(_mm256_shuffle_epi8(_mm256_broadcastsi128_si256(bytes), spread), fold);
        let hit = probe(_mm256_mullo_epi32(grams, mul4));
        let mut mask = _mm256_movemask_ps(_mm256_castsi256_ps(hit)).cast_unsigned();
        while mask != 0 {
            f(at + mask.trailing_zeros() as usize);
            mask &= mask - 1;
        }
        at += 8;
    }
    at
}
