//! The subnet's validator node. For now it owns one piece: the validator's persistent
//! [`store`] (SQLite, synchronous), which keeps everything a restart must not lose: scores per
//! uid and hotkey, the per-circuit response-time windows, the hash guard, the
//! proof-of-weights queue, an archive of verified proofs and the history of weights set.
//!
//! The node logic arrives with issue 5: the request pool and benchmark inputs, verification
//! of each proof against the inputs the validator itself sent, score updates, weight setting
//! and the metrics. It will depend on `omron-protocol` (synapses), `omron-bittensor`
//! (dendrite), `omron-chain` (the `Chain` trait: metagraph, weights, commit-reveal),
//! `omron-circuit` (verify side only) and `omron-scoring` (the arithmetic), and will call this
//! store from a blocking task.
//!
//! This crate must not depend on the ONNX front end (`omron-model`) or on the prover: a
//! validator only verifies.

pub mod store;
