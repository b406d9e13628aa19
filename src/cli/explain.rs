//! `piitrail explain [CODE]`: what a finding code of `audit` and `gate` means and how to fix
//! it, from the one registry ([`crate::findings`]); without a code, every code.

use std::io::Write;

use super::{Context, Outcome, TextOrJson, UsageError};
use crate::findings::{self, Code, Level};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A finding code (`small-group`, `undeclared-pii`, `forbidden-flow/ID`, ...); all codes
    /// when left out.
    pub code: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
}

/// One code as `explain --format json` prints it.
#[derive(serde::Serialize)]
struct Explained<'a> {
    #[serde(flatten)]
    code: &'a Code,
    reported_by: &'static [&'static str],
    /// The severity in this project, after `[policy.severity]` (or the flow rule's own).
    project_level: Option<Level>,
}

pub fn run(ctx: &Context, args: Args) -> anyhow::Result<Outcome> {
    let codes: Vec<&Code> = match &args.code {
        Some(id) => vec![findings::code(id).ok_or_else(|| {
            UsageError(format!(
                "no finding code '{id}'; `piitrail explain` lists them: {}",
                findings::CODES
                    .iter()
                    .map(|c| c.id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?],
        None => findings::CODES.iter().collect(),
    };
    // The project's overrides, when it has a policy that reads; explaining needs none.
    let config = crate::policy::project_rules(&ctx.root, &[], false)
        .ok()
        .and_then(|rules| crate::policy::Config::load(&ctx.root, &rules).ok())
        .filter(|c| c.file.is_some());
    let level = |c: &Code| {
        let id = match (&args.code, c.id) {
            (Some(asked), findings::FORBIDDEN_FLOW) => asked.as_str(),
            _ => c.id,
        };
        config.as_ref().map(|cfg| cfg.level(id))
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        TextOrJson::Json => {
            let list: Vec<Explained> = codes
                .iter()
                .map(|c| Explained {
                    code: c,
                    reported_by: c.reported_by.commands(),
                    project_level: level(c),
                })
                .collect();
            match &args.code {
                Some(_) => serde_json::to_writer_pretty(&mut out, &list[0])?,
                None => serde_json::to_writer_pretty(&mut out, &list)?,
            }
            writeln!(out)?;
        }
        TextOrJson::Text if args.code.is_none() => {
            let w = codes.iter().map(|c| c.id.len()).max().unwrap_or(0);
            for c in &codes {
                writeln!(
                    out,
                    "{:w$}  {:<7}  {:<10}  {}",
                    c.id,
                    c.level.as_str(),
                    c.reported_by.commands().join(","),
                    c.summary
                )?;
            }
            writeln!(out, "\n`piitrail explain CODE` tells what to do about one.")?;
        }
        TextOrJson::Text => {
            let c = codes[0];
            writeln!(out, "{} ({})", args.code.as_deref().unwrap_or(c.id), c.name)?;
            writeln!(out, "\n{}", c.summary)?;
            writeln!(out, "\nWhat to do\n  {}", c.help)?;
            writeln!(out, "\nSeverity\n  {} by default", c.level.as_str())?;
            if let Some(l) = level(c) {
                writeln!(out, "  {} in this project (piitrail.toml)", l.as_str())?;
            }
            let key = if c.id == findings::FORBIDDEN_FLOW {
                "the flow rule's `severity`, or [policy.severity] \"forbidden-flow/ID\"".to_string()
            } else {
                format!(
                    "[policy.severity] {} = \"warning\" (error, warning, note, off)",
                    c.id
                )
            };
            writeln!(out, "  change it with {key}")?;
            writeln!(
                out,
                "\nReported by\n  {}",
                c.reported_by.commands().join(", ")
            )?;
        }
    }
    Ok(Outcome::Success)
}
