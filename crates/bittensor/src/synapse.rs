//! Synapses: the typed messages an axon serves, wrapped in the SDK's base fields.
//!
//! A Python subnet declares `class QueryZkProof(bt.Synapse)` with its own fields; on the wire the
//! body is the whole model: the base fields `name, timeout, total_size, header_size, dendrite,
//! axon, computed_body_hash` followed by the subclass fields. Here the subclass is a type
//! implementing [`Synapse`] and the base fields live in [`SynapseBase`]; an [`Envelope`] joins
//! them.
//!
//! Rule for implementors: field types mirror the Python annotations, because the body hash is
//! Python's `str()` of the *validated* values. A Python `float` is an `f64` here (so `1` hashes
//! as `1.0`), a Python `dict` is a [`JsonObject`] (so key order survives), a pydantic sub-model
//! is a struct with the same field order. Every field must serialise (no `skip_serializing`),
//! and fields with a Python default need `#[serde(default)]`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::body_hash::{MissingHashField, body_hash_of};
use crate::json::{self, JsonError, JsonObject, JsonValue};

/// One request/response type of a subnet protocol (a `bt.Synapse` subclass).
pub trait Synapse: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The Python class name: the URL path (`POST /<NAME>`) and the `name` header.
    const NAME: &'static str;
    /// `required_hash_fields`: the fields covered by the signed body hash, in hashing order.
    const REQUIRED_HASH_FIELDS: &'static [&'static str] = &[];
    /// Fields without a default in the Python class. The SDK sends a
    /// `bt_header_input_obj_<field>` header with an empty value of each one's type, and a Python
    /// axon fails (500) without it.
    const REQUIRED_FIELDS: &'static [(&'static str, FieldType)] = &[];
}

/// The Python type of a required field, for its `bt_header_input_obj_*` dummy header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `str`: `""`.
    Str,
    /// `int`: `0`.
    Int,
    /// `float`: `0.0`.
    Float,
    /// `bool`: `false`.
    Bool,
    /// `list`: `[]`.
    List,
    /// `dict`: `{}`.
    Dict,
}

impl FieldType {
    /// `base64(json.dumps(type()))`, the header value the SDK sends.
    pub fn empty_header_value(self) -> &'static str {
        match self {
            Self::Str => "IiI=",
            Self::Int => "MA==",
            Self::Float => "MC4w",
            Self::Bool => "ZmFsc2U=",
            Self::List => "W10=",
            Self::Dict => "e30=",
        }
    }
}

/// The SDK's base `bt.Synapse` itself: no fields. Every axon serves it at `/Synapse` as a ping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ping {}

impl Synapse for Ping {
    const NAME: &'static str = "Synapse";
}

/// `bt.TerminalInfo`: what one end of a call says about itself. Every field is optional, as in
/// the SDK; unauthenticated when read from a body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TerminalInfo {
    /// HTTP-like status code of the call.
    pub status_code: Option<u16>,
    /// Human-readable status.
    pub status_message: Option<String>,
    /// Seconds spent (by the axon on the handler, or by the dendrite end to end).
    pub process_time: Option<f64>,
    /// IP address.
    pub ip: Option<String>,
    /// TCP port.
    pub port: Option<u16>,
    /// SDK version as an integer (`10005000` for 10.5.0).
    pub version: Option<u64>,
    /// Request nonce (Unix time in nanoseconds).
    pub nonce: Option<u64>,
    /// Per-client UUID.
    pub uuid: Option<String>,
    /// ss58 hotkey.
    pub hotkey: Option<String>,
    /// `0x` hex sr25519 signature.
    pub signature: Option<String>,
}

/// The base fields of every synapse body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SynapseBase {
    /// The class name.
    pub name: Option<String>,
    /// Seconds the caller waits.
    pub timeout: Option<f64>,
    /// Python `sys.getsizeof` bookkeeping; never validated.
    pub total_size: Option<u64>,
    /// Python `sys.getsizeof` bookkeeping; never validated.
    pub header_size: Option<u64>,
    /// The caller's side.
    #[serde(deserialize_with = "null_as_default")]
    pub dendrite: TerminalInfo,
    /// The server's side.
    #[serde(deserialize_with = "null_as_default")]
    pub axon: TerminalInfo,
    /// Always `""` in bodies; the real hash travels in the `computed_body_hash` header.
    pub computed_body_hash: Option<String>,
}

/// The SDK's default synapse timeout, in seconds.
pub const DEFAULT_TIMEOUT_SECS: f64 = 12.0;

impl Default for SynapseBase {
    fn default() -> Self {
        Self {
            name: None,
            timeout: Some(DEFAULT_TIMEOUT_SECS),
            total_size: Some(0),
            header_size: Some(0),
            dendrite: TerminalInfo::default(),
            axon: TerminalInfo::default(),
            computed_body_hash: Some(String::new()),
        }
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Base field names, in the SDK's `model_dump` order.
const BASE_FIELDS: [&str; 7] = [
    "name",
    "timeout",
    "total_size",
    "header_size",
    "dendrite",
    "axon",
    "computed_body_hash",
];

/// A synapse with its base fields: what travels as a body, and what a query returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<S> {
    /// Base fields (`timeout`, `dendrite`, `axon`...).
    pub base: SynapseBase,
    /// The subnet's fields.
    pub synapse: S,
}

/// Why a synapse body could not be read or written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SynapseError {
    /// The body is not a JSON object.
    #[error("synapse body must be a JSON object")]
    NotAnObject,
    /// The JSON does not have the synapse's shape.
    #[error("invalid {synapse} body: {source}")]
    Shape {
        /// The synapse name.
        synapse: &'static str,
        /// What serde said.
        source: JsonError,
    },
    /// A declared hash field is missing from the synapse's serialisation.
    #[error(transparent)]
    MissingHashField(#[from] MissingHashField),
    /// The synapse's fields do not serialise to a JSON object.
    #[error("{synapse} does not serialise to a JSON object")]
    NotAStruct {
        /// The synapse name.
        synapse: &'static str,
    },
}

impl<S: Synapse> Envelope<S> {
    /// Wraps `synapse` with default base fields and its name.
    pub fn new(synapse: S) -> Self {
        Self {
            base: SynapseBase {
                name: Some(S::NAME.to_owned()),
                ..SynapseBase::default()
            },
            synapse,
        }
    }

    /// The subnet fields as a JSON object (validated values, declaration order).
    pub fn fields_object(&self) -> Result<JsonObject, SynapseError> {
        match json::to_value(&self.synapse) {
            Ok(JsonValue::Object(o)) => Ok(o),
            _ => Err(SynapseError::NotAStruct { synapse: S::NAME }),
        }
    }

    /// The body hash over [`Synapse::REQUIRED_HASH_FIELDS`].
    pub fn body_hash(&self) -> Result<String, SynapseError> {
        Ok(body_hash_of(
            &self.fields_object()?,
            S::REQUIRED_HASH_FIELDS,
        )?)
    }

    /// The whole body: base fields in SDK order, then the subnet fields.
    pub fn to_object(&self) -> Result<JsonObject, SynapseError> {
        let mut out = match json::to_value(&self.base) {
            Ok(JsonValue::Object(o)) => o,
            _ => return Err(SynapseError::NotAStruct { synapse: S::NAME }),
        };
        for (k, v) in self.fields_object()? {
            out.insert(k, v);
        }
        Ok(out)
    }

    /// The body as compact JSON bytes.
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, SynapseError> {
        Ok(JsonValue::Object(self.to_object()?)
            .to_json_string()
            .into_bytes())
    }

    /// Reads a body: base keys go to [`SynapseBase`], the rest to `S` (unknown keys are ignored,
    /// as pydantic ignores them).
    pub fn from_value(value: JsonValue) -> Result<Self, SynapseError> {
        let JsonValue::Object(object) = value else {
            return Err(SynapseError::NotAnObject);
        };
        let mut base = JsonObject::new();
        let mut fields = JsonObject::new();
        for (k, v) in object {
            if BASE_FIELDS.contains(&k.as_str()) {
                base.insert(k, v);
            } else {
                fields.insert(k, v);
            }
        }
        let shape = |source| SynapseError::Shape {
            synapse: S::NAME,
            source,
        };
        Ok(Self {
            base: json::from_value(JsonValue::Object(base)).map_err(shape)?,
            synapse: json::from_value(JsonValue::Object(fields)).map_err(shape)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Required {
        prompt: String,
        #[serde(default)]
        answer: Option<String>,
    }
    impl Synapse for Required {
        const NAME: &'static str = "RequiredFieldQuery";
        const REQUIRED_HASH_FIELDS: &'static [&'static str] = &["prompt"];
        const REQUIRED_FIELDS: &'static [(&'static str, FieldType)] = &[("prompt", FieldType::Str)];
    }

    #[test]
    fn body_round_trips_in_sdk_order() {
        let text = br#"{"name": "RequiredFieldQuery", "timeout": 5.0, "total_size": 3, "header_size": 0, "dendrite": {"status_code": null, "status_message": null, "process_time": null, "ip": "127.0.0.9", "port": null, "version": 10005000, "nonce": 1795557216835814590, "uuid": "u", "hotkey": "h", "signature": "0x00"}, "axon": null, "computed_body_hash": "", "prompt": "hi", "answer": null, "unknown": 1}"#;
        let env = Envelope::<Required>::from_value(parse(text).unwrap()).unwrap();
        assert_eq!(env.synapse.prompt, "hi");
        assert_eq!(env.base.dendrite.nonce, Some(1795557216835814590));
        assert_eq!(env.base.axon, TerminalInfo::default());
        let keys: Vec<String> = env.to_object().unwrap().keys().map(str::to_owned).collect();
        assert_eq!(
            keys,
            [
                "name",
                "timeout",
                "total_size",
                "header_size",
                "dendrite",
                "axon",
                "computed_body_hash",
                "prompt",
                "answer"
            ]
        );
        let again = Envelope::<Required>::from_value(parse(&env.to_json_bytes().unwrap()).unwrap())
            .unwrap();
        assert_eq!(again, env);
        // H(H("hi")), from the prompt only.
        let h = crate::body_hash::sha3_hex(crate::body_hash::sha3_hex(b"hi").as_bytes());
        assert_eq!(env.body_hash().unwrap(), h);
    }

    #[test]
    fn minimal_bodies_take_defaults_and_missing_required_fields_fail() {
        let env = Envelope::<Ping>::from_value(parse(b"{}").unwrap()).unwrap();
        assert_eq!(env.base.timeout, Some(12.0));
        assert_eq!(env.body_hash().unwrap(), crate::body_hash::EMPTY_BODY_HASH);
        assert!(matches!(
            Envelope::<Required>::from_value(parse(b"{}").unwrap()),
            Err(SynapseError::Shape { .. })
        ));
        assert_eq!(
            Envelope::<Required>::from_value(parse(b"[]").unwrap()),
            Err(SynapseError::NotAnObject)
        );
        assert!(Envelope::<Required>::from_value(parse(br#"{"prompt": 1}"#).unwrap()).is_err());
    }

    #[test]
    fn empty_header_values_decode_to_empty_json() {
        use base64::Engine;
        for (t, json) in [
            (FieldType::Str, "\"\""),
            (FieldType::Int, "0"),
            (FieldType::Float, "0.0"),
            (FieldType::Bool, "false"),
            (FieldType::List, "[]"),
            (FieldType::Dict, "{}"),
        ] {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(t.empty_header_value())
                .unwrap();
            assert_eq!(raw, json.as_bytes());
        }
    }
}
