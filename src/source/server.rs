//! What the database servers' readers ([`super::postgres`], [`super::mysql`]) share: a table's
//! version (a sha256 over its description and its rows, [`super::db`]) and the gathering of
//! rows, value by value, into Arrow batches for a sink.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BinaryBuilder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use sha2::{Digest, Sha256};

use super::db::{BATCH, ROWS_VERSION, SAMPLE_VERSION, Sink, Table};
use crate::source::ScanError;

/// The order a server's table's rows are numbered and versioned in: its primary key, named
/// through the query's table alias `t` (a bare name would be the output column, perhaps its
/// text, where `10` sorts before `7`), else every output column in turn. `quote` quotes an
/// identifier as the engine does.
pub(crate) fn key_order(table: &Table, quote: fn(&str) -> String) -> String {
    let keys: Vec<String> = if table.primary_key.is_empty() {
        (1..=table.columns.len()).map(|i| i.to_string()).collect()
    } else {
        table
            .primary_key
            .iter()
            .map(|c| format!("t.{}", quote(c)))
            .collect()
    };
    if keys.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", keys.join(", "))
    }
}

/// The start of a server table's version: its schema, name, and columns with their declared
/// types, each length-prefixed.
pub(crate) fn version_head(table: &Table) -> Sha256 {
    let mut version = Sha256::new();
    let mut part = |p: &str| {
        version.update((p.len() as u64).to_le_bytes());
        version.update(p.as_bytes());
    };
    part(table.schema.as_deref().unwrap_or(""));
    part(&table.name);
    for (c, t) in &table.columns {
        part(c);
        part(t);
    }
    version
}

/// The version of what was read: `rows-sha256:` of every row, or `sample-sha256:` of a sample
/// with the table's row count.
pub(crate) fn version_of(mut version: Sha256, full: bool, total: u64) -> String {
    if full {
        format!("{ROWS_VERSION}{}", hex::encode(version.finalize()))
    } else {
        version.update(total.to_le_bytes());
        format!("{SAMPLE_VERSION}{}", hex::encode(version.finalize()))
    }
}

/// Rows of a server's table gathered into Arrow batches of [`BATCH`] rows for a sink, each
/// value also added to the version (a NULL as tag 0, a value as tag 3, its length and bytes).
pub(crate) struct Batches<'a> {
    schema: Arc<Schema>,
    columns: Vec<Column>,
    pending: usize,
    rows: u64,
    sink: Sink<'a>,
    hash: Sha256,
    path: String,
}

enum Column {
    Text(StringBuilder),
    Bytes(BinaryBuilder),
}

impl<'a> Batches<'a> {
    /// Batches of `fields` (text, or bytes for `Binary`) for `sink`; `path` names the table
    /// in errors.
    pub(crate) fn new(fields: &[(String, DataType)], sink: Sink<'a>, path: String) -> Self {
        let schema = Arc::new(Schema::new(
            fields
                .iter()
                .map(|(n, t)| Field::new(n, t.clone(), true))
                .collect::<Vec<_>>(),
        ));
        let columns = fields
            .iter()
            .map(|(_, t)| match t {
                DataType::Binary => Column::Bytes(BinaryBuilder::new()),
                _ => Column::Text(StringBuilder::new()),
            })
            .collect();
        Batches {
            schema,
            columns,
            pending: 0,
            rows: 0,
            sink,
            hash: Sha256::new(),
            path,
        }
    }

    pub(crate) fn width(&self) -> usize {
        self.columns.len()
    }

    pub(crate) fn is_binary(&self, column: usize) -> bool {
        matches!(self.columns[column], Column::Bytes(_))
    }

    /// An error about the row being read.
    pub(crate) fn bad(&self, why: &str) -> ScanError {
        ScanError::Read {
            path: PathBuf::from(&self.path),
            message: format!("row {}: {why}", self.rows + 1),
        }
    }

    /// The value of `column` in the row being read (`None` for NULL); text is read as UTF-8,
    /// invalid sequences replaced.
    pub(crate) fn value(&mut self, column: usize, value: Option<&[u8]>) {
        match value {
            None => {
                self.hash.update([0u8]);
                self.hash.update(0u64.to_le_bytes());
            }
            Some(v) => {
                self.hash.update([3u8]);
                self.hash.update((v.len() as u64).to_le_bytes());
                self.hash.update(v);
            }
        }
        match (&mut self.columns[column], value) {
            (Column::Text(b), None) => b.append_null(),
            (Column::Bytes(b), None) => b.append_null(),
            (Column::Text(b), Some(v)) => b.append_value(String::from_utf8_lossy(v)),
            (Column::Bytes(b), Some(v)) => b.append_value(v),
        }
    }

    /// Ends the row being read; hands a full batch to the sink.
    pub(crate) fn end_row(&mut self) -> Result<(), ScanError> {
        self.pending += 1;
        self.rows += 1;
        if self.pending == BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ScanError> {
        if self.pending == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Column::Text(b) => Arc::new(b.finish()),
                    Column::Bytes(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.pending = 0;
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|e| ScanError::Internal(format!("{}: a batch of rows: {e}", self.path)))?;
        (self.sink)(&batch)
    }

    /// Hands over the last rows; adds the rows' hash to the version; returns the rows read.
    pub(crate) fn finish(mut self, version: &mut Sha256) -> Result<u64, ScanError> {
        self.flush()?;
        version.update(self.rows.to_le_bytes());
        version.update(self.hash.finalize());
        Ok(self.rows)
    }
}
