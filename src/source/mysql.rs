//! MySQL and MariaDB databases as a source: `mysql://USER@HOST:PORT/DB` (or `mariadb://`), each
//! base table of the database an artifact `mysql://HOST:PORT/DB.TABLE` (the OpenLineage naming,
//! with no user or password); `--table DB.GLOB` narrows a scan.
//!
//! Read with the `mysql` client over the text protocol, so that every value arrives as the
//! server prints it (`1985-03-07`, `12.50`), as a client export would show it; `BLOB`,
//! `BINARY` and `VARBINARY` columns are read as bytes.
//!
//! - **Credentials**: the user from the URL, else `MYSQL_USER` (as the server's images and
//!   most tools name it), else the login name (`USER`); the password from
//!   the URL, else `MYSQL_PWD`. A password is never printed. The connection is not encrypted:
//!   reach a remote server through a tunnel.
//! - **Sampling**: a table with no more rows than the sample is read whole. A larger one with a
//!   single integer primary key is read in 16 key ranges spread from the smallest to the
//!   largest key (the index: no table scan); any other in `ORDER BY RAND(0)` (a seeded draw the
//!   server makes over the whole table). The scan says which.
//! - **Full** streams every row in primary-key order (every column's order without a key).
//! - **Version** and **erasure** as for PostgreSQL ([`super::postgres`]), with MySQL's means:
//!   inside one transaction each table's rows are read `LOCK IN SHARE MODE` (writers wait until
//!   the end), deletes go by primary key with bound parameters, and a foreign key that holds a
//!   row back fails the delete at once (MySQL checks them immediately), rolling back.

use std::cell::RefCell;
use std::path::PathBuf;

use datafusion::arrow::datatypes::DataType;
use mysql::prelude::Queryable;

use super::ReadInfo;
use super::db::{ForeignKey, Rows, Sink, Table};
use super::location::Database;
use super::server::Batches;
use crate::source::ScanError;

/// Key ranges a sample is drawn from.
const SAMPLE_RANGES: i64 = 16;

/// An open connection to one database.
pub struct Db {
    conn: RefCell<mysql::Conn>,
    pub location: Database,
}

/// An identifier quoted for SQL (`` ` `` doubled).
fn quoted(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn is_bytes(declared: &str) -> bool {
    let d = declared.to_ascii_lowercase();
    d.contains("blob") || d.starts_with("binary") || d.starts_with("varbinary")
}

impl Db {
    /// Connects (see the module doc for where the user and password come from).
    pub fn open(location: &Database) -> Result<Db, ScanError> {
        let user = location
            .user
            .clone()
            .or_else(|| std::env::var("MYSQL_USER").ok())
            .or_else(|| std::env::var("USER").ok())
            .ok_or_else(|| {
                failed(
                    location,
                    "no user: name one in the URL (mysql://USER@HOST:PORT/DB) or in MYSQL_USER",
                )
            })?;
        let password = match &location.password {
            Some(p) => Some(p.expose().to_string()),
            None => std::env::var("MYSQL_PWD").ok(),
        };
        let opts = mysql::OptsBuilder::new()
            .ip_or_hostname(Some(location.host.clone()))
            .tcp_port(location.port)
            .user(Some(user))
            .pass(password)
            .db_name(Some(location.database.clone()))
            .prefer_socket(false)
            .tcp_connect_timeout(Some(std::time::Duration::from_secs(10)));
        let conn = mysql::Conn::new(opts).map_err(|e| my_error(location, &e))?;
        Ok(Db {
            conn: RefCell::new(conn),
            location: location.clone(),
        })
    }

    pub fn format(&self) -> &'static str {
        "mysql"
    }

    fn error(&self, e: mysql::Error) -> ScanError {
        my_error(&self.location, &e)
    }

    /// Rows of text columns, by the text protocol (`NULL` as `None`).
    fn texts(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, ScanError> {
        let mut conn = self.conn.borrow_mut();
        let rows: Vec<mysql::Row> = conn.query(sql).map_err(|e| self.error(e))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| match r.as_ref(i) {
                        Some(mysql::Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into()),
                        Some(mysql::Value::NULL) | None => None,
                        Some(other) => Some(other.as_sql(true).trim_matches('\'').to_string()),
                    })
                    .collect()
            })
            .collect())
    }

    /// A string literal for the catalog queries (a name of this database; never a value).
    fn literal(text: &str) -> String {
        format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
    }

    /// The database's base tables (views left out), with their columns and keys.
    pub fn tables(&self) -> Result<Vec<Table>, ScanError> {
        let db = Self::literal(&self.location.database);
        let names = self.texts(&format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = {db} AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME"
        ))?;
        let mut tables = Vec::with_capacity(names.len());
        for row in names {
            let Some(name) = row.into_iter().next().flatten() else {
                continue;
            };
            let t = Self::literal(&name);
            let columns = self
                .texts(&format!(
                    "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS \
                     WHERE TABLE_SCHEMA = {db} AND TABLE_NAME = {t} ORDER BY ORDINAL_POSITION"
                ))?
                .into_iter()
                .map(|r| {
                    let mut r = r.into_iter();
                    (
                        r.next().flatten().unwrap_or_default(),
                        r.next().flatten().unwrap_or_default(),
                    )
                })
                .collect();
            let primary_key: Vec<String> = self
                .texts(&format!(
                    "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
                     WHERE TABLE_SCHEMA = {db} AND TABLE_NAME = {t} AND CONSTRAINT_NAME = 'PRIMARY' \
                     ORDER BY ORDINAL_POSITION"
                ))?
                .into_iter()
                .filter_map(|r| r.into_iter().next().flatten())
                .collect();
            // Single-column foreign keys to a table of this database.
            let foreign_keys = self
                .texts(&format!(
                    "SELECT k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME \
                     FROM information_schema.KEY_COLUMN_USAGE k \
                     WHERE k.TABLE_SCHEMA = {db} AND k.TABLE_NAME = {t} \
                     AND k.REFERENCED_TABLE_SCHEMA = {db} AND k.REFERENCED_TABLE_NAME IS NOT NULL \
                     AND (SELECT count(*) FROM information_schema.KEY_COLUMN_USAGE o \
                          WHERE o.TABLE_SCHEMA = k.TABLE_SCHEMA AND o.TABLE_NAME = k.TABLE_NAME \
                          AND o.CONSTRAINT_NAME = k.CONSTRAINT_NAME) = 1 \
                     ORDER BY k.CONSTRAINT_NAME"
                ))?
                .into_iter()
                .filter_map(|r| {
                    let mut r = r.into_iter().map(Option::unwrap_or_default);
                    Some(ForeignKey {
                        column: r.next()?,
                        schema: None,
                        table: r.next()?,
                        to: r.next()?,
                    })
                })
                .collect();
            tables.push(Table {
                schema: None,
                name,
                columns,
                ordered: !primary_key.is_empty(),
                primary_key,
                foreign_keys,
            });
        }
        Ok(tables)
    }

    pub fn fields(&self, table: &Table) -> Vec<(String, DataType)> {
        super::db::fields_by(table, is_bytes)
    }

    pub fn count(&self, table: &Table) -> Result<u64, ScanError> {
        let n: Option<u64> = self
            .conn
            .borrow_mut()
            .query_first(format!("SELECT count(*) FROM {}", quoted(&table.name)))
            .map_err(|e| self.error(e))?;
        Ok(n.unwrap_or(0))
    }

    /// The order rows are numbered and versioned in ([`super::server::key_order`]).
    fn order(table: &Table) -> String {
        super::server::key_order(table, quoted)
    }

    fn select_list(table: &Table) -> String {
        if table.columns.is_empty() {
            return "NULL".into();
        }
        table
            .columns
            .iter()
            .map(|(c, _)| format!("t.{}", quoted(c)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The single integer primary key a sample's key ranges are drawn on.
    fn integer_key(table: &Table) -> Option<&str> {
        let [key] = table.primary_key.as_slice() else {
            return None;
        };
        let declared = &table.columns.iter().find(|(c, _)| c == key)?.1;
        declared.to_ascii_lowercase().contains("int").then_some(key)
    }

    pub fn read(
        &self,
        table: &Table,
        rows: Rows,
        sink: Sink<'_>,
    ) -> Result<(ReadInfo, u64, String), ScanError> {
        let total = self.count(table)?;
        let mut version = super::server::version_head(table);
        let list = Self::select_list(table);
        let from = format!("{} AS t", quoted(&table.name));
        let fields = self.fields(table);
        let mut batches = Batches::new(&fields, sink, self.location.table_name(None, &table.name));
        let everything = format!("SELECT {list} FROM {from}{}", Self::order(table));
        let (sampling, full) = match rows {
            Rows::Full => {
                self.stream_into(&everything, &mut batches)?;
                ("every row, in key order".to_string(), true)
            }
            Rows::Sample(limit) if total <= limit as u64 => {
                self.stream_into(&everything, &mut batches)?;
                (format!("all {total} rows"), true)
            }
            Rows::Sample(limit) => match Self::integer_key(table) {
                Some(key) => {
                    let key = format!("t.{}", quoted(key));
                    let (lo, hi): (Option<i64>, Option<i64>) = self
                        .conn
                        .borrow_mut()
                        .query_first(format!("SELECT min({key}), max({key}) FROM {from}"))
                        .map_err(|e| self.error(e))?
                        .unwrap_or((None, None));
                    let (lo, hi) = (lo.unwrap_or(0), hi.unwrap_or(0));
                    let per = (limit as i64).div_euclid(SAMPLE_RANGES).max(1);
                    let span = (hi as i128 - lo as i128).max(0);
                    let mut next = lo;
                    for i in 0..SAMPLE_RANGES {
                        let start = (lo as i128 + span * i as i128 / SAMPLE_RANGES as i128) as i64;
                        let start = start.max(next);
                        // The range's last key, so that ranges never overlap.
                        let last = self.stream_range(
                            &format!(
                                "SELECT {key}, {list} FROM {from} WHERE {key} >= {start} ORDER BY {key} LIMIT {per}"
                            ),
                            &mut batches,
                        )?;
                        match last.and_then(|l| l.checked_add(1)) {
                            Some(n) => next = n,
                            None => break,
                        }
                    }
                    (
                        format!(
                            "{SAMPLE_RANGES} key ranges of up to {per} rows, from key {lo} to {hi} of {total}"
                        ),
                        false,
                    )
                }
                None => {
                    self.stream_into(
                        &format!("SELECT {list} FROM {from} ORDER BY RAND(0) LIMIT {limit}"),
                        &mut batches,
                    )?;
                    (
                        format!("{limit} rows drawn with ORDER BY RAND(0) of {total}"),
                        false,
                    )
                }
            },
        };
        let read = batches.finish(&mut version)?;
        let digest = super::server::version_of(version, full, total);
        let info = ReadInfo {
            rows_total: Some(total),
            sampling,
            warnings: Vec::new(),
        };
        Ok((info, read, digest))
    }

    /// Streams a query's rows (the text protocol) into `batches`.
    fn stream_into(&self, sql: &str, batches: &mut Batches<'_>) -> Result<(), ScanError> {
        self.stream_rows(sql, batches, false).map(|_| ())
    }

    /// Streams rows whose first column is an integer key (not a table column); returns the
    /// last key.
    fn stream_range(&self, sql: &str, batches: &mut Batches<'_>) -> Result<Option<i64>, ScanError> {
        self.stream_rows(sql, batches, true)
    }

    fn stream_rows(
        &self,
        sql: &str,
        batches: &mut Batches<'_>,
        key_first: bool,
    ) -> Result<Option<i64>, ScanError> {
        let mut conn = self.conn.borrow_mut();
        let result = conn.query_iter(sql).map_err(|e| self.error(e))?;
        let first = key_first as usize;
        let mut last = None;
        for row in result {
            let row = row.map_err(|e| self.error(e))?;
            if key_first {
                last = match row.as_ref(0) {
                    Some(mysql::Value::Bytes(b)) => {
                        std::str::from_utf8(b).ok().and_then(|s| s.parse().ok())
                    }
                    Some(mysql::Value::Int(n)) => Some(*n),
                    _ => None,
                };
            }
            for i in 0..batches.width() {
                match row.as_ref(first + i) {
                    Some(mysql::Value::Bytes(b)) => batches.value(i, Some(b)),
                    Some(mysql::Value::NULL) | None => batches.value(i, None),
                    Some(other) => {
                        let text = other.as_sql(true);
                        batches.value(i, Some(text.trim_matches('\'').as_bytes()))
                    }
                }
            }
            batches.end_row()?;
        }
        Ok(last)
    }

    /// Deletes, in one transaction, the rows at the given positions (module doc).
    pub fn delete_rows(
        &self,
        work: &[(&Table, &[u64], &str)],
    ) -> Result<Vec<(u64, u64)>, ScanError> {
        let mut conn = self.conn.borrow_mut();
        let mut tx = conn
            .start_transaction(mysql::TxOpts::default())
            .map_err(|e| self.error(e))?;
        let refused = |table: &Table, why: String| ScanError::Read {
            path: PathBuf::from(self.location.table_name(None, &table.name)),
            message: format!("{why}; nothing was deleted"),
        };
        let mut plan = Vec::with_capacity(work.len());
        for (table, positions, version) in work {
            if table.primary_key.is_empty() {
                return Err(refused(
                    table,
                    "a table without a primary key is not erased by position".into(),
                ));
            }
            // The rows read under shared locks: no writer changes them until the commit.
            let mut hash = super::server::version_head(table);
            let fields = self.fields(table);
            let mut keys_at: Vec<Vec<Option<String>>> = Vec::new();
            let wanted: std::collections::BTreeSet<u64> = positions.iter().copied().collect();
            let key_columns: Vec<usize> = table
                .primary_key
                .iter()
                .filter_map(|k| table.columns.iter().position(|(c, _)| c == k))
                .collect();
            let before;
            {
                let mut sink = |_: &datafusion::arrow::array::RecordBatch| Ok(());
                let mut batches = Batches::new(
                    &fields,
                    &mut sink,
                    self.location.table_name(None, &table.name),
                );
                let sql = format!(
                    "SELECT {} FROM {} AS t{} LOCK IN SHARE MODE",
                    Self::select_list(table),
                    quoted(&table.name),
                    Self::order(table)
                );
                let result = tx.query_iter(sql).map_err(|e| self.error(e))?;
                let mut at = 0u64;
                for row in result {
                    let row = row.map_err(|e| self.error(e))?;
                    at += 1;
                    let text = |i: usize| match row.as_ref(i) {
                        Some(mysql::Value::Bytes(b)) => Some(b.clone()),
                        Some(mysql::Value::NULL) | None => None,
                        Some(other) => {
                            Some(other.as_sql(true).trim_matches('\'').as_bytes().to_vec())
                        }
                    };
                    for i in 0..fields.len() {
                        batches.value(i, text(i).as_deref());
                    }
                    batches.end_row()?;
                    if wanted.contains(&at) {
                        keys_at.push(
                            key_columns
                                .iter()
                                .map(|&i| text(i).map(|b| String::from_utf8_lossy(&b).into_owned()))
                                .collect(),
                        );
                    }
                }
                before = batches.finish(&mut hash)?;
            }
            if super::server::version_of(hash, true, before) != *version {
                return Err(refused(
                    table,
                    "it changed since the subject was searched".into(),
                ));
            }
            if keys_at.len() != wanted.len() {
                return Err(refused(
                    table,
                    format!("it has {before} rows, fewer than the positions given"),
                ));
            }
            plan.push((*table, keys_at, before));
        }
        super::db::referring_first(&mut plan, |a, b| a == b);
        for (table, keys, _) in &plan {
            let condition = table
                .primary_key
                .iter()
                .map(|c| format!("{} = ?", quoted(c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let statement = tx
                .prep(format!(
                    "DELETE FROM {} WHERE {condition}",
                    quoted(&table.name)
                ))
                .map_err(|e| self.error(e))?;
            for key in keys {
                let params: Vec<mysql::Value> = key
                    .iter()
                    .map(|v| v.clone().map_or(mysql::Value::NULL, mysql::Value::from))
                    .collect();
                tx.exec_drop(&statement, params)
                    .map_err(|e| self.error(e))?;
                if tx.affected_rows() != 1 {
                    return Err(refused(
                        table,
                        format!(
                            "a row to delete matched {} rows by its key",
                            tx.affected_rows()
                        ),
                    ));
                }
            }
        }
        let mut counts = Vec::with_capacity(work.len());
        for (table, ..) in work {
            let (_, keys, before) = plan
                .iter()
                .find(|(t, ..)| t.name == table.name)
                .expect("every table is planned");
            let after: u64 = tx
                .query_first(format!("SELECT count(*) FROM {}", quoted(&table.name)))
                .map_err(|e| self.error(e))?
                .unwrap_or(0);
            if let Some(why) = super::db::more_removed(*before, after, keys.len()) {
                return Err(refused(table, why));
            }
            counts.push((*before, after));
        }
        tx.commit().map_err(|e| self.error(e))?;
        Ok(counts)
    }
}

/// A failure to connect or read, naming the database (never its password) and the server's
/// message.
fn my_error(location: &Database, e: &mysql::Error) -> ScanError {
    let message = match e {
        mysql::Error::MySqlError(m) => format!("MySQL: {} ({})", m.message, m.code),
        other => format!("MySQL: {other}"),
    };
    ScanError::Read {
        path: PathBuf::from(location.name()),
        message,
    }
}

fn failed(location: &Database, why: &str) -> ScanError {
    ScanError::Read {
        path: PathBuf::from(location.name()),
        message: why.to_string(),
    }
}
