//! Reading a dataset for a subject: the wanted columns as text, in file order (one
//! partition, so row numbers are the file's; a database table's rows in rowid order, see
//! [`crate::source::dataset`]), matched against the identities' needles.

use std::collections::HashSet;

use super::Needle;
use super::identity::{Identity, Normaliser};
use crate::scan::ScanError;
use crate::source::dataset::Dataset;
use crate::source::rows::RowGroup;
use crate::source::rows::{Text, scan_batches};

/// One check on a column's values.
enum Check {
    Value(Normaliser, String),
    Digests(HashSet<String>),
}

/// What to look for, per wanted column.
pub struct Matcher {
    checks: Vec<(usize, Vec<Check>)>,
    /// Columns whose values in matching rows are collected (for expansion).
    pub expand: Vec<usize>,
}

impl Matcher {
    pub fn new(identities: &[(Identity, String)], needles: &[(usize, Vec<Needle>)]) -> Matcher {
        let checks = needles
            .iter()
            .map(|(ci, ns)| {
                let checks = ns
                    .iter()
                    .map(|n| match n {
                        Needle::Value(i) => {
                            let id = &identities[*i].0;
                            Check::Value(id.normaliser, id.value.expose().clone())
                        }
                        Needle::Digest(i) => {
                            let (id, raw) = &identities[*i];
                            Check::Digests(id.digests(raw).into_iter().collect())
                        }
                    })
                    .collect();
                (*ci, checks)
            })
            .collect();
        Matcher {
            checks,
            expand: Vec::new(),
        }
    }

    /// Whether a Parquet row group may hold a match, by its min/max statistics: a searched
    /// column's [`ranges`] must meet the column's [min, max]. A column without usable
    /// statistics (none, not text, or a legacy signed sort order) keeps the group.
    pub fn may_hold(&self, g: &RowGroup, wanted: &[String]) -> bool {
        use datafusion::parquet::basic::{ColumnOrder, ConvertedType, LogicalType, SortOrder};
        let rg = g.meta.row_group(g.index);
        let schema = g.meta.file_metadata().schema_descr();
        self.checks.iter().any(|(ci, checks)| {
            let name = wanted[*ci].as_str();
            let Some(leaf) = (0..schema.num_columns()).find(|&i| {
                let column = schema.column(i);
                let parts = column.path().parts();
                parts.len() == 1 && parts[0] == name
            }) else {
                return false; // not in the file: nothing to match
            };
            // Text only: a binary column is matched as hex, which its statistics are not.
            let column = schema.column(leaf);
            let utf8 = matches!(column.logical_type_ref(), Some(LogicalType::String))
                || column.converted_type() == ConvertedType::UTF8;
            let byte_order = matches!(
                g.meta.file_metadata().column_order(leaf),
                ColumnOrder::TYPE_DEFINED_ORDER(SortOrder::UNSIGNED)
            );
            let Some(stats) = rg.column(leaf).statistics() else {
                return true;
            };
            if stats.null_count_opt() == Some(rg.num_rows() as u64) {
                return false; // only nulls
            }
            let is_text = matches!(
                stats,
                datafusion::parquet::file::statistics::Statistics::ByteArray(_)
                    | datafusion::parquet::file::statistics::Statistics::FixedLenByteArray(_)
            );
            let (Some(min), Some(max)) = (stats.min_bytes_opt(), stats.max_bytes_opt()) else {
                return true;
            };
            if !is_text || !utf8 || !byte_order {
                return true;
            }
            checks.iter().any(|c| match ranges(c) {
                None => true,
                Some(rs) => rs.iter().any(|(lo, hi)| {
                    lo.as_slice() <= max && hi.as_ref().is_none_or(|h| min < h.as_slice())
                }),
            })
        })
    }

    fn hit(check: &Check, cell: &str) -> bool {
        match check {
            Check::Value(n, want) => {
                let cell = cell.trim();
                !cell.is_empty() && n.matches(cell, want)
            }
            Check::Digests(set) => set.contains(&cell.trim().to_ascii_lowercase()),
        }
    }
}

/// `[lo, hi)` in byte order; `hi` none: unbounded.
type Range = (Vec<u8>, Option<Vec<u8>>);

/// Byte ranges `[lo, hi)` (`hi` none: unbounded) that hold every stored value `check` can
/// match, or none when they cannot be bounded (phone numbers, separators dropped). A value
/// matches after trimming (Unicode whitespace: it sorts below `!` or at `\u{80}` and above)
/// and, for folded values and digests, in any case: it starts with one of the case variants
/// of the value's first characters (up to 64 variants; `k` also as the Kelvin sign, which
/// lower-cases to `k`).
fn ranges(check: &Check) -> Option<Vec<Range>> {
    let prefixes: Vec<Vec<u8>> = match check {
        Check::Value(Normaliser::Trimmed, want) => vec![want.as_bytes().to_vec()],
        Check::Value(Normaliser::Folded, want) => case_prefixes(want, true),
        Check::Digests(set) => set.iter().flat_map(|d| case_prefixes(d, false)).collect(),
        Check::Value(..) => return None,
    };
    if prefixes.iter().any(Vec::is_empty) {
        return None;
    }
    let mut out: Vec<Range> = prefixes
        .into_iter()
        .map(|p| {
            // Every string starting with p is below p followed by 0xFF (never in UTF-8).
            let mut hi = p.clone();
            hi.push(0xFF);
            (p, Some(hi))
        })
        .collect();
    // Leading whitespace: ASCII (tab to space), or any non-ASCII character.
    out.push((vec![0x09], Some(vec![b'!'])));
    out.push((vec![0x80], None));
    Some(out)
}

/// The case variants of the longest prefix of `value` with at most 64 of them, stopping at
/// whitespace or a non-ASCII character.
fn case_prefixes(value: &str, unicode_fold: bool) -> Vec<Vec<u8>> {
    const KELVIN: &str = "\u{212A}";
    let mut out: Vec<Vec<u8>> = vec![Vec::new()];
    for c in value.chars() {
        if !c.is_ascii() || c.is_ascii_whitespace() {
            break;
        }
        let mut variants: Vec<Vec<u8>> = vec![vec![c.to_ascii_lowercase() as u8]];
        if c.is_ascii_alphabetic() {
            variants.push(vec![c.to_ascii_uppercase() as u8]);
            if unicode_fold && c.eq_ignore_ascii_case(&'k') {
                variants.push(KELVIN.as_bytes().to_vec());
            }
        }
        if out.len() * variants.len() > 64 {
            break;
        }
        out = out
            .iter()
            .flat_map(|p| {
                variants.iter().map(move |v| {
                    let mut q = p.clone();
                    q.extend_from_slice(v);
                    q
                })
            })
            .collect();
    }
    out
}

/// What a search found.
#[derive(Debug, Default)]
pub struct Found {
    /// Per searched column (index into the wanted columns): the 1-based rows that matched.
    pub rows: Vec<(usize, Vec<u64>)>,
    /// Values of the expansion columns in the rows that matched: (column index, value).
    pub identifiers: Vec<(usize, String)>,
}

/// Reads `wanted` columns of `file` (those present) and matches them. In a Parquet file,
/// row groups whose statistics show they cannot hold a match are not read (see
/// [`Matcher::may_hold`]).
pub fn search(
    data: &Dataset,
    wanted: &[String],
    matcher: &Matcher,
    progress: &crate::progress::Meter,
) -> Result<Found, ScanError> {
    let mut found = Found {
        rows: matcher
            .checks
            .iter()
            .map(|(ci, _)| (*ci, Vec::new()))
            .collect(),
        identifiers: Vec::new(),
    };
    let mut seen_ids: HashSet<(usize, String)> = HashSet::new();
    let keep = |g: &RowGroup| matcher.may_hold(g, wanted);
    scan_batches(data, wanted, Some(&keep), |row0, n, text| {
        progress.add(0, n as u64);
        for r in 0..n {
            let mut matched = false;
            for (slot, (ci, checks)) in found.rows.iter_mut().zip(&matcher.checks) {
                let Some(Some(cell)) = text[*ci].as_ref().map(|t| t.get(r)) else {
                    continue;
                };
                if checks.iter().any(|c| Matcher::hit(c, cell)) {
                    slot.1.push(row0 + r as u64 + 1);
                    matched = true;
                }
            }
            if matched {
                for &ci in &matcher.expand {
                    if let Some(Some(v)) = text[ci].as_ref().map(|t| t.get(r))
                        && !v.trim().is_empty()
                        && seen_ids.insert((ci, v.to_string()))
                    {
                        found.identifiers.push((ci, v.to_string()));
                    }
                }
            }
        }
        true
    })?;
    Ok(found)
}

/// A row's values of some columns (null, or absent, as `None`).
pub type Key = Vec<Option<String>>;

fn key_at(text: &[Option<Text>], r: usize) -> Key {
    text.iter()
        .map(|t| t.as_ref().and_then(|t| t.get(r)).map(str::to_string))
        .collect()
}

/// The values of `columns` in the given rows (1-based), in row order.
pub fn values(
    data: &Dataset,
    columns: &[String],
    rows: &std::collections::BTreeSet<u64>,
) -> Result<Vec<Key>, ScanError> {
    let last = rows.last().copied().unwrap_or(0);
    let mut out = Vec::with_capacity(rows.len());
    scan_batches(data, columns, None, |row0, n, text| {
        for &r in rows.range(row0 + 1..=row0 + n as u64) {
            out.push(key_at(text, (r - row0 - 1) as usize));
        }
        row0 + (n as u64) < last
    })?;
    Ok(out)
}

/// The groups of an aggregate's input that the given rows (1-based) fall in: each group's
/// key (the values of `keys`), its size (the file's rows with that key) and how many of the
/// given rows it holds, in order of first appearance.
pub fn groups(
    data: &Dataset,
    keys: &[String],
    rows: &std::collections::BTreeSet<u64>,
) -> Result<Vec<(Key, u64, u64)>, ScanError> {
    let mut out: Vec<(Key, u64, u64)> = Vec::new();
    for key in values(data, keys, rows)? {
        match out.iter_mut().find(|(k, _, _)| *k == key) {
            Some(g) => g.2 += 1,
            None => out.push((key, 0, 1)),
        }
    }
    let index: std::collections::HashMap<Key, usize> = out
        .iter()
        .enumerate()
        .map(|(i, (k, _, _))| (k.clone(), i))
        .collect();
    let mut sizes = vec![0u64; out.len()];
    scan_batches(data, keys, None, |_, n, text| {
        for r in 0..n {
            if let Some(&i) = index.get(&key_at(text, r)) {
                sizes[i] += 1;
            }
        }
        true
    })?;
    for (g, size) in out.iter_mut().zip(sizes) {
        g.1 = size;
    }
    Ok(out)
}

/// The rows (1-based) of `file` whose `columns` hold one of `keys`, each with the index of
/// its key.
pub fn rows_with(
    data: &Dataset,
    columns: &[String],
    keys: &[Key],
) -> Result<Vec<(u64, usize)>, ScanError> {
    let index: std::collections::HashMap<&Key, usize> =
        keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
    let mut out = Vec::new();
    scan_batches(data, columns, None, |row0, n, text| {
        for r in 0..n {
            if let Some(&i) = index.get(&key_at(text, r)) {
                out.push((row0 + r as u64 + 1, i));
            }
        }
        true
    })?;
    Ok(out)
}

/// Which of `values` ((column index into `columns`, value as stored)) a row of `file` other
/// than the `matched` ones (1-based) holds too.
pub fn shared(
    data: &Dataset,
    columns: &[String],
    values: &[(usize, String)],
    matched: &std::collections::BTreeSet<u64>,
) -> Result<HashSet<(usize, String)>, ScanError> {
    let mut by_column: std::collections::HashMap<usize, HashSet<&str>> = Default::default();
    for (ci, v) in values {
        by_column.entry(*ci).or_default().insert(v.trim());
    }
    let mut out = HashSet::new();
    scan_batches(data, columns, None, |row0, n, text| {
        for r in 0..n {
            if matched.contains(&(row0 + r as u64 + 1)) {
                continue;
            }
            for (ci, wanted) in &by_column {
                if let Some(Some(cell)) = text[*ci].as_ref().map(|t| t.get(r))
                    && wanted.contains(cell.trim())
                {
                    out.insert((*ci, cell.trim().to_string()));
                }
            }
        }
        out.len() < values.len()
    })?;
    // Back to the values as given.
    Ok(values
        .iter()
        .filter(|(ci, v)| out.contains(&(*ci, v.trim().to_string())))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use std::sync::Arc;

    fn inside(ranges: &[Range], v: &[u8]) -> bool {
        ranges
            .iter()
            .any(|(lo, hi)| lo.as_slice() <= v && hi.as_ref().is_none_or(|h| v < h.as_slice()))
    }

    #[test]
    fn the_kelvin_sign_is_the_only_non_ascii_character_that_lower_cases_to_ascii() {
        let odd: Vec<char> = (0x80..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| {
                let l: String = c.to_lowercase().collect();
                l.is_ascii()
            })
            .collect();
        assert_eq!(odd, ['\u{212A}']);
    }

    /// Every stored form a check matches lies in its ranges: case variants, whitespace around
    /// (ASCII and Unicode), the Kelvin sign.
    #[test]
    fn every_value_a_check_matches_is_inside_its_ranges() {
        let spaces = ["", " ", "\t", "\n ", "\u{a0}", "\u{3000}", "\u{2028}"];
        let folded = |want: &str| Check::Value(Normaliser::Folded, want.to_string());
        let cases: Vec<(Check, Vec<String>)> = vec![
            (
                folded("annika.k@example.com"),
                vec![
                    "annika.k@example.com".into(),
                    "ANNIKA.K@EXAMPLE.COM".into(),
                    "AnNiKa.K@Example.Com".into(),
                    "ANNI\u{212A}A.\u{212A}@example.com".into(),
                    "\u{212A}".into(),
                ],
            ),
            (
                Check::Value(Normaliser::Trimmed, "C-0042".into()),
                vec!["C-0042".into()],
            ),
            (
                Check::Digests(["9f86d081884c7d65".to_string()].into_iter().collect()),
                vec!["9f86d081884c7d65".into(), "9F86D081884C7D65".into()],
            ),
        ];
        for (check, forms) in &cases {
            let rs = ranges(check).expect("bounded");
            for form in forms {
                for a in spaces {
                    for b in spaces {
                        let v = format!("{a}{form}{b}");
                        if Matcher::hit(check, &v) {
                            assert!(inside(&rs, v.as_bytes()), "{v:?} matches but is outside");
                        }
                    }
                }
            }
        }
        // Phone numbers and compacted ids cannot be bounded.
        assert!(ranges(&Check::Value(Normaliser::Phone, "+4930123".into())).is_none());
        assert!(ranges(&Check::Value(Normaliser::Compact, "DE89".into())).is_none());
    }

    /// A sorted e-mail column in row groups of 100: only the groups that can hold the value
    /// (and those with whitespace or non-ASCII values) are read, and the rows found, with their
    /// numbers in the file, are the same as in a full read.
    #[test]
    fn parquet_row_groups_that_cannot_match_are_not_read() {
        use datafusion::parquet::arrow::ArrowWriter;
        use datafusion::parquet::file::properties::WriterProperties;
        let mut emails: Vec<String> = (0..2_000)
            .map(|i| format!("user{i:05}@example.org"))
            .collect();
        emails.extend([
            "annika@example.com".to_string(),
            "ANNIKA@example.com".to_string(),
            "Annika@Example.COM ".to_string(),
            "\tannika@example.com".to_string(),
        ]);
        emails.sort();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("people.parquet");
        let schema = Arc::new(Schema::new(vec![Field::new(
            "email",
            DataType::Utf8,
            false,
        )]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(emails.clone()))],
        )
        .unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(100))
            .build();
        let mut w =
            ArrowWriter::try_new(std::fs::File::create(&file).unwrap(), schema, Some(props))
                .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let matcher = Matcher {
            checks: vec![(
                0,
                vec![Check::Value(
                    Normaliser::Folded,
                    "annika@example.com".into(),
                )],
            )],
            expand: Vec::new(),
        };
        let wanted = vec!["email".to_string()];
        let meter = crate::progress::Meter::default();
        let found = search(&Dataset::File(file.clone()), &wanted, &matcher, &meter).unwrap();
        // The rows read were reported (row groups that cannot hold the address are skipped).
        let read = meter.reading().rows;
        assert!(read > 0 && read <= emails.len() as u64, "{read}");
        let expected: Vec<u64> = emails
            .iter()
            .enumerate()
            .filter(|(_, e)| e.trim().eq_ignore_ascii_case("annika@example.com"))
            .map(|(i, _)| i as u64 + 1)
            .collect();
        assert_eq!(expected.len(), 4);
        assert_eq!(found.rows[0].1, expected);
        let (kept, total) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
        let keep = |g: &RowGroup| {
            let k = matcher.may_hold(g, &wanted);
            total.set(total.get() + 1);
            kept.set(kept.get() + usize::from(k));
            k
        };
        scan_batches(
            &Dataset::File(file.clone()),
            &wanted,
            Some(&keep),
            |_, _, _| true,
        )
        .unwrap();
        let (kept, total) = (kept.get(), total.get());
        assert_eq!(total, 21);
        assert!(kept <= 3, "{kept} of {total} row groups read");
    }
}
