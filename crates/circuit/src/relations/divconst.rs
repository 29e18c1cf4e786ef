//! Division by a constant: `Rescale` (by `2^shift`, rounding), `DivRound` and `DivFloor`.
//!
//! All three are `x + c = d q + r` with the quotient `q` committed and range-checked and the
//! remainder `r` committed and range-checked to `[0, d)`; `c = floor(d / 2)` for rounding
//! divisions and 0 for floor divisions. A claim `q(z) = v` gives the claim
//! `x(z) = d v + r(z) - c S(z)`, where `S` is the indicator of real positions (the constant is
//! added to real elements only). With `q` and `r` in range, the identity cannot wrap around the
//! field, so it holds over the integers and pins `q` down.

use omron_zk::{Ext, Fp, VerifyError};

use crate::context::{Claim, Prover, Verifier};
use crate::plan::const_division;

fn input_value(divisor: u64, offset: u64, q: Ext, r: Ext, indicator: Ext) -> Ext {
    q * Fp::new(divisor) + r - indicator * Fp::new(offset)
}

pub(crate) fn prove(p: &mut Prover<'_>, index: usize, claims: Vec<Claim>) {
    let node = &p.graph.nodes[index];
    let (x, Some(div)) = (node.inputs[0], const_division(&node.op)) else {
        return;
    };
    let layout = p.plan.layout(node.output).clone();
    for c in claims {
        let r = match p.plan.aux[index].remainder {
            Some(r) => p.claim(r, c.point.clone()),
            None => Ext::ZERO,
        };
        let value = input_value(
            div.divisor,
            div.offset,
            c.value,
            r,
            layout.real_indicator(&c.point),
        );
        p.derived(x, c.point, value);
    }
}

pub(crate) fn verify(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
) -> Result<(), VerifyError> {
    let node = &v.graph.nodes[index];
    let (x, Some(div)) = (node.inputs[0], const_division(&node.op)) else {
        return Err(VerifyError::Relation(format!(
            "{} is not a constant division",
            node.op.name()
        )));
    };
    let layout = v.plan.layout(node.output).clone();
    for c in claims {
        let r = match v.plan.aux[index].remainder {
            Some(r) => v.claim(r, c.point.clone())?,
            None => Ext::ZERO,
        };
        let value = input_value(
            div.divisor,
            div.offset,
            c.value,
            r,
            layout.real_indicator(&c.point),
        );
        v.derived(x, c.point, value)?;
    }
    Ok(())
}
