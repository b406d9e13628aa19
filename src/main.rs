//! The `piitrail` binary: parse arguments, run the command, print the error chain, exit.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = piitrail::cli::Cli::parse();
    match piitrail::cli::run(cli) {
        Ok(outcome) => outcome.into(),
        Err(err) => piitrail::cli::report_error(&err),
    }
}
