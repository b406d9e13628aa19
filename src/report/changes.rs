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

use serde::{Deserialize, Serialize};
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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingKey {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub artifact: String,
    #[serde(default)]
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

/// What the comparison reads of a previous report: everything else in it is skipped unread
/// (a report of half a million artifacts made into a JSON value took gigabytes).
#[derive(Debug, Default, Deserialize)]
pub struct Before {
    time: Option<String>,
    #[serde(default)]
    ledger: BeforeLedger,
    artifacts: Option<Vec<BeforeArtifact>>,
    #[serde(default)]
    findings: Vec<FindingKey>,
}

#[derive(Debug, Default, Deserialize)]
struct BeforeLedger {
    #[serde(default)]
    head: String,
    #[serde(default)]
    records: u64,
}

#[derive(Debug, Deserialize)]
struct BeforeArtifact {
    #[serde(default)]
    path: String,
    #[serde(default)]
    tags: Vec<BeforeTag>,
    #[serde(default)]
    columns: Vec<BeforeColumn>,
}

#[derive(Debug, Deserialize)]
struct BeforeColumn {
    #[serde(default)]
    name: String,
    #[serde(default)]
    tags: Vec<BeforeTag>,
}

#[derive(Debug, Deserialize)]
struct BeforeTag {
    #[serde(default)]
    category: String,
}

/// The previous report at `path`, checked against its envelope when `public` is given.
pub fn previous(
    path: &Path,
    public: Option<&ed25519_dalek::VerifyingKey>,
) -> Result<(Before, bool), SinceError> {
    let unreadable = |message: String| SinceError::Unreadable {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    let not_json = |e: serde_json::Error| {
        unreadable(format!(
            "not a report (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    };
    let before: Before = serde_json::from_str(&text).map_err(not_json)?;
    if before.time.is_none() || before.artifacts.is_none() {
        return Err(unreadable(
            "not a piitrail report (no time or artifacts)".into(),
        ));
    }
    let envelope = path.with_file_name("report.dsse.json");
    let Some(public) = public.filter(|_| envelope.is_file()) else {
        return Ok((before, false));
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
        return Ok((before, false));
    }
    let payload = crate::sign::verify(&env, public).map_err(|e| unverified(e.to_string()))?;
    drop(env);
    /// The signed statement's predicate, as it stands in the payload.
    #[derive(serde::Deserialize)]
    struct Signed<'a> {
        #[serde(borrow)]
        predicate: Option<&'a serde_json::value::RawValue>,
    }
    let signed: Signed = serde_json::from_slice(&payload)
        .map_err(|e| unverified(format!("the signed payload is not JSON: {e}")))?;
    let differs = || unverified("report.json differs from the report its envelope signed".into());
    let predicate = signed.predicate.ok_or_else(differs)?.get();
    // Compared as canonical JSON (RFC 8785), read from the bytes of both; as parsed values
    // where only those can tell. A report of a million steps is several gigabytes as values.
    let same = match (
        crate::ledger::canonical_digest(text.as_bytes()),
        crate::ledger::canonical_digest(predicate.as_bytes()),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => {
            let report: Value = serde_json::from_str(&text).map_err(not_json)?;
            serde_json::from_str::<Value>(predicate).is_ok_and(|p| p == report)
        }
    };
    if !same {
        return Err(differs());
    }
    Ok((before, true))
}

/// The (artifact, column, category) of every tagged column, the categories that reach each
/// artifact (its tags: a model's are what it was trained on), and the findings by key.
type Keys = (BTreeSet<ColumnChange>, BTreeSet<Flow>, BTreeSet<FindingKey>);

/// Adds one artifact's tagged columns and the categories reaching it to `keys`: its path, its
/// columns (each name with its tags' categories) and its own tags' categories.
fn add_artifact<'a, C: Iterator<Item = &'a str>>(
    keys: &mut Keys,
    path: &str,
    columns: impl Iterator<Item = (&'a str, C)>,
    tags: impl Iterator<Item = &'a str>,
) {
    for (column, categories) in columns {
        for category in categories {
            keys.0.insert(ColumnChange {
                artifact: path.to_string(),
                column: column.to_string(),
                category: category.to_string(),
            });
        }
    }
    for category in tags {
        keys.1.insert(Flow {
            category: category.to_string(),
            artifact: path.to_string(),
        });
    }
}

fn before_keys(before: &Before) -> Keys {
    let mut keys = Keys::default();
    for a in before.artifacts.iter().flatten() {
        let columns = (a.columns.iter())
            .map(|c| (c.name.as_str(), c.tags.iter().map(|t| t.category.as_str())));
        let tags = a.tags.iter().map(|t| t.category.as_str());
        add_artifact(&mut keys, &a.path, columns, tags);
    }
    keys.2 = before.findings.iter().cloned().collect();
    keys
}

/// [`before_keys`] of the report being made, read as it stands.
fn now_keys(now: &Report) -> Keys {
    let mut keys = Keys::default();
    for a in &now.artifacts {
        let columns = (a.columns.iter())
            .map(|c| (c.name.as_str(), c.tags.iter().map(|t| t.category.as_str())));
        let tags = a.tags.iter().map(|t| t.category.as_str());
        add_artifact(&mut keys, &a.path, columns, tags);
    }
    keys.2 = (now.findings.iter())
        .map(|f| FindingKey {
            code: f.code.clone(),
            severity: f.severity.name().to_string(),
            artifact: f.artifact.clone(),
            column: f.column.clone(),
        })
        .collect();
    keys
}

/// What changed from `before` (a previous report) to `now`.
pub fn between(before: &Before, signed: bool, now: &Report) -> Changes {
    let (cols_now, flows_now, found_now) = now_keys(now);
    let (cols_then, flows_then, found_then) = before_keys(before);
    let paths_then: BTreeSet<&str> = (before.artifacts.iter().flatten())
        .map(|a| a.path.as_str())
        .collect();
    Changes {
        since: Since {
            time: before.time.clone().unwrap_or_default(),
            ledger_head: before.ledger.head.clone(),
            ledger_records: before.ledger.records,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Only what the comparison needs is read, the rest of a report skipped; what is not a
    /// report is refused.
    #[test]
    fn a_previous_report_is_read_for_what_the_comparison_needs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        let report = r#"{"tool":{"name":"piitrail"},"time":"T","ledger":{"head":"sha256:h","records":7},
            "artifacts":[{"path":"a.csv","digest":"sha256:x","tags":[{"category":"user.contact.email","status":"direct"}],
            "columns":[{"name":"email","tags":[{"category":"user.contact.email","confidence":0.9}]},{"name":"n","tags":[]}],
            "upstream":["b.csv"]}],
            "findings":[{"code":"c","severity":"error","artifact":"a.csv","column":null,"message":"m"}]}"#;
        std::fs::write(&path, report).unwrap();
        let (before, signed) = previous(&path, None).unwrap();
        assert!(!signed);
        assert_eq!(
            (
                before.time.as_deref(),
                before.ledger.head.as_str(),
                before.ledger.records
            ),
            (Some("T"), "sha256:h", 7)
        );
        let (columns, flows, findings) = before_keys(&before);
        let email = "user.contact.email".to_string();
        assert_eq!(
            columns.into_iter().collect::<Vec<_>>(),
            [ColumnChange {
                artifact: "a.csv".into(),
                column: "email".into(),
                category: email.clone(),
            }]
        );
        assert_eq!(
            flows.into_iter().collect::<Vec<_>>(),
            [Flow {
                category: email,
                artifact: "a.csv".into(),
            }]
        );
        assert_eq!(
            findings.into_iter().collect::<Vec<_>>(),
            [FindingKey {
                code: "c".into(),
                severity: "error".into(),
                artifact: "a.csv".into(),
                column: None,
            }]
        );
        for bad in [
            "[]",
            "{}",
            r#"{"time":"T"}"#,
            r#"{"artifacts":[]}"#,
            "not json",
        ] {
            std::fs::write(&path, bad).unwrap();
            assert!(
                matches!(previous(&path, None), Err(SinceError::Unreadable { .. })),
                "{bad}"
            );
        }
    }
}
