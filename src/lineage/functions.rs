//! What each SQL function does to personal data: the one table that decides whether a function
//! masks (pseudonymises), generalises, aggregates or merely transforms a value.
//!
//! A function missing from the table transforms (`direct`, the safe side: DESIGN.md says an
//! unknown transformation never takes a tag away). Names are DataFusion's function names,
//! matched without regard to case; aliases are listed by their own name.

/// The effect of one function on the values of its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The value passes as it is (it is one of the arguments): coalesce, greatest, ...
    PassThrough,
    /// A one-way function: the output is pseudonymised (OpenLineage `masking: true`).
    Mask,
    /// Truncation or bucketing: many inputs give one output (`generalised`).
    Generalise,
    /// `date_part`/`extract`: generalising, unless the part is `epoch` (one to one).
    DatePart,
    /// The first argument passes as it is, the rest only decide whether it does (`nullif`).
    NullIf,
    /// An aggregate over a group of rows (`aggregated`).
    Aggregate,
    /// An aggregate or window function that copies values as they are (`array_agg`,
    /// `first_value`, `lag`): the output still holds the person's values (`direct`).
    Copy,
    /// Any other computation over the values (`direct`).
    Transform,
}

/// Scalar functions with an effect other than `Transform`.
const SCALAR: &[(&str, Effect)] = &[
    // One-way hashes.
    ("sha224", Effect::Mask),
    ("sha256", Effect::Mask),
    ("sha384", Effect::Mask),
    ("sha512", Effect::Mask),
    ("md5", Effect::Mask),
    ("digest", Effect::Mask),
    // Truncation and bucketing.
    ("left", Effect::Generalise),
    ("right", Effect::Generalise),
    ("substr", Effect::Generalise),
    ("substring", Effect::Generalise),
    ("split_part", Effect::Generalise),
    ("date_trunc", Effect::Generalise),
    ("datetrunc", Effect::Generalise),
    ("date_bin", Effect::Generalise),
    ("date_part", Effect::DatePart),
    ("datepart", Effect::DatePart),
    ("extract", Effect::DatePart),
    ("round", Effect::Generalise),
    ("trunc", Effect::Generalise),
    ("floor", Effect::Generalise),
    ("ceil", Effect::Generalise),
    // The value passes as it is.
    ("coalesce", Effect::PassThrough),
    ("nvl", Effect::PassThrough),
    ("ifnull", Effect::PassThrough),
    ("greatest", Effect::PassThrough),
    ("least", Effect::PassThrough),
    ("nullif", Effect::NullIf),
];

/// Aggregate functions (also used as window functions) that copy values rather than
/// summarise them. Every other aggregate is `Aggregate`.
const COPYING_AGGREGATES: &[&str] = &[
    "array_agg",
    "string_agg",
    "first_value",
    "last_value",
    "nth_value",
    "any_value",
];

/// Window functions that copy a value from another row. Every other window function
/// (row_number, rank, ntile, ...) takes no column arguments.
const COPYING_WINDOW_FUNCTIONS: &[&str] =
    &["lag", "lead", "first_value", "last_value", "nth_value"];

/// The effect of a scalar function.
pub fn scalar(name: &str) -> Effect {
    let name = name.to_ascii_lowercase();
    SCALAR
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(Effect::Transform, |&(_, e)| e)
}

/// The effect of an aggregate function.
pub fn aggregate(name: &str) -> Effect {
    let name = name.to_ascii_lowercase();
    if COPYING_AGGREGATES.contains(&name.as_str()) {
        Effect::Copy
    } else {
        Effect::Aggregate
    }
}

/// The effect of a window function that is not an aggregate.
pub fn window(name: &str) -> Effect {
    let name = name.to_ascii_lowercase();
    if COPYING_WINDOW_FUNCTIONS.contains(&name.as_str()) {
        Effect::Copy
    } else {
        Effect::Transform
    }
}

/// Every function with a named effect, for `--help` texts and the README.
pub fn table() -> impl Iterator<Item = (&'static str, Effect)> {
    SCALAR
        .iter()
        .copied()
        .chain(COPYING_AGGREGATES.iter().map(|&n| (n, Effect::Copy)))
        .chain(
            COPYING_WINDOW_FUNCTIONS
                .iter()
                .filter(|n| !COPYING_AGGREGATES.contains(n))
                .map(|&n| (n, Effect::Copy)),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_mask_and_truncations_generalise() {
        assert_eq!(scalar("SHA256"), Effect::Mask);
        assert_eq!(scalar("md5"), Effect::Mask);
        assert_eq!(scalar("left"), Effect::Generalise);
        assert_eq!(scalar("date_part"), Effect::DatePart);
        assert_eq!(scalar("upper"), Effect::Transform);
        assert_eq!(aggregate("count"), Effect::Aggregate);
        assert_eq!(aggregate("array_agg"), Effect::Copy);
        assert_eq!(window("lag"), Effect::Copy);
        assert_eq!(window("row_number"), Effect::Transform);
    }

    #[test]
    fn the_table_names_each_function_once() {
        let mut names: Vec<&str> = table().map(|(n, _)| n).collect();
        let all = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all);
    }
}
