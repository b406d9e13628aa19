//! Writing data: a stream of record batches into a file in the format its name says, for
//! `run --output` and for the files an erasure rewrites ([`super::rewrite`]).

use std::io::{BufWriter, Write};
use std::path::Path;

use datafusion::arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;

/// The file formats piitrail writes, by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Csv(u8),
    Parquet,
    NdJson,
    Arrow,
}

impl Output {
    /// The format a file's name asks for; the error says which names are known.
    pub fn of(path: &Path) -> Result<Output, String> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        Ok(match ext.as_str() {
            "csv" => Output::Csv(b','),
            "tsv" | "tab" => Output::Csv(b'\t'),
            "parquet" | "pq" => Output::Parquet,
            "json" | "jsonl" | "ndjson" => Output::NdJson,
            "arrow" | "ipc" | "feather" => Output::Arrow,
            _ => {
                return Err(format!(
                    "--output {}: unknown format; name it .parquet, .csv, .tsv, .ndjson, .jsonl, .json or .arrow",
                    super::location::mask(&path.to_string_lossy())
                ));
            }
        })
    }
}

/// Writing fails on the stream's own query (the caller knows what it ran) or on the writing.
#[derive(Debug)]
pub enum WriteError {
    Query(DataFusionError),
    Write(String),
}

/// Writes the stream into `file` in `format`; returns the row count. A CSV file gets its
/// header even when there are no rows.
pub async fn write_stream(
    mut stream: SendableRecordBatchStream,
    format: Output,
    file: &mut std::fs::File,
) -> Result<u64, WriteError> {
    let schema = stream.schema();
    let mut rows = 0u64;
    let fail = |e: &dyn std::fmt::Display| WriteError::Write(e.to_string());
    let mut next = async || -> Result<Option<RecordBatch>, WriteError> {
        match stream.next().await {
            None => Ok(None),
            Some(Ok(b)) => {
                rows += b.num_rows() as u64;
                Ok(Some(b))
            }
            Some(Err(e)) => Err(WriteError::Query(e)),
        }
    };
    match format {
        Output::Csv(delimiter) => {
            let mut w = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .with_delimiter(delimiter)
                .build(BufWriter::new(&mut *file));
            w.write(&RecordBatch::new_empty(schema.clone()))
                .map_err(|e| fail(&e))?;
            while let Some(b) = next().await? {
                w.write(&b).map_err(|e| fail(&e))?;
            }
            w.into_inner().flush().map_err(|e| fail(&e))?;
        }
        Output::NdJson => {
            let mut w =
                datafusion::arrow::json::LineDelimitedWriter::new(BufWriter::new(&mut *file));
            while let Some(b) = next().await? {
                w.write(&b).map_err(|e| fail(&e))?;
            }
            w.finish().map_err(|e| fail(&e))?;
            w.into_inner().flush().map_err(|e| fail(&e))?;
        }
        Output::Parquet => {
            let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(&mut *file, schema, None)
                .map_err(|e| fail(&e))?;
            while let Some(b) = next().await? {
                w.write(&b).map_err(|e| fail(&e))?;
            }
            w.close().map_err(|e| fail(&e))?;
        }
        Output::Arrow => {
            let mut w = datafusion::arrow::ipc::writer::FileWriter::try_new(
                BufWriter::new(&mut *file),
                &schema,
            )
            .map_err(|e| fail(&e))?;
            while let Some(b) = next().await? {
                w.write(&b).map_err(|e| fail(&e))?;
            }
            w.finish().map_err(|e| fail(&e))?;
            w.into_inner()
                .map_err(|e| fail(&e))?
                .flush()
                .map_err(|e| fail(&e))?;
        }
    }
    Ok(rows)
}
