//! Rule files from arbitrary text: `RuleSet::add_toml` never panics; a rule set it accepts either
//! compiles into an engine or fails with an error naming a rule, and an engine scans its own
//! examples (the `rules check` path) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluicebox::engine::Engine;
use sluicebox::engine::check;
use sluicebox::rules::RuleSet;

/// Rule files are small; big ones only make the fuzzer compile huge regexes.
const MAX_INPUT: usize = 4096;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut set = RuleSet::default();
    if let Err(e) = set.add_toml("fuzz.toml", text) {
        assert!(e.message().starts_with("fuzz.toml: "), "error does not name the file: {e}");
        return;
    }
    match Engine::new(set) {
        Ok(engine) => {
            // Patterns compile on first use; `build_engine` compiles user rules up front, and a
            // rule set that compiles must never make a scan panic.
            if let Err(e) = engine.compile_all() {
                assert!(e.message().contains("rule '"), "compile error does not name a rule: {e}");
                return;
            }
            let _ = check::check(&engine);
            let mut scratch = engine.scratch();
            let mut found = Vec::new();
            engine.scan(text.as_bytes(), &mut scratch, &mut found);
        }
        Err(e) => assert!(e.message().contains("rule '"), "engine error does not name a rule: {e}"),
    }
});
