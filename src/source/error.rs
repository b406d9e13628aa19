//! The error of reading data: a file, a folder, an object or a table that cannot be opened or
//! read as its format says, a location that is not one, and piitrail's own failures. Every
//! stage that reads data (scan, run, subject requests) reports through it.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot open {}: {source}", crate::source::location::mask(&.path.to_string_lossy()))]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{0}: folder holds no data file (.csv, .tsv, .parquet, .json, .jsonl, .ndjson, .arrow)"
    )]
    NoData(PathBuf),
    #[error(
        "{0}: unknown data format; expected .csv, .tsv, .parquet, .json, .jsonl, .ndjson or .arrow"
    )]
    UnknownFormat(PathBuf),
    #[error("{0}: file is empty (no header, no rows)")]
    Empty(PathBuf),
    /// A file that cannot be read as its format says. The message is sanitised when shown:
    /// decoders quote the values they choke on.
    #[error("{path}: {}", crate::sensitive::sanitise(.message))]
    Read { path: PathBuf, message: String },
    /// A location of a kind this build does not read (object stores, MySQL), or reads only in
    /// some commands. The location is shown without its password.
    #[error("{location}: {what} are not supported here by this version yet")]
    Unsupported {
        location: String,
        what: &'static str,
    },
    #[error(transparent)]
    Location(#[from] crate::source::location::BadLocation),
    /// A `--table` glob that is not one, names nothing, or has no database to narrow.
    #[error("{0}")]
    Tables(String),
    #[error("internal error (a piitrail bug, please report it): {0}")]
    Internal(String),
    /// Files of a folder scan that could not be read; the others were scanned.
    #[error("{} file(s) could not be scanned (the others were):\n  {}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n  "))]
    Files(Vec<ScanError>),
}

impl ScanError {
    /// Input problems are the user's to fix (exit 2); the rest are bugs (exit 3).
    pub fn is_input(&self) -> bool {
        match self {
            ScanError::Internal(_) => false,
            ScanError::Files(errors) => errors.iter().all(ScanError::is_input),
            _ => true,
        }
    }

    /// A damaged file whose decoder panicked (caught at the file boundary).
    pub(crate) fn damaged(path: &Path, panic: String) -> ScanError {
        ScanError::Read {
            path: path.to_path_buf(),
            message: format!("the file is damaged: its decoder failed ({panic})"),
        }
    }
}
