//! Ledger record types. One JSON object per line:
//!
//! ```json
//! {"seq":1,"time":"2026-11-26T10:00:00Z","kind":"artifact","artifact":{"path":"data/customers.csv",
//!  "digest":"sha256:…","size":5120,"format":"csv","role":"dataset","schema":[{"name":"email","type":"Utf8"}],
//!  "previous":null},"prev":"sha256:000…","hash":"sha256:…"}
//! ```
//!
//! `hash` is the sha256 of the RFC 8785 canonical JSON of the record without `hash`.

use serde::{Deserialize, Serialize};

use super::model::{Class, ColumnTags, EdgeType, ExecutionKind, Role, RunState, Subtype};

/// One line of the ledger. Its `kind` is not stored: it is the body's, written out beside it
/// and checked against it when read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawRecord")]
pub struct Record {
    pub seq: u64,
    /// RFC 3339, UTC.
    pub time: String,
    pub body: Body,
    /// The previous record's hash (`sha256:` and 64 zeros for the first record).
    pub prev: String,
    pub hash: String,
}

impl Record {
    /// The record kind: `artifact`, `scan` or `execution`.
    pub fn kind(&self) -> &'static str {
        self.body.kind()
    }
}

/// The wire form written: `kind` derived from the body, the body flattened beside it.
#[derive(Serialize)]
struct RecordOut<'a> {
    seq: u64,
    time: &'a str,
    kind: &'static str,
    #[serde(flatten)]
    body: &'a Body,
    prev: &'a str,
    hash: &'a str,
}

impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RecordOut {
            seq: self.seq,
            time: &self.time,
            kind: self.kind(),
            body: &self.body,
            prev: &self.prev,
            hash: &self.hash,
        }
        .serialize(serializer)
    }
}

/// The wire form read back: every payload key optional, so that serde reads a line in one
/// pass (a `flatten`ed enum would buffer each record into an intermediate map first).
#[derive(Deserialize)]
struct RawRecord {
    seq: u64,
    time: String,
    kind: RawKind,
    artifact: Option<ArtifactRecord>,
    scan: Option<ScanRecord>,
    execution: Option<ExecutionRecord>,
    prev: String,
    hash: String,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawKind {
    Artifact,
    Scan,
    Execution,
}

impl TryFrom<RawRecord> for Record {
    type Error = String;

    fn try_from(r: RawRecord) -> Result<Record, String> {
        let body = match (r.kind, r.artifact, r.scan, r.execution) {
            (RawKind::Artifact, Some(a), None, None) => Body::Artifact(a),
            (RawKind::Scan, None, Some(s), None) => Body::Scan(s),
            (RawKind::Execution, None, None, Some(x)) => Body::Execution(x),
            (kind, ..) => {
                let kind = match kind {
                    RawKind::Artifact => "artifact",
                    RawKind::Scan => "scan",
                    RawKind::Execution => "execution",
                };
                return Err(format!("record kind '{kind}' does not match its payload"));
            }
        };
        Ok(Record {
            seq: r.seq,
            time: r.time,
            body,
            prev: r.prev,
            hash: r.hash,
        })
    }
}

/// What a record says. Serialised as `{"artifact": {...}}`, flattened into the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Body {
    Artifact(ArtifactRecord),
    Scan(ScanRecord),
    Execution(ExecutionRecord),
}

impl Body {
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Artifact(_) => "artifact",
            Body::Scan(_) => "scan",
            Body::Execution(_) => "execution",
        }
    }
}

/// A version of an artifact: the same path with new content is a new version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactRecord {
    /// Project-relative path or URI.
    pub path: String,
    pub digest: String,
    pub size: u64,
    pub format: String,
    pub role: Role,
    #[serde(default)]
    pub schema: Vec<SchemaField>,
    /// Digest of the previous version of the same path, if any.
    pub previous: Option<String>,
    /// Other names of the same artifact (an OpenLineage `symlinks` facet, a local path of a
    /// `file` dataset); `lineage`, `audit` and `gate` accept them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaField {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
}

/// The tags one scan gave one artifact version (never values, not even masked ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanRecord {
    pub artifact: String,
    pub digest: String,
    pub rows_scanned: u64,
    pub rows_total: Option<u64>,
    pub sampling: String,
    /// The rule pack the scan judged by (`sha256:`, [`crate::rules::RuleSet::digest`]);
    /// absent in records written before it was recorded, and for declared tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_pack: Option<String>,
    pub columns: Vec<ColumnTags>,
}

/// The `sampling` of a scan record that holds tags a producer declared (an OpenLineage `tags`
/// facet), not tags piitrail found.
pub const DECLARED: &str = "declared";

impl ScanRecord {
    /// Tags declared by a producer rather than found by a scan: they add to a version's
    /// tags and never replace a real scan's.
    pub fn is_declared(&self) -> bool {
        self.sampling.starts_with(DECLARED)
    }
}

/// One run of a transformation: what went in, what came out, the code, and column lineage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    /// Stable id: `x-` and 16 hex digits of the sha256 of the rest of the execution.
    pub id: String,
    pub kind: ExecutionKind,
    pub inputs: Vec<ArtifactRef>,
    pub outputs: Vec<ArtifactRef>,
    pub code: Option<Code>,
    /// Column-level lineage, one edge per (input column, output column).
    #[serde(default)]
    pub columns: Vec<ColumnEdge>,
    /// For an aggregating step: the smallest number of input rows behind one output row (k),
    /// measured when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_group_size: Option<u64>,
    /// For a `sql` step: the table name each input had in the query (same order as
    /// `inputs`), so that the step can be replayed (`subject erase`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    /// For an `erasure`: the subject (a salted hash) and the rows removed per file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erasure: Option<Box<ErasureRecord>>,
    /// For an imported execution (OpenLineage, MLMD): the run it came from. A later record of
    /// the same run (same source and id) supersedes an earlier one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Box<ImportedRun>>,
}

/// What an erasure removed. The subject is `sha256:` of a random salt and the normalised
/// identities; the salt is only in the erasure certificate, so the ledger alone cannot be
/// searched for a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErasureRecord {
    pub subject: String,
    pub files: Vec<ErasedFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErasedFile {
    pub path: String,
    pub rows_before: u64,
    pub rows_after: u64,
    pub removed: u64,
}

/// The run an imported execution came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedRun {
    /// `openlineage` or `mlmd`.
    pub source: String,
    /// The OpenLineage runId, or the MLMD execution id.
    pub id: String,
    /// The job: OpenLineage `namespace/name`, or the MLMD execution type and name.
    pub job: String,
    /// OpenLineage eventType of the latest event, or the MLMD execution state.
    pub state: RunState,
    /// The time of the latest event, as the producer wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Who produced the events (OpenLineage `producer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer: Option<String>,
    /// What else the source said about the run: MLMD execution type, contexts
    /// (`context.pipeline`, `context.node`), properties (`property.input_base`) and the
    /// channels of its events (`input.examples`, `output.model`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub properties: std::collections::BTreeMap<String, String>,
}

impl ImportedRun {
    /// Whether the run failed or was aborted: such a run stays in the ledger and in lineage,
    /// marked, but hands on no tags.
    pub fn failed(&self) -> bool {
        self.state.failed()
    }
}

/// An artifact version named by path and digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ArtifactRef {
    pub path: String,
    pub digest: String,
}

impl ArtifactRef {
    /// (path, digest)
    pub fn pair(&self) -> (&str, &str) {
        (&self.path, &self.digest)
    }
}

/// The code that ran: SQL text, or the digest of a script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Code {
    Sql(String),
    Script { path: String, digest: String },
}

/// A column of an artifact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ColumnRef {
    pub path: String,
    pub column: String,
}

/// How an input column reaches an output column (OpenLineage type and subtype, and our
/// propagation class of DESIGN.md).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ColumnEdge {
    pub from: ColumnRef,
    pub to: ColumnRef,
    #[serde(rename = "type")]
    pub edge_type: EdgeType,
    pub subtype: Subtype,
    pub masking: bool,
    pub class: Class,
    /// What the transformation was, as its producer described it (OpenLineage
    /// `transformations[].description` or the deprecated `transformationDescription`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ExecutionRecord {
    /// An execution of `kind` with nothing in it yet: fill what the step has, e.g.
    /// `ExecutionRecord { inputs, outputs, ..ExecutionRecord::new(ExecutionKind::Sql) }`.
    pub fn new(kind: ExecutionKind) -> ExecutionRecord {
        ExecutionRecord {
            id: String::new(),
            kind,
            inputs: Vec::new(),
            outputs: Vec::new(),
            code: None,
            columns: Vec::new(),
            min_group_size: None,
            tables: Vec::new(),
            erasure: None,
            run: None,
        }
    }

    /// Whether its inputs' tags reach its outputs (a failed or aborted import does not).
    pub fn propagates(&self) -> bool {
        !self.run.as_ref().is_some_and(|r| r.failed())
    }

    /// A training step: its outputs are models trained on its inputs.
    pub fn is_training(&self) -> bool {
        self.kind == ExecutionKind::Training
    }

    /// Fills `id` from the content, so the same execution recorded twice has the same id.
    pub fn with_id(mut self) -> Self {
        self.id = String::new();
        let value = serde_json::to_value(&self).expect("an execution always serialises");
        let digest = super::canonical::record_hash(&value);
        self.id = format!("x-{}", &digest["sha256:".len().."sha256:".len() + 16]);
        self
    }
}

/// Drops the executions superseded by a later record of the same imported run, keeping the
/// order of the rest.
pub fn live_executions<T: std::borrow::Borrow<ExecutionRecord>>(executions: Vec<T>) -> Vec<T> {
    let keep = live(executions.iter().map(|x| x.borrow().run.as_deref()));
    executions
        .into_iter()
        .zip(keep)
        .filter_map(|(x, keep)| keep.then_some(x))
        .collect()
}

/// Per execution (given by its imported run, if any, in ledger order): whether it is live,
/// that is not superseded by a later record of the same run (same source and id).
pub fn live<'a>(runs: impl Iterator<Item = Option<&'a ImportedRun>> + Clone) -> Vec<bool> {
    let mut last: std::collections::HashMap<(&str, &str), usize> = std::collections::HashMap::new();
    for (i, r) in runs.clone().enumerate() {
        if let Some(r) = r {
            last.insert((&r.source, &r.id), i);
        }
    }
    runs.enumerate()
        .map(|(i, r)| r.is_none_or(|r| last.get(&(r.source.as_str(), r.id.as_str())) == Some(&i)))
        .collect()
}

/// The live executions of a ledger's records, in ledger order.
pub fn live_executions_of(records: &[Record]) -> Vec<&ExecutionRecord> {
    live_executions(
        records
            .iter()
            .filter_map(|r| match &r.body {
                Body::Execution(x) => Some(x),
                _ => None,
            })
            .collect(),
    )
}

/// The live record of every run imported from `source`, by run id.
pub fn imported_runs<'a>(
    records: &'a [Record],
    source: &str,
) -> std::collections::HashMap<String, &'a ExecutionRecord> {
    records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Execution(x) => x
                .run
                .as_ref()
                .filter(|run| run.source == source)
                .map(|run| (run.id.clone(), x)),
            _ => None,
        })
        .collect()
}

/// The latest recorded digest of every artifact path.
pub fn latest_versions(records: &[Record]) -> std::collections::BTreeMap<String, String> {
    let mut latest = std::collections::BTreeMap::new();
    for r in records {
        if let Body::Artifact(a) = &r.body {
            latest.insert(a.path.clone(), a.digest.clone());
        }
    }
    latest
}
