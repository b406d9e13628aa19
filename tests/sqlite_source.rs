//! SQLite databases as a source (issue 16): `scan sqlite:PATH` scans every table through the
//! data layer, with the tags the same tables get as CSV files, never changes the database,
//! and names its tables `sqlite:PATH.TABLE` with a version that is not a file digest.

mod common;

use std::collections::BTreeMap;

use common::{Project, Rng};

/// A table: its name, its column names and its rows.
type Table = (&'static str, Vec<&'static str>, Vec<Vec<String>>);

/// A small shop: customers, employees, orders that reference customers, support tickets with
/// free text, and a lookup table without rowid.
fn shop(rows: u64) -> Vec<Table> {
    let mut rng = Rng::new(16);
    let first = [
        "Anna", "Jan", "Marie", "Luca", "Sofia", "Pierre", "Eva", "Tomas",
    ];
    let last = ["Kowalski", "Dupont", "Rossi", "Meyer", "Jansen", "Silva"];
    let customers = (1..=rows)
        .map(|i| {
            vec![
                i.to_string(),
                format!("{} {}", rng.pick(&first), rng.pick(&last)),
                format!("user{i}@example.org"),
                format!("+49 30 {}", rng.digits(7)),
                format!(
                    "19{}-0{}-1{}",
                    rng.range(50, 99),
                    rng.range(1, 9),
                    rng.below(9)
                ),
                rng.pick(&["DE", "FR", "NL"]).to_string(),
            ]
        })
        .collect();
    let employees = (1..=rows / 4)
        .map(|i| {
            vec![
                format!("E{i:05}"),
                rng.pick(&last).to_string(),
                rng.pick(&first).to_string(),
                "DE89370400440532013000".to_string(),
                rng.pick(&["M", "F"]).to_string(),
            ]
        })
        .collect();
    let orders = (1..=rows * 3)
        .map(|i| {
            vec![
                i.to_string(),
                rng.range(1, rows).to_string(),
                format!("{}.{:02}", rng.below(500), rng.below(100)),
                format!("SKU-{}", rng.digits(5)),
            ]
        })
        .collect();
    let tickets = (1..=rows)
        .map(|i| {
            vec![
                i.to_string(),
                rng.range(1, rows).to_string(),
                rng.pick(&[
                    "parcel arrived damaged, please call back",
                    "wrong size delivered, exchange requested",
                    "invoice address needs a correction",
                ])
                .to_string(),
            ]
        })
        .collect();
    let countries = [("DE", "Germany"), ("FR", "France"), ("NL", "Netherlands")]
        .iter()
        .map(|(c, n)| vec![c.to_string(), n.to_string()])
        .collect();
    vec![
        (
            "customers",
            vec![
                "customer_id",
                "full_name",
                "email",
                "phone",
                "date_of_birth",
                "country",
            ],
            customers,
        ),
        (
            "employees",
            vec!["employee_no", "last_name", "first_name", "iban", "gender"],
            employees,
        ),
        (
            "orders",
            vec!["order_id", "customer_id", "amount", "sku"],
            orders,
        ),
        (
            "tickets",
            vec!["ticket_id", "customer_id", "message"],
            tickets,
        ),
        ("countries", vec!["code", "name"], countries),
    ]
}

/// Writes the shop as CSV files under `csv/` and as one SQLite file `shop.db`.
fn write_shop(p: &Project, rows: u64) {
    let db = rusqlite::Connection::open(p.path("shop.db")).unwrap();
    for (name, header, data) in shop(rows) {
        let mut csv = header.join(",");
        csv.push('\n');
        for r in &data {
            csv.push_str(&r.join(","));
            csv.push('\n');
        }
        p.write(&format!("csv/{name}.csv"), csv);
        let columns: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, c)| match (name, i) {
                ("countries", 0) => format!("{c} TEXT PRIMARY KEY"),
                (_, 0) if c.ends_with("_id") => format!("{c} INTEGER PRIMARY KEY"),
                ("orders" | "tickets", 1) => {
                    format!("{c} INTEGER REFERENCES customers(customer_id)")
                }
                _ => format!("{c} TEXT"),
            })
            .collect();
        let rowid = if name == "countries" {
            " WITHOUT ROWID"
        } else {
            ""
        };
        db.execute(
            &format!("CREATE TABLE {name} ({}){rowid}", columns.join(", ")),
            [],
        )
        .unwrap();
        let marks = vec!["?"; header.len()].join(", ");
        let mut insert = db
            .prepare(&format!("INSERT INTO {name} VALUES ({marks})"))
            .unwrap();
        for r in &data {
            insert
                .execute(rusqlite::params_from_iter(r.iter()))
                .unwrap();
        }
    }
}

/// (table, column) → categories, from `scan --format json` lines.
fn tags(scans: &[serde_json::Value]) -> BTreeMap<(String, String), Vec<String>> {
    let mut out = BTreeMap::new();
    for s in scans {
        let artifact = s["artifact"].as_str().unwrap();
        let table = artifact
            .rsplit(['/', '.'])
            .find(|part| !matches!(*part, "csv" | "parquet"))
            .unwrap()
            .to_string();
        for c in s["columns"].as_array().unwrap() {
            let mut cats: Vec<String> = c["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["category"].as_str().unwrap().to_string())
                .collect();
            cats.sort();
            out.insert(
                (table.clone(), c["name"].as_str().unwrap().to_string()),
                cats,
            );
        }
    }
    out
}

#[test]
fn a_sqlite_database_is_scanned_table_by_table_with_the_tags_its_csv_exports_get() {
    let p = Project::new();
    write_shop(&p, 4_000);
    let before = std::fs::read(p.path("shop.db")).unwrap();
    for mode in [&["--sample", "2000"][..], &["--full"][..]] {
        let db = p
            .run(&[&["scan", "sqlite:shop.db", "--format", "json"][..], mode].concat())
            .expect(0)
            .json_lines();
        let csv = p
            .run(&[&["scan", "csv", "--format", "json"][..], mode].concat())
            .expect(0)
            .json_lines();
        assert_eq!(db.len(), 5, "one artifact per table");
        let names: Vec<&str> = db.iter().map(|s| s["artifact"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "sqlite:shop.db.countries",
                "sqlite:shop.db.customers",
                "sqlite:shop.db.employees",
                "sqlite:shop.db.orders",
                "sqlite:shop.db.tickets"
            ]
        );
        let (db_tags, csv_tags) = (tags(&db), tags(&csv));
        assert_eq!(db_tags, csv_tags, "{mode:?}");
        let tagged = db_tags.values().filter(|c| !c.is_empty()).count();
        assert!(
            tagged >= 8,
            "the shop's personal columns are found: {db_tags:?}"
        );
        assert!(
            db_tags[&("customers".into(), "email".into())].contains(&"user.contact.email".into())
        );
        assert!(
            db_tags[&("employees".into(), "iban".into())]
                .contains(&"user.financial.bank_account".into())
        );
        for s in &db {
            assert_eq!(s["format"], "sqlite");
            let digest = s["digest"].as_str().unwrap();
            assert!(
                digest.starts_with("rows-sha256:") || digest.starts_with("sample-sha256:"),
                "a table's version is marked as one, never a file digest: {digest}"
            );
            assert_eq!(
                s["rows_total"].as_u64(),
                csv.iter()
                    .find(|c| {
                        c["artifact"].as_str().unwrap().ends_with(&format!(
                            "/{}.csv",
                            s["artifact"].as_str().unwrap().rsplit('.').next().unwrap()
                        ))
                    })
                    .unwrap()["rows_total"]
                    .as_u64()
            );
        }
        let orders = &db[3];
        if mode == ["--full"] {
            assert_eq!(orders["rows_scanned"], 12_000);
            assert_eq!(orders["sampling"], "every row");
        } else {
            let rows = orders["rows_scanned"].as_u64().unwrap();
            assert!((1_900..=2_100).contains(&rows), "{rows}");
            assert!(
                orders["sampling"]
                    .as_str()
                    .unwrap()
                    .contains("rowid ranges"),
                "{}",
                orders["sampling"]
            );
            assert_eq!(db[0]["sampling"], "all 3 rows");
        }
        // Declared SQL types are what the report shows.
        assert_eq!(db[3]["columns"][1]["type"], "INTEGER");
    }
    assert_eq!(
        std::fs::read(p.path("shop.db")).unwrap(),
        before,
        "the audited database is unchanged"
    );
    assert!(!p.path("shop.db-wal").exists() && !p.path("shop.db-journal").exists());
}

#[test]
fn a_table_version_follows_its_rows() {
    let p = Project::new();
    write_shop(&p, 300);
    let version = |p: &Project| {
        let scans = p
            .run(&["scan", "sqlite:shop.db", "--full", "--format", "json"])
            .expect(0)
            .json_lines();
        scans
            .iter()
            .map(|s| s["digest"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let first = version(&p);
    assert_eq!(first, version(&p), "the same rows give the same version");
    let db = rusqlite::Connection::open(p.path("shop.db")).unwrap();
    db.execute("UPDATE orders SET amount = '1.00' WHERE order_id = 7", [])
        .unwrap();
    drop(db);
    let second = version(&p);
    assert_eq!(first[1], second[1], "customers did not change");
    assert_ne!(first[3], second[3], "orders changed");
}

#[test]
fn a_missing_or_broken_database_is_named_and_nothing_is_created() {
    let p = Project::new();
    p.run(&["scan", "sqlite:nothere.db"])
        .expect_error("nothere.db");
    assert!(!p.path("nothere.db").exists(), "SQLite would create it");
    p.write("notadb.db", "customer_id,email\n1,a@b.de\n");
    let run = p
        .run(&["scan", "sqlite:notadb.db"])
        .expect_error("sqlite:notadb.db");
    assert!(!run.stderr().contains("a@b.de"));
}

/// A project with the shop as `shop.db` of `rows` customers, every table's scan recorded.
fn recorded_shop(rows: u64) -> Project {
    let p = Project::new();
    write_shop(&p, rows);
    p.run(&["init"]).expect(0);
    p.run(&["scan", "--record", "sqlite:shop.db"]).expect(0);
    p
}

/// The ledger's records of one kind, in order.
fn records(p: &Project, kind: &str) -> Vec<serde_json::Value> {
    p.read(".piitrail/ledger.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["kind"] == kind)
        .collect()
}

#[test]
fn recorded_table_scans_version_each_table_by_its_rows_and_reach_the_audit() {
    let p = Project::new();
    write_shop(&p, 300);
    p.run(&["init"]).expect(0);
    p.run(&["scan", "--record", "--sample", "100", "sqlite:shop.db"])
        .expect(0);
    let first = records(&p, "artifact");
    assert_eq!(first.len(), 5, "one version per table: {first:?}");
    let customers = first
        .iter()
        .find(|a| a["artifact"]["path"] == "sqlite:shop.db.customers")
        .unwrap_or_else(|| panic!("{first:?}"));
    let version = customers["artifact"]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        version.starts_with("rows-sha256:"),
        "a recorded sample names the table's version (all its rows), not the sample's: {version}"
    );
    // A full scan of the unchanged tables finds the same versions: no new artifact record.
    p.run(&["scan", "--record", "--full", "sqlite:shop.db"])
        .expect(0);
    assert_eq!(records(&p, "artifact").len(), 5);
    assert_eq!(records(&p, "scan").len(), 10);
    let db = rusqlite::Connection::open(p.path("shop.db")).unwrap();
    db.execute(
        "UPDATE customers SET email = 'new@example.org' WHERE customer_id = 3",
        [],
    )
    .unwrap();
    drop(db);
    p.run(&["scan", "--record", "sqlite:shop.db", "--table", "customers"])
        .expect(0);
    let versions = records(&p, "artifact");
    assert_eq!(versions.len(), 6, "customers changed: a new version");
    assert_eq!(versions[5]["artifact"]["path"], "sqlite:shop.db.customers");
    assert_eq!(versions[5]["artifact"]["previous"], version.as_str());
    p.run(&["ledger", "verify"]).expect(0);
    // Exit 1: the project declares none of its personal columns (the gate's `undeclared-pii`).
    p.run(&["audit", "--out", "report"]).expect(1);
    let report: serde_json::Value = serde_json::from_str(&p.read("report/report.json")).unwrap();
    let paths: Vec<&str> = report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"sqlite:shop.db.customers"), "{paths:?}");
    assert!(!p.read("report/report.json").contains("new@example.org"));
    // Signed, each table's version is a subject under its own digest name (never `sha256`),
    // and `verify --artifacts` reads the table again to check it.
    p.run(&["keygen", "--out", "keys"]).expect(0);
    // Exit 1: the project declares none of its personal columns (the gate's `undeclared-pii`).
    p.run(&["audit", "--out", "signed", "--key", "keys/piitrail.key"])
        .expect(1);
    let envelope: serde_json::Value =
        serde_json::from_str(&p.read("signed/report.dsse.json")).unwrap();
    let payload = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(envelope["payload"].as_str().unwrap())
            .unwrap()
    };
    let statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    let subject = statement["subject"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "sqlite:shop.db.customers")
        .unwrap_or_else(|| panic!("{statement}"));
    let now = versions[5]["artifact"]["digest"].as_str().unwrap();
    assert_eq!(
        subject["digest"],
        serde_json::json!({"piitrail-rows-sha256": now.trim_start_matches("rows-sha256:")})
    );
    let verify = [
        "verify",
        "signed/report.dsse.json",
        "--key",
        "keys/piitrail.pub",
        "--artifacts",
    ];
    let ok = p.run(&verify).expect(0);
    assert!(
        ok.stdout().contains("ok       sqlite:shop.db.customers"),
        "{}",
        ok.stdout()
    );
    let db = rusqlite::Connection::open(p.path("shop.db")).unwrap();
    db.execute("DELETE FROM orders WHERE order_id = 5", [])
        .unwrap();
    drop(db);
    let changed = p.run(&verify).expect(1);
    assert!(
        changed
            .stdout()
            .contains("CHANGED  sqlite:shop.db.orders: its rows' version is now"),
        "{}",
        changed.stdout()
    );
    assert!(
        changed
            .stdout()
            .contains("ok       sqlite:shop.db.customers")
    );
}

#[test]
fn the_gate_checks_database_tables_against_their_declarations() {
    let p = Project::new();
    write_shop(&p, 200);
    p.run(&["init"]).expect(0);
    let mut toml = p.read("piitrail.toml");
    toml.push_str(
        r#"
[[dataset]]
path = "sqlite:shop.db.customers"
purpose = "orders"
legal_basis = "contract"
columns = { customer_id = "user.unique_id", full_name = "user.name", email = "user.contact.email", phone = "user.contact.phone_number", date_of_birth = "user.demographic.date_of_birth", country = "user.contact.address.country" }
"#,
    );
    p.write("piitrail.toml", toml);
    let run = p.run(&["gate", "sqlite:shop.db"]).expect(1);
    let out = format!("{}{}", run.stdout(), run.stderr());
    assert!(
        !out.contains("sqlite:shop.db.customers: column"),
        "the declared table passes: {out}"
    );
    assert!(
        out.contains("sqlite:shop.db.employees: column 'iban'"),
        "an undeclared table's personal column is an error: {out}"
    );
}

#[test]
fn a_declared_foreign_key_to_a_person_table_makes_a_person_key() {
    let p = Project::new();
    let db = rusqlite::Connection::open(p.path("ledger.db")).unwrap();
    db.execute_batch(
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, full_name TEXT, email TEXT);
         CREATE TABLE invoices (invoice_no INTEGER PRIMARY KEY,
             account INTEGER REFERENCES customers(customer_id),
             holder INTEGER REFERENCES CUSTOMERS,
             total TEXT);
         CREATE TABLE depots (depot_no INTEGER PRIMARY KEY, label TEXT);
         CREATE TABLE shipments (shipment_no INTEGER PRIMARY KEY,
             invoice INTEGER REFERENCES invoices(invoice_no),
             depot INTEGER REFERENCES depots(depot_no));
         CREATE TABLE pairs (a INTEGER, b INTEGER, FOREIGN KEY (a, b) REFERENCES invoices(account, holder));",
    )
    .unwrap();
    let names = ["Anna Kowalski", "Jan Dupont", "Marie Rossi", "Luca Meyer"];
    for i in 1..=300 {
        db.execute(
            "INSERT INTO customers VALUES (?1, ?2, ?3)",
            rusqlite::params![i, names[i as usize % 4], format!("c{i}@example.org")],
        )
        .unwrap();
        db.execute(
            "INSERT INTO invoices VALUES (?1, ?2, ?3, '10.00')",
            rusqlite::params![i, (i * 7) % 300 + 1, (i * 11) % 300 + 1],
        )
        .unwrap();
        db.execute(
            "INSERT INTO depots VALUES (?1, 'north')",
            rusqlite::params![i],
        )
        .unwrap();
        db.execute(
            "INSERT INTO shipments VALUES (?1, ?2, ?3)",
            rusqlite::params![i, i, i % 5 + 1],
        )
        .unwrap();
        db.execute(
            "INSERT INTO pairs VALUES (?1, ?2)",
            rusqlite::params![(i * 7) % 300 + 1, (i * 11) % 300 + 1],
        )
        .unwrap();
    }
    drop(db);
    let scans = p
        .run(&["scan", "sqlite:ledger.db", "--format", "json"])
        .expect(0)
        .json_lines();
    let tags = |table: &str, name: &str| {
        let artifact = format!("sqlite:ledger.db.{table}");
        common::tags_of(
            scans.iter().find(|s| s["artifact"] == artifact).unwrap(),
            name,
        )
    };
    // `account` and `holder` say nothing by name; the catalog says they hold customers' keys
    // (`holder` by `REFERENCES CUSTOMERS`: the primary key, the table named in any case).
    for name in ["account", "holder"] {
        let tags = tags("invoices", name);
        let tag = tags.first().unwrap_or_else(|| panic!("{name} has no tag"));
        assert_eq!(tag["category"], "user.unique_id", "{name}: {tag}");
        assert_eq!(tag["evidence"]["basis"], "reference");
        assert_eq!(tag["evidence"]["references"], "customers.customer_id");
        assert!(
            tag["evidence"]["reason"]
                .as_str()
                .unwrap()
                .contains("declared foreign key"),
            "{tag}"
        );
    }
    // Keys of tables that are not about people, and a key over two columns, make none.
    for (table, name) in [
        ("shipments", "invoice"),
        ("shipments", "depot"),
        ("pairs", "a"),
    ] {
        assert!(tags(table, name).is_empty(), "{table}.{name}");
    }
    // The same tables as CSV files have no catalog: nothing links `account` to customers.
    let db = rusqlite::Connection::open(p.path("ledger.db")).unwrap();
    for (table, header) in [
        ("customers", "customer_id,full_name,email"),
        ("invoices", "invoice_no,account,holder,total"),
    ] {
        let mut stmt = db.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let width = stmt.column_count();
        let mut csv = format!("{header}\n");
        let mut rows = stmt.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let cells: Vec<String> = (0..width)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                    v => v.as_str().unwrap().to_string(),
                })
                .collect();
            csv.push_str(&cells.join(","));
            csv.push('\n');
        }
        p.write(&format!("csv/{table}.csv"), csv);
    }
    let csv = p
        .run(&["scan", "csv", "--format", "json"])
        .expect(0)
        .json_lines();
    let invoices = csv
        .iter()
        .find(|s| s["artifact"].as_str().unwrap().ends_with("invoices.csv"))
        .unwrap();
    assert_eq!(invoices["columns"][1]["name"], "account");
    assert_eq!(invoices["columns"][1]["tags"], serde_json::json!([]));
}

#[test]
fn table_globs_narrow_a_database_scan_and_a_glob_that_names_nothing_is_refused() {
    let p = Project::new();
    write_shop(&p, 100);
    let scans = p
        .run(&[
            "scan",
            "sqlite:shop.db",
            "--table",
            "cust*",
            "--table",
            "MAIN.Orders",
            "--format",
            "json",
        ])
        .expect(0)
        .json_lines();
    let names: Vec<&str> = scans
        .iter()
        .map(|s| s["artifact"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sqlite:shop.db.customers", "sqlite:shop.db.orders"]);
    let run = p
        .run(&[
            "scan",
            "sqlite:shop.db",
            "--table",
            "cust*",
            "--table",
            "invoices",
        ])
        .expect_error("'invoices'");
    assert!(run.stderr().contains("sqlite:shop.db"), "{}", run.stderr());
    assert!(run.stdout().is_empty(), "nothing scanned: {}", run.stdout());
    p.run(&["scan", "csv", "--table", "customers"])
        .expect_error("no PATH names one");
    p.run(&["scan", "sqlite:shop.db", "--table", "[a"])
        .expect_error("--table '[a'");
    p.run(&["gate", "sqlite:shop.db", "--table", "countries"])
        .expect(0);
}

#[test]
fn a_subject_is_found_in_database_tables_and_along_their_declared_foreign_keys() {
    let p = recorded_shop(300);
    let db = rusqlite::Connection::open(p.path("shop.db")).unwrap();
    // Rows are numbered in rowid order; these tables' rowids are their keys 1..N.
    let rows_of = |sql: &str| -> Vec<u64> {
        let mut stmt = db.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|r| r.unwrap() as u64)
            .collect()
    };
    let orders = rows_of("SELECT order_id FROM orders WHERE customer_id = 7 ORDER BY order_id");
    let tickets = rows_of("SELECT ticket_id FROM tickets WHERE customer_id = 7 ORDER BY ticket_id");
    assert!(!orders.is_empty() && !tickets.is_empty());
    let before = std::fs::read(p.path("shop.db")).unwrap();
    let found: serde_json::Value = serde_json::from_str(
        &p.run(&[
            "subject",
            "find",
            "--id",
            "email=user7@example.org",
            "--format",
            "json",
            "--export",
            "access",
        ])
        .expect(0)
        .stdout(),
    )
    .unwrap();
    let locators = |path: &str| -> Vec<u64> {
        found["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["path"] == path)
            .unwrap_or_else(|| panic!("{path} in {found}"))["locators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    };
    assert_eq!(locators("sqlite:shop.db.customers"), [7]);
    // `orders.customer_id REFERENCES customers(customer_id)`: the key found in customers
    // is followed into the tables that declare a foreign key to it.
    assert_eq!(locators("sqlite:shop.db.orders"), orders);
    assert_eq!(locators("sqlite:shop.db.tickets"), tickets);
    // Each row found is named by the primary key its table declares.
    assert_eq!(
        keys(&found, "sqlite:shop.db.customers", "customer_id"),
        ["7"]
    );
    let order_keys: Vec<String> = orders.iter().map(|o| o.to_string()).collect();
    assert_eq!(
        keys(&found, "sqlite:shop.db.orders", "order_id"),
        order_keys
    );
    let out = serde_json::to_string(&found).unwrap();
    assert!(
        !out.contains("user7@example.org"),
        "values are never printed"
    );
    let export = std::fs::read_dir(p.path("access"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|t| t.contains("sqlite:shop.db.customers"))
        .expect("the customer's own row is exported");
    assert!(export.contains("user7@example.org"), "{export}");
    assert_eq!(
        std::fs::read(p.path("shop.db")).unwrap(),
        before,
        "a search changes nothing"
    );
}

/// The `column` values of an artifact's `keys` in a `subject find` answer.
fn keys(found: &serde_json::Value, path: &str, column: &str) -> Vec<String> {
    let artifact = found["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == path)
        .unwrap_or_else(|| panic!("{path} in {found}"));
    artifact["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("keys of {path}: {artifact}"))
        .iter()
        .map(|k| k[column].as_str().unwrap().to_string())
        .collect()
}

/// Rows are located by the primary key their table declares, not by their place: a key of
/// member numbers out of insertion order names the subject's rows. A key that is personal
/// data itself (an e-mail address) is never printed.
#[test]
fn a_subjects_rows_are_named_by_their_tables_declared_primary_key() {
    let p = Project::new();
    let db = rusqlite::Connection::open(p.path("club.db")).unwrap();
    db.execute_batch(
        "CREATE TABLE members (member_no TEXT PRIMARY KEY, name TEXT, email TEXT);
         CREATE TABLE newsletter (email TEXT PRIMARY KEY, topic TEXT);",
    )
    .unwrap();
    for i in 0..200u32 {
        // Member numbers that do not follow the rows' order.
        let no = format!("M-{:04}", (i * 7919) % 10_000);
        let email = format!("member{i}@example.org");
        db.execute(
            "INSERT INTO members VALUES (?1, ?2, ?3)",
            rusqlite::params![no, format!("Anna Meyer{i}"), email],
        )
        .unwrap();
        db.execute(
            "INSERT INTO newsletter VALUES (?1, ?2)",
            rusqlite::params![email, ["sport", "music"][i as usize % 2]],
        )
        .unwrap();
    }
    drop(db);
    p.run(&["init"]).expect(0);
    p.run(&["scan", "--record", "sqlite:club.db"]).expect(0);
    let found: serde_json::Value = serde_json::from_str(
        &p.run(&[
            "subject",
            "find",
            "--id",
            "email=member42@example.org",
            "--format",
            "json",
        ])
        .expect(0)
        .stdout(),
    )
    .unwrap();
    let want = format!("M-{:04}", (42 * 7919) % 10_000);
    assert_eq!(keys(&found, "sqlite:club.db.members", "member_no"), [want]);
    let newsletter = found["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == "sqlite:club.db.newsletter")
        .unwrap_or_else(|| panic!("the newsletter row in {found}"));
    assert!(newsletter.get("keys").is_none(), "{newsletter}");
    assert!(!found.to_string().contains("member42@example.org"));
}

/// Every row of a table as text, in rowid order.
fn dump(p: &Project, table: &str) -> Vec<String> {
    let db = rusqlite::Connection::open(p.path("shop.db")).unwrap();
    let mut stmt = db
        .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
        .unwrap();
    let width = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..width)
            .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
            .collect::<Vec<_>>()
            .join("|"))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn an_erasure_deletes_exactly_the_subjects_rows_of_a_database_in_one_transaction() {
    let p = recorded_shop(300);
    p.run(&["keygen", "--out", "keys"]).expect(0);
    let before: BTreeMap<&str, Vec<String>> = ["customers", "orders", "tickets", "employees"]
        .into_iter()
        .map(|t| (t, dump(&p, t)))
        .collect();
    // A table nobody recorded still refers to customer 7 and forbids deleting them: the
    // database holds the erasure back, and nothing is deleted.
    let db = rusqlite::Connection::open(p.path("shop.db")).unwrap();
    db.execute_batch(
        "CREATE TABLE loyalty (card INTEGER PRIMARY KEY,
             customer_id INTEGER REFERENCES customers(customer_id) ON DELETE RESTRICT);
         INSERT INTO loyalty VALUES (1, 7);",
    )
    .unwrap();
    drop(db);
    let held = p
        .run(&[
            "subject",
            "erase",
            "--id",
            "email=user7@example.org",
            "--apply",
        ])
        .expect(1);
    assert!(held.stdout().contains("FAILED"), "{}", held.stdout());
    assert!(
        held.stdout().contains("FOREIGN KEY"),
        "the reason is the database's: {}",
        held.stdout()
    );
    for (table, rows) in &before {
        assert_eq!(&dump(&p, table), rows, "{table} is as it was");
    }
    // Without it, a re-run finishes the erasure.
    let db = rusqlite::Connection::open(p.path("shop.db")).unwrap();
    db.execute_batch("DROP TABLE loyalty;").unwrap();
    drop(db);
    let done = p
        .run(&[
            "subject",
            "erase",
            "--id",
            "email=user7@example.org",
            "--apply",
            "--key",
            "keys/piitrail.key",
        ])
        .expect(0);
    assert!(done.stdout().contains("verified"), "{}", done.stdout());
    // Exactly the subject's rows are gone; every other row is as it was.
    let subject = |table: &str, row: &String| match table {
        "customers" => row.starts_with("Integer(7)|"),
        "orders" | "tickets" => row.split('|').nth(1) == Some("Integer(7)"),
        _ => false,
    };
    for (table, rows) in &before {
        let kept: Vec<String> = rows
            .iter()
            .filter(|r| !subject(table, r))
            .cloned()
            .collect();
        assert!(kept.len() < rows.len() || *table == "employees", "{table}");
        assert_eq!(dump(&p, table), kept, "{table}");
    }
    let cert: serde_json::Value =
        serde_json::from_str(&p.read("piitrail-erasure/certificate.json")).unwrap();
    let removed = cert["applied"]["removed"].as_array().unwrap();
    let customers = removed
        .iter()
        .find(|r| r["path"] == "sqlite:shop.db.customers")
        .unwrap();
    assert_eq!(customers["removed"], 1);
    assert_eq!(customers["rows_after"], 299);
    assert!(
        customers["digest_after"]
            .as_str()
            .unwrap()
            .starts_with("rows-sha256:")
    );
    p.run(&["ledger", "verify"]).expect(0);
    p.run(&[
        "verify",
        "piitrail-erasure/certificate.dsse.json",
        "--key",
        "keys/piitrail.pub",
    ])
    .expect(0);
    p.run(&[
        "subject",
        "find",
        "--id",
        "email=user7@example.org",
        "--fail-if-found",
    ])
    .expect(0);
}

/// `run` reads database tables as inputs: each read whole (into a private copy) and versioned
/// as `scan` versions it, recorded under the table's name, its columns' lineage kept.
#[test]
fn a_run_reads_database_tables_and_records_them_by_name_and_version() {
    let p = recorded_shop(300);
    let ran: serde_json::Value = serde_json::from_str(
        &p.run(&[
            "run",
            "--input",
            "c=sqlite:shop.db.customers",
            "--input",
            "o=sqlite:shop.db.orders",
            "--sql",
            "SELECT c.email, COUNT(*) AS orders FROM c JOIN o ON o.customer_id = c.customer_id GROUP BY c.email",
            "--output",
            "per_customer.csv",
            "--format",
            "json",
        ])
        .expect(0)
        .stdout(),
    )
    .unwrap();
    let x = &ran["execution"];
    let scanned: BTreeMap<String, String> = records(&p, "artifact")
        .iter()
        .map(|r| {
            (
                r["artifact"]["path"].as_str().unwrap().to_string(),
                r["artifact"]["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (i, table) in ["customers", "orders"].iter().enumerate() {
        let name = format!("sqlite:shop.db.{table}");
        assert_eq!(x["inputs"][i]["path"], name.as_str());
        assert_eq!(
            x["inputs"][i]["digest"].as_str(),
            scanned.get(&name).map(String::as_str),
            "the version `scan` recorded"
        );
    }
    let email = x["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["to"]["column"] == "email")
        .unwrap_or_else(|| panic!("{x}"));
    assert_eq!(email["from"]["path"], "sqlite:shop.db.customers");
    let out = p.read("per_customer.csv");
    let customers = out.lines().count() - 1;
    assert!((100..=300).contains(&customers), "{customers}");
    // The graph joins the table the scan recorded to the output.
    let lineage = p
        .run(&["lineage", "--columns", "per_customer.csv"])
        .expect(0)
        .stdout();
    assert!(
        lineage
            .contains("sqlite:shop.db.customers:email -> per_customer.csv:email  DIRECT IDENTITY"),
        "{lineage}"
    );
    // An erasure deletes the subject's rows from the tables and re-runs the step from them.
    assert!(out.contains("user7@example.org"));
    let erased = p
        .run(&[
            "subject",
            "erase",
            "--id",
            "email=user7@example.org",
            "--apply",
        ])
        .expect(0)
        .stdout();
    assert!(erased.contains("per_customer.csv"), "{erased}");
    let out = p.read("per_customer.csv");
    assert!(
        !out.contains("user7@example.org"),
        "recomputed from the tables"
    );
    assert_eq!(out.lines().count() - 1, customers - 1);
    // A table the database does not have is named.
    p.run(&[
        "run",
        "--input",
        "t=sqlite:shop.db.nothing",
        "--sql",
        "SELECT * FROM t",
        "--output",
        "x.csv",
    ])
    .expect_error("sqlite:shop.db.nothing: no such table");
    assert!(!p.path("x.csv").exists());
}

/// A project whose data roots hold the database server's database at `url` (named `root`,
/// without credentials), every table's scan recorded.
#[cfg(feature = "interop")]
fn recorded_server(url: &str, root: &str) -> Project {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    p.add_data_root(root);
    p.run(&["scan", "--record", url]).expect(0);
    p
}

/// One interrupted erasure of customer 7 (`email=user7@example.org`) in a project that recorded
/// a live database: the process is killed after `delay_ms`, or `cut` ends its connections
/// then. The database is then as it was or as it is after the erasure, never between
/// (`state` gives each table's rows, `subjects` tells the subject's rows of table `i`), and a
/// re-run finishes the job.
#[cfg(feature = "interop")]
fn interrupted_erasure(
    p: &Project,
    delay_ms: u64,
    cut: Option<impl FnOnce()>,
    state: impl Fn() -> Vec<Vec<String>>,
    subjects: impl Fn(usize, &str) -> bool,
) {
    let id = "email=user7@example.org";
    let before = state();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_piitrail"))
        .current_dir(p.dir.path())
        .args(["subject", "erase", "--id", id, "--apply"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
    match cut {
        Some(cut) => cut(),
        None => {
            let _ = child.kill();
        }
    }
    let _ = child.wait();
    let now = state();
    if !now[0].iter().any(|r| subjects(0, r)) {
        // After: no row of the subject in any table; every other row as it was.
        for (table, (b, n)) in before.iter().zip(&now).enumerate() {
            let kept: Vec<&String> = b.iter().filter(|r| !subjects(table, r)).collect();
            assert_eq!(n.iter().collect::<Vec<_>>(), kept, "after {delay_ms} ms");
        }
    } else {
        assert_eq!(now, before, "nothing half-deleted after {delay_ms} ms");
    }
    if p.run(&["ledger", "verify"]).code() != 0 {
        p.run(&["ledger", "recover"]).expect(0);
    }
    p.run(&["subject", "erase", "--id", id, "--apply"])
        .expect(0);
    p.run(&["subject", "find", "--id", id, "--fail-if-found"])
        .expect(0);
    assert!(!state()[0].iter().any(|r| subjects(0, r)));
}

/// The same shop in a live PostgreSQL server (the throwaway cluster `./scripts/test` starts
/// with `scripts/pg-server`): scanned, searched and erased through the same data layer.
#[cfg(feature = "interop")]
mod postgres {
    use super::*;

    /// The server's URL (no password: it is in PGPASSWORD).
    fn server() -> String {
        std::env::var("PIITRAIL_PG_URL").expect(
            "PIITRAIL_PG_URL is not set: run ./scripts/test, which starts a throwaway PostgreSQL server (scripts/pg-server)",
        )
    }

    /// Runs `sql` (on standard input: it may be long) with psql, in one transaction.
    fn psql(url: &str, sql: &str) -> String {
        use std::io::Write;
        let mut child = std::process::Command::new("psql")
            .args([url, "-X", "-q", "-A", "-t", "-1", "-v", "ON_ERROR_STOP=1"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("psql (Debian postgresql-client) runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A fresh database of the server, for one test.
    pub(super) fn database(name: &str) -> String {
        let server = server();
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            // Outside a transaction block, as these must run.
            let out = std::process::Command::new("psql")
                .args([&server, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", &sql])
                .output()
                .expect("psql (Debian postgresql-client) runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let (base, _) = server.rsplit_once('/').unwrap();
        format!("{base}/{name}")
    }

    /// `postgres://HOST:PORT/DB`, as artifacts are named.
    fn named(url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap();
        let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
        format!("{scheme}://{rest}")
    }

    fn literal(v: &str) -> String {
        format!("'{}'", v.replace('\'', "''"))
    }

    /// The shop in schema `shop`, with the keys the SQLite file declares.
    pub(super) fn write_pg(url: &str, rows: u64) {
        let mut sql = String::from("CREATE SCHEMA shop;\n");
        for (name, header, data) in shop(rows) {
            let columns: Vec<String> = header
                .iter()
                .enumerate()
                .map(|(i, c)| match (name, i) {
                    ("countries", 0) => format!("{c} text PRIMARY KEY"),
                    (_, 0) if c.ends_with("_id") => format!("{c} integer PRIMARY KEY"),
                    ("orders" | "tickets", 1) => {
                        format!("{c} integer REFERENCES shop.customers(customer_id)")
                    }
                    ("customers", 4) => format!("{c} date"),
                    _ => format!("{c} text"),
                })
                .collect();
            sql.push_str(&format!(
                "CREATE TABLE shop.{name} ({});\n",
                columns.join(", ")
            ));
            for r in &data {
                let values: Vec<String> = r.iter().map(|v| literal(v)).collect();
                sql.push_str(&format!(
                    "INSERT INTO shop.{name} VALUES ({});\n",
                    values.join(", ")
                ));
            }
        }
        psql(url, &sql);
    }

    #[test]
    fn a_postgres_database_is_scanned_table_by_table_with_the_tags_of_its_sqlite_and_csv_copies() {
        let url = database("piitrail_scan");
        write_pg(&url, 300);
        let p = Project::new();
        write_shop(&p, 300);
        let password = std::env::var("PGPASSWORD").unwrap();
        let with_password = url.replacen("://piitrail@", &format!("://piitrail:{password}@"), 1);
        for mode in [&[][..], &["--full"][..]] {
            let run = p
                .run(&[&["scan", &with_password, "--format", "json"][..], mode].concat())
                .expect(0);
            for text in [run.stdout(), run.stderr()] {
                assert!(!text.contains(&password), "the password never prints");
            }
            let pg = run.json_lines();
            let names: Vec<&str> = pg.iter().map(|s| s["artifact"].as_str().unwrap()).collect();
            let base = named(&url);
            assert_eq!(
                names,
                ["countries", "customers", "employees", "orders", "tickets"]
                    .map(|t| format!("{base}.shop.{t}")),
                "artifacts are named as OpenLineage names them"
            );
            assert!(pg.iter().all(|s| s["format"] == "postgres"), "{pg:?}");
            let lite = p
                .run(&[&["scan", "sqlite:shop.db", "--format", "json"][..], mode].concat())
                .expect(0)
                .json_lines();
            let csv = p
                .run(&[&["scan", "csv", "--format", "json"][..], mode].concat())
                .expect(0)
                .json_lines();
            assert_eq!(
                tags(&pg),
                tags(&lite),
                "PostgreSQL and SQLite give the same tags"
            );
            assert_eq!(
                tags(&pg),
                tags(&csv),
                "PostgreSQL and CSV give the same tags"
            );
            assert!(
                tags(&pg)[&("customers".into(), "email".into())]
                    .contains(&"user.contact.email".to_string())
            );
        }
        // The password from the environment (PGPASSWORD) works as well as in the URL. A sample
        // smaller than the table is drawn by the server, and the scan says how.
        let sampled = p
            .run(&[
                "scan",
                &url,
                "--table",
                "shop.ord*",
                "--sample",
                "200",
                "--format",
                "json",
            ])
            .expect(0)
            .json_lines();
        assert_eq!(sampled.len(), 1);
        let how = sampled[0]["sampling"].as_str().unwrap();
        assert!(how.contains("TABLESAMPLE"), "{how}");
        assert!(sampled[0]["rows_scanned"].as_u64().unwrap() <= 200, "{how}");
        assert_eq!(sampled[0]["rows_total"], 900);
        // A wrong password is refused by the server, and named without the password.
        let wrong = url.replacen("://piitrail@", "://piitrail:not-it@", 1);
        let run = p.run(&["scan", &wrong]);
        assert_eq!(run.code(), 2, "{}", run.stderr());
        assert!(!run.stderr().contains("not-it"), "{}", run.stderr());
        assert!(run.stderr().contains(&named(&url)), "{}", run.stderr());
    }

    /// Every row of a table as text, in key order.
    fn rows_of(url: &str, table: &str) -> Vec<String> {
        psql(
            url,
            &format!("SELECT t::text FROM shop.{table} t ORDER BY 1"),
        )
        .lines()
        .map(str::to_string)
        .collect()
    }

    /// A project whose data roots hold the database at `url`, every table's scan recorded.
    fn recorded(url: &str) -> Project {
        super::recorded_server(url, &named(url))
    }

    /// A killed erasure, or one whose connections the server cuts, leaves the database as it
    /// was or as it is after the erasure (never between), and a re-run finishes it.
    #[test]
    fn a_killed_or_cut_off_erasure_leaves_the_database_before_or_after_and_a_rerun_finishes() {
        for (round, delay_ms) in [30u64, 90, 200, 400].into_iter().enumerate() {
            let name = format!("piitrail_kill{round}");
            let url = database(&name);
            write_pg(&url, 300);
            let p = recorded(&url);
            let state = || -> Vec<Vec<String>> {
                ["customers", "orders", "tickets"]
                    .iter()
                    .map(|t| rows_of(&url, t))
                    .collect()
            };
            // The subject's rows: customer 7, and the rows that refer to them.
            let subjects = |table: usize, row: &str| {
                let fields: Vec<&str> = row.trim_matches(['(', ')']).split(',').collect();
                fields[if table == 0 { 0 } else { 1 }] == "7"
            };
            // Odd rounds: the server ends every session of piitrail on this database.
            let cut = (round % 2 == 1).then_some(|| {
                psql(
                    &server(),
                    &format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = '{name}' AND application_name = 'piitrail'"
                    ),
                );
            });
            super::interrupted_erasure(&p, delay_ms, cut, state, subjects);
        }
    }

    #[test]
    fn a_run_reads_postgres_tables_named_as_scan_names_them() {
        let url = database("piitrail_run");
        write_pg(&url, 300);
        let p = Project::new();
        p.run(&["init"]).expect(0);
        let password = std::env::var("PGPASSWORD").unwrap();
        let with_password = url.replacen("://piitrail@", &format!("://piitrail:{password}@"), 1);
        let run = p
            .run(&[
                "run",
                "--input",
                &format!("c={with_password}.shop.customers"),
                "--sql",
                "SELECT email FROM c WHERE customer_id <= 100",
                "--output",
                "emails.parquet",
                "--format",
                "json",
            ])
            .expect(0);
        for text in [run.stdout(), run.stderr(), p.read(".piitrail/ledger.jsonl")] {
            assert!(!text.contains(&password), "the password never prints");
        }
        let ran: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
        assert_eq!(ran["rows"], 100);
        let name = format!("{}.shop.customers", named(&url));
        assert_eq!(ran["execution"]["inputs"][0]["path"], name.as_str());
        let scanned = p
            .run(&[
                "scan",
                &url,
                "--table",
                "shop.customers",
                "--full",
                "--format",
                "json",
            ])
            .expect(0)
            .json_lines();
        assert_eq!(
            ran["execution"]["inputs"][0]["digest"], scanned[0]["digest"],
            "the table's version, as a full scan gives it"
        );
    }

    #[test]
    fn a_subject_is_found_and_erased_in_postgres_in_one_transaction() {
        let url = database("piitrail_erase");
        write_pg(&url, 300);
        let p = recorded(&url);
        p.run(&["keygen", "--out", "keys"]).expect(0);
        let orders: Vec<u64> = psql(
            &url,
            "SELECT n FROM (SELECT row_number() OVER (ORDER BY order_id) n, customer_id FROM shop.orders) o WHERE customer_id = 7",
        )
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
        assert!(!orders.is_empty());
        let found: serde_json::Value = serde_json::from_str(
            &p.run(&[
                "subject",
                "find",
                "--id",
                "email=user7@example.org",
                "--format",
                "json",
            ])
            .expect(0)
            .stdout(),
        )
        .unwrap();
        let base = named(&url);
        let locators = |table: &str| -> Vec<u64> {
            let path = format!("{base}.shop.{table}");
            found["artifacts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["path"] == path)
                .unwrap_or_else(|| panic!("{path} in {found}"))["locators"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect()
        };
        assert_eq!(locators("customers"), [7]);
        assert_eq!(locators("orders"), orders, "followed along the foreign key");
        assert_eq!(
            keys(&found, &format!("{base}.shop.customers"), "customer_id"),
            ["7"]
        );
        let before: BTreeMap<&str, Vec<String>> = ["customers", "orders", "tickets", "employees"]
            .into_iter()
            .map(|t| (t, rows_of(&url, t)))
            .collect();
        // A table nobody recorded refers to customer 7 and forbids deleting them: nothing is
        // deleted, and the reason is the database's.
        psql(
            &url,
            "CREATE TABLE shop.loyalty (card integer PRIMARY KEY, \
             customer_id integer REFERENCES shop.customers(customer_id) ON DELETE RESTRICT); \
             INSERT INTO shop.loyalty VALUES (1, 7);",
        );
        let held = p
            .run(&[
                "subject",
                "erase",
                "--id",
                "email=user7@example.org",
                "--apply",
            ])
            .expect(1);
        assert!(held.stdout().contains("FAILED"), "{}", held.stdout());
        assert!(held.stdout().contains("foreign key"), "{}", held.stdout());
        for (table, rows) in &before {
            assert_eq!(&rows_of(&url, table), rows, "{table} is as it was");
        }
        psql(&url, "DROP TABLE shop.loyalty");
        let done = p
            .run(&[
                "subject",
                "erase",
                "--id",
                "email=user7@example.org",
                "--apply",
                "--key",
                "keys/piitrail.key",
            ])
            .expect(0);
        assert!(done.stdout().contains("verified"), "{}", done.stdout());
        for (table, rows) in &before {
            let kept: Vec<String> = rows
                .iter()
                .filter(|r| {
                    let fields: Vec<&str> = r.trim_matches(['(', ')']).split(',').collect();
                    match *table {
                        "customers" => fields[0] != "7",
                        "orders" | "tickets" => fields[1] != "7",
                        _ => true,
                    }
                })
                .cloned()
                .collect();
            assert_eq!(
                rows_of(&url, table),
                kept,
                "exactly the subject's rows of {table}"
            );
        }
        let cert: serde_json::Value =
            serde_json::from_str(&p.read("piitrail-erasure/certificate.json")).unwrap();
        let removed = cert["applied"]["removed"].as_array().unwrap();
        let customers = removed
            .iter()
            .find(|r| r["path"] == format!("{base}.shop.customers"))
            .unwrap();
        assert_eq!(
            (
                customers["removed"].as_u64(),
                customers["rows_after"].as_u64()
            ),
            (Some(1), Some(299))
        );
        p.run(&[
            "verify",
            "piitrail-erasure/certificate.dsse.json",
            "--key",
            "keys/piitrail.pub",
        ])
        .expect(0);
        p.run(&[
            "subject",
            "find",
            "--id",
            "email=user7@example.org",
            "--fail-if-found",
        ])
        .expect(0);
    }
}

/// The same shop in a live MariaDB server (the throwaway server `./scripts/test` starts with
/// `scripts/mariadb-server`).
#[cfg(feature = "interop")]
mod mariadb {
    use super::*;

    /// The server's URL (no password: it is in MYSQL_PWD).
    fn server() -> String {
        std::env::var("PIITRAIL_MYSQL_URL").expect(
            "PIITRAIL_MYSQL_URL is not set: run ./scripts/test, which starts a throwaway MariaDB server (scripts/mariadb-server)",
        )
    }

    /// (host, port) of the server.
    fn address() -> (String, String) {
        let url = server();
        let authority = url.split_once('@').unwrap().1.split('/').next().unwrap();
        let (host, port) = authority.split_once(':').unwrap();
        (host.to_string(), port.to_string())
    }

    /// Runs `sql` with the `mariadb` client (password from MYSQL_PWD), in database `db`.
    fn sql(db: &str, sql: &str) -> String {
        use std::io::Write;
        let (host, port) = address();
        let mut child = std::process::Command::new("mariadb")
            .args(["--no-defaults", "-h", &host, "-P", &port, "-u", "piitrail"])
            .args(["-N", "-B", "--database", db])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the mariadb client (Debian mariadb-client) runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "mariadb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A fresh database holding the shop, with the keys the SQLite file declares; its URL.
    pub(super) fn shop_db(name: &str, rows: u64) -> String {
        sql(
            "mysql",
            &format!(
                "DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4;"
            ),
        );
        let mut script = String::new();
        for (table, header, data) in shop(rows) {
            let mut columns: Vec<String> = header
                .iter()
                .enumerate()
                .map(|(i, c)| match (table, i) {
                    ("countries", 0) => format!("{c} varchar(8) PRIMARY KEY"),
                    (_, 0) if c.ends_with("_id") => format!("{c} integer PRIMARY KEY"),
                    ("orders" | "tickets", 1) => format!("{c} integer"),
                    ("customers", 4) => format!("{c} date"),
                    _ => format!("{c} text"),
                })
                .collect();
            if matches!(table, "orders" | "tickets") {
                columns.push("FOREIGN KEY (customer_id) REFERENCES customers(customer_id)".into());
            }
            script.push_str(&format!(
                "CREATE TABLE {table} ({}) ENGINE=InnoDB;\n",
                columns.join(", ")
            ));
            for r in &data {
                let values: Vec<String> = r
                    .iter()
                    .map(|v| format!("'{}'", v.replace('\'', "''")))
                    .collect();
                script.push_str(&format!(
                    "INSERT INTO {table} VALUES ({});\n",
                    values.join(", ")
                ));
            }
        }
        sql(name, &script);
        let (host, port) = address();
        format!("mysql://piitrail@{host}:{port}/{name}")
    }

    fn named(url: &str) -> String {
        let (_, rest) = url.split_once('@').unwrap();
        format!("mysql://{rest}")
    }

    #[test]
    fn a_mariadb_database_is_scanned_table_by_table_with_the_tags_of_its_sqlite_and_csv_copies() {
        let url = shop_db("piitrail_scan", 300);
        let p = Project::new();
        write_shop(&p, 300);
        let password = std::env::var("MYSQL_PWD").unwrap();
        let with_password = url.replacen("://piitrail@", &format!("://piitrail:{password}@"), 1);
        for mode in [&[][..], &["--full"][..]] {
            let run = p
                .run(&[&["scan", &with_password, "--format", "json"][..], mode].concat())
                .expect(0);
            for text in [run.stdout(), run.stderr()] {
                assert!(!text.contains(&password), "the password never prints");
            }
            let my = run.json_lines();
            let names: Vec<&str> = my.iter().map(|s| s["artifact"].as_str().unwrap()).collect();
            let base = named(&url);
            assert_eq!(
                names,
                ["countries", "customers", "employees", "orders", "tickets"]
                    .map(|t| format!("{base}.{t}")),
                "artifacts are named as OpenLineage names them"
            );
            let lite = p
                .run(&[&["scan", "sqlite:shop.db", "--format", "json"][..], mode].concat())
                .expect(0)
                .json_lines();
            assert_eq!(
                tags(&my),
                tags(&lite),
                "MariaDB and SQLite give the same tags"
            );
        }
        let sampled = p
            .run(&[
                "scan",
                &url,
                "--table",
                "piitrail_scan.ord*",
                "--sample",
                "160",
                "--format",
                "json",
            ])
            .expect(0)
            .json_lines();
        let how = sampled[0]["sampling"].as_str().unwrap();
        assert!(how.contains("16 key ranges"), "{how}");
        assert_eq!(sampled[0]["rows_scanned"], 160, "{how}");
        assert_eq!(sampled[0]["rows_total"], 900);
        let wrong = url.replacen("://piitrail@", "://piitrail:not-it@", 1);
        let run = p.run(&["scan", &wrong]);
        assert_eq!(run.code(), 2, "{}", run.stderr());
        assert!(!run.stderr().contains("not-it"), "{}", run.stderr());
    }

    /// A killed erasure, or one whose connection the server kills, leaves the MariaDB database
    /// as it was or as it is after the erasure (never between), and a re-run finishes it.
    #[test]
    fn a_killed_or_cut_off_erasure_leaves_mariadb_before_or_after_and_a_rerun_finishes() {
        for (round, delay_ms) in [20u64, 40, 55, 70, 85, 100].into_iter().enumerate() {
            let name = format!("piitrail_kill{round}");
            let url = shop_db(&name, 300);
            let p = super::recorded_server(&url, &named(&url));
            let state = || -> Vec<Vec<String>> {
                ["customers", "orders", "tickets"]
                    .iter()
                    .map(|t| {
                        sql(&name, &format!("SELECT * FROM {t} ORDER BY 1"))
                            .lines()
                            .map(str::to_string)
                            .collect()
                    })
                    .collect()
            };
            let subjects = |table: usize, row: &str| {
                row.split('\t').nth(if table == 0 { 0 } else { 1 }) == Some("7")
            };
            // Odd rounds: the server kills every connection to this database (but its own).
            let cut = (round % 2 == 1).then_some(|| {
                let ids = sql(
                    "mysql",
                    &format!(
                        "SELECT id FROM information_schema.processlist \
                         WHERE db = '{name}' AND id <> CONNECTION_ID()"
                    ),
                );
                for pid in ids.lines() {
                    // Gone meanwhile is fine: the statement may fail.
                    let _ = std::process::Command::new("mariadb")
                        .args(["--no-defaults", "-h", &address().0, "-P", &address().1])
                        .args(["-u", "piitrail", "-e", &format!("KILL CONNECTION {pid}")])
                        .output();
                }
            });
            super::interrupted_erasure(&p, delay_ms, cut, state, subjects);
        }
    }

    #[test]
    fn a_subject_is_found_and_erased_in_mariadb_in_one_transaction() {
        let url = shop_db("piitrail_erase", 300);
        let p = super::recorded_server(&url, &named(&url));
        p.run(&["keygen", "--out", "keys"]).expect(0);
        let dump = |table: &str| {
            sql(
                "piitrail_erase",
                &format!("SELECT * FROM {table} ORDER BY 1"),
            )
        };
        let before: Vec<(&str, String)> = ["customers", "orders", "tickets", "employees"]
            .into_iter()
            .map(|t| (t, dump(t)))
            .collect();
        let found: serde_json::Value = serde_json::from_str(
            &p.run(&[
                "subject",
                "find",
                "--id",
                "email=user7@example.org",
                "--format",
                "json",
            ])
            .expect(0)
            .stdout(),
        )
        .unwrap();
        let base = named(&url);
        assert_eq!(
            keys(&found, &format!("{base}.customers"), "customer_id"),
            ["7"]
        );
        sql(
            "piitrail_erase",
            "CREATE TABLE loyalty (card integer PRIMARY KEY, customer_id integer,
               FOREIGN KEY (customer_id) REFERENCES customers(customer_id) ON DELETE RESTRICT);
             INSERT INTO loyalty VALUES (1, 7);",
        );
        let held = p
            .run(&[
                "subject",
                "erase",
                "--id",
                "email=user7@example.org",
                "--apply",
            ])
            .expect(1);
        assert!(
            held.stdout().contains("foreign key constraint fails"),
            "{}",
            held.stdout()
        );
        for (table, rows) in &before {
            assert_eq!(&dump(table), rows, "{table} is as it was");
        }
        sql("piitrail_erase", "DROP TABLE loyalty");
        let done = p
            .run(&[
                "subject",
                "erase",
                "--id",
                "email=user7@example.org",
                "--apply",
                "--key",
                "keys/piitrail.key",
            ])
            .expect(0);
        assert!(done.stdout().contains("verified"), "{}", done.stdout());
        for (table, rows) in &before {
            let kept: String = rows
                .lines()
                .filter(|r| {
                    let fields: Vec<&str> = r.split('\t').collect();
                    match *table {
                        "customers" => fields[0] != "7",
                        "orders" | "tickets" => fields[1] != "7",
                        _ => true,
                    }
                })
                .map(|r| format!("{r}\n"))
                .collect();
            assert_eq!(dump(table), kept, "exactly the subject's rows of {table}");
        }
        p.run(&[
            "verify",
            "piitrail-erasure/certificate.dsse.json",
            "--key",
            "keys/piitrail.pub",
        ])
        .expect(0);
    }
}

/// Writes the shop as Parquet files under `parquet/`: integer keys as Int64, the rest as text.
fn write_parquet(p: &Project, rows: u64) {
    use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use std::sync::Arc;
    std::fs::create_dir_all(p.path("parquet")).unwrap();
    for (name, header, data) in shop(rows) {
        let integer = |i: usize, c: &str| c.ends_with("_id") && (i == 0 || name != "customers");
        let fields: Vec<Field> = header
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let t = if integer(i, c) {
                    DataType::Int64
                } else {
                    DataType::Utf8
                };
                Field::new(*c, t, true)
            })
            .collect();
        let columns: Vec<ArrayRef> = header
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let values = data.iter().map(|r| r[i].as_str());
                if integer(i, c) {
                    Arc::new(Int64Array::from_iter_values(
                        values.map(|v| v.parse::<i64>().unwrap()),
                    )) as ArrayRef
                } else {
                    Arc::new(StringArray::from_iter_values(values)) as ArrayRef
                }
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let file = std::fs::File::create(p.path(&format!("parquet/{name}.parquet"))).unwrap();
        let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
}

/// One shop in five places: the scanner's tags do not depend on where the data lives.
#[cfg(feature = "interop")]
mod five_forms {
    use super::*;

    /// The same tables (customers, employees, orders and tickets with foreign keys to
    /// customers, a lookup of countries) as PostgreSQL and MariaDB tables, a SQLite file, S3
    /// objects and local CSV and Parquet files: the same tags in every form, sampled and full.
    #[test]
    fn the_same_tables_get_the_same_tags_wherever_they_live() {
        let rows = 400;
        let pg = super::postgres::database("piitrail_five");
        super::postgres::write_pg(&pg, rows);
        let my = super::mariadb::shop_db("piitrail_five", rows);
        let p = Project::new();
        write_shop(&p, rows);
        write_parquet(&p, rows);
        let s3 = common::moto::moto();
        let names = ["countries", "customers", "employees", "orders", "tickets"];
        let objects: Vec<String> = names.iter().map(|n| format!("{n}.parquet")).collect();
        let objects: Vec<&str> = objects.iter().map(String::as_str).collect();
        common::moto::upload_from(&s3, &p, "parquet", &objects);
        for mode in [&[][..], &["--full"][..]] {
            let scan = |target: &str| {
                let run = common::moto::run_s3(
                    &s3,
                    &p,
                    &[&["scan", target, "--format", "json"][..], mode].concat(),
                );
                assert_eq!(run.code(), 0, "{target}: {}", run.stderr());
                let scans = run.json_lines();
                assert_eq!(scans.len(), 5, "{target}: one artifact per table");
                tags(&scans)
            };
            let csv = scan("csv");
            let tagged = csv.values().filter(|c| !c.is_empty()).count();
            assert!(tagged >= 9, "the shop's personal columns: {csv:?}");
            assert!(
                csv[&("orders".into(), "customer_id".into())].contains(&"user.unique_id".into()),
                "a key of the person table by reference: {csv:?}"
            );
            for target in ["parquet", "sqlite:shop.db", &pg, &my, "s3://exports/shop/"] {
                assert_eq!(scan(target), csv, "{target} {mode:?}");
            }
        }
    }
}
