//! `cargo bench --bench subject`: `piitrail subject find` for one person (by e-mail) in a
//! generated table of about 1 GB, as CSV, as Parquet, and as Parquet sorted by e-mail (written
//! by `piitrail run ... ORDER BY email`, so row-group statistics prune) (the benchmark table of
//! `benches/scan.rs`, 5,600,000 rows by default), run as the real binary. Prints the best and
//! median wall time of three runs per file, as MB/s and rows/s.
//! `PIITRAIL_BENCH_ROWS` changes the row count; `PIITRAIL_BENCH_DIR` keeps the files there.

mod common;

use std::io::BufRead;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Runs piitrail in `dir`: its standard output and its peak resident memory (MB).
fn piitrail(dir: &Path, args: &[&str]) -> (String, f64) {
    let (out, peak) = common::output_with_peak(
        Command::new(env!("CARGO_BIN_EXE_piitrail"))
            .current_dir(dir)
            .arg("--quiet")
            .args(args),
    );
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (String::from_utf8(out.stdout).unwrap(), peak)
}

fn main() {
    let Some((rows, dir, _tmp)) = common::workspace(5_600_000) else {
        return; // `cargo bench -- --list`
    };
    let t = Instant::now();
    let (csv, pq) = common::generate(&dir, rows);
    eprintln!("generated {rows} rows in {:.1}s", t.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(dir.join(".piitrail"));
    let _ = std::fs::remove_file(dir.join("piitrail.toml"));
    // Sorted by e-mail, by `piitrail run` in a scratch project, so that the sorted copy is a
    // source of its own here (not linked to bench.parquet by lineage).
    let t = Instant::now();
    let scratch = dir.join("sorting");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::hard_link(&pq, scratch.join("bench.parquet")).unwrap();
    piitrail(&scratch, &["init"]);
    piitrail(
        &scratch,
        &[
            "run",
            "--sql",
            "SELECT * FROM b ORDER BY email",
            "--input",
            "b=bench.parquet",
            "--output",
            "bench_sorted.parquet",
        ],
    );
    std::fs::rename(
        scratch.join("bench_sorted.parquet"),
        dir.join("bench_sorted.parquet"),
    )
    .unwrap();
    std::fs::remove_dir_all(&scratch).unwrap();
    eprintln!("sorted by e-mail in {:.1}s", t.elapsed().as_secs_f64());
    piitrail(&dir, &["init"]);
    piitrail(
        &dir,
        &[
            "scan",
            "bench.csv",
            "bench.parquet",
            "bench_sorted.parquet",
            "--record",
        ],
    );
    let sorted = dir.join("bench_sorted.parquet");
    // The person in the middle of the table.
    let middle = rows / 2;
    let line = std::io::BufReader::new(std::fs::File::open(&csv).unwrap())
        .lines()
        .nth(middle as usize + 1)
        .unwrap()
        .unwrap();
    let email = line.split(',').nth(1).unwrap().to_string();
    println!("subject find, one person by e-mail, {rows} rows, three runs each:");
    for (file, name) in [
        (&csv, "bench.csv"),
        (&pq, "bench.parquet"),
        (&sorted, "bench_sorted.parquet"),
    ] {
        let size = std::fs::metadata(file).unwrap().len() as f64 / 1e6;
        let id = format!("{name}:email={email}");
        let mut peak = 0.0f64;
        let mut times: Vec<f64> = (0..3)
            .map(|_| {
                let t = Instant::now();
                let (out, mb) =
                    piitrail(&dir, &["subject", "find", "--id", &id, "--format", "json"]);
                let secs = t.elapsed().as_secs_f64();
                peak = peak.max(mb);
                let report: serde_json::Value = serde_json::from_str(&out).unwrap();
                assert_eq!(report["artifacts"][0]["rows"], 1, "{out}");
                if name != "bench_sorted.parquet" {
                    assert_eq!(report["artifacts"][0]["locators"][0], middle + 1, "{out}");
                }
                secs
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "  {name:<20} {size:>6.0} MB: best {:.3} s ({:.0} MB/s, {:.2} M rows/s), median {:.3} s, peak {peak:.1} MB",
            times[0],
            size / times[0],
            rows as f64 / times[0] / 1e6,
            times[1]
        );
    }
}
