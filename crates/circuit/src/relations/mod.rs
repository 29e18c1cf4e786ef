//! One relation per kind of node: each turns claims on the node's output into claims on its
//! operands (prover side) and checks that reduction (verifier side).

pub(crate) mod batch_matmul;
pub(crate) mod conv;
pub(crate) mod div;
pub(crate) mod elementwise;
pub(crate) mod embedding;
pub(crate) mod lookup;
pub(crate) mod matmul;
pub(crate) mod maxmin;
pub(crate) mod multiplicities;
pub(crate) mod selection;
pub(crate) mod wiring;

use omron_ir::Op;
use omron_zk::{Ext, Fp, VerifyError};

use crate::context::{Claim, Prover, Verifier};

/// Reduces `claims` on the output of node `index` (possibly none: some relations also check
/// auxiliary tensors of their own).
pub(crate) fn prove_node(p: &mut Prover<'_>, index: usize, claims: Vec<Claim>) {
    let op = &p.graph.nodes[index].op;
    let has_aux_checks = matches!(op, Op::Div { .. } | Op::IntDiv { .. });
    if claims.is_empty() && !has_aux_checks {
        return;
    }
    match op {
        Op::MatMul => matmul::prove(p, index, claims),
        Op::BatchMatMul => batch_matmul::prove(p, index, claims),
        Op::Conv(_) => conv::prove(p, index, claims),
        Op::Add | Op::Sub | Op::Mul => elementwise::prove(p, index, claims),
        Op::Div { .. } | Op::IntDiv { .. } => div::prove(p, index, claims),
        Op::Max | Op::Min => maxmin::prove(p, index, claims),
        Op::Reshape { .. } | Op::Transpose { .. } => wiring::prove(p, index, claims),
        Op::Slice { .. }
        | Op::Concat { .. }
        | Op::Pad { .. }
        | Op::Gather { .. }
        | Op::ReduceSum { .. }
        | Op::SumPool { .. } => selection::prove(p, index, claims),
        // Settled by the lookup argument (divisions by constants: the remainder column); an
        // embedding's claims are checked by the verifier against its public operands.
        Op::Embedding
        | Op::Lookup(_)
        | Op::WideLookup { .. }
        | Op::Rescale { .. }
        | Op::DivRound { .. }
        | Op::DivFloor { .. } => {}
    }
}

/// Checks the reduction of `claims` on the output of node `index`.
pub(crate) fn verify_node(
    v: &mut Verifier<'_>,
    index: usize,
    claims: Vec<Claim>,
) -> Result<(), VerifyError> {
    let op = &v.graph.nodes[index].op;
    // An embedding checks its public indices even when nothing reads its output.
    let has_aux_checks = matches!(op, Op::Div { .. } | Op::IntDiv { .. } | Op::Embedding);
    if claims.is_empty() && !has_aux_checks {
        return Ok(());
    }
    match op {
        Op::MatMul => matmul::verify(v, index, claims),
        Op::BatchMatMul => batch_matmul::verify(v, index, claims),
        Op::Embedding => embedding::verify(v, index, claims),
        Op::Conv(_) => conv::verify(v, index, claims),
        Op::Add | Op::Sub | Op::Mul => elementwise::verify(v, index, claims),
        Op::Div { .. } | Op::IntDiv { .. } => div::verify(v, index, claims),
        Op::Max | Op::Min => maxmin::verify(v, index, claims),
        Op::Reshape { .. } | Op::Transpose { .. } => wiring::verify(v, index, claims),
        Op::Slice { .. }
        | Op::Concat { .. }
        | Op::Pad { .. }
        | Op::Gather { .. }
        | Op::ReduceSum { .. }
        | Op::SumPool { .. } => selection::verify(v, index, claims),
        Op::Lookup(_)
        | Op::WideLookup { .. }
        | Op::Rescale { .. }
        | Op::DivRound { .. }
        | Op::DivFloor { .. } => Ok(()),
    }
}

/// The padded values of tensor `t` ([`Prover::padded`]), borrowed from the witness or the
/// constants rather than from the prover, so the channel stays free to send while reading them.
pub(crate) fn padded<'a>(p: &Prover<'a>, t: crate::plan::TensorRef) -> &'a [Fp] {
    let (witness, consts) = (p.witness, p.consts);
    if p.plan.role(t) == crate::plan::Role::Const {
        &consts[t]
    } else {
        &witness.padded[t]
    }
}

/// Powers `1, γ, γ^2, ...` of a batching challenge.
pub(crate) fn powers(gamma: Ext, n: usize) -> Vec<Ext> {
    let mut out = Vec::with_capacity(n);
    let mut acc = Ext::ONE;
    for _ in 0..n {
        out.push(acc);
        acc *= gamma;
    }
    out
}

/// Draws a batching challenge when more than one claim is reduced at once.
pub(crate) fn batching_prover(p: &mut Prover<'_>, label: &'static [u8], n: usize) -> Vec<Ext> {
    let gamma = if n > 1 {
        p.ch.challenge_ext(label)
    } else {
        Ext::ONE
    };
    powers(gamma, n)
}

/// The verifier's twin of [`batching_prover`].
pub(crate) fn batching_verifier(v: &mut Verifier<'_>, label: &'static [u8], n: usize) -> Vec<Ext> {
    let gamma = if n > 1 {
        v.ch.challenge_ext(label)
    } else {
        Ext::ONE
    };
    powers(gamma, n)
}

/// Concatenates point pieces, lowest variables first.
pub(crate) fn concat(parts: &[&[Ext]]) -> Vec<Ext> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}
