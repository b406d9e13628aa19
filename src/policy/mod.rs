//! `piitrail.toml`: the project's name, its record of processing (GDPR Art. 30: which
//! datasets hold which personal data, why, on what legal basis, for how long, about whom) and
//! its policy (what the gate enforces). The gate itself is in [`gate`].
//!
//! Every problem in the file is collected before failing, each with its line, column and key,
//! so that a typo never silently loosens a policy: the gate never passes because its
//! configuration did not load.

pub mod gate;
pub mod roots;

pub use roots::DataRoots;

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

/// A project-relative path or glob (`data/*.csv`, `exports/**`). `*` stays within one folder,
/// `**` crosses folders.
#[derive(Debug, Clone)]
pub struct PathPattern {
    pub text: String,
    matcher: GlobMatcher,
}

impl PathPattern {
    fn new(text: &str) -> Result<PathPattern, String> {
        let glob = GlobBuilder::new(text.trim_start_matches("./"))
            .literal_separator(true)
            .build()
            .map_err(|e| format!("bad glob '{text}': {}", e.kind()))?;
        Ok(PathPattern {
            text: text.to_string(),
            matcher: glob.compile_matcher(),
        })
    }

    pub fn matches(&self, path: &str) -> bool {
        self.matcher.is_match(path.trim_start_matches("./"))
    }
}

/// A data category, or a glob over categories (`user.health*`). A plain category also stands
/// for every finer category under it: `user.contact` covers `user.contact.email`.
#[derive(Debug, Clone)]
pub struct CategoryPattern {
    pub text: String,
    glob: Option<GlobMatcher>,
}

impl CategoryPattern {
    fn new(text: &str, rules: &RuleSet) -> Result<CategoryPattern, String> {
        let is_glob = text.contains(['*', '?', '[', '{']);
        if !is_glob {
            return if rules.categories.contains_key(text) {
                Ok(CategoryPattern {
                    text: text.to_string(),
                    glob: None,
                })
            } else {
                Err(unknown_category(text, rules))
            };
        }
        let glob = Glob::new(text)
            .map_err(|e| format!("bad category glob '{text}': {}", e.kind()))?
            .compile_matcher();
        if !rules.categories.keys().any(|c| glob.is_match(c)) {
            return Err(format!(
                "category glob '{text}' matches no known category (see `piitrail rules list` and rules/categories.toml)"
            ));
        }
        Ok(CategoryPattern {
            text: text.to_string(),
            glob: Some(glob),
        })
    }

    pub fn matches(&self, category: &str) -> bool {
        match &self.glob {
            Some(g) => g.is_match(category),
            None => is_within(category, &self.text),
        }
    }
}

/// Whether `category` is `parent` or a finer category under it.
pub fn is_within(category: &str, parent: &str) -> bool {
    category == parent
        || (category.len() > parent.len()
            && category.starts_with(parent)
            && category.as_bytes()[parent.len()] == b'.')
}

fn unknown_category(text: &str, rules: &RuleSet) -> String {
    // Suggest the known category sharing the longest prefix.
    let best = rules.categories.keys().max_by_key(|c| {
        c.bytes()
            .zip(text.bytes())
            .take_while(|(a, b)| a == b)
            .count()
    });
    match best {
        Some(b) => format!("unknown category '{text}' (did you mean '{b}'?)"),
        None => format!("unknown category '{text}'"),
    }
}

/// The whole configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from; `None` when the project has none (defaults).
    pub file: Option<PathBuf>,
    pub project: Project,
    pub policy: Policy,
    /// The record of processing: one declaration per dataset path or glob.
    pub datasets: Vec<Declaration>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    /// `[project] data_roots`: folders (absolute, or relative to the project) and URL prefixes
    /// where data named by imported lineage may be opened and rewritten, besides the project
    /// folder ([`DataRoots`]).
    pub data_roots: Vec<String>,
}

/// What the gate enforces. The defaults are strict: every detected PII column must be
/// declared, special categories need an Art. 9(2) condition.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Smallest group size (k) an aggregate may publish.
    pub min_group_size: u64,
    /// Every column in which a scan finds personal data must be declared.
    pub require_declaration: bool,
    /// Tags below this confidence are left out of policy checks.
    pub min_confidence: f64,
    /// Severity per rule id, where it differs from the rule's default.
    pub severity: BTreeMap<String, Level>,
    /// Categories allowed per path glob; a path no entry matches is not restricted.
    pub allow: Vec<Allow>,
    pub flows: Vec<FlowRule>,
    pub waivers: Vec<Waiver>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_group_size: DEFAULT_MIN_GROUP_SIZE,
            require_declaration: true,
            min_confidence: 0.0,
            severity: BTreeMap::new(),
            allow: Vec::new(),
            flows: Vec::new(),
            waivers: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Allow {
    pub path: PathPattern,
    pub categories: Vec<CategoryPattern>,
    pub line: usize,
}

/// A forbidden flow: tags of `category` must not reach artifacts matching `to` / `kind`, with
/// one of `status` (any status when empty).
#[derive(Debug, Clone)]
pub struct FlowRule {
    pub id: String,
    pub category: CategoryPattern,
    pub to: Option<PathPattern>,
    /// `dataset` or `model`.
    pub kind: Option<String>,
    pub status: Vec<Status>,
    pub severity: Level,
    pub reason: Option<String>,
    pub line: usize,
}

impl FlowRule {
    /// The rule id this flow is reported under.
    pub fn rule_id(&self) -> String {
        format!("forbidden-flow/{}", self.id)
    }
}

/// An allow-list entry: violations it matches are suppressed until it expires (inclusive).
#[derive(Debug, Clone)]
pub struct Waiver {
    pub rule: String,
    pub path: PathPattern,
    pub column: Option<String>,
    pub category: Option<CategoryPattern>,
    pub reason: String,
    pub expires: NaiveDate,
    pub line: usize,
}

/// One entry of the record of processing.
#[derive(Debug, Clone)]
pub struct Declaration {
    pub path: PathPattern,
    pub purpose: String,
    pub legal_basis: String,
    pub retention: Option<String>,
    pub subjects: Vec<String>,
    /// Columns that identify a row (row locators for subject requests).
    pub primary_key: Vec<String>,
    /// Foreign keys: a column of this dataset and the column (`PATH:COLUMN`) it refers to. A
    /// subject request expands an identity found in one along the reference.
    pub references: BTreeMap<String, crate::ledger::ColumnRef>,
    pub columns: BTreeMap<String, ColumnDeclaration>,
    /// Who receives the data (Art. 30(1)(d)): processors, authorities, partners.
    pub recipients: Vec<String>,
    /// Transfers to third countries and their safeguards (Art. 30(1)(e), Art. 44-49).
    pub transfers: Vec<Transfer>,
    /// The technical and organisational security measures (Art. 30(1)(g), Art. 32).
    pub security: Vec<String>,
    pub line: usize,
}

/// A transfer to a third country: `{ country = "US", safeguard = "standard_contractual_clauses" }`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Transfer {
    /// ISO 3166-1 alpha-2 code.
    pub country: String,
    pub safeguard: String,
}

/// What a transfer to a third country may rest on (GDPR Art. 45, 46 and 49).
pub const SAFEGUARDS: &[&str] = &[
    "adequacy_decision",
    "standard_contractual_clauses",
    "binding_corporate_rules",
    "code_of_conduct",
    "certification",
    "derogation",
];

impl ColumnDeclaration {
    /// Does this declaration cover `category` (the same, a finer or a coarser category)?
    pub fn covers(&self, category: &str) -> bool {
        self.categories
            .iter()
            .any(|d| is_within(category, d) || is_within(d, category))
    }
}

#[derive(Debug, Clone)]
pub struct ColumnDeclaration {
    pub categories: Vec<String>,
    pub art9_condition: Option<String>,
    pub art10_basis: Option<String>,
    pub legal_basis: Option<String>,
    pub line: usize,
}

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

// --- the file as written -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    project: Option<RawProject>,
    /// Read first, on its own, by [`project_rules`].
    #[serde(default, rename = "scan")]
    _scan: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    policy: Option<RawPolicy>,
    #[serde(default)]
    dataset: Vec<Spanned<RawDataset>>,
}

/// `[scan]`: the project's rule set, which every command uses.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScan {
    #[serde(default)]
    rules: Vec<Spanned<String>>,
    #[serde(default)]
    no_builtin_rules: bool,
}

/// Only `[scan]` of piitrail.toml, read before the rest (the rest is validated against the
/// rules it names).
#[derive(Deserialize)]
struct ScanOnly {
    #[serde(default)]
    scan: Option<RawScan>,
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
struct RawProject {
    name: Option<String>,
    #[serde(default)]
    data_roots: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    min_group_size: Option<u64>,
    require_declaration: Option<bool>,
    min_confidence: Option<Spanned<f64>>,
    #[serde(default)]
    severity: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    allow: Vec<Spanned<RawAllow>>,
    #[serde(default)]
    flow: Vec<Spanned<RawFlow>>,
    #[serde(default)]
    waiver: Vec<Spanned<RawWaiver>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    path: Spanned<String>,
    categories: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlow {
    id: Spanned<String>,
    #[serde(default)]
    category: Option<Spanned<String>>,
    to: Option<Spanned<String>>,
    kind: Option<Spanned<String>>,
    #[serde(default)]
    status: Vec<Spanned<String>>,
    severity: Option<Spanned<String>>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    rule: Spanned<String>,
    path: Spanned<String>,
    column: Option<String>,
    category: Option<Spanned<String>>,
    reason: Spanned<String>,
    expires: Spanned<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDataset {
    path: Spanned<String>,
    purpose: Spanned<String>,
    legal_basis: Spanned<String>,
    retention: Option<String>,
    #[serde(default)]
    subjects: Vec<String>,
    #[serde(default)]
    primary_key: Vec<String>,
    #[serde(default)]
    references: BTreeMap<String, Spanned<String>>,
    /// Applies to every special-category column of the dataset that does not name its own.
    art9_condition: Option<Spanned<String>>,
    art10_basis: Option<Spanned<String>>,
    #[serde(default)]
    columns: BTreeMap<String, Spanned<RawColumn>>,
    #[serde(default)]
    recipients: Vec<Spanned<String>>,
    #[serde(default)]
    transfers: Vec<Spanned<RawTransfer>>,
    #[serde(default)]
    security: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransfer {
    country: Spanned<String>,
    safeguard: Spanned<String>,
}

/// A column declaration: `"user.contact.email"`, a list of categories, or a table.
struct RawColumn {
    categories: Vec<Spanned<String>>,
    art9_condition: Option<Spanned<String>>,
    art10_basis: Option<Spanned<String>>,
    legal_basis: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumnTable {
    category: Option<Spanned<String>>,
    #[serde(default)]
    categories: Vec<Spanned<String>>,
    art9_condition: Option<Spanned<String>>,
    art10_basis: Option<Spanned<String>>,
    legal_basis: Option<Spanned<String>>,
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

// --- validation ----------------------------------------------------------------------------

struct Validator<'a> {
    text: &'a str,
    problems: Vec<Problem>,
}

impl Validator<'_> {
    fn place(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, col)
    }

    fn line(&self, offset: usize) -> usize {
        self.place(offset).0
    }

    /// The key written on the line at `offset` (`name = ...` or a `[table]` header).
    fn key_at(&self, offset: usize) -> String {
        let start = self.text[..offset.min(self.text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let line = self.text[start..].lines().next().unwrap_or("").trim();
        if line.starts_with('[') {
            return line.trim_matches(['[', ']']).trim().to_string();
        }
        line.split('=').next().unwrap_or("").trim().to_string()
    }

    fn problem(&mut self, offset: usize, key: &str, message: String) {
        let (line, column) = self.place(offset);
        self.problems.push(Problem {
            line,
            column,
            key: key.to_string(),
            message,
        });
    }

    fn one_of(&mut self, value: &Spanned<String>, key: &str, allowed: &[&str]) -> Option<String> {
        if allowed.contains(&value.get_ref().as_str()) {
            Some(value.get_ref().clone())
        } else {
            self.problem(
                value.span().start,
                key,
                format!(
                    "'{}' is not one of: {}",
                    value.get_ref(),
                    allowed.join(", ")
                ),
            );
            None
        }
    }

    fn path(&mut self, value: &Spanned<String>, key: &str) -> Option<PathPattern> {
        match PathPattern::new(value.get_ref()) {
            Ok(p) => Some(p),
            Err(m) => {
                self.problem(value.span().start, key, m);
                None
            }
        }
    }

    fn category(
        &mut self,
        value: &Spanned<String>,
        key: &str,
        rules: &RuleSet,
    ) -> Option<CategoryPattern> {
        match CategoryPattern::new(value.get_ref(), rules) {
            Ok(p) => Some(p),
            Err(m) => {
                self.problem(value.span().start, key, m);
                None
            }
        }
    }

    fn non_empty(&mut self, value: &Spanned<String>, key: &str) -> Option<String> {
        if value.get_ref().trim().is_empty() {
            self.problem(value.span().start, key, "must not be empty".into());
            None
        } else {
            Some(value.get_ref().clone())
        }
    }

    fn validate(&mut self, raw: RawConfig, rules: &RuleSet, path: &Path) -> Config {
        let mut config = Config::defaults(path.parent().unwrap_or(Path::new(".")));
        config.file = Some(path.to_path_buf());
        if let Some(project) = raw.project {
            if let Some(name) = project.name {
                config.project.name = name;
            }
            for (i, r) in project.data_roots.iter().enumerate() {
                let key = format!("project.data_roots[{i}]");
                if let Some(root) = self.non_empty(r, &key) {
                    match roots::root_location(&root) {
                        Ok(root) => config.project.data_roots.push(root),
                        Err(message) => self.problem(r.span().start, &key, message),
                    }
                }
            }
        }
        if let Some(p) = raw.policy {
            self.validate_policy(p, rules, &mut config.policy);
        }
        for (i, d) in raw.dataset.iter().enumerate() {
            if let Some(decl) = self.validate_dataset(d, i, rules) {
                config.datasets.push(decl);
            }
        }
        config
    }

    fn validate_policy(&mut self, p: RawPolicy, rules: &RuleSet, out: &mut Policy) {
        if let Some(k) = p.min_group_size {
            out.min_group_size = k;
        }
        if let Some(r) = p.require_declaration {
            out.require_declaration = r;
        }
        if let Some(c) = &p.min_confidence {
            if (0.0..=1.0).contains(c.get_ref()) {
                out.min_confidence = *c.get_ref();
            } else {
                self.problem(
                    c.span().start,
                    "policy.min_confidence",
                    "must be between 0 and 1".into(),
                );
            }
        }
        for (i, a) in p.allow.iter().enumerate() {
            let key = format!("policy.allow[{i}]");
            let a_ref = a.get_ref();
            let path = self.path(&a_ref.path, &format!("{key}.path"));
            let categories: Vec<_> = a_ref
                .categories
                .iter()
                .filter_map(|c| self.category(c, &format!("{key}.categories"), rules))
                .collect();
            if let Some(path) = path {
                out.allow.push(Allow {
                    path,
                    categories,
                    line: self.line(a.span().start),
                });
            }
        }
        let mut flow_ids = BTreeSet::new();
        for (i, f) in p.flow.iter().enumerate() {
            let key = format!("policy.flow[{i}]");
            let r = f.get_ref();
            let id_ok = !r.id.get_ref().is_empty()
                && r.id
                    .get_ref()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !id_ok {
                self.problem(
                    r.id.span().start,
                    &format!("{key}.id"),
                    "an id is letters, digits, '-' and '_' (it becomes the rule id forbidden-flow/ID)".into(),
                );
            } else if !flow_ids.insert(r.id.get_ref().clone()) {
                self.problem(
                    r.id.span().start,
                    &format!("{key}.id"),
                    format!("flow rule id '{}' is used twice", r.id.get_ref()),
                );
            }
            let category = match &r.category {
                Some(c) => self.category(c, &format!("{key}.category"), rules),
                None => Some(CategoryPattern {
                    text: "*".into(),
                    glob: Some(Glob::new("*").expect("a valid glob").compile_matcher()),
                }),
            };
            let to =
                r.to.as_ref()
                    .and_then(|t| self.path(t, &format!("{key}.to")));
            let kind = r
                .kind
                .as_ref()
                .and_then(|k| self.one_of(k, &format!("{key}.kind"), &["dataset", "model"]));
            if r.to.is_none() && r.kind.is_none() {
                self.problem(
                    f.span().start,
                    &key,
                    "a flow rule needs `to` (a path glob) or `kind` (dataset or model): where the data must not go".into(),
                );
            }
            let mut status = Vec::new();
            for s in &r.status {
                let parsed = match s.get_ref().as_str() {
                    "direct" => Some(Status::Direct),
                    "pseudonymised" => Some(Status::Pseudonymised),
                    "generalised" => Some(Status::Generalised),
                    "aggregated" => Some(Status::Aggregated),
                    "trained_on" => Some(Status::TrainedOn),
                    _ => None,
                };
                match parsed {
                    Some(p) => status.push(p),
                    None => self.problem(
                        s.span().start,
                        &format!("{key}.status"),
                        format!(
                            "'{}' is not one of: direct, pseudonymised, generalised, aggregated, trained_on",
                            s.get_ref()
                        ),
                    ),
                }
            }
            let severity = match &r.severity {
                Some(s) => self.level(s, &format!("{key}.severity")),
                None => Some(Level::Error),
            };
            if let (true, Some(category), Some(severity)) = (id_ok, category, severity) {
                out.flows.push(FlowRule {
                    id: r.id.get_ref().clone(),
                    category,
                    to,
                    kind,
                    status,
                    severity,
                    reason: r.reason.clone(),
                    line: self.line(f.span().start),
                });
            }
        }
        let flow = |id: &str| {
            id.strip_prefix("forbidden-flow/")
                .is_some_and(|f| flow_ids.contains(f))
        };
        // Waivers cover what the gate checks; a severity applies to any code.
        let known_rule = |id: &str| flow(id) || crate::findings::gate_codes().any(|c| c.id == id);
        let known_code = |id: &str| {
            flow(id)
                || crate::findings::CODES
                    .iter()
                    .any(|c| c.id == id && c.id != crate::findings::FORBIDDEN_FLOW)
        };
        for (rule, level) in &p.severity {
            if !known_code(rule) {
                self.problem(
                    level.span().start,
                    &format!("policy.severity.{rule}"),
                    format!("unknown code '{rule}' (codes: {})", code_ids(&flow_ids)),
                );
            } else if let Some(l) = self.level(level, &format!("policy.severity.{rule}")) {
                out.severity.insert(rule.clone(), l);
            }
        }
        for (i, w) in p.waiver.iter().enumerate() {
            let key = format!("policy.waiver[{i}]");
            let r = w.get_ref();
            if !known_rule(r.rule.get_ref()) {
                self.problem(
                    r.rule.span().start,
                    &format!("{key}.rule"),
                    format!(
                        "unknown rule '{}' (rules: {})",
                        r.rule.get_ref(),
                        rule_ids(&flow_ids)
                    ),
                );
            }
            let path = self.path(&r.path, &format!("{key}.path"));
            let category = r
                .category
                .as_ref()
                .map(|c| self.category(c, &format!("{key}.category"), rules));
            let reason = self.non_empty(&r.reason, &format!("{key}.reason"));
            let expires = self.date(&r.expires, &format!("{key}.expires"));
            if let (Some(path), Some(reason), Some(expires), Some(category)) = (
                path,
                reason,
                expires,
                category.map_or(Some(None), |c| c.map(Some)),
            ) {
                out.waivers.push(Waiver {
                    rule: r.rule.get_ref().clone(),
                    path,
                    column: r.column.clone(),
                    category,
                    reason,
                    expires,
                    line: self.line(w.span().start),
                });
            }
        }
    }

    fn level(&mut self, value: &Spanned<String>, key: &str) -> Option<Level> {
        let l = Level::parse(value.get_ref());
        if l.is_none() {
            self.problem(
                value.span().start,
                key,
                format!(
                    "'{}' is not one of: error, warning, note, off",
                    value.get_ref()
                ),
            );
        }
        l
    }

    fn date(&mut self, value: &Spanned<toml::Value>, key: &str) -> Option<NaiveDate> {
        let text = match value.get_ref() {
            toml::Value::Datetime(d) if d.date.is_some() && d.time.is_none() => d.to_string(),
            toml::Value::String(s) => s.clone(),
            other => format!("a {}", other.type_str()),
        };
        match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.problem(
                    value.span().start,
                    key,
                    format!("'{text}' is not a date (write YYYY-MM-DD, e.g. 2027-03-31)"),
                );
                None
            }
        }
    }

    fn validate_dataset(
        &mut self,
        d: &Spanned<RawDataset>,
        i: usize,
        rules: &RuleSet,
    ) -> Option<Declaration> {
        let key = format!("dataset[{i}]");
        let r = d.get_ref();
        let path = self.path(&r.path, &format!("{key}.path"));
        let purpose = self.non_empty(&r.purpose, &format!("{key}.purpose"));
        let legal_basis = self.one_of(&r.legal_basis, &format!("{key}.legal_basis"), LEGAL_BASES);
        let art9 = r
            .art9_condition
            .as_ref()
            .and_then(|c| self.one_of(c, &format!("{key}.art9_condition"), ART9_CONDITIONS));
        let art10 = r
            .art10_basis
            .as_ref()
            .and_then(|c| self.one_of(c, &format!("{key}.art10_basis"), ART10_BASES));
        let mut references = BTreeMap::new();
        for (column, target) in &r.references {
            match target.get_ref().rsplit_once(':') {
                Some((p, c)) if !p.trim().is_empty() && !c.trim().is_empty() => {
                    references.insert(
                        column.clone(),
                        crate::ledger::ColumnRef {
                            path: p.trim().trim_start_matches("./").to_string(),
                            column: c.trim().to_string(),
                        },
                    );
                }
                _ => self.problem(
                    target.span().start,
                    &format!("{key}.references.{column}"),
                    format!(
                        "'{}' is not PATH:COLUMN (the column this one refers to, such as \"data/customers.csv:customer_id\")",
                        target.get_ref()
                    ),
                ),
            }
        }
        let mut columns = BTreeMap::new();
        for (name, col) in &r.columns {
            let ckey = format!("{key}.columns.{name}");
            let c = col.get_ref();
            if c.categories.is_empty() {
                self.problem(
                    col.span().start,
                    &ckey,
                    "declares no category (write `category = \"user....\"`)".into(),
                );
            }
            let mut categories = Vec::new();
            for cat in &c.categories {
                // A bare string has no span of its own: the value's span is the string's.
                let at = if cat.span() == (0..0) {
                    col.span().start
                } else {
                    cat.span().start
                };
                if rules.categories.contains_key(cat.get_ref()) {
                    categories.push(cat.get_ref().clone());
                } else {
                    self.problem(at, &ckey, unknown_category(cat.get_ref(), rules));
                }
            }
            let art9_condition = match &c.art9_condition {
                Some(v) => self.one_of(v, &format!("{ckey}.art9_condition"), ART9_CONDITIONS),
                None => art9.clone(),
            };
            let art10_basis = match &c.art10_basis {
                Some(v) => self.one_of(v, &format!("{ckey}.art10_basis"), ART10_BASES),
                None => art10.clone(),
            };
            let legal_basis = c
                .legal_basis
                .as_ref()
                .and_then(|v| self.one_of(v, &format!("{ckey}.legal_basis"), LEGAL_BASES));
            columns.insert(
                name.clone(),
                ColumnDeclaration {
                    categories,
                    art9_condition,
                    art10_basis,
                    legal_basis,
                    line: self.line(col.span().start),
                },
            );
        }
        let mut recipients = Vec::new();
        for (j, v) in r.recipients.iter().enumerate() {
            recipients.extend(self.non_empty(v, &format!("{key}.recipients[{j}]")));
        }
        let mut security = Vec::new();
        for (j, v) in r.security.iter().enumerate() {
            security.extend(self.non_empty(v, &format!("{key}.security[{j}]")));
        }
        let mut transfers = Vec::new();
        for (j, t) in r.transfers.iter().enumerate() {
            let tkey = format!("{key}.transfers[{j}]");
            let t = t.get_ref();
            let c = t.country.get_ref();
            let country = if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
                Some(c.clone())
            } else {
                self.problem(
                    t.country.span().start,
                    &format!("{tkey}.country"),
                    format!("'{c}' is not an ISO 3166-1 alpha-2 country code (such as \"US\")"),
                );
                None
            };
            let safeguard = self.one_of(&t.safeguard, &format!("{tkey}.safeguard"), SAFEGUARDS);
            if let (Some(country), Some(safeguard)) = (country, safeguard) {
                transfers.push(Transfer { country, safeguard });
            }
        }
        Some(Declaration {
            path: path?,
            purpose: purpose?,
            legal_basis: legal_basis?,
            retention: r.retention.clone(),
            subjects: r.subjects.clone(),
            primary_key: r.primary_key.clone(),
            references,
            columns,
            recipients,
            transfers,
            security,
            line: self.line(d.span().start),
        })
    }
}

/// The rules a waiver may name.
fn rule_ids(flows: &BTreeSet<String>) -> String {
    crate::findings::gate_codes()
        .map(|r| r.id.to_string())
        .chain(flows.iter().map(|f| format!("forbidden-flow/{f}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The codes a severity may name.
fn code_ids(flows: &BTreeSet<String>) -> String {
    crate::findings::CODES
        .iter()
        .filter(|c| c.id != crate::findings::FORBIDDEN_FLOW)
        .map(|r| r.id.to_string())
        .chain(flows.iter().map(|f| format!("forbidden-flow/{f}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The GDPR class of a declared category.
pub fn class_of(rules: &RuleSet, category: &str) -> Option<GdprClass> {
    rules.category_class(category)
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
