//! RFC 8785 JSON Canonicalization Scheme (JCS), so that any implementation can recompute a
//! ledger record's hash: object keys sorted by their UTF-16 code units, no whitespace, strings
//! with the minimal JSON escaping (as serde_json writes them), numbers as ECMAScript prints
//! them (integers as integers, floats by the shortest round-trip form: `ryu-js`).

use serde_json::Value;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
