//! The `sluice` binary: parse the command line, run, exit 0 (clean), 1 (findings) or 2 (error).

mod cli;

fn main() {
    std::process::exit(cli::main());
}
