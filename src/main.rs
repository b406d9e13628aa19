//! The `piitrail` binary: parse arguments, run the command, print the error chain, exit.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = piitrail::cli::Cli::parse();
    piitrail::boundary::install_hook();
    match piitrail::boundary::catch(|| piitrail::cli::run(cli)) {
        Ok(Ok(outcome)) => outcome.into(),
        Ok(Err(err)) => piitrail::cli::report_error(&err),
        // A panic no file boundary caught: a piitrail bug.
        Err(panic) => {
            eprintln!("error: internal error (a piitrail bug, please report it): panic: {panic}");
            ExitCode::from(3)
        }
    }
}
