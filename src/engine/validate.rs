//! Built-in checksum validators for token formats that carry one.
//!
//! GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and npm (`npm_`) tokens end in six base62
//! characters that encode the CRC32 of the 30 random characters before them.

use serde::Deserialize;

/// A validator a rule can name in its `validate` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validator {
    /// GitHub token: `gh?_` + 30 base62 + 6 base62 CRC32.
    GithubChecksum,
    /// npm token: `npm_` + 30 base62 + 6 base62 CRC32.
    NpmChecksum,
}

impl Validator {
    /// The name used in rule files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Validator::GithubChecksum => "github-checksum",
            Validator::NpmChecksum => "npm-checksum",
        }
    }

    /// True when `secret` carries a correct checksum.
    pub fn check(self, secret: &[u8]) -> bool {
        match self {
            Validator::GithubChecksum | Validator::NpmChecksum => crc32_base62_tail(secret, 4),
        }
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `prefix_len` bytes of prefix, 30 bytes of body, 6 bytes of base62 CRC32 of the body.
fn crc32_base62_tail(secret: &[u8], prefix_len: usize) -> bool {
    if secret.len() != prefix_len + 36 {
        return false;
    }
    let body = &secret[prefix_len..prefix_len + 30];
    let tail = &secret[prefix_len + 30..];
    let crc = crc32fast::hash(body);
    // Both base62 digit orders are in use by token generators (`0-9A-Za-z` here, `0-9a-zA-Z`
    // from Python's `digits + ascii_letters`); accepting either costs a 2/62^6 false-positive
    // rate instead of 1/62^6 (issue 7: valid tokens from the other order were missed).
    tail == encode6(crc, BASE62) || tail == encode6(crc, BASE62_LOWER_FIRST)
}

/// The other base62 digit order: digits, lowercase, uppercase.
const BASE62_LOWER_FIRST: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// `n` as six base62 digits of `alphabet`, most significant first (62^6 > 2^32: always fits).
fn encode6(mut n: u32, alphabet: &[u8; 62]) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = alphabet[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// Encodes `n` as six base62 digits (used by tests to build valid tokens).
pub fn base62_6(n: u32) -> [u8; 6] {
    encode6(n, BASE62)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(prefix: &str, body: &str) -> Vec<u8> {
        let mut t = prefix.as_bytes().to_vec();
        t.extend_from_slice(body.as_bytes());
        t.extend_from_slice(&base62_6(crc32fast::hash(body.as_bytes())));
        t
    }

    #[test]
    fn checksums() {
        let body = "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0";
        assert_eq!(body.len(), 30);
        let good = token("ghp_", body);
        assert!(Validator::GithubChecksum.check(&good));
        let mut bad = good.clone();
        bad[10] = b'Z';
        assert!(!Validator::GithubChecksum.check(&bad));
        assert!(!Validator::GithubChecksum.check(b"ghp_short"));
        assert!(Validator::NpmChecksum.check(&token("npm_", body)));
        // The same checksum written with the lowercase-first digit order is valid too.
        let mut other = b"ghp_".to_vec();
        other.extend_from_slice(body.as_bytes());
        other.extend_from_slice(&encode6(crc32fast::hash(body.as_bytes()), BASE62_LOWER_FIRST));
        assert_ne!(other, good);
        assert!(Validator::GithubChecksum.check(&other));
    }
}
