//! Raw personal data in memory: a wrapper whose `Debug` and `Display` print only a masked form.
//!
//! Any value read from a dataset that may be personal data travels as `Sensitive<T>`, so that a
//! careless `{:?}` in a log line or an error message cannot leak it. `mask` is the one place that
//! decides what a masked value looks like (`j***@e***.com`, `DE** **** **** **** **00`).

use std::fmt;

/// A value that may be personal data. Only [`Sensitive::expose`] gives the raw value back.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Sensitive(value)
    }

    /// The raw value. Callers must not print, log or persist what they get.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: AsRef<str>> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sensitive({})", mask(self.0.as_ref()))
    }
}

impl<T: AsRef<str>> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask(self.0.as_ref()))
    }
}

/// Masks a value so that its shape stays readable but the person does not.
///
/// Separators stay; of each run of letters or digits only the first character is kept, and only
/// for runs of four or more (`DE89 3704 0044` → `D*** 3*** 0***`). In an e-mail address (a
/// word with one `@`) the local part and the domain keep their first character and the
/// top-level domain shows when it has at most two letters (`jane.doe@example.de` →
/// `j*******@e******.de`, `…@example.com` → `…@e******.c**`). Whatever the value, at most a
/// quarter of its letters and digits show (later ones are starred first), and never a whole
/// word of more than two characters.
pub fn mask(value: &str) -> String {
    // Each output character, and whether it reveals a letter or digit of the value.
    let mut out: Vec<(char, bool)> = Vec::with_capacity(value.len());
    let mut alnum = 0usize;
    let mut rest = value;
    while !rest.is_empty() {
        let ws = rest.len() - rest.trim_start().len();
        out.extend(rest[..ws].chars().map(|c| (c, false)));
        rest = &rest[ws..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..end];
        alnum += word.chars().filter(|c| c.is_alphanumeric()).count();
        match word.split_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.contains('@') => {
                mask_runs(local, &mut out);
                out.push(('@', false));
                match domain.rsplit_once('.') {
                    Some((host, tld)) if !host.is_empty() => {
                        mask_runs(host, &mut out);
                        out.push(('.', false));
                        let short = tld.chars().count() <= 2;
                        out.extend(tld.chars().enumerate().map(|(i, c)| {
                            if short || i == 0 {
                                (c, true)
                            } else {
                                ('*', false)
                            }
                        }));
                    }
                    _ => mask_runs(domain, &mut out),
                }
            }
            _ => mask_runs(word, &mut out),
        }
        rest = &rest[end..];
    }
    // The budget: a quarter of the letters and digits, spent from the start.
    let mut budget = alnum / 4;
    out.into_iter()
        .map(|(c, shown)| {
            if !shown {
                c
            } else if budget > 0 {
                budget -= 1;
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// Masks the runs of letters and digits of `text`: the first character of a run of four or
/// more is kept (marked as shown), the rest become `*`; other characters stay.
fn mask_runs(text: &str, out: &mut Vec<(char, bool)>) {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphanumeric() {
            let start = i;
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
            let run = i - start;
            if run >= 4 {
                out.push((chars[start], true));
                out.extend(std::iter::repeat_n(('*', false), run - 1));
            } else {
                out.extend(std::iter::repeat_n(('*', false), run));
            }
        } else {
            out.push((chars[i], false));
            i += 1;
        }
    }
}

/// Makes an error message from a decoder or query engine safe to print: the values it quotes
/// are masked. Arrow, DataFusion and the CSV and JSON readers quote the offending value
/// (`Cannot cast string 'jane@example.com' to ...`, `failed to parse "x" as Int64`,
/// `expected { got [...]`); identifiers they quote after `field`, `column`, `named`, `table`,
/// `type` or `function` stay readable. Every error that can carry data passes through here at
/// the library boundary ([`crate::scan::ScanError::Read`], [`crate::lineage::LineageError::Sql`],
/// the panic boundary).
pub fn sanitise(message: &str) -> String {
    const NAMES: [&str; 6] = ["field", "column", "named", "table", "type", "function"];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        // `got VALUE`: the JSON reader's tape errors print the value to the end of the line.
        let quote = rest.find(['\'', '"']);
        let got = rest.find(" got ");
        match (quote, got) {
            (_, Some(g)) if quote.is_none_or(|q| g < q) => {
                let from = g + " got ".len();
                out.push_str(&rest[..from]);
                let end = rest[from..].find('\n').map_or(rest.len(), |e| from + e);
                out.push_str(&mask(&rest[from..end]));
                rest = &rest[end..];
            }
            (Some(q), _) => {
                let open = rest.as_bytes()[q] as char;
                out.push_str(&rest[..=q]);
                let after = &rest[q + 1..];
                let Some(len) = after.find(open) else {
                    // An unmatched quote (`a missing " swallows ...`) quotes nothing.
                    out.push_str(after);
                    break;
                };
                let inner = &after[..len];
                let before = out[..out.len() - 1].trim_end();
                let word = before
                    .rsplit(|c: char| !c.is_alphanumeric())
                    .next()
                    .unwrap_or("");
                if NAMES.iter().any(|n| word.eq_ignore_ascii_case(n)) {
                    out.push_str(inner);
                } else {
                    out.push_str(&mask(inner));
                }
                out.push(open);
                rest = &after[len + 1..];
            }
            _ => {
                out.push_str(rest);
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_keeps_initials_and_a_short_tld() {
        assert_eq!(mask("jane.doe@example.com"), "j***.***@e******.c**");
        assert_eq!(mask("jane.doe@example.de"), "j***.***@e******.de");
    }

    #[test]
    fn digits_keep_the_first_of_long_runs() {
        assert_eq!(mask("DE89 3704 0044"), "D*** 3*** 0***");
        assert_eq!(mask("12-34"), "**-**");
    }

    /// The leak the hardening issue found: an `@` in free text showed everything after the
    /// last dot, and values with spaces kept about half their characters.
    #[test]
    fn free_text_with_an_at_sign_shows_at_most_a_quarter() {
        let v = "a@e.x tel +49 170 5550000 IBAN DE89370400440532013000 Jane Doe";
        let m = mask(v);
        assert!(
            !m.contains("5550000") && !m.contains("IBAN") && !m.contains("Jane"),
            "{m}"
        );
        assert!(
            shown(&m) * 4 <= v.chars().filter(|c| c.is_alphanumeric()).count(),
            "{m}"
        );
    }

    fn shown(masked: &str) -> usize {
        masked.chars().filter(|c| c.is_alphanumeric()).count()
    }

    /// Every word of more than two characters of `value` that shows whole in `masked`.
    fn whole_words<'a>(value: &'a str, masked: &str) -> Vec<&'a str> {
        value
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() > 2)
            .filter(|w| masked.contains(w))
            .collect()
    }

    #[test]
    fn every_builtin_example_is_masked_to_a_quarter_and_no_whole_word() {
        let rules = crate::rules::builtin().expect("the built-in pack loads");
        let mut checked = 0;
        for rule in &rules.rules {
            for v in rule.accepts.iter().chain(&rule.rejects) {
                let m = mask(v);
                let alnum = v.chars().filter(|c| c.is_alphanumeric()).count();
                assert!(shown(&m) * 4 <= alnum, "{}: {v:?} masked as {m:?}", rule.id);
                assert!(
                    whole_words(v, &m).is_empty(),
                    "{}: {v:?} masked as {m:?}",
                    rule.id
                );
                assert_eq!(m.chars().count(), v.chars().count(), "{m}");
                checked += 1;
            }
        }
        assert!(checked > 200, "only {checked} examples");
    }

    #[test]
    fn decoder_errors_keep_identifiers_and_mask_values() {
        let s = sanitise(
            "Json error: whilst decoding field 'email': failed to parse \"jane.doe@example.com\" as Int64",
        );
        assert_eq!(
            s,
            "Json error: whilst decoding field 'email': failed to parse \"j***.***@e******.c**\" as Int64"
        );
        let s = sanitise("Cannot cast string 'Marta Kowalska' to value of Int64 type");
        assert!(!s.contains("Marta") && !s.contains("Kowalska"), "{s}");
        let s = sanitise("expected { got [\"Marta Kowalska\", 4917055500001]");
        assert!(!s.contains("Marta") && !s.contains("4917055500001"), "{s}");
        let s = sanitise("Schema error: No field named 'emial'. line 3: a missing \" swallows");
        assert_eq!(
            s,
            "Schema error: No field named 'emial'. line 3: a missing \" swallows"
        );
    }

    #[test]
    fn debug_never_shows_the_raw_value() {
        let s = Sensitive::new("alice@example.org".to_string());
        let printed = format!("{s:?} {s}");
        assert!(!printed.contains("alice"));
        assert!(!printed.contains("example"));
    }
}
