//! A mirror directory of package archives (`npm/`, `pypi/`, `crates/` subdirectories, as in
//! `~/.cache/sluice-mirror/archives`): each archive becomes a [`Package`] with its name and
//! version (from the manifest inside, else the file name), dependencies and repository (from the
//! manifest), and a content hash per file, read in memory with the project's archive readers.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::names::Ecosystem;
use crate::error::{Error, ErrorKind};
use crate::input::archive::Expander;
use crate::input::{Chain, Content, Limits, SkipReason, Visitor};

/// One file of a package: its path inside the package (top directory stripped) and content hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageFile {
    /// Path inside the package, e.g. `lib/index.js` (nested archive members joined with `!`).
    pub path: String,
    /// First 16 bytes of the SHA-256 of the normalised content (line endings, trailing space).
    pub hash: [u8; 16],
    /// Size in bytes as stored.
    pub size: u64,
}

/// One archive of the mirror.
#[derive(Clone, Debug, Default)]
pub struct Package {
    /// The name as published (the manifest's, else parsed from the file name).
    pub name: String,
    /// The version (the manifest's, else parsed from the file name).
    pub version: String,
    /// The archive on disk.
    pub path: PathBuf,
    /// Files other than the manifest, with content hashes (empty when hashing was not asked for).
    pub files: Vec<PackageFile>,
    /// Names of the declared runtime dependencies, as written.
    pub dependencies: Vec<String>,
    /// The repository or home page URL the manifest declares, normalised for comparison.
    pub repository: Option<String>,
    /// Problems reading the archive (it is still listed, with what could be read).
    pub errors: Vec<String>,
}

/// Files that describe the package rather than being it: they carry the name and version, so a
/// republished copy always changes them.
pub fn is_manifest(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    let top_level = !path.contains('/');
    (top_level
        && matches!(
            base,
            "package.json"
                | "Cargo.toml"
                | "Cargo.toml.orig"
                | "Cargo.lock"
                | ".cargo_vcs_info.json"
                | "PKG-INFO"
                | "setup.cfg"
                | "pyproject.toml"
                | "package-lock.json"
        ))
        || path.split('/').any(|c| c.ends_with(".dist-info") || c.ends_with(".egg-info"))
}

/// Splits `name-1.2.3` at the first `-` followed by `digits.`: package names may contain `-` and
/// digits (`h2`, `ascii-85`), versions start with a number and a dot.
pub fn split_name_version(stem: &str) -> Option<(&str, &str)> {
    let b = stem.as_bytes();
    for i in 1..b.len() {
        if b[i - 1] == b'-' && b[i].is_ascii_digit() {
            let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            if b.get(i + digits) == Some(&b'.') || i + digits == b.len() {
                return Some((&stem[..i - 1], &stem[i..]));
            }
        }
    }
    None
}

/// Name and version from an archive file name, if it looks like one of `eco`'s.
pub fn parse_file_name(eco: Ecosystem, file: &str) -> Option<(String, String)> {
    let stem = match eco {
        Ecosystem::Npm => file.strip_suffix(".tgz")?,
        Ecosystem::Crates => file.strip_suffix(".crate")?,
        Ecosystem::Pypi => {
            if let Some(stem) = file.strip_suffix(".whl") {
                let mut parts = stem.split('-');
                return Some((parts.next()?.to_string(), parts.next()?.to_string()));
            }
            [".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.zst"].iter().find_map(|s| file.strip_suffix(s))?
        }
    };
    split_name_version(stem).map(|(n, v)| (n.to_string(), v.to_string()))
}

/// The archives of `eco` in `dir/<eco>/`, sorted.
pub fn list(dir: &Path, eco: Ecosystem) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join(eco.as_str())) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect();
    paths.sort();
    paths
}

/// Reads every archive of `eco` in the mirror, in parallel; `hash_files` also hashes every file
/// (needed for copies; names and manifests alone are much cheaper to keep).
pub fn read(dir: &Path, eco: Ecosystem, hash_files: bool) -> Result<Vec<Package>, Error> {
    let sub = dir.join(eco.as_str());
    if !sub.is_dir() {
        return Ok(Vec::new());
    }
    let paths = list(dir, eco);
    Ok(paths.par_iter().filter_map(|p| read_package(eco, p, hash_files)).collect())
}

/// Reads one archive; `None` when its file name is not an archive of `eco`.
pub fn read_package(eco: Ecosystem, path: &Path, hash_files: bool) -> Option<Package> {
    let file = path.file_name()?.to_str()?;
    let (name, version) = parse_file_name(eco, file)?;
    let mut pkg = Package { name, version, path: path.to_path_buf(), ..Package::default() };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            pkg.errors.push(format!("cannot read '{}': {e}", path.display()));
            return Some(pkg);
        }
    };
    let wheel = Path::new(file).extension().is_some_and(|e| e.eq_ignore_ascii_case("whl"));
    let mut visitor = Collect { eco, wheel, hash_files, pkg: &mut pkg, manifest: None };
    let expander = Expander { limits: Limits::default(), enabled: true };
    if let Err(e) = expander.process(&Chain::file(path), Content::Bytes(&bytes), &mut visitor) {
        visitor.pkg.errors.push(e.to_string());
    }
    if let Some((kind, text)) = visitor.manifest.take() {
        apply_manifest(&mut pkg, kind, &text);
    }
    pkg.files.sort_by(|a, b| a.path.cmp(&b.path));
    Some(pkg)
}

#[derive(Clone, Copy)]
enum ManifestKind {
    PackageJson,
    CargoToml,
    PkgInfo,
}

struct Collect<'a> {
    eco: Ecosystem,
    wheel: bool,
    hash_files: bool,
    pkg: &'a mut Package,
    manifest: Option<(ManifestKind, String)>,
}

/// Largest member read whole for normalisation and manifests; larger ones are hashed as streamed.
const WHOLE_MAX: u64 = 32 << 20;

impl Visitor for Collect<'_> {
    fn leaf(&mut self, chain: &Chain, content: Content<'_>) -> Result<(), Error> {
        let full: Vec<String> = chain.members.iter().map(|m| String::from_utf8_lossy(m).into_owned()).collect();
        let joined = full.join("!");
        // Tarballs (npm, crates, sdists) wrap the package in one top directory; wheels do not.
        let path =
            if self.wheel { joined } else { joined.split_once('/').map_or(joined.clone(), |(_, r)| r.to_string()) };
        let manifest_kind = match (self.eco, path.as_str()) {
            (Ecosystem::Npm, "package.json") => Some(ManifestKind::PackageJson),
            (Ecosystem::Crates, "Cargo.toml") => Some(ManifestKind::CargoToml),
            (Ecosystem::Pypi, "PKG-INFO") => Some(ManifestKind::PkgInfo),
            (Ecosystem::Pypi, p) if self.wheel && p.ends_with(".dist-info/METADATA") && p.matches('/').count() == 1 => {
                Some(ManifestKind::PkgInfo)
            }
            _ => None,
        };
        if manifest_kind.is_none() && (!self.hash_files || is_manifest(&path)) {
            return Ok(());
        }
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut whole = Vec::new();
        match content {
            Content::Bytes(b) => {
                size = b.len() as u64;
                whole.extend_from_slice(b);
            }
            Content::Reader(r) => {
                let mut buf = vec![0u8; 64 << 10];
                loop {
                    let n = r.read(&mut buf).map_err(|e| Error::io(&e))?;
                    if n == 0 {
                        break;
                    }
                    size += n as u64;
                    if size <= WHOLE_MAX {
                        whole.extend_from_slice(&buf[..n]);
                    } else {
                        if !whole.is_empty() {
                            hasher.update(&whole);
                            whole = Vec::new();
                        }
                        hasher.update(&buf[..n]);
                    }
                }
            }
        }
        if let Some(kind) = manifest_kind {
            if self.manifest.is_none() {
                self.manifest = Some((kind, String::from_utf8_lossy(&whole).into_owned()));
            }
            return Ok(());
        }
        if size <= WHOLE_MAX {
            hasher.update(normalise_content(&whole));
        }
        let digest = hasher.finalize();
        let mut hash = [0u8; 16];
        hash.copy_from_slice(&digest[..16]);
        self.pkg.files.push(PackageFile { path, hash, size });
        Ok(())
    }

    fn skipped(&mut self, chain: &Chain, reason: SkipReason, detail: &str) {
        if reason != SkipReason::Symlink {
            self.pkg.errors.push(format!("{chain}: skipped ({}): {detail}", reason.as_str()));
        }
    }

    fn error(&mut self, chain: &Chain, error: &Error) {
        self.pkg.errors.push(format!("{chain}: {error}"));
    }
}

/// Content as compared: CRLF as LF and trailing whitespace dropped, so a copy re-saved on
/// another platform still matches.
fn normalise_content(b: &[u8]) -> Vec<u8> {
    let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(0, |i| i + 1);
    let b = &b[..end];
    let mut out = Vec::with_capacity(b.len());
    for (i, &c) in b.iter().enumerate() {
        if c == b'\r' && b.get(i + 1) == Some(&b'\n') {
            continue;
        }
        out.push(c);
    }
    out
}

fn apply_manifest(pkg: &mut Package, kind: ManifestKind, text: &str) {
    match kind {
        ManifestKind::PackageJson => {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
                pkg.errors.push("package.json: not valid JSON".into());
                return;
            };
            if let Some(n) = v.get("name").and_then(|n| n.as_str()).filter(|n| !n.is_empty()) {
                n.clone_into(&mut pkg.name);
            }
            if let Some(ver) = v.get("version").and_then(|n| n.as_str()) {
                ver.clone_into(&mut pkg.version);
            }
            for field in ["dependencies", "peerDependencies"] {
                if let Some(map) = v.get(field).and_then(|d| d.as_object()) {
                    pkg.dependencies.extend(map.keys().cloned());
                }
            }
            let repo = v.get("repository").and_then(|r| r.as_str().or_else(|| r.get("url").and_then(|u| u.as_str())));
            pkg.repository = repo.and_then(normalise_repository);
        }
        ManifestKind::CargoToml => {
            let Ok(v) = text.parse::<toml::Table>() else {
                pkg.errors.push("Cargo.toml: not valid TOML".into());
                return;
            };
            if let Some(p) = v.get("package") {
                if let Some(n) = p.get("name").and_then(|n| n.as_str()) {
                    n.clone_into(&mut pkg.name);
                }
                if let Some(ver) = p.get("version").and_then(|n| n.as_str()) {
                    ver.clone_into(&mut pkg.version);
                }
                pkg.repository = p.get("repository").and_then(|r| r.as_str()).and_then(normalise_repository);
            }
            if let Some(deps) = v.get("dependencies").and_then(|d| d.as_table()) {
                for (key, spec) in deps {
                    // `foo = { package = "real-name" }` renames a dependency.
                    let real = spec.get("package").and_then(|p| p.as_str()).unwrap_or(key);
                    pkg.dependencies.push(real.to_string());
                }
            }
        }
        ManifestKind::PkgInfo => {
            // RFC 822 headers up to the first blank line (the description follows).
            for line in text.lines().take_while(|l| !l.is_empty()) {
                let Some((k, v)) = line.split_once(':') else { continue };
                let v = v.trim();
                match k.to_ascii_lowercase().as_str() {
                    "name" => v.clone_into(&mut pkg.name),
                    "version" => v.clone_into(&mut pkg.version),
                    "requires-dist" if !v.contains("extra ==") && !v.contains("extra==") => {
                        let end =
                            v.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).unwrap_or(v.len());
                        pkg.dependencies.push(v[..end].to_string());
                    }
                    "home-page" if pkg.repository.is_none() => pkg.repository = normalise_repository(v),
                    "project-url" => {
                        let url = v.split_once(',').map_or(v, |(_, u)| u.trim());
                        if url.contains("github.com") || url.contains("gitlab.com") || pkg.repository.is_none() {
                            pkg.repository = normalise_repository(url);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// `git+https://github.com/a/b.git#main` → `github.com/a/b`: URLs compared for "same project".
/// Monorepo subdirectories (`/tree/main/x`) are cut to the repository.
pub fn normalise_repository(url: &str) -> Option<String> {
    let mut u = url.trim().to_lowercase();
    for prefix in ["git+", "https://", "http://", "ssh://", "git://", "git@", "www."] {
        if let Some(rest) = u.strip_prefix(prefix) {
            u = rest.to_string();
        }
        if let Some(rest) = u.strip_prefix("www.") {
            u = rest.to_string();
        }
    }
    u = u.replacen(':', "/", 1);
    let u = u.split(['#', '?']).next().unwrap_or("").trim_end_matches('/').trim_end_matches(".git");
    let parts: Vec<&str> = u.split('/').filter(|p| !p.is_empty()).collect();
    let keep = if parts.first().is_some_and(|h| h.starts_with("github.") || h.starts_with("gitlab.")) { 3 } else { 2 };
    let out = parts.iter().take(keep).copied().collect::<Vec<_>>().join("/");
    (!out.is_empty() && out.contains('/')).then_some(out)
}

/// Unused error kind guard: keeps [`ErrorKind`] in scope for callers of this module's errors.
pub(crate) fn no_mirror(dir: &Path) -> Error {
    Error::new(ErrorKind::Config, format!("'{}' has no npm/, pypi/ or crates/ directory of archives", dir.display()))
        .with_hint("point --mirror at a directory like ~/.cache/sluice-mirror/archives")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        let cases = [
            (Ecosystem::Npm, "types-node-26.6.6.tgz", Some(("types-node", "26.6.6"))),
            (Ecosystem::Crates, "h2-0.3.27.crate", Some(("h2", "0.3.27"))),
            (Ecosystem::Crates, "ascii-85-1.0.0.crate", Some(("ascii-85", "1.0.0"))),
            (Ecosystem::Pypi, "aiobotocore-3.10.0-py3-none-any.whl", Some(("aiobotocore", "3.10.0"))),
            (Ecosystem::Pypi, "et_xmlfile-2.0.0.tar.gz", Some(("et_xmlfile", "2.0.0"))),
            (Ecosystem::Pypi, "SHA256SUMS", None),
        ];
        for (eco, file, want) in cases {
            let got = parse_file_name(eco, file);
            assert_eq!(got.as_ref().map(|(n, v)| (n.as_str(), v.as_str())), want, "{file}");
        }
    }

    #[test]
    fn repositories() {
        let cases = [
            ("git+https://github.com/axios/axios.git", Some("github.com/axios/axios")),
            ("git@github.com:serde-rs/serde.git", Some("github.com/serde-rs/serde")),
            ("https://github.com/babel/babel/tree/main/packages/babel-core", Some("github.com/babel/babel")),
            ("", None),
        ];
        for (url, want) in cases {
            assert_eq!(normalise_repository(url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn manifests() {
        assert!(is_manifest("package.json"));
        assert!(is_manifest("foo-1.0.dist-info/RECORD"));
        assert!(!is_manifest("lib/package.json"));
        assert_eq!(normalise_content(b"a\r\nb  \n\n"), b"a\nb");
    }
}
