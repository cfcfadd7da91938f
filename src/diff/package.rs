//! One side of a diff: a package archive or a directory, read into memory as a map from a
//! normalized member path to its size, hash and (for files up to [`KEEP_MAX`]) its bytes.
//! Archives are read with the project's own readers (`input::archive`), never extracted.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind};
use crate::input::archive::{Expander, sniff};
use crate::input::walk::{self, Entry, WalkOptions};
use crate::input::{Chain, Content, Limits, SkipReason, Visitor};

/// Files up to this size are kept in memory for manifests and content heuristics; larger ones
/// are hashed as they stream by.
pub const KEEP_MAX: u64 = 8 << 20;

/// One file of a package.
#[derive(Clone, Debug)]
pub struct File {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content.
    pub hash: [u8; 32],
    /// The first bytes (up to 8 KiB), for magic and text sniffing.
    pub head: Vec<u8>,
    /// The whole content, when it is at most [`KEEP_MAX`].
    pub bytes: Option<Vec<u8>>,
}

impl File {
    /// The whole content as text, when kept and valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        self.bytes.as_deref().and_then(|b| std::str::from_utf8(b).ok())
    }
}

/// A package read into memory.
#[derive(Clone, Debug, Default)]
pub struct Package {
    /// The path given.
    pub path: PathBuf,
    /// Normalized member path → file.
    pub files: BTreeMap<String, File>,
    /// The top-level directory stripped from archive member names (`package/`, `name-1.0/`).
    pub root: Option<String>,
    /// Members that could not be read, with the reason.
    pub problems: Vec<String>,
    /// What a scan of this package reads: `path` itself, or the listed files of a publish set.
    pub sources: Vec<PathBuf>,
}

impl Package {
    /// Reads `path`: a directory (every file, `.git/` excluded) or one package archive.
    pub fn load(path: &Path, limits: Limits) -> Result<Package, Error> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(&e).context(path.display()))?;
        if meta.is_dir() {
            let mut files = Vec::new();
            walk::walk(&[path.to_path_buf()], &WalkOptions::default(), |e| {
                if let Entry::File(p) = e {
                    files.push(p);
                }
                true
            });
            let listed = files.into_iter().filter_map(|p| {
                let rel = p.strip_prefix(path).ok()?.to_string_lossy().replace('\\', "/");
                (!rel.split('/').any(|c| c == ".git")).then_some((rel, p))
            });
            let mut pkg = Package::from_files(path, listed, limits)?;
            pkg.sources = vec![path.to_path_buf()];
            return Ok(pkg);
        }
        let mut f = std::fs::File::open(path).map_err(|e| Error::io(&e).context(path.display()))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).map_err(|e| Error::io(&e).context(path.display()))?;
        Package::from_archive(path, &bytes, limits, true)
    }

    /// Reads the listed files of the directory `dir`, each as (path relative to `dir`, file):
    /// the publish set `sluice preflight` built, which is a chosen subset of the directory.
    /// Archives among them are expanded as in a package.
    pub fn from_files(
        dir: &Path,
        files: impl IntoIterator<Item = (String, PathBuf)>,
        limits: Limits,
    ) -> Result<Package, Error> {
        let mut collect = Collect::default();
        let expander = Expander { limits, enabled: true };
        let mut sources = Vec::new();
        for (rel, p) in files {
            let chain = Chain { path: PathBuf::new(), members: vec![rel.into_bytes()] };
            // Symlinks are not followed (one to /dev/zero would never end), and files larger
            // than KEEP_MAX stream through, as archive members do.
            let meta = std::fs::symlink_metadata(&p).map_err(|e| Error::io(&e).context(p.display()))?;
            if !meta.is_file() {
                collect.problems.push(format!("{chain}: skipped: not a regular file (a symlink is not followed)"));
                continue;
            }
            sources.push(p.clone());
            let mut file = std::fs::File::open(&p).map_err(|e| Error::io(&e).context(p.display()))?;
            let result = if meta.len() <= KEEP_MAX {
                let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
                file.read_to_end(&mut bytes).map_err(|e| Error::io(&e).context(p.display()))?;
                expander.process(&chain, Content::Bytes(&bytes), &mut collect)
            } else {
                expander.process(&chain, Content::Reader(&mut file), &mut collect)
            };
            if let Err(e) = result {
                collect.problems.push(format!("{chain}: {}", e.message()));
            }
        }
        let mut pkg = Package { path: dir.to_path_buf(), sources, ..Package::default() };
        pkg.absorb(collect, false);
        Ok(pkg)
    }

    /// Reads an archive already in memory; `strip_root` drops a top directory shared by every
    /// member (`package/`), as registries' archives have.
    pub fn from_archive(path: &Path, bytes: &[u8], limits: Limits, strip_root: bool) -> Result<Package, Error> {
        let mut collect = Collect::default();
        let expander = Expander { limits, enabled: true };
        if sniff(bytes).is_none() {
            return Err(Error::new(
                ErrorKind::Config,
                format!("'{}' is not a package archive or a directory", path.display()),
            )
            .with_hint("give a .tgz, .crate, .whl, .tar.gz or .gem file, or a directory"));
        }
        let chain = Chain::file(path);
        if let Err(e) = expander.process(&chain, Content::Bytes(bytes), &mut collect) {
            collect.problems.push(format!("{chain}: {}", e.message()));
        }
        let mut pkg = Package { path: path.to_path_buf(), sources: vec![path.to_path_buf()], ..Package::default() };
        pkg.absorb(collect, strip_root);
        Ok(pkg)
    }

    fn absorb(&mut self, collect: Collect, archive: bool) {
        self.problems = collect.problems;
        let mut entries = collect.entries;
        // A gem is a tar of `data.tar.gz` (the files) and `metadata.gz` (YAML): its files are
        // the members of `data.tar.gz`.
        for (members, _) in &mut entries {
            if members.len() > 1 && members[0] == "data.tar.gz" {
                members.remove(0);
            }
        }
        if archive {
            self.root = common_root(entries.iter().map(|(m, _)| m[0].as_str()));
        }
        for (mut members, file) in entries {
            if let Some(root) = &self.root {
                members[0] = members[0][root.len()..].to_string();
            }
            members[0] = normalize_versioned_dirs(&members[0]);
            self.files.insert(members.join("!"), file);
        }
    }

    /// The file at `key`, if any.
    pub fn get(&self, key: &str) -> Option<&File> {
        self.files.get(key)
    }
}

/// The first path component shared by every top-level member (`package/`), with its slash.
fn common_root<'a>(mut names: impl Iterator<Item = &'a str>) -> Option<String> {
    let first = names.next()?;
    let (dir, _) = first.split_once('/')?;
    let prefix = format!("{dir}/");
    if dir.is_empty() || dir.contains("dist-info") {
        return None;
    }
    names.all(|n| n.starts_with(&prefix)).then_some(prefix)
}

/// Wheel metadata directories carry the version (`pkg-1.2.dist-info/`): named without it,
/// so two releases line up (`pkg.dist-info/METADATA`).
fn normalize_versioned_dirs(path: &str) -> String {
    let mut parts: Vec<String> = path.split('/').map(str::to_string).collect();
    for p in &mut parts {
        for suffix in [".dist-info", ".data", ".egg-info"] {
            if let Some(stem) = p.strip_suffix(suffix)
                && let Some((name, _version)) = stem.split_once('-')
            {
                *p = format!("{name}{suffix}");
            }
        }
    }
    parts.join("/")
}

#[derive(Default)]
struct Collect {
    entries: Vec<(Vec<String>, File)>,
    problems: Vec<String>,
}

impl Collect {
    fn push(&mut self, chain: &Chain, file: File) {
        let members: Vec<String> = chain.members.iter().map(|m| String::from_utf8_lossy(m).into_owned()).collect();
        if members.is_empty() {
            return; // a lone compressed file: nothing to compare by name
        }
        self.entries.push((members, file));
    }
}

impl Visitor for Collect {
    fn leaf(&mut self, chain: &Chain, content: Content<'_>) -> Result<(), Error> {
        let file = match content {
            Content::Bytes(b) => file_of(b),
            Content::Reader(r) => {
                let mut hasher = Sha256::new();
                let mut kept = Vec::new();
                let mut buf = vec![0u8; 64 << 10];
                let mut size = 0u64;
                let mut keep = true;
                loop {
                    let n = r.read(&mut buf).map_err(|e| Error::io(&e))?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    size += n as u64;
                    if keep && size <= KEEP_MAX {
                        kept.extend_from_slice(&buf[..n]);
                    } else if keep {
                        keep = false;
                        kept.truncate(8 << 10);
                        kept.shrink_to_fit();
                    }
                }
                let head = kept[..kept.len().min(8 << 10)].to_vec();
                File { size, hash: hasher.finalize().into(), head, bytes: keep.then_some(kept) }
            }
        };
        self.push(chain, file);
        Ok(())
    }

    fn skipped(&mut self, chain: &Chain, reason: SkipReason, detail: &str) {
        self.problems.push(format!("{chain}: skipped ({}): {detail}", reason.as_str()));
    }

    fn error(&mut self, chain: &Chain, error: &Error) {
        self.problems.push(format!("{chain}: {}", error.message()));
    }
}

fn file_of(b: &[u8]) -> File {
    let hash: [u8; 32] = Sha256::digest(b).into();
    let keep = b.len() as u64 <= KEEP_MAX;
    File { size: b.len() as u64, hash, head: b[..b.len().min(8 << 10)].to_vec(), bytes: keep.then(|| b.to_vec()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_files_never_follow_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.js"), "module.exports = 1;\n").unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).unwrap();
        let listed = ["a.js", "zero"].map(|n| (n.to_string(), dir.path().join(n)));
        let pkg = Package::from_files(dir.path(), listed, Limits::default()).unwrap();
        assert_eq!(pkg.files.keys().collect::<Vec<_>>(), ["a.js"]);
        assert_eq!(pkg.sources, [dir.path().join("a.js")]);
        assert!(pkg.problems[0].contains("zero") && pkg.problems[0].contains("symlink"), "{:?}", pkg.problems);
        let gone = [("gone.js".to_string(), dir.path().join("gone.js"))];
        assert!(Package::from_files(dir.path(), gone, Limits::default()).is_err());
    }

    #[test]
    fn roots_and_versions() {
        assert_eq!(common_root(["package/a", "package/b/c"].into_iter()), Some("package/".into()));
        assert_eq!(common_root(["package/a", "other/b"].into_iter()), None);
        assert_eq!(common_root(["a"].into_iter()), None);
        assert_eq!(normalize_versioned_dirs("pkg-1.2.dist-info/METADATA"), "pkg.dist-info/METADATA");
        assert_eq!(normalize_versioned_dirs("pkg/__init__.py"), "pkg/__init__.py");
    }
}
