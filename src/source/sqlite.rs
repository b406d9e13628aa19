//! SQLite databases as a source: a file named `sqlite:PATH`, each of its tables an artifact
//! named `sqlite:PATH.TABLE` (the table name last, see [`super::location`]).
//!
//! Read with SQLite itself (the `rusqlite` the ML Metadata reader already links), opened
//! read-only: an audit never changes what it audits. `datafusion-table-providers`' SQLite
//! pool was not used for this: building it switches the file to WAL journaling (a write to the
//! audited database), and it types each column from the first row and gathers a whole result
//! in one batch, where a table here is streamed in batches of text, every value as SQLite
//! stores it.
//!
//! - **Sampling** draws [`SAMPLE_RANGES`] rowid ranges spread from the smallest to the largest
//!   rowid (indexed: no table scan); a `WITHOUT ROWID` table gives its first rows in key order.
//!   A table with no more rows than the sample is read whole.
//! - **Full** streams every row in rowid (or key) order, [`BATCH`] rows at a time.
//! - **Version**: a table has no file to hash. Its version is a sha256 over its name, its
//!   columns and declared types, and the rows read in order (each value as its SQLite type and
//!   bytes), marked `rows-sha256:` after a full read (every row: the table's content) and
//!   `sample-sha256:` after a sample (with the row count: it changes when the sampled rows or
//!   the count do). Neither is ever shown as `sha256:`, a file's digest.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BinaryBuilder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};

use super::ReadInfo;
use super::db::{BATCH, ForeignKey, ROWS_VERSION, Rows, SAMPLE_VERSION, Sink, Table};
use super::location::Database;
use crate::source::ScanError;

/// The schema of a database file's own tables, as `--table main.TABLE` names it.
pub const SCHEMA: &str = "main";
/// Rowid ranges a sample is drawn from.
pub const SAMPLE_RANGES: u64 = 16;

/// An open SQLite database file, read-only.
pub struct Db {
    conn: Connection,
    /// The file, and its location as named (`sqlite:PATH`) for messages and artifact names.
    path: PathBuf,
    pub location: Database,
}

/// An identifier quoted for SQL (`"` doubled): table and column names are never values, but
/// they may hold any character.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Db {
    /// Opens the file read-only. A missing file is an error naming it (SQLite would create it).
    pub fn open(location: &Database) -> Result<Db, ScanError> {
        let db = Self::connect(location, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        // A file that is not a database fails here, on its first read.
        db.conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(|e| db.error(e))?;
        Ok(db)
    }

    /// Opens the file to delete rows from (a subject's erasure): read-write, never created,
    /// with the database's foreign keys enforced.
    pub fn open_for_erasure(location: &Database) -> Result<Db, ScanError> {
        let db = Self::connect(location, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        db.conn
            .execute_batch("PRAGMA foreign_keys = ON")
            .map_err(|e| db.error(e))?;
        Ok(db)
    }

    /// Opens the named file with `mode`; a missing file is an error naming it, never created.
    fn connect(location: &Database, mode: OpenFlags) -> Result<Db, ScanError> {
        let path = PathBuf::from(&location.database);
        std::fs::metadata(&path).map_err(|e| ScanError::Open {
            path: path.clone(),
            source: e,
        })?;
        let conn = Connection::open_with_flags(&path, mode | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| sql_error(&path, e))?;
        Ok(Db {
            conn,
            path,
            location: location.clone(),
        })
    }

    /// Deletes, in one transaction, the rows at the given positions (1-based, rowid order, as
    /// [`super::dataset`] numbers them) of each table, whose version must still be the one
    /// given (the positions are of that content). Returns each table's rows before and
    /// after. Every check fails the whole: a table that changed, a `WITHOUT ROWID` table, a
    /// position past the end, a count after the deletes other than expected (the database
    /// removed more by `ON DELETE CASCADE` or a trigger), or a foreign key of a row left that
    /// still refers to a deleted one (checked at commit). Then it is rolled back and nothing
    /// was deleted.
    pub fn delete_rows(
        &self,
        work: &[(&Table, &[u64], &str)],
    ) -> Result<Vec<(u64, u64)>, ScanError> {
        let err = |e| self.error(e);
        self.conn
            .execute_batch("BEGIN IMMEDIATE; PRAGMA defer_foreign_keys = ON;")
            .map_err(err)?;
        let done = self.delete_in_transaction(work).and_then(|counts| {
            self.conn.execute_batch("COMMIT").map_err(|e| ScanError::Read {
                path: self.path.clone(),
                message: format!(
                    "rows of other tables still refer to the subject's rows (a foreign key holds them back: {e}); nothing was deleted"
                ),
            })?;
            Ok(counts)
        });
        if done.is_err() && !self.conn.is_autocommit() {
            // The error is what is reported; a failed rollback leaves SQLite's own journal
            // to undo the transaction when the file is next opened.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        done
    }

    fn delete_in_transaction(
        &self,
        work: &[(&Table, &[u64], &str)],
    ) -> Result<Vec<(u64, u64)>, ScanError> {
        let err = |e| self.error(e);
        let refused = |table: &Table, why: String| ScanError::Read {
            path: self.path.clone(),
            message: format!("table {}: {why}; nothing was deleted", table.name),
        };
        // Every check before the first delete.
        let mut plan = Vec::with_capacity(work.len());
        for (table, positions, version) in work {
            if !table.ordered {
                return Err(refused(
                    table,
                    "a WITHOUT ROWID table is not erased by position".into(),
                ));
            }
            let (_, _, now) = self.read(table, Rows::Full, &mut |_| Ok(()))?;
            if now != *version {
                return Err(refused(
                    table,
                    "it changed since the subject was searched".into(),
                ));
            }
            let wanted: std::collections::BTreeSet<u64> = positions.iter().copied().collect();
            let mut stmt = self
                .conn
                .prepare(&format!(
                    "SELECT rowid FROM {} ORDER BY rowid",
                    quoted(&table.name)
                ))
                .map_err(err)?;
            let mut rows = stmt.query([]).map_err(err)?;
            let (mut at, mut rowids) = (0u64, Vec::with_capacity(wanted.len()));
            while let Some(r) = rows.next().map_err(err)? {
                at += 1;
                if wanted.contains(&at) {
                    rowids.push(r.get::<_, i64>(0).map_err(err)?);
                }
            }
            if rowids.len() != wanted.len() {
                return Err(refused(
                    table,
                    format!("it has {at} rows, fewer than the positions given"),
                ));
            }
            plan.push((*table, rowids, self.count(table)?));
        }
        super::db::referring_first(&mut plan, str::eq_ignore_ascii_case);
        for (table, rowids, _) in &plan {
            let mut stmt = self
                .conn
                .prepare(&format!(
                    "DELETE FROM {} WHERE rowid = ?1",
                    quoted(&table.name)
                ))
                .map_err(err)?;
            for id in rowids {
                stmt.execute([id]).map_err(err)?;
            }
        }
        let mut counts = Vec::with_capacity(work.len());
        for (table, ..) in work {
            let (_, rowids, before) = plan
                .iter()
                .find(|(t, ..)| t.name == table.name)
                .expect("every table is planned");
            let after = self.count(table)?;
            if let Some(why) = super::db::more_removed(*before, after, rowids.len()) {
                return Err(refused(table, why));
            }
            counts.push((*before, after));
        }
        Ok(counts)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The number of rows of a table.
    pub fn count(&self, table: &Table) -> Result<u64, ScanError> {
        self.conn
            .query_row(
                &format!("SELECT count(*) FROM {}", quoted(&table.name)),
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.error(e))
    }

    fn error(&self, e: rusqlite::Error) -> ScanError {
        sql_error(&self.path, e)
    }

    /// The database's own tables, by name (SQLite's internal `sqlite_*` tables left out).
    pub fn tables(&self) -> Result<Vec<Table>, ScanError> {
        let err = |e| self.error(e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )
            .map_err(err)?;
        let names: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
        let mut tables = names
            .into_iter()
            .map(|name| {
                let mut info = self
                    .conn
                    .prepare(&format!("PRAGMA table_info({})", quoted(&name)))
                    .map_err(err)?;
                // (name, declared type, position in the primary key; 0 when not in it)
                let described: Vec<(String, String, i64)> = info
                    .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(5)?)))
                    .map_err(err)?
                    .collect::<Result<_, _>>()
                    .map_err(err)?;
                let mut key: Vec<(i64, String)> = described
                    .iter()
                    .filter(|(_, _, pk)| *pk > 0)
                    .map(|(c, _, pk)| (*pk, c.clone()))
                    .collect();
                key.sort();
                let rowid = self
                    .conn
                    .prepare(&format!("SELECT rowid FROM {} LIMIT 0", quoted(&name)))
                    .is_ok();
                Ok(Table {
                    schema: None,
                    foreign_keys: self.foreign_keys(&name)?,
                    name,
                    columns: described.into_iter().map(|(c, t, _)| (c, t)).collect(),
                    primary_key: key.into_iter().map(|(_, c)| c).collect(),
                    ordered: rowid,
                })
            })
            .collect::<Result<Vec<Table>, ScanError>>()?;
        // `REFERENCES t` names no column: it is t's primary key. SQLite compares table names
        // without case; a key to a table that is not there (or has no single-column primary
        // key) refers to nothing that can be read.
        let keys: Vec<(String, Vec<String>)> = tables
            .iter()
            .map(|t| (t.name.clone(), t.primary_key.clone()))
            .collect();
        for t in &mut tables {
            t.foreign_keys.retain_mut(|fk| {
                let Some((name, pk)) = keys.iter().find(|(n, _)| n.eq_ignore_ascii_case(&fk.table))
                else {
                    return false;
                };
                fk.table = name.clone();
                if fk.to.is_empty() {
                    match pk.as_slice() {
                        [one] => fk.to = one.clone(),
                        _ => return false,
                    }
                }
                true
            });
        }
        Ok(tables)
    }

    /// A table's declared single-column foreign keys, `to` empty where none is named.
    fn foreign_keys(&self, table: &str) -> Result<Vec<ForeignKey>, ScanError> {
        let err = |e| self.error(e);
        let mut stmt = self
            .conn
            .prepare(&format!("PRAGMA foreign_key_list({})", quoted(table)))
            .map_err(err)?;
        // (constraint id, referenced table, column, referenced column or NULL)
        let rows: Vec<(i64, String, String, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
        Ok(rows
            .iter()
            .filter(|(id, ..)| rows.iter().filter(|(other, ..)| other == id).count() == 1)
            .map(|(_, to_table, column, to)| ForeignKey {
                column: column.clone(),
                schema: None,
                table: to_table.clone(),
                to: to.clone().unwrap_or_default(),
            })
            .collect())
    }

    /// What a scan records as the format of its tables.
    pub fn format(&self) -> &'static str {
        "sqlite"
    }

    /// The Arrow fields a table is read as: text, or bytes for a declared `BLOB` column (so
    /// that pictures are seen as pictures).
    pub fn fields(&self, table: &Table) -> Vec<(String, DataType)> {
        fields_of(table)
    }

    /// Reads the table's rows into batches for `sink`; returns how they were drawn, the rows
    /// read and the table's version ([`self`] module doc).
    pub fn read(
        &self,
        table: &Table,
        rows: Rows,
        sink: Sink<'_>,
    ) -> Result<(ReadInfo, u64, String), ScanError> {
        let err = |e| self.error(e);
        let total: u64 = self
            .conn
            .query_row(
                &format!("SELECT count(*) FROM {}", quoted(&table.name)),
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(err)? as u64;
        let list = table
            .columns
            .iter()
            .map(|(c, _)| quoted(c))
            .collect::<Vec<_>>()
            .join(", ");
        let list = if list.is_empty() { "NULL".into() } else { list };
        let from = quoted(&table.name);
        let order = if table.ordered { "ORDER BY rowid" } else { "" };
        let mut version = Sha256::new();
        version.update(table.name.as_bytes());
        for (c, t) in &table.columns {
            for part in [c, t] {
                version.update((part.len() as u64).to_le_bytes());
                version.update(part.as_bytes());
            }
        }
        let mut batches = Batches::new(table, sink);
        let (sampling, full) = match rows {
            Rows::Full => {
                batches.query(
                    &self.conn,
                    &format!("SELECT {list} FROM {from} {order}"),
                    [],
                )?;
                ("every row".to_string(), true)
            }
            Rows::Sample(limit) if total <= limit as u64 => {
                batches.query(
                    &self.conn,
                    &format!("SELECT {list} FROM {from} {order}"),
                    [],
                )?;
                (format!("all {total} rows"), true)
            }
            Rows::Sample(limit) if !table.ordered => {
                let sql = format!("SELECT {list} FROM {from} LIMIT ?1");
                batches.query(&self.conn, &sql, [limit as i64])?;
                (
                    format!("the first {limit} rows in key order (a WITHOUT ROWID table)"),
                    false,
                )
            }
            Rows::Sample(limit) => {
                let (lo, hi): (i64, i64) = self
                    .conn
                    .query_row(
                        &format!("SELECT min(rowid), max(rowid) FROM {from}"),
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .map_err(err)?;
                let per = (limit as u64).div_ceil(SAMPLE_RANGES).max(1);
                let sql = format!(
                    "SELECT rowid, {list} FROM {from} WHERE rowid >= ?1 ORDER BY rowid LIMIT ?2"
                );
                let span = (hi as i128 - lo as i128).max(0);
                batches.rowid_first = true;
                for i in 0..SAMPLE_RANGES {
                    let start = (lo as i128 + span * i as i128 / SAMPLE_RANGES as i128) as i64;
                    // Where rowids cluster, a range may reach into the next: no row twice.
                    let start = match batches.last_rowid {
                        Some(last) if last >= start => match last.checked_add(1) {
                            Some(next) => next,
                            None => break,
                        },
                        _ => start,
                    };
                    batches.query(&self.conn, &sql, [start, per as i64])?;
                }
                (
                    format!(
                        "{SAMPLE_RANGES} rowid ranges of up to {per} rows, from rowid {lo} to {hi}"
                    ),
                    false,
                )
            }
        };
        let read = batches.finish(&mut version)?;
        let digest = if full {
            format!("{ROWS_VERSION}{}", hex::encode(version.finalize()))
        } else {
            version.update(total.to_le_bytes());
            format!("{SAMPLE_VERSION}{}", hex::encode(version.finalize()))
        };
        let info = ReadInfo {
            rows_total: Some(total),
            sampling,
            warnings: Vec::new(),
        };
        Ok((info, read, digest))
    }
}

/// Text, or bytes for a declared `BLOB` column.
fn fields_of(table: &Table) -> Vec<(String, DataType)> {
    super::db::fields_by(table, |declared| {
        declared.to_ascii_uppercase().contains("BLOB")
    })
}

fn sql_error(path: &Path, e: rusqlite::Error) -> ScanError {
    // SQLite's messages name tables and columns, never values of rows; sanitised anyway when
    // shown ([`ScanError::Read`]).
    let message = match &e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        _ => e.to_string(),
    };
    ScanError::Read {
        path: PathBuf::from(format!("sqlite:{}", path.display())),
        message: format!("SQLite: {message}"),
    }
}

/// Rows gathered into Arrow batches of [`BATCH`] rows, each value also added to the version.
struct Batches<'a> {
    schema: Arc<Schema>,
    columns: Vec<Column>,
    pending: usize,
    rows: u64,
    sink: &'a mut dyn FnMut(&RecordBatch) -> Result<(), ScanError>,
    /// The rows' bytes for the version, hashed as they come.
    hash: Sha256,
    path: PathBuf,
    /// The query's first column is the rowid (not a table column): kept in `last_rowid`.
    rowid_first: bool,
    last_rowid: Option<i64>,
}

enum Column {
    Text(StringBuilder),
    Bytes(BinaryBuilder),
}

impl<'a> Batches<'a> {
    fn new(table: &Table, sink: Sink<'a>) -> Self {
        let fields = fields_of(table);
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
            path: PathBuf::new(),
            rowid_first: false,
            last_rowid: None,
        }
    }

    fn query(
        &mut self,
        conn: &Connection,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<(), ScanError> {
        let path = conn.path().map(PathBuf::from).unwrap_or_default();
        self.path = path.clone();
        let err = |e| sql_error(&path, e);
        let mut stmt = conn.prepare(sql).map_err(err)?;
        let mut rows = stmt.query(params).map_err(err)?;
        let first = self.rowid_first as usize;
        while let Some(row) = rows.next().map_err(err)? {
            if self.rowid_first {
                self.last_rowid = Some(row.get(0).map_err(err)?);
            }
            for (i, column) in self.columns.iter_mut().enumerate() {
                let value = row.get_ref(first + i).map_err(err)?;
                let (tag, bytes): (u8, std::borrow::Cow<[u8]>) = match value {
                    ValueRef::Null => (0, b"".as_slice().into()),
                    ValueRef::Integer(n) => (1, n.to_string().into_bytes().into()),
                    ValueRef::Real(f) => (2, f.to_string().into_bytes().into()),
                    ValueRef::Text(t) => (3, t.into()),
                    ValueRef::Blob(b) => (4, b.into()),
                };
                self.hash.update([tag]);
                self.hash.update((bytes.len() as u64).to_le_bytes());
                self.hash.update(&bytes);
                match (column, tag) {
                    (Column::Text(b), 0) => b.append_null(),
                    (Column::Bytes(b), 0) => b.append_null(),
                    (Column::Text(b), _) => b.append_value(String::from_utf8_lossy(&bytes)),
                    (Column::Bytes(b), _) => b.append_value(&bytes),
                }
            }
            self.pending += 1;
            self.rows += 1;
            if self.pending == BATCH {
                self.flush()?;
            }
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
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| {
            ScanError::Internal(format!("{}: a batch of rows: {e}", self.path.display()))
        })?;
        (self.sink)(&batch)
    }

    /// Hands over the last rows; adds the rows' hash to the version; returns the rows read.
    fn finish(mut self, version: &mut Sha256) -> Result<u64, ScanError> {
        self.flush()?;
        version.update(self.rows.to_le_bytes());
        version.update(self.hash.finalize());
        Ok(self.rows)
    }
}
