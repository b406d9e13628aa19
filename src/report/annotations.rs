//! GitHub Actions workflow commands for the gate: `::error file=...,line=...,title=...::msg`
//! per unwaived violation, so that they show on the pull request's files.

use std::fmt::Write as _;

use crate::policy::Level;
use crate::policy::gate::Outcome;

/// Escapes a command's message (GitHub's `escapeData`).
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property value (GitHub's `escapeProperty`).
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn gate(o: &Outcome) -> String {
    let mut out = String::new();
    for v in o.violations.iter().filter(|v| v.suppressed.is_none()) {
        let command = match v.level {
            Level::Error => "error",
            Level::Warning => "warning",
            _ => "notice",
        };
        let _ = write!(out, "::{command} file={}", property(&v.artifact));
        if let Some(line) = v.line {
            let _ = write!(out, ",line={line}");
        }
        let title = match &v.column {
            Some(c) => format!("piitrail {} ({c})", v.rule),
            None => format!("piitrail {}", v.rule),
        };
        let _ = writeln!(
            out,
            ",title={}::{}",
            property(&title),
            data(&format!("{}. Fix: {}.", v.message, v.fix))
        );
    }
    let s = &o.summary;
    let _ = writeln!(
        out,
        "piitrail gate {}: {} error(s), {} warning(s), {} note(s), {} waived",
        if o.passed { "passed" } else { "failed" },
        s.errors,
        s.warnings,
        s.notes,
        s.suppressed
    );
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_like_the_actions_toolkit() {
        assert_eq!(super::property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(super::data("a:b,c%\r\n"), "a:b,c%25%0D%0A");
    }
}
