//! Work done, as the readers report it while they go: the bytes and rows of the item at hand
//! (a file, a table, an object), for whoever shows it (the command line's bar on a terminal,
//! `cli::progress`). Reporting costs an atomic add per block or batch; nobody has to read it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A shared meter: clones report to and read the same counts.
#[derive(Debug, Clone, Default)]
pub struct Meter(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    bytes: AtomicU64,
    rows: AtomicU64,
    /// 0: unknown.
    total_bytes: AtomicU64,
    total_rows: AtomicU64,
    item: Mutex<Item>,
}

#[derive(Debug, Default)]
struct Item {
    name: String,
    started: Option<Instant>,
}

/// What a meter says at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub item: String,
    pub bytes: u64,
    pub rows: u64,
    pub total_bytes: Option<u64>,
    pub total_rows: Option<u64>,
    /// Since the item began.
    pub elapsed: Duration,
}

impl Meter {
    /// A new item begins: the counts start again from zero.
    pub fn begin(&self, item: impl Into<String>, total_bytes: Option<u64>) {
        let mut at = self.0.item.lock().unwrap_or_else(|e| e.into_inner());
        self.0.bytes.store(0, Ordering::Relaxed);
        self.0.rows.store(0, Ordering::Relaxed);
        self.0
            .total_bytes
            .store(total_bytes.unwrap_or(0), Ordering::Relaxed);
        self.0.total_rows.store(0, Ordering::Relaxed);
        *at = Item {
            name: item.into(),
            started: Some(Instant::now()),
        };
    }

    /// The item is read again from its start (a reader gave it up for another): its counts go
    /// back to zero; its totals and start time stay.
    pub fn restart(&self) {
        self.0.bytes.store(0, Ordering::Relaxed);
        self.0.rows.store(0, Ordering::Relaxed);
    }

    /// The item's rows, once known (a Parquet footer's count).
    pub fn total_rows(&self, rows: u64) {
        self.0.total_rows.store(rows, Ordering::Relaxed);
    }

    /// `bytes` more read (or hashed) and `rows` more matched.
    #[inline]
    pub fn add(&self, bytes: u64, rows: u64) {
        if bytes > 0 {
            self.0.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        if rows > 0 {
            self.0.rows.fetch_add(rows, Ordering::Relaxed);
        }
    }

    pub fn reading(&self) -> Reading {
        let at = self.0.item.lock().unwrap_or_else(|e| e.into_inner());
        let known = |n: u64| (n > 0).then_some(n);
        Reading {
            item: at.name.clone(),
            bytes: self.0.bytes.load(Ordering::Relaxed),
            rows: self.0.rows.load(Ordering::Relaxed),
            total_bytes: known(self.0.total_bytes.load(Ordering::Relaxed)),
            total_rows: known(self.0.total_rows.load(Ordering::Relaxed)),
            elapsed: at.started.map_or(Duration::ZERO, |s| s.elapsed()),
        }
    }
}

impl Reading {
    /// One line for a person: the item, bytes and rows done (of how many, when known), the
    /// throughput, and the time left at that pace (by bytes, else by rows).
    pub fn describe(&self) -> String {
        let mut out = self.item.clone();
        let secs = self.elapsed.as_secs_f64();
        if self.bytes > 0 {
            out.push_str(&format!("  {}", mb(self.bytes)));
            if let Some(total) = self.total_bytes {
                out.push_str(&format!(" of {}", mb(total)));
            }
        }
        if self.rows > 0 {
            out.push_str(&format!("  {}", thousands(self.rows)));
            if let Some(total) = self.total_rows {
                out.push_str(&format!(" of {}", thousands(total)));
            }
            out.push_str(" rows");
        }
        if secs >= 0.2 {
            if self.bytes > 0 {
                let rate = self.bytes as f64 / 1e6 / secs;
                let digits = if rate < 10.0 { 1 } else { 0 };
                out.push_str(&format!("  {rate:.digits$} MB/s"));
            } else if self.rows > 0 {
                out.push_str(&format!(
                    "  {} rows/s",
                    thousands((self.rows as f64 / secs) as u64)
                ));
            }
            // Rows where their count is known (a Parquet footer's): the file's bytes may be
            // hashed faster than its rows are matched.
            let left = match (self.total_bytes, self.total_rows) {
                (_, Some(t)) if self.rows > 0 => Some((t.saturating_sub(self.rows), self.rows)),
                (Some(t), _) if self.bytes > 0 => Some((t.saturating_sub(self.bytes), self.bytes)),
                _ => None,
            };
            if let Some((left, done)) = left {
                let eta = (left as f64 * secs / done as f64).ceil() as u64;
                out.push_str(&format!("  ETA {}", clock(eta)));
            }
        }
        out
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn clock(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{}:{:02} min", secs / 60, secs % 60),
        _ => format!("{}:{:02} h", secs / 3600, secs / 60 % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(
        bytes: u64,
        rows: u64,
        total_bytes: Option<u64>,
        total_rows: Option<u64>,
    ) -> Reading {
        Reading {
            item: "data/customers.csv".into(),
            bytes,
            rows,
            total_bytes,
            total_rows,
            elapsed: Duration::from_secs(2),
        }
    }

    /// Bytes and rows of how many, the pace, and the time left by rows where their count is
    /// known, else by bytes.
    #[test]
    fn a_reading_says_what_is_done_how_fast_and_how_long_is_left() {
        assert_eq!(
            reading(100_000_000, 1_234_567, Some(404_000_000), None).describe(),
            "data/customers.csv  100.0 MB of 404.0 MB  1,234,567 rows  50 MB/s  ETA 7 s"
        );
        assert_eq!(
            reading(0, 500_000, None, Some(2_000_000)).describe(),
            "data/customers.csv  500,000 of 2,000,000 rows  250,000 rows/s  ETA 6 s"
        );
        assert_eq!(
            reading(1_000_000, 0, Some(1_000_000_000), None).describe(),
            "data/customers.csv  1.0 MB of 1000.0 MB  0.5 MB/s  ETA 33:18 min"
        );
        assert_eq!(
            reading(300_000_000, 500_000, Some(400_000_000), Some(2_000_000)).describe(),
            "data/customers.csv  300.0 MB of 400.0 MB  500,000 of 2,000,000 rows  150 MB/s  ETA 6 s"
        );
        assert_eq!(reading(0, 0, None, None).describe(), "data/customers.csv");
    }

    /// A new item starts from zero; clones count together.
    #[test]
    fn clones_count_together_and_an_item_starts_from_zero() {
        let m = Meter::default();
        m.begin("a.csv", Some(10));
        let n = m.clone();
        n.add(4, 2);
        m.add(1, 0);
        let r = m.reading();
        assert_eq!((r.bytes, r.rows, r.total_bytes), (5, 2, Some(10)));
        m.begin("b.parquet", None);
        m.total_rows(7);
        let r = n.reading();
        assert_eq!((r.item.as_str(), r.bytes, r.rows), ("b.parquet", 0, 0));
        assert_eq!((r.total_bytes, r.total_rows), (None, Some(7)));
    }
}
