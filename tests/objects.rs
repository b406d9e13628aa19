//! Object stores as a source (issue 16): `scan s3://BUCKET/PREFIX/` lists and scans the objects
//! like a folder's files, each named by its URL with the sha256 of its content, the tags those
//! files get locally. Against a real S3-compatible server: moto's, from the interop venv,
//! started here on 127.0.0.1 and a free port, and stopped after.

#![cfg(feature = "interop")]

mod common;

use common::Project;
use common::moto::{moto, run_s3, upload};

#[test]
fn objects_under_an_s3_prefix_are_scanned_like_local_files_and_named_by_url() {
    let m = moto();
    let p = Project::new();
    let mut customers = String::from("customer_id,full_name,email,phone,iban\n");
    for i in 0..200 {
        customers.push_str(&format!(
            "{i},Anna Kowalski,user{i}@example.org,+49 30 {:07},DE89370400440532013000\n",
            1_234_000 + i
        ));
    }
    p.write("data/customers.csv", &customers);
    p.write(
        "data/notes.csv",
        "id,note\n1,gift wrap requested\n2,delivered on time\n",
    );
    p.write("data/readme.txt", "not data");
    upload(&m, &p, &["customers.csv", "notes.csv", "readme.txt"]);
    let remote = run_s3(&m, &p, &["scan", "s3://exports/shop/", "--format", "json"]);
    assert_eq!(remote.code(), 0, "{}", remote.stderr());
    assert!(!remote.stderr().contains("not-printed-secret"));
    let remote = remote.json_lines();
    let local = p
        .run(&["scan", "data", "--format", "json"])
        .expect(0)
        .json_lines();
    let names: Vec<&str> = remote
        .iter()
        .map(|s| s["artifact"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "s3://exports/shop/customers.csv",
            "s3://exports/shop/notes.csv"
        ]
    );
    for (r, l) in remote.iter().zip(&local) {
        assert_eq!(
            r["digest"], l["digest"],
            "the sha256 of the content, as the file's"
        );
        assert_eq!(r["columns"], l["columns"], "the tags of the same file");
    }
    // One object by its URL; a prefix with nothing to scan is an error naming it.
    let one = run_s3(
        &m,
        &p,
        &["scan", "s3://exports/shop/notes.csv", "--format", "json"],
    );
    assert_eq!(one.code(), 0, "{}", one.stderr());
    assert_eq!(
        one.json_lines()[0]["artifact"],
        "s3://exports/shop/notes.csv"
    );
    // A recorded scan records each object by its URL and content digest.
    p.run(&["init"]).expect(0);
    let recorded = run_s3(&m, &p, &["scan", "--record", "s3://exports/shop/"]);
    assert_eq!(recorded.code(), 0, "{}", recorded.stderr());
    let ledger = p.read(".piitrail/ledger.jsonl");
    let digest = local[0]["digest"].as_str().unwrap();
    assert!(
        ledger.contains("s3://exports/shop/customers.csv") && ledger.contains(digest),
        "{ledger}"
    );
    p.run(&["ledger", "verify"]).expect(0);
    let none = run_s3(&m, &p, &["scan", "s3://exports/elsewhere/"]);
    assert_eq!(none.code(), 2, "{}", none.stderr());
    assert!(
        none.stderr().contains("s3://exports/elsewhere/"),
        "{}",
        none.stderr()
    );
}

/// 200 customers, one line each, the subject (`user7@example.org`) on line 9 (row 8).
fn customers() -> String {
    common::shop_customers(200, false)
}

/// A project whose data roots hold the bucket, with the shop's objects scanned and recorded.
fn recorded(m: &common::moto::Moto) -> Project {
    let p = Project::new();
    p.write("data/customers.csv", customers());
    upload(m, &p, &["customers.csv"]);
    p.run(&["init"]).expect(0);
    p.add_data_root("s3://exports/");
    let run = run_s3(m, &p, &["scan", "--record", "s3://exports/shop/"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    p
}

#[test]
fn a_subjects_rows_are_found_and_erased_in_an_object_which_is_replaced_whole() {
    // (That a writer between the erasure's own search and its write is never overwritten is
    // `a_held_object_changed_by_another_writer_is_never_overwritten`.)
    let m = moto();
    let p = recorded(&m);
    p.run(&["keygen", "--out", "keys"]).expect(0);
    let url = "s3://exports/shop/customers.csv";
    // A recorded step derives an object from it: the erasure re-runs it from the cleaned data.
    let derived = "s3://exports/derived/contacts.csv";
    let step = run_s3(
        &m,
        &p,
        &[
            "run",
            "--input",
            &format!("c={url}"),
            "--sql",
            "SELECT email, phone FROM c ORDER BY customer_id",
            "--output",
            derived,
        ],
    );
    assert_eq!(step.code(), 0, "{}", step.stderr());
    let contacts = String::from_utf8(common::moto::download(&m, "derived/contacts.csv")).unwrap();
    assert!(contacts.contains("user7@example.org"));
    let find = run_s3(
        &m,
        &p,
        &[
            "subject",
            "find",
            "--id",
            "email=user7@example.org",
            "--format",
            "json",
        ],
    );
    assert_eq!(find.code(), 0, "{}", find.stderr());
    let found: serde_json::Value = serde_json::from_str(&find.stdout()).unwrap();
    let artifact = found["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == url)
        .unwrap_or_else(|| panic!("{found}"));
    assert_eq!(artifact["locators"], serde_json::json!([8]), "{found}");
    // Another writer changed the object after `subject find`: the erasure searches what is
    // there now (the subject is still on line 9) and erases that.
    let theirs = customers().replace("Anna", "Anne");
    common::moto::put(&m, "shop/customers.csv", theirs.as_bytes());
    let done = run_s3(
        &m,
        &p,
        &[
            "subject",
            "erase",
            "--id",
            "email=user7@example.org",
            "--apply",
            "--key",
            "keys/piitrail.key",
        ],
    );
    assert_eq!(done.code(), 0, "{}{}", done.stdout(), done.stderr());
    let kept = common::without_subject(&theirs);
    assert_eq!(
        String::from_utf8(common::moto::download(&m, "shop/customers.csv")).unwrap(),
        kept,
        "every other line keeps its bytes"
    );
    let contacts = String::from_utf8(common::moto::download(&m, "derived/contacts.csv")).unwrap();
    assert!(!contacts.contains("user7@example.org"), "recomputed");
    assert_eq!(contacts.lines().count(), 200, "the header and 199 rows");
    let cert: serde_json::Value =
        serde_json::from_str(&p.read("piitrail-erasure/certificate.json")).unwrap();
    assert_eq!(
        cert["applied"]["recomputed"][0]["path"], derived,
        "{}",
        cert["applied"]
    );
    let removed = &cert["applied"]["removed"].as_array().unwrap()[0];
    assert_eq!(removed["path"], url);
    assert_eq!(
        (removed["removed"].as_u64(), removed["rows_after"].as_u64()),
        (Some(1), Some(199))
    );
    // The certificate's objects are checked against the store, fetched again whole.
    let verify = [
        "verify",
        "piitrail-erasure/certificate.dsse.json",
        "--key",
        "keys/piitrail.pub",
        "--artifacts",
    ];
    let ok = run_s3(&m, &p, &verify);
    assert_eq!(ok.code(), 0, "{}{}", ok.stdout(), ok.stderr());
    assert!(
        ok.stdout().contains(&format!("ok       {url}")),
        "{}",
        ok.stdout()
    );
    common::moto::put(&m, "shop/customers.csv", theirs.as_bytes());
    let changed = run_s3(&m, &p, &verify);
    assert_eq!(
        changed.code(),
        1,
        "{}{}",
        changed.stdout(),
        changed.stderr()
    );
    assert!(
        changed.stdout().contains(&format!("CHANGED  {url}")),
        "{}",
        changed.stdout()
    );
    common::moto::put(&m, "shop/customers.csv", kept.as_bytes());
    let again = run_s3(
        &m,
        &p,
        &[
            "subject",
            "find",
            "--id",
            "email=user7@example.org",
            "--fail-if-found",
        ],
    );
    assert_eq!(again.code(), 0, "{}{}", again.stdout(), again.stderr());
    p.run(&["ledger", "verify"]).expect(0);
}

/// `run` reads objects and writes one: the inputs fetched and versioned by the sha256 of their
/// content, the output uploaded in parts (over 8 MB here: several) that appear as one object
/// only when complete, and the step recorded under the objects' URLs.
#[test]
fn a_run_reads_objects_and_writes_its_output_to_an_object() {
    let m = moto();
    let p = Project::new();
    let mut big = String::from("customer_id,email,note\n");
    for i in 0..250_000 {
        big.push_str(&format!("{i},user{i}@example.org,delivered on time\n"));
    }
    p.write("data/customers.csv", &big);
    upload(&m, &p, &["customers.csv"]);
    p.run(&["init"]).expect(0);
    let input = "s3://exports/shop/customers.csv";
    let output = "s3://exports/derived/copy.csv";
    let run = run_s3(
        &m,
        &p,
        &[
            "run",
            "--input",
            &format!("c={input}"),
            "--sql",
            "SELECT customer_id, email, note FROM c",
            "--output",
            output,
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let ran: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(ran["rows"], 250_000);
    assert_eq!(ran["output"], output);
    let written = common::moto::download(&m, "derived/copy.csv");
    assert!(written.len() > 8 << 20, "more than one part");
    // Every row, in the order the query gave them (no ORDER BY: any).
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    let (got, want) = (sorted(&String::from_utf8(written).unwrap()), sorted(&big));
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the rows written are the input's");
    // The versions are of the content, as `scan` digests it.
    let scanned = run_s3(&m, &p, &["scan", output, input, "--format", "json"]);
    assert_eq!(scanned.code(), 0, "{}", scanned.stderr());
    let scanned = scanned.json_lines();
    let x = &ran["execution"];
    assert_eq!(x["outputs"][0]["path"], output);
    assert_eq!(x["outputs"][0]["digest"], scanned[0]["digest"]);
    assert_eq!(x["inputs"][0]["path"], input);
    assert_eq!(x["inputs"][0]["digest"], scanned[1]["digest"]);
    let email = x["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["to"]["column"] == "email")
        .unwrap_or_else(|| panic!("{x}"));
    assert_eq!(
        (&email["from"]["path"], &email["to"]["path"]),
        (&input.into(), &output.into()),
        "column lineage names the objects"
    );
    let ledger = p.read(".piitrail/ledger.jsonl");
    assert!(ledger.contains(output) && ledger.contains(input));
    p.run(&["ledger", "verify"]).expect(0);
    // A query that fails while it runs leaves no object behind.
    let failed = run_s3(
        &m,
        &p,
        &[
            "run",
            "--input",
            &format!("c={input}"),
            "--sql",
            "SELECT CAST(email AS INT) AS n FROM c",
            "--output",
            "s3://exports/derived/never.csv",
        ],
    );
    assert_ne!(failed.code(), 0);
    let none = run_s3(&m, &p, &["scan", "s3://exports/derived/never.csv"]);
    assert_eq!(none.code(), 2, "{}", none.stderr());
    // An input object that is not there is named.
    let missing = run_s3(
        &m,
        &p,
        &[
            "run",
            "--input",
            "c=s3://exports/shop/gone.csv",
            "--sql",
            "SELECT * FROM c",
            "--output",
            "out.csv",
        ],
    );
    assert_eq!(missing.code(), 2, "{}", missing.stderr());
    assert!(
        missing.stderr().contains("s3://exports/shop/gone.csv"),
        "{}",
        missing.stderr()
    );
}
