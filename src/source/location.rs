//! Where data lives, as named on the command line, in `piitrail.toml` or in ingested lineage:
//! a local path, an object store URL or a database URL.
//!
//! A location is parsed once, at the edge, into [`Location`]; a password in a database URL is
//! kept as a [`Secret`], which prints as `***` everywhere (`Display`, `Debug`, errors), so that
//! no output, log, ledger record or report ever holds it. Artifact names follow the
//! OpenLineage naming conventions, so that what piitrail scans and what it ingests meet:
//!
//! | location | artifact name of a table |
//! |---|---|
//! | `postgres://USER:PASS@HOST:PORT/DB` | `postgres://HOST:PORT/DB.SCHEMA.TABLE` |
//! | `mysql://USER@HOST:PORT/DB` | `mysql://HOST:PORT/DB.TABLE` |
//! | `sqlite:PATH` | `sqlite:PATH.TABLE` (the table name last, after the file's path) |
//!
//! Object stores keep their URL (`s3://bucket/key`); a local path stays a path.

use std::fmt;
use std::path::PathBuf;

/// A password from a URL: never printed, wiped when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The password itself, for the driver that connects; nothing else should ask.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// The object stores `object_store` reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    S3,
    Gcs,
    Azure,
    Https,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    MySql,
    Sqlite,
}

impl Engine {
    fn default_port(self) -> u16 {
        match self {
            Engine::Postgres => 5432,
            Engine::MySql => 3306,
            Engine::Sqlite => 0,
        }
    }

    fn scheme(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::MySql => "mysql",
            Engine::Sqlite => "sqlite",
        }
    }
}

/// A database server's address, or a SQLite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub engine: Engine,
    /// Empty for SQLite.
    pub host: String,
    pub port: u16,
    /// The database name; for SQLite, the file's path.
    pub database: String,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

impl Database {
    /// The database as the OpenLineage naming conventions name it, with no credentials:
    /// `postgres://HOST:PORT/DB`, `mysql://HOST:PORT/DB`, `sqlite:PATH`.
    pub fn name(&self) -> String {
        match self.engine {
            Engine::Sqlite => format!("sqlite:{}", self.database),
            e => format!(
                "{}://{}:{}/{}",
                e.scheme(),
                self.host,
                self.port,
                self.database
            ),
        }
    }

    /// A table's artifact name (`schema` is PostgreSQL's; MySQL and SQLite have none).
    pub fn table_name(&self, schema: Option<&str>, table: &str) -> String {
        match (self.engine, schema) {
            (Engine::Postgres, Some(schema)) => format!("{}.{schema}.{table}", self.name()),
            _ => format!("{}.{table}", self.name()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    /// An object or a prefix of a store: the URL as given (object store URLs carry no
    /// credentials; those come from the environment).
    Object {
        store: Store,
        url: String,
    },
    Database(Database),
}

/// Whether an artifact name is an object store URL (`s3://`, `gs://`, `az://`, `https://`).
pub fn is_object(name: &str) -> bool {
    matches!(Location::parse(name), Ok(Location::Object { .. }))
}

/// A location that cannot be read as one: the text is given back with any password masked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {reason}")]
pub struct BadLocation {
    pub location: String,
    pub reason: String,
}

impl Location {
    /// Reads a location. Anything without a known scheme is a local path (a Windows drive
    /// letter or a file named `x:y` stays a path: only the schemes below are URLs).
    pub fn parse(text: &str) -> Result<Location, BadLocation> {
        let bad = |reason: &str| BadLocation {
            location: mask(text),
            reason: reason.to_string(),
        };
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(bad("a SQLite location names its file: sqlite:PATH"));
            }
            return Ok(Location::Database(Database {
                engine: Engine::Sqlite,
                host: String::new(),
                port: 0,
                database: path.to_string(),
                user: None,
                password: None,
            }));
        }
        let Some((scheme, _)) = text.split_once("://") else {
            return Ok(Location::File(PathBuf::from(text)));
        };
        let store = match scheme.to_ascii_lowercase().as_str() {
            "s3" | "s3a" => Some(Store::S3),
            "gs" => Some(Store::Gcs),
            "az" | "abfs" | "abfss" | "adl" => Some(Store::Azure),
            "https" | "http" => Some(Store::Https),
            "postgres" | "postgresql" | "mysql" | "mariadb" => None,
            _ => {
                return Err(bad(&format!(
                    "unknown scheme {scheme:?} (known: s3, gs, az, abfss, https, postgres, mysql, sqlite)"
                )));
            }
        };
        let url = url::Url::parse(text).map_err(|e| bad(&format!("not a URL: {e}")))?;
        if let Some(store) = store {
            // (A user part is no secret: `abfss://container@account...` names a container.)
            if url.password().is_some() {
                return Err(bad(
                    "an object store URL carries no credentials: they come from the environment (AWS_ACCESS_KEY_ID, ...)",
                ));
            }
            if url.host_str().is_none_or(str::is_empty) {
                return Err(bad("names no bucket or host"));
            }
            return Ok(Location::Object {
                store,
                url: text.to_string(),
            });
        }
        let engine = if scheme.starts_with("postgres") {
            Engine::Postgres
        } else {
            Engine::MySql
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("names no host"))?
            .to_string();
        let database = url.path().trim_start_matches('/');
        if database.is_empty() || database.contains('/') {
            return Err(bad(
                "names one database after the host: SCHEME://USER@HOST:PORT/DB",
            ));
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| bad("the user or password is not UTF-8 once decoded"))
        };
        let user = match url.username() {
            "" => None,
            u => Some(decode(u)?),
        };
        let password = url.password().map(decode).transpose()?.map(Secret);
        Ok(Location::Database(Database {
            engine,
            port: url.port().unwrap_or(engine.default_port()),
            host,
            database: decode(database)?,
            user,
            password,
        }))
    }

    /// What kind of place this is, in the plural, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Location::File(_) => "local files",
            Location::Object { .. } => "object stores",
            Location::Database(_) => "databases",
        }
    }
}

impl fmt::Display for Location {
    /// As given, with no password: what outputs and errors show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Object { url, .. } => f.write_str(url),
            Location::Database(db) => f.write_str(&db.name()),
        }
    }
}

/// `text` with the password of a `scheme://user:password@host` URL replaced by `***`: for
/// locations echoed before (or instead of) being parsed.
pub fn mask(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_string();
    };
    // The userinfo ends at the last `@` before the path.
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let Some(at) = authority.rfind('@') else {
        return text.to_string();
    };
    let userinfo = &authority[..at];
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(text: &str) -> Database {
        match Location::parse(text).unwrap() {
            Location::Database(d) => d,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn database_urls_name_tables_as_openlineage_does() {
        let pg = db("postgres://auditor:s%40cret@db.internal:6432/shop");
        assert_eq!(pg.engine, Engine::Postgres);
        assert_eq!(pg.user.as_deref(), Some("auditor"));
        assert_eq!(pg.password.as_ref().map(Secret::expose), Some("s@cret"));
        assert_eq!(pg.name(), "postgres://db.internal:6432/shop");
        assert_eq!(
            pg.table_name(Some("public"), "customers"),
            "postgres://db.internal:6432/shop.public.customers"
        );
        let pg = db("postgresql://db.internal/shop");
        assert_eq!((pg.port, pg.user, pg.password), (5432, None, None));
        let my = db("mysql://app@127.0.0.1/crm");
        assert_eq!(
            my.table_name(None, "tickets"),
            "mysql://127.0.0.1:3306/crm.tickets"
        );
        assert_eq!(db("mariadb://h:3307/crm").name(), "mysql://h:3307/crm");
        let lite = db("sqlite:data/app.db");
        assert_eq!(lite.table_name(None, "users"), "sqlite:data/app.db.users");
        assert_eq!(db("sqlite:///var/app.db").database, "/var/app.db");
    }

    #[test]
    fn a_password_never_prints() {
        let text = "postgres://auditor:hunter2@db:5432/shop";
        let loc = Location::parse(text).unwrap();
        for shown in [loc.to_string(), format!("{loc:?}"), mask(text)] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        assert_eq!(mask(text), "postgres://auditor:***@db:5432/shop");
        assert_eq!(mask("s3://bucket/a@b.csv"), "s3://bucket/a@b.csv");
        let err = Location::parse("postgres://auditor:hunter2@db:5432/").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("auditor:***@db"), "{err}");
    }

    #[test]
    fn object_stores_and_paths() {
        assert_eq!(
            Location::parse("s3://acme-exports/2026/").unwrap(),
            Location::Object {
                store: Store::S3,
                url: "s3://acme-exports/2026/".into()
            }
        );
        for (url, store) in [
            ("gs://b/k.parquet", Store::Gcs),
            ("abfss://c@acct.dfs.core.windows.net/p", Store::Azure),
            ("az://container/p", Store::Azure),
            ("https://example.org/x.csv", Store::Https),
        ] {
            assert!(
                matches!(Location::parse(url), Ok(Location::Object { store: s, .. }) if s == store),
                "{url}"
            );
        }
        for path in ["exports/customers.csv", "C:data.csv"] {
            assert!(
                matches!(Location::parse(path), Ok(Location::File(_))),
                "{path}"
            );
        }
        for bad in [
            "ftp://host/x",
            "s3://key:secret@bucket/x",
            "postgres://host",
            "postgres:///shop",
            "sqlite:",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }
}
