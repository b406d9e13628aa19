//! Per-column matching: every value is shaped once (length, digits, `@`, `:`), rejected by the
//! rules' prefilters where possible, and only the survivors meet a regex; validators run only
//! on regex matches. A rule that has clearly lost on a column stops being evaluated there.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayAccessor, ArrayRef, AsArray, OffsetSizeTrait, RecordBatch,
};
use datafusion::arrow::datatypes::DataType;

use crate::rules::{Dfa, Prefilter, Rule, RuleSet, ValueShape};
use crate::sensitive::mask;

/// When a rule may stop being evaluated on a column.
#[derive(Debug, Clone, Copy)]
pub struct Stopping {
    /// After this many values, a rule that matched under 1% of them is dropped.
    pub drop_after: u64,
    /// Stop once the evidence is conclusive (sample mode): after this many values, a rule that
    /// matched at least 98% or at most 1% is decided.
    pub decide_after: Option<u64>,
    /// Count the rules marked `sparse` (checksum identifiers, e-mail) on every value, so that
    /// one valid IBAN in a million values is found (full scans).
    pub keep_sparse: bool,
}

impl Stopping {
    pub const FULL: Stopping = Stopping {
        drop_after: 20_000,
        decide_after: None,
        keep_sparse: true,
    };
    pub const SAMPLE: Stopping = Stopping {
        drop_after: 2_000,
        decide_after: Some(2_000),
        keep_sparse: false,
    };
}

#[derive(Debug, Clone, Default)]
pub struct Counter {
    pub rule: usize,
    pub matched: u64,
    pub examined: u64,
    /// Values of the rule's shape that its validator refused (a card number failing Luhn).
    pub unconfirmed: u64,
    pub active: bool,
    /// Counted on every value ([`Stopping::keep_sparse`] and a `sparse` rule): never dropped.
    pub sparse: bool,
    /// The rule's prefilter, at hand: most values fail it, and then the rule (large, cold) is
    /// not looked at.
    prefilter: Prefilter,
}

impl Counter {
    fn new(rule: usize, of: &Rule, sparse: bool) -> Counter {
        Counter {
            rule,
            matched: 0,
            examined: 0,
            unconfirmed: 0,
            active: true,
            sparse,
            prefilter: of.prefilter.clone(),
        }
    }

    fn merge(&mut self, other: &Counter) {
        self.matched += other.matched;
        self.examined += other.examined;
        self.unconfirmed += other.unconfirmed;
    }

    #[inline]
    fn settle(&mut self, stop: Stopping) {
        if self.examined == stop.drop_after && self.matched * 100 < self.examined && !self.sparse {
            self.active = false;
        }
        if let Some(n) = stop.decide_after
            && self.examined >= n
            && (self.matched * 100 >= self.examined * 98 || self.matched * 100 <= self.examined)
        {
            self.active = false;
        }
    }
}

/// The forms of a column's first [`Profile::LIMIT`] values, for judging a telling name over
/// values the rules do not accept ([`crate::rules::CodedForm`]).
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// Values profiled.
    pub seen: u64,
    /// Distinct values (lower-cased), up to [`Profile::DISTINCT`]; `many` once there are more.
    pub distinct: Vec<Box<str>>,
    pub many: bool,
    /// Values of at most 12 characters.
    pub short: u64,
    pub dates: u64,
    /// Whole numbers from 1900 to this year.
    pub years: u64,
    pub identifiers: u64,
    /// The distinct values profiled, hashed: whether a column's values are keys of another
    /// (a person key by reference).
    pub keys: KeySet,
}

/// Distinct values of a column, as 64-bit hashes of their text (never the values), for value
/// inclusion between columns of tables scanned together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeySet {
    pub hashes: foldhash::HashSet<u64>,
}

impl KeySet {
    #[inline]
    fn insert(&mut self, v: &str) {
        use std::hash::BuildHasher;
        let h = foldhash::fast::FixedState::with_seed(0x7069_6974).hash_one(v);
        self.hashes.insert(h);
    }

    /// The share of this set's values that `other` holds too.
    pub fn included_in(&self, other: &KeySet) -> f64 {
        if self.hashes.is_empty() {
            return 0.0;
        }
        let n = self
            .hashes
            .iter()
            .filter(|h| other.hashes.contains(h))
            .count();
        n as f64 / self.hashes.len() as f64
    }
}

impl Profile {
    pub const LIMIT: u64 = 4096;
    pub const DISTINCT: usize = 12;

    /// Profiles `v` if fewer than [`Profile::LIMIT`] values were: a check inlined in the hot
    /// loop, which every value of a long column passes.
    #[inline]
    fn observe(&mut self, v: &str) {
        if self.seen < Self::LIMIT {
            self.profile(v);
        }
    }

    #[inline(never)]
    fn profile(&mut self, v: &str) {
        self.seen += 1;
        self.keys.insert(v);
        let chars = v.chars().count();
        if chars <= 12 {
            self.short += 1;
            if !self.many {
                let key = v.to_lowercase();
                if !self.distinct.iter().any(|d| **d == *key) {
                    if self.distinct.len() < Self::DISTINCT {
                        self.distinct.push(key.into());
                    } else {
                        self.many = true;
                    }
                }
            }
        } else {
            self.many = true;
        }
        if crate::rules::looks_like_date(v) {
            self.dates += 1;
        }
        if v.len() == 4
            && v.parse::<i32>()
                .is_ok_and(|y| (1900..=this_year()).contains(&y))
        {
            self.years += 1;
        }
        let digits = v.bytes().filter(u8::is_ascii_digit).count();
        if (4..=24).contains(&chars)
            && digits >= 4
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '.' | '/'))
        {
            self.identifiers += 1;
        }
    }

    fn merge(&mut self, other: &Profile) {
        let room = Self::LIMIT.saturating_sub(self.seen);
        if room == 0 {
            return;
        }
        self.seen += other.seen.min(room);
        self.short += other.short;
        self.dates += other.dates;
        self.years += other.years;
        self.identifiers += other.identifiers;
        self.many |= other.many;
        self.keys.hashes.extend(other.keys.hashes.iter().copied());
        for d in &other.distinct {
            if !self.distinct.contains(d) {
                if self.distinct.len() < Self::DISTINCT {
                    self.distinct.push(d.clone());
                } else {
                    self.many = true;
                }
            }
        }
    }

    /// Whether the values are consistent with `form` (at least 90% of them in it).
    pub fn fits(&self, form: crate::rules::CodedForm) -> bool {
        use crate::rules::CodedForm::*;
        let most = |n: u64| self.seen > 0 && n * 10 >= self.seen * 9;
        match form {
            Codes => {
                let d = self.distinct.len() as u64;
                !self.many && most(self.short) && (d <= 4 || d * 2 <= self.seen)
            }
            Dates => most(self.dates),
            Years => most(self.years),
            Identifiers => most(self.identifiers),
        }
    }
}

/// The current year (for plausible birth years).
fn this_year() -> i32 {
    use chrono::Datelike;
    chrono::Utc::now().year()
}

/// Everything learnt about one column.
#[derive(Debug, Clone)]
pub struct ColumnState {
    pub name: String,
    pub normalised: String,
    pub data_type: String,
    pub non_null: u64,
    /// Values that look like free text (several words, see `ValueShape::is_text`).
    pub text_like: u64,
    pub value: Vec<Counter>,
    pub find: Vec<Counter>,
    pub profile: Profile,
    /// Indices of the counters still being evaluated: the hot loop only walks these.
    live_value: Vec<usize>,
    live_find: Vec<usize>,
    /// Indices of the find counters counted on every text value (as `sparse_value`): their
    /// `examined` is the column's text values, added once per fed run.
    sparse_find: Vec<usize>,
    /// Indices of the value counters counted on every value ([`Counter::sparse`]): they never
    /// leave, so they are judged without per-value bookkeeping and their `examined` is the
    /// column's values, added once per fed run.
    sparse_value: Vec<usize>,
    /// Masked examples of matched values, per rule index (only kept when asked for).
    pub examples: Vec<(usize, String)>,
    /// Results of values seen before, for columns that repeat a few values (country, status,
    /// canned notes): a repeated value costs one hash lookup instead of every live rule.
    repeats: Repeats,
    implied: Implied,
}

/// Patterns a sparse counter's pattern answers for: where rule B's value pattern matches every
/// ASCII value rule A's matches (proven on their DFAs, [`RuleSet::pattern_implies`]) and A is
/// a sparse counter (judged first), an ASCII value A's pattern matched needs no walk of B's.
/// An e-mail column walks the e-mail DFA once, not again for the internationalised rule.
#[derive(Debug, Clone, Default)]
struct Implied {
    /// Per value counter: its place in `sparse_value` (below 64), or [`Implied::NONE`].
    place: Vec<u8>,
    /// Per value counter: the place of a sparse counter whose pattern implies its own.
    by: Vec<u8>,
    /// Whether every pair was answered (both DFAs are built once the column is long).
    done: bool,
}

impl Implied {
    const NONE: u8 = u8::MAX;
    /// Values between two [`Implied::refresh`] calls within a run, until every pair is answered.
    const EVERY: u64 = 1024;

    fn new(sparse: &[usize], counters: usize) -> Implied {
        let mut place = vec![Self::NONE; counters];
        for (k, &i) in sparse.iter().enumerate().take(64) {
            place[i] = k as u8;
        }
        Implied {
            place,
            by: vec![Self::NONE; counters],
            done: sparse.is_empty(),
        }
    }

    /// Asks, for the counters still judged, which sparse counter's pattern implies theirs;
    /// once the column has had [`Pattern::DFA_AFTER`] values, until every pair is answered.
    fn refresh(rules: &RuleSet, state: &mut ColumnState) {
        #[cfg(test)]
        if NO_GATE.get() {
            return;
        }
        if state.implied.done || state.non_null < crate::rules::Pattern::DFA_AFTER as u64 {
            return;
        }
        let ColumnState {
            value,
            live_value,
            sparse_value,
            implied,
            ..
        } = state;
        let mut done = true;
        for &i in live_value.iter().chain(sparse_value.iter()) {
            if implied.by[i] != Self::NONE || value_pattern_less(rules, value[i].rule) {
                continue;
            }
            for (k, &a) in sparse_value.iter().enumerate().take(64) {
                // Only a counter judged before this one can answer for it.
                if a == i || (implied.place[i] != Self::NONE && implied.place[i] <= k as u8) {
                    continue;
                }
                match rules.pattern_implies(value[a].rule, value[i].rule) {
                    Some(true) => {
                        implied.by[i] = k as u8;
                        break;
                    }
                    Some(false) => {}
                    None => done = false,
                }
            }
        }
        implied.done = done;
    }
}

/// A rule without a value pattern (a dictionary): nothing to imply.
fn value_pattern_less(rules: &RuleSet, rule: usize) -> bool {
    rules.rules[rule].value_regex().is_none()
}

/// What every rule said about one value: `value` verdicts by counter index ([`MISS`], [`HIT`],
/// or [`SHAPE_ONLY`]: the shape matched, the validator refused), `find` hits likewise (only
/// for text), and whether the value looked like text.
#[derive(Debug, Clone)]
struct Seen {
    value: Vec<u8>,
    find: Vec<bool>,
    text: bool,
    /// No sparse counter (value or find) had anything to count: a replay leaves them alone.
    quiet: bool,
}

/// A bounded cache of [`Seen`] per distinct value. It gives up on a column whose values rarely
/// repeat, so that high-cardinality columns pay for at most a few thousand lookups.
#[derive(Debug, Clone, Default)]
struct Repeats {
    seen: foldhash::HashMap<Box<str>, Seen>,
    lookups: u64,
    hits: u64,
    off: bool,
}

impl Repeats {
    const CAPACITY: usize = 512;
    const TRIAL: u64 = 4096;

    fn get(&mut self, v: &str) -> Option<&Seen> {
        if self.off {
            return None;
        }
        self.lookups += 1;
        if self.lookups == Self::TRIAL && self.hits * 2 < self.lookups {
            self.off = true;
            self.seen = Default::default();
            return None;
        }
        let hit = self.seen.get(v);
        self.hits += hit.is_some() as u64;
        hit
    }

    /// Whether a new value's results would be kept.
    fn wants_more(&self) -> bool {
        !self.off && self.seen.len() < Self::CAPACITY
    }

    fn put(&mut self, v: &str, seen: Seen) {
        if self.wants_more() {
            self.seen.insert(v.into(), seen);
        }
    }
}

const MISS: u8 = 0;
const HIT: u8 = 1;
const SHAPE_ONLY: u8 = 2;

/// Trims ASCII whitespace without decoding; falls back to Unicode trimming when needed.
#[inline]
fn trim(v: &str) -> &str {
    let b = v.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => v,
        _ => v.trim(),
    }
}

/// Values that mean "no value" in real exports.
#[inline]
fn is_null_token(v: &str) -> bool {
    // No token is longer than four bytes: most values are told apart by their length alone.
    v.len() <= 4
        && matches!(
            v,
            "" | "NULL"
                | "null"
                | "Null"
                | "N/A"
                | "n/a"
                | "NA"
                | "NaN"
                | "nan"
                | "-"
                | "--"
                | "None"
                | "none"
                | "\\N"
        )
}

pub struct Matcher {
    rules: Arc<RuleSet>,
    stop: Stopping,
    keep_examples: bool,
    pub columns: Vec<ColumnState>,
}

impl Matcher {
    pub fn new(
        rules: Arc<RuleSet>,
        fields: &[(String, DataType)],
        stop: Stopping,
        keep_examples: bool,
    ) -> Matcher {
        let columns = fields
            .iter()
            .map(|(name, dt)| {
                let normalised = rules.normalise_name(name);
                let mut value = Vec::new();
                let mut find = Vec::new();
                for (i, rule) in rules.rules.iter().enumerate() {
                    if rule.vetoed(&normalised) {
                        continue;
                    }
                    let named = rule.name_matches(&normalised);
                    let sparse = stop.keep_sparse && rule.sparse;
                    if rule.has_value_check() && (named || !rule.require_name) {
                        value.push(Counter::new(i, rule, sparse));
                    }
                    if rule.has_find() {
                        find.push(Counter::new(i, rule, sparse));
                    }
                }
                let (sparse_value, live_value): (Vec<usize>, Vec<usize>) =
                    (0..value.len()).partition(|&i: &usize| value[i].sparse);
                let (sparse_find, live_find): (Vec<usize>, Vec<usize>) =
                    (0..find.len()).partition(|&i: &usize| find[i].sparse);
                let implied = Implied::new(&sparse_value, value.len());
                ColumnState {
                    name: name.clone(),
                    normalised,
                    data_type: dt.to_string(),
                    non_null: 0,
                    text_like: 0,
                    live_value,
                    live_find,
                    sparse_find,
                    sparse_value,
                    value,
                    find,
                    profile: Profile::default(),
                    examples: Vec::new(),
                    repeats: Repeats::default(),
                    implied,
                }
            })
            .collect();
        Matcher {
            rules,
            stop,
            keep_examples,
            columns,
        }
    }

    /// Feeds one batch; the batch's columns are in the same order as the fields.
    pub fn feed(&mut self, batch: &RecordBatch) {
        let Matcher {
            rules,
            stop,
            keep_examples,
            columns,
        } = self;
        for (state, array) in columns.iter_mut().zip(batch.columns()) {
            feed_column(rules, state, array, *stop, *keep_examples);
        }
    }

    /// Feeds columns of fields of `text` (in row order), counted as [`Matcher::feed`] counts
    /// a batch of the same values. `holds` says, per column, what its fields may hold (what
    /// the splitter saw in them); a column without an entry may hold anything.
    pub fn feed_fields(&mut self, text: &str, columns: &[Vec<Field>], holds: &[Holds]) {
        let Matcher {
            rules,
            stop,
            keep_examples,
            columns: states,
        } = self;
        for (k, (state, fields)) in states.iter_mut().zip(columns).enumerate() {
            let holds = holds.get(k).copied().unwrap_or(Holds::ANY);
            if !column_done(state) && !short_run(rules, state, text, fields, holds) {
                let values = fields.iter().map(|f| f.of(text));
                each(values, rules, state, *stop, *keep_examples, holds);
            }
        }
    }

    /// Adds another matcher's counts (same fields, same rules) to this one.
    pub fn merge(&mut self, other: &Matcher) {
        for (a, b) in self.columns.iter_mut().zip(&other.columns) {
            a.non_null += b.non_null;
            a.text_like += b.text_like;
            a.profile.merge(&b.profile);
            for (x, y) in a.value.iter_mut().zip(&b.value) {
                x.merge(y);
            }
            for (x, y) in a.find.iter_mut().zip(&b.find) {
                x.merge(y);
            }
            for e in &b.examples {
                if a.examples.iter().filter(|(r, _)| *r == e.0).count() < 3 {
                    a.examples.push(e.clone());
                }
            }
        }
    }
}

/// What a run of one column's values may hold, learnt in one pass over their bytes before any
/// value is looked at (a `memchr` over an array's buffer, the CSV splitter's own search): a
/// sparse rule that needs a byte none of them has (an e-mail's `@`) is asked of none of them.
/// Only sparse rules are worth it: they meet every value of every column, where the others
/// leave a column that does not match them after 20,000 values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holds {
    /// Some value may hold an `@`.
    pub at: bool,
}

impl Holds {
    /// Nothing known: any value may hold anything.
    pub const ANY: Holds = Holds { at: true };

    /// What the bytes of a run of values (and perhaps some bytes around them) hold.
    #[inline]
    pub fn of(bytes: &[u8]) -> Holds {
        Holds {
            at: memchr::memchr(b'@', bytes).is_some(),
        }
    }

    /// What the values of a string array hold: the bytes between its first and last offset.
    /// Looked for only where a gate would ask (`state`: no live value rule, a sparse one that
    /// needs an `@`); the values' bytes are not read otherwise.
    fn of_strings<O: OffsetSizeTrait>(
        rules: &RuleSet,
        state: &ColumnState,
        array: &datafusion::arrow::array::GenericStringArray<O>,
    ) -> Holds {
        let asks = state.live_value.is_empty()
            && state
                .sparse_value
                .iter()
                .any(|&i| rules.rules[state.value[i].rule].prefilter.require_byte == Some(b'@'));
        if !asks {
            return Holds::ANY;
        }
        let offsets = array.value_offsets();
        let (Some(first), Some(last)) = (offsets.first(), offsets.last()) else {
            return Holds::ANY;
        };
        array
            .value_data()
            .get(first.as_usize()..last.as_usize())
            .map_or(Holds::ANY, Holds::of)
    }

    /// Whether a sparse rule may match a value of this run at all.
    #[inline]
    fn admits(self, rule: &Rule) -> bool {
        self.at || rule.prefilter.require_byte != Some(b'@')
    }
}

/// A field of a block of text, by byte offsets: reused from block to block, where `&str`
/// slices would tie the buffers to one block.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    start: u32,
    end: u32,
}

impl Field {
    /// A field the row does not have (a short row).
    pub const MISSING: Field = Field {
        start: u32::MAX,
        end: 0,
    };

    /// `text[start..end]`; offsets must fit in `u32` (blocks are a few MB).
    #[inline]
    pub fn new(start: usize, end: usize) -> Field {
        debug_assert!(end < u32::MAX as usize);
        Field {
            start: start as u32,
            end: end as u32,
        }
    }

    #[inline]
    fn of(self, text: &str) -> Option<&str> {
        text.get(self.start as usize..self.end as usize)
    }

    /// Its length in bytes (0 for a missing field).
    #[inline]
    fn len(self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }
}

/// Per column: values, text-like values, and (matched, examined) of each value and find rule.
#[cfg(test)]
pub(crate) type Counts = Vec<(u64, u64, Vec<(u64, u64)>, Vec<(u64, u64)>)>;

#[cfg(test)]
impl Matcher {
    /// Every count, for tests that compare two ways of matching the same values.
    pub(crate) fn counts(&self) -> Counts {
        self.columns
            .iter()
            .map(|c| {
                (
                    c.non_null,
                    c.text_like,
                    c.value.iter().map(|x| (x.matched, x.examined)).collect(),
                    c.find.iter().map(|x| (x.matched, x.examined)).collect(),
                )
            })
            .collect()
    }
}

/// The counts of one column that a replay adds to, borrowed apart from its cache.
struct Tally<'a> {
    live_value: &'a mut Vec<usize>,
    sparse_value: &'a [usize],
    value: &'a mut [Counter],
    live_find: &'a mut Vec<usize>,
    sparse_find: &'a [usize],
    find: &'a mut [Counter],
    text_like: &'a mut u64,
}

/// Counts a repeated value exactly as matching it again would. Takes the column's fields
/// apart so that `seen` can stay borrowed from its cache. Sparse counters' `examined` is added
/// up later (see [`each`]), not here; a quiet value leaves them alone.
fn replay(tally: Tally<'_>, seen: &Seen, stop: Stopping) {
    let Tally {
        live_value,
        sparse_value,
        value,
        live_find,
        sparse_find,
        find,
        text_like,
    } = tally;
    let verdict = |idx: usize, c: &mut Counter| match seen.value[idx] {
        HIT => true,
        SHAPE_ONLY => {
            c.unconfirmed += 1;
            false
        }
        _ => false,
    };
    if !seen.quiet {
        for &idx in sparse_value {
            let c = &mut value[idx];
            c.matched += verdict(idx, c) as u64;
        }
        for &idx in sparse_find {
            find[idx].matched += (seen.text && seen.find[idx]) as u64;
        }
    }
    walk_live(live_value, value, stop, verdict);
    if seen.text {
        *text_like += 1;
        walk_live(live_find, find, stop, |idx, _| seen.find[idx]);
    }
}

/// Walks the live counters: each examines the value, counts a match when `hit` says so, and
/// settles; a counter that settles leaves the live list.
#[inline]
fn walk_live(
    live: &mut Vec<usize>,
    counters: &mut [Counter],
    stop: Stopping,
    mut hit: impl FnMut(usize, &mut Counter) -> bool,
) {
    let mut i = 0;
    while i < live.len() {
        let idx = live[i];
        let c = &mut counters[idx];
        c.examined += 1;
        if hit(idx, c) {
            c.matched += 1;
        }
        c.settle(stop);
        if c.active {
            i += 1;
        } else {
            live.swap_remove(i);
        }
    }
}

/// Where only sparse value counters are left (what is left of a full scan once the other
/// value rules have settled; sparse ones never leave), what turns a value away before the cache
/// or a shape: it is shorter than any sparse rule or free text needs (`min`), or no sparse rule
/// can match it ([`Gate::may_match`]). Find counters look at free text only, which is never
/// shorter than [`ValueShape::MIN_TEXT_LEN`]; they may be of any rule (a column without text
/// never settles them).
struct Gate<'r> {
    min: usize,
    rules: Vec<GateRule<'r>>,
}

/// One sparse rule as the gate asks it, its DFA at hand once built.
struct GateRule<'r> {
    rule: &'r Rule,
    dfa: Option<&'r Dfa>,
}

impl<'r> Gate<'r> {
    fn of(rules: &'r RuleSet, state: &ColumnState, holds: Holds) -> Option<Gate<'r>> {
        #[cfg(test)]
        if NO_GATE.get() {
            return None;
        }
        if !state.live_value.is_empty() || state.sparse_value.is_empty() {
            return None;
        }
        let text = if state.live_find.is_empty() && state.sparse_find.is_empty() {
            usize::MAX
        } else {
            ValueShape::MIN_TEXT_LEN
        };
        // A rule the run's values cannot satisfy (no `@` among them) is not asked: it would
        // turn each of them away.
        let rules: Vec<GateRule<'r>> = state
            .sparse_value
            .iter()
            .map(|&i| &rules.rules[state.value[i].rule])
            .filter(|rule| holds.admits(rule))
            .map(|rule| {
                let dfa = rule.value_regex().and_then(|p| p.dfa());
                GateRule { rule, dfa }
            })
            .collect();
        let min = rules
            .iter()
            .map(|g| g.rule.prefilter.min_len)
            .fold(text, usize::min);
        Some(Gate { min, rules })
    }

    /// Can any sparse rule match `v`? With `whole`, each rule's whole pattern answers (where
    /// the cache gave up: values rarely repeat); otherwise the cheap look alone (the length,
    /// the required byte, the DFA's first step), and the cache answers the rest. False only
    /// where no sparse rule's [`Rule::value_matches`] is true.
    #[inline]
    fn may_match(&self, v: &str, whole: bool) -> bool {
        self.rules.iter().any(|g| {
            if !g.rule.prefilter.may_admit(v) {
                return false;
            }
            match (g.dfa, whole) {
                (Some(dfa), true) => dfa
                    .matches(v)
                    .unwrap_or_else(|| g.rule.may_match_pattern(v)),
                (Some(dfa), false) => v.as_bytes().first().is_none_or(|&b| dfa.may_start_with(b)),
                (None, true) => g.rule.may_match_pattern(v),
                (None, false) => g.rule.may_match(v),
            }
        })
    }
}

#[cfg(test)]
thread_local! {
    /// Turns the sparse-only gate and the implied patterns off, so that a test compares them
    /// with the whole matching.
    static NO_GATE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Runs of values [`feed_keyed`] counted by key.
    static KEYED_RUNS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn column_done(state: &ColumnState) -> bool {
    state.live_value.is_empty()
        && state.sparse_value.is_empty()
        && state.live_find.is_empty()
        && state.sparse_find.is_empty()
}

fn feed_column(
    rules: &RuleSet,
    state: &mut ColumnState,
    array: &ArrayRef,
    stop: Stopping,
    keep: bool,
) {
    if column_done(state) {
        return;
    }
    match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            let holds = Holds::of_strings(rules, state, a);
            each(a.iter(), rules, state, stop, keep, holds)
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            let holds = Holds::of_strings(rules, state, a);
            each(a.iter(), rules, state, stop, keep, holds)
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            each(a.iter(), rules, state, stop, keep, Holds::ANY)
        }
        DataType::Dictionary(_, of)
            if matches!(
                **of,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) =>
        {
            let dict = array.as_any_dictionary();
            let keys = dict.normalized_keys();
            let values = dict.values();
            let array = array.as_ref();
            match values.data_type() {
                DataType::Utf8 => {
                    let values = values.as_string::<i32>();
                    feed_keyed(rules, state, array, &keys, values, stop, keep)
                }
                DataType::LargeUtf8 => {
                    let values = values.as_string::<i64>();
                    feed_keyed(rules, state, array, &keys, values, stop, keep)
                }
                _ => {
                    let values = values.as_string_view();
                    feed_keyed(rules, state, array, &keys, values, stop, keep)
                }
            }
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => {
            // Digests and blobs: judged by their hex text, which no identifier rule accepts.
            let hex: Vec<Option<String>> = (0..array.len())
                .map(|i| {
                    (!array.is_null(i)).then(|| {
                        let bytes = match array.data_type() {
                            DataType::Binary => array.as_binary::<i32>().value(i),
                            DataType::LargeBinary => array.as_binary::<i64>().value(i),
                            DataType::BinaryView => array.as_binary_view().value(i),
                            _ => array.as_fixed_size_binary().value(i),
                        };
                        hex::encode(bytes)
                    })
                })
                .collect();
            // Hex digits only.
            let holds = Holds { at: false };
            each(
                hex.iter().map(|o| o.as_deref()),
                rules,
                state,
                stop,
                keep,
                holds,
            )
        }
        _ => {
            // Numbers and dates are judged on their text; nested types that do not cast to
            // text are judged by name only.
            if let Ok(text) = datafusion::arrow::compute::cast(array, &DataType::Utf8) {
                let a = text.as_string::<i32>();
                let holds = Holds::of_strings(rules, state, a);
                each(a.iter(), rules, state, stop, keep, holds)
            }
        }
    }
}

fn each<'a>(
    values: impl Iterator<Item = Option<&'a str>>,
    rules: &RuleSet,
    state: &mut ColumnState,
    stop: Stopping,
    keep: bool,
    holds: Holds,
) {
    Implied::refresh(rules, state);
    let mut gate = Gate::of(rules, state, holds);
    // Sparse counters examine every non-null value: they are given the values counted here
    // once at the end.
    let (non_null_before, text_before) = (state.non_null, state.text_like);
    for v in values {
        let Some(v) = v else { continue };
        let v = trim(v);
        if is_null_token(v) {
            continue;
        }
        state.non_null += 1;
        // The DFAs an implication is proven on are built within a column's first values: ask
        // again every so often, not only when the next run of values comes.
        if !state.implied.done && state.non_null.is_multiple_of(Implied::EVERY) {
            Implied::refresh(rules, state);
        }
        state.profile.observe(v);
        if turned_away(state, gate.as_ref(), v, state.repeats.off) {
            continue;
        }
        let live = state.live_value.len() + state.live_find.len();
        let cache = !keep;
        // A value seen before: replay what the rules said (examples need the real matching).
        if cache && let Some(seen) = state.repeats.get(v) {
            let tally = Tally {
                live_value: &mut state.live_value,
                sparse_value: &state.sparse_value,
                value: &mut state.value,
                live_find: &mut state.live_find,
                sparse_find: &state.sparse_find,
                find: &mut state.find,
                text_like: &mut state.text_like,
            };
            replay(tally, seen, stop);
            if column_done(state) {
                break;
            }
            if state.live_value.len() + state.live_find.len() != live {
                gate = Gate::of(rules, state, holds);
            }
            continue;
        }
        let mut record = (cache && state.repeats.wants_more()).then(|| Seen {
            value: vec![MISS; state.value.len()],
            find: vec![false; state.find.len()],
            text: false,
            quiet: true,
        });
        let shape = ValueShape::of(v);
        let examples = &mut state.examples;
        let implied = &state.implied;
        // Sparse counters (by place) whose pattern matched this value: judged first, they
        // answer for the patterns that hold all their ASCII matches.
        let mut matched = 0u64;
        let mut judge = |idx: usize, c: &mut Counter| {
            if !c.prefilter.admits(&shape) {
                return false;
            }
            let rule = &rules.rules[c.rule];
            let by = implied.by[idx];
            let known = by != Implied::NONE && shape.ascii && matched >> by & 1 == 1;
            let (said, patterned) = verdict(rule, v, &shape, known);
            let place = implied.place[idx];
            if patterned && place != Implied::NONE {
                matched |= 1 << place;
            }
            if said == SHAPE_ONLY {
                c.unconfirmed += 1;
            }
            if let Some(r) = &mut record {
                r.value[idx] = said;
            }
            let hit = said == HIT;
            if hit && keep && examples.iter().filter(|(r, _)| *r == c.rule).count() < 3 {
                examples.push((c.rule, mask(v)));
            }
            hit
        };
        // Most values fail a sparse rule's prefilter: asked here, where the judge is not called.
        for &idx in &state.sparse_value {
            let c = &mut state.value[idx];
            if c.prefilter.admits(&shape) {
                c.matched += judge(idx, c) as u64;
            }
        }
        walk_live(&mut state.live_value, &mut state.value, stop, judge);
        if shape.is_text() {
            if let Some(r) = &mut record {
                r.text = true;
            }
            state.text_like += 1;
            walk_live(&mut state.live_find, &mut state.find, stop, |idx, c| {
                let hit = found(&rules.rules[c.rule], v, &shape);
                if hit && let Some(r) = &mut record {
                    r.find[idx] = true;
                }
                hit
            });
            for &idx in &state.sparse_find {
                let c = &mut state.find[idx];
                if found(&rules.rules[c.rule], v, &shape) {
                    c.matched += 1;
                    if let Some(r) = &mut record {
                        r.find[idx] = true;
                    }
                }
            }
        }
        if let Some(mut r) = record {
            r.quiet = state.sparse_value.iter().all(|&i| r.value[i] == MISS)
                && state.sparse_find.iter().all(|&i| !r.find[i]);
            // Only rules still live saw this value; a rule dropped later is never asked again.
            state.repeats.put(v, r);
        }
        if column_done(state) {
            break;
        }
        if state.live_value.len() + state.live_find.len() != live {
            gate = Gate::of(rules, state, holds);
        }
    }
    settle_sparse(state, non_null_before, text_before);
}

/// Counts a run of fields of a column whose profile is full where every field is shorter than
/// anything still asked of the column needs ([`Gate::min`], told from the fields' offsets
/// without reading them): each value would be turned away ([`turned_away`]) and only counted,
/// so they are counted and nothing else is done. False, having done nothing, otherwise.
fn short_run(
    rules: &RuleSet,
    state: &mut ColumnState,
    text: &str,
    fields: &[Field],
    holds: Holds,
) -> bool {
    if state.profile.seen < Profile::LIMIT {
        return false;
    }
    let Some(gate) = Gate::of(rules, state, holds) else {
        return false;
    };
    let longest = fields.iter().map(|f| f.len()).max().unwrap_or(0);
    if longest >= gate.min {
        return false;
    }
    let present = fields
        .iter()
        .filter(|f| f.of(text).is_some_and(|v| !is_null_token(trim(v))))
        .count() as u64;
    let text_like = state.text_like;
    state.non_null += present;
    settle_sparse(state, state.non_null - present, text_like);
    true
}

/// The largest dictionary whose values [`feed_keyed`] counts by key: a batch's counts are a
/// vector as long as its dictionary.
const KEYED: usize = 1 << 16;

/// Feeds a dictionary-encoded column (`keys` into `values`, as Parquet's dictionary pages are
/// read). Once its counts no longer depend on the order of its values ([`order_free`]) and no
/// examples are kept, each distinct value of the batch is judged once and counted as often as
/// its key occurs. Before that, the values are fed one by one, as any other column's.
fn feed_keyed<'a, A>(
    rules: &RuleSet,
    state: &mut ColumnState,
    array: &dyn Array,
    keys: &[usize],
    values: A,
    stop: Stopping,
    keep: bool,
) where
    A: ArrayAccessor<Item = &'a str> + Copy,
{
    let row = |i: usize| {
        let k = keys[i];
        (array.is_valid(i) && values.is_valid(k)).then(|| values.value(k))
    };
    let one_by_one = |state: &mut ColumnState| {
        each(
            (0..keys.len()).map(row),
            rules,
            state,
            stop,
            keep,
            Holds::ANY,
        )
    };
    if keep || !order_free(state, stop) || values.len() > KEYED {
        return one_by_one(state);
    }
    let mut counts = vec![0u64; values.len()];
    for (i, &k) in keys.iter().enumerate() {
        counts[k] += array.is_valid(i) as u64;
    }
    let used = || {
        counts
            .iter()
            .enumerate()
            .filter(|&(k, &n)| n > 0 && values.is_valid(k))
            .map(|(k, &n)| (trim(values.value(k)), n))
            .filter(|(v, _)| !is_null_token(v))
    };
    // Find counters still settling examine text values in order: a batch with text waits.
    if !settled(&state.live_find, &state.find, stop)
        && used().any(|(v, _)| ValueShape::of(v).is_text())
    {
        return one_by_one(state);
    }
    #[cfg(test)]
    KEYED_RUNS.set(KEYED_RUNS.get() + 1);
    let gate = Gate::of(rules, state, Holds::ANY);
    let (non_null_before, text_before) = (state.non_null, state.text_like);
    for (v, n) in used() {
        state.non_null += n;
        if turned_away(state, gate.as_ref(), v, true) {
            continue;
        }
        let shape = ValueShape::of(v);
        for &idx in &state.live_value {
            state.value[idx].examined += n;
        }
        for &idx in state.sparse_value.iter().chain(&state.live_value) {
            let c = &mut state.value[idx];
            match verdict(&rules.rules[c.rule], v, &shape, false).0 {
                HIT => c.matched += n,
                SHAPE_ONLY => c.unconfirmed += n,
                _ => {}
            }
        }
        if shape.is_text() {
            state.text_like += n;
            for &idx in &state.live_find {
                state.find[idx].examined += n;
            }
            for &idx in state.sparse_find.iter().chain(&state.live_find) {
                let c = &mut state.find[idx];
                c.matched += n * found(&rules.rules[c.rule], v, &shape) as u64;
            }
        }
    }
    settle_sparse(state, non_null_before, text_before);
}

/// Whether a column's counts no longer depend on the order of its values, but for find
/// counters (see [`settled`]): its profile is full and no value counter can leave any more.
fn order_free(state: &ColumnState, stop: Stopping) -> bool {
    stop.decide_after.is_none()
        && state.profile.seen >= Profile::LIMIT
        && settled(&state.live_value, &state.value, stop)
}

/// Whether none of the `live` counters can leave any more: sparse ones never do, and in a
/// full scan a live one is judged once, when it has examined [`Stopping::drop_after`] values.
fn settled(live: &[usize], counters: &[Counter], stop: Stopping) -> bool {
    live.iter()
        .all(|&i| counters[i].examined >= stop.drop_after)
}

/// Whether the value `v` changes no count but the examined ones, so that it needs neither the
/// cache nor a shape: where only free text still matters, a value that cannot be text (no rule
/// revives); where only sparse value counters are left, one that none of them can match and
/// that cannot be text ([`Gate::may_match`], `whole` as there).
#[inline(always)]
fn turned_away(state: &ColumnState, gate: Option<&Gate<'_>>, v: &str, whole: bool) -> bool {
    if state.live_value.is_empty() && state.sparse_value.is_empty() && !ValueShape::may_be_text(v) {
        return true;
    }
    gate.is_some_and(|gate| {
        v.len() < gate.min || (!ValueShape::may_be_text(v) && !gate.may_match(v, whole))
    })
}

/// Sparse counters examine every value (value rules) or every text value (find rules): they
/// are given the values counted since `non_null_before` and `text_before` once per run.
fn settle_sparse(state: &mut ColumnState, non_null_before: u64, text_before: u64) {
    let examined = state.non_null - non_null_before;
    for &i in &state.sparse_value {
        state.value[i].examined += examined;
    }
    let texts = state.text_like - text_before;
    for &i in &state.sparse_find {
        state.find[i].examined += texts;
    }
}

/// What `rule` says of the value `v` (of shape `shape`): [`HIT`], [`SHAPE_ONLY`] (its shape,
/// refused by its validator) or [`MISS`], and whether its pattern matched. `known`: its
/// pattern is known to match (a sparse pattern that implies it matched, [`Implied`]).
#[inline(always)]
fn verdict(rule: &Rule, v: &str, shape: &ValueShape, known: bool) -> (u8, bool) {
    let patterned = rule.prefilter.admits(shape)
        && rule
            .value_regex()
            .is_none_or(|re| known || re.is_whole_match(v));
    let shaped = patterned && !(rule.reject_dates && crate::rules::looks_like_date(v));
    let said = if !shaped {
        MISS
    } else if rule.confirm(v) {
        HIT
    } else if rule.validator.is_some() {
        SHAPE_ONLY
    } else {
        MISS
    };
    (said, patterned)
}

/// Whether `rule` finds a match inside the text `v` (of shape `shape`). A sparse rule's
/// prefilter says what a text holding its match has (an `@`, enough digits): most text is
/// turned away before the pattern runs.
#[inline]
fn found(rule: &Rule, v: &str, shape: &ValueShape) -> bool {
    (!rule.sparse || rule.prefilter.may_hold_in(shape)) && rule.found_in(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{DictionaryArray, StringArray};
    use datafusion::arrow::datatypes::Int32Type;

    /// Counts with the repeat cache (no examples kept) equal counts without it (examples kept
    /// turns the cache off), on columns that repeat a few values, never repeat, or mix both.
    #[test]
    fn replayed_values_count_exactly_as_matched_ones() {
        let rules = Arc::new(
            crate::rules::load(&crate::rules::Sources {
                builtin: true,
                extra: vec![],
            })
            .unwrap(),
        );
        let n = 30_000;
        let few: Vec<String> = (0..n)
            .map(|i| ["DE", "FR", "gift wrap requested", "a@b.de", "NULL"][i % 5].to_string())
            .collect();
        let unique: Vec<String> = (0..n).map(|i| format!("user{i}@example.com")).collect();
        let mixed: Vec<String> = (0..n)
            .map(|i| {
                if i % 3 == 0 {
                    format!("+49 30 {:07}", i)
                } else {
                    "call me at +49 30 1234567 please".to_string()
                }
            })
            .collect();
        // Short values with a rare IBAN and e-mail: what the length gate turns away.
        let sparse: Vec<String> = (0..n)
            .map(|i| match i % 7_000 {
                0 => "DE89370400440532013000".to_string(),
                1 => "a@b.de".to_string(),
                _ => (i % 1_000).to_string(),
            })
            .collect();
        // Values that never repeat (the cache gives up) with rare identifiers among them.
        let unrepeated: Vec<String> = (0..n)
            .map(|i| match i % 5_000 {
                0 => "DE89370400440532013000".to_string(),
                1 => format!("a{i}@b.de"),
                2 => "4111 1111 1111 1111".to_string(),
                3 => "4111 1111 1111 1112".to_string(),
                _ => format!("2024-03-{:02}T{i:08}", i % 28),
            })
            .collect();
        // E-mail addresses in ASCII and in other scripts (a Kelvin sign, which the ASCII
        // rule's `(?i)k` matches too), and near misses: the internationalised rule's pattern
        // is answered by the ASCII rule's on ASCII values once both DFAs are built.
        let email: Vec<String> = (0..n)
            .map(|i| match i % 6 {
                0 => format!("josé{i}@bücher.example"),
                1 => format!("\u{212A}im{i}@example.de"),
                2 => format!("user{i}@example"),
                3 => format!("user{i}@@example.de"),
                _ => format!("u.{i}@mail.example.org"),
            })
            .collect();
        // Canned notes (free text, a rare address among them) and gaps: what a column of
        // repeated text is.
        let notes: Vec<Option<String>> = (0..n)
            .map(|i| match i % 11 {
                0 => None,
                _ if i % 9_000 == 1 => Some("write to jo@example.org please".to_string()),
                _ if i % 13 == 0 => Some("N/A".to_string()),
                k => Some(
                    [
                        "gift wrap requested",
                        "left at the door",
                        "call before delivery",
                    ][k % 3]
                        .to_string(),
                ),
            })
            .collect();
        let columns: Vec<Vec<Option<String>>> = [&few, &unique, &mixed, &sparse, &unrepeated]
            .iter()
            .chain([&&email])
            .map(|c| c.iter().cloned().map(Some).collect())
            .chain([notes])
            .collect();
        let names = ["a", "b", "c", "d", "e", "email", "note"];
        // The same values as strings, and dictionary-encoded as Parquet's dictionary pages are
        // read (counted by key once only sparse counters are left).
        let batch = |keyed: bool| {
            let arrays: Vec<ArrayRef> = columns
                .iter()
                .map(|c| -> ArrayRef {
                    let values = c.iter().map(Option::as_deref);
                    if keyed {
                        Arc::new(values.collect::<DictionaryArray<Int32Type>>())
                    } else {
                        Arc::new(values.collect::<StringArray>())
                    }
                })
                .collect();
            RecordBatch::try_from_iter(names.iter().zip(arrays)).unwrap()
        };
        let fields: Vec<(String, DataType)> = names
            .iter()
            .map(|n| (n.to_string(), DataType::Utf8))
            .collect();
        let (plain, keyed) = (batch(false), batch(true));
        let counts = |batch: &RecordBatch, keep: bool, gate: bool| {
            NO_GATE.set(!gate);
            let mut m = Matcher::new(rules.clone(), &fields, Stopping::FULL, keep);
            // In runs, as a file is fed: what a column learnt (DFAs, implied patterns) is used
            // by the runs after.
            for at in (0..n).step_by(5_000) {
                m.feed(&batch.slice(at, 5_000));
            }
            NO_GATE.set(false);
            m
        };
        let cached = counts(&plain, false, true);
        assert_eq!(cached.counts(), counts(&plain, true, true).counts());
        assert!(
            cached.counts()[0].2.iter().any(|&(m, _)| m > 0),
            "something matched"
        );
        // Without the sparse-only gate every value meets the whole matching: the same counts.
        assert_eq!(cached.counts(), counts(&plain, true, false).counts());
        // Counted by key, the same counts; and the later runs were.
        KEYED_RUNS.set(0);
        assert_eq!(cached.counts(), counts(&keyed, false, true).counts());
        assert!(
            KEYED_RUNS.get() >= 8,
            "{} runs counted by key",
            KEYED_RUNS.get()
        );
        let note = &cached.columns[6];
        assert!(
            note.find.iter().any(|c| c.sparse && c.matched == 4),
            "the address in the notes, found 4 times"
        );
        // Each sparse counter counted exactly the values its rule matches, out of every value.
        let columns = [&few, &unique, &mixed, &sparse, &unrepeated, &email];
        for (col, values) in cached.columns.iter().zip(columns) {
            let live: Vec<&str> = values
                .iter()
                .map(|v| v.trim())
                .filter(|v| !is_null_token(v))
                .collect();
            for c in col.value.iter().filter(|c| c.sparse) {
                let rule = &rules.rules[c.rule];
                let expected = live.iter().filter(|v| rule.value_matches(v)).count();
                assert_eq!(c.matched, expected as u64, "{} in {}", rule.id, col.name);
                assert_eq!(c.examined, live.len() as u64, "{} in {}", rule.id, col.name);
            }
        }
        let rare = cached.counts()[3]
            .2
            .iter()
            .filter(|&&(m, e)| m > 0 && e == n as u64)
            .count();
        assert!(
            rare >= 2,
            "the rare IBAN and e-mail are counted on every value"
        );
        let e = &cached.columns[4];
        assert!(
            e.repeats.off,
            "the cache gave up on values that never repeat"
        );
        assert!(e.live_value.is_empty(), "only sparse counters are left");
        let found = e.value.iter().filter(|c| c.sparse && c.matched > 0).count();
        assert_eq!(
            found, 3,
            "the IBAN, e-mail and card among unrepeated values"
        );
        // The internationalised e-mail pattern was answered by the ASCII one's (a mutation that
        // answers for non-ASCII values, or for values the ASCII rule refused, changes counts).
        let col = &cached.columns[5];
        let counter = |id: &str| {
            col.value
                .iter()
                .position(|c| rules.rules[c.rule].id == id)
                .unwrap()
        };
        let intl = counter("email-address-intl");
        assert_ne!(col.implied.by[intl], Implied::NONE, "{:?}", col.implied);
        for id in ["email-address", "email-address-intl"] {
            let c = &col.value[counter(id)];
            let rule = &rules.rules[c.rule];
            let expected = email.iter().filter(|v| rule.value_matches(v)).count() as u64;
            assert!(expected > 0 && expected < n as u64, "{id}: {expected}");
            assert_eq!((c.matched, c.examined), (expected, n as u64), "{id}");
        }
    }
}
