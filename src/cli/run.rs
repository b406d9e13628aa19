//! `piitrail run`: run SQL with DataFusion, write the output, record exact column lineage.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Context, Outcome, UsageError};
use crate::ledger::{Ledger, LedgerError};
use crate::lineage::run::{self, Request};

pub use super::TextOrJson as Format;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The query: a .sql file, or the SQL text itself.
    #[arg(long, value_name = "FILE|TEXT")]
    pub sql: String,
    /// An input table: NAME is how the query names it, PATH a CSV, TSV, Parquet, NDJSON or
    /// Arrow file, an object (s3://BUCKET/KEY, gs://, az://, https://) or a database table
    /// (sqlite:FILE.TABLE, postgres://USER@HOST:PORT/DB.SCHEMA.TABLE, mysql://USER@HOST:PORT/DB.TABLE).
    #[arg(long = "input", value_name = "NAME=PATH", required = true, num_args = 1..)]
    pub inputs: Vec<String>,
    /// Where the result goes, a file or an object (s3://BUCKET/KEY, ...); its extension picks
    /// the format (.parquet, .csv, .tsv, .ndjson, .jsonl, .json, .arrow). Written atomically
    /// (an object appears only when its upload completes).
    #[arg(long, value_name = "PATH")]
    pub output: PathBuf,
    /// Record the execution in the ledger (the default inside a project; without one, an error).
    #[arg(long, conflicts_with = "no_record")]
    pub record: bool,
    /// Do not record the execution, even inside a project.
    #[arg(long)]
    pub no_record: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `--sql` names a file when one exists there; something that looks like a file name but is
/// missing is an error rather than a confusing SQL syntax error.
fn query_text(arg: &str) -> anyhow::Result<String> {
    let path = Path::new(arg);
    if path.is_file() {
        return std::fs::read_to_string(path).map_err(|e| {
            UsageError(format!("--sql {arg}: cannot read it as UTF-8 text: {e}")).into()
        });
    }
    let one_word = !arg.trim().contains(char::is_whitespace);
    if one_word && arg.to_ascii_lowercase().ends_with(".sql") {
        return Err(UsageError(format!("--sql {arg}: no such file")).into());
    }
    Ok(arg.to_string())
}

pub fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let sql = query_text(&args.sql)?;
    let mut inputs = Vec::new();
    for spec in &args.inputs {
        let Some((name, path)) = spec.split_once('=') else {
            return Err(UsageError(format!(
                "--input {spec}: expected NAME=PATH (the table name the query uses, then the file)"
            ))
            .into());
        };
        inputs.push((name.to_string(), PathBuf::from(path)));
    }
    let ledger = if args.no_record {
        None
    } else {
        match Ledger::open(&ctx.root) {
            Ok(l) => Some(l),
            Err(LedgerError::NotInitialised(_)) if !args.record => None,
            Err(e) => return Err(e.into()),
        }
    };
    let req = Request {
        sql,
        inputs,
        output: args.output,
        root: ctx.root.clone(),
    };
    let ran = run::run(&req, ledger.as_ref())?;
    let x = &ran.execution;
    let out = &x.outputs[0];
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let v = serde_json::json!({
                "output": out.path,
                "digest": out.digest,
                "rows": ran.rows,
                "schema": ran.schema,
                "recorded": ran.recorded,
                "execution": x,
            });
            serde_json::to_writer_pretty(&mut stdout, &v)?;
            writeln!(stdout)?;
        }
        Format::Text => {
            writeln!(
                stdout,
                "wrote {} rows to {} ({})",
                ran.rows,
                out.path,
                crate::scan::short_digest(&out.digest)
            )?;
            if let Some(k) = x.min_group_size {
                writeln!(stdout, "smallest group behind an aggregate: k = {k}")?;
            }
            if ran.recorded {
                writeln!(stdout, "recorded sql execution {}", x.id)?;
            } else {
                writeln!(
                    stdout,
                    "not recorded (no ledger here: `piitrail init` starts one)"
                )?;
            }
            writeln!(stdout, "column lineage:")?;
            let width = x
                .columns
                .iter()
                .map(|e| e.to.column.len())
                .max()
                .unwrap_or(0);
            let from_width = x
                .columns
                .iter()
                .map(|e| e.from.path.len() + e.from.column.len() + 1)
                .max()
                .unwrap_or(0);
            for e in &x.columns {
                let from = format!("{}:{}", e.from.path, e.from.column);
                writeln!(
                    stdout,
                    "  {:width$} <- {from:from_width$}  {} {}{} -> {}",
                    e.to.column,
                    e.edge_type,
                    e.subtype,
                    if e.masking { " (masking)" } else { "" },
                    e.class,
                )?;
            }
        }
    }
    Ok(Outcome::Success)
}
