//! `piitrail subject find`: every artifact that holds or came from one person's data.

use std::io::Write;

use super::{Context, Outcome, TextOrJson};
use crate::ledger::Ledger;
use crate::subject::{self, Match, Report, erase};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Find the subject's rows in every dataset, the aggregates they went into and the models
    /// trained on them (Art. 15 access, Art. 17 erasure). Values are never printed.
    #[command(
        after_help = "Examples:\n  piitrail subject find --id email=alice@example.com\n  piitrail subject find --id phone=+4930123456 --id data/crm.csv:customer_no=4711 --format json\n  piitrail subject find --id email=alice@example.com --fail-if-found"
    )]
    Find(FindArgs),
    /// Erase the subject: without --apply, print the plan (rows to delete, steps to re-run,
    /// models to retrain); with --apply, rewrite the files, re-run the recorded SQL steps
    /// downstream, check with a second search, and write a certificate (signed with --key).
    #[command(
        after_help = "Examples:\n  piitrail subject erase --id email=alice@example.com\n  piitrail subject erase --id email=alice@example.com --apply --key ~/.config/piitrail/piitrail.key --out erasures/REQ-2026-118"
    )]
    Erase(EraseArgs),
}

#[derive(Debug, clap::Args)]
pub struct EraseArgs {
    /// As for `find`.
    #[arg(long = "id", value_name = "CATEGORY=VALUE", required = true)]
    pub ids: Vec<String>,
    /// Carry the plan out. Without it nothing is changed.
    #[arg(long)]
    pub apply: bool,
    /// Private key (piitrail keygen) to sign the certificate with.
    #[arg(long, value_name = "FILE", requires = "apply")]
    pub key: Option<std::path::PathBuf>,
    /// Where the certificate goes.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "piitrail-erasure",
        requires = "apply"
    )]
    pub out: std::path::PathBuf,
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub format: TextOrJson,
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
    /// Access request (Art. 15/20): write the subject's own rows of every dataset where they
    /// were located into DIR, one JSON file per dataset (personal data: never printed).
    #[arg(long, value_name = "DIR")]
    pub export: Option<std::path::PathBuf>,
}

pub fn run(ctx: &Context, cmd: Command) -> anyhow::Result<Outcome> {
    match cmd {
        Command::Find(args) => find(ctx, args),
        Command::Erase(args) => erase(ctx, args),
    }
}

/// What a subject request is judged with: the project's rules, its record of processing and
/// its data roots.
struct Setting {
    rules: crate::rules::RuleSet,
    config: crate::policy::Config,
    roots: crate::policy::DataRoots,
}

impl Setting {
    fn load(ctx: &Context) -> anyhow::Result<Setting> {
        let rules = crate::policy::project_rules(&ctx.root, &[], false)?;
        let config = crate::policy::Config::load(&ctx.root, &rules)?;
        let roots = crate::policy::DataRoots::new(&ctx.root, &config.project.data_roots);
        Ok(Setting {
            rules,
            config,
            roots,
        })
    }

    fn request<'a>(&'a self, ctx: &Context, ids: &'a [String]) -> subject::Request<'a> {
        subject::Request {
            ids,
            root: ctx.root.clone(),
            rules: &self.rules,
            declarations: &self.config.datasets,
            roots: &self.roots,
            progress: Default::default(),
        }
    }
}

fn erase(ctx: &Context, args: EraseArgs) -> anyhow::Result<Outcome> {
    let ledger = Ledger::open(&ctx.root)?;
    let setting = Setting::load(ctx)?;
    let req = setting.request(ctx, &args.ids);
    let mut out = std::io::stdout().lock();
    if !args.apply {
        let records = ledger.load()?;
        let plan = erase::plan_for(&req, &records)?;
        match args.format {
            TextOrJson::Json => writeln!(out, "{}", serde_json::to_string_pretty(&plan)?)?,
            TextOrJson::Text => {
                write_plan(&mut out, &plan)?;
                writeln!(out, "nothing changed: run again with --apply to erase")?;
            }
        }
        return Ok(Outcome::Success);
    }
    let dir = if args.out.is_absolute() {
        args.out.clone()
    } else {
        ctx.root.join(&args.out)
    };
    let (cert, written) = erase::erase(&req, &ledger, &dir, args.key.as_ref())?;
    match args.format {
        TextOrJson::Json => writeln!(out, "{}", serde_json::to_string_pretty(&cert)?)?,
        TextOrJson::Text => {
            write_plan(&mut out, &cert.plan)?;
            for r in &cert.applied.removed {
                writeln!(
                    out,
                    "removed     {}: {} of {} rows ({} left)",
                    r.path, r.removed, r.rows_before, r.rows_after
                )?;
            }
            for r in &cert.applied.recomputed {
                writeln!(
                    out,
                    "recomputed  {}: {} rows ({})",
                    r.path, r.rows, r.execution
                )?;
            }
            match (&cert.applied.failed, cert.applied.verified) {
                (Some(f), _) => writeln!(
                    out,
                    "FAILED: {f}\nwhat was done is in the certificate; run the same command again to finish"
                )?,
                (None, true) => writeln!(
                    out,
                    "verified: a second search finds none of the subject's rows"
                )?,
                (None, false) => writeln!(
                    out,
                    "NOT VERIFIED: still found in {}",
                    cert.applied.remaining.join(", ")
                )?,
            }
            for w in &written {
                writeln!(out, "certificate {}", w.display())?;
            }
        }
    }
    Ok(if cert.applied.failed.is_none() && cert.applied.verified {
        Outcome::Success
    } else {
        Outcome::Findings
    })
}

fn write_plan(out: &mut impl Write, plan: &erase::Plan) -> std::io::Result<()> {
    for d in &plan.delete {
        let through = d
            .through_link_to
            .as_ref()
            .map(|t| format!(", rewritten through the link in {t}"))
            .unwrap_or_default();
        writeln!(
            out,
            "delete      {}: {} row(s) ({}){through}",
            d.path,
            d.rows.len(),
            locators(&d.rows)
        )?;
    }
    for r in &plan.recompute {
        writeln!(out, "recompute   {} (re-run {})", r.path, r.execution)?;
    }
    for r in &plan.retrain {
        writeln!(
            out,
            "retrain     {} (trained on {})",
            r.path,
            r.inputs.join(", ")
        )?;
    }
    for u in &plan.unresolved {
        writeln!(out, "by hand     {}: {}", u.path, u.reason)?;
    }
    if plan.delete.is_empty()
        && plan.recompute.is_empty()
        && plan.retrain.is_empty()
        && plan.unresolved.is_empty()
    {
        writeln!(
            out,
            "nothing to erase: no recorded artifact holds this subject's data"
        )?;
    }
    Ok(())
}

fn find(ctx: &Context, args: FindArgs) -> anyhow::Result<Outcome> {
    let ledger = Ledger::open(&ctx.root)?;
    let records = ledger.load()?;
    let setting = Setting::load(ctx)?;
    let req = setting.request(ctx, &args.ids);
    let bar = super::progress::work(ctx, &req.progress);
    let report = subject::find(&req, &records);
    bar.finish();
    let report = report?;
    let mut out = std::io::stdout().lock();
    match args.format {
        TextOrJson::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        TextOrJson::Text => write_text(&mut out, &report)?,
    }
    if let Some(dir) = &args.export {
        let dir = if dir.is_absolute() {
            dir.clone()
        } else {
            ctx.root.join(dir)
        };
        let written = subject::export(&report, &ctx.root, &dir)?;
        ctx.note(format!(
            "exported {} row(s) from {} dataset(s) to {} (personal data: hand it to the subject only)",
            written.iter().map(|w| w.rows).sum::<usize>(),
            written.len(),
            dir.display()
        ));
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
            Match::Rows => {
                writeln!(
                    out,
                    "  rows        {} ({}): {} row(s) in {} — rows {}",
                    a.path,
                    crate::scan::short_digest(&a.digest),
                    a.rows,
                    a.columns.join(", "),
                    locators(&a.locators)
                )?;
                if !a.keys.is_empty() {
                    let keys: Vec<String> = a
                        .keys
                        .iter()
                        .map(|k| {
                            k.iter()
                                .map(|(c, v)| format!("{c}={}", v.as_deref().unwrap_or("null")))
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .collect();
                    writeln!(out, "              primary key: {}", keys.join(", "))?;
                }
            }
            Match::Aggregate => {
                writeln!(
                    out,
                    "  aggregate   {}: the subject's data went into {} — {}",
                    a.path,
                    a.columns.join(", "),
                    a.action
                )?;
                let by = match a.group_by.as_deref() {
                    Some([]) => "one total over all rows".to_string(),
                    Some(keys) => format!("group by {}", keys.join(", ")),
                    None => String::new(),
                };
                for g in &a.groups {
                    writeln!(
                        out,
                        "              {by}: {} — {} input row(s) in the group, {} of them the subject's",
                        g.row
                            .map_or("its row not located".to_string(), |r| format!("row {r}")),
                        g.size,
                        g.subject_rows
                    )?;
                }
            }
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
