//! Proof-of-weights items (§5.3) and the scaling of their values for the circuit.
//!
//! The reference keeps each score update as a `ProofOfWeightsItem` of torch tensors: floats are
//! **float32**, integers int64. When a batch is proved (or its witness computed), the items
//! become Python floats (`.item()`, so they carry float32 rounding) and the circuit's input
//! handler scales them with `int(x * 100000000)`: a float64 multiply, then truncation. Integers
//! (`proof_size`) are multiplied exactly. [`PowItem`] stores the same float32 values and
//! [`PowItem::to_circuit_item`] performs the same two roundings, so the scaled integers are the
//! ones the Python validator would send.

use serde::{Deserialize, Serialize};

use crate::constants::{
    DEFAULT_MAX_SCORE, DEFAULT_PROOF_SIZE, SCALING, VALIDATOR_REQUEST_TIMEOUT_SECONDS,
};
use crate::error::{Result, ScoringError};
use crate::incentive::CircuitItem;

/// One queued score update, with the reference's float32 rounding already applied.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowItem {
    /// `1 / len(scores)`: the score a perfect miner converges to.
    pub maximum_score: f32,
    /// The miner's score when the response was scored.
    pub previous_score: f32,
    /// Whether the proof verified.
    pub verified: bool,
    /// Proof size in bytes.
    pub proof_size: i64,
    /// Response time in seconds (the adjusted maximum when unverified).
    pub response_time: f32,
    /// Competition score (0 outside competition items).
    pub competition: f32,
    /// Maximum response time used for normalisation, seconds.
    pub maximum_response_time: f32,
    /// Minimum response time used for normalisation, seconds.
    pub minimum_response_time: f32,
    /// Block at scoring time.
    pub block_number: i64,
    /// The validator's uid.
    pub validator_uid: i64,
    /// The miner's uid; `-1` for padding.
    pub miner_uid: i64,
}

/// What the validator knows about one scored response (the parts of `MinerResponse` the PoW
/// item uses).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredResponse {
    /// Miner uid.
    pub uid: u16,
    /// Whether the proof verified.
    pub verified: bool,
    /// Proof size in bytes ([`DEFAULT_PROOF_SIZE`] when unverified).
    pub proof_size: u64,
    /// Response time in seconds, network included.
    pub response_time: f64,
}

impl PowItem {
    /// `ProofOfWeightsItem.from_miner_response` (§5.3).
    ///
    /// `maximum_response_time` and `minimum_response_time` are the circuit's current
    /// statistics (§5.2). When they are less than one second apart the maximum is raised to
    /// `min + 1.0` (in float64, before the float32 rounding), which also keeps the circuit's
    /// division well defined. An unverified response's time is that adjusted maximum, so it
    /// normalises to 1.0 (clamped to 0.99).
    #[allow(clippy::too_many_arguments)] // mirrors the reference signature one to one
    pub fn from_response(
        response: &ScoredResponse,
        maximum_score: f64,
        previous_score: f32,
        maximum_response_time: f64,
        minimum_response_time: f64,
        block_number: i64,
        validator_uid: i64,
        competition: f64,
    ) -> Self {
        let adjusted_max = if maximum_response_time - minimum_response_time < 1.0 {
            minimum_response_time + 1.0
        } else {
            maximum_response_time
        };
        let response_time = if response.verified {
            response.response_time
        } else {
            adjusted_max
        };
        Self {
            maximum_score: maximum_score as f32,
            previous_score,
            verified: response.verified,
            proof_size: i64::try_from(response.proof_size).unwrap_or(i64::MAX),
            response_time: response_time as f32,
            competition: competition as f32,
            maximum_response_time: adjusted_max as f32,
            minimum_response_time: minimum_response_time as f32,
            block_number,
            validator_uid,
            miner_uid: i64::from(response.uid),
        }
    }

    /// `ProofOfWeightsItem.empty()`: the padding item. Its `miner_uid` is `-1`, so its output
    /// is never applied to a score.
    pub fn empty() -> Self {
        Self {
            maximum_score: DEFAULT_MAX_SCORE as f32,
            previous_score: 0.0,
            verified: false,
            proof_size: DEFAULT_PROOF_SIZE as i64,
            response_time: VALIDATOR_REQUEST_TIMEOUT_SECONDS as f32,
            competition: 0.0,
            maximum_response_time: VALIDATOR_REQUEST_TIMEOUT_SECONDS as f32,
            minimum_response_time: 0.0,
            block_number: 0,
            validator_uid: 0,
            miner_uid: -1,
        }
    }

    /// `ProofOfWeightsItem.for_competition` (§5.6): queued for a non-queryable miner that has
    /// a competition state. With `COMPETITION_WEIGHT = 0` it yields the constant fraction
    /// `1 - f(0.99)` of the maximum score and no competition bonus.
    pub fn for_competition(
        uid: u16,
        maximum_score: f64,
        competition_score: f64,
        block_number: i64,
        validator_uid: i64,
    ) -> Self {
        Self {
            maximum_score: maximum_score as f32,
            previous_score: 0.0,
            verified: true,
            proof_size: 1,
            response_time: 1.0,
            competition: competition_score as f32,
            maximum_response_time: 1.0,
            minimum_response_time: 0.0,
            block_number,
            validator_uid,
            miner_uid: i64::from(uid),
        }
    }

    /// The scaled circuit row, with the validator uid as stored (the nonce slots are applied
    /// by [`crate::CircuitInputs`]).
    pub fn to_circuit_item(&self) -> Result<CircuitItem> {
        Ok(CircuitItem {
            maximum_score: scale_float("maximum_score", f64::from(self.maximum_score))?,
            previous_score: scale_float("previous_score", f64::from(self.previous_score))?,
            verified: u64::from(self.verified),
            proof_size: scale_int("proof_size", self.proof_size)?,
            response_time: scale_float("response_time", f64::from(self.response_time))?,
            competition: scale_float("competition", f64::from(self.competition))?,
            maximum_response_time: scale_float(
                "maximum_response_time",
                f64::from(self.maximum_response_time),
            )?,
            minimum_response_time: scale_float(
                "minimum_response_time",
                f64::from(self.minimum_response_time),
            )?,
            block_number: self.block_number,
            validator_uid: self.validator_uid,
            miner_uid: self.miner_uid,
        })
    }
}

/// `int(x * 100000000)` for a Python float: float64 multiply, truncate toward zero.
///
/// # Errors
/// [`ScoringError::Unscalable`] for NaN, infinities and results outside `0..2^64` (Python
/// would raise for the first two and send a negative field element for negatives, which no
/// subnet value can be).
pub fn scale_float(field: &'static str, x: f64) -> Result<u64> {
    let scaled = (x * SCALING as f64).trunc();
    // 2^64 as f64 is exact; anything at or above it does not fit.
    if (0.0..18_446_744_073_709_551_616.0).contains(&scaled) {
        Ok(scaled as u64)
    } else {
        Err(ScoringError::Unscalable { field, value: x })
    }
}

/// `int(n * 100000000)` for a Python int: an exact product.
pub fn scale_int(field: &'static str, n: i64) -> Result<u64> {
    u64::try_from(n)
        .ok()
        .and_then(|n| n.checked_mul(SCALING))
        .ok_or(ScoringError::Unscalable {
            field,
            value: n as f64,
        })
}

/// A scaled score back to the float32 the reference stores: the witness value is read as a
/// float, made a float32 tensor and divided by the scaling in float32
/// (`torch.tensor([float(w)]) / 100000000`).
///
/// This does not invert the scaling: `0.00039062` (from `w = 39062`) scales back to `39061`,
/// because the float32 quotient is slightly below the decimal value and `int()` truncates. The
/// reference's scores drift down by such steps, and so do ours.
pub fn score_from_scaled(w: u64) -> f32 {
    (w as f32) / (SCALING as f32)
}

/// `ProofOfWeightsItem.pad_items`: exactly `target` items; padding with [`PowItem::empty`] at
/// the end, or keeping the last `target` items when there are more.
pub fn pad_items(items: &[PowItem], target: usize) -> Vec<PowItem> {
    if items.len() >= target {
        items[items.len() - target..].to_vec()
    } else {
        let mut out = items.to_vec();
        out.resize(target, PowItem::empty());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incentive::IncentiveParams;
    use crate::incentive::new_score;

    fn response(uid: u16, verified: bool, rt: f64) -> ScoredResponse {
        ScoredResponse {
            uid,
            verified,
            proof_size: if verified { 1234 } else { DEFAULT_PROOF_SIZE },
            response_time: rt,
        }
    }

    #[test]
    fn scaling_is_float32_then_float64_multiply_then_truncate() {
        // 1/256 is exact in float32: 390625.
        assert_eq!(
            scale_float("x", f64::from((1.0f64 / 256.0) as f32)).unwrap(),
            390_625
        );
        // 0.1 as float32 is 0.100000001490116...: 10000000.149 -> 10000000.
        assert_eq!(scale_float("x", f64::from(0.1f32)).unwrap(), 10_000_000);
        // 1/235 as float32 = 0.0042553190141916275 -> 425531.
        assert_eq!(
            PowItem::empty().to_circuit_item().unwrap().maximum_score,
            425_531
        );
        // 0.3 as float32 = 0.30000001192092896 -> 30000001.
        assert_eq!(scale_float("x", f64::from(0.3f32)).unwrap(), 30_000_001);
        assert_eq!(scale_int("proof_size", 5000).unwrap(), 500_000_000_000);
        assert!(scale_float("x", -1.0).is_err());
        assert!(scale_float("x", f64::NAN).is_err());
        assert!(scale_int("proof_size", -1).is_err());
    }

    #[test]
    fn score_round_trip_drifts_down_like_the_reference() {
        // The witness says 39062; the stored float32 score scales back to 39061.
        let stored = score_from_scaled(39_062);
        assert_eq!(
            scale_float("previous_score", f64::from(stored)).unwrap(),
            39_061
        );
        assert_eq!(score_from_scaled(0), 0.0);
    }

    #[test]
    fn unverified_items_use_the_adjusted_maximum() {
        let item = PowItem::from_response(
            &response(3, false, 7.0),
            1.0 / 256.0,
            0.5,
            10.0,
            9.5,
            100,
            1,
            0.0,
        );
        assert_eq!(item.maximum_response_time, 10.5);
        assert_eq!(item.response_time, 10.5);
        assert_eq!(item.minimum_response_time, 9.5);
        assert_eq!(item.proof_size, DEFAULT_PROOF_SIZE as i64);
        let item = PowItem::from_response(
            &response(3, true, 7.0),
            1.0 / 256.0,
            0.5,
            20.0,
            5.0,
            100,
            1,
            0.0,
        );
        assert_eq!(item.maximum_response_time, 20.0);
        assert_eq!(item.response_time, 7.0);
        assert_eq!(item.miner_uid, 3);
    }

    #[test]
    fn padding_and_competition_items_match_the_reference() {
        let e = PowItem::empty().to_circuit_item().unwrap();
        assert_eq!(
            (
                e.previous_score,
                e.verified,
                e.proof_size,
                e.response_time,
                e.maximum_response_time,
                e.miner_uid
            ),
            (0, 0, 500_000_000_000, 12_000_000_000, 12_000_000_000, -1)
        );
        let c = PowItem::for_competition(9, 1.0 / 256.0, 0.75, 55, 2);
        let ci = c.to_circuit_item().unwrap();
        assert_eq!(
            (
                ci.response_time,
                ci.maximum_response_time,
                ci.minimum_response_time
            ),
            (SCALING, SCALING, 0)
        );
        assert_eq!(ci.competition, 75_000_000);
        // §5.6: fraction = 1 - f(0.99); max_out = 390625 * 4159806 // 1e8 = 16249; a tenth of it.
        assert_eq!(new_score(&IncentiveParams::default(), &ci).unwrap(), 1624);
    }

    #[test]
    fn pad_items_pads_or_keeps_the_last() {
        let a = PowItem::for_competition(1, 0.1, 0.0, 0, 0);
        let b = PowItem::for_competition(2, 0.1, 0.0, 0, 0);
        assert_eq!(pad_items(&[], 3), vec![PowItem::empty(); 3]);
        assert_eq!(pad_items(&[a], 2), vec![a, PowItem::empty()]);
        assert_eq!(pad_items(&[a, b, a], 2), vec![b, a]);
    }
}
