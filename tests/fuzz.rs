//! The mutation fuzzer in the default suite (issue 14): 11,000 deterministic cases (fixed
//! seed), 1,000 of each input kind, fed to the real parsers in-process. No panic, no internal
//! error, no raw personal value of the seeds in any message. `cargo bench --bench fuzz` runs
//! the same for a chosen time (`PIITRAIL_FUZZ_SECONDS`, `PIITRAIL_FUZZ_SEED`).

mod common;
#[path = "fuzz/harness.rs"]
mod harness;

use common::Rng;

#[test]
fn mutated_inputs_of_every_kind_never_crash_fool_or_leak() {
    let mut h = harness::Harness::new();
    let mut rng = Rng::new(0x5EED_0014);
    let mut failures = Vec::new();
    let per_kind = 1_000;
    for case in 0..per_kind * harness::KINDS.len() as u64 {
        let kind = harness::KINDS[case as usize % harness::KINDS.len()];
        if let Err(f) = h.case(kind, case, &mut rng) {
            failures.push(harness::keep(&f));
        }
    }
    // The harness's quiet panic hook (the binary's) would swallow the assertions' messages.
    drop(std::panic::take_hook());
    eprintln!("{}", h.tally.table());
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(h.tally.total(), per_kind * harness::KINDS.len() as u64);
    // Every kind had cases that parsed and cases that were refused: the mutations reach both.
    for kind in harness::KINDS {
        let (ok, err) = h.tally.cases[kind];
        assert!(ok > 0 && err > 0, "{kind}: {ok} read, {err} refused");
    }
}
