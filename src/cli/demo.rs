//! `piitrail demo`: the main job on the bundled example shop (examples/shop).
//!
//! Today the demo writes the example project and scans it; the ledger, lineage, audit and
//! signing steps join it as they are built (issues 3 and 4).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use super::{Context, Outcome, UsageError};
use crate::fsio::write_atomic;
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
];

/// Marks a folder as written by `demo`, so a re-run may overwrite it and nothing else is touched.
const MARKER: &str = ".piitrail-demo";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder to write the example project into.
    #[arg(long, value_name = "DIR", default_value = "piitrail-demo")]
    pub out: PathBuf,
}

pub fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
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
    for (rel, text) in FILES {
        write_atomic(&out.join(rel), text.as_bytes())
            .with_context(|| format!("writing {}", out.join(rel).display()))?;
    }
    write_atomic(&out.join(MARKER), b"written by piitrail demo\n")?;
    ctx.note(format!("example shop written to {}", out.display()));

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
    };
    let scans = scan::scan(&req).context("scanning the example shop")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "== scan: where is personal data?\n")?;
    for s in &scans {
        super::scan::write_text(&mut stdout, s)?;
    }
    let tagged: usize = scans.iter().map(|s| s.tagged_columns().count()).sum();
    let special: Vec<String> = scans
        .iter()
        .flat_map(|s| {
            s.columns.iter().flat_map(move |c| {
                c.tags
                    .iter()
                    .filter(|t| {
                        t.gdpr_class != rules::GdprClass::Personal
                            && t.gdpr_class != rules::GdprClass::Quasi
                    })
                    .map(move |t| {
                        format!(
                            "{}:{} ({}, {})",
                            s.artifact, c.name, t.category, t.gdpr_class
                        )
                    })
            })
        })
        .collect();
    writeln!(
        stdout,
        "{tagged} columns in {} files hold personal data.",
        scans.len()
    )?;
    if !special.is_empty() {
        writeln!(
            stdout,
            "Special categories (Art. 9) and criminal data (Art. 10):"
        )?;
        for s in special {
            writeln!(stdout, "  {s}")?;
        }
    }
    writeln!(
        stdout,
        "\nThe example project is in {}. Try: piitrail scan {} --full",
        out.display(),
        out.join("data").display()
    )?;
    Ok(Outcome::Success)
}
