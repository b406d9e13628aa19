//! Ledger: the append-only, hash-chained log of what piitrail saw and did.
//!
//! Takes records from `scan` (artifact versions, scan tags) and, later, from lineage
//! recorders; writes them to `.piitrail/ledger.jsonl` under an exclusive file lock, each line
//! holding the hash of its predecessor. `propagate`, `policy`, `subject` and `report` read it
//! back; `ledger verify` recomputes the chain and names the first bad line.

mod canonical;
mod chain;
pub mod model;
pub mod record;

use std::path::PathBuf;

pub use canonical::record_hash;
pub use chain::{GENESIS, Ledger, Pin, PinState, Verification};
pub use model::{
    Basis, Checksum, Class, ColumnTag, ColumnTags, EdgeType, Evidence, ExecutionKind, Role,
    RunState, Subtype,
};
pub use record::{
    ArtifactRecord, ArtifactRef, Body, Code, ColumnEdge, ColumnRef, DECLARED, ErasedFile,
    ErasureRecord, ExecutionRecord, ImportedRun, Record, ScanRecord, SchemaField, imported_runs,
    latest_versions, live, live_executions, live_executions_of,
};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("no ledger in {0}: run `piitrail init` there first (or pass --project)")]
    NotInitialised(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}: incomplete last line (a write was interrupted); run `piitrail ledger recover` to move it aside, then `piitrail ledger verify`"
    )]
    Torn { path: PathBuf, line: u64 },
    #[error("{path}:{line}: {message}; run `piitrail ledger verify` for the whole chain")]
    Broken {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("internal error (a piitrail bug, please report it): {0}")]
    Internal(String),
}

impl LedgerError {
    pub fn is_input(&self) -> bool {
        !matches!(self, LedgerError::Internal(_))
    }
}

/// Canonical JSON (RFC 8785) of a value, for anyone who needs to hash as the ledger does.
pub fn canonical_json(value: &serde_json::Value) -> Vec<u8> {
    canonical::to_vec(value)
}

/// The sha256 of the canonical JSON of the object `text`, read from its bytes without parsing
/// it into a value. `None` where only a parsed value can tell (see
/// [`canonical::Lines::without`]): then compare parsed values.
pub fn canonical_digest(text: &[u8]) -> Option<[u8; 32]> {
    use sha2::Digest;
    canonical::Lines::default()
        .of(text)
        .map(|bytes| sha2::Sha256::digest(bytes).into())
}
