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

/// A fideslang manifest, as far as seeding piitrail.toml reads it (other keys are ignored).
#[derive(serde::Deserialize)]
struct FidesFile {
    #[serde(default)]
    dataset: Vec<FidesDataset>,
}

#[derive(serde::Deserialize)]
struct FidesDataset {
    fides_key: String,
    name: Option<String>,
    description: Option<String>,
    retention: Option<String>,
    #[serde(default)]
    collections: Vec<FidesCollection>,
}

#[derive(serde::Deserialize)]
struct FidesCollection {
    name: String,
    #[serde(default)]
    fields: Vec<FidesField>,
}

#[derive(serde::Deserialize)]
struct FidesField {
    name: String,
    #[serde(default)]
    data_categories: Option<Vec<String>>,
    #[serde(default)]
    fields: Option<Vec<FidesField>>,
}

/// A manifest that could not be read, by file and place.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SeedError {
    pub path: std::path::PathBuf,
    pub message: String,
}

/// `[[dataset]]` entries for piitrail.toml from fideslang manifests (`init --from-fides`): one
/// per collection, with the dataset's description as the purpose, its retention, and each
/// field's categories that piitrail knows. Fides keeps no legal basis on a dataset: where the
/// description does not carry one (`export fides` writes `(legal basis: contract)`), the entry
/// is written commented out, to be completed. Nested fields become `parent.child` columns.
pub fn seed(
    files: &[(std::path::PathBuf, String)],
    rules: &crate::rules::RuleSet,
) -> Result<String, SeedError> {
    use crate::policy::gate::toml_key;
    // TOML basic strings take JSON's escapes.
    let q = |s: &str| quoted(s);
    let mut out = String::new();
    for (path, text) in files {
        let file: FidesFile = serde_norway::from_str(text).map_err(|e| SeedError {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if file.dataset.is_empty() {
            return Err(SeedError {
                path: path.clone(),
                message: "no `dataset:` list: not a fideslang dataset manifest".into(),
            });
        }
        for d in &file.dataset {
            for c in &d.collections {
                let (purpose, basis) = purpose_and_basis(d);
                let is_path = d.collections.len() == 1
                    && d.name
                        .as_deref()
                        .is_some_and(|n| n.contains('/') || n.contains('.'));
                let dataset_path = if is_path {
                    d.name.clone().unwrap_or_default()
                } else {
                    c.name.clone()
                };
                let mut columns = Vec::new();
                let mut unknown = BTreeSet::new();
                flatten(&c.fields, "", &mut |name, cats| {
                    let known: Vec<String> = cats
                        .iter()
                        .filter(|k| rules.categories.contains_key(k.as_str()))
                        .map(|k| q(k))
                        .collect();
                    unknown.extend(
                        cats.iter()
                            .filter(|k| !rules.categories.contains_key(k.as_str()))
                            .cloned(),
                    );
                    if !known.is_empty() {
                        columns.push(format!(
                            "columns.{} = [{}]",
                            toml_key(name),
                            known.join(", ")
                        ));
                    }
                });
                let mut entry = vec![
                    "[[dataset]]".to_string(),
                    format!("path = {}", q(&dataset_path)),
                    format!("purpose = {}", q(&purpose)),
                ];
                if let Some(b) = &basis {
                    entry.push(format!("legal_basis = {}", q(b)));
                } else {
                    entry.push("legal_basis = \"\"  # consent | contract | legal_obligation | vital_interests | public_task | legitimate_interests".into());
                }
                if let Some(r) = &d.retention {
                    entry.push(format!("retention = {}", q(r)));
                }
                entry.extend(columns);
                out.push_str(&format!(
                    "\n# From Fides dataset {}, collection {} ({}).\n",
                    q(&d.fides_key),
                    q(&c.name),
                    path.display()
                ));
                if !is_path {
                    out.push_str("# `path` is the collection's name: set it to the file, glob or table piitrail scans.\n");
                }
                if !unknown.is_empty() {
                    let list: Vec<&str> = unknown.iter().map(String::as_str).collect();
                    out.push_str(&format!(
                        "# Categories piitrail does not know, left out: {}.\n",
                        list.join(", ")
                    ));
                }
                if basis.is_none() {
                    out.push_str("# Fides records no legal basis for a dataset: set legal_basis, then uncomment.\n");
                    for line in entry {
                        out.push_str(&format!("# {line}\n"));
                    }
                } else {
                    for line in entry {
                        out.push_str(&line);
                        out.push('\n');
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The purpose and the legal basis a description holds (`PURPOSE (legal basis: BASIS)`).
fn purpose_and_basis(d: &FidesDataset) -> (String, Option<String>) {
    let text = d
        .description
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| format!("from Fides dataset {}", d.fides_key));
    if let Some((purpose, rest)) = text.rsplit_once(" (legal basis: ")
        && let Some(basis) = rest.strip_suffix(')')
        && crate::policy::LEGAL_BASES.contains(&basis)
    {
        return (purpose.to_string(), Some(basis.to_string()));
    }
    (text, None)
}

fn flatten(fields: &[FidesField], prefix: &str, f: &mut impl FnMut(&str, &[String])) {
    for field in fields {
        let name = format!("{prefix}{}", field.name);
        if let Some(cats) = &field.data_categories {
            f(&name, cats);
        }
        if let Some(inner) = &field.fields {
            flatten(inner, &format!("{name}."), f);
        }
    }
}
