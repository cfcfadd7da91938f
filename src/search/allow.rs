//! Inline allows: a line carrying `sluice:allow` (any comment syntax) is not reported, bare for
//! every rule, or followed by a rule id for that rule only (DESIGN.md "Rules").

use super::lines;

/// The mark looked for on a finding's line.
const MARK: &[u8] = b"sluice:allow";

/// How far each side of a finding the line is searched for the mark (stream windows keep this
/// much context around every finding they report, [`super::window::MARGIN`]).
pub const LINE_REACH: usize = 4096;

/// True when the line around `offset` in `bytes` carries `sluice:allow`, bare or naming `rule_id`.
pub fn allowed_inline(bytes: &[u8], offset: usize, rule_id: &str) -> bool {
    let line = lines::line_around(bytes, offset, LINE_REACH);
    let Some(i) = memchr::memmem::find(line, MARK) else {
        return false;
    };
    let rest = &line[i + MARK.len()..];
    let named: &[u8] = if rest.first().is_some_and(u8::is_ascii_whitespace) {
        let rest = rest.trim_ascii_start();
        let end = rest
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')))
            .unwrap_or(rest.len());
        &rest[..end]
    } else {
        &[]
    };
    // A bare mark allows every rule; a mark followed by a rule-id-looking word allows that rule.
    if named.contains(&b'.') { named == rule_id.as_bytes() } else { true }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_allow() {
        let cases: &[(&[u8], bool)] = &[
            (b"k = abc # sluice:allow", true),
            (b"k = abc # sluice:allow a.b", true),
            (b"k = abc # sluice:allow c.d", false),
            (b"k = abc # sluice:allow because", true),
            (b"k = abc\n# sluice:allow", false),
            (b"k = abc", false),
        ];
        for &(line, want) in cases {
            assert_eq!(allowed_inline(line, 4, "a.b"), want, "{}", String::from_utf8_lossy(line));
        }
    }
}
