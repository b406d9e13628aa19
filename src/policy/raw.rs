//! The configuration as written in piitrail.toml: what serde reads, before validation.

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) project: Option<RawProject>,
    /// Read first, on its own, by [`project_rules`].
    #[serde(default, rename = "scan")]
    pub(super) _scan: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub(super) policy: Option<RawPolicy>,
    #[serde(default)]
    pub(super) dataset: Vec<Spanned<RawDataset>>,
}

/// `[scan]`: the project's rule set, which every command uses.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScan {
    #[serde(default)]
    pub(super) rules: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) no_builtin_rules: bool,
}

/// Only `[scan]` of piitrail.toml, read before the rest (the rest is validated against the
/// rules it names).
#[derive(Deserialize)]
pub(super) struct ScanOnly {
    #[serde(default)]
    pub(super) scan: Option<RawScan>,
}

/// The rule set of the project at `root`, for every command: the built-in pack unless
/// `[scan] no_builtin_rules` (or `no_builtin`) says otherwise, then the rule files of
/// `[scan] rules` (folders or files relative to the project), then `extra` (`--rules`). A
/// project without piitrail.toml has the built-in pack and `extra`. A rules path that is not
/// there is a problem of the file, named by its place.
pub fn project_rules(
    root: &Path,
    extra: &[PathBuf],
    no_builtin: bool,
) -> Result<RuleSet, PolicyError> {
    let path = root.join("piitrail.toml");
    let (mut builtin, mut paths) = (!no_builtin, Vec::new());
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mut v = Validator {
                text: &text,
                problems: Vec::new(),
            };
            match toml::from_str::<ScanOnly>(&text) {
                Ok(ScanOnly { scan: Some(scan) }) => {
                    builtin &= !scan.no_builtin_rules;
                    for (i, r) in scan.rules.iter().enumerate() {
                        let key = format!("scan.rules[{i}]");
                        let Some(rel) = v.non_empty(r, &key) else {
                            continue;
                        };
                        let full = root.join(&rel);
                        if full.exists() {
                            paths.push(full);
                        } else {
                            v.problem(
                                r.span().start,
                                &key,
                                format!("{rel}: no such rule folder or file in the project"),
                            );
                        }
                    }
                }
                Ok(ScanOnly { scan: None }) => {}
                // The whole file's problems, with their places, from the full parse.
                Err(_) => {
                    Config::parse(&path, &text, &crate::rules::builtin()?)?;
                }
            }
            if !v.problems.is_empty() {
                return Err(PolicyError::Invalid {
                    path,
                    problems: v.problems,
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(PolicyError::Read { path, source: e }),
    }
    paths.extend(extra.iter().cloned());
    Ok(crate::rules::load(&crate::rules::Sources {
        builtin,
        extra: paths,
    })?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProject {
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) data_roots: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub(super) min_group_size: Option<u64>,
    pub(super) require_declaration: Option<bool>,
    pub(super) min_confidence: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) severity: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(super) allow: Vec<Spanned<RawAllow>>,
    #[serde(default)]
    pub(super) flow: Vec<Spanned<RawFlow>>,
    #[serde(default)]
    pub(super) waiver: Vec<Spanned<RawWaiver>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAllow {
    pub(super) path: Spanned<String>,
    pub(super) categories: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFlow {
    pub(super) id: Spanned<String>,
    #[serde(default)]
    pub(super) category: Option<Spanned<String>>,
    pub(super) to: Option<Spanned<String>>,
    pub(super) kind: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) status: Vec<Spanned<String>>,
    pub(super) severity: Option<Spanned<String>>,
    pub(super) reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWaiver {
    pub(super) rule: Spanned<String>,
    pub(super) path: Spanned<String>,
    pub(super) column: Option<String>,
    pub(super) category: Option<Spanned<String>>,
    pub(super) reason: Spanned<String>,
    pub(super) expires: Spanned<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDataset {
    pub(super) path: Spanned<String>,
    pub(super) purpose: Spanned<String>,
    pub(super) legal_basis: Spanned<String>,
    pub(super) retention: Option<String>,
    #[serde(default)]
    pub(super) subjects: Vec<String>,
    #[serde(default)]
    pub(super) primary_key: Vec<String>,
    #[serde(default)]
    pub(super) references: BTreeMap<String, Spanned<String>>,
    /// Applies to every special-category column of the dataset that does not name its own.
    pub(super) art9_condition: Option<Spanned<String>>,
    pub(super) art10_basis: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) columns: BTreeMap<String, Spanned<RawColumn>>,
    #[serde(default)]
    pub(super) recipients: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) transfers: Vec<Spanned<RawTransfer>>,
    #[serde(default)]
    pub(super) security: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTransfer {
    pub(super) country: Spanned<String>,
    pub(super) safeguard: Spanned<String>,
}

/// A column declaration: `"user.contact.email"`, a list of categories, or a table.
pub(super) struct RawColumn {
    pub(super) categories: Vec<Spanned<String>>,
    pub(super) art9_condition: Option<Spanned<String>>,
    pub(super) art10_basis: Option<Spanned<String>>,
    pub(super) legal_basis: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawColumnTable {
    pub(super) category: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) categories: Vec<Spanned<String>>,
    pub(super) art9_condition: Option<Spanned<String>>,
    pub(super) art10_basis: Option<Spanned<String>>,
    pub(super) legal_basis: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for RawColumn {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<RawColumn, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawColumn;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a category, a list of categories, or a table with `categories`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawColumn, E> {
                // The span of the whole value is the string's; the caller keeps it.
                Ok(RawColumn {
                    categories: vec![Spanned::new(0..0, s.to_string())],
                    art9_condition: None,
                    art10_basis: None,
                    legal_basis: None,
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawColumn, A::Error> {
                let mut categories = Vec::new();
                while let Some(c) = seq.next_element::<Spanned<String>>()? {
                    categories.push(c);
                }
                Ok(RawColumn {
                    categories,
                    art9_condition: None,
                    art10_basis: None,
                    legal_basis: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawColumn, A::Error> {
                let t = RawColumnTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let mut categories = t.categories;
                if let Some(c) = t.category {
                    categories.insert(0, c);
                }
                Ok(RawColumn {
                    categories,
                    art9_condition: t.art9_condition,
                    art10_basis: t.art10_basis,
                    legal_basis: t.legal_basis,
                })
            }
        }
        d.deserialize_any(V)
    }
}
