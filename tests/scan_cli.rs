//! `piitrail scan` and `piitrail rules` through the real binary: output shape, messy input,
//! and a clear error with exit 2 for every kind of bad input.

mod common;

use common::Project;

const CUSTOMERS: &str = "id,email,phone,note\n1,jane.doe@example.com,+49 30 1234567,first order\n2,max.mustermann@example.de,+49 151 2345678,\"asked about\nreturns, twice\"\n3,,+33 1 23 45 67 89,\n";

#[test]
fn json_output_has_the_design_shape() {
    let p = Project::new();
    p.write("customers.csv", CUSTOMERS);
    let run = p
        .run(&["scan", "customers.csv", "--format", "json"])
        .expect(0);
    let arts = run.json_lines();
    assert_eq!(arts.len(), 1);
    let a = &arts[0];
    assert_eq!(a["artifact"], "customers.csv");
    assert!(a["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(a["digest"].as_str().unwrap().len(), 7 + 64);
    assert_eq!(a["rows_scanned"], 3);
    assert_eq!(a["rows_total"], 3);
    let cols = a["columns"].as_array().unwrap();
    assert_eq!(cols.len(), 4);
    let email = &cols[1];
    assert_eq!(email["name"], "email");
    let tag = &email["tags"][0];
    assert_eq!(tag["category"], "user.contact.email");
    assert_eq!(tag["gdpr_class"], "personal");
    assert_eq!(tag["rule"], "email-address");
    assert_eq!(tag["evidence"]["name_match"], true);
    assert_eq!(tag["evidence"]["matched"], 2);
    assert_eq!(tag["evidence"]["non_null"], 2);
    let conf = tag["confidence"].as_f64().unwrap();
    assert!((0.9..=1.0).contains(&conf), "{conf}");
    assert_eq!(cols[0]["tags"], serde_json::json!([]));
    assert_eq!(cols[2]["tags"][0]["category"], "user.contact.phone_number");
}

#[test]
fn raw_values_never_reach_stdout_or_stderr() {
    let p = Project::new();
    p.write("customers.csv", CUSTOMERS);
    for args in [
        vec!["scan", "customers.csv"],
        vec!["scan", "customers.csv", "--format", "json"],
        vec!["scan", "customers.csv", "--show-examples"],
        vec![
            "scan",
            "customers.csv",
            "--full",
            "--show-examples",
            "--format",
            "json",
        ],
    ] {
        let run = p.run(&args).expect(0);
        let all = format!("{}{}", run.stdout(), run.stderr());
        for raw in [
            "jane.doe@example.com",
            "max.mustermann",
            "1234567",
            "2345678",
            "45 67 89",
        ] {
            assert!(!all.contains(raw), "{args:?} printed {raw}:\n{all}");
        }
    }
    let run = p
        .run(&["scan", "customers.csv", "--show-examples"])
        .expect(0);
    // Masked to a quarter: initials and a two-letter TLD at most.
    assert!(
        run.stdout().contains("j***.***@e******.c**"),
        "{}",
        run.stdout()
    );
}

#[test]
fn full_and_sample_agree_on_tags() {
    let p = Project::new();
    p.write("customers.csv", CUSTOMERS);
    let tags = |args: &[&str]| {
        p.run(args).expect(0).json_lines()[0]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                c["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["rule"].clone())
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        tags(&["scan", "customers.csv", "--format", "json"]),
        tags(&["scan", "customers.csv", "--full", "--format", "json"])
    );
    // The quoted note spans two lines: still three rows, in both modes.
    for mode in [&[][..], &["--full"][..]] {
        let mut args = vec!["scan", "customers.csv", "--format", "json"];
        args.extend_from_slice(mode);
        assert_eq!(
            p.run(&args).expect(0).json_lines()[0]["rows_scanned"],
            3,
            "{mode:?}"
        );
    }
}

#[test]
fn european_export_semicolons_bom_crlf_and_leading_zeros() {
    let p = Project::new();
    let body = "\u{feff}Kundennummer;PLZ;Telefon;Betrag\r\nK1;01067;030 1234567;12,50\r\nK2;01109;089 7654321;3,75\r\nK3;02625;0351 445566;100,00\r\n";
    p.write("export.csv", body);
    for mode in [&[][..], &["--full"][..]] {
        let mut args = vec!["scan", "export.csv", "--format", "json"];
        args.extend_from_slice(mode);
        let a = &p.run(&args).expect(0).json_lines()[0];
        let cols = a["columns"].as_array().unwrap();
        let names: Vec<_> = cols.iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["Kundennummer", "PLZ", "Telefon", "Betrag"],
            "BOM must not stick to the first name"
        );
        let plz = &cols[1]["tags"][0];
        assert_eq!(
            plz["category"], "user.contact.address.postal_code",
            "{mode:?}: {a}"
        );
        assert_eq!(
            plz["evidence"]["matched"], 3,
            "leading zeros are kept: {mode:?}"
        );
        assert_eq!(cols[3]["tags"], serde_json::json!([]));
    }
}

#[test]
fn ragged_rows_are_reported_not_fatal() {
    let p = Project::new();
    p.write(
        "ragged.csv",
        "a,email\n1,x@example.com\n2\n3,y@example.com,extra\n",
    );
    let run = p.run(&["scan", "ragged.csv"]).expect(0);
    assert!(run.stderr().contains("2 ragged row(s)"), "{}", run.stderr());
    assert!(
        run.stderr().contains("(line 3, line 4)"),
        "{}",
        run.stderr()
    );
}

#[test]
fn meaningless_names_are_judged_by_values() {
    let p = Project::new();
    let mut s = String::from("field_12,field_13\n");
    for i in 0..20 {
        s += &format!("DE89370400440532013000,{}\n", 1_000_000 + i);
    }
    p.write("x.csv", s);
    let a = &p
        .run(&["scan", "x.csv", "--format", "json"])
        .expect(0)
        .json_lines()[0];
    assert_eq!(
        a["columns"][0]["tags"][0]["category"],
        "user.financial.bank_account"
    );
    assert_eq!(a["columns"][0]["tags"][0]["evidence"]["name_match"], false);
    assert_eq!(a["columns"][1]["tags"], serde_json::json!([]));
}

#[test]
fn a_directory_is_scanned_file_by_file() {
    let p = Project::new();
    p.write("d/a.csv", CUSTOMERS);
    p.write("d/sub/b.tsv", "name\tiban\nx\tDE89370400440532013000\n");
    p.write("d/readme.txt", "not data");
    let arts = p
        .run(&["scan", "d", "--format", "json"])
        .expect(0)
        .json_lines();
    let names: Vec<_> = arts
        .iter()
        .map(|a| a["artifact"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["d/a.csv", "d/sub/b.tsv"]);
}

// ---- bad input: a clear error naming the file, exit 2, never a panic ----

fn fails_with(p: &Project, args: &[&str], needles: &[&str]) {
    let run = p.run(args).expect(2);
    let err = run.stderr();
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        run.stdout().is_empty(),
        "nothing is printed on stdout on error: {}",
        run.stdout()
    );
}

#[test]
fn missing_path_is_exit_2() {
    let p = Project::new();
    fails_with(&p, &["scan", "nope.csv"], &["nope.csv"]);
}

#[test]
fn empty_file_is_exit_2() {
    let p = Project::new();
    p.write("empty.csv", "");
    fails_with(&p, &["scan", "empty.csv"], &["empty.csv", "empty"]);
    p.write("empty.parquet", "");
    fails_with(&p, &["scan", "empty.parquet"], &["empty.parquet"]);
    fails_with(
        &p,
        &["scan", "empty.csv", "--full"],
        &["empty.csv", "empty"],
    );
}

#[test]
fn directory_without_data_is_exit_2() {
    let p = Project::new();
    p.write("docs/readme.md", "# hi");
    fails_with(&p, &["scan", "docs"], &["docs", "no data file"]);
}

#[test]
fn invalid_utf8_names_file_and_line() {
    let p = Project::new();
    p.write("bad.csv", b"id,name\n1,ok\n2,\xff\xfe broken\n".as_slice());
    fails_with(&p, &["scan", "bad.csv"], &["bad.csv", "line 3", "UTF-8"]);
    fails_with(
        &p,
        &["scan", "bad.csv", "--full"],
        &["bad.csv", "line 3", "UTF-8"],
    );
}

#[test]
fn malformed_csv_is_exit_2() {
    let p = Project::new();
    // An unterminated quote would swallow the rest of the file into one field.
    p.write(
        "bad.csv",
        "id,email\n1,x@example.com\n2,\"y@example.com\n3,z@example.com\n",
    );
    fails_with(
        &p,
        &["scan", "bad.csv"],
        &["bad.csv", "line 3", "never closed"],
    );
    fails_with(
        &p,
        &["scan", "bad.csv", "--full"],
        &["bad.csv", "line 3", "never closed"],
    );
    // More fields than the header: in a file without quotes (read line by line), a ragged row
    // reported as in a sample; with quotes, DataFusion's reader refuses the row.
    p.write("wide.csv", "a,b\n1,2\n3,4,5,6\n");
    let run = p.run(&["scan", "wide.csv", "--full"]).expect(0);
    assert!(
        run.stderr().contains("1 ragged row(s)") && run.stderr().contains("line 3"),
        "{}",
        run.stderr()
    );
    p.write("wide_quoted.csv", "a,b\n\"1\",2\n3,4,5,6\n");
    fails_with(
        &p,
        &["scan", "wide_quoted.csv", "--full"],
        &["wide_quoted.csv"],
    );
}

#[test]
fn a_parquet_file_without_rows_is_judged_by_its_column_names() {
    use datafusion::arrow::array::RecordBatch;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let p = Project::new();
    let schema = Arc::new(Schema::new(vec![
        Field::new("email", DataType::Utf8, true),
        Field::new("qty", DataType::Int64, true),
    ]));
    let path = p.path("none.parquet");
    let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        schema.clone(),
        None,
    )
    .unwrap();
    w.write(&RecordBatch::new_empty(schema)).unwrap();
    w.close().unwrap();
    let a = &p
        .run(&["scan", "none.parquet", "--format", "json"])
        .expect(0)
        .json_lines()[0];
    assert_eq!(a["rows_scanned"], 0);
    assert_eq!(a["columns"].as_array().unwrap().len(), 2);
    assert_eq!(a["columns"][0]["tags"][0]["category"], "user.contact.email");
    assert_eq!(a["columns"][0]["tags"][0]["evidence"]["basis"], "name");
}

#[test]
fn truncated_parquet_is_exit_2() {
    let p = Project::new();
    // A real parquet file, cut in half.
    let full = p.path("ok.parquet");
    {
        use datafusion::arrow::array::{RecordBatch, StringArray};
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        use std::sync::Arc;
        let schema = Arc::new(Schema::new(vec![Field::new(
            "email",
            DataType::Utf8,
            false,
        )]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec!["a@example.com"; 100]))],
        )
        .unwrap();
        let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&full).unwrap(),
            schema,
            None,
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    for mode in [&[][..], &["--full"][..]] {
        let mut args = vec!["scan", "ok.parquet", "--format", "json"];
        args.extend_from_slice(mode);
        let a = &p.run(&args).expect(0).json_lines()[0];
        assert_eq!(a["rows_scanned"], 100, "{mode:?}");
        assert_eq!(
            a["columns"][0]["tags"][0]["evidence"]["matched"], 100,
            "{mode:?}"
        );
    }
    let bytes = std::fs::read(&full).unwrap();
    p.write("cut.parquet", &bytes[..bytes.len() / 2]);
    fails_with(&p, &["scan", "cut.parquet"], &["cut.parquet"]);
    fails_with(&p, &["scan", "cut.parquet", "--full"], &["cut.parquet"]);
}

#[test]
fn bad_rule_regex_names_file_rule_and_field() {
    let p = Project::new();
    p.write("data.csv", CUSTOMERS);
    p.write(
        "myrules/loyalty.toml",
        "[[rule]]\nid = \"loyalty-card\"\ncategory = \"user.unique_id\"\ngdpr_class = \"personal\"\nwhat = \"x\"\nwhy = \"y\"\nsince = \"0.1.0\"\nvalue = 'LC-(\\d{8}'\n",
    );
    fails_with(
        &p,
        &["scan", "data.csv", "--rules", "myrules"],
        &[
            "loyalty.toml:8:9",
            "rule 'loyalty-card'",
            "field 'value'",
            "invalid regex",
        ],
    );
}

#[test]
fn custom_rules_add_and_override_builtins() {
    let p = Project::new();
    p.write("data.csv", "member,card\nLC-12345678,x\nLC-87654321,y\n");
    let rule = "[[rule]]\nid = \"loyalty-card\"\ncategory = \"user.unique_id\"\ngdpr_class = \"personal\"\nwhat = \"x\"\nwhy = \"y\"\nsince = \"0.1.0\"\nvalue = 'LC-\\d{8}'\naccepts = [\"LC-12345678\"]\nrejects = [\"LC-1\"]\n";
    p.write("myrules/loyalty.toml", rule);
    let a = &p
        .run(&["scan", "data.csv", "--rules", "myrules", "--format", "json"])
        .expect(0)
        .json_lines()[0];
    assert_eq!(a["columns"][0]["tags"][0]["rule"], "loyalty-card");
    // Only the custom rule: the built-in email rule is gone.
    p.write("mail.csv", "email\njane@example.com\n");
    let a = &p
        .run(&[
            "scan",
            "mail.csv",
            "--rules",
            "myrules",
            "--no-builtin-rules",
            "--format",
            "json",
        ])
        .expect(0)
        .json_lines()[0];
    assert_eq!(a["columns"][0]["tags"], serde_json::json!([]));
    // Same id as a built-in: replaces it.
    p.write(
        "override/email.toml",
        rule.replace("loyalty-card", "email-address"),
    );
    let a = &p
        .run(&[
            "scan", "mail.csv", "--rules", "override", "--format", "json",
        ])
        .expect(0)
        .json_lines()[0];
    let tags = a["columns"][0]["tags"].as_array().unwrap();
    assert!(
        tags.iter().all(|t| t["rule"] != "email-address"),
        "the overriding rule does not match emails: {tags:?}"
    );
}

#[test]
fn record_is_refused_until_the_ledger_exists() {
    let p = Project::new();
    p.write("data.csv", CUSTOMERS);
    fails_with(&p, &["scan", "data.csv", "--record"], &["ledger"]);
}

#[test]
fn rules_list_explain_and_test() {
    let p = Project::new();
    let list = p.run(&["rules", "list"]).expect(0).stdout();
    for id in [
        "email-address",
        "iban",
        "national-id-pl",
        "health-icd10",
        "criminal-record",
    ] {
        assert!(list.contains(id), "{id} missing from rules list");
    }
    let explain = p.run(&["rules", "explain", "iban"]).expect(0).stdout();
    assert!(explain.contains("validator: iban"));
    assert!(explain.contains("Accepts (masked)"));
    assert!(
        !explain.contains("DE89 3704 0044 0532 0130 00"),
        "examples are masked"
    );
    p.run(&["rules", "explain", "nope"]).expect(2);

    let rules_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    for entry in std::fs::read_dir(&rules_dir).unwrap() {
        let path = entry.unwrap().path();
        let data_only = path.ends_with("abbreviations.toml") || path.ends_with("categories.toml");
        if path.extension().is_some_and(|e| e == "toml") && !data_only {
            p.run(&["rules", "test", path.to_str().unwrap()]).expect(0);
        }
    }
    p.write("r.toml", "[[rule]]\nid = \"x\"\ncategory = \"user.unique_id\"\ngdpr_class = \"personal\"\nwhat = \"x\"\nwhy = \"y\"\nsince = \"0.1.0\"\nvalue = 'X\\d'\naccepts = [\"Y1\"]\n");
    let out = p.run(&["rules", "test", "r.toml"]).expect(1).stdout();
    assert!(out.contains("FAIL"));
}

#[test]
fn usage_errors_are_exit_2() {
    let p = Project::new();
    p.run(&["scan"]).expect(2);
    p.run(&["scan", "x.csv", "--format", "xml"]).expect(2);
    p.run(&["frobnicate"]).expect(2);
    p.run(&["--version"]).expect(0);
}

#[test]
fn a_closed_pipe_on_stdout_exits_0_quietly() {
    let p = Project::new();
    for i in 0..300 {
        p.write(&format!("many/t{i:03}.csv"), CUSTOMERS);
    }
    let bin = assert_cmd::cargo::cargo_bin("piitrail");
    for format in ["json", "text"] {
        let script = format!(
            "set -o pipefail; '{}' scan many --format {format} | head -c 10 >/dev/null",
            bin.display()
        );
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(p.dir.path())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A full scan counts checksum identifiers on every value: one valid IBAN among a million
/// free-text values is reported as `low_prevalence` with its count, never left "clean"; a
/// sample of the same file says nothing about it.
#[test]
fn a_full_scan_finds_one_iban_in_a_million_free_text_values() {
    const ROWS: usize = 1_000_000;
    let p = Project::new();
    let phrases = [
        "called about the delivery and asked for a new date",
        "wants the invoice sent again by post please",
        "parcel arrived damaged, photos were attached",
        "asked whether the jacket comes in another colour",
    ];
    let mut csv = String::with_capacity(ROWS * 56);
    csv.push_str("ticket,remark\n");
    for i in 0..ROWS {
        let text = if i == 777_777 {
            "refund to DE89 3704 0044 0532 0130 00 as agreed on the phone"
        } else {
            phrases[i % phrases.len()]
        };
        csv.push_str(&format!("{i},{text}\n"));
    }
    p.write("tickets.csv", csv);
    let run = p
        .run(&["scan", "tickets.csv", "--full", "--format", "json"])
        .expect(0);
    let art = &run.json_lines()[0];
    assert_eq!(art["rows_scanned"], ROWS as u64);
    let remark = &art["columns"][1];
    let tag = remark["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["category"] == "user.financial.bank_account")
        .unwrap_or_else(|| panic!("no IBAN reported: {remark}"));
    assert_eq!(tag["evidence"]["basis"], "low_prevalence", "{tag}");
    assert_eq!(tag["evidence"]["matched"], 1, "{tag}");
    assert_eq!(tag["evidence"]["non_null"], ROWS as u64, "{tag}");
    assert!(tag["confidence"].as_f64().unwrap() >= 0.5, "{tag}");
    assert!(!run.stdout().contains("0532"), "the IBAN is never shown");
    // Without --full the sample cannot promise it, and says nothing.
    let run = p
        .run(&["scan", "tickets.csv", "--format", "json"])
        .expect(0);
    let tags = run.json_lines()[0]["columns"][1]["tags"].clone();
    assert_eq!(tags, serde_json::json!([]), "{tags}");
}

/// Columns are judged with their table: places and contact data of a branch are about no one,
/// a bare `name` is a person's only in a table about people, and ids named after a person's
/// role whose values are keys of a table about people are person keys by reference.
#[test]
fn columns_are_judged_with_their_table_and_person_keys_found_by_reference() {
    let p = Project::new();
    let mut employees = String::from("EmployeeID,name,City,HomePhone,ReportsTo\n");
    let mut branches = String::from("branch_id,name,city,phone,manager_id,ShipVia\n");
    let cities = ["Seattle", "Tacoma", "Kirkland", "Redmond"];
    let people = [
        "Okafor, Mr. Chidi",
        "Dupont, Mme. Claire",
        "SMITH, JOHN A",
        "Tan Wei Ling",
    ];
    for i in 1..=40 {
        let boss = if i == 1 {
            String::new()
        } else {
            (1 + i % 5).to_string()
        };
        employees.push_str(&format!(
            "{i},\"{}\",{},(206) 555-{:04},{boss}\n",
            people[i % 4],
            cities[i % 4],
            1000 + i
        ));
    }
    for i in 1..=12 {
        branches.push_str(&format!(
            "{i},{} Downtown,{},(503) 555-{:04},{},{}\n",
            cities[i % 4],
            cities[(i + 1) % 4],
            2000 + i,
            1 + (i * 7) % 40,
            1 + i % 3
        ));
    }
    p.write("data/employees.csv", employees);
    p.write("data/branches.csv", branches);
    let run = p.run(&["scan", "data", "--format", "json"]).expect(0);
    let arts = run.json_lines();
    let col = |file: &str, name: &str| {
        let a = arts
            .iter()
            .find(|a| a["artifact"] == format!("data/{file}"))
            .unwrap();
        common::tags_of(a, name)
    };
    let cats = |tags: &Vec<serde_json::Value>| -> Vec<String> {
        tags.iter()
            .map(|t| t["category"].as_str().unwrap().to_string())
            .collect()
    };
    // The person table: its places and names are the people's.
    assert_eq!(cats(&col("employees.csv", "name")), ["user.name"]);
    let city = col("employees.csv", "City");
    assert_eq!(cats(&city), ["user.contact.address.city"]);
    assert!(
        city[0]["evidence"]["context"]
            .as_str()
            .unwrap()
            .starts_with("person table"),
        "{city:?}"
    );
    // The company table: nothing about anyone, but the manager.
    for c in ["name", "city", "phone", "ShipVia", "branch_id"] {
        assert_eq!(cats(&col("branches.csv", c)), Vec::<String>::new(), "{c}");
    }
    for (file, c) in [
        ("branches.csv", "manager_id"),
        ("employees.csv", "ReportsTo"),
    ] {
        let tags = col(file, c);
        assert_eq!(cats(&tags), ["user.unique_id"], "{file}:{c}");
        assert_eq!(tags[0]["evidence"]["basis"], "reference");
        assert_eq!(tags[0]["evidence"]["references"], "employees.EmployeeID");
    }
    // Alone, the branches give no key to point at: no reference is claimed.
    let run = p
        .run(&["scan", "data/branches.csv", "--format", "json"])
        .expect(0);
    let manager = &run.json_lines()[0]["columns"][4];
    assert_eq!(manager["tags"], serde_json::json!([]), "{manager}");
}

/// `rules list --languages`: every Art. 9 rule and the identifier rules cover the EU languages,
/// and the table-name words are counted per language.
#[test]
fn rules_list_shows_language_coverage() {
    let p = Project::new();
    let out = p.run(&["rules", "list", "--languages"]).expect(0).stdout();
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    for l in [
        "de", "fr", "it", "es", "nl", "pl", "pt", "sv", "da", "fi", "cs", "ro",
    ] {
        assert!(header.contains(&l), "{l} missing from {header:?}");
    }
    let religion = out.lines().find(|l| l.starts_with("religion ")).unwrap();
    assert!(!religion.contains(" -"), "{religion}");
    assert!(
        religion.split_whitespace().filter(|m| *m == "nv").count() >= 12,
        "{religion}"
    );
    let words = out.lines().find(|l| l.starts_with("table words")).unwrap();
    assert!(
        words
            .split_whitespace()
            .skip(2)
            .all(|n| n.parse::<usize>().unwrap() > 0),
        "{words}"
    );
}

/// The digest of a file `scan` reports, asked with `extra` arguments.
fn digest_of(p: &Project, file: &str, extra: &[&str]) -> String {
    let mut args = vec!["scan", file, "--format", "json"];
    args.extend_from_slice(extra);
    let run = p.run(&args).expect(0);
    run.json_lines()[0]["digest"].as_str().unwrap().to_string()
}

/// The digest cache (.piitrail/digests.json): a settled, unchanged file's digest is reused (a
/// digest planted in its entry shows it, by a sample and by a full scan); `--no-cache` hashes;
/// content changed with the same size and the modification time put back is hashed again (its
/// change time moved).
#[cfg(unix)]
#[test]
fn unchanged_files_reuse_their_digest_and_changed_ones_are_hashed_again() {
    let p = Project::new();
    std::fs::create_dir_all(p.path(".piitrail")).unwrap();
    let file = p.write("customers.csv", CUSTOMERS);
    // Only files that last changed a while before they were hashed are kept.
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    let real = digest_of(&p, "customers.csv", &[]);
    let cache: serde_json::Value = serde_json::from_str(&p.read(".piitrail/digests.json")).unwrap();
    let key = std::fs::canonicalize(&file).unwrap();
    let key = key.to_str().unwrap();
    assert_eq!(cache["files"][key]["digest"], real.as_str(), "{cache}");
    let planted = format!("sha256:{}", "0".repeat(64));
    let mut forged = cache.clone();
    forged["files"][key]["digest"] = planted.clone().into();
    p.write(".piitrail/digests.json", forged.to_string());
    assert_eq!(digest_of(&p, "customers.csv", &[]), planted, "reused");
    assert_eq!(digest_of(&p, "customers.csv", &["--full"]), planted);
    assert_eq!(digest_of(&p, "customers.csv", &["--no-cache"]), real);
    common::rewrite_keeping_mtime(&file, CUSTOMERS.replace("jane", "june"));
    let changed = digest_of(&p, "customers.csv", &[]);
    assert_ne!(changed, planted);
    assert_ne!(changed, real);
    assert_eq!(changed, digest_of(&p, "customers.csv", &["--no-cache"]));
}
