//! `y[.., n] = sum_k x[.., k] w[n, k] + b[n]` with public `w`, `b`.
//!
//! For a claim `y(z_batch, z_n) = v`: `v - b(z_n) S(z_batch) = sum_k x(z_batch, k) w(z_n, k)`, a
//! degree-2 sumcheck over `k` (claims are batched with powers of a challenge). It ends in claims
//! `x(z_batch, s)` (proven elsewhere) and `w(z_n, s)`, which the verifier evaluates itself from
//! the public weights: one `O(N K)` pass for all the claims (they share the sumcheck point over
//! `k`), the only place the weights are touched.

use omron_zk::{Ext, VerifyError, mle, sumcheck};

use super::{batching_prover, batching_verifier, concat};
use crate::context::{Claim, Prover, Verifier};
use crate::layout::Layout;

fn split(layout_w: &Layout) -> (usize, usize) {
    (layout_w.bits[0] as usize, layout_w.bits[1] as usize) // (N bits, K bits)
}

pub(crate) fn prove(p: &mut Prover<'_>, index: usize, claims: Vec<Claim>) {
    let node = &p.graph.nodes[index];
    let (x, w) = (node.inputs[0], node.inputs[1]);
    let (nb, kb) = split(p.plan.layout(w));
    let coeffs = batching_prover(p, b"matmul-gamma", claims.len());
    let mut tables = Vec::with_capacity(2 * claims.len());
    for c in &claims {
        tables.push(p.fold_high(x, kb, &c.point[nb..]));
        tables.push(p.fold_high(w, kb, &c.point[..nb]));
    }
    let out = sumcheck::prove(
        b"matmul",
        tables,
        2,
        |v| {
            coeffs
                .iter()
                .enumerate()
                .map(|(c, &g)| g * v[2 * c] * v[2 * c + 1])
                .sum()
        },
        &mut p.ch,
    );
    for (i, c) in claims.iter().enumerate() {
        p.claim_value(x, concat(&[&out.point, &c.point[nb..]]), out.values[2 * i]);
    }
}

pub(crate) fn verify(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
) -> Result<(), VerifyError> {
    let node = &v.graph.nodes[index];
    let (x, w, bias) = (node.inputs[0], node.inputs[1], node.inputs.get(2).copied());
    let (nb, kb) = split(v.plan.layout(w));
    let y_dims = &v.plan.layout(node.output).dims;
    let batch = Layout::new(&y_dims[..y_dims.len() - 1]);
    let coeffs = batching_verifier(v, b"matmul-gamma", claims.len());
    let mut sum = Ext::ZERO;
    for (c, &g) in claims.iter().zip(&coeffs) {
        let bias_term = match bias {
            Some(b) => v.eval_public(b, &c.point[..nb]) * batch.real_indicator(&c.point[nb..]),
            None => Ext::ZERO,
        };
        sum += g * (c.value - bias_term);
    }
    let (s, fin) = sumcheck::verify(b"matmul", sum, kb, 2, &mut v.ch)?;
    // Every claim's weight evaluation shares the low point `s`: one pass over the weights
    // fixes it, then each claim costs O(N).
    let w_rows = v.fold_public_low(w, &s);
    let mut expected = Ext::ZERO;
    for (c, &g) in claims.iter().zip(&coeffs) {
        let xv = v.claim(x, concat(&[&s, &c.point[nb..]]))?;
        let wv = mle::evaluate(&w_rows, &c.point[..nb]);
        expected += g * xv * wv;
    }
    if expected != fin {
        return Err(VerifyError::Sumcheck {
            label: "matmul",
            round: kb,
            rounds: kb,
        });
    }
    Ok(())
}
