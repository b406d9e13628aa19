//! Reading events: JSON objects, arrays or JSON lines, each facet checked against its
//! published schema.

use super::*;

/// What was wrong with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEvent {
    pub origin: String,
    pub message: String,
}

impl std::fmt::Display for BadEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

pub(super) const EVENT_TYPES: &[crate::ledger::RunState] = {
    use crate::ledger::RunState::*;
    &[Start, Running, Complete, Abort, Fail, Other]
};

/// Reads the events of one text: a JSON object, an array of them, or JSON lines. `origin`
/// names the text in errors (a file path, `request`). Every facet with a published schema is
/// checked against it: one that breaks it is dropped with a warning, or, when `strict`, makes
/// the event bad.
pub fn parse(text: &str, origin: &str, strict: bool) -> Result<Vec<Event>, BadEvent> {
    let bad = |at: String, message: String| BadEvent {
        origin: at,
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(bad(origin.into(), "no events (the input is empty)".into()));
    }
    // The whole text as one JSON value first; JSON lines when that fails after the first line.
    let values: Vec<(String, Value)> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("{origin}[{i}]"), v))
            .collect(),
        Ok(v) => vec![(origin.to_string(), v)],
        Err(e) if e.line() > 1 && e.is_syntax() => {
            let mut out = Vec::new();
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let at = format!("{origin}:{}", n + 1);
                let v: Value = serde_json::from_str(line)
                    .map_err(|e| bad(at.clone(), format!("not JSON: {e}")))?;
                out.push((at, v));
            }
            out
        }
        Err(e) => return Err(bad(origin.into(), format!("not JSON: {e}"))),
    };
    if values.is_empty() {
        return Err(bad(origin.into(), "no events (an empty array)".into()));
    }
    values
        .into_iter()
        .map(|(at, mut v)| {
            let warnings = super::super::facets::check(&mut v);
            if strict && let Some(first) = warnings.first() {
                return Err(bad(
                    at,
                    format!(
                        "{} (--strict: the event is refused)",
                        first.trim_end_matches(": dropped")
                    ),
                ));
            }
            let warnings = warnings.into_iter().map(|w| format!("{at}: {w}")).collect();
            event(v).map_err(|m| bad(at.clone(), m)).map(|event| Event {
                origin: at,
                event,
                warnings,
            })
        })
        .collect()
}

/// Checks one event against what the spec requires and piitrail relies on.
pub fn event(value: Value) -> Result<RunEvent, String> {
    let Value::Object(map) = &value else {
        return Err(format!(
            "a RunEvent is a JSON object, not {}",
            json_kind(&value)
        ));
    };
    if !map.contains_key("run") {
        return Err(
            "no `run`: not a RunEvent (JobEvents and DatasetEvents carry no run to record)".into(),
        );
    }
    if map.get("run").and_then(|r| r.get("runId")).is_none() {
        return Err("missing `run.runId`".into());
    }
    let e: RunEvent = serde_json::from_value(value).map_err(|e| e.to_string())?;
    if !is_uuid(&e.run.run_id) {
        return Err(format!("`run.runId` '{}' is not a UUID", e.run.run_id));
    }
    chrono::DateTime::parse_from_rfc3339(&e.event_time).map_err(|err| {
        format!(
            "`eventTime` '{}' is not an ISO 8601 date-time with an offset: {err}",
            e.event_time
        )
    })?;
    if let Some(t) = &e.event_type
        && !EVENT_TYPES.iter().any(|s| s.as_str() == t)
    {
        let types: Vec<&str> = EVENT_TYPES.iter().map(|s| s.as_str()).collect();
        return Err(format!(
            "`eventType` '{t}' is not one of {}",
            types.join(", ")
        ));
    }
    if e.job.namespace.is_empty() || e.job.name.is_empty() {
        return Err("`job.namespace` and `job.name` must not be empty".into());
    }
    for d in e.inputs.iter().chain(&e.outputs) {
        if d.namespace.is_empty() || d.name.is_empty() {
            return Err("a dataset has an empty `namespace` or `name`".into());
        }
    }
    Ok(e)
}

pub(super) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The digest of an artifact known only by name (and version): `name:` and the sha256 of
/// both. Not a content digest, so audit reports do not sign it as one.
pub fn name_digest(path: &str, version: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(path.as_bytes());
    h.update([0]);
    h.update(version.unwrap_or("").as_bytes());
    format!("name:{}", hex::encode(h.finalize()))
}
