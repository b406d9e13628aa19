//! `piitrail serve`: the OpenLineage HTTP receiver.

use std::path::{Path, PathBuf};
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
    /// `api_key`); it must be readable by its owner only (chmod 600), as ssh asks of keys.
    /// Without it, any client on the address may post, so only loopback is allowed.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Listen on an address other than loopback without a token: anyone who reaches it may
    /// write lineage into the ledger.
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// The largest request body accepted, in bytes.
    #[arg(long, default_value_t = 4 << 20, value_name = "BYTES")]
    pub max_body: usize,
    /// Connections served at once; more wait until one ends.
    #[arg(long, default_value_t = 64, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_connections: u32,
    /// Seconds a client may take to send a request's head, and again its body (else 408);
    /// an idle connection is closed after as long.
    #[arg(long, default_value_t = 10, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub read_timeout: u64,
    /// Refuse (400) an event with a facet that breaks its OpenLineage schema instead of
    /// dropping that facet (and saying so in the answer's `warnings` and the log).
    #[arg(long)]
    pub strict: bool,
}

/// The token in `file`, refused when group or others may read it, or when it is empty.
fn read_token(file: &Path) -> anyhow::Result<String> {
    let cannot = |e: std::io::Error| {
        UsageError(format!(
            "cannot read the token file {}: {e}",
            file.display()
        ))
    };
    let meta = std::fs::metadata(file).map_err(cannot)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(UsageError(format!(
                "the token file {} is readable by group or others (mode {mode:04o}): \
                 make it private with `chmod 600 {}`",
                file.display(),
                file.display()
            ))
            .into());
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let t = std::fs::read_to_string(file).map_err(cannot)?;
    let t = t.trim().to_string();
    if t.is_empty() {
        return Err(UsageError(format!("the token file {} is empty", file.display())).into());
    }
    Ok(t)
}

pub fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let ledger = Ledger::open(&ctx.root)?;
    let token = args.token_file.as_deref().map(read_token).transpose()?;
    if token.is_none() && !args.insecure_no_auth && !receiver::is_loopback(&args.addr) {
        return Err(UsageError(format!(
            "{} is not a loopback address: give --token-file FILE so that only your clients can \
             post (or --insecure-no-auth to accept anyone who reaches it)",
            args.addr
        ))
        .into());
    }
    let rules = crate::policy::project_rules(&ctx.root, &[], false)?;
    let config = Config {
        addr: args.addr,
        token,
        max_body: args.max_body,
        max_connections: args.max_connections as usize,
        read_timeout: std::time::Duration::from_secs(args.read_timeout),
        strict: args.strict,
        root: ctx.root.clone(),
        roots: crate::policy::DataRoots::load(&ctx.root, &rules)?,
        rules: Arc::new(rules),
    };
    // The receiver's log is the point of running it: printed even with --quiet.
    let log: receiver::Log = Arc::new(|line: &str| {
        eprintln!("{} {line}", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"))
    });
    receiver::serve(
        config,
        ledger,
        |addr| {
            eprintln!(
                "listening on http://{addr}{} (ledger {}); Ctrl-C to stop",
                receiver::PATH,
                ctx.root.join(".piitrail/ledger.jsonl").display()
            )
        },
        log,
    )
    .map_err(UsageError)?;
    eprintln!("stopped: every accepted event is in the ledger");
    Ok(Outcome::Success)
}
