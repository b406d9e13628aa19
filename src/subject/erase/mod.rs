//! `subject erase`: the plan (files and rows to delete, steps to re-run, models to retrain), and
//! with `--apply` the erasure itself.
//!
//! - A dataset where the subject's rows were found and that no replayable SQL step wrote is
//!   rewritten without those rows, atomically and in its own format. CSV is filtered record by
//!   record, so every other row keeps its exact bytes; Parquet, NDJSON and Arrow are read and
//!   written again with every other row's values unchanged. The row count after must be the
//!   count before minus the rows removed, or nothing is replaced.
//! - Every recorded `sql` step downstream of a changed file is re-run from the cleaned data
//!   (lineage replay), in ledger order, and recorded like any run.
//! - An `erasure` execution records each rewrite (versions before and after, counts) with the
//!   subject only as a salted hash; the salt is in the certificate, not in the ledger.
//! - `find` runs again; the certificate says what was removed, recomputed, what remains to do
//!   (models to retrain, what could not be done) and whether the second search found nothing.
//!   If a step fails midway, the certificate lists what was and was not done; a re-run
//!   finishes the job (files already clean have nothing left to remove).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::journal::{self, Journal};
use super::{Match, Report, SubjectError};
use crate::ledger::{
    ArtifactRef, ColumnEdge, ColumnRef, ErasedFile, ErasureRecord, ExecutionRecord, Ledger, Record,
    live_executions_of,
};
use crate::lineage::{Version, append_execution};
use crate::source::dataset::Dataset;

mod apply;
mod certificate;
mod plan;

pub use apply::*;
pub use certificate::*;
pub use plan::*;

/// `subject erase --apply`: the plan carried out, checked by a second search, certified. An
/// unfinished erasure of the same request (its journal) is taken up and finished.
pub fn erase(
    req: &super::Request,
    ledger: &Ledger,
    out: &Path,
    key: Option<&PathBuf>,
) -> Result<(Certificate, Vec<PathBuf>), SubjectError> {
    if let Some(k) = key {
        // A bad key is found before anything is erased.
        crate::sign::load_signing_key(k)?;
    }
    let request = journal::request_key(&super::given(req)?);
    let mut resumed = Journal::load(&req.root, &request)?;
    // A save of the journal that a kill interrupted left its temporary file (salt and
    // identity hashes): gone before this attempt writes its own.
    crate::fsio::remove_leftovers(&journal::file_of(&req.root, &request));
    let mut settled = Vec::new();
    if let Some(j) = resumed.as_mut() {
        let subject = subject_of(j)?;
        settled = settle(j, ledger, &req.root, req.roots, &subject)?;
    }
    let records = ledger.load()?;
    let report = super::find(req, &records)?;
    let plan = plan(&report, &records, &req.root, req.roots, resumed.as_ref());
    if let Some(u) = plan.unresolved.iter().find(|u| u.refuses) {
        return Err(SubjectError::Usage(format!(
            "{}: {}; nothing was erased",
            u.path, u.reason
        )));
    }
    if resumed.is_some() {
        // What a killed re-run of a step left beside its output.
        for r in &plan.recompute {
            if !crate::source::location::is_object(&r.path) {
                crate::fsio::remove_leftovers(&req.root.join(&r.path));
            }
        }
    }
    let mut journal = match resumed {
        Some(j) => j,
        None => {
            let mut salt = [0u8; 16];
            getrandom::fill(&mut salt)
                .map_err(|e| SubjectError::Internal(format!("no randomness: {e}")))?;
            Journal::new(
                &req.root,
                request,
                hex::encode(salt),
                report.identity.clone(),
            )
        }
    };
    let subject = subject_of(&journal)?;
    let mut applied = Applied {
        removed: Vec::new(),
        recomputed: Vec::new(),
        verified: false,
        remaining: Vec::new(),
        failed: None,
    };
    // Each file's version before, in the journal before anything is rewritten.
    for d in &plan.delete {
        match journal.entry_mut(&d.path) {
            Some(e) => e.rows = d.rows.clone(),
            None => match version_of(&req.root, req.roots, &d.path) {
                Ok(Some(v)) => journal.files.push(journal::Entry {
                    path: d.path.clone(),
                    digest_before: v.reference.digest,
                    rows: d.rows.clone(),
                    done: None,
                }),
                Ok(None) => {
                    applied.failed = Some(format!("{}: it is gone", d.path));
                    break;
                }
                Err(e) => {
                    applied.failed = Some(e.to_string());
                    break;
                }
            },
        }
    }
    if applied.failed.is_none()
        && !plan.delete.is_empty()
        && let Err(e) = journal.save()
    {
        applied.failed = Some(format!(
            "writing the erasure journal: {e}; nothing was erased"
        ));
    }
    if applied.failed.is_none() {
        applied = apply(
            &plan,
            &records,
            &subject,
            ledger,
            &req.root,
            req.roots,
            &mut journal,
        );
    }
    applied.removed.splice(0..0, settled);
    if applied.failed.is_none() {
        let records = ledger.load()?;
        let again = super::find(req, &records)?;
        applied.remaining = again
            .artifacts
            .iter()
            .filter(|a| a.matched != Match::TrainedOn)
            .map(|a| a.path.clone())
            .collect();
        applied.verified = applied.remaining.is_empty();
    }
    let ledger = ledger.verify()?.pin();
    let cert = Certificate {
        tool: serde_json::json!({"name": "piitrail", "version": env!("CARGO_PKG_VERSION")}),
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        status: if applied.failed.is_none() {
            "complete"
        } else {
            "incomplete"
        },
        identity: journal.identity.clone(),
        subject,
        salt: journal.salt.clone(),
        plan,
        applied,
        ledger,
    };
    let written = write_certificate(&cert, out, key)?;
    if cert.applied.failed.is_none() {
        journal.remove()?;
    }
    Ok((cert, written))
}

/// The salted subject of a journal's identities.
fn subject_of(journal: &Journal) -> Result<String, SubjectError> {
    let salt = hex::decode(&journal.salt)
        .map_err(|e| SubjectError::Usage(format!("{}: bad salt: {e}", journal.file.display())))?;
    let mut values: Vec<String> = journal
        .identity
        .iter()
        .map(|i| format!("{}={}", i.category, i.value_hash))
        .collect();
    values.sort();
    Ok(salted_subject(&salt, &values))
}
