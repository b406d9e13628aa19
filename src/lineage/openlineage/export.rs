//! Export (spec 2-0-2): one COMPLETE RunEvent per execution piitrail recorded
//! itself (`run`, `record`), with the `schema`, `columnLineage` (every transformation with
//! its type, subtype and masking) and `tags` facets (our PII tags per field), so that Marquez,
//! DataHub or any OpenLineage consumer can show them.
//!
//! Datasets are named by the OpenLineage naming conventions: a local file is namespace `file`
//! and its absolute path; `s3://bucket/key` is namespace `s3://bucket` and name `key` (and
//! likewise for `gs://`, `hdfs://`, `abfss://`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::dataset_name;
use crate::ledger::{Body, Code, ExecutionRecord, Record};
use crate::propagate::Propagation;

const SPEC: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json";
const PRODUCER: &str = concat!(
    "https://github.com/piitrail/piitrail/tree/v",
    env!("CARGO_PKG_VERSION")
);

/// An input field of column lineage: (namespace, name, field).
type InputField = (String, String, String);

/// A run id (UUID, version 5 layout) derived from the execution id: the same execution always
/// exports under the same run.
pub fn run_id(execution_id: &str) -> String {
    let h = Sha256::digest(format!("piitrail:{execution_id}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

fn facet(schema: &str) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("_producer".into(), json!(PRODUCER));
    m.insert("_schemaURL".into(), json!(schema));
    m
}

/// RunEvents for the executions with these ids (in ledger order), from the ledger's records and
/// the propagation over them.
pub fn export(
    records: &[Record],
    prop: &Propagation,
    executions: &BTreeSet<String>,
    project: &str,
    root: &Path,
) -> Vec<Value> {
    let mut schemas: HashMap<&str, Vec<(String, String)>> = HashMap::new();
    for r in records {
        if let Body::Artifact(a) = &r.body
            && !a.schema.is_empty()
        {
            schemas.insert(
                &a.digest,
                a.schema
                    .iter()
                    .map(|f| (f.name.clone(), f.data_type.clone()))
                    .collect(),
            );
        }
    }
    let mut out = Vec::new();
    let mut done = BTreeSet::new();
    for r in records {
        let Body::Execution(x) = &r.body else {
            continue;
        };
        if !executions.contains(&x.id) || !x.kind.is_own() || !done.insert(x.id.clone()) {
            continue;
        }
        out.push(event(x, &r.time, &schemas, prop, project, root));
    }
    out
}

fn dataset(
    path: &str,
    digest: &str,
    schemas: &HashMap<&str, Vec<(String, String)>>,
    prop: &Propagation,
    root: &Path,
) -> (serde_json::Map<String, Value>, String, String) {
    let (namespace, name) = dataset_name(path, root);
    let mut facets = serde_json::Map::new();
    let fields: Vec<(String, String)> = match schemas.get(digest) {
        Some(f) => f.clone(),
        None => prop
            .versions
            .get(digest)
            .map(|v| {
                v.schema
                    .iter()
                    .map(|n| (n.clone(), String::new()))
                    .collect()
            })
            .unwrap_or_default(),
    };
    if !fields.is_empty() {
        let mut f = facet(
            "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
        );
        f.insert(
            "fields".into(),
            Value::Array(
                fields
                    .iter()
                    .enumerate()
                    .map(|(i, (n, t))| {
                        let mut o = json!({"name": n, "ordinal_position": i + 1});
                        if !t.is_empty() {
                            o["type"] = json!(t);
                        }
                        o
                    })
                    .collect(),
            ),
        );
        facets.insert("schema".into(), Value::Object(f));
    }
    if let Some(v) = prop.versions.get(digest) {
        let mut tags = Vec::new();
        for (column, set) in &v.columns {
            for t in set.values() {
                tags.push(json!({
                    "key": format!("pii:{}", t.category),
                    "value": t.status.as_str(),
                    "source": "PIITRAIL",
                    "field": column,
                }));
            }
        }
        for t in v.whole.values() {
            tags.push(json!({
                "key": format!("pii:{}", t.category),
                "value": t.status.as_str(),
                "source": "PIITRAIL",
            }));
        }
        if !tags.is_empty() {
            let mut f = facet(
                "https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet",
            );
            f.insert("tags".into(), Value::Array(tags));
            facets.insert("tags".into(), Value::Object(f));
        }
    }
    (facets, namespace, name)
}

fn event(
    x: &ExecutionRecord,
    time: &str,
    schemas: &HashMap<&str, Vec<(String, String)>>,
    prop: &Propagation,
    project: &str,
    root: &Path,
) -> Value {
    let inputs: Vec<Value> = x
        .inputs
        .iter()
        .map(|a| {
            let (facets, namespace, name) = dataset(&a.path, &a.digest, schemas, prop, root);
            json!({"namespace": namespace, "name": name, "facets": facets})
        })
        .collect();
    let outputs: Vec<Value> = x
        .outputs
        .iter()
        .map(|a| {
            let (mut facets, namespace, name) = dataset(&a.path, &a.digest, schemas, prop, root);
            // Column lineage into this output: per field, its inputs with their transformations.
            let mut fields: BTreeMap<&str, BTreeMap<InputField, Vec<Value>>> = BTreeMap::new();
            for e in x.columns.iter().filter(|e| e.to.path == a.path) {
                let (ns, n) = dataset_name(&e.from.path, root);
                fields
                    .entry(e.to.column.as_str())
                    .or_default()
                    .entry((ns, n, e.from.column.clone()))
                    .or_default()
                    .push(json!({
                        "type": e.edge_type,
                        "subtype": e.subtype,
                        "description": format!("piitrail class: {}", e.class),
                        "masking": e.masking,
                    }));
            }
            if !fields.is_empty() {
                let mut f = facet("https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet");
                let map: serde_json::Map<String, Value> = fields
                    .into_iter()
                    .map(|(col, ins)| {
                        let input_fields: Vec<Value> = ins
                            .into_iter()
                            .map(|((namespace, name, field), transformations)| {
                                json!({"namespace": namespace, "name": name, "field": field, "transformations": transformations})
                            })
                            .collect();
                        (col.to_string(), json!({"inputFields": input_fields}))
                    })
                    .collect();
                f.insert("fields".into(), Value::Object(map));
                facets.insert("columnLineage".into(), Value::Object(f));
            }
            json!({"namespace": namespace, "name": name, "facets": facets})
        })
        .collect();
    let mut job_facets = serde_json::Map::new();
    let mut job_type = facet(
        "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    );
    job_type.insert("processingType".into(), json!("BATCH"));
    job_type.insert("integration".into(), json!("PIITRAIL"));
    job_type.insert("jobType".into(), json!(x.kind.as_str().to_uppercase()));
    job_facets.insert("jobType".into(), Value::Object(job_type));
    if let Some(Code::Sql(q)) = &x.code {
        let mut sql =
            facet("https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet");
        sql.insert("query".into(), json!(q));
        sql.insert("dialect".into(), json!("datafusion"));
        job_facets.insert("sql".into(), Value::Object(sql));
    }
    let job_name = format!(
        "{}:{}",
        x.kind,
        x.outputs
            .iter()
            .map(|o| o.path.as_str())
            .collect::<Vec<_>>()
            .join("+")
    );
    json!({
        "eventType": "COMPLETE",
        "eventTime": time,
        "producer": PRODUCER,
        "schemaURL": format!("{SPEC}#/$defs/RunEvent"),
        "run": {"runId": run_id(&x.id), "facets": {}},
        "job": {"namespace": project, "name": job_name, "facets": job_facets},
        "inputs": inputs,
        "outputs": outputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_stable_uuids() {
        let a = run_id("x-0123456789abcdef");
        assert_eq!(a, run_id("x-0123456789abcdef"));
        assert_ne!(a, run_id("x-0123456789abcdee"));
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('5'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    }
}
