//! A dataset's rows in order, as text: the columns a caller names (those present; an absent
//! one reads as null), batch by batch, each batch with the number of its first row, so that a
//! row found is located (1-based) in file order, or rowid order for a database table
//! ([`super::dataset`]). Subject requests search, count and export rows through this.
//! Parquet row groups whose statistics cannot hold what is looked for are skipped.

use std::path::Path;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::col;
use futures::StreamExt;

use super::dataset::Dataset;
use super::frame::{df_error, ordered_session, read_text_frame};
use super::{Format, Source};
use crate::source::ScanError;

/// A column as text, without copying strings: string arrays are read in place, binary as
/// lower-case hex, anything else cast to text once.
pub enum Text<'a> {
    Utf8(&'a datafusion::arrow::array::StringArray),
    Large(&'a datafusion::arrow::array::LargeStringArray),
    View(&'a datafusion::arrow::array::StringViewArray),
    Owned(Vec<Option<String>>),
}

impl Text<'_> {
    pub fn get(&self, i: usize) -> Option<&str> {
        match self {
            Text::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            Text::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            Text::View(a) => (!a.is_null(i)).then(|| a.value(i)),
            Text::Owned(v) => v[i].as_deref(),
        }
    }
}

pub fn as_text(array: &ArrayRef) -> Result<Text<'_>, String> {
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
fn open(file: &Path) -> Result<(Source, &'static tokio::runtime::Runtime), ScanError> {
    Ok((Source::open(file)?, crate::source::runtime()?))
}

/// One row group of a Parquet file, for pruning.
pub struct RowGroup<'a> {
    pub meta: &'a datafusion::parquet::file::metadata::ParquetMetaData,
    pub index: usize,
}

/// Streams `columns` of `file` (those present; an absent one reads as null) in file order,
/// calling `f` with the first row number (0-based) of each batch, its length and the columns
/// as text; `f` returns false to stop early. With `keep`, the row groups of a Parquet file it
/// refuses are skipped (every batch still carries its rows' numbers in the file).
pub fn scan_batches(
    data: &Dataset,
    columns: &[String],
    keep: Option<&dyn Fn(&RowGroup) -> bool>,
    mut f: impl FnMut(u64, usize, &[Option<Text>]) -> bool,
) -> Result<(), ScanError> {
    let file = match data {
        Dataset::Table { db, table } => {
            let present = table.present(columns);
            let (mut row0, mut more) = (0u64, true);
            return db.stream(table, columns, &mut |batch| {
                if more {
                    let text = columns_as_text(batch, &present)
                        .map_err(|e| ScanError::Internal(format!("{}: {e}", db.artifact(table))))?;
                    more = f(row0, batch.num_rows(), &text);
                    row0 += batch.num_rows() as u64;
                }
                Ok(())
            });
        }
        _ => readable(data)?,
    };
    let (src, runtime) = open(file)?;
    if let (Some(keep), Format::Parquet) = (keep, src.format) {
        return scan_parquet(&src, columns, keep, f);
    }
    let ctx = ordered_session();
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
            let text = columns_as_text(&batch, &present).map_err(|e| df_error(&src, e))?;
            if !f(row0, batch.num_rows(), &text) {
                break;
            }
            row0 += batch.num_rows() as u64;
        }
        Ok(())
    })
}

/// The wanted columns of a batch (projected to the present ones, in order) as text.
fn columns_as_text<'a>(
    batch: &'a datafusion::arrow::record_batch::RecordBatch,
    present: &[bool],
) -> Result<Vec<Option<Text<'a>>>, String> {
    let mut k = 0;
    let mut text = Vec::with_capacity(present.len());
    for p in present {
        text.push(if *p {
            k += 1;
            Some(as_text(batch.column(k - 1))?)
        } else {
            None
        });
    }
    Ok(text)
}

/// [`scan_batches`] for Parquet with row groups pruned: read with the Parquet reader of
/// DataFusion's stack, only the row groups `keep` accepts; batches are cut at row-group
/// boundaries so each one's rows are consecutive in the file.
fn scan_parquet(
    src: &Source,
    columns: &[String],
    keep: &dyn Fn(&RowGroup) -> bool,
    mut f: impl FnMut(u64, usize, &[Option<Text>]) -> bool,
) -> Result<(), ScanError> {
    use datafusion::parquet::arrow::ProjectionMask;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let bad = |e: &dyn std::fmt::Display| ScanError::Read {
        path: src.path.clone(),
        message: e.to_string(),
    };
    let file = std::fs::File::open(&src.path).map_err(|e| bad(&e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| bad(&e))?;
    let meta = builder.metadata().clone();
    let arrow = builder.schema().clone();
    let present: Vec<bool> = columns.iter().map(|c| arrow.index_of(c).is_ok()).collect();
    let mut roots: Vec<usize> = columns
        .iter()
        .filter_map(|c| arrow.index_of(c).ok())
        .collect();
    roots.sort_unstable();
    roots.dedup();
    // The projection keeps file order: each present wanted column's place in it.
    let order: Vec<usize> = columns
        .iter()
        .filter_map(|c| arrow.index_of(c).ok())
        .map(|i| roots.iter().position(|r| *r == i).expect("projected"))
        .collect();
    let mut starts = Vec::with_capacity(meta.num_row_groups());
    let mut at = 0u64;
    for g in meta.row_groups() {
        starts.push(at);
        at += g.num_rows() as u64;
    }
    let groups: Vec<usize> = (0..meta.num_row_groups())
        .filter(|&i| {
            keep(&RowGroup {
                meta: &meta,
                index: i,
            })
        })
        .collect();
    let Some(&first) = groups.first() else {
        return Ok(());
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_row_groups(groups.clone())
        .with_batch_size(8192)
        .build()
        .map_err(|e| bad(&e))?;
    // Where the rows of the stream are in the file.
    let mut group = 0usize;
    let mut left = meta.row_group(first).num_rows() as u64;
    let mut row0 = starts[first];
    for batch in reader {
        let batch = batch.map_err(|e| bad(&e))?;
        let mut offset = 0usize;
        while offset < batch.num_rows() {
            while left == 0 {
                group += 1;
                left = meta.row_group(groups[group]).num_rows() as u64;
                row0 = starts[groups[group]];
            }
            let n = (batch.num_rows() - offset).min(left as usize);
            let piece = batch
                .slice(offset, n)
                .project(&order)
                .map_err(|e| bad(&e))?;
            let text = columns_as_text(&piece, &present).map_err(|e| bad(&e))?;
            if !f(row0, n, &text) {
                return Ok(());
            }
            offset += n;
            left -= n as u64;
            row0 += n as u64;
        }
    }
    Ok(())
}

/// The number of rows of `file`.
pub fn count(data: &Dataset) -> Result<u64, ScanError> {
    let file = match data {
        Dataset::Table { db, table } => return db.count(table),
        _ => readable(data)?,
    };
    let (src, runtime) = open(file)?;
    let ctx = ordered_session();
    runtime.block_on(async {
        let df = read_text_frame(&ctx, &src).await?;
        let n = df.count().await.map_err(|e| df_error(&src, e))?;
        Ok(n as u64)
    })
}

/// The given rows (1-based, file order) of `file`, every column as text (null as null): the
/// subject's own data for an access request.
pub fn rows(
    data: &Dataset,
    wanted: &std::collections::BTreeSet<u64>,
) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, ScanError> {
    let file = match data {
        Dataset::Table { table, .. } => {
            let names: Vec<String> = table.columns.iter().map(|(c, _)| c.clone()).collect();
            let mut out = Vec::new();
            scan_batches(data, &names, None, |row0, n, text| {
                for &r in wanted.range(row0 + 1..=row0 + n as u64) {
                    let i = (r - row0 - 1) as usize;
                    let row = names
                        .iter()
                        .zip(text)
                        .map(|(c, t)| {
                            let v = t.as_ref().and_then(|t| t.get(i));
                            (c.clone(), v.map_or(serde_json::Value::Null, |v| v.into()))
                        })
                        .collect();
                    out.push(row);
                }
                true
            })?;
            return Ok(out);
        }
        _ => readable(data)?,
    };
    let (src, runtime) = open(file)?;
    let ctx = ordered_session();
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

/// The local file a dataset that is no database table is read from.
fn readable(data: &Dataset) -> Result<&std::path::Path, ScanError> {
    data.readable_file()
        .ok_or_else(|| ScanError::Internal("a database table read as a file".into()))
}
