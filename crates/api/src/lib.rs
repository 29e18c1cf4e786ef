//! The validator's external API as an app sees it (guide: `docs/api.md`).
//!
//! Apps (and other subnets' validators) send inputs to a validator over JSON-RPC 2.0 on a TLS
//! WebSocket (`wss://HOST:8443/rpc`); the validator has a miner prove the inference, verifies
//! the proof against the app's own input, and answers with the output, the proof and a receipt
//! signed by its hotkey. This crate holds what both ends must agree on, and nothing of either
//! node:
//!
//! * [`auth`]: the original subnet's request signature (`x-timestamp`, `x-origin-ss58`,
//!   `x-signature`), made and checked, with its replay window;
//! * [`rpc`]: JSON-RPC 2.0 envelopes, the method names, parameter and result types, error codes;
//! * [`receipt`]: the validator's signed receipt and its check;
//! * [`canonical`]: the canonical JSON form that request, input and output hashes are taken of;
//! * [`tls`]: the certificate fingerprint that is committed on chain and pinned by clients;
//! * [`client`]: a WebSocket client that pins the certificate and signs the headers;
//! * [`verify`]: checking an answer or a receipt with the circuit's files, trusting nothing
//!   the validator says.
//!
//! Depends on `omron-keys` (signatures) and `omron-circuit` (proof verification); nothing of
//! the nodes, so an app links it without the validator.

pub mod auth;
pub mod canonical;
pub mod client;
pub mod receipt;
pub mod rpc;
pub mod tls;
pub mod verify;

pub use auth::{AuthError, AuthHeaders};
pub use client::{ApiClient, ClientError, Pin};
pub use receipt::{Receipt, ReceiptError, UnsignedReceipt};
pub use rpc::{
    CircuitInfo, ErrorObject, InferenceResult, ProofContext, ProofOfComputationParams,
    ProofOfWeightsParams, RpcRequest, RpcResponse,
};
pub use verify::{AnswerError, AppRequest, VerifiedAnswer, check_answer, verify_receipt};
