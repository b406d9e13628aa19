//! `piitrail rules`: list, explain and test rules.

use std::io::Write;
use std::path::PathBuf;

use super::scan::RuleArgs;
use super::{Context, Outcome, UsageError};
use crate::rules::{self, Rule};
use crate::sensitive::mask;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List every rule in force: id, category, GDPR class, where it comes from.
    List {
        #[command(flatten)]
        rules: RuleArgs,
        /// Show which languages each rule covers (column names `n`, values `v`, both `nv`), and
        /// the table-name words per language.
        #[arg(long)]
        languages: bool,
    },
    /// Explain one rule: what it detects, why it matters, what it accepts and rejects.
    Explain {
        /// The rule id, such as `iban` or `email-address`.
        id: String,
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Check a rule file: it loads, and every rule passes its own examples.
    Test {
        /// A rule file (TOML).
        file: PathBuf,
    },
}

pub fn run(ctx: &Context, cmd: Command) -> anyhow::Result<Outcome> {
    let mut out = std::io::stdout().lock();
    match cmd {
        Command::List {
            rules,
            languages: true,
        } => {
            languages(&mut out, &rules.load(&ctx.root)?)?;
            Ok(Outcome::Success)
        }
        Command::List { rules, .. } => {
            let set = rules.load(&ctx.root)?;
            let w = set.rules.iter().map(|r| r.id.len()).max().unwrap_or(2);
            for r in &set.rules {
                writeln!(
                    out,
                    "{:w$}  {:<50} {:<8} {}",
                    r.id, r.category, r.gdpr_class, r.source
                )?;
            }
            Ok(Outcome::Success)
        }
        Command::Explain { id, rules } => {
            let set = rules.load(&ctx.root)?;
            let rule = set.get(&id).ok_or_else(|| {
                UsageError(format!(
                    "no rule with id '{id}'; `piitrail rules list` shows them"
                ))
            })?;
            explain(&mut out, rule)?;
            Ok(Outcome::Success)
        }
        Command::Test { file } => {
            if !file.is_file() {
                return Err(
                    UsageError(format!("rule file {} does not exist", file.display())).into(),
                );
            }
            let set = rules::load(&rules::Sources {
                builtin: false,
                extra: vec![file.clone()],
            })?;
            let mut failures = 0;
            for rule in &set.rules {
                let problems = rules::self_test(rule, &set.abbreviations);
                let checks = rule.accepts.len()
                    + rule.rejects.len()
                    + rule.names_accept.len()
                    + rule.names_reject.len();
                if problems.is_empty() {
                    writeln!(out, "ok    {} ({checks} examples)", rule.id)?;
                } else {
                    failures += problems.len();
                    for p in problems {
                        writeln!(out, "FAIL  {p}")?;
                    }
                }
            }
            writeln!(out, "{} rule(s), {failures} failure(s)", set.rules.len())?;
            Ok(if failures == 0 {
                Outcome::Success
            } else {
                Outcome::Findings
            })
        }
    }
}

/// The languages every rule covers: a matrix of rules by language, then the totals.
fn languages(out: &mut impl Write, set: &rules::RuleSet) -> std::io::Result<()> {
    let mut langs: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for r in &set.rules {
        langs.extend(r.languages.keys().map(String::as_str));
        langs.extend(r.value_languages.keys().map(String::as_str));
    }
    let table_words = set.tables.languages();
    langs.extend(table_words.keys().map(String::as_str));
    let w = set.rules.iter().map(|r| r.id.len()).max().unwrap_or(2);
    write!(out, "{:w$}  {:<8}", "rule", "class")?;
    for l in &langs {
        write!(out, " {l:>3}")?;
    }
    writeln!(out)?;
    let mut totals: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &set.rules {
        write!(out, "{:w$}  {:<8}", r.id, r.gdpr_class)?;
        for l in &langs {
            let n = r.languages.contains_key(*l);
            let v = r.value_languages.contains_key(*l);
            if n || v {
                *totals.entry(l).or_default() += 1;
            }
            let mark = match (n, v) {
                (true, true) => "nv",
                (true, false) => "n",
                (false, true) => "v",
                (false, false) => "-",
            };
            write!(out, " {mark:>3}")?;
        }
        writeln!(out)?;
    }
    write!(out, "{:w$}  {:<8}", "rules covered", "")?;
    for l in &langs {
        write!(out, " {:>3}", totals.get(l).copied().unwrap_or(0))?;
    }
    writeln!(out)?;
    write!(out, "{:w$}  {:<8}", "table words", "")?;
    for l in &langs {
        write!(out, " {:>3}", table_words.get(*l).copied().unwrap_or(0))?;
    }
    writeln!(out)
}

fn explain(out: &mut impl Write, r: &Rule) -> std::io::Result<()> {
    writeln!(out, "{}  ({}, {})", r.id, r.category, r.gdpr_class)?;
    writeln!(out, "\nWhat it detects\n  {}", r.what)?;
    writeln!(out, "\nWhy it matters\n  {}", r.why)?;
    writeln!(out, "\nHow it decides")?;
    if !r.names_src.is_empty() {
        let req = if r.require_name {
            " (required: values alone never tag a column)"
        } else {
            ""
        };
        writeln!(
            out,
            "  column names matching{req}: {}",
            r.names_src.join(" | ")
        )?;
    }
    if let Some(v) = &r.value_src {
        writeln!(out, "  whole values matching: ^(?:{v})$")?;
    }
    if r.dictionary_len > 0 {
        writeln!(
            out,
            "  whole values from a dictionary of {} terms",
            r.dictionary_len
        )?;
    }
    if let Some(v) = r.validator {
        writeln!(out, "  validator: {}", v.name())?;
    }
    if let Some(f) = &r.find_src {
        writeln!(
            out,
            "  inside free text: {f} (column tagged when at least {:.0}% of values contain it)",
            r.find_min_ratio * 100.0
        )?;
    }
    writeln!(
        out,
        "  at least {:.0}% of non-null values must match; confidence {:.2}, name weight {:.2}",
        r.min_ratio * 100.0,
        r.confidence,
        r.name_weight
    )?;
    let masked = |v: &Vec<String>| v.iter().map(|x| mask(x)).collect::<Vec<_>>().join(", ");
    if !r.accepts.is_empty() {
        writeln!(out, "\nAccepts (masked)\n  {}", masked(&r.accepts))?;
    }
    if !r.rejects.is_empty() {
        writeln!(out, "\nRejects (masked)\n  {}", masked(&r.rejects))?;
    }
    if !r.examples.is_empty() {
        writeln!(out, "\nExamples\n  {}", r.examples.join(", "))?;
    }
    if !r.false_positives.is_empty() {
        writeln!(out, "\nFalse positives\n  {}", r.false_positives)?;
    }
    if !r.references.is_empty() {
        writeln!(out, "\nReferences\n  {}", r.references.join("\n  "))?;
    }
    writeln!(out, "\nSince {}; defined in {}", r.since, r.source)
}
