//! The prover's witness: every tensor's values, row-major and padded onto its layout.

use omron_ir::{Graph, Op, Trace, broadcast_index_map};
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
            let aux = plan.aux[index];
            let out_shape = &graph.tensors[node.output].shape;
            let operand = |i: usize| -> Vec<i64> {
                // Operands broadcast to the output's shape.
                let t = node.inputs[i];
                let values = trace.get(graph, t);
                broadcast_index_map(&graph.tensors[t].shape, out_shape)
                    .into_iter()
                    .map(|j| values[j])
                    .collect()
            };
            let y = trace.get(graph, node.output);
            if let Some(r) = aux.relu {
                let (a, b) = (operand(0), operand(1));
                rows[r] = a.iter().zip(&b).map(|(x, y)| (x - y).max(0)).collect();
            }
            let shift = match node.op {
                Op::Div { shift } => Some(shift),
                Op::IntDiv { .. } => Some(0),
                _ => None,
            };
            if let (Some(shift), Some(r), Some(slack)) = (shift, aux.remainder, aux.slack) {
                let (a, b) = (operand(0), operand(1));
                rows[r] = a
                    .iter()
                    .zip(&b)
                    .zip(y)
                    .map(|((&a, &b), &q)| (((a as i128) << shift) - q as i128 * b as i128) as i64)
                    .collect();
                rows[slack] = b.iter().zip(&rows[r]).map(|(b, r)| b - 1 - r).collect();
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

    /// Replaces tensor `t`'s values (tests forge witnesses with it).
    #[cfg(test)]
    pub(crate) fn set(&mut self, plan: &Plan, t: TensorRef, rows: Vec<i64>) {
        self.padded[t] = plan.layout(t).pad(&rows);
        self.rows[t] = rows;
    }

    /// Row-major values of tensor `t`.
    pub(crate) fn rows(&self, t: TensorRef) -> &[i64] {
        &self.rows[t]
    }
}
