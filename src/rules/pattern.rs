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
    /// What every match starts with, read from the syntax ([`needles`]); `None` when that
    /// cannot be told. Asked before the pattern is compiled.
    needles: OnceLock<Option<Needles>>,
}

/// Literals a match starts with, one of them at least.
type Needles = Box<[Box<[u8]>]>;

/// A whole-value pattern's dense DFA (see [`Pattern::dfa`]).
#[derive(Debug)]
pub struct Dfa {
    dfa: dense::DFA<Vec<u32>>,
    start: StateID,
    /// Per byte, whether a match may end with it ([`Dfa::last_bytes`]): a value ending
    /// otherwise is refused before its walk (a timestamp's `Z` for a card number).
    ends: [bool; 256],
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
        let ends = Self::last_bytes(&dfa, start)?;
        Some(Dfa { dfa, start, ends })
    }

    /// The bytes a match may end with: those whose step, from a state reachable from the
    /// start, leads to a state where the value may end in a match. Every non-ASCII byte may
    /// end one: an ASCII-only DFA quits on them and the regex answers for such values.
    /// `None` past [`Dfa::PAIRS`] states (no DFA then).
    fn last_bytes(dfa: &dense::DFA<Vec<u32>>, start: StateID) -> Option<[bool; 256]> {
        let mut ends = [false; 256];
        ends[0x80..].fill(true);
        let mut seen = std::collections::HashSet::from([start]);
        let mut todo = vec![start];
        while let Some(s) = todo.pop() {
            for b in 0..=255u8 {
                let t = dfa.next_state(s, b);
                if dfa.is_dead_state(t) {
                    continue;
                }
                if dfa.is_quit_state(t) {
                    ends[b as usize] = true;
                    continue;
                }
                let end = dfa.next_eoi_state(t);
                if dfa.is_match_state(end) || dfa.is_quit_state(end) {
                    ends[b as usize] = true;
                }
                if seen.insert(t) {
                    if seen.len() > Self::PAIRS {
                        return None;
                    }
                    todo.push(t);
                }
            }
        }
        Some(ends)
    }

    /// Can a value starting with `b` match? False only when the DFA dies on `b`.
    #[inline]
    pub fn may_start_with(&self, b: u8) -> bool {
        !self.dfa.is_dead_state(self.dfa.next_state(self.start, b))
    }

    /// Does the whole value match? `None` when the DFA cannot tell (a quit byte: a non-ASCII
    /// byte for an ASCII-only DFA), and then the regex answers.
    #[inline]
    pub fn matches(&self, value: &str) -> Option<bool> {
        if let Some(&last) = value.as_bytes().last()
            && !self.ends[last as usize]
        {
            return Some(false);
        }
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

    /// Does `other` match every ASCII value this DFA matches? Walks the pairs of states both
    /// reach on the same ASCII input (at most [`Dfa::PAIRS`] of them): the answer is no as soon
    /// as a value ends where this one matches and `other` does not, or where either DFA cannot
    /// tell (a quit byte). A proof, not a sample: the e-mail rule's matches are matches of the
    /// internationalised e-mail rule, so a column of e-mail addresses walks one DFA, not two.
    pub fn ascii_subset_of(&self, other: &Dfa) -> bool {
        let (a, b) = (&self.dfa, &other.dfa);
        let start = (self.start, other.start);
        let mut seen = std::collections::HashSet::from([start]);
        let mut todo = vec![start];
        while let Some((x, y)) = todo.pop() {
            let x_end = a.next_eoi_state(x);
            if a.is_quit_state(x_end)
                || (a.is_match_state(x_end) && !b.is_match_state(b.next_eoi_state(y)))
            {
                return false;
            }
            for byte in 0..0x80u8 {
                let x2 = a.next_state(x, byte);
                if a.is_dead_state(x2) {
                    continue;
                }
                let y2 = b.next_state(y, byte);
                if a.is_quit_state(x2) || b.is_quit_state(y2) {
                    return false;
                }
                if seen.insert((x2, y2)) {
                    if seen.len() > Self::PAIRS {
                        return false;
                    }
                    todo.push((x2, y2));
                }
            }
        }
        true
    }

    /// The most pairs of states [`Dfa::ascii_subset_of`] walks before it answers no.
    const PAIRS: usize = 1 << 16;
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

/// The literals every match of `source` starts with (its prefix literals, as the regex crate's
/// own prefilter reads them), parsed with the regex crate's default syntax, without compiling:
/// `\b(iban|bank account)\b` gives `iban` and `bank account`. `None` where a match may start
/// with anything (a class, an empty literal) or there would be too many.
fn needles(source: &str) -> Option<Needles> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::Parser::new().parse(source).ok()?;
    let mut extractor = Extractor::new();
    extractor.kind(ExtractKind::Prefix).limit_total(512);
    let seq = extractor.extract(&hir);
    let literals = seq.literals()?;
    if literals.is_empty() || literals.iter().any(|l| l.as_bytes().is_empty()) {
        return None;
    }
    Some(literals.iter().map(|l| l.as_bytes().into()).collect())
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
                needles: OnceLock::new(),
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

    /// [`Pattern::is_match`] for a haystack asked once, such as a column name: until the
    /// pattern is compiled, one that holds none of the literals every match starts with is
    /// answered without compiling it. Every column name meets every rule's name patterns, and
    /// most hold none of their words, so a scan compiles only the name patterns that may match.
    /// (Not for values: a pattern with many literals would search each value for each.)
    pub fn is_match_once(&self, haystack: &str) -> bool {
        if self.local.get().is_none()
            && self.shared.regex.get().is_none()
            && !self.may_hold(haystack)
        {
            return false;
        }
        self.is_match(haystack)
    }

    /// False only where no match can start in `haystack` ([`needles`]).
    fn may_hold(&self, haystack: &str) -> bool {
        match self.shared.needles.get_or_init(|| needles(&self.source)) {
            None => true,
            Some(needles) => needles
                .iter()
                .any(|n| memchr::memmem::find(haystack.as_bytes(), n).is_some()),
        }
    }

    /// The DFA, once [`Pattern::is_whole_match`] has built one: for a hot loop that asks the
    /// same pattern of many values and keeps it at hand.
    #[inline]
    pub fn dfa(&self) -> Option<&Dfa> {
        self.shared.dfa.get()?.as_ref()
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
        // The DFA's walk is inlined in the hot loops; the rest is not.
        if let Some(Some(dfa)) = self.shared.dfa.get()
            && let Some(answer) = dfa.matches(value)
        {
            return answer;
        }
        self.is_whole_match_slow(value)
    }

    /// [`Pattern::is_whole_match`] without a DFA, or where it cannot tell.
    #[inline(never)]
    fn is_whole_match_slow(&self, value: &str) -> bool {
        match self.shared.dfa.get() {
            Some(_) => self.is_match(value),
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

/// Whether no match of `source` (a pattern as the regex crate reads it) can hold the ASCII
/// byte `b`: no literal and no class of its syntax tree has it. False where the pattern does
/// not parse (the regex then reports it). A cheap rejection for the rules that meet every
/// value: an IBAN pattern never matches a value holding an `@`.
pub fn never_holds(source: &str, b: u8) -> bool {
    debug_assert!(b.is_ascii());
    regex_syntax::parse(source).is_ok_and(|hir| !may_hold(&hir, b))
}

fn may_hold(hir: &regex_syntax::hir::Hir, b: u8) -> bool {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => false,
        // An ASCII byte in UTF-8 is that character: no other character's bytes hold it.
        HirKind::Literal(lit) => lit.0.contains(&b),
        HirKind::Class(Class::Unicode(c)) => {
            let ch = char::from(b);
            c.ranges().iter().any(|r| r.start() <= ch && ch <= r.end())
        }
        HirKind::Class(Class::Bytes(c)) => {
            c.ranges().iter().any(|r| r.start() <= b && b <= r.end())
        }
        HirKind::Repetition(r) => may_hold(&r.sub, b),
        HirKind::Capture(c) => may_hold(&c.sub, b),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().any(|h| may_hold(h, b)),
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

    /// A name that holds none of a pattern's needles is answered without compiling it, and
    /// every answer is the compiled regex's: each built-in name, exclusion and veto pattern,
    /// against every column name the rules give as examples and those names changed.
    #[test]
    fn names_are_answered_as_the_regex_answers_and_most_without_compiling() {
        let rules = crate::rules::builtin().unwrap();
        let mut names: Vec<String> = rules
            .rules
            .iter()
            .flat_map(|r| r.names_accept.iter().chain(&r.names_reject))
            .map(|n| rules.normalise_name(n))
            .collect();
        let more: Vec<String> = names
            .iter()
            .flat_map(|n| {
                [
                    format!("customer {n}"),
                    format!("{n} id"),
                    n.replace(' ', ""),
                ]
            })
            .chain(["status", "created at", "amount", "sku", "note", "x"].map(String::from))
            .collect();
        names.extend(more);
        let sources: Vec<String> = rules
            .rules
            .iter()
            .flat_map(|r| [&r.names, &r.exclude_names, &r.veto_names])
            .filter_map(|p| p.as_ref().map(|p| p.as_str().to_string()))
            .collect();
        assert!(sources.len() > 100, "{}", sources.len());
        let (mut filtered, mut uncompiled) = (0, 0);
        for source in &sources {
            let regex = Regex::new(source).unwrap();
            filtered += needles(source).is_some() as usize;
            let p = Pattern::deferred(source.clone());
            for name in &names {
                assert_eq!(
                    p.is_match_once(name),
                    regex.is_match(name),
                    "{source} on {name:?}"
                );
            }
            let q = Pattern::deferred(source.clone());
            uncompiled +=
                (!q.is_match_once("created at") && q.shared.regex.get().is_none()) as usize;
        }
        // Most name patterns are alternations of words: told apart without a compiler.
        assert!(
            filtered * 10 >= sources.len() * 8,
            "{filtered} of {}",
            sources.len()
        );
        assert!(
            uncompiled * 10 >= sources.len() * 8,
            "{uncompiled} of {}",
            sources.len()
        );
    }

    /// Values in the shapes the rules look for, near misses, other scripts and noise: every
    /// rule's own examples, each changed in several ways.
    fn corpus(rules: &crate::rules::RuleSet) -> Vec<String> {
        let mut seeds: Vec<String> = rules
            .rules
            .iter()
            .flat_map(|r| {
                r.accepts
                    .iter()
                    .chain(&r.rejects)
                    .chain(r.dictionary.iter())
            })
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

    /// A DFA knows the bytes its matches end with, and refuses other values before the walk;
    /// the syntax tree knows the bytes no match holds.
    #[test]
    fn last_bytes_and_absent_bytes_come_from_the_pattern() {
        let card = Dfa::build("^(?:[0-9](?:[ -]?[0-9]){11,18})$").unwrap();
        for b in b'0'..=b'9' {
            assert!(card.ends[b as usize]);
        }
        for b in [b'Z', b' ', b'-', b'a', b'@'] {
            assert!(!card.ends[b as usize], "{}", b as char);
        }
        assert_eq!(card.matches("2024-03-12T10:22:00Z"), Some(false));
        assert_eq!(card.matches("4111 1111 1111 1111"), Some(true));
        // An ASCII-only DFA leaves a value ending in another script to the regex.
        let name = Dfa::build(r"^(?:\b\p{L}+\b)$").unwrap();
        assert_eq!(name.matches("José"), None);

        let iban = r"^(?:(?i)[a-z]{2}[0-9]{2}(?: ?[a-z0-9]){11,30})$";
        assert!(never_holds(iban, b'@'));
        assert!(!never_holds(iban, b' '));
        assert!(!never_holds(iban, b'K'), "(?i) folds k to K");
        assert!(!never_holds(r"^(?:.+)$", b'@'));
        assert!(!never_holds(r"^(?:[^x]+)$", b'@'));
        assert!(!never_holds(r"^(?:a|b@c)$", b'@'));
        assert!(!never_holds("(", b'@'), "unparsable: no claim");
    }

    /// The subset proof agrees with the patterns: every built-in pair it calls a subset has no
    /// ASCII value in the corpus that one matches and the other does not, it finds the e-mail
    /// rules' subset, and it refuses pairs that differ.
    #[test]
    fn ascii_subsets_hold_on_every_value() {
        let rules = crate::rules::load(&crate::rules::Sources {
            builtin: true,
            extra: vec![],
        })
        .unwrap();
        let corpus: Vec<String> = corpus(&rules)
            .into_iter()
            .filter(|v| v.is_ascii())
            .collect();
        let dfas: Vec<(&str, &Pattern, Dfa)> = rules
            .rules
            .iter()
            .filter_map(|r| {
                let p = r.value_regex()?;
                Some((r.id.as_str(), p, Dfa::build(p.as_str())?))
            })
            .collect();
        let mut subsets = Vec::new();
        for (ia, pa, a) in &dfas {
            for (ib, pb, b) in &dfas {
                if ia == ib || !a.ascii_subset_of(b) {
                    continue;
                }
                subsets.push(format!("{ia} < {ib}"));
                for v in &corpus {
                    assert!(!pa.is_match(v) || pb.is_match(v), "{ia} < {ib} on {v:?}");
                }
            }
        }
        assert!(
            subsets.contains(&"email-address < email-address-intl".to_string()),
            "{subsets:?}"
        );
        assert!(!subsets.contains(&"email-address-intl < email-address".to_string()));
        let dfa = |p: &str| Dfa::build(p).unwrap();
        assert!(dfa("^(?:[a-c]{2})$").ascii_subset_of(&dfa("^(?:[a-z]+)$")));
        assert!(!dfa("^(?:[a-c]{2})$").ascii_subset_of(&dfa("^(?:[a-b]+)$")));
        assert!(
            !dfa("^(?:a*)$").ascii_subset_of(&dfa("^(?:a+)$")),
            "the empty value"
        );
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
