//! `piitrail gate`: scan datasets and check them, and what lineage carries from them, against
//! the declarations and policy of piitrail.toml. Exit 0 pass, 1 violations, 2 bad input.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use super::scan::{ReadArgs, RuleArgs};
use super::{Context, Outcome};
use crate::policy::gate::{self, Outcome as GateOutcome};
use crate::policy::{Config, Level};
use crate::scan::{self, Mode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per violation with its rule id and a fix.
    Text,
    Json,
    /// SARIF 2.1.0 (GitHub code scanning and other SARIF viewers).
    Sarif,
    /// JUnit XML: one testcase per dataset and rule.
    Junit,
    /// GitHub Actions workflow commands (::error file=...::).
    Github,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or folders to check (.csv .tsv .parquet .json .jsonl .ndjson .arrow).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Policy file (default: the project's piitrail.toml; without one, the strict defaults).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    #[command(flatten)]
    pub reading: ReadArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let mode = args.reading.mode()?;
    let rules = Arc::new(args.rules.load(&ctx.root)?);
    // The configuration loads first and completely, or the gate does not run at all.
    let config = match &args.policy {
        Some(file) => Config::load_file(file, &rules)?,
        None => Config::load(&ctx.root, &rules)?,
    };
    let policy_path = match (&args.policy, &config.file) {
        (Some(f), _) => scan::display_path(f, &ctx.root),
        (None, Some(f)) => scan::display_path(f, &ctx.root),
        (None, None) => "piitrail.toml".into(),
    };
    let records = if ctx.root.join(".piitrail").join("ledger.jsonl").is_file() {
        crate::ledger::Ledger::open(&ctx.root)?.load()?
    } else {
        Vec::new()
    };
    let req = scan::Request {
        paths: args.paths.clone(),
        mode,
        rules: rules.clone(),
        root: ctx.root.clone(),
        show_examples: false,
        // A sample reads a few MB of a large file; hashing it would read all of it.
        digest: mode == Mode::Full,
        tables: args.reading.tables.clone(),
        progress: Default::default(),
    };
    let progress = super::progress::files(ctx, &req.progress);
    // A bad file does not hide the others' findings: they are evaluated and printed, then
    // the bad files are reported and the exit code is 2.
    let mut scanned = scan::scan_all(&req, |done, total, path| progress.step(done, total, path))
        .context("gate: scan failed")?;
    progress.finish();
    let failure = scanned.failure();
    let scans = scanned.scans;
    let outcome = gate::evaluate(&gate::Request {
        config: &config,
        rules: &rules,
        scans: &scans,
        records: &records,
        policy_path,
        today: chrono::Local::now().date_naive(),
        recorded: None,
    });
    let mut out = anstream::stdout().lock();
    match args.format {
        Format::Text => write_text(&mut out, &outcome)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &outcome)?;
            writeln!(out)?;
        }
        Format::Sarif => {
            serde_json::to_writer_pretty(&mut out, &crate::report::sarif::gate(&outcome))?;
            writeln!(out)?;
        }
        Format::Junit => out.write_all(crate::report::junit::gate(&outcome).as_bytes())?,
        Format::Github => out.write_all(crate::report::annotations::gate(&outcome).as_bytes())?,
    }
    out.flush()?;
    if let Some(e) = failure {
        return Err(anyhow::Error::new(e).context("gate: scan failed"));
    }
    Ok(if outcome.passed {
        Outcome::Success
    } else {
        Outcome::Findings
    })
}

pub(crate) fn write_text(out: &mut impl Write, o: &GateOutcome) -> std::io::Result<()> {
    use anstyle::{AnsiColor, Style};
    let style = |level: Level| match level {
        Level::Error => Style::new().bold().fg_color(Some(AnsiColor::Red.into())),
        Level::Warning => Style::new().bold().fg_color(Some(AnsiColor::Yellow.into())),
        _ => Style::new().bold(),
    };
    for v in &o.violations {
        let (label, s) = match &v.suppressed {
            Some(_) => ("waived", Style::new().dimmed()),
            None => (v.level.as_str(), style(v.level)),
        };
        writeln!(
            out,
            "{s}{label}[{}]{s:#} {}: {}",
            v.rule, v.artifact, v.message
        )?;
        match &v.suppressed {
            Some(w) => writeln!(
                out,
                "  waived until {} (piitrail.toml line {}): {}",
                w.expires, w.line, w.reason
            )?,
            None => writeln!(out, "  fix: {}", v.fix)?,
        }
    }
    let s = &o.summary;
    let verdict = if o.passed {
        Style::new().bold().fg_color(Some(AnsiColor::Green.into()))
    } else {
        style(Level::Error)
    };
    writeln!(
        out,
        "{verdict}gate {}{verdict:#}: {} error(s), {} warning(s), {} note(s), {} waived; {} dataset(s) scanned, {} downstream artifact(s) checked; policy: {}",
        if o.passed { "passed" } else { "failed" },
        s.errors,
        s.warnings,
        s.notes,
        s.suppressed,
        s.datasets_scanned,
        s.artifacts_downstream,
        o.policy
            .as_deref()
            .unwrap_or("strict defaults (no piitrail.toml)")
    )
}
