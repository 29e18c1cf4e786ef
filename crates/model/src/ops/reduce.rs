//! Reductions: `ReduceSum` (exact), `ReduceMean` (a sum and a rounded division),
//! `ReduceMax`/`ReduceMin` (halving trees), and `ArgMax`/`ArgMin` (marks of the maximum counted
//! by a constant triangular MatMul).

use std::sync::Arc;

use omron_ir::{LookupKind, Op as IrOp};

use crate::error::ModelError;
use crate::kernel::{f64s, input, reduce_lanes, to_f32};
use crate::op::{Lowerer, OnnxOp, OpRef, Parse};
use crate::shape::{
    Issue, Operand, OutInfo, const_ints_at, float_operand, invalid, need, norm_axis, out,
};
use crate::tensor::{DType, Tensor};

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &[
    "ReduceSum",
    "ReduceMean",
    "ReduceMax",
    "ReduceMin",
    "ArgMax",
    "ArgMin",
];

/// A reduction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReduceKind {
    Sum,
    Mean,
    Max,
    Min,
}

/// A reduction along axes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Reduce {
    /// Reduction over `axes` (attribute, or input 1 from opset 13 for ReduceSum and 18 for
    /// the others; `None` reduces all axes unless `noop_with_empty_axes`).
    Reduce {
        kind: ReduceKind,
        axes: Option<Vec<i64>>,
        keepdims: bool,
        noop_with_empty_axes: bool,
    },
    /// Index of the first (or last) maximum or minimum along `axis`.
    ArgExtreme {
        max: bool,
        axis: i64,
        keepdims: bool,
        select_last_index: bool,
    },
}

/// Parses a node of one of [`OP_TYPES`].
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    let a = &p.attrs;
    let opset = p.opset;
    let op = match p.op_type {
        "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" => {
            let kind = match p.op_type {
                "ReduceSum" => ReduceKind::Sum,
                "ReduceMean" => ReduceKind::Mean,
                "ReduceMax" => ReduceKind::Max,
                _ => ReduceKind::Min,
            };
            // Axes moved from an attribute to an input at opset 13 for ReduceSum, 18 for the
            // others; `noop_with_empty_axes` arrived with the input form.
            let axes_input = opset >= if kind == ReduceKind::Sum { 13 } else { 18 };
            let axes = if axes_input {
                a.only(&["keepdims", "noop_with_empty_axes"])?;
                None
            } else {
                a.only(&["axes", "keepdims"])?;
                a.ints("axes")?
            };
            Reduce::Reduce {
                kind,
                axes,
                keepdims: a.flag("keepdims", true)?,
                noop_with_empty_axes: a.flag("noop_with_empty_axes", false)?,
            }
        }
        "ArgMax" | "ArgMin" => {
            a.only(&["axis", "keepdims", "select_last_index"])?;
            Reduce::ArgExtreme {
                max: p.op_type == "ArgMax",
                axis: a.int("axis")?.unwrap_or(0),
                keepdims: a.flag("keepdims", true)?,
                select_last_index: a.flag("select_last_index", false)?,
            }
        }
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(Arc::new(op))
}

impl OnnxOp for Reduce {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        match self {
            Reduce::Reduce {
                axes,
                keepdims,
                noop_with_empty_axes,
                kind,
            } => {
                let x = need(ins, 0)?;
                if *kind != ReduceKind::Max && *kind != ReduceKind::Min {
                    float_operand(x)?;
                }
                let axes = reduce_node_axes(axes, ins, x.shape.len(), *noop_with_empty_axes)?;
                out(reduced_shape(x.shape, &axes, *keepdims), x.dtype)
            }
            Reduce::ArgExtreme { axis, keepdims, .. } => {
                let x = need(ins, 0)?;
                let a = norm_axis(*axis, x.shape.len())?;
                if x.shape[a] == 0 {
                    return invalid("ArgMax over an empty axis");
                }
                out(reduced_shape(x.shape, &[a], *keepdims), DType::I64)
            }
        }
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        let shape = infos[0].shape.clone();
        let x = |i: usize| input(ins, i);
        let one = |t: Tensor| -> Result<Vec<Tensor>, Issue> { Ok(vec![t]) };
        match self {
            Reduce::Reduce {
                kind,
                axes,
                keepdims: _,
                noop_with_empty_axes,
            } => {
                let t = x(0)?;
                let operands: Vec<Option<Operand<'_>>> =
                    ins.iter().map(|o| o.map(Operand::of)).collect();
                let axes = reduce_node_axes(axes, &operands, t.shape.len(), *noop_with_empty_axes)?;
                let mut v = f64s(t);
                let mut cur = t.shape.clone();
                for &a in &axes {
                    v = reduce_lanes(&v, &cur, a, |lane| match kind {
                        ReduceKind::Sum => lane.iter().sum(),
                        ReduceKind::Mean => lane.iter().sum::<f64>() / lane.len().max(1) as f64,
                        ReduceKind::Max => lane.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                        ReduceKind::Min => lane.iter().copied().fold(f64::INFINITY, f64::min),
                    });
                    cur[a] = 1;
                }
                one(match t.dtype() {
                    DType::F32 => to_f32(shape, v),
                    DType::I64 => Tensor::i64(shape, v.into_iter().map(|a| a as i64).collect()),
                })
            }
            Reduce::ArgExtreme {
                max,
                axis,
                select_last_index,
                ..
            } => {
                let t = x(0)?;
                let a = norm_axis(*axis, t.shape.len())?;
                let v = f64s(t);
                let idx = reduce_lanes(&v, &t.shape, a, |lane| {
                    let mut best = 0;
                    for (k, &val) in lane.iter().enumerate() {
                        let better = if *max {
                            val > lane[best] || (*select_last_index && val == lane[best])
                        } else {
                            val < lane[best] || (*select_last_index && val == lane[best])
                        };
                        if better {
                            best = k;
                        }
                    }
                    best as f64
                });
                one(Tensor::i64(
                    shape,
                    idx.into_iter().map(|i| i as i64).collect(),
                ))
            }
        }
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        match self {
            Reduce::Reduce {
                kind,
                axes,
                keepdims,
                noop_with_empty_axes,
            } => l.reduce(n, *kind, axes, *keepdims, *noop_with_empty_axes),
            Reduce::ArgExtreme {
                max,
                axis,
                keepdims,
                select_last_index,
            } => l.arg_extreme(n, *max, *axis, *keepdims, *select_last_index),
        }
    }
}

impl Lowerer<'_> {
    pub(crate) fn reduce(
        &mut self,
        n: usize,
        kind: ReduceKind,
        axes: &Option<Vec<i64>>,
        keepdims: bool,
        noop: bool,
    ) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let shape = self.shape(a).to_vec();
        let axes = reduce_node_axes(axes, &self.operands(n), shape.len(), noop)
            .map_err(|e| self.issue(n, e))?;
        if axes.is_empty() {
            return self.pass(n);
        }
        let want = reduced_shape(&shape, &axes, keepdims);
        let y = match kind {
            ReduceKind::Sum => {
                let x = self.carry(a, out)?;
                self.push(
                    label.clone(),
                    IrOp::ReduceSum {
                        axes: axes.clone(),
                        keepdims,
                    },
                    vec![x.id],
                    out_name.clone(),
                )?
            }
            ReduceKind::Mean => {
                let x = self.narrow(a)?;
                let count: usize = axes.iter().map(|&d| shape[d]).product();
                let sum = self.push(
                    format!("{label}/sum"),
                    IrOp::ReduceSum {
                        axes: axes.clone(),
                        keepdims,
                    },
                    vec![x.id],
                    format!("{out_name}/sum"),
                )?;
                self.push(
                    label.clone(),
                    IrOp::DivRound {
                        divisor: count as u64,
                    },
                    vec![sum.id],
                    out_name.clone(),
                )?
            }
            ReduceKind::Max | ReduceKind::Min => {
                let mut x = self.narrow(a)?;
                for &d in &axes {
                    x = self.reduce_extreme_axis(
                        &format!("{label}/axis{d}"),
                        x,
                        d,
                        kind == ReduceKind::Max,
                        &out_name,
                    )?;
                }
                x
            }
        };
        let y = self.reshape(&label, y, want, &out_name)?;
        self.set(out, y);
        Ok(())
    }

    /// ArgMax/ArgMin: the maximum along the axis (a Max tree), `IsZero(x - max)` marks every
    /// maximum, a constant triangular MatMul counts the marks up to (or from) each position,
    /// and the index is the number of positions before the first mark (or `n - 1` minus the
    /// number after the last). All integers at scale 0.
    pub(crate) fn arg_extreme(
        &mut self,
        n: usize,
        max: bool,
        axis: i64,
        keepdims: bool,
        last: bool,
    ) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let shape = self.shape(a).to_vec();
        let r = shape.len();
        let axis = norm_axis(axis, r).map_err(|e| self.issue(n, e))?;
        let len = shape[axis];
        let x = self.narrow(a)?;
        let m = self.reduce_extreme_axis(&format!("{label}/extreme"), x, axis, max, &out_name)?;
        let d = self.binary(&format!("{label}/diff"), IrOp::Sub, x, m, &out_name)?;
        let marks = self.lookup(
            &format!("{label}/marks"),
            d,
            LookupKind::IsZero,
            0,
            &format!("{out_name}/marks"),
        )?;
        // Move the axis last for the MatMul.
        let marks = if axis + 1 == r {
            marks
        } else {
            let mut perm: Vec<usize> = (0..r).filter(|&i| i != axis).collect();
            perm.push(axis);
            self.push(
                format!("{label}/last"),
                IrOp::Transpose { perm },
                vec![marks.id],
                format!("{out_name}/marks_t"),
            )?
        };
        // Row j of the weight counts marks at positions k <= j (or k >= j for the last index).
        let w: Vec<i64> = (0..len * len)
            .map(|i| {
                let (j, k) = (i / len, i % len);
                i64::from(if last { k >= j } else { k <= j })
            })
            .collect();
        let wid = self.const_tensor(format!("{label}/prefix"), vec![len, len], w, 0);
        let counts = self.push(
            format!("{label}/counts"),
            IrOp::MatMul,
            vec![marks.id, wid],
            format!("{out_name}/counts"),
        )?;
        let none = self.lookup(
            &format!("{label}/none"),
            counts,
            LookupKind::IsZero,
            0,
            &format!("{out_name}/none"),
        )?;
        let rank = self.tensors[none.id].shape.len();
        let idx = self.push(
            format!("{label}/count"),
            IrOp::ReduceSum {
                axes: vec![rank - 1],
                keepdims: true,
            },
            vec![none.id],
            format!("{out_name}/index"),
        )?;
        let idx = if last {
            let top = self.int_const(format!("{label}/top"), vec![], vec![len as i64 - 1], 0);
            self.binary(&format!("{label}/from_end"), IrOp::Sub, top, idx, &out_name)?
        } else {
            idx
        };
        // The kept axis has size 1, so moving it back is a reshape.
        let want = reduced_shape(&shape, &[axis], keepdims);
        let y = self.reshape(&label, idx, want, &out_name)?;
        self.set(out, y);
        Ok(())
    }
}

/// Sorted, distinct reduction axes. `None` means all axes, or none with
/// `noop_with_empty_axes` (then the result is empty and the reduction is the identity).
pub(crate) fn reduce_axes(
    rank: usize,
    axes: Option<&[i64]>,
    noop_with_empty_axes: bool,
) -> Result<Vec<usize>, Issue> {
    let mut out = match axes {
        Some(a) if !a.is_empty() => a
            .iter()
            .map(|&x| norm_axis(x, rank))
            .collect::<Result<Vec<_>, _>>()?,
        _ if noop_with_empty_axes => Vec::new(),
        _ => (0..rank).collect(),
    };
    out.sort_unstable();
    let before = out.len();
    out.dedup();
    if out.len() != before {
        return invalid("reduction axes are repeated");
    }
    Ok(out)
}

/// Shape after reducing `axes`.
pub(crate) fn reduced_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(d, &n)| {
            if !axes.contains(&d) {
                Some(n)
            } else if keepdims {
                Some(1)
            } else {
                None
            }
        })
        .collect()
}

/// Axes of a Reduce node: the attribute, or the constant input 1.
pub(crate) fn reduce_node_axes(
    op_axes: &Option<Vec<i64>>,
    ins: &[Option<Operand<'_>>],
    rank: usize,
    noop: bool,
) -> Result<Vec<usize>, Issue> {
    let from_input = const_ints_at(ins, 1, "reduction axes")?;
    let axes = op_axes.clone().or(from_input);
    reduce_axes(rank, axes.as_deref(), noop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_axes_resolve_negative_and_default() {
        assert_eq!(reduce_axes(3, Some(&[-1, 0]), false).unwrap(), vec![0, 2]);
        assert_eq!(reduce_axes(3, None, false).unwrap(), vec![0, 1, 2]);
        assert!(reduce_axes(3, None, true).unwrap().is_empty());
        assert!(reduce_axes(3, Some(&[1, -2]), false).is_err());
        assert_eq!(reduced_shape(&[2, 3, 4], &[1], true), vec![2, 1, 4]);
        assert_eq!(reduced_shape(&[2, 3, 4], &[1], false), vec![2, 4]);
    }
}
