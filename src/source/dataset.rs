//! A recorded dataset found again by its artifact name: a data file under the project root,
//! a table of a SQLite database (`sqlite:PATH.TABLE`) or of a PostgreSQL or MySQL database
//! (`postgres://HOST:PORT/DB.SCHEMA.TABLE`, connected to with the credentials of the
//! environment: [`super::postgres`]), or an object of a store (`s3://BUCKET/KEY`, fetched
//! with the environment's credentials: [`super::objects`]). Subject requests search and read datasets through this,
//! whatever holds them.
//!
//! A SQLite name is split at the dot that ends an existing database file: in
//! `sqlite:data/shop.v2.db.customers` the file is `data/shop.v2.db` and the table `customers`
//! (a database file's path may hold dots; the table name comes last, see [`super::location`]).
//! Rows of a table are numbered from 1 in rowid order (key order for a `WITHOUT ROWID` table;
//! primary-key order in PostgreSQL), as a file's rows are in file order.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::db::{Db, Table};
use super::location::{Engine, Location};
use crate::source::ScanError;

#[cfg(feature = "objects")]
thread_local! {
    /// The objects held so far, by URL: a subject request searches an object, versions it
    /// and rewrites it from one fetch, so that the conditional PUT is against the very
    /// version the subject's rows were found in ([`Dataset::let_go`] ends that).
    static HELD: std::cell::RefCell<std::collections::HashMap<String, Rc<super::objects::Held>>> =
        Default::default();
}

/// The object `url` names, held once per process until let go.
#[cfg(feature = "objects")]
fn held(store: super::location::Store, url: &str) -> Result<Option<Dataset>, ScanError> {
    if let Some(o) = HELD.with(|h| h.borrow().get(url).cloned()) {
        return Ok(Some(Dataset::Object(o)));
    }
    let Some(o) = super::objects::hold(store, url)? else {
        return Ok(None);
    };
    let o = Rc::new(o);
    HELD.with(|h| h.borrow_mut().insert(url.to_string(), o.clone()));
    Ok(Some(Dataset::Object(o)))
}

/// A dataset that is here to read.
pub enum Dataset {
    File(PathBuf),
    Table {
        db: Rc<Db>,
        table: Table,
    },
    /// An object of a store inside the data roots, held in a private copy with the version it
    /// was read at ([`super::objects::Held`]): read as its copy, replaced conditionally.
    #[cfg(feature = "objects")]
    Object(Rc<super::objects::Held>),
}

impl Dataset {
    /// The dataset named `name` (an artifact path as the ledger records it) under `root`, or
    /// `None` when nothing by that name is here: a file that is gone, a database table that
    /// is not in its file, a place known only by name (a server's table from imported
    /// lineage, an object store).
    ///
    /// A server's table is never connected to here: only [`Dataset::find_inside`] does, for
    /// one inside the data roots.
    pub fn find(root: &Path, name: &str) -> Result<Option<Dataset>, ScanError> {
        Self::lookup(root, None, name)
    }

    fn lookup(
        root: &Path,
        roots: Option<&crate::source::DataRoots>,
        name: &str,
    ) -> Result<Option<Dataset>, ScanError> {
        if let Some(rest) = name.strip_prefix("sqlite:") {
            return Self::find_table(root, rest);
        }
        match Location::parse(name) {
            Ok(Location::File(_)) => {
                let file = root.join(name);
                Ok(file.is_file().then_some(Dataset::File(file)))
            }
            Ok(Location::Database(location))
                if location.engine != Engine::Sqlite
                    && roots.is_some_and(|r| r.contains_name(name, root)) =>
            {
                Self::find_server_table(location)
            }
            #[cfg(feature = "objects")]
            Ok(Location::Object { store, url })
                if roots.is_some_and(|r| r.contains_name(name, root)) =>
            {
                held(store, &url)
            }
            _ => Ok(None),
        }
    }

    /// The database table an artifact name or a URL names (`sqlite:PATH.TABLE`,
    /// `postgres://[USER@]HOST:PORT/DB.SCHEMA.TABLE`, `mysql://[USER@]HOST:PORT/DB.TABLE`),
    /// connecting to a server as `scan` does: for a table the user named. `None` when the
    /// database has no such table; an error when the name is no table's.
    pub fn table_named(root: &Path, name: &str) -> Result<Option<Dataset>, ScanError> {
        if let Some(rest) = name.strip_prefix("sqlite:") {
            return Self::find_table(root, rest);
        }
        match Location::parse(name)? {
            Location::Database(location) if location.engine != Engine::Sqlite => {
                Self::find_server_table(location)
            }
            other => Err(ScanError::Read {
                path: PathBuf::from(other.to_string()),
                message: "names no database table".into(),
            }),
        }
    }

    /// [`Dataset::find`], for a dataset inside the data roots only: a server's table outside
    /// them is never connected to.
    pub fn find_inside(
        root: &Path,
        roots: &crate::source::DataRoots,
        name: &str,
    ) -> Result<Option<Dataset>, ScanError> {
        Ok(Self::lookup(root, Some(roots), name)?.filter(|d| d.inside(roots, root)))
    }

    /// Whether it lies inside the data roots (its file, or its database's URL).
    pub fn inside(&self, roots: &crate::source::DataRoots, project: &Path) -> bool {
        match self {
            Dataset::File(f) => roots.contains(f),
            Dataset::Table { db, .. } => db.inside(roots, project),
            #[cfg(feature = "objects")]
            Dataset::Object(o) => roots.contains_name(&o.copy.url, project),
        }
    }

    /// `postgres://HOST:PORT/DB.SCHEMA.TABLE` (the database name is what comes before the
    /// schema and the table, the last two dotted parts), `mysql://HOST:PORT/DB.TABLE`.
    fn find_server_table(
        mut location: super::location::Database,
    ) -> Result<Option<Dataset>, ScanError> {
        let with_schema = location.engine == Engine::Postgres;
        let mut parts = location
            .database
            .rsplitn(if with_schema { 3 } else { 2 }, '.');
        let table = parts.next().map(str::to_string);
        let schema = if with_schema {
            match parts.next() {
                Some(s) => Some(s.to_string()),
                None => return Ok(None),
            }
        } else {
            None
        };
        let (Some(table), Some(database)) = (table, parts.next()) else {
            return Ok(None);
        };
        location.database = database.to_string();
        let db = Db::open(&location)?;
        let found = db
            .tables()?
            .into_iter()
            .find(|t| t.name == table && t.schema == schema);
        Ok(found.map(|table| Dataset::Table {
            db: Rc::new(db),
            table,
        }))
    }

    fn find_table(root: &Path, rest: &str) -> Result<Option<Dataset>, ScanError> {
        for (i, _) in rest.rmatch_indices('.') {
            let (path, table) = (&rest[..i], &rest[i + 1..]);
            let file = root.join(path);
            if path.is_empty() || table.is_empty() || !file.is_file() {
                continue;
            }
            let Ok(Location::Database(mut location)) =
                Location::parse(&format!("sqlite:{}", file.display()))
            else {
                continue;
            };
            debug_assert_eq!(location.engine, Engine::Sqlite);
            let mut db = Db::open(&location)?;
            location.database = path.to_string();
            *db.location_mut() = location;
            let tables = db.tables()?;
            let found = tables
                .iter()
                .find(|t| t.name == table)
                .or_else(|| tables.iter().find(|t| t.name.eq_ignore_ascii_case(table)))
                .cloned();
            return Ok(found.map(|table| Dataset::Table {
                db: Rc::new(db),
                table,
            }));
        }
        Ok(None)
    }

    /// Lets an object go: the next lookup fetches it again (after it was rewritten).
    pub fn let_go(name: &str) {
        #[cfg(feature = "objects")]
        HELD.with(|h| h.borrow_mut().remove(name));
        #[cfg(not(feature = "objects"))]
        let _ = name;
    }

    /// The primary key its catalog declares (a database table's; none for a file).
    pub fn primary_key(&self) -> &[String] {
        match self {
            Dataset::Table { table, .. } => &table.primary_key,
            _ => &[],
        }
    }

    /// The file that holds it (a data file, or a SQLite database file); `None` for a
    /// server's table or an object.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Dataset::File(f) => Some(f),
            Dataset::Table { db, .. } => db.file(),
            #[cfg(feature = "objects")]
            Dataset::Object(_) => None,
        }
    }

    /// The local file its rows are read from: the data file, or an object's private copy;
    /// `None` for a database table.
    pub fn readable_file(&self) -> Option<&Path> {
        match self {
            Dataset::File(f) => Some(f),
            Dataset::Table { .. } => None,
            #[cfg(feature = "objects")]
            Dataset::Object(o) => Some(&o.copy.source.path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_name_is_split_where_its_database_file_ends() {
        let dir = tempfile::tempdir().unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("shop.v2.db")).unwrap();
        conn.execute_batch("CREATE TABLE Customers (id INTEGER PRIMARY KEY, email TEXT);")
            .unwrap();
        drop(conn);
        std::fs::write(dir.path().join("a.csv"), "x\n1\n").unwrap();
        let found = Dataset::find(dir.path(), "sqlite:shop.v2.db.customers").unwrap();
        match found {
            Some(Dataset::Table { table, .. }) => assert_eq!(table.name, "Customers"),
            _ => panic!("the table is found"),
        }
        assert!(
            Dataset::find(dir.path(), "sqlite:shop.v2.db.orders")
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            Dataset::find(dir.path(), "a.csv").unwrap(),
            Some(Dataset::File(_))
        ));
        assert!(Dataset::find(dir.path(), "gone.csv").unwrap().is_none());
        assert!(
            Dataset::find(dir.path(), "postgres://db:5432/shop.public.customers")
                .unwrap()
                .is_none()
        );
    }
}
