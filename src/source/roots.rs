//! The data roots: where piitrail may open, hash and rewrite data that it was not handed on the
//! command line. They are the project folder (less `.piitrail/`, the evidence) and what
//! `piitrail.toml` adds under `[project] data_roots` (folders, and object-store prefixes or
//! database URLs, kept as written for the sources that open them).
//!
//! A path is inside when, after resolving symbolic links and `..` (of the part that exists;
//! the rest is normalised as written), it lies under one of the roots. Anything that imported
//! lineage (OpenLineage, MLMD) names outside them is an external artifact: recorded by its name,
//! never opened, hashed or rewritten, and listed by an erasure under "by hand".

use std::path::{Component, Path, PathBuf};

/// The places data may be opened and rewritten.
#[derive(Debug, Clone)]
pub struct DataRoots {
    /// Canonical folders.
    folders: Vec<PathBuf>,
    /// Canonical folders inside them that are never data (`.piitrail/`).
    excluded: Vec<PathBuf>,
    /// URL prefixes (`s3://bucket/prefix/`, `postgres://host:5432/db`), as written.
    prefixes: Vec<String>,
}

impl DataRoots {
    /// The project folder plus `extra` (folders relative to the project or absolute, and URL
    /// prefixes).
    pub fn new(project: &Path, extra: &[String]) -> DataRoots {
        let project = resolve(project);
        let mut roots = DataRoots {
            folders: vec![project.clone()],
            excluded: vec![project.join(".piitrail")],
            prefixes: Vec::new(),
        };
        for e in extra {
            if is_url(e) {
                roots
                    .prefixes
                    .push(root_location(e).unwrap_or_else(|_| e.clone()));
            } else {
                roots.folders.push(resolve(&project.join(e)));
            }
        }
        roots
    }

    /// The folders, canonical (for messages).
    pub fn folders(&self) -> &[PathBuf] {
        &self.folders
    }

    /// Whether `path` (a file or folder, existing or not) lies inside the roots once links
    /// and `..` are resolved.
    pub fn contains(&self, path: &Path) -> bool {
        let p = resolve(path);
        self.folders.iter().any(|f| p.starts_with(f))
            && !self.excluded.iter().any(|x| p.starts_with(x))
    }

    /// Whether an artifact name is inside: a URL under one of the prefixes, or a path inside
    /// the folders (relative names are taken from `project`).
    pub fn contains_name(&self, name: &str, project: &Path) -> bool {
        if is_url(name) {
            return self.prefixes.iter().any(|p| under_prefix(name, p));
        }
        self.contains(&project.join(name))
    }
}

/// A name of a place that is no local path: a URL, or a SQLite database (`sqlite:PATH`).
fn is_url(name: &str) -> bool {
    name.contains("://") || name.starts_with("sqlite:")
}

/// A URL data root as the roots compare it: a database as its artifacts are named (no user,
/// the default port written out: `postgres://db:5432/shop`), an object-store prefix as
/// written. A root with a password, or a URL piitrail cannot read, is refused: credentials
/// come from the environment, never from `piitrail.toml`, which is committed.
pub fn root_location(text: &str) -> Result<String, String> {
    use crate::source::location::{Location, mask};
    if !is_url(text) {
        return Ok(text.to_string());
    }
    if text.contains('@') && mask(text) != text {
        return Err(format!(
            "{}: a data root holds no password (it comes from PGPASSWORD, ~/.pgpass, MYSQL_PWD or the environment)",
            mask(text)
        ));
    }
    match Location::parse(text) {
        Ok(Location::Database(db)) => Ok(db.name()),
        Ok(Location::Object { url, .. }) => Ok(url),
        Ok(Location::File(_)) => Ok(text.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether `name` lies under the URL root `prefix`: the prefix itself, or more after a
/// boundary (`/` of a key or path, `.` of a database's schema or table), so that
/// `s3://acme` holds `s3://acme/x.csv` but not `s3://acme-old/x.csv`.
fn under_prefix(name: &str, prefix: &str) -> bool {
    match name.strip_prefix(prefix) {
        None => false,
        Some(rest) => {
            rest.is_empty()
                || prefix.ends_with('/')
                || rest.starts_with('/')
                || rest.starts_with('.')
        }
    }
}

/// `path` with symbolic links and `..` resolved as far as it exists, and the rest normalised
/// lexically (`a/../b` is `b`), made absolute.
pub fn resolve(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    // The longest existing ancestor is canonicalised; what follows it is appended.
    let mut existing = abs.as_path();
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    loop {
        if let Ok(c) = std::fs::canonicalize(existing) {
            let mut out = c;
            for part in rest.iter().rev() {
                match Path::new(part).components().next() {
                    Some(Component::ParentDir) => {
                        out.pop();
                    }
                    Some(Component::CurDir) | None => {}
                    _ => out.push(part),
                }
            }
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            // `..` as the last component has no file name: normalise lexically.
            _ => return lexical(&abs),
        }
    }
}

fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_and_outside_after_links_and_dots() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        let outside = dir.path().join("elsewhere");
        std::fs::create_dir_all(project.join("data")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("x.csv"), "a\n").unwrap();
        let roots = DataRoots::new(&project, &[]);
        assert!(roots.contains(&project.join("data/new.csv")));
        assert!(!roots.contains(&project.join("data/../../elsewhere/x.csv")));
        assert!(!roots.contains(&outside.join("x.csv")));
        assert!(!roots.contains(&project.join(".piitrail/ledger.jsonl")));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&outside, project.join("data/link")).unwrap();
            assert!(!roots.contains(&project.join("data/link/x.csv")));
            let wider = DataRoots::new(&project, &[outside.to_string_lossy().into_owned()]);
            assert!(wider.contains(&project.join("data/link/x.csv")));
        }
        let urls = DataRoots::new(&project, &["s3://bucket/exports/".into()]);
        assert!(urls.contains_name("s3://bucket/exports/a.csv", &project));
        assert!(!urls.contains_name("s3://bucket/other/a.csv", &project));
        assert!(urls.contains_name("data/a.csv", &project));
    }

    /// URL roots hold what lies under them at a boundary, and a database root holds its
    /// tables however the URL spelled the user and port.
    #[test]
    fn url_roots_hold_names_under_them_at_a_boundary() {
        let project = Path::new("/p");
        let roots = DataRoots::new(
            project,
            &[
                "s3://acme".into(),
                "postgres://auditor@db.internal/shop".into(),
                "mysql://db:3307/crm".into(),
                "sqlite:data/app.db".into(),
            ],
        );
        for inside in [
            "s3://acme/x.csv",
            "s3://acme",
            "postgres://db.internal:5432/shop.public.customers",
            "mysql://db:3307/crm.tickets",
            "sqlite:data/app.db.users",
        ] {
            assert!(roots.contains_name(inside, project), "{inside}");
        }
        for outside in [
            "s3://acme-old/x.csv",
            "s3://acm/x.csv",
            "postgres://db.internal:5432/shopping.public.t",
            "postgres://db.internal:6432/shop.public.customers",
            "mysql://db:3306/crm.tickets",
            "sqlite:data/app.db2.users",
        ] {
            assert!(!roots.contains_name(outside, project), "{outside}");
        }
        assert_eq!(
            root_location("postgres://auditor@db.internal/shop").unwrap(),
            "postgres://db.internal:5432/shop"
        );
        let err = root_location("postgres://auditor:hunter2@db/shop").unwrap_err();
        assert!(
            err.contains("auditor:***@db") && !err.contains("hunter2"),
            "{err}"
        );
        assert!(root_location("ftp://host/x").is_err());
        assert_eq!(root_location("exports/").unwrap(), "exports/");
    }
}
