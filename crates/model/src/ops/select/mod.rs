//! Ops that select or join parts of tensors along an axis: `Slice`, `Concat`, `Gather` (with
//! constant indices, or rows of a constant table by token ids: `embed.rs`) and `Split`. None of
//! them rounds: a wide value stays wide through them.

mod embed;
mod lower;

use std::sync::Arc;

use crate::error::ModelError;
use crate::kernel::{around, gather_flat, index_walk, input, strides};
use crate::op::{Arg, Lowerer, OnnxOp, OpRef, Parse};
use crate::shape::{
    Issue, Operand, OutInfo, const_ints, const_ints_at, invalid, is_const, need, norm_axis, out,
};
use crate::tensor::{DType, Data, Tensor};

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &["Slice", "Concat", "Gather", "Split"];

/// Opset < 10 Slice attributes: starts, ends, optional axes.
pub(crate) type SliceAttrs = (Vec<i64>, Vec<i64>, Option<Vec<i64>>);

/// An op that selects or joins parts of tensors.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Select {
    /// `take` along `axis`.
    Gather { axis: i64 },
    /// Join along `axis`.
    Concat { axis: i64 },
    /// Strided slice; attribute form for opset < 10, inputs otherwise.
    Slice { attrs: Option<SliceAttrs> },
    /// Split along `axis` into `parts` outputs (sizes from the attribute, input 1, or equal).
    Split {
        axis: i64,
        split: Option<Vec<i64>>,
        parts: usize,
    },
}

/// Parses a node of one of [`OP_TYPES`].
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    let a = &p.attrs;
    let opset = p.opset;
    let op = match p.op_type {
        "Gather" => {
            a.only(&["axis"])?;
            Select::Gather {
                axis: a.int("axis")?.unwrap_or(0),
            }
        }
        "Concat" => {
            a.only(&["axis"])?;
            Select::Concat {
                axis: a.int("axis")?.ok_or("Concat needs the 'axis' attribute")?,
            }
        }
        "Slice" => {
            if opset < 10 {
                a.only(&["starts", "ends", "axes"])?;
                let starts = a.ints("starts")?.ok_or("Slice needs 'starts'")?;
                let ends = a.ints("ends")?.ok_or("Slice needs 'ends'")?;
                Select::Slice {
                    attrs: Some((starts, ends, a.ints("axes")?)),
                }
            } else {
                a.only(&[])?;
                Select::Slice { attrs: None }
            }
        }
        "Split" => {
            let split = if opset < 13 {
                a.only(&["axis", "split"])?;
                a.ints("split")?
            } else {
                a.only(&["axis", "num_outputs"])?;
                None
            };
            let parts = p.outputs;
            if let Some(n) = a.int("num_outputs")?
                && usize::try_from(n).ok() != Some(parts)
            {
                return Err(format!(
                    "Split num_outputs {n} differs from its {parts} outputs"
                ));
            }
            Select::Split {
                axis: a.int("axis")?.unwrap_or(0),
                split,
                parts,
            }
        }
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(Arc::new(op))
}

impl OnnxOp for Select {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        match self {
            Select::Gather { axis } => {
                let (d, i) = (need(ins, 0)?, need(ins, 1)?);
                if i.dtype != DType::I64 {
                    return invalid("Gather indices must be integers");
                }
                let a = norm_axis(*axis, d.shape.len())?;
                let mut shape = d.shape[..a].to_vec();
                shape.extend_from_slice(i.shape);
                shape.extend_from_slice(&d.shape[a + 1..]);
                out(shape, d.dtype)
            }
            Select::Concat { axis } => {
                let first = need(ins, 0)?;
                let a = norm_axis(*axis, first.shape.len())?;
                let mut shape = first.shape.to_vec();
                shape[a] = 0;
                for o in ins.iter() {
                    let o = o
                        .as_ref()
                        .ok_or_else(|| Issue::Invalid("Concat input missing".into()))?;
                    let same = o.shape.len() == shape.len()
                        && (0..shape.len()).all(|j| j == a || o.shape[j] == shape[j]);
                    if !same || o.dtype != first.dtype {
                        return invalid(format!(
                            "Concat operands {:?} and {:?} do not fit",
                            first.shape, o.shape
                        ));
                    }
                    shape[a] += o.shape[a];
                }
                out(shape, first.dtype)
            }
            Select::Slice { attrs } => {
                let x = need(ins, 0)?;
                let ranges = match attrs {
                    Some((s, e, a)) => slice_ranges(x.shape, s, e, a.as_deref(), None)?,
                    None => {
                        let get = |i: usize, what: &str| {
                            const_ints(ins.get(i).and_then(|o| o.as_ref()), what)
                        };
                        let starts = get(1, "Slice starts")?.unwrap_or_default();
                        let ends = get(2, "Slice ends")?.unwrap_or_default();
                        let axes = get(3, "Slice axes")?;
                        let steps = get(4, "Slice steps")?;
                        slice_ranges(x.shape, &starts, &ends, axes.as_deref(), steps.as_deref())?
                    }
                };
                out(ranges.iter().map(|r| r.2).collect(), x.dtype)
            }
            Select::Split { axis, split, parts } => {
                let x = need(ins, 0)?;
                let a = norm_axis(*axis, x.shape.len())?;
                let from_input = const_ints_at(ins, 1, "Split sizes")?;
                let sizes = split_sizes(
                    x.shape[a],
                    split.as_deref().or(from_input.as_deref()),
                    *parts,
                )?;
                Ok(sizes
                    .into_iter()
                    .map(|s| {
                        let mut shape = x.shape.to_vec();
                        shape[a] = s;
                        OutInfo {
                            shape,
                            dtype: x.dtype,
                        }
                    })
                    .collect())
            }
        }
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        let shape = infos[0].shape.clone();
        let x = |i: usize| input(ins, i);
        let one = |t: Tensor| -> Result<Vec<Tensor>, Issue> { Ok(vec![t]) };
        match self {
            Select::Gather { axis } => {
                let (d, i) = (x(0)?, x(1)?);
                let a = norm_axis(*axis, d.shape.len())?;
                let dim = d.shape[a] as i64;
                let inner: usize = d.shape[a + 1..].iter().product();
                let outer: usize = d.shape[..a].iter().product();
                let idx = i
                    .as_i64()
                    .ok_or_else(|| Issue::Invalid("Gather indices must be integers".into()))?;
                let mut src = Vec::with_capacity(outer * idx.len() * inner);
                for o in 0..outer {
                    for &k in idx {
                        let k = if k < 0 { k + dim } else { k };
                        if !(0..dim).contains(&k) {
                            return invalid(format!(
                                "Gather index out of range for dimension {dim}"
                            ));
                        }
                        for j in 0..inner {
                            src.push((o * dim as usize + k as usize) * inner + j);
                        }
                    }
                }
                one(gather_flat(d, shape, &src))
            }
            Select::Concat { axis } => {
                let a = norm_axis(*axis, shape.len())?;
                let outer: usize = shape[..a].iter().product();
                let parts: Vec<&Tensor> = ins.iter().flatten().copied().collect();
                let data = match parts[0].dtype() {
                    DType::F32 => {
                        Data::F32(concat(&parts, outer, |t| t.as_f32().unwrap_or_default()))
                    }
                    DType::I64 => {
                        Data::I64(concat(&parts, outer, |t| t.as_i64().unwrap_or_default()))
                    }
                };
                one(Tensor { shape, data })
            }
            Select::Slice { attrs } => {
                let t = x(0)?;
                let ranges = match attrs {
                    Some((s, e, a)) => slice_ranges(&t.shape, s, e, a.as_deref(), None)?,
                    None => {
                        let get = |i: usize| ins.get(i).copied().flatten().and_then(|t| t.as_i64());
                        slice_ranges(
                            &t.shape,
                            get(1).unwrap_or_default(),
                            get(2).unwrap_or_default(),
                            get(3),
                            get(4),
                        )?
                    }
                };
                let st = strides(&t.shape);
                let src = index_walk(&shape, |idx| {
                    idx.iter()
                        .zip(&ranges)
                        .zip(&st)
                        .map(|((&i, &(start, step, _)), &s)| (start + i as i64 * step) as usize * s)
                        .sum()
                });
                one(gather_flat(t, shape, &src))
            }
            Select::Split { axis, split, parts } => {
                let t = x(0)?;
                let a = norm_axis(*axis, t.shape.len())?;
                let operands: Vec<Option<Operand<'_>>> =
                    ins.iter().map(|o| o.map(Operand::of)).collect();
                let from_input = const_ints_at(&operands, 1, "Split sizes")?;
                let sizes = split_sizes(
                    t.shape[a],
                    split.as_deref().or(from_input.as_deref()),
                    *parts,
                )?;
                let (outer, n, inner) = around(&t.shape, a);
                let mut start = 0;
                let mut outs = Vec::with_capacity(sizes.len());
                for (s, info) in sizes.iter().zip(infos) {
                    let src: Vec<usize> = (0..outer)
                        .flat_map(|o| {
                            (start..start + s)
                                .flat_map(move |k| (0..inner).map(move |i| (o * n + k) * inner + i))
                        })
                        .collect();
                    outs.push(gather_flat(t, info.shape.clone(), &src));
                    start += s;
                }
                Ok(outs)
            }
        }
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        match self {
            Select::Slice { attrs } => l.slice(n, attrs.clone()),
            Select::Concat { axis } => l.concat(n, *axis),
            Select::Gather { axis } => match (l.arg(n, 0)?, l.arg(n, 1)?) {
                (Arg::Const(_), Arg::Act(_)) => l.embedding(n),
                _ => l.gather(n, *axis),
            },
            Select::Split { .. } => l.split(n),
        }
    }

    fn quant_check(&self, ins: &[Option<Operand<'_>>]) -> Result<(), String> {
        let is_const = |i: usize| is_const(ins, i);
        match self {
            Select::Gather { axis } if !is_const(1) => {
                let table = ins.first().and_then(|o| o.as_ref());
                let rank = table.map_or(0, |t| t.shape.len());
                match table {
                    Some(t) if t.value.is_some() && t.dtype == DType::F32 && rank >= 2 => {
                        if norm_axis(*axis, rank).ok() == Some(0) {
                            Ok(())
                        } else {
                            Err(
                                "Gather by computed indices along an axis other than 0 is not \
                                 supported (an embedding selects rows)"
                                    .into(),
                            )
                        }
                    }
                    _ => Err(
                        "Gather with computed indices is supported only as an embedding: \
                              rows of a constant float table of rank >= 2 by integer token ids"
                            .into(),
                    ),
                }
            }
            _ => Ok(()),
        }
    }

    fn output_count(&self) -> usize {
        match self {
            Select::Split { parts, .. } => *parts,
            _ => 1,
        }
    }
}

/// Resolved slice ranges per axis: (start, step, count).
pub(crate) fn slice_ranges(
    shape: &[usize],
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
) -> Result<Vec<(i64, i64, usize)>, Issue> {
    let mut ranges: Vec<(i64, i64, usize)> = shape.iter().map(|&d| (0, 1, d)).collect();
    let default_axes: Vec<i64> = (0..starts.len() as i64).collect();
    let axes = axes.unwrap_or(&default_axes);
    if ends.len() != starts.len()
        || axes.len() != starts.len()
        || steps.is_some_and(|s| s.len() != starts.len())
    {
        return invalid("Slice starts, ends, axes and steps differ in length");
    }
    for (i, &axis) in axes.iter().enumerate() {
        let a = norm_axis(axis, shape.len())?;
        let dim = shape[a] as i64;
        let step = steps.map_or(1, |s| s[i]);
        if step == 0 {
            return invalid("Slice step is 0");
        }
        let clamp = |v: i64, lo: i64, hi: i64| {
            let v = if v < 0 { v.saturating_add(dim) } else { v };
            v.clamp(lo, hi)
        };
        let (start, end) = if step > 0 {
            (clamp(starts[i], 0, dim), clamp(ends[i], 0, dim))
        } else {
            (clamp(starts[i], 0, dim - 1), clamp(ends[i], -1, dim - 1))
        };
        // In i128: `step` may be any i64, including i64::MIN.
        let (span, stride) = if step > 0 {
            (end as i128 - start as i128, step as i128)
        } else {
            (start as i128 - end as i128, -(step as i128))
        };
        let count = if span > 0 { (span - 1) / stride + 1 } else { 0 };
        ranges[a] = (start, step, count as usize);
    }
    Ok(ranges)
}

/// Sizes of the parts of a Split.
pub(crate) fn split_sizes(
    dim: usize,
    split: Option<&[i64]>,
    parts: usize,
) -> Result<Vec<usize>, Issue> {
    match split {
        Some(s) => {
            if s.len() != parts {
                return invalid(format!("Split has {} sizes for {parts} outputs", s.len()));
            }
            let sizes = s
                .iter()
                .map(|&v| usize::try_from(v).map_err(|_| Issue::Invalid(format!("split {v}"))))
                .collect::<Result<Vec<_>, _>>()?;
            if sizes.iter().sum::<usize>() != dim {
                return invalid(format!("split sizes {s:?} do not add up to {dim}"));
            }
            Ok(sizes)
        }
        None => {
            if parts == 0 {
                return invalid("Split has no outputs");
            }
            // Equal parts; from opset 18 the last may be smaller.
            let size = dim.div_ceil(parts);
            let mut sizes = vec![size; parts];
            let last = dim
                .checked_sub(size * (parts - 1))
                .ok_or_else(|| Issue::Invalid(format!("cannot split {dim} into {parts} parts")))?;
            sizes[parts - 1] = last;
            Ok(sizes)
        }
    }
}

fn concat<T: Copy>(parts: &[&Tensor], outer: usize, get: impl Fn(&Tensor) -> &[T]) -> Vec<T> {
    let mut out = Vec::new();
    for o in 0..outer {
        for p in parts {
            let v = get(p);
            let block = v.len() / outer.max(1);
            out.extend_from_slice(&v[o * block..(o + 1) * block]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sizes_follow_the_spec() {
        assert_eq!(split_sizes(6, None, 3).unwrap(), vec![2, 2, 2]);
        assert_eq!(split_sizes(7, None, 3).unwrap(), vec![3, 3, 1]);
        assert_eq!(split_sizes(5, Some(&[2, 3]), 2).unwrap(), vec![2, 3]);
        assert!(split_sizes(5, Some(&[2, 2]), 2).is_err());
    }
}
