//! `subject find`: a pipeline of six steps (CSV and Parquet sources, a hashed-email cleaning
//! step, a join with orders by customer id, an aggregate by country, a feature table grouped by
//! customer, a model), and one person looked up by e-mail.

mod common;

use common::Project;
use std::collections::BTreeMap;

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

/// The erasure certificate written to `out` in the project.
fn certificate(p: &Project, out: &str) -> Value {
    serde_json::from_str(&p.read(&format!("{out}/certificate.json"))).unwrap()
}

/// How many erasure executions the project's ledger holds.
fn erasures(p: &Project) -> usize {
    p.read(".piitrail/ledger.jsonl")
        .matches("\"kind\":\"erasure\"")
        .count()
}

/// The `path` of every entry of a JSON list.
fn paths_in(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect()
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
            // The one group (country) her orders went into.
            row("out/by_country.csv", "aggregate", 1, &[]),
            row("models/churn.bin", "trained_on", 0, &[]),
        ],
        "{r:#}"
    );
    // The group: keyed by country, Ann's two orders and Cy's one (both DE); its row in the
    // aggregate is the DE row, wherever DataFusion put it.
    let agg = &r["artifacts"][6];
    assert_eq!(agg["group_by"], serde_json::json!(["country"]));
    assert_eq!(agg["groups"].as_array().unwrap().len(), 1, "{agg:#}");
    assert_eq!(agg["groups"][0]["size"], 3);
    assert_eq!(agg["groups"][0]["subject_rows"], 2);
    let at = agg["groups"][0]["row"].as_u64().unwrap();
    assert_eq!(agg["locators"], serde_json::json!([at]));
    let by_country = p.read("out/by_country.csv");
    assert!(
        by_country
            .lines()
            .nth(at as usize)
            .unwrap()
            .starts_with("DE,"),
        "{by_country}"
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
    assert!(
        out.contains(&format!(
            "group by country: row {at} — 3 input row(s) in the group, 2 of them the subject's"
        )),
        "{out}"
    );
    assert!(!out.contains("ann.lee"), "{out}");
}

/// A dataset no recorded step links to the others (support tickets keyed by customer number)
/// is reached only through a reference declared in piitrail.toml; a declared primary key
/// locates the rows found, unless the key is itself personal data.
#[test]
fn declared_references_reach_unlinked_datasets_and_primary_keys_locate_rows() {
    let p = pipeline();
    p.write(
        "data/tickets.csv",
        "ticket_id,customer_no,topic\nT-1,C003,billing\nT-2,C001,delivery\nT-3,C001,refund\nT-4,C002,other\n",
    );
    p.run(&["scan", "data/tickets.csv", "--record"]).expect(0);
    let ann = "email=ann.lee@example.com";
    let paths = |r: &Value| -> Vec<String> { summary(r).into_iter().map(|a| a.0).collect() };
    // Without a declaration, a shared category is not a link.
    assert!(!paths(&find(&p, &[ann])).contains(&"data/tickets.csv".to_string()));
    p.write(
        "piitrail.toml",
        r#"
[[dataset]]
path = "data/tickets.csv"
purpose = "customer support"
legal_basis = "contract"
primary_key = ["ticket_id"]
references.customer_no = "data/customers.csv:customer_id"

[[dataset]]
path = "data/customers.csv"
purpose = "orders"
legal_basis = "contract"
primary_key = ["email"]
"#,
    );
    let r = find(&p, &[ann]);
    let tickets = r["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == "data/tickets.csv")
        .unwrap_or_else(|| panic!("{r:#}"));
    assert_eq!(tickets["locators"], serde_json::json!([2, 3]));
    assert_eq!(tickets["columns"], serde_json::json!(["customer_no"]));
    assert_eq!(
        tickets["keys"],
        serde_json::json!([{"ticket_id": "T-2"}, {"ticket_id": "T-3"}])
    );
    // The customers' declared key is the e-mail address: never printed, row numbers only.
    let customers = &r["artifacts"][0];
    assert_eq!(customers["path"], "data/customers.csv");
    assert!(customers.get("keys").is_none(), "{customers:#}");
    assert!(!serde_json::to_string(&r).unwrap().contains("ann.lee"));
    let text = p.run(&["subject", "find", "--id", ann]).expect(0).stdout();
    assert!(
        text.contains("primary key: ticket_id=T-2, ticket_id=T-3"),
        "{text}"
    );
    // The erasure removes them too.
    p.run(&["subject", "erase", "--id", ann, "--apply", "--out", "e"])
        .expect(0);
    assert_eq!(
        p.read("data/tickets.csv"),
        "ticket_id,customer_no,topic\nT-1,C003,billing\nT-4,C002,other\n"
    );
    // A bad declaration is an input error naming its place.
    p.write(
        "piitrail.toml",
        "[[dataset]]\npath = \"data/tickets.csv\"\npurpose = \"x\"\nlegal_basis = \"contract\"\nreferences.customer_no = \"customers\"\n",
    );
    p.run(&["subject", "find", "--id", ann])
        .expect_error("piitrail.toml:5:");
}

/// Ann and Bob share a joint account. Her IBAN is found next to her e-mail, but it is not
/// followed into the copy of the table: it would reach Bob's row there. Her own row of the copy
/// is still found, by her customer number.
#[test]
fn a_shared_bank_account_is_not_followed_to_other_peoples_rows() {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    p.write(
        "data/accounts.csv",
        "customer_id,email,iban\nC001,ann.lee@example.com,DE89370400440532013000\nC002,bob.ray@example.org,DE89370400440532013000\nC003,cy.do@example.net,FR1420041010050500013M02606\n",
    );
    p.run(&["scan", "data/accounts.csv", "--record"]).expect(0);
    run_sql(
        &p,
        "SELECT customer_id, iban FROM a",
        &["a=data/accounts.csv"],
        "out/payers.parquet",
    );
    let r = find(&p, &["email=ann.lee@example.com"]);
    let got: Vec<(String, Vec<u64>)> = summary(&r).into_iter().map(|a| (a.0, a.3)).collect();
    assert_eq!(
        got,
        [
            ("data/accounts.csv".to_string(), vec![1]),
            ("out/payers.parquet".to_string(), vec![1])
        ],
        "{r:#}"
    );
    let payers = &r["artifacts"][1];
    assert_eq!(payers["columns"], serde_json::json!(["customer_id"]));
    let iban = r["identity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["category"]
                .as_str()
                .unwrap()
                .starts_with("user.financial")
        })
        .unwrap_or_else(|| panic!("{r:#}"));
    assert_eq!(iban["shared"], true);
    // Cy's account is hers alone: found by the IBAN too.
    let r = find(&p, &["email=cy.do@example.net"]);
    let payers = &r["artifacts"][1];
    assert_eq!(payers["path"], "out/payers.parquet");
    assert_eq!(
        payers["columns"],
        serde_json::json!(["customer_id", "iban"]),
        "{r:#}"
    );
}

/// Whether `subject find` says `path` changed since the ledger recorded it.
fn changed(r: &Value, path: &str) -> bool {
    let a = r["artifacts"].as_array().unwrap().iter();
    a.filter(|a| a["path"] == path)
        .any(|a| a["changed_since_recorded"] == true)
}

/// A file rewritten in place with the same size and its modification time put back is reported
/// as changed since recorded once the digest cache knows it as it is now (a scan after the
/// change): its digest differs from the ledger's. Size and time alone say nothing.
#[cfg(unix)]
#[test]
fn a_file_changed_in_place_is_found_changed_once_the_digest_cache_knows_it() {
    let p = pipeline();
    let file = p.path("data/orders.csv");
    common::rewrite_keeping_mtime(&file, ORDERS.replace("19.90", "19.95"));
    let bob = ["data/customers.csv:customer_id=C002"];
    assert!(
        !changed(&find(&p, &bob), "data/orders.csv"),
        "size and time say nothing"
    );
    // Only a file that settled is kept by the cache; the scan records nothing.
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    p.run(&["scan", "data/orders.csv"]).expect(0);
    let r = find(&p, &bob);
    assert!(changed(&r, "data/orders.csv"), "{r}");
    assert!(!changed(&r, "data/customers.csv"), "{r}");
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
    fail_if_found(&p, "email=nobody@example.com").expect(0);
    fail_if_found(&p, "email=bob.ray@example.org").expect(1);
    // Bad ids: exit 2, the value not echoed.
    let run = p.run(&["subject", "find", "--id", "shoe-size=44"]);
    assert_eq!(run.code(), 2);
    p.run(&["subject", "find", "--id", "data/nowhere.csv:id=7"])
        .expect_error("data/nowhere.csv");
}

#[test]
fn erase_plans_then_removes_exactly_the_subjects_rows_and_certifies_it() {
    let p = pipeline();
    p.run(&["keygen", "--out", "keys"]).expect(0);
    let ann = "email=ann.lee@example.com";
    // The plan changes nothing.
    let before: Vec<Vec<u8>> = [
        "data/customers.csv",
        "data/orders.csv",
        "out/features.parquet",
    ]
    .iter()
    .map(|f| std::fs::read(p.path(f)).unwrap())
    .collect();
    let plan: Value = serde_json::from_str(
        &p.run(&["subject", "erase", "--id", ann, "--format", "json"])
            .expect(0)
            .stdout(),
    )
    .unwrap();
    let paths = |k: &str| -> Vec<String> {
        plan[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(paths("delete"), ["data/customers.csv", "data/orders.csv"]);
    assert_eq!(plan["delete"][1]["rows"], serde_json::json!([2, 4]));
    assert_eq!(
        paths("recompute"),
        [
            "data/orders.parquet",
            "out/customers_clean.parquet",
            "out/orders_enriched.parquet",
            "out/by_country.csv",
            "out/features.parquet"
        ]
    );
    assert_eq!(paths("retrain"), ["models/churn.bin"]);
    assert_eq!(plan["unresolved"], serde_json::json!([]));
    for (f, b) in [
        "data/customers.csv",
        "data/orders.csv",
        "out/features.parquet",
    ]
    .iter()
    .zip(&before)
    {
        assert_eq!(
            &std::fs::read(p.path(f)).unwrap(),
            b,
            "{f} changed without --apply"
        );
    }
    let bob_before = summary(&find(&p, &["data/customers.csv:customer_id=C002"]));

    let out = p
        .run(&[
            "subject",
            "erase",
            "--id",
            ann,
            "--apply",
            "--key",
            "keys/piitrail.key",
            "--out",
            "erasures/req-1",
        ])
        .expect(0)
        .stdout();
    assert!(
        out.contains("verified: a second search finds none"),
        "{out}"
    );
    // Every other row byte for byte, the subject's rows gone.
    let without = |text: &str, gone: &[&str]| -> String {
        text.lines()
            .filter(|l| !gone.iter().any(|g| l.contains(g)))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    assert_eq!(
        p.read("data/customers.csv"),
        without(CUSTOMERS, &["ann.lee"])
    );
    assert_eq!(
        p.read("data/orders.csv"),
        without(ORDERS, &["O-1002", "O-1004"])
    );
    // Nothing of Ann is found; Bob's rows are all where they were.
    fail_if_found(&p, ann).expect(0);
    let bob_after = summary(&find(&p, &["data/customers.csv:customer_id=C002"]));
    let counts = |s: &[(String, String, u64, Vec<u64>)]| -> Vec<(String, u64)> {
        s.iter().map(|r| (r.0.clone(), r.2)).collect()
    };
    assert_eq!(counts(&bob_after), counts(&bob_before));
    // The certificate: what was removed and recomputed, and the model owed a retraining.
    let cert = certificate(&p, "erasures/req-1");
    assert_eq!(cert["status"], "complete");
    assert_eq!(cert["applied"]["verified"], true);
    let removed: Vec<(String, u64, u64, u64)> = cert["applied"]["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["rows_before"].as_u64().unwrap(),
                r["rows_after"].as_u64().unwrap(),
                r["removed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        removed,
        [
            ("data/customers.csv".to_string(), 5, 4, 1),
            ("data/orders.csv".to_string(), 6, 4, 2)
        ]
    );
    let recomputed: BTreeMap<String, u64> = cert["applied"]["recomputed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(recomputed["data/orders.parquet"], 4);
    assert_eq!(recomputed["out/features.parquet"], 4);
    assert_eq!(cert["plan"]["retrain"][0]["path"], "models/churn.bin");
    let verified = p
        .run(&[
            "verify",
            "erasures/req-1/certificate.dsse.json",
            "--key",
            "keys/piitrail.pub",
            "--artifacts",
        ])
        .expect(0)
        .stdout();
    assert!(verified.contains("erasure certificate"), "{verified}");
    assert!(verified.contains("all 7 artifacts match"), "{verified}");
    // The certificate pins the ledger as the erasure left it: its erasure record last.
    let records = p.read(".piitrail/ledger.jsonl").lines().count() as u64;
    assert_eq!(cert["ledger"]["records"], records);
    let pinned = p
        .run(&[
            "verify",
            "erasures/req-1/certificate.dsse.json",
            "--key",
            "keys/piitrail.pub",
            "--ledger",
        ])
        .expect(0)
        .stdout();
    assert!(
        pinned.contains(&format!("ledger ok: record {records}")),
        "{pinned}"
    );
    // The ledger: chain intact, the erasure recorded with a salted hash, no raw identity.
    p.run(&["ledger", "verify"]).expect(0);
    let ledger = p.read(".piitrail/ledger.jsonl");
    assert!(ledger.contains("\"kind\":\"erasure\""));
    assert!(!ledger.contains("ann.lee"));
    assert!(ledger.contains(cert["subject"].as_str().unwrap()));
    // `ledger log` shows the erasure: three rows, the subject as its salted hash only.
    let log = p.run(&["ledger", "log"]).expect(0).stdout();
    let subject = &cert["subject"].as_str().unwrap()[..19];
    assert!(
        log.contains(&format!("erased 3 row(s) of subject {subject}")),
        "{log}"
    );
    assert!(!log.contains("ann.lee"));
    // Again: nothing left to do.
    let out = p
        .run(&[
            "subject",
            "erase",
            "--id",
            ann,
            "--apply",
            "--out",
            "erasures/req-1b",
        ])
        .expect(0)
        .stdout();
    assert!(out.contains("nothing to erase"), "{out}");
}

/// Makes a folder refuse new files: mode 0555, and for root (whom modes do not stop) the
/// immutable attribute. Panics when neither works: the failure must really be injected.
/// Linux only (`chattr`, from e2fsprogs).
#[cfg(target_os = "linux")]
fn make_read_only(dir: &std::path::Path) -> impl FnOnce() + use<> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let mut immutable = false;
    if std::fs::File::create(dir.join("probe")).is_ok() {
        std::fs::remove_file(dir.join("probe")).unwrap();
        let ok = std::process::Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "cannot make {} read-only: this test needs `chattr +i` (e2fsprogs) on a file system that supports it",
            dir.display()
        );
        immutable = true;
        assert!(
            std::fs::File::create(dir.join("probe")).is_err(),
            "still writable"
        );
    }
    let dir = dir.to_path_buf();
    move || {
        if immutable {
            std::process::Command::new("chattr")
                .arg("-i")
                .arg(&dir)
                .status()
                .unwrap();
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
#[cfg(target_os = "linux")]
fn a_read_only_folder_leaves_every_file_old_or_new_and_a_rerun_finishes() {
    let p = pipeline();
    let ann = "email=ann.lee@example.com";
    let customers = std::fs::read(p.path("data/customers.csv")).unwrap();
    let orders = std::fs::read(p.path("data/orders.csv")).unwrap();
    let undo = make_read_only(&p.path("data"));
    let run = p.run(&[
        "subject",
        "erase",
        "--id",
        ann,
        "--apply",
        "--out",
        "erasures/r",
    ]);
    undo();
    assert_eq!(run.code(), 1, "{}", run.stdout());
    assert!(run.stdout().contains("FAILED"), "{}", run.stdout());
    // Every file whole and old: the folder refused the new ones.
    assert_eq!(
        std::fs::read(p.path("data/customers.csv")).unwrap(),
        customers
    );
    assert_eq!(std::fs::read(p.path("data/orders.csv")).unwrap(), orders);
    let leftovers: Vec<_> = std::fs::read_dir(p.path("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| {
            !matches!(
                n.as_str(),
                "customers.csv" | "orders.csv" | "orders.parquet"
            )
        })
        .collect();
    assert_eq!(
        leftovers,
        Vec::<String>::new(),
        "temporary files left behind"
    );
    let cert = certificate(&p, "erasures/r");
    assert_eq!(cert["status"], "incomplete");
    assert!(
        cert["applied"]["failed"]
            .as_str()
            .unwrap()
            .contains("data/customers.csv"),
        "{cert:#}"
    );
    assert_eq!(cert["applied"]["removed"], serde_json::json!([]));
    p.run(&[
        "subject",
        "erase",
        "--id",
        ann,
        "--apply",
        "--out",
        "erasures/r2",
    ])
    .expect(0);
    fail_if_found(&p, ann).expect(0);
}

/// `subject find --id ID --fail-if-found` in the project.
fn fail_if_found(p: &Project, id: &str) -> common::Run {
    p.run(&["subject", "find", "--id", id, "--fail-if-found"])
}

/// Sets the immutable attribute on a file (root is not stopped by modes); undone by the guard.
/// Linux only (`chattr`, from e2fsprogs).
#[cfg(target_os = "linux")]
fn make_immutable(file: &std::path::Path) -> impl FnOnce() + use<> {
    let set = |flag: &str, f: &std::path::Path| {
        let ok = std::process::Command::new("chattr")
            .arg(flag)
            .arg(f)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "chattr {flag} {} failed: this test needs `chattr` (e2fsprogs) on a file system that supports it",
            f.display()
        );
    };
    set("+i", file);
    let file = file.to_path_buf();
    move || set("-i", &file)
}

/// Runs `subject erase --apply` for `id` into `out` while `file` is immutable: it must fail,
/// and say so.
#[cfg(target_os = "linux")]
fn erase_blocked_by(p: &Project, id: &str, file: &str, out: &str) {
    let undo = make_immutable(&p.path(file));
    let run = p.run(&["subject", "erase", "--id", id, "--apply", "--out", out]);
    undo();
    assert_eq!(run.code(), 1, "{}", run.stdout());
    assert!(run.stdout().contains("FAILED"), "{}", run.stdout());
}

/// Ann's rows in orders.csv are found only through her customer number, found next to her
/// e-mail in customers.csv. The first attempt cleans customers.csv and fails on orders.csv;
/// a fresh search could no longer reach orders.csv, but the journal still knows its rows.
#[test]
#[cfg(target_os = "linux")]
fn an_erasure_stopped_between_files_is_finished_by_a_rerun_through_its_journal() {
    let p = pipeline();
    let ann = "email=ann.lee@example.com";
    erase_blocked_by(&p, ann, "data/orders.csv", "e/1");
    assert!(!p.read("data/customers.csv").contains("ann.lee"));
    assert_eq!(p.read("data/orders.csv"), ORDERS);
    let cert = certificate(&p, "e/1");
    assert_eq!(cert["status"], "incomplete");
    assert_eq!(cert["applied"]["removed"][0]["path"], "data/customers.csv");
    assert_eq!(cert["applied"]["removed"].as_array().unwrap().len(), 1);
    assert!(
        cert["applied"]["failed"]
            .as_str()
            .unwrap()
            .contains("data/orders.csv"),
        "{cert:#}"
    );
    // The journal: private, no raw values, and the rows still to remove.
    let journals: Vec<_> = std::fs::read_dir(p.path(".piitrail/erasures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(journals.len(), 1);
    let text = std::fs::read_to_string(&journals[0]).unwrap();
    assert!(
        !text.contains("ann.lee") && !text.contains("C001"),
        "{text}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&journals[0])
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The dry run shows what is left, from the journal.
    let plan: Value = serde_json::from_str(
        &p.run(&["subject", "erase", "--id", ann, "--format", "json"])
            .expect(0)
            .stdout(),
    )
    .unwrap();
    assert_eq!(plan["delete"][0]["path"], "data/orders.csv");
    assert_eq!(plan["delete"][0]["rows"], serde_json::json!([2, 4]));
    // The re-run finishes: Ann's orders gone, everyone else's intact, everything recomputed.
    p.run(&["subject", "erase", "--id", ann, "--apply", "--out", "e/2"])
        .expect(0);
    let orders = p.read("data/orders.csv");
    let expected: String = ORDERS
        .lines()
        .filter(|l| !l.contains("C001"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(orders, expected);
    let cert = certificate(&p, "e/2");
    assert_eq!(cert["status"], "complete");
    assert_eq!(cert["subject"], certificate(&p, "e/1")["subject"]);
    let removed: Vec<&str> = paths_in(&cert["applied"]["removed"]);
    assert_eq!(removed, ["data/customers.csv", "data/orders.csv"]);
    let recomputed: Vec<&str> = paths_in(&cert["applied"]["recomputed"]);
    assert_eq!(
        recomputed,
        [
            "data/orders.parquet",
            "out/customers_clean.parquet",
            "out/orders_enriched.parquet",
            "out/by_country.csv",
            "out/features.parquet"
        ]
    );
    // The derived data no longer holds her: the customer number is gone from the features.
    fail_if_found(&p, "data/orders.csv:customer_id=C001").expect(0);
    assert_eq!(
        std::fs::read_dir(p.path(".piitrail/erasures"))
            .unwrap()
            .count(),
        0
    );
    // Each file's erasure is in the ledger once.
    assert_eq!(erasures(&p), 2);
    p.run(&["ledger", "verify"]).expect(0);
}

/// The files are rewritten but the ledger refuses the erasure record (immutable): the re-run
/// records the rewrites it missed, once, re-runs the steps downstream, and certifies it all.
#[test]
#[cfg(target_os = "linux")]
fn rewrites_the_ledger_missed_are_recorded_by_the_rerun() {
    let p = pipeline();
    let ann = "email=ann.lee@example.com";
    erase_blocked_by(&p, ann, ".piitrail/ledger.jsonl", "e/1");
    assert!(!p.read("data/orders.csv").contains("C001"));
    assert_eq!(erasures(&p), 0);
    p.run(&["subject", "erase", "--id", ann, "--apply", "--out", "e/2"])
        .expect(0);
    assert_eq!(erasures(&p), 1);
    p.run(&["ledger", "verify"]).expect(0);
    let cert = certificate(&p, "e/2");
    assert_eq!(cert["status"], "complete");
    let removed: Vec<(&str, u64)> = cert["applied"]["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["path"].as_str().unwrap(), r["removed"].as_u64().unwrap()))
        .collect();
    assert_eq!(removed, [("data/customers.csv", 1), ("data/orders.csv", 2)]);
    assert_eq!(cert["applied"]["recomputed"].as_array().unwrap().len(), 5);
    fail_if_found(&p, "data/orders.csv:customer_id=C001").expect(0);
    // Nothing left to do: a third run changes nothing.
    p.run(&["subject", "erase", "--id", ann, "--apply", "--out", "e/3"])
        .expect(0);
    assert_eq!(erasures(&p), 1);
}

/// A full disk: the project on a small tmpfs (mounted in a private mount namespace, so it
/// vanishes with the script), filled so that the two small files can be rewritten but the
/// large one cannot. Each state is copied out for the checks.
#[test]
#[cfg(target_os = "linux")]
fn a_full_disk_leaves_every_file_old_or_new_and_a_rerun_finishes() {
    let p = pipeline();
    // 12,000 visits (about 470 KB), two of them Ann's.
    let mut visits = String::from("visit_id,email,page\n");
    for i in 0..12_000 {
        let email = match i {
            4_321 | 9_876 => "Ann.Lee@example.com".to_string(),
            _ => format!("visitor{i}@example.org"),
        };
        visits.push_str(&format!("V{i:06},{email},/products/{}\n", i % 97));
    }
    p.write("data/visits.csv", &visits);
    p.run(&["scan", "data/visits.csv", "--record"]).expect(0);
    let ann = "email=ann.lee@example.com";
    let out = tempfile::tempdir().unwrap();
    let script = r#"
set -eu
mnt="$OUT/mnt"
mkdir -p "$mnt"
mount -t tmpfs -o size=4m tmpfs "$mnt"
cp -a "$SRC/." "$mnt/"
cd "$mnt"
# Leave 160 KB: enough for the small rewrites, the journal and the ledger, not for visits.csv.
avail=$(df -B1 --output=avail . | tail -1)
fallocate -l $((avail - 160 * 1024)) .filler
set +e
"$BIN" subject erase --id "$ID" --apply --out e/1 > "$OUT/stdout1" 2>&1
echo $? > "$OUT/rc1"
set -e
mkdir "$OUT/after1"
cp -a . "$OUT/after1/"
rm "$OUT/after1/.filler" .filler
"$BIN" subject erase --id "$ID" --apply --out e/2 > "$OUT/stdout2" 2>&1
echo $? > "$OUT/rc2"
mkdir "$OUT/after2"
cp -a . "$OUT/after2/"
"#;
    let status = std::process::Command::new("unshare")
        .args(["--map-root-user", "--mount", "sh", "-c", script])
        .env("OUT", out.path())
        .env("SRC", p.dir.path())
        .env("BIN", env!("CARGO_BIN_EXE_piitrail"))
        .env("ID", ann)
        .status()
        .expect("this test needs `unshare` (util-linux) to run the disk-full script in a private mount namespace");
    assert!(status.success(), "the disk-full script failed: {status}");
    let read = |f: &str| std::fs::read_to_string(out.path().join(f)).unwrap();
    // The first attempt ran out of space on visits.csv, and said so.
    assert_eq!(read("rc1").trim(), "1", "{}", read("stdout1"));
    assert!(read("stdout1").contains("FAILED"), "{}", read("stdout1"));
    let cert: Value = serde_json::from_str(&read("after1/e/1/certificate.json")).unwrap();
    assert_eq!(cert["status"], "incomplete");
    let failed = cert["applied"]["failed"].as_str().unwrap();
    assert!(
        failed.contains("data/visits.csv") && failed.contains("No space left on device"),
        "{failed}"
    );
    let removed: Vec<&str> = paths_in(&cert["applied"]["removed"]);
    assert_eq!(removed, ["data/customers.csv", "data/orders.csv"]);
    // Every file old or new: the two small ones new, visits.csv old, no temporary file.
    let without = |text: &str, gone: &str| -> String {
        text.lines()
            .filter(|l| !l.contains(gone))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    assert_eq!(
        read("after1/data/customers.csv"),
        without(CUSTOMERS, "ann.lee")
    );
    assert_eq!(read("after1/data/orders.csv"), without(ORDERS, "C001"));
    assert_eq!(read("after1/data/visits.csv"), visits);
    let tmp: Vec<String> = walk(&out.path().join("after1"))
        .into_iter()
        .filter(|f| f.ends_with(".tmp"))
        .collect();
    assert_eq!(tmp, Vec::<String>::new());
    // The ledger of that state is whole.
    common::run_in(&out.path().join("after1"), &["ledger", "verify"]).expect(0);
    // With space again, the re-run finishes the job.
    assert_eq!(read("rc2").trim(), "0", "{}", read("stdout2"));
    let cert: Value = serde_json::from_str(&read("after2/e/2/certificate.json")).unwrap();
    assert_eq!(cert["status"], "complete");
    assert_eq!(cert["applied"]["verified"], true);
    assert_eq!(read("after2/data/visits.csv"), without(&visits, "Ann.Lee"));
    assert_eq!(read("after2/data/orders.csv"), without(ORDERS, "C001"));
    let after2 = out.path().join("after2");
    common::run_in(&after2, &["ledger", "verify"]).expect(0);
    common::run_in(
        &after2,
        &["subject", "find", "--id", ann, "--fail-if-found"],
    )
    .expect(0);
}

/// Every file under `dir`, relative.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            } else {
                out.push(
                    e.path()
                        .strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .to_string(),
                );
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_killed_erasure_leaves_every_file_old_or_new_and_a_rerun_finishes() {
    let ann = "email=ann.lee@example.com";
    for delay_ms in [40u64, 120, 250] {
        let p = pipeline();
        let old_customers = p.read("data/customers.csv");
        let new_customers: String = old_customers
            .lines()
            .filter(|l| !l.contains("ann.lee"))
            .map(|l| format!("{l}\n"))
            .collect();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_piitrail"))
            .current_dir(p.dir.path())
            .args([
                "subject",
                "erase",
                "--id",
                ann,
                "--apply",
                "--out",
                "erasures/k",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let now = p.read("data/customers.csv");
        assert!(
            now == old_customers || now == new_customers,
            "torn file after {delay_ms} ms"
        );
        // The ledger is whole or recoverable, and a re-run finishes the job.
        if p.run(&["ledger", "verify"]).code() != 0 {
            p.run(&["ledger", "recover"]).expect(0);
        }
        p.run(&[
            "subject",
            "erase",
            "--id",
            ann,
            "--apply",
            "--out",
            "erasures/k2",
        ])
        .expect(0);
        fail_if_found(&p, ann).expect(0);
        assert_eq!(p.read("data/customers.csv"), new_customers);
        // Her orders too, though after a kill between the files only the journal leads there.
        let orders = p.read("data/orders.csv");
        assert!(!orders.contains("C001"), "after {delay_ms} ms: {orders}");
        assert_eq!(orders.lines().count(), 5);
        let left: Vec<String> = std::fs::read_dir(p.path("data"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert_eq!(left, Vec::<String>::new(), "after {delay_ms} ms");
    }
}

#[test]
fn an_access_request_exports_the_subjects_own_rows_and_prints_none() {
    use std::os::unix::fs::PermissionsExt;
    let p = pipeline();
    let run = p.run(&[
        "subject",
        "find",
        "--id",
        "email=ann.lee@example.com",
        "--export",
        "access/req-7",
    ]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(!run.stdout().contains("ann.lee") && !run.stderr().contains("ann.lee"));
    let read = |name: &str| -> Value {
        serde_json::from_str(&p.read(&format!("access/req-7/{name}"))).unwrap()
    };
    let customers = read("data_customers.csv.json");
    assert!(
        customers["notice"]
            .as_str()
            .unwrap()
            .starts_with("PERSONAL DATA")
    );
    assert_eq!(
        customers["rows"],
        serde_json::json!([{"customer_id": "C001", "email": "ann.lee@example.com",
            "full_name": "Ann Lee", "country": "DE", "birth_date": "1984-03-04"}])
    );
    let orders = read("data_orders.csv.json");
    let ids: Vec<&str> = orders["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["O-1002", "O-1004"]);
    // Parquet rows too, and only hers.
    let enriched = read("out_orders_enriched.parquet.json");
    assert_eq!(enriched["rows"].as_array().unwrap().len(), 2);
    assert!(
        enriched["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["customer_id"] == "C001")
    );
    let mode = |rel: &str| std::fs::metadata(p.path(rel)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("access/req-7"), 0o700);
    assert_eq!(mode("access/req-7/data_customers.csv.json"), 0o600);
}

/// A kill while the journal was being saved leaves its temporary file (salt and identity
/// hashes) beside it; the resumed erasure removes it with the journal.
#[test]
#[cfg(target_os = "linux")]
fn a_resumed_erasure_removes_what_a_killed_journal_save_left() {
    let p = pipeline();
    let ann = "email=ann.lee@example.com";
    erase_blocked_by(&p, ann, "data/orders.csv", "e/1");
    let journal = std::fs::read_dir(p.path(".piitrail/erasures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .expect("the journal of the stopped erasure");
    let name = journal.file_name().unwrap().to_string_lossy().to_string();
    let leftover = p.write(
        &format!(".piitrail/erasures/.{name}.piitrail-Xk3f9q.tmp"),
        "{\"salt\": \"...\"}",
    );
    p.run(&["subject", "erase", "--id", ann, "--apply", "--out", "e/2"])
        .expect(0);
    assert!(
        !leftover.exists(),
        "the killed save's temporary file is still there"
    );
    assert_eq!(
        std::fs::read_dir(p.path(".piitrail/erasures"))
            .unwrap()
            .count(),
        0
    );
}
