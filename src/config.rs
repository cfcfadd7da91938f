//! The plain, documented configuration of one scan, built once from the command line (and,
//! later, `sluice.toml`) and read everywhere else.

use std::path::PathBuf;

use crate::input::Limits;
use crate::input::walk::WalkOptions;
use crate::rules::Severity;

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
}

/// File reading strategy: read small files, map medium ones, stream large ones in windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoOptions {
    /// Files up to this size are read into a reused buffer.
    pub read_max: u64,
    /// Files up to this size are memory-mapped; larger ones are streamed.
    pub mmap_max: u64,
    /// New bytes per window when streaming.
    pub window: usize,
}

impl Default for IoOptions {
    fn default() -> IoOptions {
        // Measured on the extracted mirror (see README "Performance"): reading beats mapping for
        // small files; above 64 MiB a map would count against the memory budget.
        IoOptions { read_max: 256 << 10, mmap_max: 64 << 20, window: crate::input::window::WINDOW }
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
        }
    }
}
