//! The ledger's typed vocabulary (src/ledger/model.rs) reads and writes a ledger exactly as
//! the strings it replaced did: a ledger written by piitrail before the vocabulary was typed
//! (tests/fixtures/ledger/v0.2.jsonl: the demo, a subject erasure, OpenLineage runs with every
//! subtype, a custom one, an empty one, FAIL and RUNNING states, declared steps of every class,
//! and a scan with name, reference and checksum evidence) is typed and written back byte for
//! byte, and still verifies.

mod common;

use common::Project;
use piitrail::ledger::{Body, Class, Record, RunState, Subtype, record_hash};

const OLD: &str = include_str!("fixtures/ledger/v0.2.jsonl");

#[test]
fn an_old_ledger_is_typed_and_written_back_byte_for_byte() {
    let mut kinds = std::collections::BTreeSet::new();
    for (n, line) in OLD.lines().enumerate() {
        let record: Record = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {}: does not read: {e}", n + 1));
        let again = serde_json::to_string(&record).unwrap();
        assert_eq!(again, line, "line {} is written back otherwise", n + 1);
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(record_hash(&value), record.hash, "line {}", n + 1);
        kinds.insert(record.kind());
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["artifact", "execution", "scan"]
    );
}

/// The fixture holds what the test claims: every class, producer subtypes outside the spec's,
/// and runs that failed or are still running.
#[test]
fn the_old_ledger_holds_the_whole_vocabulary() {
    let records: Vec<Record> = OLD
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let executions: Vec<_> = records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Execution(x) => Some(x),
            _ => None,
        })
        .collect();
    let classes: std::collections::BTreeSet<Class> = executions
        .iter()
        .flat_map(|x| x.columns.iter().map(|e| e.class))
        .collect();
    assert_eq!(classes.len(), 5, "{classes:?}");
    let subtypes: Vec<&Subtype> = executions
        .iter()
        .flat_map(|x| x.columns.iter().map(|e| &e.subtype))
        .collect();
    assert!(subtypes.contains(&&Subtype::Other("MERGE".into())));
    assert!(subtypes.contains(&&Subtype::Other(String::new())));
    let states: Vec<&RunState> = executions
        .iter()
        .filter_map(|x| x.run.as_ref().map(|r| &r.state))
        .collect();
    assert!(states.contains(&&RunState::Fail) && states.contains(&&RunState::Running));
    assert!(executions.iter().any(|x| x.erasure.is_some()));
}

#[test]
fn an_old_ledger_verifies_and_its_lineage_reads() {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    p.write(".piitrail/ledger.jsonl", OLD);
    let run = p.run(&["ledger", "verify"]).expect(0);
    assert!(
        run.stdout().contains("ledger intact: 44 records"),
        "{}",
        run.stdout()
    );
    // The model's lineage reaches the source through the training and SQL steps.
    let run = p
        .run(&["lineage", "models/churn.json", "--format", "json"])
        .expect(0);
    let w: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let kinds: Vec<&str> = w["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["training", "sql", "sql"], "{w}");
    assert!(
        w["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["path"] == "data/customers.csv" && a["kind"] == "dataset"),
        "{w}"
    );
}

/// The modules a source file names (`crate::x`, `super::x` within `src/ledger/`).
fn uses(file: &std::path::Path, prefix: &str) -> std::collections::BTreeSet<String> {
    let text = std::fs::read_to_string(file).unwrap();
    text.match_indices(prefix)
        .map(|(at, _)| {
            text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|m| !m.is_empty())
        .collect()
}

/// The ledger is the typed core: it depends on no stage that writes to it (the scanner, lineage,
/// propagation, subject requests, reports), and its files do not import each other in a circle.
#[test]
fn the_ledger_depends_on_no_stage_and_its_files_on_no_circle() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ledger");
    let mut within = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let outside = uses(&path, "crate::");
        for stage in [
            "scan",
            "lineage",
            "propagate",
            "subject",
            "report",
            "policy",
            "cli",
        ] {
            assert!(
                !outside.contains(stage),
                "src/ledger/{name}.rs uses crate::{stage}"
            );
        }
        if name != "mod" {
            within.insert(name, uses(&path, "super::"));
        }
    }
    // Each file's imports of its siblings, followed: no file reaches itself.
    for start in within.keys() {
        let mut todo: Vec<&String> = within[start].iter().collect();
        let mut seen = std::collections::BTreeSet::new();
        while let Some(next) = todo.pop() {
            assert_ne!(
                next, start,
                "src/ledger/{start}.rs imports itself through its siblings"
            );
            if seen.insert(next.clone())
                && let Some(more) = within.get(next)
            {
                todo.extend(more.iter());
            }
        }
    }
    assert!(within["chain"].contains("record") && !within["record"].contains("chain"));
}
