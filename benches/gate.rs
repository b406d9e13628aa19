//! `cargo bench --bench gate`: `piitrail gate` in sample mode on a generated Parquet file of
//! about 1 GB (the benchmark table of `benches/scan.rs`, 5,600,000 rows by default), run as the
//! real binary, as CI runs it. Prints the best and median wall time of five runs, for the default
//! strict policy (the gate fails: the table's personal data is undeclared) and for a policy that
//! declares every column (the gate passes), and, for scale, the time to sha256 the file.
//! `PIITRAIL_BENCH_ROWS` changes the row count; `PIITRAIL_BENCH_DIR` keeps the files there.

mod common;

use std::process::Command;
use std::time::Instant;

const DECLARED: &str = r#"
[policy]
require_declaration = true

[[dataset]]
path = "bench.parquet"
purpose = "benchmark"
legal_basis = "contract"
columns.customer_id = "user.unique_id"
columns.email = "user.contact.email"
columns.phone = "user.contact.phone_number"
columns.iban = "user.financial.bank_account"
columns.country = "user.contact.address"
columns.ip = "user.device.ip_address"
"#;

/// Five runs: their times, sorted, and the highest peak resident memory (MB).
fn time_gate(dir: &std::path::Path, expect: i32) -> (Vec<f64>, f64) {
    let mut peak = 0.0f64;
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let (out, mb) = common::output_with_peak(
                Command::new(env!("CARGO_BIN_EXE_piitrail"))
                    .current_dir(dir)
                    .args(["--quiet", "gate", "bench.parquet", "--format", "json"]),
            );
            let secs = t.elapsed().as_secs_f64();
            peak = peak.max(mb);
            assert_eq!(
                out.status.code(),
                Some(expect),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            secs
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times, peak)
}

fn main() {
    let Some((rows, dir, _tmp)) = common::workspace(5_600_000) else {
        return; // `cargo bench -- --list`
    };
    let pq = dir.join("bench.parquet");
    let rows_file = dir.join("bench.rows");
    let have = std::fs::read_to_string(&rows_file).ok();
    if !pq.is_file() || have.as_deref() != Some(rows.to_string().as_str()) {
        let t = Instant::now();
        common::generate_parquet(&pq, rows);
        std::fs::write(&rows_file, rows.to_string()).unwrap();
        eprintln!("generated {rows} rows in {:.1}s", t.elapsed().as_secs_f64());
    }
    let size = std::fs::metadata(&pq).unwrap().len() as f64 / 1e6;
    let _ = std::fs::remove_file(dir.join("piitrail.toml"));
    let (strict, strict_peak) = time_gate(&dir, 1);
    std::fs::write(dir.join("piitrail.toml"), DECLARED).unwrap();
    let (declared, declared_peak) = time_gate(&dir, 0);
    std::fs::remove_file(dir.join("piitrail.toml")).unwrap();
    let t = Instant::now();
    piitrail::source::digest_file(&pq).unwrap();
    let hash = t.elapsed().as_secs_f64();
    println!("gate sample, Parquet {size:.0} MB ({rows} rows), five runs each:");
    println!(
        "  strict defaults (fails):    best {:.3} s, median {:.3} s, peak {strict_peak:.1} MB",
        strict[0], strict[2]
    );
    println!(
        "  every column declared:      best {:.3} s, median {:.3} s, peak {declared_peak:.1} MB",
        declared[0], declared[2]
    );
    println!("  for scale, sha256 of the file: {hash:.3} s");
}
