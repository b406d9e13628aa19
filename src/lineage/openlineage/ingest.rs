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
use crate::scan::{ColumnScan, ColumnTag, Evidence};

/// The source name of imported OpenLineage runs.
pub const SOURCE: &str = "openlineage";

/// A RunEvent, as far as piitrail reads it. Unknown keys and facets are ignored; known ones
/// must have the spec's types.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunEvent {
    pub event_time: String,
    #[serde(default)]
    pub event_type: Option<String>,
    pub run: Run,
    pub job: Job,
    #[serde(default)]
    pub inputs: Vec<Dataset>,
    #[serde(default)]
    pub outputs: Vec<Dataset>,
    pub producer: String,
    #[serde(rename = "schemaURL")]
    pub schema_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub run_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Job {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub facets: JobFacets,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct JobFacets {
    pub sql: Option<SqlFacet>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SqlFacet {
    #[serde(default)]
    pub query: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Dataset {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub facets: DatasetFacets,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetFacets {
    pub schema: Option<SchemaFacet>,
    pub column_lineage: Option<ColumnLineageFacet>,
    pub symlinks: Option<SymlinksFacet>,
    pub tags: Option<TagsFacet>,
    pub version: Option<VersionFacet>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SchemaFacet {
    #[serde(default)]
    pub fields: Vec<SchemaFieldFacet>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SchemaFieldFacet {
    pub name: String,
    #[serde(default, rename = "type")]
    pub data_type: Option<String>,
    /// Nested fields (structs), named `parent.child`.
    #[serde(default)]
    pub fields: Vec<SchemaFieldFacet>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ColumnLineageFacet {
    #[serde(default)]
    pub fields: BTreeMap<String, FieldLineage>,
    #[serde(default)]
    pub dataset: Vec<InputField>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldLineage {
    #[serde(default)]
    pub input_fields: Vec<InputField>,
    #[serde(default)]
    pub transformation_description: Option<String>,
    #[serde(default)]
    pub transformation_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InputField {
    pub namespace: String,
    pub name: String,
    pub field: String,
    #[serde(default)]
    pub transformations: Vec<Transformation>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Transformation {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub subtype: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub masking: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SymlinksFacet {
    #[serde(default)]
    pub identifiers: Vec<Symlink>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Symlink {
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TagsFacet {
    #[serde(default)]
    pub tags: Vec<TagEntry>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TagEntry {
    pub key: String,
    pub value: String,
    #[serde(default)]
    pub field: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionFacet {
    pub dataset_version: String,
}

/// A RunEvent and where it was read from (`FILE:LINE`, `FILE[INDEX]`, `request`).
#[derive(Debug, Clone)]
pub struct Event {
    pub origin: String,
    pub event: RunEvent,
    /// Facets dropped because they broke their schema, each naming the origin.
    pub warnings: Vec<String>,
}

/// What was wrong with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEvent {
    pub origin: String,
    pub message: String,
}

impl std::fmt::Display for BadEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

const EVENT_TYPES: &[&str] = &["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"];

/// Reads the events of one text: a JSON object, an array of them, or JSON lines. `origin`
/// names the text in errors (a file path, `request`). Every facet with a published schema is
/// checked against it: one that breaks it is dropped with a warning, or, when `strict`, makes
/// the event bad.
pub fn parse(text: &str, origin: &str, strict: bool) -> Result<Vec<Event>, BadEvent> {
    let bad = |at: String, message: String| BadEvent {
        origin: at,
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(bad(origin.into(), "no events (the input is empty)".into()));
    }
    // The whole text as one JSON value first; JSON lines when that fails after the first line.
    let values: Vec<(String, Value)> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("{origin}[{i}]"), v))
            .collect(),
        Ok(v) => vec![(origin.to_string(), v)],
        Err(e) if e.line() > 1 && e.is_syntax() => {
            let mut out = Vec::new();
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let at = format!("{origin}:{}", n + 1);
                let v: Value = serde_json::from_str(line)
                    .map_err(|e| bad(at.clone(), format!("not JSON: {e}")))?;
                out.push((at, v));
            }
            out
        }
        Err(e) => return Err(bad(origin.into(), format!("not JSON: {e}"))),
    };
    if values.is_empty() {
        return Err(bad(origin.into(), "no events (an empty array)".into()));
    }
    values
        .into_iter()
        .map(|(at, mut v)| {
            let warnings = super::facets::check(&mut v);
            if strict && let Some(first) = warnings.first() {
                return Err(bad(
                    at,
                    format!(
                        "{} (--strict: the event is refused)",
                        first.trim_end_matches(": dropped")
                    ),
                ));
            }
            let warnings = warnings.into_iter().map(|w| format!("{at}: {w}")).collect();
            event(v).map_err(|m| bad(at.clone(), m)).map(|event| Event {
                origin: at,
                event,
                warnings,
            })
        })
        .collect()
}

/// Checks one event against what the spec requires and piitrail relies on.
pub fn event(value: Value) -> Result<RunEvent, String> {
    let Value::Object(map) = &value else {
        return Err(format!(
            "a RunEvent is a JSON object, not {}",
            json_kind(&value)
        ));
    };
    if !map.contains_key("run") {
        return Err(
            "no `run`: not a RunEvent (JobEvents and DatasetEvents carry no run to record)".into(),
        );
    }
    if map.get("run").and_then(|r| r.get("runId")).is_none() {
        return Err("missing `run.runId`".into());
    }
    let e: RunEvent = serde_json::from_value(value).map_err(|e| e.to_string())?;
    if !is_uuid(&e.run.run_id) {
        return Err(format!("`run.runId` '{}' is not a UUID", e.run.run_id));
    }
    chrono::DateTime::parse_from_rfc3339(&e.event_time).map_err(|err| {
        format!(
            "`eventTime` '{}' is not an ISO 8601 date-time with an offset: {err}",
            e.event_time
        )
    })?;
    if let Some(t) = &e.event_type
        && !EVENT_TYPES.contains(&t.as_str())
    {
        return Err(format!(
            "`eventType` '{t}' is not one of {}",
            EVENT_TYPES.join(", ")
        ));
    }
    if e.job.namespace.is_empty() || e.job.name.is_empty() {
        return Err("`job.namespace` and `job.name` must not be empty".into());
    }
    for d in e.inputs.iter().chain(&e.outputs) {
        if d.namespace.is_empty() || d.name.is_empty() {
            return Err("a dataset has an empty `namespace` or `name`".into());
        }
    }
    Ok(e)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The digest of an artifact known only by name (and version): `name:` and the sha256 of
/// both. Not a content digest, so audit reports do not sign it as one.
pub fn name_digest(path: &str, version: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(path.as_bytes());
    h.update([0]);
    h.update(version.unwrap_or("").as_bytes());
    format!("name:{}", hex::encode(h.finalize()))
}

/// What happened to one run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunOutcome {
    pub run_id: String,
    pub job: String,
    pub state: String,
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

/// The merged state of one run.
#[derive(Debug, Clone, Default)]
struct RunState {
    job: String,
    state: String,
    time: Option<String>,
    producer: Option<String>,
    inputs: BTreeMap<String, String>,
    outputs: BTreeMap<String, String>,
    columns: BTreeSet<ColumnEdge>,
    code: Option<Code>,
}

fn rank(state: &str) -> u8 {
    match state {
        "START" => 0,
        "RUNNING" | "OTHER" => 1,
        _ => 2,
    }
}

/// Later events win: a terminal state over a running one, then the later eventTime.
fn later(state: &str, time: &str, than_state: &str, than_time: Option<&str>) -> bool {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    (rank(state), parse(time)) >= (rank(than_state), than_time.and_then(parse))
}

impl RunState {
    fn of(x: &ExecutionRecord) -> RunState {
        let run = *x.run.clone().expect("imported runs have a run");
        RunState {
            job: run.job,
            state: run.state,
            time: run.time,
            producer: run.producer,
            inputs: x
                .inputs
                .iter()
                .map(|a| (a.path.clone(), a.digest.clone()))
                .collect(),
            outputs: x
                .outputs
                .iter()
                .map(|a| (a.path.clone(), a.digest.clone()))
                .collect(),
            columns: x.columns.iter().cloned().collect(),
            code: x.code.clone(),
        }
    }

    fn execution(&self, run_id: &str) -> ExecutionRecord {
        let refs = |m: &BTreeMap<String, String>| {
            m.iter()
                .map(|(path, digest)| ArtifactRef {
                    path: path.clone(),
                    digest: digest.clone(),
                })
                .collect()
        };
        ExecutionRecord {
            id: String::new(),
            kind: SOURCE.into(),
            inputs: refs(&self.inputs),
            outputs: refs(&self.outputs),
            code: self.code.clone(),
            columns: self.columns.iter().cloned().collect(),
            min_group_size: None,
            tables: Vec::new(),
            erasure: None,
            run: Some(Box::new(ImportedRun {
                source: SOURCE.into(),
                id: run_id.to_string(),
                job: self.job.clone(),
                state: self.state.clone(),
                time: self.time.clone(),
                producer: self.producer.clone(),
                properties: BTreeMap::new(),
            })),
        }
        .with_id()
    }
}

/// What the ledger already knows, and what this ingest adds, about artifacts.
struct Artifacts<'a> {
    root: &'a Path,
    latest: BTreeMap<String, String>,
    /// Alias to the path it is recorded under.
    aliases: HashMap<String, String>,
    /// Recorded schema of a version.
    schemas: HashMap<String, Vec<SchemaField>>,
    /// Content digests (and sizes) of `file` datasets present under the project.
    local: &'a HashMap<String, (String, u64)>,
    /// Symlink names of this ingest's datasets, to the dataset's own name (`prime`).
    pending: HashMap<String, String>,
    bodies: Vec<Body>,
}

/// One dataset reference resolved: its path and version.
struct Resolved {
    path: String,
    digest: String,
}

impl Artifacts<'_> {
    fn new<'a>(
        existing: &[Record],
        root: &'a Path,
        local: &'a HashMap<String, (String, u64)>,
    ) -> Artifacts<'a> {
        let mut aliases = HashMap::new();
        let mut schemas = HashMap::new();
        for r in existing {
            if let Body::Artifact(a) = &r.body {
                for alias in &a.aliases {
                    aliases.insert(alias.clone(), a.path.clone());
                }
                if !a.schema.is_empty() {
                    schemas.insert(a.digest.clone(), a.schema.clone());
                }
            }
        }
        Artifacts {
            root,
            latest: latest_versions(existing),
            aliases,
            schemas,
            local,
            pending: HashMap::new(),
            bodies: Vec::new(),
        }
    }

    /// The recorded path of a name: itself when recorded as a path, else what it aliases
    /// (recorded, or named by a `symlinks` facet of this ingest).
    fn known(&self, path: &str) -> Option<String> {
        if self.latest.contains_key(path) {
            Some(path.to_string())
        } else {
            self.aliases
                .get(path)
                .or_else(|| self.pending.get(path))
                .cloned()
        }
    }

    /// Reads a dataset's `symlinks` facet ahead of the events: when none of its names is
    /// known yet, its own name is the artifact's, whichever event of the batch names it first.
    fn prime(&mut self, d: &Dataset) {
        let Some(s) = &d.facets.symlinks else {
            return;
        };
        let primary = artifact_path(&d.namespace, &d.name, self.root);
        let links: Vec<String> = s
            .identifiers
            .iter()
            .map(|l| artifact_path(&l.namespace, &l.name, self.root))
            .collect();
        if self.known(&primary).is_some() || links.iter().any(|l| self.known(l).is_some()) {
            return;
        }
        for l in links {
            if l != primary {
                self.pending.insert(l, primary.clone());
            }
        }
    }

    /// Resolves a dataset (with its facets, when it is an input or output of the event) and
    /// records what is new about it: a version, names, a schema.
    fn resolve(&mut self, namespace: &str, name: &str, facets: Option<&DatasetFacets>) -> Resolved {
        let primary = artifact_path(namespace, name, self.root);
        let mut names = vec![primary.clone()];
        if let Some(s) = facets.and_then(|f| f.symlinks.as_ref()) {
            for l in &s.identifiers {
                let p = artifact_path(&l.namespace, &l.name, self.root);
                if !names.contains(&p) {
                    names.push(p);
                }
            }
        }
        let path = names
            .iter()
            .find_map(|n| self.known(n))
            .unwrap_or_else(|| primary.clone());
        let new_aliases: Vec<String> = names
            .iter()
            .filter(|n| **n != path && self.aliases.get(*n) != Some(&path))
            .cloned()
            .collect();
        let version = facets
            .and_then(|f| f.version.as_ref())
            .map(|v| v.dataset_version.as_str());
        let local = self
            .local
            .get(&path)
            .or_else(|| self.local.get(&primary))
            .cloned();
        let (digest, size, format) = match local {
            Some((digest, size)) => (digest, size, format_of(&path, namespace)),
            None => {
                let digest = match (version, self.latest.get(&path)) {
                    (Some(v), _) => name_digest(&path, Some(v)),
                    (None, Some(d)) => d.clone(),
                    (None, None) => name_digest(&path, None),
                };
                (digest, 0, format_of(&path, namespace))
            }
        };
        let schema: Vec<SchemaField> = facets
            .and_then(|f| f.schema.as_ref())
            .map(|s| flatten(&s.fields, ""))
            .unwrap_or_default();
        let previous = self.latest.get(&path).cloned();
        let new_version = previous.as_deref() != Some(digest.as_str());
        let new_schema = !schema.is_empty() && self.schemas.get(&digest) != Some(&schema);
        if new_version || new_schema || !new_aliases.is_empty() {
            let schema = if schema.is_empty() {
                self.schemas.get(&digest).cloned().unwrap_or_default()
            } else {
                schema
            };
            self.bodies.push(Body::Artifact(ArtifactRecord {
                path: path.clone(),
                digest: digest.clone(),
                size,
                format,
                role: "dataset".into(),
                schema: schema.clone(),
                previous: if new_version { previous } else { None },
                aliases: new_aliases.clone(),
            }));
            for a in new_aliases {
                self.aliases.insert(a, path.clone());
            }
            if !schema.is_empty() {
                self.schemas.insert(digest.clone(), schema);
            }
            self.latest.insert(path.clone(), digest.clone());
        }
        Resolved { path, digest }
    }
}

fn flatten(fields: &[SchemaFieldFacet], prefix: &str) -> Vec<SchemaField> {
    let mut out = Vec::new();
    for f in fields {
        let name = format!("{prefix}{}", f.name);
        out.push(SchemaField {
            name: name.clone(),
            data_type: f.data_type.clone().unwrap_or_default(),
        });
        out.extend(flatten(&f.fields, &format!("{name}.")));
    }
    out
}

/// A format for an artifact record: the file extension, else the namespace's scheme.
fn format_of(path: &str, namespace: &str) -> String {
    let last = path.rsplit('/').next().unwrap_or(path);
    if let Some((_, ext)) = last.rsplit_once('.')
        && matches!(
            ext.to_ascii_lowercase().as_str(),
            "csv" | "tsv" | "parquet" | "json" | "jsonl" | "ndjson" | "arrow" | "avro" | "orc"
        )
    {
        return ext.to_ascii_lowercase();
    }
    namespace
        .split("://")
        .next()
        .unwrap_or(namespace)
        .to_ascii_lowercase()
}

/// The edges of one transformation entry (or of a field with no entries).
fn edge(
    from: ColumnRef,
    to: ColumnRef,
    t: Option<&Transformation>,
    field: &FieldLineage,
) -> ColumnEdge {
    let (edge_type, subtype, masking, description) = match t {
        Some(t) => (
            t.kind.to_ascii_uppercase(),
            t.subtype.clone().unwrap_or_default().to_ascii_uppercase(),
            t.masking.unwrap_or(false),
            t.description.clone(),
        ),
        None => match field
            .transformation_type
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("IDENTITY") => ("DIRECT".into(), "IDENTITY".into(), false, None),
            Some("MASKED") => ("DIRECT".into(), "TRANSFORMATION".into(), true, None),
            _ => ("DIRECT".into(), "TRANSFORMATION".into(), false, None),
        },
    };
    let description = description.or_else(|| field.transformation_description.clone());
    let class = if edge_type == "INDIRECT" {
        "influenced"
    } else if masking {
        "pseudonymised"
    } else if subtype == "AGGREGATION" {
        "aggregated"
    } else {
        "direct"
    };
    ColumnEdge {
        from,
        to,
        edge_type,
        subtype,
        masking,
        class: class.into(),
        description,
    }
}

/// The category a tag names, if any: key `pii:CATEGORY`; key `pii` (or `gdpr`,
/// `personal_data`) with a category, a rule id or `true` as its value; or a category as key.
pub fn tag_category(key: &str, value: &str, rules: &RuleSet) -> Option<String> {
    let key_l = key.to_ascii_lowercase();
    let category = |c: &str| rules.category_class(c).is_some().then(|| c.to_string());
    if let Some(c) = key_l.strip_prefix("pii:") {
        return category(c);
    }
    if matches!(
        key_l.as_str(),
        "pii" | "gdpr" | "personal_data" | "personal-data"
    ) {
        let v = value.trim();
        if matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "1") {
            return Some("user".into());
        }
        return rules.category_named(v);
    }
    if key_l.starts_with("user") {
        return category(&key_l);
    }
    None
}

/// Records events in the ledger, under one lock: new artifact versions and names, declared
/// tags, and each changed run's merged execution. Events are checked before this is called
/// (`parse`, `event`).
pub fn record(
    ledger: &Ledger,
    events: &[Event],
    root: &Path,
    rules: &RuleSet,
) -> Result<Summary, super::super::LineageError> {
    // Hash local files before taking the lock.
    let roots = crate::policy::DataRoots::load(root, rules)
        .map_err(|e| super::super::LineageError::Usage(e.to_string()))?;
    let local = hash_local_files(events, root, &roots)?;
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
    roots: &crate::policy::DataRoots,
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

/// Merges one event into its run's state: the latest state and who said it, the job and its
/// SQL, the inputs and outputs with their declared tags, and the column lineage of each output.
fn merge(
    e: &RunEvent,
    state: &mut RunState,
    arts: &mut Artifacts,
    rules: &RuleSet,
    scans: &mut Vec<ScanRecord>,
    summary: &mut Summary,
) {
    let event_type = e.event_type.clone().unwrap_or_else(|| "OTHER".into());
    if state.job.is_empty()
        || later(
            &event_type,
            &e.event_time,
            &state.state,
            state.time.as_deref(),
        )
    {
        state.state = event_type;
        state.time = Some(e.event_time.clone());
        state.producer = Some(e.producer.clone());
    }
    state.job = format!("{}/{}", e.job.namespace, e.job.name);
    if let Some(q) = e.job.facets.sql.as_ref().and_then(|s| s.query.clone()) {
        state.code = Some(Code::Sql(q));
    }
    for d in &e.inputs {
        let r = arts.resolve(&d.namespace, &d.name, Some(&d.facets));
        state.inputs.insert(r.path.clone(), r.digest.clone());
        tags_of(d, &r, rules, scans, summary);
    }
    for d in &e.outputs {
        let out = arts.resolve(&d.namespace, &d.name, Some(&d.facets));
        state.outputs.insert(out.path.clone(), out.digest.clone());
        tags_of(d, &out, rules, scans, summary);
        if let Some(lineage) = &d.facets.column_lineage {
            column_edges(d, &out.path, lineage, state, arts);
        }
    }
}

/// The column edges of one output (`path`, the dataset `d`): each field's inputs with their
/// transformations, and the dataset-level dependencies, which reach every column of it
/// (`INDIRECT`, `influenced`, where no transformation says more).
fn column_edges(
    d: &Dataset,
    path: &str,
    lineage: &ColumnLineageFacet,
    state: &mut RunState,
    arts: &mut Artifacts,
) {
    let to = |column: &str| ColumnRef {
        path: path.to_string(),
        column: column.to_string(),
    };
    // An input field's column; its dataset becomes an input of the run.
    let mut from = |f: &InputField, state: &mut RunState| {
        let r = arts.resolve(&f.namespace, &f.name, None);
        state.inputs.entry(r.path.clone()).or_insert(r.digest);
        ColumnRef {
            path: r.path,
            column: f.field.clone(),
        }
    };
    for (column, field) in &lineage.fields {
        for f in &field.input_fields {
            let src = from(f, state);
            if f.transformations.is_empty() {
                state
                    .columns
                    .insert(edge(src.clone(), to(column), None, field));
            }
            for t in &f.transformations {
                state
                    .columns
                    .insert(edge(src.clone(), to(column), Some(t), field));
            }
        }
    }
    let mut columns: BTreeSet<String> = lineage.fields.keys().cloned().collect();
    if let Some(s) = &d.facets.schema {
        columns.extend(flatten(&s.fields, "").into_iter().map(|f| f.name));
    }
    let indirect = FieldLineage {
        input_fields: Vec::new(),
        transformation_description: None,
        transformation_type: None,
    };
    for f in &lineage.dataset {
        let src = from(f, state);
        for column in &columns {
            if f.transformations.is_empty() {
                let mut e = edge(src.clone(), to(column), None, &indirect);
                e.edge_type = "INDIRECT".into();
                e.subtype = String::new();
                e.class = "influenced".into();
                state.columns.insert(e);
            }
            for t in &f.transformations {
                state
                    .columns
                    .insert(edge(src.clone(), to(column), Some(t), &indirect));
            }
        }
    }
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

/// How a run came out against what the ledger has for it (`recorded`, `updated`,
/// `unchanged`), told in the summary; its execution when it is to be appended.
fn run_outcome(
    id: &str,
    state: &RunState,
    x: ExecutionRecord,
    recorded: &HashMap<String, &ExecutionRecord>,
    summary: &mut Summary,
) -> Option<ExecutionRecord> {
    let status = match recorded.get(id) {
        Some(b) if **b == x => "unchanged",
        Some(_) => "updated",
        None => "recorded",
    };
    summary.runs.push(RunOutcome {
        run_id: id.to_string(),
        job: state.job.clone(),
        state: state.state.clone(),
        status,
        execution: x.id.clone(),
        inputs: x.inputs.len(),
        outputs: x.outputs.len(),
        column_edges: x.columns.len(),
        failed: !x.propagates(),
    });
    (status != "unchanged").then_some(x)
}

/// Declared column tags of a dataset's `tags` facet, as a `declared` scan of its version.
fn tags_of(
    d: &Dataset,
    r: &Resolved,
    rules: &RuleSet,
    scans: &mut Vec<ScanRecord>,
    summary: &mut Summary,
) {
    let Some(tags) = &d.facets.tags else {
        return;
    };
    let types: HashMap<String, String> = d
        .facets
        .schema
        .as_ref()
        .map(|s| {
            flatten(&s.fields, "")
                .into_iter()
                .map(|f| (f.name, f.data_type))
                .collect()
        })
        .unwrap_or_default();
    let mut columns: BTreeMap<String, Vec<ColumnTag>> = BTreeMap::new();
    for t in &tags.tags {
        let (Some(field), Some(category)) = (&t.field, tag_category(&t.key, &t.value, rules))
        else {
            summary.ignored_tags += 1;
            continue;
        };
        let Some(class) = rules.category_class(&category) else {
            summary.ignored_tags += 1;
            continue;
        };
        let tags = columns.entry(field.clone()).or_default();
        if !tags.iter().any(|x| x.category == category) {
            tags.push(ColumnTag {
                category,
                gdpr_class: class,
                confidence: 1.0,
                rule: "openlineage-tag".into(),
                evidence: Evidence {
                    name_match: false,
                    matched: 0,
                    non_null: 0,
                    basis: "declared".into(),
                    reason: None,
                    checksum: None,
                    context: None,
                    references: None,
                },
            });
        }
    }
    if columns.is_empty() {
        return;
    }
    scans.push(ScanRecord {
        artifact: r.path.clone(),
        digest: r.digest.clone(),
        rows_scanned: 0,
        rows_total: None,
        sampling: format!("{DECLARED}: OpenLineage tags facet"),
        rule_pack: None,
        columns: columns
            .into_iter()
            .map(|(name, tags)| ColumnScan {
                data_type: types.get(&name).cloned().unwrap_or_default(),
                name,
                tags,
                examples: Vec::new(),
            })
            .collect(),
    });
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
        let no_id = EVENT.replace(r#""runId":"3f5e2a1c-1b2d-4c3e-8f4a-5b6c7d8e9f00""#, "");
        assert!(
            parse(&no_id, "x", false)
                .unwrap_err()
                .message
                .contains("run.runId")
        );
        let bad_id = EVENT.replace("3f5e2a1c-1b2d", "nope");
        assert!(
            parse(&bad_id, "x", false)
                .unwrap_err()
                .message
                .contains("not a UUID")
        );
        let bad_type = EVENT.replace(r#""name":"etl.clean""#, r#""name":5"#);
        assert!(
            parse(&bad_type, "x", false)
                .unwrap_err()
                .message
                .contains("invalid type")
        );
        let bad_time = EVENT.replace("2026-11-01T10:00:00Z", "yesterday");
        assert!(
            parse(&bad_time, "x", false)
                .unwrap_err()
                .message
                .contains("eventTime")
        );
        let bad_kind = EVENT.replace("START", "DONE");
        assert!(
            parse(&bad_kind, "x", false)
                .unwrap_err()
                .message
                .contains("eventType")
        );
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
            "COMPLETE",
            "2026-01-01T00:00:00Z",
            "START",
            Some("2026-01-02T00:00:00Z")
        ));
        assert!(!later(
            "START",
            "2026-01-03T00:00:00Z",
            "COMPLETE",
            Some("2026-01-02T00:00:00Z")
        ));
        assert!(later(
            "RUNNING",
            "2026-01-03T00:00:00Z",
            "RUNNING",
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
