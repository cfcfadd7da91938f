//! What a file looks like from its bytes: an executable binary, other binary data, or text that
//! looks minified or obfuscated (very long lines, high entropy, large base64 or hex blobs).

use super::package::File;

/// Executable or loadable machine code, by magic bytes or name.
pub fn executable_kind(name: &str, head: &[u8]) -> Option<&'static str> {
    let magic: &[(&[u8], &str)] = &[
        (b"\x7fELF", "ELF executable"),
        (b"MZ", "Windows PE executable"),
        (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
        (b"\xce\xfa\xed\xfe", "Mach-O executable"),
        (b"\xfe\xed\xfa\xcf", "Mach-O executable"),
        (b"\xca\xfe\xba\xbe", "Mach-O universal binary or Java class"),
        (b"\0asm", "WebAssembly module"),
    ];
    if let Some((_, kind)) = magic.iter().find(|(m, _)| head.starts_with(m)) {
        return Some(kind);
    }
    let lower = name.to_ascii_lowercase();
    [".node", ".so", ".dll", ".dylib", ".exe", ".pyd"]
        .iter()
        .any(|x| lower.ends_with(x) || lower.contains(&format!("{x}.")))
        .then_some("native library")
}

/// True when the head holds a NUL byte (not text).
pub fn is_binary(head: &[u8]) -> bool {
    memchr::memchr(0, head).is_some()
}

/// Why a text file looks minified or obfuscated, if it does.
pub fn obfuscation(name: &str, file: &File) -> Option<String> {
    let bytes = file.bytes.as_deref()?;
    if is_binary(&file.head) || bytes.len() < 512 {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    let code = [".js", ".cjs", ".mjs", ".ts", ".py", ".rb", ".rs", ".sh", ".ps1", ".php", ".pl"]
        .iter()
        .any(|x| lower.ends_with(x));
    let mut signs = Vec::new();
    let longest = bytes.split(|&b| b == b'\n').map(<[u8]>::len).max().unwrap_or(0);
    if code && longest >= 5_000 {
        signs.push(format!("a {longest}-byte line"));
    }
    let run = longest_run(bytes, |b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    let hex = longest_run(bytes, |b| b.is_ascii_hexdigit() || b == b'\\' || b == b'x');
    if hex >= 1_000 {
        signs.push(format!("a {hex}-byte hex blob"));
    } else if run >= 1_000 {
        signs.push(format!("a {run}-byte base64 blob"));
    }
    let entropy = crate::engine::entropy::shannon(bytes);
    if code && entropy >= 5.8 {
        signs.push(format!("entropy {entropy:.1} bits/byte"));
    }
    (!signs.is_empty()).then(|| signs.join(", "))
}

fn longest_run(bytes: &[u8], class: impl Fn(u8) -> bool) -> usize {
    let (mut best, mut cur) = (0, 0);
    for &b in bytes {
        if class(b) {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(bytes: &[u8]) -> File {
        File {
            size: bytes.len() as u64,
            hash: [0; 32],
            head: bytes[..bytes.len().min(8192)].to_vec(),
            bytes: Some(bytes.to_vec()),
        }
    }

    #[test]
    fn kinds() {
        assert_eq!(executable_kind("bin/x", b"\x7fELF\x02"), Some("ELF executable"));
        assert_eq!(executable_kind("build/Release/x.node", b"??"), Some("native library"));
        assert_eq!(executable_kind("lib/x.js", b"module"), None);
        let plain = "function f(a) { return a + 1; }\n".repeat(40);
        assert_eq!(obfuscation("lib/x.js", &file(plain.as_bytes())), None);
        let blob = format!("var p = \"{}\";\n", "QUJD".repeat(600));
        assert!(obfuscation("lib/x.js", &file(blob.as_bytes())).unwrap().contains("base64"));
        let hex = format!("x = '{}'\n", "\\x41".repeat(400));
        assert!(obfuscation("setup.py", &file(hex.as_bytes())).unwrap().contains("hex"));
    }
}
