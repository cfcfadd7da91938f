//! The single integration-test binary: one module per area.

mod util;

mod archive;
mod checks;
mod corpus;
mod diff;
mod git;
mod hostile;
mod human;
mod io;
mod oracle;
mod preflight;
mod registry;
mod regression;
mod review;
mod rules;
mod sarif;
mod searcher;
mod watch;
mod workflow;
