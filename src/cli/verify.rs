//! `piitrail verify`: check a signed report's envelope, and optionally the artifacts on disk.

use std::io::Write;
use std::path::PathBuf;

use super::{Context, Outcome, UsageError};
use crate::sign::{self, Envelope, Subject};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The DSSE envelope (report.dsse.json).
    pub envelope: PathBuf,
    /// The public key (SPKI PEM, piitrail.pub).
    #[arg(long, value_name = "PUBKEY")]
    pub key: PathBuf,
    /// Also re-hash every artifact the report names (paths relative to the project) and list
    /// each one that changed or is missing.
    #[arg(long)]
    pub artifacts: bool,
    /// Also check that the project's ledger still holds the record the report (or erasure
    /// certificate) was signed at, with its hash and an intact chain up to it: exit 1 when the
    /// ledger was cut or rewritten since.
    #[arg(long)]
    pub ledger: bool,
}

pub fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let public = sign::load_public_key(&args.key)?;
    let text = std::fs::read_to_string(&args.envelope)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", args.envelope.display())))?;
    let env: Envelope = serde_json::from_str(&text).map_err(|e| {
        UsageError(format!(
            "{}: not a DSSE envelope (line {}, column {}): {e}",
            args.envelope.display(),
            e.line(),
            e.column()
        ))
    })?;
    let mut o = std::io::stdout().lock();
    // Artifacts are re-hashed only inside the project's data roots.
    let roots = if args.artifacts {
        Some(crate::policy::DataRoots::load(
            &ctx.root,
            &crate::policy::project_rules(&ctx.root, &[], false)?,
        )?)
    } else {
        None
    };
    let artifacts = roots.as_ref().map(|r| (ctx.root.as_path(), r));
    let checked = match sign::check_report(&env, &public, artifacts) {
        Ok(c) => c,
        Err(reason) => {
            writeln!(o, "FAILED: {}: {reason}", args.envelope.display())?;
            return Ok(Outcome::Findings);
        }
    };
    writeln!(
        o,
        "signature valid: keyid {}, {} artifacts, {} of {}",
        checked.keyid,
        checked.subjects.len(),
        checked.what,
        checked.time
    )?;
    if !checked.rule_packs.is_empty() {
        let builtin = crate::rules::builtin()?.digest;
        for pack in &checked.rule_packs {
            if *pack == builtin {
                writeln!(o, "rule pack {pack}: this binary's built-in rules")?;
            } else {
                writeln!(
                    o,
                    "rule pack {pack}: NOT this binary's built-in rules ({builtin}): other \
                     rules, --rules files or another piitrail version judged these tags"
                )?;
            }
        }
    }
    let pinned = if args.ledger {
        let held = check_pin(ctx, &checked, &mut o)?;
        if !args.artifacts {
            return Ok(if held {
                Outcome::Success
            } else {
                Outcome::Findings
            });
        }
        held
    } else {
        true
    };
    if !args.artifacts {
        return Ok(Outcome::Success);
    }
    for (name, signed, state) in &checked.subjects {
        match state {
            Some(Subject::Matches) => writeln!(o, "ok       {name}")?,
            Some(Subject::Missing) => writeln!(o, "MISSING  {name}")?,
            Some(Subject::External) => {
                writeln!(o, "EXTERNAL {name}: outside the data roots, not re-hashed")?
            }
            Some(Subject::Changed(now)) => writeln!(
                o,
                "CHANGED  {name}: {} is now {} (signed: {})",
                if now.starts_with(crate::source::db::ROWS_VERSION) {
                    "its rows' version"
                } else {
                    "sha256"
                },
                crate::scan::short_digest(now),
                signed.get(..12).unwrap_or(signed)
            )?,
            None => {}
        }
    }
    let failed = checked.failures();
    if failed > 0 {
        writeln!(
            o,
            "FAILED: {failed} of {} artifacts differ from the signed report",
            checked.subjects.len()
        )?;
        return Ok(Outcome::Findings);
    }
    writeln!(
        o,
        "all {} artifacts match the signed report",
        checked.subjects.len()
    )?;
    Ok(if pinned {
        Outcome::Success
    } else {
        Outcome::Findings
    })
}

/// Checks the project's ledger against the place the envelope pinned, prints the answer, and
/// says whether the ledger holds it.
pub(crate) fn check_pin(
    ctx: &Context,
    checked: &sign::Checked,
    o: &mut impl Write,
) -> anyhow::Result<bool> {
    let Some(pin) = &checked.pin else {
        writeln!(
            o,
            "FAILED: the signed {} names no ledger record (made before ledgers were pinned)",
            checked.what
        )?;
        return Ok(false);
    };
    let ledger = crate::ledger::Ledger::open(&ctx.root)?;
    let state = ledger.check_pin(pin)?;
    if state == crate::ledger::PinState::Held {
        writeln!(
            o,
            "ledger ok: record {} has the signed hash {}; the chain up to it is intact",
            pin.records, pin.head
        )?;
        Ok(true)
    } else {
        writeln!(
            o,
            "FAILED: {state} (signed at record {}, hash {})",
            pin.records, pin.head
        )?;
        Ok(false)
    }
}
