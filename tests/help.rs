//! Golden files of `--help` for every command: the CLI contract, reviewed like code.

mod common;

use common::Project;

#[test]
fn help_texts() {
    let p = Project::new();
    let commands: &[&[&str]] = &[
        &[],
        &["scan"],
        &["rules"],
        &["rules", "list"],
        &["rules", "explain"],
        &["rules", "test"],
        &["init"],
        &["ledger"],
        &["ledger", "verify"],
        &["ledger", "log"],
        &["ledger", "recover"],
        &["demo"],
        &["run"],
        &["record"],
        &["keygen"],
        &["audit"],
        &["verify"],
        &["lineage"],
    ];
    for cmd in commands {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = p.run(&args).expect(0).stdout();
        let name = if cmd.is_empty() {
            "piitrail".to_string()
        } else {
            cmd.join("_")
        };
        insta::assert_snapshot!(name, out);
    }
}
