//! `piitrail keygen`: an ed25519 key pair for signing audit reports.

use std::io::Write;
use std::path::PathBuf;

use super::{Context, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder for piitrail.key (private, mode 0600) and piitrail.pub (public). Default:
    /// $XDG_CONFIG_HOME/piitrail, else ~/.config/piitrail: outside the project.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

fn default_dir() -> anyhow::Result<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        return Ok(PathBuf::from(x).join("piitrail"));
    }
    match std::env::var_os("HOME") {
        Some(h) => Ok(PathBuf::from(h).join(".config/piitrail")),
        None => Err(super::UsageError("no HOME folder: pass --out DIR".into()).into()),
    }
}

pub fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let dir = match args.out {
        Some(d) => d,
        None => default_dir()?,
    };
    let kp = crate::sign::keygen(&dir)?;
    let inside = |p: &std::path::Path| match (p.canonicalize(), ctx.root.canonicalize()) {
        (Ok(p), Ok(root)) => p.starts_with(root),
        _ => false,
    };
    if inside(&kp.private_path) {
        ctx.note(format!(
            "note: {} is inside the project folder; keep it out of version control (`piitrail init` lists *.key in .gitignore)",
            kp.private_path.display()
        ));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "private key  {} (mode 0600; keep it secret)",
        kp.private_path.display()
    )?;
    writeln!(out, "public key   {}", kp.public_path.display())?;
    writeln!(out, "public hex   {}", kp.public_hex)?;
    writeln!(out, "keyid        {}", kp.keyid)?;
    Ok(Outcome::Success)
}
