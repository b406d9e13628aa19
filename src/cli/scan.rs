//! `piitrail scan`: tag the columns that hold personal data.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use super::{Context, Outcome, UsageError};
use crate::rules;
use crate::scan::{self, ArtifactScan, Mode};

pub use super::TextOrJson as Format;
use crate::ledger::Basis;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or folders to scan (.csv .tsv .parquet .json .jsonl .ndjson .arrow), or a SQLite
    /// database as `sqlite:PATH` (every table).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub reading: ReadArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Append the scan to the project's ledger.
    #[arg(long)]
    pub record: bool,
    /// Show up to three masked examples of matched values per column.
    #[arg(long)]
    pub show_examples: bool,
    /// Output format: a readable table, or one JSON object per line.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How many rows to read; shared by every command that scans.
#[derive(Debug, Clone, clap::Args)]
pub struct ReadArgs {
    /// Rows to sample, drawn across each whole file.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10_000,
        conflicts_with = "full"
    )]
    pub sample: usize,
    /// Read every row (streamed, both cores) instead of a sample.
    #[arg(long)]
    pub full: bool,
    /// Read only the tables of a database whose `schema.table` (or bare table name) matches
    /// this glob, without case for SQLite; repeatable. A glob that matches no table is an error.
    #[arg(long = "table", value_name = "GLOB")]
    pub tables: Vec<String>,
}

impl ReadArgs {
    pub fn mode(&self) -> anyhow::Result<Mode> {
        if self.full {
            Ok(Mode::Full)
        } else if self.sample == 0 {
            Err(UsageError("--sample must be at least 1".into()).into())
        } else {
            Ok(Mode::Sample(self.sample))
        }
    }
}

/// Where rules come from; shared by every command that scans.
#[derive(Debug, Clone, clap::Args)]
pub struct RuleArgs {
    /// Add the rule files of this folder (or file); a rule with a built-in id overrides it.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in rule pack.
    #[arg(long)]
    pub no_builtin_rules: bool,
}

impl RuleArgs {
    /// The project's rule set (`[scan]` of piitrail.toml) with these added.
    pub fn load(&self, root: &std::path::Path) -> anyhow::Result<rules::RuleSet> {
        let set = crate::policy::project_rules(root, &self.rules, self.no_builtin_rules)?;
        if set.rules.is_empty() {
            return Err(UsageError(
                "no rules are loaded: --no-builtin-rules (or [scan] no_builtin_rules) needs --rules DIR (or [scan] rules)".into(),
            )
            .into());
        }
        Ok(set)
    }
}

pub fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    // Open the ledger first: a scan that cannot be recorded is refused before any work.
    let ledger = if args.record {
        Some(crate::ledger::Ledger::open(&ctx.root)?)
    } else {
        None
    };
    let mode = args.reading.mode()?;
    let rules = Arc::new(args.rules.load(&ctx.root)?);
    let req = scan::Request {
        paths: args.paths.clone(),
        mode,
        rules,
        root: ctx.root.clone(),
        show_examples: args.show_examples,
        digest: true,
        tables: args.reading.tables.clone(),
        progress: Default::default(),
    };
    let progress = super::progress::files(ctx, &req.progress);
    // A folder scan goes on past a bad file: the others are printed (and recorded), then the
    // bad ones are reported and the exit code is 2.
    let mut scanned = scan::scan_all(&req, |done, total, path| progress.step(done, total, path))
        .context("scan failed")?;
    progress.finish();
    let failure = scanned.failure();
    let scans = scanned.scans;
    if let Some(ledger) = &ledger {
        let written = crate::scan::record_scans(ledger, &scans)?;
        ctx.note(format!("recorded {} ledger record(s)", written.len()));
    }
    for s in &scans {
        for w in &s.warnings {
            ctx.note(format!("warning: {}: {w}", s.artifact));
        }
    }
    let mut out = anstream::stdout().lock();
    match args.format {
        Format::Json => {
            for s in &scans {
                serde_json::to_writer(&mut out, s)?;
                writeln!(out)?;
            }
        }
        Format::Text => {
            for s in &scans {
                write_text(&mut out, s)?;
            }
        }
    }
    out.flush()?;
    match failure {
        Some(e) => Err(anyhow::Error::new(e).context("scan failed")),
        None => Ok(Outcome::Success),
    }
}

pub(crate) fn write_text(out: &mut impl Write, s: &ArtifactScan) -> std::io::Result<()> {
    let rows = match s.rows_total {
        Some(t) => format!("{} of {t} rows", s.rows_scanned),
        None => format!("{} rows", s.rows_scanned),
    };
    writeln!(
        out,
        "{}  {}  {}  {} ({})",
        s.artifact,
        crate::scan::short_digest(&s.digest),
        s.format,
        rows,
        s.sampling
    )?;
    let width = s
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    for c in &s.columns {
        if c.tags.is_empty() {
            writeln!(out, "  {:width$}  -", c.name)?;
            continue;
        }
        for (i, t) in c.tags.iter().enumerate() {
            let name = if i == 0 { c.name.as_str() } else { "" };
            let ev = &t.evidence;
            let how = match ev.basis {
                Basis::FreeText => format!("{}/{} values contain it", ev.matched, ev.non_null),
                Basis::Name => match &ev.reason {
                    Some(why) => format!("column name, over {why}"),
                    None => "column name only".to_string(),
                },
                _ => format!("{}/{} values match", ev.matched, ev.non_null),
            };
            let named = if ev.name_match && ev.basis != Basis::Name {
                ", name matches"
            } else {
                ""
            };
            // Special categories and criminal data stand out on a terminal (colour goes
            // through anstream: dropped when not a terminal or when NO_COLOR is set).
            let style = match t.gdpr_class {
                crate::rules::GdprClass::Special | crate::rules::GdprClass::Criminal => {
                    anstyle::Style::new()
                        .bold()
                        .fg_color(Some(anstyle::AnsiColor::Red.into()))
                }
                _ => anstyle::Style::new(),
            };
            writeln!(
                out,
                "  {name:width$}  {style}{:<44} {:<8}{style:#} {:.2}  {:<22} {how}{named}",
                t.category,
                t.gdpr_class.as_str(),
                t.confidence,
                t.rule
            )?;
        }
        if !c.examples.is_empty() {
            writeln!(out, "  {:width$}  examples: {}", "", c.examples.join(", "))?;
        }
    }
    let tagged = s.tagged_columns().count();
    writeln!(
        out,
        "  {tagged} of {} columns hold personal data\n",
        s.columns.len()
    )
}
