//! The `piitrail` binary: parse arguments, run the command, print the error chain, exit.

use std::process::ExitCode;

use clap::Parser;

// glibc's allocator dominated ledger loading (many small strings); mimalloc halves that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = piitrail::cli::Cli::parse();
    match piitrail::cli::run(cli) {
        Ok(outcome) => outcome.into(),
        Err(err) => piitrail::cli::report_error(&err),
    }
}
