//! sluice: a fast secret and artifact scanner for packages, archives and registry mirrors.
//!
//! The [`engine`] finds secrets in byte slices; [`input`] walks files and expands archives into
//! units; [`scan`] runs them in parallel; [`report`] writes findings.
//!
//! ```
//! use sluicebox::engine::Engine;
//! use sluicebox::rules::RuleSet;
//!
//! let engine = Engine::new(RuleSet::builtin().unwrap()).unwrap();
//! let mut scratch = engine.scratch();
//! let mut findings = Vec::new();
//! engine.scan(b"nothing to see here", &mut scratch, &mut findings);
//! assert!(findings.is_empty());
//! ```
#![deny(missing_docs)]

pub mod baseline;
pub mod checks;
pub mod config;
pub mod context;
pub mod diff;
pub mod engine;
pub mod error;
pub mod git;
pub mod hash;
pub mod input;
pub mod job;
pub mod package;
pub mod preflight;
pub mod progress;
pub mod report;
pub mod rules;
pub mod scan;
pub mod scope;
pub mod search;
pub mod shard;
pub mod state;
pub mod time;
pub mod watch;

pub use config::{Config, Format};
pub use engine::{Engine, Finding, Scratch};
pub use error::{Error, ErrorKind};
pub use rules::{Rule, RuleId, RuleSet, Severity};
