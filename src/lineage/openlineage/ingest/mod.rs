//! Ingest of OpenLineage RunEvents (spec 2-0-x) into the ledger.
//!
//! - A run (its `runId`) becomes one `openlineage` execution. START, RUNNING and COMPLETE
//!   events of one run merge: inputs, outputs and column lineage add up, and the state is the
//!   latest (a terminal state beats a running one whatever the order of arrival). Each ingest
//!   that changes a run appends the merged execution; the later record supersedes the earlier
//!   (`ledger::live_executions`). Ingesting the same events again appends nothing.
//! - FAIL and ABORT runs are recorded with their state: they show in lineage, marked, and
//!   hand on no tags.
//! - Datasets become artifacts named as `super::artifact_path` says. A `file` dataset that
//!   exists under the project is versioned by its content, like any scanned file; any other
//!   dataset by its `version` facet, else by its name (`name:` and the sha256 of the name).
//!   The `symlinks` facet gives other names of the same artifact (recorded as aliases).
//! - The `schema` facet gives the columns; `columnLineage` the column edges, one per
//!   `transformations[]` entry (type, subtype, masking, description), or from the deprecated
//!   `transformationType` (IDENTITY, MASKED) and `transformationDescription`; the
//!   dataset-level `dataset[]` dependencies reach every column of the output (INDIRECT unless
//!   they say otherwise). Class: INDIRECT is `influenced`; DIRECT with masking is
//!   `pseudonymised`; AGGREGATION is `aggregated`; anything else `direct` (the safe side).
//! - A `tags` facet entry with a `field` whose key or value names a category (`pii:CATEGORY`,
//!   `pii=CATEGORY` or a rule id, `pii=true` for plain personal data) is a declared column tag,
//!   recorded as a `declared` scan.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{artifact_path, is_file_namespace};
use crate::ledger::{
    ArtifactRecord, ArtifactRef, Body, Code, ColumnEdge, ColumnRef, DECLARED, ExecutionRecord,
    ImportedRun, Ledger, Record, ScanRecord, SchemaField, latest_versions,
};
use crate::rules::RuleSet;
use crate::scan::{ColumnTag, Evidence};

mod merge;
mod parse;
mod wire;

use merge::*;
pub use parse::*;
pub use wire::*;

/// The source name of imported OpenLineage runs.
pub const SOURCE: &str = "openlineage";

/// What happened to one run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunOutcome {
    pub run_id: String,
    pub job: String,
    pub state: crate::ledger::RunState,
    /// `recorded` (first record of the run), `updated` (merged with what was recorded) or
    /// `unchanged` (nothing new: re-ingested events).
    pub status: &'static str,
    pub execution: String,
    pub inputs: usize,
    pub outputs: usize,
    pub column_edges: usize,
    /// FAIL or ABORT: recorded, shown in lineage, not propagated.
    pub failed: bool,
}

/// What an ingest did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    pub events: usize,
    pub runs: Vec<RunOutcome>,
    /// Artifact records written (new versions, names, schemas).
    pub artifacts: usize,
    /// Column tags taken from `tags` facets (not recorded before).
    pub declared_tags: usize,
    /// Tags that name no category (an owner, a team): not personal-data tags.
    pub ignored_tags: usize,
    /// Facets dropped because they break their OpenLineage schema (`ORIGIN: where facet ...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Records events in the ledger, under one lock: new artifact versions and names, declared
/// tags, and each changed run's merged execution. Events are checked before this is called
/// (`parse`, `event`). Files are opened only inside `roots` (the project's data roots).
pub fn record(
    ledger: &Ledger,
    events: &[Event],
    root: &Path,
    roots: &crate::source::DataRoots,
    rules: &RuleSet,
) -> Result<Summary, super::super::LineageError> {
    // Hash local files before taking the lock.
    let local = hash_local_files(events, root, roots)?;
    let mut summary = Summary {
        events: events.len(),
        warnings: events.iter().flat_map(|e| e.warnings.clone()).collect(),
        ..Summary::default()
    };
    ledger.append_with(|existing| {
        let mut arts = Artifacts::new(existing, root, &local);
        let recorded = crate::ledger::imported_runs(existing, SOURCE);
        for e in events {
            for d in e.event.inputs.iter().chain(&e.event.outputs) {
                arts.prime(d);
            }
        }
        // Every event merged into the state of its run, in the order runs first appear.
        let mut runs: BTreeMap<String, RunState> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut scans: Vec<ScanRecord> = Vec::new();
        for Event { event: e, .. } in events {
            let id = e.run.run_id.to_ascii_lowercase();
            let state = runs.entry(id.clone()).or_insert_with(|| {
                order.push(id.clone());
                recorded
                    .get(&id)
                    .map(|x| RunState::of(x))
                    .unwrap_or_default()
            });
            merge(e, state, &mut arts, rules, &mut scans, &mut summary);
        }
        let mut bodies = std::mem::take(&mut arts.bodies);
        summary.artifacts = bodies.len();
        new_scans(existing, scans, &mut summary, &mut bodies);
        for id in order {
            let x = runs[&id].execution(&id);
            if let Some(x) = run_outcome(&id, &runs[&id], x, &recorded, &mut summary) {
                bodies.push(Body::Execution(x));
            }
        }
        Ok(bodies)
    })?;
    Ok(summary)
}

/// The digests and sizes of the local files the events name (datasets, their symlinks, the
/// inputs of their column lineage), by artifact path; only inside the data roots: a file named
/// by an event elsewhere is an external artifact, recorded by its name and never opened.
fn hash_local_files(
    events: &[Event],
    root: &Path,
    roots: &crate::source::DataRoots,
) -> Result<HashMap<String, (String, u64)>, super::super::LineageError> {
    let mut local: HashMap<String, (String, u64)> = HashMap::new();
    for e in events {
        let datasets = e.event.inputs.iter().chain(&e.event.outputs);
        let mut names: Vec<(&str, &str)> = datasets
            .clone()
            .map(|d| (d.namespace.as_str(), d.name.as_str()))
            .collect();
        for d in datasets {
            if let Some(s) = &d.facets.symlinks {
                names.extend(
                    s.identifiers
                        .iter()
                        .map(|l| (l.namespace.as_str(), l.name.as_str())),
                );
            }
            if let Some(c) = &d.facets.column_lineage {
                for f in c
                    .fields
                    .values()
                    .flat_map(|f| &f.input_fields)
                    .chain(&c.dataset)
                {
                    names.push((&f.namespace, &f.name));
                }
            }
        }
        for (ns, name) in names {
            if !is_file_namespace(ns) {
                continue;
            }
            let path = artifact_path(ns, name, root);
            if local.contains_key(&path) {
                continue;
            }
            let file: PathBuf = root.join(&path);
            if roots.contains(&file) && file.is_file() {
                let digest = crate::source::digests::digest(&file, root)?;
                let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
                local.insert(path, (digest, size));
            }
        }
    }
    Ok(local)
}

/// The scans of declared tags not already in the ledger (same artifact, same columns), added
/// to `bodies` and counted.
fn new_scans(
    existing: &[crate::ledger::Record],
    scans: Vec<ScanRecord>,
    summary: &mut Summary,
    bodies: &mut Vec<Body>,
) {
    let key = |s: &ScanRecord| {
        (
            s.digest.clone(),
            serde_json::to_string(&s.columns).unwrap_or_default(),
        )
    };
    let mut declared: BTreeSet<(String, String)> = existing
        .iter()
        .filter_map(|r| match &r.body {
            Body::Scan(s) if s.is_declared() => Some(key(s)),
            _ => None,
        })
        .collect();
    for s in scans {
        if declared.insert(key(&s)) {
            summary.declared_tags += s.columns.iter().map(|c| c.tags.len()).sum::<usize>();
            bodies.push(Body::Scan(s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"eventType":"START","eventTime":"2026-11-01T10:00:00Z",
        "run":{"runId":"3f5e2a1c-1b2d-4c3e-8f4a-5b6c7d8e9f00"},
        "job":{"namespace":"airflow","name":"etl.clean"},
        "producer":"https://example.com/p","schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}"#;

    #[test]
    fn one_object_an_array_and_json_lines() {
        assert_eq!(parse(EVENT, "a.json", false).unwrap().len(), 1);
        let array = format!("[{EVENT},{EVENT}]");
        let got = parse(&array, "b.json", false).unwrap();
        assert_eq!(got[1].origin, "b.json[1]");
        let lines = format!(
            "{}\n\n{}\n",
            EVENT.replace('\n', ""),
            EVENT.replace('\n', "")
        );
        let got = parse(&lines, "c.jsonl", false).unwrap();
        assert_eq!(
            got.iter().map(|e| e.origin.as_str()).collect::<Vec<_>>(),
            ["c.jsonl:1", "c.jsonl:3"]
        );
    }

    #[test]
    fn malformed_events_say_what_is_wrong_and_where() {
        let no_run = EVENT.replace(
            r#""run":{"runId":"3f5e2a1c-1b2d-4c3e-8f4a-5b6c7d8e9f00"},"#,
            "",
        );
        let e = parse(&no_run, "x.json", false).unwrap_err();
        assert_eq!(e.origin, "x.json");
        assert!(e.message.contains("no `run`"), "{e}");
        // One broken field at a time: each error names what is wrong.
        for (bad, says) in [
            (
                EVENT.replace(r#""runId":"3f5e2a1c-1b2d-4c3e-8f4a-5b6c7d8e9f00""#, ""),
                "run.runId",
            ),
            (EVENT.replace("3f5e2a1c-1b2d", "nope"), "not a UUID"),
            (
                EVENT.replace(r#""name":"etl.clean""#, r#""name":5"#),
                "invalid type",
            ),
            (
                EVENT.replace("2026-11-01T10:00:00Z", "yesterday"),
                "eventTime",
            ),
            (EVENT.replace("START", "DONE"), "eventType"),
        ] {
            let e = parse(&bad, "x", false).unwrap_err();
            assert!(e.message.contains(says), "{says}: {e}");
        }
        let second_bad = format!("{}\n{{\"eventTime\": ", EVENT.replace('\n', ""));
        assert_eq!(
            parse(&second_bad, "l.jsonl", false).unwrap_err().origin,
            "l.jsonl:2"
        );
        assert!(parse("", "e", false).unwrap_err().message.contains("empty"));
        assert!(
            parse("[1]", "n", false)
                .unwrap_err()
                .message
                .contains("not a number")
        );
    }

    #[test]
    fn terminal_states_win_whatever_the_order() {
        assert!(later(
            &crate::ledger::RunState::Complete,
            "2026-01-01T00:00:00Z",
            &crate::ledger::RunState::Start,
            Some("2026-01-02T00:00:00Z")
        ));
        assert!(!later(
            &crate::ledger::RunState::Start,
            "2026-01-03T00:00:00Z",
            &crate::ledger::RunState::Complete,
            Some("2026-01-02T00:00:00Z")
        ));
        assert!(later(
            &crate::ledger::RunState::Running,
            "2026-01-03T00:00:00Z",
            &crate::ledger::RunState::Running,
            Some("2026-01-02T00:00:00+01:00")
        ));
    }

    #[test]
    fn tags_that_name_categories() {
        let rules = crate::rules::builtin().unwrap();
        let c = |k: &str, v: &str| tag_category(k, v, &rules);
        assert_eq!(
            c("pii:user.contact.email", "direct").as_deref(),
            Some("user.contact.email")
        );
        assert_eq!(
            c("PII", "user.financial").as_deref(),
            Some("user.financial")
        );
        assert_eq!(c("pii", "true").as_deref(), Some("user"));
        assert_eq!(c("pii", "email").as_deref(), Some("user.contact.email"));
        assert_eq!(
            c("pii", "email-address").as_deref(),
            Some("user.contact.email")
        );
        assert_eq!(
            c("pii", "iban").as_deref(),
            Some("user.financial.bank_account")
        );
        assert_eq!(
            c("user.contact.phone_number", "x").as_deref(),
            Some("user.contact.phone_number")
        );
        assert_eq!(c("owner", "team-a"), None);
        assert_eq!(c("pii:not.a.category", ""), None);
    }
}
