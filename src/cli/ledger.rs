//! `piitrail ledger verify | log | recover`.

use std::io::Write;

use super::{Context, Outcome};
use crate::ledger::{Body, Ledger};

pub use super::TextOrJson as Format;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Recompute the hash chain and name the first bad line (exit 1 if there is one).
    Verify,
    /// List the records: sequence, time, kind and what each says.
    Log {
        /// Output format: a readable table, or one JSON object per line.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Move a torn last line (an interrupted write) aside into .piitrail/ledger.torn-TIME.jsonl.
    Recover,
}

pub fn run(ctx: &Context, cmd: Command) -> anyhow::Result<Outcome> {
    let ledger = Ledger::open(&ctx.root)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        Command::Verify => {
            let v = ledger.verify()?;
            match v.problem {
                None => {
                    writeln!(out, "ledger intact: {} records, head {}", v.records, v.head)?;
                    Ok(Outcome::Success)
                }
                Some((line, message)) => {
                    writeln!(
                        out,
                        "ledger broken at {}:{line}: {message}",
                        ledger.path.display()
                    )?;
                    writeln!(
                        out,
                        "{} records before it verify; head of the intact part {}",
                        v.records, v.head
                    )?;
                    Ok(Outcome::Findings)
                }
            }
        }
        Command::Log { format } => {
            for r in ledger.load()? {
                match format {
                    Format::Json => {
                        serde_json::to_writer(&mut out, &r)?;
                        writeln!(out)?;
                    }
                    Format::Text => {
                        let what = match &r.body {
                            Body::Artifact(a) => format!(
                                "{} {} ({}, {} bytes){}",
                                a.path,
                                crate::scan::short_digest(&a.digest),
                                a.format,
                                a.size,
                                a.previous
                                    .as_deref()
                                    .map(|p| format!(", follows {}", crate::scan::short_digest(p)))
                                    .unwrap_or_default()
                            ),
                            Body::Scan(s) => format!(
                                "{} {}: {} of {} columns hold personal data",
                                s.artifact,
                                crate::scan::short_digest(&s.digest),
                                s.columns.iter().filter(|c| !c.tags.is_empty()).count(),
                                s.columns.len()
                            ),
                            Body::Execution(x) => format!(
                                "{} {}: {} -> {} ({} column edges){}",
                                x.kind,
                                x.id,
                                x.inputs
                                    .iter()
                                    .map(|a| a.path.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                x.outputs
                                    .iter()
                                    .map(|a| a.path.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                x.columns.len(),
                                execution_note(x)
                            ),
                        };
                        writeln!(out, "{:>6}  {}  {:<9} {what}", r.seq, r.time, r.kind())?;
                    }
                }
            }
            Ok(Outcome::Success)
        }
        Command::Recover => {
            match ledger.recover()? {
                None => writeln!(
                    out,
                    "the ledger ends with a complete line: nothing to recover"
                )?,
                Some((side, bytes)) => writeln!(
                    out,
                    "moved the torn last line ({bytes} bytes) to {}; the ledger now ends at its last complete record",
                    side.display()
                )?,
            }
            Ok(Outcome::Success)
        }
    }
}

/// What `ledger log` adds to an execution's line: the rows an erasure removed (the subject only
/// as its salted hash), or the imported run it came from.
fn execution_note(x: &crate::ledger::ExecutionRecord) -> String {
    if let Some(e) = &x.erasure {
        return format!(
            "; erased {} row(s) of subject {}",
            e.files.iter().map(|f| f.removed).sum::<u64>(),
            crate::scan::short_digest(&e.subject)
        );
    }
    if let Some(r) = &x.run {
        return format!("; {} run {} of {} ({})", r.source, r.id, r.job, r.state);
    }
    String::new()
}
