//! Validation: every problem of the file, each with its line, column and key.

use super::*;
use crate::ledger::Role;

pub(super) struct Validator<'a> {
    pub(super) text: &'a str,
    pub(super) problems: Vec<Problem>,
}

impl Validator<'_> {
    pub(super) fn place(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, col)
    }

    pub(super) fn line(&self, offset: usize) -> usize {
        self.place(offset).0
    }

    /// The key written on the line at `offset` (`name = ...` or a `[table]` header).
    pub(super) fn key_at(&self, offset: usize) -> String {
        let start = self.text[..offset.min(self.text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let line = self.text[start..].lines().next().unwrap_or("").trim();
        if line.starts_with('[') {
            return line.trim_matches(['[', ']']).trim().to_string();
        }
        line.split('=').next().unwrap_or("").trim().to_string()
    }

    pub(super) fn problem(&mut self, offset: usize, key: &str, message: String) {
        let (line, column) = self.place(offset);
        self.problems.push(Problem {
            line,
            column,
            key: key.to_string(),
            message,
        });
    }

    pub(super) fn one_of(
        &mut self,
        value: &Spanned<String>,
        key: &str,
        allowed: &[&str],
    ) -> Option<String> {
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

    /// One of an enum's names (a [`crate::ledger::Role`], a propagation status), parsed.
    pub(super) fn variant<T>(&mut self, value: &Spanned<String>, key: &str) -> Option<T>
    where
        T: std::str::FromStr + strum::VariantArray + Copy + Into<&'static str>,
    {
        match value.get_ref().parse::<T>() {
            Ok(v) => Some(v),
            Err(_) => {
                let names: Vec<&'static str> = T::VARIANTS.iter().map(|&v| v.into()).collect();
                self.problem(
                    value.span().start,
                    key,
                    format!("'{}' is not one of: {}", value.get_ref(), names.join(", ")),
                );
                None
            }
        }
    }

    pub(super) fn path(&mut self, value: &Spanned<String>, key: &str) -> Option<PathPattern> {
        match PathPattern::new(value.get_ref()) {
            Ok(p) => Some(p),
            Err(m) => {
                self.problem(value.span().start, key, m);
                None
            }
        }
    }

    pub(super) fn category(
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

    pub(super) fn non_empty(&mut self, value: &Spanned<String>, key: &str) -> Option<String> {
        if value.get_ref().trim().is_empty() {
            self.problem(value.span().start, key, "must not be empty".into());
            None
        } else {
            Some(value.get_ref().clone())
        }
    }

    pub(super) fn validate(&mut self, raw: RawConfig, rules: &RuleSet, path: &Path) -> Config {
        let mut config = Config::defaults(path.parent().unwrap_or(Path::new(".")));
        config.file = Some(path.to_path_buf());
        if let Some(project) = raw.project {
            if let Some(name) = project.name {
                config.project.name = name;
            }
            for (i, r) in project.data_roots.iter().enumerate() {
                let key = format!("project.data_roots[{i}]");
                if let Some(root) = self.non_empty(r, &key) {
                    match crate::source::roots::root_location(&root) {
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

    pub(super) fn validate_policy(&mut self, p: RawPolicy, rules: &RuleSet, out: &mut Policy) {
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
                .and_then(|k| self.variant::<Role>(k, &format!("{key}.kind")));
            if r.to.is_none() && r.kind.is_none() {
                self.problem(
                    f.span().start,
                    &key,
                    "a flow rule needs `to` (a path glob) or `kind` (dataset or model): where the data must not go".into(),
                );
            }
            let status = r
                .status
                .iter()
                .filter_map(|s| self.variant::<Status>(s, &format!("{key}.status")))
                .collect();
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

    pub(super) fn level(&mut self, value: &Spanned<String>, key: &str) -> Option<Level> {
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

    pub(super) fn date(&mut self, value: &Spanned<toml::Value>, key: &str) -> Option<NaiveDate> {
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

    pub(super) fn validate_dataset(
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
pub(super) fn rule_ids(flows: &BTreeSet<String>) -> String {
    crate::findings::gate_codes()
        .map(|r| r.id.to_string())
        .chain(flows.iter().map(|f| format!("forbidden-flow/{f}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The codes a severity may name.
pub(super) fn code_ids(flows: &BTreeSet<String>) -> String {
    crate::findings::CODES
        .iter()
        .filter(|c| c.id != crate::findings::FORBIDDEN_FLOW)
        .map(|r| r.id.to_string())
        .chain(flows.iter().map(|f| format!("forbidden-flow/{f}")))
        .collect::<Vec<_>>()
        .join(", ")
}
