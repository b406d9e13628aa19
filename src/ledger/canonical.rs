//! RFC 8785 JSON Canonicalization Scheme (JCS), so that any implementation can recompute a
//! ledger record's hash: object keys sorted by their UTF-16 code units, no whitespace, strings
//! with the minimal JSON escaping (as serde_json writes them), numbers as ECMAScript prints
//! them (integers as integers, floats by the shortest round-trip form: `ryu-js`).

use serde_json::Value;
use sha2::{Digest, Sha256};

/// sha256 over the canonical JSON of a record without its `hash` field.
pub fn record_hash(record: &Value) -> String {
    hash_of(&to_vec_without(record, "hash"))
}

/// Whether `stated` is `sha256:` and the lowercase hex of `digest` (without writing it out).
/// Each byte of the digest is compared with its two hex digits as they stand: no decoding.
pub(super) fn is_hash_of(stated: &str, digest: &[u8]) -> bool {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    stated.strip_prefix("sha256:").is_some_and(|hex| {
        let hex = hex.as_bytes();
        hex.len() == 2 * digest.len()
            && digest.iter().zip(hex.chunks_exact(2)).all(|(&b, pair)| {
                pair[0] == HEX[usize::from(b >> 4)] && pair[1] == HEX[usize::from(b & 15)]
            })
    })
}

/// `sha256:` and the hex digest of canonical bytes.
pub(super) fn hash_of(canonical: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(canonical)))
}

/// The canonical bytes of a JSON value.
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write(value, &mut out, None);
    out
}

/// The canonical bytes of a JSON object without one of its top-level keys (a record without
/// its `hash`), without copying the object.
pub fn to_vec_without(value: &Value, skip: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    write(value, &mut out, Some(skip));
    out
}

fn write(value: &Value, out: &mut Vec<u8>, skip: Option<&str>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                let f = n.as_f64().expect("a JSON number is i64, u64 or f64");
                out.extend_from_slice(ryu_js::Buffer::new().format(f).as_bytes());
            }
        }
        Value::String(s) => out.extend_from_slice(
            serde_json::to_string(s)
                .expect("a string always serialises")
                .as_bytes(),
        ),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out, None);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().filter(|k| Some(k.as_str()) != skip).collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(
                    serde_json::to_string(k)
                        .expect("a string always serialises")
                        .as_bytes(),
                );
                out.push(b':');
                write(&map[k], out, None);
            }
            out.push(b'}');
        }
    }
}

/// Makes the canonical bytes of ledger lines straight from their bytes (no [`Value`] is
/// built), reusing its buffers from line to line.
#[derive(Default)]
pub struct Lines {
    out: Vec<u8>,
    /// The members of the objects being read, innermost last.
    members: Vec<Member>,
    /// Scratch for reordering an object's members.
    moved: Vec<u8>,
}

impl Lines {
    /// The canonical bytes of the JSON object `line` without its top-level key `skip`: equal
    /// to [`to_vec_without`] of the parsed line whenever it answers. `None` for what it leaves
    /// to that slower path: a line that is not one JSON object, keys that are not plain ASCII
    /// or repeat, `\u` and `\/` escapes, `-0`, numbers outside `u64`/`i64`, exponents, and
    /// fractions of more than 15 significant digits or below 10⁻⁶ (there the text a parser
    /// reads and ECMAScript's shortest form may differ).
    pub fn without(&mut self, line: &[u8], skip: &str) -> Option<&[u8]> {
        self.object_of(line, Some(skip.as_bytes()))
    }

    /// The canonical bytes of the JSON object `text`, as [`Lines::without`] reads them.
    pub fn of(&mut self, text: &[u8]) -> Option<&[u8]> {
        self.object_of(text, None)
    }

    fn object_of(&mut self, line: &[u8], skip: Option<&[u8]>) -> Option<&[u8]> {
        self.out.clear();
        self.members.clear();
        let mut t = Transcoder {
            bytes: line,
            at: 0,
            out: &mut self.out,
            members: &mut self.members,
            moved: &mut self.moved,
        };
        t.space();
        if t.peek()? != b'{' {
            return None;
        }
        t.object(0, skip)?;
        t.space();
        (t.at == line.len()).then_some(&self.out[..])
    }
}

/// [`Lines::without`] of one line.
#[cfg(test)]
fn line_without(line: &[u8], skip: &str) -> Option<Vec<u8>> {
    Lines::default().without(line, skip).map(<[u8]>::to_vec)
}

/// Deeper than this, [`Lines::without`] leaves the line to `serde_json` (whose own limit is 128).
const DEPTH: usize = 64;

struct Transcoder<'a> {
    bytes: &'a [u8],
    at: usize,
    out: &'a mut Vec<u8>,
    members: &'a mut Vec<Member>,
    moved: &'a mut Vec<u8>,
}

/// An object's member: its key's place in the line and its place (`"key":value`) in `out`.
#[derive(Clone, Copy)]
struct Member {
    key: (usize, usize),
    out: (usize, usize),
    skipped: bool,
}

impl Transcoder<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.space();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        self.space();
        match self.peek()? {
            b'{' => self.object(depth + 1, None),
            b'[' => self.array(depth + 1),
            b'"' => {
                let (start, end) = self.string(false)?;
                self.out.extend_from_slice(&self.bytes[start - 1..end + 1]);
                Some(())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.bytes[self.at..].starts_with(word).then_some(())?;
        self.at += word.len();
        self.out.extend_from_slice(word);
        Some(())
    }

    /// A string at `at` whose text needs no change: its content's place (between the quotes).
    /// Keys must be plain ASCII without escapes (their order is then their bytes').
    fn string(&mut self, key: bool) -> Option<(usize, usize)> {
        self.at += 1; // the opening quote
        let start = self.at;
        loop {
            let b = *self.bytes.get(self.at)?;
            match b {
                b'"' => {
                    let end = self.at;
                    self.at += 1;
                    return Some((start, end));
                }
                0..0x20 => return None,
                b'\\' if key => return None,
                b'\\' => {
                    // Escapes serde_json writes back as they are; `\u` and `\/` it rewrites.
                    match self.bytes.get(self.at + 1)? {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 2,
                        _ => return None,
                    }
                }
                0x80.. if key => return None,
                _ => self.at += 1,
            }
        }
    }

    fn number(&mut self) -> Option<()> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        self.at += negative as usize;
        let digits = |t: &mut Self| {
            let from = t.at;
            while t.peek().is_some_and(|b| b.is_ascii_digit()) {
                t.at += 1;
            }
            t.at - from
        };
        let whole = digits(self);
        if whole == 0 || (whole > 1 && self.bytes[self.at - whole] == b'0') {
            return None;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            return None;
        }
        if self.peek() != Some(b'.') {
            let text = std::str::from_utf8(&self.bytes[start..self.at]).ok()?;
            let fits = if negative {
                text.parse::<i64>().is_ok_and(|i| i != 0)
            } else {
                text.parse::<u64>().is_ok()
            };
            fits.then(|| self.out.extend_from_slice(text.as_bytes()))?;
            return Some(());
        }
        self.at += 1;
        let fraction = digits(self);
        if fraction == 0 || matches!(self.peek(), Some(b'e' | b'E')) {
            return None;
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).ok()?;
        // Significant digits: without the sign, the point and leading zeros.
        let significant = text
            .bytes()
            .filter(u8::is_ascii_digit)
            .skip_while(|&b| b == b'0')
            .count();
        let f: f64 = text.parse().ok()?;
        if significant == 0 || significant > 15 || f.abs() < 1e-6 {
            return None;
        }
        self.out
            .extend_from_slice(ryu_js::Buffer::new().format(f).as_bytes());
        Some(())
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if depth > DEPTH {
            return None;
        }
        self.at += 1;
        self.out.push(b'[');
        self.space();
        if self.peek()? == b']' {
            self.at += 1;
            self.out.push(b']');
            return Some(());
        }
        loop {
            self.value(depth)?;
            self.space();
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.out.push(b',');
                }
                b']' => {
                    self.at += 1;
                    self.out.push(b']');
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An object: its members written as read, then put in key order (and `skip` left out).
    fn object(&mut self, depth: usize, skip: Option<&[u8]>) -> Option<()> {
        if depth > DEPTH {
            return None;
        }
        self.at += 1;
        let first = self.members.len();
        let start = self.out.len();
        self.space();
        if self.peek()? == b'}' {
            self.at += 1;
        } else {
            loop {
                self.space();
                if self.peek()? != b'"' {
                    return None;
                }
                let key = self.string(true)?;
                self.eat(b':')?;
                let from = self.out.len();
                self.out
                    .extend_from_slice(&self.bytes[key.0 - 1..key.1 + 1]);
                self.out.push(b':');
                self.value(depth)?;
                self.members.push(Member {
                    key,
                    out: (from, self.out.len()),
                    skipped: skip == Some(&self.bytes[key.0..key.1]),
                });
                self.space();
                match self.peek()? {
                    b',' => self.at += 1,
                    b'}' => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let bytes = self.bytes;
        let key = |m: &Member| &bytes[m.key.0..m.key.1];
        let members = &mut self.members[first..];
        members.sort_unstable_by(|a, b| key(a).cmp(key(b)));
        if members.windows(2).any(|w| key(&w[0]) == key(&w[1])) {
            return None;
        }
        self.moved.clear();
        self.moved.extend_from_slice(&self.out[start..]);
        self.out.truncate(start);
        self.out.push(b'{');
        for (written, m) in members.iter().filter(|m| !m.skipped).enumerate() {
            if written > 0 {
                self.out.push(b',');
            }
            self.out
                .extend_from_slice(&self.moved[m.out.0 - start..m.out.1 - start]);
        }
        self.out.push(b'}');
        self.members.truncate(first);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stated hash is the digest's lowercase hex after `sha256:`, and nothing else.
    #[test]
    fn a_stated_hash_is_the_lowercase_hex_of_the_digest() {
        let digest = Sha256::digest(b"a record");
        let stated = hash_of(b"a record");
        assert!(is_hash_of(&stated, &digest));
        assert!(!is_hash_of(
            &stated.to_uppercase().replace("SHA256", "sha256"),
            &digest
        ));
        assert!(!is_hash_of(&stated[..stated.len() - 1], &digest));
        assert!(!is_hash_of(&format!("{stated}0"), &digest));
        assert!(!is_hash_of(&stated.replace("sha256:", "sha512:"), &digest));
        for at in "sha256:".len()..stated.len() {
            let mut other = stated.clone().into_bytes();
            other[at] = if other[at] == b'0' { b'1' } else { b'0' };
            assert!(
                !is_hash_of(std::str::from_utf8(&other).unwrap(), &digest),
                "{at}"
            );
        }
    }

    fn canon(text: &str) -> String {
        String::from_utf8(to_vec(&serde_json::from_str(text).unwrap())).unwrap()
    }

    #[test]
    fn keys_sorted_whitespace_removed() {
        assert_eq!(
            canon(r#"{ "b": 1, "a": [true, null, "x"] }"#),
            r#"{"a":[true,null,"x"],"b":1}"#
        );
    }

    #[test]
    fn rfc8785_number_examples() {
        // RFC 8785 §3.2.2.3 and appendix B.
        assert_eq!(
            canon("[1.0, 1e21, 1e-7, 0.988, -0.0, 1E30, 4.50, 2e-3, 0.000001]"),
            "[1,1e+21,1e-7,0.988,0,1e+30,4.5,0.002,0.000001]"
        );
        // Built from the f64 itself: serde_json's default parser (without `float_roundtrip`)
        // may land one ulp away on 17-digit literals. Ledger floats are confidences with three
        // decimals, which it parses exactly.
        #[allow(clippy::excessive_precision)] // the RFC 8785 test vector, digit for digit
        let v = serde_json::Value::from(333333333.33333329_f64);
        assert_eq!(String::from_utf8(to_vec(&v)).unwrap(), "333333333.3333333");
    }

    #[test]
    fn rfc8785_string_and_key_order_example() {
        // Keys sort by UTF-16 code units: "\u{20ac}" (U+20AC) before "\u{1f600}" (surrogates D83D..).
        let text = "{\"\\u20ac\": 1, \"\\ud83d\\ude00\": 2, \"\\r\": 3, \"1\": 4, \"\\u0080\": 5}";
        assert_eq!(
            canon(text),
            "{\"\\r\":3,\"1\":4,\"\u{80}\":5,\"\u{20ac}\":1,\"\u{1f600}\":2}"
        );
        assert_eq!(canon(r#""a\u000fb\"\\/""#), r#""a\u000fb\"\\/""#);
    }

    /// What the slow path makes of `line` (parsed, then written canonically without `hash`).
    fn slow(line: &str) -> Option<Vec<u8>> {
        let value: Value = serde_json::from_str(line).ok()?;
        value.is_object().then(|| to_vec_without(&value, "hash"))
    }

    /// Whenever the byte path answers, it answers as the parsed value does; and it answers for
    /// the lines the ledger writes.
    #[test]
    fn the_byte_path_answers_as_the_parsed_value() {
        let answered = [
            r#"{"seq":1,"time":"t","kind":"scan","scan":{"b":0.95,"a":[1,-2,0.5,1.0,12.250]},"prev":"p","hash":"h"}"#,
            r#" { "b" : "x\"y\\z\n\t\r\b\f" , "a" : { "d" : [ ] , "c" : { } } , "hash" : 3 } "#,
            r#"{"value":"ünïcode ✓","n":null,"t":true,"f":false,"big":18446744073709551615,"neg":-9223372036854775808}"#,
            r#"{"z":0.000001,"y":123456789012.345,"x":-0.25,"w":100,"v":0}"#,
        ];
        for line in answered {
            let fast = line_without(line.as_bytes(), "hash");
            assert!(fast.is_some(), "left to the slow path: {line}");
            assert_eq!(fast, slow(line), "{line}");
        }
        // Left to the slow path (or refused by both): never a different answer.
        let others = [
            r#"{"a":1,"a":2}"#,
            r#"{"\u0061":1}"#,
            r#"{"a":"\/"}"#,
            r#"{"a":"\u00e9"}"#,
            r#"{"a":-0}"#,
            r#"{"a":1e3}"#,
            r#"{"a":0.0000001}"#,
            r#"{"a":0.30000000000000004}"#,
            r#"{"a":18446744073709551616}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":tru}"#,
            r#"{"a":1,}"#,
            r#"{"a":1} x"#,
            r#"[1,2]"#,
            r#"{"a":"raw	tab"}"#,
            r#"{"é":1,"e":2}"#,
            "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        ];
        for line in others {
            if let Some(fast) = line_without(line.as_bytes(), "hash") {
                assert_eq!(Some(fast), slow(line), "{line}");
            }
        }
    }

    /// Generated objects (nested, shuffled keys, escapes, numbers of every kind) written with
    /// spaces: the byte path agrees with the parsed value on every one it answers, and answers
    /// most.
    #[test]
    fn the_byte_path_agrees_on_generated_objects() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        fn value(next: &mut dyn FnMut(u64) -> u64, depth: u32, out: &mut String) {
            const ATOMS: [&str; 14] = [
                "0",
                "7",
                "-3",
                "0.5",
                "12.250",
                "-0.001",
                "1e2",
                "null",
                "true",
                "false",
                r#""a\"b""#,
                r#""tab\there""#,
                r#""ünï""#,
                r#""\u00e9""#,
            ];
            match if depth > 3 { 0 } else { next(3) } {
                0 => out.push_str(ATOMS[next(ATOMS.len() as u64) as usize]),
                1 => {
                    out.push_str("[ ");
                    for i in 0..next(4) {
                        if i > 0 {
                            out.push_str(" , ");
                        }
                        value(next, depth + 1, out);
                    }
                    out.push(']');
                }
                _ => {
                    out.push('{');
                    let mut keys: Vec<u64> = (0..next(6)).map(|_| next(9)).collect();
                    keys.dedup();
                    for (i, k) in keys.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(&format!(" \"k{k}\" : "));
                        value(next, depth + 1, out);
                    }
                    out.push('}');
                }
            }
        }
        let mut answered = 0;
        for _ in 0..5000 {
            let mut line = String::from("{\"hash\":\"h\",\"body\":");
            value(&mut next, 0, &mut line);
            line.push('}');
            if let Some(fast) = line_without(line.as_bytes(), "hash") {
                answered += 1;
                assert_eq!(Some(fast), slow(&line), "{line}");
            }
            // The whole object, in pretty text as a report is written: as its parsed value.
            let value: Value = serde_json::from_str(&line).unwrap();
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            if let Some(whole) = Lines::default().of(pretty.as_bytes()) {
                assert_eq!(whole, to_vec(&value), "{pretty}");
            }
        }
        assert!(answered > 2500, "only {answered} of 5000 answered");
    }
}
