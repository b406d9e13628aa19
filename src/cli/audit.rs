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

/// How many findings of each severity, artifacts of a special category and models the summary
/// lists; the report lists them all. A ledger of a million steps has as many notes.
const LISTED: usize = 20;

/// The report in a few lines: what was audited, special categories, models trained on
/// personal data, and the findings, at most [`LISTED`] of each kind with a count of the rest
/// (also printed by `demo`).
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
            "{indent}  {special}special category {}{special:#} in {}{}",
            c.category,
            c.artifacts[..c.artifacts.len().min(LISTED)].join(", "),
            more(c.artifacts.len(), "artifacts")
        )?;
    }
    let models = &r.summary.models_trained_on_personal_data;
    for m in models.iter().take(LISTED) {
        writeln!(o, "{indent}  model trained on personal data: {m}")?;
    }
    if models.len() > LISTED {
        writeln!(o, "{indent} {}", more(models.len(), "models"))?;
    }
    writeln!(
        o,
        "{indent}findings: {} errors, {} warnings, {} notes",
        r.summary.findings["error"], r.summary.findings["warning"], r.summary.findings["info"]
    )?;
    // Findings come sorted by severity: the first few of each, then how many more.
    for group in r.findings.chunk_by(|a, b| a.severity == b.severity) {
        for f in group.iter().take(LISTED) {
            writeln!(
                o,
                "{indent}  {}: {} {}: {}",
                f.severity.as_str(),
                f.code,
                f.artifact,
                f.message
            )?;
        }
        if group.len() > LISTED {
            let kind = match group[0].severity {
                crate::report::Severity::Error => "errors",
                crate::report::Severity::Warning => "warnings",
                crate::report::Severity::Info => "notes",
            };
            writeln!(
                o,
                "{indent} {} (report.md lists every finding)",
                more(group.len(), kind)
            )?;
        }
    }
    Ok(())
}

/// ` … and N more KIND` for the part of `total` past [`LISTED`]; empty when all are listed.
fn more(total: usize, kind: &str) -> String {
    if total > LISTED {
        format!(" … and {} more {kind}", total - LISTED)
    } else {
        String::new()
    }
}
