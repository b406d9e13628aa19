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
//! - a telling name over values the rule does not accept is still a tag (`basis: "name"`, at
//!   `R.name_weight × 0.9`, the weight of a name with no values, below any value-confirmed tag)
//!   when the values are consistent with another form of the category: a form the rule lists
//!   in `coded` (short codes, dates in another form, birth years, identifier-like strings;
//!   `evidence.reason` says which), or, for a rule with a validator, the rule's shape with
//!   failing check digits (`R.name_weight × 0.85`, `evidence.checksum` `failed` when none
//!   passed, `mixed` when some did). Values that fit neither still contradict the name.
//!
//! - in a full scan, a rule marked `sparse` (checksum identifiers, e-mail) is counted on every
//!   value; a column where it matched too rarely for a tag gets `basis: "low_prevalence"` at
//!   `R.confidence × 0.6` (at least [`MIN_CONFIDENCE`]), with the count in `evidence.reason`.
//!
//! A tag is reported when its confidence is at least [`MIN_CONFIDENCE`]; per category only
//! the strongest rule is kept. When a rule with a validator (check digits) accounts for the
//! values, value-only tags of unvalidated rules without name evidence are dropped.

use super::matcher::ColumnState;
use crate::ledger::{Basis, Checksum, ColumnTag, Evidence};
use crate::rules::RuleSet;

pub const MIN_CONFIDENCE: f64 = 0.5;

/// A telling name over values the rule's check does not accept, but which are another form of
/// the category: (confidence, reason, checksum verdict), or `None` when the values contradict.
fn name_over_other_form(
    rule: &crate::rules::Rule,
    c: &super::matcher::Counter,
    profile: &super::matcher::Profile,
) -> Option<(f64, String, Option<Checksum>)> {
    use crate::rules::CodedForm;
    // The rule's own shape with failing check digits: tokens, test data or typos.
    if rule.validator.is_some()
        && c.unconfirmed > 0
        && ((c.matched + c.unconfirmed) as f64 / c.examined as f64) >= rule.min_ratio
    {
        let sum = if c.matched == 0 {
            Checksum::Failed
        } else {
            Checksum::Mixed
        };
        let why = format!(
            "identifier shape, check digits fail ({} of {} values)",
            c.unconfirmed, c.examined
        );
        return Some((rule.name_weight * 0.85, why, Some(sum)));
    }
    let form = rule.coded.iter().copied().find(|f| profile.fits(*f))?;
    let why = match form {
        CodedForm::Codes => format!(
            "coded values: {} distinct short codes",
            profile.distinct.len()
        ),
        CodedForm::Dates => "dates in another form".to_string(),
        CodedForm::Years => "years of birth".to_string(),
        CodedForm::Identifiers => "identifier-like values".to_string(),
    };
    Some((rule.name_weight * 0.9, why, None))
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
        let mut reason = None;
        let mut checksum = None;
        let (conf, basis) = if rule.distinct && c.examined > 0 && !col.profile.many {
            (0.0, Basis::Values)
        } else if c.examined == 0 {
            (
                if named { rule.name_weight * 0.9 } else { 0.0 },
                Basis::Name,
            )
        } else if named
            && (c.matched as f64 / c.examined as f64) < rule.min_ratio
            && let Some((weight, why, sum)) = name_over_other_form(rule, c, &col.profile)
        {
            reason = Some(why);
            checksum = sum;
            (weight, Basis::Name)
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
            ((1.0 - (1.0 - v) * (1.0 - n)).min(0.99), Basis::Values)
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
                    basis,
                    reason,
                    checksum,
                    context: None,
                    references: None,
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
                        basis: Basis::FreeText,
                        reason: None,
                        checksum: None,
                        context: None,
                        references: None,
                    },
                });
            }
        }
    }
    // Sparse identifiers in a full scan: a rule counted on every value that matched at all
    // but too rarely for a tag is still reported, never left "clean".
    for c in col.value.iter().chain(&col.find) {
        let rule = &rules.rules[c.rule];
        // Many values of the shape failing the check make the passes coincidences (one random
        // number in ten passes Luhn).
        let real = c.unconfirmed <= 2 * c.matched;
        if c.sparse && c.matched > 0 && real && !out.iter().any(|t| t.category == rule.category) {
            let whole = col.value.iter().any(|v| std::ptr::eq(v, c));
            out.push(ColumnTag {
                category: rule.category.clone(),
                gdpr_class: rule.gdpr_class,
                confidence: round3((rule.confidence * 0.6).max(MIN_CONFIDENCE)),
                rule: rule.id.clone(),
                evidence: Evidence {
                    name_match: rule.name_matches(&col.normalised),
                    matched: c.matched,
                    non_null: col.non_null,
                    basis: Basis::LowPrevalence,
                    reason: Some(format!(
                        "{} of {} values {}",
                        c.matched,
                        col.non_null,
                        if whole {
                            "are one"
                        } else {
                            "hold one in their text"
                        }
                    )),
                    checksum: None,
                    context: None,
                    references: None,
                },
            });
        }
    }
    // A name says which reading of the values is meant: a column named fax whose values also
    // read as phone numbers is a fax column, not a second finding.
    if out
        .iter()
        .any(|t| t.evidence.basis == Basis::Values && t.evidence.name_match)
    {
        out.retain(|t| t.evidence.basis != Basis::Values || t.evidence.name_match);
    }
    // Check digits explain values better than a shape: when a validated rule accounts for the
    // values, a shape-only rule without name evidence (an NHS number in a 3-3-4 phone layout)
    // is a coincidence, not a second finding.
    let validated = |t: &ColumnTag| rules.get(&t.rule).is_some_and(|r| r.validator.is_some());
    if out
        .iter()
        .any(|t| t.evidence.basis == Basis::Values && validated(t))
    {
        out.retain(|t| t.evidence.basis != Basis::Values || validated(t) || t.evidence.name_match);
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
        assert_eq!(t[0].evidence.basis, Basis::FreeText);
        assert_eq!((t[0].evidence.matched, t[0].evidence.non_null), (1, 4));
    }

    fn only(tags: &[ColumnTag], category: &str) -> ColumnTag {
        tags.iter()
            .find(|t| t.category == category)
            .unwrap_or_else(|| panic!("no {category} in {tags:#?}"))
            .clone()
    }

    #[test]
    fn a_telling_name_over_coded_values_is_a_name_tag_with_the_reason() {
        let t = only(
            &judge("sex", &["0", "1", "1", "0", "1", "0"]),
            "user.demographic.gender",
        );
        assert_eq!(t.evidence.basis, Basis::Name);
        assert!(
            t.evidence
                .reason
                .as_deref()
                .unwrap()
                .starts_with("coded values: 2"),
            "{t:?}"
        );
        assert!(
            t.confidence < 0.9,
            "below a value-confirmed tag: {}",
            t.confidence
        );
        let t = judge("religion", &["1", "2", "2", "3", "1", "1", "2", "3"]);
        assert_eq!(t[0].category, "user.demographic.religious_belief");
        // Many distinct long values are no code list.
        let names: Vec<String> = (0..40).map(|i| format!("somebody number {i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert!(judge("gender", &names).is_empty());
    }

    #[test]
    fn dates_of_birth_in_any_form_and_birth_years_are_tagged_free_text_is_not() {
        let t = judge(
            "date_of_birth",
            &[
                "12/31/99",
                "3/7/1985",
                "March 7, 1985",
                "7 Mar 1985 (age 40)",
            ],
        );
        assert_eq!(t[0].category, "user.demographic.date_of_birth");
        let t = judge("birth_year", &["1985", "1990", "1979", "2001"]);
        assert_eq!(t[0].evidence.reason.as_deref(), Some("years of birth"));
        assert!(
            judge(
                "date_of_birth",
                &["ask him later", "unknown", "see the file"]
            )
            .is_empty()
        );
        // An e-mail column of integers still contradicts its name.
        assert!(judge("email", &["12", "345", "6789"]).is_empty());
    }

    #[test]
    fn identifiers_failing_their_check_digits_under_a_telling_name_are_tagged_as_such() {
        let cards = ["4111111111111112", "5500005555555550", "4012888888881882"];
        let t = only(&judge("card_number", &cards), "user.financial.credit_card");
        assert_eq!(t.evidence.checksum, Some(Checksum::Failed));
        assert_eq!(t.evidence.basis, Basis::Name);
        let mixed = ["4111111111111111", "5500005555555550", "4012888888881882"];
        let t = only(&judge("card_number", &mixed), "user.financial.credit_card");
        assert_eq!(t.evidence.checksum, Some(Checksum::Mixed));
        let t = only(
            &judge(
                "iban",
                &["DE89370400440532013001", "GB82WEST12345698765431"],
            ),
            "user.financial.bank_account",
        );
        assert_eq!(t.evidence.checksum, Some(Checksum::Failed));
        // The same digits under another name are a decoy (an EAN, an order number).
        assert!(
            judge("ean", &cards)
                .iter()
                .all(|t| t.category != "user.financial.credit_card")
        );
    }

    #[test]
    fn a_us_date_is_never_a_phone_number() {
        let t = judge("contact_date", &["03/07/1985", "12/31/1999", "01/15/2001"]);
        assert!(
            t.iter().all(|t| t.category != "user.contact.phone_number"),
            "{t:#?}"
        );
        let t = judge(
            "phone",
            &["(212) 555-0187", "212-555-0143", "+49 170 5550101"],
        );
        assert_eq!(t[0].category, "user.contact.phone_number");
    }
}
