//! Which tensors are known, from the graph alone, to lie in the activation range
//! `[ACT_MIN, ACT_MAX]`. A product of two computed tensors ([`Op::BatchMatMul`]) is only free of
//! wrap-around when both operands are activations; the plan range-checks an operand with a
//! lookup unless this analysis already proves it bounded.
//!
//! A tensor is known bounded when every honest *and every accepted* value of it is: the bound
//! must follow from what the proof checks, not from what the executor happens to compute.
//! That holds for quotients of `Rescale`/`DivRound` (range-checked, or public outputs whose
//! range the verifier checks), lookup outputs whose whole table lies in the range (the pair
//! `(x, f(x))` is a table row), `Max`/`Min` of bounded operands (`b + relu(a - b)` with the
//! ReLU pair a table row), constants whose values lie in it, embedding rows of such a table,
//! and layout ops that only move bounded elements.

use std::collections::BTreeMap;

use omron_ir::{ACT_MAX, ACT_MIN, ExactFn, Graph, LookupFn, Op, TensorKind};

fn in_range(v: i64) -> bool {
    (ACT_MIN..=ACT_MAX).contains(&v)
}

/// Whether an exact function's values over `[lo, hi)` lie in the activation range.
fn exact_bounded(f: ExactFn, lo: i64, hi: i64) -> bool {
    let within = |a: i64, b: i64| in_range(a) && in_range(b);
    match f {
        ExactFn::Step | ExactFn::NonNegative | ExactFn::IsZero | ExactFn::Sign => true,
        ExactFn::Identity => within(lo, hi - 1),
        ExactFn::Relu => within(lo.max(0), hi - 1),
        ExactFn::Abs => within(lo.saturating_neg(), hi - 1),
        ExactFn::Sn2ResponseCurve => false,
    }
}

/// For every tensor of `graph`: whether it is known to lie in the activation range.
pub(crate) fn activation_bounded(graph: &Graph) -> Vec<bool> {
    let mut known: Vec<bool> = graph
        .tensors
        .iter()
        .map(|t| match &t.kind {
            TensorKind::Const(data) => data.iter().all(|&v| in_range(v)),
            _ => false,
        })
        .collect();
    // Tables are scanned once per distinct function (2^16 rows each), and only for graphs
    // that ask (those with a batched product).
    let mut tables: BTreeMap<LookupFn, bool> = BTreeMap::new();
    for node in &graph.nodes {
        let all = |known: &[bool]| node.inputs.iter().all(|&t| known[t]);
        known[node.output] = match &node.op {
            Op::Rescale { .. } | Op::DivRound { .. } => true,
            Op::Lookup(f) => *tables
                .entry(*f)
                .or_insert_with(|| f.table().into_iter().all(in_range)),
            Op::WideLookup { f, lo, hi } => exact_bounded(*f, *lo, *hi),
            Op::Max
            | Op::Min
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::Slice { .. }
            | Op::Gather { .. }
            | Op::Concat { .. } => all(&known),
            Op::Pad { value, .. } => all(&known) && in_range(*value),
            Op::Embedding => known[node.inputs[1]],
            _ => false,
        };
    }
    known
}

#[cfg(test)]
mod tests {
    use omron_ir::{GraphBuilder, LookupKind};

    use super::*;

    #[test]
    fn quotients_tables_and_layout_are_bounded_sums_are_not() {
        let mut g = GraphBuilder::new();
        let x = g.input("x", &[2, 4], 8);
        let wide = g.node("sq", Op::Mul, &[x, x]).expect("mul");
        let q = g
            .node("q", Op::Rescale { shift: 8 }, &[wide])
            .expect("rescale");
        let t = g
            .node("t", Op::Transpose { perm: vec![1, 0] }, &[q])
            .expect("transpose");
        let f = |kind, out_scale| LookupFn {
            kind,
            in_scale: 8,
            out_scale,
        };
        let sig = g
            .node("sig", Op::Lookup(f(LookupKind::Sigmoid, 8)), &[q])
            .expect("sigmoid");
        let exp = g
            .node("exp", Op::Lookup(f(LookupKind::Exp, 8)), &[q])
            .expect("exp");
        let mx = g.node("mx", Op::Max, &[q, sig]).expect("max");
        let sum = g.node("sum", Op::Add, &[q, q]).expect("add");
        let graph = g.finish(&[t, exp, mx, sum]).expect("valid");
        let known = activation_bounded(&graph);
        assert!(!known[x], "inputs are not known");
        assert!(!known[wide]);
        assert!(known[q] && known[t] && known[sig] && known[mx]);
        assert!(!known[exp], "e^x at scale 8 leaves the range");
        assert!(!known[sum]);
    }

    #[test]
    fn exact_functions() {
        assert!(exact_bounded(ExactFn::Step, -(1 << 40), 1 << 40));
        assert!(exact_bounded(ExactFn::Identity, ACT_MIN, ACT_MAX + 1));
        assert!(!exact_bounded(ExactFn::Identity, ACT_MIN, ACT_MAX + 2));
        assert!(exact_bounded(ExactFn::Relu, -(1 << 40), 100));
        assert!(!exact_bounded(ExactFn::Abs, ACT_MIN, 0));
        assert!(exact_bounded(ExactFn::Abs, ACT_MIN + 1, 0));
    }
}
