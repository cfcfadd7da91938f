//! Built-in checksum validators for token formats that carry one: the [`Validator`] a rule names
//! (rule data) and the check the engine runs on a candidate secret (pure functions on bytes).
//!
//! GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and npm (`npm_`) tokens end in six base62
//! characters that encode the CRC32 of the 30 random characters before them. Base64 values
//! that must decode to something specific (`user:password`, a PEM private key) are decoded and
//! checked.

use serde::Deserialize;

/// A validator a rule can name in its `validate` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validator {
    /// GitHub token: `gh?_` + 30 base62 + 6 base62 CRC32.
    GithubChecksum,
    /// npm token: `npm_` + 30 base62 + 6 base62 CRC32.
    NpmChecksum,
    /// Base64 of `user:password` (Docker `config.json` `auth`, HTTP basic auth): decodes to
    /// printable ASCII with a non-empty user and password.
    Base64UserPassword,
    /// Base64 of a PEM private key (kubeconfig `client-key-data`).
    Base64PrivateKey,
}

impl Validator {
    /// The name used in rule files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Validator::GithubChecksum => "github-checksum",
            Validator::NpmChecksum => "npm-checksum",
            Validator::Base64UserPassword => "base64-user-password",
            Validator::Base64PrivateKey => "base64-private-key",
        }
    }

    /// True when `secret` carries a correct checksum.
    pub fn check(self, secret: &[u8]) -> bool {
        match self {
            Validator::GithubChecksum | Validator::NpmChecksum => crc32_base62_tail(secret, 4),
            Validator::Base64UserPassword => decode_base64(secret).is_some_and(|d| user_password(&d)),
            Validator::Base64PrivateKey => decode_base64(secret).is_some_and(|d| {
                d.starts_with(b"-----BEGIN ")
                    && memchr::memmem::find(&d[..d.len().min(80)], b"PRIVATE KEY-----").is_some()
            }),
        }
    }
}

/// Standard or URL-safe base64, padded or not; `None` when it is not base64.
fn decode_base64(s: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|e| e.decode(s).ok())
}

/// `user:password`, printable ASCII, both parts non-empty, and the password not a placeholder
/// made of one repeated character.
fn user_password(d: &[u8]) -> bool {
    let Some(colon) = memchr::memchr(b':', d) else { return false };
    let (user, pass) = (&d[..colon], &d[colon + 1..]);
    !user.is_empty()
        && pass.len() >= 3
        && d.iter().all(|b| (0x20..0x7f).contains(b))
        && pass.iter().any(|&b| b != pass[0])
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

    #[test]
    fn base64_payloads() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s).into_bytes();
        let cases: &[(&[u8], bool)] = &[
            (&b64("deploy:Zq8#mVt2pL"), true),
            (&b64("deploy:"), false),
            (&b64(":secret"), false),
            (&b64("nocolonhere"), false),
            (&b64("user:xxxxxxxx"), false),
            (b"not base64!", false),
            (&b64("user:\u{1}\u{2}binary"), false),
        ];
        for &(v, want) in cases {
            assert_eq!(Validator::Base64UserPassword.check(v), want, "{}", String::from_utf8_lossy(v));
        }
        let key = b64("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n");
        assert!(Validator::Base64PrivateKey.check(&key));
        assert!(!Validator::Base64PrivateKey.check(&b64("-----BEGIN CERTIFICATE-----\nMIIB\n")));
    }
}
