//! Golden files of `--help` for every command: the CLI contract, reviewed like code.

mod common;

use common::Project;

/// Every command path of the CLI, from clap's own definition (`help` left out).
fn command_paths(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let mut path = prefix.clone();
        path.push(sub.get_name().to_string());
        command_paths(sub, path, out);
    }
}

#[test]
fn help_texts() {
    let p = Project::new();
    let mut commands = Vec::new();
    let cli = <piitrail::cli::Cli as clap::CommandFactory>::command();
    command_paths(&cli, Vec::new(), &mut commands);
    // The walk reaches every command, the newer ones too.
    for want in [
        &["gate"][..],
        &["subject", "find"],
        &["subject", "erase"],
        &["ingest"],
        &["serve"],
        &["ledger", "verify"],
    ] {
        assert!(
            commands.iter().any(|c| c == want),
            "{want:?} in {commands:?}"
        );
    }
    for cmd in &commands {
        let mut args: Vec<&str> = cmd.iter().map(String::as_str).collect();
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

#[test]
fn completions_and_man_page_come_from_the_clap_definitions() {
    let p = Project::new();
    let bash = p.run(&["completions", "bash"]).expect(0).stdout();
    assert!(bash.contains("_piitrail()"), "{bash}");
    assert!(bash.contains("audit") && bash.contains("lineage"));
    let zsh = p.run(&["completions", "zsh"]).expect(0).stdout();
    assert!(zsh.starts_with("#compdef piitrail"));
    let man = p.run(&["man"]).expect(0).stdout();
    assert!(
        man.contains(".TH piitrail"),
        "{}",
        &man[..man.len().min(200)]
    );
    assert!(man.contains("audit"));
}

#[test]
fn colour_marks_special_categories_and_respects_no_color() {
    let p = Project::new();
    let mut csv = String::from("ticket,message\n");
    for i in 0..40 {
        csv.push_str(&format!(
            "T{i},\"My doctor says my diabetes needs insulin, please delay order {i}\"\n"
        ));
    }
    p.write("tickets.csv", &csv);
    let run = |no_color: bool| {
        let mut cmd = assert_cmd::Command::cargo_bin("piitrail").unwrap();
        cmd.current_dir(p.dir.path())
            .env_remove("NO_COLOR")
            .env("CLICOLOR_FORCE", "1")
            .args(["scan", "tickets.csv"]);
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    let coloured = run(false);
    assert!(coloured.contains("user.health_and_medical"), "{coloured}");
    assert!(
        coloured.contains("\u{1b}["),
        "no colour when forced:\n{coloured}"
    );
    let plain = run(true);
    assert!(plain.contains("user.health_and_medical"));
    assert!(!plain.contains('\u{1b}'), "NO_COLOR was ignored");
}

/// `explain` prints a code's entry of the one registry, its severity in the project after
/// `[policy.severity]`, every code without one, and refuses an unknown code (exit 2); the
/// documentation of the codes says what the registry says.
#[test]
fn explain_prints_the_registry_and_the_docs_follow_it() {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    let toml = p.read("piitrail.toml").replacen(
        "[policy]\n",
        "[policy]\nseverity.small-group = \"warning\"\n",
        1,
    );
    p.write("piitrail.toml", toml);
    let out = p.run(&["explain", "small-group"]).expect(0).stdout();
    for needle in [
        "small-group (SmallAggregateGroup)",
        "HAVING count(*) >= k",
        "error by default",
        "warning in this project",
        "audit, gate",
    ] {
        assert!(out.contains(needle), "{needle}:\n{out}");
    }
    let list = p.run(&["explain"]).expect(0).stdout();
    let json = p.run(&["explain", "--format", "json"]).expect(0).stdout();
    let codes: serde_json::Value = serde_json::from_str(&json).unwrap();
    let codes = codes.as_array().unwrap();
    assert!(codes.len() >= 16);
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/findings.md")).unwrap();
    for c in codes {
        let id = c["id"].as_str().unwrap();
        assert!(list.lines().any(|l| l.starts_with(id)), "{id} listed");
        assert!(
            docs.contains(&format!("## `{id}`")),
            "docs/findings.md documents {id}"
        );
        assert!(
            docs.contains(c["help"].as_str().unwrap()),
            "docs/findings.md has {id}'s help"
        );
        assert!(docs.contains(&format!("**{}**", c["level"].as_str().unwrap())));
    }
    let one: serde_json::Value = serde_json::from_str(
        &p.run(&["explain", "small-group", "--format", "json"])
            .expect(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(one["level"], "error");
    assert_eq!(one["project_level"], "warning");
    assert_eq!(one["reported_by"], serde_json::json!(["audit", "gate"]));
    let err = p.run(&["explain", "no-such-code"]).expect(2).stderr();
    assert!(err.contains("no finding code 'no-such-code'"), "{err}");
}
