//! The SN27 (Compute subnet) validator scoring (reference §3.3c) as a circuit, in fixed point.
//!
//! Per miner, in points (a score out of `max_score = 100 (sw + dw + tw) + 100 aw = 251`):
//!
//! ```text
//! dm      = clamp(difficulty, 7, 12) / 12 * 100                 // difficulty modifier
//! ratio   = successes / max(attempts, 1) * 100 * sw             // sw = 1
//! te      = (30 - elapsed) / 30 * 100 * tw                      // tw = 0.3, so just 30 - elapsed
//! fp      = fw * (failed / 20)^1.5 * 100                        // fw = 0.4
//! base    = dm * dw + ratio + te - fp, halved without docker    // dw = 1
//! final   = allocated ? 230 (1 - aw) + dm aw : base             // aw = 0.21
//! zeroed  = (failed >= 19 or successes == 0) and not allocated
//! c       = #{j : penalized_uids[j] == uid},  V = #{j : validator_uids[j] >= 0}
//! mult    = 2c >= V ? 0 (and zeroed) : 1 - c / (V / 2)
//! score   = zeroed ? 0 : max(final, 0) * mult / 251
//! ```
//!
//! **Fixed point.** Seconds and difficulties enter scaled by `10^6` (rounded); points are
//! carried scaled by `10^6`; the output `score[i]` is the normalised score scaled by `10^6`
//! (`1_000_000` = 1.0). The only roundings are four floor divisions (the difficulty modifier,
//! the success ratio, the halving, the allocation term: each under `10^-6` points), the
//! failed-penalty table (`round(40 (k/20)^1.5 10^6)`, computed in integers), and the final
//! floor division. **Tolerance**: every output is within `2 * 10^-6` of the float reference
//! [`Sn27Batch::reference_scores`] (checked on thousands of random batches and edge cases);
//! the integer-valued decisions (zeroing, allocation, penalties) are exact.
//!
//! **Domain** (anything else is refused with [`CircuitError::Input`]): counts (attempts,
//! successes, failed) in `[0, 2^16)`; `elapsed` in `[0, 10^6]` s; `|difficulty| <= 10^6`;
//! `uid` in `[0, 2^31)`; entries of the three uid lists in `(-2^31, 2^31)`, at most `batch` of
//! them (shorter lists are padded with `-1`, which matches no uid and is no validator); the
//! constants exactly the reference's (`SUCCESS_WEIGHT = 1`, `DIFFICULTY_WEIGHT = 1`,
//! `TIME_ELAPSED_WEIGHT = 0.3`, `FAILED_PENALTY_WEIGHT = 0.4`, `ALLOCATION_WEIGHT = 0.21`,
//! `POW_TIMEOUT = 30`, `POW_MIN_DIFFICULTY = 7`, `POW_MAX_DIFFICULTY = 12`); an integer
//! `nonce`, copied to the second output.
//!
//! Two choices where the §3.3c summary is silent, following the reference's torch model:
//! `attempts = 0` divides by 1 (`max(attempts, 1)`), and the penalty multiplier is applied
//! to every miner (it is 1 when the uid is not penalized). `elapsed` is not clamped to the
//! timeout: a slower average gives a negative time term, as the formula says.

use omron_ir::{ExactFn, Graph, GraphBuilder, Op};
use rand::{Rng, RngCore};
use serde_json::{Value, json};

use super::{JsonInputs, bits_for};
use crate::CircuitError;

/// The fixed-point unit of seconds, difficulties, points and the output scores.
pub const SN27_SCALE: i64 = 1_000_000;

/// Names of the graph inputs, in order (the reference's schema order).
pub const SN27_INPUTS: [&str; 11] = [
    "challenge_attempts",
    "challenge_successes",
    "last_20_challenge_failed",
    "challenge_elapsed_time_avg",
    "last_20_difficulty_avg",
    "has_docker",
    "uid",
    "allocated_uids",
    "penalized_uids",
    "validator_uids",
    "nonce",
];

/// The reference's constants, as the request carries them (one-element lists).
pub const SN27_CONSTANTS: [(&str, f64); 8] = [
    ("success_weight", 1.0),
    ("difficulty_weight", 1.0),
    ("time_elapsed_weight", 0.3),
    ("failed_penalty_weight", 0.4),
    ("allocation_weight", 0.21),
    ("pow_timeout", 30.0),
    ("pow_min_difficulty", 7.0),
    ("pow_max_difficulty", 12.0),
];

/// Counts (attempts, successes, failed) must lie below this.
pub const SN27_MAX_COUNT: i64 = 1 << 16;

/// Largest accepted average elapsed time and difficulty magnitude.
pub const SN27_MAX_REAL: f64 = 1e6;

/// Uids (and the entries of the uid lists) must lie below this in magnitude.
pub const SN27_MAX_UID: i64 = 1 << 31;

/// Largest batch the circuit can be built for.
pub const SN27_MAX_BATCH: usize = 1024;

const MAX_SCORE_POINTS: i64 = 251;

/// `round(40 (k / 20)^1.5 * 10^6) = round(sqrt(2 * 10^11 * k^3))`, computed in integers so
/// the verifying key does not depend on the platform's floating point.
fn failed_penalty_table() -> Vec<i64> {
    (0..=20u64)
        .map(|k| {
            let n = 200_000_000_000u64 * k * k * k;
            let mut r = (n as f64).sqrt() as u64;
            while r * r > n {
                r -= 1;
            }
            while (r + 1) * (r + 1) <= n {
                r += 1;
            }
            // sqrt(n) >= r + 1/2 exactly when n > r^2 + r.
            (if n > r * r + r { r + 1 } else { r }) as i64
        })
        .collect()
}

/// The SN27 scoring graph over `batch` miners. Outputs: `score[batch]`, `nonce[1]`.
pub fn sn27_graph(batch: usize) -> Result<Graph, CircuitError> {
    if !(1..=SN27_MAX_BATCH).contains(&batch) {
        return Err(CircuitError::Input(format!(
            "SN27 batch must be between 1 and {SN27_MAX_BATCH}, not {batch}"
        )));
    }
    let n = batch;
    let p = SN27_SCALE;
    let mut g = GraphBuilder::new();
    let col: Vec<usize> = SN27_INPUTS[..10]
        .iter()
        .map(|name| g.input(name, &[n], 0))
        .collect();
    let nonce = g.input("nonce", &[1], 0);
    let (att, succ, failed, elapsed, diff, docker) =
        (col[0], col[1], col[2], col[3], col[4], col[5]);
    let (uid, allocated, penalized, validators) = (col[6], col[7], col[8], col[9]);
    let wide = |f: ExactFn, bits: u32| Op::WideLookup {
        f,
        lo: -(1i64 << bits),
        hi: 1i64 << bits,
    };
    let one = g.scalar("one", 0, 1);
    let two = g.scalar("two", 0, 2);

    // Difficulty modifier: clamp(d, 7, 12) = 7 + relu(d - 7) - relu(d - 12); then / 12 * 100.
    let d_lo = g.scalar("pow_min_difficulty", 0, 7 * p);
    let d_hi = g.scalar("pow_max_difficulty", 0, 12 * p);
    let over_lo = g.node("difficulty_minus_min", Op::Sub, &[diff, d_lo])?;
    let over_lo = g.node("difficulty_above_min", wide(ExactFn::Relu, 42), &[over_lo])?;
    let over_hi = g.node("difficulty_minus_max", Op::Sub, &[diff, d_hi])?;
    let over_hi = g.node("difficulty_above_max", wide(ExactFn::Relu, 42), &[over_hi])?;
    let clamped = g.node("difficulty_from_min", Op::Add, &[d_lo, over_lo])?;
    let clamped = g.node("difficulty_clamped", Op::Sub, &[clamped, over_hi])?;
    let hundred = g.scalar("hundred", 0, 100);
    let d100 = g.node("difficulty_x100", Op::Mul, &[clamped, hundred])?;
    let dm = g.node("difficulty_modifier", Op::DivFloor { divisor: 12 }, &[d100])?;

    // Success ratio: successes * 100 / max(attempts, 1), in points.
    let no_attempts = g.node("no_attempts", wide(ExactFn::IsZero, 17), &[att])?;
    let att1 = g.node("attempts_at_least_1", Op::Add, &[att, no_attempts])?;
    let ratio_scale = g.scalar("100_points", 0, 100 * p);
    let succ_num = g.node("successes_scaled", Op::Mul, &[succ, ratio_scale])?;
    let ratio = g.node(
        "successes_ratio",
        Op::IntDiv {
            den_bits: 17,
            quot_bits: 44,
        },
        &[succ_num, att1],
    )?;

    // Time term: (30 - e) / 30 * 100 * 0.3 = 30 - e.
    let timeout = g.scalar("pow_timeout", 0, 30 * p);
    let te = g.node("time_elapsed", Op::Sub, &[timeout, elapsed])?;

    // Failed penalty: a one-hot of failed over 0..=20 against the penalty table (failed > 20
    // reads 0, and such a miner is zeroed or allocated, so the penalty is never used).
    let failed_col = g.node("failed_col", Op::Reshape { shape: vec![n, 1] }, &[failed])?;
    let ks = g.constant("failed_values", &[1, 21], 0, (0..=20).collect());
    let f_gap = g.node("failed_minus_k", Op::Sub, &[failed_col, ks])?;
    let one_hot = g.node("failed_one_hot", wide(ExactFn::IsZero, 17), &[f_gap])?;
    let table = g.constant("failed_penalty_table", &[1, 21], 0, failed_penalty_table());
    let fp = g.node("failed_penalty_col", Op::MatMul, &[one_hot, table])?;
    let fp = g.node("failed_penalty", Op::Reshape { shape: vec![n] }, &[fp])?;

    // base = dm + ratio + te - fp, halved without docker.
    let base = g.node("dm_plus_ratio", Op::Add, &[dm, ratio])?;
    let base = g.node("plus_time", Op::Add, &[base, te])?;
    let base = g.node("base_score", Op::Sub, &[base, fp])?;
    let half = g.node("base_half", Op::DivFloor { divisor: 2 }, &[base])?;
    let rest = g.node("base_other_half", Op::Sub, &[base, half])?;
    let kept = g.node("docker_x_other_half", Op::Mul, &[docker, rest])?;
    let base = g.node("base_after_docker", Op::Add, &[half, kept])?;

    // Allocation: uid in allocated_uids (pairwise equality, summed).
    let uid_col = g.node("uid_col", Op::Reshape { shape: vec![n, 1] }, &[uid])?;
    let alloc_row = g.node(
        "allocated_row",
        Op::Reshape { shape: vec![1, n] },
        &[allocated],
    )?;
    let a_gap = g.node("uid_minus_allocated", Op::Sub, &[uid_col, alloc_row])?;
    let a_eq = g.node("uid_is_allocated_j", wide(ExactFn::IsZero, 33), &[a_gap])?;
    let a_count = g.node(
        "allocated_count",
        Op::ReduceSum {
            axes: vec![1],
            keepdims: false,
        },
        &[a_eq],
    )?;
    let count_bits = bits_for(2 * n as u64 + 2) + 1;
    let is_alloc = g.node("is_allocated", wide(ExactFn::Step, count_bits), &[a_count])?;
    let aw = g.scalar("allocation_weight_pct", 0, 21);
    let dm_aw = g.node("dm_x21", Op::Mul, &[dm, aw])?;
    let dm_aw = g.node(
        "dm_x_allocation_weight",
        Op::DivFloor { divisor: 100 },
        &[dm_aw],
    )?;
    // 230 * (1 - 0.21) = 181.7 points.
    let alloc_base = g.scalar("max_challenge_x_1_minus_aw", 0, 1817 * p / 10);
    let alloc_score = g.node("allocation_score", Op::Add, &[alloc_base, dm_aw])?;
    let a_delta = g.node("allocation_minus_base", Op::Sub, &[alloc_score, base])?;
    let a_pick = g.node("allocated_x_delta", Op::Mul, &[is_alloc, a_delta])?;
    let pre = g.node("final_score", Op::Add, &[base, a_pick])?;
    let clamped_final = g.node("final_non_negative", wide(ExactFn::Relu, 46), &[pre])?;

    // Zeroing rule: (failed >= 19 or successes == 0) and not allocated.
    let c18 = g.scalar("eighteen", 0, 18);
    let f18 = g.node("failed_minus_18", Op::Sub, &[failed, c18])?;
    let ge19 = g.node("failed_ge_19", wide(ExactFn::Step, 17), &[f18])?;
    let s0 = g.node("no_successes", wide(ExactFn::IsZero, 17), &[succ])?;
    let both = g.node("failed_and_no_successes", Op::Mul, &[ge19, s0])?;
    let either = g.node("failed_plus_no_successes", Op::Add, &[ge19, s0])?;
    let either = g.node("failed_or_no_successes", Op::Sub, &[either, both])?;
    let not_alloc = g.node("not_allocated", Op::Sub, &[one, is_alloc])?;
    let zeroed = g.node("zeroed", Op::Mul, &[either, not_alloc])?;
    let live = g.node("live", Op::Sub, &[one, zeroed])?;

    // Penalty: c = #{penalized == uid}, V = #{validators >= 0}; keep = relu(V - 2c), so the
    // score is max(final, 0) * keep / V (0 when 2c >= V, including V = 0).
    let pen_row = g.node(
        "penalized_row",
        Op::Reshape { shape: vec![1, n] },
        &[penalized],
    )?;
    let p_gap = g.node("uid_minus_penalized", Op::Sub, &[uid_col, pen_row])?;
    let p_eq = g.node("uid_is_penalized_j", wide(ExactFn::IsZero, 33), &[p_gap])?;
    let p_count = g.node(
        "penalty_count",
        Op::ReduceSum {
            axes: vec![1],
            keepdims: false,
        },
        &[p_eq],
    )?;
    let is_val = g.node(
        "is_validator",
        wide(ExactFn::NonNegative, 33),
        &[validators],
    )?;
    let v = g.node(
        "validator_count",
        Op::ReduceSum {
            axes: vec![0],
            keepdims: true,
        },
        &[is_val],
    )?;
    let twice = g.node("penalty_count_x2", Op::Mul, &[p_count, two])?;
    let v_gap = g.node("validators_minus_2c", Op::Sub, &[v, twice])?;
    let keep = g.node("penalty_keep", wide(ExactFn::Relu, count_bits), &[v_gap])?;
    let keep = g.node("keep_if_live", Op::Mul, &[keep, live])?;
    let v0 = g.node("no_validators", wide(ExactFn::IsZero, count_bits), &[v])?;
    let v1 = g.node("validators_at_least_1", Op::Add, &[v, v0])?;
    let max_score = g.scalar("max_score", 0, MAX_SCORE_POINTS);
    let den = g.node("validators_x_max_score", Op::Mul, &[v1, max_score])?;
    let num = g.node("final_x_keep", Op::Mul, &[clamped_final, keep])?;
    let score = g.node(
        "score",
        Op::IntDiv {
            den_bits: 20,
            quot_bits: 40,
        },
        &[num, den],
    )?;
    let nonce_out = g.node("nonce_out", Op::Reshape { shape: vec![1] }, &[nonce])?;
    Ok(g.finish(&[score, nonce_out])?)
}

/// One SN27 scoring request, parsed and checked against the circuit's domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Sn27Batch {
    /// Challenge attempts per miner.
    pub challenge_attempts: Vec<i64>,
    /// Challenge successes per miner.
    pub challenge_successes: Vec<i64>,
    /// Failed challenges among the last 20, per miner.
    pub last_20_challenge_failed: Vec<i64>,
    /// Average elapsed time of a challenge, seconds.
    pub challenge_elapsed_time_avg: Vec<f64>,
    /// Average difficulty of the last 20 challenges.
    pub last_20_difficulty_avg: Vec<f64>,
    /// Whether the miner runs docker.
    pub has_docker: Vec<bool>,
    /// The miners' uids.
    pub uid: Vec<i64>,
    /// Uids with an allocation (at most `batch`).
    pub allocated_uids: Vec<i64>,
    /// Uids penalized by validators, one entry per (validator, uid) report (at most `batch`).
    pub penalized_uids: Vec<i64>,
    /// Validator uids; entries below 0 are padding (at most `batch`).
    pub validator_uids: Vec<i64>,
    /// The request nonce, copied to the output.
    pub nonce: i64,
}

impl Sn27Batch {
    /// Parses and checks a request's `inputs` JSON for a circuit of `batch` miners.
    pub fn from_json(value: &Value, batch: usize) -> Result<Sn27Batch, CircuitError> {
        let j = JsonInputs::new("SN27", value)?;
        for (name, want) in SN27_CONSTANTS {
            j.constant(name, want)?;
        }
        let b = Sn27Batch {
            challenge_attempts: j.exact_len(
                "challenge_attempts",
                j.ints("challenge_attempts")?,
                batch,
            )?,
            challenge_successes: j.exact_len(
                "challenge_successes",
                j.ints("challenge_successes")?,
                batch,
            )?,
            last_20_challenge_failed: j.exact_len(
                "last_20_challenge_failed",
                j.ints("last_20_challenge_failed")?,
                batch,
            )?,
            challenge_elapsed_time_avg: j.exact_len(
                "challenge_elapsed_time_avg",
                j.floats("challenge_elapsed_time_avg")?,
                batch,
            )?,
            last_20_difficulty_avg: j.exact_len(
                "last_20_difficulty_avg",
                j.floats("last_20_difficulty_avg")?,
                batch,
            )?,
            has_docker: j.exact_len("has_docker", j.bools("has_docker")?, batch)?,
            uid: j.exact_len("uid", j.ints("uid")?, batch)?,
            allocated_uids: j.ints("allocated_uids")?,
            penalized_uids: j.ints("penalized_uids")?,
            validator_uids: j.ints("validator_uids")?,
            nonce: j.nonce()?,
        };
        b.columns(batch)?;
        Ok(b)
    }

    /// The request's `inputs` JSON, in the reference's schema order.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("challenge_attempts".into(), json!(self.challenge_attempts));
        m.insert(
            "challenge_successes".into(),
            json!(self.challenge_successes),
        );
        m.insert(
            "last_20_challenge_failed".into(),
            json!(self.last_20_challenge_failed),
        );
        m.insert(
            "challenge_elapsed_time_avg".into(),
            json!(self.challenge_elapsed_time_avg),
        );
        m.insert(
            "last_20_difficulty_avg".into(),
            json!(self.last_20_difficulty_avg),
        );
        m.insert("has_docker".into(), json!(self.has_docker));
        m.insert("uid".into(), json!(self.uid));
        m.insert("allocated_uids".into(), json!(self.allocated_uids));
        m.insert("penalized_uids".into(), json!(self.penalized_uids));
        m.insert("validator_uids".into(), json!(self.validator_uids));
        for (name, value) in SN27_CONSTANTS {
            m.insert(name.into(), json!([value]));
        }
        m.insert("nonce".into(), json!([self.nonce]));
        Value::Object(m)
    }

    /// The graph inputs for a circuit of `batch` miners, one vector per [`SN27_INPUTS`] entry;
    /// refuses anything outside the circuit's domain.
    pub fn columns(&self, batch: usize) -> Result<Vec<Vec<i64>>, CircuitError> {
        let err = |name: &str, detail: String| {
            CircuitError::Input(format!("SN27 scoring input '{name}': {detail}"))
        };
        let sized = |name: &str, len: usize| {
            if len == batch {
                Ok(())
            } else {
                Err(err(
                    name,
                    format!("has {len} items, the circuit takes {batch}"),
                ))
            }
        };
        let counts = |name: &str, v: &[i64]| -> Result<Vec<i64>, CircuitError> {
            sized(name, v.len())?;
            match v.iter().position(|x| !(0..SN27_MAX_COUNT).contains(x)) {
                Some(i) => Err(err(
                    name,
                    format!("item {i} ({}) is outside [0, 2^16)", v[i]),
                )),
                None => Ok(v.to_vec()),
            }
        };
        let reals = |name: &str, v: &[f64], lo: f64| -> Result<Vec<i64>, CircuitError> {
            sized(name, v.len())?;
            v.iter()
                .enumerate()
                .map(|(i, &x)| {
                    if x.is_finite() && (lo..=SN27_MAX_REAL).contains(&x) {
                        Ok((x * SN27_SCALE as f64).round() as i64)
                    } else {
                        Err(err(
                            name,
                            format!("item {i} ({x}) is outside [{lo}, {SN27_MAX_REAL}]"),
                        ))
                    }
                })
                .collect()
        };
        let uid_list = |name: &str, v: &[i64]| -> Result<Vec<i64>, CircuitError> {
            if v.len() > batch {
                return Err(err(
                    name,
                    format!("has {} items, at most {batch} fit", v.len()),
                ));
            }
            if let Some(i) = v.iter().position(|x| x.abs() >= SN27_MAX_UID) {
                return Err(err(name, format!("item {i} ({}) is out of range", v[i])));
            }
            let mut out = v.to_vec();
            out.resize(batch, -1);
            Ok(out)
        };
        sized("has_docker", self.has_docker.len())?;
        sized("uid", self.uid.len())?;
        if let Some(i) = self.uid.iter().position(|x| !(0..SN27_MAX_UID).contains(x)) {
            return Err(err(
                "uid",
                format!("item {i} ({}) is outside [0, 2^31)", self.uid[i]),
            ));
        }
        Ok(vec![
            counts("challenge_attempts", &self.challenge_attempts)?,
            counts("challenge_successes", &self.challenge_successes)?,
            counts("last_20_challenge_failed", &self.last_20_challenge_failed)?,
            reals(
                "challenge_elapsed_time_avg",
                &self.challenge_elapsed_time_avg,
                0.0,
            )?,
            reals(
                "last_20_difficulty_avg",
                &self.last_20_difficulty_avg,
                -SN27_MAX_REAL,
            )?,
            self.has_docker.iter().map(|&b| i64::from(b)).collect(),
            self.uid.clone(),
            uid_list("allocated_uids", &self.allocated_uids)?,
            uid_list("penalized_uids", &self.penalized_uids)?,
            uid_list("validator_uids", &self.validator_uids)?,
            vec![self.nonce],
        ])
    }

    /// The reference's formulas in `f64`: the normalised score of every miner.
    pub fn reference_scores(&self) -> Vec<f64> {
        let (sw, dw, tw, fw, aw) = (1.0, 1.0, 0.3, 0.4, 0.21);
        let (timeout, min_d, max_d) = (30.0, 7.0, 12.0);
        let max_challenge = 100.0 * (sw + dw + tw);
        let max_score = max_challenge + 100.0 * aw;
        let validators = self.validator_uids.iter().filter(|&&v| v >= 0).count() as f64;
        let half = validators / 2.0;
        (0..self.uid.len())
            .map(|i| {
                let uid = self.uid[i];
                let failed = self.last_20_challenge_failed[i];
                let successes = self.challenge_successes[i];
                let difficulty_modifier =
                    self.last_20_difficulty_avg[i].clamp(min_d, max_d) / max_d * 100.0;
                let ratio =
                    successes as f64 / self.challenge_attempts[i].max(1) as f64 * 100.0 * sw;
                let time = (timeout - self.challenge_elapsed_time_avg[i]) / timeout * 100.0 * tw;
                let penalty = fw * (failed as f64 / 20.0).powf(1.5) * 100.0;
                let mut score = difficulty_modifier * dw + ratio + time - penalty;
                if !self.has_docker[i] {
                    score /= 2.0;
                }
                let allocated = self.allocated_uids.contains(&uid);
                if allocated {
                    score = max_challenge * (1.0 - aw) + difficulty_modifier * aw;
                }
                let mut zeroed = (failed >= 19 || successes == 0) && !allocated;
                let count = self.penalized_uids.iter().filter(|&&p| p == uid).count() as f64;
                let multiplier = if count >= half {
                    zeroed = true;
                    0.0
                } else {
                    (1.0 - count / half).max(0.0)
                };
                let score = (score * multiplier).max(0.0) / max_score;
                if zeroed { 0.0 } else { score }
            })
            .collect()
    }
}

/// A benchmark batch as the reference's `generate()` draws it (§3.3c): attempts 5..=10,
/// successes 4..=8, failed 0..=20, elapsed `4 + 4U` s, difficulty `7 + 5U`, docker with
/// probability 1/2, `batch` random uids in 0..=255 for each uid list, a 32-bit nonce.
pub fn benchmark_batch(batch: usize, rng: &mut impl RngCore) -> Sn27Batch {
    let uids = |rng: &mut dyn RngCore| -> Vec<i64> {
        (0..batch).map(|_| rng.gen_range(0..=255)).collect()
    };
    Sn27Batch {
        challenge_attempts: (0..batch).map(|_| rng.gen_range(5..=10)).collect(),
        challenge_successes: (0..batch).map(|_| rng.gen_range(4..=8)).collect(),
        last_20_challenge_failed: (0..batch).map(|_| rng.gen_range(0..=20)).collect(),
        challenge_elapsed_time_avg: (0..batch).map(|_| 4.0 + rng.r#gen::<f64>() * 4.0).collect(),
        last_20_difficulty_avg: (0..batch).map(|_| 7.0 + rng.r#gen::<f64>() * 5.0).collect(),
        has_docker: (0..batch).map(|_| rng.r#gen::<f64>() < 0.5).collect(),
        uid: uids(rng),
        allocated_uids: uids(rng),
        penalized_uids: uids(rng),
        validator_uids: uids(rng),
        nonce: i64::from(rng.next_u32()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_penalty_table_is_the_rounded_formula() {
        let t = failed_penalty_table();
        for (k, &v) in t.iter().enumerate() {
            let want = 40.0 * (k as f64 / 20.0).powf(1.5) * 1e6;
            assert!((v as f64 - want).abs() <= 0.5 + 1e-6, "{k}: {v} vs {want}");
        }
        assert_eq!(t[20], 40_000_000);
    }

    #[test]
    fn the_graph_is_valid_and_deterministic() {
        let a = sn27_graph(8).unwrap();
        assert_eq!(a, sn27_graph(8).unwrap());
        assert_eq!(a.inputs.len(), 11);
        assert_eq!(a.outputs.len(), 2);
        assert!(sn27_graph(0).is_err());
        assert!(sn27_graph(SN27_MAX_BATCH + 1).is_err());
    }
}
