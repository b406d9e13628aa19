//! Rules: what personal data looks like, kept as data in `rules/*.toml`.
//!
//! Takes the built-in rule files (embedded at build time) and any `--rules DIR`, validates every
//! rule (regexes compile, validators exist, confidences in 0..=1, no id twice in one source) and
//! hands a [`RuleSet`] to `scan/`, which matches column names and values against it.
//! The file format is documented in `rules/README.md`.

mod load;
pub mod names;
mod pattern;
pub mod tables;
pub mod validators;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

pub use load::{RuleError, RuleProblem, load};
pub use names::Abbreviations;
pub use pattern::{Dfa, Pattern};
pub use tables::{Context, TableKind, Tables};
pub use validators::Validator;

/// The GDPR class of a category: what the law says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GdprClass {
    /// Personal data (Art. 4(1)).
    Personal,
    /// Special categories (Art. 9): health, religion, ethnic origin, ...
    Special,
    /// Criminal convictions and offences (Art. 10).
    Criminal,
    /// Quasi-identifiers: identify people in combination (postcode, birth date, gender).
    Quasi,
}

impl GdprClass {
    pub fn as_str(self) -> &'static str {
        match self {
            GdprClass::Personal => "personal",
            GdprClass::Special => "special",
            GdprClass::Criminal => "criminal",
            GdprClass::Quasi => "quasi",
        }
    }

    pub fn parse(s: &str) -> Option<GdprClass> {
        Some(match s {
            "personal" => GdprClass::Personal,
            "special" => GdprClass::Special,
            "criminal" => GdprClass::Criminal,
            "quasi" => GdprClass::Quasi,
            _ => return None,
        })
    }
}

impl fmt::Display for GdprClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Cheap checks that reject most values before any regex runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prefilter {
    pub min_len: usize,
    pub max_len: usize,
    /// A byte the value must contain (`@` for emails).
    pub require_byte: Option<u8>,
    pub min_digits: usize,
    pub max_digits: usize,
    /// No match holds an `@` ([`pattern::never_holds`] of the value pattern): worked out for the
    /// sparse rules only, which meet every value of every column (the IBAN and card rules are
    /// not walked over a column of e-mail addresses).
    pub refuse_at: bool,
}

/// Facts about one value, computed once and shared by every rule's prefilter.
#[derive(Debug, Clone, Copy)]
pub struct ValueShape {
    pub len: usize,
    pub digits: usize,
    pub has_at: bool,
    pub has_colon: bool,
    pub ascii: bool,
    /// Spaces and ASCII letters: free text has several words.
    pub spaces: usize,
    pub letters: usize,
}

impl ValueShape {
    #[inline]
    pub fn of(value: &str) -> ValueShape {
        // Counted in u8 lanes over blocks of at most 255 bytes, so that the loop vectorises
        // 16 bytes at a time instead of widening every byte to 64 bits.
        let (mut digits, mut spaces, mut letters, mut at, mut colon, mut high) =
            (0usize, 0usize, 0usize, 0usize, 0usize, 0usize);
        for block in value.as_bytes().chunks(255) {
            let (mut d, mut s, mut l, mut a, mut c, mut h) = (0u8, 0u8, 0u8, 0u8, 0u8, 0u8);
            for &b in block {
                d += b.is_ascii_digit() as u8;
                s += (b == b' ') as u8;
                l += ((b | 0x20).wrapping_sub(b'a') < 26) as u8;
                a += (b == b'@') as u8;
                c += (b == b':') as u8;
                h += (b >= 0x80) as u8;
            }
            digits += d as usize;
            spaces += s as usize;
            letters += l as usize;
            at += a as usize;
            colon += c as usize;
            high += h as usize;
        }
        ValueShape {
            len: value.len(),
            digits,
            has_at: at > 0,
            has_colon: colon > 0,
            ascii: high == 0,
            spaces,
            letters,
        }
    }
}

impl ValueShape {
    /// The fewest bytes free text has ([`ValueShape::is_text`]: two spaces and eight letters).
    pub const MIN_TEXT_LEN: usize = 10;

    /// Free text: two or more spaces and at least eight letters (so not a spaced-out phone
    /// number or IBAN).
    #[inline]
    pub fn is_text(&self) -> bool {
        self.spaces >= 2 && self.letters >= 8
    }

    /// A quick look for columns where only free text still matters: false for a value that
    /// [`ValueShape::is_text`] would reject for being shorter than ten bytes or having fewer
    /// than two spaces (timestamps, amounts, codes: most values).
    #[inline]
    pub fn may_be_text(value: &str) -> bool {
        value.len() >= Self::MIN_TEXT_LEN && count_byte(value.as_bytes(), b' ') >= 2
    }
}

/// How many times `b` occurs in `bytes`: a branch-free count that vectorises, cheaper than a
/// `memchr` call on the short values of a column.
#[inline]
fn count_byte(bytes: &[u8], b: u8) -> usize {
    let mut n = 0usize;
    for block in bytes.chunks(255) {
        n += block.iter().fold(0u8, |a, &c| a + (c == b) as u8) as usize;
    }
    n
}

impl Prefilter {
    /// Can a text of this shape hold a match somewhere inside it? What a whole match needs
    /// in digits and in its required byte, the text around it has too.
    #[inline]
    pub fn may_hold_in(&self, shape: &ValueShape) -> bool {
        shape.digits >= self.min_digits
            && match self.require_byte {
                Some(b'@') => shape.has_at,
                Some(b':') => shape.has_colon,
                _ => true,
            }
    }

    /// What [`Prefilter::admits`] can tell without counting anything: the length and the
    /// required byte. False only where `admits` is false too.
    #[inline]
    pub fn may_admit(&self, value: &str) -> bool {
        let n = value.len();
        n >= self.min_len
            && n <= self.max_len
            && match self.require_byte {
                Some(b @ (b'@' | b':')) => count_byte(value.as_bytes(), b) > 0,
                _ => true,
            }
    }

    #[inline]
    pub fn admits(&self, shape: &ValueShape) -> bool {
        shape.len >= self.min_len
            && shape.len <= self.max_len
            && shape.digits >= self.min_digits
            && shape.digits <= self.max_digits
            && !(self.refuse_at && shape.has_at)
            && match self.require_byte {
                None => true,
                Some(b'@') => shape.has_at,
                Some(b':') => shape.has_colon,
                Some(_) => true,
            }
    }
}

/// A form in which a category's values come in real exports that the rule's value check does
/// not accept (`coded = [...]` in a rule file). Under a column name that matches the rule,
/// values consistent with such a form give a name-based tag instead of contradicting the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodedForm {
    /// A handful of short codes (`M`/`F`, `0`/`1`, `W`/`B`/`A`): at most 12 distinct values of at
    /// most 12 characters, few against the rows.
    Codes,
    /// Dates in any common form (`12/31/99`, `3/7/1985`, `March 7, 1985`, `7 Mar 1985 (age 40)`).
    Dates,
    /// Years in a plausible range for a birth (1900 to this year).
    Years,
    /// Identifier-like strings: letters, digits, spaces, `-`, `.`, `/`, 4 to 24 characters with at
    /// least 4 digits (an SSN written `123 45 6789`, bare or padded).
    Identifiers,
}

impl CodedForm {
    pub const NAMES: [&'static str; 4] = ["codes", "dates", "years", "identifiers"];

    pub fn parse(s: &str) -> Option<CodedForm> {
        Some(match s {
            "codes" => CodedForm::Codes,
            "dates" => CodedForm::Dates,
            "years" => CodedForm::Years,
            "identifiers" => CodedForm::Identifiers,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        CodedForm::NAMES[self as usize]
    }
}

/// Whether `value` reads as a calendar date in one of the forms exports use: ISO
/// (`1985-03-07`, with a time), day/month/year or month/day/year with `/`, `.` or `-` and a two-
/// or four-digit year, year/month/day, and month names (`March 7, 1985`, `7 Mar 1985`,
/// `7. März 1985`), with a trailing note in parentheses (`(age 40)`).
pub fn looks_like_date(value: &str) -> bool {
    let v = value.trim();
    v.len() <= 40 && v.bytes().any(|b| b.is_ascii_digit()) && may_be_date(v) && date_pattern(v)
}

/// A necessary condition for [`date_pattern`], without a regex: a value without letters (no
/// ASCII letter, no other script) can only be a numeric date, which starts with one, two or
/// four digits and a `.`, `/` or `-`. Phone numbers, amounts and codes end here; the pattern
/// runs only on candidates (a test checks that both agree).
#[inline]
fn may_be_date(v: &str) -> bool {
    let b = v.as_bytes();
    let lead = b.iter().take_while(|c| c.is_ascii_digit()).count();
    (matches!(lead, 1 | 2 | 4) && matches!(b.get(lead), Some(b'.' | b'/' | b'-')))
        || b.iter().any(|c| c.is_ascii_alphabetic() || !c.is_ascii())
}

/// The date forms of [`looks_like_date`], on a trimmed value. Each thread has its own clone of
/// the compiled pattern, so that threads scanning columns never share its search cache.
fn date_pattern(v: &str) -> bool {
    use std::sync::LazyLock;
    static DATE: LazyLock<regex::Regex> = LazyLock::new(|| {
        let month = "(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|januar|februar|marz|märz|mai|juni|juli|okt|dez|janv|fevr|févr|mars|avr|juin|juil|aout|août|sept|déc|ene|abr|ago|dic|gen|mag|giu|lug|ott|mei|okt)[a-zäéûô]*\\.?";
        regex::Regex::new(&format!(
            "(?i)^(?:[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}(?:[T ][0-9:.]+(?:Z|[+-][0-9:]+)?)?\
             |[0-9]{{1,2}}[./-][0-9]{{1,2}}[./-](?:[0-9]{{2}}|[0-9]{{4}})\
             |[0-9]{{4}}[./][0-9]{{1,2}}[./][0-9]{{1,2}}\
             |(?:[0-9]{{1,2}}\\.?\\s+)?{month}\\s+(?:[0-9]{{1,2}}(?:st|nd|rd|th)?,?\\s+)?[0-9]{{2,4}})\
             (?:\\s*\\([^)]*\\))?$"
        ))
        .expect("a valid date pattern")
    });
    thread_local! {
        static LOCAL: regex::Regex = DATE.clone();
    }
    LOCAL.with(|re| re.is_match(v))
}

/// A validated rule, ready to match.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub category: String,
    pub gdpr_class: GdprClass,
    /// What the rule detects (one paragraph).
    pub what: String,
    /// Why it matters: the GDPR article and the risk.
    pub why: String,
    /// Masked examples for documentation.
    pub examples: Vec<String>,
    pub false_positives: String,
    pub references: Vec<String>,
    pub since: String,
    /// Column-name patterns (regexes over the normalised name), as written.
    pub names_src: Vec<String>,
    names: Option<Pattern>,
    exclude_names: Option<Pattern>,
    /// A column so named is never this rule's, whatever its values (`veto_names`): a gateway's
    /// MAC address is no person's device.
    veto_names: Option<Pattern>,
    pub value_src: Option<String>,
    value: Option<Pattern>,
    pub find_src: Option<String>,
    find: Option<Pattern>,
    pub validator: Option<Validator>,
    /// Keys ([`dictionary_key`]), shared by the clones of the set.
    dictionary: Arc<foldhash::HashSet<String>>,
    pub dictionary_len: usize,
    /// The longest key, in bytes: an ASCII value longer than that is in no dictionary.
    dictionary_longest: usize,
    /// Share of non-null values that must match for a value verdict.
    pub min_ratio: f64,
    /// Share of free-text values that must contain a `find` match.
    pub find_min_ratio: f64,
    /// Value evidence only counts when the column name matches too.
    pub require_name: bool,
    /// Confidence of a column whose every value matches.
    pub confidence: f64,
    /// Confidence contributed by a matching column name.
    pub name_weight: f64,
    pub prefilter: Prefilter,
    pub accepts: Vec<String>,
    pub rejects: Vec<String>,
    pub names_accept: Vec<String>,
    pub names_reject: Vec<String>,
    /// Forms the category's values also come in ([`CodedForm`]), accepted under a telling name.
    pub coded: Vec<CodedForm>,
    /// A value that reads as a date is never a match (phone numbers: `03/07/1985`).
    pub reject_dates: bool,
    /// Counted on every value of a full scan (`sparse = true`): a column with any match is
    /// reported (`low_prevalence`), however few.
    pub sparse: bool,
    /// The values must be many and distinct (`distinct = true`): more than a dozen values, so
    /// that a few flags (`yes`, `no`) never read as local parts of e-mail addresses.
    pub distinct: bool,
    /// Column names per language (`languages = { de = ["Konfession"] }`): what the rule
    /// covers, each checked to match `names`.
    pub languages: std::collections::BTreeMap<String, Vec<String>>,
    /// Values per language (`value_languages`), each checked to pass the value check.
    pub value_languages: std::collections::BTreeMap<String, Vec<String>>,
    /// Where the tag holds, judged with the column's table (`context = ...`).
    pub context: Option<Context>,
    /// Where the rule came from: `builtin:contact.toml` or a path.
    pub source: String,
}

impl Rule {
    /// Does the normalised column name carry this rule's name evidence?
    pub fn name_matches(&self, normalised: &str) -> bool {
        let hit = self
            .names
            .as_ref()
            .is_some_and(|r| r.is_match_once(normalised));
        hit && !self
            .exclude_names
            .as_ref()
            .is_some_and(|r| r.is_match_once(normalised))
    }

    /// Does the normalised column name rule this rule out?
    pub fn vetoed(&self, normalised: &str) -> bool {
        self.veto_names
            .as_ref()
            .is_some_and(|r| r.is_match_once(normalised))
    }

    pub fn has_value_check(&self) -> bool {
        self.value.is_some() || !self.dictionary.is_empty()
    }

    pub fn has_find(&self) -> bool {
        self.find.is_some()
    }

    pub fn has_names(&self) -> bool {
        self.names.is_some()
    }

    /// The value pattern (anchored), for the scanner's multi-pattern set.
    pub fn value_regex(&self) -> Option<&Pattern> {
        self.value.as_ref()
    }

    /// A cheap look at a whole value (its length, its required byte, its first byte against
    /// the value pattern's DFA once built): false only where [`Rule::value_matches`] is false.
    #[inline]
    pub fn may_match(&self, value: &str) -> bool {
        self.prefilter.may_admit(value)
            && self.value.as_ref().is_none_or(|re| {
                value
                    .as_bytes()
                    .first()
                    .is_none_or(|&b| re.may_start_with(b))
            })
    }

    /// [`Rule::may_match`] and then the whole value pattern: false only where
    /// [`Rule::value_matches`] is false (what is left is the prefilter's counts, the date
    /// check, the validator and the dictionary).
    #[inline]
    pub fn may_match_pattern(&self, value: &str) -> bool {
        self.may_match(value)
            && self
                .value
                .as_ref()
                .is_none_or(|re| re.is_whole_match(value))
    }

    /// Whole-value check after the regex matched: validator and dictionary.
    #[inline]
    pub fn confirm(&self, value: &str) -> bool {
        if let Some(v) = self.validator
            && !v.check(value)
        {
            return false;
        }
        if !self.dictionary.is_empty() {
            return self.in_dictionary(value);
        }
        true
    }

    /// Whether the value's [`dictionary_key`] is in the dictionary. An ASCII value's key is the
    /// value in lower case (nothing to fold), made on the stack, and one longer than every key
    /// is not looked up at all.
    #[inline]
    fn in_dictionary(&self, value: &str) -> bool {
        let v = value.trim();
        if v.is_ascii() {
            if v.len() > self.dictionary_longest {
                return false;
            }
            let mut buf = [0u8; 64];
            if let Some(key) = buf.get_mut(..v.len()) {
                key.copy_from_slice(v.as_bytes());
                key.make_ascii_lowercase();
                if let Ok(key) = std::str::from_utf8(key) {
                    return self.dictionary.contains(key);
                }
            }
        }
        self.dictionary.contains(&dictionary_key(value))
    }

    /// Whole-value match: prefilter, pattern, validator and dictionary.
    pub fn value_matches(&self, value: &str) -> bool {
        let value = value.trim();
        if !self.prefilter.admits(&ValueShape::of(value)) {
            return false;
        }
        if let Some(re) = &self.value
            && !re.is_whole_match(value)
        {
            return false;
        }
        if self.value.is_none() && self.dictionary.is_empty() {
            return false;
        }
        if self.reject_dates && looks_like_date(value) {
            return false;
        }
        self.confirm(value)
    }

    /// Does free text contain this rule's PII? Each `find` match is validated.
    pub fn found_in(&self, text: &str) -> bool {
        let Some(re) = &self.find else { return false };
        re.regex()
            .find_iter(text)
            .any(|m| self.validator.is_none_or(|v| v.check(m.as_str())))
    }
}

/// How dictionary entries and values are compared: accents folded, lowercase, trimmed.
pub fn dictionary_key(value: &str) -> String {
    names::fold(value.trim()).to_lowercase()
}

/// All rules in force, in a stable order, and the abbreviation table for column names.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub abbreviations: Abbreviations,
    /// Every known data category with its GDPR class: the taxonomy and the rules' categories.
    pub categories: std::collections::BTreeMap<String, GdprClass>,
    /// Table context: which tables are about people (`rules/tables.toml`).
    pub tables: Tables,
    /// Which rules' value patterns hold every ASCII match of which others, as proven so far:
    /// shared by the clones of the set.
    pub subsets: Subsets,
    /// The rule pack's digest (`sha256:`): every rule file in force, built-in and `--rules`,
    /// by file name and content. Scans record it, reports and `verify` show it.
    pub digest: String,
}

/// [`RuleSet::pattern_implies`] answers by pair of rule indices.
#[derive(Debug, Clone, Default)]
pub struct Subsets(Arc<Mutex<HashMap<(usize, usize), bool>>>);

impl RuleSet {
    /// Does rule `b`'s value pattern match every ASCII value rule `a`'s matches? Proven on
    /// their DFAs ([`Dfa::ascii_subset_of`]) once both are built, and remembered; `None`
    /// before that.
    pub fn pattern_implies(&self, a: usize, b: usize) -> Option<bool> {
        let mut known = self
            .subsets
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(&answer) = known.get(&(a, b)) {
            return Some(answer);
        }
        let dfa = |i: usize| self.rules[i].value.as_ref().and_then(Pattern::dfa);
        let answer = dfa(a)?.ascii_subset_of(dfa(b)?);
        known.insert((a, b), answer);
        Some(answer)
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The GDPR class of a known category (or of its nearest known parent).
    pub fn category_class(&self, category: &str) -> Option<GdprClass> {
        let mut c = category;
        loop {
            if let Some(class) = self.categories.get(c) {
                return Some(*class);
            }
            c = &c[..c.rfind('.')?];
        }
    }

    /// The category a short name means: a category itself (`user.contact.email`), a rule id
    /// (`email-address`), the last part of one category (`email`, `phone_number`), or the first
    /// word of rule ids that all detect one category (`phone`, `iban`).
    pub fn category_named(&self, name: &str) -> Option<String> {
        let name = name.trim();
        if self.categories.contains_key(name) {
            return Some(name.to_string());
        }
        if let Some(r) = self.rules.iter().find(|r| r.id == name) {
            return Some(r.category.clone());
        }
        let unique = |found: std::collections::BTreeSet<&String>| {
            (found.len() == 1)
                .then(|| found.into_iter().next().cloned())
                .flatten()
        };
        let by_leaf = unique(
            self.categories
                .keys()
                .filter(|c| c.rsplit('.').next() == Some(name))
                .collect(),
        );
        by_leaf.or_else(|| {
            unique(
                self.rules
                    .iter()
                    .filter(|r| r.id.split('-').next() == Some(name))
                    .map(|r| &r.category)
                    .collect(),
            )
        })
    }

    pub fn normalise_name(&self, column: &str) -> String {
        names::normalise(column, &self.abbreviations)
    }
}

/// The built-in rule pack alone (what the policy and the report validate categories with).
pub fn builtin() -> Result<RuleSet, RuleError> {
    load(&Sources {
        builtin: true,
        extra: Vec::new(),
    })
}

/// Where rules come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub builtin: bool,
    /// Extra rule folders (or files), later ones override earlier ones by id.
    pub extra: Vec<std::path::PathBuf>,
}

/// Runs one rule's own examples; returns a sentence per failure.
pub fn self_test(rule: &Rule, abbreviations: &Abbreviations) -> Vec<String> {
    let mut failures = Vec::new();
    // An example is accepted when it matches as a whole value or, for rules with a `find`
    // pattern, inside free text; a near miss must be rejected by both.
    let value_check =
        |v: &str| (rule.has_value_check() && rule.value_matches(v)) || rule.found_in(v);
    for v in &rule.accepts {
        if !value_check(v) {
            failures.push(format!(
                "rule '{}': example {} should match but does not",
                rule.id,
                crate::sensitive::mask(v)
            ));
        }
    }
    for v in &rule.rejects {
        if value_check(v) {
            failures.push(format!(
                "rule '{}': near miss {} should not match but does",
                rule.id,
                crate::sensitive::mask(v)
            ));
        }
    }
    for n in &rule.names_accept {
        if !rule.name_matches(&names::normalise(n, abbreviations)) {
            failures.push(format!(
                "rule '{}': column name '{n}' should match but does not",
                rule.id
            ));
        }
    }
    for (lang, list) in &rule.languages {
        for n in list {
            if !rule.name_matches(&names::normalise(n, abbreviations)) {
                failures.push(format!(
                    "rule '{}': column name '{n}' ({lang}) should match but does not",
                    rule.id
                ));
            }
        }
    }
    for (lang, list) in &rule.value_languages {
        for v in list {
            if !value_check(v) {
                failures.push(format!(
                    "rule '{}': {lang} value {} should match but does not",
                    rule.id,
                    crate::sensitive::mask(v)
                ));
            }
        }
    }
    for n in &rule.names_reject {
        let n_norm = names::normalise(n, abbreviations);
        if rule.name_matches(&n_norm) && !rule.vetoed(&n_norm) {
            failures.push(format!(
                "rule '{}': column name '{n}' should not match but does",
                rule.id
            ));
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dictionary lookup's ASCII path (a key made on the stack, long values refused before
    /// any lookup) answers as the general one, on every built-in dictionary's entries written
    /// as exports write them, and on values around the longest key.
    #[test]
    fn dictionary_lookups_answer_as_the_folded_key_does() {
        let rules = load(&Sources {
            builtin: true,
            extra: vec![],
        })
        .unwrap();
        let mut asked = 0;
        for rule in rules.rules.iter().filter(|r| !r.dictionary.is_empty()) {
            let long = "x".repeat(rule.dictionary_longest + 1);
            let longest = rule.dictionary.iter().max_by_key(|k| k.len()).unwrap();
            for key in rule.dictionary.iter().chain([&long, &"y".repeat(70)]) {
                let upper = key.to_uppercase();
                let forms = [
                    key.clone(),
                    upper.clone(),
                    format!("  {upper} "),
                    format!("{key}s"),
                    format!("{longest}{key}"),
                    key.replace('e', "é"),
                ];
                for v in forms {
                    let want = rule.dictionary.contains(&dictionary_key(&v));
                    assert_eq!(rule.in_dictionary(&v), want, "{} on {v:?}", rule.id);
                    asked += want as usize;
                }
            }
        }
        assert!(asked > 500, "{asked} values found");
    }

    #[test]
    fn dates_in_the_forms_exports_use() {
        for d in [
            "1985-03-07",
            "2024-01-15T10:00:00Z",
            "12/31/99",
            "3/7/1985",
            "07.03.1985",
            "March 7, 1985",
            "7 Mar 1985",
            "7 Mar 1985 (age 40)",
            "7. März 1985",
            "1985/03/07",
        ] {
            assert!(looks_like_date(d), "{d}");
        }
        for d in [
            "(212) 555-0187",
            "212-555-0143",
            "7 apples 1985",
            "March",
            "12345678",
            "Mar",
        ] {
            assert!(!looks_like_date(d), "{d}");
        }
    }

    /// The letter-free shortcut never turns away a value the date pattern accepts: values
    /// built from digits, separators, spaces, letters and month names in every arrangement.
    #[test]
    fn the_date_shortcut_agrees_with_the_pattern() {
        let parts = [
            "1", "07", "1985", "123", "12345", "-", "/", ".", " ", ":", "+", "(", ")", "T", "Z",
            "Mar", "märz", "okt", "age 40", "x", "ﬀ", "",
        ];
        let (mut dates, mut n) = (0, 0);
        for a in parts {
            for b in parts {
                for c in parts {
                    for d in ["", "07", "1985", "-07", "/99", " (age 40)", ":00Z"] {
                        let v = format!("{a}{b}{c}{d}");
                        let v = v.trim();
                        n += 1;
                        if date_pattern(v) {
                            dates += 1;
                            assert!(may_be_date(v), "{v:?} is a date the shortcut refuses");
                        }
                    }
                }
            }
        }
        assert!(dates > 100, "{dates} dates among {n} values");
    }

    /// `may_be_text` never turns away a value that is text.
    #[test]
    fn may_be_text_keeps_every_text_value() {
        let words = [
            "a", "ab", "abc d", "Zoë", "  ", "x1", "call me", "@", "rue", "99",
        ];
        let mut n = 0;
        for a in words {
            for b in words {
                for c in words {
                    for sep in [" ", "", "  ", "\t", "-"] {
                        let v = format!("{a}{sep}{b}{sep}{c}");
                        if ValueShape::of(&v).is_text() {
                            n += 1;
                            assert!(ValueShape::may_be_text(&v), "{v:?}");
                        }
                        if v.len() < 10 || v.matches(' ').count() < 2 {
                            assert!(!ValueShape::of(&v).is_text(), "{v:?}");
                        }
                    }
                }
            }
        }
        assert!(n > 50, "{n} text values");
    }
}
