//! The circuit layer: turns a quantised [`omron_ir::Graph`] into a proof plan, proves an
//! execution of it with the `omron-zk` proof system, verifies such proofs, and stores circuits
//! (verifying key, metadata) on disk. The circuit id is the SHA-256 of the verifying key.
//!
//! Depends on `omron-ir` and `omron-zk` only: no ONNX, no networking. A validator that only
//! verifies links this crate and nothing of the model front end. The protocol (what each
//! relation proves, and how) is described in `docs/proof-system.md` and on each relation module.

mod artifact;
mod bounds;
mod circuit;
mod context;
mod error;
#[cfg(test)]
mod forgery;
mod input;
mod layout;
mod plan;
pub mod pow;
mod proof;
mod relations;
mod soundness;
mod store;
mod witness;

pub use artifact::{CircuitDir, CircuitInfo, INFO_FILE, MODEL_FILE, TensorInfo, VK_FILE};
pub use circuit::{Circuit, CommitmentParams, MIN_SECURITY_BITS};
pub use error::{CircuitError, VerifyError};
pub use input::{InputData, OutputData};
pub use layout::Layout;
pub use plan::{LookupInstance, Plan, Role, Segment, TableSpec, TensorPlan, TensorRef};
pub use proof::{MAX_PROOF_BYTES, PROOF_MAGIC, ProofOutput};
pub use soundness::{SoundnessReport, SoundnessTerm};
pub use store::{
    CircuitMetadata, CircuitStore, CircuitType, InputGenerator, METADATA_FILE, RequestInput,
    StoredCircuit, pow_nonce, request_context,
};
