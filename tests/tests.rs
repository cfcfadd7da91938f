//! The single integration-test binary: one module per area.

mod util;

mod io;
mod oracle;
mod rules;
