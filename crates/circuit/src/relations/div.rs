//! `q = floor(a * 2^shift / b)` with broadcasting (`Div`; `IntDiv` is the same with `shift = 0`
//! and its own bounds): `a * 2^shift = q * b + r` with `q`, `r`
//! and the slack `s = b - 1 - r` committed. Lookups bound `q` to `|q| < 2^30`, `b` to
//! `[1, 2^32)`, `r` and `s` to `[0, 2^32)` (so `0 <= r < b`) and the numerator to `|a 2^shift|
//! < 2^62`; then no term can wrap around the field and the identity holds over the integers.
//!
//! The identity is checked at a random point `τ`: `a(τ) 2^shift - r(τ) = sum_i eq(τ, i) q_i b_i`
//! by a degree-3 sumcheck ending in claims on `q` and `b`; the slack's definition is checked at
//! a second fresh point.

use omron_ir::{Op, broadcast_index_map};
use omron_zk::mle::{eq_eval, eq_table};
use omron_zk::{Ext, Fp, VerifyError, sumcheck};

use super::elementwise::project;
use crate::context::{Claim, Prover, Verifier};
use crate::plan::Role;

fn shift_of(op: &Op) -> u32 {
    match op {
        Op::Div { shift } => *shift,
        _ => 0,
    }
}

pub(crate) fn prove(p: &mut Prover<'_>, index: usize, claims: Vec<Claim>) {
    let node = &p.graph.nodes[index];
    let aux = p.plan.aux[index];
    let (Some(r), Some(slack)) = (aux.remainder, aux.slack) else {
        return;
    };
    let (a, b, q) = (node.inputs[0], node.inputs[1], node.output);
    let ly = p.plan.layout(q).clone();
    let (sa, sb) = (
        p.graph.tensors[a].shape.clone(),
        p.graph.tensors[b].shape.clone(),
    );
    let b_expanded = {
        let rows: &[i64] = match p.plan.role(b) {
            Role::Const => p.graph.tensors[b].const_data().unwrap_or(&[]),
            _ => p.witness.rows(b),
        };
        let mut out = vec![Ext::ZERO; ly.padded_len()];
        for (pos, src) in ly
            .positions()
            .into_iter()
            .zip(broadcast_index_map(&sb, &ly.dims))
        {
            out[pos] = Fp::from_i64(rows[src]).into();
        }
        out
    };
    let q_ext: Vec<Ext> = p.padded(q).iter().map(|&v| v.into()).collect();
    for c in claims {
        p.claim(r, c.point.clone());
        p.claim(a, project(&sa, &ly, &c.point).point);
        let tables = vec![eq_table(&c.point), q_ext.clone(), b_expanded.clone()];
        let out = sumcheck::prove(b"div", tables, 3, |v| v[0] * v[1] * v[2], &mut p.ch);
        p.claim_value(q, out.point.clone(), out.values[1]);
        p.claim(b, project(&sb, &ly, &out.point).point);
    }
    let tau = p.ch.challenge_exts(b"div-slack", ly.num_vars());
    p.claim(slack, tau.clone());
    p.claim(b, project(&sb, &ly, &tau).point);
    p.claim(r, tau);
}

pub(crate) fn verify(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
) -> Result<(), VerifyError> {
    let node = &v.graph.nodes[index];
    let aux = v.plan.aux[index];
    let (Some(r), Some(slack)) = (aux.remainder, aux.slack) else {
        return Err(VerifyError::Relation(format!(
            "Div node '{}' has no auxiliary tensors",
            node.name
        )));
    };
    let shift = shift_of(&node.op);
    let (a, b, q) = (node.inputs[0], node.inputs[1], node.output);
    let ly = v.plan.layout(q).clone();
    let (sa, sb) = (
        v.graph.tensors[a].shape.clone(),
        v.graph.tensors[b].shape.clone(),
    );
    for c in claims {
        let rv = v.claim(r, c.point.clone())?;
        let pa = project(&sa, &ly, &c.point);
        let av = pa.factor * v.claim(a, pa.point)?;
        let lhs = av * Fp::new(1u64 << shift) - rv;
        let (s, fin) = sumcheck::verify(b"div", lhs, ly.num_vars(), 3, &mut v.ch)?;
        let qv = v.claim(q, s.clone())?;
        let pb = project(&sb, &ly, &s);
        let bv = pb.factor * v.claim(b, pb.point)?;
        if eq_eval(&c.point, &s) * qv * bv != fin {
            return Err(VerifyError::Sumcheck {
                label: "div",
                round: s.len(),
                rounds: s.len(),
            });
        }
    }
    let tau = v.ch.challenge_exts(b"div-slack", ly.num_vars());
    let sv = v.claim(slack, tau.clone())?;
    let pb = project(&sb, &ly, &tau);
    let bv = pb.factor * v.claim(b, pb.point)?;
    let rv = v.claim(r, tau.clone())?;
    if sv != bv - ly.real_indicator(&tau) - rv {
        return Err(VerifyError::Relation(format!(
            "Div node '{}': slack does not match",
            node.name
        )));
    }
    Ok(())
}
