//! The audit report: the model (`report.json`, schema in `reports/report.schema.json`) built
//! from the ledger, propagation and policy, and its renderers (HTML and Markdown through the
//! minijinja templates in `reports/`). No value of personal data is ever in it: only column
//! names, categories, statuses, digests and counts.

pub mod annotations;
pub mod changes;
pub mod fides;
pub mod junit;
pub mod picture;
pub mod ropa;
pub mod sarif;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::ledger::Role;
use crate::ledger::{ColumnRef, Record, Verification};
use crate::lineage::graph::{self, Direction, Graph};
use crate::policy::Config;
use crate::propagate::{Origin, Propagation, Status, Tag};
use crate::rules::GdprClass;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: Tool,
    pub project: String,
    pub time: String,
    pub ledger: LedgerState,
    /// The rule packs ([`crate::rules::RuleSet::digest`]) of the latest scan of every artifact
    /// version the report covers: the rules its detected tags come from.
    pub rule_packs: Vec<String>,
    pub policy: PolicyState,
    pub summary: Summary,
    pub artifacts: Vec<Artifact>,
    pub findings: Vec<Finding>,
    /// The record of processing activities (GDPR Art. 30), [`ropa`].
    pub record_of_processing: Vec<ropa::Processing>,
    /// What changed since the previous audit ([`changes`]), when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<changes::Changes>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct LedgerState {
    pub head: String,
    pub records: u64,
    pub intact: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyState {
    pub min_group_size: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub datasets: usize,
    pub models: usize,
    /// Artifacts holding or derived from personal data.
    pub with_personal_data: usize,
    /// Art. 9 categories found anywhere, and where.
    pub special_categories: Vec<CategoryPlaces>,
    /// Art. 10 categories found anywhere, and where.
    pub criminal_categories: Vec<CategoryPlaces>,
    pub models_trained_on_personal_data: Vec<String>,
    pub aggregates: Vec<AggregateSummary>,
    pub findings: BTreeMap<&'static str, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryPlaces {
    pub category: String,
    pub artifacts: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AggregateSummary {
    pub artifact: String,
    pub k: Option<u64>,
    pub below_threshold: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    pub path: String,
    pub digest: String,
    /// `dataset` or `model`.
    pub kind: Role,
    pub scanned: bool,
    /// Written by a recorded step.
    pub derived: bool,
    /// Union over columns (and, for a model, the categories it was trained on).
    pub tags: Vec<Tag>,
    pub columns: Vec<Column>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<Aggregate>,
    /// Every artifact upstream of this one (its provenance), by path.
    pub upstream: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Aggregate {
    /// Smallest group size, when measured.
    pub k: Option<u64>,
    pub threshold: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    /// The name the report writes.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// A registry level as the report writes it; `off` is no finding.
    pub fn of(level: crate::findings::Level) -> Option<Severity> {
        use crate::findings::Level;
        match level {
            Level::Error => Some(Severity::Error),
            Level::Warning => Some(Severity::Warning),
            Level::Note => Some(Severity::Info),
            Level::Off => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// A code of the registry ([`crate::findings`]), `forbidden-flow/ID` for a flow rule.
    pub code: String,
    pub severity: Severity,
    pub artifact: String,
    pub column: Option<String>,
    pub message: String,
}

fn via_text(via: &[ColumnRef]) -> String {
    via.iter()
        .map(|c| format!("{}:{}", c.path, c.column))
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// Builds the report from the ledger's propagation and lineage graph and the rule packs of its
/// scans ([`rule_packs`]). `time` is the report's time (RFC 3339). `gate` is the gate's verdict
/// on every dataset's recorded scan: its unwaived violations are findings of the audit too, so
/// that an audit has every error the gate has on the same project.
pub fn build(
    rule_packs: Vec<String>,
    verification: &Verification,
    recorded: crate::policy::gate::Recorded,
    config: &Config,
    rules: &crate::rules::RuleSet,
    gate: &crate::policy::gate::Outcome,
    time: String,
) -> Report {
    let (prop, g) = (recorded.propagation, recorded.graph);
    let threshold = config.policy.min_group_size;
    let mut findings = Vec::new();
    // Every finding's severity is the registry's, after the policy's overrides.
    let mut push = |code: &str, artifact: &str, column: Option<&str>, message: String| {
        if let Some(severity) = Severity::of(config.level(code)) {
            findings.push(Finding {
                code: code.to_string(),
                severity,
                artifact: artifact.to_string(),
                column: column.map(str::to_string),
                message,
            });
        }
    };
    if let Some((line, problem)) = &verification.problem {
        push(
            "ledger-broken",
            ".piitrail/ledger.jsonl",
            None,
            format!(
                "line {line}: {problem}; the report covers the {} records before it",
                verification.records
            ),
        );
    }
    for v in gate.violations.iter().filter(|v| v.suppressed.is_none()) {
        let message = match &v.category {
            Some(c) if !v.message.contains(c.as_str()) => format!("{} ({c})", v.message),
            _ => v.message.clone(),
        };
        push(&v.rule, &v.artifact, v.column.as_deref(), message);
    }
    let mut artifacts = Vec::new();
    let mut walker = graph::Walker::new(g);
    for v in prop.current() {
        let upstream: Vec<String> = {
            let w = walker.walk(std::slice::from_ref(&v.digest), Direction::Upstream, false);
            let mut paths: BTreeSet<String> = w.artifacts.into_iter().map(|n| n.path).collect();
            paths.remove(&v.path);
            paths.into_iter().collect()
        };
        let columns: Vec<Column> = v
            .column_names()
            .into_iter()
            .map(|name| {
                // Both what the scan found and what lineage brings, even for one category.
                let detected = v.detected.get(&name).into_iter().flat_map(|s| s.values());
                let inherited = v.inherited.get(&name).into_iter().flat_map(|s| s.values());
                Column {
                    tags: detected.chain(inherited).cloned().collect(),
                    name,
                }
            })
            .collect();
        let tags: Vec<Tag> = v.tags().into_values().collect();
        let aggregated = tags.iter().any(|t| t.status == Status::Aggregated);
        let aggregate = (aggregated || v.min_group_size.is_some()).then_some(Aggregate {
            k: v.min_group_size,
            threshold,
        });
        // Findings about this artifact.
        let mut find = |code: &str, column: Option<&str>, message: String| {
            push(code, &v.path, column, message)
        };
        if !v.scanned && !v.derived {
            find(
                "unscanned-source",
                None,
                "a source that was never scanned: what personal data it holds is unknown (`piitrail scan --record`)".into(),
            );
        }
        match aggregate.as_ref().map(|a| a.k) {
            // Where the gate judged the same aggregate, its finding stands alone.
            Some(Some(k))
                if k < threshold
                    && !gate
                        .violations
                        .iter()
                        .any(|x| x.rule == "small-group" && x.artifact == v.path) =>
            {
                find(
                "small-group",
                None,
                format!(
                    "an aggregate over groups as small as {k} (policy min_group_size {threshold}): people in the smallest groups may be singled out"
                ),
            )
            }
            Some(None) => find(
                "group-size-unknown",
                None,
                "aggregated personal data whose group sizes were not measured (the step did not run through `piitrail run`)".into(),
            ),
            _ => {}
        }
        if v.scanned && v.derived {
            for (column, inherited) in &v.inherited {
                let detected = v.detected.get(column);
                for t in inherited.values() {
                    let seen = detected.is_some_and(|d| d.contains_key(&t.category));
                    if t.status == Status::Direct && !seen {
                        find(
                            "inherited-not-detected",
                            Some(column),
                            format!(
                                "lineage says this column holds {} (copied from {}) but the scan did not find it",
                                t.category,
                                via_text(&t.via)
                            ),
                        );
                    }
                }
            }
            for (column, detected) in &v.detected {
                for t in detected.values() {
                    let explained = v
                        .inherited
                        .get(column)
                        .is_some_and(|i| i.contains_key(&t.category));
                    if !explained {
                        find(
                            "detected-not-inherited",
                            Some(column),
                            format!(
                                "the scan found {} here but recorded lineage brings none: an undeclared source or a missing step",
                                t.category
                            ),
                        );
                    }
                }
            }
        }
        if v.kind == Role::Model {
            let sensitive: Vec<&str> = tags
                .iter()
                .filter(|t| matches!(t.gdpr_class, GdprClass::Special | GdprClass::Criminal))
                .map(|t| t.category.as_str())
                .collect();
            if !sensitive.is_empty() {
                find(
                    "model-trained-on-special-category",
                    None,
                    format!(
                        "trained on special-category or criminal data ({}): Art. 9/10 need an explicit legal basis",
                        sensitive.join(", ")
                    ),
                );
            }
        }
        artifacts.push(Artifact {
            path: v.path.clone(),
            digest: v.digest.clone(),
            kind: v.kind,
            scanned: v.scanned,
            derived: v.derived,
            tags,
            columns,
            aggregate,
            upstream,
        });
    }
    // Found by id through a map: a search per id was quadratic (500,000 steps without column
    // lineage took minutes).
    // The first execution of an id wins, as the search found it (later ones are read first).
    let by_id: foldhash::HashMap<&str, usize> = (g.executions.iter().enumerate().rev())
        .map(|(i, x)| (x.id.as_str(), i))
        .collect();
    for id in &prop.without_column_lineage {
        if let Some(&xi) = by_id.get(id.as_str()) {
            let x = &g.executions[xi];
            for (path, digest) in g.outputs_of(xi) {
                if prop.latest.get(path).is_some_and(|d| d == digest) {
                    push(
                        "no-column-lineage",
                        path,
                        None,
                        format!(
                            "{} step {} recorded no column lineage: every category of its inputs is assumed to reach it (direct)",
                            x.kind, x.id
                        ),
                    );
                }
            }
        }
    }
    findings.sort_by(|a, b| {
        (a.severity, &a.artifact, &a.column, &a.code).cmp(&(
            b.severity,
            &b.artifact,
            &b.column,
            &b.code,
        ))
    });
    let summary = summarise(&artifacts, &findings, threshold);
    let record_of_processing = ropa::record(config, rules, &artifacts);
    Report {
        tool: Tool {
            name: "piitrail",
            version: env!("CARGO_PKG_VERSION"),
        },
        project: config.project.name.clone(),
        time,
        ledger: LedgerState {
            head: verification.head.clone(),
            records: verification.records,
            intact: verification.problem.is_none(),
            problem: verification
                .problem
                .as_ref()
                .map(|(line, p)| format!("line {line}: {p}")),
        },
        policy: PolicyState {
            min_group_size: threshold,
        },
        summary,
        artifacts,
        findings,
        record_of_processing,
        changes: None,
        rule_packs,
    }
}

/// The distinct rule packs of the latest scan of each artifact version (a scan replaces an
/// earlier one of the same version); scans recorded before packs were, and declared tags,
/// name none.
fn rule_packs(records: &[Record]) -> Vec<String> {
    let mut latest: BTreeMap<(&str, &str), Option<&str>> = BTreeMap::new();
    for r in records {
        if let crate::ledger::Body::Scan(s) = &r.body
            && !s.is_declared()
        {
            latest.insert((&s.artifact, &s.digest), s.rule_pack.as_deref());
        }
    }
    let packs: BTreeSet<&str> = latest.into_values().flatten().collect();
    packs.into_iter().map(str::to_string).collect()
}

fn summarise(artifacts: &[Artifact], findings: &[Finding], threshold: u64) -> Summary {
    let mut special: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut criminal: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in artifacts {
        for t in &a.tags {
            let map = match t.gdpr_class {
                GdprClass::Special => &mut special,
                GdprClass::Criminal => &mut criminal,
                _ => continue,
            };
            map.entry(t.category.clone())
                .or_default()
                .push(a.path.clone());
        }
    }
    let places = |m: BTreeMap<String, Vec<String>>| {
        m.into_iter()
            .map(|(category, artifacts)| CategoryPlaces {
                category,
                artifacts,
            })
            .collect()
    };
    let mut counts = BTreeMap::new();
    for s in [Severity::Error, Severity::Warning, Severity::Info] {
        counts.insert(
            s.as_str(),
            findings.iter().filter(|f| f.severity == s).count(),
        );
    }
    Summary {
        datasets: artifacts.iter().filter(|a| a.kind != Role::Model).count(),
        models: artifacts.iter().filter(|a| a.kind == Role::Model).count(),
        with_personal_data: artifacts.iter().filter(|a| !a.tags.is_empty()).count(),
        special_categories: places(special),
        criminal_categories: places(criminal),
        models_trained_on_personal_data: artifacts
            .iter()
            .filter(|a| a.kind == Role::Model && !a.tags.is_empty())
            .map(|a| a.path.clone())
            .collect(),
        aggregates: artifacts
            .iter()
            .filter_map(|a| {
                a.aggregate.as_ref().map(|g| AggregateSummary {
                    artifact: a.path.clone(),
                    k: g.k,
                    below_threshold: g.k.is_some_and(|k| k < threshold),
                })
            })
            .collect(),
        findings: counts,
    }
}

impl Report {
    /// The in-toto subjects: every artifact with a content digest (a file's sha256, a database
    /// table's `rows-sha256:` version). Artifacts known only by name from imported lineage
    /// (`name:` digests) are in the report, not subjects.
    pub fn subjects(&self) -> Vec<(String, String)> {
        self.artifacts
            .iter()
            .filter_map(|a| {
                if let Some(hex) = a.digest.strip_prefix("sha256:") {
                    Some((a.path.clone(), hex.to_string()))
                } else if a.digest.starts_with(crate::source::db::ROWS_VERSION) {
                    Some((a.path.clone(), a.digest.clone()))
                } else {
                    None
                }
            })
            .collect()
    }

    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// Whether a tag was detected in place (for templates).
pub fn is_detected(t: &Tag) -> bool {
    t.origin == Origin::Detected
}

const HTML: &str = include_str!("../../reports/report.html.j2");
const MARKDOWN: &str = include_str!("../../reports/report.md.j2");

fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", HTML)
        .expect("the HTML template is valid (tested)");
    env.add_template("report.md", MARKDOWN)
        .expect("the Markdown template is valid (tested)");
    env
}

/// The self-contained HTML page (inline CSS and SVG), written out as it renders (an audit of
/// half a million artifacts renders hundreds of megabytes).
pub fn write_html(
    report: &Report,
    signed: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), minijinja::Error> {
    let picture = picture::picture(report);
    environment()
        .get_template("report.html")?
        .render_captured_to(
            minijinja::context! {
                r => report,
                // Marked safe here: the filter would copy hundreds of kilobytes twice.
                picture => picture.svg.map(minijinja::Value::from_safe_string),
                holding => picture.holding,
                signed => signed,
            },
            out,
        )
        .map(drop)
}

/// The Markdown summary for a pull request comment, written out as it renders.
pub fn write_markdown(
    report: &Report,
    signed: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), minijinja::Error> {
    environment()
        .get_template("report.md")?
        .render_captured_to(
            minijinja::context! {
                r => report,
                signed => signed,
            },
            out,
        )
        .map(drop)
}

/// What `audit` wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub report: Report,
    pub files: Vec<std::path::PathBuf>,
    pub signed_by: Option<String>,
    /// A signature of an earlier report that no longer matched and was removed.
    pub removed_stale_envelope: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    /// The built-in rule pack did not load (a piitrail bug).
    #[error(transparent)]
    Rules(#[from] crate::rules::RuleError),
    #[error(transparent)]
    Sign(#[from] crate::sign::SignError),
    #[error(transparent)]
    Since(#[from] changes::SinceError),
    #[error("rendering the report: {0}")]
    Render(String),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The latest recorded scan of every dataset's current version, as the gate reads a fresh one:
/// what the audit judges the project's declarations and policy on.
fn recorded_scans(records: &[Record], prop: &Propagation) -> Vec<crate::scan::ArtifactScan> {
    let mut latest: std::collections::HashMap<(&str, &str), &crate::ledger::ScanRecord> =
        std::collections::HashMap::new();
    for r in records {
        if let crate::ledger::Body::Scan(s) = &r.body
            && !s.is_declared()
        {
            latest.insert((s.artifact.as_str(), s.digest.as_str()), s);
        }
    }
    prop.current()
        .filter(|v| v.kind == Role::Dataset)
        .filter_map(|v| latest.get(&(v.path.as_str(), v.digest.as_str())))
        .map(|s| crate::scan::ArtifactScan {
            artifact: s.artifact.clone(),
            digest: s.digest.clone(),
            format: std::path::Path::new(&s.artifact)
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default(),
            size: 0,
            rows_scanned: s.rows_scanned,
            rows_total: s.rows_total,
            sampling: s.sampling.clone(),
            rule_pack: s.rule_pack.clone(),
            warnings: Vec::new(),
            columns: s
                .columns
                .iter()
                .map(crate::scan::ColumnScan::from)
                .collect(),
            table_kind: None,
            keys: Vec::new(),
            foreign_keys: Vec::new(),
        })
        .collect()
}

/// The report of the project at `root`: its ledger verified and propagated, judged by its
/// policy (the gate over every recorded scan), with its record of processing.
/// The ledger's bytes and records read are reported to `progress` as they go.
pub fn assemble(
    root: &std::path::Path,
    time: String,
    progress: &crate::progress::Meter,
) -> Result<Report, AuditError> {
    let mut ledger = crate::ledger::Ledger::open(root)?;
    ledger.progress = progress.clone();
    let rules = crate::policy::project_rules(root, &[], false)?;
    let config = Config::load(root, &rules)?;
    let size = std::fs::metadata(&ledger.path).map(|m| m.len()).ok();
    progress.begin(".piitrail/ledger.jsonl (verify)", size);
    let verification = ledger.verify()?;
    progress.begin(".piitrail/ledger.jsonl (read)", size);
    let mut records = ledger.load()?;
    // A broken ledger is reported on what precedes the break.
    records.truncate(verification.records as usize);
    let prop = crate::propagate::propagate(&records);
    // The graph needs artifacts and executions only: scans, the largest records, stay uncopied.
    let g = Graph::of_records(&records);
    let recorded = crate::policy::gate::Recorded {
        propagation: &prop,
        graph: &g,
    };
    let scans = recorded_scans(&records, &prop);
    let gate = crate::policy::gate::evaluate(&crate::policy::gate::Request {
        config: &config,
        rules: &rules,
        scans: &scans,
        records: &records,
        policy_path: "piitrail.toml".into(),
        today: chrono::Local::now().date_naive(),
        // The scans judged are the ledger's own: the gate reads this propagation as it is.
        recorded: Some(recorded),
    });
    let packs = rule_packs(&records);
    // Every typed record is let go before the report is built: it is no longer read.
    drop(records);
    Ok(build(
        packs,
        &verification,
        recorded,
        &config,
        &rules,
        &gate,
        time,
    ))
}

/// Renders the file `name` of the report into `out` through `fill`, staged (see
/// [`crate::fsio::Staged`]).
fn stage<E: std::fmt::Display>(
    staged: &mut crate::fsio::Staged,
    out: &std::path::Path,
    name: &str,
    fill: impl FnOnce(&mut dyn std::io::Write) -> Result<(), E>,
) -> Result<(), AuditError> {
    let path = out.join(name);
    staged.stage(&path, fill).map_err(|e| match e {
        crate::fsio::StageError::Io(source) => AuditError::Io { path, source },
        crate::fsio::StageError::Fill(e) => AuditError::Render(format!("{}: {e}", path.display())),
    })
}

/// Propagates, builds the report, renders it, signs it when a key is given, and writes
/// everything into `out` (each file atomically, and only once everything rendered).
pub fn audit(
    root: &std::path::Path,
    out: &std::path::Path,
    key: Option<&std::path::Path>,
    since: Option<&std::path::Path>,
    time: String,
    progress: &crate::progress::Meter,
) -> Result<Written, AuditError> {
    let key = key.map(crate::sign::load_signing_key).transpose()?;
    // The previous report: the one named, else the one this audit replaces in `out`. Read and
    // checked first: its texts are let go before the ledger is read.
    let previous = out.join("report.json");
    let since = since.or_else(|| previous.is_file().then_some(previous.as_path()));
    let before = since
        .map(|since| {
            let public = key.as_ref().map(|k| k.verifying_key());
            changes::previous(since, public.as_ref())
        })
        .transpose()?;
    let mut report = assemble(root, time, progress)?;
    if let Some((before, signed)) = before {
        report.changes = Some(changes::between(&before, signed, &report));
    }
    let signed = key.is_some();
    // Each file is written to a temporary file as soon as it renders, and all are put in
    // place at the end: nothing is written unless everything rendered, and no rendering is
    // held in memory while the next is made.
    let mut staged = crate::fsio::Staged::default();
    stage(&mut staged, out, "report.json", |w| {
        serde_json::to_writer_pretty(&mut *w, &report)?;
        w.write_all(b"\n").map_err(serde_json::Error::io)
    })?;
    stage(&mut staged, out, "report.html", |w| {
        write_html(&report, signed, w)
    })?;
    stage(&mut staged, out, "report.md", |w| {
        write_markdown(&report, signed, w)
    })?;
    let ropa = ropa::to_csv(&report.record_of_processing)
        .map_err(|e| AuditError::Render(e.to_string()))?;
    stage(&mut staged, out, "ropa.csv", |w| w.write_all(&ropa))?;
    let envelope = key.as_ref().map(|k| {
        let statement = crate::sign::statement(&report.subjects(), &report);
        let payload = serde_json::to_vec(&statement).expect("a statement always serialises");
        crate::sign::sign(&payload, k)
    });
    if let Some(env) = &envelope {
        stage(&mut staged, out, "report.dsse.json", |w| {
            serde_json::to_writer_pretty(&mut *w, env)?;
            w.write_all(b"\n").map_err(serde_json::Error::io)
        })?;
    }
    let files = staged
        .commit()
        .map_err(|(path, source)| AuditError::Io { path, source })?;
    let mut removed_stale_envelope = false;
    let signed_by = match &envelope {
        Some(env) => env.signatures.first().map(|s| s.keyid.clone()),
        None => {
            let stale = out.join("report.dsse.json");
            if stale.exists() {
                std::fs::remove_file(&stale).map_err(|source| AuditError::Io {
                    path: stale.clone(),
                    source,
                })?;
                removed_stale_envelope = true;
            }
            None
        }
    };
    Ok(Written {
        report,
        files,
        signed_by,
        removed_stale_envelope,
    })
}

#[cfg(test)]
mod tests {
    use super::Severity;

    #[test]
    fn a_severity_is_named_as_serde_writes_it() {
        for s in [Severity::Error, Severity::Warning, Severity::Info] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.name());
        }
    }
}
