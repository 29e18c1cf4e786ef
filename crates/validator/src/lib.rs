//! The subnet's validator node: it queries miners for proofs of inference, verifies every proof
//! against the inputs it sent itself, scores the miners with the subnet's exact arithmetic and
//! turns the scores into weights on chain (reference §1.4, §5; operator guide in
//! `docs/validator.md`).
//!
//! * [`node`]: the running node ([`Validator::start`], [`Validator::shutdown`]) and its tasks:
//!   metagraph sync, the request pool, weight setting, the proof-of-weights worker;
//! * [`snapshot`]: the subnet at the last sync and the queryable uids (§1.4);
//! * [`pool`]: the request pool's round logic; [`benchmark`]: circuit choice, input generation
//!   and the hash guard; [`answer`]: reading a miner's answer;
//! * [`scorer`]: one response through the evaluation window, the PoW queue and the 256-item
//!   batches (§5.1–5.6), in one store transaction;
//! * [`weight_window`]: when weights may be set (§5.8), scaled to the subnet's tempo;
//! * [`pow`]: the [`BatchProver`] seam through which score batches get proven;
//! * [`external`]: the external API for apps (TLS WebSocket JSON-RPC, signed receipts);
//! * [`metrics`]: the Prometheus metrics; [`api`]: `/health`, `/scoreboard`, `/metrics`, the
//!   dashboard;
//! * `shared`: the state the node's tasks and the HTTP servers share, below all of them
//!   (with `external_state`, the external API's queue and limits, and `summary`, the
//!   once-a-minute response log line);
//! * [`store`]: the persistent SQLite state (scores, windows, hash guard, PoW queue, proof
//!   archive, weights history, pending commits, request statistics), synchronous, called
//!   from blocking tasks.
//!
//! Depends on `omron-protocol` (synapses), `omron-bittensor` (dendrite), `omron-chain` (the
//! `Chain` trait), `omron-circuit` (verification of miners' proofs) and `omron-scoring` (the
//! arithmetic). Must not depend on the ONNX front end (`omron-model`) or on any concrete
//! proof-of-weights prover: provers plug in through [`BatchProver`].

pub mod answer;
pub mod api;
pub mod benchmark;
pub mod config;
mod error;
pub mod external;
mod external_state;
pub mod metrics;
pub mod node;
pub mod pool;
pub mod pow;
pub mod scorer;
mod shared;
pub mod snapshot;
pub mod store;
mod summary;
pub mod weight_window;

pub use api::{Health, MinerRow, Scoreboard};
pub use config::ValidatorConfig;
pub use error::NodeError;
pub use external::ExternalApiConfig;
pub use metrics::ValidatorMetrics;
pub use node::{NodeParts, Validator};
pub use pow::{BatchProof, BatchProver, ProverError, StoredCircuitProver};
pub use snapshot::{Snapshot, queryable_uids};
pub use weight_window::WeightWindow;
