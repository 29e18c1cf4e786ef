//! The SN2 incentive function (§5.4 of the reference) as a circuit, bit-exact with the integer
//! arithmetic of the subnet's Circom circuit over its input domain.
//!
//! Per item, with `S = 10^8`:
//!
//! ```text
//! norm     = min(floor((rt - mn) S / (mx - mn)), 0.99 S)   // IntDiv of a clamped numerator
//! f        = f(norm)                                       // the response curve, a lookup
//! max_out  = floor(max_score (S - f) / S)
//! is_pos   = [prev < max_out]
//! dist     = verified ? |max_out - prev| : prev
//! change   = verified ? floor(dist / 10) : floor(2 dist / 5)   // rate * dist / S, rates 0.1 / 0.4
//! new      = verified && is_pos ? prev + change : prev - change
//! ```
//!
//! The clamp `min(q, 0.99 S)` is taken on the numerator (`min(num, (0.99 S + 1) den - 1)`), so the
//! quotient stays small however slow a response was. The circuit's constants (rates, weights,
//! the clamp) are baked into the verifying key; inputs carrying other constants are refused, as
//! are inputs outside the domain where the arithmetic above is exact (see [`Sn2Inputs`]).

use omron_ir::{ExactFn, Graph, GraphBuilder, IrError, Op, SN2_CURVE_MAX_INPUT};
use omron_scoring::{CircuitInputs, IncentiveParams, PowItem};
use rand::{Rng, RngCore};

use crate::CircuitError;

/// `S`, the fixed-point unit of the scoring arithmetic.
const S: i64 = 100_000_000;

/// Names of the graph inputs, in order (the reference's column order).
pub const SN2_INPUTS: [&str; 11] = [
    "maximum_score",
    "previous_score",
    "verified",
    "proof_size",
    "response_time",
    "competition",
    "maximum_response_time",
    "minimum_response_time",
    "block_number",
    "validator_uid",
    "miner_uid",
];

/// Largest response-time span (`rt - min`, `max - min`) the circuit accepts: `2^34`
/// (about 171 s once scaled by `10^8`).
pub const SN2_MAX_TIME_SPAN: i64 = 1 << 34;

/// Largest previous score the circuit accepts (the Circom range check, `2^40`).
pub const SN2_MAX_SCORE: i64 = 1 << 40;

/// The SN2 scoring graph over batches of `batch` items.
pub fn sn2_graph(batch: usize) -> Result<Graph, IrError> {
    let mut g = GraphBuilder::new();
    let col: Vec<usize> = SN2_INPUTS.iter().map(|n| g.input(n, &[batch], 0)).collect();
    let (ms, prev, verified) = (col[0], col[1], col[2]);
    let (rt, mx, mn) = (col[4], col[6], col[7]);
    let s = g.scalar("S", 0, S);
    let one = g.scalar("one", 0, 1);
    let two = g.scalar("two", 0, 2);
    let cap_factor = g.scalar("MAXD+1", 0, SN2_CURVE_MAX_INPUT + 1);
    let wide = |bits: u32| (-(1i64 << bits), 1i64 << bits);

    // norm = min(floor(num / den), MAXD), clamping the numerator so the quotient stays small.
    let span = g.node("span", Op::Sub, &[rt, mn])?;
    let num = g.node("num", Op::Mul, &[span, s])?;
    let den = g.node("den", Op::Sub, &[mx, mn])?;
    let cap_plus = g.node("cap_plus", Op::Mul, &[den, cap_factor])?;
    let cap = g.node("cap", Op::Sub, &[cap_plus, one])?;
    let over = g.node("over", Op::Sub, &[num, cap])?;
    let (lo, hi) = wide(61);
    let excess = g.node(
        "excess",
        Op::WideLookup {
            f: ExactFn::Relu,
            lo,
            hi,
        },
        &[over],
    )?;
    let clamped = g.node("num_clamped", Op::Sub, &[num, excess])?;
    let norm = g.node(
        "norm",
        Op::IntDiv {
            den_bits: 34,
            quot_bits: 27,
        },
        &[clamped, den],
    )?;

    // f(norm), fraction = S - f, max_out = floor(max_score * fraction / S).
    let curve = Op::WideLookup {
        f: ExactFn::Sn2ResponseCurve,
        lo: 0,
        hi: SN2_CURVE_MAX_INPUT + 1,
    };
    let f = g.node("f", curve, &[norm])?;
    let fraction = g.node("fraction", Op::Sub, &[s, f])?;
    let scaled = g.node("max_score_x_fraction", Op::Mul, &[ms, fraction])?;
    let max_out = g.node("max_out", Op::DivFloor { divisor: S as u64 }, &[scaled])?;

    // is_pos, dist.
    let gap = g.node("gap", Op::Sub, &[max_out, prev])?;
    let (lo, hi) = wide(42);
    let is_pos = g.node(
        "is_pos",
        Op::WideLookup {
            f: ExactFn::Step,
            lo,
            hi,
        },
        &[gap],
    )?;
    let abs_gap = g.node(
        "abs_gap",
        Op::WideLookup {
            f: ExactFn::Abs,
            lo,
            hi,
        },
        &[gap],
    )?;
    let to_abs = g.node("abs_minus_prev", Op::Sub, &[abs_gap, prev])?;
    let pick = g.node("verified_x_abs_minus_prev", Op::Mul, &[verified, to_abs])?;
    let dist = g.node("dist", Op::Add, &[prev, pick])?;

    // change = verified ? floor(dist / 10) : floor(2 dist / 5).
    let recovery = g.node("recovery", Op::DivFloor { divisor: 10 }, &[dist])?;
    let double = g.node("dist_x2", Op::Mul, &[dist, two])?;
    let decay = g.node("decay", Op::DivFloor { divisor: 5 }, &[double])?;
    let delta = g.node("recovery_minus_decay", Op::Sub, &[recovery, decay])?;
    let chosen = g.node("verified_x_delta", Op::Mul, &[verified, delta])?;
    let change = g.node("change", Op::Add, &[decay, chosen])?;

    // new = prev - change + 2 * verified * is_pos * change.
    let up = g.node("verified_and_pos", Op::Mul, &[verified, is_pos])?;
    let up_change = g.node("up_change", Op::Mul, &[up, change])?;
    let up_twice = g.node("up_change_x2", Op::Mul, &[up_change, two])?;
    let down = g.node("prev_minus_change", Op::Sub, &[prev, change])?;
    let new_score = g.node("new_score", Op::Add, &[down, up_twice])?;

    let copy = |g: &mut GraphBuilder, name: &str, t: usize| {
        g.node(name, Op::Reshape { shape: vec![batch] }, &[t])
    };
    let block_out = copy(&mut g, "block_number_out", col[8])?;
    let miner_out = copy(&mut g, "miner_uid_out", col[10])?;
    let validator_out = copy(&mut g, "validator_uid_out", col[9])?;
    g.finish(&[new_score, block_out, miner_out, validator_out])
}

/// A benchmark batch as the reference's `generate()` draws it (§3.3a), in seconds before
/// scaling: one minimum response time for the batch, a maximum up to 60 s above it (at least
/// 1 s), response times between them, max score `1/256`, previous scores below it, random
/// verification flags, proof sizes, uids, blocks and competition scores; then the 16 nonce
/// slots are filled at random.
pub fn benchmark_inputs(
    batch: usize,
    rng: &mut impl RngCore,
) -> Result<CircuitInputs, CircuitError> {
    let min = rng.r#gen::<f32>() * 60.0;
    let max = min + (rng.r#gen::<f32>() * 60.0).max(1.0);
    let max_score = 1.0 / 256.0f32;
    let items: Vec<PowItem> = (0..batch)
        .map(|_| PowItem {
            maximum_score: max_score,
            previous_score: rng.r#gen::<f32>() * max_score,
            verified: rng.r#gen::<bool>(),
            proof_size: rng.gen_range(0..=5000),
            response_time: min + rng.r#gen::<f32>() * (max - min),
            competition: rng.r#gen::<f32>(),
            maximum_response_time: max,
            minimum_response_time: min,
            block_number: rng.gen_range(3_000_000..10_000_000),
            validator_uid: rng.gen_range(0..256),
            miner_uid: rng.gen_range(0..256),
        })
        .collect();
    let nonce: [u16; 16] = std::array::from_fn(|_| rng.r#gen());
    CircuitInputs::from_pow_items(&items, batch, &nonce)
        .map_err(|e| CircuitError::Input(format!("benchmark batch: {e}")))
}

/// The inputs of one batch, checked against the circuit's constants and domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sn2Inputs {
    /// The graph inputs, one vector per [`SN2_INPUTS`] entry.
    pub columns: Vec<Vec<i64>>,
}

fn domain(what: &str, detail: String) -> CircuitError {
    CircuitError::Input(format!("SN2 scoring input '{what}': {detail}"))
}

impl Sn2Inputs {
    /// Checks `inputs` (a processed batch, as the validator builds it or a
    /// `ProofOfWeightsSynapse` carries it) and lays it out for a circuit of `batch` items.
    pub fn new(inputs: &CircuitInputs, batch: usize) -> Result<Sn2Inputs, CircuitError> {
        let defaults = IncentiveParams::default();
        let expected = [
            (
                "RATE_OF_DECAY",
                inputs.rate_of_decay,
                defaults.rate_of_decay,
            ),
            (
                "RATE_OF_RECOVERY",
                inputs.rate_of_recovery,
                defaults.rate_of_recovery,
            ),
            (
                "RESPONSE_TIME_WEIGHT",
                inputs.response_time_weight,
                defaults.response_time_weight,
            ),
            (
                "PROOF_SIZE_WEIGHT",
                inputs.proof_size_weight,
                defaults.proof_size_weight,
            ),
            (
                "COMPETITION_WEIGHT",
                inputs.competition_weight,
                defaults.competition_weight,
            ),
            (
                "MAXIMUM_RESPONSE_TIME_DECIMAL",
                inputs.maximum_response_time_decimal,
                defaults.maximum_response_time_decimal,
            ),
            ("scaling", inputs.scaling, S as u64),
        ];
        for (name, got, want) in expected {
            if got != want {
                return Err(domain(
                    name,
                    format!("is {got}; this circuit is built for {want}"),
                ));
            }
        }
        let lens = [
            inputs.maximum_score.len(),
            inputs.previous_score.len(),
            inputs.verified.len(),
            inputs.proof_size.len(),
            inputs.response_time.len(),
            inputs.competition.len(),
            inputs.maximum_response_time.len(),
            inputs.minimum_response_time.len(),
            inputs.block_number.len(),
            inputs.validator_uid.len(),
            inputs.miner_uid.len(),
        ];
        if let Some(bad) = lens.iter().position(|&l| l != batch) {
            return Err(domain(
                SN2_INPUTS[bad],
                format!("has {} items, the circuit takes {batch}", lens[bad]),
            ));
        }
        let u = |v: &[u64], name: &str, bound: i64| -> Result<Vec<i64>, CircuitError> {
            v.iter()
                .map(|&x| {
                    i64::try_from(x)
                        .ok()
                        .filter(|&x| x < bound)
                        .ok_or_else(|| domain(name, format!("{x} is not below {bound}")))
                })
                .collect()
        };
        let signed = |v: &[i64], name: &str| -> Result<Vec<i64>, CircuitError> {
            v.iter()
                .map(|&x| {
                    if x.unsigned_abs() < 1 << 53 {
                        Ok(x)
                    } else {
                        Err(domain(name, format!("{x} is too large")))
                    }
                })
                .collect()
        };
        let rt = u(&inputs.response_time, "response_time", SN2_MAX_SCORE)?;
        let mx = u(
            &inputs.maximum_response_time,
            "maximum_response_time",
            SN2_MAX_SCORE,
        )?;
        let mn = u(
            &inputs.minimum_response_time,
            "minimum_response_time",
            SN2_MAX_SCORE,
        )?;
        for i in 0..batch {
            if rt[i] < mn[i] || rt[i] - mn[i] >= SN2_MAX_TIME_SPAN {
                return Err(domain(
                    "response_time",
                    format!("item {i}: {} - {} is outside [0, 2^34)", rt[i], mn[i]),
                ));
            }
            if mx[i] <= mn[i] || mx[i] - mn[i] >= SN2_MAX_TIME_SPAN {
                return Err(domain(
                    "maximum_response_time",
                    format!("item {i}: {} - {} is outside [1, 2^34)", mx[i], mn[i]),
                ));
            }
        }
        let columns = vec![
            u(&inputs.maximum_score, "maximum_score", S + 1)?,
            u(&inputs.previous_score, "previous_score", SN2_MAX_SCORE)?,
            inputs.verified.iter().map(|&v| i64::from(v)).collect(),
            u(&inputs.proof_size, "proof_size", 1 << 53)?,
            rt,
            u(&inputs.competition, "competition", 1 << 53)?,
            mx,
            mn,
            signed(&inputs.block_number, "block_number")?,
            signed(&inputs.validator_uid, "validator_uid")?,
            signed(&inputs.miner_uid, "miner_uid")?,
        ];
        Ok(Sn2Inputs { columns })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graph_is_valid_and_deterministic() {
        let a = sn2_graph(4).unwrap();
        let b = sn2_graph(4).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.inputs.len(), 11);
        assert_eq!(a.outputs.len(), 4);
    }
}
