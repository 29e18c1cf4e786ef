//! The sumcheck protocol for sums of a low-degree combination of multilinear tables.
//!
//! The prover claims `sum_{b in {0,1}^n} f(t_1(b), ..., t_k(b)) = claim`, where each `t_i` is a
//! multilinear table and `f` a polynomial of total degree `d`. In round `j` it sends the
//! univariate `h_j(X) = sum_{b'} f(t(r_0, ..., r_{j-1}, X, b'))` as its values at
//! `X = 0, 2, 3, ..., d` (the value at 1 follows from `h_j(0) + h_j(1) = claim_j`, so sending
//! it would only give a cheating prover a free variable). The verifier draws `r_j` and continues
//! with `claim_{j+1} = h_j(r_j)`. After `n` rounds the claim is about `f(t(r))` at the random
//! point `r`, which the caller checks against values it can compute or that are proven later.
//!
//! Variables are bound least significant first, matching [`crate::mle`]: the returned point is
//! `[r_0, ..., r_{n-1}]` with `r_i` for index bit `i`. Soundness error: `n * d / |Fp2|`.

use crate::mle::{fold_first, interpolate_at};
use crate::{Ext, ProverChannel, VerifierChannel, VerifyError};

/// What a finished sumcheck leaves: the random point and the tables' values there.
#[derive(Debug, Clone)]
pub struct SumcheckOutput {
    /// The point `r` (one coordinate per variable, bit 0 first).
    pub point: Vec<Ext>,
    /// `t_i(r)` for each table, in the order the tables were given.
    pub values: Vec<Ext>,
}

/// Runs the prover side. `tables` must all have the same power-of-two length; `f` must have
/// total degree at most `degree` in the table values.
pub fn prove(
    label: &'static [u8],
    mut tables: Vec<Vec<Ext>>,
    degree: usize,
    f: impl Fn(&[Ext]) -> Ext,
    ch: &mut ProverChannel,
) -> SumcheckOutput {
    let len = tables.first().map_or(1, Vec::len);
    debug_assert!(len.is_power_of_two() && tables.iter().all(|t| t.len() == len));
    let rounds = len.trailing_zeros() as usize;
    let mut point = Vec::with_capacity(rounds);
    let mut scratch = vec![Ext::ZERO; tables.len()];
    let mut slopes = vec![Ext::ZERO; tables.len()];
    let mut evals = vec![Ext::ZERO; degree + 1];
    for _ in 0..rounds {
        let half = tables[0].len() / 2;
        evals.iter_mut().for_each(|e| *e = Ext::ZERO);
        for j in 0..half {
            for (t, table) in tables.iter().enumerate() {
                scratch[t] = table[2 * j];
            }
            evals[0] += f(&scratch);
            if degree == 0 {
                continue;
            }
            // Step from X = 0 to X = 1, 2, ..., d by adding the slope.
            for (slope, table) in slopes.iter_mut().zip(&tables) {
                *slope = table[2 * j + 1] - table[2 * j];
            }
            for (s, slope) in scratch.iter_mut().zip(&slopes) {
                *s += *slope;
            }
            evals[1] += f(&scratch);
            for e in evals.iter_mut().skip(2) {
                for (s, slope) in scratch.iter_mut().zip(&slopes) {
                    *s += *slope;
                }
                *e += f(&scratch);
            }
        }
        let mut msg = Vec::with_capacity(degree);
        msg.push(evals[0]);
        msg.extend_from_slice(evals.get(2..).unwrap_or_default());
        ch.send_exts(label, &msg);
        let r = ch.challenge_ext(label);
        for table in tables.iter_mut() {
            fold_first(table, r);
        }
        point.push(r);
    }
    let values = tables.iter().map(|t| t[0]).collect();
    SumcheckOutput { point, values }
}

/// Runs the verifier side for `num_vars` rounds of degree `degree`, starting from `claim`.
/// Returns the random point and the final claim `f(t(r))` the caller must check.
pub fn verify(
    label: &'static [u8],
    mut claim: Ext,
    num_vars: usize,
    degree: usize,
    ch: &mut VerifierChannel<'_>,
) -> Result<(Vec<Ext>, Ext), VerifyError> {
    let mut point = Vec::with_capacity(num_vars);
    let mut evals = vec![Ext::ZERO; degree + 1];
    for round in 0..num_vars {
        let msg = ch.recv_exts(label, degree.max(1))?;
        evals[0] = msg[0];
        if degree == 0 {
            // A constant round polynomial has no free value to derive from the claim, so the
            // round check `h(0) + h(1) = claim` must be made explicitly.
            if msg[0] + msg[0] != claim {
                return Err(VerifyError::Sumcheck {
                    label: std::str::from_utf8(label).unwrap_or("sumcheck"),
                    round,
                    rounds: num_vars,
                });
            }
        } else {
            evals[1] = claim - msg[0];
            evals[2..].copy_from_slice(&msg[1..]);
        }
        let r = ch.challenge_ext(label);
        claim = if degree == 0 {
            msg[0]
        } else {
            interpolate_at(&evals, r)
        };
        point.push(r);
    }
    Ok((point, claim))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mle::evaluate;
    use crate::{Fp, Transcript};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn rand_table(rng: &mut impl Rng, n: usize) -> Vec<Ext> {
        (0..1 << n)
            .map(|_| Ext::new(Fp::new(rng.r#gen()), Fp::new(rng.r#gen())))
            .collect()
    }

    fn product3(v: &[Ext]) -> Ext {
        v[0] * v[1] * v[2]
    }

    fn run(tamper: impl Fn(&mut Vec<u8>), claim_delta: Ext) -> Result<(), VerifyError> {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let n = 6;
        let tables: Vec<Vec<Ext>> = (0..3).map(|_| rand_table(&mut rng, n)).collect();
        let claim: Ext = (0..1 << n)
            .map(|b| tables[0][b] * tables[1][b] * tables[2][b])
            .sum();
        let t = Transcript::new(b"sumcheck-test");
        let mut pc = ProverChannel::new(t.clone());
        let out = prove(b"sc", tables.clone(), 3, product3, &mut pc);
        for (table, v) in tables.iter().zip(&out.values) {
            assert_eq!(
                evaluate(table, &out.point),
                *v,
                "final values are the tables at r"
            );
        }
        let mut proof = pc.finish();
        tamper(&mut proof);
        let mut vc = VerifierChannel::new(t, &proof, 1 << 20)?;
        let (point, final_claim) = verify(b"sc", claim + claim_delta, n, 3, &mut vc)?;
        vc.finish()?;
        let expected = point.len() == n
            && tables
                .iter()
                .zip(&out.values)
                .all(|(t, v)| evaluate(t, &point) == *v);
        if !expected || final_claim != product3(&out.values) {
            return Err(VerifyError::Sumcheck {
                label: "sc",
                round: n,
                rounds: n,
            });
        }
        Ok(())
    }

    #[test]
    fn honest_proof_verifies() {
        run(|_| {}, Ext::ZERO).unwrap();
    }

    #[test]
    fn wrong_claim_is_rejected() {
        assert!(run(|_| {}, Ext::ONE).is_err());
    }

    #[test]
    fn every_tampered_byte_is_rejected() {
        let len = 6 * 3 * 16;
        for i in (0..len).step_by(7) {
            let r = run(|p| p[i] ^= 0x10, Ext::ZERO);
            assert!(r.is_err(), "byte {i} flipped but accepted");
        }
    }

    /// Degree 0 (a constant summand): every round must check `2 h(0) = claim` itself, since
    /// no value of the round polynomial is derived from the claim.
    #[test]
    fn degree_zero_checks_every_round() {
        let n = 4;
        let k = Ext::from(Fp::new(5));
        let run = |claim: Ext| {
            let t = Transcript::new(b"sc0");
            let mut pc = ProverChannel::new(t.clone());
            prove(b"sc0", vec![vec![Ext::ZERO; 1 << n]], 0, |_| k, &mut pc);
            let proof = pc.finish();
            let mut vc = VerifierChannel::new(t, &proof, 1 << 20)?;
            let (_, fin) = verify(b"sc0", claim, n, 0, &mut vc)?;
            vc.finish()?;
            Ok::<Ext, VerifyError>(fin)
        };
        let honest = k * Fp::new(1 << n);
        assert_eq!(run(honest), Ok(k), "the final claim is f itself");
        assert_eq!(
            run(honest + Ext::ONE),
            Err(VerifyError::Sumcheck {
                label: "sc0",
                round: 0,
                rounds: n
            }),
            "a wrong claim is caught in the first round"
        );
    }

    #[test]
    fn zero_variables_is_the_claim_itself() {
        let t = Transcript::new(b"x");
        let mut pc = ProverChannel::new(t.clone());
        let out = prove(b"sc", vec![vec![Ext::ONE + Ext::ONE]], 1, |v| v[0], &mut pc);
        assert!(out.point.is_empty());
        let proof = pc.finish();
        let mut vc = VerifierChannel::new(t, &proof, 10).unwrap();
        let (_, c) = verify(b"sc", Ext::ONE, 0, 1, &mut vc).unwrap();
        assert_eq!(c, Ext::ONE);
    }
}
