//! The exact integer incentive function of the SN2 proof-of-weights circuit (§5.4 of the
//! reference): `IncentiveMechanism(batch_size, bits = 40)`, one row per score update.
//!
//! All quantities are non-negative integers scaled by `S = 1e8`; `//` is floor division. For
//! one item:
//!
//! ```text
//! norm      = min(((rt - min_rt) * S) // (max_rt - min_rt), MAXIMUM_RESPONSE_TIME_DECIMAL)
//! f         = f(norm)                      odd polynomial around 0.5, see [`response_curve`]
//! fraction  = min(((S - f) * RTW) // S + 0 + (competition * CW) // S, S)
//! max_out   = (maximum_score * fraction) // S
//! verified:   new = prev +/- (RATE_OF_RECOVERY * |max_out - prev|) // S   (towards max_out)
//! unverified: new = prev - (RATE_OF_DECAY * prev) // S
//! ```
//!
//! The circuit computes in the BN254 field. Where a true integer difference would be negative
//! it wraps and witness generation fails; where a quotient exceeds its 40-bit range check it
//! fails too. [`evaluate`] returns a [`ScoringError`] in exactly those places, and otherwise the
//! number the circuit's witness holds (checked bit for bit against the reference's integer
//! model, `data/omron/score_model.py`, by this crate's tests).

use crate::constants::{
    COMPETITION_WEIGHT_SCALED, FLATTENING_COEFFICIENT_SCALED, MAXIMUM_RESPONSE_TIME_DECIMAL_SCALED,
    PROOF_SIZE_THRESHOLD_SCALED, PROOF_SIZE_WEIGHT_SCALED, RANGE_BOUND, RATE_OF_DECAY_SCALED,
    RATE_OF_RECOVERY_SCALED, RESPONSE_TIME_WEIGHT_SCALED, SCALING,
};
use crate::error::{Result, ScoringError};
use crate::wide::pow5_floor_div;

/// Midpoint of the response curve: `0.5` scaled.
const HALF: u64 = 50_000_000;
/// `f(0.5)` before the odd terms: the constant of the polynomial.
const CURVE_C0: u128 = 41_735_537;
/// Linear coefficient as a fraction: `20 / 121 ~ 0.16528926`.
const CURVE_LINEAR_NUM: u128 = 20;
const CURVE_LINEAR_DEN: u128 = 121;
/// Cubic divisor: `shift^3 // 3.025e17`, i.e. coefficient `0.0330579` in real units.
const CURVE_CUBIC_DIV: u128 = 302_500_000_000_000_000;
/// Quintic divisor: `shift^5 // 7.5625e30`, i.e. coefficient `13.2231` in real units.
const CURVE_QUINTIC_DIV: u128 = 7_562_500_000_000_000_000_000_000_000_000;

/// The eight scalar parameters of the circuit, already scaled by 1e8 (`int(c * 1e8)`).
///
/// Only `rate_of_decay`, `rate_of_recovery`, `response_time_weight`,
/// `maximum_response_time_decimal` and `competition_weight` affect the result;
/// `flattening_coefficient`, `proof_size_threshold` and `proof_size_weight` are public inputs
/// the circuit ignores, kept so that a batch's public signals can be rebuilt exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IncentiveParams {
    /// Fraction of the score lost per unverified response (`0.4`).
    pub rate_of_decay: u64,
    /// Fraction of the distance to the target gained per verified response (`0.1`).
    pub rate_of_recovery: u64,
    /// Unused by the circuit (`0.9`).
    pub flattening_coefficient: u64,
    /// Unused by the circuit (`3648`).
    pub proof_size_threshold: u64,
    /// Unused by the circuit (`0`).
    pub proof_size_weight: u64,
    /// Weight of the response-time metric (`1`).
    pub response_time_weight: u64,
    /// Upper clamp of the normalised response time (`0.99`); must be below `2^40`.
    pub maximum_response_time_decimal: u64,
    /// Weight of the competition score (`0`).
    pub competition_weight: u64,
}

impl Default for IncentiveParams {
    /// The parameters the reference validator sends (`input.py` of the PoW circuit).
    fn default() -> Self {
        Self {
            rate_of_decay: RATE_OF_DECAY_SCALED,
            rate_of_recovery: RATE_OF_RECOVERY_SCALED,
            flattening_coefficient: FLATTENING_COEFFICIENT_SCALED,
            proof_size_threshold: PROOF_SIZE_THRESHOLD_SCALED,
            proof_size_weight: PROOF_SIZE_WEIGHT_SCALED,
            response_time_weight: RESPONSE_TIME_WEIGHT_SCALED,
            maximum_response_time_decimal: MAXIMUM_RESPONSE_TIME_DECIMAL_SCALED,
            competition_weight: COMPETITION_WEIGHT_SCALED,
        }
    }
}

/// One row of the circuit's inputs: a score update in scaled integers.
///
/// `block_number`, `validator_uid` and `miner_uid` do not enter the arithmetic; the circuit
/// copies them to its outputs so that a proof binds each new score to its miner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct CircuitItem {
    /// `int(max_score * 1e8)`: the score a perfect miner converges to.
    pub maximum_score: u64,
    /// `int(previous_score * 1e8)`; must be below `2^40`.
    pub previous_score: u64,
    /// Whether the proof verified; must be 0 or 1.
    pub verified: u64,
    /// `proof_size * 1e8`; ignored by the arithmetic.
    pub proof_size: u64,
    /// `int(response_time * 1e8)`, seconds.
    pub response_time: u64,
    /// `int(competition * 1e8)`.
    pub competition: u64,
    /// `int(maximum_response_time * 1e8)`, seconds.
    pub maximum_response_time: u64,
    /// `int(minimum_response_time * 1e8)`, seconds.
    pub minimum_response_time: u64,
    /// Block the response was scored at (copied to the output).
    pub block_number: i64,
    /// The validator's uid, or a nonce in the last 16 slots (copied to the output).
    pub validator_uid: i64,
    /// The miner's uid; `-1` for padding (copied to the output).
    pub miner_uid: i64,
}

/// Every intermediate of one item's evaluation, for logs, dashboards and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreTrace {
    /// Normalised response time after the clamp, scaled.
    pub norm: u64,
    /// `f(norm)`, scaled.
    pub curve: u64,
    /// `((S - f) * RTW) // S`.
    pub response_time_metric: u64,
    /// `(competition * CW) // S`.
    pub competition_metric: u64,
    /// The clamped sum of the metrics: the fraction of `maximum_score` this response earns.
    pub fraction: u64,
    /// `(maximum_score * fraction) // S`: the target the score moves towards.
    pub max_out: u64,
    /// Amount the score moves.
    pub change: u64,
    /// The new score, scaled.
    pub new_score: u64,
}

/// Outputs of a batch, in the circuit's output order (`new_score, block_number_out,
/// miner_uid_out, validator_uid_out`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchOutput {
    /// New scores, scaled by 1e8.
    pub new_score: Vec<u64>,
    /// Copies of the inputs' block numbers.
    pub block_number: Vec<i64>,
    /// Copies of the inputs' miner uids.
    pub miner_uid: Vec<i64>,
    /// Copies of the inputs' validator uids.
    pub validator_uid: Vec<i64>,
}

fn check_range(field: &'static str, value: u128) -> Result<()> {
    if value < u128::from(RANGE_BOUND) {
        Ok(())
    } else {
        Err(ScoringError::OutOfRange {
            field,
            value,
            bound: u128::from(RANGE_BOUND),
        })
    }
}

fn sub(what: &'static str, a: u128, b: u128) -> Result<u128> {
    a.checked_sub(b).ok_or(ScoringError::NegativeDifference {
        what,
        minuend: a,
        subtrahend: b,
    })
}

/// The circuit's response curve `f(norm)` (its `ScoringFunction`), in scaled integers.
///
/// In real units `f(x) ~ 0.41735537 + 0.16528926 x +/- 0.0330579 |x - 0.5|^3 +/- 13.2231
/// |x - 0.5|^5`, an odd polynomial around `(0.5, 0.5)` with `f(0) = 0` and `f(1) ~ 1` that
/// approximates the normalised tangent curve of the legacy float reward. The `+` signs apply
/// above `0.5`, the `-` signs below.
///
/// `norm` must be below `2^40` (the circuit's range); the result can exceed `S` when `norm`
/// does, which [`evaluate`] then rejects.
pub fn response_curve(norm: u64) -> Result<u128> {
    check_range("norm", u128::from(norm))?;
    let n = u128::from(norm);
    let c0 = CURVE_C0 + (n * CURVE_LINEAR_NUM) / CURVE_LINEAR_DEN;
    let above = norm > HALF;
    let shift = norm.abs_diff(HALF);
    let s = u128::from(shift);
    let t3 = (s * s * s) / CURVE_CUBIC_DIV; // shift < 2^40, so shift^3 < 2^120
    let t5 = pow5_floor_div(shift, CURVE_QUINTIC_DIV).ok_or(ScoringError::Overflow {
        what: "shift^5 // 7562500000000000000000000000000",
    })?;
    if above {
        Ok(c0 + t3 + t5)
    } else {
        // Below the midpoint the odd terms are subtracted. Over 0 <= norm <= 5e7 the result
        // stays >= 0 (f(0) = 0 exactly); a negative value here would mean a wrapped field
        // element in the circuit.
        let c1 = sub("f(norm): c0 - shift^3 term", c0, t3)?;
        sub("f(norm): c1 - shift^5 term", c1, t5)
    }
}

/// Evaluates one item and returns every intermediate. See the module docs for the formula.
///
/// # Errors
/// The circuit's failure modes: `verified` not 0/1, `maximum_response_time ==
/// minimum_response_time`, a negative difference (`response_time < minimum_response_time`,
/// `maximum_response_time < minimum_response_time`, `S < f(norm)`, or a decrease larger than
/// the score), and range-checked values (`norm`, `previous_score`, `max_out`,
/// `maximum_response_time_decimal`) at or above `2^40`.
pub fn evaluate(params: &IncentiveParams, item: &CircuitItem) -> Result<ScoreTrace> {
    let s = u128::from(SCALING);
    if item.verified > 1 {
        return Err(ScoringError::NotBoolean {
            field: "verified",
            value: item.verified,
        });
    }
    let verified = item.verified == 1;
    check_range(
        "MAXIMUM_RESPONSE_TIME_DECIMAL",
        u128::from(params.maximum_response_time_decimal),
    )?;
    check_range("previous_score", u128::from(item.previous_score))?;

    // Normalised response time.
    let rt = u128::from(item.response_time);
    let min_rt = u128::from(item.minimum_response_time);
    let max_rt = u128::from(item.maximum_response_time);
    if max_rt == min_rt {
        return Err(ScoringError::EqualResponseTimeBounds {
            value: item.maximum_response_time,
        });
    }
    let span = sub(
        "maximum_response_time - minimum_response_time",
        max_rt,
        min_rt,
    )?;
    let elapsed = sub("response_time - minimum_response_time", rt, min_rt)?;
    let raw_norm = (elapsed * s) / span; // elapsed < 2^64, so the product < 2^91
    check_range("norm", raw_norm)?;
    let norm = raw_norm.min(u128::from(params.maximum_response_time_decimal)) as u64;

    // Metrics.
    let curve = response_curve(norm)?;
    let rt_metric = (sub("S - f(norm)", s, curve)? * u128::from(params.response_time_weight)) / s;
    let comp_metric = (u128::from(item.competition) * u128::from(params.competition_weight)) / s;
    // The proof-size metric is zero in the circuit whatever PROOF_SIZE_WEIGHT says.
    let fraction = (rt_metric + comp_metric).min(s);
    let max_out = (u128::from(item.maximum_score) * fraction) / s;
    check_range("max_out", max_out)?;

    // Score movement.
    let prev = u128::from(item.previous_score);
    let (new_score, change) = if verified {
        let change = (u128::from(params.rate_of_recovery) * prev.abs_diff(max_out)) / s;
        if prev < max_out {
            (prev + change, change)
        } else {
            (sub("previous_score - change", prev, change)?, change)
        }
    } else {
        let change = (u128::from(params.rate_of_decay) * prev) / s;
        (sub("previous_score - change", prev, change)?, change)
    };

    // The narrowing casts below are exact: every value is bounded by 2^40 or by S * 2^64 / S.
    let to_u64 =
        |what: &'static str, v: u128| u64::try_from(v).map_err(|_| ScoringError::Overflow { what });
    Ok(ScoreTrace {
        norm,
        curve: to_u64("f(norm)", curve)?,
        response_time_metric: to_u64("response time metric", rt_metric)?,
        competition_metric: to_u64("competition metric", comp_metric)?,
        fraction: to_u64("fraction", fraction)?,
        max_out: to_u64("max_out", max_out)?,
        change: to_u64("change", change)?,
        new_score: to_u64("new_score", new_score)?,
    })
}

/// The new score of one item, scaled by 1e8. See [`evaluate`] for the errors.
pub fn new_score(params: &IncentiveParams, item: &CircuitItem) -> Result<u64> {
    evaluate(params, item).map(|t| t.new_score)
}

/// Evaluates a batch the way the circuit does: all items or nothing. The first failing item's
/// error is returned with its index.
pub fn evaluate_batch(params: &IncentiveParams, items: &[CircuitItem]) -> Result<BatchOutput> {
    let mut out = BatchOutput {
        new_score: Vec::with_capacity(items.len()),
        block_number: Vec::with_capacity(items.len()),
        miner_uid: Vec::with_capacity(items.len()),
        validator_uid: Vec::with_capacity(items.len()),
    };
    for (index, item) in items.iter().enumerate() {
        let score = new_score(params, item).map_err(|e| ScoringError::BatchItem {
            index,
            source: Box::new(e),
        })?;
        out.new_score.push(score);
        out.block_number.push(item.block_number);
        out.miner_uid.push(item.miner_uid);
        out.validator_uid.push(item.validator_uid);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = SCALING;

    /// The f(x) table of §5.4: x, f(x) scaled.
    const CURVE_TABLE: [(f64, u64); 7] = [
        (0.0, 0),
        (0.1, 29_636_364),
        (0.25, 44_524_794),
        (0.5, 49_999_999),
        (0.75, 55_475_205),
        (0.9, 70_363_635),
        (0.99, 95_840_194),
    ];

    #[test]
    fn curve_matches_reference_table() {
        for (x, expected) in CURVE_TABLE {
            let norm = (x * S as f64) as u64; // int(x * S) as the table's script does
            assert_eq!(
                response_curve(norm).unwrap(),
                u128::from(expected),
                "f({x})"
            );
            // The table's second column: 1 - f(x).
            assert_eq!(S - expected, S - response_curve(norm).unwrap() as u64);
        }
    }

    #[test]
    fn curve_end_points_and_monotonicity() {
        assert_eq!(response_curve(0).unwrap(), 0);
        assert_eq!(response_curve(S).unwrap(), 99_999_999);
        let mut last = 0;
        for norm in (0..=S).step_by(997) {
            let f = response_curve(norm).unwrap();
            assert!(f >= last, "f must not decrease: f({norm}) = {f} < {last}");
            last = f;
        }
    }

    fn item(prev: u64, verified: u64, rt_s: u64) -> CircuitItem {
        CircuitItem {
            maximum_score: (1.0 / 256.0 * S as f64) as u64,
            previous_score: prev,
            verified,
            response_time: rt_s * S,
            minimum_response_time: 5 * S,
            maximum_response_time: 15 * S,
            ..CircuitItem::default()
        }
    }

    #[test]
    fn reference_vectors_a_to_d() {
        let p = IncentiveParams::default();
        assert_eq!(item(0, 1, 5).maximum_score, 390_625);
        assert_eq!(new_score(&p, &item(0, 1, 5)).unwrap(), 39_062, "A");
        assert_eq!(new_score(&p, &item(0, 1, 10)).unwrap(), 19_531, "B");
        assert_eq!(new_score(&p, &item(300_000, 0, 15)).unwrap(), 180_000, "C");
        assert_eq!(new_score(&p, &item(390_625, 1, 10)).unwrap(), 371_094, "D");
    }

    #[test]
    fn unverified_multiplies_by_point_six_whatever_the_time() {
        let p = IncentiveParams::default();
        for rt in [5, 7, 15, 40] {
            assert_eq!(new_score(&p, &item(1_000_000, 0, rt)).unwrap(), 600_000);
        }
    }

    #[test]
    fn slow_responses_are_clamped_to_ninety_nine_percent() {
        let p = IncentiveParams::default();
        let t = evaluate(&p, &item(0, 1, 60)).unwrap();
        assert_eq!(t.norm, MAXIMUM_RESPONSE_TIME_DECIMAL_SCALED);
        assert_eq!(t.curve, 95_840_194);
        assert_eq!(t.fraction, S - 95_840_194);
    }

    #[test]
    fn circuit_failure_modes_are_errors() {
        let p = IncentiveParams::default();
        assert_eq!(
            new_score(&p, &item(0, 2, 10)),
            Err(ScoringError::NotBoolean {
                field: "verified",
                value: 2
            })
        );
        assert!(matches!(
            new_score(&p, &item(0, 1, 4)),
            Err(ScoringError::NegativeDifference {
                what: "response_time - minimum_response_time",
                ..
            })
        ));
        let mut equal = item(0, 1, 10);
        equal.maximum_response_time = equal.minimum_response_time;
        assert_eq!(
            new_score(&p, &equal),
            Err(ScoringError::EqualResponseTimeBounds { value: 5 * S })
        );
        let mut inverted = item(0, 1, 10);
        inverted.maximum_response_time = S;
        assert!(matches!(
            new_score(&p, &inverted),
            Err(ScoringError::NegativeDifference { .. })
        ));
        assert!(matches!(
            new_score(&p, &item(RANGE_BOUND, 1, 10)),
            Err(ScoringError::OutOfRange {
                field: "previous_score",
                ..
            })
        ));
        let mut huge_target = item(0, 1, 10);
        huge_target.maximum_score = 3 * RANGE_BOUND;
        assert!(matches!(
            new_score(&p, &huge_target),
            Err(ScoringError::OutOfRange {
                field: "max_out",
                ..
            })
        ));
        let bad_params = IncentiveParams {
            maximum_response_time_decimal: RANGE_BOUND,
            ..p
        };
        assert!(matches!(
            new_score(&bad_params, &item(0, 1, 10)),
            Err(ScoringError::OutOfRange {
                field: "MAXIMUM_RESPONSE_TIME_DECIMAL",
                ..
            })
        ));
        // A clamp above 1.0 lets f exceed S for slow responses: 1 - f is negative.
        let loose = IncentiveParams {
            maximum_response_time_decimal: 2 * S,
            ..p
        };
        assert!(matches!(
            new_score(&loose, &item(0, 1, 60)),
            Err(ScoringError::NegativeDifference {
                what: "S - f(norm)",
                ..
            })
        ));
    }

    #[test]
    fn batch_fails_as_a_whole_with_the_index() {
        let p = IncentiveParams::default();
        let mut items = vec![item(0, 1, 5); 4];
        items[2].verified = 7;
        let err = evaluate_batch(&p, &items).unwrap_err();
        assert_eq!(
            err,
            ScoringError::BatchItem {
                index: 2,
                source: Box::new(ScoringError::NotBoolean {
                    field: "verified",
                    value: 7
                })
            }
        );
        items[2].verified = 1;
        items[3].miner_uid = 42;
        items[3].block_number = 7;
        let out = evaluate_batch(&p, &items).unwrap();
        assert_eq!(out.new_score, vec![39_062; 4]);
        assert_eq!(out.miner_uid, vec![0, 0, 0, 42]);
        assert_eq!(out.block_number, vec![0, 0, 0, 7]);
    }

    #[test]
    fn ignored_parameters_do_not_change_the_result() {
        let p = IncentiveParams::default();
        let q = IncentiveParams {
            flattening_coefficient: 1,
            proof_size_threshold: 2,
            proof_size_weight: S,
            ..p
        };
        for rt in [5, 6, 9, 14] {
            let mut it = item(123_456, 1, rt);
            it.proof_size = 999 * S;
            assert_eq!(new_score(&p, &it), new_score(&q, &it));
        }
    }
}
