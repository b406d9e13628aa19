//! `piitrail ingest openlineage FILE|DIR...` and `piitrail ingest mlmd STORE.sqlite`: lineage
//! that other tools recorded, taken into the ledger.

use std::io::Write;
use std::path::PathBuf;

use super::{Context, Outcome, TextOrJson, UsageError};
use crate::ledger::Ledger;
use crate::lineage::LineageError;
use crate::lineage::openlineage::ingest::{self, Event, Summary};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// OpenLineage RunEvents: JSON files (one event or an array) or JSON lines; folders are read
    /// for *.json, *.jsonl and *.ndjson files.
    #[command(
        after_help = "Examples:\n  piitrail ingest openlineage events/\n  piitrail ingest openlineage spark-run.json airflow.jsonl --format json"
    )]
    Openlineage(OpenLineageArgs),
    /// A TFX ML Metadata SQLite store (read-only).
    #[command(
        after_help = "Examples:\n  piitrail ingest mlmd pipeline/metadata.sqlite\n  piitrail ingest mlmd metadata.sqlite --format json"
    )]
    Mlmd(MlmdArgs),
}

#[derive(Debug, clap::Args)]
pub struct OpenLineageArgs {
    /// Event files or folders of them.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
    /// Refuse an event with a facet that breaks its OpenLineage schema (exit 2, nothing
    /// recorded) instead of dropping that facet with a warning.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, clap::Args)]
pub struct MlmdArgs {
    /// The SQLite file of the ML Metadata store.
    #[arg(value_name = "STORE.sqlite")]
    pub store: PathBuf,
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
    /// Refuse a store with a property that cannot be read (exit 2, nothing recorded) instead
    /// of leaving that property out with a warning.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(ctx: &Context, cmd: Command) -> anyhow::Result<Outcome> {
    match cmd {
        Command::Openlineage(args) => openlineage(ctx, args),
        Command::Mlmd(args) => mlmd(ctx, args),
    }
}

/// The event files named: files as given, folders walked (sorted) for JSON files.
fn event_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let found = crate::fsio::walk_files(p, false, |f| {
                f.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e, "json" | "jsonl" | "ndjson"))
            })
            .map_err(|e| LineageError::Io {
                path: p.clone(),
                message: e.to_string(),
            })?;
            files.extend(found);
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            return Err(LineageError::Missing {
                role: "event file",
                path: p.clone(),
            }
            .into());
        }
    }
    if files.is_empty() {
        return Err(UsageError(format!(
            "no event files (*.json, *.jsonl, *.ndjson) in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    Ok(files)
}

fn openlineage(ctx: &Context, args: OpenLineageArgs) -> anyhow::Result<Outcome> {
    let ledger = Ledger::open(&ctx.root)?;
    let files = event_files(&args.paths)?;
    let mut events: Vec<Event> = Vec::new();
    let mut bad = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| LineageError::Io {
            path: f.clone(),
            message: e.to_string(),
        })?;
        match ingest::parse(&text, &f.display().to_string(), args.strict) {
            Ok(e) => events.extend(e),
            Err(e) => bad.push(e),
        }
    }
    if !bad.is_empty() {
        return Err(LineageError::BadEvents(bad).into());
    }
    let rules = crate::policy::project_rules(&ctx.root, &[], false)?;
    let roots = crate::policy::DataRoots::load(&ctx.root, &rules)?;
    let summary = ingest::record(&ledger, &events, &ctx.root, &roots, &rules)?;
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        TextOrJson::Json => writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?,
        TextOrJson::Text => write_summary(&mut out, &summary, files.len())?,
    }
    Ok(Outcome::Success)
}

fn write_summary(out: &mut impl Write, s: &Summary, files: usize) -> std::io::Result<()> {
    let count = |status: &str| s.runs.iter().filter(|r| r.status == status).count();
    writeln!(
        out,
        "ingested {} events from {files} file(s): {} runs ({} recorded, {} updated, {} unchanged), {} artifact records, {} declared column tags{}",
        s.events,
        s.runs.len(),
        count("recorded"),
        count("updated"),
        count("unchanged"),
        s.artifacts,
        s.declared_tags,
        if s.ignored_tags > 0 {
            format!(" ({} other tags ignored)", s.ignored_tags)
        } else {
            String::new()
        }
    )?;
    for r in &s.runs {
        writeln!(
            out,
            "  {:<9} {:<8} {} {}: {} in, {} out, {} column edges{}",
            r.status,
            r.state,
            r.execution,
            r.job,
            r.inputs,
            r.outputs,
            r.column_edges,
            if r.failed {
                " (failed: kept, not propagated)"
            } else {
                ""
            }
        )?;
    }
    Ok(())
}

fn mlmd(ctx: &Context, args: MlmdArgs) -> anyhow::Result<Outcome> {
    let ledger = Ledger::open(&ctx.root)?;
    let rules = crate::policy::project_rules(&ctx.root, &[], false)?;
    let roots = crate::policy::DataRoots::load(&ctx.root, &rules)?;
    let summary =
        crate::lineage::mlmd::ingest(&ledger, &args.store, &ctx.root, &roots, &rules, args.strict)?;
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        TextOrJson::Json => writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?,
        TextOrJson::Text => {
            writeln!(
                out,
                "ingested {} (MLMD schema {}): {} executions ({} recorded, {} unchanged), {} artifacts, {} models",
                args.store.display(),
                summary.schema_version,
                summary.executions,
                summary.recorded,
                summary.executions - summary.recorded,
                summary.artifacts,
                summary.models
            )?;
            for l in &summary.links {
                writeln!(out, "  linked {l}")?;
            }
        }
    }
    Ok(Outcome::Success)
}
