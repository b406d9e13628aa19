//! `ingest openlineage`: events in the shapes Spark, Airflow's SQL operators and dbt emit
//! (tests/fixtures/openlineage-events, written from the 2-0-2 spec and validated against its
//! schemas here), taken into the ledger and followed by `lineage`, propagation (`audit`) and
//! the gate's flow rules like lineage piitrail recorded itself.

mod common;

use common::Project;
use serde_json::{Value, json};

const CUSTOMERS: &str = "\
customer_id,email,country,signup_date
C001,ann.lee@example.com,DE,2021-03-04
C002,bob.ray@example.org,FR,2022-07-19
C003,cy.do@example.net,DE,2020-01-30
C004,dee.fox@example.com,IT,2023-11-02
";

const EVENTS: &[&str] = &["spark.json", "airflow.jsonl", "dbt.json"];
const CLEAN: &str = "s3://lake/clean/customers";
const CLEAN_ALIAS: &str = "hive://metastore:9083/lake.customers_clean";
const ORDERS: &str = "postgres://db.local:5432/shop.public.orders";
const BY_COUNTRY: &str = "bigquery/proj.analytics.orders_by_country";
const FEATURES: &str = "bigquery/proj.analytics.customer_features";
const BROKEN: &str = "bigquery/proj.analytics.broken";

/// A project with the customers file scanned, and the event fixtures copied into `events/`
/// with the project's absolute path where Spark names the local file.
fn project() -> Project {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    p.write("data/customers.csv", CUSTOMERS);
    p.run(&["scan", "data/customers.csv", "--record"]).expect(0);
    let root = std::fs::canonicalize(p.dir.path()).unwrap();
    for name in EVENTS {
        let text = std::fs::read_to_string(common::fixture(&format!("openlineage-events/{name}")))
            .unwrap()
            .replace("__ROOT__", &root.to_string_lossy());
        p.write(&format!("events/{name}"), text);
    }
    p
}

fn ledger_lines(p: &Project) -> usize {
    p.read(".piitrail/ledger.jsonl").lines().count()
}

fn events_of(p: &Project, name: &str) -> Vec<Value> {
    let text = p.read(&format!("events/{name}"));
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(a)) => a,
        Ok(v) => vec![v],
        Err(_) => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    }
}

fn lineage(p: &Project, artifact: &str, dir: &str) -> Value {
    let out = p
        .run(&["lineage", artifact, dir, "--columns", "--format", "json"])
        .expect(0)
        .stdout();
    serde_json::from_str(&out).unwrap()
}

fn paths(walk: &Value) -> Vec<String> {
    let mut v: Vec<String> = walk["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn edge<'a>(walk: &'a Value, from: (&str, &str), to: (&str, &str)) -> Vec<&'a Value> {
    walk["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["from"]["path"] == from.0
                && e["from"]["column"] == from.1
                && e["to"]["path"] == to.0
                && e["to"]["column"] == to.1
        })
        .collect()
}

fn audit(p: &Project) -> Value {
    // Exit 1: the project declares none of its personal columns (the gate's `undeclared-pii`).
    p.run(&["audit", "--out", "report"]).expect(1);
    serde_json::from_str(&p.read("report/report.json")).unwrap()
}

/// The tags of one column in the audit report: (category, status).
fn tags(report: &Value, path: &str, column: &str) -> Vec<(String, String)> {
    let a = report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == path)
        .unwrap_or_else(|| panic!("{path} is not in the report"));
    let mut v: Vec<(String, String)> = a["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == column)
        .flat_map(|c| c["tags"].as_array().unwrap().clone())
        .map(|t| {
            (
                t["category"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_fixtures_are_valid_openlineage_events() {
    let p = project();
    let registry = common::openlineage_registry();
    let build = |id: &str| {
        jsonschema::options()
            .with_registry(&registry)
            .build(&json!({"$ref": id}))
            .unwrap()
    };
    let run_event = build("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent");
    let facets = [
        "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json",
        "https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json",
        "https://openlineage.io/spec/facets/1-0-1/SymlinksDatasetFacet.json",
    ]
    .map(build);
    let mut n = 0;
    for name in EVENTS {
        for e in events_of(&p, name) {
            n += 1;
            let errors: Vec<String> = run_event.iter_errors(&e).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{name}: {errors:?}");
            for d in e["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .chain(e["outputs"].as_array().unwrap())
            {
                if d["facets"].is_null() {
                    continue;
                }
                for f in &facets {
                    let errors: Vec<String> =
                        f.iter_errors(&d["facets"]).map(|e| e.to_string()).collect();
                    assert!(errors.is_empty(), "{name}: {errors:?}");
                }
            }
        }
    }
    assert_eq!(n, 8);
}

#[test]
fn spark_airflow_and_dbt_lineage_is_ingested_and_followed() {
    let p = project();
    let before = ledger_lines(&p);
    let out = p
        .run(&["ingest", "openlineage", "events", "--format", "json"])
        .expect(0)
        .stdout();
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["events"], 8);
    let runs = summary["runs"].as_array().unwrap();
    let by_job = |job: &str| runs.iter().find(|r| r["job"] == job).unwrap();
    assert_eq!(runs.len(), 4, "{out}");
    assert!(runs.iter().all(|r| r["status"] == "recorded"));
    // START and COMPLETE of one run are one execution, in the later state.
    let spark = by_job("spark/clean_customers.execute_insert_into_hadoop_fs_relation_command");
    assert_eq!(
        (&spark["state"], &spark["inputs"], &spark["outputs"]),
        (&json!("COMPLETE"), &json!(1), &json!(1))
    );
    let broken = by_job("dbt/shop.analytics.broken_model");
    assert_eq!(
        (&broken["state"], &broken["failed"]),
        (&json!("FAIL"), &json!(true))
    );
    // One declared column tag (pii=email on buyer_email); the owner tag is not personal data.
    assert_eq!(summary["declared_tags"], 1);
    assert_eq!(summary["ignored_tags"], 1);
    assert!(ledger_lines(&p) > before);
    assert_eq!(p.run(&["ledger", "verify"]).code(), 0);

    // Upstream of the dbt model: through BigQuery, Postgres and the Hive name of the S3 output
    // (a symlink) back to the scanned local file.
    let up = lineage(&p, FEATURES, "--upstream");
    let mut want = [BY_COUNTRY, FEATURES, "data/customers.csv", ORDERS, CLEAN];
    want.sort();
    assert_eq!(paths(&up), want);
    // Every transformation kept: type, subtype, masking, description.
    let hash = edge(&up, ("data/customers.csv", "email"), (CLEAN, "email_hash"));
    assert_eq!(hash.len(), 1);
    assert_eq!(
        (
            &hash[0]["type"],
            &hash[0]["subtype"],
            &hash[0]["masking"],
            &hash[0]["class"],
            &hash[0]["description"]
        ),
        (
            &json!("DIRECT"),
            &json!("TRANSFORMATION"),
            &json!(true),
            &json!("pseudonymised"),
            &json!("sha2(lower(email), 256)")
        )
    );
    let country = edge(&up, ("data/customers.csv", "country"), (CLEAN, "country"));
    let mut kinds: Vec<(String, String)> = country
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().into(),
                e["subtype"].as_str().unwrap().into(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("DIRECT".into(), "TRANSFORMATION".into()),
            ("INDIRECT".into(), "CONDITIONAL".into())
        ]
    );
    // Dataset-level INDIRECT dependencies reach every column of the output.
    for column in ["customer_id", "email_hash", "country"] {
        let f = edge(&up, ("data/customers.csv", "signup_date"), (CLEAN, column));
        assert_eq!(f.len(), 1, "{column}");
        assert_eq!(
            (&f[0]["type"], &f[0]["subtype"]),
            (&json!("INDIRECT"), &json!("FILTER"))
        );
    }
    let join = edge(&up, (ORDERS, "customer_id"), (BY_COUNTRY, "buyers"));
    assert_eq!(join[0]["subtype"], "JOIN");
    let group = edge(&up, (CLEAN, "country"), (BY_COUNTRY, "revenue"));
    assert_eq!(group[0]["subtype"], "GROUP_BY");
    // The symlink name in the Airflow event is the S3 artifact.
    assert_eq!(
        edge(&up, (CLEAN, "country"), (BY_COUNTRY, "country"))[0]["subtype"],
        "IDENTITY"
    );
    // The deprecated per-field transformationType and description.
    let top = edge(&up, (ORDERS, "buyer_email"), (BY_COUNTRY, "top_email"));
    assert_eq!(
        (&top[0]["subtype"], &top[0]["class"], &top[0]["description"]),
        (
            &json!("IDENTITY"),
            &json!("direct"),
            &json!("max(buyer_email)")
        )
    );
    let masked = edge(&up, (BY_COUNTRY, "top_email"), (FEATURES, "top_email"));
    assert_eq!(
        (&masked[0]["masking"], &masked[0]["class"]),
        (&json!(true), &json!("pseudonymised"))
    );
    let subtypes: std::collections::BTreeSet<&str> = up["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subtype"].as_str().unwrap())
        .collect();
    for s in [
        "IDENTITY",
        "TRANSFORMATION",
        "AGGREGATION",
        "JOIN",
        "GROUP_BY",
        "FILTER",
        "SORT",
        "WINDOW",
        "CONDITIONAL",
    ] {
        assert!(subtypes.contains(s), "{s} missing from {subtypes:?}");
    }

    // Either name of the S3 output works, and the failed run shows downstream, marked.
    let by_alias = lineage(&p, CLEAN_ALIAS, "--downstream");
    assert_eq!(by_alias["root"]["path"], CLEAN);
    let fail = by_alias["executions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["run"]["state"] == "FAIL")
        .expect("the failed dbt run is in lineage");
    assert_eq!(fail["run"]["job"], "dbt/shop.analytics.broken_model");
    assert!(paths(&by_alias).contains(&BROKEN.to_string()));
    let text = p
        .run(&["lineage", CLEAN_ALIAS, "--downstream"])
        .expect(0)
        .stdout();
    assert!(text.contains("FAIL, no tags handed on"), "{text}");

    // Propagation: the scan's email reaches S3 pseudonymised; the declared Postgres tag reaches
    // BigQuery aggregated and (through the deprecated IDENTITY) direct; the failed run hands on
    // nothing.
    let report = audit(&p);
    assert_eq!(
        tags(&report, CLEAN, "email_hash"),
        [(
            "user.contact.email".to_string(),
            "pseudonymised".to_string()
        )]
    );
    assert_eq!(
        tags(&report, ORDERS, "buyer_email"),
        [("user.contact.email".to_string(), "direct".to_string())]
    );
    assert_eq!(
        tags(&report, BY_COUNTRY, "buyers"),
        [(
            "user.contact.email".to_string(),
            "pseudonymised".to_string()
        )]
    );
    assert_eq!(
        tags(&report, BY_COUNTRY, "top_email"),
        [("user.contact.email".to_string(), "direct".to_string())]
    );
    assert_eq!(
        tags(&report, FEATURES, "top_email"),
        [(
            "user.contact.email".to_string(),
            "pseudonymised".to_string()
        )]
    );
    let broken = report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == BROKEN)
        .unwrap();
    assert_eq!(broken["tags"], json!([]), "{broken:#}");
    // Artifacts known only by name are reported but not signed as content.
    assert!(broken["digest"].as_str().unwrap().starts_with("name:"));
}

#[test]
fn reingesting_is_idempotent_and_later_events_update_a_run() {
    let p = project();
    // The Airflow START alone first: the run is recorded with no inputs yet.
    let airflow = p.read("events/airflow.jsonl");
    let (start, complete) = airflow.split_once('\n').unwrap();
    p.write("later/start.jsonl", start);
    p.write("later/complete.json", complete);
    let out = p
        .run(&["ingest", "openlineage", "later/start.jsonl"])
        .expect(0)
        .stdout();
    assert!(out.contains("1 recorded"), "{out}");
    let out = p
        .run(&["ingest", "openlineage", "later/complete.json"])
        .expect(0)
        .stdout();
    assert!(out.contains("1 updated"), "{out}");
    assert!(out.contains("COMPLETE"), "{out}");
    // The START again, after the COMPLETE: the run stays COMPLETE, nothing is appended.
    let lines = ledger_lines(&p);
    let out = p
        .run(&["ingest", "openlineage", "later/start.jsonl"])
        .expect(0)
        .stdout();
    assert!(out.contains("1 unchanged"), "{out}");
    assert_eq!(ledger_lines(&p), lines);
    // One live execution for the run.
    let walk = lineage(&p, BY_COUNTRY, "--upstream");
    assert_eq!(walk["executions"].as_array().unwrap().len(), 1, "{walk:#}");
    assert_eq!(walk["executions"][0]["run"]["state"], "COMPLETE");
    // `ledger log` names the run each time it was recorded: started, then completed.
    let log = p.run(&["ledger", "log"]).expect(0).stdout();
    let run_id = walk["executions"][0]["run"]["id"].as_str().unwrap();
    for state in ["START", "COMPLETE"] {
        assert!(
            log.contains(&format!("openlineage run {run_id} of "))
                && log.contains(&format!("({state})")),
            "{log}"
        );
    }

    p.run(&["ingest", "openlineage", "events"]).expect(0);
    let lines = ledger_lines(&p);
    let out = p
        .run(&["ingest", "openlineage", "events"])
        .expect(0)
        .stdout();
    assert!(out.contains("0 recorded, 0 updated, 4 unchanged"), "{out}");
    assert!(
        out.contains("0 artifact records, 0 declared column tags"),
        "{out}"
    );
    assert_eq!(ledger_lines(&p), lines);
}

#[test]
fn gate_flow_rules_see_ingested_lineage() {
    let p = project();
    p.write(
        "piitrail.toml",
        r#"[policy]
require_declaration = false

[[policy.flow]]
id = "no-email-in-bigquery"
category = "user.contact.email"
to = "bigquery/**"
status = ["direct"]
reason = "Raw e-mail addresses stay out of the warehouse"
"#,
    );
    // Before the ingest, nothing downstream of the file: the gate passes.
    p.run(&["gate", "data/customers.csv"]).expect(0);
    p.run(&["ingest", "openlineage", "events"]).expect(0);
    // The Postgres orders' declared email reaches BigQuery raw (max(buyer_email)), and BigQuery
    // is downstream of the file through the S3 table: the gate checks downstream artifacts.
    let run = p.run(&["gate", "data/customers.csv", "--format", "json"]);
    assert_eq!(run.code(), 1, "{}", run.stdout());
    let outcome: Value = serde_json::from_str(&run.stdout()).unwrap();
    let checked: Vec<&str> = outcome["checked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["artifact"].as_str().unwrap())
        .collect();
    for a in [CLEAN, BY_COUNTRY, FEATURES] {
        assert!(checked.contains(&a), "{a} not in {checked:?}");
    }
    let hits: Vec<(&str, &str)> = outcome["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["rule"] == "forbidden-flow/no-email-in-bigquery")
        .map(|v| {
            (
                v["artifact"].as_str().unwrap(),
                v["column"].as_str().unwrap_or(""),
            )
        })
        .collect();
    // Only the raw copy: the counted and the hashed e-mails are not `direct`.
    assert_eq!(hits, [(BY_COUNTRY, "top_email")], "{}", run.stdout());
}

#[test]
fn malformed_events_are_refused_and_nothing_is_recorded() {
    let p = project();
    let good = p.read("events/airflow.jsonl");
    let first = good.lines().next().unwrap();
    let cases: &[(&str, String, &str)] = &[
        (
            "bad/no-run-id.json",
            first.replace(
                "\"runId\": \"0193a1b2-0000-7000-8000-00000000b001\"",
                "\"x\": 1",
            ),
            "missing `run.runId`",
        ),
        (
            "bad/types.json",
            first.replace("\"name\": \"shop_dag.aggregate_orders\"", "\"name\": 42"),
            "invalid type: integer `42`, expected a string",
        ),
        ("bad/not-json.json", "{\"eventType\": ".into(), "not JSON"),
        (
            "bad/second-line.jsonl",
            format!("{first}\n{{\"run\": []}}\n"),
            "bad/second-line.jsonl:2",
        ),
    ];
    let lines = ledger_lines(&p);
    for (file, text, want) in cases {
        p.write(file, text);
        let run = p.run(&["ingest", "openlineage", file]);
        assert_eq!(run.code(), 2, "{file}: {}", run.stderr());
        assert!(run.stderr().contains(want), "{file}: {}", run.stderr());
        assert!(run.stderr().contains(file), "{file}: {}", run.stderr());
        assert_eq!(run.stdout(), "");
    }
    // A good file beside a bad one: nothing from either is recorded.
    let run = p.run(&["ingest", "openlineage", "events", "bad/types.json"]);
    assert_eq!(run.code(), 2);
    assert_eq!(ledger_lines(&p), lines);
    let run = p.run(&["ingest", "openlineage", "nowhere.json"]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("nowhere.json"), "{}", run.stderr());
}

#[test]
fn subject_find_follows_ingested_lineage() {
    let p = project();
    p.run(&["ingest", "openlineage", "events"]).expect(0);
    let out = p
        .run(&[
            "subject",
            "find",
            "--id",
            "email=ann.lee@example.com",
            "--format",
            "json",
        ])
        .expect(0)
        .stdout();
    let r: Value = serde_json::from_str(&out).unwrap();
    let found: Vec<(&str, &str, u64)> = r["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["path"].as_str().unwrap(),
                a["match"].as_str().unwrap(),
                a["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    // Her row in the scanned file; the Spark output and what Airflow and dbt derived from it are
    // elsewhere (not files here), so they are listed to recompute, not located; the failed dbt
    // run's output is not.
    assert_eq!(
        found,
        [
            (FEATURES, "rows", 0),
            ("data/customers.csv", "rows", 1),
            (CLEAN, "rows", 0),
            (BY_COUNTRY, "aggregate", 0),
        ],
        "{out}"
    );
}
