//! `piitrail subject find`: every artifact that holds or came from one person's data.

use std::io::Write;

use super::{Context, Outcome, TextOrJson};
use crate::ledger::Ledger;
use crate::subject::{self, Match, Report};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Find the subject's rows in every dataset, the aggregates they went into and the models
    /// trained on them (Art. 15 access, Art. 17 erasure). Values are never printed.
    #[command(
        after_help = "Examples:\n  piitrail subject find --id email=alice@example.com\n  piitrail subject find --id phone=+4930123456 --id data/crm.csv:customer_no=4711 --format json\n  piitrail subject find --id email=alice@example.com --fail-if-found"
    )]
    Find(FindArgs),
}

#[derive(Debug, clap::Args)]
pub struct FindArgs {
    /// CATEGORY=VALUE (a category, a rule id or a short name: email, phone, iban) or
    /// PATH:COLUMN=VALUE. Repeat for several identifiers of the same person.
    #[arg(long = "id", value_name = "CATEGORY=VALUE", required = true)]
    pub ids: Vec<String>,
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
    /// Exit 1 when anything was found (for scripts that check an erasure).
    #[arg(long)]
    pub fail_if_found: bool,
}

pub fn run(ctx: &Context, cmd: Command) -> anyhow::Result<Outcome> {
    match cmd {
        Command::Find(args) => find(ctx, args),
    }
}

fn find(ctx: &Context, args: FindArgs) -> anyhow::Result<Outcome> {
    let ledger = Ledger::open(&ctx.root)?;
    let records = ledger.load()?;
    let rules = crate::rules::builtin()?;
    let report = subject::find(
        &subject::Request {
            ids: &args.ids,
            root: ctx.root.clone(),
            rules: &rules,
        },
        &records,
    )?;
    let mut out = std::io::stdout().lock();
    match args.format {
        TextOrJson::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        TextOrJson::Text => write_text(&mut out, &report)?,
    }
    Ok(if args.fail_if_found && !report.artifacts.is_empty() {
        Outcome::Findings
    } else {
        Outcome::Success
    })
}

fn write_text(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(
        out,
        "identity: {}",
        r.identity
            .iter()
            .map(|i| match &i.found_in {
                Some(at) => format!(
                    "{} {} (found in {at})",
                    i.category,
                    crate::scan::short_digest(&i.value_hash)
                ),
                None => format!(
                    "{} {}",
                    i.category,
                    crate::scan::short_digest(&i.value_hash)
                ),
            })
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    if r.artifacts.is_empty() {
        return writeln!(
            out,
            "nothing found: no recorded artifact holds this subject's data"
        );
    }
    for a in &r.artifacts {
        match a.matched {
            Match::Rows => writeln!(
                out,
                "  rows        {} ({}): {} row(s) in {} — rows {}",
                a.path,
                crate::scan::short_digest(&a.digest),
                a.rows,
                a.columns.join(", "),
                locators(&a.locators)
            )?,
            Match::Aggregate => writeln!(
                out,
                "  aggregate   {}: the subject's data went into {} — recompute after erasure",
                a.path,
                a.columns.join(", ")
            )?,
            Match::TrainedOn => writeln!(
                out,
                "  trained_on  {} (model): trained on {} — retrain, or document why not",
                a.path,
                a.inputs.join(", ")
            )?,
        }
        if a.changed_since_recorded {
            writeln!(
                out,
                "              (the file changed since it was recorded; searched as it is now)"
            )?;
        }
    }
    Ok(())
}

/// Row numbers, runs shortened: `3, 7-9, 12`.
fn locators(rows: &[u64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let mut j = i;
        while j + 1 < rows.len() && rows[j + 1] == rows[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            rows[i].to_string()
        } else {
            format!("{}-{}", rows[i], rows[j])
        });
        i = j + 1;
    }
    parts.join(", ")
}
