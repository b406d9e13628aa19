//! What changed since the previous audit (`audit --since PREVIOUS/report.json`, by default the
//! report already in `--out`): personal columns added and removed, new artifacts, categories
//! reaching datasets and models they did not reach before, findings new and resolved.
//!
//! The previous report is read as JSON (any report piitrail wrote: only `time`, `ledger`,
//! `artifacts` and `findings` are used). When the auditor signs (`--key`) and the previous report
//! sits beside an envelope (`report.dsse.json`) signed with the same key, the envelope must
//! verify and hold exactly that report; otherwise the comparison is refused. A previous report
//! without an envelope, or signed with another key (a rotated key), is compared, and
//! `since.signed` says its signature was not checked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::Report;

#[derive(Debug, Clone, Serialize)]
pub struct Changes {
    pub since: Since,
    pub added_columns: Vec<ColumnChange>,
    pub removed_columns: Vec<ColumnChange>,
    pub new_artifacts: Vec<String>,
    pub new_flows: Vec<Flow>,
    pub new_findings: Vec<FindingKey>,
    pub resolved_findings: Vec<FindingKey>,
}

/// The report compared with.
#[derive(Debug, Clone, Serialize)]
pub struct Since {
    pub time: String,
    pub ledger_head: String,
    pub ledger_records: u64,
    /// Whether its signature was checked (it had an envelope and a key was at hand).
    pub signed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ColumnChange {
    pub artifact: String,
    pub column: String,
    pub category: String,
}

/// A category that reaches an artifact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Flow {
    pub category: String,
    pub artifact: String,
}

/// A finding by what identifies it across audits (its message may word things differently).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FindingKey {
    pub code: String,
    pub severity: String,
    pub artifact: String,
    pub column: Option<String>,
}

/// Why a previous report cannot be compared with.
#[derive(Debug, thiserror::Error)]
pub enum SinceError {
    #[error("--since {}: {message}", .path.display())]
    Unreadable { path: PathBuf, message: String },
    #[error(
        "--since {}: the previous report's signature does not verify with this key ({reason}); \
         it is not compared with",
        .path.display()
    )]
    Unverified { path: PathBuf, reason: String },
}

/// The previous report at `path`, checked against its envelope when `public` is given.
pub fn previous(
    path: &Path,
    public: Option<&ed25519_dalek::VerifyingKey>,
) -> Result<(Value, bool), SinceError> {
    let unreadable = |message: String| SinceError::Unreadable {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    let report: Value = serde_json::from_str(&text).map_err(|e| {
        unreadable(format!(
            "not a report (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    if !report["time"].is_string() || !report["artifacts"].is_array() {
        return Err(unreadable(
            "not a piitrail report (no time or artifacts)".into(),
        ));
    }
    let envelope = path.with_file_name("report.dsse.json");
    let Some(public) = public.filter(|_| envelope.is_file()) else {
        return Ok((report, false));
    };
    let unverified = |reason: String| SinceError::Unverified {
        path: path.to_path_buf(),
        reason,
    };
    let env: crate::sign::Envelope = std::fs::read_to_string(&envelope)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        .map_err(|e| unverified(format!("{}: {e}", envelope.display())))?;
    // Signed by another key (the key was rotated): nothing to check it with, so it is compared
    // as an unsigned report and `since.signed` says so.
    let id = crate::sign::keyid(public);
    if !env.signatures.iter().any(|s| s.keyid == id) {
        return Ok((report, false));
    }
    let payload = crate::sign::verify(&env, public).map_err(|e| unverified(e.to_string()))?;
    let statement: Value = serde_json::from_slice(&payload)
        .map_err(|e| unverified(format!("the signed payload is not JSON: {e}")))?;
    if statement["predicate"] != report {
        return Err(unverified(
            "report.json differs from the report its envelope signed".into(),
        ));
    }
    Ok((report, true))
}

/// The (artifact, column, category) of every tagged column of a report's artifacts.
fn columns(artifacts: &Value) -> BTreeSet<ColumnChange> {
    let mut out = BTreeSet::new();
    for a in artifacts.as_array().into_iter().flatten() {
        for c in a["columns"].as_array().into_iter().flatten() {
            for t in c["tags"].as_array().into_iter().flatten() {
                out.insert(ColumnChange {
                    artifact: a["path"].as_str().unwrap_or_default().to_string(),
                    column: c["name"].as_str().unwrap_or_default().to_string(),
                    category: t["category"].as_str().unwrap_or_default().to_string(),
                });
            }
        }
    }
    out
}

/// The categories that reach each artifact (its tags: a model's are what it was trained on).
fn flows(artifacts: &Value) -> BTreeSet<Flow> {
    let mut out = BTreeSet::new();
    for a in artifacts.as_array().into_iter().flatten() {
        for t in a["tags"].as_array().into_iter().flatten() {
            out.insert(Flow {
                category: t["category"].as_str().unwrap_or_default().to_string(),
                artifact: a["path"].as_str().unwrap_or_default().to_string(),
            });
        }
    }
    out
}

fn findings(findings: &Value) -> BTreeSet<FindingKey> {
    findings
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| FindingKey {
            code: f["code"].as_str().unwrap_or_default().to_string(),
            severity: f["severity"].as_str().unwrap_or_default().to_string(),
            artifact: f["artifact"].as_str().unwrap_or_default().to_string(),
            column: f["column"].as_str().map(str::to_string),
        })
        .collect()
}

/// What `columns`, `flows` and `findings` read from a report's JSON, read from the report
/// itself: a report of half a million artifacts made into a JSON value took gigabytes.
fn now_keys(now: &Report) -> (BTreeSet<ColumnChange>, BTreeSet<Flow>, BTreeSet<FindingKey>) {
    let mut columns = BTreeSet::new();
    let mut flows = BTreeSet::new();
    for a in &now.artifacts {
        for c in &a.columns {
            for t in &c.tags {
                columns.insert(ColumnChange {
                    artifact: a.path.clone(),
                    column: c.name.clone(),
                    category: t.category.clone(),
                });
            }
        }
        for t in &a.tags {
            flows.insert(Flow {
                category: t.category.clone(),
                artifact: a.path.clone(),
            });
        }
    }
    let findings = (now.findings.iter())
        .map(|f| FindingKey {
            code: f.code.clone(),
            severity: f.severity.name().to_string(),
            artifact: f.artifact.clone(),
            column: f.column.clone(),
        })
        .collect();
    (columns, flows, findings)
}

/// What changed from `before` (a previous report's JSON) to `now`.
pub fn between(before: &Value, signed: bool, now: &Report) -> Changes {
    let (cols_now, flows_now, found_now) = now_keys(now);
    let cols_then = columns(&before["artifacts"]);
    let flows_then = flows(&before["artifacts"]);
    let found_then = findings(&before["findings"]);
    let paths_then: BTreeSet<&str> = before["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["path"].as_str())
        .collect();
    Changes {
        since: Since {
            time: before["time"].as_str().unwrap_or_default().to_string(),
            ledger_head: before["ledger"]["head"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            ledger_records: before["ledger"]["records"].as_u64().unwrap_or(0),
            signed,
        },
        added_columns: cols_now.difference(&cols_then).cloned().collect(),
        removed_columns: cols_then.difference(&cols_now).cloned().collect(),
        new_artifacts: now
            .artifacts
            .iter()
            .filter(|a| !paths_then.contains(a.path.as_str()))
            .map(|a| a.path.clone())
            .collect(),
        new_flows: flows_now.difference(&flows_then).cloned().collect(),
        new_findings: found_now.difference(&found_then).cloned().collect(),
        resolved_findings: found_then.difference(&found_now).cloned().collect(),
    }
}
