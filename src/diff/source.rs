//! Package versus source (issue 15): `sluice diff REPO[@REF] PACKAGE`. The repository is read
//! at REF through `git archive` (a tar held in memory, never written out) or as its work tree;
//! every packaged file must match the repository byte for byte or match a build output pattern
//! ([`default_build_outputs`] of the package's ecosystem, plus `[diff] build_outputs` of
//! `sluice.toml` and `--build-output`). Everything else is an item: "in the package
//! but not in the repository", or "differs from the repository" with a bounded unified diff.
//! Files of the repository that the package leaves out are not items.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::manifest::Manifest;
use super::package::Package;
use super::{HIGH, Item, MEDIUM};
use crate::error::{Error, ErrorKind};
use crate::input::Limits;

/// Build outputs expected in a package of each ecosystem (`npm`, `crates`, `pypi`, `gems`, as
/// [`Manifest::ecosystem`](super::manifest::Manifest) names them): the files the packaging tool
/// writes or rewrites itself, and the usual build output directories. `sluice.toml`'s
/// `[diff] build_outputs` and `--build-output` add to them.
const BUILD_OUTPUTS: &[(&str, &[&str])] = &[
    // npm packs the work tree as it is: a build step writes dist/ or build/ before `npm pack`.
    ("npm", &["dist/**", "build/**"]),
    // cargo normalises Cargo.toml (the original is compared as Cargo.toml.orig), writes
    // .cargo_vcs_info.json, and adds Cargo.lock for binaries in a workspace.
    ("crates", &["Cargo.toml", ".cargo_vcs_info.json", "Cargo.lock"]),
    // setuptools and other backends write PKG-INFO and *.egg-info, and rewrite setup.cfg.
    ("pypi", &["PKG-INFO", "setup.cfg", "*.egg-info/**", "*.dist-info/**"]),
    ("gems", &["metadata.gz", "checksums.yaml.gz"]),
];

/// The default build output patterns for a package of `ecosystem`; every ecosystem's when it
/// is not known.
pub fn default_build_outputs(ecosystem: Option<&str>) -> Vec<&'static str> {
    let known = BUILD_OUTPUTS.iter().any(|(eco, _)| Some(*eco) == ecosystem);
    BUILD_OUTPUTS
        .iter()
        .filter(|(eco, _)| !known || Some(*eco) == ecosystem)
        .flat_map(|(_, globs)| globs.iter().copied())
        .collect()
}

/// Lines of unified diff shown per file at most.
const DIFF_LINES: usize = 60;

/// `REPO@REF` or a git work tree: the repository directory and the ref, when `arg` names one.
pub fn repo_spec(arg: &Path) -> Option<(PathBuf, Option<String>)> {
    let s = arg.to_str()?;
    if let Some((dir, r)) = s.rsplit_once('@')
        && !r.is_empty()
        && !r.contains('/')
        && Path::new(dir).join(".git").exists()
    {
        return Some((PathBuf::from(dir), Some(r.to_string())));
    }
    arg.join(".git").exists().then(|| (arg.to_path_buf(), None))
}

/// The repository at `rev` (`git archive`, in memory), or its work tree without one.
pub fn load(dir: &Path, rev: Option<&str>, limits: Limits) -> Result<Package, Error> {
    let Some(rev) = rev else { return Package::load(dir, limits) };
    if rev.starts_with('-') {
        return Err(Error::new(ErrorKind::Config, format!("'{rev}' is not a git ref")));
    }
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["archive", "--format=tar", rev, "--"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::new(ErrorKind::Io, format!("cannot run 'git': {}", crate::error::io_message(&e)))
                .with_hint("REPO@REF is read with 'git archive'; install git or give the package's directory")
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let msg =
            stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("failed").trim().trim_start_matches("fatal: ");
        return Err(Error::new(ErrorKind::Config, format!("cannot read '{rev}' of '{}': {msg}", dir.display())));
    }
    let mut pkg =
        Package::from_archive(&PathBuf::from(format!("{}@{rev}", dir.display())), &out.stdout, limits, false)?;
    pkg.path = dir.to_path_buf();
    Ok(pkg)
}

fn globs(ecosystem: Option<&str>, extra: &[String]) -> Result<GlobSet, Error> {
    let mut b = GlobSetBuilder::new();
    for g in default_build_outputs(ecosystem).into_iter().chain(extra.iter().map(String::as_str)) {
        let glob =
            Glob::new(g).map_err(|e| Error::new(ErrorKind::Config, format!("bad build output pattern '{g}': {e}")))?;
        b.add(glob);
    }
    b.build().map_err(|e| Error::new(ErrorKind::Config, format!("bad build output patterns: {e}")))
}

/// Items for every packaged file that neither matches the repository nor a build output (the
/// defaults of the package's ecosystem plus `build_outputs`).
pub fn compare(repo: &Package, pkg: &Package, build_outputs: &[String]) -> Result<Vec<Item>, Error> {
    let outputs = globs(Manifest::of(pkg).ecosystem, build_outputs)?;
    let mut items = Vec::new();
    for (key, f) in &pkg.files {
        // cargo packages the manifest as written under `Cargo.toml.orig`.
        let repo_key = if key == "Cargo.toml.orig" { "Cargo.toml" } else { key.as_str() };
        match repo.files.get(repo_key) {
            Some(r) if r.hash == f.hash => {}
            _ if outputs.is_match(key.split('!').next().unwrap_or(key)) => {}
            Some(r) => {
                let mut item =
                    Item::new("source.differs", HIGH, Some(key), format!("differs from the repository: {key}"));
                item.detail = Some(match (r.text(), f.text()) {
                    (Some(a), Some(b)) => unified(repo_key, a, b),
                    _ => format!("{} B in the repository, {} B in the package (binary)", r.size, f.size),
                });
                items.push(item);
            }
            None => {
                let level = if super::content::executable_kind(key, &f.head).is_some() || f.text().is_some() {
                    HIGH
                } else {
                    MEDIUM
                };
                items.push(Item::new(
                    "source.missing",
                    level,
                    Some(key),
                    format!("in the package but not in the repository: {key}"),
                ));
            }
        }
    }
    Ok(items)
}

/// A unified diff of two texts with three lines of context, cut at [`DIFF_LINES`] lines;
/// texts over 4,000 lines get a size note instead (the line table is quadratic).
#[allow(clippy::many_single_char_names)] // the textbook LCS names
pub fn unified(name: &str, a: &str, b: &str) -> String {
    let (x, y): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    if x.len() > 4000 || y.len() > 4000 {
        return format!("{} → {} lines (too long for a diff)", x.len(), y.len());
    }
    // Longest common subsequence table, from the ends.
    let (n, m) = (x.len(), y.len());
    let mut t = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i * (m + 1) + j] = if x[i] == y[j] {
                t[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                t[(i + 1) * (m + 1) + j].max(t[i * (m + 1) + j + 1])
            };
        }
    }
    // Edit script: (' ' | '-' | '+', line).
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && x[i] == y[j] {
            ops.push((' ', x[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1]) {
            ops.push(('-', x[i]));
            i += 1;
        } else {
            ops.push(('+', y[j]));
            j += 1;
        }
    }
    let near = |k: usize| ops[k.saturating_sub(3)..(k + 4).min(ops.len())].iter().any(|(c, _)| *c != ' ');
    let mut out = format!("--- repository/{name}\n+++ package/{name}\n");
    let mut shown = 0;
    let mut gap = false;
    for (k, (c, line)) in ops.iter().enumerate() {
        if !near(k) {
            gap = true;
            continue;
        }
        if gap {
            out.push_str("@@\n");
            gap = false;
        }
        if shown == DIFF_LINES {
            out.push_str("… (diff cut)\n");
            break;
        }
        let line: String = line.chars().take(200).collect();
        out.push_str(&format!("{c}{line}\n"));
        shown += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_outputs_per_ecosystem() {
        assert_eq!(default_build_outputs(Some("npm")), ["dist/**", "build/**"]);
        assert!(default_build_outputs(Some("pypi")).contains(&"PKG-INFO"));
        assert!(!default_build_outputs(Some("pypi")).contains(&"dist/**"));
        assert!(default_build_outputs(Some("crates")).contains(&".cargo_vcs_info.json"));
        let all = default_build_outputs(None);
        assert!(all.contains(&"dist/**") && all.contains(&"PKG-INFO") && all.contains(&"metadata.gz"));
        assert_eq!(default_build_outputs(Some("conda")), all, "an unknown ecosystem gets every default");
    }

    #[test]
    fn diffs() {
        let d = unified("a.js", "a\nb\nc\n", "a\nb\nX\nc\n");
        assert!(d.contains("+X\n") && d.contains(" b\n") && !d.lines().skip(2).any(|l| l.starts_with('-')), "{d}");
        let d = unified("a.js", "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\n5\n6\n7\n8\nnine\n");
        assert!(d.contains("-9\n+nine\n") && !d.contains(" 1\n") && d.contains("@@"), "{d}");
    }
}
