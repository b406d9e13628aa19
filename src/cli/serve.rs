//! `piitrail serve`: the OpenLineage HTTP receiver.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Context, Outcome, UsageError};
use crate::ledger::Ledger;
use crate::lineage::openlineage::receiver::{self, Config};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (port 0: any free port, printed on stderr).
    #[arg(long, default_value = "127.0.0.1:5000", value_name = "HOST:PORT")]
    pub addr: String,
    /// A file holding the bearer token that clients must send (the OpenLineage client's
    /// `api_key`); without it, any client on the address may post.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The largest request body accepted, in bytes.
    #[arg(long, default_value_t = 4 << 20, value_name = "BYTES")]
    pub max_body: usize,
}

pub fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let ledger = Ledger::open(&ctx.root)?;
    let token = match &args.token_file {
        None => None,
        Some(f) => {
            let t = std::fs::read_to_string(f).map_err(|e| {
                UsageError(format!("cannot read the token file {}: {e}", f.display()))
            })?;
            let t = t.trim().to_string();
            if t.is_empty() {
                return Err(UsageError(format!("the token file {} is empty", f.display())).into());
            }
            Some(t)
        }
    };
    let config = Config {
        addr: args.addr,
        token,
        max_body: args.max_body,
        root: ctx.root.clone(),
        rules: Arc::new(crate::rules::builtin()?),
    };
    // The receiver's log is the point of running it: printed even with --quiet.
    let mut log =
        |line: &str| eprintln!("{} {line}", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"));
    receiver::serve(
        &config,
        &ledger,
        |addr| {
            eprintln!(
                "listening on http://{addr}{} (ledger {}); Ctrl-C to stop",
                receiver::PATH,
                ctx.root.join(".piitrail/ledger.jsonl").display()
            )
        },
        &mut log,
    )
    .map_err(UsageError)?;
    eprintln!("stopped: every accepted event is in the ledger");
    Ok(Outcome::Success)
}
