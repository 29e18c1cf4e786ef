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

use crate::mle::{eq_eval, interpolate_at};
use crate::{Ext, ProverChannel, VerifierChannel, VerifyError, par, sumcheck};

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
    p: Vec<Ext>,
    q: Vec<Ext>,
    n: usize,
    ch: &mut ProverChannel,
) -> FractionSumProof {
    debug_assert!(p.len() == q.len());
    let leaves = par::collect(p.len(), par::MIN_TASK_LEN, |i| [p[i], q[i]]);
    prove_pairs(leaves, n, ch)
}

/// A node of the tree: numerator and denominator.
type Frac = [Ext; 2];

/// A node of the implicit tail.
const PAD_FRAC: Frac = [Ext::ZERO, Ext::ONE];

/// [`prove_padded`] with the live leaves given as `(p, q)` pairs, the layout every layer is
/// kept in (the two children of a node are adjacent, so a layer sumcheck reads each pair of
/// nodes as one contiguous block).
pub fn prove_pairs(mut leaves: Vec<Frac>, n: usize, ch: &mut ProverChannel) -> FractionSumProof {
    debug_assert!(leaves.len() <= 1 << n);
    // layers[k] = live part of layer k, k = 0 (root) ..= n (leaves). Every layer below the
    // root has an even live length (a trailing 0/1 node is padding like the tail).
    let mut layers: Vec<Vec<Frac>> = Vec::with_capacity(n + 1);
    if leaves.len() % 2 == 1 && n > 0 {
        leaves.push(PAD_FRAC);
    }
    layers.push(leaves);
    for depth in (0..n).rev() {
        let below = &layers[layers.len() - 1];
        let mut layer = par::collect(below.len() / 2, par::MIN_TASK_LEN, |j| {
            let ([p0, q0], [p1, q1]) = (below[2 * j], below[2 * j + 1]);
            [p0 * q1 + p1 * q0, q0 * q1]
        });
        if layer.len() % 2 == 1 && depth > 0 {
            layer.push(PAD_FRAC);
        }
        layers.push(layer);
    }
    layers.reverse();
    let [root_p, root_q] = layers[0].first().copied().unwrap_or(PAD_FRAC);
    ch.send_ext(b"fracsum-root-p", root_p);
    ch.send_ext(b"fracsum-root-q", root_q);

    let mut point: Vec<Ext> = Vec::new();
    let (mut claim_p, mut claim_q) = (root_p, root_q);
    for layer in layers.iter().skip(1) {
        let lambda = ch.challenge_ext(b"fracsum-lambda");
        let nodes = |x: usize| -> [Ext; 4] {
            let ([p0, q0], [p1, q1]) = (layer[2 * x], layer[2 * x + 1]);
            [p0, p1, q0, q1]
        };
        let claim = claim_p + lambda * claim_q;
        let (s, [p0, p1, q0, q1]) =
            prove_layer(&point, lambda, claim, (nodes, layer.len() / 2), ch);
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

/// The children tables `p0, p1, q0, q1` at one index; past the live entries every index holds
/// the padding `(0, 0, 1, 1)`, where the summand is `λ`.
const PAD: [Ext; 4] = [Ext::ZERO, Ext::ZERO, Ext::ONE, Ext::ONE];

/// The layer summand `p0 q1 + p1 q0 + λ q0 q1`, in three products.
#[inline]
fn summand(v: [Ext; 4], lambda: Ext) -> Ext {
    v[0] * v[3] + v[2] * (v[1] + lambda * v[3])
}

/// Sums over the pairs `(a, b) = (T[2j], T[2j + 1])` of one round, weighted by `rest[j]`:
/// the summand at `a` (`X = 0`), at `b` (`X = 1`, only when `with_one`) and at `2b - a`
/// (`X = 2`), and the weight of the live pairs. Split over threads when large.
fn round_sums(
    table: &(impl Fn(usize) -> [Ext; 4] + Sync),
    live: usize,
    rest: &[Ext],
    lambda: Ext,
    with_one: bool,
) -> [Ext; 4] {
    let partials = par::map_ranges(live.div_ceil(2), par::MIN_TASK_LEN / 4, |range| {
        let mut acc = [Ext::ZERO; 4];
        for j in range {
            let a = table(2 * j);
            let b = if 2 * j + 1 < live {
                table(2 * j + 1)
            } else {
                PAD
            };
            let e = rest[j];
            acc[0] += e * summand(a, lambda);
            if with_one {
                acc[1] += e * summand(b, lambda);
            }
            acc[2] += e * summand(std::array::from_fn(|t| b[t] + b[t] - a[t]), lambda);
            acc[3] += e;
        }
        acc
    });
    partials.into_iter().fold([Ext::ZERO; 4], |mut sum, part| {
        sum.iter_mut().zip(part).for_each(|(s, p)| *s += p);
        sum
    })
}

/// Fixes the lowest variable of the live tables to `s`.
fn fold_tables(table: &(impl Fn(usize) -> [Ext; 4] + Sync), live: usize, s: Ext) -> Vec<[Ext; 4]> {
    par::collect(live.div_ceil(2), par::MIN_TASK_LEN / 4, |j| {
        let a = table(2 * j);
        let b = if 2 * j + 1 < live {
            table(2 * j + 1)
        } else {
            PAD
        };
        std::array::from_fn(|t| a[t] + s * (b[t] - a[t]))
    })
}

/// One layer's sumcheck, specialised: proves
/// `claim = sum_x eq(r, x) [p0 q1 + p1 q0 + λ q0 q1](x)` over the children tables (given as
/// `(entry, live length)`), sending the same round polynomials as the generic
/// [`sumcheck::prove`] with `eq` as a fifth table, but without folding `eq`: in round `i` the
/// polynomial is `h(X) = C_i eq(r_i, X) q(X)` with `C_i = prod_{j < i} eq(r_j, s_j)` and
/// `q(X) = sum_{x'} eq(r_{>i}, x') g(X, x')` of degree 2. `q(1)` follows from the running
/// claim, `h(0) + h(1) = claim`, so each pair costs two evaluations of `g` (at `X = 0, 2`);
/// only when `C_i r_i = 0` (probability about `2^-128`) is `q(1)` summed too. Past the live
/// entries every entry is the padding `(0, 0, 1, 1)`, where `g = λ`, so the tail adds `λ`
/// times its `eq` weight (`1` minus the live pairs' weight, as `eq` sums to 1). Returns the
/// point and `p0, p1, q0, q1` there.
fn prove_layer(
    r: &[Ext],
    lambda: Ext,
    mut claim: Ext,
    (first, first_live): (impl Fn(usize) -> [Ext; 4] + Sync, usize),
    ch: &mut ProverChannel,
) -> (Vec<Ext>, [Ext; 4]) {
    let mut point = Vec::with_capacity(r.len());
    let mut scale = Ext::ONE;
    let one = Ext::ONE;
    let three = Ext::from(crate::Fp::new(3));
    // eq(r_{>i}, .): summing out its lowest variable gives the next round's table.
    let mut rest = if r.is_empty() {
        Vec::new()
    } else {
        par::eq_table(&r[1..])
    };
    let mut folded: Option<Vec<[Ext; 4]>> = None;
    let mut live = first_live;
    for (i, &ri) in r.iter().enumerate() {
        if i > 0 {
            let half = rest.len() / 2;
            let next = par::collect(half, par::MIN_TASK_LEN, |j| rest[2 * j] + rest[2 * j + 1]);
            rest = next;
        }
        let one_from_claim = (scale * ri).inverse();
        let [at0, at1, at2, weight] = match &folded {
            None => round_sums(&first, live, &rest, lambda, one_from_claim.is_none()),
            Some(t) => round_sums(&|j| t[j], live, &rest, lambda, one_from_claim.is_none()),
        };
        let tail = lambda * (one - weight);
        let (at0, at2) = (at0 + tail, at2 + tail);
        let h0 = scale * (one - ri) * at0;
        // h(1) = C_i r_i q(1) = claim - h(0).
        let at1 = match one_from_claim {
            Some(inv) => (claim - h0) * inv,
            None => at1 + tail,
        };
        // q(3) from q(0), q(1), q(2); eq(r_i, X) = (1 - r_i)(1 - X) + r_i X at X = 0, 2, 3.
        let at3 = at0 - three * at1 + three * at2;
        let msg = [
            h0,
            scale * (three * ri - one) * at2,
            scale * (three * ri + ri + ri - one - one) * at3,
        ];
        ch.send_exts(b"fracsum-layer", &msg);
        let s = ch.challenge_ext(b"fracsum-layer");
        let h = [h0, claim - h0, msg[1], msg[2]];
        claim = interpolate_at(&h, s);
        let next = match &folded {
            None => fold_tables(&first, live, s),
            Some(t) => fold_tables(&|j| t[j], live, s),
        };
        live = next.len();
        folded = Some(next);
        scale *= (one - ri) * (one - s) + ri * s;
        point.push(s);
    }
    let values = match &folded {
        None if first_live > 0 => first(0),
        None => PAD,
        Some(t) => t.first().copied().unwrap_or(PAD),
    };
    (point, values)
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
    /// as a fifth table) and ends at the same point and values: with full and live-prefix
    /// tables, and with a zero coordinate in `r`, where `q(1)` cannot be derived from the claim
    /// and is summed instead.
    #[test]
    fn specialised_layer_matches_the_generic_sumcheck() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let cases = [
            (0usize, 1usize, None),
            (1, 2, None),
            (4, 16, None),
            (4, 11, None),
        ];
        let more = [
            (7, 128, None),
            (7, 77, Some(3)),
            (5, 32, Some(0)),
            (5, 9, Some(4)),
        ];
        // Large enough for several threads' worth of pairs.
        let large = [(13, 6000, None), (12, 4096, Some(1))];
        for (k, live, zero_at) in cases.into_iter().chain(more).chain(large) {
            let mut r: Vec<Ext> = (0..k).map(|_| rand_ext(&mut rng)).collect();
            if let Some(i) = zero_at {
                r[i] = Ext::ZERO;
            }
            let lambda = rand_ext(&mut rng);
            let tables: [Vec<Ext>; 4] = std::array::from_fn(|t| {
                (0..1usize << k)
                    .map(|i| if i < live { rand_ext(&mut rng) } else { PAD[t] })
                    .collect()
            });
            let eq = crate::mle::eq_table(&r);
            let claim: Ext = (0..1usize << k)
                .map(|x| eq[x] * summand(std::array::from_fn(|t| tables[t][x]), lambda))
                .sum();
            let t = Transcript::new(b"layer");
            let mut fast = ProverChannel::new(t.clone());
            let entry = |x: usize| -> [Ext; 4] { std::array::from_fn(|t| tables[t][x]) };
            let (point, values) = prove_layer(&r, lambda, claim, (entry, live), &mut fast);
            let mut generic = ProverChannel::new(t);
            let mut all = vec![eq];
            all.extend(tables.clone());
            let out = sumcheck::prove(
                b"fracsum-layer",
                all,
                3,
                |v| v[0] * (v[1] * v[4] + v[2] * v[3] + lambda * v[3] * v[4]),
                &mut generic,
            );
            assert_eq!(point, out.point, "k={k} live={live}");
            assert_eq!(
                values.to_vec(),
                out.values[1..].to_vec(),
                "k={k} live={live}"
            );
            assert_eq!(fast.finish(), generic.finish(), "k={k} live={live}");
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
