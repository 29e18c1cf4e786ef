//! `y = max(a, b)` and `y = min(a, b)` with broadcasting, through `r = relu(a - b)`, committed.
//! The pair `(a - b, r)` is looked up in the ReLU table over the activation range, with `a - b`
//! an affine lookup column (never committed); the lookup also bounds `|a - b|`, as the op
//! requires.
//!
//! `max(a, b) = b + r` and `min(a, b) = a - r`: a claim on `y` becomes claims on one operand and
//! on `r`.

use omron_ir::Op;
use omron_zk::VerifyError;

use super::elementwise::project;
use crate::context::{Claim, Prover, Verifier};

pub(crate) fn prove(p: &mut Prover<'_>, index: usize, claims: Vec<Claim>) {
    let node = &p.graph.nodes[index];
    let Some(r) = p.plan.aux[index].relu else {
        return;
    };
    let (a, b) = (node.inputs[0], node.inputs[1]);
    let ly = p.plan.layout(node.output).clone();
    let kept = if matches!(node.op, Op::Max) { b } else { a };
    let kept_shape = p.graph.tensors[kept].shape.clone();
    for c in claims {
        p.claim(kept, project(&kept_shape, &ly, &c.point).point);
        p.claim(r, c.point);
    }
}

pub(crate) fn verify(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
) -> Result<(), VerifyError> {
    let node = &v.graph.nodes[index];
    let r = v.plan.aux[index].relu.ok_or_else(|| {
        VerifyError::Relation(format!("{} node has no auxiliary tensor", node.name))
    })?;
    let (a, b) = (node.inputs[0], node.inputs[1]);
    let ly = v.plan.layout(node.output).clone();
    let is_max = matches!(node.op, Op::Max);
    let kept = if is_max { b } else { a };
    let kept_shape = v.graph.tensors[kept].shape.clone();
    for c in claims {
        let pr = project(&kept_shape, &ly, &c.point);
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
    Ok(())
}
