//! `q = floor((x + 2^(k-1)) / 2^k)`, proven as `x + 2^(k-1) = 2^k q + r` with `r` committed and
//! range-checked to `[0, 2^k)` and `q` range-checked to the activation range (both by lookups).
//! A claim `q(z) = v` gives the claim `x(z) = 2^k v + r(z) - 2^(k-1) S(z)`, where `S` is the
//! indicator of real positions (the constant is added to real elements only).

use omron_ir::Op;
use omron_zk::{Ext, Fp, VerifyError};

use crate::context::{Claim, Prover, Verifier};

fn shift_of(op: &Op) -> u32 {
    match op {
        Op::Rescale { shift } => *shift,
        _ => 0,
    }
}

fn input_value(shift: u32, q: Ext, r: Ext, indicator: Ext) -> Ext {
    if shift == 0 {
        return q;
    }
    q * Fp::new(1u64 << shift) + r - indicator * Fp::new(1u64 << (shift - 1))
}

pub(crate) fn prove(p: &mut Prover<'_>, index: usize, claims: Vec<Claim>) {
    let node = &p.graph.nodes[index];
    let (x, shift) = (node.inputs[0], shift_of(&node.op));
    let layout = p.plan.layout(node.output).clone();
    for c in claims {
        let r = match p.plan.remainders[index] {
            Some(r) => p.claim(r, c.point.clone()),
            None => Ext::ZERO,
        };
        let value = input_value(shift, c.value, r, layout.real_indicator(&c.point));
        p.derived(x, c.point, value);
    }
}

pub(crate) fn verify(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
) -> Result<(), VerifyError> {
    let node = &v.graph.nodes[index];
    let (x, shift) = (node.inputs[0], shift_of(&node.op));
    let layout = v.plan.layout(node.output).clone();
    for c in claims {
        let r = match v.plan.remainders[index] {
            Some(r) => v.claim(r, c.point.clone())?,
            None => Ext::ZERO,
        };
        let value = input_value(shift, c.value, r, layout.real_indicator(&c.point));
        v.derived(x, c.point, value)?;
    }
    Ok(())
}
