//! `piitrail gate`: each policy rule passing and failing, waivers before and after expiry,
//! bad policy files, and the text, JSON, SARIF, JUnit and GitHub outputs.

mod common;

use common::Project;
use serde_json::Value;

const CUSTOMERS: &str = "\
customer_id,email,country
C001,ann.lee@example.com,DE
C002,bob.ray@example.org,FR
C003,cy.do@example.net,DE
C004,dee.fox@example.com,IT
C005,eve.ng@example.org,ES
C006,fay.li@example.com,DE
";

const CLEAN: &str = "sku,qty,price\nA-100,3,9.99\nB-200,1,19.50\nC-300,7,4.25\n";

const PATIENTS: &str = "\
visit,diagnosis_code
1,E11.9
2,J45.909
3,I10
4,E11.65
5,M54.5
6,F32.1
";

/// Declares the customers' columns as the scanner tags them.
const DECLARED: &str = r#"
[[dataset]]
path = "data/customers.csv"
purpose = "Order fulfilment"
legal_basis = "contract"
retention = "P6Y"
subjects = ["customers"]
columns.customer_id = "user.unique_id"
columns.email = "user.contact.email"
columns.country = "user.contact.address"
"#;

fn today_plus(days: i64) -> String {
    (chrono::Local::now().date_naive() + chrono::Duration::days(days)).to_string()
}

/// An initialised project whose piitrail.toml is `config` (the strict defaults apply to
/// what it leaves out).
fn project(config: &str) -> Project {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    p.write(
        "piitrail.toml",
        format!("[project]\nname = \"t\"\n\n{config}"),
    );
    p.write("data/customers.csv", CUSTOMERS);
    p
}

fn gate_json(p: &Project, args: &[&str], code: i32) -> Value {
    let mut all = vec!["gate"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = p.run(&all).expect(code).stdout();
    serde_json::from_str(&out).expect("gate --format json prints one JSON object")
}

/// (rule, artifact, column, suppressed?) of every violation.
fn violations(v: &Value) -> Vec<(String, String, String, bool)> {
    v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["rule"].as_str().unwrap().to_string(),
                x["artifact"].as_str().unwrap().to_string(),
                x["column"].as_str().unwrap_or("").to_string(),
                x.get("suppressed").is_some(),
            )
        })
        .collect()
}

fn has(v: &Value, rule: &str, column: &str) -> bool {
    violations(v)
        .iter()
        .any(|(r, _, c, s)| r == rule && c == column && !s)
}

#[test]
fn a_fresh_project_fails_on_undeclared_personal_data_and_passes_without_any() {
    let p = project("");
    p.write("data/clean.csv", CLEAN);
    let out = p.run(&["gate", "data/customers.csv"]).expect(1).stdout();
    assert!(
        out.contains(
            "error[undeclared-pii] data/customers.csv: column 'email' holds user.contact.email"
        ),
        "{out}"
    );
    assert!(out.contains("fix: add a [[dataset]] entry with path = \"data/customers.csv\""));
    assert!(out.contains("gate failed: 3 error(s)"), "{out}");
    let out = p.run(&["gate", "data/clean.csv"]).expect(0).stdout();
    assert!(out.contains("gate passed: 0 error(s)"), "{out}");
    // Without any piitrail.toml the strict defaults apply.
    let bare = Project::new();
    bare.write("c.csv", CUSTOMERS);
    let out = bare.run(&["gate", "c.csv"]).expect(1).stdout();
    assert!(out.contains("strict defaults"), "{out}");
}

#[test]
fn declarations_make_the_gate_pass_column_by_column() {
    let p = project(DECLARED);
    let v = gate_json(&p, &["data/customers.csv"], 0);
    assert_eq!(v["passed"], true);
    assert!(violations(&v).is_empty(), "{v:#}");
    // A missing column declaration fails for that column only.
    let p = project(&DECLARED.replace("columns.email = \"user.contact.email\"\n", ""));
    let v = gate_json(&p, &["data/customers.csv"], 1);
    assert_eq!(
        violations(&v),
        [(
            "undeclared-pii".into(),
            "data/customers.csv".into(),
            "email".into(),
            false
        )]
    );
    assert!(
        v["violations"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("piitrail.toml line"),
        "{v:#}"
    );
    // A parent category covers the finer one; an unrelated category does not.
    let p = project(&DECLARED.replace("\"user.contact.email\"", "\"user.contact\""));
    gate_json(&p, &["data/customers.csv"], 0);
    let p = project(&DECLARED.replace("\"user.contact.email\"", "\"user.financial\""));
    let v = gate_json(&p, &["data/customers.csv"], 1);
    assert!(has(&v, "undeclared-pii", "email"));
    // require_declaration = false turns the rule off.
    let p = project("[policy]\nrequire_declaration = false\n");
    let v = gate_json(&p, &["data/customers.csv"], 0);
    assert!(!v["rules"].to_string().contains("undeclared-pii"));
}

#[test]
fn special_categories_need_an_art9_condition() {
    let decl = r#"
[[dataset]]
path = "data/patients.csv"
purpose = "Care"
legal_basis = "contract"
columns.diagnosis_code = "user.health_and_medical"
"#;
    let p = project(decl);
    p.write("data/patients.csv", PATIENTS);
    let v = gate_json(&p, &["data/patients.csv"], 1);
    assert!(
        has(&v, "special-category-without-condition", "diagnosis_code"),
        "{v:#}"
    );
    assert!(!has(&v, "undeclared-pii", "diagnosis_code"));
    let p = project(&decl.replace(
        "\"user.health_and_medical\"",
        "{ category = \"user.health_and_medical\", art9_condition = \"health_or_social_care\" }",
    ));
    p.write("data/patients.csv", PATIENTS);
    gate_json(&p, &["data/patients.csv"], 0);
    // A dataset-wide condition applies to its columns.
    let p = project(&decl.replace(
        "legal_basis = \"contract\"",
        "legal_basis = \"contract\"\nart9_condition = \"explicit_consent\"",
    ));
    p.write("data/patients.csv", PATIENTS);
    gate_json(&p, &["data/patients.csv"], 0);
}

#[test]
fn criminal_offence_data_needs_an_art10_basis() {
    let data = "\
employee,criminal_record
1,convicted of theft in 2019
2,none
3,convicted of fraud in 2021
4,none
5,served a sentence for assault
6,none
";
    let p = project("");
    p.write("data/hr.csv", data);
    let v = gate_json(&p, &["data/hr.csv"], 1);
    assert!(
        has(&v, "criminal-data-without-basis", "criminal_record"),
        "{v:#}"
    );
    let p = project(
        r#"
[[dataset]]
path = "data/hr.csv"
purpose = "Vetting"
legal_basis = "legal_obligation"
columns.criminal_record = { category = "user.criminal_history", art10_basis = "authorised_by_law" }
columns.employee = "user.unique_id"
"#,
    );
    p.write("data/hr.csv", data);
    let v = gate_json(&p, &["data/hr.csv"], 0);
    assert!(
        !has(&v, "criminal-data-without-basis", "criminal_record"),
        "{v:#}"
    );
}

#[test]
fn allow_lists_restrict_categories_per_path() {
    let policy = r#"
[policy]
require_declaration = false

[[policy.allow]]
path = "exports/**"
categories = ["user.contact.address", "user.unique_id"]
"#;
    let p = Project::new();
    p.write("piitrail.toml", policy);
    p.write("exports/eu/customers.csv", CUSTOMERS);
    p.write("data/customers.csv", CUSTOMERS);
    let v = gate_json(&p, &["exports/eu/customers.csv", "data/customers.csv"], 1);
    let bad = violations(&v);
    assert_eq!(
        bad,
        [(
            "category-not-allowed".into(),
            "exports/eu/customers.csv".into(),
            "email".into(),
            false
        )],
        "only the email of the export is outside its allow list"
    );
    p.write(
        "exports/eu/customers.csv",
        "customer_id,country\nC001,DE\nC002,FR\nC003,DE\n",
    );
    gate_json(&p, &["exports/eu/customers.csv"], 0);
}

/// Records models/churn.pkl as trained on data/customers.csv.
fn train_model(p: &Project) {
    p.write("models/churn.pkl", "model weights");
    p.run(&[
        "record",
        "--kind",
        "training",
        "--input",
        "data/customers.csv",
        "--output",
        "models/churn.pkl",
    ])
    .expect(0);
}

/// A project with a recorded pipeline: customers → (hash email) → exports/hashed.csv,
/// customers → (copy email) → exports/raw.csv, customers → model, and an aggregate.
fn pipeline(config: &str) -> Project {
    let p = project(&format!("{DECLARED}\n{config}"));
    p.run(&["scan", "data/customers.csv", "--record"]).expect(0);
    p.run(&[
        "run",
        "--sql",
        "SELECT customer_id, sha256(email) AS email_hash FROM c",
        "--input",
        "c=data/customers.csv",
        "--output",
        "exports/hashed.csv",
    ])
    .expect(0);
    p.run(&[
        "run",
        "--sql",
        "SELECT country, count(*) AS n FROM c GROUP BY country",
        "--input",
        "c=data/customers.csv",
        "--output",
        "reports/by_country.csv",
    ])
    .expect(0);
    train_model(&p);
    p
}

#[test]
fn flow_rules_follow_recorded_lineage_downstream() {
    let p = pipeline(
        r#"
[policy]
min_group_size = 1

[[policy.flow]]
id = "no-contact-in-models"
category = "user.contact*"
kind = "model"
reason = "Models must not learn contact data"

[[policy.flow]]
id = "nothing-raw-in-exports"
to = "exports/**"
status = ["direct"]
"#,
    );
    let v = gate_json(&p, &["data/customers.csv"], 1);
    let bad = violations(&v);
    assert!(
        bad.iter()
            .any(|(r, a, _, _)| r == "forbidden-flow/no-contact-in-models"
                && a == "models/churn.pkl"),
        "{bad:?}"
    );
    // The hashed export holds only pseudonymised email and a direct customer id.
    assert!(
        bad.iter()
            .any(|(r, a, c, _)| r == "forbidden-flow/nothing-raw-in-exports"
                && a == "exports/hashed.csv"
                && c == "customer_id"),
        "{bad:?}"
    );
    assert!(
        !bad.iter()
            .any(|(r, a, c, _)| r == "forbidden-flow/nothing-raw-in-exports"
                && a == "exports/hashed.csv"
                && c == "email_hash"),
        "a pseudonymised column is not direct: {bad:?}"
    );
    let msg = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["artifact"] == "models/churn.pkl")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("as trained_on"), "{msg}");
    let downstream: Vec<&str> = v["checked"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["role"] == "downstream")
        .map(|c| c["artifact"].as_str().unwrap())
        .collect();
    assert_eq!(
        downstream,
        [
            "exports/hashed.csv",
            "models/churn.pkl",
            "reports/by_country.csv"
        ]
    );
    // Without the flow rules the same project passes.
    let p = pipeline("[policy]\nmin_group_size = 1\n");
    gate_json(&p, &["data/customers.csv"], 0);
}

#[test]
fn a_new_version_of_a_source_is_checked_against_its_recorded_flows() {
    let p = pipeline(
        r#"
[policy]
min_group_size = 1

[[policy.flow]]
id = "no-health-in-models"
category = "user.health*"
kind = "model"
"#,
    );
    gate_json(&p, &["data/customers.csv"], 0);
    // The source gains a health column: the recorded training step would carry it.
    p.write(
        "data/customers.csv",
        CUSTOMERS
            .lines()
            .zip([
                "diagnosis_code",
                "E11.9",
                "J45.909",
                "I10",
                "E11.65",
                "M54.5",
                "F32.1",
            ])
            .map(|(l, d)| format!("{l},{d}\n"))
            .collect::<String>(),
    );
    let v = gate_json(&p, &["data/customers.csv"], 1);
    assert!(
        violations(&v).iter().any(
            |(r, a, _, _)| r == "forbidden-flow/no-health-in-models" && a == "models/churn.pkl"
        ),
        "{v:#}"
    );
    assert!(has(&v, "pii-drift", "diagnosis_code"), "{v:#}");
}

#[test]
fn small_groups_fail_below_min_group_size() {
    let p = pipeline("");
    let v = gate_json(&p, &["data/customers.csv"], 1);
    let bad: Vec<_> = violations(&v)
        .into_iter()
        .filter(|(r, ..)| r == "small-group")
        .collect();
    assert_eq!(
        bad,
        [(
            "small-group".into(),
            "reports/by_country.csv".into(),
            String::new(),
            false
        )]
    );
    let p = pipeline("[policy]\nmin_group_size = 1\n");
    gate_json(&p, &["data/customers.csv"], 0);
}

#[test]
fn drift_is_a_warning_unless_the_policy_makes_it_an_error() {
    let p = project(
        r#"
[[dataset]]
path = "data/customers.csv"
purpose = "Order fulfilment"
legal_basis = "contract"
columns.customer_id = "user.unique_id"
columns.email = "user.contact.email"
columns.country = "user.contact.address"
columns.phone = "user.contact.phone_number"
"#,
    );
    p.run(&["scan", "data/customers.csv", "--record"]).expect(0);
    let phones = [
        "+49 30 1234567",
        "+33 1 42 68 53 00",
        "+49 89 7654321",
        "+39 06 6982",
        "+34 91 123 45 67",
        "+49 40 555123",
    ];
    let grown: String = CUSTOMERS
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l},phone\n")
            } else {
                format!("{l},{}\n", phones[i - 1])
            }
        })
        .collect();
    p.write("data/customers.csv", &grown);
    let v = gate_json(&p, &["data/customers.csv"], 0);
    let drift: Vec<_> = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["rule"] == "pii-drift")
        .collect();
    assert_eq!(drift.len(), 1, "{v:#}");
    assert_eq!(drift[0]["column"], "phone");
    assert_eq!(drift[0]["level"], "warning");
    let text = p.run(&["gate", "data/customers.csv"]).expect(0).stdout();
    assert!(
        text.contains("warning[pii-drift] data/customers.csv: column 'phone'"),
        "{text}"
    );
    let base = p.read("piitrail.toml");
    p.write(
        "piitrail.toml",
        base.replace(
            "[project]",
            "[policy.severity]\npii-drift = \"error\"\n\n[project]",
        ),
    );
    gate_json(&p, &["data/customers.csv"], 1);
}

#[test]
fn a_declared_column_the_dataset_lacks_is_a_warning() {
    let p = project(&format!(
        "{DECLARED}columns.phone = \"user.contact.phone_number\"\n"
    ));
    let v = gate_json(&p, &["data/customers.csv"], 0);
    assert!(has(&v, "declared-column-missing", "phone"), "{v:#}");
    assert_eq!(v["summary"]["warnings"], 1);
}

fn waiver(expires: &str) -> String {
    format!(
        r#"
[[policy.waiver]]
rule = "undeclared-pii"
path = "data/*.csv"
column = "email"
reason = "DATA-123: email is dropped in the next release"
expires = {expires}
"#
    )
}

#[test]
fn waivers_hold_until_their_expiry_date_and_then_fail_the_gate() {
    let decl = DECLARED.replace("columns.email = \"user.contact.email\"\n", "");
    // Valid through the expiry date itself.
    for days in [30, 0] {
        let p = project(&format!("{}{decl}", waiver(&today_plus(days))));
        let v = gate_json(&p, &["data/customers.csv"], 0);
        assert_eq!(
            violations(&v),
            [(
                "undeclared-pii".into(),
                "data/customers.csv".into(),
                "email".into(),
                true
            )]
        );
        assert_eq!(v["summary"]["suppressed"], 1);
        let text = p.run(&["gate", "data/customers.csv"]).expect(0).stdout();
        assert!(text.contains("waived[undeclared-pii]"), "{text}");
        assert!(text.contains("DATA-123"), "{text}");
    }
    // The day after: the waiver fails the gate and what it covered is back.
    let p = project(&format!(
        "{}{decl}",
        waiver(&format!("\"{}\"", today_plus(-1)))
    ));
    let v = gate_json(&p, &["data/customers.csv"], 1);
    assert!(has(&v, "undeclared-pii", "email"));
    let expired: Vec<_> = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["rule"] == "expired-waiver")
        .collect();
    assert_eq!(expired.len(), 1, "{v:#}");
    assert_eq!(expired[0]["artifact"], "piitrail.toml");
    assert!(expired[0]["line"].as_u64().unwrap() > 1);
    // A waiver for another column suppresses nothing here.
    let p = project(&format!(
        "{}{decl}",
        waiver(&today_plus(30)).replace("column = \"email\"", "column = \"mail\"")
    ));
    gate_json(&p, &["data/customers.csv"], 1);
}

#[test]
fn severity_off_drops_a_rule() {
    let p = project("[policy.severity]\nundeclared-pii = \"off\"\n");
    let v = gate_json(&p, &["data/customers.csv"], 0);
    assert!(violations(&v).is_empty());
    let p = project("[policy.severity]\nundeclared-pii = \"warning\"\n");
    let v = gate_json(&p, &["data/customers.csv"], 0);
    assert_eq!(v["summary"]["warnings"], 3);
}

#[test]
fn bad_policy_files_are_exit_2_naming_file_line_and_key() {
    let cases = [
        (
            "[policy]\nrequire_declarations = true\n",
            "piitrail.toml:2:1: key `require_declarations`",
        ),
        (
            "[[policy.allow]]\npath = \"data/{a\"\ncategories = [\"user.contact\"]\n",
            "piitrail.toml:2:8: key `policy.allow[0].path`: bad glob",
        ),
        (
            "[[dataset]]\npath = \"a.csv\"\npurpose = \"x\"\nlegal_basis = \"contract\"\ncolumns.email = \"user.contact.e-mail\"\n",
            "piitrail.toml:5:17: key `dataset[0].columns.email`: unknown category 'user.contact.e-mail'",
        ),
        (
            "[[policy.waiver]]\nrule = \"undeclared-pii\"\npath = \"a.csv\"\nreason = \"r\"\nexpires = \"31/12/2026\"\n",
            "piitrail.toml:5:11: key `policy.waiver[0].expires`: '31/12/2026' is not a date",
        ),
        ("[policy\n", "piitrail.toml:1:"),
    ];
    for (config, want) in cases {
        let p = project("");
        p.write("piitrail.toml", config);
        for format in ["text", "sarif"] {
            let r = p
                .run(&["gate", "data/customers.csv", "--format", format])
                .expect(2);
            assert!(
                r.stderr().contains(want),
                "want {want:?} in:\n{}",
                r.stderr()
            );
            assert!(r.stdout().is_empty(), "nothing on stdout: {}", r.stdout());
        }
    }
    // A named policy file must exist; a missing dataset is exit 2 too.
    let p = project(DECLARED);
    let r = p
        .run(&["gate", "data/customers.csv", "--policy", "ci/missing.toml"])
        .expect(2);
    assert!(r.stderr().contains("ci/missing.toml"), "{}", r.stderr());
    p.run(&["gate", "data/nope.csv"]).expect(2);
    p.run(&["gate", "data/customers.csv", "--format", "xml"])
        .expect(2);
    // --policy replaces piitrail.toml.
    p.write("ci/lenient.toml", "[policy]\nrequire_declaration = false\n");
    p.write("data/customers.csv", CUSTOMERS.replace("email", "mail"));
    gate_json(
        &p,
        &["data/customers.csv", "--policy", "ci/lenient.toml"],
        0,
    );
}

fn failing_project() -> Project {
    let p = project(&format!(
        "{}\n[[policy.flow]]\nid = \"no-contact-in-models\"\ncategory = \"user.contact*\"\nkind = \"model\"\n{}",
        DECLARED.replace("columns.email = \"user.contact.email\"\n", ""),
        waiver(&today_plus(-3)).replace("column = \"email\"", "column = \"country\"")
    ));
    p.write("data/patients.csv", PATIENTS);
    p.write("data/a b.csv", CLEAN);
    p.run(&["scan", "data/customers.csv", "--record"]).expect(0);
    train_model(&p);
    p
}

#[test]
fn sarif_output_validates_against_the_oasis_schema() {
    let p = failing_project();
    let args = ["gate", "data/", "--format", "sarif"];
    let out = p.run(&args).expect(1).stdout();
    let sarif: Value = serde_json::from_str(&out).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::fixture("sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF schema violations: {errors:#?}");
    // The validator is not vacuous: a result without a message is rejected.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(!validator.is_valid(&broken));

    let run = &sarif["runs"][0];
    let rule_ids: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for id in [
        "undeclared-pii",
        "special-category-without-condition",
        "expired-waiver",
        "forbidden-flow/no-contact-in-models",
    ] {
        assert!(rule_ids.contains(&id), "{rule_ids:?}");
    }
    for rule in run["tool"]["driver"]["rules"].as_array().unwrap() {
        assert!(rule["help"]["text"].as_str().unwrap().len() > 40, "{rule}");
    }
    let results = run["results"].as_array().unwrap();
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rule_ids[i], id);
        assert_eq!(
            r["partialFingerprints"]["piitrail/v1"]
                .as_str()
                .unwrap()
                .len(),
            32
        );
    }
    let email = results
        .iter()
        .find(|r| r["ruleId"] == "undeclared-pii")
        .unwrap();
    assert_eq!(
        email["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "data/customers.csv"
    );
    assert_eq!(
        email["locations"][0]["logicalLocations"][0]["name"],
        "email"
    );
    assert!(results.iter().any(|r| r["ruleId"] == "expired-waiver"
        && r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64() > Some(1)));
    // Fingerprints are stable from run to run.
    let again: Value = serde_json::from_str(&p.run(&args).expect(1).stdout()).unwrap();
    let prints = |s: &Value| -> Vec<String> {
        s["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"]["piitrail/v1"].to_string())
            .collect()
    };
    assert_eq!(prints(&sarif), prints(&again));
}

#[test]
fn junit_output_has_one_testcase_per_dataset_and_rule() {
    let p = failing_project();
    let json = gate_json(&p, &["data/"], 1);
    let xml = p
        .run(&["gate", "data/", "--format", "junit"])
        .expect(1)
        .stdout();
    let doc = roxmltree::Document::parse(&xml).expect("JUnit output is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let expected_cases: usize = json["checked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rules"].as_array().unwrap().len())
        .sum();
    let cases: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), expected_cases);
    assert_eq!(root.attribute("tests").unwrap(), expected_cases.to_string());
    let failed: Vec<(String, String)> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| {
            (
                c.attribute("classname").unwrap().to_string(),
                c.attribute("name").unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("data/customers.csv", "undeclared-pii"),
        ("data/patients.csv", "special-category-without-condition"),
        ("models/churn.pkl", "forbidden-flow/no-contact-in-models"),
        ("piitrail.toml", "expired-waiver"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let mut failed_sorted = failed.clone();
    failed_sorted.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(failed_sorted, want_sorted);
    assert_eq!(root.attribute("failures").unwrap(), want.len().to_string());
    let suites: Vec<&str> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert!(suites.contains(&"data/a b.csv"), "{suites:?}");
    // A passing gate is all testcases and no failures.
    let ok = project(DECLARED);
    let xml = ok
        .run(&["gate", "data/customers.csv", "--format", "junit"])
        .expect(0)
        .stdout();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().attribute("failures"), Some("0"));
}

#[test]
fn github_output_is_workflow_annotations() {
    let p = failing_project();
    let out = p
        .run(&["gate", "data/", "--format", "github"])
        .expect(1)
        .stdout();
    assert!(
        out.lines().any(|l| l.starts_with(
            "::error file=data/customers.csv,line=1,title=piitrail undeclared-pii (email)::column 'email' holds user.contact.email"
        )),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("::error file=piitrail.toml,line=")
                && l.contains("expired-waiver")),
        "{out}"
    );
    assert!(out.lines().all(|l| !l.contains('\r')));
    assert!(out.trim_end().ends_with("waived"), "{out}");
    assert!(out.contains("piitrail gate failed"));
}

#[test]
fn init_writes_a_strict_policy_that_loads() {
    let p = Project::new();
    p.run(&["init"]).expect(0);
    let toml = p.read("piitrail.toml");
    assert!(toml.contains("require_declaration = true"), "{toml}");
    p.write("data/customers.csv", CUSTOMERS);
    let v = gate_json(&p, &["data/customers.csv"], 1);
    assert_eq!(v["policy"], "piitrail.toml");
}
