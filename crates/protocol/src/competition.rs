//! [`Competition`]: the circuit-competition handshake (validator asks a miner for its
//! committed circuit files).

use omron_bittensor::synapse::{FieldType, Synapse};
use serde::{Deserialize, Serialize};

/// A competition request and its answer.
///
/// As the original declares it: `id: int`, `hash: str`, `file_name: str` without defaults (so
/// pydantic-required, each with its `bt_header_input_obj_*` header), then `file_content`,
/// `commitment` and `error`, all `Optional[str] = None`. No `required_hash_fields`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Competition {
    /// Competition number.
    pub id: u64,
    /// The committed circuit hash the validator expects.
    pub hash: String,
    /// The file asked for (`"commitment"` in practice).
    pub file_name: String,
    /// Response: file content, if sent inline.
    #[serde(default)]
    pub file_content: Option<String>,
    /// Response: JSON text with the signed download URLs.
    #[serde(default)]
    pub commitment: Option<String>,
    /// Response: why the miner could not answer.
    #[serde(default)]
    pub error: Option<String>,
}

impl Synapse for Competition {
    const NAME: &'static str = "Competition";
    const REQUIRED_FIELDS: &'static [(&'static str, FieldType)] = &[
        ("id", FieldType::Int),
        ("hash", FieldType::Str),
        ("file_name", FieldType::Str),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_bittensor::json::parse;
    use omron_bittensor::synapse::Envelope;

    #[test]
    fn declares_what_the_original_declares() {
        assert_eq!(Competition::NAME, "Competition");
        assert!(Competition::REQUIRED_HASH_FIELDS.is_empty());
        assert_eq!(
            Competition::REQUIRED_FIELDS,
            [
                ("id", FieldType::Int),
                ("hash", FieldType::Str),
                ("file_name", FieldType::Str),
            ]
        );
        // The required fields alone make a whole request; the rest default to None.
        let env = Envelope::<Competition>::from_value(
            parse(br#"{"id": 1, "hash": "h", "file_name": "commitment"}"#).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (
                &env.synapse.file_content,
                &env.synapse.commitment,
                &env.synapse.error
            ),
            (&None, &None, &None)
        );
        assert_eq!(
            env.body_hash().unwrap(),
            omron_bittensor::body_hash::EMPTY_BODY_HASH
        );
    }

    #[test]
    fn round_trip_and_required_fields() {
        let c = Competition {
            id: 1,
            hash: "h".into(),
            file_name: "commitment".into(),
            error: Some("No valid circuit commitment available".into()),
            ..Competition::default()
        };
        let env = Envelope::new(c.clone());
        let back =
            Envelope::<Competition>::from_value(parse(&env.to_json_bytes().unwrap()).unwrap())
                .unwrap();
        assert_eq!(back.synapse, c);
        assert!(
            Envelope::<Competition>::from_value(parse(br#"{"id": 1, "hash": "h"}"#).unwrap())
                .is_err()
        );
    }
}
