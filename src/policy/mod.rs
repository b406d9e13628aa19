//! `piitrail.toml`: the project's name, its record of processing (GDPR Art. 30: which
//! datasets hold which personal data, why, on what legal basis, for how long, about whom) and
//! its policy (what the gate enforces). The gate itself is in [`gate`].
//!
//! Every problem in the file is collected before failing, each with its line, column and key,
//! so that a typo never silently loosens a policy: the gate never passes because its
//! configuration did not load.
//!
//! The file is read as written (`raw`), checked whole (`validate`) and becomes the types the
//! rest of piitrail uses (`model`); this module holds the errors, the vocabularies of the
//! record of processing, and loading.

pub mod gate;

pub use crate::source::DataRoots;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use globset::{Glob, GlobBuilder, GlobMatcher};
use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use crate::propagate::Status;
use crate::rules::{GdprClass, RuleSet};

mod model;
mod raw;
mod validate;

pub use model::*;
pub use raw::project_rules;
use raw::*;
use validate::*;

/// Smallest group an aggregate may publish unless the policy says otherwise.
pub const DEFAULT_MIN_GROUP_SIZE: u64 = 10;

/// One problem in the configuration file, with its place.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    /// The key the problem is about, as a dotted path (`dataset[1].columns.email`).
    pub key: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{} problem(s) in {}:\n{}", .problems.len(), .path.display(), .problems.iter().map(|p| format!("  {}:{}:{}: key `{}`: {}", .path.display(), p.line, p.column, p.key, p.message)).collect::<Vec<_>>().join("\n"))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A rule pack that `[scan] rules` (or `--rules`) names does not load.
    #[error(transparent)]
    Rules(#[from] crate::rules::RuleError),
}

pub use crate::findings::Level;

/// The lawful bases of GDPR Art. 6(1) (a)–(f).
pub const LEGAL_BASES: &[&str] = &[
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
];

/// The conditions of GDPR Art. 9(2) (a)–(j) that lift the ban on special categories.
pub const ART9_CONDITIONS: &[&str] = &[
    "explicit_consent",
    "employment_social_security",
    "vital_interests",
    "not_for_profit_body",
    "made_public",
    "legal_claims",
    "substantial_public_interest",
    "health_or_social_care",
    "public_health",
    "archiving_research_statistics",
];

/// What GDPR Art. 10 allows criminal-offence data under.
pub const ART10_BASES: &[&str] = &["official_authority", "authorised_by_law"];

impl Config {
    /// The defaults of a project without piitrail.toml: strict (declarations required).
    pub fn defaults(root: &Path) -> Config {
        let name = root
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "piitrail project".into());
        Config {
            file: None,
            project: Project {
                name,
                data_roots: Vec::new(),
            },
            policy: Policy::default(),
            datasets: Vec::new(),
        }
    }

    /// Reads `ROOT/piitrail.toml`; a project without one gets the strict defaults.
    pub fn load(root: &Path, rules: &RuleSet) -> Result<Config, PolicyError> {
        let path = root.join("piitrail.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&path, &text, rules),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::defaults(root)),
            Err(e) => Err(PolicyError::Read { path, source: e }),
        }
    }

    /// Reads a given policy file, which must exist.
    pub fn load_file(path: &Path, rules: &RuleSet) -> Result<Config, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(path, &text, rules)
    }

    /// The severity of a rule after the policy's overrides.
    pub fn level(&self, rule: &str) -> Level {
        if let Some(l) = self.policy.severity.get(rule) {
            return *l;
        }
        if let Some(flow) = self
            .policy
            .flows
            .iter()
            .find(|f| rule.strip_prefix("forbidden-flow/") == Some(f.id.as_str()))
        {
            return flow.severity;
        }
        crate::findings::code(rule).map_or(Level::Error, |c| c.level)
    }

    /// The declarations whose path pattern matches `path`.
    pub fn declarations_for<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Declaration> {
        self.datasets.iter().filter(move |d| d.path.matches(path))
    }

    pub fn parse(path: &Path, text: &str, rules: &RuleSet) -> Result<Config, PolicyError> {
        let mut v = Validator {
            text,
            problems: Vec::new(),
        };
        let raw: RawConfig = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let offset = e.span().map_or(0, |s| s.start);
                v.problem(offset, &v.key_at(offset), e.message().to_string());
                return Err(PolicyError::Invalid {
                    path: path.to_path_buf(),
                    problems: v.problems,
                });
            }
        };
        let config = v.validate(raw, rules, path);
        if v.problems.is_empty() {
            Ok(config)
        } else {
            Err(PolicyError::Invalid {
                path: path.to_path_buf(),
                problems: v.problems,
            })
        }
    }
}

/// The GDPR class of a declared category.
pub fn class_of(rules: &RuleSet, category: &str) -> Option<GdprClass> {
    rules.category_class(category)
}

/// The data roots as the project's piitrail.toml names them under `[project] data_roots`.
impl DataRoots {
    /// The roots of the project at `root`, from its piitrail.toml (the project folder alone
    /// when it has none).
    pub fn load(root: &Path, rules: &crate::rules::RuleSet) -> Result<DataRoots, PolicyError> {
        let config = Config::load(root, rules)?;
        Ok(DataRoots::new(root, &config.project.data_roots))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RuleSet {
        crate::rules::builtin().unwrap()
    }

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("piitrail.toml"), text, &rules()).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_strict_and_a_typo_is_named_with_its_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load(dir.path(), &rules()).unwrap();
        assert_eq!(c.policy.min_group_size, 10);
        assert!(c.policy.require_declaration);
        assert!(c.file.is_none());
        let c = parse("[project]\nname = \"shop\"\n\n[policy]\nmin_group_size = 5\n").unwrap();
        assert_eq!(
            (c.project.name.as_str(), c.policy.min_group_size),
            ("shop", 5)
        );
        let e = parse("[policy]\nmin_group_sise = 5\n").unwrap_err();
        assert!(e.contains("piitrail.toml:2:1: key `min_group_sise`"), "{e}");
    }

    #[test]
    fn declarations_in_every_form() {
        let c = parse(
            r#"
[[dataset]]
path = "data/customers.csv"
purpose = "orders"
legal_basis = "contract"
retention = "P6Y"
subjects = ["customers"]
primary_key = ["customer_id"]
references.account_id = "data/accounts.parquet:id"
columns.email = "user.contact.email"
columns.phone = ["user.contact.phone_number", "user.contact"]
columns.diagnosis = { category = "user.health_and_medical", art9_condition = "explicit_consent" }
"#,
        )
        .unwrap();
        let d = &c.datasets[0];
        assert!(d.path.matches("data/customers.csv"));
        assert_eq!(d.columns["email"].categories, ["user.contact.email"]);
        assert_eq!(d.columns["phone"].categories.len(), 2);
        assert_eq!(
            d.columns["diagnosis"].art9_condition.as_deref(),
            Some("explicit_consent")
        );
        assert_eq!(d.columns["diagnosis"].line, 12);
        assert_eq!(d.references["account_id"].path, "data/accounts.parquet");
        assert_eq!(d.references["account_id"].column, "id");
        let e = parse(
            "[[dataset]]\npath = \"a.csv\"\npurpose = \"x\"\nlegal_basis = \"contract\"\nreferences.cid = \"customers.csv\"\n",
        )
        .unwrap_err();
        assert!(
            e.contains(":5:")
                && e.contains("dataset[0].references.cid")
                && e.contains("PATH:COLUMN"),
            "{e}"
        );
    }

    #[test]
    fn every_bad_value_is_named_with_line_and_key() {
        let e = parse(
            r#"[policy]
severity.undeclared-pii = "loud"

[[policy.allow]]
path = "data/[x"
categories = ["user.contact.emial"]

[[policy.waiver]]
rule = "undeclared-pii"
path = "data/*.csv"
reason = "migration"
expires = "2027-02-30"

[[policy.flow]]
id = "x"
category = "user.nothing*"
kind = "modle"

[[dataset]]
path = "a.csv"
purpose = "x"
legal_basis = "because"
columns.email = "user.contact.emial"
"#,
        )
        .unwrap_err();
        for want in [
            "piitrail.toml:2:27: key `policy.severity.undeclared-pii`: 'loud' is not one of",
            "piitrail.toml:5:8: key `policy.allow[0].path`: bad glob 'data/[x'",
            "piitrail.toml:6:15: key `policy.allow[0].categories`: unknown category 'user.contact.emial' (did you mean 'user.contact.email'?)",
            "piitrail.toml:12:11: key `policy.waiver[0].expires`: '2027-02-30' is not a date",
            "piitrail.toml:16:12: key `policy.flow[0].category`: category glob 'user.nothing*' matches no known category",
            "piitrail.toml:17:8: key `policy.flow[0].kind`: 'modle' is not one of: dataset, model",
            "piitrail.toml:22:15: key `dataset[0].legal_basis`: 'because' is not one of",
            "piitrail.toml:23:17: key `dataset[0].columns.email`: unknown category",
        ] {
            assert!(e.contains(want), "missing {want:?} in\n{e}");
        }
    }

    #[test]
    fn waivers_need_a_reason_a_known_rule_and_a_date() {
        let e = parse(
            "[[policy.waiver]]\nrule = \"no-such-rule\"\npath = \"a.csv\"\nreason = \" \"\nexpires = 2027-01-01\n",
        )
        .unwrap_err();
        assert!(
            e.contains(":2:8: key `policy.waiver[0].rule`: unknown rule"),
            "{e}"
        );
        assert!(
            e.contains(":4:10: key `policy.waiver[0].reason`: must not be empty"),
            "{e}"
        );
        let c = parse(
            "[[policy.waiver]]\nrule = \"undeclared-pii\"\npath = \"a.csv\"\nreason = \"ok\"\nexpires = 2027-01-01\n",
        )
        .unwrap();
        assert_eq!(c.policy.waivers[0].expires.to_string(), "2027-01-01");
        let e = parse(
            "[[policy.waiver]]\nrule = \"undeclared-pii\"\npath = \"a.csv\"\nreason = \"ok\"\n",
        )
        .unwrap_err();
        assert!(e.contains("missing field `expires`"), "{e}");
    }

    #[test]
    fn category_patterns_cover_finer_categories() {
        let r = rules();
        let p = CategoryPattern::new("user.contact", &r).unwrap();
        assert!(p.matches("user.contact.email"));
        assert!(!p.matches("user.contactless"));
        let g = CategoryPattern::new("user.health*", &r).unwrap();
        assert!(g.matches("user.health_and_medical.genetic"));
        assert!(!g.matches("user.contact.email"));
        let path = PathPattern::new("exports/**").unwrap();
        assert!(path.matches("exports/a/b.csv"));
        let one = PathPattern::new("data/*.csv").unwrap();
        assert!(one.matches("data/a.csv") && !one.matches("data/x/a.csv"));
    }
}
