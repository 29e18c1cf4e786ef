//! From scores to the weight vector on chain (§5.8).
//!
//! * The weight of uid `i` is its raw score (no normalisation) for `i < n`, zero elsewhere.
//! * Bittensor's `convert_weights_and_uids_for_emit` turns the float32 weights into `u16`:
//!   each is divided by the maximum (in float64), multiplied by 65535 and rounded with
//!   Python's `round` (half to even); zeros are dropped. All-zero weights set nothing.
//! * The owner burn of `subnet-2` 10.3.2 (reference Appendix A), [`apply_owner_burn`], sits
//!   between the two: on the float weights, before the `u16` conversion,
//!   `weights = weights * 0.2; weights[owner_uid] = 0.8`, where `owner_uid` holds the subnet
//!   owner's hotkey. The weights are raw scores, not normalised, so the owner's share of the
//!   set is `0.8 / (0.8 + 0.2 * sum of the other weights)`: 80% exactly when the other scores
//!   sum to 1. The miners keep their order and their ratios; the owner's own score is replaced.
//!   With the burn even all-zero scores set a weight (the owner's alone), as upstream does.
//! * Weights are set only when both hold: at least [`WEIGHT_RATE_LIMIT`] blocks passed since
//!   this validator's last update, and at most [`WEIGHT_UPDATE_BUFFER`] blocks remain in the
//!   epoch (see [`crate::epoch`]).
//!
//! The version key sent with the weights is [`WEIGHTS_VERSION`](crate::constants::WEIGHTS_VERSION).

use serde::{Deserialize, Serialize};

use crate::constants::{WEIGHT_RATE_LIMIT, WEIGHT_UPDATE_BUFFER};
use crate::error::{Result, ScoringError};

/// The weight vector of a metagraph of `n` uids: `weights[i] = scores[i]` where the score is
/// non-zero, zero otherwise (also for uids without a score yet).
pub fn scores_to_weights(scores: &[f32], n: usize) -> Vec<f32> {
    let mut weights = vec![0.0f32; n];
    for (w, &s) in weights.iter_mut().zip(scores) {
        if s != 0.0 {
            *w = s;
        }
    }
    weights
}

/// The owner's weight under the owner burn (`weights[owner_uid] = 0.8`).
pub const OWNER_BURN_WEIGHT: f32 = 0.8;

/// The factor every weight is scaled by under the owner burn (`weights * 0.2`).
pub const OWNER_BURN_SCALE: f32 = 0.2;

/// The owner burn of `subnet-2` 10.3.2: every weight is multiplied by [`OWNER_BURN_SCALE`]
/// (in `f32`, as upstream's float32 tensor), then the owner's uid gets [`OWNER_BURN_WEIGHT`].
/// Applied to the output of [`scores_to_weights`], before
/// [`convert_weights_and_uids_for_emit`].
///
/// Returns `false`, leaving `weights` untouched, when `owner_uid` is not a position of the
/// vector (the owner's hotkey holds no uid in the metagraph); the caller decides whether to
/// warn.
pub fn apply_owner_burn(weights: &mut [f32], owner_uid: usize) -> bool {
    if owner_uid >= weights.len() {
        return false;
    }
    for w in weights.iter_mut() {
        *w *= OWNER_BURN_SCALE;
    }
    weights[owner_uid] = OWNER_BURN_WEIGHT;
    true
}

/// Weights as the chain stores them: parallel uid and `u16` weight lists without zeros.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EmitWeights {
    /// Uids with a non-zero weight, in input order.
    pub uids: Vec<u16>,
    /// Their weights; the largest is 65535.
    pub weights: Vec<u16>,
}

impl EmitWeights {
    /// Whether there is nothing to set.
    pub fn is_empty(&self) -> bool {
        self.uids.is_empty()
    }
}

/// `convert_weights_and_uids_for_emit(uids, weights)` of the Bittensor SDK.
///
/// # Errors
/// Lists of different lengths; a negative, NaN or infinite weight.
pub fn convert_weights_and_uids_for_emit(uids: &[u16], weights: &[f32]) -> Result<EmitWeights> {
    if uids.len() != weights.len() {
        return Err(ScoringError::WrongLength {
            what: "weights (must match uids)",
            expected: uids.len(),
            actual: weights.len(),
        });
    }
    let values: Vec<f64> = weights.iter().map(|&w| f64::from(w)).collect();
    for (index, &value) in values.iter().enumerate() {
        if !value.is_finite() || value < 0.0 {
            return Err(ScoringError::InvalidWeight { index, value });
        }
    }
    let max = values.iter().copied().fold(0.0f64, f64::max);
    if max == 0.0 {
        return Ok(EmitWeights::default());
    }
    let mut out = EmitWeights::default();
    for (&uid, &value) in uids.iter().zip(&values) {
        let scaled = (value / max * f64::from(u16::MAX)).round_ties_even();
        // value <= max, so scaled <= 65535.
        let q = scaled as u16;
        if q != 0 {
            out.uids.push(uid);
            out.weights.push(q);
        }
    }
    Ok(out)
}

/// Whether this is the time to set weights: the rate limit has passed and the epoch is in its
/// last [`WEIGHT_UPDATE_BUFFER`] blocks.
pub fn in_weight_window(blocks_since_last_update: u64, blocks_until_next_epoch: u64) -> bool {
    blocks_since_last_update >= WEIGHT_RATE_LIMIT && blocks_until_next_epoch <= WEIGHT_UPDATE_BUFFER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_raw_scores_padded_to_n() {
        assert_eq!(
            scores_to_weights(&[0.5, 0.0, 0.25], 5),
            vec![0.5, 0.0, 0.25, 0.0, 0.0]
        );
        assert_eq!(scores_to_weights(&[0.5, 0.1, 0.25], 2), vec![0.5, 0.1]);
    }

    #[test]
    fn owner_burn_gives_the_owner_0_8_and_scales_the_rest_by_0_2() {
        let mut w = scores_to_weights(&[0.3, 0.5, 0.0, 0.25], 5);
        assert!(apply_owner_burn(&mut w, 0));
        // The owner's own score is replaced; the others are scaled in f32 as upstream.
        assert_eq!(w, vec![0.8, 0.5 * 0.2f32, 0.0, 0.25 * 0.2f32, 0.0]);
        // The miners keep their ratio (0.5 : 0.25 = 2) and their order.
        assert_eq!(w[1] / w[3], 2.0);
        // Scores summing to 1: the owner gets 80% of the normalised weight, the rest 20%.
        let mut w = vec![0.0, 0.75, 0.25];
        assert!(apply_owner_burn(&mut w, 0));
        let total: f32 = w.iter().sum();
        assert!((w[0] / total - 0.8).abs() < 1e-6, "{w:?}");
        assert!((w[1] / total - 0.15).abs() < 1e-6, "{w:?}");
        // Into u16: the owner is the maximum; 0.75 * 0.2 / 0.8 * 65535 = 12287.81 -> 12288.
        let out = convert_weights_and_uids_for_emit(&[0, 1, 2], &w).unwrap();
        assert_eq!(out.uids, vec![0, 1, 2]);
        assert_eq!(out.weights, vec![65535, 12288, 4096]);
    }

    #[test]
    fn owner_burn_sets_the_owner_alone_when_no_one_has_a_score() {
        let mut w = scores_to_weights(&[], 3);
        assert!(apply_owner_burn(&mut w, 2));
        let out = convert_weights_and_uids_for_emit(&[0, 1, 2], &w).unwrap();
        assert_eq!((out.uids, out.weights), (vec![2], vec![65535]));
    }

    #[test]
    fn owner_burn_without_the_owner_in_the_vector_changes_nothing() {
        let mut w = vec![0.5, 0.25];
        assert!(!apply_owner_burn(&mut w, 2));
        assert_eq!(w, vec![0.5, 0.25]);
        let mut empty: Vec<f32> = Vec::new();
        assert!(!apply_owner_burn(&mut empty, 0));
    }

    #[test]
    fn conversion_divides_by_max_and_rounds_half_to_even() {
        let out = convert_weights_and_uids_for_emit(&[0, 1, 2, 3], &[0.5, 0.25, 0.0, 1.0]).unwrap();
        // 0.5 * 65535 = 32767.5 -> 32768 (even); 0.25 * 65535 = 16383.75 -> 16384.
        assert_eq!(out.uids, vec![0, 1, 3]);
        assert_eq!(out.weights, vec![32768, 16384, 65535]);
        // 0.75 * 65535 = 49151.25 -> 49151; tiny weights round to zero and are dropped.
        let out = convert_weights_and_uids_for_emit(&[7, 8, 9], &[3.0, 4.0, 1e-6]).unwrap();
        assert_eq!(out.uids, vec![7, 8]);
        assert_eq!(out.weights, vec![49151, 65535]);
    }

    #[test]
    fn conversion_rejects_bad_input_and_empties_zero_vectors() {
        assert!(
            convert_weights_and_uids_for_emit(&[0, 1], &[0.0, 0.0])
                .unwrap()
                .is_empty()
        );
        assert!(
            convert_weights_and_uids_for_emit(&[], &[])
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            convert_weights_and_uids_for_emit(&[0], &[1.0, 2.0]),
            Err(ScoringError::WrongLength {
                what: "weights (must match uids)",
                expected: 1,
                actual: 2
            })
        );
        assert_eq!(
            convert_weights_and_uids_for_emit(&[0, 1], &[1.0, -0.5]),
            Err(ScoringError::InvalidWeight {
                index: 1,
                value: -0.5
            })
        );
        assert!(convert_weights_and_uids_for_emit(&[0], &[f32::NAN]).is_err());
    }

    #[test]
    fn weight_window_needs_both_conditions() {
        assert!(in_weight_window(100, 15));
        assert!(in_weight_window(500, 0));
        assert!(!in_weight_window(99, 0));
        assert!(!in_weight_window(1000, 16));
    }
}
