//! One registry of finding codes for `audit` and `gate`, and for their SARIF, JUnit and GitHub
//! output: each code has one default severity, one summary and one help text, and
//! `[policy.severity]` in piitrail.toml overrides it the same way for every command.
//! `piitrail explain CODE` prints an entry.
//!
//! `forbidden-flow/ID` is one code per `[[policy.flow]]` rule of a project; the registry holds
//! their family, `forbidden-flow`.

use serde::Serialize;

/// How much a finding matters. `off` turns a code off. The report writes `note` as `info`
/// (its `severity` vocabulary predates the registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Note,
    Off,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
            Level::Off => "off",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Some(match s {
            "error" => Level::Error,
            "warning" => Level::Warning,
            "note" => Level::Note,
            "off" => Level::Off,
            _ => return None,
        })
    }
}

/// Which command reports a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reporter {
    /// Only `audit` (facts of the whole ledger: lineage gaps, unscanned sources).
    Audit,
    /// `gate` on the datasets it scans, and `audit` on every dataset's recorded scan.
    Both,
}

impl Reporter {
    pub fn commands(self) -> &'static [&'static str] {
        match self {
            Reporter::Audit => &["audit"],
            Reporter::Both => &["audit", "gate"],
        }
    }
}

/// One finding code.
#[derive(Debug, Serialize)]
pub struct Code {
    pub id: &'static str,
    /// The SARIF rule name.
    pub name: &'static str,
    /// The default severity; `[policy.severity]` overrides it.
    pub level: Level,
    /// Written out as the commands' names by `explain --format json`.
    #[serde(skip)]
    pub reported_by: Reporter,
    pub summary: &'static str,
    /// What to do about it.
    pub help: &'static str,
}

/// The family of the per-project flow codes (`forbidden-flow/ID`).
pub const FORBIDDEN_FLOW: &str = "forbidden-flow";

pub const CODES: &[Code] = &[
    Code {
        id: "undeclared-pii",
        name: "UndeclaredPersonalData",
        level: Level::Error,
        reported_by: Reporter::Both,
        summary: "A column holds personal data that piitrail.toml does not declare.",
        help: "Every column in which piitrail finds personal data must be declared in the record of processing (GDPR Art. 30): add a [[dataset]] entry for the file with its purpose and legal basis, and name the column and its category under `columns`. If the data should not be there, remove the column instead.",
    },
    Code {
        id: "special-category-without-condition",
        name: "SpecialCategoryWithoutCondition",
        level: Level::Error,
        reported_by: Reporter::Both,
        summary: "A column holds a special category of personal data (GDPR Art. 9) without a declared Art. 9(2) condition.",
        help: "Processing special categories (health, ethnic origin, religion, political opinion, trade-union membership, sexual orientation, genetic and biometric data) is forbidden unless an Art. 9(2) condition applies. Declare the column with its category and `art9_condition` (explicit_consent, employment_social_security, vital_interests, not_for_profit_body, made_public, legal_claims, substantial_public_interest, health_or_social_care, public_health, archiving_research_statistics), or remove the data.",
    },
    Code {
        id: "criminal-data-without-basis",
        name: "CriminalDataWithoutBasis",
        level: Level::Error,
        reported_by: Reporter::Both,
        summary: "A column holds data on criminal convictions or offences (GDPR Art. 10) without a declared basis.",
        help: "Criminal-offence data may only be processed under official authority or when Union or Member State law authorises it. Declare the column with `art10_basis` (official_authority or authorised_by_law), or remove the data.",
    },
    Code {
        id: "category-not-allowed",
        name: "CategoryNotAllowed",
        level: Level::Error,
        reported_by: Reporter::Both,
        summary: "A dataset holds a category of personal data that the policy does not allow at its path.",
        help: "The [[policy.allow]] entries matching this path list the categories allowed there. Remove, pseudonymise or generalise the column, or widen the allow list if the data belongs there.",
    },
    Code {
        id: "small-group",
        name: "SmallAggregateGroup",
        level: Level::Error,
        reported_by: Reporter::Both,
        summary: "An aggregate publishes a group smaller than the policy's min_group_size.",
        help: "Groups of few people let their members be singled out. Coarsen the grouping keys, suppress small groups (HAVING count(*) >= k), or raise the level of aggregation.",
    },
    Code {
        id: "pii-drift",
        name: "PersonalDataDrift",
        level: Level::Warning,
        reported_by: Reporter::Both,
        summary: "A column is newly detected as personal data compared with the last recorded scan of the same path.",
        help: "The dataset changed: a column now holds personal data that its last recorded scan did not find. Check where the new data comes from, declare it, and record a fresh scan (`piitrail scan --record`).",
    },
    Code {
        id: "declared-column-missing",
        name: "DeclaredColumnMissing",
        level: Level::Warning,
        reported_by: Reporter::Both,
        summary: "piitrail.toml declares a column the dataset does not have.",
        help: "The declaration names a column that is not in the dataset: fix the column name or remove the stale declaration.",
    },
    Code {
        id: "expired-waiver",
        name: "ExpiredWaiver",
        level: Level::Error,
        reported_by: Reporter::Both,
        summary: "A waiver in piitrail.toml has expired.",
        help: "Waivers are temporary. Fix what the waiver covered and remove it, or renew it with a new expiry date and a reason.",
    },
    Code {
        id: FORBIDDEN_FLOW,
        name: "ForbiddenFlow",
        level: Level::Error,
        reported_by: Reporter::Both,
        summary: "A category of personal data reaches a dataset or model that a [[policy.flow]] rule forbids (one code per rule: forbidden-flow/ID, its severity set by the rule).",
        help: "A [[policy.flow]] rule forbids this category from reaching this artifact with this status. Follow the `via` path back to where the data entered, and pseudonymise, generalise or drop the column before it flows on; or change the step that carries it.",
    },
    Code {
        id: "ledger-broken",
        name: "LedgerBroken",
        level: Level::Error,
        reported_by: Reporter::Audit,
        summary: "The ledger's hash chain is broken: a record was changed, removed or inserted.",
        help: "The report covers the records before the break only. Find what changed the ledger (`piitrail ledger verify` names the line), restore it from a copy, and audit again; a ledger is append-only.",
    },
    Code {
        id: "unscanned-source",
        name: "UnscannedSource",
        level: Level::Warning,
        reported_by: Reporter::Audit,
        summary: "A source dataset in the lineage was never scanned: what personal data it holds is unknown.",
        help: "Scan it and record the scan (`piitrail scan PATH --record`), so that its categories reach everything derived from it.",
    },
    Code {
        id: "group-size-unknown",
        name: "GroupSizeUnknown",
        level: Level::Note,
        reported_by: Reporter::Audit,
        summary: "An aggregate of personal data whose group sizes were not measured.",
        help: "Run the aggregating step through `piitrail run`, which measures the smallest group, so that `small-group` can be checked.",
    },
    Code {
        id: "inherited-not-detected",
        name: "InheritedNotDetected",
        level: Level::Warning,
        reported_by: Reporter::Audit,
        summary: "Lineage says a column holds a category its scan did not find.",
        help: "Either the step transforms the column more than recorded (record its column lineage with the right transformation), or the scan missed it (scan with --full, or add a rule).",
    },
    Code {
        id: "detected-not-inherited",
        name: "DetectedNotInherited",
        level: Level::Warning,
        reported_by: Reporter::Audit,
        summary: "A scan found a category in a derived dataset that no recorded lineage brings.",
        help: "An input of the step is missing from the ledger, or a step was not recorded: record it (`piitrail run --record`, `piitrail record`, or OpenLineage).",
    },
    Code {
        id: "model-trained-on-special-category",
        name: "ModelTrainedOnSpecialCategory",
        level: Level::Warning,
        reported_by: Reporter::Audit,
        summary: "A model was trained on special-category (Art. 9) or criminal-offence (Art. 10) data.",
        help: "Training on such data needs an explicit legal basis and a DPIA (Art. 35). Declare the Art. 9(2) condition or Art. 10 basis of its sources, or train without those columns.",
    },
    Code {
        id: "no-column-lineage",
        name: "NoColumnLineage",
        level: Level::Note,
        reported_by: Reporter::Audit,
        summary: "A step recorded no column lineage: every category of its inputs is assumed to reach its outputs.",
        help: "Record the step with its column lineage (`piitrail run` derives it from the SQL; `piitrail record --column OUT=IN`; an OpenLineage columnLineage facet) so that tags follow the columns that carry them.",
    },
];

/// The registry entry of a code; `forbidden-flow/ID` gives the family's.
pub fn code(id: &str) -> Option<&'static Code> {
    let id = match id.split_once('/') {
        Some((FORBIDDEN_FLOW, _)) => FORBIDDEN_FLOW,
        _ => id,
    };
    CODES.iter().find(|c| c.id == id)
}

/// The codes the gate checks, in the registry's order.
pub fn gate_codes() -> impl Iterator<Item = &'static Code> {
    CODES
        .iter()
        .filter(|c| c.reported_by == Reporter::Both && c.id != FORBIDDEN_FLOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_documented() {
        let mut ids: Vec<&str> = CODES.iter().map(|c| c.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CODES.len(), "a code is listed twice");
        for c in CODES {
            assert!(
                c.summary.ends_with('.') && c.help.ends_with('.'),
                "{}",
                c.id
            );
            assert!(c.level != Level::Off, "{} is off by default", c.id);
        }
        assert_eq!(
            code("forbidden-flow/no-health-in-models").unwrap().id,
            "forbidden-flow"
        );
        assert!(code("no-such-code").is_none());
    }

    /// The published report schema lists exactly the registry's codes.
    #[test]
    fn the_report_schema_lists_every_code() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../reports/report.schema.json")).unwrap();
        let code = &schema["properties"]["findings"]["items"]["properties"]["code"]["anyOf"];
        let mut listed: Vec<&str> = code[0]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        listed.sort();
        let mut ours: Vec<&str> = CODES
            .iter()
            .map(|c| c.id)
            .filter(|id| *id != FORBIDDEN_FLOW)
            .collect();
        ours.sort();
        assert_eq!(listed, ours);
        assert_eq!(code[1]["pattern"], "^forbidden-flow/.+$");
    }
}
