//! piitrail: a GDPR provenance audit tool.
//!
//! The pipeline, one module per stage: `rules` (what personal data looks like) → `scan`
//! (which columns hold it) → `ledger` (what was found and done, hash-chained) ← `lineage`
//! (where data went) → `propagate` → `policy` / `subject` / `report` → `sign`.

pub mod boundary;
pub mod cli;
pub mod findings;
pub mod fsio;
pub mod ledger;
pub mod lineage;
pub mod policy;
pub mod progress;
pub mod propagate;
pub mod report;
pub mod rules;
pub mod scan;
pub mod sensitive;
pub mod sign;
pub mod source;
pub mod subject;
