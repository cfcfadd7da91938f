//! Source maps that matter (issue 12): instead of one finding per shipped `.map`, at most one
//! finding per package and kind of leak, with a count and a few examples:
//! - `source-map.file` (low): the package ships N source maps;
//! - `source-map.inline` (low): N of its scripts carry inline maps;
//! - `source-map.sources` (medium): M maps embed original sources the package does not ship
//!   (for closed-source code this is the leak);
//! - `source-map.build-paths` (low): maps name a build machine's absolute paths.
//!
//! A secret inside `sourcesContent` stays a finding of its own (the checks report it as they
//! decode). Each map is reduced to [`MapFacts`] as it is read; [`Tally`] counts them per package
//! and turns the counts into findings once the package is complete (the end of an archive, or of
//! the scan for a tree on disk). The fingerprint of a summary is its rule and package name, so the
//! same leak across releases is one secret with many occurrences in `sluice report`.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use crate::input::Chain;
use crate::package::{FindingMeta, Package};
use crate::rules::{RuleId, RuleSet};

/// Examples kept per kind.
const EXAMPLES: usize = 3;

/// What one map (or one script's inline maps) showed.
#[derive(Clone, Debug, Default)]
pub struct MapFacts {
    /// Where the map (or the script) is.
    pub chain: Chain,
    /// An inline map in a script, not a `.map` file.
    pub inline: bool,
    /// Names of the sources whose text is embedded (`sources` entries with `sourcesContent`).
    pub embedded: Vec<String>,
    /// A build machine's absolute path named by the map.
    pub build_path: Option<String>,
}

/// Counts of one kind of leak.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Count {
    /// How many maps (or scripts).
    pub n: u64,
    /// The first one's location (where the summary finding points).
    pub first: Option<Chain>,
    /// A few names.
    pub examples: Vec<String>,
}

impl Count {
    /// Counts one more; the location and examples kept are the smallest ones, so the summary
    /// does not depend on which thread saw which map first.
    fn add(&mut self, chain: &Chain, example: impl FnOnce() -> String) {
        self.n += 1;
        if self.first.as_ref().is_none_or(|f| chain < f) {
            self.first = Some(chain.clone());
        }
        self.keep(example());
    }

    fn merge(&mut self, other: Count) {
        self.n += other.n;
        if self.first.is_none() || other.first.as_ref().is_some_and(|o| Some(o) < self.first.as_ref()) {
            self.first = other.first;
        }
        for e in other.examples {
            self.keep(e);
        }
    }

    /// Keeps the `EXAMPLES` smallest distinct examples, sorted.
    fn keep(&mut self, e: String) {
        if let Err(at) = self.examples.binary_search(&e)
            && at < EXAMPLES
        {
            self.examples.insert(at, e);
            self.examples.truncate(EXAMPLES);
        }
    }
}

/// The source-map leaks of one package.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// `.map` files shipped.
    pub files: Count,
    /// Scripts with inline maps.
    pub inline: Count,
    /// Maps embedding sources that are not shipped (examples are source names).
    pub unshipped: Count,
    /// Maps naming absolute build paths (examples are the paths).
    pub build_paths: Count,
}

/// Rule ids of the summary findings (`None` when disabled).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ids {
    /// `source-map.file`.
    pub file: Option<RuleId>,
    /// `source-map.inline`.
    pub inline: Option<RuleId>,
    /// `source-map.sources`.
    pub sources: Option<RuleId>,
    /// `source-map.build-paths`.
    pub build_paths: Option<RuleId>,
}

impl Ids {
    /// Looks the ids up in `rules`.
    pub fn new(rules: &RuleSet) -> Ids {
        Ids {
            file: rules.find("source-map.file"),
            inline: rules.find("source-map.inline"),
            sources: rules.find("source-map.sources"),
            build_paths: rules.find("source-map.build-paths"),
        }
    }
}

impl Tally {
    /// Counts one map; `shipped(name)` tells whether an embedded source ships with the package.
    pub fn add(&mut self, facts: &MapFacts, shipped: &dyn Fn(&MapFacts, &str) -> bool) {
        let leaf = || String::from_utf8_lossy(&facts.chain.leaf_name()).into_owned();
        if facts.inline {
            self.inline.add(&facts.chain, leaf);
        } else {
            self.files.add(&facts.chain, leaf);
        }
        let missing = facts.embedded.iter().find(|name| own_source(name) && !shipped(facts, name));
        if let Some(name) = missing {
            self.unshipped.add(&facts.chain, || clean(name).to_string());
        }
        if let Some(path) = &facts.build_path {
            self.build_paths.add(&facts.chain, || shorten(path));
        }
    }

    /// Adds another tally of the same package (trees on disk are tallied file by file).
    pub fn merge(&mut self, other: Tally) {
        self.files.merge(other.files);
        self.inline.merge(other.inline);
        self.unshipped.merge(other.unshipped);
        self.build_paths.merge(other.build_paths);
    }

    /// The summary findings of one package (`meta` carries its attribution).
    pub fn findings(&self, ids: Ids, meta: &FindingMeta) -> Vec<super::Hit> {
        let key = meta
            .package
            .as_ref()
            .map_or_else(String::new, |p: &Package| format!("{}:{}", p.ecosystem.as_str(), p.name));
        let maps = self.files.n;
        let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let kinds = [
            (ids.file, &self.files, plural(maps, "source map", "source maps"), "ships"),
            (ids.inline, &self.inline, plural(self.inline.n, "script carries", "scripts carry"), "inline"),
            (ids.sources, &self.unshipped, String::new(), "sources"),
            (ids.build_paths, &self.build_paths, String::new(), "paths"),
        ];
        let mut out = Vec::new();
        for (rule, count, what, kind) in kinds {
            let (Some(rule), Some(first)) = (rule, &count.first) else { continue };
            let eg = count.examples.join(", ");
            let note = match kind {
                "ships" => format!("ships {what} (e.g. {eg})"),
                "inline" => format!("{what} an inline source map (e.g. {eg})"),
                "sources" => format!(
                    "{} of {} embed original sources the package does not ship (e.g. {eg})",
                    count.n,
                    plural(maps + self.inline.n, "map", "maps")
                ),
                _ => format!(
                    "{} a build machine's absolute paths (e.g. {eg})",
                    plural(count.n, "map names", "maps name")
                ),
            };
            let meta = FindingMeta {
                note: Some(note),
                count: Some(count.n),
                examples: count.examples.clone(),
                dependency: None,
                package: meta.package.clone(),
            };
            out.push(super::Hit {
                rule,
                chain: first.clone(),
                line: None,
                column: None,
                secret: key.clone().into_bytes(),
                entropy: None,
                validated: None,
                context: None,
                meta: Some(Arc::new(meta)),
                git: None,
            });
        }
        out
    }
}

/// Sources that are the package's own code: not third-party (`node_modules/`) and not the
/// bundler's runtime (`webpack/bootstrap`, `webpack/universalModuleDefinition`).
fn own_source(name: &str) -> bool {
    let clean = clean(name);
    !(name.contains("node_modules/")
        || clean.starts_with("webpack/")
        || clean.starts_with("(webpack)")
        || clean.starts_with("external "))
}

/// A source name without its bundler scheme and leading `./` or `../` parts.
pub fn clean(name: &str) -> &str {
    let mut s = name.split_once("://").map_or(name, |(_, rest)| rest);
    if name.contains("://") {
        // `webpack://pkg-name/./src/x.ts`: drop the namespace up to the first `/`.
        if let Some(i) = s.find('/') {
            s = &s[i..];
        }
    }
    loop {
        let t = s.trim_start_matches('/');
        let t = t.strip_prefix("./").or_else(|| t.strip_prefix("../")).unwrap_or(t);
        if t == s {
            return s;
        }
        s = t;
    }
}

fn shorten(path: &str) -> String {
    if path.chars().count() <= 60 {
        path.to_string()
    } else {
        format!("{}…", path.chars().take(59).collect::<String>())
    }
}

/// `name` resolved against the directory of the map at `map` (both `/`-separated), `..` applied.
pub fn resolve(map: &[u8], name: &str) -> Vec<u8> {
    let dir = map.iter().rposition(|&b| b == b'/').map_or(&map[..0], |i| &map[..i]);
    let mut parts: Vec<&[u8]> = dir.split(|&b| b == b'/').filter(|p| !p.is_empty()).collect();
    let name = name.split_once("://").map_or(name, |(_, r)| r);
    for p in name.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p.as_bytes()),
        }
    }
    parts.join(&b'/')
}

/// The files of one archive, for "does this source ship?": full member names and every
/// `/`-suffix of them (`package/src/a.ts` ships `src/a.ts` and `a.ts`).
#[derive(Debug, Default)]
pub struct Shipped {
    names: HashSet<Vec<u8>>,
    suffixes: HashSet<Vec<u8>>,
}

impl Shipped {
    /// From the member names of an archive.
    pub fn new<'a>(members: impl Iterator<Item = &'a [u8]>) -> Shipped {
        let mut s = Shipped::default();
        for m in members {
            for (i, &b) in m.iter().enumerate() {
                if b == b'/' {
                    s.suffixes.insert(m[i + 1..].to_vec());
                }
            }
            s.suffixes.insert(m.to_vec());
            s.names.insert(m.to_vec());
        }
        s
    }

    /// True when the source `name` of the map at member `map` is one of the members.
    pub fn contains(&self, map: &[u8], name: &str) -> bool {
        self.names.contains(&resolve(map, name)) || self.suffixes.contains(clean(name).as_bytes())
    }
}

/// On disk: the source resolved against the map's directory exists.
pub fn on_disk(map: &Path, name: &str) -> bool {
    let raw = map.as_os_str().as_encoded_bytes();
    let mut p = resolve(raw, name);
    if raw.starts_with(b"/") {
        p.insert(0, b'/');
    }
    Path::new(&*String::from_utf8_lossy(&p)).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_and_resolves() {
        assert_eq!(clean("webpack://my-lib/./src/config.ts"), "src/config.ts");
        assert_eq!(clean("webpack:///src/a.ts"), "src/a.ts");
        assert_eq!(clean("../../src/a.ts"), "src/a.ts");
        assert_eq!(resolve(b"package/dist/a.js.map", "../src/a.ts"), b"package/src/a.ts");
        let shipped = Shipped::new([&b"package/src/a.ts"[..], b"package/dist/a.js"].into_iter());
        assert!(shipped.contains(b"package/dist/a.js.map", "../src/a.ts"));
        assert!(shipped.contains(b"package/dist/a.js.map", "webpack://x/./src/a.ts"));
        assert!(!shipped.contains(b"package/dist/a.js.map", "../src/config.ts"));
    }

    #[test]
    fn one_finding_per_kind() {
        let ids = Ids {
            file: Some(RuleId(1)),
            inline: Some(RuleId(2)),
            sources: Some(RuleId(3)),
            build_paths: Some(RuleId(4)),
        };
        let mut t = Tally::default();
        let never = |_: &MapFacts, _: &str| false;
        for i in 0..5 {
            let facts = MapFacts {
                chain: Chain::file("p.tgz").child(format!("package/dist/{i}.js.map")),
                inline: false,
                embedded: vec!["../src/config.ts".into(), "../node_modules/x/y.js".into()],
                build_path: (i == 0).then(|| "/Users/ann/p/src/config.ts".into()),
            };
            t.add(&facts, &never);
        }
        let meta = FindingMeta::default();
        let f = t.findings(ids, &meta);
        assert_eq!(f.len(), 3, "{f:?}");
        let notes: Vec<_> = f.iter().map(|f| f.meta.as_ref().unwrap().note.clone().unwrap()).collect();
        assert_eq!(
            notes[0],
            "ships 5 source maps (e.g. package/dist/0.js.map, package/dist/1.js.map, package/dist/2.js.map)"
        );
        assert_eq!(notes[1], "5 of 5 maps embed original sources the package does not ship (e.g. src/config.ts)");
        assert_eq!(notes[2], "1 map names a build machine's absolute paths (e.g. /Users/ann/p/src/config.ts)");
    }
}
