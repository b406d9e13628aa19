//! `piitrail run`: column lineage of SQL, one query per construct, each with its expected
//! lineage written by hand. Any difference, missing or extra edge fails the test.
//!
//! Notation: `OUT <- TABLE.COLUMN DIRECT SUBTYPE [masking] CLASS` or
//! `OUT <- TABLE.COLUMN INDIRECT SUBTYPE` (class `influenced`); `*` as OUT means every output
//! column (an influence on which rows exist).

mod common;

use std::collections::BTreeSet;

use common::Project;

const CUSTOMERS: &str = "\
id,name,email,country,birth_date,zip
1,Ann Lee,ann@example.com,DE,1990-01-02,01234
2,Bob Ray,bob@example.org,FR,1985-05-06,75001
3,Cy Do,cy@example.net,DE,1970-12-31,10115
4,Di Wu,di@example.com,NL,2001-07-15,1011
";

const ORDERS: &str = "\
order_id,customer_id,amount,order_date
10,1,12.5,2024-01-01
11,1,3.0,2024-01-05
12,2,99.9,2024-02-01
13,3,51.0,2024-03-01
";

/// (what it covers, query, expected edges)
const CASES: &[(&str, &str, &[&str])] = &[
    (
        "plain columns",
        "SELECT id, name FROM c",
        &[
            "id <- c.id DIRECT IDENTITY direct",
            "name <- c.name DIRECT IDENTITY direct",
        ],
    ),
    (
        "aliased columns",
        "SELECT name AS full_name, c.email AS contact FROM c",
        &[
            "full_name <- c.name DIRECT IDENTITY direct",
            "contact <- c.email DIRECT IDENTITY direct",
        ],
    ),
    (
        "SELECT *",
        "SELECT * FROM c",
        &[
            "id <- c.id DIRECT IDENTITY direct",
            "name <- c.name DIRECT IDENTITY direct",
            "email <- c.email DIRECT IDENTITY direct",
            "country <- c.country DIRECT IDENTITY direct",
            "birth_date <- c.birth_date DIRECT IDENTITY direct",
            "zip <- c.zip DIRECT IDENTITY direct",
        ],
    ),
    (
        "an expression over several columns",
        "SELECT name || ' <' || email || '>' AS display FROM c",
        &[
            "display <- c.name DIRECT TRANSFORMATION direct",
            "display <- c.email DIRECT TRANSFORMATION direct",
        ],
    ),
    (
        "CASE",
        "SELECT id, CASE WHEN country = 'DE' THEN email ELSE 'hidden' END AS e FROM c",
        &[
            "id <- c.id DIRECT IDENTITY direct",
            "e <- c.email DIRECT IDENTITY direct",
            "e <- c.country INDIRECT CONDITIONAL",
        ],
    ),
    (
        "COALESCE and NULLIF pass values through",
        "SELECT coalesce(zip, country) AS place, nullif(email, name) AS e FROM c",
        &[
            "place <- c.zip DIRECT IDENTITY direct",
            "place <- c.country DIRECT IDENTITY direct",
            "e <- c.email DIRECT IDENTITY direct",
            "e <- c.name INDIRECT CONDITIONAL",
        ],
    ),
    (
        "casts",
        "SELECT CAST(id AS VARCHAR) AS id_text, TRY_CAST(zip AS INT) AS zip_num FROM c",
        &[
            "id_text <- c.id DIRECT TRANSFORMATION direct",
            "zip_num <- c.zip DIRECT TRANSFORMATION direct",
        ],
    ),
    (
        "string functions",
        "SELECT upper(name) AS n, lower(email) AS e, length(name) AS l FROM c",
        &[
            "n <- c.name DIRECT TRANSFORMATION direct",
            "e <- c.email DIRECT TRANSFORMATION direct",
            "l <- c.name DIRECT TRANSFORMATION direct",
        ],
    ),
    (
        "hash functions mask",
        "SELECT sha256(email) AS h1, md5(email) AS h2, digest(name, 'sha512') AS h3 FROM c",
        &[
            "h1 <- c.email DIRECT TRANSFORMATION masking pseudonymised",
            "h2 <- c.email DIRECT TRANSFORMATION masking pseudonymised",
            "h3 <- c.name DIRECT TRANSFORMATION masking pseudonymised",
        ],
    ),
    (
        "truncation generalises",
        "SELECT left(zip, 2) AS z, substr(name, 1, 1) AS initial, \
         date_trunc('year', birth_date) AS y, date_part('year', birth_date) AS yob FROM c",
        &[
            "z <- c.zip DIRECT TRANSFORMATION generalised",
            "initial <- c.name DIRECT TRANSFORMATION generalised",
            "y <- c.birth_date DIRECT TRANSFORMATION generalised",
            "yob <- c.birth_date DIRECT TRANSFORMATION generalised",
        ],
    ),
    (
        "rounding and integer division bucket; other arithmetic transforms",
        "SELECT round(amount) AS r, order_id / 10 AS bucket, amount / 2 AS half, \
         date_part('epoch', order_date) AS ts FROM o",
        &[
            "r <- o.amount DIRECT TRANSFORMATION generalised",
            "bucket <- o.order_id DIRECT TRANSFORMATION generalised",
            "half <- o.amount DIRECT TRANSFORMATION direct",
            "ts <- o.order_date DIRECT TRANSFORMATION direct",
        ],
    ),
    (
        "a hash of a truncation stays generalised",
        "SELECT sha256(left(zip, 3)) AS zh FROM c",
        &["zh <- c.zip DIRECT TRANSFORMATION masking generalised"],
    ),
    (
        "a correlated scalar subquery",
        "SELECT name, (SELECT count(*) FROM o WHERE o.customer_id = c.id) AS n_orders FROM c",
        &[
            "name <- c.name DIRECT IDENTITY direct",
            "n_orders <- o.customer_id INDIRECT FILTER",
            "n_orders <- c.id INDIRECT FILTER",
        ],
    ),
    (
        "a scalar subquery's value passes through",
        "SELECT id, (SELECT max(amount) FROM o) AS top FROM c",
        &[
            "id <- c.id DIRECT IDENTITY direct",
            "top <- o.amount DIRECT AGGREGATION aggregated",
        ],
    ),
    (
        "a CTE",
        "WITH de AS (SELECT id, email FROM c WHERE country = 'DE') \
         SELECT sha256(email) AS h FROM de",
        &[
            "h <- c.email DIRECT TRANSFORMATION masking pseudonymised",
            "* <- c.country INDIRECT FILTER",
        ],
    ),
    (
        "nested subqueries",
        "SELECT x.e FROM (SELECT y.email AS e FROM \
         (SELECT email, country FROM c WHERE id > 1) y WHERE y.country <> 'FR') x",
        &[
            "e <- c.email DIRECT IDENTITY direct",
            "* <- c.id INDIRECT FILTER",
            "* <- c.country INDIRECT FILTER",
        ],
    ),
    (
        "an inner join with ON",
        "SELECT c.name, o.amount FROM c JOIN o ON c.id = o.customer_id",
        &[
            "name <- c.name DIRECT IDENTITY direct",
            "amount <- o.amount DIRECT IDENTITY direct",
            "* <- c.id INDIRECT JOIN",
            "* <- o.customer_id INDIRECT JOIN",
        ],
    ),
    (
        "a left join with USING",
        "SELECT c2.name, o2.amount FROM (SELECT id AS customer_id, name FROM c) c2 \
         LEFT JOIN o AS o2 USING (customer_id)",
        &[
            "name <- c.name DIRECT IDENTITY direct",
            "amount <- o.amount DIRECT IDENTITY direct",
            "* <- c.id INDIRECT JOIN",
            "* <- o.customer_id INDIRECT JOIN",
        ],
    ),
    (
        "a full join with a non-equi condition",
        "SELECT c.email, o.order_id FROM c FULL OUTER JOIN o \
         ON c.id = o.customer_id AND o.amount > 10",
        &[
            "email <- c.email DIRECT IDENTITY direct",
            "order_id <- o.order_id DIRECT IDENTITY direct",
            "* <- c.id INDIRECT JOIN",
            "* <- o.customer_id INDIRECT JOIN",
            "* <- o.amount INDIRECT JOIN",
        ],
    ),
    (
        "GROUP BY with aggregates",
        "SELECT country, count(*) AS n, avg(amount) AS avg_amount \
         FROM c JOIN o ON c.id = o.customer_id GROUP BY country",
        &[
            "country <- c.country DIRECT IDENTITY direct",
            "avg_amount <- o.amount DIRECT AGGREGATION aggregated",
            "* <- c.country INDIRECT GROUP_BY",
            "* <- c.id INDIRECT JOIN",
            "* <- o.customer_id INDIRECT JOIN",
        ],
    ),
    (
        "HAVING",
        "SELECT customer_id, sum(amount) AS total FROM o GROUP BY customer_id \
         HAVING sum(amount) > 10",
        &[
            "customer_id <- o.customer_id DIRECT IDENTITY direct",
            "total <- o.amount DIRECT AGGREGATION aggregated",
            "* <- o.customer_id INDIRECT GROUP_BY",
            "* <- o.amount INDIRECT FILTER",
        ],
    ),
    (
        "an aggregate of hashes, and ROLLUP",
        "SELECT country, zip, count(DISTINCT sha256(email)) AS people FROM c \
         GROUP BY ROLLUP (country, zip)",
        &[
            "country <- c.country DIRECT IDENTITY direct",
            "zip <- c.zip DIRECT IDENTITY direct",
            "people <- c.email DIRECT AGGREGATION masking aggregated",
            "* <- c.country INDIRECT GROUP_BY",
            "* <- c.zip INDIRECT GROUP_BY",
        ],
    ),
    (
        "array_agg copies values",
        "SELECT country, array_agg(email) AS emails FROM c GROUP BY country",
        &[
            "country <- c.country DIRECT IDENTITY direct",
            "emails <- c.email DIRECT AGGREGATION direct",
            "* <- c.country INDIRECT GROUP_BY",
        ],
    ),
    (
        "DISTINCT",
        "SELECT DISTINCT country FROM c",
        &[
            "country <- c.country DIRECT IDENTITY direct",
            "* <- c.country INDIRECT GROUP_BY",
        ],
    ),
    (
        "window functions",
        "SELECT order_id, \
         row_number() OVER (PARTITION BY customer_id ORDER BY order_date) AS rn, \
         sum(amount) OVER (PARTITION BY customer_id) AS customer_total, \
         lag(amount) OVER (ORDER BY order_date) AS previous FROM o",
        &[
            "order_id <- o.order_id DIRECT IDENTITY direct",
            "rn <- o.customer_id INDIRECT WINDOW",
            "rn <- o.order_date INDIRECT WINDOW",
            "customer_total <- o.amount DIRECT AGGREGATION aggregated",
            "customer_total <- o.customer_id INDIRECT WINDOW",
            "previous <- o.amount DIRECT TRANSFORMATION direct",
            "previous <- o.order_date INDIRECT WINDOW",
        ],
    ),
    (
        "UNION ALL",
        "SELECT email AS contact FROM c WHERE country = 'DE' \
         UNION ALL SELECT CAST(order_id AS VARCHAR) FROM o",
        &[
            "contact <- c.email DIRECT IDENTITY direct",
            "contact <- o.order_id DIRECT TRANSFORMATION direct",
            "* <- c.country INDIRECT FILTER",
        ],
    ),
    (
        "ORDER BY a column not selected, and LIMIT",
        "SELECT name FROM c ORDER BY birth_date DESC LIMIT 2",
        &[
            "name <- c.name DIRECT IDENTITY direct",
            "* <- c.birth_date INDIRECT SORT",
        ],
    ),
    (
        "IN (subquery)",
        "SELECT email FROM c WHERE id IN (SELECT customer_id FROM o WHERE amount > 50)",
        &[
            "email <- c.email DIRECT IDENTITY direct",
            "* <- c.id INDIRECT FILTER",
            "* <- o.customer_id INDIRECT FILTER",
            "* <- o.amount INDIRECT FILTER",
        ],
    ),
    (
        "EXISTS (correlated subquery)",
        "SELECT name FROM c WHERE EXISTS \
         (SELECT 1 FROM o WHERE o.customer_id = c.id AND o.amount > 50)",
        &[
            "name <- c.name DIRECT IDENTITY direct",
            "* <- o.customer_id INDIRECT FILTER",
            "* <- c.id INDIRECT FILTER",
            "* <- o.amount INDIRECT FILTER",
        ],
    ),
    (
        "a recursive CTE",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) \
         SELECT r.n, c.name FROM r JOIN c ON c.id = r.n",
        &[
            "name <- c.name DIRECT IDENTITY direct",
            "* <- c.id INDIRECT JOIN",
        ],
    ),
    (
        "a self join keeps both roles of one table",
        "SELECT a.name, b.name AS same_country FROM c a JOIN c b \
         ON a.country = b.country AND a.id < b.id",
        &[
            "name <- c.name DIRECT IDENTITY direct",
            "same_country <- c.name DIRECT IDENTITY direct",
            "* <- c.country INDIRECT JOIN",
            "* <- c.id INDIRECT JOIN",
        ],
    ),
];

/// The edges of `piitrail run --format json` in the test's notation.
fn edges(v: &serde_json::Value) -> BTreeSet<String> {
    let table = |path: &str| path.trim_end_matches(".csv").to_string();
    v["execution"]["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|e| {
            let from = format!(
                "{}.{}",
                table(e["from"]["path"].as_str().unwrap()),
                e["from"]["column"].as_str().unwrap()
            );
            let to = e["to"]["column"].as_str().unwrap();
            let subtype = e["subtype"].as_str().unwrap();
            if e["type"] == "INDIRECT" {
                assert_eq!(e["class"], "influenced");
                assert_eq!(e["masking"], false);
                format!("{to} <- {from} INDIRECT {subtype}")
            } else {
                let masking = if e["masking"].as_bool().unwrap() {
                    " masking"
                } else {
                    ""
                };
                format!(
                    "{to} <- {from} DIRECT {subtype}{masking} {}",
                    e["class"].as_str().unwrap()
                )
            }
        })
        .collect()
}

/// The expected edges, `*` lines repeated for every output column.
fn expand(expected: &[&str], outputs: &[String]) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for line in expected {
        match line.strip_prefix("* ") {
            Some(rest) => {
                for o in outputs {
                    all.insert(format!("{o} {rest}"));
                }
            }
            None => {
                all.insert(line.to_string());
            }
        }
    }
    all
}

#[test]
fn every_construct_has_exact_column_lineage() {
    assert!(CASES.len() >= 25);
    let p = Project::new();
    p.write("c.csv", CUSTOMERS);
    p.write("o.csv", ORDERS);
    let mut failures = Vec::new();
    for (i, (what, sql, expected)) in CASES.iter().enumerate() {
        let out = format!("out/{i}.parquet");
        let run = p.run(&[
            "run", "--sql", sql, "--input", "c=c.csv", "o=o.csv", "--output", &out, "--format",
            "json",
        ]);
        if run.code() != 0 {
            failures.push(format!("{what}: exit {}: {}", run.code(), run.stderr()));
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
        assert!(p.path(&out).is_file(), "{what}: no output written");
        let schema: Vec<String> = v["schema"]
            .as_array()
            .expect("the output's schema")
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect();
        let got = edges(&v);
        let want = expand(expected, &schema);
        if got != want {
            failures.push(format!(
                "{what}\n  {sql}\n  missing: {:#?}\n  unexpected: {:#?}",
                want.difference(&got).collect::<Vec<_>>(),
                got.difference(&want).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} queries differ:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}
