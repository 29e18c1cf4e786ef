//! The canonical JSON text that hashes are taken of: object keys sorted (recursively), no
//! whitespace, numbers as `serde_json` prints them (shortest round-trip form). The same value
//! always gives the same bytes, whatever the key order or spacing it arrived with.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The canonical text of `value`.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Lowercase hex SHA-256 of the canonical text of `value`.
pub fn hash(value: &Value) -> String {
    sha256_hex(to_string(value).as_bytes())
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_and_spacing_do_not_change_the_text() {
        let a: Value =
            serde_json::from_str(r#"{"b": [1, 2.5, {"z": 1, "a": null}], "a": "x"}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":"x","b":[1,2.5,{"a":null,"z":1}]}"#).unwrap();
        assert_eq!(to_string(&a), r#"{"a":"x","b":[1,2.5,{"a":null,"z":1}]}"#);
        assert_eq!(hash(&a), hash(&b));
        let c: Value = serde_json::from_str(r#"{"a":"x","b":[1,2.5,{"a":null,"z":2}]}"#).unwrap();
        assert_ne!(hash(&a), hash(&c));
    }
}
