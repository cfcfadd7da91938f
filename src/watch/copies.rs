//! Republished copies: another package whose files are mostly ours, by content hash of the
//! normalised files with the manifest left out (it always changes: name, version). The files
//! that differ are where a malicious modification would be, so each is named.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::mirror::{Package, PackageFile};

/// Content hashes are already uniform: their first 8 bytes are the hash-map hash (the default
/// SipHash made the operator view's copy search several times slower).
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8).take(1) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(b);
        }
    }
}

type ByHash<V> = HashMap<[u8; 16], V, BuildHasherDefault<Prehashed>>;

/// Smallest share of a package's files identical to ours for it to be called a copy.
pub const MIN_SHARE: f64 = 0.5;

/// Fewest identical files: one shared file (a licence, an empty `index.js`) proves nothing.
pub const MIN_IDENTICAL: usize = 2;

/// Files too common to count as evidence of copying: licence texts, empty files.
fn is_boilerplate(f: &PackageFile) -> bool {
    let base = f.path.rsplit('/').next().unwrap_or(&f.path).to_ascii_lowercase();
    f.size == 0 || base.starts_with("license") || base.starts_with("licence") || base.starts_with("copying")
}

/// How one file of the copy differs from the original.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Same path in the original, other content.
    Modified,
    /// No file with this path in the original.
    Added,
}

impl Change {
    /// The name used in output.
    pub fn as_str(&self) -> &'static str {
        match self {
            Change::Modified => "modified",
            Change::Added => "added",
        }
    }
}

/// A package found to be a copy of one of ours.
#[derive(Clone, Debug)]
pub struct CopyMatch {
    /// Index of the copy in the packages given.
    pub copy: usize,
    /// Index of the original version it matches best.
    pub original: usize,
    /// Files of the copy identical to a file of the original (boilerplate not counted).
    pub identical: usize,
    /// Files of the copy compared (boilerplate not counted).
    pub total: usize,
    /// Files of the copy that differ, with how.
    pub differs: Vec<(String, Change)>,
}

impl CopyMatch {
    /// Share of the copy's files identical to the original's.
    pub fn share(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.identical as f64 / self.total as f64 }
    }
}

/// Packages in `packages` (other than `ours`) whose files are mostly those of one of `ours`.
pub fn find(packages: &[&Package], ours: &[usize]) -> Vec<CopyMatch> {
    let own: HashSet<usize> = ours.iter().copied().collect();
    // hash → versions of ours holding it: a candidate only needs comparing with those.
    let mut holders: ByHash<Vec<usize>> = ByHash::default();
    for &o in ours {
        for f in packages[o].files.iter().filter(|f| !is_boilerplate(f)) {
            let v = holders.entry(f.hash).or_default();
            if v.last() != Some(&o) {
                v.push(o);
            }
        }
    }
    let mut out = Vec::new();
    for (i, pkg) in packages.iter().enumerate() {
        if own.contains(&i) {
            continue;
        }
        let files: Vec<&PackageFile> = pkg.files.iter().filter(|f| !is_boilerplate(f)).collect();
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for f in &files {
            if let Some(v) = holders.get(&f.hash) {
                for &o in v {
                    *counts.entry(o).or_default() += 1;
                }
            }
        }
        let Some((&original, &identical)) = counts.iter().max_by_key(|&(o, n)| (*n, std::cmp::Reverse(*o))) else {
            continue;
        };
        let total = files.len();
        if identical < MIN_IDENTICAL || (identical as f64) < MIN_SHARE * total as f64 {
            continue;
        }
        let theirs: HashMap<&str, [u8; 16]> =
            packages[original].files.iter().map(|f| (f.path.as_str(), f.hash)).collect();
        let hashes: HashSet<[u8; 16]> = packages[original].files.iter().map(|f| f.hash).collect();
        let differs = files
            .iter()
            .filter(|f| !hashes.contains(&f.hash))
            .map(|f| {
                (f.path.clone(), if theirs.contains_key(f.path.as_str()) { Change::Modified } else { Change::Added })
            })
            .collect();
        out.push(CopyMatch { copy: i, original, identical, total, differs });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, files: &[(&str, u8)]) -> Package {
        Package {
            name: name.into(),
            version: "1.0.0".into(),
            files: files.iter().map(|&(p, h)| PackageFile { path: p.into(), hash: [h; 16], size: 10 }).collect(),
            ..Package::default()
        }
    }

    #[test]
    fn copy_with_one_file_changed() {
        let packages = [
            pkg("axios", &[("a.js", 1), ("b.js", 2), ("c.js", 3), ("LICENSE", 9)]),
            pkg("axios-http", &[("a.js", 1), ("b.js", 7), ("c.js", 3), ("LICENSE", 9), ("x.js", 8)]),
            pkg("other", &[("a.js", 5), ("LICENSE", 9), ("z.js", 3)]),
        ];
        let refs: Vec<&Package> = packages.iter().collect();
        let found = find(&refs, &[0]);
        assert_eq!(found.len(), 1);
        let m = &found[0];
        assert_eq!((m.copy, m.original, m.identical, m.total), (1, 0, 2, 4));
        assert_eq!(m.differs, vec![("b.js".to_string(), Change::Modified), ("x.js".to_string(), Change::Added)]);
    }
}
