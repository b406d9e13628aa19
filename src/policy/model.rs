//! The configuration as piitrail uses it: patterns, the record of processing, the policy.

use super::*;

/// A project-relative path or glob (`data/*.csv`, `exports/**`). `*` stays within one folder,
/// `**` crosses folders.
#[derive(Debug, Clone)]
pub struct PathPattern {
    pub text: String,
    pub(super) matcher: GlobMatcher,
}

impl PathPattern {
    pub(super) fn new(text: &str) -> Result<PathPattern, String> {
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
    pub(super) glob: Option<GlobMatcher>,
}

impl CategoryPattern {
    pub(super) fn new(text: &str, rules: &RuleSet) -> Result<CategoryPattern, String> {
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

pub(super) fn unknown_category(text: &str, rules: &RuleSet) -> String {
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
    pub kind: Option<crate::ledger::Role>,
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
