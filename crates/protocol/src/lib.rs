//! The subnet's wire messages (synapses), with the original names and fields of the Python
//! subnet (`neurons/protocol.py`), so Python and Rust neurons understand each other.
//!
//! | synapse | request | response |
//! |---|---|---|
//! | [`QueryZkProof`] | `query_input` = `{"public_inputs", "model_id"}` | `query_output` (JSON text of proof + public signals, or an error text) |
//! | [`ProofOfWeightsSynapse`] | `subnet_uid`, `verification_key_hash`, `proof_system`, `inputs` | `proof`, `public_signals` |
//! | [`QueryForCapacities`] | nothing | `capacities` per circuit |
//! | [`Competition`] | `id`, `hash`, `file_name` | `file_content`, `commitment`, `error` |
//!
//! Field types mirror the Python annotations (a Python `dict` is an order-keeping
//! [`JsonObject`], ids are validated [`CircuitId`]s), so a body a Python node wrote reads back
//! here with the values, and the key order, the Python side holds.
//!
//! Each synapse declares exactly what the original's class declares, for the two things the
//! SDK reads off a class:
//!
//! | synapse | `required_hash_fields` | pydantic-required fields (`bt_header_input_obj_*`) |
//! |---|---|---|
//! | [`QueryZkProof`] | none | none |
//! | [`ProofOfWeightsSynapse`] | none | `verification_key_hash`, `inputs`, `proof`, `public_signals` |
//! | [`QueryForCapacities`] | none | none |
//! | [`Competition`] | none | `id`, `hash`, `file_name` |
//!
//! With no hashed fields every body hash is `H("")`, so Python nodes of the original subnet
//! and ours sign and check the same value. The body is therefore not covered by the signature
//! (only the nonce, both hotkeys and the dendrite's uuid are): a changed `query_input` is not
//! refused at the axon. That costs nothing here: a proof is bound to the nonce inside the
//! request's inputs and to the miner's hotkey, and the validator verifies it against the inputs
//! it sent itself, so a tampered request only yields a proof that fails.
//!
//! Owns: the synapse types and their helpers. Must not depend on: the proof engine, the chain,
//! networking (the axon and dendrite live in `omron-bittensor`).

mod capacities;
mod circuit_id;
mod competition;
mod proof_of_weights;
mod query_zk_proof;

pub use capacities::QueryForCapacities;
pub use circuit_id::{CircuitId, CircuitIdError};
pub use competition::Competition;
pub use omron_bittensor::json::{JsonObject, JsonValue};
pub use proof_of_weights::{ProofOfWeightsSynapse, ProofSystem};
pub use query_zk_proof::{ProofOutput, QueryInput, QueryInputError, QueryOutput, QueryZkProof};

/// The synapse names this subnet serves, in the order miners attach them.
pub const SYNAPSE_NAMES: [&str; 4] = [
    "QueryZkProof",
    "ProofOfWeightsSynapse",
    "Competition",
    "QueryForCapacities",
];
