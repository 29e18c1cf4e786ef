//! `computed_body_hash`: SHA3-256 over Python `str()` of the synapse's hashed fields.
//!
//! `H(s) = sha3_256(s.encode("utf-8")).hexdigest()` and
//! `body_hash = H(H(str(v1)) + H(str(v2)) + ...)` for the fields of `required_hash_fields`, in
//! that order, taken from the pydantic-validated model. With no fields it is `H("")`.

use sha3::{Digest, Sha3_256};

use crate::json::{JsonObject, JsonValue, python_str};

/// `H("")`: the body hash of a synapse without hashed fields.
pub const EMPTY_BODY_HASH: &str =
    "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a";

/// Lowercase hex SHA3-256 (not Keccak) of `data`.
pub fn sha3_hex(data: &[u8]) -> String {
    hex::encode(Sha3_256::digest(data))
}

/// The body hash of already-selected field values, in order.
pub fn body_hash<'a>(values: impl IntoIterator<Item = &'a JsonValue>) -> String {
    let mut joined = String::new();
    for value in values {
        joined.push_str(&sha3_hex(python_str(value).as_bytes()));
    }
    sha3_hex(joined.as_bytes())
}

/// A hashed field the synapse does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hashed field {field:?} is not a field of the synapse")]
pub struct MissingHashField {
    /// The field named in `required_hash_fields`.
    pub field: String,
}

/// The body hash of `fields` of a synapse's JSON object (its validated field values).
pub fn body_hash_of(object: &JsonObject, fields: &[&str]) -> Result<String, MissingHashField> {
    let values = fields
        .iter()
        .map(|f| {
            object.get(f).ok_or_else(|| MissingHashField {
                field: (*f).to_owned(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(body_hash(values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    #[test]
    fn empty_hash_is_sha3_of_nothing() {
        assert_eq!(body_hash([]), EMPTY_BODY_HASH);
        assert_eq!(sha3_hex(b""), EMPTY_BODY_HASH);
    }

    #[test]
    fn sdk_unit_test_vector() {
        // bittensor tests/unit_tests/test_synapse.py: a=1, b=2, d=["foobar"], fields (a, b, d).
        let o = parse(br#"{"a": 1, "b": 2, "d": ["foobar"]}"#).unwrap();
        let o = o.as_object().unwrap();
        assert_eq!(
            body_hash_of(o, &["a", "b", "d"]).unwrap(),
            "ae06397d08f30f75c91395c59f05c62ac3b62b88250eb78b109213258e6ced0c"
        );
        assert!(body_hash_of(o, &["zz"]).is_err());
    }

    #[test]
    fn chain_reference_vector() {
        // prompt: str = "hello", numbers: list[int] = [1, 2, 3], fields (prompt, numbers).
        let o = parse(br#"{"prompt": "hello", "numbers": [1, 2, 3]}"#).unwrap();
        assert_eq!(
            body_hash_of(o.as_object().unwrap(), &["prompt", "numbers"]).unwrap(),
            "3b23b33b8af6f011f0667d57cfd3c9c1fa39e9de4210fd9a463d83d1c457eb65"
        );
    }
}
