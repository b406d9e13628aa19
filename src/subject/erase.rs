//! `subject erase`: the plan (files and rows to delete, steps to re-run, models to retrain), and
//! with `--apply` the erasure itself.
//!
//! - A dataset where the subject's rows were found and that no replayable SQL step wrote is
//!   rewritten without those rows, atomically and in its own format. CSV is filtered record by
//!   record, so every other row keeps its exact bytes; Parquet, NDJSON and Arrow are read and
//!   written again with every other row's values unchanged. The row count after must be the
//!   count before minus the rows removed, or nothing is replaced.
//! - Every recorded `sql` step downstream of a changed file is re-run from the cleaned data
//!   (lineage replay), in ledger order, and recorded like any run.
//! - An `erasure` execution records each rewrite (versions before and after, counts) with the
//!   subject only as a salted hash; the salt is in the certificate, not in the ledger.
//! - `find` runs again; the certificate says what was removed, recomputed, what remains to do
//!   (models to retrain, what could not be done) and whether the second search found nothing.
//!   If a step fails midway, the certificate lists what was and was not done; a re-run
//!   finishes the job (files already clean have nothing left to remove).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::journal::{self, Journal};
use super::{Match, Report, SubjectError};
use crate::ledger::{
    ArtifactRef, ColumnEdge, ColumnRef, ErasedFile, ErasureRecord, ExecutionRecord, Ledger, Record,
    live_executions_of,
};
use crate::lineage::{Version, append_execution};
use crate::source::dataset::Dataset;

/// A file to rewrite without some rows.
#[derive(Debug, Clone, Serialize)]
pub struct Delete {
    pub path: String,
    pub rows: Vec<u64>,
    /// When `path` is a symbolic link: the file it leads to (inside the data roots), which is
    /// the one rewritten; the link stays a link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub through_link_to: Option<String>,
}

/// A recorded SQL step to re-run.
#[derive(Debug, Clone, Serialize)]
pub struct Recompute {
    pub path: String,
    pub execution: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Retrain {
    pub path: String,
    pub inputs: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unresolved {
    pub path: String,
    pub reason: String,
    /// An erasure with `--apply` is refused while this stands (a link out of the data
    /// roots: rewriting it would write outside them, replacing it would leave the data).
    #[serde(skip)]
    pub refuses: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub delete: Vec<Delete>,
    pub recompute: Vec<Recompute>,
    pub retrain: Vec<Retrain>,
    pub unresolved: Vec<Unresolved>,
}

/// Whether the file at `path` may be rewritten: inside the data roots, and when it is a
/// symbolic link, its target too (`Ok(Some(target))`: the target is rewritten, the link kept).
/// `Err` is the plan's "by hand" entry.
fn rewritable(
    root: &Path,
    roots: &crate::policy::DataRoots,
    path: &str,
) -> Result<Option<String>, Unresolved> {
    let file = root.join(path);
    let is_link = std::fs::symlink_metadata(&file).is_ok_and(|m| m.file_type().is_symlink());
    let target = crate::policy::roots::resolve(&file);
    if !roots.contains(&file) {
        let reason = if is_link {
            format!(
                "a symbolic link to {}, outside the data roots: erase the rows there by hand, or add its folder to [project] data_roots",
                target.display()
            )
        } else {
            "outside the data roots (an external artifact), so not searched: erase the subject's rows where it is stored, or add its folder to [project] data_roots".to_string()
        };
        return Err(Unresolved {
            path: path.to_string(),
            reason,
            refuses: is_link,
        });
    }
    Ok(is_link.then(|| crate::scan::display_path(&target, root)))
}

/// The current version of a dataset of an erasure (a file, or a database table: its
/// `rows-sha256:`), or `None` when it is not here.
fn version_of(
    root: &Path,
    roots: &crate::policy::DataRoots,
    path: &str,
) -> Result<Option<Version>, SubjectError> {
    Ok(match Dataset::find_inside(root, roots, path)? {
        None => None,
        Some(Dataset::File(file)) => Some(Version::of(&file, root, "dataset", "dataset")?),
        #[cfg(feature = "objects")]
        Some(Dataset::Object(o)) => Some(object_version(&o.copy.url, &o.copy)),
        Some(Dataset::Table { db, table }) => Some(Version {
            reference: ArtifactRef {
                path: path.to_string(),
                digest: db.version(&table)?,
            },
            size: 0,
            format: db.format().into(),
            role: "dataset",
            schema: table
                .columns
                .iter()
                .map(|(name, data_type)| crate::ledger::SchemaField {
                    name: name.clone(),
                    data_type: data_type.clone(),
                })
                .collect(),
        }),
    })
}

/// The version of an object (its URL and the sha256 of its content) from its copy.
#[cfg(feature = "objects")]
fn object_version(url: &str, copy: &crate::source::objects::Fetched) -> Version {
    Version {
        reference: ArtifactRef {
            path: url.to_string(),
            digest: copy.digest.clone(),
        },
        size: copy.source.size,
        format: copy.source.format.as_str().into(),
        role: "dataset",
        schema: Vec::new(),
    }
}

/// A database table with the subject's rows: erased in the database (inside the data roots,
/// a table with rowids), else listed by hand.
fn table_delete(
    root: &Path,
    roots: &crate::policy::DataRoots,
    path: &str,
    rows: &[u64],
) -> Result<Delete, Unresolved> {
    let by_hand = |reason: String| Unresolved {
        path: path.to_string(),
        reason,
        refuses: false,
    };
    match Dataset::find_inside(root, roots, path) {
        Err(e) => Err(by_hand(format!("cannot be opened: {e}"))),
        Ok(Some(Dataset::Table { db, table })) => {
            if let Some(why) = db.not_erasable(&table) {
                Err(by_hand(format!(
                    "{why}: delete the {} row(s) `subject find` located (key order) in the database",
                    rows.len()
                )))
            } else {
                Ok(Delete {
                    path: path.to_string(),
                    rows: rows.to_vec(),
                    through_link_to: None,
                })
            }
        }
        Ok(_) => Err(by_hand(
            "not here (known from imported lineage): erase the rows where it is stored".into(),
        )),
    }
}

/// The live SQL steps, in ledger order, that can be replayed (their table names recorded).
fn sql_steps(records: &[Record]) -> Vec<&ExecutionRecord> {
    live_executions_of(records)
        .into_iter()
        .filter(|x| x.kind == "sql")
        .collect()
}

fn replayable(x: &ExecutionRecord) -> bool {
    matches!(x.code, Some(crate::ledger::Code::Sql(_))) && x.tables.len() == x.inputs.len()
}

/// What erasing the subject takes. With the journal of an unfinished erasure of the same
/// request, its pending rows are added (the files it already rewrote only have their
/// downstream steps re-run, where they have not been).
pub fn plan(
    report: &Report,
    records: &[Record],
    root: &Path,
    roots: &crate::policy::DataRoots,
    journal: Option<&Journal>,
) -> Plan {
    let steps = sql_steps(records);
    // The latest SQL step that wrote each path.
    let mut writer: BTreeMap<&str, &ExecutionRecord> = BTreeMap::new();
    for x in &steps {
        for o in &x.outputs {
            writer.insert(&o.path, x);
        }
    }
    let mut p = Plan {
        delete: Vec::new(),
        recompute: Vec::new(),
        retrain: Vec::new(),
        unresolved: Vec::new(),
    };
    let mut changed: BTreeSet<String> = BTreeSet::new();
    for a in &report.artifacts {
        match a.matched {
            Match::TrainedOn => p.retrain.push(Retrain {
                path: a.path.clone(),
                inputs: a.inputs.clone(),
            }),
            _ if writer.get(a.path.as_str()).is_some_and(|x| replayable(x)) => {}
            Match::Rows if a.rows > 0 && root.join(&a.path).is_file() => {
                match rewritable(root, roots, &a.path) {
                    Ok(through_link_to) => {
                        changed.insert(a.path.clone());
                        p.delete.push(Delete {
                            path: a.path.clone(),
                            rows: a.locators.clone(),
                            through_link_to,
                        });
                    }
                    Err(u) => p.unresolved.push(u),
                }
            }
            Match::Rows if a.rows > 0 && crate::source::db::is_table(&a.path) => {
                match table_delete(root, roots, &a.path, &a.locators) {
                    Ok(d) => {
                        changed.insert(a.path.clone());
                        p.delete.push(d);
                    }
                    Err(u) => p.unresolved.push(u),
                }
            }
            Match::Rows if a.rows > 0 && crate::source::location::is_object(&a.path) => {
                if cfg!(feature = "objects") && roots.contains_name(&a.path, root) {
                    changed.insert(a.path.clone());
                    p.delete.push(Delete {
                        path: a.path.clone(),
                        rows: a.locators.clone(),
                        through_link_to: None,
                    });
                } else {
                    p.unresolved.push(Unresolved {
                        path: a.path.clone(),
                        reason: "an object outside the data roots: erase the rows where it is stored, or add its prefix to [project] data_roots".into(),
                        refuses: false,
                    });
                }
            }
            Match::Rows if a.rows > 0 => p.unresolved.push(Unresolved {
                path: a.path.clone(),
                reason: "not a file here (known from imported lineage): erase the rows where it is stored".into(),
                refuses: false,
            }),
            _ => p.unresolved.push(Unresolved {
                path: a.path.clone(),
                reason: "the step that wrote it cannot be replayed (not a recorded SQL step): recompute it".into(),
                refuses: false,
            }),
        }
    }
    // Files holding personal data outside the data roots were not searched: an erasure that
    // said nothing of them would claim more than it did. Each is listed by hand, and a link
    // out of the roots (a project file that is not the project's) refuses `--apply`.
    let tagged: BTreeSet<&str> = records
        .iter()
        .filter_map(|r| match &r.body {
            crate::ledger::Body::Scan(s) if s.columns.iter().any(|c| !c.tags.is_empty()) => {
                Some(s.digest.as_str())
            }
            _ => None,
        })
        .collect();
    for (path, digest) in crate::ledger::latest_versions(records) {
        let file = root.join(&path);
        if tagged.contains(digest.as_str())
            && file.is_file()
            && !roots.contains(&file)
            && !p.unresolved.iter().any(|u| u.path == path)
            && let Err(u) = rewritable(root, roots, &path)
        {
            p.unresolved.push(u);
        }
    }
    // The journal (marked by `mark_rewritten`): rows still to remove from files it had not
    // rewritten yet (their content unchanged, so its row numbers still hold), and the files it
    // did rewrite.
    let mut done: BTreeSet<String> = BTreeSet::new();
    for e in journal.map(|j| j.files.as_slice()).unwrap_or_default() {
        let here = root.join(&e.path).is_file() || crate::source::location::is_object(&e.path);
        let pending = e.done.is_none() && here;
        if !pending {
            done.insert(e.path.clone());
            continue;
        }
        match p.delete.iter_mut().find(|d| d.path == e.path) {
            Some(d) => {
                let rows: BTreeSet<u64> = d.rows.iter().chain(&e.rows).copied().collect();
                d.rows = rows.into_iter().collect();
            }
            None => {
                changed.insert(e.path.clone());
                p.delete.push(Delete {
                    through_link_to: rewritable(root, roots, &e.path).ok().flatten(),
                    path: e.path.clone(),
                    rows: e.rows.clone(),
                });
            }
        }
    }
    p.delete.sort_by(|a, b| a.path.cmp(&b.path));
    // Steps to re-run: the latest writer of an output, reading a file that changes now, or a
    // file an earlier attempt changed when the step has not run on its new version yet.
    let latest = crate::ledger::latest_versions(records);
    let stale = |x: &ExecutionRecord| {
        x.inputs
            .iter()
            .any(|i| latest.get(&i.path).is_some_and(|d| *d != i.digest))
    };
    let mut touched: BTreeSet<String> = changed.union(&done).cloned().collect();
    for x in &steps {
        if !x.inputs.iter().any(|i| touched.contains(&i.path))
            || !(x.inputs.iter().any(|i| changed.contains(&i.path)) || stale(x))
            || !x
                .outputs
                .iter()
                .any(|o| writer.get(o.path.as_str()).is_some_and(|w| w.id == x.id))
        {
            continue;
        }
        for o in &x.outputs {
            if !roots.contains_name(&o.path, root) {
                p.unresolved.push(Unresolved {
                    path: o.path.clone(),
                    reason: "written by a recorded step outside the data roots: re-run the step where it is stored".into(),
                    refuses: false,
                });
            } else if replayable(x) {
                p.recompute.push(Recompute {
                    path: o.path.clone(),
                    execution: x.id.clone(),
                });
            } else {
                p.unresolved.push(Unresolved {
                    path: o.path.clone(),
                    reason: "written by a SQL step recorded without its table names (before piitrail 0.1 recorded them): re-run it with `piitrail run`".into(),
                    refuses: false,
                });
            }
            changed.insert(o.path.clone());
            touched.insert(o.path.clone());
        }
    }
    p
}

/// What `--apply` did.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub removed: Vec<Removed>,
    pub recomputed: Vec<Recomputed>,
    /// Whether `find` after the erasure found none of the subject's rows in any dataset.
    pub verified: bool,
    /// What `find` still found (models owed a retraining are listed in the plan).
    pub remaining: Vec<String>,
    /// What failed, if anything did; the steps after it were not done.
    pub failed: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    pub path: String,
    pub digest_before: String,
    pub digest_after: String,
    pub rows_before: u64,
    pub rows_after: u64,
    pub removed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Recomputed {
    pub path: String,
    pub execution: String,
    pub digest: String,
    pub rows: u64,
}

/// Carries out the plan. Stops at the first failure, saying what failed in `Applied::failed`.
/// Every file of `plan.delete` has its entry in `journal` (saved before this is called); each
/// finished rewrite is marked in it.
pub fn apply(
    plan: &Plan,
    records: &[Record],
    subject: &str,
    ledger: &Ledger,
    root: &Path,
    roots: &crate::policy::DataRoots,
    journal: &mut Journal,
) -> Applied {
    let mut done = Applied {
        removed: Vec::new(),
        recomputed: Vec::new(),
        verified: false,
        remaining: Vec::new(),
        failed: None,
    };
    let mut finished = Vec::new();
    let tables: Vec<&Delete> = plan
        .delete
        .iter()
        .filter(|d| crate::source::db::is_table(&d.path))
        .collect();
    if let Err(e) = erase_tables(root, roots, &tables, journal, &mut finished) {
        done.failed = Some(e);
    }
    let files = plan
        .delete
        .iter()
        .filter(|d| !crate::source::db::is_table(&d.path));
    for d in files.take_while(|_| done.failed.is_none()) {
        let Some(digest_before) = journal.entry(&d.path).map(|e| e.digest_before.clone()) else {
            done.failed = Some(format!("{}: not in the erasure journal", d.path));
            break;
        };
        let rewritten = if crate::source::location::is_object(&d.path) {
            rewrite_object(root, roots, d, &digest_before)
        } else {
            rewrite_file(root, d)
        };
        let (new, rows_before, rows_after) = match rewritten {
            Ok(r) => r,
            Err(e) => {
                done.failed = Some(e);
                break;
            }
        };
        journal.mark_done(&d.path, &new.reference.digest, rows_before, rows_after);
        let saved = journal.save();
        finished.push(Finished {
            before: ArtifactRef {
                path: d.path.clone(),
                digest: digest_before,
            },
            after: new,
            rows_before,
            rows_after,
        });
        if let Err(e) = saved {
            done.failed = Some(format!(
                "{} was rewritten, but the erasure journal could not be updated: {e}",
                d.path
            ));
            break;
        }
    }
    done.removed = finished.iter().map(Finished::removed).collect();
    if let Err(e) = record_erasure(ledger, records, subject, finished, journal) {
        done.failed.get_or_insert(e);
    }
    if done.failed.is_some() {
        return done;
    }
    let steps: BTreeMap<&str, &ExecutionRecord> = records
        .iter()
        .filter_map(|r| match &r.body {
            crate::ledger::Body::Execution(x) => Some((x.id.as_str(), x)),
            _ => None,
        })
        .collect();
    for r in &plan.recompute {
        let Some(x) = steps.get(r.execution.as_str()) else {
            done.failed = Some(format!(
                "{}: its step {} is not in the ledger",
                r.path, r.execution
            ));
            return done;
        };
        let Some(crate::ledger::Code::Sql(sql)) = &x.code else {
            continue;
        };
        let req = crate::lineage::run::Request {
            sql: sql.clone(),
            inputs: x
                .tables
                .iter()
                .zip(&x.inputs)
                .map(|(t, i)| (t.clone(), place(root, &i.path)))
                .collect(),
            output: place(root, &r.path),
            root: root.to_path_buf(),
        };
        match crate::lineage::run::run(&req, Some(ledger)) {
            Ok(ran) => done.recomputed.push(Recomputed {
                path: r.path.clone(),
                execution: ran.execution.id.clone(),
                digest: ran
                    .execution
                    .outputs
                    .first()
                    .map(|o| o.digest.clone())
                    .unwrap_or_default(),
                rows: ran.rows,
            }),
            Err(e) => {
                done.failed = Some(format!("re-running the step that writes {}: {e}", r.path));
                return done;
            }
        }
    }
    done
}

/// Where a recorded path is: an object's URL or a table's name as it is (`run` reads them
/// where they are), a file under the project root.
fn place(root: &Path, path: &str) -> PathBuf {
    if crate::source::location::is_object(path) || crate::source::db::is_table(path) {
        PathBuf::from(path)
    } else {
        root.join(path)
    }
}

/// Why a dataset was not rewritten: `what` (the file, the object) was left as it was.
fn not_rewritten(d: &Delete, e: impl std::fmt::Display, what: &str) -> String {
    format!(
        "rewriting {} without {} row(s): {e}; {what} was left as it was",
        d.path,
        d.rows.len()
    )
}

/// Rewrites a data file without the subject's rows: its new version and the row counts
/// before and after.
fn rewrite_file(root: &Path, d: &Delete) -> Result<(Version, u64, u64), String> {
    let file = root.join(&d.path);
    let (before, after) = crate::source::rewrite::without_rows(&file, &d.rows)
        .map_err(|e| not_rewritten(d, e, "it"))?;
    let new = Version::of(&file, root, "dataset", "dataset").map_err(|e| e.to_string())?;
    Ok((new, before, after))
}

/// Rewrites an object without the subject's rows: fetched again, checked to be the content
/// the rows were found in, rewritten in its copy and put back only if no one changed it since
/// it was read (a conditional PUT: [`crate::source::objects::Held::replace`]).
#[cfg(feature = "objects")]
fn rewrite_object(
    root: &Path,
    roots: &crate::policy::DataRoots,
    d: &Delete,
    digest_before: &str,
) -> Result<(Version, u64, u64), String> {
    let Some(Dataset::Object(o)) =
        Dataset::find_inside(root, roots, &d.path).map_err(|e| e.to_string())?
    else {
        return Err(format!("{}: no longer in its store", d.path));
    };
    // The copy the rows were found in (held since the search): rewritten, it is let go
    // whatever happens, and the object is replaced only if still that version.
    Dataset::let_go(&d.path);
    if o.copy.digest != digest_before {
        return Err(format!(
            "{}: changed since the subject's rows were found in it (another sha256): nothing was written; run the erasure again",
            d.path
        ));
    }
    let (before, after) = crate::source::rewrite::without_rows(&o.copy.source.path, &d.rows)
        .map_err(|e| not_rewritten(d, e, "the object"))?;
    let (digest, size) = o.replace().map_err(|e| e.to_string())?;
    let mut new = object_version(&d.path, &o.copy);
    new.reference.digest = digest;
    new.size = size;
    Ok((new, before, after))
}

#[cfg(not(feature = "objects"))]
fn rewrite_object(
    _: &Path,
    _: &crate::policy::DataRoots,
    d: &Delete,
    _: &str,
) -> Result<(Version, u64, u64), String> {
    Err(format!(
        "{}: an object, and this piitrail was built without the `objects` feature",
        d.path
    ))
}

/// Deletes the subject's rows of database tables: each database's tables in one
/// transaction ([`crate::source::db::Db::delete_rows`]: the versions the positions are of,
/// the counts and the foreign keys checked, or nothing deleted), then each table's new
/// version in the journal.
fn erase_tables(
    root: &Path,
    roots: &crate::policy::DataRoots,
    deletes: &[&Delete],
    journal: &mut Journal,
    finished: &mut Vec<Finished>,
) -> Result<(), String> {
    type Work<'d> = Vec<(&'d Delete, crate::source::db::Table, String)>;
    // By database (its name: a file or a server's database), with one connection each.
    let mut by_db: BTreeMap<String, (std::rc::Rc<crate::source::db::Db>, Work)> = BTreeMap::new();
    for d in deletes {
        let Some(before) = journal.entry(&d.path).map(|e| e.digest_before.clone()) else {
            return Err(format!("{}: not in the erasure journal", d.path));
        };
        match Dataset::find_inside(root, roots, &d.path).map_err(|e| e.to_string())? {
            Some(Dataset::Table { db, table }) => by_db
                .entry(db.location().name())
                .or_insert_with(|| (db.clone(), Vec::new()))
                .1
                .push((d, table, before)),
            _ => return Err(format!("{}: the table is gone", d.path)),
        }
    }
    for (name, (db, work)) in by_db {
        let db = match db.file() {
            // SQLite: opened again to write, with its foreign keys enforced.
            Some(_) => crate::source::db::Db::open_for_erasure(db.location())
                .map(std::rc::Rc::new)
                .map_err(|e| e.to_string())?,
            None => db,
        };
        let args: Vec<(&crate::source::db::Table, &[u64], &str)> = work
            .iter()
            .map(|(d, t, v)| (t, d.rows.as_slice(), v.as_str()))
            .collect();
        let counts = db.delete_rows(&args).map_err(|e| {
            let paths: Vec<&str> = work.iter().map(|(d, ..)| d.path.as_str()).collect();
            format!("deleting the subject's rows of {}: {e}", paths.join(", "))
        })?;
        drop(db);
        for ((d, _, before), (rows_before, rows_after)) in work.iter().zip(counts) {
            let new = version_of(root, roots, &d.path)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{}: gone after its rows were deleted", d.path))?;
            journal.mark_done(&d.path, &new.reference.digest, rows_before, rows_after);
            finished.push(Finished {
                before: ArtifactRef {
                    path: d.path.clone(),
                    digest: before.clone(),
                },
                after: new,
                rows_before,
                rows_after,
            });
        }
        journal.save().map_err(|e| {
            format!(
                "the rows of {name} were deleted, but the erasure journal could not be updated: {e}"
            )
        })?;
    }
    Ok(())
}

/// A rewrite carried out.
struct Finished {
    before: ArtifactRef,
    after: Version,
    rows_before: u64,
    rows_after: u64,
}

impl Finished {
    fn removed(&self) -> Removed {
        Removed {
            path: self.before.path.clone(),
            digest_before: self.before.digest.clone(),
            digest_after: self.after.reference.digest.clone(),
            rows_before: self.rows_before,
            rows_after: self.rows_after,
            removed: self.rows_before - self.rows_after,
        }
    }
}

/// Appends one `erasure` execution for the rewrites carried out (nothing when there are none),
/// and marks them recorded in the journal.
fn record_erasure(
    ledger: &Ledger,
    records: &[Record],
    subject: &str,
    finished: Vec<Finished>,
    journal: &mut Journal,
) -> Result<(), String> {
    if finished.is_empty() {
        return Ok(());
    }
    let prop = crate::propagate::propagate(records);
    let mut edges = Vec::new();
    for f in &finished {
        let schema = prop
            .latest
            .get(&f.before.path)
            .and_then(|dg| prop.versions.get(dg))
            .map(|v| v.schema.clone())
            .unwrap_or_default();
        for c in schema {
            let r = ColumnRef {
                path: f.before.path.clone(),
                column: c,
            };
            edges.push(ColumnEdge {
                from: r.clone(),
                to: r,
                edge_type: "DIRECT".into(),
                subtype: "IDENTITY".into(),
                masking: false,
                class: "direct".into(),
                description: Some("rows of other people, unchanged".into()),
            });
        }
    }
    let x = ExecutionRecord {
        id: String::new(),
        kind: "erasure".into(),
        inputs: finished.iter().map(|f| f.before.clone()).collect(),
        outputs: finished.iter().map(|f| f.after.reference.clone()).collect(),
        code: None,
        columns: edges,
        min_group_size: None,
        tables: Vec::new(),
        erasure: Some(Box::new(ErasureRecord {
            subject: subject.to_string(),
            files: finished
                .iter()
                .map(|f| ErasedFile {
                    path: f.before.path.clone(),
                    rows_before: f.rows_before,
                    rows_after: f.rows_after,
                    removed: f.rows_before - f.rows_after,
                })
                .collect(),
        })),
        run: None,
    }
    .with_id();
    let paths: Vec<String> = finished.iter().map(|f| f.before.path.clone()).collect();
    // The old versions are recorded already; the new ones are added before the execution.
    append_execution(ledger, finished.into_iter().map(|f| f.after).collect(), &x)
        .map_err(|e| e.to_string())?;
    for p in &paths {
        if let Some(d) = journal.entry_mut(p).and_then(|e| e.done.as_mut()) {
            d.recorded = true;
        }
    }
    journal.save().map_err(|e| {
        format!("the erasure is in the ledger, but its journal could not be updated: {e}")
    })
}

/// Marks done the journal's files that were rewritten but not marked (the process stopped
/// between the rename and the journal update), counting their rows; only in memory. Returns
/// each file's current version where it had to be hashed (every file not yet recorded).
fn mark_rewritten(
    journal: &mut Journal,
    root: &Path,
    roots: &crate::policy::DataRoots,
) -> Result<Vec<Option<Version>>, SubjectError> {
    let mut versions = Vec::with_capacity(journal.files.len());
    for e in journal.files.iter_mut() {
        let now = match e.done.as_ref() {
            Some(d) if d.recorded => None,
            _ => version_of(root, roots, &e.path)?,
        };
        if e.done.is_none()
            && let Some(v) = now
                .as_ref()
                .filter(|v| v.reference.digest != e.digest_before)
            && let Some(data) = Dataset::find_inside(root, roots, &e.path)?
        {
            let rows_after = crate::source::rows::count(&data)?;
            e.done = Some(journal::Done {
                digest_after: v.reference.digest.clone(),
                rows_before: rows_after + e.rows.len() as u64,
                rows_after,
                recorded: false,
            });
        }
        versions.push(now);
    }
    Ok(versions)
}

/// Takes up an unfinished erasure: a file rewritten but not marked in the journal (the
/// process stopped between the two) is marked, and rewrites the ledger missed are recorded.
/// Returns what earlier attempts removed.
fn settle(
    journal: &mut Journal,
    ledger: &Ledger,
    root: &Path,
    roots: &crate::policy::DataRoots,
    subject: &str,
) -> Result<Vec<Removed>, SubjectError> {
    let records = ledger.load()?;
    let versions = mark_rewritten(journal, root, roots)?;
    let mut finished = Vec::new();
    let mut removed = Vec::new();
    for (e, now) in journal.files.iter_mut().zip(versions) {
        // A temporary file of an attempt that was killed.
        crate::fsio::remove_leftovers(&root.join(&e.path));
        let present = now.is_some();
        let Some(d) = e.done.as_ref() else {
            continue;
        };
        let f = Finished {
            before: ArtifactRef {
                path: e.path.clone(),
                digest: e.digest_before.clone(),
            },
            after: match now {
                Some(v) => v,
                None => Version {
                    reference: ArtifactRef {
                        path: e.path.clone(),
                        digest: d.digest_after.clone(),
                    },
                    size: 0,
                    format: String::new(),
                    role: "dataset",
                    schema: Vec::new(),
                },
            },
            rows_before: d.rows_before,
            rows_after: d.rows_after,
        };
        removed.push(f.removed());
        // Recorded by an earlier attempt whose journal update was lost.
        let in_ledger = records.iter().any(|r| {
            matches!(&r.body, crate::ledger::Body::Execution(x)
                if x.kind == "erasure" && x.outputs.contains(&f.after.reference))
        });
        if !d.recorded && !in_ledger && present {
            finished.push(f);
        } else if let Some(d) = e.done.as_mut() {
            d.recorded = true;
        }
    }
    journal.save()?;
    record_erasure(ledger, &records, subject, finished, journal).map_err(SubjectError::Usage)?;
    Ok(removed)
}

/// The subject as stored in the ledger: `sha256:` of the salt and the normalised identities.
pub fn salted_subject(salt: &[u8], identities: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    for i in identities {
        h.update([0]);
        h.update(i.as_bytes());
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// The certificate's predicate.
#[derive(Debug, Clone, Serialize)]
pub struct Certificate {
    pub tool: serde_json::Value,
    pub time: String,
    /// `complete`, or `incomplete` when a step failed (a re-run finishes the job).
    pub status: &'static str,
    pub identity: Vec<super::IdentityOut>,
    pub subject: String,
    /// Hex; with the identities, it gives back `subject`. Keep the certificate as safe as the
    /// request itself.
    pub salt: String,
    pub plan: Plan,
    pub applied: Applied,
    /// The ledger as the erasure left it (its erasure record last): `verify --ledger` checks
    /// that the ledger still holds it.
    pub ledger: crate::ledger::Pin,
}

/// Writes `certificate.json`, and `certificate.dsse.json` signed with `key` when given.
pub fn write_certificate(
    cert: &Certificate,
    out: &Path,
    key: Option<&PathBuf>,
) -> Result<Vec<PathBuf>, SubjectError> {
    let mut written = Vec::new();
    let json = serde_json::to_vec_pretty(cert).map_err(SubjectError::internal)?;
    let path = out.join("certificate.json");
    crate::fsio::write_atomic(&path, &json).map_err(SubjectError::file(&path))?;
    written.push(path);
    if let Some(key) = key {
        let signing = crate::sign::load_signing_key(key)?;
        // A file's sha256; a table's version (`rows-sha256:`) is signed under its own digest
        // name, never passed off as a file's sha256 ([`crate::sign::TABLE_DIGEST`]).
        let subjects: Vec<(String, String)> = cert
            .applied
            .removed
            .iter()
            .map(|r| (&r.path, &r.digest_after))
            .chain(cert.applied.recomputed.iter().map(|r| (&r.path, &r.digest)))
            .filter_map(|(path, digest)| {
                if let Some(hex) = digest.strip_prefix("sha256:") {
                    Some((path.clone(), hex.to_string()))
                } else {
                    digest
                        .starts_with(crate::source::db::ROWS_VERSION)
                        .then(|| (path.clone(), digest.clone()))
                }
            })
            .collect();
        let predicate = serde_json::to_value(cert).map_err(SubjectError::internal)?;
        let statement =
            crate::sign::statement_of(crate::sign::ERASURE_PREDICATE_TYPE, &subjects, &predicate);
        let payload = serde_json::to_vec(&statement).map_err(SubjectError::internal)?;
        let env = crate::sign::sign(&payload, &signing);
        let path = out.join("certificate.dsse.json");
        let text = serde_json::to_vec_pretty(&env).map_err(SubjectError::internal)?;
        crate::fsio::write_atomic(&path, &text).map_err(SubjectError::file(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// The plan for a request: a fresh search, and the journal of an unfinished erasure of the
/// same request if there is one (read only: nothing is changed).
pub fn plan_for(req: &super::Request, records: &[Record]) -> Result<Plan, SubjectError> {
    let report = super::find(req, records)?;
    let mut journal = Journal::load(&req.root, &journal::request_key(&super::given(req)?))?;
    if let Some(j) = journal.as_mut() {
        mark_rewritten(j, &req.root, req.roots)?;
    }
    Ok(plan(
        &report,
        records,
        &req.root,
        req.roots,
        journal.as_ref(),
    ))
}

/// `subject erase --apply`: the plan carried out, checked by a second search, certified. An
/// unfinished erasure of the same request (its journal) is taken up and finished.
pub fn erase(
    req: &super::Request,
    ledger: &Ledger,
    out: &Path,
    key: Option<&PathBuf>,
) -> Result<(Certificate, Vec<PathBuf>), SubjectError> {
    if let Some(k) = key {
        // A bad key is found before anything is erased.
        crate::sign::load_signing_key(k)?;
    }
    let request = journal::request_key(&super::given(req)?);
    let mut resumed = Journal::load(&req.root, &request)?;
    // A save of the journal that a kill interrupted left its temporary file (salt and
    // identity hashes): gone before this attempt writes its own.
    crate::fsio::remove_leftovers(&journal::file_of(&req.root, &request));
    let mut settled = Vec::new();
    if let Some(j) = resumed.as_mut() {
        let subject = subject_of(j)?;
        settled = settle(j, ledger, &req.root, req.roots, &subject)?;
    }
    let records = ledger.load()?;
    let report = super::find(req, &records)?;
    let plan = plan(&report, &records, &req.root, req.roots, resumed.as_ref());
    if let Some(u) = plan.unresolved.iter().find(|u| u.refuses) {
        return Err(SubjectError::Usage(format!(
            "{}: {}; nothing was erased",
            u.path, u.reason
        )));
    }
    if resumed.is_some() {
        // What a killed re-run of a step left beside its output.
        for r in &plan.recompute {
            if !crate::source::location::is_object(&r.path) {
                crate::fsio::remove_leftovers(&req.root.join(&r.path));
            }
        }
    }
    let mut journal = match resumed {
        Some(j) => j,
        None => {
            let mut salt = [0u8; 16];
            getrandom::fill(&mut salt)
                .map_err(|e| SubjectError::Internal(format!("no randomness: {e}")))?;
            Journal::new(
                &req.root,
                request,
                hex::encode(salt),
                report.identity.clone(),
            )
        }
    };
    let subject = subject_of(&journal)?;
    let mut applied = Applied {
        removed: Vec::new(),
        recomputed: Vec::new(),
        verified: false,
        remaining: Vec::new(),
        failed: None,
    };
    // Each file's version before, in the journal before anything is rewritten.
    for d in &plan.delete {
        match journal.entry_mut(&d.path) {
            Some(e) => e.rows = d.rows.clone(),
            None => match version_of(&req.root, req.roots, &d.path) {
                Ok(Some(v)) => journal.files.push(journal::Entry {
                    path: d.path.clone(),
                    digest_before: v.reference.digest,
                    rows: d.rows.clone(),
                    done: None,
                }),
                Ok(None) => {
                    applied.failed = Some(format!("{}: it is gone", d.path));
                    break;
                }
                Err(e) => {
                    applied.failed = Some(e.to_string());
                    break;
                }
            },
        }
    }
    if applied.failed.is_none()
        && !plan.delete.is_empty()
        && let Err(e) = journal.save()
    {
        applied.failed = Some(format!(
            "writing the erasure journal: {e}; nothing was erased"
        ));
    }
    if applied.failed.is_none() {
        applied = apply(
            &plan,
            &records,
            &subject,
            ledger,
            &req.root,
            req.roots,
            &mut journal,
        );
    }
    applied.removed.splice(0..0, settled);
    if applied.failed.is_none() {
        let records = ledger.load()?;
        let again = super::find(req, &records)?;
        applied.remaining = again
            .artifacts
            .iter()
            .filter(|a| a.matched != Match::TrainedOn)
            .map(|a| a.path.clone())
            .collect();
        applied.verified = applied.remaining.is_empty();
    }
    let ledger = ledger.verify()?.pin();
    let cert = Certificate {
        tool: serde_json::json!({"name": "piitrail", "version": env!("CARGO_PKG_VERSION")}),
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        status: if applied.failed.is_none() {
            "complete"
        } else {
            "incomplete"
        },
        identity: journal.identity.clone(),
        subject,
        salt: journal.salt.clone(),
        plan,
        applied,
        ledger,
    };
    let written = write_certificate(&cert, out, key)?;
    if cert.applied.failed.is_none() {
        journal.remove()?;
    }
    Ok((cert, written))
}

/// The salted subject of a journal's identities.
fn subject_of(journal: &Journal) -> Result<String, SubjectError> {
    let salt = hex::decode(&journal.salt)
        .map_err(|e| SubjectError::Usage(format!("{}: bad salt: {e}", journal.file.display())))?;
    let mut values: Vec<String> = journal
        .identity
        .iter()
        .map(|i| format!("{}={}", i.category, i.value_hash))
        .collect();
    values.sort();
    Ok(salted_subject(&salt, &values))
}
