//! Package attribution (issue 12): which package and version a finding lies in.
//!
//! Inside a top-level archive the package is read from its own manifest (`package.json` of an
//! npm tarball, `PKG-INFO` of an sdist, `*.dist-info/METADATA` of a wheel, `Cargo.toml` of a
//! `.crate`, `metadata.gz` of a gem), wherever it comes in the stream: the scan buffers an
//! archive's records until the archive is done ([`ArchivePackages`] collects manifests as they
//! pass), and falls back to the archive's file name (`name-version.crate`, wheel names) when no
//! manifest was read. A vendored dependency inside the archive (`node_modules/<name>/`,
//! `vendor/<crate>/`, `site-packages/<name>/`, a nested package archive) is named as the
//! finding's `dependency`; the `package` stays the release that ships it, the unit a registry
//! operator acts on. On disk, vendored trees are attributed to the nearest manifest ([`Vendored`]).

pub mod manifest;
pub mod vendored;

use std::fmt;
use std::path::Path;

pub use vendored::Vendored;

/// A package registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    /// npm (`package.json`).
    Npm,
    /// PyPI (`PKG-INFO`, `METADATA`).
    Pypi,
    /// crates.io (`Cargo.toml`).
    Crates,
    /// RubyGems (`metadata.gz`).
    Rubygems,
}

impl Ecosystem {
    /// The name used in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Npm => "npm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Crates => "crates",
            Ecosystem::Rubygems => "rubygems",
        }
    }

    /// The ecosystem named `s` in a record.
    pub fn parse(s: &str) -> Option<Ecosystem> {
        Some(match s {
            "npm" => Ecosystem::Npm,
            "pypi" => Ecosystem::Pypi,
            "crates" => Ecosystem::Crates,
            "rubygems" => Ecosystem::Rubygems,
            _ => return None,
        })
    }
}

/// One release of one package.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Package {
    /// Where it is published.
    pub ecosystem: Ecosystem,
    /// Its name, as the manifest spells it.
    pub name: String,
    /// Its version, as the manifest spells it.
    pub version: String,
}

impl fmt::Display for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}@{}", self.ecosystem.as_str(), self.name, self.version)
    }
}

/// What a finding is attributed to, and what a summary finding says (issue 12).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FindingMeta {
    /// The package (release) the finding lies in.
    pub package: Option<Package>,
    /// A dependency vendored or bundled inside that package, when the finding lies in one.
    pub dependency: Option<Package>,
    /// A sentence for a summary finding ("ships 412 source maps").
    pub note: Option<String>,
    /// How many occurrences a summary finding stands for.
    pub count: Option<u64>,
    /// A few of them, by name.
    pub examples: Vec<String>,
}

/// Where a package's files are: the archive members above it, then a directory prefix of the
/// next member name (`""` for a whole archive).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Root {
    outer: Vec<Vec<u8>>,
    dir: Vec<u8>,
}

impl Root {
    /// True when the member chain `members` lies under this root.
    fn covers(&self, members: &[Vec<u8>]) -> bool {
        members.len() > self.outer.len()
            && members[..self.outer.len()] == self.outer[..]
            && members[self.outer.len()].starts_with(&self.dir)
    }

    fn depth(&self) -> (usize, usize) {
        (self.outer.len(), self.dir.len())
    }
}

/// The packages of one top-level input, collected as its manifests pass by.
#[derive(Debug, Default)]
pub struct ArchivePackages {
    /// Candidates for the archive's own package, with a preference rank (lower wins).
    own: Vec<(u8, Package)>,
    /// Vendored and nested packages with their roots.
    deps: Vec<(Root, Package)>,
}

impl ArchivePackages {
    /// Forgets everything (a new top-level input).
    pub fn clear(&mut self) {
        self.own.clear();
        self.deps.clear();
    }

    /// A member that [`manifest::classify`] picked, with its bytes.
    pub fn add(&mut self, path: &Path, members: &[Vec<u8>], found: manifest::Found, bytes: &[u8]) {
        let Some(pkg) = manifest::parse(found.kind, bytes) else { return };
        match found.place {
            manifest::Place::Own if members.len() == 1 => {
                self.own.push((manifest::rank(path, found.kind), pkg));
            }
            manifest::Place::Own => {
                // The top-level manifest of a nested archive: a package inside the package.
                let root = Root { outer: members[..members.len() - 1].to_vec(), dir: Vec::new() };
                self.deps.push((root, pkg));
            }
            manifest::Place::Vendored(dir_len) => {
                let last = &members[members.len() - 1];
                let root = Root { outer: members[..members.len() - 1].to_vec(), dir: last[..dir_len].to_vec() };
                self.deps.push((root, pkg));
            }
        }
    }

    /// The package of the top-level input at `path`: its best manifest, else its file name.
    pub fn own(&self, path: &Path) -> Option<Package> {
        self.own.iter().min_by_key(|(rank, _)| *rank).map(|(_, p)| p.clone()).or_else(|| from_file_name(path))
    }

    /// The most specific vendored or nested package holding `members`.
    pub fn dependency(&self, members: &[Vec<u8>]) -> Option<&Package> {
        self.deps.iter().filter(|(root, _)| root.covers(members)).max_by_key(|(root, _)| root.depth()).map(|(_, p)| p)
    }
}

/// Archive extensions, with the ecosystem their file names follow.
const ARCHIVE_NAMES: &[(&str, Ecosystem)] = &[
    (".crate", Ecosystem::Crates),
    (".whl", Ecosystem::Pypi),
    (".gem", Ecosystem::Rubygems),
    (".tgz", Ecosystem::Npm),
    (".tar.gz", Ecosystem::Pypi),
    (".tar.bz2", Ecosystem::Pypi),
    (".zip", Ecosystem::Pypi),
    (".egg", Ecosystem::Pypi),
];

/// True when `path` names a package archive (`.tgz`, `.crate`, `.whl`, `.gem`, sdists).
pub fn is_package_archive(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    ARCHIVE_NAMES.iter().any(|(ext, _)| name.ends_with(ext))
}

/// `name-version.ext` (or a wheel's `name-version-tags.whl`): the fallback when an archive's
/// manifest was not read. The version is the last `-`-separated part that starts with a digit
/// and has a dot (`sha-1-0.10.0.crate` is `sha-1` 0.10.0).
pub fn from_file_name(path: &Path) -> Option<Package> {
    let file = path.file_name()?.to_str()?;
    let lower = file.to_ascii_lowercase();
    let &(ext, ecosystem) = ARCHIVE_NAMES.iter().find(|(ext, _)| lower.ends_with(ext))?;
    let stem = &file[..file.len() - ext.len()];
    if ext == ".whl" || ext == ".egg" {
        let mut parts = stem.split('-');
        let (name, version) = (parts.next()?, parts.next()?);
        return (!name.is_empty() && !version.is_empty()).then(|| Package {
            ecosystem,
            name: name.to_string(),
            version: version.to_string(),
        });
    }
    let dashes: Vec<usize> = stem.match_indices('-').map(|(i, _)| i).collect();
    for &i in dashes.iter().rev() {
        let rest = &stem[i + 1..];
        let segment = rest.split('-').next().unwrap_or("");
        if rest.starts_with(|c: char| c.is_ascii_digit()) && segment.contains('.') && i > 0 {
            return Some(Package { ecosystem, name: stem[..i].to_string(), version: rest.to_string() });
        }
    }
    None
}

/// Orders version strings as people do: numeric runs by value, the rest as text
/// (`1.10.0` after `1.9.2`).
pub fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(s: &str) -> Vec<Result<u64, &str>> {
        let mut out = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            if digits > 0 {
                out.push(Ok(rest[..digits].parse().unwrap_or(u64::MAX)));
                rest = &rest[digits..];
            } else {
                let text = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
                out.push(Err(&rest[..text]));
                rest = &rest[text..];
            }
        }
        out
    }
    parts(a).cmp(&parts(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        type Want<'a> = Option<(&'a str, &'a str, &'a str)>;
        let cases: &[(&str, Want)] = &[
            ("crates/actix-web-4.18.1.crate", Some(("crates", "actix-web", "4.18.1"))),
            ("sha-1-0.10.0.crate", Some(("crates", "sha-1", "0.10.0"))),
            ("foo-1.0.0-beta.2.crate", Some(("crates", "foo", "1.0.0-beta.2"))),
            ("numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.whl", Some(("pypi", "numpy", "2.1.0"))),
            ("requests-2.32.3.tar.gz", Some(("pypi", "requests", "2.32.3"))),
            ("types-node-22.1.0.tgz", Some(("npm", "types-node", "22.1.0"))),
            ("rails-7.1.0.gem", Some(("rubygems", "rails", "7.1.0"))),
            ("README.md", None),
            ("foo.tgz", None),
        ];
        for &(name, want) in cases {
            let got = from_file_name(Path::new(name));
            let got = got.as_ref().map(|p| (p.ecosystem.as_str(), p.name.as_str(), p.version.as_str()));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn versions() {
        use std::cmp::Ordering::Less;
        for (a, b) in [("1.9.2", "1.10.0"), ("0.1.0", "0.1.1"), ("1.0.0-alpha", "1.0.0-beta"), ("2", "10")] {
            assert_eq!(version_cmp(a, b), Less, "{a} < {b}");
        }
    }

    #[test]
    fn roots() {
        let root = Root { outer: vec![], dir: b"package/node_modules/x/".to_vec() };
        assert!(root.covers(&[b"package/node_modules/x/a.js".to_vec()]));
        assert!(!root.covers(&[b"package/lib/a.js".to_vec()]));
        let nested = Root { outer: vec![b"a/y.whl".to_vec()], dir: vec![] };
        assert!(nested.covers(&[b"a/y.whl".to_vec(), b"y/k.py".to_vec()]));
        assert!(!nested.covers(&[b"a/y.whl".to_vec()]));
    }
}
