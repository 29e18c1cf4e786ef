//! The prover's witness: every tensor's values, row-major and padded onto its layout.

use omron_ir::{Graph, Op, Trace};
use omron_zk::Fp;

use crate::plan::{Plan, Role, TensorRef};

/// Values of every non-constant tensor of a plan.
#[derive(Debug)]
pub(crate) struct Witness {
    /// Row-major values (empty for constants).
    pub(crate) rows: Vec<Vec<i64>>,
    /// Padded field values (empty for constants).
    pub(crate) padded: Vec<Vec<Fp>>,
}

impl Witness {
    /// Builds the witness from an execution trace.
    pub(crate) fn new(plan: &Plan, graph: &Graph, trace: &Trace) -> Witness {
        let mut rows: Vec<Vec<i64>> = vec![Vec::new(); plan.tensors.len()];
        for (t, row) in rows.iter_mut().enumerate().take(graph.tensors.len()) {
            if plan.role(t) != Role::Const {
                *row = trace.get(graph, t).to_vec();
            }
        }
        for (index, node) in graph.nodes.iter().enumerate() {
            if let (Op::Rescale { shift }, Some(r)) = (&node.op, plan.remainders[index]) {
                let x = trace.get(graph, node.inputs[0]);
                let q = trace.get(graph, node.output);
                let half = 1i64 << (shift - 1);
                rows[r] = x
                    .iter()
                    .zip(q)
                    .map(|(&x, &q)| x + half - (q << shift))
                    .collect();
            }
        }
        let padded = rows
            .iter()
            .enumerate()
            .map(|(t, r)| {
                if plan.role(t) == Role::Const {
                    Vec::new()
                } else {
                    plan.layout(t).pad(r)
                }
            })
            .collect();
        Witness { rows, padded }
    }

    /// Row-major values of tensor `t`.
    pub(crate) fn rows(&self, t: TensorRef) -> &[i64] {
        &self.rows[t]
    }
}
