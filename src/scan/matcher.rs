//! Per-column matching: every value is shaped once (length, digits, `@`, `:`), rejected by the
//! rules' prefilters where possible, and only the survivors meet a regex; validators run only
//! on regex matches. A rule that has clearly lost on a column stops being evaluated there.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::DataType;

use crate::rules::{RuleSet, ValueShape};
use crate::sensitive::mask;

/// When a rule may stop being evaluated on a column.
#[derive(Debug, Clone, Copy)]
pub struct Stopping {
    /// After this many values, a rule that matched under 1% of them is dropped.
    pub drop_after: u64,
    /// Stop once the evidence is conclusive (sample mode): after this many values, a rule that
    /// matched at least 98% or at most 1% is decided.
    pub decide_after: Option<u64>,
}

impl Stopping {
    pub const FULL: Stopping = Stopping {
        drop_after: 20_000,
        decide_after: None,
    };
    pub const SAMPLE: Stopping = Stopping {
        drop_after: 2_000,
        decide_after: Some(2_000),
    };
}

#[derive(Debug, Clone, Default)]
pub struct Counter {
    pub rule: usize,
    pub matched: u64,
    pub examined: u64,
    pub active: bool,
}

impl Counter {
    fn new(rule: usize) -> Counter {
        Counter {
            rule,
            matched: 0,
            examined: 0,
            active: true,
        }
    }

    fn merge(&mut self, other: &Counter) {
        self.matched += other.matched;
        self.examined += other.examined;
    }

    #[inline]
    fn settle(&mut self, stop: Stopping) {
        if self.examined == stop.drop_after && self.matched * 100 < self.examined {
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
    /// Indices of the counters still being evaluated: the hot loop only walks these.
    live_value: Vec<usize>,
    live_find: Vec<usize>,
    /// Masked examples of matched values, per rule index (only kept when asked for).
    pub examples: Vec<(usize, String)>,
}

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
fn is_null_token(v: &str) -> bool {
    v.is_empty()
        || matches!(
            v,
            "NULL"
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
                    let named = rule.name_matches(&normalised);
                    if rule.has_value_check() && (named || !rule.require_name) {
                        value.push(Counter::new(i));
                    }
                    if rule.has_find() {
                        find.push(Counter::new(i));
                    }
                }
                ColumnState {
                    name: name.clone(),
                    normalised,
                    data_type: dt.to_string(),
                    non_null: 0,
                    text_like: 0,
                    live_value: (0..value.len()).collect(),
                    live_find: (0..find.len()).collect(),
                    value,
                    find,
                    examples: Vec::new(),
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

    /// Adds another matcher's counts (same fields, same rules) to this one.
    pub fn merge(&mut self, other: &Matcher) {
        for (a, b) in self.columns.iter_mut().zip(&other.columns) {
            a.non_null += b.non_null;
            a.text_like += b.text_like;
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

fn column_done(state: &ColumnState) -> bool {
    state.live_value.is_empty() && state.live_find.is_empty()
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
        DataType::Utf8 => each(array.as_string::<i32>().iter(), rules, state, stop, keep),
        DataType::LargeUtf8 => each(array.as_string::<i64>().iter(), rules, state, stop, keep),
        DataType::Utf8View => each(array.as_string_view().iter(), rules, state, stop, keep),
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
            each(hex.iter().map(|o| o.as_deref()), rules, state, stop, keep)
        }
        _ => {
            // Numbers and dates are judged on their text; nested types that do not cast to
            // text are judged by name only.
            if let Ok(text) = datafusion::arrow::compute::cast(array, &DataType::Utf8) {
                each(text.as_string::<i32>().iter(), rules, state, stop, keep)
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
) {
    for v in values {
        let Some(v) = v else { continue };
        let v = trim(v);
        if is_null_token(v) {
            continue;
        }
        state.non_null += 1;
        let shape = ValueShape::of(v);
        let mut i = 0;
        while i < state.live_value.len() {
            let c = &mut state.value[state.live_value[i]];
            let rule = &rules.rules[c.rule];
            c.examined += 1;
            let hit = rule.prefilter.admits(&shape)
                && rule.value_regex().is_none_or(|re| re.is_match(v))
                && rule.confirm(v);
            if hit {
                c.matched += 1;
                if keep && state.examples.iter().filter(|(r, _)| *r == c.rule).count() < 3 {
                    state.examples.push((c.rule, mask(v)));
                }
            }
            c.settle(stop);
            if c.active {
                i += 1;
            } else {
                state.live_value.swap_remove(i);
            }
        }
        if shape.is_text() {
            state.text_like += 1;
            let mut i = 0;
            while i < state.live_find.len() {
                let c = &mut state.find[state.live_find[i]];
                c.examined += 1;
                if rules.rules[c.rule].found_in(v) {
                    c.matched += 1;
                }
                c.settle(stop);
                if c.active {
                    i += 1;
                } else {
                    state.live_find.swap_remove(i);
                }
            }
        }
        if column_done(state) {
            break;
        }
    }
}
