//! The command-line edge: clap definitions, one file per subcommand, exit codes.
//!
//! Each subcommand turns its arguments into a library request, calls the library and formats
//! the answer. The exit code is decided here and only here (DESIGN.md: 0 success, 1 findings,
//! 2 usage or input error, 3 internal error).

pub mod audit;
pub mod completions;
pub mod demo;
pub mod explain;
pub mod export;
pub mod gate;
pub mod ingest;
pub mod init;
pub mod keygen;
pub mod ledger;
pub mod lineage;
pub mod progress;
pub mod record;
pub mod rules;
pub mod run;
pub mod scan;
pub mod serve;
pub mod subject;
pub mod verify;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// piitrail: find personal data in datasets, follow it through lineage, prove it with signed reports.
#[derive(Debug, Parser)]
#[command(name = "piitrail", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Project folder (default: the nearest parent holding piitrail.toml or .piitrail/, else the current folder).
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Print no progress or notes on stderr (errors are still printed).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Hash every file instead of reusing the digests of unchanged files
    /// (.piitrail/digests.json); `verify --artifacts` always hashes.
    #[arg(long, global = true)]
    pub no_cache: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create piitrail.toml and the ledger (.piitrail/ledger.jsonl) in the project folder.
    #[command(
        after_help = "Examples:\n  piitrail init\n  piitrail init --project ../shop\n  piitrail init --from-fides fides/customers.yml"
    )]
    Init(init::Args),
    /// Find the columns that hold personal data in CSV, TSV, Parquet, NDJSON and Arrow files.
    #[command(
        after_help = "Examples:\n  piitrail scan data/customers.csv\n  piitrail scan data/ --full --format json\n  piitrail scan export.csv --rules my-rules/ --show-examples"
    )]
    Scan(scan::Args),
    /// List, explain and test the rules that recognise personal data.
    #[command(
        subcommand,
        after_help = "Examples:\n  piitrail rules list\n  piitrail rules explain iban\n  piitrail rules test my-rules/loyalty.toml"
    )]
    Rules(rules::Command),
    /// Run piitrail on the bundled example shop and show what it finds.
    #[command(after_help = "Examples:\n  piitrail demo\n  piitrail demo --out /tmp/shop")]
    Demo(demo::Args),
    /// Run SQL over data files with DataFusion, write the result, and record its exact column lineage.
    #[command(
        after_help = "Examples:\n  piitrail run --sql steps/hash.sql --input customers=data/customers.csv --output out/customers_hashed.parquet\n  piitrail run --sql \"SELECT country, count(*) AS n FROM c GROUP BY country\" --input c=data/customers.csv --output out/by_country.csv"
    )]
    Run(run::Args),
    /// Declare a step that ran elsewhere (model training, a transform, an export) in the ledger.
    #[command(
        after_help = "Examples:\n  piitrail record --kind training --input data/features.parquet --output models/churn.pkl --code train.py\n  piitrail record --kind transform --input raw.csv --output clean.csv --column email_hash=email:pseudonymised"
    )]
    Record(record::Args),
    /// Take lineage recorded by other tools: OpenLineage events, TFX ML Metadata stores.
    #[command(
        subcommand,
        after_help = "Examples:\n  piitrail ingest openlineage events/\n  piitrail ingest mlmd pipeline/metadata.sqlite"
    )]
    Ingest(ingest::Command),
    /// Receive OpenLineage events over HTTP (POST /api/v1/lineage) into the ledger.
    #[command(
        after_help = "Examples:\n  piitrail serve\n  piitrail serve --addr 0.0.0.0:5000 --token-file /run/secrets/piitrail-token\n  OPENLINEAGE_URL=http://127.0.0.1:5000 spark-submit ..."
    )]
    Serve(serve::Args),
    /// Show where an artifact came from (upstream) or what was derived from it (downstream).
    #[command(
        after_help = "Examples:\n  piitrail lineage models/churn.pkl\n  piitrail lineage data/customers.csv --downstream --columns\n  piitrail lineage models/churn.pkl --format dot | dot -Tsvg > lineage.svg"
    )]
    Lineage(lineage::Args),
    /// Data-subject requests: find everything that holds or came from one person's data.
    #[command(
        subcommand,
        after_help = "Examples:\n  piitrail subject find --id email=alice@example.com\n  piitrail subject find --id data/customers.csv:customer_id=C042 --format json"
    )]
    Subject(subject::Command),
    /// Make an ed25519 key pair for signing audit reports.
    #[command(after_help = "Examples:\n  piitrail keygen\n  piitrail keygen --out ~/keys/piitrail")]
    Keygen(keygen::Args),
    /// Propagate tags along lineage and write the audit report (JSON, HTML, Markdown), signed with --key.
    #[command(
        after_help = "Examples:\n  piitrail audit --key ~/.config/piitrail/piitrail.key\n  piitrail audit --out reports/2026-q4"
    )]
    Audit(audit::Args),
    /// Check datasets against piitrail.toml's declarations and policy (CI): exit 0 pass, 1 violations.
    #[command(
        after_help = "Examples:\n  piitrail gate data/new.parquet\n  piitrail gate data/ --format sarif > piitrail.sarif\n  piitrail gate exports/ --policy ci/strict.toml --format github"
    )]
    Gate(gate::Args),
    /// What a finding code of `audit` and `gate` means and how to fix it; every code without one.
    #[command(
        after_help = "Examples:\n  piitrail explain small-group\n  piitrail explain\n  piitrail explain undeclared-pii --format json"
    )]
    Explain(explain::Args),
    /// Export the project's datasets for other tools (fideslang dataset manifests for Fides).
    #[command(
        subcommand,
        after_help = "Examples:\n  piitrail export fides --out fides/"
    )]
    Export(export::Command),
    /// Check a signed report: its signature, and with --artifacts every artifact it names.
    #[command(
        after_help = "Examples:\n  piitrail verify piitrail-report/report.dsse.json --key piitrail.pub\n  piitrail verify piitrail-report/report.dsse.json --key piitrail.pub --artifacts"
    )]
    Verify(verify::Args),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  piitrail completions bash > /etc/bash_completion.d/piitrail\n  piitrail completions zsh > ~/.zfunc/_piitrail"
    )]
    Completions(completions::Args),
    /// Print the man page (roff).
    #[command(after_help = "Examples:\n  piitrail man > piitrail.1 && man ./piitrail.1")]
    Man,
    /// Verify, list and recover the hash-chained ledger.
    #[command(
        subcommand,
        after_help = "Examples:\n  piitrail ledger verify\n  piitrail ledger log --format json\n  piitrail ledger recover"
    )]
    Ledger(ledger::Command),
}

/// `--format` of the commands that print either a text summary or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextOrJson {
    Text,
    Json,
}

/// How a command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Findings,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> ExitCode {
        match o {
            Outcome::Success => ExitCode::from(0),
            Outcome::Findings => ExitCode::from(1),
        }
    }
}

/// An error in how the command was asked for (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Exit code 2 for problems the user can fix (usage, input), 3 for piitrail bugs.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<crate::scan::ScanError>() {
            return if e.is_input() { 2 } else { 3 };
        }
        if let Some(e) = cause.downcast_ref::<crate::lineage::LineageError>() {
            return if e.is_input() { 2 } else { 3 };
        }
        if let Some(e) = cause.downcast_ref::<crate::ledger::LedgerError>() {
            return if e.is_input() { 2 } else { 3 };
        }
        if let Some(e) = cause.downcast_ref::<crate::report::AuditError>() {
            return match e {
                crate::report::AuditError::Ledger(l) if !l.is_input() => 3,
                crate::report::AuditError::Render(_) | crate::report::AuditError::Rules(_) => 3,
                _ => 2,
            };
        }
        if let Some(e) = cause.downcast_ref::<crate::sign::SignError>() {
            return if matches!(e, crate::sign::SignError::Random(_)) {
                3
            } else {
                2
            };
        }
        if let Some(e) = cause.downcast_ref::<crate::subject::SubjectError>() {
            return if e.is_input() { 2 } else { 3 };
        }
        if cause.downcast_ref::<crate::policy::PolicyError>().is_some() {
            return 2;
        }
        if cause.downcast_ref::<crate::rules::RuleError>().is_some()
            || cause.downcast_ref::<UsageError>().is_some()
        {
            return 2;
        }
        if let Some(json) = cause.downcast_ref::<serde_json::Error>()
            && json.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe)
        {
            return 0;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return if io.kind() == std::io::ErrorKind::BrokenPipe {
                0
            } else {
                2
            };
        }
    }
    3
}

/// Prints the error chain on stderr, one cause per line, and picks the exit code.
pub fn report_error(err: &anyhow::Error) -> ExitCode {
    let code = exit_code(err);
    if code == 0 {
        return ExitCode::SUCCESS; // broken pipe: the reader went away, as with `| head`
    }
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {err}");
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
    ExitCode::from(code)
}

/// The project folder: `--project`, else the nearest parent with piitrail.toml or .piitrail/,
/// else the current folder. A `--project` that does not exist is a usage error.
pub fn project_root(arg: &Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) = arg {
        if !p.is_dir() {
            return Err(
                UsageError(format!("project folder {} does not exist", p.display())).into(),
            );
        }
        return Ok(p.clone());
    }
    let cwd = std::env::current_dir()?;
    for dir in cwd.ancestors() {
        if dir.join("piitrail.toml").is_file() || dir.join(".piitrail").is_dir() {
            return Ok(dir.to_path_buf());
        }
    }
    Ok(cwd)
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let root = project_root(&cli.project)?;
    let ctx = Context {
        root,
        quiet: cli.quiet,
    };
    if cli.no_cache {
        crate::source::digests::bypass();
    }
    let outcome = dispatch(&ctx, cli.command);
    for (path, e) in crate::source::digests::save_all() {
        ctx.note(format!(
            "warning: the digest cache {} was not written: {e}",
            path.display()
        ));
    }
    outcome
}

/// Runs one command.
fn dispatch(ctx: &Context, command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Scan(args) => scan::run(ctx, args),
        Command::Rules(cmd) => rules::run(ctx, cmd),
        Command::Demo(args) => demo::run(ctx, args),
        Command::Init(args) => init::run(ctx, args),
        Command::Ledger(cmd) => ledger::run(ctx, cmd),
        Command::Run(args) => run::run(ctx, args),
        Command::Record(args) => record::run(ctx, args),
        Command::Ingest(cmd) => ingest::run(ctx, cmd),
        Command::Serve(args) => serve::run(ctx, args),
        Command::Subject(cmd) => subject::run(ctx, cmd),
        Command::Lineage(args) => lineage::run(ctx, args),
        Command::Keygen(args) => keygen::run(ctx, args),
        Command::Audit(args) => audit::run(ctx, args),
        Command::Gate(args) => gate::run(ctx, args),
        Command::Explain(args) => explain::run(ctx, args),
        Command::Export(cmd) => export::run(ctx, cmd),
        Command::Verify(args) => verify::run(ctx, args),
        Command::Completions(args) => completions::completions(args),
        Command::Man => completions::man(),
    }
}

/// What every command gets besides its own arguments.
pub struct Context {
    pub root: PathBuf,
    pub quiet: bool,
}

impl Context {
    /// A note for the person at the terminal (stderr), unless `--quiet`.
    pub fn note(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{msg}");
        }
    }
}
