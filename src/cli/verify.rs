//! `piitrail verify`: check a signed report's envelope, and optionally the artifacts on disk.

use std::io::Write;
use std::path::PathBuf;

use super::{Context, Outcome, UsageError};
use crate::sign::{self, Envelope};

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
    let payload = match sign::verify(&env, &public) {
        Ok(p) => p,
        Err(reason) => {
            writeln!(o, "FAILED: {}: {reason}", args.envelope.display())?;
            return Ok(Outcome::Findings);
        }
    };
    let statement: serde_json::Value = match serde_json::from_slice(&payload) {
        Ok(v) => v,
        Err(e) => {
            writeln!(o, "FAILED: the signed payload is not JSON: {e}")?;
            return Ok(Outcome::Findings);
        }
    };
    if statement["_type"] != sign::STATEMENT_TYPE
        || statement["predicateType"] != sign::PREDICATE_TYPE
    {
        writeln!(
            o,
            "FAILED: the payload is not a piitrail audit Statement (_type {}, predicateType {})",
            statement["_type"], statement["predicateType"]
        )?;
        return Ok(Outcome::Findings);
    }
    let subjects = statement["subject"].as_array().cloned().unwrap_or_default();
    writeln!(
        o,
        "signature valid: keyid {}, {} artifacts, report of {}",
        sign::keyid(&public),
        subjects.len(),
        statement["predicate"]["time"].as_str().unwrap_or("?")
    )?;
    if !args.artifacts {
        return Ok(Outcome::Success);
    }
    let mut failed = 0;
    for s in &subjects {
        let name = s["name"].as_str().unwrap_or("");
        let want = s["digest"]["sha256"].as_str().unwrap_or("");
        let path = ctx.root.join(name);
        if !path.is_file() {
            writeln!(o, "MISSING  {name}")?;
            failed += 1;
            continue;
        }
        let got = crate::scan::digest_file(&path)?;
        if got.trim_start_matches("sha256:") == want {
            writeln!(o, "ok       {name}")?;
        } else {
            writeln!(
                o,
                "CHANGED  {name}: sha256 is now {} (signed: {})",
                crate::scan::short_digest(&got),
                &want[..want.len().min(12)]
            )?;
            failed += 1;
        }
    }
    if failed > 0 {
        writeln!(
            o,
            "FAILED: {failed} of {} artifacts differ from the signed report",
            subjects.len()
        )?;
        return Ok(Outcome::Findings);
    }
    writeln!(
        o,
        "all {} artifacts match the signed report",
        subjects.len()
    )?;
    Ok(Outcome::Success)
}
