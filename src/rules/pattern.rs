//! A rule's regex, compiled when first used.
//!
//! Compiling the whole built-in pack takes about 0.18 s (the Unicode letter classes of the
//! name-gated rules, `[\p{L} ...]{1,80}`, are most of it), while a scan usually needs a few of
//! the patterns. So the built-in patterns, which a unit test compiles (`builtin_patterns_compile`),
//! are compiled when a rule first meets a value; rule files given with `--rules` are compiled
//! when loaded, so that a mistake in them is reported before any scan.
//!
//! Clones share the compiled program and each keeps its own search cache: the scanner gives
//! every worker thread its own clone of the rule set, so that workers never wait on each other.
//!
//! A whole-value pattern (`^(?:...)$`, a rule's `value`) that a scan runs on many values also
//! gets a dense DFA (regex-automata), walked byte by byte with no search set-up: about 35 ns
//! instead of 60 ns for an e-mail address (measured on the benchmark's values). It is built
//! once a clone has checked [`Pattern::DFA_AFTER`] values, so short scans never pay for it,
//! and only when it stays under [`DFA_LIMIT`]; the regex answers otherwise. Both read the same
//! pattern with the same syntax, and a test checks that they agree.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use regex::{Regex, RegexBuilder};
use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;

/// The size limit of one compiled pattern (the regex crate's NFA size).
const SIZE_LIMIT: usize = 1 << 22;

/// The size limit of a dense DFA (and twice that while it is built). The built-in identifier
/// patterns take 0.3-170 KB (IBAN 21 KB, e-mail 15 KB, IPv4 1 KB), the letter-class ones
/// (`[\p{L}][\p{L} .'-]+`: city, job title) about 300 KB; the person-name patterns would take
/// more and stay with the regex, after about 10 ms spent finding that out.
const DFA_LIMIT: usize = 1 << 19;

#[derive(Debug)]
pub struct Pattern {
    source: Arc<str>,
    shared: Arc<Shared>,
    local: OnceLock<Regex>,
    /// Whole values this clone checked while it had no DFA (a counter of its own, so no two
    /// threads write the same memory).
    uses: AtomicU32,
}

/// What the clones of one pattern share.
#[derive(Debug, Default)]
struct Shared {
    regex: OnceLock<Regex>,
    /// `None` once a DFA was tried and could not be built.
    dfa: OnceLock<Option<Dfa>>,
}

#[derive(Debug)]
struct Dfa {
    dfa: dense::DFA<Vec<u32>>,
    start: StateID,
}

impl Dfa {
    /// The whole pattern's DFA, else one for ASCII values only: a pattern of Unicode letter
    /// classes (`\p{L}`) or word boundaries is too large or cannot be built as a DFA, but
    /// most values are ASCII. A non-ASCII byte then stops the DFA and the regex answers.
    fn build(source: &str) -> Option<Dfa> {
        let config = dense::Config::new()
            .start_kind(StartKind::Anchored)
            .dfa_size_limit(Some(DFA_LIMIT))
            .determinize_size_limit(Some(2 * DFA_LIMIT));
        let ascii = || {
            let mut config = config.clone().unicode_word_boundary(true);
            for b in 0x80..=0xFF {
                config = config.quit(b, true);
            }
            dense::Builder::new().configure(config).build(source).ok()
        };
        let dfa = dense::Builder::new()
            .configure(config.clone())
            .build(source)
            .ok()
            .or_else(ascii)?;
        let start = start::Config::new().anchored(regex_automata::Anchored::Yes);
        let start = dfa.start_state(&start).ok()?;
        Some(Dfa { dfa, start })
    }

    /// Can a value starting with `b` match? False only when the DFA dies on `b`.
    #[inline]
    fn may_start_with(&self, b: u8) -> bool {
        !self.dfa.is_dead_state(self.dfa.next_state(self.start, b))
    }

    /// Does the whole value match? `None` when the DFA cannot tell (a quit byte: a non-ASCII
    /// byte for an ASCII-only DFA), and then the regex answers.
    #[inline]
    fn matches(&self, value: &str) -> Option<bool> {
        let dfa = &self.dfa;
        let mut s = self.start;
        for &b in value.as_bytes() {
            s = dfa.next_state(s, b);
            if dfa.is_special_state(s) {
                if dfa.is_dead_state(s) {
                    return Some(false);
                }
                if dfa.is_quit_state(s) {
                    return None;
                }
            }
        }
        let end = dfa.next_eoi_state(s);
        if dfa.is_quit_state(end) {
            return None;
        }
        Some(dfa.is_match_state(end))
    }
}

impl Clone for Pattern {
    fn clone(&self) -> Pattern {
        Pattern {
            source: self.source.clone(),
            shared: self.shared.clone(),
            // A fresh cache for the clone: the compiled program is shared.
            local: OnceLock::new(),
            uses: AtomicU32::new(0),
        }
    }
}

fn compile(source: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(source).size_limit(SIZE_LIMIT).build()
}

impl Pattern {
    /// Compiles now: for patterns nobody has checked yet.
    pub fn checked(source: &str) -> Result<Pattern, regex::Error> {
        let regex = compile(source)?;
        Ok(Pattern {
            source: source.into(),
            shared: Arc::new(Shared {
                regex: OnceLock::from(regex),
                dfa: OnceLock::new(),
            }),
            local: OnceLock::new(),
            uses: AtomicU32::new(0),
        })
    }

    /// Compiles when first used: for the built-in patterns, which the test suite compiles.
    pub fn deferred(source: String) -> Pattern {
        Pattern {
            source: source.into(),
            shared: Arc::default(),
            local: OnceLock::new(),
            uses: AtomicU32::new(0),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn regex(&self) -> &Regex {
        self.local.get_or_init(|| {
            self.shared
                .regex
                .get_or_init(|| {
                    compile(&self.source)
                        .expect("built-in patterns compile (test builtin_patterns_compile)")
                })
                .clone()
        })
    }

    #[inline]
    pub fn is_match(&self, haystack: &str) -> bool {
        self.regex().is_match(haystack)
    }

    /// Can a whole value starting with byte `b` match? Asked of the DFA once one is built
    /// (false only when its first step is dead); true before.
    #[inline]
    pub fn may_start_with(&self, b: u8) -> bool {
        match self.shared.dfa.get() {
            Some(Some(dfa)) => dfa.may_start_with(b),
            _ => true,
        }
    }

    /// Values a clone checks with the regex before a DFA is tried.
    pub const DFA_AFTER: u32 = 20_000;

    /// [`Pattern::is_match`] for a pattern anchored at both ends (`^(?:...)$`, a rule's
    /// `value`), through its DFA once one is built.
    #[inline]
    pub fn is_whole_match(&self, value: &str) -> bool {
        debug_assert!(self.source.starts_with('^') && self.source.ends_with('$'));
        match self.shared.dfa.get() {
            Some(Some(dfa)) => dfa.matches(value).unwrap_or_else(|| self.is_match(value)),
            Some(None) => self.is_match(value),
            None => {
                let n = self.uses.load(Ordering::Relaxed) + 1;
                self.uses.store(n, Ordering::Relaxed);
                if n >= Self::DFA_AFTER {
                    self.shared.dfa.get_or_init(|| Dfa::build(&self.source));
                }
                self.is_match(value)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deferred_pattern_compiles_once_and_clones_share_it() {
        let p = Pattern::deferred("^(?:a+)$".into());
        assert!(p.shared.regex.get().is_none(), "not compiled before use");
        let q = p.clone();
        assert!(q.is_match("aaa"));
        assert!(
            p.shared.regex.get().is_some(),
            "the clone compiled the shared program"
        );
        assert!(p.local.get().is_none(), "each clone keeps its own cache");
        assert!(!p.is_match("ab"));
        assert!(Pattern::checked("(").is_err());
    }

    /// Values in the shapes the rules look for, near misses, other scripts and noise: every
    /// rule's own examples, each changed in several ways.
    fn corpus(rules: &crate::rules::RuleSet) -> Vec<String> {
        let mut seeds: Vec<String> = rules
            .rules
            .iter()
            .flat_map(|r| r.accepts.iter().chain(&r.rejects).chain(&r.dictionary))
            .cloned()
            .collect();
        seeds.extend(
            [
                "",
                " ",
                "user0.674@example.de",
                "+49 30 7320954",
                "DE19821026378226270870",
                "156.191.140.86",
                "C0000001",
                "2024-07-24T19:54:00Z",
                "1536.57",
                "SKU-49407",
                "Zoë Ångström",
                "Łódź",
                "İstanbul",
                "Ǆemal",
                "ΚΑΛΗΜΕΡΑ",
                "東京都",
                "😀@x.de",
                "\u{212A}elvin",
                "a\nb",
                "0000000000000000",
                "ff:ff:ff:ff:ff:ff",
                "ORD-1",
            ]
            .map(String::from),
        );
        let mut out = Vec::new();
        for (i, s) in seeds.iter().enumerate() {
            let chars: Vec<char> = s.chars().collect();
            out.push(s.clone());
            out.push(s.to_uppercase());
            out.push(s.to_lowercase());
            out.push(format!("{s}x"));
            out.push(format!("{s}7"));
            out.push(format!(" {s}"));
            out.push(format!("{s}é"));
            for cut in [1, 2, chars.len() / 2] {
                out.push(chars[..chars.len().saturating_sub(cut)].iter().collect());
                out.push(chars[cut.min(chars.len())..].iter().collect());
            }
            // One character changed, in a place that moves with the seed.
            if !chars.is_empty() {
                let at = i % chars.len();
                for c in ['0', '9', 'a', 'Z', '-', '.', ' ', '@', 'ß'] {
                    let mut v = chars.clone();
                    v[at] = c;
                    out.push(v.into_iter().collect());
                }
            }
        }
        out
    }

    /// The DFA of every built-in whole-value pattern that has one answers as the regex does.
    #[test]
    fn dfas_agree_with_the_regex_on_every_builtin_pattern() {
        let rules = crate::rules::load(&crate::rules::Sources {
            builtin: true,
            extra: vec![],
        })
        .unwrap();
        let corpus = corpus(&rules);
        assert!(corpus.len() > 5_000, "{}", corpus.len());
        let (mut built, mut matched) = (0, 0);
        for rule in &rules.rules {
            let Some(p) = rule.value_regex() else {
                continue;
            };
            let Some(dfa) = Dfa::build(p.as_str()) else {
                continue;
            };
            built += 1;
            for v in &corpus {
                let want = p.is_match(v);
                match dfa.matches(v) {
                    Some(got) => assert_eq!(got, want, "rule {} on {v:?}", rule.id),
                    // An ASCII-only DFA stops at the first non-ASCII byte.
                    None => assert!(!v.is_ascii(), "rule {} gave up on {v:?}", rule.id),
                }
                matched += want as usize;
            }
        }
        assert!(built >= 30, "{built} DFAs");
        assert!(matched > 1_000, "{matched} matches");
    }

    /// Once a clone has checked enough values, the DFA answers, and answers the same.
    #[test]
    fn a_busy_whole_value_pattern_switches_to_its_dfa() {
        let p = Pattern::deferred("^(?:[a-z]+@[a-z]+\\.de)$".into());
        for i in 0..Pattern::DFA_AFTER {
            assert!(!p.is_whole_match(&format!("a{i}@b.de")));
            assert!(p.shared.dfa.get().is_none() || i + 1 == Pattern::DFA_AFTER);
        }
        assert!(matches!(p.shared.dfa.get(), Some(Some(_))));
        assert!(p.is_whole_match("ann@example.de"));
        assert!(!p.is_whole_match("ann@example.de "));
        // Unicode letter classes: too large in full, so a DFA for ASCII values, and the regex
        // for the others.
        let letters = Pattern::deferred("^(?:[\\p{L}][\\p{L} .'-]{1,50})$".into());
        for _ in 0..Pattern::DFA_AFTER {
            letters.is_whole_match("Ann Smith");
        }
        let Some(Some(dfa)) = letters.shared.dfa.get() else {
            panic!("an ASCII-only DFA is built")
        };
        assert_eq!(dfa.matches("Ann Smith"), Some(true));
        assert_eq!(dfa.matches("Ann 5mith"), Some(false));
        assert_eq!(dfa.matches("Zoë Ångström"), None);
        assert!(letters.is_whole_match("Zoë Ångström"));
        assert!(!letters.is_whole_match("Zoë 4ngström"));
        // Word boundaries: a DFA only for ASCII.
        let words = Pattern::deferred("^(?:.*\\bGmbH\\b.*)$".into());
        for _ in 0..Pattern::DFA_AFTER {
            words.is_whole_match("Muster GmbH");
        }
        assert!(matches!(words.shared.dfa.get(), Some(Some(_))));
        assert!(words.is_whole_match("Müller GmbH & Co"));
        assert!(!words.is_whole_match("MusterGmbH"));
        // Too large even for ASCII (the n-th byte from the end: 2^20 states): the regex answers.
        let big = Pattern::deferred("^(?:[ab]*a[ab]{20})$".into());
        for _ in 0..Pattern::DFA_AFTER {
            big.is_whole_match("ab");
        }
        assert!(
            matches!(big.shared.dfa.get(), Some(None)),
            "too large: the regex answers"
        );
        assert!(big.is_whole_match(&format!("a{}", "b".repeat(20))));
    }
}
