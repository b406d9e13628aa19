//! One rule set per project (issue 19): `[scan] rules` of piitrail.toml (and
//! `no_builtin_rules`) is the rule set of every command, so that a project with its own
//! categories validates and scans the same under `scan`, `gate`, `audit`, `subject`, `ingest`,
//! `lineage` and `rules`; `--rules` adds to it.

mod common;

use common::Project;

const RULE: &str = "[[rule]]\nid = \"loyalty-card\"\ncategory = \"user.loyalty.card_number\"\ngdpr_class = \"personal\"\nwhat = \"A loyalty card number.\"\nwhy = \"Identifies a member.\"\nsince = \"0.1.0\"\nnames = ['\\bloyalty card\\b']\nvalue = 'LC-\\d{8}'\naccepts = [\"LC-12345678\"]\nrejects = [\"LC-1\"]\n";

/// A project with its own rule pack in `myrules/` and a dataset declared with its category.
fn project(scan_section: &str) -> Project {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    p.write("myrules/loyalty.toml", RULE);
    let mut cards = String::from("member_email,loyalty_card\n");
    for i in 0..60 {
        cards.push_str(&format!("m{i}@example.org,LC-{:08}\n", 10_000_000 + i));
    }
    p.write("data/cards.csv", cards);
    p.write(
        "piitrail.toml",
        format!(
            "{}\n{scan_section}\n[[dataset]]\npath = \"data/cards.csv\"\npurpose = \"Loyalty programme\"\nlegal_basis = \"contract\"\nretention = \"2 years\"\nsubjects = [\"members\"]\ncolumns.member_email = \"user.contact.email\"\ncolumns.loyalty_card = \"user.loyalty.card_number\"\n",
            p.read("piitrail.toml")
        ),
    );
    p
}

fn categories(p: &Project, args: &[&str]) -> Vec<String> {
    let scans = p
        .run(&[&["scan", "data/cards.csv", "--format", "json"][..], args].concat())
        .expect(0)
        .json_lines();
    let column = scans[0]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "loyalty_card")
        .unwrap()
        .clone();
    column["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["category"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_command_uses_the_rule_set_piitrail_toml_names() {
    let p = project("[scan]\nrules = [\"myrules\"]\n");
    assert_eq!(categories(&p, &[]), ["user.loyalty.card_number"]);
    assert!(
        p.run(&["rules", "list"])
            .expect(0)
            .stdout()
            .contains("loyalty-card")
    );
    p.run(&["gate", "data"]).expect(0);
    p.run(&["scan", "--record", "data"]).expect(0);
    for args in [
        &["audit", "--out", "audit"][..],
        &["subject", "find", "--id", "email=m7@example.org"][..],
        &["lineage", "--format", "openlineage", "data/cards.csv"][..],
    ] {
        let run = p.run(args);
        assert!(
            run.code() == 0 || run.code() == 1,
            "{args:?}: {}",
            run.stderr()
        );
        assert!(
            !run.stderr().contains("unknown category"),
            "{args:?}: {}",
            run.stderr()
        );
    }
    let report: serde_json::Value = serde_json::from_str(&p.read("audit/report.json")).unwrap();
    assert!(
        report.to_string().contains("user.loyalty.card_number"),
        "the audit knows the project's category"
    );
}

#[test]
fn without_its_rules_the_projects_categories_are_unknown_everywhere() {
    // The same project with no [scan] rules: the declaration's category is unknown, and every
    // command that reads piitrail.toml says so the same way.
    let p = project("");
    for args in [&["gate", "data"][..], &["audit", "--out", "audit"][..]] {
        let run = p.run(args).expect(2);
        assert!(
            run.stderr()
                .contains("unknown category 'user.loyalty.card_number'"),
            "{args:?}: {}",
            run.stderr()
        );
    }
    // --rules adds the pack for one command.
    p.run(&["gate", "data", "--rules", "myrules"]).expect(0);
}

#[test]
fn no_builtin_rules_and_a_missing_rules_folder_are_the_projects_word() {
    let p = project("[scan]\nrules = [\"myrules\"]\nno_builtin_rules = true\n");
    let run = p.run(&["rules", "list"]).expect(0);
    assert!(run.stdout().contains("loyalty-card"));
    assert!(!run.stdout().contains("email-address"), "no built-in rule");
    let p = project("[scan]\nrules = [\"gone\"]\n");
    p.run(&["scan", "data"])
        .expect_error("piitrail.toml:")
        .stderr()
        .contains("scan.rules[0]")
        .then_some(())
        .expect("the key is named");
}
