//! The erasure journal: what one erasure request set out to remove, kept until it is done.
//!
//! `find` expands an identity through the subject's own rows (the customer number found next to
//! the e-mail). Once the first file is cleaned, those rows are gone, and a fresh search could no
//! longer reach the files that only the expanded identity leads to. So before the first file is
//! rewritten, the plan (each file's digest before, and the rows to remove) is written to
//! `.piitrail/erasures/REQUEST.json`, and every finished rewrite is marked in it. A re-run of
//! the same request (the same `--id` values) after a failure or a kill takes the journal up
//! again: files whose digest is still the one before get the journal's rows removed, files
//! already rewritten are recorded if the ledger missed them. The journal holds no raw values:
//! paths, digests, row numbers and the identities' hashes. It is removed when the erasure is
//! complete.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{IdentityOut, SubjectError};

/// One file the request removes rows from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub digest_before: String,
    /// Rows to remove (1-based, in the file as it was before).
    pub rows: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<Done>,
}

/// A finished rewrite.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Done {
    pub digest_after: String,
    pub rows_before: u64,
    pub rows_after: u64,
    /// Whether the ledger holds the erasure execution for it.
    #[serde(default)]
    pub recorded: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal {
    pub request: String,
    /// Hex salt of the subject's hash; a resumed erasure keeps the same salted subject.
    pub salt: String,
    /// Every identity of the first search, expanded ones included (hashes only).
    pub identity: Vec<IdentityOut>,
    pub files: Vec<Entry>,
    #[serde(skip)]
    pub file: PathBuf,
}

/// The request's key: a hash of the identities given on the command line (category and
/// value hash, sorted), so the same `--id` values find the same journal.
pub fn request_key(given: &[IdentityOut]) -> String {
    let mut ids: Vec<String> = given
        .iter()
        .filter(|i| i.found_in.is_none())
        .map(|i| format!("{}={}", i.category, i.value_hash))
        .collect();
    ids.sort();
    ids.dedup();
    let mut h = Sha256::new();
    for i in &ids {
        h.update(i.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())[..32].to_string()
}

pub(crate) fn file_of(root: &Path, key: &str) -> PathBuf {
    root.join(".piitrail")
        .join("erasures")
        .join(format!("{key}.json"))
}

impl Journal {
    pub fn new(root: &Path, request: String, salt: String, identity: Vec<IdentityOut>) -> Self {
        Journal {
            file: file_of(root, &request),
            request,
            salt,
            identity,
            files: Vec::new(),
        }
    }

    /// The unfinished journal of this request, if there is one.
    pub fn load(root: &Path, request: &str) -> Result<Option<Journal>, SubjectError> {
        let file = file_of(root, request);
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(SubjectError::Usage(format!("{}: {e}", file.display()))),
        };
        let mut j: Journal = serde_json::from_str(&text).map_err(|e| {
            SubjectError::Usage(format!(
                "{}:{}:{}: not an erasure journal: {e}",
                file.display(),
                e.line(),
                e.column()
            ))
        })?;
        j.file = file;
        Ok(Some(j))
    }

    /// Writes the journal atomically, private to its owner.
    pub fn save(&self) -> Result<(), SubjectError> {
        let bytes = serde_json::to_vec_pretty(self).map_err(SubjectError::internal)?;
        crate::fsio::write_atomic_with(&self.file, |f| {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
            std::io::Write::write_all(f, &bytes)
        })
        .map_err(|e: std::io::Error| SubjectError::Usage(format!("{}: {e}", self.file.display())))
    }

    /// Removes the journal of a finished erasure.
    pub fn remove(&self) -> Result<(), SubjectError> {
        match std::fs::remove_file(&self.file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(SubjectError::Usage(format!("{}: {e}", self.file.display()))),
        }
    }

    pub fn entry(&self, path: &str) -> Option<&Entry> {
        self.files.iter().find(|e| e.path == path)
    }

    pub fn entry_mut(&mut self, path: &str) -> Option<&mut Entry> {
        self.files.iter_mut().find(|e| e.path == path)
    }

    /// Marks `path` rewritten (in memory; [`Journal::save`] writes it): its new version and
    /// counts, not yet recorded in the ledger.
    pub fn mark_done(&mut self, path: &str, digest_after: &str, rows_before: u64, rows_after: u64) {
        if let Some(e) = self.entry_mut(path) {
            e.done = Some(Done {
                digest_after: digest_after.to_string(),
                rows_before,
                rows_after,
                recorded: false,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(category: &str, hash: &str, found_in: Option<&str>) -> IdentityOut {
        IdentityOut {
            category: category.into(),
            value_hash: hash.into(),
            found_in: found_in.map(String::from),
            shared: false,
        }
    }

    #[test]
    fn the_key_depends_on_the_given_identities_only_and_not_their_order() {
        let a = request_key(&[
            id("email", "sha256:1", None),
            id("phone", "sha256:2", None),
            id("user.unique_id", "sha256:3", Some("c.csv:id")),
        ]);
        let b = request_key(&[id("phone", "sha256:2", None), id("email", "sha256:1", None)]);
        assert_eq!(a, b);
        assert_ne!(a, request_key(&[id("email", "sha256:1", None)]));
    }

    #[test]
    fn saves_privately_loads_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::new(dir.path(), "k".into(), "00".into(), Vec::new());
        j.files.push(Entry {
            path: "a.csv".into(),
            digest_before: "sha256:x".into(),
            rows: vec![2, 5],
            done: None,
        });
        j.save().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&j.file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let back = Journal::load(dir.path(), "k").unwrap().unwrap();
        assert_eq!(back.files[0].rows, vec![2, 5]);
        back.remove().unwrap();
        assert!(Journal::load(dir.path(), "k").unwrap().is_none());
        std::fs::write(&j.file, "{").unwrap();
        let err = Journal::load(dir.path(), "k").unwrap_err().to_string();
        assert!(err.contains("k.json:1:"), "{err}");
    }
}
