//! Pure scoring functions on byte slices: Shannon entropy of a candidate secret.

/// Shannon entropy of `bytes` in bits per byte (0.0 for an empty slice).
pub fn shannon(bytes: &[u8]) -> f32 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let len = bytes.len() as f32;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::shannon;

    #[test]
    fn table() {
        let cases: &[(&[u8], f32)] =
            &[(b"", 0.0), (b"aaaa", 0.0), (b"abab", 1.0), (b"abcd", 2.0), (b"0123456789abcdef", 4.0)];
        for &(input, want) in cases {
            let got = shannon(input);
            assert!((got - want).abs() < 1e-5, "{input:?}: {got} != {want}");
        }
    }
}
