//! Import of a TFX ML Metadata (MLMD) SQLite store, read-only.
//!
//! - Every MLMD execution becomes an `mlmd` execution (or `training` when it outputs a
//!   `Model`), with its INPUT / DECLARED_INPUT / INTERNAL_INPUT artifacts as inputs and its
//!   OUTPUT / DECLARED_OUTPUT / INTERNAL_OUTPUT / PENDING_OUTPUT artifacts as outputs. The
//!   execution type, state, contexts (pipeline, pipeline_run, node), properties and the event
//!   paths (channel keys such as `examples`, `model`) are kept in the record's `run`.
//! - An artifact is its `uri`, relative to the project root when inside it; a URI that is a
//!   file under the project is versioned by its content, anything else by its name.
//!   `Model` and `PushedModel` artifacts are models.
//! - CsvExampleGen (any execution with an `input_base` property) also reads the raw files of
//!   its `input_base`: each CSV file there is an input, so that a scanned CSV connects to the
//!   model trained from it.
//! - FAILED and CANCELED executions are kept, marked, and hand on no tags.
//! - A run is `PIPELINE/ID` (the pipeline context's name, else the store's file name, and the
//!   execution id): ingesting the same store again appends nothing new.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::LineageError;
use super::openlineage::ingest::name_digest;
use crate::ledger::{
    ArtifactRecord, ArtifactRef, Body, ExecutionKind, ExecutionRecord, ImportedRun, Ledger, Role,
    RunState, latest_versions,
};

pub const SOURCE: &str = "mlmd";
/// The MLMD schema versions read (MLMD 1.0 to 1.17 write 6 to 10).
pub const SCHEMA_VERSIONS: std::ops::RangeInclusive<i64> = 6..=10;

/// What an ingest did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub schema_version: i64,
    pub executions: usize,
    /// Executions recorded (new or changed since the last ingest).
    pub recorded: usize,
    pub artifacts: usize,
    pub models: usize,
    /// Raw files linked to an example generator (`EXECUTION -> FILE`).
    pub links: Vec<String>,
    /// Properties that could not be read and were left out (`STORE: execution N property ...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

struct Artifact {
    uri: String,
    type_name: String,
}

struct Execution {
    id: i64,
    type_name: String,
    state: RunState,
    name: Option<String>,
    properties: BTreeMap<String, String>,
}

fn execution_state(s: Option<i64>) -> RunState {
    match s {
        Some(1) => RunState::New,
        Some(2) => RunState::Running,
        Some(3) => RunState::Complete,
        Some(4) => RunState::Failed,
        Some(5) => RunState::Cached,
        Some(6) => RunState::Canceled,
        _ => RunState::Unknown,
    }
}

/// Event types: (is input, name). UNKNOWN (0) events are skipped.
fn event_type(t: i64) -> Option<(bool, &'static str)> {
    match t {
        1 => Some((false, "DECLARED_OUTPUT")),
        2 => Some((true, "DECLARED_INPUT")),
        3 => Some((true, "INPUT")),
        4 => Some((false, "OUTPUT")),
        5 => Some((true, "INTERNAL_INPUT")),
        6 => Some((false, "INTERNAL_OUTPUT")),
        7 => Some((false, "PENDING_OUTPUT")),
        _ => None,
    }
}

const MODEL_TYPES: &[&str] = &["Model", "PushedModel"];

fn sql_error(path: &Path) -> impl Fn(rusqlite::Error) -> LineageError + '_ {
    move |e| LineageError::Mlmd {
        path: path.to_path_buf(),
        message: match e {
            rusqlite::Error::SqliteFailure(_, Some(m)) => m,
            e => e.to_string(),
        },
    }
}

/// A property value as text, from the row's `int_value`, `double_value`, `string_value` and
/// `bool_value` (columns `first` to `first + 3`): the first that is set. A value of the wrong
/// SQLite type (text in `int_value`, a blob in `string_value`: SQLite does not enforce column
/// types) cannot be read: `Err` says which column and what it held, never the value.
fn property_text(r: &rusqlite::Row, first: usize) -> rusqlite::Result<Result<String, String>> {
    use rusqlite::types::ValueRef as V;
    let columns = ["string_value", "int_value", "double_value", "bool_value"];
    let at = [first + 2, first, first + 1, first + 3];
    for (name, i) in columns.iter().zip(at) {
        let text = match (r.get_ref(i)?, *name) {
            (V::Null, _) => continue,
            (V::Text(t), "string_value") => match std::str::from_utf8(t) {
                Ok(t) => t.to_string(),
                Err(_) => return Ok(Err(format!("`{name}` is not UTF-8 text"))),
            },
            (V::Integer(n), "int_value") => n.to_string(),
            (V::Real(d), "double_value") => d.to_string(),
            (V::Integer(n), "double_value") => n.to_string(),
            (V::Integer(b), "bool_value") => (b != 0).to_string(),
            (v, _) => {
                return Ok(Err(format!(
                    "`{name}` holds {}",
                    match v.data_type() {
                        rusqlite::types::Type::Null => "NULL",
                        rusqlite::types::Type::Integer => "an integer",
                        rusqlite::types::Type::Real => "a real",
                        rusqlite::types::Type::Text => "text",
                        rusqlite::types::Type::Blob => "a blob",
                    }
                )));
            }
        };
        return Ok(Ok(text));
    }
    Ok(Ok(String::new()))
}

/// One query over the store, its rows handed to a closure; errors name the store.
struct Rows<'a> {
    db: &'a Connection,
    sql: String,
    path: &'a Path,
}

impl Rows<'_> {
    fn each<T>(
        self,
        read: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
        mut use_row: impl FnMut(T),
    ) -> Result<(), LineageError> {
        let err = sql_error(self.path);
        let mut stmt = self.db.prepare(&self.sql).map_err(&err)?;
        for row in stmt.query_map([], read).map_err(&err)? {
            use_row(row.map_err(&err)?);
        }
        Ok(())
    }
}

/// Everything read from the store.
struct Store {
    schema_version: i64,
    artifacts: HashMap<i64, Artifact>,
    executions: Vec<Execution>,
    /// (execution, artifact, is input, event type, path)
    events: Vec<(i64, i64, bool, &'static str, String)>,
    /// Contexts of each execution: (context type, name).
    contexts: HashMap<i64, Vec<(String, String)>>,
    /// Properties left out because they could not be read.
    warnings: Vec<String>,
}

fn read(path: &Path, strict: bool) -> Result<Store, LineageError> {
    if !path.is_file() {
        return Err(LineageError::Missing {
            role: "MLMD store",
            path: path.to_path_buf(),
        });
    }
    let err = sql_error(path);
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(&err)?;
    let schema_version: i64 = db
        .query_row("SELECT max(schema_version) FROM MLMDEnv", [], |r| r.get(0))
        .map_err(|e| LineageError::Mlmd {
            path: path.to_path_buf(),
            message: format!(
                "not an ML Metadata store (no MLMDEnv.schema_version): {}",
                match e {
                    rusqlite::Error::SqliteFailure(_, Some(m)) => m,
                    e => e.to_string(),
                }
            ),
        })?;
    if !SCHEMA_VERSIONS.contains(&schema_version) {
        return Err(LineageError::Mlmd {
            path: path.to_path_buf(),
            message: format!(
                "MLMD schema version {schema_version} is not supported (piitrail reads {} to {})",
                SCHEMA_VERSIONS.start(),
                SCHEMA_VERSIONS.end()
            ),
        });
    }
    let rows = |sql: &str| Rows {
        db: &db,
        sql: sql.to_string(),
        path,
    };
    let mut types: HashMap<i64, String> = HashMap::new();
    rows("SELECT id, name FROM Type").each(
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        |(id, name)| {
            types.insert(id, name);
        },
    )?;
    let type_name = |id: i64| {
        types
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("type {id}"))
    };
    let mut artifacts = HashMap::new();
    rows("SELECT id, type_id, uri FROM Artifact ORDER BY id").each(
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        },
        |(id, t, uri)| {
            artifacts.insert(
                id,
                Artifact {
                    uri: uri
                        .filter(|u| !u.is_empty())
                        .unwrap_or_else(|| format!("mlmd:artifact/{id}")),
                    type_name: type_name(t),
                },
            );
        },
    )?;
    let mut properties: HashMap<i64, BTreeMap<String, String>> = HashMap::new();
    let mut unreadable = Vec::new();
    rows(
        "SELECT execution_id, name, int_value, double_value, string_value, bool_value \
         FROM ExecutionProperty ORDER BY execution_id, name",
    )
    .each(
        |r| {
            let name = match r.get_ref(1)? {
                rusqlite::types::ValueRef::Text(t) => {
                    std::str::from_utf8(t).ok().map(str::to_string)
                }
                _ => None,
            };
            Ok((r.get::<_, i64>(0)?, name, property_text(r, 2)?))
        },
        |(id, name, value)| match (name, value) {
            (Some(name), Ok(value)) => {
                properties.entry(id).or_default().insert(name, value);
            }
            (None, _) => unreadable.push(format!(
                "{}: a property of execution {id} has no readable name: left out",
                path.display()
            )),
            (Some(name), Err(why)) => unreadable.push(format!(
                "{}: property `{}` of execution {id} cannot be read ({why}): left out",
                path.display(),
                shown_name(&name)
            )),
        },
    )?;
    if strict && let Some(first) = unreadable.first() {
        return Err(LineageError::Mlmd {
            path: path.to_path_buf(),
            message: format!(
                "{} (--strict: nothing is recorded)",
                first
                    .trim_start_matches(&format!("{}: ", path.display()))
                    .trim_end_matches(": left out")
            ),
        });
    }
    let mut executions = Vec::new();
    rows("SELECT id, type_id, last_known_state, name FROM Execution ORDER BY id").each(
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        },
        |(id, t, state, name)| {
            executions.push(Execution {
                id,
                type_name: type_name(t),
                state: execution_state(state),
                name,
                properties: properties.remove(&id).unwrap_or_default(),
            });
        },
    )?;
    // The channel is the path's keys (`examples`); index steps (`0`) only number items.
    let mut paths: HashMap<i64, Vec<String>> = HashMap::new();
    rows("SELECT event_id, is_index_step, step_key FROM EventPath ORDER BY event_id, rowid").each(
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        },
        |(event, is_index, key)| {
            if !is_index && let Some(key) = key {
                paths.entry(event).or_default().push(key);
            }
        },
    )?;
    let mut events = Vec::new();
    rows("SELECT id, execution_id, artifact_id, type FROM Event ORDER BY id").each(
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        },
        |(id, execution, artifact, t)| {
            if let Some((input, name)) = event_type(t) {
                let path = paths.remove(&id).unwrap_or_default().join(".");
                events.push((execution, artifact, input, name, path));
            }
        },
    )?;
    let mut contexts: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    rows(
        "SELECT a.execution_id, c.type_id, c.name FROM Association a \
         JOIN Context c ON c.id = a.context_id ORDER BY a.execution_id, c.id",
    )
    .each(
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        },
        |(execution, t, name)| {
            contexts
                .entry(execution)
                .or_default()
                .push((type_name(t), name));
        },
    )?;
    Ok(Store {
        schema_version,
        artifacts,
        executions,
        events,
        contexts,
        warnings: unreadable,
    })
}

/// A property name as shown in a warning: as it is when it is an identifier, else masked.
fn shown_name(name: &str) -> String {
    let identifier = name.len() <= 64
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
    if identifier {
        name.to_string()
    } else {
        crate::sensitive::mask(name)
    }
}

/// The raw files of an example generator's `input_base`: the CSV (and TSV) files in it, or
/// the folder itself when it is not on this machine or lies outside the data roots.
fn input_base_files(base: &str, root: &Path, inside: bool) -> Result<Vec<PathBuf>, LineageError> {
    let dir = root.join(base);
    let mut files: Vec<PathBuf> = Vec::new();
    if !inside {
        // Outside the data roots: never walked, recorded by its name.
    } else if dir.is_dir() {
        files = crate::fsio::walk_files(&dir, false, |p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("tsv"))
        })
        .map_err(|e| LineageError::Io {
            path: dir.clone(),
            message: e.to_string(),
        })?;
    } else if dir.is_file() {
        files.push(dir);
    }
    Ok(files)
}

/// Reads the store and records what is new: artifact versions and executions.
///
/// Artifact URIs and `input_base` folders are opened (hashed, walked) only inside `roots`;
/// anything elsewhere is recorded by its name.
pub fn ingest(
    ledger: &Ledger,
    store_path: &Path,
    root: &Path,
    roots: &crate::source::DataRoots,
    rules: &crate::rules::RuleSet,
    strict: bool,
) -> Result<Summary, LineageError> {
    let store = read(store_path, strict)?;
    let pipeline_of = |x: &Execution| {
        store
            .contexts
            .get(&x.id)
            .and_then(|cs| cs.iter().find(|(t, _)| t == "pipeline"))
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| {
                store_path
                    .file_stem()
                    .map_or("mlmd".into(), |s| s.to_string_lossy().to_string())
            })
    };
    // Content digests of URIs (and raw files) that are files under the project, hashed before
    // the lock is taken.
    let mut local: HashMap<String, (String, u64)> = HashMap::new();
    let hash =
        |file: &Path, local: &mut HashMap<String, (String, u64)>| -> Result<String, LineageError> {
            let path = crate::scan::display_path(file, root);
            if !local.contains_key(&path) && roots.contains(file) && file.is_file() {
                let digest = crate::source::digests::digest(file, root)?;
                let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
                local.insert(path.clone(), (digest, size));
            }
            Ok(path)
        };
    let mut uri_path: HashMap<i64, String> = HashMap::new();
    for (&id, a) in &store.artifacts {
        let path = hash(&root.join(&a.uri), &mut local)?;
        uri_path.insert(id, path);
    }
    let mut raw: HashMap<i64, Vec<String>> = HashMap::new();
    for x in &store.executions {
        if let Some(base) = x.properties.get("input_base") {
            let mut paths = Vec::new();
            let inside = roots.contains(&root.join(base));
            for f in input_base_files(base, root, inside)? {
                paths.push(hash(&f, &mut local)?);
            }
            if paths.is_empty() {
                paths.push(crate::scan::display_path(&root.join(base), root));
            }
            raw.insert(x.id, paths);
        }
    }
    let mut summary = Summary {
        schema_version: store.schema_version,
        executions: store.executions.len(),
        warnings: store.warnings.clone(),
        ..Summary::default()
    };
    ledger.append_with(|existing| {
        let mut latest = latest_versions(existing);
        let mut roles: HashMap<String, Role> = HashMap::new();
        let recorded = crate::ledger::imported_runs(existing, SOURCE);
        for r in existing {
            if let Body::Artifact(a) = &r.body {
                roles.insert(a.digest.clone(), a.role);
            }
        }
        let mut bodies = Vec::new();
        let mut version =
            |path: &str, role: Role, format: &str, bodies: &mut Vec<Body>| -> ArtifactRef {
                let (digest, size) = match local.get(path) {
                    Some((d, s)) => (d.clone(), *s),
                    None => (name_digest(path, None), 0),
                };
                let previous = latest.get(path).cloned();
                if previous.as_deref() != Some(digest.as_str()) || roles.get(&digest) != Some(&role)
                {
                    bodies.push(Body::Artifact(ArtifactRecord {
                        path: path.to_string(),
                        digest: digest.clone(),
                        size,
                        format: format.to_string(),
                        role,
                        schema: Vec::new(),
                        previous: previous.filter(|p| *p != digest),
                        aliases: Vec::new(),
                    }));
                    latest.insert(path.to_string(), digest.clone());
                    roles.insert(digest.clone(), role);
                }
                ArtifactRef {
                    path: path.to_string(),
                    digest,
                }
            };
        let mut models = BTreeSet::new();
        for x in &store.executions {
            let mut inputs = BTreeSet::new();
            let mut outputs = BTreeSet::new();
            let mut props: BTreeMap<String, String> = BTreeMap::new();
            props.insert("type".into(), x.type_name.clone());
            if let Some(n) = &x.name {
                props.insert("name".into(), n.clone());
            }
            for (k, v) in &x.properties {
                // A property can hold personal data (an owner's e-mail): kept masked.
                let v = match crate::scan::personal_value_rule(rules, v) {
                    Some(_) => crate::sensitive::mask(v),
                    None => v.clone(),
                };
                props.insert(format!("property.{k}"), v);
            }
            for (t, n) in store.contexts.get(&x.id).into_iter().flatten() {
                props.insert(format!("context.{t}"), n.clone());
            }
            let mut training = false;
            for (_, artifact, input, kind, path) in store.events.iter().filter(|e| e.0 == x.id) {
                let Some(a) = store.artifacts.get(artifact) else {
                    continue;
                };
                let model = MODEL_TYPES.contains(&a.type_name.as_str());
                let role = if model { Role::Model } else { Role::Dataset };
                let format = a.type_name.to_ascii_lowercase();
                let r = version(&uri_path[artifact], role, &format, &mut bodies);
                if model {
                    models.insert(r.digest.clone());
                }
                let channel = if path.is_empty() {
                    kind.to_ascii_lowercase()
                } else {
                    path.clone()
                };
                let side = if *input { "input" } else { "output" };
                props
                    .entry(format!("{side}.{channel}"))
                    .and_modify(|v| {
                        v.push(' ');
                        v.push_str(&r.path);
                    })
                    .or_insert_with(|| r.path.clone());
                if *input {
                    inputs.insert(r);
                } else {
                    training |= a.type_name == "Model";
                    outputs.insert(r);
                }
            }
            for p in raw.get(&x.id).into_iter().flatten() {
                let format = Path::new(p)
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("file")
                    .to_ascii_lowercase();
                let r = version(p, Role::Dataset, &format, &mut bodies);
                summary
                    .links
                    .push(format!("{} #{} -> {}", x.type_name, x.id, r.path));
                inputs.insert(r);
            }
            let run_id = format!("{}/{}", pipeline_of(x), x.id);
            let execution = ExecutionRecord {
                id: String::new(),
                kind: if training {
                    ExecutionKind::Training
                } else {
                    ExecutionKind::Mlmd
                },
                inputs: inputs.into_iter().collect(),
                outputs: outputs.into_iter().collect(),
                code: None,
                columns: Vec::new(),
                min_group_size: None,
                tables: Vec::new(),
                erasure: None,
                run: Some(Box::new(ImportedRun {
                    source: SOURCE.into(),
                    id: run_id.clone(),
                    job: x.type_name.clone(),
                    state: x.state.clone(),
                    time: None,
                    producer: None,
                    properties: props,
                })),
            }
            .with_id();
            if recorded.get(&run_id).copied() != Some(&execution) {
                summary.recorded += 1;
                bodies.push(Body::Execution(execution));
            }
        }
        summary.models = models.len();
        summary.artifacts = store.artifacts.len();
        Ok(bodies)
    })?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_event_types() {
        assert_eq!(execution_state(Some(3)), RunState::Complete);
        assert_eq!(execution_state(Some(4)), RunState::Failed);
        assert_eq!(execution_state(None), RunState::Unknown);
        assert_eq!(event_type(3), Some((true, "INPUT")));
        assert_eq!(event_type(4), Some((false, "OUTPUT")));
        assert_eq!(event_type(2), Some((true, "DECLARED_INPUT")));
        assert_eq!(event_type(0), None);
    }
}
