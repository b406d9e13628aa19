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
/// Emails keep the first character of the local part and of the domain, and the top-level
/// domain: `jane.doe@example.com` → `j***@e***.com`. Everything else keeps separators and at most
/// the first and last character of each run of letters or digits, and only for runs of four or
/// more: `DE89 3704 0044` → `D*** 3**4 0**4`.
pub fn mask(value: &str) -> String {
    if let Some((local, domain)) = value.split_once('@') {
        let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
        let tld = domain.rsplit_once('.').map(|(_, t)| t).unwrap_or("");
        return format!("{}***@{}***.{}", first(local), first(domain), tld);
    }
    let mut out = String::with_capacity(value.len());
    let chars: Vec<char> = value.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphanumeric() {
            let start = i;
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
            let run = &chars[start..i];
            if run.len() >= 4 {
                out.push(run[0]);
                out.extend(std::iter::repeat_n('*', run.len() - 2));
                out.push(run[run.len() - 1]);
            } else {
                out.extend(std::iter::repeat_n('*', run.len()));
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_keeps_initials_and_tld() {
        assert_eq!(mask("jane.doe@example.com"), "j***@e***.com");
    }

    #[test]
    fn digits_keep_first_and_last_of_long_runs() {
        assert_eq!(mask("DE89 3704 0044"), "D**9 3**4 0**4");
        assert_eq!(mask("12-34"), "**-**");
    }

    #[test]
    fn debug_never_shows_the_raw_value() {
        let s = Sensitive::new("alice@example.org".to_string());
        let printed = format!("{s:?} {s}");
        assert!(!printed.contains("alice"));
        assert!(!printed.contains("example"));
    }
}
