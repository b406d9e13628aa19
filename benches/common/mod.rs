//! The benchmark table: 13 columns, six of personal data with decoys beside them, generated
//! deterministically (shared by `benches/scan.rs` and `benches/gate.rs`).
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use piitrail::rules::Validator;

pub const COLUMNS: [&str; 13] = [
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

pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub fn ibans() -> Vec<String> {
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

pub fn row(i: u64, rng: &mut Rng, ib: &[String]) -> [String; 13] {
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

/// Writes `rows` rows as `DIR/bench.csv` and `DIR/bench.parquet` (the same rows: one seed).
pub fn generate(dir: &Path, rows: u64) -> (PathBuf, PathBuf) {
    let csv = dir.join("bench.csv");
    let pq = dir.join("bench.parquet");
    let ib = ibans();
    let mut rng = Rng(42);
    let mut w = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(w, "{}", COLUMNS.join(",")).unwrap();
    for i in 0..rows {
        writeln!(w, "{}", row(i, &mut rng, &ib).join(",")).unwrap();
    }
    w.flush().unwrap();
    generate_parquet(&pq, rows);
    (csv, pq)
}

/// Where a benchmark works: `PIITRAIL_BENCH_ROWS` rows (default `default_rows`) in
/// `PIITRAIL_BENCH_DIR` (kept, for profiling) or a temporary folder (the guard removes it).
/// `None` for `cargo bench -- --list`.
pub fn workspace(default_rows: u64) -> Option<(u64, PathBuf, Option<tempfile::TempDir>)> {
    if std::env::args().any(|a| a == "--list") {
        return None;
    }
    let rows: u64 = std::env::var("PIITRAIL_BENCH_ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(default_rows);
    let (dir, tmp) = match std::env::var_os("PIITRAIL_BENCH_DIR") {
        Some(d) => (PathBuf::from(d), None),
        None => {
            let tmp = tempfile::tempdir().unwrap();
            (tmp.path().to_path_buf(), Some(tmp))
        }
    };
    std::fs::create_dir_all(&dir).unwrap();
    Some((rows, dir, tmp))
}

/// Peak resident memory of this process (VmHWM), in MB.
pub fn peak_rss_mb() -> f64 {
    vm_hwm_mb("/proc/self/status")
}

/// Runs `cmd` to its end: its output and its peak resident memory in MB, read from its VmHWM
/// every 5 ms while it runs (the last growth before it exits may be missed).
pub fn output_with_peak(cmd: &mut std::process::Command) -> (std::process::Output, f64) {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let (stop, peak) = (
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
        std::sync::Arc::new(std::sync::Mutex::new(0.0f64)),
    );
    let watch = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mb = vm_hwm_mb(&status);
                if mb.is_finite() {
                    let mut p = peak.lock().unwrap();
                    *p = p.max(mb);
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
    };
    let out = child.wait_with_output().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    watch.join().unwrap();
    let peak = *peak.lock().unwrap();
    (out, peak)
}

fn vm_hwm_mb(status: &str) -> f64 {
    let status = std::fs::read_to_string(status).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Writes `rows` rows as Parquet only (the gate benchmark's 1 GB file).
pub fn generate_parquet(path: &Path, rows: u64) {
    let ib = ibans();
    let mut rng = Rng(42);
    let schema = Arc::new(Schema::new(
        COLUMNS
            .iter()
            .map(|c| Field::new(*c, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let mut pw =
        ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema.clone(), None).unwrap();
    let chunk = 65_536u64;
    let mut i = 0;
    while i < rows {
        let n = chunk.min(rows - i);
        let mut cols: Vec<Vec<String>> = (0..13).map(|_| Vec::with_capacity(n as usize)).collect();
        for k in 0..n {
            for (c, v) in cols.iter_mut().zip(row(i + k, &mut rng, &ib)) {
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
    pw.close().unwrap();
}
