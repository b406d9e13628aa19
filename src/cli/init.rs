//! `piitrail init`: create piitrail.toml, the ledger, and keep keys out of version control.

use std::io::Write;
use std::path::Path;

use super::{Context, Outcome, UsageError};
use crate::fsio::write_atomic;

pub const TEMPLATE: &str = include_str!("../../templates/piitrail.toml");

pub fn run(ctx: &Context) -> anyhow::Result<Outcome> {
    create(&ctx.root, TEMPLATE)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "initialised piitrail project in {}",
        ctx.root.display()
    )?;
    writeln!(
        out,
        "  piitrail.toml            configuration (commented defaults)"
    )?;
    writeln!(
        out,
        "  .piitrail/ledger.jsonl   the hash-chained ledger (commit it)"
    )?;
    writeln!(out, "  .gitignore               *.key")?;
    Ok(Outcome::Success)
}

/// Makes `root` a project: `piitrail.toml` from `template`, an empty ledger, and `*.key` in
/// `.gitignore`. Refuses a folder that already is one.
pub fn create(root: &Path, template: &str) -> anyhow::Result<()> {
    let config = root.join("piitrail.toml");
    let ledger = root.join(".piitrail").join("ledger.jsonl");
    if config.exists() || ledger.exists() {
        return Err(UsageError(format!(
            "{} is already a piitrail project ({} exists); nothing was written",
            root.display(),
            if config.exists() {
                "piitrail.toml"
            } else {
                ".piitrail/ledger.jsonl"
            }
        ))
        .into());
    }
    write_atomic(&config, template.as_bytes())?;
    write_atomic(&ledger, b"")?;
    // Private keys never belong in the repository.
    let gitignore = root.join(".gitignore");
    let current = std::fs::read_to_string(&gitignore).unwrap_or_default();
    if !current.lines().any(|l| l.trim() == "*.key") {
        let mut next = current.clone();
        if !next.is_empty() && !next.ends_with('\n') {
            next.push('\n');
        }
        next.push_str("# piitrail: private signing keys stay out of version control\n*.key\n");
        write_atomic(&gitignore, next.as_bytes())?;
    }
    Ok(())
}
