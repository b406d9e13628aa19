//! `piitrail lineage` over declared steps; cycles from bad imports are reported, never looped.

mod common;

use common::Project;
use piitrail::ledger::{ArtifactRef, Body, ExecutionKind, ExecutionRecord, Ledger};

fn pipeline() -> Project {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    p.write(
        "data/customers.csv",
        "customer_id,email,country\n1,jane@example.com,DE\n2,max@example.org,FR\n",
    );
    p.write(
        "data/clean.csv",
        "customer_id,email_hash,country\n1,ab12,DE\n2,cd34,FR\n",
    );
    p.write("models/churn.pkl", "model bytes");
    p.run(&["scan", "data/customers.csv", "--record"]).expect(0);
    p.run(&[
        "record",
        "--kind",
        "transform",
        "--input",
        "data/customers.csv",
        "--output",
        "data/clean.csv",
        "--column",
        "email_hash=email:pseudonymised",
        "--column",
        "country=country",
    ])
    .expect(0);
    p.run(&[
        "record",
        "--kind",
        "training",
        "--input",
        "data/clean.csv",
        "--output",
        "models/churn.pkl",
    ])
    .expect(0);
    p
}

#[test]
fn upstream_of_a_model_reaches_the_source_with_column_classes() {
    let p = pipeline();
    let w: serde_json::Value = serde_json::from_str(
        &p.run(&[
            "lineage",
            "models/churn.pkl",
            "--columns",
            "--format",
            "json",
        ])
        .expect(0)
        .stdout(),
    )
    .unwrap();
    assert_eq!(w["root"]["path"], "models/churn.pkl");
    let arts: Vec<(String, String)> = w["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["path"].as_str().unwrap().to_string(),
                a["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        arts,
        [
            ("data/clean.csv".into(), "dataset".into()),
            ("data/customers.csv".into(), "dataset".into()),
            ("models/churn.pkl".into(), "model".into())
        ]
    );
    let kinds: Vec<_> = w["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["training", "transform"]);
    let classes: Vec<_> = w["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}->{} {} {}",
                c["from"]["column"].as_str().unwrap(),
                c["to"]["column"].as_str().unwrap(),
                c["class"].as_str().unwrap(),
                c["masking"]
            )
        })
        .collect();
    assert_eq!(
        classes,
        [
            "country->country direct false",
            "email->email_hash pseudonymised true"
        ]
    );

    let text = p.run(&["lineage", "models/churn.pkl"]).expect(0).stdout();
    assert!(text.starts_with("models/churn.pkl"), "{text}");
    assert!(
        text.contains("<- training x-")
            && text.contains("<- transform x-")
            && text.contains("data/customers.csv"),
        "{text}"
    );
    let down = p
        .run(&["lineage", "data/customers.csv", "--downstream"])
        .expect(0)
        .stdout();
    assert!(
        down.contains("-> transform") && down.contains("models/churn.pkl"),
        "{down}"
    );
    let dot = p
        .run(&["lineage", "models/churn.pkl", "--format", "dot"])
        .expect(0)
        .stdout();
    assert!(dot.starts_with("digraph lineage {") && dot.trim_end().ends_with('}'));
    let mermaid = p
        .run(&["lineage", "models/churn.pkl", "--format", "mermaid"])
        .expect(0)
        .stdout();
    assert!(mermaid.starts_with("flowchart LR") && mermaid.contains("-->"));
}

#[test]
fn unknown_artifact_is_exit_2() {
    let p = pipeline();
    let run = p.run(&["lineage", "nope.csv"]).expect(2);
    assert!(
        run.stderr().contains("no artifact 'nope.csv'"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_cycle_is_reported_and_the_walk_ends() {
    let p = pipeline();
    let ledger = Ledger::open(p.dir.path()).unwrap();
    let log = ledger.load().unwrap();
    let digest_of = |path: &str| {
        log.iter()
            .rev()
            .find_map(|r| match &r.body {
                Body::Artifact(a) if a.path == path => Some(a.digest.clone()),
                _ => None,
            })
            .unwrap()
    };
    let r = |path: &str| ArtifactRef {
        path: path.into(),
        digest: digest_of(path),
    };
    // A bad import claims the model produced the source data.
    ledger
        .append(vec![Body::Execution(ExecutionRecord {
            id: "x-bad".into(),
            inputs: vec![r("models/churn.pkl")],
            outputs: vec![r("data/customers.csv")],
            ..ExecutionRecord::new(ExecutionKind::Openlineage)
        })])
        .unwrap();
    for format in ["text", "json", "dot", "mermaid"] {
        let run = p
            .run(&["lineage", "models/churn.pkl", "--format", format])
            .expect(0);
        assert!(run.stderr().contains("cycle"), "{format}: {}", run.stderr());
    }
    let w: serde_json::Value = serde_json::from_str(
        &p.run(&["lineage", "models/churn.pkl", "--format", "json"])
            .expect(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(w["cycles"].as_array().unwrap().len(), 1);
    assert!(
        p.run(&["lineage", "models/churn.pkl"])
            .expect(0)
            .stdout()
            .contains("(cycle")
    );
}
