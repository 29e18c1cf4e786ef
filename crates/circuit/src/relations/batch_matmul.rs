//! `y[.., m, n] = sum_k a[.., m, k] b[.., k, n]` for two tensors of the proof (committed,
//! virtual or public), with shared batch dimensions (attention heads).
//!
//! The batch dimensions appear in both operands, so they cannot be fixed at the claim's point
//! the way `MatMul`'s rows are: the product of the two operands' extensions at a non-boolean
//! batch point is not the extension of the products. For a claim `y(z_b, z_m, z_n) = v`:
//!
//! `v = sum_{β, k} eq(z_b, β) a(β, z_m, k) b(β, k, z_n)`,
//!
//! a degree-3 sumcheck over the batch and contraction variables (degree 2 in `k`, 3 in `β`;
//! several claims are batched with powers of a challenge `γ`). It ends at a point `(s_k, s_b)`
//! in claims `a(s_b, z_m, s_k)` and `b(s_b, s_k, z_n)`, which the operands' producers prove
//! (or the verifier evaluates, for public operands); the verifier computes `eq(z_b, s_b)`.
//! Soundness: `(K_bits + batch_bits) 3 / |Fp2|`, plus `(claims - 1) / |Fp2|` for `γ`.
//!
//! The plan range-checks both operands to the activation range unless the graph already bounds
//! them, so `|y| <= K 2^30 < 2^62` (`plan::check_product_no_wrap`): the field identity is the
//! integer one.

use omron_zk::mle::{eq_eval, eq_table};
use omron_zk::{Ext, Fp, VerifyError, sumcheck};

use super::{batching_prover, batching_verifier, concat};
use crate::context::{Claim, Prover, Verifier};
use crate::plan::{Plan, TensorRef};

/// Variable counts of the blocks: the contraction `k`, rows `m`, columns `n` and the batch.
struct Blocks {
    k: usize,
    m: usize,
    n: usize,
    batch: usize,
}

impl Blocks {
    fn of(plan: &Plan, a: TensorRef, b: TensorRef) -> Blocks {
        let (la, lb) = (plan.layout(a), plan.layout(b));
        let r = la.bits.len();
        Blocks {
            k: la.bits[r - 1] as usize,
            m: la.bits[r - 2] as usize,
            n: lb.bits[r - 1] as usize,
            batch: la.bits[..r - 2].iter().map(|&b| b as usize).sum(),
        }
    }

    /// `(z_n, z_m, z_b)` of a point on the output (lowest variables first).
    fn split<'a>(&self, z: &'a [Ext]) -> (&'a [Ext], &'a [Ext], &'a [Ext]) {
        let (zn, rest) = z.split_at(self.n);
        let (zm, zb) = rest.split_at(self.m);
        (zn, zm, zb)
    }
}

/// For values laid out as `[high][mid][low]` (`mid` with `mid_point.len()` variables, `low`
/// with `low_vars`): `out[high][low] = sum_mid eq(mid_point, mid) values[high][mid][low]`.
fn fold_middle(values: &[Fp], low_vars: usize, mid_point: &[Ext]) -> Vec<Ext> {
    let low = 1usize << low_vars;
    let eq = eq_table(mid_point);
    let block = low * eq.len();
    let mut out = vec![Ext::ZERO; values.len() / eq.len()];
    for (h, chunk) in values.chunks_exact(block).enumerate() {
        let row = &mut out[h * low..(h + 1) * low];
        for (e, mid) in eq.iter().zip(chunk.chunks_exact(low)) {
            for (o, &v) in row.iter_mut().zip(mid) {
                *o += *e * v;
            }
        }
    }
    out
}

pub(crate) fn prove(p: &mut Prover<'_>, index: usize, claims: Vec<Claim>) {
    let node = &p.graph.nodes[index];
    let (a, b) = (node.inputs[0], node.inputs[1]);
    let blocks = Blocks::of(p.plan, a, b);
    let coeffs = batching_prover(p, b"bmm-gamma", claims.len());
    let mut tables = Vec::with_capacity(3 * claims.len());
    for c in &claims {
        let (zn, zm, zb) = blocks.split(&c.point);
        // Indexed by (β, k), k lowest: eq(z_b, β), a(β, z_m, k), b(β, k, z_n).
        let eq_b = eq_table(zb);
        let k_len = 1usize << blocks.k;
        tables.push(
            eq_b.iter()
                .flat_map(|&e| std::iter::repeat_n(e, k_len))
                .collect(),
        );
        tables.push(fold_middle(p.padded(a), blocks.k, zm));
        tables.push(fold_middle(p.padded(b), 0, zn));
    }
    let out = sumcheck::prove(
        b"batch-matmul",
        tables,
        3,
        |v| {
            coeffs
                .iter()
                .enumerate()
                .map(|(c, &g)| g * v[3 * c] * v[3 * c + 1] * v[3 * c + 2])
                .sum()
        },
        &mut p.ch,
    );
    let (sk, sb) = out.point.split_at(blocks.k);
    for (i, c) in claims.iter().enumerate() {
        let (zn, zm, _) = blocks.split(&c.point);
        p.claim_value(a, concat(&[sk, zm, sb]), out.values[3 * i + 1]);
        p.claim_value(b, concat(&[zn, sk, sb]), out.values[3 * i + 2]);
    }
}

pub(crate) fn verify(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
) -> Result<(), VerifyError> {
    let node = &v.graph.nodes[index];
    let (a, b) = (node.inputs[0], node.inputs[1]);
    let blocks = Blocks::of(v.plan, a, b);
    let coeffs = batching_verifier(v, b"bmm-gamma", claims.len());
    let sum: Ext = claims.iter().zip(&coeffs).map(|(c, &g)| g * c.value).sum();
    let vars = blocks.k + blocks.batch;
    let (s, fin) = sumcheck::verify(b"batch-matmul", sum, vars, 3, &mut v.ch)?;
    let (sk, sb) = s.split_at(blocks.k);
    let mut expected = Ext::ZERO;
    for (c, &g) in claims.iter().zip(&coeffs) {
        let (zn, zm, zb) = blocks.split(&c.point);
        let av = v.claim(a, concat(&[sk, zm, sb]))?;
        let bv = v.claim(b, concat(&[zn, sk, sb]))?;
        expected += g * eq_eval(zb, sb) * av * bv;
    }
    if expected != fin {
        return Err(VerifyError::Sumcheck {
            label: "batch-matmul",
            round: vars,
            rounds: vars,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use omron_zk::mle::evaluate;

    use super::*;

    #[test]
    fn folding_the_middle_block_evaluates_it() {
        // [high 2][mid 4][low 2]
        let values: Vec<Fp> = (0..16).map(|i| Fp::new(i * i + 3)).collect();
        let mid: Vec<Ext> = vec![Ext::from(Fp::new(5)), Ext::from(Fp::new(9))];
        let out = fold_middle(&values, 1, &mid);
        assert_eq!(out.len(), 4);
        for h in 0..2 {
            for l in 0..2 {
                let column: Vec<Ext> = (0..4)
                    .map(|m| Ext::from(values[(h * 4 + m) * 2 + l]))
                    .collect();
                assert_eq!(out[h * 2 + l], evaluate(&column, &mid), "{h} {l}");
            }
        }
    }
}
