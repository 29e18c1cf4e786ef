//! Layout ops that keep every element: `Flatten`, `Reshape`, `Squeeze`, `Unsqueeze`,
//! `Transpose`, and the identities `Identity`, inference `Dropout` and `Cast`. None of them
//! rounds: they move integers, so a wide value stays wide through them.

use std::sync::Arc;

use omron_ir::Op as IrOp;

use crate::error::ModelError;
use crate::kernel::{gather_flat, index_walk, input, strides};
use crate::op::{Lowerer, OnnxOp, OpRef, Parse};
use crate::shape::{
    Issue, Operand, OutInfo, const_ints, invalid, need, norm_axis, out, unsupported,
};
use crate::tensor::{DType, Data, Tensor, checked_numel};

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &[
    "Flatten",
    "Reshape",
    "Squeeze",
    "Unsqueeze",
    "Transpose",
    "Identity",
    "Dropout",
    "Cast",
];

/// An op that moves elements without changing them.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Layout {
    /// To 2-D at `axis`.
    Flatten { axis: i64 },
    /// To the shape in input 1 (`0` copies a dimension unless `allowzero`, `-1` is inferred).
    Reshape { allowzero: bool },
    /// Axis permutation; `None` reverses the axes.
    Transpose { perm: Option<Vec<usize>> },
    /// Copy (also Dropout at inference, whose mask output is all true).
    Identity,
    /// Inference-mode dropout: the identity, plus an all-true mask output.
    Dropout,
    /// Removes size-1 axes: from the attribute (opset < 13), input 1, or all of them.
    Squeeze { axes: Option<Vec<i64>> },
    /// Inserts size-1 axes: from the attribute (opset < 13) or input 1.
    Unsqueeze { axes: Option<Vec<i64>> },
    /// Change of element type.
    Cast { to: DType },
}

/// Parses a node of one of [`OP_TYPES`].
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    let a = &p.attrs;
    let opset = p.opset;
    let op = match p.op_type {
        "Flatten" => {
            a.only(&["axis"])?;
            Layout::Flatten {
                axis: a.int("axis")?.unwrap_or(1),
            }
        }
        "Reshape" => {
            a.only(&["allowzero"])?;
            Layout::Reshape {
                allowzero: a.flag("allowzero", false)?,
            }
        }
        "Transpose" => {
            a.only(&["perm"])?;
            Layout::Transpose {
                perm: a.non_negative_ints("perm")?,
            }
        }
        "Identity" => {
            a.only(&[])?;
            Layout::Identity
        }
        "Dropout" => {
            // `ratio` is irrelevant at inference; `seed` (opset 12+) too.
            a.only(&["ratio", "seed"])?;
            Layout::Dropout
        }
        "Squeeze" | "Unsqueeze" => {
            let axes = if opset < 13 {
                a.only(&["axes"])?;
                a.ints("axes")?
            } else {
                a.only(&[])?;
                None
            };
            if p.op_type == "Squeeze" {
                Layout::Squeeze { axes }
            } else {
                if opset < 13 && axes.is_none() {
                    return Err("Unsqueeze needs the 'axes' attribute".into());
                }
                Layout::Unsqueeze { axes }
            }
        }
        "Cast" => {
            a.only(&["to", "saturate"])?;
            let to = a.int("to")?.ok_or("Cast needs the 'to' attribute")?;
            let to = i32::try_from(to)
                .ok()
                .and_then(DType::from_onnx)
                .ok_or_else(|| format!("Cast to element type {to} is not supported"))?;
            Layout::Cast { to }
        }
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(Arc::new(op))
}

impl OnnxOp for Layout {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        match self {
            Layout::Flatten { axis } => {
                let x = need(ins, 0)?;
                let r = x.shape.len() as i64;
                if *axis < -r || *axis > r {
                    return invalid(format!("Flatten axis {axis} out of range for rank {r}"));
                }
                let a = if *axis < 0 { axis + r } else { *axis } as usize;
                out(
                    vec![x.shape[..a].iter().product(), x.shape[a..].iter().product()],
                    x.dtype,
                )
            }
            Layout::Reshape { allowzero } => {
                let x = need(ins, 0)?;
                let target = const_ints(Some(need(ins, 1)?), "the Reshape target shape")?
                    .unwrap_or_default();
                out(reshape_target(x.shape, &target, *allowzero)?, x.dtype)
            }
            Layout::Transpose { perm } => {
                let x = need(ins, 0)?;
                let r = x.shape.len();
                let perm: Vec<usize> = perm.clone().unwrap_or_else(|| (0..r).rev().collect());
                let mut seen = vec![false; r];
                if perm.len() != r
                    || perm
                        .iter()
                        .any(|&p| p >= r || std::mem::replace(&mut seen[p], true))
                {
                    return invalid(format!("perm {perm:?} is not a permutation of rank {r}"));
                }
                out(perm.iter().map(|&p| x.shape[p]).collect(), x.dtype)
            }
            Layout::Identity => {
                let x = need(ins, 0)?;
                out(x.shape.to_vec(), x.dtype)
            }
            Layout::Dropout => {
                let x = need(ins, 0)?;
                if let Some(Some(mode)) = ins.get(2) {
                    match mode.value.and_then(|t| t.as_i64()) {
                        Some(v) if v.iter().all(|&b| b == 0) => {}
                        Some(_) => return unsupported("Dropout in training mode is not supported"),
                        None => return unsupported("Dropout training_mode must be a constant"),
                    }
                }
                Ok(vec![
                    OutInfo {
                        shape: x.shape.to_vec(),
                        dtype: x.dtype,
                    },
                    OutInfo {
                        shape: x.shape.to_vec(),
                        dtype: DType::I64,
                    },
                ])
            }
            Layout::Squeeze { axes } => {
                let x = need(ins, 0)?;
                let axes = match axes {
                    Some(a) => Some(a.clone()),
                    None => const_ints(ins.get(1).and_then(|o| o.as_ref()), "Squeeze axes")?,
                };
                out(squeeze_shape(x.shape, axes.as_deref())?, x.dtype)
            }
            Layout::Unsqueeze { axes } => {
                let x = need(ins, 0)?;
                let axes = match axes {
                    Some(a) => a.clone(),
                    None => const_ints(Some(need(ins, 1)?), "Unsqueeze axes")?.unwrap_or_default(),
                };
                out(unsqueeze_shape(x.shape, &axes)?, x.dtype)
            }
            Layout::Cast { to } => out(need(ins, 0)?.shape.to_vec(), *to),
        }
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        let shape = infos[0].shape.clone();
        let x = |i: usize| input(ins, i);
        let one = |t: Tensor| -> Result<Vec<Tensor>, Issue> { Ok(vec![t]) };
        match self {
            Layout::Flatten { .. }
            | Layout::Reshape { .. }
            | Layout::Squeeze { .. }
            | Layout::Unsqueeze { .. }
            | Layout::Identity => one(Tensor {
                shape,
                data: x(0)?.data.clone(),
            }),
            Layout::Dropout => {
                let t = x(0)?;
                let mask = Tensor::i64(shape.clone(), vec![1; t.len()]);
                Ok(vec![
                    Tensor {
                        shape,
                        data: t.data.clone(),
                    },
                    mask,
                ])
            }
            Layout::Transpose { perm } => {
                let t = x(0)?;
                let perm: Vec<usize> = perm
                    .clone()
                    .unwrap_or_else(|| (0..t.shape.len()).rev().collect());
                let st = strides(&t.shape);
                let src: Vec<usize> = index_walk(&shape, |idx| {
                    idx.iter().zip(&perm).map(|(&i, &p)| i * st[p]).sum()
                });
                one(gather_flat(t, shape, &src))
            }
            Layout::Cast { to } => {
                let t = x(0)?;
                let data = match (&t.data, to) {
                    (Data::F32(v), DType::I64) => Data::I64(
                        v.iter()
                            .map(|&f| {
                                if f.is_finite() && f.abs() < 9.2e18 {
                                    Ok(f.trunc() as i64)
                                } else {
                                    invalid(format!("cannot cast {f} to an integer"))
                                }
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    (d, _) => match to {
                        DType::F32 => Data::F32(
                            Tensor {
                                shape: t.shape.clone(),
                                data: d.clone(),
                            }
                            .to_f32(),
                        ),
                        DType::I64 => d.clone(),
                    },
                };
                one(Tensor { shape, data })
            }
        }
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        match self {
            Layout::Flatten { .. }
            | Layout::Reshape { .. }
            | Layout::Squeeze { .. }
            | Layout::Unsqueeze { .. } => l.reshape_node(n),
            Layout::Transpose { perm } => l.transpose(n, perm.clone()),
            Layout::Identity | Layout::Dropout | Layout::Cast { .. } => l.pass(n),
        }
    }

    fn quant_check(&self, ins: &[Option<Operand<'_>>]) -> Result<(), String> {
        match self {
            Layout::Cast { to: DType::I64 }
                if ins
                    .first()
                    .and_then(|o| o.as_ref())
                    .is_some_and(|o| o.dtype == DType::F32) =>
            {
                Err(
                    "Cast of a computed float to an integer type (truncation) is not supported"
                        .into(),
                )
            }
            _ => Ok(()),
        }
    }

    fn output_count(&self) -> usize {
        match self {
            Layout::Dropout => 2,
            _ => 1,
        }
    }

    fn constant_output(&self, i: usize, info: &OutInfo) -> Option<Tensor> {
        if !matches!(self, Layout::Dropout) || i != 1 {
            return None;
        }
        let len = info.shape.iter().product();
        Some(Tensor::i64(info.shape.clone(), vec![1; len]))
    }
}

impl Lowerer<'_> {
    /// Flatten, Reshape, Squeeze, Unsqueeze: an IR `Reshape` (nothing if the shape stays).
    pub(crate) fn reshape_node(&mut self, n: usize) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let x = self.carry(a, out)?;
        let y = self.reshape(&label, x, self.shape(out).to_vec(), &out_name)?;
        self.set(out, y);
        Ok(())
    }

    pub(crate) fn transpose(
        &mut self,
        n: usize,
        perm: Option<Vec<usize>>,
    ) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let x = self.carry(a, out)?;
        let perm = perm.unwrap_or_else(|| (0..self.shape(a).len()).rev().collect());
        let y = self.push(label, IrOp::Transpose { perm }, vec![x.id], out_name)?;
        self.set(out, y);
        Ok(())
    }
}

/// Applies a Reshape target (`0` copies, `-1` infers) to `input`.
pub(crate) fn reshape_target(
    input: &[usize],
    target: &[i64],
    allowzero: bool,
) -> Result<Vec<usize>, Issue> {
    let total: usize = input.iter().product();
    let mut shape = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, &d) in target.iter().enumerate() {
        match d {
            -1 if infer_at.is_none() => {
                infer_at = Some(i);
                shape.push(1);
            }
            0 if !allowzero => match input.get(i) {
                Some(&x) => shape.push(x),
                None => return invalid(format!("reshape dim {i} copies a missing input dim")),
            },
            d if d >= 0 => shape.push(d as usize),
            _ => return invalid(format!("invalid reshape target {target:?}")),
        }
    }
    if let Some(i) = infer_at {
        let known = shape
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .try_fold(1usize, |acc, (_, &d)| acc.checked_mul(d))
            .unwrap_or(0);
        if known == 0 || !total.is_multiple_of(known) {
            return invalid(format!("cannot reshape {input:?} into {target:?}"));
        }
        shape[i] = total / known;
    }
    if checked_numel(&shape) != Some(total) {
        return invalid(format!("cannot reshape {input:?} into {target:?}"));
    }
    Ok(shape)
}

/// Squeeze: the kept dims of `input` for `axes` (all size-1 dims when `None`).
pub(crate) fn squeeze_shape(input: &[usize], axes: Option<&[i64]>) -> Result<Vec<usize>, Issue> {
    let mut drop = vec![false; input.len()];
    match axes {
        None => input
            .iter()
            .zip(drop.iter_mut())
            .for_each(|(&d, x)| *x = d == 1),
        Some(axes) => {
            for &a in axes {
                let a = norm_axis(a, input.len())?;
                if input[a] != 1 {
                    return invalid(format!("cannot squeeze axis {a} of {input:?}"));
                }
                drop[a] = true;
            }
        }
    }
    Ok(input
        .iter()
        .zip(&drop)
        .filter(|&(_, &x)| !x)
        .map(|(&d, _)| d)
        .collect())
}

/// Unsqueeze: `input` with size-1 axes inserted at `axes` (relative to the output rank).
pub(crate) fn unsqueeze_shape(input: &[usize], axes: &[i64]) -> Result<Vec<usize>, Issue> {
    let rank = input.len() + axes.len();
    let mut is_new = vec![false; rank];
    for &a in axes {
        let a = norm_axis(a, rank)?;
        if std::mem::replace(&mut is_new[a], true) {
            return invalid(format!("axis {a} is repeated in Unsqueeze"));
        }
    }
    let mut it = input.iter();
    Ok(is_new
        .iter()
        .map(|&n| if n { 1 } else { *it.next().unwrap_or(&1) })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_copies_zeros_and_infers_minus_one() {
        assert_eq!(
            reshape_target(&[1, 10, 4, 4], &[0, -1], false).unwrap(),
            vec![1, 160]
        );
        assert_eq!(reshape_target(&[6], &[2, -1], false).unwrap(), vec![2, 3]);
        assert!(reshape_target(&[6], &[4, -1], false).is_err());
        assert!(reshape_target(&[6], &[-1, -1], false).is_err());
        assert!(reshape_target(&[2, 3], &[0, 6], true).is_err());
        assert_eq!(reshape_target(&[2, 3], &[0, 3], false).unwrap(), vec![2, 3]);
    }
}
