//! The subnet's scoring arithmetic, exactly as the reference validator (omron-subnet 10.3.1)
//! computes it: pure functions and small state machines, no I/O, no async, no clock.
//!
//! How a response becomes a weight on chain:
//!
//! 1. The response joins its circuit's [`EvaluationWindow`] (one item per uid, last 1024), whose
//!    minimum and maximum verified response times normalise speed (§5.2).
//! 2. A [`PowItem`] records the update in float32, as the reference's torch tensors do (§5.3),
//!    and is appended to the [`PowQueue`].
//! 3. Every 256 items, the last 256 become [`CircuitInputs`] (scaled by `1e8`, 16 nonce
//!    slots) and go through the proof-of-weights circuit's integer incentive function
//!    ([`evaluate_batch`], §5.4); the outputs overwrite the scores, last occurrence winning
//!    ([`apply_batch_output`], §5.5). Non-queryable uids are zeroed ([`zero_non_queryable`],
//!    §5.6; queryability per §1.4 in [`queryable_uids`]).
//! 4. In the last 15 blocks of an epoch, at most every 100 blocks, the scores become `u16`
//!    weights ([`scores_to_weights`], [`convert_weights_and_uids_for_emit`],
//!    [`in_weight_window`], §5.8).
//!
//! Beside that: epoch arithmetic and the miner-group shuffle with CPython's Mersenne Twister
//! ([`epoch`], [`PyRandom`], §5.9), and the hash guard that keeps inputs from repeating,
//! hashing `json.dumps(..., sort_keys=True)` byte for byte like Python ([`HashGuard`],
//! [`input_hash`], §3.4).
//!
//! `docs/scoring.md` explains every number and lists the reference's quirks kept here.
//!
//! This crate must not depend on networking, storage, async runtimes, the chain or the proof
//! system: the validator (`omron-validator`) and the proof-of-weights circuit build on it.

mod circuit_inputs;
pub mod constants;
pub mod epoch;
mod error;
mod hash_guard;
mod incentive;
mod pow_item;
mod pow_queue;
pub mod py_json;
mod py_random;
mod stats;
mod uids;
mod weights;
mod wide;

pub use circuit_inputs::CircuitInputs;
pub use epoch::{
    EpochInfo, ShuffleSeed, current_epoch_info, epoch_start_block, miner_group, needs_reshuffle,
    shuffled_uids,
};
pub use error::{Result, ScoringError};
pub use hash_guard::{HashGuard, InputHash, hash_hex, input_hash};
pub use incentive::{
    BatchOutput, CircuitItem, IncentiveParams, ScoreTrace, evaluate, evaluate_batch, new_score,
    response_curve,
};
pub use pow_item::{PowItem, ScoredResponse, pad_items, scale_float, scale_int, score_from_scaled};
pub use pow_queue::{DueBatch, PowQueue, apply_batch_output};
pub use py_random::PyRandom;
pub use stats::{EvaluationItem, EvaluationWindow};
pub use uids::{
    NeuronView, axon_ip_to_string, is_valid_axon_ip, is_validator_stake, queryable_uids,
    stake_threshold, zero_non_queryable,
};
pub use weights::{
    EmitWeights, OWNER_BURN_SCALE, OWNER_BURN_WEIGHT, apply_owner_burn,
    convert_weights_and_uids_for_emit, in_weight_window, scores_to_weights,
};
