//! `cargo bench --bench fuzz`: the mutation fuzzer of `tests/fuzz.rs` for a chosen time.
//!
//! `PIITRAIL_FUZZ_SECONDS` (default 60) and `PIITRAIL_FUZZ_SEED` (default the test's seed)
//! choose how long and which cases. Prints cases per kind, panics, internal errors and leaks,
//! and cases per second; each failing input is kept under `target/fuzz-failures/`. Exits 1
//! when any case failed.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/fuzz/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

fn main() {
    let seconds: u64 = std::env::var("PIITRAIL_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("PIITRAIL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_0014);
    let mut h = harness::Harness::new();
    let mut rng = common::Rng::new(seed);
    let budget = Duration::from_secs(seconds);
    let start = Instant::now();
    let mut failures = Vec::new();
    let mut case = 0u64;
    while start.elapsed() < budget {
        let kind = harness::KINDS[case as usize % harness::KINDS.len()];
        if let Err(f) = h.case(kind, case, &mut rng) {
            let line = harness::keep(&f);
            eprintln!("FAIL {line}");
            failures.push(line);
        }
        case += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fuzz: seed {seed}, {secs:.0} s, {case} cases, {:.0} cases/s",
        case as f64 / secs
    );
    print!("{}", h.tally.table());
    if !failures.is_empty() {
        eprintln!("{} failing case(s)", failures.len());
        std::process::exit(1);
    }
}
