//! The plan: files and rows to delete, steps to re-run, models to retrain.

use super::*;
use crate::ledger::{ExecutionKind, Role};

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
pub(super) fn rewritable(
    root: &Path,
    roots: &crate::source::DataRoots,
    path: &str,
) -> Result<Option<String>, Unresolved> {
    let file = root.join(path);
    let is_link = std::fs::symlink_metadata(&file).is_ok_and(|m| m.file_type().is_symlink());
    let target = crate::source::roots::resolve(&file);
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
pub(super) fn version_of(
    root: &Path,
    roots: &crate::source::DataRoots,
    path: &str,
) -> Result<Option<Version>, SubjectError> {
    Ok(match Dataset::find_inside(root, roots, path)? {
        None => None,
        Some(Dataset::File(file)) => Some(Version::of(&file, root, "dataset", Role::Dataset)?),
        #[cfg(feature = "objects")]
        Some(Dataset::Object(o)) => Some(object_version(&o.copy.url, &o.copy)),
        Some(Dataset::Table { db, table }) => Some(Version {
            reference: ArtifactRef {
                path: path.to_string(),
                digest: db.version(&table)?,
            },
            size: 0,
            format: db.format().into(),
            role: Role::Dataset,
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
pub(super) fn object_version(url: &str, copy: &crate::source::objects::Fetched) -> Version {
    Version {
        reference: ArtifactRef {
            path: url.to_string(),
            digest: copy.digest.clone(),
        },
        size: copy.source.size,
        format: copy.source.format.as_str().into(),
        role: Role::Dataset,
        schema: Vec::new(),
    }
}

/// A database table with the subject's rows: erased in the database (inside the data roots,
/// a table with rowids), else listed by hand.
pub(super) fn table_delete(
    root: &Path,
    roots: &crate::source::DataRoots,
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
pub(super) fn sql_steps(records: &[Record]) -> Vec<&ExecutionRecord> {
    live_executions_of(records)
        .into_iter()
        .filter(|x| x.kind == ExecutionKind::Sql)
        .collect()
}

pub(super) fn replayable(x: &ExecutionRecord) -> bool {
    matches!(x.code, Some(crate::ledger::Code::Sql(_))) && x.tables.len() == x.inputs.len()
}

/// What erasing the subject takes. With the journal of an unfinished erasure of the same
/// request, its pending rows are added (the files it already rewrote only have their
/// downstream steps re-run, where they have not been).
pub fn plan(
    report: &Report,
    records: &[Record],
    root: &Path,
    roots: &crate::source::DataRoots,
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

/// The plan for a request: a fresh search, and the journal of an unfinished erasure of the
/// same request if there is one (read only: nothing is changed).
pub fn plan_for(req: &super::super::Request, records: &[Record]) -> Result<Plan, SubjectError> {
    let report = super::super::find(req, records)?;
    let mut journal = Journal::load(&req.root, &journal::request_key(&super::super::given(req)?))?;
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
