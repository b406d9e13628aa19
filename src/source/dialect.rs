//! CSV dialect detection: byte-order mark, delimiter and header, from the first bytes of a file.
//!
//! European exports often use `;` (because `,` is the decimal separator), spreadsheets export
//! tab-separated files, and some systems use `|`. The delimiter is the candidate that splits the
//! sampled lines (outside quotes) into the same number of fields most consistently.

/// What the sniffer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    pub delimiter: u8,
    /// Length of the UTF-8 byte-order mark at the start of the file (0 or 3).
    pub bom: usize,
    pub quote: u8,
}

const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Counts fields per record in `sample` for one delimiter, honouring quotes (a quoted field
/// may hold delimiters and newlines). The last record may be cut off, so it is not counted.
fn field_counts(sample: &[u8], delimiter: u8) -> Vec<usize> {
    let mut counts = Vec::new();
    let mut in_quotes = false;
    let mut fields = 1;
    let mut i = 0;
    while i < sample.len() {
        let b = sample[i];
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            if b == delimiter {
                fields += 1;
            } else if b == b'\n' {
                counts.push(fields);
                fields = 1;
            }
        }
        i += 1;
        if counts.len() >= 200 {
            break;
        }
    }
    counts
}

/// Detects the dialect from the start of a file. `extension_hint` is `b'\t'` for `.tsv`.
pub fn sniff(head: &[u8], extension_hint: Option<u8>) -> Dialect {
    let bom = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    let body = &head[bom..];
    let mut best = (extension_hint.unwrap_or(b','), 0.0f64);
    for &d in &CANDIDATES {
        let counts = field_counts(body, d);
        let Some(&first) = counts.first() else {
            continue;
        };
        if first < 2 {
            continue;
        }
        let same = counts.iter().filter(|&&c| c == first).count() as f64 / counts.len() as f64;
        // Consistency first, then more columns; the extension's delimiter wins ties.
        let score = same * 1000.0
            + first.min(999) as f64
            + if Some(d) == extension_hint { 0.5 } else { 0.0 };
        if score > best.1 {
            best = (d, score);
        }
    }
    Dialect {
        delimiter: best.0,
        bom,
        quote: b'"',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolon_with_decimal_commas() {
        let d = sniff(b"name;amount;city\nA;12,50;Berlin\nB;3,75;Paris\n", None);
        assert_eq!(d.delimiter, b';');
    }

    #[test]
    fn tab_pipe_and_comma() {
        assert_eq!(sniff(b"a\tb\tc\n1\t2\t3\n", None).delimiter, b'\t');
        assert_eq!(sniff(b"a|b|c\n1|2|3\n", None).delimiter, b'|');
        assert_eq!(sniff(b"a,b,c\n1,2,3\n", None).delimiter, b',');
    }

    #[test]
    fn quoted_delimiters_and_newlines_do_not_confuse() {
        let d = sniff(b"id,note\n1,\"a; b; c\nstill; note\"\n2,\"x;y\"\n", None);
        assert_eq!(d.delimiter, b',');
    }

    #[test]
    fn byte_order_mark_is_measured() {
        let d = sniff(b"\xEF\xBB\xBFa;b\n1;2\n", None);
        assert_eq!((d.bom, d.delimiter), (3, b';'));
    }
}
