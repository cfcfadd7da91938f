//! Finding OLD when only NEW is given: the highest version below NEW's of the same package name,
//! in a mirror directory (`--mirror DIR`, files named `name-version.ext` as registries serve
//! them), else in the package managers' local caches: cargo's registry cache, pip's wheel cache,
//! RubyGems' gem cache and npm's content-addressed cache (`_cacache`, read through its index).
//! Nothing is fetched; when nothing is found, the places searched are named.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::error::{Error, ErrorKind};

/// Archive suffixes a release can have, longest first.
const SUFFIXES: &[&str] = &[".tar.gz", ".tgz", ".crate", ".whl", ".gem", ".zip"];

/// A package name compared loosely: lowercase, `_` and `.` as `-`, an npm scope's `@` and `/`
/// as in `npm pack` file names (`@s/n` → `s-n`).
pub fn normalize_name(name: &str) -> String {
    name.trim_start_matches('@').replace(['/', '_', '.'], "-").to_ascii_lowercase()
}

/// `(name, version)` of a release file name (`serde-1.0.200.crate`, `pkg-1.0-py3-none-any.whl`).
pub fn parse_file_name(file: &str) -> Option<(String, String)> {
    let suffix = SUFFIXES.iter().find(|s| file.ends_with(*s))?;
    let stem = &file[..file.len() - suffix.len()];
    if *suffix == ".whl" {
        let mut parts = stem.split('-');
        return Some((parts.next()?.to_string(), parts.next()?.to_string()));
    }
    // The version starts at the last `-` followed by a digit (names may hold `-`).
    let at = stem.match_indices('-').rev().find(|(i, _)| stem[i + 1..].starts_with(|c: char| c.is_ascii_digit()))?.0;
    Some((stem[..at].to_string(), stem[at + 1..].to_string()))
}

/// Compares versions by their numeric parts, then textually (a pre-release sorts first).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let nums = |s: &str| -> Vec<u64> {
        let core = s.split(['-', '+']).next().unwrap_or(s);
        core.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect()
    };
    nums(a).cmp(&nums(b)).then_with(|| match (a.contains('-'), b.contains('-')) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.cmp(b),
    })
}

/// A candidate: where it is and its version.
#[derive(Clone, Debug)]
struct Candidate {
    path: PathBuf,
    version: String,
}

/// The previous release of `name` (below `version`, or at most `version` when `inclusive`: a
/// release being prepared may not have its version bumped yet): from `mirror` when given, else
/// from the local caches. The error names every place searched.
pub fn previous(
    name: &str,
    version: &str,
    inclusive: bool,
    ext_of_new: &str,
    mirror: Option<&Path>,
) -> Result<PathBuf, Error> {
    let want = normalize_name(name);
    let mut searched = Vec::new();
    let mut found = Vec::new();
    let mut scan_dir = |dir: &Path, depth: usize, found: &mut Vec<Candidate>| {
        searched.push(dir.display().to_string());
        files(dir, depth, &mut |p| {
            let Some(file) = p.file_name().and_then(|f| f.to_str()) else { return };
            if let Some((n, v)) = parse_file_name(file)
                && normalize_name(&n) == want
                && same_family(file, ext_of_new)
            {
                found.push(Candidate { path: p.to_path_buf(), version: v });
            }
        });
    };
    if let Some(m) = mirror {
        scan_dir(m, 3, &mut found);
    } else {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        let cargo = std::env::var_os("CARGO_HOME").map_or_else(|| home.join(".cargo"), PathBuf::from);
        scan_dir(&cargo.join("registry/cache"), 2, &mut found);
        scan_dir(&home.join(".cache/pip/wheels"), 6, &mut found);
        scan_dir(&home.join(".gem"), 5, &mut found);
        let npm = home.join(".npm/_cacache");
        searched.push(npm.display().to_string());
        found.extend(npm_cache(&npm, name));
    }
    found.retain(|c| match compare_versions(&c.version, version) {
        Ordering::Less => true,
        Ordering::Equal => inclusive,
        Ordering::Greater => false,
    });
    found.sort_by(|a, b| compare_versions(&a.version, &b.version));
    match found.pop() {
        Some(c) => Ok(c.path),
        None => Err(Error::new(
            ErrorKind::Config,
            format!(
                "no release of '{name}' {} {version} found in {}",
                if inclusive { "at or before" } else { "before" },
                searched.join(", ")
            ),
        )
        .with_hint("give OLD as a path (sluice diff OLD NEW), or a mirror with --mirror DIR")),
    }
}

/// True when two release files are the same kind (a wheel is compared with a wheel, an sdist
/// with an sdist).
fn same_family(file: &str, new_ext: &str) -> bool {
    let fam = |f: &str| SUFFIXES.iter().find(|s| f.ends_with(*s)).copied().unwrap_or("");
    let f = fam(file);
    let n = if new_ext.starts_with('.') { new_ext } else { fam(new_ext) };
    n.is_empty() || f == n || (matches!(f, ".tgz" | ".tar.gz") && matches!(n, ".tgz" | ".tar.gz"))
}

fn files(dir: &Path, depth: usize, each: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() && depth > 0 {
            files(&e.path(), depth - 1, each);
        } else if t.is_file() {
            each(&e.path());
        }
    }
}

/// Tarballs of `name` in npm's cache: index entries keyed by their registry URL, pointing at
/// content by its sha512 integrity.
fn npm_cache(cacache: &Path, name: &str) -> Vec<Candidate> {
    let mut out = Vec::new();
    let base = name.rsplit('/').next().unwrap_or(name);
    let needle = format!("/{name}/-/{base}-");
    files(&cacache.join("index-v5"), 3, &mut |p| {
        let Ok(text) = std::fs::read_to_string(p) else { return };
        for line in text.lines() {
            let Some((_, json)) = line.split_once('\t') else { continue };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else { continue };
            let (Some(key), Some(integrity)) = (v["key"].as_str(), v["integrity"].as_str()) else { continue };
            let Some(at) = key.find(&needle) else { continue };
            let Some(version) = key[at + needle.len()..].strip_suffix(".tgz") else { continue };
            let Some(b64) = integrity.split_whitespace().find_map(|i| i.strip_prefix("sha512-")) else { continue };
            let Ok(digest) = base64::engine::general_purpose::STANDARD.decode(b64) else { continue };
            let hex = digest.iter().fold(String::new(), |mut h, b| {
                let _ = write!(h, "{b:02x}");
                h
            });
            let path = cacache.join("content-v2/sha512").join(&hex[..2]).join(&hex[2..4]).join(&hex[4..]);
            if path.is_file() {
                out.push(Candidate { path, version: version.to_string() });
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert_eq!(parse_file_name("serde-1.0.200.crate"), Some(("serde".into(), "1.0.200".into())));
        assert_eq!(parse_file_name("actix-web-4.18.1.crate"), Some(("actix-web".into(), "4.18.1".into())));
        assert_eq!(
            parse_file_name("aiohttp-3.14.5-cp312-cp312-manylinux.whl"),
            Some(("aiohttp".into(), "3.14.5".into()))
        );
        assert_eq!(parse_file_name("acorn-jsx-5.3.2.tgz"), Some(("acorn-jsx".into(), "5.3.2".into())));
        assert_eq!(parse_file_name("README.md"), None);
        assert_eq!(compare_versions("1.10.0", "1.9.9"), Ordering::Greater);
        assert_eq!(compare_versions("2.0.0-rc.1", "2.0.0"), Ordering::Less);
        assert_eq!(normalize_name("@scope/Foo_bar"), "scope-foo-bar");
        assert!(same_family("a-1.tgz", ".tar.gz") && !same_family("a-1.whl", ".tar.gz"));
    }
}
