//! The gate: checks fresh scans of some datasets, and what the ledger's lineage carries from
//! them, against the declarations and the policy of `piitrail.toml`.
//!
//! - Column rules (`undeclared-pii`, `special-category-without-condition`,
//!   `criminal-data-without-basis`, `category-not-allowed`, `declared-column-missing`) on each
//!   scanned dataset.
//! - `pii-drift`: a column newly detected as personal data compared with the last recorded
//!   scan of the same path (another version of it).
//! - Lineage rules (`forbidden-flow/ID`, `small-group`) on each scanned dataset and every
//!   artifact recorded downstream of it. The fresh scan stands in for the recorded scan of the
//!   path's latest version, so that the gate sees what the recorded steps will carry once they
//!   run on the new data.
//! - Waivers suppress what they match until they expire; an expired waiver is itself an error.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Config, Level, Waiver, is_within};
use crate::ledger::{Body, Record, ScanRecord};
use crate::lineage::graph::{self, Direction, Graph};
use crate::propagate::{Propagation, Status, Tag};
use crate::rules::{GdprClass, RuleSet};
use crate::scan::{ArtifactScan, ColumnTag};

/// What the gate looks at.
pub struct Request<'a> {
    pub config: &'a Config,
    pub rules: &'a RuleSet,
    /// Fresh scans of the gated paths (paths relative to the project).
    pub scans: &'a [ArtifactScan],
    /// The ledger's records, when the project has a ledger.
    pub records: &'a [Record],
    /// The policy file as shown in findings (relative to the project).
    pub policy_path: String,
    /// The day waivers are judged on.
    pub today: NaiveDate,
    /// What the ledger already propagated, when `scans` are its own latest recorded scans (an
    /// audit): their stand-ins would only repeat them, so the lineage rules read it as it is.
    pub recorded: Option<Recorded<'a>>,
}

/// The ledger's propagation and lineage graph, made once by whoever judges the ledger's own
/// scans ([`Request::recorded`]).
#[derive(Clone, Copy)]
pub struct Recorded<'a> {
    pub propagation: &'a Propagation,
    pub graph: &'a Graph,
}

/// The gate's answer (`gate --format json`).
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub passed: bool,
    /// The policy file, or null when the strict defaults applied.
    pub policy: Option<String>,
    pub today: String,
    pub summary: Summary,
    /// What was checked and by which rules (one JUnit testcase per artifact and rule).
    pub checked: Vec<Checked>,
    /// The rules in force, with their severity.
    pub rules: Vec<RuleInForce>,
    pub violations: Vec<Violation>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    pub suppressed: usize,
    pub datasets_scanned: usize,
    pub artifacts_downstream: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub artifact: String,
    /// `dataset` (scanned), `downstream` (reached by recorded lineage) or `policy`.
    pub role: &'static str,
    pub digest: Option<String>,
    /// `csv`, `parquet`, ... for scanned datasets.
    pub format: Option<String>,
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleInForce {
    pub id: String,
    pub level: Level,
    pub summary: String,
    pub help: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    pub rule: String,
    pub level: Level,
    pub artifact: String,
    pub column: Option<String>,
    pub category: Option<String>,
    pub message: String,
    /// What to do about it.
    pub fix: String,
    /// A line in the artifact (piitrail.toml for waiver findings; the header row of a
    /// text dataset).
    pub line: Option<usize>,
    /// Stable across runs: rule, artifact, column and category.
    pub fingerprint: String,
    /// Set when an unexpired waiver covers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Suppression {
    pub reason: String,
    pub expires: String,
    /// The waiver's line in piitrail.toml.
    pub line: usize,
}

/// Column rules, in the order they are checked.
const DATASET_RULES: &[&str] = &[
    "undeclared-pii",
    "special-category-without-condition",
    "criminal-data-without-basis",
    "category-not-allowed",
    "declared-column-missing",
    "pii-drift",
];

struct Gate<'a> {
    req: &'a Request<'a>,
    violations: Vec<Violation>,
}

pub fn evaluate(req: &Request) -> Outcome {
    let mut gate = Gate {
        req,
        violations: Vec::new(),
    };
    let config = req.config;
    let active = |rule: &str| config.level(rule) != Level::Off;
    let flow_ids: Vec<String> = config.policy.flows.iter().map(|f| f.rule_id()).collect();
    let lineage_rules: Vec<String> = flow_ids
        .iter()
        .cloned()
        .chain(std::iter::once("small-group".to_string()))
        .filter(|r| active(r))
        .collect();

    let mut checked = Vec::new();
    for scan in req.scans {
        gate.dataset(scan);
        let mut rules: Vec<String> = DATASET_RULES
            .iter()
            .filter(|r| active(r))
            .filter(|r| **r != "undeclared-pii" || config.policy.require_declaration)
            .map(|r| r.to_string())
            .collect();
        rules.extend(lineage_rules.iter().cloned());
        checked.push(Checked {
            artifact: scan.artifact.clone(),
            role: "dataset",
            // Sample mode does not hash (see `scan::Request::digest`).
            digest: (!scan.digest.is_empty()).then(|| scan.digest.clone()),
            format: Some(scan.format.clone()),
            rules,
        });
    }
    for (path, digest) in gate.lineage() {
        checked.push(Checked {
            artifact: path,
            role: "downstream",
            digest: Some(digest),
            format: None,
            rules: lineage_rules.clone(),
        });
    }
    gate.apply_waivers();
    if !config.policy.waivers.is_empty() && active("expired-waiver") {
        checked.push(Checked {
            artifact: req.policy_path.clone(),
            role: "policy",
            digest: None,
            format: None,
            rules: vec!["expired-waiver".into()],
        });
    }

    let mut violations = gate.violations;
    for v in &mut violations {
        v.level = config.level(&v.rule);
    }
    violations.retain(|v| v.level != Level::Off);
    violations.sort_by(|a, b| {
        (
            a.suppressed.is_some(),
            a.level,
            &a.artifact,
            &a.column,
            &a.rule,
        )
            .cmp(&(
                b.suppressed.is_some(),
                b.level,
                &b.artifact,
                &b.column,
                &b.rule,
            ))
    });
    let mut summary = Summary {
        datasets_scanned: req.scans.len(),
        artifacts_downstream: checked.iter().filter(|c| c.role == "downstream").count(),
        ..Summary::default()
    };
    for v in &violations {
        match (&v.suppressed, v.level) {
            (Some(_), _) => summary.suppressed += 1,
            (None, Level::Error) => summary.errors += 1,
            (None, Level::Warning) => summary.warnings += 1,
            (None, _) => summary.notes += 1,
        }
    }
    let mut rules: Vec<RuleInForce> = crate::findings::gate_codes()
        .filter(|r| active(r.id))
        .filter(|r| r.id != "undeclared-pii" || config.policy.require_declaration)
        .map(|r| RuleInForce {
            id: r.id.into(),
            level: config.level(r.id),
            summary: r.summary.into(),
            help: r.help.into(),
        })
        .collect();
    for f in &config.policy.flows {
        let id = f.rule_id();
        if active(&id) {
            rules.push(RuleInForce {
                level: config.level(&id),
                summary: flow_summary(f),
                help: match &f.reason {
                    Some(r) => format!("{r}. {}", flow_help()),
                    None => flow_help().into(),
                },
                id,
            });
        }
    }
    Outcome {
        passed: summary.errors == 0,
        policy: config.file.as_ref().map(|_| req.policy_path.clone()),
        today: req.today.to_string(),
        summary,
        checked,
        rules,
        violations,
    }
}

fn flow_help() -> &'static str {
    crate::findings::code(crate::findings::FORBIDDEN_FLOW).map_or("", |c| c.help)
}

fn flow_summary(f: &super::FlowRule) -> String {
    let mut s = format!("{} must not reach", f.category.text);
    match (&f.kind, &f.to) {
        (Some(k), Some(t)) => s.push_str(&format!(" any {k} under {}", t.text)),
        (Some(k), None) => s.push_str(&format!(" any {k}")),
        (None, Some(t)) => s.push_str(&format!(" {}", t.text)),
        (None, None) => {}
    }
    if !f.status.is_empty() {
        let st: Vec<&str> = f.status.iter().map(|s| s.as_str()).collect();
        s.push_str(&format!(" as {}", st.join(" or ")));
    }
    s.push('.');
    s
}

fn fingerprint(rule: &str, artifact: &str, column: Option<&str>, category: Option<&str>) -> String {
    let mut h = Sha256::new();
    for part in [rule, artifact, column.unwrap_or(""), category.unwrap_or("")] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}

/// Text formats have a header row, which is where a column is named.
fn header_line(format: &str) -> Option<usize> {
    matches!(format, "csv" | "tsv").then_some(1)
}

impl Gate<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        rule: &str,
        artifact: &str,
        column: Option<&str>,
        category: Option<&str>,
        line: Option<usize>,
        message: String,
        fix: String,
    ) {
        self.violations.push(Violation {
            fingerprint: fingerprint(rule, artifact, column, category),
            rule: rule.to_string(),
            level: Level::Error,
            artifact: artifact.to_string(),
            column: column.map(str::to_string),
            category: category.map(str::to_string),
            message,
            fix,
            line,
            suppressed: None,
        });
    }

    fn tags<'s>(&self, scan: &'s ArtifactScan) -> Vec<(&'s str, &'s ColumnTag)> {
        let min = self.req.config.policy.min_confidence;
        scan.columns
            .iter()
            .flat_map(|c| c.tags.iter().map(move |t| (c.name.as_str(), t)))
            .filter(|(_, t)| t.confidence >= min)
            .collect()
    }

    fn dataset(&mut self, scan: &ArtifactScan) {
        let config = self.req.config;
        let path = scan.artifact.as_str();
        let line = header_line(&scan.format);
        let decls: Vec<_> = config.declarations_for(path).collect();
        let allows: Vec<_> = config
            .policy
            .allow
            .iter()
            .filter(|a| a.path.matches(path))
            .collect();
        for (column, tag) in self.tags(scan) {
            let category = tag.category.as_str();
            let col_decls: Vec<_> = decls
                .iter()
                .filter_map(|d| d.columns.get(column))
                .filter(|c| c.covers(category))
                .collect();
            let what = format!(
                "column '{column}' holds {category} ({}, rule {}, confidence {:.2})",
                tag.gdpr_class, tag.rule, tag.confidence
            );
            // An undeclared special-category or criminal column gets its own, more specific
            // violation (whose fix covers the declaration too) unless that rule is off.
            let specific = match tag.gdpr_class {
                GdprClass::Special => Some("special-category-without-condition"),
                GdprClass::Criminal => Some("criminal-data-without-basis"),
                _ => None,
            };
            let reported_elsewhere = specific.is_some_and(|r| config.level(r) != Level::Off);
            if config.policy.require_declaration && col_decls.is_empty() && !reported_elsewhere {
                let fix = match decls.first() {
                    Some(d) => format!(
                        "declare it in the [[dataset]] entry at piitrail.toml line {}: columns.{} = \"{category}\"",
                        d.line,
                        toml_key(column)
                    ),
                    None => format!(
                        "add a [[dataset]] entry with path = \"{path}\", purpose, legal_basis and columns.{} = \"{category}\"",
                        toml_key(column)
                    ),
                };
                self.push(
                    "undeclared-pii",
                    path,
                    Some(column),
                    Some(category),
                    line,
                    format!("{what}, which no declaration in piitrail.toml covers"),
                    fix,
                );
            }
            match tag.gdpr_class {
                GdprClass::Special if !col_decls.iter().any(|c| c.art9_condition.is_some()) => {
                    self.push(
                        "special-category-without-condition",
                        path,
                        Some(column),
                        Some(category),
                        line,
                        format!("{what}, a special category (GDPR Art. 9), without a declared Art. 9(2) condition"),
                        format!(
                            "declare columns.{} = {{ category = \"{category}\", art9_condition = \"...\" }} (explicit_consent, health_or_social_care, ...), or remove the data",
                            toml_key(column)
                        ),
                    );
                }
                GdprClass::Criminal if !col_decls.iter().any(|c| c.art10_basis.is_some()) => {
                    self.push(
                        "criminal-data-without-basis",
                        path,
                        Some(column),
                        Some(category),
                        line,
                        format!("{what}, data on criminal convictions or offences (GDPR Art. 10), without a declared basis"),
                        format!(
                            "declare columns.{} = {{ category = \"{category}\", art10_basis = \"official_authority\" or \"authorised_by_law\" }}, or remove the data",
                            toml_key(column)
                        ),
                    );
                }
                _ => {}
            }
            if !allows.is_empty()
                && !allows
                    .iter()
                    .any(|a| a.categories.iter().any(|c| c.matches(category)))
            {
                let lines: Vec<String> = allows.iter().map(|a| a.line.to_string()).collect();
                self.push(
                    "category-not-allowed",
                    path,
                    Some(column),
                    Some(category),
                    line,
                    format!(
                        "{what}, which the allow list for this path (piitrail.toml line {}) does not allow",
                        lines.join(", ")
                    ),
                    "remove, pseudonymise or generalise the column, or add the category to the [[policy.allow]] entry".into(),
                );
            }
        }
        let names: BTreeSet<&str> = scan.columns.iter().map(|c| c.name.as_str()).collect();
        for d in &decls {
            for (column, c) in &d.columns {
                if !names.contains(column.as_str()) {
                    self.push(
                        "declared-column-missing",
                        path,
                        Some(column),
                        None,
                        line,
                        format!(
                            "piitrail.toml line {} declares column '{column}', which {path} does not have",
                            c.line
                        ),
                        "fix the column name in the declaration, or remove it".into(),
                    );
                }
            }
        }
        self.drift(scan);
    }

    /// Columns newly detected as personal data since the last recorded scan of this path.
    fn drift(&mut self, scan: &ArtifactScan) {
        let Some(previous) = self.req.records.iter().rev().find_map(|r| match &r.body {
            Body::Scan(s) if s.artifact == scan.artifact && !s.is_declared() => Some(s),
            _ => None,
        }) else {
            return;
        };
        if previous.digest == scan.digest {
            return; // the same content: a difference would be sampling, not drift
        }
        // Unhashed (sample mode), the same content sampled the same way gives the same tags.
        let before: BTreeMap<&str, Vec<&str>> = previous
            .columns
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.tags.iter().map(|t| t.category.as_str()).collect(),
                )
            })
            .collect();
        let line = header_line(&scan.format);
        for (column, tag) in self.tags(scan) {
            let known = before.get(column).is_some_and(|cats| {
                cats.iter()
                    .any(|c| is_within(&tag.category, c) || is_within(c, &tag.category))
            });
            if !known {
                let was = if before.contains_key(column) {
                    "had no such tag"
                } else {
                    "did not have this column"
                };
                self.push(
                    "pii-drift",
                    &scan.artifact,
                    Some(column),
                    Some(&tag.category),
                    line,
                    format!(
                        "column '{column}' now holds {} (confidence {:.2}); the last recorded scan ({}) {was}",
                        tag.category,
                        tag.confidence,
                        crate::scan::short_digest(&previous.digest)
                    ),
                    "check where the new data comes from, declare it, and record a fresh scan (piitrail scan --record)".into(),
                );
            }
        }
    }

    /// Flow rules and group sizes on the scanned datasets and every artifact recorded
    /// downstream of them; returns the downstream artifacts (path, digest).
    fn lineage(&mut self) -> Vec<(String, String)> {
        let req = self.req;
        let config = req.config;
        let fresh;
        let (prop, g) = match req.recorded {
            Some(r) => (r.propagation, r.graph),
            None => {
                fresh = standing_in(req);
                (&fresh.0, &fresh.1)
            }
        };
        let scanned: BTreeSet<&str> = req.scans.iter().map(|s| s.artifact.as_str()).collect();
        let roots: Vec<String> = scanned.iter().flat_map(|p| g.resolve(p)).collect();
        let downstream: BTreeSet<String> = graph::walk(g, &roots, Direction::Downstream, false)
            .artifacts
            .into_iter()
            .map(|n| n.path)
            .filter(|p| !scanned.contains(p.as_str()))
            .collect();
        let mut out = Vec::new();
        for path in scanned
            .iter()
            .copied()
            .chain(downstream.iter().map(|s| s.as_str()))
        {
            let Some(v) = prop.latest.get(path).and_then(|d| prop.versions.get(d)) else {
                continue;
            };
            if downstream.contains(path) {
                out.push((path.to_string(), v.digest.clone()));
            }
            let min = config.policy.min_confidence;
            let tags = v
                .columns
                .iter()
                .flat_map(|(c, set)| set.values().map(move |t| (Some(c.as_str()), t)))
                .chain(v.whole.values().map(|t| (None, t)))
                .filter(|(_, t)| t.confidence >= min);
            let mut found: Vec<(String, Option<String>, String, String, String)> = Vec::new();
            for (column, tag) in tags {
                for f in &config.policy.flows {
                    let status_ok = f.status.is_empty() || f.status.contains(&tag.status);
                    let to_ok = f.to.as_ref().is_none_or(|t| t.matches(&v.path));
                    let kind_ok = f.kind.as_ref().is_none_or(|k| *k == v.kind);
                    if f.category.matches(&tag.category) && status_ok && to_ok && kind_ok {
                        let place = column.map_or(String::new(), |c| format!("column '{c}' of "));
                        found.push((
                            f.rule_id(),
                            column.map(str::to_string),
                            tag.category.clone(),
                            format!(
                                "{} reaches {place}{} ({}) as {}{}; policy flow rule '{}' (piitrail.toml line {}) forbids it",
                                tag.category,
                                v.path,
                                v.kind,
                                tag.status.as_str(),
                                via(tag),
                                f.id,
                                f.line
                            ),
                            match tag.status {
                                Status::Direct => "pseudonymise, generalise or drop the column before it flows here, or stop the flow".into(),
                                _ => "remove the category from the inputs of the step that carries it here, or stop the flow".into(),
                            },
                        ));
                    }
                }
            }
            for (rule, column, category, message, fix) in found {
                self.push(
                    &rule,
                    &v.path,
                    column.as_deref(),
                    Some(&category),
                    None,
                    message,
                    fix,
                );
            }
            if let Some(k) = v.min_group_size
                && k < config.policy.min_group_size
            {
                self.push(
                    "small-group",
                    &v.path,
                    None,
                    None,
                    None,
                    format!(
                        "the smallest group of this aggregate has {k} member(s), below the policy's min_group_size of {}",
                        config.policy.min_group_size
                    ),
                    "coarsen the grouping, or suppress small groups (HAVING count(*) >= k)".into(),
                );
            }
        }
        out
    }

    fn apply_waivers(&mut self) {
        let req = self.req;
        let waivers = &req.config.policy.waivers;
        for v in &mut self.violations {
            let matches = |w: &&Waiver| {
                w.rule == v.rule
                    && w.path.matches(&v.artifact)
                    && w.column
                        .as_ref()
                        .is_none_or(|c| v.column.as_ref() == Some(c))
                    && w.category
                        .as_ref()
                        .is_none_or(|c| v.category.as_deref().is_some_and(|vc| c.matches(vc)))
            };
            if let Some(w) = waivers
                .iter()
                .filter(matches)
                .find(|w| req.today <= w.expires)
            {
                v.suppressed = Some(Suppression {
                    reason: w.reason.clone(),
                    expires: w.expires.to_string(),
                    line: w.line,
                });
            }
        }
        for w in waivers.iter().filter(|w| req.today > w.expires) {
            let what = match (&w.column, &w.category) {
                (Some(c), _) => format!(" for column '{c}'"),
                (None, Some(c)) => format!(" for {}", c.text),
                _ => String::new(),
            };
            self.push(
                "expired-waiver",
                &req.policy_path.clone(),
                None,
                None,
                Some(w.line),
                format!(
                    "the waiver of {} on {}{what} expired on {} (reason given: {}); what it covered is reported again",
                    w.rule, w.path.text, w.expires, w.reason
                ),
                "fix what the waiver covered and remove it, or renew it with a new expiry date".into(),
            );
            let last = self.violations.last_mut().expect("just pushed");
            last.fingerprint = fingerprint(
                "expired-waiver",
                &req.policy_path,
                Some(&w.path.text),
                Some(&w.rule),
            );
        }
    }
}

fn via(tag: &Tag) -> String {
    if tag.via.is_empty() {
        return String::new();
    }
    let path: Vec<String> = tag
        .via
        .iter()
        .map(|c| format!("{}:{}", c.path, c.column))
        .collect();
    format!(" via {}", path.join(" -> "))
}

/// A column name as a TOML key: bare when it can be, quoted otherwise.
pub(crate) fn toml_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

/// The ledger propagated with the fresh scans standing in for the recorded scans of their
/// paths' latest versions, and its lineage graph.
fn standing_in(req: &Request) -> (Propagation, Graph) {
    // The ledger's records and the scans' stand-ins after them, without a copy of the
    // ledger (a million records are most of an audit's memory).
    let mut stand_ins: Vec<Record> = Vec::new();
    let latest = crate::ledger::latest_versions(req.records);
    // The fresh scans stand in for the recorded scans of the paths' latest versions.
    for scan in req.scans {
        let mut digests = Vec::new();
        if let Some(d) = latest.get(&scan.artifact) {
            digests.push(d.clone());
        }
        if !scan.digest.is_empty() && !digests.contains(&scan.digest) {
            digests.push(scan.digest.clone());
        }
        if digests.is_empty() {
            // Neither recorded nor hashed: a version of its own for this check.
            digests.push(format!("unhashed:{}", scan.artifact));
        }
        for digest in digests {
            stand_ins.push(synthetic_scan(scan, digest));
        }
    }
    let prop = crate::propagate::propagate(req.records.iter().chain(&stand_ins));
    (prop, Graph::of_records(req.records))
}

fn synthetic_scan(scan: &ArtifactScan, digest: String) -> Record {
    Record {
        seq: 0,
        time: String::new(),
        body: Body::Scan(ScanRecord {
            artifact: scan.artifact.clone(),
            digest,
            rows_scanned: scan.rows_scanned,
            rows_total: scan.rows_total,
            sampling: scan.sampling.clone(),
            rule_pack: scan.rule_pack.clone(),
            columns: scan.columns.iter().map(Into::into).collect(),
        }),
        prev: String::new(),
        hash: String::new(),
    }
}
