//! Database tables as a source, whatever the engine: one [`Db`] that scans, subject requests
//! and erasures open, list, read, version and delete rows through. Each engine is a module
//! beside this one ([`super::sqlite`], [`super::postgres`]) with the same operations; this one
//! holds what they share (a table's description, how many rows to read, the version marks)
//! and chooses the engine from the location.
//!
//! A table's rows are numbered from 1 in a stable order: rowid order in SQLite, primary-key
//! order in PostgreSQL. `subject find` locates rows by those numbers, and an erasure deletes
//! the rows at those numbers only while the table's version (a digest of its rows in that
//! order) is still the one the search saw.

use std::path::Path;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;

use super::ReadInfo;
use super::location::{Database, Engine};
use crate::source::ScanError;

/// The marks of a table's version: after a full read (every row: the table's content), and
/// after a sample (the rows read and the row count). Neither is ever shown as `sha256:`, a
/// file's digest.
pub const ROWS_VERSION: &str = "rows-sha256:";
pub const SAMPLE_VERSION: &str = "sample-sha256:";
/// Rows per batch handed to the caller.
pub const BATCH: usize = 8192;

/// One table: where it is, its columns with their declared types, and its catalog's keys.
#[derive(Debug, Clone)]
pub struct Table {
    /// PostgreSQL's schema; `None` for SQLite (its tables are selected as `main.TABLE`).
    pub schema: Option<String>,
    pub name: String,
    pub columns: Vec<(String, String)>,
    /// The declared primary key's columns, in key order (empty when none is declared).
    pub primary_key: Vec<String>,
    /// The declared single-column foreign keys; a key over several columns identifies no one
    /// column and is left out.
    pub foreign_keys: Vec<ForeignKey>,
    /// Whether its rows have a stable order to be numbered and erased by: a rowid in SQLite
    /// (not a `WITHOUT ROWID` table), a primary key in PostgreSQL.
    pub(super) ordered: bool,
}

/// A declared foreign key of one column: `column` refers to `table`.`to` (in `schema` where the
/// engine has schemas), as the catalog names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub column: String,
    pub schema: Option<String>,
    pub table: String,
    pub to: String,
}

impl Table {
    /// Which of `columns` the table has.
    pub fn present(&self, columns: &[String]) -> Vec<bool> {
        columns
            .iter()
            .map(|c| self.columns.iter().any(|(n, _)| n == c))
            .collect()
    }

    /// The table with only the named columns it has, in the order given.
    pub fn projected(&self, columns: &[String]) -> Table {
        Table {
            columns: columns
                .iter()
                .filter_map(|c| self.columns.iter().find(|(n, _)| n == c).cloned())
                .collect(),
            ..self.clone()
        }
    }
}

/// The Arrow fields a table is read as: bytes for the columns whose declared type `is_bytes`
/// says are binary, text for the others.
pub(super) fn fields_by(table: &Table, is_bytes: fn(&str) -> bool) -> Vec<(String, DataType)> {
    table
        .columns
        .iter()
        .map(|(name, declared)| {
            let t = if is_bytes(declared) {
                DataType::Binary
            } else {
                DataType::Utf8
            };
            (name.clone(), t)
        })
        .collect()
}

/// After an erasure's deletes: an error when the table lost more rows than the subject's
/// (`ON DELETE CASCADE` or a trigger removed others), which rolls the erasure back.
pub(super) fn more_removed(before: u64, after: u64, deleted: usize) -> Option<String> {
    (before - after != deleted as u64).then(|| {
        format!(
            "the database removed {} row(s) more than the subject's {deleted} (ON DELETE CASCADE or a trigger): erase by hand",
            (before - after).saturating_sub(deleted as u64),
        )
    })
}

/// Orders an erasure's tables so that those whose rows refer to others' come first: a cascade
/// then finds nothing left to remove, and a database that checks each delete at once (MySQL)
/// finds no row still referred to. `same` compares table names as the engine does.
pub(super) fn referring_first<T>(plan: &mut [(&Table, T, u64)], same: fn(&str, &str) -> bool) {
    let names: Vec<String> = plan.iter().map(|(t, ..)| t.name.clone()).collect();
    let refers = |t: &Table| {
        t.foreign_keys
            .iter()
            .filter(|fk| names.iter().any(|n| same(n, &fk.table)) && fk.table != t.name)
            .count()
    };
    plan.sort_by_key(|(t, ..)| std::cmp::Reverse(refers(t)));
}

/// How many rows to read of a table.
#[derive(Debug, Clone, Copy)]
pub enum Rows {
    Sample(usize),
    Full,
}

/// A sink for the batches of a read.
pub type Sink<'a> = &'a mut dyn FnMut(&RecordBatch) -> Result<(), ScanError>;

/// An open database, of any engine piitrail reads.
pub enum Db {
    Sqlite(super::sqlite::Db),
    #[cfg(feature = "postgres")]
    Postgres(super::postgres::Db),
    #[cfg(feature = "mysql")]
    MySql(super::mysql::Db),
}

/// Calls the same method on whichever engine is open.
macro_rules! each_engine {
    ($self:expr, $db:ident => $body:expr) => {
        match $self {
            Db::Sqlite($db) => $body,
            #[cfg(feature = "postgres")]
            Db::Postgres($db) => $body,
            #[cfg(feature = "mysql")]
            Db::MySql($db) => $body,
        }
    };
}

impl Db {
    /// Opens the database read-only (an audit never changes what it audits).
    pub fn open(location: &Database) -> Result<Db, ScanError> {
        match location.engine {
            Engine::Sqlite => Ok(Db::Sqlite(super::sqlite::Db::open(location)?)),
            #[cfg(feature = "postgres")]
            Engine::Postgres => Ok(Db::Postgres(super::postgres::Db::open(location)?)),
            #[cfg(feature = "mysql")]
            Engine::MySql => Ok(Db::MySql(super::mysql::Db::open(location)?)),
            #[allow(unreachable_patterns)]
            _ => Err(ScanError::Unsupported {
                location: location.name(),
                what: unsupported(location.engine),
            }),
        }
    }

    /// Opens the database to delete a subject's rows from.
    pub fn open_for_erasure(location: &Database) -> Result<Db, ScanError> {
        match location.engine {
            Engine::Sqlite => Ok(Db::Sqlite(super::sqlite::Db::open_for_erasure(location)?)),
            // A server's connection writes in its own transaction ([`Db::delete_rows`]).
            _ => Self::open(location),
        }
    }

    /// Where it is, as its artifacts are named (no credentials).
    pub fn location(&self) -> &Database {
        each_engine!(self, db => &db.location)
    }

    pub fn location_mut(&mut self) -> &mut Database {
        each_engine!(self, db => &mut db.location)
    }

    /// The format an artifact scan records for its tables.
    pub fn format(&self) -> &'static str {
        each_engine!(self, db => db.format())
    }

    /// The database file, for SQLite (a file under the data roots); `None` for a server.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Db::Sqlite(db) => Some(db.path()),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// Whether the database lies inside the data roots: its file, or its URL under a
    /// `data_roots` URL.
    pub fn inside(&self, roots: &crate::source::DataRoots, project: &Path) -> bool {
        match self.file() {
            Some(file) => roots.contains(file),
            None => roots.contains_name(&self.location().name(), project),
        }
    }

    /// Its tables (every table of every non-system schema), by schema and name.
    pub fn tables(&self) -> Result<Vec<Table>, ScanError> {
        each_engine!(self, db => db.tables())
    }

    /// The schema a `--table GLOB` matches a table's name after.
    /// (PostgreSQL's schema; the database's name for MySQL; `main` for SQLite.)
    pub fn schema_of<'t>(&'t self, table: &'t Table) -> &'t str {
        match (&table.schema, self) {
            (Some(schema), _) => schema,
            (None, Db::Sqlite(_)) => super::sqlite::SCHEMA,
            #[allow(unreachable_patterns)]
            (None, _) => &self.location().database,
        }
    }

    /// The table's artifact name.
    pub fn artifact(&self, table: &Table) -> String {
        self.location()
            .table_name(table.schema.as_deref(), &table.name)
    }

    /// The artifact name of the table a foreign key refers to.
    pub fn referenced(&self, fk: &ForeignKey) -> String {
        self.location().table_name(fk.schema.as_deref(), &fk.table)
    }

    /// The Arrow fields a table is read as: text, or bytes for binary columns.
    pub fn fields(&self, table: &Table) -> Vec<(String, DataType)> {
        each_engine!(self, db => db.fields(table))
    }

    /// The number of rows of a table.
    pub fn count(&self, table: &Table) -> Result<u64, ScanError> {
        each_engine!(self, db => db.count(table))
    }

    /// Reads the table's rows into batches for `sink`; returns how they were drawn, the rows
    /// read and the table's version (after a sample, a version of what was read).
    pub fn read(
        &self,
        table: &Table,
        rows: Rows,
        sink: Sink<'_>,
    ) -> Result<(ReadInfo, u64, String), ScanError> {
        each_engine!(self, db => db.read(table, rows, sink))
    }

    /// The table's version from every row (`rows-sha256:`), as a full read gives it.
    pub fn version(&self, table: &Table) -> Result<String, ScanError> {
        let (_, _, digest) = self.read(table, Rows::Full, &mut |_| Ok(()))?;
        Ok(digest)
    }

    /// Writes every row of a table, in row order, into `file` as an Arrow IPC file (bounded
    /// memory: batch by batch); returns the table's version from the same read.
    pub fn export(&self, table: &Table, file: &Path) -> Result<String, ScanError> {
        use datafusion::arrow::ipc::writer::FileWriter;
        let failed = |e: &dyn std::fmt::Display| ScanError::Read {
            path: file.to_path_buf(),
            message: format!("writing a copy of {}: {e}", self.artifact(table)),
        };
        let out = std::fs::File::create(file).map_err(|e| failed(&e))?;
        let mut out = Some(std::io::BufWriter::new(out));
        let mut writer: Option<FileWriter<std::io::BufWriter<std::fs::File>>> = None;
        let (_, _, version) = self.read(table, Rows::Full, &mut |batch| {
            if writer.is_none() {
                let w = FileWriter::try_new(out.take().expect("one writer"), &batch.schema())
                    .map_err(|e| failed(&e))?;
                writer = Some(w);
            }
            writer
                .as_mut()
                .expect("made above")
                .write(batch)
                .map_err(|e| failed(&e))
        })?;
        let mut writer = match (writer, out) {
            (Some(w), _) => w,
            (None, Some(out)) => {
                // No rows: the table's columns, typed as a read types them.
                let fields: Vec<datafusion::arrow::datatypes::Field> = self
                    .fields(table)
                    .into_iter()
                    .map(|(n, t)| datafusion::arrow::datatypes::Field::new(n, t, true))
                    .collect();
                let schema = datafusion::arrow::datatypes::Schema::new(fields);
                FileWriter::try_new(out, &schema).map_err(|e| failed(&e))?
            }
            (None, None) => unreachable!("the file goes to the writer when it is made"),
        };
        writer.finish().map_err(|e| failed(&e))?;
        writer
            .into_inner()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error().into()))
            .and_then(|f| f.sync_all().map_err(Into::into))
            .map_err(|e| failed(&e))?;
        Ok(version)
    }

    /// Streams the named columns of a table (those it has, in the order given:
    /// [`Table::present`]) in row order.
    pub fn stream(
        &self,
        table: &Table,
        columns: &[String],
        sink: Sink<'_>,
    ) -> Result<(), ScanError> {
        self.read(&table.projected(columns), Rows::Full, sink)?;
        Ok(())
    }

    /// Why a table's rows cannot be erased by position, if they cannot.
    pub fn not_erasable(&self, table: &Table) -> Option<String> {
        if table.ordered {
            return None;
        }
        Some(match self {
            Db::Sqlite(_) => "a WITHOUT ROWID table".to_string(),
            #[allow(unreachable_patterns)]
            _ => "a table without a primary key".to_string(),
        })
    }

    /// Deletes, in one transaction, the rows at the given positions (1-based, in the order
    /// rows are numbered) of each table, whose version must still be the one given. Returns
    /// each table's rows before and after; any failed check rolls everything back.
    pub fn delete_rows(
        &self,
        work: &[(&Table, &[u64], &str)],
    ) -> Result<Vec<(u64, u64)>, ScanError> {
        each_engine!(self, db => db.delete_rows(work))
    }
}

fn unsupported(engine: Engine) -> &'static str {
    match engine {
        Engine::MySql => "databases (MySQL/MariaDB: this build has no `mysql` feature)",
        Engine::Postgres => "databases (PostgreSQL: this build has no `postgres` feature)",
        Engine::Sqlite => "databases (SQLite)",
    }
}

/// Whether an artifact name is a database table's (`sqlite:PATH.TABLE`,
/// `postgres://HOST:PORT/DB.SCHEMA.TABLE`), not a file's.
pub fn is_table(name: &str) -> bool {
    name.starts_with("sqlite:")
        || name.starts_with("postgres://")
        || name.starts_with("postgresql://")
        || name.starts_with("mysql://")
}
