//! Reading a data file for a subject: the wanted columns as text, in file order (one
//! partition, so row numbers are the file's), matched against the identities' needles.

use std::collections::HashSet;
use std::path::Path;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::{SessionConfig, SessionContext, col};
use futures::StreamExt;

use super::Needle;
use super::identity::{Identity, Normaliser};
use crate::scan::ScanError;
use crate::scan::full::{df_error, read_text_frame};
use crate::scan::source::{Format, Source};

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

/// What a search found.
#[derive(Debug, Default)]
pub struct Found {
    /// Per searched column (index into the wanted columns): the 1-based rows that matched.
    pub rows: Vec<(usize, Vec<u64>)>,
    /// Values of the expansion columns in the rows that matched: (column index, value).
    pub identifiers: Vec<(usize, String)>,
}

/// A column as text, without copying strings: string arrays are read in place, binary as
/// lower-case hex, anything else cast to text once.
enum Text<'a> {
    Utf8(&'a datafusion::arrow::array::StringArray),
    Large(&'a datafusion::arrow::array::LargeStringArray),
    View(&'a datafusion::arrow::array::StringViewArray),
    Owned(Vec<Option<String>>),
}

impl Text<'_> {
    fn get(&self, i: usize) -> Option<&str> {
        match self {
            Text::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            Text::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            Text::View(a) => (!a.is_null(i)).then(|| a.value(i)),
            Text::Owned(v) => v[i].as_deref(),
        }
    }
}

fn as_text(array: &ArrayRef) -> Result<Text<'_>, String> {
    let owned = |get: &dyn Fn(usize) -> String| -> Text<'static> {
        Text::Owned(
            (0..array.len())
                .map(|i| (!array.is_null(i)).then(|| get(i)))
                .collect(),
        )
    };
    Ok(match array.data_type() {
        DataType::Utf8 => Text::Utf8(array.as_string::<i32>()),
        DataType::LargeUtf8 => Text::Large(array.as_string::<i64>()),
        DataType::Utf8View => Text::View(array.as_string_view()),
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            owned(&|i| hex::encode(a.value(i)))
        }
        DataType::LargeBinary => {
            let a = array.as_binary::<i64>();
            owned(&|i| hex::encode(a.value(i)))
        }
        DataType::BinaryView => {
            let a = array.as_binary_view();
            owned(&|i| hex::encode(a.value(i)))
        }
        _ => {
            let cast = datafusion::arrow::compute::cast(array, &DataType::Utf8)
                .map_err(|e| e.to_string())?;
            let a = cast.as_string::<i32>();
            owned(&|i| a.value(i).to_string())
        }
    })
}

/// A data file to read, and a runtime to read it on.
fn open(file: &Path) -> Result<(Source, tokio::runtime::Runtime), ScanError> {
    let format = Format::of(file).ok_or_else(|| ScanError::Read {
        path: file.to_path_buf(),
        message: "not a CSV, TSV, Parquet, NDJSON or Arrow file".into(),
    })?;
    let src = Source {
        path: file.to_path_buf(),
        format,
        size: std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ScanError::Internal(format!("cannot start the async runtime: {e}")))?;
    Ok((src, runtime))
}

/// Reads `wanted` columns of `file` (those present) and matches them.
pub fn search(file: &Path, wanted: &[String], matcher: &Matcher) -> Result<Found, ScanError> {
    let (src, runtime) = open(file)?;
    // One partition: batches arrive in file order, so row numbers are the file's.
    let ctx = SessionContext::new_with_config(
        SessionConfig::new()
            .with_target_partitions(1)
            .with_batch_size(8192),
    );
    let mut found = Found {
        rows: matcher
            .checks
            .iter()
            .map(|(ci, _)| (*ci, Vec::new()))
            .collect(),
        identifiers: Vec::new(),
    };
    let mut seen_ids: HashSet<(usize, String)> = HashSet::new();
    runtime.block_on(async {
        let df = read_text_frame(&ctx, &src).await?;
        let present: Vec<Option<usize>> = {
            let schema = df.schema();
            wanted
                .iter()
                .map(|w| schema.index_of_column_by_name(None, w))
                .collect()
        };
        let selected: Vec<&String> = wanted
            .iter()
            .zip(&present)
            .filter(|(_, p)| p.is_some())
            .map(|(w, _)| w)
            .collect();
        // Position in the projection of each wanted column.
        let mut at = vec![None; wanted.len()];
        let mut k = 0;
        for (i, p) in present.iter().enumerate() {
            if p.is_some() {
                at[i] = Some(k);
                k += 1;
            }
        }
        let df = df
            .select(
                selected
                    .iter()
                    .map(|c| col(format!("\"{c}\"")))
                    .collect::<Vec<_>>(),
            )
            .map_err(|e| df_error(&src, e))?;
        let mut stream = df.execute_stream().await.map_err(|e| df_error(&src, e))?;
        let mut row0 = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| df_error(&src, e))?;
            let mut text: Vec<Option<Text>> = Vec::with_capacity(wanted.len());
            for a in &at {
                text.push(match a {
                    Some(k) => Some(as_text(batch.column(*k)).map_err(|e| df_error(&src, e))?),
                    None => None,
                });
            }
            for r in 0..batch.num_rows() {
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
            row0 += batch.num_rows() as u64;
        }
        Ok::<_, ScanError>(())
    })?;
    Ok(found)
}

/// Streams `columns` of `file` (those present; an absent one reads as null) in file order,
/// calling `f` with the first row number (0-based) of each batch and the columns as text.
/// `f` returns false to stop early.
fn each_batch(
    file: &Path,
    columns: &[String],
    mut f: impl FnMut(u64, usize, &[Option<Text>]) -> bool,
) -> Result<(), ScanError> {
    let (src, runtime) = open(file)?;
    let ctx = SessionContext::new_with_config(
        SessionConfig::new()
            .with_target_partitions(1)
            .with_batch_size(8192),
    );
    runtime.block_on(async {
        let df = read_text_frame(&ctx, &src).await?;
        let present: Vec<bool> = columns
            .iter()
            .map(|c| df.schema().index_of_column_by_name(None, c).is_some())
            .collect();
        let df = df
            .select(
                columns
                    .iter()
                    .zip(&present)
                    .filter(|(_, p)| **p)
                    .map(|(c, _)| col(format!("\"{c}\"")))
                    .collect::<Vec<_>>(),
            )
            .map_err(|e| df_error(&src, e))?;
        let mut stream = df.execute_stream().await.map_err(|e| df_error(&src, e))?;
        let mut row0 = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| df_error(&src, e))?;
            let mut k = 0;
            let mut text = Vec::with_capacity(columns.len());
            for p in &present {
                text.push(if *p {
                    k += 1;
                    Some(as_text(batch.column(k - 1)).map_err(|e| df_error(&src, e))?)
                } else {
                    None
                });
            }
            if !f(row0, batch.num_rows(), &text) {
                break;
            }
            row0 += batch.num_rows() as u64;
        }
        Ok(())
    })
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
    file: &Path,
    columns: &[String],
    rows: &std::collections::BTreeSet<u64>,
) -> Result<Vec<Key>, ScanError> {
    let last = rows.last().copied().unwrap_or(0);
    let mut out = Vec::with_capacity(rows.len());
    each_batch(file, columns, |row0, n, text| {
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
    file: &Path,
    keys: &[String],
    rows: &std::collections::BTreeSet<u64>,
) -> Result<Vec<(Key, u64, u64)>, ScanError> {
    let mut out: Vec<(Key, u64, u64)> = Vec::new();
    for key in values(file, keys, rows)? {
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
    each_batch(file, keys, |_, n, text| {
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
    file: &Path,
    columns: &[String],
    keys: &[Key],
) -> Result<Vec<(u64, usize)>, ScanError> {
    let index: std::collections::HashMap<&Key, usize> =
        keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
    let mut out = Vec::new();
    each_batch(file, columns, |row0, n, text| {
        for r in 0..n {
            if let Some(&i) = index.get(&key_at(text, r)) {
                out.push((row0 + r as u64 + 1, i));
            }
        }
        true
    })?;
    Ok(out)
}

/// The number of rows of `file`.
pub fn count(file: &Path) -> Result<u64, ScanError> {
    let (src, runtime) = open(file)?;
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
    runtime.block_on(async {
        let df = read_text_frame(&ctx, &src).await?;
        let n = df.count().await.map_err(|e| df_error(&src, e))?;
        Ok(n as u64)
    })
}

/// The given rows (1-based, file order) of `file`, every column as text (null as null): the
/// subject's own data for an access request.
pub fn rows(
    file: &Path,
    wanted: &std::collections::BTreeSet<u64>,
) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, ScanError> {
    let (src, runtime) = open(file)?;
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
    let mut out = Vec::new();
    runtime.block_on(async {
        let df = read_text_frame(&ctx, &src).await?;
        let mut stream = df.execute_stream().await.map_err(|e| df_error(&src, e))?;
        let mut row0 = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| df_error(&src, e))?;
            let n = batch.num_rows() as u64;
            if wanted.range(row0 + 1..=row0 + n).next().is_some() {
                let schema = batch.schema();
                let columns = batch
                    .columns()
                    .iter()
                    .map(as_text)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| df_error(&src, e))?;
                for &r in wanted.range(row0 + 1..=row0 + n) {
                    let i = (r - row0 - 1) as usize;
                    let mut row = serde_json::Map::new();
                    for (f, c) in schema.fields().iter().zip(&columns) {
                        row.insert(
                            f.name().clone(),
                            c.get(i).map_or(serde_json::Value::Null, |v| v.into()),
                        );
                    }
                    out.push(row);
                }
            }
            row0 += n;
        }
        Ok::<_, ScanError>(())
    })?;
    Ok(out)
}
