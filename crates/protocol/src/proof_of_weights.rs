//! [`ProofOfWeightsSynapse`]: "prove this scoring batch".

use omron_bittensor::json::JsonObject;
use omron_bittensor::synapse::{FieldType, Synapse};
use serde::{Deserialize, Serialize};

use crate::CircuitId;

/// The proof system a circuit uses (upstream's `ProofSystem(str, Enum)`, as its string values).
///
/// Written in capitals; read in any case, as upstream's `_missing_` upper-cases an unknown
/// string before giving up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum ProofSystem {
    /// Circom / snarkjs Groth16.
    #[default]
    #[serde(rename = "CIRCOM")]
    Circom,
    /// EZKL (Halo2 + KZG).
    #[serde(rename = "EZKL")]
    Ezkl,
    /// JOLT.
    #[serde(rename = "JOLT")]
    Jolt,
    /// ZKML.
    #[serde(rename = "ZKML")]
    Zkml,
}

impl ProofSystem {
    /// Every variant, in upstream's declaration order.
    pub const ALL: [Self; 4] = [Self::Zkml, Self::Circom, Self::Jolt, Self::Ezkl];

    /// The wire value (`"CIRCOM"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Circom => "CIRCOM",
            Self::Ezkl => "EZKL",
            Self::Jolt => "JOLT",
            Self::Zkml => "ZKML",
        }
    }
}

impl<'de> Deserialize<'de> for ProofSystem {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(&text))
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown proof system {text:?}; expected one of CIRCOM, EZKL, JOLT, ZKML"
                ))
            })
    }
}

/// A proof-of-weights request and its answer.
///
/// As the original declares it: `subnet_uid: int = 2`, `verification_key_hash: str`,
/// `proof_system: ProofSystem = CIRCOM`, `inputs: dict`, `proof: str`, `public_signals: str`.
/// The four fields without a default are pydantic-required: the SDK sends a
/// `bt_header_input_obj_*` header for each, and a body without one of them is refused. No
/// `required_hash_fields`, so the body hash is `H("")`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProofOfWeightsSynapse {
    /// The netuid whose weights are proven (upstream default 2).
    #[serde(default = "default_subnet_uid")]
    pub subnet_uid: u16,
    /// The circuit id.
    pub verification_key_hash: CircuitId,
    /// The circuit's proof system.
    #[serde(default)]
    pub proof_system: ProofSystem,
    /// The circuit inputs.
    pub inputs: JsonObject,
    /// Response: the proof ("" in requests).
    pub proof: String,
    /// Response: the public signals ("" in requests).
    pub public_signals: String,
}

fn default_subnet_uid() -> u16 {
    2
}

impl Synapse for ProofOfWeightsSynapse {
    const NAME: &'static str = "ProofOfWeightsSynapse";
    const REQUIRED_FIELDS: &'static [(&'static str, FieldType)] = &[
        ("verification_key_hash", FieldType::Str),
        ("inputs", FieldType::Dict),
        ("proof", FieldType::Str),
        ("public_signals", FieldType::Str),
    ];
}

impl ProofOfWeightsSynapse {
    /// A request (empty proof and signals, as the validator sends).
    pub fn request(
        subnet_uid: u16,
        circuit: CircuitId,
        proof_system: ProofSystem,
        inputs: JsonObject,
    ) -> Self {
        Self {
            subnet_uid,
            verification_key_hash: circuit,
            proof_system,
            inputs,
            proof: String::new(),
            public_signals: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_bittensor::json::parse;
    use omron_bittensor::synapse::Envelope;

    #[test]
    fn declares_what_the_original_declares() {
        assert_eq!(ProofOfWeightsSynapse::NAME, "ProofOfWeightsSynapse");
        assert!(ProofOfWeightsSynapse::REQUIRED_HASH_FIELDS.is_empty());
        assert_eq!(
            ProofOfWeightsSynapse::REQUIRED_FIELDS,
            [
                ("verification_key_hash", FieldType::Str),
                ("inputs", FieldType::Dict),
                ("proof", FieldType::Str),
                ("public_signals", FieldType::Str),
            ]
        );
    }

    #[test]
    fn proof_systems_read_in_any_case_and_write_in_capitals() {
        for p in ProofSystem::ALL {
            let text = format!("{:?}", p.as_str());
            assert_eq!(
                omron_bittensor::json::to_value(&p)
                    .unwrap()
                    .to_json_string(),
                text
            );
            let lower = text.to_lowercase();
            assert_eq!(
                omron_bittensor::json::from_value::<ProofSystem>(parse(lower.as_bytes()).unwrap())
                    .unwrap(),
                p
            );
        }
        assert!(
            omron_bittensor::json::from_value::<ProofSystem>(parse(br#""GROTH16""#).unwrap())
                .is_err()
        );
        assert!(omron_bittensor::json::from_value::<ProofSystem>(parse(b"1").unwrap()).is_err());
    }

    #[test]
    fn round_trip_defaults_and_required_fields() {
        let id: CircuitId = "cd".repeat(32).parse().unwrap();
        let inputs = parse(br#"{"scores": [0.5, 1.0], "nonce": [3]}"#).unwrap();
        let Some(inputs) = inputs.as_object().cloned() else {
            panic!()
        };
        let req = ProofOfWeightsSynapse::request(2, id.clone(), ProofSystem::Ezkl, inputs);
        let env = Envelope::new(req.clone());
        let text = String::from_utf8(env.to_json_bytes().unwrap()).unwrap();
        assert!(text.contains(r#""proof_system":"EZKL""#), "{text}");
        let back =
            Envelope::<ProofOfWeightsSynapse>::from_value(parse(text.as_bytes()).unwrap()).unwrap();
        assert_eq!(back.synapse, req);
        let minimal = format!(
            r#"{{"verification_key_hash": "{id}", "inputs": {{}}, "proof": "", "public_signals": ""}}"#
        );
        let m = Envelope::<ProofOfWeightsSynapse>::from_value(parse(minimal.as_bytes()).unwrap())
            .unwrap();
        assert_eq!(
            (m.synapse.subnet_uid, m.synapse.proof_system),
            (2, ProofSystem::Circom)
        );
        // Required fields cannot be left out, ids are checked.
        assert!(
            Envelope::<ProofOfWeightsSynapse>::from_value(parse(br#"{"inputs": {}}"#).unwrap())
                .is_err()
        );
        let bad = minimal.replace(id.as_str(), "nothex");
        assert!(
            Envelope::<ProofOfWeightsSynapse>::from_value(parse(bad.as_bytes()).unwrap()).is_err()
        );
        // A request hashes nothing, whatever it carries.
        assert_eq!(
            env.body_hash().unwrap(),
            omron_bittensor::body_hash::EMPTY_BODY_HASH
        );
    }
}
