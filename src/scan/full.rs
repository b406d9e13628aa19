//! Full scans: every row, streamed (CSV, NDJSON and Arrow IPC through DataFusion partition by
//! partition; Parquet row group by row group with DataFusion's parquet crate), matched on
//! worker threads so that decoding and matching use both cores; memory stays bounded by the
//! channel of in-flight batches.

use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::file_format::options::{ArrowReadOptions, JsonReadOptions};
use datafusion::execution::context::SessionContext;
use datafusion::physical_plan::execute_stream_partitioned;
use datafusion::prelude::{CsvReadOptions, DataFrame, ParquetReadOptions, SessionConfig};
use futures::StreamExt;

use super::matcher::{Matcher, Stopping};
use super::source::{self, Format, Source};
use super::{Read, Request, ScanError};

/// A DataFusion session sized for this machine: one partition per core.
pub fn session() -> SessionContext {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let config = SessionConfig::new()
        .with_target_partitions(cores)
        .with_batch_size(8192);
    SessionContext::new_with_config(config)
}

pub fn df_error(src: &Source, e: impl std::fmt::Display) -> ScanError {
    let msg = e.to_string();
    // DataFusion prefixes errors with its own layers ("External error: Arrow error: ...").
    let msg = msg
        .trim_start_matches("External error: ")
        .trim_start_matches("Arrow error: ")
        .trim_start_matches("Parser error: ")
        .to_string();
    ScanError::Read {
        path: src.path.clone(),
        message: msg,
    }
}

/// How to read a CSV file: its header, the schema to read it with (one field per header
/// column), and whether quoted values may hold newlines.
pub struct CsvRead<'a> {
    pub header: &'a source::CsvHeader,
    pub schema: &'a Schema,
    pub newlines: bool,
}

/// Reads one data file as a DataFrame; `csv` is required for CSV files.
pub async fn read_frame(
    ctx: &SessionContext,
    src: &Source,
    csv: Option<CsvRead<'_>>,
) -> Result<DataFrame, ScanError> {
    let path = src.path.to_string_lossy().to_string();
    let ext = src
        .path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    match (src.format, csv) {
        (Format::Csv, Some(csv)) => {
            let opts = CsvReadOptions::new()
                .has_header(true)
                .delimiter(csv.header.dialect.delimiter)
                .schema(csv.schema)
                // A value can only hold a newline inside quotes: a file without a single
                // quote byte is split into byte ranges and decoded on every core.
                .newlines_in_values(csv.newlines)
                .truncated_rows(true)
                .file_extension(&ext);
            ctx.read_csv(&path, opts).await
        }
        (Format::Csv, None) => {
            return Err(ScanError::Internal(
                "a CSV file read without its header".into(),
            ));
        }
        (Format::Parquet, _) => {
            ctx.read_parquet(&path, ParquetReadOptions::new().file_extension(&ext))
                .await
        }
        (Format::NdJson, _) => {
            let opts = JsonReadOptions {
                file_extension: &ext,
                ..Default::default()
            };
            ctx.read_json(&path, opts).await
        }
        (Format::Arrow, _) => {
            ctx.read_arrow(
                &path,
                ArrowReadOptions {
                    file_extension: &ext,
                    ..Default::default()
                },
            )
            .await
        }
    }
    .map_err(|e| df_error(src, e))
}

/// Reads one data file as a DataFrame, CSV columns as text (so identifiers keep their leading
/// zeros): the header and dialect are sniffed, and quoted newlines allowed where quotes occur.
pub async fn read_text_frame(ctx: &SessionContext, src: &Source) -> Result<DataFrame, ScanError> {
    let header = match src.format {
        Format::Csv => Some(source::csv_header(src)?),
        _ => None,
    };
    let quotes = match &header {
        Some(h) => Some(source::check_quotes(src, h.data_start)?),
        None => None,
    };
    let text_schema = header.as_ref().map(|h| {
        Schema::new(
            h.names
                .iter()
                .map(|n| Field::new(n, DataType::Utf8, true))
                .collect::<Vec<_>>(),
        )
    });
    let csv = header
        .as_ref()
        .zip(text_schema.as_ref())
        .map(|(h, s)| CsvRead {
            header: h,
            schema: s,
            newlines: quotes.is_some_and(|q| q.any),
        });
    read_frame(ctx, src, csv).await
}

pub(crate) fn scan_full(req: &Request, src: &Source) -> Result<(Matcher, Read), ScanError> {
    if matches!(src.format, Format::Parquet | Format::NdJson | Format::Arrow) && src.size == 0 {
        return Err(ScanError::Empty(src.path.clone()));
    }
    if src.format == Format::Parquet {
        return scan_parquet_full(req, src);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ScanError::Internal(format!("cannot start the async runtime: {e}")))?;
    let ctx = session();
    let (streams, schema) = runtime.block_on(async {
        let df = read_text_frame(&ctx, src).await?;
        let plan = df
            .create_physical_plan()
            .await
            .map_err(|e| df_error(src, e))?;
        let schema = plan.schema();
        let streams =
            execute_stream_partitioned(plan, ctx.task_ctx()).map_err(|e| df_error(src, e))?;
        Ok::<_, ScanError>((streams, schema))
    })?;
    let fields: Vec<(String, DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, ScanError>>(8);
    let _guard = runtime.enter();
    for mut stream in streams {
        let tx = tx.clone();
        let src = src.clone();
        runtime.spawn(async move {
            while let Some(batch) = stream.next().await {
                let item = batch.map_err(|e| df_error(&src, e));
                let stop = item.is_err();
                if tx.send(item).await.is_err() || stop {
                    break;
                }
            }
        });
    }
    drop(tx);
    let (matcher, rows) = consume(req, &fields, rx)?;
    Ok((matcher, Read::every_row(rows)))
}

/// Matches batches from the channel on one worker thread per core and merges the counts.
fn consume(
    req: &Request,
    fields: &[(String, DataType)],
    rx: tokio::sync::mpsc::Receiver<Result<RecordBatch, ScanError>>,
) -> Result<(Matcher, u64), ScanError> {
    let rx = Arc::new(Mutex::new(rx));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let results: Vec<Result<(Matcher, u64), ScanError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let rx = rx.clone();
                // A clone per worker: each regex then keeps its own cache, with no contention.
                let rules = std::sync::Arc::new((*req.rules).clone());
                s.spawn(move || {
                    let mut m = Matcher::new(rules, fields, Stopping::FULL, req.show_examples);
                    let mut rows = 0u64;
                    loop {
                        let next = rx
                            .lock()
                            .expect("no worker panics while holding the lock")
                            .blocking_recv();
                        match next {
                            None => break,
                            Some(Err(e)) => return Err(e),
                            Some(Ok(batch)) => {
                                rows += batch.num_rows() as u64;
                                m.feed(&batch);
                            }
                        }
                    }
                    Ok((m, rows))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(ScanError::Internal("a scan worker panicked".into())))
            })
            .collect()
    });
    let mut total: Option<(Matcher, u64)> = None;
    for r in results {
        let (m, rows) = r?;
        match &mut total {
            None => total = Some((m, rows)),
            Some((acc, n)) => {
                acc.merge(&m);
                *n += rows;
            }
        }
    }
    total.ok_or_else(|| ScanError::Internal("no scan worker ran".into()))
}

/// Parquet full scans read row groups with DataFusion's parquet crate, one reader per core,
/// page by page: memory stays near a page per column instead of a whole row group's column
/// chunks per partition (which DataFusion's async reader fetches at once).
fn scan_parquet_full(req: &Request, src: &Source) -> Result<(Matcher, Read), ScanError> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let read_error = |e: &dyn std::fmt::Display| ScanError::Read {
        path: src.path.clone(),
        message: e.to_string(),
    };
    let open = || {
        std::fs::File::open(&src.path).map_err(|e| ScanError::Open {
            path: src.path.clone(),
            source: e,
        })
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(open()?).map_err(|e| read_error(&e))?;
    let groups = builder.metadata().num_row_groups();
    let fields: Vec<(String, DataType)> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    drop(builder);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let producers = cores.min(groups).max(1);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, ScanError>>(8);
    let (matcher, rows) = std::thread::scope(|s| {
        for k in 0..producers {
            let tx = tx.clone();
            s.spawn(move || {
                let produce = || -> Result<(), ScanError> {
                    let b = ParquetRecordBatchReaderBuilder::try_new(open()?)
                        .map_err(|e| read_error(&e))?;
                    let mine: Vec<usize> = (k..groups).step_by(producers).collect();
                    let reader = b
                        .with_row_groups(mine)
                        .with_batch_size(8192)
                        .build()
                        .map_err(|e| read_error(&e))?;
                    for batch in reader {
                        if tx.blocking_send(batch.map_err(|e| read_error(&e))).is_err() {
                            break;
                        }
                    }
                    Ok(())
                };
                if let Err(e) = produce() {
                    let _ = tx.blocking_send(Err(e));
                }
            });
        }
        drop(tx);
        consume(req, &fields, rx)
    })?;
    Ok((matcher, Read::every_row(rows)))
}
