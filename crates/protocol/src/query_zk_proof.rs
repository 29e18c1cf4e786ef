//! [`QueryZkProof`]: "prove this model on these inputs".

use omron_bittensor::json::{JsonObject, JsonValue};
use omron_bittensor::synapse::Synapse;
use serde::{Deserialize, Serialize};

use crate::CircuitId;

/// A proof request and its answer.
///
/// As the original declares it: `query_input: Optional[Dict] = None`,
/// `query_output: Optional[str] = None`, no `required_hash_fields` (so the body hash is
/// `H("")` whatever the input) and no field without a default (so no
/// `bt_header_input_obj_*` header).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryZkProof {
    /// Request: the inputs and the circuit.
    #[serde(default)]
    pub query_input: Option<QueryInput>,
    /// Response: [`QueryOutput`] as text.
    #[serde(default)]
    pub query_output: Option<String>,
}

impl Synapse for QueryZkProof {
    const NAME: &'static str = "QueryZkProof";
}

impl QueryZkProof {
    /// A request for `input`.
    pub fn request(input: QueryInput) -> Self {
        Self {
            query_input: Some(input),
            query_output: None,
        }
    }

    /// The parsed answer, if any.
    pub fn output(&self) -> Option<QueryOutput> {
        self.query_output.as_deref().map(QueryOutput::parse)
    }
}

/// `query_input`: `{"public_inputs": <circuit inputs>, "model_id": "<circuit id>"}`.
///
/// The Python side declares a plain `dict`, so this type keeps the object exactly as received
/// (key order and extra keys included) and exposes typed accessors. An object without
/// `public_inputs` is accepted, as pydantic accepts it: the original miner answers it with
/// `"Empty query input"` (reference §1.3), and so does ours ([`Self::public_inputs`] is then
/// `null`).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryInput {
    raw: JsonObject,
}

/// A `query_input` this subnet cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryInputError {
    /// `model_id` is not a string.
    #[error("query_input.model_id must be a string")]
    ModelIdNotString,
}

impl QueryInput {
    /// A request's input, in the key order the Python validator writes it.
    pub fn new(model_id: &CircuitId, public_inputs: JsonValue) -> Self {
        let mut raw = JsonObject::new();
        raw.insert("public_inputs", public_inputs);
        raw.insert("model_id", JsonValue::String(model_id.to_string()));
        Self { raw }
    }

    /// Validates a received object, keeping it as it is. Only a non-string `model_id` is
    /// refused: it could name no circuit (the original miner answers it with
    /// `"An error occurred"`).
    pub fn from_object(raw: JsonObject) -> Result<Self, QueryInputError> {
        match raw.get("model_id") {
            None | Some(JsonValue::String(_)) => Ok(Self { raw }),
            Some(_) => Err(QueryInputError::ModelIdNotString),
        }
    }

    /// The circuit named by the request, as sent (upstream defaults a missing one to the
    /// single proof-of-weights circuit).
    pub fn model_id(&self) -> Option<&str> {
        self.raw.get("model_id").and_then(JsonValue::as_str)
    }

    /// [`Self::model_id`] as a validated circuit id.
    pub fn circuit_id(&self) -> Option<Result<CircuitId, crate::CircuitIdError>> {
        self.model_id().map(str::parse)
    }

    /// The circuit's inputs (normally an object of named input arrays); `null` when absent.
    pub fn public_inputs(&self) -> &JsonValue {
        self.raw.get("public_inputs").unwrap_or(&JsonValue::Null)
    }

    /// The whole object, in its original order.
    pub fn as_object(&self) -> &JsonObject {
        &self.raw
    }
}

impl Serialize for QueryInput {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for QueryInput {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::from_object(JsonObject::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// What a miner answers in `query_output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryOutput {
    /// A proof and its public signals.
    Proof(ProofOutput),
    /// A failure text (`"Empty query input"`, `"An error occurred"`, ...).
    Error(String),
}

/// `{"proof": ..., "public_signals": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofOutput {
    /// The proof (JSON text, or hex for binary proofs).
    pub proof: String,
    /// The public signals (JSON text).
    pub public_signals: String,
}

impl ProofOutput {
    /// The `query_output` text.
    pub fn to_query_output(&self) -> String {
        // Two strings always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl QueryOutput {
    /// Reads a `query_output`: a JSON object with `proof` and `public_signals` is a proof (a
    /// non-string value is kept as its JSON text); anything else is an error text.
    pub fn parse(text: &str) -> Self {
        let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(text)
        else {
            return Self::Error(text.to_owned());
        };
        let field = |k: &str| match o.get(k) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        match (field("proof"), field("public_signals")) {
            (Some(proof), Some(public_signals)) => Self::Proof(ProofOutput {
                proof,
                public_signals,
            }),
            _ => Self::Error(text.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_bittensor::body_hash::EMPTY_BODY_HASH;
    use omron_bittensor::json::{parse, to_value};
    use omron_bittensor::synapse::Envelope;

    fn id() -> CircuitId {
        "ab".repeat(32).parse().unwrap()
    }

    #[test]
    fn new_input_uses_the_python_key_order() {
        let input = QueryInput::new(&id(), parse(br#"{"list_items": [0.1, 0.2]}"#).unwrap());
        let keys: Vec<&str> = input.as_object().keys().collect();
        assert_eq!(keys, ["public_inputs", "model_id"]);
        assert_eq!(input.model_id(), Some(id().as_str()));
        assert_eq!(input.circuit_id(), Some(Ok(id())));
    }

    #[test]
    fn received_input_keeps_order_and_extra_keys() {
        let v = parse(br#"{"model_id": "m", "public_inputs": [1], "extra": {"b": 1, "a": 2}}"#)
            .unwrap();
        let input: QueryInput = omron_bittensor::json::from_value(v.clone()).unwrap();
        assert_eq!(to_value(&input).unwrap(), v);
        assert!(matches!(input.circuit_id(), Some(Err(_))));
        // Without public_inputs: accepted, as the original's `dict` is; it reads as null (the
        // miner's "Empty query input").
        let bare: QueryInput =
            omron_bittensor::json::from_value(parse(br#"{"model_id": "m"}"#).unwrap()).unwrap();
        assert_eq!(bare.public_inputs(), &JsonValue::Null);
        assert_eq!(bare.model_id(), Some("m"));
        assert!(
            omron_bittensor::json::from_value::<QueryInput>(
                parse(br#"{"public_inputs": 1, "model_id": 3}"#).unwrap()
            )
            .is_err()
        );
    }

    #[test]
    fn declares_what_the_original_declares() {
        // neurons/protocol.py: both fields Optional with a None default, no hash fields.
        assert_eq!(QueryZkProof::NAME, "QueryZkProof");
        assert!(QueryZkProof::REQUIRED_HASH_FIELDS.is_empty());
        assert!(QueryZkProof::REQUIRED_FIELDS.is_empty());
    }

    #[test]
    fn round_trip_and_the_hash_covers_nothing() {
        let q = QueryZkProof::request(QueryInput::new(&id(), parse(br#"{"x": [1.0]}"#).unwrap()));
        let env = Envelope::new(q.clone());
        let back =
            Envelope::<QueryZkProof>::from_value(parse(&env.to_json_bytes().unwrap()).unwrap())
                .unwrap();
        assert_eq!(back.synapse, q);
        // No hashed fields: H(""), whatever the input or the output, as a Python node of the
        // original subnet computes it.
        assert_eq!(env.body_hash().unwrap(), EMPTY_BODY_HASH);
        let other =
            QueryZkProof::request(QueryInput::new(&id(), parse(br#"{"x": [2.0]}"#).unwrap()));
        assert_eq!(Envelope::new(other).body_hash().unwrap(), EMPTY_BODY_HASH);
        let mut answered = q;
        answered.query_output = Some("x".into());
        assert_eq!(
            Envelope::new(answered).body_hash().unwrap(),
            EMPTY_BODY_HASH
        );
        // A bare body is the original's default instance.
        let bare = Envelope::<QueryZkProof>::from_value(parse(b"{}").unwrap()).unwrap();
        assert_eq!(bare.synapse, QueryZkProof::default());
    }

    #[test]
    fn outputs_parse() {
        let p = ProofOutput {
            proof: "{\"pi_a\": []}".into(),
            public_signals: "[\"1\"]".into(),
        };
        assert_eq!(
            QueryOutput::parse(&p.to_query_output()),
            QueryOutput::Proof(p)
        );
        assert_eq!(
            QueryOutput::parse("Empty query input"),
            QueryOutput::Error("Empty query input".into())
        );
        assert!(matches!(
            QueryOutput::parse(r#"{"proof": {"a": 1}, "public_signals": [1]}"#),
            QueryOutput::Proof(ProofOutput { ref proof, .. }) if proof == r#"{"a":1}"#
        ));
        assert!(matches!(
            QueryOutput::parse(r#"{"proof": "x"}"#),
            QueryOutput::Error(_)
        ));
    }
}
