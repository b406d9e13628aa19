//! Table context, kept as data (`rules/tables.toml`): which table names mean a table about
//! people and which a lookup or company table, per language; which sibling tags make a table
//! about people whatever its name; and which role words in a column name point at a person
//! (`manager_id`, `ReportsTo`, `approved_by`).

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use super::names;

/// What a table is about, judged from its name and its columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// A table of people (customers, members, patients) or of contact persons.
    Person,
    /// A lookup table (regions, currencies) or a table of the company's own things (branches,
    /// carriers, products): its places and contact data are about no one.
    Other,
    /// Neither is known.
    Unknown,
}

impl TableKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TableKind::Person => "person",
            TableKind::Other => "lookup or company",
            TableKind::Unknown => "unknown",
        }
    }
}

/// Where a rule's tag holds, judged with its table (`context = ...` in a rule file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Only in a table about people (`context = "person"`): a bare `name`, a `notes` column,
    /// a photo.
    Person,
    /// Anywhere but in a lookup or company table (`context = "not_lookup"`): places, contact
    /// data and organisations.
    NotLookup,
}

impl Context {
    pub const NAMES: [&'static str; 2] = ["person", "not_lookup"];

    pub fn parse(s: &str) -> Option<Context> {
        Some(match s {
            "person" => Context::Person,
            "not_lookup" => Context::NotLookup,
            _ => return None,
        })
    }

    /// Does a tag of a rule with this context hold in a table of this kind?
    pub fn holds_in(self, kind: TableKind) -> bool {
        match self {
            Context::Person => kind == TableKind::Person,
            Context::NotLookup => kind != TableKind::Other,
        }
    }
}

/// The `[tables]` section as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTables {
    #[serde(default)]
    pub person: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub other: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub roles: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub person_signals: Vec<String>,
    #[serde(default)]
    pub examples: RawExamples,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExamples {
    #[serde(default)]
    pub person: Vec<String>,
    #[serde(default)]
    pub other: Vec<String>,
    #[serde(default)]
    pub unknown: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub not_roles: Vec<String>,
}

/// The table context in force.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    /// Language → words naming tables about people, as written.
    pub person: BTreeMap<String, Vec<String>>,
    pub other: BTreeMap<String, Vec<String>>,
    pub roles: BTreeMap<String, Vec<String>>,
    /// Categories whose tag (from a rule without a context) makes its table about people.
    pub person_signals: Vec<String>,
    person_words: HashSet<String>,
    other_words: HashSet<String>,
    /// Role words as token sequences (`reports to`).
    role_words: Vec<String>,
    examples: RawExamples,
}

fn words(lists: &BTreeMap<String, Vec<String>>) -> impl Iterator<Item = String> + '_ {
    lists.values().flatten().map(|w| names::tokens(w).join(" "))
}

impl Tables {
    pub(crate) fn from_raw(raw: RawTables) -> Tables {
        Tables {
            person_words: words(&raw.person).collect(),
            other_words: words(&raw.other).collect(),
            role_words: words(&raw.roles).collect(),
            person: raw.person,
            other: raw.other,
            roles: raw.roles,
            person_signals: raw.person_signals,
            examples: raw.examples,
        }
    }

    /// Later sections add to earlier ones (a `--rules` file extends the built-in words).
    pub(crate) fn extend(&mut self, raw: RawTables) {
        let mut merged = RawTables {
            person: std::mem::take(&mut self.person),
            other: std::mem::take(&mut self.other),
            roles: std::mem::take(&mut self.roles),
            person_signals: std::mem::take(&mut self.person_signals),
            examples: std::mem::take(&mut self.examples),
        };
        for (lang, w) in raw.person {
            merged.person.entry(lang).or_default().extend(w);
        }
        for (lang, w) in raw.other {
            merged.other.entry(lang).or_default().extend(w);
        }
        for (lang, w) in raw.roles {
            merged.roles.entry(lang).or_default().extend(w);
        }
        for s in raw.person_signals {
            if !merged.person_signals.contains(&s) {
                merged.person_signals.push(s);
            }
        }
        merged.examples.person.extend(raw.examples.person);
        merged.examples.other.extend(raw.examples.other);
        merged.examples.unknown.extend(raw.examples.unknown);
        merged.examples.roles.extend(raw.examples.roles);
        merged.examples.not_roles.extend(raw.examples.not_roles);
        *self = Tables::from_raw(merged);
    }

    /// What a table's name says it is about, with the word that says so: the last word of
    /// the name that either dictionary knows decides (`customer_regions` is a lookup,
    /// `store_staff` a table of people).
    pub fn kind_by_name(&self, table: &str) -> (TableKind, Option<String>) {
        for t in names::tokens(table).iter().rev() {
            if self.person_words.contains(t) {
                return (TableKind::Person, Some(t.clone()));
            }
            if self.other_words.contains(t) {
                return (TableKind::Other, Some(t.clone()));
            }
        }
        (TableKind::Unknown, None)
    }

    /// Is `category` (or a parent of it) a sign that its table is about people?
    pub fn is_person_signal(&self, category: &str) -> bool {
        self.person_signals
            .iter()
            .any(|s| category == s || category.starts_with(&format!("{s}.")))
    }

    /// The role word in a normalised column name that points at a person (`manager id`,
    /// `reports to`, `assigned agent id`), or a person-table word with a key suffix
    /// (`teacher id`).
    pub fn role_in(&self, normalised: &str) -> Option<&str> {
        let padded = format!(" {normalised} ");
        if let Some(r) = self
            .role_words
            .iter()
            .find(|r| padded.contains(&format!(" {r} ")))
        {
            return Some(r);
        }
        let toks: Vec<&str> = normalised.split(' ').collect();
        let keyed = toks
            .last()
            .is_some_and(|l| matches!(*l, "id" | "number" | "no" | "key" | "ref"));
        if keyed && toks.len() >= 2 {
            return self
                .person_words
                .iter()
                .find(|w| toks[..toks.len() - 1].contains(&w.as_str()))
                .map(String::as_str);
        }
        None
    }

    /// Languages with their number of table and role words, for `rules list --languages`.
    pub fn languages(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for lists in [&self.person, &self.other, &self.roles] {
            for (lang, w) in lists {
                *out.entry(lang.clone()).or_default() += w.len();
            }
        }
        out
    }

    /// Runs the section's own examples; a sentence per failure.
    pub fn self_test(&self, abbreviations: &super::Abbreviations) -> Vec<String> {
        let mut failures = Vec::new();
        let e = &self.examples;
        for (list, want) in [
            (&e.person, TableKind::Person),
            (&e.other, TableKind::Other),
            (&e.unknown, TableKind::Unknown),
        ] {
            for t in list {
                let (got, _) = self.kind_by_name(t);
                if got != want {
                    failures.push(format!(
                        "tables: table name '{t}' should read as {} but reads as {}",
                        want.as_str(),
                        got.as_str()
                    ));
                }
            }
        }
        for n in &e.roles {
            if self.role_in(&names::normalise(n, abbreviations)).is_none() {
                failures.push(format!(
                    "tables: column name '{n}' should name a person's role but does not"
                ));
            }
        }
        for n in &e.not_roles {
            if let Some(r) = self.role_in(&names::normalise(n, abbreviations)) {
                failures.push(format!(
                    "tables: column name '{n}' should name no role but reads as '{r}'"
                ));
            }
        }
        failures
    }
}
