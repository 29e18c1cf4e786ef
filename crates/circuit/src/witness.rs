//! The prover's witness: every tensor's values, row-major and padded onto its layout.

use omron_ir::{Graph, Op, Trace, broadcast_index_map};
use omron_zk::Fp;

use crate::layout::Layout;
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
                    pad(plan.layout(t), r)
                }
            })
            .collect();
        Witness { rows, padded }
    }

    /// Replaces tensor `t`'s values (tests forge witnesses with it).
    #[cfg(test)]
    pub(crate) fn set(&mut self, plan: &Plan, t: TensorRef, rows: Vec<i64>) {
        self.padded[t] = pad(plan.layout(t), &rows);
        self.rows[t] = rows;
    }

    /// Row-major values of tensor `t`.
    pub(crate) fn rows(&self, t: TensorRef) -> &[i64] {
        &self.rows[t]
    }
}

/// Calls `f(element, position, len)` for every run of the last dimension: the row-major
/// elements `element..element + len` sit at the padded positions `position..position + len`
/// (the last dimension takes the lowest variables, so each run is contiguous on both sides).
pub(crate) fn for_each_run(layout: &Layout, mut f: impl FnMut(usize, usize, usize)) {
    let Some((&len, outer)) = layout.dims.split_last() else {
        f(0, 0, 1);
        return;
    };
    let runs: usize = outer.iter().product();
    if len == 0 || runs == 0 {
        return;
    }
    let offsets: Vec<usize> = (0..outer.len()).map(|d| layout.offset(d)).collect();
    let mut coords = vec![0usize; outer.len()];
    let mut position = 0;
    for run in 0..runs {
        f(run * len, position, len);
        // Advance the odometer over the outer dimensions, keeping the position in step.
        for d in (0..outer.len()).rev() {
            coords[d] += 1;
            position += 1 << offsets[d];
            if coords[d] < outer[d] {
                break;
            }
            position -= coords[d] << offsets[d];
            coords[d] = 0;
        }
    }
}

/// Scatters row-major `values` onto `layout` ([`Layout::pad`], run by run).
fn pad(layout: &Layout, values: &[i64]) -> Vec<Fp> {
    let mut out = vec![Fp::ZERO; layout.padded_len()];
    for_each_run(layout, |element, position, len| {
        let (Some(src), Some(dst)) = (
            values.get(element..element + len),
            out.get_mut(position..position + len),
        ) else {
            return;
        };
        for (slot, &v) in dst.iter_mut().zip(src) {
            *slot = Fp::from_i64(v);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs cover exactly the positions [`Layout::positions`] lists, in order, and padding
    /// agrees with [`Layout::pad`].
    #[test]
    fn runs_match_the_layout_positions() {
        for dims in [
            vec![],
            vec![5],
            vec![3, 5],
            vec![1, 10, 32, 3],
            vec![2, 3, 1, 7],
            vec![4, 0, 3],
        ] {
            let layout = Layout::new(&dims);
            let mut positions = Vec::new();
            for_each_run(&layout, |element, position, len| {
                assert_eq!(element, positions.len(), "{dims:?}");
                positions.extend(position..position + len);
            });
            assert_eq!(positions, layout.positions(), "{dims:?}");
            let values: Vec<i64> = (0..layout.numel() as i64).map(|v| v * 7 - 20).collect();
            assert_eq!(pad(&layout, &values), layout.pad(&values), "{dims:?}");
        }
    }
}
