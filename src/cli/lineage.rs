//! `piitrail lineage ARTIFACT`: the upstream or downstream graph of an artifact.

use std::io::Write;

use clap::ValueEnum;

use super::{Context, Outcome, UsageError};
use crate::ledger::Ledger;
use crate::lineage::graph::{self, Direction, Graph};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Dot,
    Mermaid,
    /// OpenLineage RunEvents (JSON lines) for the steps piitrail recorded itself.
    Openlineage,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A path (every recorded version of it), a URI, or one version's digest (sha256:HEX).
    pub artifact: String,
    /// Walk towards the sources (the default).
    #[arg(long, conflicts_with = "downstream")]
    pub upstream: bool,
    /// Walk towards what was derived from the artifact.
    #[arg(long)]
    pub downstream: bool,
    /// Include column-level edges.
    #[arg(long)]
    pub columns: bool,
    /// Output format: an indented tree, JSON, Graphviz DOT, Mermaid, or OpenLineage RunEvents.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let ledger = Ledger::open(&ctx.root)?;
    let g = Graph::load(&ledger)?;
    // A local path is named relative to the project, as the ledger names it.
    let name = if std::path::Path::new(&args.artifact).exists() {
        crate::scan::display_path(std::path::Path::new(&args.artifact), &ctx.root)
    } else {
        args.artifact.clone()
    };
    let roots = g.resolve(&name);
    if roots.is_empty() {
        return Err(UsageError(format!(
            "no artifact '{}' in the ledger; `piitrail ledger log` lists what is recorded",
            args.artifact
        ))
        .into());
    }
    let dir = if args.downstream {
        Direction::Downstream
    } else {
        Direction::Upstream
    };
    let w = graph::walk(&g, &roots, dir, args.columns);
    for c in &w.cycles {
        let names: Vec<&str> = c.iter().map(|d| g.path(d).unwrap_or(d)).collect();
        ctx.note(format!(
            "warning: the recorded lineage has a cycle: {}",
            names.join(" -> ")
        ));
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            serde_json::to_writer(&mut out, &w)?;
            writeln!(out)?;
        }
        Format::Openlineage => {
            let records = ledger.load()?;
            let prop = crate::propagate::propagate(&records);
            let rules = crate::policy::project_rules(&ctx.root, &[], false)?;
            let project = crate::policy::Config::load(&ctx.root, &rules)?.project.name;
            let ids = w.executions.iter().map(|x| x.id.clone()).collect();
            for event in
                crate::lineage::openlineage::export(&records, &prop, &ids, &project, &ctx.root)
            {
                serde_json::to_writer(&mut out, &event)?;
                writeln!(out)?;
            }
        }
        Format::Dot => out.write_all(graph::to_dot(&w).as_bytes())?,
        Format::Mermaid => out.write_all(graph::to_mermaid(&w).as_bytes())?,
        Format::Text => {
            out.write_all(graph::to_text(&g, &roots, dir).as_bytes())?;
            if let Some(cols) = &w.columns {
                writeln!(out, "\ncolumns:")?;
                for c in cols {
                    writeln!(
                        out,
                        "  {}:{} -> {}:{}  {} {}{}  {}",
                        c.from.path,
                        c.from.column,
                        c.to.path,
                        c.to.column,
                        c.edge_type,
                        c.subtype,
                        if c.masking { " masking" } else { "" },
                        c.class
                    )?;
                }
            }
        }
    }
    Ok(Outcome::Success)
}
