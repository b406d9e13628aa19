//! `piitrail record`: declared steps (training, transform, export) in the ledger.

mod common;

use common::Project;

/// A training step with code and one column edge.
const TRAIN: &[&str] = &[
    "record",
    "--kind",
    "training",
    "--input",
    "data/features.csv",
    "--output",
    "models/churn.pkl",
    "--code",
    "train.py",
    "--column",
    "score=spend:aggregated",
];

fn project() -> Project {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    p.write(
        "data/features.csv",
        "customer_id,email,spend\n1,jane@example.com,10\n",
    );
    p.write("models/churn.pkl", "not really a model");
    p.write("train.py", "print('training')\n");
    p
}

#[test]
fn a_training_step_records_a_model_and_its_inputs() {
    let p = project();
    let out = p.run(TRAIN).expect(0).stdout();
    assert!(out.starts_with("recorded training execution x-"), "{out}");
    let log = p
        .run(&["ledger", "log", "--format", "json"])
        .expect(0)
        .json_lines();
    let kinds: Vec<_> = log.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["artifact", "artifact", "execution"]);
    assert_eq!(log[0]["artifact"]["role"], "dataset");
    assert_eq!(log[1]["artifact"]["role"], "model");
    let x = &log[2]["execution"];
    assert_eq!(x["kind"], "training");
    assert_eq!(x["inputs"][0]["path"], "data/features.csv");
    assert_eq!(x["outputs"][0]["digest"], log[1]["artifact"]["digest"]);
    assert_eq!(x["code"]["script"]["path"], "train.py");
    let edge = &x["columns"][0];
    assert_eq!(
        edge["from"],
        serde_json::json!({"path": "data/features.csv", "column": "spend"})
    );
    assert_eq!(
        edge["to"],
        serde_json::json!({"path": "models/churn.pkl", "column": "score"})
    );
    assert_eq!(
        (
            edge["type"].as_str(),
            edge["subtype"].as_str(),
            edge["class"].as_str()
        ),
        (Some("DIRECT"), Some("AGGREGATION"), Some("aggregated"))
    );
    // Recording the same step again: same id, no new artifact versions.
    p.run(TRAIN).expect(0);
    let log2 = p
        .run(&["ledger", "log", "--format", "json"])
        .expect(0)
        .json_lines();
    assert_eq!(log2.len(), 4);
    assert_eq!(log2[3]["execution"]["id"], x["id"]);
    p.run(&["ledger", "verify"]).expect(0);
}

#[test]
fn missing_files_and_bad_columns_are_exit_2_and_write_nothing() {
    let p = project();
    let before = std::fs::read(p.path(".piitrail/ledger.jsonl")).unwrap();
    // Each case: the arguments after `record` that must be refused.
    let export = [
        "--kind",
        "export",
        "--input",
        "data/features.csv",
        "--output",
        "models/churn.pkl",
    ];
    let with = |extra: &[&'static str]| [&export[..], extra].concat();
    for tail in [
        vec![
            "--kind",
            "training",
            "--input",
            "data/nope.csv",
            "--output",
            "models/churn.pkl",
        ],
        vec![
            "--kind",
            "training",
            "--input",
            "data/features.csv",
            "--output",
            "models/none.pkl",
        ],
        with(&["--column", "nonsense"]),
        with(&["--column", "a=other.csv:b"]),
        with(&["--code", "nope.py"]),
        vec![
            "--kind",
            "teleport",
            "--input",
            "data/features.csv",
            "--output",
            "models/churn.pkl",
        ],
        vec!["--kind", "export", "--output", "models/churn.pkl"],
    ] {
        let args = [&["record"][..], &tail].concat();
        let run = p.run(&args).expect(2);
        assert!(!run.stderr().is_empty());
        assert_eq!(
            std::fs::read(p.path(".piitrail/ledger.jsonl")).unwrap(),
            before,
            "{args:?} wrote to the ledger"
        );
    }
    let run = p.run(&[
        "record",
        "--kind",
        "training",
        "--input",
        "data/nope.csv",
        "--output",
        "models/churn.pkl",
    ]);
    assert!(
        run.stderr().contains("input data/nope.csv does not exist"),
        "{}",
        run.stderr()
    );
}

#[test]
fn record_needs_an_initialised_project() {
    let p = Project::new();
    p.write("a.csv", "x\n1\n");
    p.write("b.csv", "x\n1\n");
    let run = p
        .run(&[
            "record",
            "--kind",
            "transform",
            "--input",
            "a.csv",
            "--output",
            "b.csv",
        ])
        .expect(2);
    assert!(run.stderr().contains("piitrail init"), "{}", run.stderr());
}
