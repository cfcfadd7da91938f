//! Filters compiled from the configuration: [`Exclude`] (paths and globs to skip, matched with
//! `globset`) and [`AllowSecrets`] (secret values that are never reported). Built once per scan.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use regex_automata::meta::Regex;

use super::Config;
use crate::error::{Error, ErrorKind};

/// Paths and globs to skip (gitignore-like: a pattern without `/` matches a name anywhere, one
/// with `/` matches from the base directory, and a directory pattern covers what is under it).
#[derive(Clone, Debug)]
pub struct Exclude {
    set: GlobSet,
    /// Absolute directory that patterns with `/` are relative to (the config file's directory).
    base: Option<PathBuf>,
}

impl Exclude {
    /// Compiles `patterns`; `None` when there are none.
    pub fn new(patterns: &[String], base: Option<&Path>) -> Result<Option<Exclude>, Error> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            let bad =
                |msg: String| Error::new(ErrorKind::Config, format!("invalid exclude pattern '{pattern}': {msg}"));
            let p = pattern.trim();
            if p.is_empty() || p.starts_with('!') {
                return Err(bad("empty patterns and '!' negations are not supported".into()));
            }
            let p = p.trim_end_matches('/');
            let anchored = p.contains('/');
            let p = p.trim_start_matches("./").trim_start_matches('/');
            let glob = if anchored { p.to_string() } else { format!("**/{p}") };
            for g in [glob.clone(), format!("{glob}/**")] {
                let compiled =
                    GlobBuilder::new(&g).literal_separator(true).build().map_err(|e| bad(e.kind().to_string()))?;
                builder.add(compiled);
            }
        }
        let set =
            builder.build().map_err(|e| Error::new(ErrorKind::Config, format!("invalid exclude patterns: {e}")))?;
        let base = base.and_then(|b| std::path::absolute(b).ok());
        Ok(Some(Exclude { set, base }))
    }

    /// True when `path`, found by walking `root`, is excluded. It is matched relative to the base
    /// directory when it lies under it, else relative to `root`. A root named on the command
    /// line that is itself excluded (`sluice scan corpus/cases` with `corpus/cases` excluded for
    /// the self-scan) is scanned as asked, as ripgrep searches an ignored path it is given.
    pub fn path(&self, root: &Path, path: &Path) -> bool {
        if let Some(base) = &self.base
            && let Ok(abs) = std::path::absolute(path)
            && let Ok(rel) = abs.strip_prefix(base)
        {
            let root_excluded = std::path::absolute(root)
                .ok()
                .and_then(|r| r.strip_prefix(base).ok().map(|r| self.relative(&r.to_string_lossy())))
                .unwrap_or(false);
            return !root_excluded && self.relative(&rel.to_string_lossy());
        }
        match path.strip_prefix(root) {
            Ok(rel) if !rel.as_os_str().is_empty() => self.relative(&rel.to_string_lossy()),
            _ => false, // an input named on the command line is scanned as asked
        }
    }

    /// True when a relative path (a staged path, an archive member) is excluded.
    pub fn relative(&self, rel: &str) -> bool {
        let rel = rel.trim_start_matches("./").trim_start_matches('/');
        let rel: Cow<str> =
            if std::path::MAIN_SEPARATOR == '/' { Cow::Borrowed(rel) } else { Cow::Owned(rel.replace('\\', "/")) };
        !rel.is_empty() && self.set.is_match(rel.as_ref())
    }
}

/// Secret values that are never reported (`allow_secrets` in `sluice.toml`).
#[derive(Clone, Debug)]
pub struct AllowSecrets {
    regex: Regex,
}

impl AllowSecrets {
    /// Compiles `patterns` (unanchored: write `^…$` to match a whole value); `None` when empty.
    pub fn new(patterns: &[String]) -> Result<Option<AllowSecrets>, Error> {
        if patterns.is_empty() {
            return Ok(None);
        }
        for p in patterns {
            // Compiled one by one first so the error names the pattern at fault.
            Regex::new(p)
                .map_err(|e| Error::new(ErrorKind::Config, format!("invalid allow_secrets pattern '{p}': {e}")))?;
        }
        let regex = Regex::new_many(patterns)
            .map_err(|e| Error::new(ErrorKind::Config, format!("invalid allow_secrets patterns: {e}")))?;
        Ok(Some(AllowSecrets { regex }))
    }

    /// True when `secret` matches one of the patterns.
    pub fn allows(&self, secret: &[u8]) -> bool {
        self.regex.is_match(secret)
    }
}

/// Every filter of one scan.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// Paths to skip.
    pub exclude: Option<Exclude>,
    /// Secret values not to report.
    pub allow: Option<AllowSecrets>,
    /// The scan roots: test-directory context is judged below them only.
    pub roots: Vec<std::path::PathBuf>,
}

impl Filters {
    /// Compiles the filters of `config`.
    pub fn new(config: &Config) -> Result<Filters, Error> {
        Ok(Filters {
            exclude: Exclude::new(&config.exclude, config.exclude_base.as_deref())?,
            allow: AllowSecrets::new(&config.allow_secrets)?,
            roots: config.inputs.clone(),
        })
    }

    /// True when a secret value is allow-listed.
    pub fn allows_secret(&self, secret: &[u8]) -> bool {
        self.allow.as_ref().is_some_and(|a| a.allows(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exclude(patterns: &[&str]) -> Exclude {
        let v: Vec<String> = patterns.iter().map(|s| (*s).to_string()).collect();
        Exclude::new(&v, None).unwrap().unwrap()
    }

    #[test]
    fn exclude_patterns() {
        let cases: &[(&[&str], &str, bool)] = &[
            (&["*.min.js"], "a.min.js", true),
            (&["*.min.js"], "dist/x/a.min.js", true),
            (&["*.min.js"], "a.js", false),
            (&["node_modules"], "node_modules/x/y.js", true),
            (&["node_modules"], "a/node_modules/y.js", true),
            (&["node_modules"], "node_modules_x/y.js", false),
            (&["tests/fixtures/"], "tests/fixtures/a/b.txt", true),
            (&["tests/fixtures"], "src/tests/fixtures/b.txt", false),
            (&["/build/*.txt"], "build/a.txt", true),
            (&["build/*.txt"], "build/sub/a.txt", false),
            (&["docs/**/*.md"], "docs/a/b/c.md", true),
            (&["package/test/**"], "./package/test/x.js", true),
        ];
        for &(patterns, path, want) in cases {
            assert_eq!(exclude(patterns).relative(path), want, "{patterns:?} {path}");
        }
    }

    #[test]
    fn exclude_walked_paths() {
        let e = exclude(&["gen/*.js", "*.lock"]);
        assert!(e.path(Path::new("repo"), Path::new("repo/gen/a.js")));
        assert!(!e.path(Path::new("repo"), Path::new("repo/src/gen/a.js")));
        assert!(e.path(Path::new("repo"), Path::new("repo/src/Cargo.lock")));
        // An input named on the command line is never excluded.
        assert!(!e.path(Path::new("Cargo.lock"), Path::new("Cargo.lock")));
        // Relative to the base directory when under it.
        let dir = tempfile::tempdir().unwrap();
        let v = vec!["src/gen/*.js".to_string()];
        let e = Exclude::new(&v, Some(dir.path())).unwrap().unwrap();
        let src = dir.path().join("src");
        assert!(e.path(&src, &src.join("gen/a.js")));
        assert!(!e.path(&src, &src.join("a.js")));
        // A root inside an excluded directory is scanned as asked; its siblings are not.
        let gen_dir = src.join("gen");
        let v = vec!["src/gen".to_string()];
        let e = Exclude::new(&v, Some(dir.path())).unwrap().unwrap();
        assert!(!e.path(&gen_dir, &gen_dir.join("a.js")));
        assert!(e.path(dir.path(), &gen_dir.join("a.js")));
    }

    #[test]
    fn allow_secrets() {
        let a = AllowSecrets::new(&["^AKIAIOSFODNN7EXAMPLE$".into(), "dummy".into()]).unwrap().unwrap();
        assert!(a.allows(b"AKIAIOSFODNN7EXAMPLE"));
        assert!(!a.allows(b"AKIAIOSFODNN7EXAMPLEX"));
        assert!(a.allows(b"xx-dummy-yy"));
        assert!(AllowSecrets::new(&[]).unwrap().is_none());
        assert!(AllowSecrets::new(&["[".into()]).unwrap_err().to_string().contains("'['"));
    }
}
