//! The plain, documented configuration of one scan, built once from the command line and
//! `sluice.toml` ([`mod@file`]) and read everywhere else; [`filter`] compiles its path and value filters.

pub mod file;
pub mod filter;

use std::path::PathBuf;

use crate::input::Limits;
use crate::input::walk::WalkOptions;
use crate::rules::{Confidence, Severity};

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// Terminal text (default).
    #[default]
    Human,
    /// One JSON document.
    Json,
    /// JSON Lines, flushed per record.
    Jsonl,
    /// One SARIF 2.1.0 log with one run.
    Sarif,
}

/// Everything a scan needs to know.
#[derive(Clone, Debug)]
pub struct Config {
    /// Paths to scan; `-` is stdin.
    pub inputs: Vec<PathBuf>,
    /// Output format.
    pub format: Format,
    /// Output file; stdout when `None`.
    pub output: Option<PathBuf>,
    /// Extra rule files or directories of `*.toml`.
    pub extra_rules: Vec<PathBuf>,
    /// Load the builtin rule pack.
    pub builtin_rules: bool,
    /// Worker threads (0: available cores).
    pub threads: usize,
    /// Archive limits.
    pub limits: Limits,
    /// Expand archives.
    pub archives: bool,
    /// Walker settings.
    pub walk: WalkOptions,
    /// Print secrets in full.
    pub show_secrets: bool,
    /// Lowest severity that makes the exit code 1.
    pub fail_on: Severity,
    /// Color in human output.
    pub color: bool,
    /// How files are read (thresholds; tests shrink them to force every path).
    pub io: IoOptions,
    /// Scan the git index (the staged blobs) of the repository at this top level instead of
    /// `inputs`; locations are repo-relative paths.
    pub staged: Option<PathBuf>,
    /// Scan this repository's history (`--git`, issue 13) instead of `inputs`; locations are
    /// `<commit>:<path>`.
    pub git: Option<crate::git::repo::HistoryScan>,
    /// A previous json/jsonl output: findings with a fingerprint in it are suppressed.
    pub baseline: Option<PathBuf>,
    /// Paths and globs to skip (`exclude` in `sluice.toml`).
    pub exclude: Vec<String>,
    /// The directory `exclude` patterns with a `/` are relative to (the config file's).
    pub exclude_base: Option<PathBuf>,
    /// Rule ids to disable.
    pub disabled_rules: Vec<String>,
    /// Regexes for secret values that are never reported.
    pub allow_secrets: Vec<String>,
    /// Draw a progress line on stderr (the CLI sets it only when stderr is a terminal).
    pub progress: bool,
    /// No summary line in human output (findings and errors are still printed).
    pub quiet: bool,
    /// Findings below this confidence are not reported (`--min-confidence`).
    pub min_confidence: Confidence,
    /// Only findings in these contexts are reported (`--context`: `runtime`, `test`, `docs`,
    /// `example`); empty reports every context.
    pub contexts: Vec<String>,
    /// Scan only this share of the inputs (`--shard K/N`, issue 12).
    pub shard: Option<crate::shard::Shard>,
    /// The state store of incremental scans (`--state FILE`, issue 12).
    pub state: Option<PathBuf>,
    /// Ignore what the state store holds (and refresh it).
    pub rescan: bool,
    /// Globs of packaged files that a build makes, so they are not expected in the repository
    /// (`sluice diff REPO PACKAGE`, `sluice preflight --against-source`; `[diff] build_outputs`
    /// in `sluice.toml`, `--build-output`); added to each ecosystem's defaults.
    pub build_outputs: Vec<String>,
}

impl Config {
    /// True when `--min-confidence` and `--context` let a finding of `rule` in `context` through.
    pub fn reports(&self, confidence: Confidence, context: Option<crate::context::Context>) -> bool {
        confidence >= self.min_confidence
            && (self.contexts.is_empty()
                || self
                    .contexts
                    .iter()
                    .any(|c| c == context.map_or(crate::context::RUNTIME, crate::context::Context::as_str)))
    }
}

/// File reading strategy: read files up to `read_max` whole, map larger zip archives (their
/// central directory is at the end and members are read at random), stream everything else in
/// overlapping windows so memory stays bounded whatever the size.
///
/// Plain files are never mapped: a mapped file that another process truncates mid-scan raises
/// SIGBUS and kills the whole scan (`tests/hostile.rs`), and reading costs one copy at ~10 GB/s
/// against a scan at a few hundred MB/s per core. Zip archives are the exception: streaming one
/// would mean buffering it whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoOptions {
    /// Files (and staged blobs) up to this size are read whole into a reused buffer.
    pub read_max: u64,
    /// Map zip archives larger than `read_max` instead of streaming them.
    pub map_zip: bool,
    /// New bytes per window when streaming.
    pub window: usize,
}

impl Default for IoOptions {
    fn default() -> IoOptions {
        // 8 MiB per worker keeps the memory budget (64 MiB per thread) with room for archives.
        IoOptions { read_max: 8 << 20, map_zip: true, window: crate::search::window::WINDOW }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            inputs: vec![PathBuf::from(".")],
            format: Format::Human,
            output: None,
            extra_rules: Vec::new(),
            builtin_rules: true,
            threads: 0,
            limits: Limits::default(),
            archives: true,
            walk: WalkOptions::default(),
            show_secrets: false,
            fail_on: Severity::Low,
            color: false,
            io: IoOptions::default(),
            staged: None,
            git: None,
            baseline: None,
            exclude: Vec::new(),
            exclude_base: None,
            disabled_rules: Vec::new(),
            allow_secrets: Vec::new(),
            progress: false,
            quiet: false,
            min_confidence: Confidence::Low,
            contexts: Vec::new(),
            shard: None,
            state: None,
            rescan: false,
            build_outputs: Vec::new(),
        }
    }
}
