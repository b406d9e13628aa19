//! `cargo bench --bench scan`: scan throughput on a generated 2,000,000-row, 13-column table.
//!
//! Writes the table as CSV and Parquet into a temporary folder, then measures, each in a fresh
//! child process (so that peak memory is the scan's own): `scan --full` of both files and a
//! sample scan of both. Prints MB/s, rows/s, wall time and peak resident memory (VmHWM).
//! `PIITRAIL_BENCH_ROWS` changes the row count; `PIITRAIL_BENCH_DIR` keeps the files there.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use common::{generate, peak_rss_mb};
use piitrail::rules::{self, Sources};
use piitrail::scan::{self, Mode, Request};

/// Child mode: scan one file once and print "seconds peak_mb tagged_columns".
fn child(path: &str, mode: &str) {
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
    let req = Request {
        paths: vec![path.into()],
        mode,
        rules,
        root: ".".into(),
        show_examples: false,
        digest: true,
        tables: Vec::new(),
    };
    let t = Instant::now();
    let res = scan::scan(&req).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let tagged = res[0].tagged_columns().count();
    println!("{secs} {} {tagged}", peak_rss_mb());
}

fn measure(path: &Path, mode: &str) -> (f64, f64, usize) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("PIITRAIL_BENCH_CHILD", format!("{}|{mode}", path.display()))
        .output()
        .unwrap();
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
    for (label, path) in [("csv", &csv), ("parquet", &pq)] {
        let size = std::fs::metadata(path).unwrap().len() as f64 / 1e6;
        for mode in ["full", "sample"] {
            let runs: Vec<_> = (0..3).map(|_| measure(path, mode)).collect();
            let best =
                runs.iter().cloned().fold(
                    (f64::INFINITY, 0.0, 0),
                    |a, b| if b.0 < a.0 { b } else { a },
                );
            let peak = runs.iter().map(|r| r.1).fold(0.0, f64::max);
            if mode == "full" {
                println!(
                    "scan --full {label:8} {size:8.1} MB  {:6.2} s  {:7.1} MB/s  {:10.0} rows/s  peak {peak:6.1} MB  {} tagged columns",
                    best.0,
                    size / best.0,
                    rows as f64 / best.0,
                    best.2
                );
            } else {
                println!(
                    "scan sample {label:8} {size:8.1} MB  {:6.3} s  peak {peak:6.1} MB  {} tagged columns",
                    best.0, best.2
                );
            }
        }
    }
}
