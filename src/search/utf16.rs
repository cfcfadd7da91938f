//! UTF-16 text (PowerShell, .NET, Windows tools) decoded to UTF-8 so its secrets are found: with
//! a byte-order mark the decoded text replaces the bytes; without one, a guess adds the decoded
//! text beside the raw bytes, so a wrong guess hides nothing (issue 7). Slices only: a stream is
//! scanned as it is (a UTF-16 file over the in-memory size is not decoded).

/// UTF-16 text with a byte-order mark, decoded.
pub fn decode_bom(bytes: &[u8]) -> Option<Vec<u8>> {
    let (le, body) = match bytes {
        [0xff, 0xfe, rest @ ..] => (true, rest),
        [0xfe, 0xff, rest @ ..] => (false, rest),
        _ => return None,
    };
    Some(to_utf8(body, le))
}

/// UTF-16 text without a byte-order mark, decoded: at least 90% of the first (up to 256) code
/// units are ASCII text with a zero high byte, in the same byte order.
pub fn guess(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return None;
    }
    let le = guess_order(bytes)?;
    Some(to_utf8(bytes, le))
}

/// True when [`decode_bom`] or [`guess`] would decode `bytes` (a slice is then searched
/// differently from a stream of the same bytes).
pub fn is_utf16(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) || guess_order(bytes).is_some()
}

/// `Some(true)` for little-endian-looking text, `Some(false)` for big-endian, else `None`.
fn guess_order(bytes: &[u8]) -> Option<bool> {
    let text = |b: u8| b.is_ascii_graphic() || matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let head = &bytes[..bytes.len().min(512)];
    let n = head.len() / 2;
    if n < 8 {
        return None;
    }
    let (mut le, mut be) = (0, 0);
    for c in head.chunks_exact(2) {
        match (c[0], c[1]) {
            (a, 0) if text(a) => le += 1,
            (0, b) if text(b) => be += 1,
            _ => {}
        }
    }
    if le * 10 >= n * 9 {
        Some(true)
    } else if be * 10 >= n * 9 {
        Some(false)
    } else {
        None
    }
}

fn to_utf8(body: &[u8], le: bool) -> Vec<u8> {
    let units = body
        .chunks_exact(2)
        .map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) });
    let s: String = char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect();
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_bom() {
        let text = "key = 'x'";
        let mut le = vec![0xff, 0xfe];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode_bom(&le).unwrap(), text.as_bytes());
        let mut be = vec![0xfe, 0xff];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode_bom(&be).unwrap(), text.as_bytes());
        assert!(guess(&le).is_none() && guess(&be).is_none(), "a BOM is not a guess");
        assert!(is_utf16(&le) && is_utf16(&be));
    }

    #[test]
    fn without_bom() {
        let text = "$token = 'abc'\r\nWrite-Host $token\r\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(guess(&le).unwrap(), text.as_bytes());
        assert_eq!(guess(&be).unwrap(), text.as_bytes());
        assert!(is_utf16(&le) && is_utf16(&be));
        let cases: &[&[u8]] =
            &[&[0; 4096], b"plain ascii text, long enough to judge", &[0x41, 0, 0x42, 0], &[0xff; 64]];
        for &bytes in cases {
            assert!(guess(bytes).is_none() && !is_utf16(bytes), "{bytes:?}");
        }
    }
}
