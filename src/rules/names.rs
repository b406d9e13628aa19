//! Column-name normalisation: one spelling for `EMailAdresse`, `e-mail_address`, `eMail Addr`.
//!
//! Steps: fold accents (`é` → `e`, `ß` → `ss`, `ł` → `l`), split camel and Pascal case and
//! letter/digit boundaries, turn every other separator into a space, lowercase, and expand the
//! abbreviations of `rules/abbreviations.toml` token by token (`dob` → `date of birth`).
//! Rules match their `names` patterns against the result.

use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// Abbreviation table: token → expansion (both already normalised).
#[derive(Debug, Clone, Default)]
pub struct Abbreviations(HashMap<String, String>);

impl Abbreviations {
    pub fn new(map: HashMap<String, String>) -> Self {
        Abbreviations(map)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Folds accents and special letters to ASCII, keeping other characters as they are.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfd() {
        match c {
            '\u{300}'..='\u{36f}' => {}
            'ß' => out.push_str("ss"),
            'ł' => out.push('l'),
            'Ł' => out.push('L'),
            'ø' => out.push('o'),
            'Ø' => out.push('O'),
            'æ' => out.push_str("ae"),
            'Æ' => out.push_str("AE"),
            'œ' => out.push_str("oe"),
            'Œ' => out.push_str("OE"),
            'đ' => out.push('d'),
            _ => out.push(c),
        }
    }
    out
}

/// Splits a column name into lowercase ASCII tokens, before abbreviation expansion.
pub fn tokens(name: &str) -> Vec<String> {
    let folded = fold(name);
    let chars: Vec<char> = folded.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        // Case is read from the original characters: `cur` is already lowercase.
        if !cur.is_empty() {
            let prev = chars[i - 1];
            let next = chars.get(i + 1).copied();
            let boundary = (prev.is_lowercase() && c.is_uppercase())
                // "IBANNumber", "EMailAdresse": the last capital of a run starts a new word
                || (prev.is_uppercase() && c.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
                || (prev.is_alphabetic() && c.is_ascii_digit())
                || (prev.is_ascii_digit() && c.is_alphabetic());
            if boundary {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The normalised form that rules match: tokens, abbreviations expanded, joined by one space.
pub fn normalise(name: &str, abbreviations: &Abbreviations) -> String {
    let mut words: Vec<&str> = Vec::new();
    let toks = tokens(name);
    for t in &toks {
        match abbreviations.0.get(t.as_str()) {
            Some(expansion) => words.push(expansion),
            None => words.push(t),
        }
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abbr() -> Abbreviations {
        let mut m = HashMap::new();
        m.insert("dob".into(), "date of birth".into());
        m.insert("tel".into(), "telephone".into());
        m.insert("nr".into(), "number".into());
        m.insert("fname".into(), "first name".into());
        Abbreviations::new(m)
    }

    #[test]
    fn camel_pascal_snake_and_kebab_agree() {
        let a = abbr();
        assert_eq!(normalise("EMailAdresse", &a), "e mail adresse");
        assert_eq!(normalise("e-mail_adresse", &a), "e mail adresse");
        assert_eq!(normalise("emailAddress", &a), "email address");
        assert_eq!(normalise("IBANNumber", &a), "iban number");
        assert_eq!(normalise("Customer ID", &a), "customer id");
    }

    #[test]
    fn accents_are_folded() {
        let a = abbr();
        assert_eq!(normalise("Numéro_Téléphone", &a), "numero telephone");
        assert_eq!(normalise("Straße", &a), "strasse");
        assert_eq!(normalise("nazwisko_ł", &a), "nazwisko l");
    }

    #[test]
    fn abbreviations_expand_per_token() {
        let a = abbr();
        assert_eq!(normalise("cust_dob", &a), "cust date of birth");
        assert_eq!(normalise("nr_pesel", &a), "number pesel");
        assert_eq!(normalise("fname", &a), "first name");
        assert_eq!(normalise("tel2", &a), "telephone 2");
    }
}
