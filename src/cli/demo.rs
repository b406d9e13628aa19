//! `piitrail demo`: the main job on the bundled example shop (examples/shop): init, scan
//! (recorded), three SQL steps through `run`, a training step, a throwaway signing key, the
//! signed audit, and its verification.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;

use super::{Context, Outcome, UsageError};
use crate::fsio::write_atomic;
use crate::ledger::Ledger;
use crate::ledger::{Class, EdgeType};
use crate::lineage::{declared, run as sql_run};
use crate::rules;
use crate::scan::{self, Mode};

/// The example project, embedded so that `demo` works from any folder.
const FILES: &[(&str, &str)] = &[
    ("README.md", include_str!("../../examples/shop/README.md")),
    (
        "data/customers.csv",
        include_str!("../../examples/shop/data/customers.csv"),
    ),
    (
        "data/orders.csv",
        include_str!("../../examples/shop/data/orders.csv"),
    ),
    (
        "data/tickets.csv",
        include_str!("../../examples/shop/data/tickets.csv"),
    ),
    (
        "steps/clean_customers.sql",
        include_str!("../../examples/shop/steps/clean_customers.sql"),
    ),
    (
        "steps/orders_by_country.sql",
        include_str!("../../examples/shop/steps/orders_by_country.sql"),
    ),
    (
        "steps/features.sql",
        include_str!("../../examples/shop/steps/features.sql"),
    ),
    ("train.py", include_str!("../../examples/shop/train.py")),
];

/// One SQL step: the query file, its inputs (table name, path), its output.
type Step = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

const STEPS: &[Step] = &[
    (
        "steps/clean_customers.sql",
        &[("customers", "data/customers.csv")],
        "out/customers_clean.parquet",
    ),
    (
        "steps/orders_by_country.sql",
        &[("orders", "data/orders.csv")],
        "out/orders_by_country.csv",
    ),
    (
        "steps/features.sql",
        &[
            ("customers_clean", "out/customers_clean.parquet"),
            ("orders", "data/orders.csv"),
        ],
        "out/features.parquet",
    ),
];

/// The shop's piitrail.toml: its policy and record of processing.
const CONFIG: &str = include_str!("../../examples/shop/piitrail.toml");

/// Marks a folder as written by `demo`, so a re-run may overwrite it and nothing else is touched.
const MARKER: &str = ".piitrail-demo";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder to write the example project into.
    #[arg(long, value_name = "DIR", default_value = "piitrail-demo")]
    pub out: PathBuf,
}

pub fn run(_ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let out = if args.out.is_absolute() {
        args.out.clone()
    } else {
        std::env::current_dir()?.join(&args.out)
    };
    if out.exists() && !out.join(MARKER).exists() && std::fs::read_dir(&out)?.next().is_some() {
        return Err(UsageError(format!(
            "{} exists and was not written by `piitrail demo`; choose another folder with --out",
            out.display()
        ))
        .into());
    }
    // A folder of an earlier demo run is the demo's own: start it afresh.
    if out.join(MARKER).exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    for (rel, text) in FILES {
        write_atomic(&out.join(rel), text.as_bytes())
            .with_context(|| format!("writing {}", out.join(rel).display()))?;
    }
    write_atomic(&out.join(MARKER), b"written by piitrail demo\n")?;
    let mut o = anstream::stdout().lock();
    writeln!(
        o,
        "== piitrail demo: a small web shop in {}\n",
        out.display()
    )?;

    super::init::create(&out, CONFIG)?;
    let ledger = Ledger::open(&out)?;
    writeln!(
        o,
        "1. init: piitrail.toml and the hash-chained ledger .piitrail/ledger.jsonl"
    )?;

    // Scan the raw data and record what was found.
    let rules = Arc::new(rules::load(&rules::Sources {
        builtin: true,
        extra: vec![],
    })?);
    let req = scan::Request {
        paths: vec![out.join("data")],
        mode: Mode::Sample(10_000),
        rules,
        root: out.clone(),
        show_examples: false,
        digest: true,
        tables: Vec::new(),
        progress: Default::default(),
    };
    let scans = scan::scan(&req).context("scanning the example shop")?;
    crate::scan::record_scans(&ledger, &scans)?;
    writeln!(o, "2. scan --record: personal data in the raw files\n")?;
    for s in &scans {
        super::scan::write_text(&mut o, s)?;
    }

    // The pipeline: SQL steps with exact column lineage.
    writeln!(
        o,
        "3. run: three SQL steps, column lineage taken from DataFusion's plan"
    )?;
    for (sql, inputs, output) in STEPS {
        let req = sql_run::Request {
            sql: std::fs::read_to_string(out.join(sql))?,
            inputs: inputs
                .iter()
                .map(|(n, p)| (n.to_string(), out.join(p)))
                .collect(),
            output: out.join(output),
            root: out.clone(),
        };
        let ran = sql_run::run(&req, Some(&ledger)).with_context(|| format!("running {sql}"))?;
        let classes: Vec<String> = ran
            .execution
            .columns
            .iter()
            .filter(|e| e.edge_type == EdgeType::Direct && e.class != Class::Direct)
            .map(|e| format!("{} {} -> {}", e.class, e.from.column, e.to.column))
            .collect();
        writeln!(
            o,
            "   {sql} -> {output} ({} rows{}){}",
            ran.rows,
            ran.execution
                .min_group_size
                .map(|k| format!(", smallest group k = {k}"))
                .unwrap_or_default(),
            if classes.is_empty() {
                String::new()
            } else {
                format!("\n      {}", classes.join("\n      "))
            }
        )?;
    }

    // Training: the model file stands in for a real model; the step is declared as a
    // training script would declare it (see train.py).
    let model = out.join("models/churn.json");
    let features = crate::source::digest_file(&out.join("out/features.parquet"))?;
    write_atomic(
        &model,
        format!(
            "{{\"model\": \"churn-baseline\", \"threshold\": 0.5, \"features\": \"{features}\"}}\n"
        )
        .as_bytes(),
    )?;
    declared::record(
        &ledger,
        &declared::Request {
            kind: declared::StepKind::Training,
            inputs: vec![
                out.join("out/features.parquet"),
                out.join("data/tickets.csv"),
            ],
            outputs: vec![model.clone()],
            columns: vec![],
            code: Some(out.join("train.py")),
            root: out.clone(),
        },
    )?;
    writeln!(
        o,
        "4. record --kind training: models/churn.json trained on the features and the support tickets"
    )?;

    // A throwaway key outside the project: the private half is deleted when the demo ends.
    let keys = tempfile::tempdir()?;
    let kp = crate::sign::keygen(keys.path())?;
    let public = out.join("keys/piitrail.pub");
    write_atomic(&public, &std::fs::read(&kp.public_path)?)?;
    writeln!(
        o,
        "5. keygen: a throwaway ed25519 key (keyid {}); its public half is keys/piitrail.pub",
        &kp.keyid[..16]
    )?;

    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let report_dir = out.join("report");
    let w = crate::report::audit(
        &out,
        &report_dir,
        Some(&kp.private_path),
        None,
        time,
        &Default::default(),
    )?;
    drop(keys);
    let r = &w.report;
    writeln!(o, "6. audit: the signed report")?;
    super::audit::write_summary(&mut o, r, "   ")?;
    let verified = verify_report(&report_dir.join("report.dsse.json"), &public, &out)?;
    writeln!(o, "7. verify: {verified}")?;

    // The CI gate on the raw data, with the shop's policy and record of processing.
    let config = crate::policy::Config::parse(&out.join("piitrail.toml"), CONFIG, &req.rules)?;
    let records = ledger.load()?;
    let gate = crate::policy::gate::evaluate(&crate::policy::gate::Request {
        config: &config,
        rules: &req.rules,
        scans: &scans,
        records: &records,
        policy_path: "piitrail.toml".into(),
        today: chrono::Local::now().date_naive(),
        recorded: None,
    });
    writeln!(
        o,
        "8. gate data/: the CI check against piitrail.toml (exit code {})",
        if gate.passed { 0 } else { 1 }
    )?;
    let mut text = Vec::new();
    super::gate::write_text(&mut text, &gate)?;
    for line in String::from_utf8_lossy(&text).lines() {
        writeln!(o, "   {line}")?;
    }
    writeln!(
        o,
        "\nThe report: {}\nRe-check it: cd {} && piitrail verify report/report.dsse.json --key keys/piitrail.pub --artifacts",
        report_dir.join("report.html").display(),
        out.display()
    )?;
    Ok(Outcome::Success)
}

/// Checks the envelope and every artifact it names, as `piitrail verify --artifacts` does.
fn verify_report(envelope: &Path, public: &Path, root: &Path) -> anyhow::Result<String> {
    let key = crate::sign::load_public_key(public)?;
    let env: crate::sign::Envelope = serde_json::from_slice(&std::fs::read(envelope)?)?;
    let roots = crate::policy::DataRoots::new(root, &[]);
    let checked =
        crate::sign::check_report(&env, &key, Some((root, &roots))).map_err(anyhow::Error::msg)?;
    if checked.failures() > 0 {
        anyhow::bail!(
            "{} artifacts differ from the signed report",
            checked.failures()
        );
    }
    Ok(format!(
        "signature valid, all {} artifacts match the signed report",
        checked.subjects.len()
    ))
}
