//! `piitrail init`: create piitrail.toml, the ledger, and keep keys out of version control.

use std::io::Write;
use std::path::Path;

use super::{Context, Outcome, UsageError};
use crate::fsio::write_atomic;

pub const TEMPLATE: &str = include_str!("../../templates/piitrail.toml");

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seed piitrail.toml's record of processing from fideslang dataset manifests (YAML): one
    /// [[dataset]] per collection, with its purpose, retention and field categories.
    #[arg(long = "from-fides", value_name = "FILE", num_args = 1..)]
    pub from_fides: Vec<std::path::PathBuf>,
}

pub fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let mut template = TEMPLATE.to_string();
    if !args.from_fides.is_empty() {
        let mut files = Vec::new();
        for path in &args.from_fides {
            let text = std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("--from-fides {}: {e}", path.display())))?;
            files.push((path.clone(), text));
        }
        let rules = crate::policy::project_rules(&ctx.root, &[], false)?;
        let seeded =
            crate::report::fides::seed(&files, &rules).map_err(|e| UsageError(e.to_string()))?;
        template.push_str(
            "
# ---- seeded from Fides (piitrail init --from-fides) ----
",
        );
        template.push_str(&seeded);
        // What is written must load: a seeded entry that does not is refused, not written.
        crate::policy::Config::parse(&ctx.root.join("piitrail.toml"), &template, &rules)?;
    }
    create(&ctx.root, &template)?;
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
