//! GKR for sums of fractions: the engine of LogUp (Papini and Haböck, "Improving logarithmic
//! derivative lookups using GKR", eprint 2023/1284).
//!
//! The prover claims `sum_i p_i / q_i = P / Q` over `2^n` leaves. The leaves form the bottom of a
//! binary tree whose nodes add their children as fractions without dividing:
//! `p' = p_0 q_1 + p_1 q_0`, `q' = q_0 q_1` (children `2j`, `2j + 1`). The prover sends the root
//! `(P, Q)`; then, layer by layer from the root, a claim on layer `k`'s multilinear extensions
//! `p_k(r), q_k(r)` is reduced to a claim on layer `k + 1` by one sumcheck of degree 3:
//!
//! `p_k(r) + λ q_k(r) = sum_x eq(r, x) [p_{k+1}(0,x) q_{k+1}(1,x) + p_{k+1}(1,x) q_{k+1}(0,x)
//!                                        + λ q_{k+1}(0,x) q_{k+1}(1,x)]`
//!
//! (the first argument is index bit 0, the child bit). The prover sends the four values
//! `p_{k+1}(b, s), q_{k+1}(b, s)` at the sumcheck's point `s`; a fresh `μ` merges them into one
//! claim at `(μ, s)`. At the leaves the caller checks `p_n(r), q_n(r)` against what the leaves
//! are defined to be. Soundness error per layer: `(3k + 2) / |Fp2|`.

use crate::mle::eq_eval;
use crate::{Ext, ProverChannel, VerifierChannel, VerifyError, sumcheck};

/// What the prover's run leaves behind: the root and the leaf claim.
#[derive(Debug, Clone)]
pub struct FractionSumProof {
    /// Numerator of the total.
    pub root_p: Ext,
    /// Denominator of the total.
    pub root_q: Ext,
    /// The random point on the leaves (`n` coordinates).
    pub point: Vec<Ext>,
    /// `p~(point)` over the leaves.
    pub leaf_p: Ext,
    /// `q~(point)` over the leaves.
    pub leaf_q: Ext,
}

/// Proves the fraction sum of the leaves `p_i / q_i` (equal power-of-two lengths).
pub fn prove(p: Vec<Ext>, q: Vec<Ext>, ch: &mut ProverChannel) -> FractionSumProof {
    debug_assert!(p.len().is_power_of_two() && p.len() == q.len());
    let n = p.len().trailing_zeros() as usize;
    // layers[k] = (p_k, q_k), k = 0 (root) ..= n (leaves).
    let mut layers: Vec<(Vec<Ext>, Vec<Ext>)> = Vec::with_capacity(n + 1);
    layers.push((p, q));
    for _ in 0..n {
        let (lp, lq) = &layers[layers.len() - 1];
        let half = lp.len() / 2;
        let mut np = Vec::with_capacity(half);
        let mut nq = Vec::with_capacity(half);
        for j in 0..half {
            let (p0, p1, q0, q1) = (lp[2 * j], lp[2 * j + 1], lq[2 * j], lq[2 * j + 1]);
            np.push(p0 * q1 + p1 * q0);
            nq.push(q0 * q1);
        }
        layers.push((np, nq));
    }
    layers.reverse();
    let (root_p, root_q) = (layers[0].0[0], layers[0].1[0]);
    ch.send_ext(b"fracsum-root-p", root_p);
    ch.send_ext(b"fracsum-root-q", root_q);

    let mut point: Vec<Ext> = Vec::new();
    let (mut claim_p, mut claim_q) = (root_p, root_q);
    for (lp, lq) in layers.iter().skip(1) {
        let lambda = ch.challenge_ext(b"fracsum-lambda");
        let half = lp.len() / 2;
        let eq = crate::mle::eq_table(&point);
        let mut tables = vec![
            eq,
            Vec::with_capacity(half),
            Vec::with_capacity(half),
            Vec::with_capacity(half),
            Vec::with_capacity(half),
        ];
        for j in 0..half {
            tables[1].push(lp[2 * j]);
            tables[2].push(lp[2 * j + 1]);
            tables[3].push(lq[2 * j]);
            tables[4].push(lq[2 * j + 1]);
        }
        let out = sumcheck::prove(
            b"fracsum-layer",
            tables,
            3,
            |v| v[0] * (v[1] * v[4] + v[2] * v[3] + lambda * v[3] * v[4]),
            ch,
        );
        let [_, p0, p1, q0, q1] = [
            out.values[0],
            out.values[1],
            out.values[2],
            out.values[3],
            out.values[4],
        ];
        ch.send_exts(b"fracsum-children", &[p0, p1, q0, q1]);
        let mu = ch.challenge_ext(b"fracsum-mu");
        claim_p = p0 + mu * (p1 - p0);
        claim_q = q0 + mu * (q1 - q0);
        point = std::iter::once(mu).chain(out.point).collect();
    }
    FractionSumProof {
        root_p,
        root_q,
        point,
        leaf_p: claim_p,
        leaf_q: claim_q,
    }
}

/// Verifies a fraction sum over `2^n` leaves. Returns the root and the leaf claim, which the
/// caller must check against the leaves' definition.
pub fn verify(n: usize, ch: &mut VerifierChannel<'_>) -> Result<FractionSumProof, VerifyError> {
    let root_p = ch.recv_ext(b"fracsum-root-p")?;
    let root_q = ch.recv_ext(b"fracsum-root-q")?;
    let mut point: Vec<Ext> = Vec::new();
    let (mut claim_p, mut claim_q) = (root_p, root_q);
    for k in 0..n {
        let lambda = ch.challenge_ext(b"fracsum-lambda");
        let (s, final_claim) =
            sumcheck::verify(b"fracsum-layer", claim_p + lambda * claim_q, k, 3, ch)?;
        let c = ch.recv_exts(b"fracsum-children", 4)?;
        let (p0, p1, q0, q1) = (c[0], c[1], c[2], c[3]);
        let expected = eq_eval(&point, &s) * (p0 * q1 + p1 * q0 + lambda * q0 * q1);
        if expected != final_claim {
            return Err(VerifyError::Sumcheck {
                label: "fraction-sum layer",
                round: k,
                rounds: k,
            });
        }
        let mu = ch.challenge_ext(b"fracsum-mu");
        claim_p = p0 + mu * (p1 - p0);
        claim_q = q0 + mu * (q1 - q0);
        point = std::iter::once(mu).chain(s).collect();
    }
    Ok(FractionSumProof {
        root_p,
        root_q,
        point,
        leaf_p: claim_p,
        leaf_q: claim_q,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mle::evaluate;
    use crate::{Fp, Transcript, field::batch_inverse};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn rand_ext(rng: &mut impl Rng) -> Ext {
        Ext::new(Fp::new(rng.r#gen()), Fp::new(rng.r#gen()))
    }

    fn setup(n: usize) -> (Vec<Ext>, Vec<Ext>) {
        let mut rng = ChaCha8Rng::seed_from_u64(10 + n as u64);
        let p: Vec<Ext> = (0..1 << n).map(|_| rand_ext(&mut rng)).collect();
        let q: Vec<Ext> = (0..1 << n).map(|_| rand_ext(&mut rng)).collect();
        (p, q)
    }

    #[test]
    fn root_is_the_fraction_sum_and_leaf_claims_hold() {
        for n in [0, 1, 3, 6] {
            let (p, q) = setup(n);
            let t = Transcript::new(b"fs");
            let mut pc = ProverChannel::new(t.clone());
            let out = prove(p.clone(), q.clone(), &mut pc);
            let mut inv = q.clone();
            assert!(batch_inverse(&mut inv));
            let sum: Ext = p.iter().zip(&inv).map(|(a, b)| *a * *b).sum();
            assert_eq!(out.root_p * out.root_q.inverse().unwrap(), sum);
            let proof = pc.finish();
            let mut vc = VerifierChannel::new(t, &proof, 1 << 20).unwrap();
            let v = verify(n, &mut vc).unwrap();
            vc.finish().unwrap();
            assert_eq!(v.point, out.point);
            assert_eq!(evaluate(&p, &v.point), v.leaf_p);
            assert_eq!(evaluate(&q, &v.point), v.leaf_q);
        }
    }

    #[test]
    fn tampering_is_detected_or_breaks_the_leaf_claim() {
        let n = 5;
        let (p, q) = setup(n);
        let t = Transcript::new(b"fs");
        let mut pc = ProverChannel::new(t.clone());
        prove(p.clone(), q.clone(), &mut pc);
        let proof = pc.finish();
        for i in (0..proof.len()).step_by(11) {
            let mut bad = proof.clone();
            bad[i] ^= 0x04;
            let mut vc = VerifierChannel::new(t.clone(), &bad, 1 << 20).unwrap();
            let ok = match verify(n, &mut vc) {
                Ok(v) => {
                    vc.finish().is_ok()
                        && evaluate(&p, &v.point) == v.leaf_p
                        && evaluate(&q, &v.point) == v.leaf_q
                }
                Err(_) => false,
            };
            assert!(!ok, "byte {i} flipped but accepted");
        }
    }
}
