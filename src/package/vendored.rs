//! Vendored trees on disk: the package of a file is the nearest enclosing
//! `node_modules/<name>/` (or `node_modules/@scope/<name>/`) with a `package.json`,
//! `vendor/<crate>/` with a `Cargo.toml`, or `site-packages/<module>/` named by a
//! `*.dist-info` beside it. Manifests are read once per directory and shared by the workers.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::Package;
use super::manifest::{self, Kind, MANIFEST_CAP};

/// The cache of manifests read so far (one per scan, shared by the workers).
#[derive(Debug, Default)]
pub struct Vendored {
    dirs: Mutex<HashMap<PathBuf, Option<Package>>>,
    /// `site-packages` directory → module or distribution name (normalised) → package.
    sites: Mutex<HashMap<PathBuf, HashMap<String, Package>>>,
}

impl Vendored {
    /// The package of the file at `path`, if it lies in a vendored dependency.
    pub fn lookup(&self, path: &Path) -> Option<Package> {
        let mut dir = path.parent();
        while let Some(d) = dir {
            let parent = d.parent();
            let parent_name = parent.and_then(Path::file_name).unwrap_or_default();
            let grand_name = parent.and_then(Path::parent).and_then(Path::file_name).unwrap_or_default();
            let scoped = parent_name.to_string_lossy().starts_with('@') && grand_name == "node_modules";
            let found = if parent_name == "node_modules" || scoped {
                self.manifest(d, "package.json", Kind::PackageJson)
            } else if parent_name == "vendor" {
                self.manifest(d, "Cargo.toml", Kind::CargoToml)
            } else if parent_name == "site-packages" || parent_name == "dist-packages" {
                let module = d.file_name().map(normalise).unwrap_or_default();
                self.site(parent.unwrap_or(d)).get(&module).cloned()
            } else {
                None
            };
            if found.is_some() {
                return found;
            }
            dir = parent;
        }
        None
    }

    fn manifest(&self, dir: &Path, file: &str, kind: Kind) -> Option<Package> {
        let lock = |m: &Mutex<HashMap<PathBuf, Option<Package>>>| {
            m.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(dir).cloned()
        };
        if let Some(known) = lock(&self.dirs) {
            return known;
        }
        let pkg = read_small(&dir.join(file)).and_then(|b| manifest::parse(kind, &b));
        self.dirs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(dir.to_path_buf(), pkg.clone());
        pkg
    }

    /// The packages of one `site-packages` directory, by the modules they install.
    fn site(&self, site: &Path) -> HashMap<String, Package> {
        let mut sites = self.sites.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        sites.entry(site.to_path_buf()).or_insert_with(|| index_site(site)).clone()
    }
}

fn read_small(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path).ok()?.take(MANIFEST_CAP as u64).read_to_end(&mut buf).ok()?;
    Some(buf)
}

fn normalise(name: &OsStr) -> String {
    name.to_string_lossy().to_ascii_lowercase().replace(['-', '.'], "_")
}

/// Every `*.dist-info` of a site-packages directory: its distribution name, and the modules in
/// its `top_level.txt` (or the first path components of its `RECORD`).
fn index_site(site: &Path) -> HashMap<String, Package> {
    let mut out = HashMap::new();
    let Ok(entries) = std::fs::read_dir(site) else { return out };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().ends_with(".dist-info") {
            continue;
        }
        let info = entry.path();
        let Some(pkg) = read_small(&info.join("METADATA")).and_then(|b| manifest::parse(Kind::PythonMetadata, &b))
        else {
            continue;
        };
        let mut modules: Vec<String> = vec![normalise(OsStr::new(&pkg.name))];
        if let Some(top) = read_small(&info.join("top_level.txt")) {
            modules.extend(String::from_utf8_lossy(&top).lines().map(|l| normalise(OsStr::new(l.trim()))));
        } else if let Some(record) = read_small(&info.join("RECORD")) {
            modules.extend(
                String::from_utf8_lossy(&record)
                    .lines()
                    .filter_map(|l| l.split_once('/').map(|(first, _)| normalise(OsStr::new(first)))),
            );
        }
        for m in modules {
            if !m.is_empty() && !m.ends_with("_dist_info") {
                out.entry(m).or_insert_with(|| pkg.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_manifest_wins() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |rel: &str, text: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("node_modules/a/package.json", r#"{"name":"a","version":"1.0.0"}"#);
        write("node_modules/a/node_modules/@s/b/package.json", r#"{"name":"@s/b","version":"2.0.0"}"#);
        write("vendor/libc/Cargo.toml", "[package]\nname = \"libc\"\nversion = \"0.2.0\"\n");
        write("lib/site-packages/yaml_pkg-6.0.dist-info/METADATA", "Name: PyYAML\nVersion: 6.0\n\n");
        write("lib/site-packages/yaml_pkg-6.0.dist-info/top_level.txt", "yaml\n_yaml\n");
        let v = Vendored::default();
        let name = |rel: &str| v.lookup(&root.join(rel)).map(|p| p.to_string());
        assert_eq!(name("node_modules/a/lib/x.js").unwrap(), "npm:a@1.0.0");
        assert_eq!(name("node_modules/a/node_modules/@s/b/dist/y.js").unwrap(), "npm:@s/b@2.0.0");
        assert_eq!(name("vendor/libc/src/lib.rs").unwrap(), "crates:libc@0.2.0");
        assert_eq!(name("lib/site-packages/yaml/k.py").unwrap(), "pypi:PyYAML@6.0");
        assert_eq!(name("src/main.js"), None);
    }
}
