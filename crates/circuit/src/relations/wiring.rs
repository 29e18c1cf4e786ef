//! Layout ops: `Transpose` and `Reshape`.
//!
//! A transpose permutes whole dimensions, and every dimension is its own block of variables, so
//! a claim on the output is a claim on the input at the permuted point (no proof needed). A
//! reshape that keeps every element at the same padded position is free the same way. Any other
//! reshape moves elements between padded positions and is proven as a selection
//! ([`super::selection`]).

use omron_ir::Op;
use omron_zk::{Ext, VerifyError};

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

/// Whether a reshape keeps every element at its padded position (then it costs nothing).
pub(crate) fn same_positions(x: &Layout, y: &Layout) -> bool {
    x.num_vars() == y.num_vars() && x.positions() == y.positions()
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
        _ => super::selection::prove(p, index, claims),
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
        _ => super::selection::verify(v, index, claims),
    }
}
