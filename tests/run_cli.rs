//! `piitrail run`: outputs, recording, refusals; and the end-to-end lineage flow of issue 3.

mod common;

use common::Project;

const CUSTOMERS: &str = "\
customer_id,name,email,country,zip
007,Ann Lee,ann@example.com,DE,01234
008,Bob Ray,bob@example.org,FR,75001
009,Cy Do,cy@example.net,DE,10115
";

fn project() -> Project {
    let p = Project::new();
    p.write("data/customers.csv", CUSTOMERS);
    p
}

fn ledger_lines(p: &Project) -> usize {
    std::fs::read_to_string(p.path(".piitrail/ledger.jsonl"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn writes_every_format_and_keeps_leading_zeros() {
    let p = project();
    let sql = "SELECT customer_id, zip, upper(country) AS country FROM c ORDER BY customer_id";
    for out in [
        "out/a.csv",
        "out/a.tsv",
        "out/a.ndjson",
        "out/a.parquet",
        "out/a.arrow",
    ] {
        p.run(&[
            "run",
            "--sql",
            sql,
            "--input",
            "c=data/customers.csv",
            "--output",
            out,
        ])
        .expect(0);
        assert!(p.path(out).is_file(), "{out}");
    }
    let csv = p.read("out/a.csv");
    assert_eq!(
        csv,
        "customer_id,zip,country\n007,01234,DE\n008,75001,FR\n009,10115,DE\n"
    );
    let tsv = p.read("out/a.tsv");
    assert!(tsv.starts_with("customer_id\tzip\tcountry\n007\t01234\tDE\n"));
    let ndjson = p.read("out/a.ndjson");
    assert_eq!(
        ndjson.lines().next().unwrap(),
        r#"{"customer_id":"007","zip":"01234","country":"DE"}"#
    );
    // Outputs of one step are inputs of the next, in every format.
    for input in ["out/a.parquet", "out/a.arrow", "out/a.ndjson", "out/a.tsv"] {
        let run = p
            .run(&[
                "run",
                "--sql",
                "SELECT count(*) AS n FROM t WHERE zip LIKE '0%'",
                "--input",
                &format!("t={input}"),
                "--output",
                "out/n.csv",
            ])
            .expect(0);
        assert!(run.stdout().contains("wrote 1 rows"), "{}", run.stdout());
        assert_eq!(p.read("out/n.csv"), "n\n1\n", "{input}");
    }
    // An empty result still has its header.
    p.run(&[
        "run",
        "--sql",
        "SELECT name FROM c WHERE country = 'XX'",
        "--input",
        "c=data/customers.csv",
        "--output",
        "out/none.csv",
    ])
    .expect(0);
    assert_eq!(p.read("out/none.csv"), "name\n");
}

#[test]
fn records_inputs_output_and_lineage_inside_a_project() {
    let p = project();
    p.write(
        "steps/hash.sql",
        "SELECT sha256(email) AS email_hash, country FROM customers",
    );
    // Outside a project: written, not recorded; --record there is refused before writing.
    let out = p
        .run(&[
            "run",
            "--sql",
            "steps/hash.sql",
            "--input",
            "customers=data/customers.csv",
            "--output",
            "out/h.parquet",
        ])
        .expect(0)
        .stdout();
    assert!(out.contains("not recorded"), "{out}");
    let refused = p
        .run(&[
            "run",
            "--record",
            "--sql",
            "steps/hash.sql",
            "--input",
            "customers=data/customers.csv",
            "--output",
            "out/r.parquet",
        ])
        .expect(2);
    assert!(
        refused.stderr().contains("piitrail init"),
        "{}",
        refused.stderr()
    );
    assert!(!p.path("out/r.parquet").exists());

    p.run(&["init"]).expect(0);
    let out = p
        .run(&[
            "run",
            "--sql",
            "steps/hash.sql",
            "--input",
            "customers=data/customers.csv",
            "--output",
            "out/h.parquet",
        ])
        .expect(0)
        .stdout();
    assert!(out.contains("recorded sql execution x-"), "{out}");
    assert!(
        out.contains("email_hash <- data/customers.csv:email"),
        "{out}"
    );
    let log = p
        .run(&["ledger", "log", "--format", "json"])
        .expect(0)
        .json_lines();
    let kinds: Vec<_> = log.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["artifact", "artifact", "execution"]);
    let input = &log[0]["artifact"];
    assert_eq!(input["path"], "data/customers.csv");
    assert_eq!(
        input["schema"][0],
        serde_json::json!({"name": "customer_id", "type": "Utf8"})
    );
    let output = &log[1]["artifact"];
    assert_eq!(output["path"], "out/h.parquet");
    assert_eq!(output["format"], "parquet");
    assert_eq!(output["schema"][0]["name"], "email_hash");
    let x = &log[2]["execution"];
    assert_eq!(x["kind"], "sql");
    assert_eq!(
        x["code"]["sql"],
        "SELECT sha256(email) AS email_hash, country FROM customers"
    );
    assert_eq!(x["outputs"][0]["digest"], output["digest"]);
    let hashed = x["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["to"]["column"] == "email_hash")
        .unwrap();
    assert_eq!(hashed["class"], "pseudonymised");
    assert_eq!(hashed["masking"], true);

    // --no-record inside a project leaves the ledger alone.
    let before = ledger_lines(&p);
    p.run(&[
        "run",
        "--no-record",
        "--sql",
        "steps/hash.sql",
        "--input",
        "customers=data/customers.csv",
        "--output",
        "out/h2.parquet",
    ])
    .expect(0);
    assert_eq!(ledger_lines(&p), before);
    p.run(&["ledger", "verify"]).expect(0);
}

#[test]
fn refusals_exit_2_and_write_nothing() {
    let p = project();
    p.run(&["init"]).expect(0);
    p.write("out/keep.csv", "old content\n");
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--sql",
                "SELECT nope FROM c",
                "--input",
                "c=data/customers.csv",
            ],
            "nope",
        ),
        (
            &[
                "--sql",
                "SELEC name FROM c",
                "--input",
                "c=data/customers.csv",
            ],
            "SELEC",
        ),
        (
            &[
                "--sql",
                "CREATE TABLE t AS SELECT 1",
                "--input",
                "c=data/customers.csv",
            ],
            "only a query",
        ),
        (
            &[
                "--sql",
                "SELECT a.name, b.name FROM c a JOIN c b ON a.zip = b.zip",
                "--input",
                "c=data/customers.csv",
            ],
            "two columns named 'name'",
        ),
        (
            &[
                "--sql",
                "steps/missing.sql",
                "--input",
                "c=data/customers.csv",
            ],
            "no such file",
        ),
        (
            &["--sql", "SELECT 1", "--input", "c=data/nothere.csv"],
            "data/nothere.csv",
        ),
        (
            &["--sql", "SELECT 1", "--input", "data/customers.csv"],
            "NAME=PATH",
        ),
        (
            &["--sql", "SELECT 1", "--input", "1c=data/customers.csv"],
            "table name",
        ),
        (
            &[
                "--sql",
                "SELECT 1",
                "--input",
                "c=data/customers.csv",
                "c=data/customers.csv",
            ],
            "same table name",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--output", "out/keep.csv"]);
        let run = p.run(&all).expect(2);
        assert!(
            run.stderr().contains(needle),
            "{args:?}: stderr lacks {needle}: {}",
            run.stderr()
        );
        assert_eq!(
            p.read("out/keep.csv"),
            "old content\n",
            "{args:?} touched the output"
        );
    }
    let run = p
        .run(&[
            "run",
            "--sql",
            "SELECT 1 AS one",
            "--input",
            "c=data/customers.csv",
            "--output",
            "out/x.xlsx",
        ])
        .expect(2);
    assert!(run.stderr().contains("unknown format"), "{}", run.stderr());
    assert_eq!(ledger_lines(&p), 0, "a refused run recorded something");
    let leftovers: Vec<_> = std::fs::read_dir(p.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["keep.csv"], "temporary files left behind");
}

#[test]
fn a_bad_value_found_while_running_leaves_the_old_output() {
    let p = Project::new();
    // 10,000 numbers make the column an integer; a word after them fails the query mid-way.
    let mut csv = String::from("id,amount\n");
    for i in 0..12_000 {
        csv.push_str(&format!("{i},{}\n", i % 97));
    }
    csv.push_str("12000,lots\n");
    p.write("big.csv", &csv);
    p.write("out.parquet", "old");
    let run = p
        .run(&[
            "run",
            "--sql",
            "SELECT sum(amount) AS total FROM t",
            "--input",
            "t=big.csv",
            "--output",
            "out.parquet",
        ])
        .expect(2);
    // The error names file, line and column, and masks the value (no raw value on stderr).
    assert!(
        run.stderr()
            .contains("big.csv: line 12002, column 'amount': value 'l***' is not Int64"),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains("lots"), "{}", run.stderr());
    assert_eq!(std::fs::read(p.path("out.parquet")).unwrap(), b"old");
}

/// Issue 3's end-to-end flow: scan two CSVs, hash an email column, aggregate by country,
/// train a model, and find every step upstream of the model with the right classes.
#[test]
fn lineage_of_a_model_reaches_back_through_sql_steps_to_the_scanned_sources() {
    let p = project();
    p.write(
        "data/orders.csv",
        "order_id,customer_id,amount\n1,007,12.5\n2,007,3.0\n3,008,99.9\n4,009,51.0\n",
    );
    p.run(&["init"]).expect(0);
    p.run(&["scan", "--record", "data/customers.csv", "data/orders.csv"])
        .expect(0);
    p.run(&[
        "run",
        "--sql",
        "SELECT sha256(c.email) AS email_hash, c.country, o.amount \
         FROM c JOIN o ON c.customer_id = o.customer_id",
        "--input",
        "c=data/customers.csv",
        "o=data/orders.csv",
        "--output",
        "out/orders_hashed.parquet",
    ])
    .expect(0);
    p.run(&[
        "run",
        "--sql",
        "SELECT country, count(*) AS orders, sum(amount) AS revenue \
         FROM h GROUP BY country",
        "--input",
        "h=out/orders_hashed.parquet",
        "--output",
        "out/by_country.csv",
    ])
    .expect(0);
    p.write("models/revenue.bin", "weights");
    p.run(&[
        "record",
        "--kind",
        "training",
        "--input",
        "out/by_country.csv",
        "--output",
        "models/revenue.bin",
    ])
    .expect(0);
    p.run(&["ledger", "verify"]).expect(0);

    let v: serde_json::Value = serde_json::from_str(
        &p.run(&[
            "lineage",
            "models/revenue.bin",
            "--columns",
            "--format",
            "json",
        ])
        .expect(0)
        .stdout(),
    )
    .unwrap();
    let mut paths: Vec<&str> = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "data/customers.csv",
            "data/orders.csv",
            "models/revenue.bin",
            "out/by_country.csv",
            "out/orders_hashed.parquet"
        ]
    );
    let kinds: Vec<&str> = v["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "sql").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(kinds.iter().filter(|k| **k == "training").count(), 1);
    let edge = |from: &str, to: &str| -> Vec<String> {
        v["columns"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                format!(
                    "{}:{}",
                    e["from"]["path"].as_str().unwrap(),
                    e["from"]["column"].as_str().unwrap()
                ) == from
                    && format!(
                        "{}:{}",
                        e["to"]["path"].as_str().unwrap(),
                        e["to"]["column"].as_str().unwrap()
                    ) == to
            })
            .map(|e| e["class"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        edge(
            "data/customers.csv:email",
            "out/orders_hashed.parquet:email_hash"
        ),
        ["pseudonymised"]
    );
    assert_eq!(
        edge(
            "data/customers.csv:customer_id",
            "out/orders_hashed.parquet:email_hash"
        ),
        ["influenced"]
    );
    assert_eq!(
        edge(
            "out/orders_hashed.parquet:amount",
            "out/by_country.csv:revenue"
        ),
        ["aggregated"]
    );
    let mut country = edge(
        "out/orders_hashed.parquet:country",
        "out/by_country.csv:country",
    );
    country.sort();
    assert_eq!(country, ["direct", "influenced"]);
    // Text and the other formats show the same graph.
    let text = p.run(&["lineage", "models/revenue.bin"]).expect(0).stdout();
    for path in [
        "data/customers.csv",
        "data/orders.csv",
        "out/orders_hashed.parquet",
    ] {
        assert!(text.contains(path), "{text}");
    }
}
