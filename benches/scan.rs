//! `cargo bench --bench scan`: scan throughput on a generated 2,000,000-row, 13-column table.
//!
//! Writes the table as CSV and Parquet into a temporary folder, then measures, each in a fresh
//! child process (so that peak memory is the scan's own): `scan --full` of both files and a
//! sample scan of both. Prints MB/s, rows/s, wall time and peak resident memory (VmHWM).
//! `PIITRAIL_BENCH_ROWS` changes the row count; `PIITRAIL_BENCH_DIR` keeps the files there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use piitrail::rules::{self, Sources, Validator};
use piitrail::scan::{self, Mode, Request};

const COLUMNS: [&str; 13] = [
    "customer_id",
    "email",
    "phone",
    "iban",
    "created_at",
    "amount",
    "sku",
    "country",
    "note",
    "order_ref",
    "status",
    "checksum",
    "ip",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn ibans() -> Vec<String> {
    // 64 valid IBANs, reused: generation is not what is measured.
    let mut out = Vec::new();
    let mut rng = Rng(7);
    while out.len() < 64 {
        let bban = format!("{:018}", rng.next() % 1_000_000_000_000_000_000);
        for check in 0..100 {
            let s = format!("DE{check:02}{bban}");
            if Validator::Iban.check(&s) {
                out.push(s);
                break;
            }
        }
    }
    out
}

fn row(i: u64, rng: &mut Rng, ib: &[String]) -> [String; 13] {
    [
        format!("C{:07}", i),
        format!(
            "user{}.{}@example.{}",
            i,
            rng.below(1000),
            ["com", "de", "fr"][rng.below(3) as usize]
        ),
        format!("+49 30 {:07}", rng.below(10_000_000)),
        ib[rng.below(64) as usize].clone(),
        format!(
            "2024-{:02}-{:02}T{:02}:{:02}:00Z",
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(24),
            rng.below(60)
        ),
        format!("{}.{:02}", rng.below(5000), rng.below(100)),
        format!("SKU-{:05}", rng.below(100_000)),
        ["DE", "FR", "IT", "ES", "NL", "PL"][rng.below(6) as usize].to_string(),
        [
            "delivered on time",
            "customer asked about the invoice",
            "",
            "gift wrap requested",
        ][rng.below(4) as usize]
            .to_string(),
        format!("ORD-{:09}", rng.below(1_000_000_000)),
        ["open", "shipped", "returned"][rng.below(3) as usize].to_string(),
        format!("{:016x}{:016x}", rng.next(), rng.next()),
        format!(
            "{}.{}.{}.{}",
            1 + rng.below(223),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        ),
    ]
}

fn generate(dir: &Path, rows: u64) -> (PathBuf, PathBuf) {
    let csv = dir.join("bench.csv");
    let pq = dir.join("bench.parquet");
    let ib = ibans();
    let mut rng = Rng(42);
    let mut w = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(w, "{}", COLUMNS.join(",")).unwrap();
    let schema = Arc::new(Schema::new(
        COLUMNS
            .iter()
            .map(|c| Field::new(*c, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let mut pw =
        ArrowWriter::try_new(std::fs::File::create(&pq).unwrap(), schema.clone(), None).unwrap();
    let chunk = 65_536u64;
    let mut i = 0;
    while i < rows {
        let n = chunk.min(rows - i);
        let mut cols: Vec<Vec<String>> = (0..13).map(|_| Vec::with_capacity(n as usize)).collect();
        for k in 0..n {
            let r = row(i + k, &mut rng, &ib);
            writeln!(w, "{}", r.join(",")).unwrap();
            for (c, v) in cols.iter_mut().zip(r) {
                c.push(v);
            }
        }
        let arrays: Vec<ArrayRef> = cols
            .into_iter()
            .map(|c| Arc::new(StringArray::from(c)) as ArrayRef)
            .collect();
        pw.write(&RecordBatch::try_new(schema.clone(), arrays).unwrap())
            .unwrap();
        i += n;
    }
    w.flush().unwrap();
    pw.close().unwrap();
    (csv, pq)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

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
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list`
    }
    let rows: u64 = std::env::var("PIITRAIL_BENCH_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(2_000_000);
    // PIITRAIL_BENCH_DIR keeps the generated files (for profiling); default: a temporary folder.
    let tmp = tempfile::tempdir().unwrap();
    let dir =
        std::env::var_os("PIITRAIL_BENCH_DIR").map_or(tmp.path().to_path_buf(), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
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
