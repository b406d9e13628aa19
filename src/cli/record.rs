//! `piitrail record`: declare a step that ran elsewhere (training, transform, export).

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{Context, Outcome};
use crate::ledger::Ledger;
use crate::lineage::declared::{self, StepKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Train a model: the outputs are models and inherit every category of the inputs.
    Training,
    Transform,
    Export,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What kind of step ran.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// Files the step read.
    #[arg(long = "input", value_name = "PATH", required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,
    /// Files the step wrote.
    #[arg(long = "output", value_name = "PATH", required = true, num_args = 1..)]
    pub outputs: Vec<PathBuf>,
    /// Column lineage OUT=IN[:CLASS]; OUT and IN are `column` or `PATH:column`, CLASS one of
    /// direct (default), pseudonymised, generalised, aggregated, influenced.
    #[arg(long = "column", value_name = "OUT=IN[:CLASS]")]
    pub columns: Vec<String>,
    /// The script or notebook that ran (recorded by its digest).
    #[arg(long, value_name = "FILE")]
    pub code: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let ledger = Ledger::open(&ctx.root)?;
    let req = declared::Request {
        kind: match args.kind {
            Kind::Training => StepKind::Training,
            Kind::Transform => StepKind::Transform,
            Kind::Export => StepKind::Export,
        },
        inputs: args.inputs,
        outputs: args.outputs,
        columns: args.columns,
        code: args.code,
        root: ctx.root.clone(),
    };
    let x = declared::record(&ledger, &req)?;
    let names = |v: &[crate::ledger::ArtifactRef]| {
        v.iter()
            .map(|a| a.path.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(
        std::io::stdout().lock(),
        "recorded {} execution {}: {} -> {} ({} column edges)",
        x.kind,
        x.id,
        names(&x.inputs),
        names(&x.outputs),
        x.columns.len()
    )?;
    Ok(Outcome::Success)
}
