//! Column verdicts: name evidence and value evidence combined into a confidence.
//!
//! For a rule R on column C, with r = matched / tested non-null values:
//! - value evidence `v = R.confidence × (0.5 + 0.5·r)` when `r ≥ R.min_ratio`, else 0;
//! - name evidence `n = R.name_weight` when C's normalised name matches R's names and the
//!   values do not contradict it (no values, or `r ≥ R.min_ratio`); when they do contradict,
//!   `n = R.name_weight × 0.5 × r / R.min_ratio` (always under 0.5, so never reported);
//! - rules with `require_name` take no value evidence without name evidence;
//! - confidence `= 1 − (1 − v)(1 − n)` (noisy-or), capped at 0.99;
//! - free text: when the share s of values containing a validated `find` match reaches
//!   `R.find_min_ratio`, confidence `= R.confidence × (0.7 + 0.3·s)`.
//!
//! A tag is reported when its confidence is at least [`MIN_CONFIDENCE`]; per category only
//! the strongest rule is kept. When a rule with a validator (check digits) accounts for the
//! values, value-only tags of unvalidated rules without name evidence are dropped.

use serde::{Deserialize, Serialize};

use super::matcher::ColumnState;
use crate::rules::{GdprClass, RuleSet};

pub const MIN_CONFIDENCE: f64 = 0.5;

/// Why a tag was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub name_match: bool,
    pub matched: u64,
    pub non_null: u64,
    /// `values` (whole values), `free_text` (inside longer text) or `name` (no values to test).
    pub basis: String,
}

/// One category found in one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnTag {
    pub category: String,
    pub gdpr_class: GdprClass,
    pub confidence: f64,
    pub rule: String,
    pub evidence: Evidence,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub fn tags(rules: &RuleSet, col: &ColumnState) -> Vec<ColumnTag> {
    let mut out: Vec<ColumnTag> = Vec::new();
    let mut push = |tag: ColumnTag| match out.iter_mut().find(|t| t.category == tag.category) {
        Some(t) if t.confidence >= tag.confidence => {}
        Some(t) => *t = tag,
        None => out.push(tag),
    };
    for c in &col.value {
        let rule = &rules.rules[c.rule];
        let named = rule.name_matches(&col.normalised);
        let (conf, basis) = if c.examined == 0 {
            (if named { rule.name_weight * 0.9 } else { 0.0 }, "name")
        } else {
            let r = c.matched as f64 / c.examined as f64;
            let v = if r >= rule.min_ratio {
                rule.confidence * (0.5 + 0.5 * r)
            } else {
                0.0
            };
            let n = match (named, r >= rule.min_ratio) {
                (false, _) => 0.0,
                (true, true) => rule.name_weight,
                (true, false) => rule.name_weight * 0.5 * r / rule.min_ratio,
            };
            ((1.0 - (1.0 - v) * (1.0 - n)).min(0.99), "values")
        };
        if conf >= MIN_CONFIDENCE {
            push(ColumnTag {
                category: rule.category.clone(),
                gdpr_class: rule.gdpr_class,
                confidence: round3(conf),
                rule: rule.id.clone(),
                evidence: Evidence {
                    name_match: named,
                    matched: c.matched,
                    non_null: c.examined,
                    basis: basis.into(),
                },
            });
        }
    }
    // Free text: only for columns whose values mostly read as text.
    if col.non_null > 0 && col.text_like * 2 >= col.non_null {
        for c in &col.find {
            let rule = &rules.rules[c.rule];
            let share = c.matched as f64 / col.non_null as f64;
            if c.matched > 0 && share >= rule.find_min_ratio {
                let conf = (rule.confidence * (0.7 + 0.3 * share)).min(0.99);
                push(ColumnTag {
                    category: rule.category.clone(),
                    gdpr_class: rule.gdpr_class,
                    confidence: round3(conf),
                    rule: rule.id.clone(),
                    evidence: Evidence {
                        name_match: rule.name_matches(&col.normalised),
                        matched: c.matched,
                        non_null: col.non_null,
                        basis: "free_text".into(),
                    },
                });
            }
        }
    }
    // Check digits explain values better than a shape: when a validated rule accounts for the
    // values, a shape-only rule without name evidence (an NHS number in a 3-3-4 phone layout)
    // is a coincidence, not a second finding.
    let validated = |t: &ColumnTag| rules.get(&t.rule).is_some_and(|r| r.validator.is_some());
    if out
        .iter()
        .any(|t| t.evidence.basis == "values" && validated(t))
    {
        out.retain(|t| t.evidence.basis != "values" || validated(t) || t.evidence.name_match);
    }
    out.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| a.category.cmp(&b.category))
    });
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::rules::{Sources, load};
    use crate::scan::matcher::{Matcher, Stopping};

    fn judge(name: &str, values: &[&str]) -> Vec<ColumnTag> {
        let rules = Arc::new(
            load(&Sources {
                builtin: true,
                extra: vec![],
            })
            .unwrap(),
        );
        let schema = Arc::new(Schema::new(vec![Field::new(name, DataType::Utf8, true)]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(values.to_vec()))])
                .unwrap();
        let mut m = Matcher::new(
            rules.clone(),
            &[(name.to_string(), DataType::Utf8)],
            Stopping::FULL,
            false,
        );
        m.feed(&batch);
        tags(&rules, &m.columns[0])
    }

    #[test]
    fn telling_name_with_contradicting_values_is_not_tagged() {
        assert!(judge("email", &["12", "345", "6789", "10", "11"]).is_empty());
    }

    #[test]
    fn validated_values_tag_a_meaningless_name() {
        let t = judge(
            "field_12",
            &["DE89370400440532013000", "GB82WEST12345698765432"],
        );
        assert_eq!(t[0].rule, "iban");
        assert!(!t[0].evidence.name_match);
    }

    #[test]
    fn name_and_values_together_beat_values_alone() {
        let values = ["jane@example.com", "max@example.de"];
        let named = judge("email", &values)[0].confidence;
        let unnamed = judge("c1", &values)[0].confidence;
        assert!(named > unnamed, "{named} > {unnamed}");
    }

    #[test]
    fn check_digits_outrank_a_coincidental_shape() {
        let t = judge("nhs_number", &["943 476 5919", "401 023 2137"]);
        let rules: Vec<_> = t.iter().map(|t| t.rule.as_str()).collect();
        assert_eq!(rules, ["national-id-uk-nhs"]);
    }

    #[test]
    fn digit_strings_failing_check_digits_are_not_identifiers() {
        assert!(
            judge(
                "c",
                &["44051401358", "02070803627", "12345678901", "98765432109"]
            )
            .is_empty()
        );
    }

    #[test]
    fn free_text_with_embedded_emails_is_tagged_with_the_share() {
        let t = judge(
            "body",
            &[
                "please write to jane@example.com soon",
                "where is my parcel now",
                "it arrived broken again",
                "thanks a lot for that",
            ],
        );
        assert_eq!(t[0].category, "user.contact.email");
        assert_eq!(t[0].evidence.basis, "free_text");
        assert_eq!((t[0].evidence.matched, t[0].evidence.non_null), (1, 4));
    }
}
