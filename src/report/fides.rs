//! fideslang dataset manifests (`piitrail export fides`): one per dataset that piitrail.toml
//! declares or a recorded scan found personal data in, with one collection (the file or table)
//! whose fields carry the categories declared and detected, in the fideslang `user.*` taxonomy
//! piitrail's categories come from. Written as YAML (every scalar double-quoted, which JSON's
//! string escapes are valid for), so Fides and the `fideslang` package read them.

use std::collections::{BTreeMap, BTreeSet};

use super::ropa::Processing;

/// One manifest: its file name and its YAML text.
pub struct Manifest {
    pub fides_key: String,
    pub yaml: String,
}

/// A fides_key (`[A-Za-z0-9_.-]`) from a path: other characters become `_`.
fn key(project: &str, path: &str) -> String {
    format!("{project}.{path}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The collection's name: a file's name without its extension, a table's name.
fn collection(artifact: &str) -> &str {
    let last = artifact.rsplit('/').next().unwrap_or(artifact);
    if artifact.contains(':') {
        last.rsplit('.').next().unwrap_or(last)
    } else {
        last.split('.').next().unwrap_or(last)
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serialises")
}

/// The manifests of the record of processing's datasets: for each covered artifact its fields
/// (the columns whose categories are declared or detected).
pub fn manifests(project: &str, record: &[Processing]) -> Vec<Manifest> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for p in record {
        for artifact in &p.artifacts {
            if !seen.insert(artifact.clone()) {
                continue;
            }
            let mut fields: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for c in &p.categories {
                for column in &c.columns {
                    fields.entry(column).or_default().insert(&c.category);
                }
            }
            let fides_key = key(project, artifact);
            let collection = collection(artifact);
            let mut y = String::from("dataset:\n");
            y.push_str(&format!("- fides_key: {}\n", quoted(&fides_key)));
            y.push_str(&format!("  name: {}\n", quoted(artifact)));
            let description = match (&p.purpose, &p.legal_basis) {
                (Some(purpose), Some(basis)) => format!("{purpose} (legal basis: {basis})"),
                _ => "personal data found by piitrail; no [[dataset]] declaration".to_string(),
            };
            y.push_str(&format!("  description: {}\n", quoted(&description)));
            if let Some(r) = &p.retention {
                y.push_str(&format!("  retention: {}\n", quoted(r)));
            }
            y.push_str("  collections:\n");
            y.push_str(&format!("  - name: {}\n", quoted(collection)));
            y.push_str(if fields.is_empty() {
                "    fields: []\n"
            } else {
                "    fields:\n"
            });
            for (name, categories) in &fields {
                y.push_str(&format!("    - name: {}\n", quoted(name)));
                y.push_str("      data_categories:\n");
                for c in categories {
                    y.push_str(&format!("      - {}\n", quoted(c)));
                }
            }
            out.push(Manifest { fides_key, yaml: y });
        }
    }
    out
}
