//! OpenLineage: export of what piitrail recorded itself (`export`), and ingest of RunEvents
//! that Spark, Airflow, dbt or any other producer emitted (`ingest`, used by `ingest
//! openlineage` and the HTTP receiver of `serve`).
//!
//! Names follow the OpenLineage naming conventions. An artifact known only from OpenLineage is
//! named `NAMESPACE/NAME` (`s3://bucket/path/file.csv`, `postgres://host:5432/db.schema.table`,
//! `bigquery/project.dataset.table`); a dataset of the `file` namespace is the local path itself,
//! relative to the project root when it lies inside it, so that it is the same artifact that
//! `scan` and `run` know.

mod export;
mod facets;
pub mod ingest;
pub mod receiver;

use std::path::Path;

pub use export::{export, run_id};

/// The OpenLineage (namespace, name) of an artifact path: a local file is namespace `file`
/// and its absolute path; `SCHEME://AUTHORITY/REST` is namespace `SCHEME://AUTHORITY` and
/// name `REST`.
pub fn dataset_name(path: &str, root: &Path) -> (String, String) {
    if let Some((scheme, rest)) = path.split_once("://") {
        let (authority, key) = rest.split_once('/').unwrap_or((rest, ""));
        return (format!("{scheme}://{authority}"), key.to_string());
    }
    let abs = if Path::new(path).is_absolute() {
        Path::new(path).to_path_buf()
    } else {
        std::fs::canonicalize(root)
            .unwrap_or_else(|_| root.to_path_buf())
            .join(path)
    };
    ("file".into(), abs.to_string_lossy().replace('\\', "/"))
}

/// Whether a namespace is the local file system (`file`, `file://HOST`, `file:`).
pub fn is_file_namespace(namespace: &str) -> bool {
    namespace == "file" || namespace.starts_with("file:")
}

/// The artifact path of an OpenLineage dataset: `NAMESPACE/NAME`, or for the `file` namespace
/// the path itself (relative to `root` when inside it). Schemes and hosts are lower-cased
/// (`postgresql` is the `postgres` of the conventions), trailing slashes dropped.
pub fn artifact_path(namespace: &str, name: &str, root: &Path) -> String {
    if is_file_namespace(namespace) {
        let local = Path::new(name.strip_prefix("file://").unwrap_or(name));
        return crate::scan::display_path(&root.join(local), root);
    }
    let namespace = namespace.trim_end_matches('/');
    let namespace = match namespace.split_once("://") {
        Some((scheme, authority)) => {
            let scheme = scheme.to_ascii_lowercase();
            let scheme = if scheme == "postgresql" {
                "postgres".to_string()
            } else {
                scheme
            };
            // Object store buckets and containers are case-sensitive in places; hosts are not.
            let authority = if matches!(scheme.as_str(), "s3" | "gs" | "abfss" | "wasbs") {
                authority.to_string()
            } else {
                authority.to_ascii_lowercase()
            };
            format!("{scheme}://{authority}")
        }
        None => namespace.to_ascii_lowercase(),
    };
    let name = name.trim_start_matches('/');
    if name.is_empty() {
        namespace
    } else {
        format!("{namespace}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_naming_conventions() {
        let root = Path::new("/proj");
        assert_eq!(
            dataset_name("s3://bucket/a/b.parquet", root),
            ("s3://bucket".into(), "a/b.parquet".into())
        );
        assert_eq!(
            dataset_name("/data/x.csv", root),
            ("file".into(), "/data/x.csv".into())
        );
        assert_eq!(dataset_name("d/x.csv", root).1, "/proj/d/x.csv");
    }

    #[test]
    fn artifact_paths_of_the_conventions() {
        let root = Path::new("/proj");
        for (ns, name, want) in [
            ("s3://Bucket", "raw/c.csv", "s3://Bucket/raw/c.csv"),
            ("gs://b", "/x/y.parquet", "gs://b/x/y.parquet"),
            ("hdfs://NameNode:8020", "/w/t", "hdfs://namenode:8020/w/t"),
            (
                "postgresql://db.local:5432",
                "shop.public.customers",
                "postgres://db.local:5432/shop.public.customers",
            ),
            ("bigquery", "p.d.t", "bigquery/p.d.t"),
            (
                "snowflake://org-acct",
                "DB.SCH.T",
                "snowflake://org-acct/DB.SCH.T",
            ),
            (
                "kafka://broker:9092",
                "events",
                "kafka://broker:9092/events",
            ),
            ("file", "/proj/data/c.csv", "data/c.csv"),
            ("file://host", "/elsewhere/c.csv", "/elsewhere/c.csv"),
        ] {
            assert_eq!(artifact_path(ns, name, root), want, "{ns} {name}");
        }
    }
}
