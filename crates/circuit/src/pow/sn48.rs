//! The SN48 tiered weights (reference §3.3d) as a circuit, in fixed point.
//!
//! Over `n` scores:
//!
//! ```text
//! rank_i  = #{j : s_j > s_i or (s_j == s_i and j < i)}         // ties broken by index
//! tier_i  = top    if rank_i < T = max(1, floor(0.1 n))          (weight 0.7)
//!           next   if rank_i < T + N, N = max(1, floor(0.4 n))   (weight 0.2)
//!           bottom otherwise                                     (weight 0.1)
//! w_i     = s_i^2 / sum_{tier_i} s^2 * tier_weight                // tier_weight / |tier| if the sum is 0
//! w       = w / sum(w)
//! ```
//!
//! The ranking is `65536` comparisons of the keys `k_i = s_i 2^32 n + (n - 1 - i)` (distinct,
//! and ordered as the scores with the tie break), one lookup each, summed per row.
//!
//! **Fixed point.** Scores enter as `round(s 2^32)` (so the ranking sees scores to `2^-32`);
//! a tier is weighed by squares at `2^32`, `round(round(s 2^24)^2 / 2^16)`, so that a tier's
//! sum stays below `2^40`; the output `weights[i]` is the weight scaled by `10^6`
//! (`1_000_000` = 1.0), rounded down. The final normalisation divides by
//! `0.7 + 0.2 + 0.1 = 1` (every tier is non-empty for `n >= 3`), so the circuit omits it; its
//! weights sum to `10^6` minus at most `n` units of flooring.
//!
//! **Tolerance**: every weight is within `2 * 10^-6` of the float reference
//! [`Sn48Batch::reference_weights`] (the flooring of the output plus squares exact to
//! `2^-32`), checked on batches drawn like `generate()`, coarse batches full of ties, zeros
//! and ones, and edge cases (all zero, ties at a tier boundary, a zero tier). Scores closer
//! than `2^-32` rank as equal (by index); a tier whose scores all lie below about `10^-5`
//! reads as all-zero and gets uniform weights, where the float formula would weigh by squares.
//!
//! **Domain** (anything else is refused with [`CircuitError::Input`]): `n` scores in `[0, 1]`
//! with `3 <= n <= 256`; the constants exactly the reference's (`TOP_TIER_PCT = 0.1`,
//! `NEXT_TIER_PCT = 0.4`, `TOP_TIER_WEIGHT = 0.7`, `NEXT_TIER_WEIGHT = 0.2`,
//! `BOTTOM_TIER_WEIGHT = 0.1`); an integer-valued `nonce`, copied to the second output.

use omron_ir::{ExactFn, Graph, GraphBuilder, Op};
use rand::{Rng, RngCore};
use serde_json::{Value, json};

use super::{JsonInputs, bits_for};
use crate::CircuitError;

/// The fixed-point unit of the output weights.
pub const SN48_WEIGHT_SCALE: i64 = 1_000_000;

/// Fractional bits of the scores as the circuit takes them.
pub const SN48_SCORE_BITS: u32 = 32;

/// Fractional bits of the scores that are squared.
const ROOT_BITS: u32 = 24;

/// Fractional bits of the squares that weigh a tier (a tier's sum stays below `2^40`).
const SQUARE_BITS: u32 = 32;

/// Names of the graph inputs, in order.
pub const SN48_INPUTS: [&str; 2] = ["scores", "nonce"];

/// The reference's constants, as the request carries them (one-element lists).
pub const SN48_CONSTANTS: [(&str, f64); 5] = [
    ("top_tier_pct", 0.1),
    ("next_tier_pct", 0.4),
    ("top_tier_weight", 0.7),
    ("next_tier_weight", 0.2),
    ("bottom_tier_weight", 0.1),
];

/// Smallest and largest batch the circuit can be built for.
pub const SN48_BATCH: std::ops::RangeInclusive<usize> = 3..=256;

/// The tier sizes for `n` scores: `(max(1, floor(0.1 n)), max(1, floor(0.4 n)))`.
pub fn tier_sizes(n: usize) -> (usize, usize) {
    ((n / 10).max(1), (2 * n / 5).max(1))
}

/// The SN48 weights graph over `batch` scores. Outputs: `weights[batch]`, `nonce[1]`.
pub fn sn48_graph(batch: usize) -> Result<Graph, CircuitError> {
    if !SN48_BATCH.contains(&batch) {
        return Err(CircuitError::Input(format!(
            "SN48 batch must be between {} and {}, not {batch}",
            SN48_BATCH.start(),
            SN48_BATCH.end()
        )));
    }
    let n = batch;
    let (top_n, next_n) = tier_sizes(n);
    let bottom_n = n - top_n - next_n;
    let ws = SN48_WEIGHT_SCALE;
    let (top_w, next_w, bottom_w) = (7 * ws / 10, 2 * ws / 10, ws / 10);
    let mut g = GraphBuilder::new();
    let scores = g.input("scores", &[n], 0);
    let nonce = g.input("nonce", &[1], 0);
    let wide = |f: ExactFn, bits: u32| Op::WideLookup {
        f,
        lo: -(1i64 << bits),
        hi: 1i64 << bits,
    };

    // Rank: k_i = s_i n + (n - 1 - i); rank_i = #{j : k_j > k_i}.
    let n_const = g.scalar("n", 0, n as i64);
    let spread = g.node("scores_x_n", Op::Mul, &[scores, n_const])?;
    let order = g.constant("tie_break", &[n], 0, (0..n as i64).rev().collect());
    let key = g.node("key", Op::Add, &[spread, order])?;
    let key_row = g.node("key_row", Op::Reshape { shape: vec![1, n] }, &[key])?;
    let key_col = g.node("key_col", Op::Reshape { shape: vec![n, 1] }, &[key])?;
    let gaps = g.node("key_j_minus_key_i", Op::Sub, &[key_row, key_col])?;
    let key_bits = SN48_SCORE_BITS + bits_for(n as u64) + 2;
    let above = g.node("j_ranks_above_i", wide(ExactFn::Step, key_bits), &[gaps])?;
    let rank = g.node(
        "rank",
        Op::ReduceSum {
            axes: vec![1],
            keepdims: false,
        },
        &[above],
    )?;

    // Tiers: top = [rank < T], upper = [rank < T + N], next = upper - top.
    let rank_bits = bits_for(n as u64) + 1;
    let t1 = g.scalar("top_size", 0, top_n as i64);
    let t2 = g.scalar("top_and_next_size", 0, (top_n + next_n) as i64);
    let g1 = g.node("top_size_minus_rank", Op::Sub, &[t1, rank])?;
    let top = g.node("in_top", wide(ExactFn::Step, rank_bits), &[g1])?;
    let g2 = g.node("upper_size_minus_rank", Op::Sub, &[t2, rank])?;
    let upper = g.node("in_top_or_next", wide(ExactFn::Step, rank_bits), &[g2])?;

    // Squares at 2^32, from the scores at 2^24 (so the square stays below 2^62):
    // r = floor((s + 2^7) / 2^8), sq = floor((r^2 + 2^15) / 2^16).
    let shift = SN48_SCORE_BITS - ROOT_BITS;
    let half_unit = g.scalar("half_root_unit", 0, 1 << (shift - 1));
    let shifted = g.node("scores_rounding", Op::Add, &[scores, half_unit])?;
    let r = g.node(
        "scores_24",
        Op::DivFloor {
            divisor: 1 << shift,
        },
        &[shifted],
    )?;
    let r2 = g.node("squares_48", Op::Mul, &[r, r])?;
    let square_shift = 2 * ROOT_BITS - SQUARE_BITS;
    let half_sq = g.scalar("half_square_unit", 0, 1 << (square_shift - 1));
    let r2 = g.node("squares_rounding", Op::Add, &[r2, half_sq])?;
    let sq = g.node(
        "squares",
        Op::DivFloor {
            divisor: 1 << square_shift,
        },
        &[r2],
    )?;
    let sum_all_axes = |g: &mut GraphBuilder, name: &str, t: usize| {
        g.node(
            name,
            Op::ReduceSum {
                axes: vec![0],
                keepdims: true,
            },
            &[t],
        )
    };
    let top_sq = g.node("top_squares", Op::Mul, &[top, sq])?;
    let upper_sq = g.node("upper_squares", Op::Mul, &[upper, sq])?;
    let s_top = sum_all_axes(&mut g, "top_sum", top_sq)?;
    let s_upper = sum_all_axes(&mut g, "upper_sum", upper_sq)?;
    let s_all = sum_all_axes(&mut g, "all_sum", sq)?;
    let s_next = g.node("next_sum", Op::Sub, &[s_upper, s_top])?;
    let s_bottom = g.node("bottom_sum", Op::Sub, &[s_all, s_upper])?;

    // Per item, its tier's value: bottom + upper (next - bottom) + top (top - next).
    let per_item =
        |g: &mut GraphBuilder, name: &str, vals: [usize; 3]| -> Result<usize, CircuitError> {
            let [t, x, b] = vals;
            let d1 = g.node(&format!("{name}_next_minus_bottom"), Op::Sub, &[x, b])?;
            let d2 = g.node(&format!("{name}_top_minus_next"), Op::Sub, &[t, x])?;
            let a1 = g.node(&format!("{name}_upper_part"), Op::Mul, &[upper, d1])?;
            let a2 = g.node(&format!("{name}_top_part"), Op::Mul, &[top, d2])?;
            let s = g.node(&format!("{name}_partial"), Op::Add, &[b, a1])?;
            Ok(g.node(name, Op::Add, &[s, a2])?)
        };
    let tier_sum = per_item(&mut g, "tier_sum", [s_top, s_next, s_bottom])?;
    let consts = |g: &mut GraphBuilder, name: &str, v: [i64; 3]| {
        [
            g.scalar(&format!("{name}_top"), 0, v[0]),
            g.scalar(&format!("{name}_next"), 0, v[1]),
            g.scalar(&format!("{name}_bottom"), 0, v[2]),
        ]
    };
    let sizes = consts(
        &mut g,
        "tier_size",
        [top_n as i64, next_n as i64, bottom_n as i64],
    );
    let tier_size = per_item(&mut g, "tier_size", sizes)?;
    let weights = consts(&mut g, "tier_weight", [top_w, next_w, bottom_w]);
    let tier_weight = per_item(&mut g, "tier_weight", weights)?;

    // w = (sq + z) tw / (sum + z |tier|) with z = [sum == 0]: uniform in an all-zero tier.
    let den_bits = SQUARE_BITS + bits_for(n as u64);
    let z = g.node(
        "tier_is_zero",
        wide(ExactFn::IsZero, den_bits + 1),
        &[tier_sum],
    )?;
    let z_size = g.node("zero_x_size", Op::Mul, &[z, tier_size])?;
    let den = g.node("weight_den", Op::Add, &[tier_sum, z_size])?;
    let sq_z = g.node("squares_or_one", Op::Add, &[sq, z])?;
    let num = g.node("weight_num", Op::Mul, &[sq_z, tier_weight])?;
    let w = g.node(
        "weights",
        Op::IntDiv {
            den_bits,
            quot_bits: 61 - den_bits,
        },
        &[num, den],
    )?;
    let nonce_out = g.node("nonce_out", Op::Reshape { shape: vec![1] }, &[nonce])?;
    Ok(g.finish(&[w, nonce_out])?)
}

/// One SN48 request, parsed and checked against the circuit's domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Sn48Batch {
    /// The miners' scores, in `[0, 1]`.
    pub scores: Vec<f64>,
    /// The request nonce, copied to the output.
    pub nonce: i64,
}

impl Sn48Batch {
    /// Parses and checks a request's `inputs` JSON for a circuit of `batch` scores.
    pub fn from_json(value: &Value, batch: usize) -> Result<Sn48Batch, CircuitError> {
        let j = JsonInputs::new("SN48", value)?;
        for (name, want) in SN48_CONSTANTS {
            j.constant(name, want)?;
        }
        let b = Sn48Batch {
            scores: j.floats("scores")?,
            nonce: j.nonce()?,
        };
        b.columns(batch)?;
        Ok(b)
    }

    /// The request's `inputs` JSON, in the reference's schema order.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("scores".into(), json!(self.scores));
        for (name, value) in SN48_CONSTANTS {
            m.insert(name.into(), json!([value]));
        }
        m.insert("nonce".into(), json!([self.nonce]));
        Value::Object(m)
    }

    /// The graph inputs for a circuit of `batch` scores (`round(s 2^32)`, the nonce).
    pub fn columns(&self, batch: usize) -> Result<Vec<Vec<i64>>, CircuitError> {
        let err =
            |detail: String| CircuitError::Input(format!("SN48 scoring input 'scores': {detail}"));
        if self.scores.len() != batch {
            return Err(err(format!(
                "has {} items, the circuit takes {batch}",
                self.scores.len()
            )));
        }
        let unit = (1u64 << SN48_SCORE_BITS) as f64;
        let scores = self
            .scores
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                if (0.0..=1.0).contains(&s) {
                    Ok((s * unit).round() as i64)
                } else {
                    Err(err(format!("item {i} ({s}) is outside [0, 1]")))
                }
            })
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(vec![scores, vec![self.nonce]])
    }

    /// The reference's formulas in `f64`: rank (ties by index), tier, weigh by squares within
    /// the tier, normalise to sum 1.
    pub fn reference_weights(&self) -> Vec<f64> {
        let n = self.scores.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| self.scores[b].total_cmp(&self.scores[a]).then(a.cmp(&b)));
        let top_n = ((0.1 * n as f64).floor() as usize).max(1);
        let next_n = ((0.4 * n as f64).floor() as usize).max(1);
        let tiers = [
            (&order[..top_n.min(n)], 0.7),
            (&order[top_n.min(n)..(top_n + next_n).min(n)], 0.2),
            (&order[(top_n + next_n).min(n)..], 0.1),
        ];
        let mut w = vec![0.0; n];
        for (members, tier_weight) in tiers {
            let sum: f64 = members.iter().map(|&i| self.scores[i].powi(2)).sum();
            for &i in members {
                w[i] = if sum > 0.0 {
                    self.scores[i].powi(2) / sum * tier_weight
                } else {
                    tier_weight / members.len() as f64
                };
            }
        }
        let total: f64 = w.iter().sum();
        if total > 0.0 {
            w.iter_mut().for_each(|x| *x /= total);
        }
        w
    }
}

/// A benchmark batch as the reference's `generate()` draws it (§3.3d): uniform scores in
/// `[0, 1)` and a 32-bit nonce.
pub fn benchmark_batch(batch: usize, rng: &mut impl RngCore) -> Sn48Batch {
    Sn48Batch {
        scores: (0..batch).map(|_| rng.r#gen::<f64>()).collect(),
        nonce: i64::from(rng.next_u32()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_the_reference_sizes() {
        assert_eq!(tier_sizes(256), (25, 102));
        assert_eq!(tier_sizes(3), (1, 1));
        assert_eq!(tier_sizes(10), (1, 4));
    }

    #[test]
    fn the_graph_is_valid_and_deterministic() {
        let a = sn48_graph(8).unwrap();
        assert_eq!(a, sn48_graph(8).unwrap());
        assert_eq!(a.inputs.len(), 2);
        assert_eq!(a.outputs.len(), 2);
        assert!(sn48_graph(2).is_err());
        assert!(sn48_graph(257).is_err());
    }
}
