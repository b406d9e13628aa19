//! Applying a plan: rewrites, tables, replayed steps, each recorded and marked in the journal.

use super::*;
use crate::ledger::{Class, EdgeType, ExecutionKind, Role, Subtype};

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
    roots: &crate::source::DataRoots,
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
pub(super) fn place(root: &Path, path: &str) -> PathBuf {
    if crate::source::location::is_object(path) || crate::source::db::is_table(path) {
        PathBuf::from(path)
    } else {
        root.join(path)
    }
}

/// Why a dataset was not rewritten: `what` (the file, the object) was left as it was.
pub(super) fn not_rewritten(d: &Delete, e: impl std::fmt::Display, what: &str) -> String {
    format!(
        "rewriting {} without {} row(s): {e}; {what} was left as it was",
        d.path,
        d.rows.len()
    )
}

/// Rewrites a data file without the subject's rows: its new version and the row counts
/// before and after.
pub(super) fn rewrite_file(root: &Path, d: &Delete) -> Result<(Version, u64, u64), String> {
    let file = root.join(&d.path);
    let (before, after) = crate::source::rewrite::without_rows(&file, &d.rows)
        .map_err(|e| not_rewritten(d, e, "it"))?;
    let new = Version::of(&file, root, "dataset", Role::Dataset).map_err(|e| e.to_string())?;
    Ok((new, before, after))
}

/// Rewrites an object without the subject's rows: fetched again, checked to be the content
/// the rows were found in, rewritten in its copy and put back only if no one changed it since
/// it was read (a conditional PUT: [`crate::source::objects::Held::replace`]).
#[cfg(feature = "objects")]
pub(super) fn rewrite_object(
    root: &Path,
    roots: &crate::source::DataRoots,
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
pub(super) fn rewrite_object(
    _: &Path,
    _: &crate::source::DataRoots,
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
pub(super) fn erase_tables(
    root: &Path,
    roots: &crate::source::DataRoots,
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
pub(super) struct Finished {
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
pub(super) fn record_erasure(
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
                edge_type: EdgeType::Direct,
                subtype: Subtype::Identity,
                masking: false,
                class: Class::Direct,
                description: Some("rows of other people, unchanged".into()),
            });
        }
    }
    let x = ExecutionRecord {
        id: String::new(),
        kind: ExecutionKind::Erasure,
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
pub(super) fn mark_rewritten(
    journal: &mut Journal,
    root: &Path,
    roots: &crate::source::DataRoots,
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
pub(super) fn settle(
    journal: &mut Journal,
    ledger: &Ledger,
    root: &Path,
    roots: &crate::source::DataRoots,
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
                    role: Role::Dataset,
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
                if x.kind == ExecutionKind::Erasure && x.outputs.contains(&f.after.reference))
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
