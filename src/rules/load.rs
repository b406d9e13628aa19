//! Loading and validating rule files. Every problem in every file is collected before
//! failing, so a rule author fixes them in one pass (as cargo-deny does).

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{
    Abbreviations, GdprClass, Pattern, Prefilter, Rule, RuleSet, Sources, Validator, dictionary_key,
};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}

/// One problem in one rule file, with its place.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleProblem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub rule: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if let Some(rule) = &self.rule {
            write!(f, "rule '{rule}': ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "field '{field}': ")?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("cannot read rules from {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("rules path {0} does not exist")]
    Missing(PathBuf),
    #[error("rules path {0} holds no .toml rule file")]
    Empty(PathBuf),
    #[error("{} problem(s) in rule files:\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<RuleProblem>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleFile {
    #[serde(default)]
    #[allow(dead_code)] // documentation for people reading the file
    family: Option<String>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
    #[serde(default)]
    abbreviations: BTreeMap<String, String>,
    /// Data categories and their GDPR class (the taxonomy, `rules/categories.toml`).
    #[serde(default)]
    categories: BTreeMap<String, Spanned<String>>,
    /// Table context (`rules/tables.toml`).
    #[serde(default)]
    tables: Option<super::tables::RawTables>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrefilter {
    min_len: Option<usize>,
    max_len: Option<usize>,
    require_byte: Option<Spanned<String>>,
    min_digits: Option<usize>,
    max_digits: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    category: Spanned<String>,
    gdpr_class: Spanned<String>,
    what: String,
    why: String,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    false_positives: String,
    #[serde(default)]
    references: Vec<String>,
    since: String,
    #[serde(default)]
    names: Vec<Spanned<String>>,
    #[serde(default)]
    exclude_names: Vec<Spanned<String>>,
    #[serde(default)]
    veto_names: Vec<Spanned<String>>,
    value: Option<Spanned<String>>,
    find: Option<Spanned<String>>,
    validator: Option<Spanned<String>>,
    #[serde(default)]
    dictionary: Vec<String>,
    min_ratio: Option<Spanned<f64>>,
    find_min_ratio: Option<Spanned<f64>>,
    #[serde(default)]
    require_name: bool,
    confidence: Option<Spanned<f64>>,
    name_weight: Option<Spanned<f64>>,
    prefilter: Option<RawPrefilter>,
    #[serde(default)]
    accepts: Vec<String>,
    #[serde(default)]
    rejects: Vec<String>,
    #[serde(default)]
    names_accept: Vec<String>,
    #[serde(default)]
    names_reject: Vec<String>,
    #[serde(default)]
    coded: Vec<Spanned<String>>,
    #[serde(default)]
    reject_dates: bool,
    context: Option<Spanned<String>>,
    #[serde(default)]
    sparse: bool,
    #[serde(default)]
    distinct: bool,
    #[serde(default)]
    languages: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    value_languages: BTreeMap<String, Vec<String>>,
}

/// Byte offset → 1-based line and column.
fn place(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

struct FileCtx<'a> {
    name: String,
    text: &'a str,
    /// Compile patterns now (rule files from `--rules`), or when first used (built-ins).
    eager: bool,
    problems: Vec<RuleProblem>,
}

impl FileCtx<'_> {
    fn problem(&mut self, offset: usize, rule: Option<&str>, field: Option<&str>, message: String) {
        let (line, column) = place(self.text, offset);
        self.problems.push(RuleProblem {
            file: self.name.clone(),
            line,
            column,
            rule: rule.map(str::to_string),
            field: field.map(str::to_string),
            message,
        });
    }

    fn regex(
        &mut self,
        rule: &str,
        field: &str,
        src: &Spanned<String>,
        anchored: bool,
    ) -> Option<Pattern> {
        let pattern = if anchored {
            format!("^(?:{})$", src.get_ref())
        } else {
            src.get_ref().clone()
        };
        if !self.eager {
            return Some(Pattern::deferred(pattern));
        }
        match Pattern::checked(&pattern) {
            Ok(p) => Some(p),
            Err(e) => {
                let msg = e.to_string();
                let last = msg
                    .lines()
                    .rfind(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
                    .to_string();
                self.problem(
                    src.span().start,
                    Some(rule),
                    Some(field),
                    format!("invalid regex: {last}"),
                );
                None
            }
        }
    }

    fn ratio(&mut self, rule: &str, field: &str, v: &Option<Spanned<f64>>, default: f64) -> f64 {
        match v {
            None => default,
            Some(s) => {
                let x = *s.get_ref();
                if !(0.0..=1.0).contains(&x) {
                    self.problem(
                        s.span().start,
                        Some(rule),
                        Some(field),
                        format!("must lie in 0..=1, found {x}"),
                    );
                }
                x
            }
        }
    }
}

/// The name patterns joined into one; when that does not compile, each is compiled on its
/// own to name the broken ones.
fn names_regex(
    ctx: &mut FileCtx,
    rule: &str,
    field: &str,
    list: &[Spanned<String>],
) -> Option<Pattern> {
    if list.is_empty() {
        return None;
    }
    let joined = list
        .iter()
        .map(|n| format!("(?:{})", n.get_ref()))
        .collect::<Vec<_>>()
        .join("|");
    if !ctx.eager {
        return Some(Pattern::deferred(joined));
    }
    if let Ok(p) = Pattern::checked(&joined) {
        return Some(p);
    }
    let before = ctx.problems.len();
    for n in list {
        ctx.regex(rule, field, n, false);
    }
    if ctx.problems.len() == before {
        // Each compiles alone but not joined: too large together.
        ctx.problem(
            list[0].span().start,
            Some(rule),
            Some(field),
            "the patterns together exceed the size limit of a compiled pattern".into(),
        );
    }
    None
}

fn category_ok(c: &str) -> bool {
    c.starts_with("user")
        && c.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
}

fn compile_rule(ctx: &mut FileCtx, raw: &Spanned<RawRule>, source: &str) -> Option<Rule> {
    let r = raw.get_ref();
    let id = r.id.get_ref().clone();
    let before = ctx.problems.len();
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        ctx.problem(
            r.id.span().start,
            Some(&id),
            Some("id"),
            "must be kebab-case (a-z, 0-9, -)".into(),
        );
    }
    if !category_ok(r.category.get_ref()) {
        ctx.problem(
            r.category.span().start,
            Some(&id),
            Some("category"),
            format!(
                "'{}' is not a fideslang-style category such as user.contact.email",
                r.category.get_ref()
            ),
        );
    }
    let gdpr_class = GdprClass::parse(r.gdpr_class.get_ref());
    if gdpr_class.is_none() {
        ctx.problem(
            r.gdpr_class.span().start,
            Some(&id),
            Some("gdpr_class"),
            format!(
                "'{}' is not one of personal, special, criminal, quasi",
                r.gdpr_class.get_ref()
            ),
        );
    }
    let names = names_regex(ctx, &id, "names", &r.names);
    let exclude_names = names_regex(ctx, &id, "exclude_names", &r.exclude_names);
    let veto_names = names_regex(ctx, &id, "veto_names", &r.veto_names);
    let value = r
        .value
        .as_ref()
        .and_then(|v| ctx.regex(&id, "value", v, true));
    let find = r
        .find
        .as_ref()
        .and_then(|v| ctx.regex(&id, "find", v, false));
    let validator = match &r.validator {
        None => None,
        Some(v) => match Validator::from_name(v.get_ref()) {
            Some(v) => Some(v),
            None => {
                ctx.problem(
                    v.span().start,
                    Some(&id),
                    Some("validator"),
                    format!(
                        "unknown validator '{}'; known: {}",
                        v.get_ref(),
                        Validator::NAMES.join(", ")
                    ),
                );
                None
            }
        },
    };
    let mut coded = Vec::new();
    for c in &r.coded {
        match crate::rules::CodedForm::parse(c.get_ref()) {
            Some(f) => coded.push(f),
            None => ctx.problem(
                c.span().start,
                Some(&id),
                Some("coded"),
                format!(
                    "unknown coded form '{}'; known: {}",
                    c.get_ref(),
                    crate::rules::CodedForm::NAMES.join(", ")
                ),
            ),
        }
    }
    if !coded.is_empty() && r.names.is_empty() {
        ctx.problem(
            raw.span().start,
            Some(&id),
            Some("coded"),
            "coded forms are accepted under a telling name, but the rule has no names".into(),
        );
    }
    let context = match &r.context {
        None => None,
        Some(c) => match super::Context::parse(c.get_ref()) {
            Some(c) => Some(c),
            None => {
                ctx.problem(
                    c.span().start,
                    Some(&id),
                    Some("context"),
                    format!(
                        "unknown context '{}'; known: {}",
                        c.get_ref(),
                        super::Context::NAMES.join(", ")
                    ),
                );
                None
            }
        },
    };
    let min_ratio = ctx.ratio(&id, "min_ratio", &r.min_ratio, 0.8);
    let find_min_ratio = ctx.ratio(&id, "find_min_ratio", &r.find_min_ratio, 0.05);
    let confidence = ctx.ratio(&id, "confidence", &r.confidence, 0.9);
    let name_weight = ctx.ratio(&id, "name_weight", &r.name_weight, 0.6);
    if r.names.is_empty() && r.value.is_none() && r.find.is_none() && r.dictionary.is_empty() {
        ctx.problem(
            raw.span().start,
            Some(&id),
            None,
            "needs at least one of names, value, find or dictionary".into(),
        );
    }
    if r.require_name && r.names.is_empty() {
        ctx.problem(
            raw.span().start,
            Some(&id),
            Some("require_name"),
            "is true but the rule has no names".into(),
        );
    }
    if r.what.trim().is_empty() || r.why.trim().is_empty() {
        ctx.problem(
            raw.span().start,
            Some(&id),
            Some("what"),
            "'what' and 'why' must say something".into(),
        );
    }
    let mut prefilter = Prefilter {
        min_len: 1,
        max_len: 4096,
        require_byte: None,
        min_digits: 0,
        max_digits: usize::MAX,
        refuse_at: false,
    };
    if let Some(p) = &r.prefilter {
        prefilter.min_len = p.min_len.unwrap_or(1);
        prefilter.max_len = p.max_len.unwrap_or(4096);
        prefilter.min_digits = p.min_digits.unwrap_or(0);
        prefilter.max_digits = p.max_digits.unwrap_or(usize::MAX);
        if let Some(b) = &p.require_byte {
            match b.get_ref().as_bytes() {
                [b @ (b'@' | b':')] => prefilter.require_byte = Some(*b),
                _ => ctx.problem(
                    b.span().start,
                    Some(&id),
                    Some("prefilter.require_byte"),
                    "must be \"@\" or \":\"".into(),
                ),
            }
        }
        if prefilter.min_len > prefilter.max_len || prefilter.min_digits > prefilter.max_digits {
            ctx.problem(
                raw.span().start,
                Some(&id),
                Some("prefilter"),
                "a minimum is larger than its maximum".into(),
            );
        }
    }
    if ctx.problems.len() > before {
        return None;
    }
    if r.sparse
        && let Some(v) = &value
    {
        prefilter.refuse_at = super::pattern::never_holds(v.as_str(), b'@');
    }
    let dictionary: foldhash::HashSet<String> =
        r.dictionary.iter().map(|d| dictionary_key(d)).collect();
    let dictionary_longest = dictionary.iter().map(String::len).max().unwrap_or(0);
    Some(Rule {
        id,
        category: r.category.get_ref().clone(),
        gdpr_class: gdpr_class.expect("checked above"),
        what: r.what.trim().to_string(),
        why: r.why.trim().to_string(),
        examples: r.examples.clone(),
        false_positives: r.false_positives.trim().to_string(),
        references: r.references.clone(),
        since: r.since.clone(),
        names_src: r.names.iter().map(|n| n.get_ref().clone()).collect(),
        names,
        exclude_names,
        veto_names,
        value_src: r.value.as_ref().map(|v| v.get_ref().clone()),
        value,
        find_src: r.find.as_ref().map(|v| v.get_ref().clone()),
        find,
        validator,
        dictionary_len: dictionary.len(),
        dictionary_longest,
        dictionary: std::sync::Arc::new(dictionary),
        min_ratio,
        find_min_ratio,
        require_name: r.require_name,
        confidence,
        name_weight,
        prefilter,
        accepts: r.accepts.clone(),
        rejects: r.rejects.clone(),
        names_accept: r.names_accept.clone(),
        names_reject: r.names_reject.clone(),
        coded,
        reject_dates: r.reject_dates,
        context,
        sparse: r.sparse,
        distinct: r.distinct,
        languages: r.languages.clone(),
        value_languages: r.value_languages.clone(),
        source: source.to_string(),
    })
}

struct Parsed {
    rules: Vec<Rule>,
    abbreviations: BTreeMap<String, String>,
    categories: BTreeMap<String, GdprClass>,
    tables: Option<super::tables::RawTables>,
}

fn parse_file(display: &str, text: &str, eager: bool, problems: &mut Vec<RuleProblem>) -> Parsed {
    let mut ctx = FileCtx {
        name: display.to_string(),
        text,
        eager,
        problems: Vec::new(),
    };
    let mut out = Parsed {
        rules: Vec::new(),
        abbreviations: BTreeMap::new(),
        categories: BTreeMap::new(),
        tables: None,
    };
    match toml::from_str::<RawRuleFile>(text) {
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            let msg = e.message().to_string();
            // A bad field inside [[rule]]: name the rule by looking back for its id.
            let rule = text[..offset.min(text.len())]
                .rfind("id = \"")
                .and_then(|i| text[i + 6..].split('"').next())
                .map(str::to_string);
            ctx.problem(offset, rule.as_deref(), None, msg);
        }
        Ok(file) => {
            let mut seen: HashMap<String, usize> = HashMap::new();
            for raw in &file.rule {
                let id = raw.get_ref().id.get_ref().clone();
                if let Some(prev) = seen.insert(id.clone(), raw.get_ref().id.span().start) {
                    let (line, _) = place(text, prev);
                    ctx.problem(
                        raw.get_ref().id.span().start,
                        Some(&id),
                        Some("id"),
                        format!("id already used at line {line}"),
                    );
                    continue;
                }
                if let Some(rule) = compile_rule(&mut ctx, raw, display) {
                    out.rules.push(rule);
                }
            }
            out.abbreviations = file
                .abbreviations
                .into_iter()
                .map(|(k, v)| {
                    (
                        super::names::tokens(&k).join(" "),
                        super::names::tokens(&v).join(" "),
                    )
                })
                .collect();
            out.tables = file.tables;
            for (category, class) in file.categories {
                match GdprClass::parse(class.get_ref()) {
                    Some(c) => {
                        out.categories.insert(category, c);
                    }
                    None => ctx.problem(
                        class.span().start,
                        None,
                        Some("categories"),
                        format!(
                            "category '{category}': gdpr_class '{}' is not one of personal, special, criminal, quasi",
                            class.get_ref()
                        ),
                    ),
                }
            }
        }
    }
    problems.extend(ctx.problems);
    out
}

fn rule_files(path: &Path) -> Result<Vec<PathBuf>, RuleError> {
    if !path.exists() {
        return Err(RuleError::Missing(path.to_path_buf()));
    }
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|source| RuleError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(RuleError::Empty(path.to_path_buf()));
    }
    Ok(files)
}

/// Loads the built-in rules (unless turned off) and every extra rule folder, in order; a rule
/// whose id was already loaded from an earlier source replaces it.
pub fn load(sources: &Sources) -> Result<RuleSet, RuleError> {
    let mut problems = Vec::new();
    let mut layers: Vec<Parsed> = Vec::new();
    // The rule pack's digest: every file in force, by file name and content, in load order.
    let mut pack = Sha256::new();
    let mut add = |name: &str, text: &str| {
        for part in [name, text] {
            pack.update((part.len() as u64).to_le_bytes());
            pack.update(part.as_bytes());
        }
    };
    for (name, text) in builtin::BUILTIN_FILES {
        // The abbreviation table (name normalisation) and the category taxonomy are not rules:
        // they stay without built-ins.
        if sources.builtin
            || *name == "abbreviations.toml"
            || *name == "categories.toml"
            || *name == "tables.toml"
        {
            add(name, text);
            layers.push(parse_file(
                &format!("rules/{name}"),
                text,
                false,
                &mut problems,
            ));
        }
    }
    for extra in &sources.extra {
        for file in rule_files(extra)? {
            let text = std::fs::read_to_string(&file).map_err(|source| RuleError::Io {
                path: file.clone(),
                source,
            })?;
            let base = file.file_name().map(|n| n.to_string_lossy().to_string());
            add(base.as_deref().unwrap_or_default(), &text);
            layers.push(parse_file(
                &file.display().to_string(),
                &text,
                true,
                &mut problems,
            ));
        }
    }
    if !problems.is_empty() {
        return Err(RuleError::Invalid(problems));
    }
    let mut rules: Vec<Rule> = Vec::new();
    let mut abbreviations = HashMap::new();
    let mut categories = BTreeMap::new();
    let mut tables = super::Tables::default();
    for layer in layers {
        if let Some(t) = layer.tables {
            tables.extend(t);
        }
        for rule in layer.rules {
            match rules.iter_mut().find(|r| r.id == rule.id) {
                Some(existing) => *existing = rule,
                None => rules.push(rule),
            }
        }
        abbreviations.extend(layer.abbreviations);
        categories.extend(layer.categories);
    }
    // A category a rule uses is known too, with the rule's class unless the taxonomy has it.
    for rule in &rules {
        categories
            .entry(rule.category.clone())
            .or_insert(rule.gdpr_class);
    }
    Ok(RuleSet {
        rules,
        abbreviations: Abbreviations::new(abbreviations),
        categories,
        tables,
        subsets: Default::default(),
        digest: format!("sha256:{}", hex::encode(pack.finalize())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin_set() -> RuleSet {
        load(&Sources {
            builtin: true,
            extra: vec![],
        })
        .expect("built-in rules are valid")
    }

    /// Built-in patterns are compiled when first used (`Pattern::deferred`), which relies on
    /// every one of them compiling: this compiles them all, as a `--rules` file would be.
    #[test]
    fn builtin_patterns_compile() {
        let mut problems = Vec::new();
        let mut rules = 0;
        for (name, text) in builtin::BUILTIN_FILES {
            rules += parse_file(name, text, true, &mut problems).rules.len();
        }
        assert!(problems.is_empty(), "{problems:?}");
        assert!(rules > 50, "{rules} rules");
    }

    /// The build script lists `rules/` when it runs; cargo reruns it only when a file there
    /// is newer than its last run, so a build directory shared with another checkout can keep
    /// another tree's list (a binary without `tables.toml` judged every table "unknown").
    #[test]
    fn every_rule_file_is_built_in() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("rules/ is readable")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let built_in: Vec<&str> = builtin::BUILTIN_FILES.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            built_in, on_disk,
            "the built-in list is stale: `touch build.rs` and rebuild"
        );
    }

    fn parse(text: &str) -> (Vec<Rule>, Vec<RuleProblem>) {
        let mut problems = Vec::new();
        let parsed = parse_file("t.toml", text, true, &mut problems);
        (parsed.rules, problems)
    }

    const GOOD: &str = r#"
[[rule]]
id = "x-mail"
category = "user.contact.email"
gdpr_class = "personal"
what = "mail"
why = "Art. 4"
since = "0.1.0"
value = '[a-z]+@[a-z]+\.com'
"#;

    #[test]
    fn a_good_rule_loads_and_is_anchored() {
        let (rules, problems) = parse(GOOD);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(rules[0].value_matches("ab@cd.com"));
        assert!(!rules[0].value_matches("xx ab@cd.com"));
    }

    #[test]
    fn bad_regex_names_file_line_rule_and_field() {
        let text = GOOD.replace(r"'[a-z]+@[a-z]+\.com'", "'([a-z'");
        let (_, problems) = parse(&text);
        assert_eq!(problems.len(), 1);
        let p = problems[0].to_string();
        assert!(
            p.starts_with("t.toml:9:9: rule 'x-mail': field 'value': invalid regex"),
            "{p}"
        );
    }

    /// Name patterns are compiled joined; a broken one is still named by its own place.
    #[test]
    fn a_bad_name_pattern_is_named_among_good_ones() {
        let text = format!("{GOOD}names = ['e?mail', '(mail', 'courriel']\n");
        let (_, problems) = parse(&text);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let p = problems[0].to_string();
        assert!(
            p.starts_with("t.toml:10:20: rule 'x-mail': field 'names': invalid regex"),
            "{p}"
        );
        let too_big = format!("{GOOD}names = ['\\w{{1000}}', '\\w{{1000}}x']\n");
        let (_, problems) = parse(&too_big);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].message.contains("size limit"), "{problems:?}");
    }

    #[test]
    fn unknown_field_is_an_error_naming_the_rule() {
        let text = format!("{GOOD}valu = 'x'\n");
        let (_, problems) = parse(&text);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].rule.as_deref(), Some("x-mail"));
        assert!(
            problems[0].message.contains("unknown field"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = GOOD
            .replace("personal", "secret")
            .replace("user.contact.email", "Contact")
            .replace("since", "validator = \"nope\"\nsince")
            .replace("why = \"Art. 4\"", "why = \"Art. 4\"\nconfidence = 1.5");
        let (_, problems) = parse(&text);
        let fields: Vec<_> = problems.iter().filter_map(|p| p.field.clone()).collect();
        assert_eq!(
            fields,
            ["category", "gdpr_class", "validator", "confidence"],
            "{problems:?}"
        );
    }

    #[test]
    fn duplicate_id_in_one_file_is_an_error() {
        let (_, problems) = parse(&format!("{GOOD}{GOOD}"));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("already used at line 3"));
    }

    #[test]
    fn builtin_rules_load_without_problems() {
        let set = builtin_set();
        assert!(set.rules.len() >= 40, "only {} rules", set.rules.len());
        assert!(!set.abbreviations.is_empty());
    }

    #[test]
    fn every_builtin_rule_passes_its_own_examples_and_has_some() {
        let set = builtin_set();
        let mut failures = Vec::new();
        for rule in &set.rules {
            if rule.accepts.is_empty() && rule.names_accept.is_empty() {
                failures.push(format!("rule '{}' has no examples", rule.id));
            }
            if (rule.has_value_check() || rule.has_find()) && rule.rejects.is_empty() {
                failures.push(format!("rule '{}' has no near misses", rule.id));
            }
            failures.extend(super::super::self_test(rule, &set.abbreviations));
        }
        failures.extend(set.tables.self_test(&set.abbreviations));
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Art. 9 (and Art. 10) rules and every identifier rule name their columns in the EU
    /// languages the issue lists, each example checked by the self test above.
    #[test]
    fn special_categories_and_identifiers_cover_the_languages() {
        const LANGS: [&str; 12] = [
            "de", "fr", "it", "es", "nl", "pl", "pt", "sv", "da", "fi", "cs", "ro",
        ];
        let set = builtin_set();
        let mut failures = Vec::new();
        for rule in &set.rules {
            let identifier = [
                "user.government_id",
                "user.financial.bank_account",
                "user.financial.credit_card",
            ]
            .iter()
            .any(|c| rule.category.starts_with(c));
            let special = matches!(rule.gdpr_class, GdprClass::Special | GdprClass::Criminal);
            if !(identifier || special) {
                continue;
            }
            for l in LANGS {
                if !rule.languages.contains_key(l) {
                    failures.push(format!("rule '{}' names no {l} column", rule.id));
                }
            }
        }
        for l in LANGS {
            let (person, other) = (set.tables.person.get(l), set.tables.other.get(l));
            if person.is_none_or(Vec::is_empty) || other.is_none_or(Vec::is_empty) {
                failures.push(format!("tables.toml has no {l} table words"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
