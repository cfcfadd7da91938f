//! `sluice.toml`: the per-repository configuration file. Owns its schema (unknown keys are an
//! error naming the valid ones), where it is found (`--config`, else the scan root, else the git
//! top level) and how it is merged into a [`Config`] (command-line flags win).
//!
//! ```toml
//! exclude = ["tests/fixtures/**", "*.min.js"]   # paths and globs to skip
//! disable_rules = ["generic.password"]          # rule ids to turn off
//! rules = ["ci/sluice-rules.toml"]              # extra rule files, relative to this file
//! allow_secrets = ['^AKIAIOSFODNN7EXAMPLE$']     # regexes: matching secret values are not reported
//!
//! [limits]                                       # archive limits (the flags override them)
//! max_depth = 8
//! max_archive_bytes = 17179869184
//! max_ratio = 1000
//! max_entries = 1000000
//!
//! [diff]                                         # package versus source (diff REPO PKG, preflight --against-source)
//! build_outputs = ["lib/**", "*.d.ts"]            # packaged files a build makes: not expected in the repository
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Config;
use super::filter::{AllowSecrets, Exclude};
use crate::error::{Error, ErrorKind};

/// The file name looked for at the scan root and the git top level.
pub const FILE_NAME: &str = "sluice.toml";

/// Every top-level key and `[limits]` key, for the hint on an unknown one.
const VALID_KEYS: &str = "exclude, disable_rules, rules, allow_secrets, [limits] max_depth, max_archive_bytes, \
     max_ratio, max_entries, [diff] build_outputs";

/// The contents of a `sluice.toml`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Paths and globs to skip: a pattern without `/` matches a file or directory name anywhere;
    /// one with `/` matches the path relative to the config file's directory (or the scan root);
    /// a directory pattern skips everything under it. Archive members are matched by member path.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Rule ids to disable.
    #[serde(default)]
    pub disable_rules: Vec<String>,
    /// Extra rule files or directories of `*.toml`, relative to the config file.
    #[serde(default)]
    pub rules: Vec<PathBuf>,
    /// Regular expressions: a finding whose secret value matches one is not reported.
    #[serde(default)]
    pub allow_secrets: Vec<String>,
    /// Archive limits.
    #[serde(default)]
    pub limits: FileLimits,
    /// Release review settings.
    #[serde(default)]
    pub diff: FileDiff,
}

/// `[diff]` of a `sluice.toml`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileDiff {
    /// Globs (relative to the package root) of packaged files that a build makes, so the
    /// repository need not hold them; added to the defaults of the package's ecosystem.
    #[serde(default)]
    pub build_outputs: Vec<String>,
}

/// `[limits]` of a `sluice.toml`; each one unset keeps the default.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileLimits {
    /// Maximum archive nesting depth.
    pub max_depth: Option<usize>,
    /// Maximum expanded bytes per top-level input.
    pub max_archive_bytes: Option<u64>,
    /// Maximum expanded/compressed ratio per member.
    pub max_ratio: Option<u64>,
    /// Maximum archive members per top-level input.
    pub max_entries: Option<u64>,
}

impl FileConfig {
    /// Reads and validates `path` (globs and regexes are compiled once here so a mistake is
    /// reported with the file's name before any scanning).
    pub fn load(path: &Path) -> Result<FileConfig, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("cannot read config '{}': {}", path.display(), crate::error::io_message(&e)),
            )
        })?;
        FileConfig::parse(&text).map_err(|e| e.context(format!("config '{}'", path.display())))
    }

    /// Parses and validates the text of a config file.
    pub fn parse(text: &str) -> Result<FileConfig, Error> {
        let file: FileConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
            let err = Error::new(ErrorKind::Config, format!("{at}{}", e.message().trim()));
            if e.message().contains("unknown field") {
                err.with_hint(format!("valid keys are {VALID_KEYS}"))
            } else {
                err
            }
        })?;
        Exclude::new(&file.exclude, None)?;
        AllowSecrets::new(&file.allow_secrets)?;
        for g in &file.diff.build_outputs {
            globset::Glob::new(g)
                .map_err(|e| Error::new(ErrorKind::Config, format!("[diff] build_outputs: bad pattern '{g}': {e}")))?;
        }
        Ok(file)
    }

    /// Merges this file into `config`: lists are appended, limits replace the defaults (the
    /// caller applies command-line limits afterwards so they win). `origin` is the file's path.
    pub fn apply(self, config: &mut Config, origin: &Path) {
        let dir = origin.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        config.exclude.extend(self.exclude);
        config.exclude_base = Some(dir.to_path_buf());
        config.disabled_rules.extend(self.disable_rules);
        config.extra_rules.extend(self.rules.into_iter().map(|r| dir.join(r)));
        config.allow_secrets.extend(self.allow_secrets);
        config.build_outputs.extend(self.diff.build_outputs);
        let l = self.limits;
        let limits = &mut config.limits;
        limits.max_depth = l.max_depth.unwrap_or(limits.max_depth);
        limits.max_archive_bytes = l.max_archive_bytes.unwrap_or(limits.max_archive_bytes);
        limits.max_ratio = l.max_ratio.unwrap_or(limits.max_ratio);
        limits.max_entries = l.max_entries.unwrap_or(limits.max_entries);
    }
}

/// The `sluice.toml` that applies when none is named: at the scan root (the first input when it
/// is a directory, the repository for `--staged`), else at the top level of the git work tree
/// that contains it.
pub fn discover(config: &Config) -> Option<PathBuf> {
    let start = match &config.staged {
        Some(top) => top.clone(),
        None => {
            let first = config.inputs.first().filter(|p| p.as_os_str() != "-");
            match first {
                Some(p) if p.is_dir() => p.clone(),
                Some(p) => p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf(),
                None => PathBuf::from("."),
            }
        }
    };
    let here = start.join(FILE_NAME);
    if here.is_file() {
        return Some(here);
    }
    // The git top level: the nearest ancestor holding `.git` (a directory, or a file in a
    // worktree or submodule). Found without running git: this runs on every scan.
    let abs = std::path::absolute(&start).ok()?;
    let top = abs.ancestors().find(|d| d.join(".git").exists())?;
    let there = top.join(FILE_NAME);
    there.is_file().then_some(there)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let f = FileConfig::parse(
            "exclude = ['a/**', '*.min.js']\ndisable_rules = ['x.y']\nrules = ['r.toml']\nallow_secrets = ['^EXAMPLE']\n[limits]\nmax_depth = 3\nmax_ratio = 10\n[diff]\nbuild_outputs = ['lib/**']\n",
        )
        .unwrap();
        assert_eq!(f.exclude, ["a/**", "*.min.js"]);
        assert_eq!(f.disable_rules, ["x.y"]);
        assert_eq!(f.limits.max_depth, Some(3));
        assert_eq!(f.limits.max_archive_bytes, None);
        let mut config = Config::default();
        f.apply(&mut config, Path::new("repo/sluice.toml"));
        assert_eq!(config.extra_rules, [PathBuf::from("repo/r.toml")]);
        assert_eq!(config.limits.max_depth, 3);
        assert_eq!(config.limits.max_ratio, 10);
        assert_eq!(config.limits.max_archive_bytes, crate::input::Limits::default().max_archive_bytes);
        assert_eq!(config.exclude_base, Some(PathBuf::from("repo")));
        assert_eq!(config.build_outputs, ["lib/**"]);
    }

    #[test]
    fn rejects_mistakes_with_a_hint() {
        let cases: &[(&str, &str)] = &[
            ("no_such_option = 1\n", "unknown field `no_such_option`"),
            ("[limits]\nmax_dept = 1\n", "unknown field `max_dept`"),
            ("exclude = 'a'\n", "line 1"),
            ("allow_secrets = ['(']\n", "allow_secrets"),
            ("exclude = ['a[']\n", "exclude"),
            ("[diff]\nbuild_outputs = ['a[']\n", "build_outputs"),
            ("[diff]\nbuild_output = []\n", "unknown field `build_output`"),
        ];
        for &(text, want) in cases {
            let e = FileConfig::parse(text).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.to_string().contains(want), "{text:?}: {e}");
        }
        let e = FileConfig::parse("no_such_option = 1\n").unwrap_err().to_string();
        assert!(e.contains("hint: valid keys are exclude"), "{e}");
    }
}
