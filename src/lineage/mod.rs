//! Lineage: where data went. Recorders turn transformations into `execution` records
//! (declared steps today; SQL run by piitrail, OpenLineage and MLMD next), and the graph
//! built from the ledger answers `lineage` queries and feeds `propagate`.

pub mod declared;
pub mod graph;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LineageError {
    #[error("{role} {path} does not exist")]
    Missing { role: &'static str, path: PathBuf },
    #[error("--column '{spec}': {message}")]
    BadColumn { spec: String, message: String },
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
            _ => true,
        }
    }
}
