//! `piitrail export fides --out DIR`: the project's datasets as fideslang dataset manifests.

use std::io::Write;
use std::path::PathBuf;

use super::{Context, Outcome};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// fideslang dataset manifests (YAML), one per dataset declared in piitrail.toml or found
    /// holding personal data, with the categories of each field.
    Fides {
        /// Folder for the manifests (`<fides_key>.yml`).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

pub fn run(ctx: &Context, cmd: Command) -> anyhow::Result<Outcome> {
    let Command::Fides { out } = cmd;
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let progress = crate::progress::Meter::default();
    let bar = super::progress::work(ctx, &progress);
    let report = crate::report::assemble(&ctx.root, time, &progress);
    bar.finish();
    let report = report?;
    let manifests = crate::report::fides::manifests(&report.project, &report.record_of_processing);
    let mut o = anstream::stdout().lock();
    for m in &manifests {
        let path = out.join(format!("{}.yml", m.fides_key));
        crate::fsio::write_atomic(&path, m.yaml.as_bytes())
            .map_err(|e| super::UsageError(format!("{}: {e}", path.display())))?;
        writeln!(o, "wrote {}", path.display())?;
    }
    if manifests.is_empty() {
        writeln!(
            o,
            "no dataset is declared or holds personal data: nothing to export"
        )?;
    }
    Ok(Outcome::Success)
}
