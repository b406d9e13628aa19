//! `cargo bench --bench scan`: scan throughput on a generated 2,000,000-row, 13-column table.
//!
//! Writes the table as CSV and Parquet into a temporary folder, then measures, each in a fresh
//! child process (so that peak memory is the scan's own), best of three:
//! - `scan --full` of both files, and beside it what a user would write instead: DataFusion's
//!   own SQL counting five `regexp_like` patterns over every text column, in the same run;
//!   the ratio says how many times faster piitrail is;
//! - a sample scan of both, hashing the file, and again with its digest in the project's digest
//!   cache (`.piitrail/digests.json`), against `openssl dgst -sha256` of the file.
//!
//! Prints MB/s, rows/s, wall time and peak resident memory (VmHWM). `PIITRAIL_BENCH_ROWS`
//! changes the row count; `PIITRAIL_BENCH_DIR` keeps the files there.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use common::{generate, peak_rss_mb};
use piitrail::rules::{self, Sources};
use piitrail::scan::{self, Mode, Request};

/// The patterns of the SQL baseline: what a user would count without piitrail.
const PATTERNS: [&str; 5] = [
    r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
    r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$",
    r"^\+?[0-9][0-9 ()./-]{6,}[0-9]$",
    r"^([0-9]{1,3}\.){3}[0-9]{1,3}$",
    r"^[0-9]{13,19}$",
];

/// Child mode: scan one file once (or run the SQL baseline over it) and print
/// "seconds peak_mb tagged_columns".
fn child(path: &str, mode: &str) {
    if mode == "sql" {
        let t = Instant::now();
        let matched = sql_baseline(path);
        let secs = t.elapsed().as_secs_f64();
        println!("{secs} {} {matched}", peak_rss_mb());
        return;
    }
    let rules = Arc::new(
        rules::load(&Sources {
            builtin: true,
            extra: vec![],
        })
        .unwrap(),
    );
    let mode = if mode == "full" {
        Mode::Full
    } else {
        Mode::Sample(10_000)
    };
    // The project: the file's folder for the digest cache runs, else here.
    let root = std::env::var_os("PIITRAIL_BENCH_ROOT").map_or(".".into(), Into::into);
    let req = Request {
        paths: vec![path.into()],
        mode,
        rules,
        root,
        show_examples: false,
        digest: true,
        tables: Vec::new(),
        progress: Default::default(),
    };
    let t = Instant::now();
    let res = scan::scan(&req).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let tagged = res[0].tagged_columns().count();
    piitrail::source::digests::save_all();
    println!("{secs} {} {tagged}", peak_rss_mb());
}

/// DataFusion SQL over the file: per text column, how many values match each pattern. Returns
/// the number of (column, pattern) pairs with a match.
fn sql_baseline(path: &str) -> usize {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{DataType, Int64Type};
    use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};
    let runtime = piitrail::source::runtime().unwrap();
    runtime.block_on(async {
        let ctx = SessionContext::new();
        if path.ends_with(".csv") {
            ctx.register_csv("t", path, CsvReadOptions::new())
                .await
                .unwrap();
        } else {
            ctx.register_parquet("t", path, ParquetReadOptions::default())
                .await
                .unwrap();
        }
        let schema = ctx.table("t").await.unwrap().schema().clone();
        let mut sums = Vec::new();
        for f in schema.fields() {
            if matches!(
                f.data_type(),
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
            ) {
                for p in PATTERNS {
                    sums.push(format!(
                        "sum(CASE WHEN regexp_like(\"{}\", '{p}') THEN 1 ELSE 0 END)",
                        f.name()
                    ));
                }
            }
        }
        let sql = format!("SELECT {} FROM t", sums.join(", "));
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let row = &batches[0];
        (0..row.num_columns())
            .filter(|&i| {
                let c = row.column(i).as_primitive::<Int64Type>();
                !c.is_null(0) && c.value(0) > 0
            })
            .count()
    })
}

/// Best of three runs of `openssl dgst -sha256 FILE`, in seconds; `None` without openssl.
fn openssl_dgst(path: &std::path::Path) -> Option<f64> {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            let ok = std::process::Command::new("openssl")
                .args(["dgst", "-sha256"])
                .arg(path)
                .output()
                .is_ok_and(|o| o.status.success());
            ok.then(|| t.elapsed().as_secs_f64())
        })
        .collect::<Option<Vec<f64>>>()
        .map(|v| v.into_iter().fold(f64::INFINITY, f64::min))
}

fn measure(path: &Path, mode: &str, root: Option<&Path>) -> (f64, f64, usize) {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child.env("PIITRAIL_BENCH_CHILD", format!("{}|{mode}", path.display()));
    if let Some(root) = root {
        child.env("PIITRAIL_BENCH_ROOT", root);
    }
    let out = child.output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    let mut it = s.split_whitespace();
    let secs = it.next().and_then(|x| x.parse().ok()).unwrap_or(f64::NAN);
    let mb = it.next().and_then(|x| x.parse().ok()).unwrap_or(f64::NAN);
    let tagged = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    (secs, mb, tagged)
}

fn main() {
    if let Ok(spec) = std::env::var("PIITRAIL_BENCH_CHILD") {
        let (path, mode) = spec.split_once('|').unwrap();
        child(path, mode);
        return;
    }
    let Some((rows, dir, _tmp)) = common::workspace(2_000_000) else {
        return; // `cargo bench -- --list`
    };
    let t = Instant::now();
    let (csv, pq) = generate(&dir, rows);
    eprintln!("generated {rows} rows in {:.1}s", t.elapsed().as_secs_f64());
    // No project here: every sample hashes its file. The project beside it has a digest cache.
    let (plain, project) = (dir.join("plain"), dir.join("project"));
    std::fs::create_dir_all(&plain).unwrap();
    std::fs::create_dir_all(project.join(".piitrail")).unwrap();
    let best = |runs: &[(f64, f64, usize)]| {
        let b = runs.iter().cloned().fold(
            (f64::INFINITY, 0.0, 0),
            |a, b| if b.0 < a.0 { b } else { a },
        );
        (b.0, runs.iter().map(|r| r.1).fold(0.0, f64::max), b.2)
    };
    for (label, path) in [("csv", &csv), ("parquet", &pq)] {
        let size = std::fs::metadata(path).unwrap().len() as f64 / 1e6;
        // piitrail and the SQL baseline in turns, so that both meet the same machine.
        let (mut ours, mut sql) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            ours.push(measure(path, "full", Some(&plain)));
            sql.push(measure(path, "sql", Some(&plain)));
        }
        let (ours, sql) = (best(&ours), best(&sql));
        println!(
            "scan --full {label:8} {size:8.1} MB  {:6.2} s  {:7.1} MB/s  {:10.0} rows/s  peak {:6.1} MB  {} tagged columns",
            ours.0,
            size / ours.0,
            rows as f64 / ours.0,
            ours.1,
            ours.2
        );
        println!(
            "SQL 5 regexp_like {label:8}      {:6.2} s  {:7.1} MB/s  {:10.0} rows/s  peak {:6.1} MB  piitrail {:.2}x faster",
            sql.0,
            size / sql.0,
            rows as f64 / sql.0,
            sql.1,
            sql.0 / ours.0
        );
        let hashed = best(
            &(0..3)
                .map(|_| measure(path, "sample", Some(&plain)))
                .collect::<Vec<_>>(),
        );
        println!(
            "scan sample {label:8} {size:8.1} MB  {:6.3} s  peak {:6.1} MB  {} tagged columns",
            hashed.0, hashed.1, hashed.2
        );
        // The first run hashes the file and keeps its digest; the next ones reuse it.
        measure(path, "sample", Some(&project));
        let cached = best(
            &(0..3)
                .map(|_| measure(path, "sample", Some(&project)))
                .collect::<Vec<_>>(),
        );
        let dgst = openssl_dgst(path);
        println!(
            "scan sample {label:8} digest cached  {:6.3} s  peak {:6.1} MB  {}",
            cached.0,
            cached.1,
            dgst.map_or("(no openssl)".into(), |d| format!(
                "= {:.2}x `openssl dgst -sha256` ({d:.3} s)",
                cached.0 / d
            ))
        );
    }
}
