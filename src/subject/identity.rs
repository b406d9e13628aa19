//! A data subject's identity: `--id CATEGORY=VALUE` (a category, a rule id or a short name
//! such as `email`, `phone`, `iban`) or `--id PATH:COLUMN=VALUE`, with values normalised per
//! category so that `Alice@Example.com ` finds `alice@example.com`.

use sha2::{Digest, Sha256};

use crate::ledger::ColumnRef;
use crate::rules::RuleSet;
use crate::sensitive::Sensitive;

/// How the values of a category are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normaliser {
    /// Trimmed and lower-cased (e-mail addresses, names, usernames).
    Folded,
    /// Digits, with `+` for an international number (`00` is `+`); a national number
    /// (leading `0`) matches an international one that ends with the same digits.
    Phone,
    /// Separators (space, `-`, `.`, `/`) dropped and upper-cased (IBANs, national ids).
    Compact,
    /// Trimmed only (customer numbers and other keys, compared exactly).
    Trimmed,
}

impl Normaliser {
    pub fn of(category: &str) -> Normaliser {
        if category.starts_with("user.contact.email")
            || category.starts_with("user.name")
            || category.starts_with("user.account.username")
        {
            Normaliser::Folded
        } else if category.starts_with("user.contact.phone_number") {
            Normaliser::Phone
        } else if category.starts_with("user.government_id")
            || category.starts_with("user.financial")
            || category.starts_with("user.device")
        {
            Normaliser::Compact
        } else {
            Normaliser::Trimmed
        }
    }

    pub fn apply(self, value: &str) -> String {
        let v = value.trim();
        match self {
            Normaliser::Folded => v
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase(),
            Normaliser::Phone => {
                let international = v.starts_with('+') || v.starts_with("00");
                let digits: String = v.chars().filter(char::is_ascii_digit).collect();
                match (international, v.starts_with("00")) {
                    (true, true) => format!("+{}", &digits[2..]),
                    (true, false) => format!("+{digits}"),
                    _ => digits,
                }
            }
            Normaliser::Compact => v
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '.' | '/'))
                .collect::<String>()
                .to_uppercase(),
            Normaliser::Trimmed => v.to_string(),
        }
    }

    /// Whether a stored value (trimmed) is the identifier `want` (normalised), without
    /// allocating for the common cases: plain ASCII folded values and exact keys.
    pub fn matches(self, cell: &str, want: &str) -> bool {
        match self {
            Normaliser::Trimmed => cell == want,
            Normaliser::Folded
                if cell.is_ascii()
                    && !cell.contains(|c: char| c.is_ascii_whitespace() && c != ' ')
                    && !cell.contains("  ") =>
            {
                cell.eq_ignore_ascii_case(want)
            }
            _ => self.same(&self.apply(cell), want),
        }
    }

    /// Whether two normalised values are the same identifier.
    pub fn same(self, a: &str, b: &str) -> bool {
        if a == b {
            return true;
        }
        if self != Normaliser::Phone {
            return false;
        }
        // +49301234567 and 0301234567: the national number without its trunk 0 ends the
        // international one (7 digits at least, so short numbers never match by chance).
        let (intl, national) = match (a.strip_prefix('+'), b.strip_prefix('+')) {
            (Some(i), None) => (i, b),
            (None, Some(i)) => (i, a),
            _ => return false,
        };
        let national = national.trim_start_matches('0');
        national.len() >= 7 && intl.len() > national.len() && intl.ends_with(national)
    }
}

/// One identifier of the subject.
#[derive(Debug, Clone)]
pub struct Identity {
    pub category: String,
    /// The normalised value (never printed: only its hash).
    pub value: Sensitive<String>,
    /// For `PATH:COLUMN=VALUE`, and for identifiers found in the subject's rows: the column it
    /// is (or was found) in.
    pub column: Option<ColumnRef>,
    pub normaliser: Normaliser,
}

impl Identity {
    /// `sha256:` of the normalised value, for reports.
    pub fn value_hash(&self) -> String {
        format!(
            "sha256:{}",
            hex::encode(Sha256::digest(self.value.expose().as_bytes()))
        )
    }

    /// The digests a pseudonymising step may have stored for this value: sha256 and md5, of
    /// the normalised value and of the value as written, in lower-case hex.
    pub fn digests(&self, raw: &str) -> Vec<String> {
        let mut out = Vec::new();
        for v in [self.value.expose().as_str(), raw.trim()] {
            out.push(hex::encode(Sha256::digest(v.as_bytes())));
            out.push(md5_hex(v.as_bytes()));
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Parses `--id` specs. A spec names a category (or rule id or short name) or `PATH:COLUMN`.
pub fn parse(spec: &str, rules: &RuleSet) -> Result<(Identity, String), String> {
    let (key, value) = spec.split_once('=').ok_or_else(|| {
        format!(
            "--id '{}': expected CATEGORY=VALUE or PATH:COLUMN=VALUE",
            crate::sensitive::mask(spec)
        )
    })?;
    if value.trim().is_empty() {
        return Err(format!("--id {key}=: the value is empty"));
    }
    if let Some(category) = rules.category_named(key) {
        let normaliser = Normaliser::of(&category);
        return Ok((
            Identity {
                value: Sensitive::new(normaliser.apply(value)),
                category,
                column: None,
                normaliser,
            },
            value.to_string(),
        ));
    }
    if let Some((path, column)) = key.rsplit_once(':')
        && !path.is_empty()
        && !column.is_empty()
    {
        return Ok((
            Identity {
                category: String::new(),
                value: Sensitive::new(value.trim().to_string()),
                column: Some(ColumnRef {
                    path: path.trim_start_matches("./").to_string(),
                    column: column.to_string(),
                }),
                normaliser: Normaliser::Trimmed,
            },
            value.to_string(),
        ));
    }
    Err(format!(
        "--id {key}=...: '{key}' is neither a category, a rule id nor PATH:COLUMN (`piitrail rules list` shows the categories)"
    ))
}

/// MD5 as lower-case hex, to recognise columns that DataFusion's `md5()` pseudonymised.
fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_normalised_per_category() {
        let n = Normaliser::of("user.contact.email");
        assert_eq!(n.apply("  Alice@Example.COM "), "alice@example.com");
        let p = Normaliser::of("user.contact.phone_number");
        assert_eq!(p.apply("+49 (30) 123-4567"), "+49301234567");
        assert_eq!(p.apply("0049 30 1234567"), "+49301234567");
        assert!(p.same(&p.apply("030 1234567"), &p.apply("+49 30 1234567")));
        assert!(!p.same(&p.apply("1234"), &p.apply("+49 1234")));
        let i = Normaliser::of("user.financial.bank_account");
        assert_eq!(
            i.apply("de89 3704 0044 0532 0130 00"),
            "DE89370400440532013000"
        );
        let g = Normaliser::of("user.government_id.national_identification_number");
        assert_eq!(g.apply("123.456.789-0"), "1234567890");
        assert_eq!(Normaliser::of("user.unique_id").apply(" C001 "), "C001");
        // The allocation-free path agrees with the full one.
        for cell in [
            "Ann.Lee@Example.com",
            "ann  lee",
            "ANN\tLEE",
            "Åsa@example.se",
            "x",
        ] {
            for want in ["ann.lee@example.com", "ann lee", "åsa@example.se"] {
                assert_eq!(
                    n.matches(cell, want),
                    n.same(&n.apply(cell), want),
                    "{cell} {want}"
                );
            }
        }
    }

    #[test]
    fn md5_matches_the_rfc_examples() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            md5_hex(b"The quick brown fox jumps over the lazy dog"),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
    }

    #[test]
    fn ids_name_categories_rules_or_columns() {
        let rules = crate::rules::builtin().unwrap();
        let (id, _) = parse("email=Ann@Example.com", &rules).unwrap();
        assert_eq!(id.category, "user.contact.email");
        assert_eq!(id.value.expose(), "ann@example.com");
        let (id, _) = parse("data/customers.csv:customer_id=C001", &rules).unwrap();
        assert_eq!(id.column.unwrap().column, "customer_id");
        assert!(parse("nonsense=1", &rules).unwrap_err().contains("neither"));
        assert!(parse("email=", &rules).unwrap_err().contains("empty"));
        assert!(parse("novalue", &rules).is_err());
    }
}
