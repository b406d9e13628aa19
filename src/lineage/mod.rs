//! Lineage: where data went. Recorders turn transformations into `execution` records
//! (declared steps, SQL run by piitrail; OpenLineage and MLMD next), and the graph built from
//! the ledger answers `lineage` queries and feeds `propagate`.

pub mod declared;
pub mod functions;
pub mod graph;
pub mod mlmd;
pub mod openlineage;
pub mod run;
pub mod sql;

use std::path::{Path, PathBuf};

use crate::ledger::{
    ArtifactRecord, ArtifactRef, Body, ExecutionRecord, Ledger, Role, SchemaField, latest_versions,
};
use crate::scan::display_path;

#[derive(Debug, thiserror::Error)]
pub enum LineageError {
    #[error("{role} {} does not exist", crate::source::location::mask(&.path.to_string_lossy()))]
    Missing { role: &'static str, path: PathBuf },
    #[error("--column '{spec}': {message}")]
    BadColumn { spec: String, message: String },
    /// A query that failed to plan or run. A failure while running comes sanitised
    /// (`run::execution_error`): the engine quotes values it could not cast.
    #[error("SQL: {0}")]
    Sql(String),
    #[error("SQL: only a query (SELECT, WITH, VALUES) can run, not {0}")]
    NotAQuery(String),
    #[error("SQL: the result has two columns named '{0}'; give them distinct names with AS")]
    DuplicateColumn(String),
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{} bad OpenLineage event(s), nothing recorded:\n  {}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n  "))]
    BadEvents(Vec<openlineage::ingest::BadEvent>),
    #[error("{path}: {message}")]
    Mlmd { path: PathBuf, message: String },
    #[error("internal error (a piitrail bug, please report it): {0}")]
    Internal(String),
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    #[error(transparent)]
    Scan(#[from] crate::scan::ScanError),
}

impl LineageError {
    pub fn is_input(&self) -> bool {
        match self {
            LineageError::Ledger(e) => e.is_input(),
            LineageError::Scan(e) => e.is_input(),
            LineageError::Internal(_) => false,
            _ => true,
        }
    }
}

/// A version of an artifact that a step read or wrote.
#[derive(Debug, Clone)]
pub struct Version {
    pub reference: ArtifactRef,
    pub size: u64,
    pub format: String,
    pub role: Role,
    pub schema: Vec<SchemaField>,
}

impl Version {
    /// The current content of `path` (streamed digest). `what` names it in errors
    /// ("input", "output").
    pub fn of(
        path: &Path,
        root: &Path,
        what: &'static str,
        role: Role,
    ) -> Result<Version, LineageError> {
        crate::source::require_local(path)?;
        if !path.is_file() {
            return Err(LineageError::Missing {
                role: what,
                path: path.to_path_buf(),
            });
        }
        let digest = crate::source::digests::digest(path, root)?;
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let format = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("file")
            .to_ascii_lowercase();
        Ok(Version {
            reference: ArtifactRef {
                path: display_path(path, root),
                digest,
            },
            size,
            format,
            role,
            schema: Vec::new(),
        })
    }
}

/// Appends an execution, preceded by a new artifact record for every version it names whose
/// content differs from the latest recorded version of its path, all under one lock.
pub fn append_execution(
    ledger: &Ledger,
    versions: Vec<Version>,
    execution: &ExecutionRecord,
) -> Result<(), LineageError> {
    let exec = execution.clone();
    ledger.append_with(move |existing| {
        let mut latest = latest_versions(existing);
        let mut bodies = Vec::new();
        for v in versions {
            let r = v.reference;
            let previous = latest.get(&r.path).cloned();
            if previous.as_deref() != Some(r.digest.as_str()) {
                latest.insert(r.path.clone(), r.digest.clone());
                bodies.push(Body::Artifact(ArtifactRecord {
                    path: r.path,
                    digest: r.digest,
                    size: v.size,
                    format: v.format,
                    role: v.role,
                    schema: v.schema,
                    previous,
                    aliases: Vec::new(),
                }));
            }
        }
        bodies.push(Body::Execution(exec));
        Ok(bodies)
    })?;
    Ok(())
}
