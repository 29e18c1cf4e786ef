//! JSON-RPC 2.0 as the external API speaks it: one request per WebSocket text frame, one
//! response frame per request (in completion order, matched by `id`).
//!
//! Methods keep the original subnet's names ([`PROOF_OF_COMPUTATION`], [`PROOF_OF_WEIGHTS`]);
//! a result keeps the original's fields (`hash`, `public_signals`, `proof`, `success`) and adds
//! what a client needs to check the answer itself ([`InferenceResult`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::receipt::Receipt;

/// The JSON-RPC version string.
pub const JSONRPC: &str = "2.0";
/// Prove a model's inference on the app's input.
pub const PROOF_OF_COMPUTATION: &str = "omron.proof_of_computation";
/// Prove a subnet's scoring of an evaluation batch (SN2, SN27, SN48 scoring circuits).
pub const PROOF_OF_WEIGHTS: &str = "omron.proof_of_weights";

/// Error codes: the JSON-RPC 2.0 ones, the original's 9, and ours (-32000..-32099, the range
/// the spec leaves to servers).
pub mod codes {
    /// The frame is not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// JSON, but not a JSON-RPC 2.0 request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Parameters missing or wrong: unknown circuit, input off the circuit's schema.
    pub const INVALID_PARAMS: i64 = -32602;
    /// The validator failed for a reason of its own.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// The original's "Request processing failed": no miner produced a verified proof in time.
    pub const REQUEST_FAILED: i64 = 9;
    /// The validator's queue of external requests is full: try again later.
    pub const BUSY: i64 = -32001;
    /// The caller's key sent more requests per minute than allowed.
    pub const RATE_LIMITED: i64 = -32002;
    /// The caller's key has as many requests in flight as allowed.
    pub const TOO_MANY_IN_FLIGHT: i64 = -32003;
    /// The validator is shutting down.
    pub const SHUTTING_DOWN: i64 = -32004;
}

/// A request frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcRequest {
    /// Always `"2.0"`.
    pub jsonrpc: String,
    /// The method.
    pub method: String,
    /// Its parameters (an object).
    #[serde(default)]
    pub params: Value,
    /// The caller's id, echoed in the response.
    #[serde(default)]
    pub id: Value,
}

impl RpcRequest {
    /// A request with `id`.
    pub fn new(method: &str, params: Value, id: u64) -> Self {
        Self {
            jsonrpc: JSONRPC.into(),
            method: method.into(),
            params,
            id: Value::from(id),
        }
    }
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// One of [`codes`].
    pub code: i64,
    /// What went wrong, in words naming the thing.
    pub message: String,
    /// Details (e.g. each failed attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error without data.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// The same error with `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

impl std::fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error {}: {}", self.code, self.message)?;
        if let Some(d) = &self.data {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

/// A response frame: exactly one of `result` and `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcResponse {
    /// Always `"2.0"`.
    pub jsonrpc: String,
    /// The request's id (`null` when the request could not be read).
    pub id: Value,
    /// The result on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The error on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

impl RpcResponse {
    /// A success.
    pub fn ok(id: Value, result: Value) -> Self {
        Self {
            jsonrpc: JSONRPC.into(),
            id,
            result: Some(result),
            error: None,
        }
    }

    /// A failure.
    pub fn err(id: Value, error: ErrorObject) -> Self {
        Self {
            jsonrpc: JSONRPC.into(),
            id,
            result: None,
            error: Some(error),
        }
    }
}

/// `omron.proof_of_computation` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofOfComputationParams {
    /// The circuit: its id (hex) or its name.
    pub circuit: String,
    /// The model input, as `input.json` holds it: `{"input_data": [[...], ...]}`; an optional
    /// `"nonce"` (8-64 bytes of hex) binds the proof to the app's own nonce instead of one the
    /// validator draws.
    pub input: Value,
}

/// `omron.proof_of_weights` parameters (the subnet is the `x-netuid` header).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofOfWeightsParams {
    /// The scoring batch, in the scoring circuit's input format.
    pub evaluation_data: Value,
    /// The subnet's weights version; picks among several circuits of one subnet.
    #[serde(default)]
    pub weights_version: Option<u64>,
}

/// What a proof is bound to, so that a client can verify it with the circuit's files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProofContext {
    /// The exact input proven: the app's input with the nonce used, or the evaluation batch.
    pub input: Value,
    /// The nonce (hex) of a proof-of-computation request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The miner's hotkey (ss58), part of the proof's context.
    pub miner_hotkey: String,
}

/// A verified answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InferenceResult {
    /// The request's hash (original field).
    pub hash: String,
    /// The proven output as JSON text (original field; for our engine, the output itself).
    pub public_signals: String,
    /// The proof, hex (original field).
    pub proof: String,
    /// Always `true` in a result (original field); failures are JSON-RPC errors.
    pub success: bool,
    /// The circuit id.
    pub circuit_id: String,
    /// The circuit's name.
    pub circuit_name: String,
    /// The miner that proved it.
    pub miner_uid: u16,
    /// Its hotkey (ss58).
    pub miner_hotkey: String,
    /// The proven output (dequantised floats for a model; integer columns for a scoring circuit).
    pub output: Value,
    /// What the proof is bound to.
    pub context: ProofContext,
    /// The validator's signed receipt.
    pub receipt: Receipt,
    /// Miners asked, this one included.
    pub attempts: u32,
}

/// One circuit as `GET /circuits` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CircuitInfo {
    /// The circuit id (hex).
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it computes.
    pub description: String,
    /// Who made it.
    pub author: String,
    /// Semantic version.
    pub version: String,
    /// `proof_of_computation` or `proof_of_weights`.
    #[serde(rename = "type")]
    pub circuit_type: String,
    /// `"OMRON"`.
    pub proof_system: String,
    /// For a scoring circuit, the subnet whose scoring it proves.
    pub netuid: Option<u16>,
    /// For a scoring circuit, that subnet's weights version.
    pub weights_version: Option<u64>,
    /// The request timeout, seconds.
    pub timeout: u64,
    /// A JSON Schema of the method's input (`input` or `evaluation_data`).
    pub input_schema: Value,
    /// The shape of each output tensor.
    pub output_shapes: Vec<Vec<usize>>,
    /// Mean response time of the verified proofs this validator saw, milliseconds.
    pub measured_prove_ms: Option<f64>,
    /// How many verified proofs that mean is over.
    pub verified_proofs: u64,
}
