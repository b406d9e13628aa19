//! `cargo bench --bench postgres`: PostgreSQL tables read through piitrail's data layer, on a
//! live server (`eval "$(scripts/pg-server start target/pg)"` starts a throwaway one and sets
//! PIITRAIL_PG_URL, PGUSER and PGPASSWORD).
//!
//! 1. `scan --full` of a 1,000,000-row, 8-column table against `COPY (SELECT ...) TO STDOUT` of
//!    the same table read by a client that does nothing with the rows (the wire's limit: psql
//!    writing to /dev/null), in the same run, interleaved, best of 3.
//! 2. A sample scan of a 30-table schema (20,000 rows each), with the table versions a scan
//!    records (each table read whole once for its `rows-sha256:`), and without them.
//!
//! Prints seconds, MB/s (of the COPY text), rows/s and the ratio to the peer.
//! `PIITRAIL_BENCH_PG_ROWS` changes the big table's row count.

use std::sync::Arc;
use std::time::Instant;

use piitrail::rules::{self, Sources};
use piitrail::scan::{self, Mode, Request};

fn psql(url: &str, sql: &str) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("psql")
        .args([url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("psql (Debian postgresql-client) runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn scan_once(url: &str, tables: &[&str], mode: Mode, digest: bool) -> (f64, usize) {
    let rules = Arc::new(
        rules::load(&Sources {
            builtin: true,
            extra: vec![],
        })
        .unwrap(),
    );
    let req = Request {
        paths: vec![url.into()],
        mode,
        rules,
        root: ".".into(),
        show_examples: false,
        digest,
        tables: tables.iter().map(|t| t.to_string()).collect(),
        progress: Default::default(),
    };
    let t = Instant::now();
    let res = scan::scan(&req).unwrap();
    let secs = t.elapsed().as_secs_f64();
    (secs, res.iter().map(|s| s.tagged_columns().count()).sum())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let server = std::env::var("PIITRAIL_PG_URL").expect(
        "PIITRAIL_PG_URL is not set: start a server with `eval \"$(scripts/pg-server start target/pg)\"`",
    );
    let rows: u64 = std::env::var("PIITRAIL_BENCH_PG_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    for sql in [
        "DROP DATABASE IF EXISTS piitrail_bench WITH (FORCE)",
        "CREATE DATABASE piitrail_bench",
    ] {
        let ok = std::process::Command::new("psql")
            .args([&server, "-X", "-q", "-c", sql])
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let url = format!("{}/piitrail_bench", server.rsplit_once('/').unwrap().0);
    eprintln!("generating {rows} rows and a 30-table schema ...");
    let mut setup = format!(
        "CREATE TABLE people (id bigint PRIMARY KEY, full_name text, email text, phone text,
             birth_date date, iban text, city text, note text);
         INSERT INTO people SELECT i,
             (ARRAY['Anna','Jan','Marie','Luca','Sofia','Pierre'])[1 + i % 6] || ' ' ||
             (ARRAY['Kowalski','Dupont','Rossi','Meyer','Jansen'])[1 + i % 5],
             'user' || i || '@example.org',
             '+49 30 ' || lpad((i::bigint * 7919 % 10000000)::text, 7, '0'),
             date '1950-01-01' + (i % 20000),
             'DE89370400440532013000',
             (ARRAY['Berlin','Paris','Rome','Lisbon'])[1 + i % 4],
             (ARRAY['gift wrap requested','delivered on time','call before delivery'])[1 + i % 3]
           FROM generate_series(1, {rows}) i;
         CREATE SCHEMA wide;"
    );
    for t in 0..30 {
        setup.push_str(&format!(
            "CREATE TABLE wide.t{t:02} (id integer PRIMARY KEY, email text, city text, amount numeric);
             INSERT INTO wide.t{t:02} SELECT i, 'u' || i || '@example.org',
                 (ARRAY['Berlin','Paris'])[1 + i % 2], i % 1000 FROM generate_series(1, 20000) i;"
        ));
    }
    setup.push_str("VACUUM ANALYZE;");
    psql(&url, &setup);

    let copy_sql = "COPY (SELECT id::text, full_name::text, email::text, phone::text, \
                    birth_date::text, iban::text, city::text, note::text FROM people ORDER BY id) TO STDOUT";
    let mut peer = f64::INFINITY;
    let mut ours = f64::INFINITY;
    let mut bytes = 0usize;
    let mut tagged = 0;
    for _ in 0..3 {
        let t = Instant::now();
        bytes = psql(&url, copy_sql).len();
        peer = peer.min(t.elapsed().as_secs_f64());
        let (secs, n) = scan_once(&url, &["public.people"], Mode::Full, true);
        ours = ours.min(secs);
        tagged = n;
    }
    let mb = bytes as f64 / 1e6;
    println!(
        "postgres full scan, {rows} rows ({mb:.0} MB as COPY text), {tagged} columns tagged:\n  \
         piitrail scan --full  {ours:.3} s  {:.0} MB/s  {:.2} M rows/s\n  \
         COPY TO STDOUT (psql) {peer:.3} s  {:.0} MB/s  {:.2} M rows/s\n  \
         ratio (piitrail / COPY): {:.2}",
        mb / ours,
        rows as f64 / ours / 1e6,
        mb / peer,
        rows as f64 / peer / 1e6,
        ours / peer
    );
    let mut with = f64::INFINITY;
    let mut without = f64::INFINITY;
    for _ in 0..3 {
        with = with.min(scan_once(&url, &["wide.*"], Mode::Sample(10_000), true).0);
        without = without.min(scan_once(&url, &["wide.*"], Mode::Sample(10_000), false).0);
    }
    println!(
        "postgres sample scan of 30 tables x 20,000 rows (sample 10,000):\n  \
         with table versions (as `scan` records them) {with:.3} s\n  \
         without versions                             {without:.3} s"
    );
}
