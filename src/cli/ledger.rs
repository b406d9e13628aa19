//! `piitrail ledger verify | log | recover`.

use std::io::Write;

use super::{Context, Outcome};
use crate::ledger::{Body, Ledger, Record};

pub use super::TextOrJson as Format;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Recompute the hash chain and name the first bad line (exit 1 if there is one).
    Verify {
        /// Also check every signed report and erasure certificate (`*.dsse.json`) under this
        /// folder: the ledger must still hold the record each was signed at (exit 1 if not).
        #[arg(long, value_name = "DIR", requires = "key")]
        anchors: Option<std::path::PathBuf>,
        /// The public key the anchors are signed with (SPKI PEM, piitrail.pub).
        #[arg(long, value_name = "PUBKEY")]
        key: Option<std::path::PathBuf>,
    },
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
        Command::Verify { anchors, key } => {
            let size = std::fs::metadata(&ledger.path).map(|m| m.len()).ok();
            ledger.progress.begin(".piitrail/ledger.jsonl", size);
            let bar = super::progress::work(ctx, &ledger.progress);
            let v = ledger.verify();
            bar.finish();
            let v = v?;
            let anchored = match (anchors, key) {
                (Some(dir), Some(key)) => check_anchors(ctx, &dir, &key, &mut out)?,
                _ => true,
            };
            match v.problem {
                None => {
                    writeln!(out, "ledger intact: {} records, head {}", v.records, v.head)?;
                    Ok(if anchored {
                        Outcome::Success
                    } else {
                        Outcome::Findings
                    })
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
            // Record by record as the blocks are read: a million records are never all held.
            // Block by block as they are read, each written out by the thread that parsed
            // it: a million records are never all held, nor freed by another thread.
            let text = |block: Vec<Record>| {
                let mut text = Vec::with_capacity(block.len() * 160);
                for r in &block {
                    log_line(&mut text, r, format)?;
                }
                std::io::Result::Ok(text)
            };
            let mut written: std::io::Result<()> = Ok(());
            ledger.for_each_block(text, |text| {
                if written.is_ok() {
                    written = text.and_then(|text| out.write_all(&text));
                }
            })?;
            written?;
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

/// One record of `ledger log`.
fn log_line(out: &mut impl Write, r: &Record, format: Format) -> std::io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer(&mut *out, r)?;
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
    Ok(())
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

/// Checks every signed envelope (`*.dsse.json`) under `dir` (its signature by `key`, then the
/// ledger place it pins) and prints one line each; true when all of them hold.
fn check_anchors(
    ctx: &Context,
    dir: &std::path::Path,
    key: &std::path::Path,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let public = crate::sign::load_public_key(key)?;
    let mut envelopes: Vec<std::path::PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| super::UsageError(format!("--anchors {}: {e}", dir.display())))?
        .into_iter()
        .map(|e| e.into_path())
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(".dsse.json"))
        .collect();
    envelopes.sort();
    if envelopes.is_empty() {
        return Err(super::UsageError(format!(
            "--anchors {}: no signed report or certificate (*.dsse.json) there",
            dir.display()
        ))
        .into());
    }
    let mut held = true;
    for path in &envelopes {
        let env = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                serde_json::from_str::<crate::sign::Envelope>(&t)
                    .map_err(|e| format!("not a DSSE envelope: {e}"))
            })
            .and_then(|env| {
                crate::sign::check_report(&env, &public, None).map_err(|e| e.to_string())
            });
        match env {
            Ok(checked) => {
                write!(out, "{}: ", path.display())?;
                held &= super::verify::check_pin(ctx, &checked, out)?;
            }
            Err(reason) => {
                writeln!(out, "{}: FAILED: {reason}", path.display())?;
                held = false;
            }
        }
    }
    Ok(held)
}
