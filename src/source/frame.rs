//! Data files as DataFusion frames: the session sized for this machine, and one file read as
//! a DataFrame (CSV with its sniffed header and dialect, Parquet, NDJSON, Arrow IPC) for the
//! stages that stream data through DataFusion (full scans, `run`, `subject find/erase`).

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::file_format::options::{ArrowReadOptions, JsonReadOptions};
use datafusion::execution::context::SessionContext;
use datafusion::prelude::{CsvReadOptions, DataFrame, ParquetReadOptions, SessionConfig};

use crate::source::ScanError;
use crate::source::{self, Format, Source};

/// A DataFusion session sized for this machine: one partition per core.
pub fn session() -> SessionContext {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let config = SessionConfig::new()
        .with_target_partitions(cores)
        .with_batch_size(8192);
    SessionContext::new_with_config(config)
}

/// A session of one partition: rows come in file order, so that row numbers mean the same to
/// `subject find`, to `subject erase` and to the user.
pub fn ordered_session() -> SessionContext {
    SessionContext::new_with_config(
        SessionConfig::new()
            .with_target_partitions(1)
            .with_batch_size(8192),
    )
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
                .has_header(csv.header.headerless.is_none())
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
            // The reader allocates what the footer declares: checked against the file first.
            source::arrow_declared_rows(src)?;
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

/// A data file as a table for SQL that piitrail runs (`run --input`): the file's own table
/// provider (not a view of a DataFrame, which the SQL planner would inline under an anonymous
/// name, so the plan's scan carries the table's name), its schema, and for a CSV file what
/// explains a value that does not fit the type chosen for its column.
pub struct FileTable {
    pub provider: std::sync::Arc<dyn datafusion::catalog::TableProvider>,
    pub schema: datafusion::arrow::datatypes::SchemaRef,
    pub csv: Option<CsvInput>,
}

/// A CSV file read with [`source::csv_sql_schema`] types (so a postcode with a leading zero
/// stays text), kept to explain a value that does not fit them.
pub struct CsvInput {
    src: Source,
    header: source::CsvHeader,
    schema: Schema,
}

impl CsvInput {
    pub fn path(&self) -> &std::path::Path {
        &self.src.path
    }

    /// The first value that does not have its column's type: line, column, masked value and
    /// the type ([`source::csv_type_violation`]).
    pub fn type_violation(&self) -> Result<Option<(u64, String, String, DataType)>, ScanError> {
        source::csv_type_violation(&self.src, &self.header, &self.schema)
    }
}

/// Opens one local data file as a [`FileTable`] (CSV with [`source::csv_sql_schema`] types,
/// Parquet, NDJSON, Arrow IPC).
pub async fn file_table(
    ctx: &SessionContext,
    path: &std::path::Path,
) -> Result<FileTable, ScanError> {
    let src = Source::open(path)?;
    if src.size == 0 {
        return Err(ScanError::Empty(src.path));
    }
    let (df, csv) = if src.format == Format::Csv {
        let header = source::csv_header(&src)?;
        let quotes = source::check_quotes(&src, header.data_start)?;
        let schema = source::csv_sql_schema(&src, &header)?;
        let read = CsvRead {
            header: &header,
            schema: &schema,
            newlines: quotes.any,
        };
        let df = read_frame(ctx, &src, Some(read)).await?;
        (
            df,
            Some(CsvInput {
                src,
                header,
                schema,
            }),
        )
    } else {
        (read_frame(ctx, &src, None).await?, None)
    };
    let schema = df.schema().inner().clone();
    let datafusion::logical_expr::LogicalPlan::TableScan(scan) = df.logical_plan() else {
        return Err(ScanError::Internal(format!(
            "reading {} did not give a table scan",
            path.display()
        )));
    };
    let provider = datafusion::datasource::source_as_provider(&scan.source)
        .map_err(|e| ScanError::Internal(e.to_string()))?;
    Ok(FileTable {
        provider,
        schema,
        csv,
    })
}

/// One data file read as text ([`read_text_frame`]) and planned, as one record batch stream
/// per partition of `ctx`, with the schema they share: for full scans, which match the
/// partitions on worker threads.
pub async fn text_partitions(
    ctx: &SessionContext,
    src: &Source,
) -> Result<
    (
        Vec<datafusion::execution::SendableRecordBatchStream>,
        datafusion::arrow::datatypes::SchemaRef,
    ),
    ScanError,
> {
    let df = read_text_frame(ctx, src).await?;
    let plan = df
        .create_physical_plan()
        .await
        .map_err(|e| df_error(src, e))?;
    let schema = plan.schema();
    let streams = datafusion::physical_plan::execute_stream_partitioned(plan, ctx.task_ctx())
        .map_err(|e| df_error(src, e))?;
    Ok((streams, schema))
}
