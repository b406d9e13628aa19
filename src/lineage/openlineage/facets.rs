//! Facet validation: every facet of an event that has a published OpenLineage schema (the
//! spec's 2-0-2 facets, embedded from `schemas/openlineage/`) is checked against it before the
//! event is read. A facet that breaks its schema is dropped with a warning naming the event and
//! the facet, and the rest of the event is read (`--strict` makes it an error instead). Facets
//! without a published schema (custom ones) are kept as they are.
//!
//! The base facet's `_producer` and `_schemaURL` are not required: piitrail reads neither, and
//! hand-written events often leave them out. Everything else the facet's schema says holds.

use std::collections::HashMap;
use std::sync::OnceLock;

use include_dir::{Dir, include_dir};
use serde_json::{Map, Value};

static SCHEMAS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/schemas/openlineage");

/// Where a facet sits in a RunEvent; each place has its own facets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Place {
    Run,
    Job,
    Dataset,
    InputDataset,
    OutputDataset,
}

impl Place {
    /// The base facet a schema extends (`...OpenLineage.json#/$defs/DatasetFacet`).
    fn of_base(base: &str) -> Option<Place> {
        Some(match base {
            "RunFacet" => Place::Run,
            "JobFacet" => Place::Job,
            "DatasetFacet" => Place::Dataset,
            "InputDatasetFacet" => Place::InputDataset,
            "OutputDatasetFacet" => Place::OutputDataset,
            _ => return None,
        })
    }
}

/// A facet's compiled schema, validating `{"name": facet}`.
struct FacetSchema {
    validator: jsonschema::Validator,
}

struct Registry {
    facets: HashMap<(Place, String), FacetSchema>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| build().expect("the embedded OpenLineage schemas compile"))
}

fn build() -> Result<Registry, String> {
    let schemas: Vec<Value> = SCHEMAS
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "json"))
        .map(|f| {
            serde_json::from_slice(f.contents()).map_err(|e| format!("{}: {e}", f.path().display()))
        })
        .collect::<Result<_, _>>()?;
    let mut resources = jsonschema::Registry::new();
    for s in &schemas {
        let id = s["$id"].as_str().ok_or("a schema without $id")?;
        resources = resources.add(id, s.clone()).map_err(|e| e.to_string())?;
    }
    let resources = resources.prepare().map_err(|e| e.to_string())?;
    let mut facets = HashMap::new();
    for s in &schemas {
        let Some(Value::Object(props)) = s.get("properties") else {
            continue; // OpenLineage.json itself
        };
        let Some(place) = base_of(s).and_then(Place::of_base) else {
            continue;
        };
        let validator = jsonschema::options()
            .with_registry(&resources)
            .build(s)
            .map_err(|e| format!("{}: {e}", s["$id"]))?;
        let validator = FacetSchema { validator };
        // Every published facet schema names exactly one facet.
        if let Some(name) = props.keys().next() {
            facets.insert((place, name.clone()), validator);
        }
    }
    Ok(Registry { facets })
}

/// The base facet a facet schema extends: the first `$ref` into OpenLineage.json's `$defs`.
fn base_of(schema: &Value) -> Option<&str> {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref")
                && let Some((_, def)) = r.split_once("OpenLineage.json#/$defs/")
            {
                return Some(def);
            }
            map.values().find_map(base_of)
        }
        Value::Array(items) => items.iter().find_map(base_of),
        _ => None,
    }
}

/// Checks every facet of `event` with a published schema, drops those that break it, and
/// returns a warning per dropped facet (naming where it sat and what broke, values masked).
pub fn check(event: &mut Value) -> Vec<String> {
    let registry = registry();
    let mut warnings = Vec::new();
    let mut visit = |facets: Option<&mut Value>, place: Place, at: &str| {
        let Some(Value::Object(facets)) = facets else {
            return;
        };
        let names: Vec<String> = facets.keys().cloned().collect();
        for name in names {
            let Some(schema) = registry.facets.get(&(place, name.clone())) else {
                continue;
            };
            let Some(value) = facets.get(&name) else {
                continue;
            };
            let wrapped = Value::Object(Map::from_iter([(name.clone(), value.clone())]));
            let problems = problems(&schema.validator, &wrapped);
            if !problems.is_empty() {
                facets.remove(&name);
                warnings.push(format!(
                    "{at} facet `{name}` breaks its OpenLineage schema ({}): dropped",
                    problems.join("; ")
                ));
            }
        }
    };
    let Value::Object(map) = event else {
        return warnings;
    };
    visit(
        map.get_mut("run").and_then(|r| r.get_mut("facets")),
        Place::Run,
        "run",
    );
    visit(
        map.get_mut("job").and_then(|j| j.get_mut("facets")),
        Place::Job,
        "job",
    );
    for (list, own) in [
        ("inputs", ("inputFacets", Place::InputDataset)),
        ("outputs", ("outputFacets", Place::OutputDataset)),
    ] {
        let Some(Value::Array(datasets)) = map.get_mut(list) else {
            continue;
        };
        for (i, d) in datasets.iter_mut().enumerate() {
            let at = format!("{list}[{i}]");
            if let Value::Object(d) = d {
                visit(d.get_mut("facets"), Place::Dataset, &at);
                visit(d.get_mut(own.0), own.1, &at);
            }
        }
    }
    warnings
}

/// What is wrong with a facet, as `at /path: what`, leaving out the base facet's `_producer`
/// and `_schemaURL` (see the module). The value at fault is never quoted: a facet can carry
/// personal data (a query's literals, an owner's name); the schema keyword it breaks is named.
fn problems(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    use jsonschema::error::{TypeKind, ValidationErrorKind as Kind};
    let mut out: Vec<String> = validator
        .iter_errors(instance)
        .filter_map(|e| {
            let what = match e.kind() {
                Kind::Required { property } => {
                    let property = property.as_str().unwrap_or("?");
                    if property == "_producer" || property == "_schemaURL" {
                        return None;
                    }
                    format!("`{property}` is required")
                }
                Kind::Type {
                    kind: TypeKind::Single(t),
                } => format!("must be of type {t}"),
                Kind::Type {
                    kind: TypeKind::Multiple(ts),
                } => format!("must be of type {ts:?}"),
                other => format!("breaks `{}`", other.keyword()),
            };
            let path = e.instance_path().to_string();
            Some(if path.is_empty() {
                what
            } else {
                format!("at {path}: {what}")
            })
        })
        .collect();
    out.sort();
    out.dedup();
    out.truncate(3);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_embedded_facet_schema_compiles_and_is_placed() {
        let r = registry();
        assert!(r.facets.len() >= 35, "{}", r.facets.len());
        for key in [
            (Place::Dataset, "schema"),
            (Place::Dataset, "columnLineage"),
            (Place::Dataset, "ownership"),
            (Place::Dataset, "version"),
            (Place::Job, "sql"),
            (Place::Job, "ownership"),
            (Place::Run, "parent"),
            (Place::InputDataset, "dataQualityMetrics"),
            (Place::OutputDataset, "outputStatistics"),
        ] {
            assert!(
                r.facets.contains_key(&(key.0, key.1.to_string())),
                "{key:?}"
            );
        }
    }

    #[test]
    fn a_broken_facet_is_dropped_and_the_rest_kept() {
        let mut e = json!({
            "run": {"runId": "x", "facets": {"custom": {"anything": 1}}},
            "job": {"facets": {"sql": {"query": 7}}},
            "inputs": [{"facets": {
                "ownership": {"owners": [{"type": "MAINTAINER"}]},
                "schema": {"fields": [{"name": "email", "type": "text"}]},
            }}],
            "outputs": [{"facets": {"version": {}}, "outputFacets": {"outputStatistics": {"rowCount": 3}}}],
        });
        let warnings = check(&mut e);
        assert_eq!(warnings.len(), 3, "{warnings:#?}");
        assert!(
            warnings[0].starts_with("job facet `sql`"),
            "{}",
            warnings[0]
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("inputs[0] facet `ownership`") && w.contains("name"))
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("outputs[0] facet `version`") && w.contains("datasetVersion"))
        );
        assert!(e["job"]["facets"].get("sql").is_none());
        assert!(e["inputs"][0]["facets"].get("ownership").is_none());
        assert!(e["inputs"][0]["facets"].get("schema").is_some());
        assert!(
            e["run"]["facets"].get("custom").is_some(),
            "custom facets are kept"
        );
        assert!(
            e["outputs"][0]["outputFacets"]
                .get("outputStatistics")
                .is_some()
        );
    }

    #[test]
    fn quoted_values_in_the_reason_are_masked() {
        let mut e = json!({"job": {"facets": {"sql": {"query": ["ann.lee@example.com"]}}}});
        let warnings = check(&mut e);
        assert_eq!(warnings.len(), 1);
        assert!(
            !warnings[0].contains("ann.lee@example.com"),
            "{}",
            warnings[0]
        );
    }
}
