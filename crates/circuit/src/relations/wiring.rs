//! Layout ops: `Transpose` and `Reshape`.
//!
//! A transpose permutes whole dimensions, and every dimension is its own block of variables, so
//! a claim on the output is a claim on the input at the permuted point (no proof needed). A
//! reshape that keeps every element at the same padded position is free the same way. Any other
//! reshape moves elements between padded positions `σ`: `y(z) = sum_j x(j) G(j)` with
//! `G(pos_x(e)) = eq(z, pos_y(e))`, a degree-2 sumcheck over the input, after which the verifier
//! evaluates `G` at the final point in `O(elements)`.

use omron_ir::Op;
use omron_zk::mle::eq_table;
use omron_zk::{Ext, VerifyError, sumcheck};

use super::{batching_prover, batching_verifier};
use crate::context::{Claim, Prover, Verifier};
use crate::layout::Layout;

/// The input point of a transpose for an output point.
fn transpose_point(perm: &[usize], x: &Layout, y: &Layout, z: &[Ext]) -> Vec<Ext> {
    let mut inverse = vec![0; perm.len()];
    for (i, &d) in perm.iter().enumerate() {
        inverse[d] = i;
    }
    let mut point = Vec::with_capacity(x.num_vars());
    for d in (0..x.dims.len()).rev() {
        point.extend_from_slice(y.dim_point(z, inverse[d]));
    }
    point
}

fn same_positions(x: &Layout, y: &Layout) -> bool {
    x.num_vars() == y.num_vars() && x.positions() == y.positions()
}

fn wiring_table(x: &Layout, y: &Layout, claims: &[Claim], coeffs: &[Ext]) -> Vec<Ext> {
    let mut combined = vec![Ext::ZERO; y.padded_len()];
    for (c, &g) in claims.iter().zip(coeffs) {
        for (slot, t) in combined.iter_mut().zip(eq_table(&c.point)) {
            *slot += g * t;
        }
    }
    let mut g = vec![Ext::ZERO; x.padded_len()];
    for (px, py) in x.positions().into_iter().zip(y.positions()) {
        g[px] = combined[py];
    }
    g
}

pub(crate) fn prove(p: &mut Prover<'_>, index: usize, claims: Vec<Claim>) {
    let node = &p.graph.nodes[index];
    let (x, y) = (node.inputs[0], node.output);
    let (lx, ly) = (p.plan.layout(x).clone(), p.plan.layout(y).clone());
    match &node.op {
        Op::Transpose { perm } => {
            for c in claims {
                p.derived(x, transpose_point(perm, &lx, &ly, &c.point), c.value);
            }
        }
        _ if same_positions(&lx, &ly) => {
            for c in claims {
                p.derived(x, c.point, c.value);
            }
        }
        _ => {
            let coeffs = batching_prover(p, b"reshape-gamma", claims.len());
            let g = wiring_table(&lx, &ly, &claims, &coeffs);
            let xs: Vec<Ext> = p.padded(x).iter().map(|&v| v.into()).collect();
            let out = sumcheck::prove(b"reshape", vec![xs, g], 2, |v| v[0] * v[1], &mut p.ch);
            p.claim_value(x, out.point, out.values[0]);
        }
    }
}

pub(crate) fn verify(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
) -> Result<(), VerifyError> {
    let node = &v.graph.nodes[index];
    let (x, y) = (node.inputs[0], node.output);
    let (lx, ly) = (v.plan.layout(x).clone(), v.plan.layout(y).clone());
    match &node.op {
        Op::Transpose { perm } => {
            for c in claims {
                v.derived(x, transpose_point(perm, &lx, &ly, &c.point), c.value)?;
            }
            Ok(())
        }
        _ if same_positions(&lx, &ly) => {
            for c in claims {
                v.derived(x, c.point, c.value)?;
            }
            Ok(())
        }
        _ => {
            let coeffs = batching_verifier(v, b"reshape-gamma", claims.len());
            let sum: Ext = claims.iter().zip(&coeffs).map(|(c, &g)| g * c.value).sum();
            let (s, fin) = sumcheck::verify(b"reshape", sum, lx.num_vars(), 2, &mut v.ch)?;
            // G(s) = sum_e eq(s, pos_x(e)) * sum_c g_c eq(z_c, pos_y(e)).
            let eq_s = eq_table(&s);
            let eq_z: Vec<Vec<Ext>> = claims.iter().map(|c| eq_table(&c.point)).collect();
            let mut g_at = Ext::ZERO;
            for (px, py) in lx.positions().into_iter().zip(ly.positions()) {
                let inner: Ext = eq_z.iter().zip(&coeffs).map(|(e, &g)| g * e[py]).sum();
                g_at += eq_s[px] * inner;
            }
            let xv = v.claim(x, s)?;
            if xv * g_at != fin {
                return Err(VerifyError::Sumcheck {
                    label: "reshape",
                    round: lx.num_vars(),
                    rounds: lx.num_vars(),
                });
            }
            Ok(())
        }
    }
}
