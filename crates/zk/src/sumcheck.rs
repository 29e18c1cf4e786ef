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
use crate::{Ext, Fp, ProverChannel, VerifierChannel, VerifyError, par};

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

/// Proves `sum_b a(b) c(b)` for a base-field table `a` and an extension table `c` of the same
/// power-of-two length: exactly the messages of [`prove`] with the tables `[a, c]`, degree 2
/// and `f = v_0 v_1`, but `a` stays in the base field until the first round binds a variable,
/// and each fold also sums the next round's message, in parallel when large.
pub fn prove_product_base(
    label: &'static [u8],
    a: &[Fp],
    c: Vec<Ext>,
    ch: &mut ProverChannel,
) -> SumcheckOutput {
    debug_assert!(a.len().is_power_of_two() && a.len() == c.len());
    let rounds = a.len().trailing_zeros() as usize;
    let mut point = Vec::with_capacity(rounds);
    let mut sums = product_round_base(a, &c);
    let mut tables: Option<Vec<[Ext; 2]>> = None;
    for _ in 0..rounds {
        ch.send_exts(label, &sums);
        let r = ch.challenge_ext(label);
        let (next, next_sums) = match &tables {
            None => fold_product(a.len(), |i| {
                let (a0, a1, c0, c1) = (a[2 * i], a[2 * i + 1], c[2 * i], c[2 * i + 1]);
                [Ext::from(a0) + r * (a1 - a0), c0 + r * (c1 - c0)]
            }),
            Some(t) => fold_product(t.len(), |i| {
                let ([a0, c0], [a1, c1]) = (t[2 * i], t[2 * i + 1]);
                [a0 + r * (a1 - a0), c0 + r * (c1 - c0)]
            }),
        };
        tables = Some(next);
        sums = next_sums;
        point.push(r);
    }
    let values = match tables {
        Some(t) => t.first().map_or(vec![Ext::ZERO; 2], |pair| pair.to_vec()),
        None => vec![
            a.first().map_or(Ext::ZERO, |&v| v.into()),
            c.first().copied().unwrap_or(Ext::ZERO),
        ],
    };
    SumcheckOutput { point, values }
}

/// One round's message `(h(0), h(2))` of `sum_b a(b) c(b)` from the pairs of `a` (base field)
/// and `c`.
pub(crate) fn product_round_base(a: &[Fp], c: &[Ext]) -> [Ext; 2] {
    let partials = par::map_ranges(a.len() / 2, par::MIN_TASK_LEN, |range| {
        let (mut h0, mut h2) = (Ext::ZERO, Ext::ZERO);
        for j in range {
            let (a0, a1, c0, c1) = (a[2 * j], a[2 * j + 1], c[2 * j], c[2 * j + 1]);
            h0 += c0 * a0;
            h2 += (c1 + c1 - c0) * (a1 + a1 - a0);
        }
        [h0, h2]
    });
    add_pairs(partials)
}

fn add_pairs(parts: Vec<[Ext; 2]>) -> [Ext; 2] {
    parts
        .into_iter()
        .fold([Ext::ZERO; 2], |acc, x| [acc[0] + x[0], acc[1] + x[1]])
}

/// Fixes the lowest variable of two tables of `len` entries: `fold(i)` gives entry `i` of the
/// result, the pair `(a, c)` there. Returns the folded pairs and the next round's message
/// `(h(0), h(2))` of `sum_b a(b) c(b)`, summed from them in the same pass.
pub(crate) fn fold_product(
    len: usize,
    fold: impl Fn(usize) -> [Ext; 2] + Sync + Send,
) -> (Vec<[Ext; 2]>, [Ext; 2]) {
    let mut out = vec![[Ext::ZERO; 2]; len / 2];
    let parts = par::fill_chunks(&mut out, par::MIN_TASK_LEN, 2, |at, slots| {
        for (k, slot) in slots.iter_mut().enumerate() {
            *slot = fold(at + k);
        }
        let (mut h0, mut h2) = (Ext::ZERO, Ext::ZERO);
        for pair in slots.chunks_exact(2) {
            let ([a0, c0], [a1, c1]) = (pair[0], pair[1]);
            h0 += a0 * c0;
            h2 += (a1 + a1 - a0) * (c1 + c1 - c0);
        }
        [h0, h2]
    });
    (out, add_pairs(parts))
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

    /// The base-field product prover sends the generic prover's messages and ends at the same
    /// point and values, for sizes that stay on one thread and sizes that do not.
    #[test]
    fn product_prover_matches_the_generic_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        for n in [0usize, 1, 2, 5, 14] {
            let a: Vec<Fp> = (0..1 << n)
                .map(|_| Fp::new(rng.r#gen::<u64>() % 5000))
                .collect();
            let c = rand_table(&mut rng, n);
            let t = Transcript::new(b"product");
            let mut fast = ProverChannel::new(t.clone());
            let out = prove_product_base(b"sc", &a, c.clone(), &mut fast);
            let mut generic = ProverChannel::new(t);
            let ext: Vec<Ext> = a.iter().map(|&v| v.into()).collect();
            let want = prove(b"sc", vec![ext, c], 2, |v| v[0] * v[1], &mut generic);
            assert_eq!(out.point, want.point, "n={n}");
            assert_eq!(out.values, want.values, "n={n}");
            assert_eq!(fast.finish(), generic.finish(), "n={n}");
        }
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
