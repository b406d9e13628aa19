//! The record of processing activities (GDPR Art. 30) the audit files: one entry per declared
//! `[[dataset]]` of piitrail.toml and one per dataset that holds personal data without one,
//! with what the declaration says (purpose, legal basis, subjects, retention, recipients,
//! transfers, security), the categories declared and detected, what was detected but not
//! declared, the Art. 9 and Art. 10 conditions, and where the data goes (the downstream datasets
//! and models it reaches). `ropa.csv` is the same, one row per dataset and category, for the
//! spreadsheet DPOs keep.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Artifact, is_detected};
use crate::ledger::Role;
use crate::policy::{ColumnDeclaration, Config, Declaration, Transfer, class_of};
use crate::rules::{GdprClass, RuleSet};

#[derive(Debug, Clone, Serialize)]
pub struct Processing {
    /// The declaration's path (a path or a glob), or the path of a dataset without one.
    pub dataset: String,
    /// The current datasets it covers.
    pub artifacts: Vec<String>,
    /// Whether piitrail.toml declares it (`[[dataset]]`, at `line`).
    pub declared: bool,
    pub line: Option<usize>,
    pub purpose: Option<String>,
    pub legal_basis: Option<String>,
    pub subjects: Vec<String>,
    pub retention: Option<String>,
    pub recipients: Vec<String>,
    pub transfers: Vec<Transfer>,
    pub security: Vec<String>,
    /// Declared ∪ detected.
    pub categories: Vec<Category>,
    /// Detected and not declared.
    pub undeclared: Vec<Place>,
    /// Special-category columns with their Art. 9(2) condition (null: none declared).
    pub art9: Vec<Condition>,
    /// Criminal-offence columns with their Art. 10 basis (null: none declared).
    pub art10: Vec<Condition>,
    /// The downstream datasets and models its data reaches.
    pub reaches: Vec<Reach>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Category {
    pub category: String,
    pub gdpr_class: Option<GdprClass>,
    pub columns: Vec<String>,
    pub declared: bool,
    pub detected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Place {
    pub artifact: String,
    pub column: String,
    pub category: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Condition {
    pub column: String,
    pub category: String,
    pub condition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Reach {
    pub path: String,
    pub kind: Role,
}

/// The record, from the declarations and the report's artifacts (their detected tags and
/// upstream paths).
pub fn record(config: &Config, rules: &RuleSet, artifacts: &[Artifact]) -> Vec<Processing> {
    let datasets: Vec<&Artifact> = artifacts
        .iter()
        .filter(|a| a.kind == Role::Dataset)
        .collect();
    let mut out: Vec<Processing> = config
        .datasets
        .iter()
        .map(|d| {
            let covered: Vec<&Artifact> = datasets
                .iter()
                .copied()
                .filter(|a| d.path.matches(&a.path))
                .collect();
            entry(Some(d), d.path.text.clone(), &covered, rules, artifacts)
        })
        .collect();
    for a in &datasets {
        let detected = a.columns.iter().any(|c| c.tags.iter().any(is_detected));
        if detected && !config.datasets.iter().any(|d| d.path.matches(&a.path)) {
            out.push(entry(None, a.path.clone(), &[a], rules, artifacts));
        }
    }
    out
}

fn entry(
    decl: Option<&Declaration>,
    dataset: String,
    covered: &[&Artifact],
    rules: &RuleSet,
    all: &[Artifact],
) -> Processing {
    let mut cats: BTreeMap<String, Category> = BTreeMap::new();
    let mut conditions = Conditions::default();
    let mut undeclared = BTreeSet::new();
    if let Some(d) = decl {
        for (column, c) in &d.columns {
            for category in &c.categories {
                let class = class_of(rules, category);
                mark(&mut cats, category, class, column).declared = true;
                if let Some(class) = class {
                    conditions.note(class, column, category, Some(c), false);
                }
            }
        }
    }
    for a in covered {
        for col in &a.columns {
            for t in col.tags.iter().filter(|t| is_detected(t)) {
                mark(&mut cats, &t.category, Some(t.gdpr_class), &col.name).detected = true;
                let declared = decl
                    .and_then(|d| d.columns.get(&col.name))
                    .filter(|c| c.covers(&t.category));
                if declared.is_none() {
                    undeclared.insert(Place {
                        artifact: a.path.clone(),
                        column: col.name.clone(),
                        category: t.category.clone(),
                    });
                }
                conditions.note(t.gdpr_class, &col.name, &t.category, declared, true);
            }
        }
    }
    let paths: BTreeSet<&str> = covered.iter().map(|a| a.path.as_str()).collect();
    let reaches: BTreeSet<Reach> = all
        .iter()
        .filter(|a| !paths.contains(a.path.as_str()) && !a.tags.is_empty())
        .filter(|a| a.upstream.iter().any(|u| paths.contains(u.as_str())))
        .map(|a| Reach {
            path: a.path.clone(),
            kind: a.kind,
        })
        .collect();
    Processing {
        dataset,
        artifacts: paths.iter().map(|p| p.to_string()).collect(),
        declared: decl.is_some(),
        line: decl.map(|d| d.line),
        purpose: decl.map(|d| d.purpose.clone()),
        legal_basis: decl.map(|d| d.legal_basis.clone()),
        subjects: decl.map(|d| d.subjects.clone()).unwrap_or_default(),
        retention: decl.and_then(|d| d.retention.clone()),
        recipients: decl.map(|d| d.recipients.clone()).unwrap_or_default(),
        transfers: decl.map(|d| d.transfers.clone()).unwrap_or_default(),
        security: decl.map(|d| d.security.clone()).unwrap_or_default(),
        categories: cats.into_values().collect(),
        undeclared: undeclared.into_iter().collect(),
        art9: conditions.art9.into_iter().collect(),
        art10: conditions.art10.into_iter().collect(),
        reaches: reaches.into_iter().collect(),
    }
}

/// The record's entry for `category`, made on first sight, with `column` among its columns.
fn mark<'a>(
    cats: &'a mut BTreeMap<String, Category>,
    category: &str,
    class: Option<GdprClass>,
    column: &str,
) -> &'a mut Category {
    let e = cats
        .entry(category.to_string())
        .or_insert_with(|| Category {
            category: category.to_string(),
            gdpr_class: class,
            columns: Vec::new(),
            declared: false,
            detected: false,
        });
    if !e.columns.iter().any(|c| c == column) {
        e.columns.push(column.to_string());
    }
    e
}

/// The Art. 9 and Art. 10 columns of an entry, with the condition their declaration gives.
#[derive(Default)]
struct Conditions {
    art9: BTreeSet<Condition>,
    art10: BTreeSet<Condition>,
}

impl Conditions {
    /// Notes a special-category or criminal column (other classes are not noted); with
    /// `first`, only when its column has none yet.
    fn note(
        &mut self,
        class: GdprClass,
        column: &str,
        category: &str,
        declared: Option<&ColumnDeclaration>,
        first: bool,
    ) {
        let (set, condition) = match class {
            GdprClass::Special => (
                &mut self.art9,
                declared.and_then(|c| c.art9_condition.clone()),
            ),
            GdprClass::Criminal => (
                &mut self.art10,
                declared.and_then(|c| c.art10_basis.clone()),
            ),
            _ => return,
        };
        if first && set.iter().any(|c| c.column == column) {
            return;
        }
        set.insert(Condition {
            column: column.to_string(),
            category: category.to_string(),
            condition,
        });
    }
}

/// `ropa.csv`: one row per dataset and category (a dataset without any, one row).
pub fn to_csv(record: &[Processing]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "dataset",
        "declared",
        "purpose",
        "legal_basis",
        "subjects",
        "retention",
        "recipients",
        "transfers",
        "security",
        "category",
        "gdpr_class",
        "columns",
        "category_declared",
        "category_detected",
        "art9_condition_or_art10_basis",
        "reaches",
    ])?;
    let join = |v: &[String]| v.join("; ");
    for p in record {
        let transfers: Vec<String> = p
            .transfers
            .iter()
            .map(|t| format!("{} ({})", t.country, t.safeguard))
            .collect();
        let reaches: Vec<String> = p.reaches.iter().map(|r| r.path.clone()).collect();
        let rows: Vec<Option<&Category>> = if p.categories.is_empty() {
            vec![None]
        } else {
            p.categories.iter().map(Some).collect()
        };
        for c in rows {
            let condition = c
                .map(|c| {
                    p.art9
                        .iter()
                        .chain(&p.art10)
                        .filter(|x| x.category == c.category)
                        .map(|x| {
                            format!(
                                "{}: {}",
                                x.column,
                                x.condition.as_deref().unwrap_or("none declared")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            let yes = |b: bool| if b { "yes" } else { "no" };
            w.write_record([
                p.dataset.as_str(),
                yes(p.declared),
                p.purpose.as_deref().unwrap_or(""),
                p.legal_basis.as_deref().unwrap_or(""),
                &join(&p.subjects),
                p.retention.as_deref().unwrap_or(""),
                &join(&p.recipients),
                &transfers.join("; "),
                &join(&p.security),
                c.map_or("", |c| c.category.as_str()),
                c.and_then(|c| c.gdpr_class).map_or("", |g| g.as_str()),
                &c.map(|c| c.columns.join("; ")).unwrap_or_default(),
                c.map_or("", |c| yes(c.declared)),
                c.map_or("", |c| yes(c.detected)),
                &condition,
                &reaches.join("; "),
            ])?;
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}
