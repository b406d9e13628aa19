//! JUnit XML for the gate: one testsuite per checked artifact, one testcase per artifact and
//! rule; a testcase fails when the rule has an unwaived error there. Warnings, notes and
//! waived violations go to the testcase's `system-out`.

use std::fmt::Write as _;

use crate::policy::Level;
use crate::policy::gate::{Outcome, Violation};

/// Escapes text for XML 1.0 content and attributes; characters XML 1.0 cannot hold become
/// U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn line(v: &Violation) -> String {
    let mut s = format!("{}[{}]", v.level.as_str(), v.rule);
    if let Some(w) = &v.suppressed {
        s = format!("waived[{}] until {} ({})", v.rule, w.expires, w.reason);
    }
    format!("{s} {}: {}. Fix: {}.", v.artifact, v.message, v.fix)
}

pub fn gate(o: &Outcome) -> String {
    let mut suites = String::new();
    let (mut total, mut total_failures) = (0, 0);
    for c in &o.checked {
        let mut cases = String::new();
        let mut failures = 0;
        for rule in &c.rules {
            let here: Vec<&Violation> = o
                .violations
                .iter()
                .filter(|v| v.artifact == c.artifact && &v.rule == rule)
                .collect();
            let failing: Vec<&&Violation> = here
                .iter()
                .filter(|v| v.suppressed.is_none() && v.level == Level::Error)
                .collect();
            let other: Vec<&&Violation> = here
                .iter()
                .filter(|v| !(v.suppressed.is_none() && v.level == Level::Error))
                .collect();
            let _ = write!(
                cases,
                "    <testcase classname=\"{}\" name=\"{}\"",
                escape(&c.artifact),
                escape(rule)
            );
            if failing.is_empty() && other.is_empty() {
                cases.push_str("/>\n");
                continue;
            }
            cases.push_str(">\n");
            if !failing.is_empty() {
                failures += 1;
                let text: Vec<String> = failing.iter().map(|v| line(v)).collect();
                let _ = writeln!(
                    cases,
                    "      <failure message=\"{} violation(s) of {}\" type=\"{}\">{}</failure>",
                    failing.len(),
                    escape(rule),
                    escape(rule),
                    escape(&text.join("\n"))
                );
            }
            if !other.is_empty() {
                let text: Vec<String> = other.iter().map(|v| line(v)).collect();
                let _ = writeln!(
                    cases,
                    "      <system-out>{}</system-out>",
                    escape(&text.join("\n"))
                );
            }
            cases.push_str("    </testcase>\n");
        }
        total += c.rules.len();
        total_failures += failures;
        let _ = write!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n{cases}  </testsuite>\n",
            escape(&c.artifact),
            c.rules.len()
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"piitrail gate\" tests=\"{total}\" failures=\"{total_failures}\" errors=\"0\">\n{suites}</testsuites>\n"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_characters_xml_cannot_hold() {
        assert_eq!(
            super::escape("a<b & \"c\" \u{1}"),
            "a&lt;b &amp; &quot;c&quot; \u{FFFD}"
        );
    }
}
