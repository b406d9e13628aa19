//! The erasure certificate and the salted subject it names.

use super::*;

/// The subject as stored in the ledger: `sha256:` of the salt and the normalised identities.
pub fn salted_subject(salt: &[u8], identities: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    for i in identities {
        h.update([0]);
        h.update(i.as_bytes());
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// The certificate's predicate.
#[derive(Debug, Clone, Serialize)]
pub struct Certificate {
    pub tool: serde_json::Value,
    pub time: String,
    /// `complete`, or `incomplete` when a step failed (a re-run finishes the job).
    pub status: &'static str,
    pub identity: Vec<super::super::IdentityOut>,
    pub subject: String,
    /// Hex; with the identities, it gives back `subject`. Keep the certificate as safe as the
    /// request itself.
    pub salt: String,
    pub plan: Plan,
    pub applied: Applied,
    /// The ledger as the erasure left it (its erasure record last): `verify --ledger` checks
    /// that the ledger still holds it.
    pub ledger: crate::ledger::Pin,
}

/// Writes `certificate.json`, and `certificate.dsse.json` signed with `key` when given.
pub fn write_certificate(
    cert: &Certificate,
    out: &Path,
    key: Option<&PathBuf>,
) -> Result<Vec<PathBuf>, SubjectError> {
    let mut written = Vec::new();
    let json = serde_json::to_vec_pretty(cert).map_err(SubjectError::internal)?;
    let path = out.join("certificate.json");
    crate::fsio::write_atomic(&path, &json).map_err(SubjectError::file(&path))?;
    written.push(path);
    if let Some(key) = key {
        let signing = crate::sign::load_signing_key(key)?;
        // A file's sha256; a table's version (`rows-sha256:`) is signed under its own digest
        // name, never passed off as a file's sha256 ([`crate::sign::TABLE_DIGEST`]).
        let subjects: Vec<(String, String)> = cert
            .applied
            .removed
            .iter()
            .map(|r| (&r.path, &r.digest_after))
            .chain(cert.applied.recomputed.iter().map(|r| (&r.path, &r.digest)))
            .filter_map(|(path, digest)| {
                if let Some(hex) = digest.strip_prefix("sha256:") {
                    Some((path.clone(), hex.to_string()))
                } else {
                    digest
                        .starts_with(crate::source::db::ROWS_VERSION)
                        .then(|| (path.clone(), digest.clone()))
                }
            })
            .collect();
        let statement =
            crate::sign::statement_of(crate::sign::ERASURE_PREDICATE_TYPE, &subjects, cert);
        let payload = serde_json::to_vec(&statement).map_err(SubjectError::internal)?;
        let env = crate::sign::sign(&payload, &signing);
        let path = out.join("certificate.dsse.json");
        let text = serde_json::to_vec_pretty(&env).map_err(SubjectError::internal)?;
        crate::fsio::write_atomic(&path, &text).map_err(SubjectError::file(&path))?;
        written.push(path);
    }
    Ok(written)
}
