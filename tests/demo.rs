//! `piitrail demo` on the bundled example shop.

mod common;

use common::Project;

#[test]
fn demo_scans_the_example_shop_without_printing_raw_values() {
    let p = Project::new();
    let run = p.run(&["demo", "--out", "shop"]).expect(0);
    let out = run.stdout();
    for needle in [
        "data/customers.csv",
        "user.contact.email",
        "user.financial.bank_account",
        "user.demographic.date_of_birth",
        "special category user.health_and_medical in data/tickets.csv, models/churn.json",
        "pseudonymised email -> email_hash",
        "smallest group k = 1",
        // The audit has the gate's errors (one finding registry, one policy).
        "findings: 3 errors, 1 warnings",
        "error: special-category-without-condition data/tickets.csv: column 'message'",
        "error: forbidden-flow/no-health-in-models models/churn.json",
        "error: small-group out/features.parquet",
        "7. verify: signature valid, all 7 artifacts match the signed report",
        "8. gate data/: the CI check against piitrail.toml (exit code 1)",
        "error[special-category-without-condition] data/tickets.csv: column 'message' holds user.health_and_medical",
        "error[forbidden-flow/no-health-in-models] models/churn.json: user.health_and_medical reaches models/churn.json (model) as trained_on via data/tickets.csv:message",
        "error[small-group] out/features.parquet",
        "gate failed: 3 error(s)",
    ] {
        assert!(out.contains(needle), "demo output lacks {needle}:\n{out}");
    }
    assert!(p.path("shop/data/orders.csv").is_file());
    // The gate the demo shows is the one `piitrail gate` runs in the demo's folder.
    let gate = p
        .run(&["--project", "shop", "gate", "shop/data", "--format", "json"])
        .expect(1)
        .stdout();
    let gate: serde_json::Value = serde_json::from_str(&gate).unwrap();
    let mut rules: Vec<&str> = gate["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap())
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            "forbidden-flow/no-health-in-models",
            "small-group",
            "special-category-without-condition"
        ]
    );
    // The text outputs people read, pinned (digests redacted: they follow the example's bytes).
    let redact = |text: String| {
        regex::Regex::new(r"sha256:[0-9a-f]{12}")
            .unwrap()
            .replace_all(&text, "sha256:[digest]")
            .into_owned()
    };
    let scan = p
        .run(&["--project", "shop", "scan", "shop/data"])
        .expect(0)
        .stdout();
    insta::assert_snapshot!("scan_text", redact(scan));
    let gate = p
        .run(&["--project", "shop", "gate", "shop/data"])
        .expect(1)
        .stdout();
    insta::assert_snapshot!("gate_text", redact(gate));
    assert!(p.path("shop/report/report.html").is_file());
    // The throwaway private key never lands in the project.
    let keys: Vec<_> = std::fs::read_dir(p.path("shop/keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(keys, ["piitrail.pub"]);

    // No raw value of the example's personal data may appear in any output.
    let all = format!("{out}{}", run.stderr());
    let customers = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop/data/customers.csv"),
    )
    .unwrap();
    let mut checked = 0;
    for line in customers.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        for raw in [f[3], f[4], f[7], f[8]] {
            assert!(!all.contains(raw), "demo printed a raw value");
            checked += 1;
        }
    }
    assert!(checked >= 160);

    // A re-run overwrites its own folder; a foreign folder is refused.
    p.run(&["demo", "--out", "shop"]).expect(0);
    p.write("mine/notes.txt", "keep me");
    p.run(&["demo", "--out", "mine"]).expect(2);
    assert_eq!(p.read("mine/notes.txt"), "keep me");
}
