//! Tag propagation (DESIGN.md "Propagation semantics"): from the latest scan of every
//! artifact version, tags flow along recorded column lineage to every derived dataset and
//! model, each with the status that says how the data arrived and the path (`via`) it took.
//!
//! - A DIRECT column edge hands on every tag of its source column; the status is the stronger
//!   of the tag's and the edge's class, in the order `direct` < `pseudonymised` <
//!   `generalised` < `aggregated` < `trained_on`. INDIRECT edges (`influenced`) hand on nothing.
//! - An execution without column lineage (a declared step without `--column`, an import) hands
//!   every tag of its inputs to the whole output, `direct`: unknown transformations never take
//!   a tag away.
//! - A training step gives its models every category of its inputs, `trained_on`.
//! - One tag per category per column: the rawest status wins, then the shortest path.
//!
//! Propagation runs to a fixed point over executions in ledger order, so imports recorded out
//! of order and cycles (bad imports) are handled: statuses only get rawer, so it ends.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::ledger::{Basis, Class, EdgeType, Role};
use crate::ledger::{Body, ColumnRef, ExecutionRecord, Record, ScanRecord};
use crate::rules::GdprClass;

/// How personal data arrived in a column, from the rawest.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    Direct,
    Pseudonymised,
    Generalised,
    Aggregated,
    TrainedOn,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The status of a DIRECT edge's class. An `influenced` class on a DIRECT edge (no
    /// recorder writes one) counts as `direct`: the safe side.
    fn of_class(class: Class) -> Status {
        match class {
            Class::Direct | Class::Influenced => Status::Direct,
            Class::Pseudonymised => Status::Pseudonymised,
            Class::Generalised => Status::Generalised,
            Class::Aggregated => Status::Aggregated,
        }
    }
}

/// Where a tag came from: found in this column by a scan, or handed on by lineage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Detected,
    Inherited,
}

/// A tag on a column or an artifact (DESIGN.md TAG).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tag {
    pub category: String,
    pub gdpr_class: GdprClass,
    pub confidence: f64,
    pub status: Status,
    /// The columns the data passed through, from the one where it was detected; empty for a
    /// detected tag.
    pub via: Vec<ColumnRef>,
    pub origin: Origin,
    /// The rule that detected it (at the start of `via`).
    pub rule: String,
    /// What the detection rests on, carried along `via` unchanged: the scan's counts and
    /// mode, its rule pack and the ledger record that holds it.
    pub evidence: Evidence,
}

/// The evidence of a detected tag ([`Tag::evidence`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The scan's ledger record (its hash).
    pub record: String,
    /// The digest of the version the scan read.
    pub digest: String,
    /// The rule pack the scan judged by (`sha256:`); null for a tag a producer declared or a
    /// scan recorded before packs were.
    pub rule_pack: Option<String>,
    /// How the rows were read (`all 40 rows`, `every row`, `16 evenly spaced chunks ...`), or
    /// `declared` for a producer's tag.
    pub sampling: String,
    pub rows_scanned: u64,
    /// Values the rule matched, of the column's non-null values it examined.
    pub matched: u64,
    pub non_null: u64,
    pub basis: Basis,
}

impl Tag {
    /// Whether this tag is better than `other` for the same category: rawer, then shorter
    /// path, then more confident.
    fn beats(&self, other: &Tag) -> bool {
        (self.status, self.via.len()) < (other.status, other.via.len())
            || ((self.status, self.via.len()) == (other.status, other.via.len())
                && self.confidence > other.confidence)
    }

    /// A tag a scan found (or a producer declared) in a column, with the record's evidence.
    fn detected(t: &crate::scan::ColumnTag, scan: &ScanRecord, record: &str) -> Tag {
        Tag {
            category: t.category.clone(),
            gdpr_class: t.gdpr_class,
            confidence: t.confidence,
            status: Status::Direct,
            via: Vec::new(),
            origin: Origin::Detected,
            rule: t.rule.clone(),
            evidence: Evidence {
                record: record.to_string(),
                digest: scan.digest.clone(),
                rule_pack: scan.rule_pack.clone(),
                sampling: scan.sampling.clone(),
                rows_scanned: scan.rows_scanned,
                matched: t.evidence.matched,
                non_null: t.evidence.non_null,
                basis: t.evidence.basis,
            },
        }
    }

    fn handed_on(&self, from: &ColumnRef, status: Status) -> Tag {
        let mut via = self.via.clone();
        via.push(from.clone());
        Tag {
            status: self.status.max(status),
            via,
            origin: Origin::Inherited,
            ..self.clone()
        }
    }
}

/// Tags by category (one per category).
pub type TagSet = BTreeMap<String, Tag>;

/// Adds `tag` unless a better one of its category is there; whether anything changed.
fn offer(set: &mut TagSet, tag: Tag) -> bool {
    match set.get(&tag.category) {
        Some(have) if !tag.beats(have) => false,
        _ => {
            set.insert(tag.category.clone(), tag);
            true
        }
    }
}

/// What propagation knows about one artifact version.
#[derive(Debug, Clone)]
pub struct Version {
    pub path: String,
    pub digest: String,
    pub kind: Role,
    /// Column names in schema order (from the artifact record or its scan).
    pub schema: Vec<String>,
    /// Whether a scan of this version is recorded.
    pub scanned: bool,
    /// The tags the latest scan found (and those declared), by column.
    pub detected: BTreeMap<String, TagSet>,
    /// The tags a producer declared (an OpenLineage `tags` facet), by column; merged into
    /// `detected` once every record is read.
    pub declared: BTreeMap<String, TagSet>,
    /// Detected and inherited tags, by column.
    pub columns: BTreeMap<String, TagSet>,
    /// What lineage alone hands to each column (to compare with what a scan found).
    pub inherited: BTreeMap<String, TagSet>,
    /// Tags of the whole artifact that no column carries: a model's training data, and what
    /// came through a step without column lineage.
    pub whole: TagSet,
    /// Written by an execution (not a source).
    pub derived: bool,
    /// Smallest group size of the aggregate that wrote it, when measured.
    pub min_group_size: Option<u64>,
}

impl Version {
    /// The union over columns and whole-artifact tags, best per category.
    pub fn tags(&self) -> TagSet {
        let mut all = self.whole.clone();
        for set in self.columns.values() {
            for t in set.values() {
                offer(&mut all, t.clone());
            }
        }
        all
    }

    /// Every column: the schema's first, then any other column a tag names.
    pub fn column_names(&self) -> Vec<String> {
        let mut names = self.schema.clone();
        for c in self.columns.keys() {
            if !names.contains(c) {
                names.push(c.clone());
            }
        }
        names
    }
}

/// The result: every version by digest, and the latest version of every path.
#[derive(Debug, Default)]
pub struct Propagation {
    /// Boxed: half a million versions in place would make the table's buckets a quarter of a
    /// kilobyte each, and each of its doublings would hold two such tables at once.
    pub versions: HashMap<String, Box<Version>>,
    pub latest: BTreeMap<String, String>,
    /// Executions without column lineage (their outputs got whole-artifact tags).
    pub without_column_lineage: Vec<String>,
}

impl Propagation {
    /// The latest version of every path, in path order.
    pub fn current(&self) -> impl Iterator<Item = &Version> {
        self.latest
            .values()
            .filter_map(|d| self.versions.get(d).map(|v| &**v))
    }
}

fn version_mut<'a>(
    versions: &'a mut HashMap<String, Box<Version>>,
    path: &str,
    digest: &str,
) -> &'a mut Version {
    versions.entry(digest.to_string()).or_insert_with(|| {
        Box::new(Version {
            path: path.to_string(),
            digest: digest.to_string(),
            kind: Role::Dataset,
            schema: Vec::new(),
            scanned: false,
            detected: BTreeMap::new(),
            declared: BTreeMap::new(),
            columns: BTreeMap::new(),
            inherited: BTreeMap::new(),
            whole: TagSet::new(),
            derived: false,
            min_group_size: None,
        })
    })
}

/// Propagates the tags of the ledger's scans along its lineage.
pub fn propagate<'a>(records: impl IntoIterator<Item = &'a Record>) -> Propagation {
    let mut p = Propagation::default();
    let mut executions: Vec<&ExecutionRecord> = Vec::new();
    for r in records {
        match &r.body {
            Body::Artifact(a) => {
                let v = version_mut(&mut p.versions, &a.path, &a.digest);
                v.path.clone_from(&a.path);
                v.kind = a.role;
                if !a.schema.is_empty() {
                    v.schema = a.schema.iter().map(|f| f.name.clone()).collect();
                }
                p.latest.insert(a.path.clone(), a.digest.clone());
            }
            Body::Scan(s) if s.is_declared() => {
                let v = version_mut(&mut p.versions, &s.artifact, &s.digest);
                for c in &s.columns {
                    let set = v.declared.entry(c.name.clone()).or_default();
                    for t in &c.tags {
                        offer(set, Tag::detected(t, s, &r.hash));
                    }
                }
                p.latest
                    .entry(s.artifact.clone())
                    .or_insert(s.digest.clone());
            }
            Body::Scan(s) => {
                let v = version_mut(&mut p.versions, &s.artifact, &s.digest);
                v.scanned = true;
                v.schema = s.columns.iter().map(|c| c.name.clone()).collect();
                // The latest scan of a version replaces an earlier one.
                v.detected.clear();
                for c in &s.columns {
                    let mut set = TagSet::new();
                    for t in &c.tags {
                        offer(&mut set, Tag::detected(t, s, &r.hash));
                    }
                    if !set.is_empty() {
                        v.detected.insert(c.name.clone(), set);
                    }
                }
                p.latest
                    .entry(s.artifact.clone())
                    .or_insert(s.digest.clone());
            }
            Body::Execution(x) => executions.push(x),
        }
    }
    // A later record of an imported run supersedes an earlier one.
    let executions = crate::ledger::live_executions(executions);
    for x in &executions {
        for o in &x.outputs {
            let v = version_mut(&mut p.versions, &o.path, &o.digest);
            v.derived = true;
            if let Some(k) = x.min_group_size {
                v.min_group_size = Some(v.min_group_size.map_or(k, |have| have.min(k)));
            }
            if x.is_training() {
                v.kind = Role::Model;
            }
            p.latest.entry(o.path.clone()).or_insert(o.digest.clone());
        }
        for i in &x.inputs {
            version_mut(&mut p.versions, &i.path, &i.digest);
            p.latest.entry(i.path.clone()).or_insert(i.digest.clone());
        }
        if x.columns.is_empty() && !x.is_training() {
            p.without_column_lineage.push(x.id.clone());
        }
    }
    for v in p.versions.values_mut() {
        // Declared tags count as found in place (their rule says they were declared).
        for (column, set) in std::mem::take(&mut v.declared) {
            let into = v.detected.entry(column).or_default();
            for t in set.into_values() {
                offer(into, t);
            }
        }
        v.detected.retain(|_, set| !set.is_empty());
        v.columns = v.detected.clone();
    }
    // Failed and aborted imported runs stay in lineage but hand on nothing.
    let executions: Vec<&ExecutionRecord> =
        executions.into_iter().filter(|x| x.propagates()).collect();
    // To a fixed point; each round can only make tags rawer or add them, so this ends. The
    // bound is a guard against a bug, not a limit a real ledger reaches.
    for _ in 0..=executions.len() + 1 {
        let mut changed = false;
        for x in &executions {
            changed |= step(&mut p.versions, x);
        }
        if !changed {
            break;
        }
    }
    p
}

/// Hands the tags of one execution's inputs to its outputs; whether anything changed.
fn step(versions: &mut HashMap<String, Box<Version>>, x: &ExecutionRecord) -> bool {
    let mut offers: Vec<(String, Option<String>, Tag)> = Vec::new();
    let input_of = |path: &str| x.inputs.iter().find(|i| i.path == path);
    if x.is_training() || x.columns.is_empty() {
        let status = if x.is_training() {
            Status::TrainedOn
        } else {
            Status::Direct
        };
        for i in &x.inputs {
            let Some(v) = versions.get(&i.digest) else {
                continue;
            };
            for (column, set) in &v.columns {
                let from = ColumnRef {
                    path: v.path.clone(),
                    column: column.clone(),
                };
                for t in set.values() {
                    for o in &x.outputs {
                        offers.push((o.digest.clone(), None, t.handed_on(&from, status)));
                    }
                }
            }
            for t in v.whole.values() {
                for o in &x.outputs {
                    let mut t = t.clone();
                    t.status = t.status.max(status);
                    t.origin = Origin::Inherited;
                    offers.push((o.digest.clone(), None, t));
                }
            }
        }
    }
    for e in &x.columns {
        if e.edge_type != EdgeType::Direct {
            continue;
        }
        let (Some(i), Some(o)) = (
            input_of(&e.from.path),
            x.outputs.iter().find(|o| o.path == e.to.path),
        ) else {
            continue;
        };
        let Some(set) = versions
            .get(&i.digest)
            .and_then(|v| v.columns.get(&e.from.column))
        else {
            continue;
        };
        let status = if x.is_training() {
            Status::TrainedOn
        } else {
            Status::of_class(e.class)
        };
        for t in set.values() {
            offers.push((
                o.digest.clone(),
                Some(e.to.column.clone()),
                t.handed_on(&e.from, status),
            ));
        }
    }
    let mut changed = false;
    for (digest, column, tag) in offers {
        let Some(v) = versions.get_mut(&digest) else {
            continue;
        };
        changed |= match column {
            Some(c) => {
                let a = offer(v.inherited.entry(c.clone()).or_default(), tag.clone());
                offer(v.columns.entry(c).or_default(), tag) | a
            }
            None => offer(&mut v.whole, tag),
        };
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{
        ArtifactRecord, ArtifactRef, ColumnEdge, ColumnTag, ColumnTags, Evidence, ScanRecord,
        Subtype,
    };

    fn rec(body: Body) -> Record {
        Record {
            seq: 0,
            time: String::new(),
            body,
            prev: String::new(),
            hash: String::new(),
        }
    }

    fn art(path: &str, role: &str) -> Record {
        rec(Body::Artifact(ArtifactRecord {
            path: path.into(),
            digest: format!("d:{path}"),
            size: 0,
            format: "csv".into(),
            role: role.parse().unwrap(),
            schema: vec![],
            previous: None,
            aliases: Vec::new(),
        }))
    }

    fn scan(path: &str, cols: &[(&str, &[(&str, GdprClass)])]) -> Record {
        rec(Body::Scan(ScanRecord {
            artifact: path.into(),
            digest: format!("d:{path}"),
            rows_scanned: 1,
            rows_total: Some(1),
            sampling: String::new(),
            rule_pack: None,
            columns: cols
                .iter()
                .map(|(name, tags)| ColumnTags {
                    name: name.to_string(),
                    data_type: "Utf8".into(),
                    tags: tags
                        .iter()
                        .map(|(cat, class)| ColumnTag {
                            category: cat.to_string(),
                            gdpr_class: *class,
                            confidence: 0.9,
                            rule: format!("rule.{cat}"),
                            evidence: Evidence {
                                name_match: true,
                                matched: 1,
                                non_null: 1,
                                basis: Basis::Values,
                                reason: None,
                                checksum: None,
                                context: None,
                                references: None,
                            },
                        })
                        .collect(),
                })
                .collect(),
        }))
    }

    fn r(path: &str) -> ArtifactRef {
        ArtifactRef {
            path: path.into(),
            digest: format!("d:{path}"),
        }
    }

    /// `edges`: (from "path:col", to "path:col", type, class)
    fn exec(
        kind: &str,
        ins: &[&str],
        outs: &[&str],
        edges: &[(&str, &str, EdgeType, Class)],
    ) -> Record {
        let col = |s: &str| {
            let (p, c) = s.rsplit_once(':').unwrap();
            ColumnRef {
                path: p.into(),
                column: c.into(),
            }
        };
        rec(Body::Execution(ExecutionRecord {
            id: format!("x-{kind}-{}", outs.join("+")),
            kind: kind.parse().unwrap(),
            inputs: ins.iter().map(|p| r(p)).collect(),
            outputs: outs.iter().map(|p| r(p)).collect(),
            code: None,
            columns: edges
                .iter()
                .map(|(f, t, ty, class)| ColumnEdge {
                    from: col(f),
                    to: col(t),
                    edge_type: *ty,
                    subtype: Subtype::Transformation,
                    masking: *class == Class::Pseudonymised,
                    class: *class,
                    description: None,
                })
                .collect(),
            min_group_size: None,
            tables: Vec::new(),
            erasure: None,
            run: None,
        }))
    }

    fn status(p: &Propagation, path: &str, column: &str, cat: &str) -> Option<(Status, usize)> {
        let v = &p.versions[&format!("d:{path}")];
        v.columns
            .get(column)
            .and_then(|s| s.get(cat))
            .map(|t| (t.status, t.via.len()))
    }

    const EMAIL: &[(&str, GdprClass)] = &[("user.contact.email", GdprClass::Personal)];
    const HEALTH: &[(&str, GdprClass)] = &[("user.health_and_medical", GdprClass::Special)];

    #[test]
    fn every_status_along_a_chain_of_three_steps() {
        let p = propagate(&[
            art("a.csv", "dataset"),
            scan(
                "a.csv",
                &[
                    ("email", EMAIL),
                    ("zip", &[("user.location.postal_code", GdprClass::Quasi)]),
                    ("note", HEALTH),
                ],
            ),
            exec(
                "sql",
                &["a.csv"],
                &["b.parquet"],
                &[
                    (
                        "a.csv:email",
                        "b.parquet:email",
                        EdgeType::Direct,
                        Class::Direct,
                    ),
                    (
                        "a.csv:email",
                        "b.parquet:h",
                        EdgeType::Direct,
                        Class::Pseudonymised,
                    ),
                    (
                        "a.csv:zip",
                        "b.parquet:z2",
                        EdgeType::Direct,
                        Class::Generalised,
                    ),
                    (
                        "a.csv:note",
                        "b.parquet:email",
                        EdgeType::Indirect,
                        Class::Influenced,
                    ),
                ],
            ),
            exec(
                "sql",
                &["b.parquet"],
                &["c.csv"],
                &[
                    (
                        "b.parquet:h",
                        "c.csv:n_people",
                        EdgeType::Direct,
                        Class::Aggregated,
                    ),
                    ("b.parquet:z2", "c.csv:z2", EdgeType::Direct, Class::Direct),
                ],
            ),
            exec("training", &["c.csv"], &["m.bin"], &[]),
        ]);
        assert_eq!(
            status(&p, "b.parquet", "email", "user.contact.email"),
            Some((Status::Direct, 1))
        );
        assert_eq!(
            status(&p, "b.parquet", "h", "user.contact.email"),
            Some((Status::Pseudonymised, 1))
        );
        assert_eq!(
            status(&p, "b.parquet", "z2", "user.location.postal_code"),
            Some((Status::Generalised, 1))
        );
        // An influence hands on nothing.
        assert_eq!(
            status(&p, "b.parquet", "email", "user.health_and_medical"),
            None
        );
        // Third step: aggregated over a pseudonym; a copy of a generalised value stays generalised.
        assert_eq!(
            status(&p, "c.csv", "n_people", "user.contact.email"),
            Some((Status::Aggregated, 2))
        );
        assert_eq!(
            status(&p, "c.csv", "z2", "user.location.postal_code"),
            Some((Status::Generalised, 2))
        );
        let model = &p.versions["d:m.bin"];
        assert_eq!(model.kind, Role::Model);
        let tags = model.tags();
        assert_eq!(tags.len(), 2);
        assert!(
            tags.values()
                .all(|t| t.status == Status::TrainedOn && t.origin == Origin::Inherited)
        );
        let via: Vec<String> = tags["user.contact.email"]
            .via
            .iter()
            .map(|c| format!("{}:{}", c.path, c.column))
            .collect();
        assert_eq!(via, ["a.csv:email", "b.parquet:h", "c.csv:n_people"]);
    }

    #[test]
    fn a_join_of_two_sources_a_dropped_column_and_an_unknown_step() {
        let p = propagate(&[
            scan("customers.csv", &[("email", EMAIL), ("id", &[])]),
            scan("tickets.csv", &[("text", HEALTH), ("customer", &[])]),
            exec(
                "sql",
                &["customers.csv", "tickets.csv"],
                &["joined.csv"],
                &[
                    (
                        "customers.csv:email",
                        "joined.csv:email",
                        EdgeType::Direct,
                        Class::Direct,
                    ),
                    (
                        "tickets.csv:text",
                        "joined.csv:text",
                        EdgeType::Direct,
                        Class::Direct,
                    ),
                    (
                        "customers.csv:id",
                        "joined.csv:email",
                        EdgeType::Indirect,
                        Class::Influenced,
                    ),
                    (
                        "tickets.csv:customer",
                        "joined.csv:email",
                        EdgeType::Indirect,
                        Class::Influenced,
                    ),
                ],
            ),
            // A projection that keeps only the email: the text is dropped.
            exec(
                "sql",
                &["joined.csv"],
                &["emails.csv"],
                &[(
                    "joined.csv:email",
                    "emails.csv:email",
                    EdgeType::Direct,
                    Class::Direct,
                )],
            ),
            // A declared step without column lineage: every category flows, direct.
            exec("export", &["joined.csv"], &["export.bin"], &[]),
        ]);
        assert_eq!(
            status(&p, "joined.csv", "email", "user.contact.email"),
            Some((Status::Direct, 1))
        );
        assert_eq!(
            status(&p, "joined.csv", "text", "user.health_and_medical"),
            Some((Status::Direct, 1))
        );
        let emails = &p.versions["d:emails.csv"];
        assert_eq!(
            emails.tags().keys().collect::<Vec<_>>(),
            ["user.contact.email"]
        );
        let export = &p.versions["d:export.bin"];
        assert_eq!(export.whole.len(), 2);
        assert!(export.whole.values().all(|t| t.status == Status::Direct));
        assert_eq!(p.without_column_lineage.len(), 1);
    }

    #[test]
    fn the_rawest_path_wins() {
        let p = propagate(&[
            scan("a.csv", &[("email", EMAIL)]),
            exec(
                "transform",
                &["a.csv"],
                &["b.csv"],
                &[
                    (
                        "a.csv:email",
                        "b.csv:x",
                        EdgeType::Direct,
                        Class::Pseudonymised,
                    ),
                    ("a.csv:email", "b.csv:x", EdgeType::Direct, Class::Direct),
                ],
            ),
        ]);
        assert_eq!(
            status(&p, "b.csv", "x", "user.contact.email"),
            Some((Status::Direct, 1))
        );
    }

    #[test]
    fn a_cycle_from_a_bad_import_ends() {
        let p = propagate(&[
            scan("a.csv", &[("email", EMAIL)]),
            exec(
                "transform",
                &["a.csv"],
                &["b.csv"],
                &[(
                    "a.csv:email",
                    "b.csv:e",
                    EdgeType::Direct,
                    Class::Pseudonymised,
                )],
            ),
            exec(
                "transform",
                &["b.csv"],
                &["a.csv"],
                &[("b.csv:e", "a.csv:email", EdgeType::Direct, Class::Direct)],
            ),
        ]);
        assert_eq!(
            status(&p, "a.csv", "email", "user.contact.email"),
            Some((Status::Direct, 0))
        );
        assert_eq!(
            status(&p, "b.csv", "e", "user.contact.email"),
            Some((Status::Pseudonymised, 1))
        );
    }
}
