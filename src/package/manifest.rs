//! Package manifests: which archive members are manifests ([`classify`], by name only, cheap for
//! every member), and their name and version ([`parse`]). Only the two fields are read; a
//! manifest that does not parse or lacks either is ignored.

use std::path::Path;

use super::{Ecosystem, Package};

/// A manifest format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// npm `package.json`.
    PackageJson,
    /// Python core metadata (`PKG-INFO`, `METADATA`): RFC 822 headers.
    PythonMetadata,
    /// Python metadata inside `*.egg-info/` (preferred less than the sdist's own `PKG-INFO`).
    EggInfo,
    /// `Cargo.toml`.
    CargoToml,
    /// A gem's `metadata.gz` (YAML), decoded.
    GemMetadata,
}

/// Where a manifest sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// At the top of an archive (`package/package.json`, `x-1.0/PKG-INFO`): that archive's own.
    Own,
    /// A vendored dependency's: its files are under the first `n` bytes of the member name.
    Vendored(usize),
}

/// A manifest found by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// Its format.
    pub kind: Kind,
    /// Whose it is.
    pub place: Place,
}

/// Manifests are small; anything larger is not read as one.
pub const MANIFEST_CAP: usize = 1 << 20;

/// Is the innermost member of `members` a package manifest? Plain files (no members) are not:
/// on disk, [`super::Vendored`] looks manifests up itself.
pub fn classify(members: &[Vec<u8>]) -> Option<Found> {
    let name = members.last()?;
    let base_at = name.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    let base = &name[base_at..];
    let slashes = memchr::memchr_iter(b'/', name).count();
    let kind = match base {
        b"package.json" => Kind::PackageJson,
        b"PKG-INFO" | b"METADATA" => Kind::PythonMetadata,
        b"Cargo.toml" => Kind::CargoToml,
        b"metadata.gz" if slashes == 0 => return Some(Found { kind: Kind::GemMetadata, place: Place::Own }),
        _ => return None,
    };
    let dir = &name[..base_at];
    let parent = dir_components(dir);
    // Own manifests sit one directory down (`package/`, `name-1.0/`, `name-1.0.dist-info/`).
    if slashes == 1 {
        let top = parent.last().copied().unwrap_or_default();
        let own = match kind {
            Kind::PythonMetadata if base == b"METADATA" => top.ends_with(b".dist-info"),
            _ => true,
        };
        if own {
            return Some(Found { kind, place: Place::Own });
        }
    }
    if slashes == 2 && kind == Kind::PythonMetadata && base == b"PKG-INFO" && parent[1].ends_with(b".egg-info") {
        return Some(Found { kind: Kind::EggInfo, place: Place::Own });
    }
    // Vendored: node_modules/<name>/package.json (or @scope/<name>), vendor/<crate>/Cargo.toml,
    // site-packages/<name>-<v>.dist-info/METADATA (its files: site-packages/<name>/).
    let n = parent.len();
    let vendored = match kind {
        Kind::PackageJson if n >= 2 && parent[n - 2] == b"node_modules" => true,
        Kind::PackageJson if n >= 3 && parent[n - 3] == b"node_modules" && parent[n - 2].starts_with(b"@") => true,
        Kind::CargoToml => n >= 2 && parent[n - 2] == b"vendor",
        Kind::PythonMetadata => {
            n >= 2
                && parent[n - 1].ends_with(b".dist-info")
                && matches!(parent[n - 2], b"site-packages" | b"dist-packages")
        }
        _ => false,
    };
    if !vendored {
        return None;
    }
    let dir_len = if kind == Kind::PythonMetadata {
        // Files of `foo_bar-1.0.dist-info` live in `site-packages/foo_bar/`.
        let info = parent[n - 1];
        let name = info.split(|&b| b == b'-').next().unwrap_or(info);
        let site_end = dir.len() - info.len() - 1;
        return Some(Found { kind, place: Place::Vendored(site_end + name.len()) }).filter(|_| !name.is_empty());
    } else {
        dir.len()
    };
    Some(Found { kind, place: Place::Vendored(dir_len) })
}

fn dir_components(dir: &[u8]) -> Vec<&[u8]> {
    dir.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect()
}

/// Preference among own-manifest candidates of the archive at `path` (lower wins): the format
/// its extension implies first (a Python sdist may carry a `package.json` for its front end).
#[allow(clippy::case_sensitive_file_extension_comparisons)] // `name` is lowercased
pub fn rank(path: &Path, kind: Kind) -> u8 {
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let expected = if name.ends_with(".crate") {
        Kind::CargoToml
    } else if name.ends_with(".tgz") {
        Kind::PackageJson
    } else if name.ends_with(".gem") {
        Kind::GemMetadata
    } else {
        Kind::PythonMetadata
    };
    if kind == expected {
        0
    } else {
        match kind {
            Kind::PythonMetadata => 1,
            Kind::EggInfo => 2,
            Kind::CargoToml => 3,
            Kind::PackageJson => 4,
            Kind::GemMetadata => 5,
        }
    }
}

/// The name and version in a manifest.
pub fn parse(kind: Kind, bytes: &[u8]) -> Option<Package> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (ecosystem, name, version) = match kind {
        Kind::PackageJson => {
            let v: serde_json::Value = serde_json::from_str(text).ok()?;
            (Ecosystem::Npm, v.get("name")?.as_str()?.to_string(), v.get("version")?.as_str()?.to_string())
        }
        Kind::PythonMetadata | Kind::EggInfo => {
            let (mut name, mut version) = (None, None);
            for line in text.lines() {
                if line.trim().is_empty() {
                    break; // the body (description) starts
                }
                if let Some(v) = line.strip_prefix("Name:") {
                    name.get_or_insert_with(|| v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("Version:") {
                    version.get_or_insert_with(|| v.trim().to_string());
                }
            }
            (Ecosystem::Pypi, name?, version?)
        }
        Kind::CargoToml => {
            let table: toml::Table = text.parse().ok()?;
            let package = table.get("package")?.as_table()?;
            (
                Ecosystem::Crates,
                package.get("name")?.as_str()?.to_string(),
                package.get("version")?.as_str()?.to_string(),
            )
        }
        Kind::GemMetadata => {
            let (mut name, mut version, mut in_version) = (None, None, false);
            for line in text.lines() {
                if let Some(v) = line.strip_prefix("name: ") {
                    name.get_or_insert_with(|| v.trim().trim_matches(['"', '\'']).to_string());
                } else if line.starts_with("version:") {
                    in_version = true;
                } else if in_version && let Some(v) = line.trim_start().strip_prefix("version: ") {
                    version.get_or_insert_with(|| v.trim().trim_matches(['"', '\'']).to_string());
                    in_version = false;
                } else if !line.starts_with(' ') {
                    in_version = false;
                }
            }
            (Ecosystem::Rubygems, name?, version?)
        }
    };
    (!name.is_empty() && !version.is_empty()).then_some(Package { ecosystem, name, version })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(member: &str) -> Option<Found> {
        classify(&[member.as_bytes().to_vec()])
    }

    #[test]
    fn classifies() {
        let own = |kind| Some(Found { kind, place: Place::Own });
        assert_eq!(found("package/package.json"), own(Kind::PackageJson));
        assert_eq!(found("requests-2.0/PKG-INFO"), own(Kind::PythonMetadata));
        assert_eq!(found("requests-2.0/src/requests.egg-info/PKG-INFO"), None);
        assert_eq!(found("requests-2.0/requests.egg-info/PKG-INFO"), own(Kind::EggInfo));
        assert_eq!(found("requests-2.0.dist-info/METADATA"), own(Kind::PythonMetadata));
        assert_eq!(found("requests/METADATA"), None);
        assert_eq!(found("serde-1.0.0/Cargo.toml"), own(Kind::CargoToml));
        assert_eq!(found("metadata.gz"), own(Kind::GemMetadata));
        assert_eq!(found("package/lib/esm/package.json"), None);
        let dep = "package/node_modules/left-pad/package.json";
        assert_eq!(found(dep).unwrap().place, Place::Vendored("package/node_modules/left-pad/".len()));
        let scoped = "package/node_modules/@s/x/package.json";
        assert_eq!(found(scoped).unwrap().place, Place::Vendored("package/node_modules/@s/x/".len()));
        let crate_dep = "app-1.0/vendor/libc/Cargo.toml";
        assert_eq!(found(crate_dep).unwrap().place, Place::Vendored("app-1.0/vendor/libc/".len()));
        let py = "app/lib/site-packages/foo_bar-1.0.dist-info/METADATA";
        assert_eq!(found(py).unwrap().place, Place::Vendored("app/lib/site-packages/foo_bar".len()));
        assert_eq!(classify(&[]), None);
    }

    #[test]
    fn parses() {
        let p = |kind, text: &str| parse(kind, text.as_bytes()).map(|p| format!("{p}"));
        assert_eq!(p(Kind::PackageJson, r#"{"name":"@s/x","version":"1.2.3"}"#).unwrap(), "npm:@s/x@1.2.3");
        assert_eq!(p(Kind::PackageJson, r#"{"type":"module"}"#), None);
        let meta = "Metadata-Version: 2.1\nName: foo-bar\nVersion: 0.3\n\nName: not this\n";
        assert_eq!(p(Kind::PythonMetadata, meta).unwrap(), "pypi:foo-bar@0.3");
        let cargo = "[package]\nedition = \"2021\"\nname = \"libc\"\nversion = \"0.2.1\"\n";
        assert_eq!(p(Kind::CargoToml, cargo).unwrap(), "crates:libc@0.2.1");
        assert_eq!(p(Kind::CargoToml, "[package]\nname = \"x\"\nversion.workspace = true\n"), None);
        let gem = "--- !ruby/object:Gem::Specification\nname: rack\nversion: !ruby/object:Gem::Version\n  version: 3.0.1\nplatform: ruby\n";
        assert_eq!(p(Kind::GemMetadata, gem).unwrap(), "rubygems:rack@3.0.1");
    }
}
