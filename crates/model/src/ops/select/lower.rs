//! Lowering of `Slice`, `Concat`, `Gather` and `Split`: IR `Slice`, `Concat` and `Gather` nodes
//! (a `Gather` per axis for negative steps), constants quantised at the common scale.

use omron_ir::Op as IrOp;

use super::{Select, SliceAttrs, slice_ranges, split_sizes};
use crate::error::ModelError;
use crate::op::{Arg, Low, Lowerer};
use crate::shape::{const_ints_at, norm_axis};
use crate::tensor::Tensor;

impl Lowerer<'_> {
    /// Slice with constant parameters: one IR `Slice` for the forward steps, a `Gather` per
    /// axis with a negative step.
    pub(crate) fn slice(&mut self, n: usize, attrs: Option<SliceAttrs>) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let shape = self.shape(a).to_vec();
        let ranges = match attrs {
            Some((s, e, ax)) => slice_ranges(&shape, &s, &e, ax.as_deref(), None),
            None => {
                let ops = self.operands(n);
                let get = |i: usize| const_ints_at(&ops, i, "Slice parameters");
                (|| {
                    let starts = get(1)?.unwrap_or_default();
                    let ends = get(2)?.unwrap_or_default();
                    let axes = get(3)?;
                    let steps = get(4)?;
                    slice_ranges(&shape, &starts, &ends, axes.as_deref(), steps.as_deref())
                })()
            }
        }
        .map_err(|e| self.issue(n, e))?;
        if ranges.iter().any(|r| r.2 == 0) {
            return Err(self.err(n, "the slice is empty"));
        }
        let mut x = self.carry(a, out)?;
        if ranges.iter().all(|r| r.1 > 0) {
            let whole = ranges
                .iter()
                .zip(&shape)
                .all(|(&(s, st, c), &d)| s == 0 && st == 1 && c == d);
            if !whole {
                let starts = ranges.iter().map(|r| r.0 as usize).collect();
                let ends = ranges
                    .iter()
                    .map(|r| r.0 as usize + (r.2 - 1) * r.1 as usize + 1)
                    .collect();
                let steps = ranges.iter().map(|r| r.1 as usize).collect();
                x = self.push(
                    label.clone(),
                    IrOp::Slice {
                        starts,
                        ends,
                        steps,
                    },
                    vec![x.id],
                    out_name.clone(),
                )?;
            }
        } else {
            // Negative steps: every sliced axis as explicit indices.
            for (d, &(start, step, count)) in ranges.iter().enumerate() {
                if start == 0 && step == 1 && count == shape[d] {
                    continue;
                }
                let indices = (0..count)
                    .map(|k| (start + k as i64 * step) as usize)
                    .collect();
                x = self.push(
                    format!("{label}/axis{d}"),
                    IrOp::Gather { axis: d, indices },
                    vec![x.id],
                    out_name.clone(),
                )?;
            }
        }
        self.set(out, x);
        Ok(())
    }

    /// Concat: computed operands brought to a common scale, constants quantised at it.
    pub(crate) fn concat(&mut self, n: usize, axis: i64) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let rank = self.shape(out).len();
        let axis = norm_axis(axis, rank).map_err(|e| self.issue(n, e))?;
        let count = self.m.graph.nodes[n].inputs.len();
        let mut items = Vec::new();
        for i in 0..count {
            if let Arg::Act(v) = self.arg(n, i)? {
                let x = self.carry(v, out)?;
                items.push((x, self.cal[v]));
            }
        }
        let aligned = self.align(&label, &items)?;
        let t = aligned
            .first()
            .map(|l| l.scale)
            .ok_or_else(|| self.err(n, "all operands are constants"))?;
        let mut ids = Vec::with_capacity(count);
        let mut k = 0;
        for i in 0..count {
            match self.arg(n, i)? {
                Arg::Act(_) => {
                    ids.push(aligned[k].id);
                    k += 1;
                }
                Arg::Const(c) => ids.push(self.scaled_const(n, &format!("{label}/{i}"), c, t)?),
            }
        }
        let y = if ids.len() == 1 {
            Low {
                id: ids[0],
                scale: t,
            }
        } else {
            self.push(label, IrOp::Concat { axis }, ids, out_name)?
        };
        self.set(out, y);
        Ok(())
    }

    /// Gather with constant indices: an IR `Gather` over the flattened indices, reshaped to
    /// the ONNX result (which replaces the axis by the indices' shape).
    pub(crate) fn gather(&mut self, n: usize, axis: i64) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let shape = self.shape(a).to_vec();
        let axis = norm_axis(axis, shape.len()).map_err(|e| self.issue(n, e))?;
        let idx: &Tensor = match self.arg(n, 1)? {
            Arg::Const(t) => t,
            Arg::Act(_) => return Err(self.err(n, "Gather indices must be constants")),
        };
        let dim = shape[axis] as i64;
        let indices = idx
            .as_i64()
            .unwrap_or_default()
            .iter()
            .map(|&i| {
                let i = if i < 0 { i + dim } else { i };
                usize::try_from(i)
                    .ok()
                    .filter(|&i| (i as i64) < dim)
                    .ok_or_else(|| self.err(n, format!("index {i} is out of range for {dim}")))
            })
            .collect::<Result<Vec<usize>, _>>()?;
        if indices.is_empty() {
            return Err(self.err(n, "Gather with no indices"));
        }
        let x = self.carry(a, out)?;
        let y = self.push(
            format!("{label}/gather"),
            IrOp::Gather { axis, indices },
            vec![x.id],
            out_name.clone(),
        )?;
        let y = self.reshape(&label, y, self.shape(out).to_vec(), &out_name)?;
        self.set(out, y);
        Ok(())
    }

    /// Split: one slice per output.
    pub(crate) fn split(&mut self, n: usize) -> Result<(), ModelError> {
        let label = self.label(n);
        let node = &self.m.graph.nodes[n];
        let Some(Select::Split { axis, split, parts }) = node
            .op
            .as_ref()
            .ok()
            .and_then(|o| crate::op::downcast::<Select>(o.as_ref()))
        else {
            return Err(self.err(n, "not a Split"));
        };
        let a = self.act(n, 0)?;
        let shape = self.shape(a).to_vec();
        let axis = norm_axis(*axis, shape.len()).map_err(|e| self.issue(n, e))?;
        let from_input =
            const_ints_at(&self.operands(n), 1, "Split sizes").map_err(|e| self.issue(n, e))?;
        let sizes = split_sizes(
            shape[axis],
            split.as_deref().or(from_input.as_deref()),
            *parts,
        )
        .map_err(|e| self.issue(n, e))?;
        let outs = node.outputs.clone();
        let first = self.output(n)?;
        let x = self.carry(a, first)?;
        let mut start = 0;
        for (i, (size, slot)) in sizes.iter().zip(outs).enumerate() {
            if let Some(v) = slot
                && *size > 0
            {
                let name = self.m.value_name(v).to_string();
                let y =
                    self.slice_axis(&format!("{label}/{i}"), x, axis, (start, *size, 1), &name)?;
                self.set(v, y);
            }
            start += size;
        }
        Ok(())
    }
}
