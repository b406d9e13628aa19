//! Merging: the events of a run into one execution, datasets into artifacts, column
//! lineage into edges, `tags` facets into declared scans.

use super::*;
/// The state a run's events say it is in (named apart from the merged [`RunState`]).
use crate::ledger::RunState as EventState;
use crate::ledger::{Basis, Class, ColumnTags, EdgeType, ExecutionKind, Role, Subtype};

/// The merged state of one run.
#[derive(Debug, Clone, Default)]
pub(super) struct RunState {
    job: String,
    state: EventState,
    time: Option<String>,
    producer: Option<String>,
    inputs: BTreeMap<String, String>,
    outputs: BTreeMap<String, String>,
    columns: BTreeSet<ColumnEdge>,
    code: Option<Code>,
}

/// Later events win: a terminal state over a running one, then the later eventTime.
pub(super) fn later(
    state: &EventState,
    time: &str,
    than_state: &EventState,
    than_time: Option<&str>,
) -> bool {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    (state.rank(), parse(time)) >= (than_state.rank(), than_time.and_then(parse))
}

impl RunState {
    pub(super) fn of(x: &ExecutionRecord) -> RunState {
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

    pub(super) fn execution(&self, run_id: &str) -> ExecutionRecord {
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
            kind: ExecutionKind::Openlineage,
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
pub(super) struct Artifacts<'a> {
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
    pub(super) bodies: Vec<Body>,
}

/// One dataset reference resolved: its path and version.
pub(super) struct Resolved {
    path: String,
    digest: String,
}

impl Artifacts<'_> {
    pub(super) fn new<'a>(
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
    pub(super) fn known(&self, path: &str) -> Option<String> {
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
    pub(super) fn prime(&mut self, d: &Dataset) {
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
    pub(super) fn resolve(
        &mut self,
        namespace: &str,
        name: &str,
        facets: Option<&DatasetFacets>,
    ) -> Resolved {
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
                role: Role::Dataset,
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

pub(super) fn flatten(fields: &[SchemaFieldFacet], prefix: &str) -> Vec<SchemaField> {
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
pub(super) fn format_of(path: &str, namespace: &str) -> String {
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
pub(super) fn edge(
    from: ColumnRef,
    to: ColumnRef,
    t: Option<&Transformation>,
    field: &FieldLineage,
) -> ColumnEdge {
    let (edge_type, subtype, masking, description) = match t {
        Some(t) => (
            // A type other than DIRECT or INDIRECT is not a flow of values that can be read:
            // it is kept as an influence, which hands on no tags.
            t.kind
                .to_ascii_uppercase()
                .parse()
                .unwrap_or(EdgeType::Indirect),
            subtype_of(t.subtype.as_deref().unwrap_or_default()),
            t.masking.unwrap_or(false),
            t.description.clone(),
        ),
        None => {
            // The deprecated `transformationType`: IDENTITY or MASKED.
            let old = field
                .transformation_type
                .as_deref()
                .map(subtype_of)
                .unwrap_or(Subtype::Transformation);
            match old {
                Subtype::Identity => (EdgeType::Direct, Subtype::Identity, false, None),
                Subtype::Other(s) if s == MASKED => {
                    (EdgeType::Direct, Subtype::Transformation, true, None)
                }
                _ => (EdgeType::Direct, Subtype::Transformation, false, None),
            }
        }
    };
    let description = description.or_else(|| field.transformation_description.clone());
    let class = if edge_type == EdgeType::Indirect {
        Class::Influenced
    } else if masking {
        Class::Pseudonymised
    } else if subtype == Subtype::Aggregation {
        Class::Aggregated
    } else {
        Class::Direct
    };
    ColumnEdge {
        from,
        to,
        edge_type,
        subtype,
        masking,
        class,
        description,
    }
}

/// The deprecated `transformationType` of a masked field (not a subtype of the current spec).
const MASKED: &str = "MASKED";

/// A producer's subtype, in capitals: one of the spec's, or its own kept as it came.
fn subtype_of(s: &str) -> Subtype {
    let upper = s.to_ascii_uppercase();
    upper.parse().unwrap_or(Subtype::Other(upper))
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

/// Merges one event into its run's state: the latest state and who said it, the job and its
/// SQL, the inputs and outputs with their declared tags, and the column lineage of each output.
pub(super) fn merge(
    e: &RunEvent,
    state: &mut RunState,
    arts: &mut Artifacts,
    rules: &RuleSet,
    scans: &mut Vec<ScanRecord>,
    summary: &mut Summary,
) {
    let event_type = e.event_type.as_deref().map_or(EventState::Other, |t| {
        t.parse()
            .unwrap_or_else(|_| EventState::Unlisted(t.to_string()))
    });
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
pub(super) fn column_edges(
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
                e.edge_type = EdgeType::Indirect;
                e.subtype = Subtype::Other(String::new());
                e.class = Class::Influenced;
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

/// How a run came out against what the ledger has for it (`recorded`, `updated`,
/// `unchanged`), told in the summary; its execution when it is to be appended.
pub(super) fn run_outcome(
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
pub(super) fn tags_of(
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
                    basis: Basis::Declared,
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
            .map(|(name, tags)| ColumnTags {
                data_type: types.get(&name).cloned().unwrap_or_default(),
                name,
                tags,
            })
            .collect(),
    });
}
