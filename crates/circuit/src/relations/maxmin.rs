//! `y = max(a, b)` and `y = min(a, b)` with broadcasting, through `d = a - b` and
//! `r = relu(d)`, both committed; the pair `(d, r)` is looked up in the ReLU table over the
//! activation range (which also bounds `|a - b|`, as the op requires).
//!
//! `max(a, b) = b + r` and `min(a, b) = a - r`: a claim on `y` becomes claims on one operand and
//! on `r`. Independently, `d` is checked against its definition `d = a - b` at a fresh point.

use omron_ir::Op;
use omron_zk::{Ext, VerifyError};

use super::elementwise::project;
use crate::context::{Claim, Prover, Verifier};

fn aux(plan: &crate::plan::Plan, index: usize) -> Option<(usize, usize)> {
    let a = plan.aux[index];
    Some((a.diff?, a.relu?))
}

pub(crate) fn prove(p: &mut Prover<'_>, index: usize, claims: Vec<Claim>) {
    let node = &p.graph.nodes[index];
    let Some((d, r)) = aux(p.plan, index) else {
        return;
    };
    let (a, b) = (node.inputs[0], node.inputs[1]);
    let ly = p.plan.layout(node.output).clone();
    let shapes = [
        p.graph.tensors[a].shape.clone(),
        p.graph.tensors[b].shape.clone(),
    ];
    let (kept, kept_shape) = if matches!(node.op, Op::Max) {
        (b, &shapes[1])
    } else {
        (a, &shapes[0])
    };
    for c in claims {
        p.claim(kept, project(kept_shape, &ly, &c.point).point);
        p.claim(r, c.point);
    }
    let tau = p.ch.challenge_exts(b"maxmin-tau", ly.num_vars());
    p.claim(d, tau.clone());
    for (t, shape) in [(a, &shapes[0]), (b, &shapes[1])] {
        p.claim(t, project(shape, &ly, &tau).point);
    }
}

pub(crate) fn verify(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
) -> Result<(), VerifyError> {
    let node = &v.graph.nodes[index];
    let (d, r) = aux(v.plan, index).ok_or_else(|| {
        VerifyError::Relation(format!("{} node has no auxiliary tensors", node.name))
    })?;
    let (a, b) = (node.inputs[0], node.inputs[1]);
    let ly = v.plan.layout(node.output).clone();
    let shapes = [
        v.graph.tensors[a].shape.clone(),
        v.graph.tensors[b].shape.clone(),
    ];
    let is_max = matches!(node.op, Op::Max);
    let (kept, kept_shape) = if is_max {
        (b, &shapes[1])
    } else {
        (a, &shapes[0])
    };
    for c in claims {
        let pr = project(kept_shape, &ly, &c.point);
        let kept_value = pr.factor * v.claim(kept, pr.point)?;
        let relu = v.claim(r, c.point.clone())?;
        let expected = if is_max {
            kept_value + relu
        } else {
            kept_value - relu
        };
        if expected != c.value {
            return Err(VerifyError::Relation(format!(
                "{} node '{}' does not match",
                node.op.name(),
                node.name
            )));
        }
    }
    let tau = v.ch.challenge_exts(b"maxmin-tau", ly.num_vars());
    let diff = v.claim(d, tau.clone())?;
    let mut operands = [Ext::ZERO; 2];
    for (slot, (t, shape)) in operands.iter_mut().zip([(a, &shapes[0]), (b, &shapes[1])]) {
        let pr = project(shape, &ly, &tau);
        *slot = pr.factor * v.claim(t, pr.point)?;
    }
    if diff != operands[0] - operands[1] {
        return Err(VerifyError::Relation(format!(
            "difference of '{}' does not match its operands",
            node.name
        )));
    }
    Ok(())
}
