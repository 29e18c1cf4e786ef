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

use crate::mle::{eq_eval, eq_table};
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
    prove_padded(p, q, n, ch)
}

/// [`prove`] over `2^n` leaves of which only the first `p.len()` are given: every later leaf is
/// `0/1`. Such a tail stays `0/1` in every layer and adds exactly `λ` times its `eq` weight to
/// each round, so the prover never materialises it (the messages are those of [`prove`] on the
/// padded leaves). The lookup argument's concatenated blocks leave such a tail.
pub fn prove_padded(
    mut p: Vec<Ext>,
    mut q: Vec<Ext>,
    n: usize,
    ch: &mut ProverChannel,
) -> FractionSumProof {
    debug_assert!(p.len() == q.len() && p.len() <= 1 << n);
    // An even number of live leaves (a trailing 0/1 pair is padding like the tail).
    if p.len() % 2 == 1 && n > 0 {
        p.push(Ext::ZERO);
        q.push(Ext::ONE);
    }
    // layers[k] = live part of (p_k, q_k), k = 0 (root) ..= n (leaves).
    let mut layers: Vec<(Vec<Ext>, Vec<Ext>)> = Vec::with_capacity(n + 1);
    layers.push((p, q));
    for _ in 0..n {
        let (lp, lq) = &layers[layers.len() - 1];
        let live = lp.len().div_ceil(2);
        let mut np = Vec::with_capacity(live);
        let mut nq = Vec::with_capacity(live);
        for j in 0..live {
            let (p0, q0) = (lp[2 * j], lq[2 * j]);
            let (p1, q1) = (
                child(lp, 2 * j + 1, Ext::ZERO),
                child(lq, 2 * j + 1, Ext::ONE),
            );
            np.push(p0 * q1 + p1 * q0);
            nq.push(q0 * q1);
        }
        layers.push((np, nq));
    }
    layers.reverse();
    let root_p = layers[0].0.first().copied().unwrap_or(Ext::ZERO);
    let root_q = layers[0].1.first().copied().unwrap_or(Ext::ONE);
    ch.send_ext(b"fracsum-root-p", root_p);
    ch.send_ext(b"fracsum-root-q", root_q);

    let mut point: Vec<Ext> = Vec::new();
    let (mut claim_p, mut claim_q) = (root_p, root_q);
    for (lp, lq) in layers.iter().skip(1) {
        let lambda = ch.challenge_ext(b"fracsum-lambda");
        let live = lp.len().div_ceil(2);
        let mut tables: [Vec<Ext>; 4] = std::array::from_fn(|_| Vec::with_capacity(live));
        for j in 0..live {
            tables[0].push(lp[2 * j]);
            tables[1].push(child(lp, 2 * j + 1, Ext::ZERO));
            tables[2].push(lq[2 * j]);
            tables[3].push(child(lq, 2 * j + 1, Ext::ONE));
        }
        let (s, [p0, p1, q0, q1]) = prove_layer(&point, lambda, tables, ch);
        ch.send_exts(b"fracsum-children", &[p0, p1, q0, q1]);
        let mu = ch.challenge_ext(b"fracsum-mu");
        claim_p = p0 + mu * (p1 - p0);
        claim_q = q0 + mu * (q1 - q0);
        point = std::iter::once(mu).chain(s).collect();
    }
    FractionSumProof {
        root_p,
        root_q,
        point,
        leaf_p: claim_p,
        leaf_q: claim_q,
    }
}

/// Entry `i` of a live table, or the padding value past its end.
fn child(t: &[Ext], i: usize, pad: Ext) -> Ext {
    t.get(i).copied().unwrap_or(pad)
}

/// The padding values of the four children tables `p0, p1, q0, q1`.
const PAD: [Ext; 4] = [Ext::ZERO, Ext::ZERO, Ext::ONE, Ext::ONE];

/// One layer's sumcheck, specialised: proves
/// `claim = sum_x eq(r, x) [p0 q1 + p1 q0 + λ q0 q1](x)` over the children tables, sending the
/// same round polynomials as the generic [`sumcheck::prove`] with `eq` as a fifth table, but
/// without folding `eq`: in round `i` the polynomial is
/// `h(X) = C_i eq(r_i, X) q(X)` with `C_i = prod_{j < i} eq(r_j, s_j)` and
/// `q(X) = sum_{x'} eq(r_{>i}, x') g(X, x')` of degree 2, so each pair costs three evaluations of
/// `g` instead of four of `eq g`. The tables hold only their live prefix: past it every entry is
/// the padding `(0, 0, 1, 1)`, where `g = λ`, so the tail adds `λ` times its `eq` weight
/// (`1` minus the live pairs' weight, as `eq` sums to 1). Returns the point and `p0, p1, q0, q1`
/// there.
fn prove_layer(
    r: &[Ext],
    lambda: Ext,
    mut tables: [Vec<Ext>; 4],
    ch: &mut ProverChannel,
) -> (Vec<Ext>, [Ext; 4]) {
    let g = |v: [Ext; 4]| v[0] * v[3] + v[1] * v[2] + lambda * v[2] * v[3];
    let at = |tables: &[Vec<Ext>; 4], i: usize| -> [Ext; 4] {
        std::array::from_fn(|t| child(&tables[t], i, PAD[t]))
    };
    let mut point = Vec::with_capacity(r.len());
    let mut scale = Ext::ONE;
    let three = Ext::from(crate::Fp::new(3));
    for (i, &ri) in r.iter().enumerate() {
        let rest = eq_table(&r[i + 1..]);
        let live = tables[0].len().div_ceil(2);
        let (mut at0, mut at1, mut at2, mut weight) = (Ext::ZERO, Ext::ZERO, Ext::ZERO, Ext::ZERO);
        for (j, &e) in rest.iter().enumerate().take(live) {
            let (a, b) = (at(&tables, 2 * j), at(&tables, 2 * j + 1));
            at0 += e * g(a);
            at1 += e * g(b);
            at2 += e * g(std::array::from_fn(|t| b[t] + b[t] - a[t]));
            weight += e;
        }
        let tail = lambda * (Ext::ONE - weight);
        let (at0, at1, at2) = (at0 + tail, at1 + tail, at2 + tail);
        // q(3) from q(0), q(1), q(2); eq(r_i, X) = (1 - r_i)(1 - X) + r_i X at X = 0, 2, 3.
        let at3 = at0 - three * at1 + three * at2;
        let one = Ext::ONE;
        let msg = [
            scale * (one - ri) * at0,
            scale * (three * ri - one) * at2,
            scale * (three * ri + ri + ri - one - one) * at3,
        ];
        ch.send_exts(b"fracsum-layer", &msg);
        let s = ch.challenge_ext(b"fracsum-layer");
        for (t, table) in tables.iter_mut().enumerate() {
            let folded: Vec<Ext> = (0..live)
                .map(|j| {
                    let a = table[2 * j];
                    a + s * (child(table, 2 * j + 1, PAD[t]) - a)
                })
                .collect();
            *table = folded;
        }
        scale *= (one - ri) * (one - s) + ri * s;
        point.push(s);
    }
    (point, at(&tables, 0))
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

    /// The specialised layer prover sends exactly the generic sumcheck's messages (with `eq`
    /// as a fifth table) and ends at the same point and values.
    #[test]
    fn specialised_layer_matches_the_generic_sumcheck() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for k in [0usize, 1, 4, 7] {
            let r: Vec<Ext> = (0..k).map(|_| rand_ext(&mut rng)).collect();
            let lambda = rand_ext(&mut rng);
            let tables: [Vec<Ext>; 4] =
                std::array::from_fn(|_| (0..1 << k).map(|_| rand_ext(&mut rng)).collect());
            let t = Transcript::new(b"layer");
            let mut fast = ProverChannel::new(t.clone());
            let (point, values) = prove_layer(&r, lambda, tables.clone(), &mut fast);
            let mut generic = ProverChannel::new(t);
            let mut all = vec![crate::mle::eq_table(&r)];
            all.extend(tables);
            let out = sumcheck::prove(
                b"fracsum-layer",
                all,
                3,
                |v| v[0] * (v[1] * v[4] + v[2] * v[3] + lambda * v[3] * v[4]),
                &mut generic,
            );
            assert_eq!(point, out.point, "k={k}");
            assert_eq!(values.to_vec(), out.values[1..].to_vec(), "k={k}");
            assert_eq!(fast.finish(), generic.finish(), "k={k}");
        }
    }

    /// A live prefix proves exactly what the explicitly padded leaves prove.
    #[test]
    fn an_implicit_padding_tail_gives_the_same_proof() {
        for (n, live) in [(0usize, 1usize), (3, 5), (5, 17), (6, 64), (6, 1), (7, 100)] {
            let (p, q) = setup(n);
            let (p, q) = (p[..live].to_vec(), q[..live].to_vec());
            let mut full_p = p.clone();
            let mut full_q = q.clone();
            full_p.resize(1 << n, Ext::ZERO);
            full_q.resize(1 << n, Ext::ONE);
            let t = Transcript::new(b"pad");
            let mut a = ProverChannel::new(t.clone());
            let short = prove_padded(p, q, n, &mut a);
            let mut b = ProverChannel::new(t);
            let long = prove(full_p, full_q, &mut b);
            assert_eq!(short.point, long.point, "n={n} live={live}");
            assert_eq!((short.leaf_p, short.leaf_q), (long.leaf_p, long.leaf_q));
            assert_eq!(a.finish(), b.finish(), "n={n} live={live}");
        }
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
