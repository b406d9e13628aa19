//! `subject find`: a pipeline of six steps (CSV and Parquet sources, a hashed-email cleaning
//! step, a join with orders by customer id, an aggregate by country, a feature table grouped by
//! customer, a model), and one person looked up by e-mail.

mod common;

use common::Project;
use serde_json::Value;

const CUSTOMERS: &str = "\
customer_id,email,full_name,country,birth_date
C001,ann.lee@example.com,Ann Lee,DE,1984-03-04
C002,bob.ray@example.org,Bob Ray,FR,1990-07-19
C003,cy.do@example.net,Cy Do,DE,1975-01-30
C004,dee.fox@example.com,Dee Fox,IT,2001-11-02
C005,eve.moss@example.org,Eve Moss,FR,1969-05-21
";

const ORDERS: &str = "\
order_id,customer_id,amount
O-1001,C002,19.90
O-1002,C001,5.00
O-1003,C003,12.50
O-1004,C001,99.00
O-1005,C005,7.25
O-1006,C004,3.10
";

fn run_sql(p: &Project, sql: &str, inputs: &[&str], output: &str) {
    let mut args = vec!["run", "--sql", sql];
    for i in inputs {
        args.push("--input");
        args.push(i);
    }
    args.extend(["--output", output]);
    p.run(&args).expect(0);
}

fn pipeline() -> Project {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    p.write("data/customers.csv", CUSTOMERS);
    p.write("data/orders.csv", ORDERS);
    p.run(&["scan", "data/customers.csv", "data/orders.csv", "--record"])
        .expect(0);
    run_sql(
        &p,
        "SELECT order_id, customer_id, CAST(amount AS DOUBLE) AS amount FROM o",
        &["o=data/orders.csv"],
        "data/orders.parquet",
    );
    run_sql(
        &p,
        "SELECT customer_id, sha256(lower(email)) AS email_hash, country, birth_date FROM c",
        &["c=data/customers.csv"],
        "out/customers_clean.parquet",
    );
    run_sql(
        &p,
        "SELECT o.order_id, o.customer_id, c.country, o.amount FROM o JOIN c ON o.customer_id = c.customer_id",
        &["o=data/orders.parquet", "c=out/customers_clean.parquet"],
        "out/orders_enriched.parquet",
    );
    run_sql(
        &p,
        "SELECT country, count(*) AS orders, sum(amount) AS total FROM e GROUP BY country",
        &["e=out/orders_enriched.parquet"],
        "out/by_country.csv",
    );
    run_sql(
        &p,
        "SELECT c.customer_id, c.email_hash, sum(o.amount) AS spend FROM c JOIN o ON c.customer_id = o.customer_id GROUP BY c.customer_id, c.email_hash",
        &["c=out/customers_clean.parquet", "o=data/orders.parquet"],
        "out/features.parquet",
    );
    p.write("models/churn.bin", "weights");
    p.run(&[
        "record",
        "--kind",
        "training",
        "--input",
        "out/features.parquet",
        "--output",
        "models/churn.bin",
    ])
    .expect(0);
    p
}

fn find(p: &Project, ids: &[&str]) -> Value {
    let mut args = vec!["subject", "find", "--format", "json"];
    for id in ids {
        args.push("--id");
        args.push(id);
    }
    serde_json::from_str(&p.run(&args).expect(0).stdout()).unwrap()
}

/// (path, match, rows, locators) of every artifact found.
fn summary(r: &Value) -> Vec<(String, String, u64, Vec<u64>)> {
    r["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["path"].as_str().unwrap().to_string(),
                a["match"].as_str().unwrap().to_string(),
                a["rows"].as_u64().unwrap(),
                a["locators"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l.as_u64().unwrap())
                    .collect(),
            )
        })
        .collect()
}

fn row(path: &str, m: &str, rows: u64, locators: &[u64]) -> (String, String, u64, Vec<u64>) {
    (path.into(), m.into(), rows, locators.to_vec())
}

#[test]
fn find_lists_exactly_the_subjects_rows_aggregates_and_models() {
    let p = pipeline();
    let r = find(&p, &["email=  Ann.Lee@Example.COM "]);
    let mut got = summary(&r);
    // Where a join or an aggregate wrote the rows, their order is DataFusion's: only the count
    // is fixed.
    for g in got
        .iter_mut()
        .filter(|g| g.0.starts_with("out/") && g.0 != "out/customers_clean.parquet")
    {
        assert_eq!(g.3.len() as u64, g.2, "{g:?}");
        g.3.clear();
    }
    assert_eq!(
        got,
        [
            // Found by e-mail, then by the customer id of the row found, through the join.
            row("data/customers.csv", "rows", 1, &[1]),
            row("data/orders.csv", "rows", 2, &[2, 4]),
            row("data/orders.parquet", "rows", 2, &[2, 4]),
            // The hashed e-mail, by the digest of the normalised address, and the copied id.
            row("out/customers_clean.parquet", "rows", 1, &[1]),
            row("out/features.parquet", "rows", 1, &[]),
            row("out/orders_enriched.parquet", "rows", 2, &[]),
            row("out/by_country.csv", "aggregate", 0, &[]),
            row("models/churn.bin", "trained_on", 0, &[]),
        ],
        "{r:#}"
    );
    let clean = &r["artifacts"][3];
    assert_eq!(
        clean["columns"],
        serde_json::json!(["customer_id", "email_hash"])
    );
    assert_eq!(
        r["artifacts"][7]["inputs"],
        serde_json::json!(["out/features.parquet"])
    );
    // Identities as hashes only: the e-mail given and the customer id found.
    let ids: Vec<(&str, Option<&str>)> = r["identity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["category"].as_str().unwrap(), i["found_in"].as_str()))
        .collect();
    assert_eq!(ids[0], ("user.contact.email", None));
    assert!(
        ids.contains(&("user.unique_id", Some("data/customers.csv:customer_id"))),
        "{ids:?}"
    );
    let text = serde_json::to_string(&r).unwrap();
    for raw in ["ann.lee", "Ann Lee", "C001", "O-1002"] {
        assert!(!text.contains(raw), "{raw} printed");
    }
    let out = p
        .run(&["subject", "find", "--id", "email=ann.lee@example.com"])
        .expect(0)
        .stdout();
    assert!(out.contains("data/orders.csv"), "{out}");
    assert!(!out.contains("ann.lee"), "{out}");
}

#[test]
fn another_person_and_nobody() {
    let p = pipeline();
    // Bob has one order; he shares no row with Ann.
    let r = find(&p, &["data/customers.csv:customer_id=C002"]);
    let s = summary(&r);
    assert!(
        s.contains(&row("data/orders.csv", "rows", 1, &[1])),
        "{s:?}"
    );
    assert!(
        s.contains(&row("data/customers.csv", "rows", 1, &[2])),
        "{s:?}"
    );
    // Nobody: exit 0, or 1 with --fail-if-found only when found.
    let r = find(&p, &["email=nobody@example.com"]);
    assert_eq!(r["artifacts"], serde_json::json!([]));
    p.run(&[
        "subject",
        "find",
        "--id",
        "email=nobody@example.com",
        "--fail-if-found",
    ])
    .expect(0);
    p.run(&[
        "subject",
        "find",
        "--id",
        "email=bob.ray@example.org",
        "--fail-if-found",
    ])
    .expect(1);
    // Bad ids: exit 2, the value not echoed.
    let run = p.run(&["subject", "find", "--id", "shoe-size=44"]);
    assert_eq!(run.code(), 2);
    let run = p.run(&["subject", "find", "--id", "data/nowhere.csv:id=7"]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains("data/nowhere.csv"),
        "{}",
        run.stderr()
    );
}
