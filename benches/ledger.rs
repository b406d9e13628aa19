//! `cargo bench --bench ledger`: ledger load, verify and graph build for 1,000,000 records,
//! the commands that read the whole ledger (`ledger verify`, `ledger log`, `lineage`, `audit`
//! unsigned and signed, each twice, and `subject find`) run on it, and `lineage` of a leaf in a
//! 100,000-artifact graph.
//!
//! The ledgers are generated with valid hash chains (written in one go, not appended one
//! by one, so generation stays quick) in a temporary folder (`PIITRAIL_BENCH_DIR` keeps them).

mod common;

use std::io::Write;
use std::time::Instant;

use common::{output_with_peak, peak_rss_mb};

use piitrail::ledger::{
    ArtifactRecord, ArtifactRef, Body, ExecutionKind, ExecutionRecord, GENESIS, Ledger, Record,
    Role, record_hash,
};
use piitrail::lineage::graph::{self, Direction, Graph};

fn digest(i: u64) -> String {
    format!("sha256:{i:064x}")
}

/// Writes a ledger: `artifacts` artifact versions chained by one execution each (a linear
/// pipeline, the deepest walk), padded with more executions fanning out from the first
/// artifact until `records` records.
fn write_ledger(dir: &std::path::Path, artifacts: u64, records: u64) -> Ledger {
    std::fs::create_dir_all(dir.join(".piitrail")).unwrap();
    let path = dir.join(".piitrail/ledger.jsonl");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut prev = GENESIS.to_string();
    let mut seq = 0u64;
    let mut emit = |body: Body, w: &mut std::io::BufWriter<std::fs::File>| {
        seq += 1;
        let mut r = Record {
            seq,
            time: "2026-11-26T00:00:00.000Z".into(),
            body,
            prev: prev.clone(),
            hash: String::new(),
        };
        r.hash = record_hash(&serde_json::to_value(&r).unwrap());
        prev = r.hash.clone();
        serde_json::to_writer(&mut *w, &r).unwrap();
        w.write_all(b"\n").unwrap();
    };
    let art = |i: u64| ArtifactRecord {
        path: format!("data/t{i}.parquet"),
        digest: digest(i),
        size: 1000,
        format: "parquet".into(),
        role: Role::Dataset,
        schema: vec![],
        previous: None,
        aliases: Vec::new(),
    };
    let r = |i: u64| ArtifactRef {
        path: format!("data/t{i}.parquet"),
        digest: digest(i),
    };
    for i in 0..artifacts {
        emit(Body::Artifact(art(i)), &mut w);
        if i > 0 {
            let x = ExecutionRecord {
                id: format!("x-{i:016x}"),
                inputs: vec![r(i - 1)],
                outputs: vec![r(i)],
                ..ExecutionRecord::new(ExecutionKind::Sql)
            };
            emit(Body::Execution(x), &mut w);
        }
    }
    let mut k = artifacts;
    let mut n = artifacts + artifacts.saturating_sub(1);
    while n < records {
        n += 2;
        emit(Body::Artifact(art(k)), &mut w);
        let x = ExecutionRecord {
            id: format!("x-{k:016x}"),
            inputs: vec![r(0)],
            outputs: vec![r(k)],
            ..ExecutionRecord::new(ExecutionKind::Export)
        };
        emit(Body::Execution(x), &mut w);
        k += 1;
    }
    w.flush().unwrap();
    Ledger::open(dir).unwrap()
}

/// Child mode: one step over the ledger of the project `dir`; prints "seconds peak_mb count".
fn child(dir: &str, what: &str) {
    let ledger = Ledger::open(std::path::Path::new(dir)).unwrap();
    let t = Instant::now();
    let count = match what {
        "load" => ledger.load().unwrap().len(),
        "graph" => Graph::load(&ledger).unwrap().len(),
        _ => {
            let v = ledger.verify().unwrap();
            assert!(v.problem.is_none());
            v.records as usize
        }
    };
    println!("{} {} {count}", t.elapsed().as_secs_f64(), peak_rss_mb());
}

fn main() {
    if let Ok(spec) = std::env::var("PIITRAIL_BENCH_CHILD") {
        let (dir, what) = spec.split_once('|').unwrap();
        child(dir, what);
        return;
    }
    // `PIITRAIL_BENCH_DIR` keeps the ledgers there (to profile a step on its own).
    let Some((_, dir, _tmp)) = common::workspace(1_000_000) else {
        return;
    };

    let big = dir.join("big");
    let t = Instant::now();
    let ledger = write_ledger(&big, 1000, 1_000_000);
    let size = std::fs::metadata(&ledger.path).unwrap().len() as f64 / 1e6;
    eprintln!(
        "generated 1,000,000 records ({size:.0} MB) in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    // Each in a fresh process: its peak memory is its own.
    let step = |what: &str| {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env("PIITRAIL_BENCH_CHILD", format!("{}|{what}", big.display()))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut it = text.split_whitespace();
        let secs: f64 = it.next().and_then(|x| x.parse().ok()).unwrap_or(f64::NAN);
        let peak: f64 = it.next().and_then(|x| x.parse().ok()).unwrap_or(f64::NAN);
        let count: usize = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        (secs, peak, count)
    };
    let (load, load_peak, _) = step("load");
    let (build, build_peak, artifacts) = step("graph");
    let (verify, verify_peak, _) = step("verify");
    println!(
        "1,000,000 records: every record typed {load:.2} s (peak {load_peak:.0} MB); the lineage graph read and built {build:.2} s (peak {build_peak:.0} MB); verify {verify:.2} s (peak {verify_peak:.0} MB); {artifacts} artifacts"
    );

    // The commands themselves, each timed with its peak memory; the first audit has no
    // previous report to compare with. A key for the signed audits.
    for old in ["report", "signed", "keys"] {
        let _ = std::fs::remove_dir_all(big.join(old));
    }
    const SIGNED: &[&str] = &[
        "audit",
        "--out",
        "signed",
        "--key",
        "keys/piitrail.key",
        "-q",
    ];
    let keygen = std::process::Command::new(env!("CARGO_BIN_EXE_piitrail"))
        .args(["keygen", "--out", "keys"])
        .current_dir(&big)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "keygen failed");
    let openssl = Instant::now();
    let hashed = std::process::Command::new("openssl")
        .args(["dgst", "-sha256"])
        .arg(&ledger.path)
        .output()
        .is_ok_and(|o| o.status.success());
    let openssl = openssl.elapsed().as_secs_f64();
    for args in [
        &["ledger", "verify"][..],
        &["ledger", "log"],
        &["lineage", "data/t500.parquet", "--format", "json"],
        &["audit", "--out", "report", "-q"],
        // Again: now with what changed since the first.
        &["audit", "--out", "report", "-q"],
        // Signed, then again: the previous report is checked against its envelope.
        SIGNED,
        SIGNED,
        &["subject", "find", "--id", "email=nobody@example.org"],
    ] {
        let t = Instant::now();
        let (out, peak) = output_with_peak(
            std::process::Command::new(env!("CARGO_BIN_EXE_piitrail"))
                .args(args)
                .current_dir(&big),
        );
        let secs = t.elapsed().as_secs_f64();
        let code = out.status.code().unwrap_or(-1);
        let ratio = if args[1] == "verify" && hashed {
            format!(
                " = {:.2}x `openssl dgst -sha256` of the ledger ({openssl:.2} s)",
                secs / openssl
            )
        } else {
            String::new()
        };
        println!(
            "piitrail {:<45} {secs:6.2} s  peak {peak:5.0} MB  exit {code}  {} bytes out{ratio}",
            args.join(" "),
            out.stdout.len()
        );
    }

    let chain = dir.join("chain");
    let ledger = write_ledger(&chain, 100_000, 0);
    let records = ledger.load().unwrap();
    let g = Graph::build(records);
    let leaf = "data/t99999.parquet";
    let t = Instant::now();
    let roots = g.resolve(leaf);
    let w = graph::walk(&g, &roots, Direction::Upstream, true);
    let walk = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let text = graph::to_text(&g, &roots, Direction::Upstream);
    let json = serde_json::to_string(&w).unwrap();
    let render = t.elapsed().as_secs_f64();
    println!(
        "lineage of the leaf of a 100,000-artifact chain: walk {walk:.3} s ({} artifacts, {} executions), render text+json {render:.3} s ({} + {} bytes)",
        w.artifacts.len(),
        w.executions.len(),
        text.len(),
        json.len()
    );
}
