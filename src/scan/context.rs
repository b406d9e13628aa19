//! Table context: a column judged with its table, and person keys found by reference.
//!
//! After a file's columns have their tags ([`super::verdict::tags`]), the table is judged
//! ([`judge`]): about people when a sibling column carries a person signal (a name, a birth
//! date, a national id; `person_signals` of `rules/tables.toml`) from a rule that holds
//! anywhere, else by its name (the dictionaries of `rules/tables.toml`). Tags of rules that
//! hold only in some tables (`context = "person"` or `"not_lookup"`) are kept or dropped by that
//! judgement, and say it in `evidence.context`.
//!
//! When several files are scanned together, a column whose name points at a person by a role
//! (`manager_id`, `ReportsTo`, `approved_by`) or by a person table's word (`teacher_id`), and
//! whose distinct values are keys of a table about people, is a person key by reference
//! ([`references`]): `user.unique_id`, `basis: "reference"`, the key in `evidence.references`.
//! A foreign key a database declares to a person key is one too, whatever the column's name
//! and values (the catalog says what it holds).

use super::{ArtifactScan, ColumnScan};
use crate::ledger::Basis;
use crate::ledger::{ColumnTag, Evidence};
use crate::rules::{RuleSet, TableKind};

/// The category of a person key.
const PERSON_KEY: &str = "user.unique_id";
/// The rule whose category a reference carries.
const PERSON_KEY_RULE: &str = "person-key";
/// Share of a column's distinct values that must be keys of the person table.
const MIN_INCLUSION: f64 = 0.95;
/// Confidence of a person key by reference: a role name and its values together.
const REFERENCE_CONFIDENCE: f64 = 0.8;
/// Confidence of a person key by a foreign key the database declares: the schema itself says
/// the column holds the person table's keys.
const DECLARED_CONFIDENCE: f64 = 0.9;

/// A column found to hold the keys of a person table.
struct Found {
    scan: usize,
    column: usize,
    /// The person key it refers to, `table.column`.
    key: String,
    reason: String,
    confidence: f64,
}

/// `table.column` of a scanned column, as evidence names a person key.
fn key_name(scan: &ArtifactScan, column: usize) -> String {
    format!(
        "{}.{}",
        table_name(&scan.artifact),
        scan.columns[column].name
    )
}

/// The table's name as the dictionaries read it: the file name without folders and
/// extension (`data/HR_Employees.csv` → `HR_Employees`).
pub fn table_name(artifact: &str) -> &str {
    // A database table's name comes last: `sqlite:PATH.TABLE`, `postgres://H:P/DB.SCHEMA.TABLE`.
    if ["sqlite:", "postgres://", "mysql://"]
        .iter()
        .any(|p| artifact.starts_with(p))
    {
        return artifact.rsplit('.').next().unwrap_or(artifact);
    }
    let file = artifact.rsplit(['/', '\\']).next().unwrap_or(artifact);
    file.split('.').next().unwrap_or(file)
}

/// Judges the table and keeps or drops the tags of rules with a `context`.
pub fn judge(rules: &RuleSet, table: &str, columns: &mut [ColumnScan]) -> TableKind {
    let tables = &rules.tables;
    let context_of = |t: &ColumnTag| rules.get(&t.rule).and_then(|r| r.context);
    let signals: Vec<String> = columns
        .iter()
        .filter_map(|c| {
            c.tags
                .iter()
                .find(|t| {
                    context_of(t).is_none()
                        && t.evidence.basis != Basis::FreeText
                        && tables.is_person_signal(&t.category)
                })
                .map(|t| format!("{} ({})", c.name, t.category))
        })
        .collect();
    let (kind, why) = if !signals.is_empty() {
        (
            TableKind::Person,
            format!(
                "person table: sibling column{} {}",
                if signals.len() > 1 { "s" } else { "" },
                signals.join(", ")
            ),
        )
    } else {
        match tables.kind_by_name(table) {
            (TableKind::Unknown, _) | (_, None) => (
                TableKind::Unknown,
                "table of unknown kind: no person signal, name not known".to_string(),
            ),
            (kind, Some(word)) => (
                kind,
                format!("{} table: its name says '{word}'", kind.as_str()),
            ),
        }
    };
    for c in columns.iter_mut() {
        c.tags
            .retain(|t| context_of(t).is_none_or(|cx| cx.holds_in(kind)));
        for t in &mut c.tags {
            if context_of(t).is_some() {
                t.evidence.context = Some(why.clone());
            }
        }
    }
    kind
}

/// Tags the person keys by reference among files scanned together.
pub fn references(rules: &RuleSet, scans: &mut [ArtifactScan]) {
    // The keys: columns of tables about people tagged as person keys.
    let mut keys: Vec<(usize, usize)> = Vec::new();
    for (si, s) in scans.iter().enumerate() {
        if s.table_kind != Some(TableKind::Person) {
            continue;
        }
        for (ci, c) in s.columns.iter().enumerate() {
            let keyed = c
                .tags
                .iter()
                .any(|t| t.category == PERSON_KEY && t.evidence.basis != Basis::Reference);
            if keyed && s.keys.get(ci).is_some_and(|k| !k.hashes.is_empty()) {
                keys.push((si, ci));
            }
        }
    }
    if keys.is_empty() {
        return;
    }
    let mut found: Vec<Found> = Vec::new();
    // A foreign key the catalog declares needs no name and no values: the schema says it.
    for (si, s) in scans.iter().enumerate() {
        for fk in &s.foreign_keys {
            let Some(ci) = s.columns.iter().position(|c| c.name == fk.column) else {
                continue;
            };
            let target = keys.iter().find(|&&(ks, kc)| {
                scans[ks].artifact == fk.artifact && scans[ks].columns[kc].name == fk.to
            });
            if let Some(&(ks, kc)) = target {
                let key = key_name(&scans[ks], kc);
                found.push(Found {
                    scan: si,
                    column: ci,
                    reason: format!("a declared foreign key to {key}, a person key"),
                    key,
                    confidence: DECLARED_CONFIDENCE,
                });
            }
        }
    }
    for (si, s) in scans.iter().enumerate() {
        for (ci, c) in s.columns.iter().enumerate() {
            if c.tags.iter().any(|t| t.category == PERSON_KEY)
                || found.iter().any(|f| (f.scan, f.column) == (si, ci))
            {
                continue;
            }
            let Some(role) = rules.tables.role_in(&rules.normalise_name(&c.name)) else {
                continue;
            };
            let Some(values) = s.keys.get(ci).filter(|k| !k.hashes.is_empty()) else {
                continue;
            };
            let best = keys
                .iter()
                .filter(|&&(ks, kc)| (ks, kc) != (si, ci))
                .map(|&(ks, kc)| (values.included_in(&scans[ks].keys[kc]), ks, kc))
                .filter(|(share, _, _)| *share >= MIN_INCLUSION)
                .max_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((_, ks, kc)) = best {
                found.push(Found {
                    scan: si,
                    column: ci,
                    key: key_name(&scans[ks], kc),
                    reason: format!("the name says '{role}'; its distinct values are keys there"),
                    confidence: REFERENCE_CONFIDENCE,
                });
            }
        }
    }
    let class = rules
        .get(PERSON_KEY_RULE)
        .map(|r| r.gdpr_class)
        .unwrap_or(crate::rules::GdprClass::Personal);
    for f in found {
        let (si, ci) = (f.scan, f.column);
        if scans[si].columns[ci]
            .tags
            .iter()
            .any(|t| t.category == PERSON_KEY)
        {
            continue;
        }
        let distinct = scans[si].keys.get(ci).map_or(0, |k| k.hashes.len() as u64);
        let col = &mut scans[si].columns[ci];
        col.tags.push(ColumnTag {
            category: PERSON_KEY.into(),
            gdpr_class: class,
            confidence: f.confidence,
            rule: PERSON_KEY_RULE.into(),
            evidence: Evidence {
                name_match: true,
                matched: distinct,
                non_null: distinct,
                basis: Basis::Reference,
                reason: Some(f.reason),
                checksum: None,
                context: None,
                references: Some(f.key),
            },
        });
        col.tags.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then_with(|| a.category.cmp(&b.category))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::matcher::KeySet;
    use super::*;

    #[test]
    fn a_table_name_is_the_file_stem() {
        assert_eq!(table_name("data/HR_Employees.csv"), "HR_Employees");
        assert_eq!(table_name("exports\\klanten.parquet"), "klanten");
        assert_eq!(table_name("regions"), "regions");
        assert_eq!(table_name("sqlite:data/app.db.customers"), "customers");
        assert_eq!(
            table_name("postgres://db:5432/shop.public.orders"),
            "orders"
        );
    }

    #[test]
    fn key_sets_measure_inclusion() {
        let mut a = KeySet::default();
        let mut b = KeySet::default();
        a.hashes.extend([1, 2, 3]);
        for v in 1..=10u64 {
            b.hashes.insert(v);
        }
        assert_eq!(a.included_in(&b), 1.0);
        assert!(b.included_in(&a) < 0.5);
    }
}
