//! PostgreSQL databases as a source: `postgres://USER@HOST:PORT/DB`, each table of each
//! non-system schema an artifact `postgres://HOST:PORT/DB.SCHEMA.TABLE` (the OpenLineage
//! naming, with no user or password).
//!
//! Read with `tokio-postgres` on the process's one runtime ([`super::runtime`]), the rows as
//! PostgreSQL's own text form of each value (`COPY ... TO STDOUT`, the fastest the server sends
//! rows), so that a value is judged as a client would see it printed. `bytea` columns are read
//! as bytes. `datafusion-table-providers`' PostgreSQL provider was not used: it serves a table
//! to DataFusion's SQL, where piitrail needs the catalog's keys, the server's own sampling,
//! row numbering in key order and deletes inside a checked transaction, none of which a
//! `TableProvider` gives.
//!
//! - **Credentials**: the user from the URL, else `PGUSER`, else the login name (`USER`); the
//!   password from the URL, else `PGPASSWORD`, else the password file (`PGPASSFILE`, else
//!   `~/.pgpass`) line matching host, port, database and user as libpq matches it (`*` matches
//!   anything). A password is never printed. The connection is not encrypted: reach a
//!   remote server through a tunnel.
//! - **Sampling**: a table with no more rows than the sample is read whole; a larger one with
//!   `TABLESAMPLE SYSTEM (p) REPEATABLE (0)` (whole pages, so only those pages are read, the
//!   same pages each time while the table is unchanged), p chosen to give about twice the
//!   sample, then the first rows of it; where that gives too few rows (few, full pages),
//!   `TABLESAMPLE BERNOULLI`. The scan says which.
//! - **Full** streams every row in primary-key order (every column's order where there is no
//!   key) with `COPY (SELECT ...) TO STDOUT`: memory stays at one batch.
//! - **Version**: a sha256 over the table's schema, name, columns and declared types, and the
//!   rows in that order (each value as its text form, or NULL), marked `rows-sha256:` after a
//!   full read and `sample-sha256:` after a sample ([`super::db`]).
//! - **Erasure**: one transaction for the database: each table locked against writers, its
//!   version checked, the keys of the rows at the positions found in key order, the rows
//!   deleted by primary key with bound parameters, the counts checked; any failure (a row of
//!   another table still referring to one, a cascade removing more) rolls everything back.

use std::path::PathBuf;

use datafusion::arrow::datatypes::DataType;
use futures::StreamExt;
use tokio_postgres::types::ToSql;

use super::ReadInfo;
use super::db::{ForeignKey, Rows, Sink, Table};
use super::location::Database;
use super::server::Batches;
use crate::source::ScanError;

/// An open connection to one database.
pub struct Db {
    client: tokio_postgres::Client,
    pub location: Database,
}

/// An identifier quoted for SQL (`"` doubled): names are never values, but may hold anything.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn qualified(table: &Table) -> String {
    match &table.schema {
        Some(s) => format!("{}.{}", quoted(s), quoted(&table.name)),
        None => quoted(&table.name),
    }
}

fn is_bytes(declared: &str) -> bool {
    declared == "bytea"
}

impl Db {
    /// Connects (see the module doc for where the user and password come from).
    pub fn open(location: &Database) -> Result<Db, ScanError> {
        let runtime = super::runtime()?;
        let user = location
            .user
            .clone()
            .or_else(|| std::env::var("PGUSER").ok())
            .or_else(|| std::env::var("USER").ok())
            .ok_or_else(|| {
                failed(
                    location,
                    "no user: name one in the URL (postgres://USER@HOST:PORT/DB) or in PGUSER",
                )
            })?;
        let mut config = tokio_postgres::Config::new();
        config
            .host(&location.host)
            .port(location.port)
            .dbname(&location.database)
            .user(&user)
            .application_name("piitrail")
            .connect_timeout(std::time::Duration::from_secs(10));
        if let Some(p) = &location.password {
            config.password(p.expose());
        } else if let Ok(p) = std::env::var("PGPASSWORD") {
            config.password(p);
        } else if let Some(p) = password_file(location, &user) {
            config.password(p);
        }
        let (client, connection) = runtime
            .block_on(config.connect(tokio_postgres::NoTls))
            .map_err(|e| pg_error(location, &e))?;
        // The connection's own task: it ends when the client is dropped.
        runtime.spawn(connection);
        Ok(Db {
            client,
            location: location.clone(),
        })
    }

    pub fn format(&self) -> &'static str {
        "postgres"
    }

    fn error(&self, e: tokio_postgres::Error) -> ScanError {
        pg_error(&self.location, &e)
    }

    fn block_on<T>(&self, f: impl std::future::Future<Output = T>) -> Result<T, ScanError> {
        Ok(super::runtime()?.block_on(f))
    }

    fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, ScanError> {
        self.block_on(self.client.query(sql, params))?
            .map_err(|e| self.error(e))
    }

    /// Every table of every schema but PostgreSQL's own (`pg_catalog`, `information_schema`,
    /// TOAST and temporary schemas), partitions read through their parent.
    pub fn tables(&self) -> Result<Vec<Table>, ScanError> {
        let listed = self.query(
            "SELECT n.nspname, c.relname, c.oid FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' \
             ORDER BY 1, 2",
            &[],
        )?;
        let mut tables = Vec::with_capacity(listed.len());
        for row in listed {
            let (schema, name, oid): (String, String, u32) = (row.get(0), row.get(1), row.get(2));
            let columns = self
                .query(
                    "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute \
                     WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                    &[&oid],
                )?
                .iter()
                .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
                .collect();
            let primary_key: Vec<String> = self
                .query(
                    "SELECT a.attname FROM pg_index i \
                     CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                     WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord",
                    &[&oid],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let foreign_keys = self
                .query(
                    "SELECT a.attname, fn.nspname, fc.relname, fa.attname FROM pg_constraint co \
                     JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1] \
                     JOIN pg_class fc ON fc.oid = co.confrelid \
                     JOIN pg_namespace fn ON fn.oid = fc.relnamespace \
                     JOIN pg_attribute fa ON fa.attrelid = co.confrelid AND fa.attnum = co.confkey[1] \
                     WHERE co.conrelid = $1 AND co.contype = 'f' AND cardinality(co.conkey) = 1 \
                     ORDER BY co.conname",
                    &[&oid],
                )?
                .iter()
                .map(|r| ForeignKey {
                    column: r.get(0),
                    schema: Some(r.get(1)),
                    table: r.get(2),
                    to: r.get(3),
                })
                .collect();
            tables.push(Table {
                schema: Some(schema),
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
        count_on(&self.client, &self.location, table)
    }

    /// The order rows are numbered and versioned in ([`super::server::key_order`]).
    fn order(table: &Table) -> String {
        super::server::key_order(table, quoted)
    }

    /// The columns as the text `COPY` sends (bytes as `\x` hex, decoded on arrival).
    fn select_list(table: &Table) -> String {
        if table.columns.is_empty() {
            return "NULL".into();
        }
        table
            .columns
            .iter()
            .map(|(c, t)| {
                if is_bytes(t) {
                    quoted(c)
                } else {
                    format!("{}::text", quoted(c))
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn read(
        &self,
        table: &Table,
        rows: Rows,
        sink: Sink<'_>,
    ) -> Result<(ReadInfo, u64, String), ScanError> {
        read_on(
            &self.client,
            &self.location,
            table,
            rows,
            &self.fields(table),
            sink,
        )
    }

    pub fn delete_rows(
        &self,
        work: &[(&Table, &[u64], &str)],
    ) -> Result<Vec<(u64, u64)>, ScanError> {
        let runtime = super::runtime()?;
        // A client of its own for the transaction, so that this one stays as it was.
        let mut other = Db::open(&self.location)?;
        let location = self.location.clone();
        let fields: Vec<Vec<(String, DataType)>> =
            work.iter().map(|(t, ..)| self.fields(t)).collect();
        runtime.block_on(async move {
            let tx = other
                .client
                .transaction()
                .await
                .map_err(|e| pg_error(&location, &e))?;
            let counts = delete_in(&tx, &location, work, &fields).await?;
            tx.commit().await.map_err(|e| {
                let mut err = pg_error(&location, &e);
                if let ScanError::Read { message, .. } = &mut err {
                    message.push_str("; nothing was deleted");
                }
                err
            })?;
            Ok(counts)
        })
    }
}

/// The checks and deletes of [`Db::delete_rows`], inside its transaction (dropped without a
/// commit on any error: rolled back).
async fn delete_in(
    tx: &tokio_postgres::Transaction<'_>,
    location: &Database,
    work: &[(&Table, &[u64], &str)],
    fields: &[Vec<(String, DataType)>],
) -> Result<Vec<(u64, u64)>, ScanError> {
    let err = |e: tokio_postgres::Error| pg_error(location, &e);
    let refused = |table: &Table, why: String| ScanError::Read {
        path: PathBuf::from(location.table_name(table.schema.as_deref(), &table.name)),
        message: format!("{why}; nothing was deleted"),
    };
    tx.batch_execute("SET CONSTRAINTS ALL DEFERRED")
        .await
        .map_err(err)?;
    // Writers wait until the end of the transaction: the versions checked stay true.
    for (table, ..) in work {
        tx.batch_execute(&format!(
            "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
            qualified(table)
        ))
        .await
        .map_err(err)?;
    }
    let mut plan = Vec::with_capacity(work.len());
    for ((table, positions, version), fields) in work.iter().zip(fields) {
        if table.primary_key.is_empty() {
            return Err(refused(
                table,
                "a table without a primary key is not erased by position".into(),
            ));
        }
        let now = read_async(tx, location, table, Rows::Full, fields, &mut |_| Ok(())).await?;
        if now.2 != *version {
            return Err(refused(
                table,
                "it changed since the subject was searched".into(),
            ));
        }
        let wanted: std::collections::BTreeSet<u64> = positions.iter().copied().collect();
        let keys = table
            .primary_key
            .iter()
            .map(|c| format!("{}::text", quoted(c)))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = tx
            .query(
                &format!(
                    "SELECT {keys} FROM {} AS t{}",
                    qualified(table),
                    Db::order(table)
                ),
                &[],
            )
            .await
            .map_err(err)?;
        let found: Vec<Vec<Option<String>>> = rows
            .iter()
            .enumerate()
            .filter(|(i, _)| wanted.contains(&(*i as u64 + 1)))
            .map(|(_, r)| (0..table.primary_key.len()).map(|k| r.get(k)).collect())
            .collect();
        if found.len() != wanted.len() {
            return Err(refused(
                table,
                format!("it has {} rows, fewer than the positions given", rows.len()),
            ));
        }
        let before = rows.len() as u64;
        plan.push((*table, found, before));
    }
    super::db::referring_first(&mut plan, |a, b| a == b);
    for (table, keys, _) in &plan {
        // Each key column compared with its text cast back to the column's type: the index
        // on the key is used, and values only ever travel as bound parameters.
        let condition = table
            .primary_key
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let declared = table
                    .columns
                    .iter()
                    .find(|(n, _)| n == c)
                    .map_or("text", |(_, t)| t.as_str());
                format!("{} = CAST(${}::text AS {declared})", quoted(c), i + 1)
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        let statement = tx
            .prepare(&format!(
                "DELETE FROM {} WHERE {condition}",
                qualified(table)
            ))
            .await
            .map_err(err)?;
        for key in keys {
            let params: Vec<&(dyn ToSql + Sync)> =
                key.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            let n = tx.execute(&statement, &params).await.map_err(err)?;
            if n != 1 {
                return Err(refused(
                    table,
                    format!("a row to delete matched {n} rows by its key"),
                ));
            }
        }
    }
    let mut counts = Vec::with_capacity(work.len());
    for (table, ..) in work {
        let (_, keys, before) = plan
            .iter()
            .find(|(t, ..)| t.schema == table.schema && t.name == table.name)
            .expect("every table is planned");
        let after = count_async(tx, location, table).await?;
        if let Some(why) = super::db::more_removed(*before, after, keys.len()) {
            return Err(refused(table, why));
        }
        counts.push((*before, after));
    }
    Ok(counts)
}

fn count_on(
    client: &tokio_postgres::Client,
    location: &Database,
    table: &Table,
) -> Result<u64, ScanError> {
    super::runtime()?.block_on(count_async(client, location, table))
}

async fn count_async(
    client: &impl tokio_postgres::GenericClient,
    location: &Database,
    table: &Table,
) -> Result<u64, ScanError> {
    let row = client
        .query_one(&format!("SELECT count(*) FROM {}", qualified(table)), &[])
        .await
        .map_err(|e| pg_error(location, &e))?;
    Ok(row.get::<_, i64>(0) as u64)
}

fn read_on(
    client: &tokio_postgres::Client,
    location: &Database,
    table: &Table,
    rows: Rows,
    fields: &[(String, DataType)],
    sink: Sink<'_>,
) -> Result<(ReadInfo, u64, String), ScanError> {
    super::runtime()?.block_on(read_async(client, location, table, rows, fields, sink))
}

/// Reads a table (module doc): the rows for `sink`, how they were drawn, how many, and the
/// version.
async fn read_async(
    client: &impl tokio_postgres::GenericClient,
    location: &Database,
    table: &Table,
    rows: Rows,
    fields: &[(String, DataType)],
    sink: Sink<'_>,
) -> Result<(ReadInfo, u64, String), ScanError> {
    let total = count_async(client, location, table).await?;
    let mut version = super::server::version_head(table);
    let list = Db::select_list(table);
    let from = format!("{} AS t", qualified(table));
    let path = location.table_name(table.schema.as_deref(), &table.name);
    let mut batches = Batches::new(fields, sink, path);
    let everything = format!("SELECT {list} FROM {from}{}", Db::order(table));
    let (sampling, full) = match rows {
        Rows::Full => {
            copy(client, location, &everything, &mut batches, None).await?;
            ("every row, in key order".to_string(), true)
        }
        Rows::Sample(limit) if total <= limit as u64 => {
            copy(client, location, &everything, &mut batches, None).await?;
            (format!("all {total} rows"), true)
        }
        Rows::Sample(limit) => {
            // Twice the sample's share of the rows, so that page sampling rarely falls short.
            let percent = (200.0 * limit as f64 / total as f64).clamp(0.0001, 100.0);
            let sql = |method: &str| {
                format!(
                    "SELECT {list} FROM {from} TABLESAMPLE {method} ({percent}) REPEATABLE (0) LIMIT {limit}"
                )
            };
            // Counted first, so that a short page sample is redrawn before any row is used.
            let system = client
                .query_one(
                    &format!(
                        "SELECT count(*) FROM (SELECT 1 FROM {from} TABLESAMPLE SYSTEM ({percent}) REPEATABLE (0) LIMIT {limit}) s"
                    ),
                    &[],
                )
                .await
                .map_err(|e| pg_error(location, &e))?
                .get::<_, i64>(0) as usize;
            if system >= limit.min(total as usize) * 9 / 10 {
                copy(client, location, &sql("SYSTEM"), &mut batches, Some(limit)).await?;
                (
                    format!(
                        "{limit} rows of a page sample (TABLESAMPLE SYSTEM {percent:.4}%, REPEATABLE 0) of {total}"
                    ),
                    false,
                )
            } else {
                copy(
                    client,
                    location,
                    &sql("BERNOULLI"),
                    &mut batches,
                    Some(limit),
                )
                .await?;
                (
                    format!(
                        "{limit} rows of a row sample (TABLESAMPLE BERNOULLI {percent:.4}%, REPEATABLE 0) of {total}"
                    ),
                    false,
                )
            }
        }
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

/// Streams `COPY (query) TO STDOUT` (text format) into `batches`, up to `limit` rows.
async fn copy(
    client: &impl tokio_postgres::GenericClient,
    location: &Database,
    query: &str,
    batches: &mut Batches<'_>,
    limit: Option<usize>,
) -> Result<(), ScanError> {
    let stream = client
        .client()
        .copy_out(&format!("COPY ({query}) TO STDOUT"))
        .await
        .map_err(|e| pg_error(location, &e))?;
    futures::pin_mut!(stream);
    let mut carry: Vec<u8> = Vec::new();
    let mut read = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| pg_error(location, &e))?;
        carry.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(end) = memchr::memchr(b'\n', &carry[start..]) {
            if limit.is_some_and(|l| read >= l) {
                break;
            }
            copy_row(batches, &carry[start..start + end])?;
            read += 1;
            start += end + 1;
        }
        carry.drain(..start);
    }
    if !carry.is_empty() && limit.is_none_or(|l| read < l) {
        copy_row(batches, &carry)?;
    }
    Ok(())
}

/// One line of `COPY`'s text format: its fields, unescaped, `bytea` as bytes.
fn copy_row(batches: &mut Batches<'_>, line: &[u8]) -> Result<(), ScanError> {
    let mut fields = line.split(|&b| b == b'\t');
    if batches.width() == 0 {
        // `SELECT NULL`: one field, no column.
        fields.next();
    }
    for i in 0..batches.width() {
        let Some(raw) = fields.next() else {
            return Err(batches.bad("the server sent fewer fields than columns"));
        };
        let value = unescape(raw);
        match value {
            // bytea's text form: `\x` and hex digits.
            Some(v) if batches.is_binary(i) => match v.strip_prefix(b"\\x").map(hex::decode) {
                Some(Ok(bytes)) => batches.value(i, Some(&bytes)),
                _ => batches.value(i, Some(&v)),
            },
            v => batches.value(i, v.as_deref()),
        }
    }
    batches.end_row()
}

/// One field of `COPY`'s text format, unescaped: `None` for `\N`.
fn unescape(field: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
    if field == b"\\N" {
        return None;
    }
    if memchr::memchr(b'\\', field).is_none() {
        return Some(field.into());
    }
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        if b != b'\\' || i + 1 == field.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let e = field[i + 1];
        i += 2;
        match e {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                let mut n = 1;
                while n < 3 && i < field.len() && (b'0'..=b'7').contains(&field[i]) {
                    v = v * 8 + u32::from(field[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            b'x' if i < field.len() && field[i].is_ascii_hexdigit() => {
                let mut v = 0u8;
                let mut n = 0;
                while n < 2 && i < field.len() && field[i].is_ascii_hexdigit() {
                    v = v * 16 + (field[i] as char).to_digit(16).unwrap_or(0) as u8;
                    i += 1;
                    n += 1;
                }
                out.push(v);
            }
            other => out.push(other),
        }
    }
    Some(out.into())
}

/// A failure to connect or read, naming the database (never its password) and PostgreSQL's
/// message (its primary message only: a `DETAIL` may quote a row's values).
fn pg_error(location: &Database, e: &tokio_postgres::Error) -> ScanError {
    let message = match e.as_db_error() {
        Some(db) => format!("PostgreSQL: {} ({})", db.message(), db.code().code()),
        None => {
            let mut m = format!("PostgreSQL: {e}");
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                m.push_str(&format!(": {s}"));
                source = s.source();
            }
            m
        }
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

/// The password of the first line of the password file that matches, as libpq reads it:
/// `host:port:database:username:password`, `*` matching anything, `\:` and `\\` escaped, lines
/// starting with `#` ignored. A file others can read is ignored, as libpq ignores it.
fn password_file(location: &Database, user: &str) -> Option<String> {
    let path = match std::env::var_os("PGPASSFILE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".pgpass"),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(&path).ok()?.permissions().mode() & 0o077 != 0 {
            return None;
        }
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let port = location.port.to_string();
    let want = [
        location.host.as_str(),
        port.as_str(),
        location.database.as_str(),
        user,
    ];
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| {
            let parts = split_pgpass(line);
            if parts.len() < 5 {
                return None;
            }
            let matches = parts[..4]
                .iter()
                .zip(want)
                .all(|(p, w)| p == "*" || p == w || (w == "127.0.0.1" && p == "localhost"));
            matches.then(|| parts[4..].join(":"))
        })
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    parts.last_mut().expect("one part").push(n);
                }
            }
            ':' => parts.push(String::new()),
            c => parts.last_mut().expect("one part").push(c),
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_fields_unescape_as_postgres_escapes_them() {
        assert_eq!(unescape(b"\\N"), None);
        assert_eq!(unescape(b"plain").as_deref(), Some(&b"plain"[..]));
        assert_eq!(
            unescape(b"a\\tb\\nc\\\\d\\r").as_deref(),
            Some(&b"a\tb\nc\\d\r"[..])
        );
        assert_eq!(unescape(b"\\101\\x42").as_deref(), Some(&b"AB"[..]));
        assert_eq!(unescape(b"\\\\N").as_deref(), Some(&b"\\N"[..]));
    }

    #[test]
    fn password_file_lines_match_as_libpq_matches_them() {
        assert_eq!(
            split_pgpass(r"db\:1:5432:*:me:pa\:ss:word"),
            vec!["db:1", "5432", "*", "me", "pa:ss", "word"]
        );
    }
}
