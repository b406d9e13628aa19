//! SARIF 2.1.0 for the gate (OASIS schema `sarif-schema-2.1.0.json`): one rule per policy rule
//! with its help, one result per violation with a stable `partialFingerprints` entry, waived
//! violations as results with an external suppression.

use serde_json::{Value, json};

use crate::policy::Level;
use crate::policy::gate::Outcome;

fn level(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "note",
        Level::Off => "none",
    }
}

/// A project-relative path as a URI reference: `/` kept, everything outside RFC 3986's
/// unreserved set percent-encoded.
pub fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn gate(o: &Outcome) -> Value {
    let rules: Vec<Value> = o
        .rules
        .iter()
        .map(|r| {
            let name = crate::findings::code(&r.id)
                .filter(|c| c.id == r.id)
                .map_or_else(
                    || {
                        // forbidden-flow/no-health → ForbiddenFlowNoHealth
                        r.id.split(['/', '-', '_'])
                            .map(|w| {
                                let mut c = w.chars();
                                c.next()
                                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                                    .unwrap_or_default()
                            })
                            .collect()
                    },
                    |i| i.name.to_string(),
                );
            json!({
                "id": r.id,
                "name": name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {"text": r.help},
                "defaultConfiguration": {"level": level(r.level)},
            })
        })
        .collect();
    let results: Vec<Value> = o
        .violations
        .iter()
        .map(|v| {
            let mut physical = json!({
                "artifactLocation": {"uri": uri(&v.artifact), "uriBaseId": "%SRCROOT%"},
            });
            if let Some(line) = v.line {
                physical["region"] = json!({"startLine": line});
            }
            let mut location = json!({"physicalLocation": physical});
            if let Some(c) = &v.column {
                location["logicalLocations"] = json!([{
                    "name": c,
                    "fullyQualifiedName": format!("{}:{c}", v.artifact),
                    "kind": "column",
                }]);
            }
            let mut result = json!({
                "ruleId": v.rule,
                "level": level(v.level),
                "message": {"text": format!("{}. Fix: {}.", v.message, v.fix)},
                "locations": [location],
                "partialFingerprints": {"piitrail/v1": v.fingerprint},
                "properties": {
                    "column": v.column,
                    "category": v.category,
                },
            });
            if let Some(i) = o.rules.iter().position(|r| r.id == v.rule) {
                result["ruleIndex"] = json!(i);
            }
            if let Some(s) = &v.suppressed {
                result["suppressions"] = json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": format!("{} (waiver at piitrail.toml line {}, expires {})", s.reason, s.line, s.expires),
                }]);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "piitrail",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "automationDetails": {"id": "piitrail/gate/"},
            "invocations": [{"executionSuccessful": true}],
            "results": results,
        }]
    })
}
