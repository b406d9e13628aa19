//! `piitrail audit`: propagate tags, write the report (JSON, HTML, Markdown) and sign it.

use std::io::Write;
use std::path::PathBuf;

use super::{Context, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder for report.json, report.html, report.md and report.dsse.json.
    #[arg(long, value_name = "DIR", default_value = "piitrail-report")]
    pub out: PathBuf,
    /// Private key (PKCS#8 PEM, from `piitrail keygen`) to sign the report with.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The previous audit's report.json to list what changed since (`changes`); by default the
    /// report this audit replaces in --out. With --key, a previous report beside a
    /// report.dsse.json signed with the same key must verify, or nothing is written.
    #[arg(long, value_name = "REPORT")]
    pub since: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let out = if args.out.is_absolute() {
        args.out.clone()
    } else {
        std::env::current_dir()?.join(&args.out)
    };
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let progress = crate::progress::Meter::default();
    let bar = super::progress::work(ctx, &progress);
    let w = crate::report::audit(
        &ctx.root,
        &out,
        args.key.as_deref(),
        args.since.as_deref(),
        time,
        &progress,
    );
    bar.finish();
    let w = w?;
    let r = &w.report;
    let mut o = anstream::stdout().lock();
    write_summary(&mut o, r, "")?;
    if let Some(c) = &r.changes {
        writeln!(
            o,
            "since {}: {} personal column(s) added, {} removed, {} new artifact(s), {} new flow(s), {} new finding(s), {} resolved",
            c.since.time,
            c.added_columns.len(),
            c.removed_columns.len(),
            c.new_artifacts.len(),
            c.new_flows.len(),
            c.new_findings.len(),
            c.resolved_findings.len()
        )?;
    }
    for f in &w.files {
        writeln!(o, "wrote {}", crate::scan::display_path(f, &ctx.root))?;
    }
    match &w.signed_by {
        Some(keyid) => writeln!(o, "signed by keyid {keyid}")?,
        None => {
            writeln!(
                o,
                "UNSIGNED: pass --key FILE (from `piitrail keygen`) to sign the report"
            )?;
            if w.removed_stale_envelope {
                writeln!(
                    o,
                    "removed report.dsse.json of an earlier report: it no longer matched"
                )?;
            }
        }
    }
    Ok(if r.has_errors() {
        Outcome::Findings
    } else {
        Outcome::Success
    })
}

/// The report in a few lines: what was audited, special categories, models trained on
/// personal data, and every finding (also printed by `demo`).
pub fn write_summary(
    o: &mut impl Write,
    r: &crate::report::Report,
    indent: &str,
) -> std::io::Result<()> {
    writeln!(
        o,
        "{indent}audited {} datasets and {} models: {} hold or derive from personal data",
        r.summary.datasets, r.summary.models, r.summary.with_personal_data
    )?;
    let special = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Red.into()));
    for c in r
        .summary
        .special_categories
        .iter()
        .chain(&r.summary.criminal_categories)
    {
        writeln!(
            o,
            "{indent}  {special}special category {}{special:#} in {}",
            c.category,
            c.artifacts.join(", ")
        )?;
    }
    for m in &r.summary.models_trained_on_personal_data {
        writeln!(o, "{indent}  model trained on personal data: {m}")?;
    }
    writeln!(
        o,
        "{indent}findings: {} errors, {} warnings, {} notes",
        r.summary.findings["error"], r.summary.findings["warning"], r.summary.findings["info"]
    )?;
    for f in &r.findings {
        writeln!(
            o,
            "{indent}  {}: {} {}: {}",
            f.severity.as_str(),
            f.code,
            f.artifact,
            f.message
        )?;
    }
    Ok(())
}
