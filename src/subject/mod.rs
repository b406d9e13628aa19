//! Data-subject requests (GDPR Art. 15, 17): find every artifact that holds or came from one
//! person's data.
//!
//! `find` works on the latest version of every recorded artifact:
//! 1. **Sources.** In every dataset column tagged with an identity's category (or the column an
//!    `--id PATH:COLUMN=VALUE` names), rows whose normalised value equals the identity's.
//! 2. **Expansion.** The other identifiers in the rows found (customer numbers, user ids,
//!    e-mails: columns tagged `user.unique_id*`, `user.contact.email`, ...) become identities
//!    too, searched only in columns linked to theirs by recorded lineage: a JOIN between
//!    them in one step, or a copy of one into the other. Repeated until nothing new is found.
//! 3. **Lineage.** From each column where the subject was found, the recorded column edges lead
//!    to derived datasets: a `direct` edge is searched by the value, a `pseudonymised` one by
//!    the digests a step may have stored (sha256, md5 of the normalised value and of the value as
//!    given, hex or binary), an `aggregated` one marks the output as an aggregate the subject
//!    contributed to (its group: the output rows whose group keys hold the subject's values).
//! 4. **Models** trained on a dataset that held the subject's rows are listed with those
//!    training inputs and the action owed (retrain, or document why not), and so are the
//!    models copied from them (a pushed model).
//!
//! Nothing of the rows is reported but their numbers (1-based, in file order) and counts;
//! identities appear only as hashes.

pub mod erase;
pub mod identity;
mod journal;
mod read;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::ledger::{Class, EdgeType, ExecutionKind, Role, Subtype};
use crate::ledger::{ColumnRef, ExecutionRecord, Record, live_executions_of};
use crate::policy::Declaration;
use crate::propagate::{Propagation, propagate};
use crate::rules::RuleSet;
use crate::source::dataset::Dataset;
pub use identity::{Identity, Normaliser};

#[derive(Debug, thiserror::Error)]
pub enum SubjectError {
    /// A request that cannot be carried out as asked (exit 2).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Scan(#[from] crate::scan::ScanError),
    /// A file of the request (journal, certificate, export) could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    #[error(transparent)]
    Lineage(#[from] crate::lineage::LineageError),
    #[error(transparent)]
    Sign(#[from] crate::sign::SignError),
    /// A failure that is piitrail's own (exit 3): serialising its own records, no randomness.
    #[error("{0}")]
    Internal(String),
}

impl SubjectError {
    /// Whether the user can fix it (exit 2), or it is piitrail's own failure (exit 3).
    pub fn is_input(&self) -> bool {
        match self {
            SubjectError::Usage(_) | SubjectError::File { .. } | SubjectError::Io(_) => true,
            SubjectError::Scan(e) => e.is_input(),
            SubjectError::Ledger(e) => e.is_input(),
            SubjectError::Lineage(e) => e.is_input(),
            SubjectError::Sign(e) => !matches!(e, crate::sign::SignError::Random(_)),
            SubjectError::Internal(_) => false,
        }
    }

    /// A file error naming the file.
    pub fn file(path: &std::path::Path) -> impl Fn(std::io::Error) -> SubjectError + '_ {
        move |source| SubjectError::File {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Serialising piitrail's own record failed.
    pub fn internal(e: impl std::fmt::Display) -> SubjectError {
        SubjectError::Internal(e.to_string())
    }
}

/// The categories whose values identify one person, and so expand an identity.
const IDENTIFYING: &[&str] = &[
    "user.unique_id",
    "user.contact.email",
    "user.contact.phone_number",
    "user.account.username",
    "user.government_id",
    "user.financial.bank_account",
    "user.financial.credit_card",
];

/// Identifying categories whose values people share (a joint account, a family card, a
/// household's phone line): followed only when no other row holds the value.
fn shareable(category: &str) -> bool {
    crate::policy::is_within(category, "user.financial")
        || crate::policy::is_within(category, "user.contact.phone_number")
}

fn identifying(category: &str) -> bool {
    IDENTIFYING
        .iter()
        .any(|c| category == *c || category.starts_with(&format!("{c}.")))
}

/// How the subject is in an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    Rows,
    Aggregate,
    TrainedOn,
}

/// One artifact that holds or came from the subject's data (DESIGN.md `subject find`).
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    pub path: String,
    pub digest: String,
    /// `dataset` or `model`.
    pub kind: Role,
    #[serde(rename = "match")]
    pub matched: Match,
    /// The columns where the subject was found (for an aggregate: its group keys).
    pub columns: Vec<String>,
    pub rows: u64,
    /// Row numbers (1-based, in file order).
    pub locators: Vec<u64>,
    /// For a model: the training inputs that held the subject's data.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// The primary key's values of the rows found, in the order of `locators` (piitrail.toml
    /// `primary_key`, else the key a database table declares; only when the key holds no
    /// personal data but pseudonymous ids).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<BTreeMap<String, Option<String>>>,
    /// For an aggregate: its group key columns (none for one total over all rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
    /// For an aggregate: the groups the subject's rows went into.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
    /// What is owed: `erase rows`, `recompute` (an aggregate), `retrain or document`.
    pub action: String,
    /// The file changed since the ledger recorded it (searched as it is now).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub changed_since_recorded: bool,
}

/// One group of an aggregate that the subject's rows went into. No key values: the row
/// locates it.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// The aggregate's row for this group (1-based), if the group key is among its columns.
    pub row: Option<u64>,
    /// Rows of the aggregate's input in the group.
    pub size: u64,
    /// The subject's rows among them.
    pub subject_rows: u64,
}

/// An identity as reported: its category and a hash of its normalised value.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct IdentityOut {
    pub category: String,
    pub value_hash: String,
    /// Where an expanded identity was found (`PATH:COLUMN`), absent for one given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found_in: Option<String>,
    /// Found next to the subject but held by other people's rows too: not followed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub identity: Vec<IdentityOut>,
    pub artifacts: Vec<Found>,
}

/// What to look for in one column.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Needle {
    /// Values equal to the identity's (normalised the identity's way).
    Value(usize),
    /// A digest of the identity's value.
    Digest(usize),
}

pub struct Request<'a> {
    pub ids: &'a [String],
    pub root: PathBuf,
    pub rules: &'a RuleSet,
    /// The record of processing (piitrail.toml): primary keys and references.
    pub declarations: &'a [Declaration],
    /// Where files may be searched and rewritten; anything else is external.
    pub roots: &'a crate::source::DataRoots,
    /// Where the rows searched so far are reported (see [`crate::progress`]).
    pub progress: crate::progress::Meter,
}

/// The column edges of the live executions, by source column, with the execution.
struct Edges<'a> {
    from: HashMap<(&'a str, &'a str), Vec<(&'a ExecutionRecord, &'a crate::ledger::ColumnEdge)>>,
    /// Direct copies by target column: the columns copied into it.
    copied_from: HashMap<(&'a str, &'a str), Vec<&'a ColumnRef>>,
    /// References declared in piitrail.toml, both ways.
    references: BTreeMap<ColumnRef, Vec<ColumnRef>>,
    executions: Vec<&'a ExecutionRecord>,
}

impl<'a> Edges<'a> {
    fn new(records: &'a [Record]) -> Edges<'a> {
        let executions: Vec<&ExecutionRecord> = live_executions_of(records)
            .into_iter()
            .filter(|x| x.propagates())
            .collect();
        let mut from: HashMap<_, Vec<_>> = HashMap::new();
        let mut copied_from: HashMap<_, Vec<_>> = HashMap::new();
        for x in &executions {
            for e in &x.columns {
                from.entry((e.from.path.as_str(), e.from.column.as_str()))
                    .or_default()
                    .push((*x, e));
                if e.edge_type == EdgeType::Direct && e.class == Class::Direct {
                    copied_from
                        .entry((e.to.path.as_str(), e.to.column.as_str()))
                        .or_default()
                        .push(&e.from);
                }
            }
        }
        Edges {
            from,
            copied_from,
            references: BTreeMap::new(),
            executions,
        }
    }

    /// Adds the references declared for the datasets `paths`.
    fn declare(&mut self, declarations: &[Declaration], paths: &[&str]) {
        for path in paths {
            for d in declarations.iter().filter(|d| d.path.matches(path)) {
                for (column, target) in &d.references {
                    let here = ColumnRef {
                        path: path.to_string(),
                        column: column.clone(),
                    };
                    self.link(here, target.clone());
                }
            }
        }
    }

    /// Adds the foreign keys a database declares for the tables among `paths`: they link
    /// identities as declared references do.
    fn declare_catalog(
        &mut self,
        root: &std::path::Path,
        roots: &crate::source::DataRoots,
        paths: &[&str],
    ) -> Result<(), SubjectError> {
        for path in paths.iter().filter(|p| crate::source::db::is_table(p)) {
            let Some(Dataset::Table { db, table }) = Dataset::find_inside(root, roots, path)?
            else {
                continue;
            };
            for fk in &table.foreign_keys {
                let here = ColumnRef {
                    path: path.to_string(),
                    column: fk.column.clone(),
                };
                let target = ColumnRef {
                    path: db.referenced(fk),
                    column: fk.to.clone(),
                };
                self.link(here, target);
            }
        }
        Ok(())
    }

    /// Links two columns both ways.
    fn link(&mut self, a: ColumnRef, b: ColumnRef) {
        self.references
            .entry(a.clone())
            .or_default()
            .push(b.clone());
        self.references.entry(b).or_default().push(a);
    }

    /// Columns linked to `c` for an expanded identity: the other join keys of a step where
    /// `c` is a join key, the columns `c` is copied into or from, and the columns a declared
    /// reference links it to (transitively).
    fn linked(&self, c: &ColumnRef) -> Vec<ColumnRef> {
        let mut out = BTreeSet::new();
        let mut todo = vec![c.clone()];
        let mut seen = BTreeSet::new();
        while let Some(c) = todo.pop() {
            if !seen.insert(c.clone()) {
                continue;
            }
            for (x, e) in self
                .from
                .get(&(c.path.as_str(), c.column.as_str()))
                .into_iter()
                .flatten()
            {
                if e.edge_type == EdgeType::Indirect && e.subtype == Subtype::Join {
                    for other in x.columns.iter().filter(|o| {
                        o.edge_type == EdgeType::Indirect
                            && o.subtype == Subtype::Join
                            && o.from != c
                    }) {
                        out.insert(other.from.clone());
                        todo.push(other.from.clone());
                    }
                } else if e.edge_type == EdgeType::Direct && e.class == Class::Direct {
                    out.insert(e.to.clone());
                    todo.push(e.to.clone());
                }
            }
            for src in self
                .copied_from
                .get(&(c.path.as_str(), c.column.as_str()))
                .into_iter()
                .flatten()
            {
                out.insert((*src).clone());
                todo.push((*src).clone());
            }
            for other in self.references.get(&c).into_iter().flatten() {
                out.insert(other.clone());
                todo.push(other.clone());
            }
        }
        out.remove(c);
        out.into_iter().collect()
    }
}

/// Finds the subject: steps 1–4 of the module's description, each a named step of `Search`.
pub fn find(req: &Request, records: &[Record]) -> Result<Report, SubjectError> {
    let mut search = Search::start(req, records)?;
    while search.round()? {}
    let mut artifacts = Vec::new();
    let mut holding = search.holding_rows(&mut artifacts)?;
    search.fed_without_identifier(&mut holding, &mut artifacts)?;
    search.trained_on(&holding, &mut artifacts);
    artifacts.sort_by(|a, b| (a.matched, &a.path).cmp(&(b.matched, &b.path)));
    Ok(Report {
        identity: search
            .identities
            .iter()
            .map(|(id, _)| id.out())
            .chain(search.not_followed)
            .collect(),
        artifacts,
    })
}

/// The columns to search, each with what to look for in it and whether that was searched.
#[derive(Default)]
struct Targets(BTreeMap<(String, String), Vec<(Needle, bool)>>);

impl Targets {
    /// Adds a needle to the column `c`; false when it was there already.
    fn add(&mut self, c: &ColumnRef, n: Needle) -> bool {
        let list = self
            .0
            .entry((c.path.clone(), c.column.clone()))
            .or_default();
        if list.iter().any(|(have, _)| *have == n) {
            return false;
        }
        list.push((n, false));
        true
    }

    /// The columns with a needle not searched yet, by path: one read per file.
    fn pending(&self) -> BTreeMap<String, Vec<String>> {
        let mut by_path: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for ((p, c), ns) in &self.0 {
            if ns.iter().any(|(_, done)| !done) {
                by_path.entry(p.clone()).or_default().push(c.clone());
            }
        }
        by_path
    }

    fn searched(&mut self, path: &str, columns: &[String]) {
        for c in columns {
            if let Some(ns) = self.0.get_mut(&(path.to_string(), c.clone())) {
                for n in ns {
                    n.1 = true;
                }
            }
        }
    }

    fn needles(&self, path: &str, column: &str) -> Vec<Needle> {
        self.0
            .get(&(path.to_string(), column.to_string()))
            .into_iter()
            .flatten()
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// An identifier found in the subject's rows, to become an identity of its own.
struct Expansion {
    /// Its column among the columns read.
    column: usize,
    value: String,
    category: String,
    from: ColumnRef,
    /// The columns linked to its own by lineage or declaration: where it is searched.
    linked: Vec<ColumnRef>,
}

/// A subject search under way: steps 1–3 of the module's description, repeated (`round`)
/// until nothing new is found.
struct Search<'r> {
    req: &'r Request<'r>,
    prop: Propagation,
    edges: Edges<'r>,
    identities: Vec<(Identity, String)>,
    /// Each identity's index by category and normalised value.
    known: HashMap<(String, String), usize>,
    targets: Targets,
    /// The size and time of each path's latest artifact record.
    recorded: HashMap<&'r str, (u64, &'r str)>,
    /// Rows found, by path and column.
    hits: BTreeMap<String, BTreeMap<String, BTreeSet<u64>>>,
    /// Columns of outputs that aggregated the subject's values, by path.
    aggregates: BTreeMap<String, BTreeSet<String>>,
    /// Paths whose file changed since the ledger recorded it.
    changed: BTreeSet<String>,
    searched_values: BTreeSet<(String, String, String)>,
    not_followed: Vec<IdentityOut>,
}

impl<'r> Search<'r> {
    /// The identities given, and where each is first searched: the column named, or every
    /// column of a source dataset tagged with its category.
    fn start(req: &'r Request<'r>, records: &'r [Record]) -> Result<Search<'r>, SubjectError> {
        let mut identities: Vec<(Identity, String)> = Vec::new();
        for spec in req.ids {
            identities.push(identity::parse(spec, req.rules).map_err(SubjectError::Usage)?);
        }
        let prop = propagate(records);
        let mut edges = Edges::new(records);
        let datasets: Vec<&str> = prop
            .current()
            .filter(|v| v.kind == Role::Dataset)
            .map(|v| v.path.as_str())
            .collect();
        edges.declare(req.declarations, &datasets);
        edges.declare_catalog(&req.root, req.roots, &datasets)?;
        let mut targets = Targets::default();
        for (i, (id, _)) in identities.iter().enumerate() {
            match &id.column {
                Some(c) => {
                    if !prop.latest.contains_key(&c.path) {
                        return Err(SubjectError::Usage(format!(
                            "--id {}:{}=...: {} is not in the ledger (`piitrail scan --record` it first)",
                            c.path, c.column, c.path
                        )));
                    }
                    targets.add(c, Needle::Value(i));
                }
                None => {
                    // Sources: datasets no step wrote (an erasure's rewrite keeps a source one).
                    let written: BTreeSet<&str> = edges
                        .executions
                        .iter()
                        .filter(|x| x.kind != ExecutionKind::Erasure)
                        .flat_map(|x| x.outputs.iter().map(|o| o.path.as_str()))
                        .collect();
                    for v in prop
                        .current()
                        .filter(|v| !written.contains(v.path.as_str()) && v.kind == Role::Dataset)
                    {
                        for (column, tags) in &v.columns {
                            if tags.keys().any(|cat| {
                                cat == &id.category || cat.starts_with(&format!("{}.", id.category))
                            }) {
                                let c = ColumnRef {
                                    path: v.path.clone(),
                                    column: column.clone(),
                                };
                                targets.add(&c, Needle::Value(i));
                            }
                        }
                    }
                }
            }
        }
        let mut recorded: HashMap<&str, (u64, &str)> = HashMap::new();
        for r in records {
            if let crate::ledger::Body::Artifact(a) = &r.body {
                recorded.insert(&a.path, (a.size, &r.time));
            }
        }
        let known = identities
            .iter()
            .enumerate()
            .map(|(i, (id, _))| ((id.category.clone(), id.value.expose().clone()), i))
            .collect();
        Ok(Search {
            req,
            prop,
            edges,
            identities,
            known,
            targets,
            recorded,
            hits: BTreeMap::new(),
            aggregates: BTreeMap::new(),
            changed: BTreeSet::new(),
            searched_values: BTreeSet::new(),
            not_followed: Vec::new(),
        })
    }

    /// Searches every column not searched yet (one read per file), then follows lineage from
    /// what was found. False when there was nothing left to search.
    fn round(&mut self) -> Result<bool, SubjectError> {
        let pending = self.targets.pending();
        if pending.is_empty() {
            return Ok(false);
        }
        for (path, columns) in pending {
            self.search_file(&path, &columns)?;
        }
        self.follow_lineage();
        Ok(true)
    }

    /// Reads the file of `path` once: the `columns` with needles, and the identifying columns
    /// of the rows found, which are expanded.
    fn search_file(&mut self, path: &str, columns: &[String]) -> Result<(), SubjectError> {
        let req = self.req;
        let Some(version) = self
            .prop
            .latest
            .get(path)
            .and_then(|d| self.prop.versions.get(d))
        else {
            return Ok(());
        };
        let Some(data) = Dataset::find_inside(&req.root, req.roots, path)? else {
            // Known only by name (imported lineage), outside the data roots, or gone:
            // nothing to search here.
            self.targets.searched(path, columns);
            return Ok(());
        };
        let expand: Vec<(String, String)> = version
            .columns
            .iter()
            .filter_map(|(c, tags)| {
                tags.keys()
                    .find(|cat| identifying(cat))
                    .map(|cat| (c.clone(), cat.clone()))
            })
            .collect();
        let mut wanted: Vec<String> = columns.to_vec();
        for (c, _) in &expand {
            if !wanted.contains(c) {
                wanted.push(c.clone());
            }
        }
        let needles: Vec<(usize, Vec<Needle>)> = columns
            .iter()
            .map(|c| {
                let i = wanted
                    .iter()
                    .position(|w| w == c)
                    .expect("wanted holds columns");
                (i, self.targets.needles(path, c))
            })
            .collect();
        let mut matcher = read::Matcher::new(&self.identities, &needles);
        matcher.expand = expand
            .iter()
            .filter_map(|(c, _)| wanted.iter().position(|w| w == c))
            .collect();
        req.progress.begin(path, None);
        let found = read::search(&data, &wanted, &matcher, &req.progress)?;
        if self.changed_since_recorded(path, &data)? {
            self.changed.insert(path.to_string());
        }
        self.targets.searched(path, columns);
        for (ci, rows) in &found.rows {
            if rows.is_empty() {
                continue;
            }
            self.hits
                .entry(path.to_string())
                .or_default()
                .entry(wanted[*ci].clone())
                .or_default()
                .extend(rows.iter().copied());
        }
        self.expand(path, &data, &wanted, &expand, &found)
    }

    /// Whether the file changed since the ledger recorded it: its digest now where it is known
    /// for free (a table's version, an object's fetch, a file the digest cache knows as it is),
    /// else another size, or written after the ledger recorded it (hashing a large file would
    /// cost more than the search).
    fn changed_since_recorded(&self, path: &str, data: &Dataset) -> Result<bool, SubjectError> {
        let now = match data {
            // A table has no size or time to compare: its version is its rows.
            Dataset::Table { db, table } => Some(db.version(table)?),
            // An object was hashed as it was fetched.
            #[cfg(feature = "objects")]
            Dataset::Object(o) => Some(o.copy.digest.clone()),
            Dataset::File(file) => crate::source::digests::known(file, &self.req.root),
        };
        if let Some(now) = now {
            return Ok(self.prop.latest.get(path) != Some(&now));
        }
        let Some((size, time)) = self.recorded.get(path) else {
            return Ok(false);
        };
        let meta = data.file().and_then(|file| std::fs::metadata(file).ok());
        let modified = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .map(chrono::DateTime::<chrono::Utc>::from);
        let recorded_at = chrono::DateTime::parse_from_rfc3339(time).ok();
        Ok(meta.is_some_and(|m| m.len() != *size)
            || matches!((modified, recorded_at), (Some(m), Some(r)) if m > r + chrono::Duration::seconds(1)))
    }

    /// Expansion: identifiers in the rows found become identities of their columns, searched
    /// in the columns linked to theirs; one that other people's rows hold too is not followed.
    fn expand(
        &mut self,
        path: &str,
        data: &Dataset,
        wanted: &[String],
        expand: &[(String, String)],
        found: &read::Found,
    ) -> Result<(), SubjectError> {
        let mut fresh: Vec<Expansion> = Vec::new();
        for (ci, value) in &found.identifiers {
            let (column, category) = expand
                .iter()
                .find(|(c, _)| c == &wanted[*ci])
                .cloned()
                .expect("identifier columns are expand columns");
            if !self
                .searched_values
                .insert((path.to_string(), column.clone(), value.clone()))
            {
                continue;
            }
            let from = ColumnRef {
                path: path.to_string(),
                column,
            };
            let linked = self.edges.linked(&from);
            fresh.push(Expansion {
                column: *ci,
                value: value.clone(),
                category,
                from,
                linked,
            });
        }
        // A bank account, card or phone number that rows of other people hold too (a joint
        // account, a household's line) is not followed: it would reach their rows.
        let check: Vec<(usize, String)> = fresh
            .iter()
            .filter(|e| shareable(&e.category) && !e.linked.is_empty())
            .map(|e| (e.column, e.value.clone()))
            .collect();
        let shared = if check.is_empty() {
            HashSet::new()
        } else {
            let matched: BTreeSet<u64> = found
                .rows
                .iter()
                .flat_map(|(_, r)| r.iter().copied())
                .collect();
            read::shared(data, wanted, &check, &matched)?
        };
        for e in fresh {
            let normaliser = Normaliser::of(&e.category);
            let id = Identity {
                category: e.category,
                value: crate::sensitive::Sensitive::new(normaliser.apply(&e.value)),
                column: Some(e.from),
                normaliser,
            };
            if shared.contains(&(e.column, e.value.clone())) {
                let mut out = id.out();
                out.shared = true;
                self.not_followed.push(out);
                continue;
            }
            let key = (id.category.clone(), id.value.expose().clone());
            let i = match self.known.get(&key) {
                Some(&i) => i,
                None => {
                    self.identities.push((id, e.value));
                    self.known.insert(key, self.identities.len() - 1);
                    self.identities.len() - 1
                }
            };
            for l in e.linked {
                self.targets.add(&l, Needle::Value(i));
            }
        }
        Ok(())
    }

    /// Lineage: from every column where the subject was found, along the column edges: a
    /// direct copy is searched by value, a pseudonymised one by digests, anything else marks
    /// an aggregate.
    fn follow_lineage(&mut self) {
        for (path, cols) in &self.hits {
            for (column, _) in cols.iter().filter(|(_, rows)| !rows.is_empty()) {
                let needle_ids: Vec<usize> = self
                    .targets
                    .needles(path, column)
                    .into_iter()
                    .filter_map(|n| match n {
                        Needle::Value(i) => Some(i),
                        Needle::Digest(_) => None,
                    })
                    .collect();
                for (_, e) in self
                    .edges
                    .from
                    .get(&(path.as_str(), column.as_str()))
                    .into_iter()
                    .flatten()
                {
                    if e.edge_type != EdgeType::Direct {
                        continue;
                    }
                    match e.class {
                        Class::Direct => {
                            for &i in &needle_ids {
                                self.targets.add(&e.to, Needle::Value(i));
                            }
                        }
                        Class::Pseudonymised => {
                            for &i in &needle_ids {
                                self.targets.add(&e.to, Needle::Digest(i));
                            }
                        }
                        Class::Generalised | Class::Aggregated | Class::Influenced => {
                            self.aggregates
                                .entry(e.to.path.clone())
                                .or_default()
                                .insert(e.to.column.clone());
                        }
                    }
                }
            }
        }
    }
}

/// Step 4 and what the search found without an identifier, once nothing new is found.
impl Search<'_> {
    /// The artifacts where the subject's rows were found; returns their paths.
    fn holding_rows(&self, artifacts: &mut Vec<Found>) -> Result<BTreeSet<String>, SubjectError> {
        let (req, prop, changed) = (self.req, &self.prop, &self.changed);
        let mut holding: BTreeSet<String> = BTreeSet::new();
        for (path, cols) in &self.hits {
            let mut rows: BTreeSet<u64> = BTreeSet::new();
            let mut columns = Vec::new();
            for (c, r) in cols {
                if !r.is_empty() {
                    columns.push(c.clone());
                    rows.extend(r);
                }
            }
            if rows.is_empty() {
                continue;
            }
            holding.insert(path.clone());
            let mut f = found(prop, path, Match::Rows, columns, rows, changed);
            f.keys = primary_keys(req, prop, &f)?;
            artifacts.push(f);
        }
        Ok(holding)
    }

    /// Outputs of steps that read the subject's rows but hold no identifier to find them by:
    /// aggregates (recompute), or copies without the identifying columns. Adds them to `holding`.
    fn fed_without_identifier(
        &mut self,
        holding: &mut BTreeSet<String>,
        artifacts: &mut Vec<Found>,
    ) -> Result<(), SubjectError> {
        let (req, prop, edges, hits, changed) =
            (self.req, &self.prop, &self.edges, &self.hits, &self.changed);
        let aggregates = &mut self.aggregates;
        loop {
            let mut grew = false;
            for x in &edges.executions {
                if x.is_training() || !x.inputs.iter().any(|i| holding.contains(&i.path)) {
                    continue;
                }
                for o in &x.outputs {
                    if holding.contains(&o.path)
                        || prop
                            .versions
                            .get(&o.digest)
                            .is_some_and(|v| v.kind == Role::Model)
                    {
                        continue;
                    }
                    let aggregated = x.min_group_size.is_some()
                        || x.columns
                            .iter()
                            .any(|e| e.to.path == o.path && e.class == Class::Aggregated);
                    let columns: BTreeSet<String> = x
                        .columns
                        .iter()
                        .filter(|e| e.to.path == o.path && e.class == Class::Aggregated)
                        .map(|e| e.to.column.clone())
                        .chain(aggregates.remove(&o.path).into_iter().flatten())
                        .collect();
                    let mut f = found(
                        prop,
                        &o.path,
                        if aggregated {
                            Match::Aggregate
                        } else {
                            Match::Rows
                        },
                        columns.into_iter().collect(),
                        BTreeSet::new(),
                        changed,
                    );
                    if aggregated {
                        group_of(&req.root, x, &o.path, hits, &mut f)?;
                    } else {
                        f.action = "recompute (the subject's rows went in; no identifier column to find them by)".into();
                    }
                    artifacts.push(f);
                    holding.insert(o.path.clone());
                    grew = true;
                }
            }
            if !grew {
                return Ok(());
            }
        }
    }

    /// Models trained on what held the subject, and models copied from those.
    fn trained_on(&self, holding: &BTreeSet<String>, artifacts: &mut Vec<Found>) {
        let (prop, edges, changed) = (&self.prop, &self.edges, &self.changed);
        let mut models: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        loop {
            let mut grew = false;
            for x in &edges.executions {
                let held: Vec<String> = x
                    .inputs
                    .iter()
                    .filter(|i| holding.contains(&i.path) || models.contains_key(&i.path))
                    .map(|i| i.path.clone())
                    .collect();
                if held.is_empty() {
                    continue;
                }
                let to_models =
                    x.is_training() || x.inputs.iter().any(|i| models.contains_key(&i.path));
                if !to_models {
                    continue;
                }
                for o in &x.outputs {
                    let is_model = prop
                        .versions
                        .get(&o.digest)
                        .is_some_and(|v| v.kind == Role::Model);
                    if !is_model && !x.is_training() {
                        continue;
                    }
                    let set = models.entry(o.path.clone()).or_default();
                    for h in &held {
                        grew |= set.insert(h.clone());
                    }
                }
            }
            if !grew {
                break;
            }
        }
        for (path, inputs) in models {
            let mut f = found(
                prop,
                &path,
                Match::TrainedOn,
                Vec::new(),
                BTreeSet::new(),
                changed,
            );
            f.kind = Role::Model;
            f.inputs = inputs.into_iter().collect();
            artifacts.push(f);
        }
    }
}

/// The identities the request gives (before any expansion), as reported.
pub fn given(req: &Request) -> Result<Vec<IdentityOut>, SubjectError> {
    req.ids
        .iter()
        .map(|spec| {
            identity::parse(spec, req.rules)
                .map(|(id, _)| id.out())
                .map_err(SubjectError::Usage)
        })
        .collect()
}

impl Identity {
    /// The identity as reported: its category (or `PATH:COLUMN`) and value hash.
    fn out(&self) -> IdentityOut {
        IdentityOut {
            category: if self.category.is_empty() {
                self.column
                    .as_ref()
                    .map(|c| format!("{}:{}", c.path, c.column))
                    .unwrap_or_default()
            } else {
                self.category.clone()
            },
            value_hash: self.value_hash(),
            found_in: self
                .column
                .as_ref()
                .filter(|_| !self.category.is_empty())
                .map(|c| format!("{}:{}", c.path, c.column)),
            shared: false,
        }
    }
}

/// The primary key values of the rows found in a dataset: its key as piitrail.toml declares
/// it, else as its database's catalog does (a table's declared `PRIMARY KEY`), when every key
/// column is in it and none is tagged with a category other than a pseudonymous id
/// (`user.unique_id`): a key that is an e-mail address is not printed.
fn primary_keys(
    req: &Request,
    prop: &Propagation,
    f: &Found,
) -> Result<Vec<BTreeMap<String, Option<String>>>, SubjectError> {
    let declared = req
        .declarations
        .iter()
        .find(|d| d.path.matches(&f.path) && !d.primary_key.is_empty())
        .map(|d| d.primary_key.clone());
    let Some(version) = prop.versions.get(&f.digest) else {
        return Ok(Vec::new());
    };
    let Some(data) = Dataset::find_inside(&req.root, req.roots, &f.path)? else {
        return Ok(Vec::new());
    };
    let key = match declared {
        Some(key) => key,
        None => data.primary_key().to_vec(),
    };
    let pseudonymous = !key.is_empty()
        && key.iter().all(|k| {
            version.schema.contains(k)
                && version.columns.get(k).is_none_or(|tags| {
                    tags.keys()
                        .all(|c| crate::policy::is_within(c, "user.unique_id"))
                })
        });
    if !pseudonymous {
        return Ok(Vec::new());
    }
    let rows: BTreeSet<u64> = f.locators.iter().copied().collect();
    Ok(read::values(&data, &key, &rows)?
        .into_iter()
        .map(|values| key.iter().cloned().zip(values).collect())
        .collect())
}

/// The groups of the aggregate `out` (written by `x`) that the subject's rows went into: the
/// group key columns from the step's GROUP_BY edges, the subject's key values read from the
/// input that holds their rows, each group's size there, and the aggregate's row for it.
fn group_of(
    root: &std::path::Path,
    x: &ExecutionRecord,
    out: &str,
    hits: &BTreeMap<String, BTreeMap<String, BTreeSet<u64>>>,
    f: &mut Found,
) -> Result<(), SubjectError> {
    let mut keys: Vec<&ColumnRef> = Vec::new();
    for e in &x.columns {
        if e.to.path == out && e.subtype == Subtype::GroupBy && !keys.contains(&&e.from) {
            keys.push(&e.from);
        }
    }
    for input in &x.inputs {
        let Some(cols) = hits.get(&input.path) else {
            continue;
        };
        let rows: BTreeSet<u64> = cols.values().flatten().copied().collect();
        if rows.is_empty() || keys.iter().any(|k| k.path != input.path) {
            continue;
        }
        let Some(file) = Dataset::find(root, &input.path)? else {
            continue;
        };
        let in_keys: Vec<String> = keys.iter().map(|k| k.column.clone()).collect();
        // Each key's column in the aggregate: a direct copy of it.
        let out_keys: Vec<Option<String>> = keys
            .iter()
            .map(|k| {
                x.columns
                    .iter()
                    .find(|e| {
                        e.edge_type == EdgeType::Direct
                            && e.from == **k
                            && e.to.path == out
                            && e.class != Class::Aggregated
                    })
                    .map(|e| e.to.column.clone())
            })
            .collect();
        let out_file = Dataset::find(root, out)?;
        if keys.is_empty() {
            // One total over every row.
            let size = crate::source::rows::count(&file)?;
            let n = match &out_file {
                Some(out_file) => crate::source::rows::count(out_file)?,
                None => 0,
            };
            f.group_by = Some(Vec::new());
            f.groups = vec![Group {
                row: (n == 1).then_some(1),
                size,
                subject_rows: rows.len() as u64,
            }];
        } else {
            let groups = read::groups(&file, &in_keys, &rows)?;
            let mut at: Vec<Option<u64>> = vec![None; groups.len()];
            if let Some(out_file) = out_file
                .as_ref()
                .filter(|_| out_keys.iter().all(Option::is_some))
            {
                let columns: Vec<String> = out_keys.iter().flatten().cloned().collect();
                let wanted: Vec<read::Key> = groups.iter().map(|g| g.0.clone()).collect();
                for (row, i) in read::rows_with(out_file, &columns, &wanted)? {
                    at[i].get_or_insert(row);
                }
            }
            f.group_by = Some(
                out_keys
                    .iter()
                    .zip(&in_keys)
                    .map(|(o, i)| o.clone().unwrap_or_else(|| i.clone()))
                    .collect(),
            );
            f.groups = groups
                .iter()
                .zip(at)
                .map(|((_, size, mine), row)| Group {
                    row,
                    size: *size,
                    subject_rows: *mine,
                })
                .collect();
        }
        f.locators = f.groups.iter().filter_map(|g| g.row).collect();
        f.locators.sort_unstable();
        f.locators.dedup();
        f.rows = f.locators.len() as u64;
        if f.groups.iter().any(|g| g.size == g.subject_rows) {
            f.action = "recompute: a group holds only the subject's rows, so its row is their data (erase it)".into();
        }
        return Ok(());
    }
    Ok(())
}

fn found(
    prop: &Propagation,
    path: &str,
    matched: Match,
    columns: Vec<String>,
    rows: BTreeSet<u64>,
    changed: &BTreeSet<String>,
) -> Found {
    let digest = prop.latest.get(path).cloned().unwrap_or_default();
    let kind = prop.versions.get(&digest).map_or(Role::Dataset, |v| v.kind);
    Found {
        path: path.to_string(),
        digest,
        kind,
        matched,
        columns,
        rows: rows.len() as u64,
        locators: rows.into_iter().collect(),
        inputs: Vec::new(),
        keys: Vec::new(),
        group_by: None,
        groups: Vec::new(),
        action: match matched {
            Match::Rows => "erase rows",
            Match::Aggregate => "recompute",
            Match::TrainedOn => "retrain or document",
        }
        .into(),
        changed_since_recorded: changed.contains(path),
    }
}

/// What an access export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    pub path: String,
    pub file: String,
    pub rows: usize,
}

/// Art. 15/20 access export: the subject's own rows of every dataset where they were located,
/// one JSON file per dataset in `dir`, each marked as holding personal data. Nothing of it is
/// printed. The folder is made private (0700) and every file 0600.
pub fn export(
    report: &Report,
    root: &std::path::Path,
    dir: &std::path::Path,
) -> Result<Vec<Exported>, SubjectError> {
    let io = |e| SubjectError::file(dir)(e);
    std::fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    let mut out = Vec::new();
    for a in report
        .artifacts
        .iter()
        .filter(|a| a.matched == Match::Rows && !a.locators.is_empty())
    {
        let Some(data) = Dataset::find(root, &a.path)? else {
            continue;
        };
        let wanted: BTreeSet<u64> = a.locators.iter().copied().collect();
        let rows = crate::source::rows::rows(&data, &wanted)?;
        let name = format!(
            "{}.json",
            a.path
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                })
                .collect::<String>()
        );
        let doc = serde_json::json!({
            "notice": "PERSONAL DATA of the data subject who made this request (GDPR Art. 15 and 20). Give it only to them; do not store it elsewhere.",
            "artifact": a.path,
            "digest": a.digest,
            "rows": rows,
        });
        let target = dir.join(&name);
        let bytes = serde_json::to_vec_pretty(&doc).map_err(SubjectError::internal)?;
        crate::fsio::write_atomic_with(&target, |f| {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
            std::io::Write::write_all(f, &bytes)
        })
        .map_err(SubjectError::file(&target))?;
        out.push(Exported {
            path: a.path.clone(),
            file: name,
            rows: rows.len(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::SubjectError;

    /// Each failure keeps its class: what the user can fix exits 2, piitrail's own failures
    /// exit 3, and a wrapped error answers as it would alone.
    #[test]
    fn errors_keep_their_class_and_cause() {
        let io = || std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let file = SubjectError::file(std::path::Path::new("erasures/x"))(io());
        assert!(file.is_input());
        assert_eq!(file.to_string(), "erasures/x: denied");
        assert!(
            std::error::Error::source(&file).is_some(),
            "the cause is kept"
        );
        assert!(!SubjectError::internal("serialising").is_input());
        let internal_ledger =
            SubjectError::from(crate::ledger::LedgerError::Internal("a bug".into()));
        assert!(!internal_ledger.is_input());
        let sign = SubjectError::from(crate::sign::SignError::Key {
            path: "k".into(),
            message: "not a key".into(),
        });
        assert!(sign.is_input());
    }
}
