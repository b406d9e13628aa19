//! What a scan adds to the ledger: a new artifact version where the content changed, then the
//! scan's tags (never values, not even masked examples). Here, beside the scan, so that the
//! ledger does not depend on the scanner: the scanner writes the ledger's vocabulary.

use std::collections::BTreeMap;

use super::ArtifactScan;
use crate::ledger::{
    ArtifactRecord, Body, ColumnTags, Ledger, LedgerError, Record, Role, ScanRecord, SchemaField,
    latest_versions,
};

/// Records scans: a new artifact version where content changed, then each scan, in one append.
pub fn record_scans(ledger: &Ledger, scans: &[ArtifactScan]) -> Result<Vec<Record>, LedgerError> {
    ledger.append_with(|existing| {
        let mut latest = latest_versions(existing);
        Ok(scans.iter().flat_map(|s| bodies(&mut latest, s)).collect())
    })
}

/// The records that a scan adds: a new artifact version when the path's latest recorded
/// version has other content (linked to it by `previous`), then the scan itself. `latest`
/// is updated, so that several scans of one batch see each other's versions.
pub fn bodies(latest: &mut BTreeMap<String, String>, scan: &ArtifactScan) -> Vec<Body> {
    let previous = latest.get(&scan.artifact).cloned();
    let mut out = Vec::new();
    if previous.as_deref() != Some(scan.digest.as_str()) {
        out.push(Body::Artifact(ArtifactRecord {
            path: scan.artifact.clone(),
            digest: scan.digest.clone(),
            size: scan.size,
            format: scan.format.clone(),
            role: Role::Dataset,
            schema: scan
                .columns
                .iter()
                .map(|c| SchemaField {
                    name: c.name.clone(),
                    data_type: c.data_type.clone(),
                })
                .collect(),
            previous,
            aliases: Vec::new(),
        }));
        latest.insert(scan.artifact.clone(), scan.digest.clone());
    }
    out.push(Body::Scan(ScanRecord {
        artifact: scan.artifact.clone(),
        digest: scan.digest.clone(),
        rows_scanned: scan.rows_scanned,
        rows_total: scan.rows_total,
        sampling: scan.sampling.clone(),
        rule_pack: scan.rule_pack.clone(),
        // Tags only: masked examples stay out of the ledger too.
        columns: scan.columns.iter().map(ColumnTags::from).collect(),
    }));
    out
}
