//! Source maps (issue 5): a shipped `*.map` exposes the original sources, and its
//! `sourcesContent` entries are where secrets stripped from the bundle survive. [`for_each_source`]
//! streams a map's JSON and hands every `sourcesContent` string, unescaped, to a callback one at a
//! time (memory stays at one source, whatever the map's size); index maps (`sections`) are
//! followed. [`inline_maps`] finds `//# sourceMappingURL=data:application/json;base64,…` maps in
//! scripts and stylesheets and decodes them.

use std::fmt;
use std::io::{self, Read};

use base64::Engine as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Maps (and inline map payloads) larger than this are reported but not decoded.
pub const MAP_CAP: usize = 32 << 20;

/// A callback receiving `(source name, original source text)`.
pub type OnSource<'a> = dyn FnMut(&str, &str) + 'a;

/// What parsing a map found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The JSON is an object with `version` and `mappings` (or `sections`).
    pub is_map: bool,
    /// `sourcesContent` entries handed to the callback.
    pub sources: usize,
    /// The first source name (or `sourceRoot`, `file`) that is a build machine's absolute path.
    pub build_path: Option<String>,
}

/// True for a path in someone's home directory on the machine that built the map
/// (`/Users/<name>/`, `/home/<name>/`, `C:\Users\<name>\`), behind any `webpack://` prefix.
pub fn is_build_path(name: &str) -> bool {
    let name = name.split_once("://").map_or(name, |(_, rest)| rest.trim_start_matches(|c: char| c != '/'));
    let lower = name.to_ascii_lowercase();
    let home = |rest: &str| rest.split(['/', '\\']).next().is_some_and(|user| !user.is_empty());
    ["/users/", "/home/"].iter().any(|p| lower.starts_with(p) && home(&name[p.len()..]))
        || (lower.get(1..).is_some_and(|r| r.starts_with(":\\users\\") || r.starts_with(":/users/"))
            && home(&name[9..]))
}

/// Parses `json` as a source map, calling `each` for every `sourcesContent` entry. On malformed
/// JSON the entries seen before the error have been handed over already; the error is returned
/// with what was found so far.
pub fn for_each_source(json: &[u8], each: &mut OnSource<'_>) -> (Parsed, Result<(), serde_json::Error>) {
    let mut parsed = Parsed::default();
    let mut de = serde_json::Deserializer::from_slice(json);
    let result = MapSeed { each, parsed: &mut parsed, top: true }.deserialize(&mut de).and_then(|()| de.end());
    (parsed, result)
}

/// The file extensions whose content may carry an inline `sourceMappingURL=data:` map.
pub fn is_script(name: &[u8]) -> bool {
    let Some(dot) = name.iter().rposition(|&b| b == b'.') else { return false };
    matches!(&name[dot + 1..], b"js" | b"mjs" | b"cjs" | b"jsx" | b"css")
}

/// True for `*.map` names.
pub fn is_map_name(name: &[u8]) -> bool {
    name.len() > 4 && name.ends_with(b".map") && !name.ends_with(b"/.map")
}

/// The comment that starts an inline map.
const MARK: &[u8] = b"sourceMappingURL=data:";

/// Every inline source map in `bytes`, decoded to JSON; undecodable payloads are skipped.
pub fn inline_maps(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    memchr::memmem::find_iter(bytes, MARK).filter_map(|i| decode_data_url(&bytes[i + MARK.len()..]))
}

/// A reader that passes a stream through unchanged while keeping what follows each inline-map
/// marker (up to [`MAP_CAP`] bytes), so a streamed script is read once and its inline maps are
/// decoded afterwards; memory grows only when a marker is seen.
pub struct InlineTap<R: Read> {
    inner: R,
    /// The last `MARK.len() - 1` bytes seen, for a marker split across reads.
    carry: Vec<u8>,
    /// Bytes from the current marker on.
    current: Option<Vec<u8>>,
    done: Vec<Vec<u8>>,
}

impl<R: Read> InlineTap<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        InlineTap { inner, carry: Vec::new(), current: None, done: Vec::new() }
    }

    /// The inline maps seen, decoded to JSON.
    pub fn into_maps(mut self) -> Vec<Vec<u8>> {
        self.done.extend(self.current.take());
        self.done.iter().filter_map(|m| decode_data_url(&m[MARK.len()..])).collect()
    }
}

impl<R: Read> Read for InlineTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        if let Some(cur) = &mut self.current {
            let room = MAP_CAP.saturating_sub(cur.len());
            cur.extend_from_slice(&chunk[..n.min(room)]);
        }
        // Markers found as (bytes before this chunk, offset in this chunk), in stream order: one
        // spanning the previous read, then those inside the chunk (searched in place, no copy).
        let tail = MARK.len() - 1;
        let mut junction = std::mem::take(&mut self.carry);
        let before = junction.len();
        junction.extend_from_slice(&chunk[..n.min(tail)]);
        let mut starts: Vec<(&[u8], usize)> = Vec::new();
        if let Some(i) = memchr::memmem::find(&junction, MARK).filter(|&i| i < before) {
            starts.push((&junction[i..before], 0));
        }
        starts.extend(memchr::memmem::find_iter(chunk, MARK).map(|j| (&[][..], j)));
        for (k, &(prefix, from)) in starts.iter().enumerate() {
            self.done.extend(self.current.take());
            let end = starts.get(k + 1).map_or(n, |s| s.1).min(from + MAP_CAP);
            let mut cur = prefix.to_vec();
            cur.extend_from_slice(&chunk[from..end]);
            self.current = Some(cur);
        }
        self.carry = if n >= tail {
            chunk[n - tail..].to_vec()
        } else {
            junction.truncate(before);
            junction.extend_from_slice(chunk);
            junction.split_off(junction.len().saturating_sub(tail))
        };
        Ok(n)
    }
}

/// Decodes the `application/json` data URL starting after `data:`.
fn decode_data_url(rest: &[u8]) -> Option<Vec<u8>> {
    let comma = memchr::memchr(b',', &rest[..rest.len().min(128)])?;
    let media = rest[..comma].to_ascii_lowercase();
    if !media.starts_with(b"application/json") {
        return None;
    }
    let base64 = media.split(|&b| b == b';').any(|p| p.trim_ascii() == b"base64");
    let payload = &rest[comma + 1..];
    if base64 {
        let len = payload
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
            .count();
        if len > MAP_CAP * 4 / 3 {
            return None;
        }
        let text = &payload[..len];
        base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_PAD_INDIFFERENT.decode(text))
            .ok()
    } else {
        // Percent-encoded JSON, up to the end of the comment.
        let len = payload.iter().position(|&b| b.is_ascii_whitespace() || b == b'*').unwrap_or(payload.len());
        (len <= MAP_CAP).then(|| percent_decode(&payload[..len]))
    }
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if s[i] == b'%'
            && i + 2 < s.len()
            && let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// One map object (the top level, or a section's `map`).
struct MapSeed<'a, 'b> {
    each: &'a mut OnSource<'b>,
    parsed: &'a mut Parsed,
    top: bool,
}

impl<'de> DeserializeSeed<'de> for MapSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MapSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a source map object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut version, mut mappings) = (false, false);
        let mut sources: Option<Vec<Option<String>>> = None;
        // Contents that came before `sources` (rare): kept until their names are known.
        let mut pending: Vec<Option<String>> = Vec::new();
        let mut index = 0usize;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => {
                    version = true;
                    map.next_value::<IgnoredAny>()?;
                }
                "mappings" => {
                    mappings = true;
                    map.next_value::<IgnoredAny>()?;
                }
                "sections" => {
                    mappings = true;
                    map.next_value_seed(SectionsSeed { each: &mut *self.each, parsed: &mut *self.parsed })?;
                }
                "sources" => {
                    let names = map.next_value::<Lenient>()?.0;
                    if self.parsed.build_path.is_none() {
                        self.parsed.build_path = names.iter().flatten().find(|n| is_build_path(n)).cloned();
                    }
                    sources = Some(names);
                }
                "sourceRoot" | "file" => {
                    let v = map.next_value::<serde_json::Value>()?;
                    if let Some(s) = v.as_str().filter(|s| is_build_path(s))
                        && self.parsed.build_path.is_none()
                    {
                        self.parsed.build_path = Some(s.to_string());
                    }
                }
                "sourcesContent" => {
                    let seq = ContentsSeed {
                        each: &mut *self.each,
                        parsed: &mut *self.parsed,
                        sources: sources.as_deref(),
                        pending: &mut pending,
                        index: &mut index,
                    };
                    map.next_value_seed(seq)?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        for (i, text) in pending.iter().enumerate() {
            if let Some(text) = text {
                let names = sources.as_deref().unwrap_or(&[]);
                (self.each)(&source_name(names, i), text);
                self.parsed.sources += 1;
            }
        }
        if self.top {
            self.parsed.is_map = version && mappings;
        }
        Ok(())
    }
}

fn source_name(sources: &[Option<String>], i: usize) -> String {
    match sources.get(i) {
        Some(Some(name)) if !name.is_empty() => name.clone(),
        _ => format!("sourcesContent[{i}]"),
    }
}

/// `sources`: strings or nulls; anything else becomes `None` instead of an error.
struct Lenient(Vec<Option<String>>);

impl<'de> de::Deserialize<'de> for Lenient {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lenient;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of source names")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lenient, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<serde_json::Value>()? {
                    out.push(match v {
                        serde_json::Value::String(s) => Some(s),
                        _ => None,
                    });
                }
                Ok(Lenient(out))
            }
            fn visit_unit<E>(self) -> Result<Lenient, E> {
                Ok(Lenient(Vec::new()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `sourcesContent`: each string is handed over as soon as it is parsed.
struct ContentsSeed<'a, 'b, 's> {
    each: &'a mut OnSource<'b>,
    parsed: &'a mut Parsed,
    sources: Option<&'s [Option<String>]>,
    pending: &'a mut Vec<Option<String>>,
    index: &'a mut usize,
}

impl<'de> DeserializeSeed<'de> for ContentsSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ContentsSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of source texts")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let one = OneContent {
                seed: &mut *self.each,
                parsed: &mut *self.parsed,
                sources: self.sources,
                pending: &mut *self.pending,
                index: *self.index,
            };
            if seq.next_element_seed(one)?.is_none() {
                return Ok(());
            }
            *self.index += 1;
        }
    }
}

struct OneContent<'a, 'b, 's> {
    seed: &'a mut OnSource<'b>,
    parsed: &'a mut Parsed,
    sources: Option<&'s [Option<String>]>,
    pending: &'a mut Vec<Option<String>>,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for OneContent<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OneContent<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a source text or null")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        match self.sources {
            Some(names) => {
                (self.seed)(&source_name(names, self.index), text);
                self.parsed.sources += 1;
            }
            None => {
                self.pending.resize(self.index, None);
                self.pending.push(Some(text.to_string()));
            }
        }
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// `sections` of an index map: each `map` is parsed like a top-level map.
struct SectionsSeed<'a, 'b> {
    each: &'a mut OnSource<'b>,
    parsed: &'a mut Parsed,
}

impl<'de> DeserializeSeed<'de> for SectionsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SectionsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of sections")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(SectionSeed { each: &mut *self.each, parsed: &mut *self.parsed })?.is_some() {}
        Ok(())
    }
}

struct SectionSeed<'a, 'b> {
    each: &'a mut OnSource<'b>,
    parsed: &'a mut Parsed,
}

impl<'de> DeserializeSeed<'de> for SectionSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SectionSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a section")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "map" {
                map.next_value_seed(MapSeed { each: &mut *self.each, parsed: &mut *self.parsed, top: false })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(json: &str) -> (Parsed, bool, Vec<(String, String)>) {
        let mut out = Vec::new();
        let (parsed, result) = for_each_source(json.as_bytes(), &mut |n, t| out.push((n.to_string(), t.to_string())));
        (parsed, result.is_ok(), out)
    }

    #[test]
    fn sources_content_is_unescaped_and_named() {
        let (p, ok, out) = collect(
            r#"{"version":3,"file":"a.js","sources":["../src/a.ts",null],"sourcesContent":["line1\nk = \"v\"\n","b"],"names":[],"mappings":"AAAA"}"#,
        );
        assert!(ok && p.is_map);
        assert_eq!(
            out,
            vec![("../src/a.ts".into(), "line1\nk = \"v\"\n".into()), ("sourcesContent[1]".into(), "b".into())]
        );
    }

    #[test]
    fn contents_before_sources_and_nulls() {
        let (p, ok, out) = collect(r#"{"sourcesContent":[null,"x"],"sources":["a","b"],"version":3,"mappings":""}"#);
        assert!(ok && p.is_map);
        assert_eq!(out, vec![("b".into(), "x".into())]);
    }

    #[test]
    fn index_maps() {
        let (p, ok, out) = collect(
            r#"{"version":3,"sections":[{"offset":{"line":0,"column":0},"map":{"version":3,"sources":["s.ts"],"sourcesContent":["t"],"mappings":""}}]}"#,
        );
        assert!(ok && p.is_map);
        assert_eq!(out, vec![("s.ts".into(), "t".into())]);
    }

    #[test]
    fn not_a_map() {
        assert!(!collect(r#"{"a":1}"#).0.is_map);
        assert!(!collect("[1,2]").1);
        assert!(!collect("LINKER MAP\n.text 0x0").1);
        let (p, ok, out) = collect(r#"{"version":3,"sources":["a"],"sourcesContent":["x"],"mappings":"#);
        assert!(!ok && p.sources == 1 && out.len() == 1, "entries before the error are handed over");
    }

    #[test]
    fn inline() {
        let json = r#"{"version":3,"sources":["u.ts"],"sourcesContent":["q"],"mappings":"A"}"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        for prefix in [
            "application/json;base64,",
            "application/json;charset=utf-8;base64,",
            "application/json;charset:utf-8;base64,",
        ] {
            let js = format!("x();\n//# sourceMappingURL=data:{prefix}{b64}\n");
            let maps: Vec<_> = inline_maps(js.as_bytes()).collect();
            if prefix.contains("charset:") {
                assert!(maps.is_empty() || maps[0] == json.as_bytes());
            } else {
                assert_eq!(maps, vec![json.as_bytes().to_vec()], "{prefix}");
            }
        }
        let css = format!("a{{}}\n/*# sourceMappingURL=data:application/json;base64,{b64} */");
        assert_eq!(inline_maps(css.as_bytes()).count(), 1);
        let url = "x\n//# sourceMappingURL=data:application/json,%7B%22version%22%3A3%7D\n";
        assert_eq!(inline_maps(url.as_bytes()).collect::<Vec<_>>(), vec![br#"{"version":3}"#.to_vec()]);
        assert_eq!(inline_maps(b"//# sourceMappingURL=index.js.map\n").count(), 0);
        assert_eq!(inline_maps(b"//# sourceMappingURL=data:text/plain;base64,eA==\n").count(), 0);
    }

    #[test]
    fn inline_maps_in_a_stream() {
        let json = r#"{"version":3,"sources":["u.ts"],"sourcesContent":["q"],"mappings":"A"}"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        let js = format!(
            "a();\n//# sourceMappingURL=data:application/json;base64,{b64}\nb();\n//# sourceMappingURL=data:application/json;base64,{b64}\n"
        );
        for chunk in [1, 3, 7, 64, 4096] {
            let mut tap = InlineTap::new(std::io::Cursor::new(js.as_bytes()));
            let mut out = Vec::new();
            let mut buf = vec![0; chunk];
            loop {
                let n = tap.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert_eq!(out, js.as_bytes());
            assert_eq!(tap.into_maps(), vec![json.as_bytes().to_vec(); 2], "chunk {chunk}");
        }
    }

    #[test]
    fn build_paths() {
        for yes in ["/Users/ann/src/a.ts", "webpack:///home/bob/app/x.js", "C:\\Users\\cy\\a.ts", "c:/Users/d/a.ts"] {
            assert!(is_build_path(yes), "{yes}");
        }
        for no in ["../src/a.ts", "webpack:///./src/x.js", "/usr/lib/x.js", "/home/", "src/home/x"] {
            assert!(!is_build_path(no), "{no}");
        }
        let (p, ok, _) = collect(r#"{"version":3,"sources":["a.ts","/home/ci/b.ts"],"mappings":""}"#);
        assert!(ok && p.build_path.as_deref() == Some("/home/ci/b.ts"));
    }

    #[test]
    fn names() {
        assert!(is_map_name(b"dist/app.js.map"));
        assert!(!is_map_name(b"dist/.map") && !is_map_name(b"map") && !is_map_name(b"a.mapx"));
        assert!(is_script(b"a/b.mjs") && is_script(b"a.css") && !is_script(b"a.ts") && !is_script(b"js"));
    }
}
