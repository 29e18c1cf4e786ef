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
//! [`JsonObject`], ids are validated [`CircuitId`]s), because the body hash is computed over the
//! values as the Python side holds them.
//!
//! One deliberate difference: [`QueryZkProof`] declares `required_hash_fields =
//! ("query_input",)`, as the captured wire vectors do, so a miner's inputs are covered by the
//! validator's signature. The original subnet declares no hashed fields; a Python validator of
//! that subnet therefore computes a different body hash for `QueryZkProof` and cannot query a
//! miner that uses this crate (and vice versa). The other synapses hash nothing, as upstream.
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
