//! `lineage --format openlineage`: every exported RunEvent validates against the OpenLineage
//! 2-0-2 JSON schemas (schemas/openlineage, copied from the spec and embedded in piitrail), every facet against
//! its facet schema, and the events carry our column lineage and PII tags.

mod common;

use common::Project;
use serde_json::{Value, json};

const CUSTOMERS: &str = "\
customer_id,email,country
C001,ann.lee@example.com,DE
C002,bob.ray@example.org,FR
C003,cy.do@example.net,DE
C004,dee.fox@example.com,IT
";

fn pipeline() -> Project {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    p.write("data/customers.csv", CUSTOMERS);
    p.run(&["scan", "data/customers.csv", "--record"]).expect(0);
    p.run(&[
        "run",
        "--sql",
        "SELECT customer_id, sha256(email) AS email_hash, country FROM c WHERE country <> 'IT'",
        "--input",
        "c=data/customers.csv",
        "--output",
        "out/clean.parquet",
    ])
    .expect(0);
    p.run(&[
        "run",
        "--sql",
        "SELECT country, count(*) AS n FROM c GROUP BY country",
        "--input",
        "c=out/clean.parquet",
        "--output",
        "out/by_country.csv",
    ])
    .expect(0);
    p.write("models/m.pkl", "weights");
    p.run(&[
        "record",
        "--kind",
        "training",
        "--input",
        "out/clean.parquet",
        "--output",
        "models/m.pkl",
    ])
    .expect(0);
    p
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[test]
fn exported_events_validate_against_the_openlineage_schemas() {
    let p = pipeline();
    let out = p
        .run(&["lineage", "models/m.pkl", "--format", "openlineage"])
        .expect(0)
        .stdout();
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // clean (sql), training; by_country is not upstream of the model.
    assert_eq!(events.len(), 2, "{out}");
    let registry = common::openlineage_registry();
    let run_event = jsonschema::options()
        .with_registry(&registry)
        .build(
            &json!({"$ref": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}),
        )
        .unwrap();
    let facet_schema = |id: &str| {
        jsonschema::options()
            .with_registry(&registry)
            .build(&json!({"$ref": id}))
            .unwrap()
    };
    let dataset_facets =
        facet_schema("https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json");
    let schema_facet =
        facet_schema("https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json");
    let tags_facet = facet_schema("https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json");
    let job_type = facet_schema("https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json");
    let sql = facet_schema("https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json");
    for e in &events {
        assert_eq!(errors(&run_event, e), Vec::<String>::new(), "{e:#}");
        for d in e["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .chain(e["outputs"].as_array().unwrap())
        {
            let facets = &d["facets"];
            for v in [&dataset_facets, &schema_facet, &tags_facet] {
                assert_eq!(errors(v, facets), Vec::<String>::new(), "{facets:#}");
            }
        }
        for v in [&job_type, &sql] {
            assert_eq!(errors(v, &e["job"]["facets"]), Vec::<String>::new());
        }
    }
    // The validators are not vacuous.
    let mut broken = events[0].clone();
    broken.as_object_mut().unwrap().remove("eventTime");
    assert!(!run_event.is_valid(&broken));
    let mut broken = events[0]["outputs"][0]["facets"].clone();
    broken["columnLineage"]["fields"]["email_hash"]["inputFields"][0]
        .as_object_mut()
        .unwrap()
        .remove("field");
    assert!(!dataset_facets.is_valid(&broken));

    // The SQL step: exact column lineage with masking, the filter as INDIRECT, tags per field.
    let sql_event = events
        .iter()
        .find(|e| e["job"]["facets"]["sql"].is_object())
        .unwrap();
    let out0 = &sql_event["outputs"][0];
    assert_eq!(out0["namespace"], "file");
    assert!(
        out0["name"]
            .as_str()
            .unwrap()
            .ends_with("/out/clean.parquet")
    );
    let fields = &out0["facets"]["columnLineage"]["fields"];
    let hash_inputs = fields["email_hash"]["inputFields"].as_array().unwrap();
    let email = hash_inputs.iter().find(|f| f["field"] == "email").unwrap();
    assert_eq!(
        email["transformations"][0],
        json!({"type": "DIRECT", "subtype": "TRANSFORMATION", "description": "piitrail class: pseudonymised", "masking": true})
    );
    let filter = hash_inputs
        .iter()
        .find(|f| f["field"] == "country")
        .unwrap();
    assert_eq!(filter["transformations"][0]["type"], "INDIRECT");
    assert_eq!(filter["transformations"][0]["subtype"], "FILTER");
    let tags = out0["facets"]["tags"]["tags"].as_array().unwrap();
    assert!(tags.contains(&json!({"key": "pii:user.contact.email", "value": "pseudonymised", "source": "PIITRAIL", "field": "email_hash"})), "{tags:#?}");
    assert!(
        sql_event["job"]["facets"]["sql"]["query"]
            .as_str()
            .unwrap()
            .contains("sha256(email)")
    );
    // The training step: the model carries the categories it was trained on.
    let train = events
        .iter()
        .find(|e| e["job"]["facets"]["jobType"]["jobType"] == "TRAINING")
        .unwrap();
    let model_tags = train["outputs"][0]["facets"]["tags"]["tags"]
        .as_array()
        .unwrap();
    assert!(
        model_tags.iter().any(|t| t["value"] == "trained_on"),
        "{model_tags:#?}"
    );
    // Stable run ids: the same execution exports under the same run.
    let again = p
        .run(&["lineage", "models/m.pkl", "--format", "openlineage"])
        .expect(0)
        .stdout();
    assert_eq!(out, again);
}
