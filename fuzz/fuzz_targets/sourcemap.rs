//! Source-map decoding (`checks::sourcemap`) on arbitrary bytes: `for_each_source` never panics,
//! counts what it hands over and never hands over more text than the JSON holds, and inline
//! `data:` maps decode without panicking, each into a map no larger than its payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluicebox::checks::sourcemap;

const MAX_INPUT: usize = 1 << 16;

/// Every `sourcesContent` entry of `json`, checked against what the parser says it found.
fn sources(json: &[u8]) -> usize {
    let mut count = 0;
    let mut text = 0;
    let (parsed, _) = sourcemap::for_each_source(json, &mut |_name, source| {
        count += 1;
        text += source.len();
    });
    assert_eq!(parsed.sources, count, "source count");
    // Unescaping only shrinks: a JSON string never decodes to more bytes than it spans.
    assert!(text <= json.len(), "{text} bytes of sources out of {} bytes of JSON", json.len());
    count
}

fuzz_target!(|data: &[u8]| {
    let data = &data[..data.len().min(MAX_INPUT)];
    sources(data);
    for map in sourcemap::inline_maps(data) {
        // base64 and percent-decoding both shrink their input.
        assert!(map.len() <= data.len());
        sources(&map);
    }
});
