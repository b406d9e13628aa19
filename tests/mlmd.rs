//! `ingest mlmd`: a TFX pipeline (CsvExampleGen → StatisticsGen → SchemaGen → Transform →
//! Trainer → Pusher, plus a failed Trainer attempt) in an ML Metadata SQLite store. The store
//! is built from the MLMD schema as the library creates it (tests/fixtures/mlmd-schema.sql);
//! with `--features interop`, by the real `ml-metadata` package. Either way `lineage` of the
//! pushed model reaches the raw CSV, and the CSV's tags reach the model as `trained_on`.

mod common;

use common::Project;
use rusqlite::{Connection, params};
use serde_json::Value;

const CUSTOMERS: &str = "\
customer_id,email,country,birth_date
C001,ann.lee@example.com,DE,1984-03-04
C002,bob.ray@example.org,FR,1990-07-19
C003,cy.do@example.net,DE,1975-01-30
C004,dee.fox@example.com,IT,2001-11-02
";

const PUSHED: &str = "pipeline/Pusher/pushed_model/6";
const MODEL: &str = "pipeline/Trainer/model/5";
const FAILED_MODEL: &str = "pipeline/Trainer/model/7";

/// (node, inputs (channel, artifact), outputs (channel, artifact), state).
type Step = (
    &'static str,
    &'static [(&'static str, usize)],
    &'static [(&'static str, usize)],
    i64,
);

/// The artifacts: (type, uri under the project).
const ARTIFACTS: &[(&str, &str)] = &[
    ("Examples", "pipeline/CsvExampleGen/examples/1"),
    ("ExampleStatistics", "pipeline/StatisticsGen/statistics/2"),
    ("Schema", "pipeline/SchemaGen/schema/3"),
    ("TransformGraph", "pipeline/Transform/transform_graph/4"),
    ("Examples", "pipeline/Transform/transformed_examples/4"),
    ("Model", MODEL),
    ("PushedModel", PUSHED),
    ("Model", FAILED_MODEL),
];

const COMPLETE: i64 = 3;
const FAILED: i64 = 4;

const STEPS: &[Step] = &[
    ("CsvExampleGen", &[], &[("examples", 0)], COMPLETE),
    (
        "StatisticsGen",
        &[("examples", 0)],
        &[("statistics", 1)],
        COMPLETE,
    ),
    (
        "SchemaGen",
        &[("statistics", 1)],
        &[("schema", 2)],
        COMPLETE,
    ),
    (
        "Transform",
        &[("examples", 0), ("schema", 2)],
        &[("transform_graph", 3), ("transformed_examples", 4)],
        COMPLETE,
    ),
    (
        "Trainer",
        &[("examples", 4), ("transform_graph", 3), ("schema", 2)],
        &[("model", 5)],
        COMPLETE,
    ),
    ("Pusher", &[("model", 5)], &[("pushed_model", 6)], COMPLETE),
    ("Trainer", &[("examples", 0)], &[("model", 7)], FAILED),
];

/// A project with the raw CSV scanned and the pipeline's artifact folders.
fn project() -> Project {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    p.write("data/raw/customers.csv", CUSTOMERS);
    p.run(&["scan", "data/raw/customers.csv", "--record"])
        .expect(0);
    for (_, uri) in ARTIFACTS {
        std::fs::create_dir_all(p.path(uri)).unwrap();
    }
    p
}

fn root(p: &Project) -> String {
    std::fs::canonicalize(p.dir.path())
        .unwrap()
        .to_string_lossy()
        .to_string()
}

/// The store, written with SQL into the schema MLMD itself creates (schema version 10).
fn build_from_schema(p: &Project, store: &str) {
    let db = Connection::open(p.path(store)).unwrap();
    db.execute_batch(
        &std::fs::read_to_string(common::fixture("mlmd-schema.sql"))
            .unwrap()
            .replace("CREATE TABLE sqlite_sequence(name,seq);", ""),
    )
    .unwrap();
    db.execute("INSERT INTO MLMDEnv VALUES (10)", []).unwrap();
    let root = root(p);
    let type_id = |name: &str, kind: i64| -> i64 {
        let found: Option<i64> = db
            .query_row(
                "SELECT id FROM Type WHERE name = ?1 AND type_kind = ?2",
                params![name, kind],
                |r| r.get(0),
            )
            .ok();
        found.unwrap_or_else(|| {
            db.execute(
                "INSERT INTO Type (name, type_kind) VALUES (?1, ?2)",
                params![name, kind],
            )
            .unwrap();
            db.last_insert_rowid()
        })
    };
    let (pipeline_t, run_t, node_t) = (
        type_id("pipeline", 2),
        type_id("pipeline_run", 2),
        type_id("node", 2),
    );
    let mut artifact_ids = Vec::new();
    for (t, uri) in ARTIFACTS {
        let t = type_id(t, 1);
        db.execute(
            "INSERT INTO Artifact (type_id, uri, state) VALUES (?1, ?2, 2)",
            params![t, format!("{root}/{uri}")],
        )
        .unwrap();
        artifact_ids.push(db.last_insert_rowid());
    }
    let mut exec_types = Vec::new();
    for (node, ..) in STEPS {
        exec_types.push(type_id(node, 0));
    }
    db.execute(
        "INSERT INTO Context (type_id, name) VALUES (?1, 'shop_pipeline')",
        params![pipeline_t],
    )
    .unwrap();
    let pipeline = db.last_insert_rowid();
    db.execute(
        "INSERT INTO Context (type_id, name) VALUES (?1, 'shop_pipeline-2026-11-20')",
        params![run_t],
    )
    .unwrap();
    let run = db.last_insert_rowid();
    for (i, (node, inputs, outputs, state)) in STEPS.iter().enumerate() {
        db.execute(
            "INSERT INTO Execution (type_id, last_known_state) VALUES (?1, ?2)",
            params![exec_types[i], state],
        )
        .unwrap();
        let x = db.last_insert_rowid();
        if *node == "CsvExampleGen" {
            db.execute(
                "INSERT INTO ExecutionProperty (execution_id, name, is_custom_property, string_value) VALUES (?1, 'input_base', 1, ?2)",
                params![x, format!("{root}/data/raw")],
            )
            .unwrap();
        }
        let node_ctx = format!("shop_pipeline.{node}");
        db.execute(
            "INSERT OR IGNORE INTO Context (type_id, name) VALUES (?1, ?2)",
            params![node_t, node_ctx],
        )
        .unwrap();
        let node_id: i64 = db
            .query_row(
                "SELECT id FROM Context WHERE name = ?1",
                params![node_ctx],
                |r| r.get(0),
            )
            .unwrap();
        for c in [pipeline, run, node_id] {
            db.execute(
                "INSERT INTO Association (context_id, execution_id) VALUES (?1, ?2)",
                params![c, x],
            )
            .unwrap();
        }
        for (side, list) in [(3, inputs), (4, outputs)] {
            for (channel, a) in list.iter() {
                db.execute(
                    "INSERT INTO Event (artifact_id, execution_id, type) VALUES (?1, ?2, ?3)",
                    params![artifact_ids[*a], x, side],
                )
                .unwrap();
                let e = db.last_insert_rowid();
                db.execute(
                    "INSERT INTO EventPath (event_id, is_index_step, step_key) VALUES (?1, 0, ?2)",
                    params![e, channel],
                )
                .unwrap();
                db.execute(
                    "INSERT INTO EventPath (event_id, is_index_step, step_index) VALUES (?1, 1, 0)",
                    params![e],
                )
                .unwrap();
            }
        }
    }
}

/// What every store of this pipeline must give, however it was built.
fn check_ingest(p: &Project, store: &str) {
    let before = std::fs::read(p.path(store)).unwrap();
    let out = p
        .run(&["ingest", "mlmd", store, "--format", "json"])
        .expect(0)
        .stdout();
    assert_eq!(
        std::fs::read(p.path(store)).unwrap(),
        before,
        "the store was written to"
    );
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["schema_version"], 10);
    assert_eq!(summary["executions"], 7);
    assert_eq!(summary["recorded"], 7);
    assert_eq!(summary["models"], 3);
    assert_eq!(
        summary["links"],
        serde_json::json!(["CsvExampleGen #1 -> data/raw/customers.csv"])
    );
    p.run(&["ledger", "verify"]).expect(0);

    // The pushed model's lineage reaches the raw CSV through every step.
    let walk: Value = serde_json::from_str(
        &p.run(&["lineage", PUSHED, "--format", "json"])
            .expect(0)
            .stdout(),
    )
    .unwrap();
    let paths: Vec<&str> = walk["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    for want in [
        "data/raw/customers.csv",
        "pipeline/CsvExampleGen/examples/1",
        "pipeline/Transform/transformed_examples/4",
        MODEL,
        PUSHED,
    ] {
        assert!(paths.contains(&want), "{want} not upstream: {paths:?}");
    }
    let mut jobs: Vec<(&str, &str)> = walk["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["run"]["job"].as_str().unwrap(),
                x["run"]["state"].as_str().unwrap(),
            )
        })
        .collect();
    jobs.sort();
    // Every step of the pipeline, and not the failed Trainer attempt (not upstream).
    assert_eq!(
        jobs,
        [
            ("CsvExampleGen", "COMPLETE"),
            ("Pusher", "COMPLETE"),
            ("SchemaGen", "COMPLETE"),
            ("StatisticsGen", "COMPLETE"),
            ("Trainer", "COMPLETE"),
            ("Transform", "COMPLETE")
        ]
    );
    let trainer = walk["executions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["run"]["job"] == "Trainer")
        .unwrap();
    assert_eq!(trainer["kind"], "training");
    let props = &trainer["run"]["properties"];
    assert_eq!(props["context.pipeline"], "shop_pipeline");
    assert_eq!(props["context.node"], "shop_pipeline.Trainer");
    assert_eq!(props["output.model"], MODEL);
    assert_eq!(
        props["input.examples"],
        "pipeline/Transform/transformed_examples/4"
    );

    // The CSV's personal data reaches both models as trained_on; the failed attempt's model
    // gets nothing.
    // Exit 1: the project declares none of its personal columns (the gate's `undeclared-pii`).
    p.run(&["audit", "--out", "report"]).expect(1);
    let report: Value = serde_json::from_str(&p.read("report/report.json")).unwrap();
    let artifact = |path: &str| {
        report["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["path"] == path)
            .unwrap_or_else(|| panic!("{path} not in the report"))
            .clone()
    };
    for model in [MODEL, PUSHED] {
        let a = artifact(model);
        assert_eq!(a["kind"], "model");
        let email = a["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["category"] == "user.contact.email")
            .unwrap_or_else(|| panic!("no e-mail tag on {model}: {a:#}"));
        assert_eq!(email["status"], "trained_on");
    }
    assert_eq!(artifact(FAILED_MODEL)["tags"], serde_json::json!([]));
    let text = p.run(&["lineage", FAILED_MODEL]).expect(0).stdout();
    assert!(
        text.contains("[mlmd Trainer: FAILED, no tags handed on]"),
        "{text}"
    );

    // Again: nothing new.
    let lines = p.read(".piitrail/ledger.jsonl");
    let out = p.run(&["ingest", "mlmd", store]).expect(0).stdout();
    assert!(out.contains("(0 recorded, 7 unchanged)"), "{out}");
    assert_eq!(p.read(".piitrail/ledger.jsonl"), lines);
}

#[test]
fn a_store_in_the_mlmd_schema_is_ingested() {
    let p = project();
    build_from_schema(&p, "metadata.sqlite");
    check_ingest(&p, "metadata.sqlite");
}

#[test]
fn bad_stores_are_refused() {
    let p = project();
    p.write("not-a-db.sqlite", "hello, I am text");
    let run = p.run(&["ingest", "mlmd", "not-a-db.sqlite"]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains("not-a-db.sqlite")
            && run.stderr().contains("not an ML Metadata store"),
        "{}",
        run.stderr()
    );
    build_from_schema(&p, "future.sqlite");
    Connection::open(p.path("future.sqlite"))
        .unwrap()
        .execute("UPDATE MLMDEnv SET schema_version = 99", [])
        .unwrap();
    let run = p.run(&["ingest", "mlmd", "future.sqlite"]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains("schema version 99"),
        "{}",
        run.stderr()
    );
    let run = p.run(&["ingest", "mlmd", "missing.sqlite"]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("missing.sqlite"), "{}", run.stderr());
}

/// SQLite does not enforce column types: a property whose value has the wrong type made the
/// whole ingest fail. It is left out with a warning (never showing the value), or refused with
/// `--strict`.
#[test]
fn a_property_that_cannot_be_read_is_left_out_with_a_warning_or_refused_when_strict() {
    let p = project();
    build_from_schema(&p, "metadata.sqlite");
    Connection::open(p.path("metadata.sqlite"))
        .unwrap()
        .execute(
            "INSERT INTO ExecutionProperty (execution_id, name, is_custom_property, int_value) \
             VALUES (2, 'owner', 1, 'ann.lee@example.com')",
            [],
        )
        .unwrap();
    let before = p.read(".piitrail/ledger.jsonl");
    let run = p.run(&["ingest", "mlmd", "metadata.sqlite", "--strict"]);
    let run = run.expect_error("metadata.sqlite");
    assert!(
        run.stderr().contains("`owner`") && run.stderr().contains("--strict"),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains("ann.lee"), "{}", run.stderr());
    assert_eq!(
        p.read(".piitrail/ledger.jsonl"),
        before,
        "--strict recorded something"
    );

    let run = p.run(&["ingest", "mlmd", "metadata.sqlite"]).expect(0);
    assert!(
        run.stderr().contains("warning: ")
            && run.stderr().contains(
                "property `owner` of execution 2 cannot be read (`int_value` holds text)"
            ),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains("ann.lee") && !run.stdout().contains("ann.lee"));
    assert!(!p.read(".piitrail/ledger.jsonl").contains("ann.lee"));
    check_ingest_again(&p);
}

/// After [`a_property_that_cannot_be_read_is_left_out_with_a_warning_or_refused_when_strict`]:
/// the rest of the store was recorded (seven executions).
fn check_ingest_again(p: &Project) {
    let out = p
        .run(&["ingest", "mlmd", "metadata.sqlite"])
        .expect(0)
        .stdout();
    assert!(out.contains("(0 recorded, 7 unchanged)"), "{out}");
}

#[cfg(feature = "interop")]
mod interop {
    use super::*;

    /// The same pipeline, written by ml-metadata's own MetadataStore.
    const BUILD: &str = r#"
import sys
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

store_path, root = sys.argv[1], sys.argv[2]
config = pb.ConnectionConfig()
config.sqlite.filename_uri = store_path
config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
store = metadata_store.MetadataStore(config)

def artifact_type(name):
    return store.put_artifact_type(pb.ArtifactType(name=name))
def execution_type(name):
    t = pb.ExecutionType(name=name)
    return store.put_execution_type(t)
def context_type(name):
    return store.put_context_type(pb.ContextType(name=name))

artifacts = [
    ("Examples", "pipeline/CsvExampleGen/examples/1"),
    ("ExampleStatistics", "pipeline/StatisticsGen/statistics/2"),
    ("Schema", "pipeline/SchemaGen/schema/3"),
    ("TransformGraph", "pipeline/Transform/transform_graph/4"),
    ("Examples", "pipeline/Transform/transformed_examples/4"),
    ("Model", "pipeline/Trainer/model/5"),
    ("PushedModel", "pipeline/Pusher/pushed_model/6"),
    ("Model", "pipeline/Trainer/model/7"),
]
arts = [pb.Artifact(type_id=artifact_type(t), uri=f"{root}/{u}", state=pb.Artifact.LIVE) for t, u in artifacts]
steps = [
    ("CsvExampleGen", [], [("examples", 0)], pb.Execution.COMPLETE),
    ("StatisticsGen", [("examples", 0)], [("statistics", 1)], pb.Execution.COMPLETE),
    ("SchemaGen", [("statistics", 1)], [("schema", 2)], pb.Execution.COMPLETE),
    ("Transform", [("examples", 0), ("schema", 2)], [("transform_graph", 3), ("transformed_examples", 4)], pb.Execution.COMPLETE),
    ("Trainer", [("examples", 4), ("transform_graph", 3), ("schema", 2)], [("model", 5)], pb.Execution.COMPLETE),
    ("Pusher", [("model", 5)], [("pushed_model", 6)], pb.Execution.COMPLETE),
    ("Trainer", [("examples", 0)], [("model", 7)], pb.Execution.FAILED),
]
pipeline = pb.Context(type_id=context_type("pipeline"), name="shop_pipeline")
run = pb.Context(type_id=context_type("pipeline_run"), name="shop_pipeline-2026-11-20")
[pipeline.id, run.id] = store.put_contexts([pipeline, run])
node_type = context_type("node")
for node, inputs, outputs, state in steps:
    e = pb.Execution(type_id=execution_type(node), last_known_state=state)
    if node == "CsvExampleGen":
        e.custom_properties["input_base"].string_value = f"{root}/data/raw"
    pairs = []
    for kind, items in ((pb.Event.INPUT, inputs), (pb.Event.OUTPUT, outputs)):
        for channel, i in items:
            ev = pb.Event(type=kind)
            ev.path.steps.add().key = channel
            ev.path.steps.add().index = 0
            pairs.append((arts[i], ev))
    node_ctx = pb.Context(type_id=node_type, name=f"shop_pipeline.{node}")
    _, ids, _ = store.put_execution(e, pairs, [pipeline, run, node_ctx], reuse_context_if_already_exist=True)
    for (art, _), aid in zip(pairs, ids):
        art.id = aid
"#;

    #[test]
    fn a_store_written_by_ml_metadata_is_ingested() {
        let p = project();
        p.write("build.py", BUILD);
        let store = p.path("metadata.sqlite");
        let store = store.to_string_lossy();
        common::servers::python_stdout(p.dir.path(), &["build.py", &store, &root(&p)]);
        check_ingest(&p, "metadata.sqlite");
    }
}
