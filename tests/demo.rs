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
        "data/tickets.csv:message (user.health_and_medical, special)",
    ] {
        assert!(out.contains(needle), "demo output lacks {needle}:\n{out}");
    }
    assert!(p.path("shop/data/orders.csv").is_file());

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
    assert_eq!(
        std::fs::read_to_string(p.path("mine/notes.txt")).unwrap(),
        "keep me"
    );
}
