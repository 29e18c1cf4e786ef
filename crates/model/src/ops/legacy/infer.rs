//! Shape inference for every op the front end parses. The same functions run at load time
//! (on declared input shapes) and inside the float executor (on actual tensors), so an
//! operand the executor receives has always passed these checks: kernels index without
//! bounds surprises. The v2 ops (reductions, normalisation, recurrent layers, ...) have their
//! rules in `infer_nn.rs`; this file keeps the v1 ops and the window geometry shared by both,
//! and is just over 800 lines with its tests.

use omron_ir::broadcast_shape;

use super::Op;
use crate::shape::{
    Issue, Operand, OutInfo, const_ints, invalid, need, need_float, norm_axis, out, unsupported,
};
use crate::tensor::{DType, Tensor, checked_numel};
use crate::window::{Geometry, WindowSpec, geometry};

/// Conv geometry for input `x` and weight `w` (both rank 4 once checked).
pub(crate) fn conv_geometry(
    window: &WindowSpec,
    group: usize,
    x: &[usize],
    w: &[usize],
) -> Result<Geometry, Issue> {
    if x.len() != 4 || w.len() != 4 {
        if x.len() == 3 || x.len() == 5 {
            return unsupported(format!(
                "only 2-D convolution is supported (input rank {})",
                x.len()
            ));
        }
        return invalid(format!(
            "input {x:?} and weight {w:?} are not [N, C, H, W] and OIHW"
        ));
    }
    if w[1].checked_mul(group) != Some(x[1]) || !w[0].is_multiple_of(group) {
        return invalid(format!(
            "weight {w:?} does not fit input {x:?} with {group} groups"
        ));
    }
    if let Some(k) = &window.kernel
        && k.as_slice() != &w[2..]
    {
        return invalid(format!("kernel_shape {k:?} differs from the weight {w:?}"));
    }
    geometry(window, [x[2], x[3]], [w[2], w[3]])
}

/// Pool geometry for input `x` (rank 4 once checked).
pub(crate) fn pool_geometry(window: &WindowSpec, x: &[usize]) -> Result<Geometry, Issue> {
    if x.len() != 4 {
        return unsupported(format!(
            "only 2-D pooling is supported (input rank {})",
            x.len()
        ));
    }
    let kernel = match window.kernel.as_deref() {
        Some(&[a, b]) => [a, b],
        _ => return invalid("kernel_shape must have 2 values"),
    };
    geometry(window, [x[2], x[3]], kernel)
}

/// numpy `matmul` shape rules.
pub(crate) fn matmul_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, Issue> {
    if a.is_empty() || b.is_empty() {
        return invalid("MatMul operands must have rank >= 1");
    }
    let a2: Vec<usize> = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b2: Vec<usize> = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (k2, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != k2 {
        return invalid(format!(
            "MatMul of {a:?} and {b:?}: inner dimensions differ"
        ));
    }
    let batch = broadcast_shape(&a2[..a2.len() - 2], &b2[..b2.len() - 2])
        .ok_or_else(|| Issue::Invalid(format!("MatMul batch dims of {a:?} and {b:?} differ")))?;
    let mut shape = batch;
    if a.len() > 1 {
        shape.push(m);
    }
    if b.len() > 1 {
        shape.push(n);
    }
    Ok(shape)
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

/// Infers the results of `op` on `ins` (one entry per ONNX input, `None` when omitted).
pub(crate) fn infer(op: &Op, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
    let f32s = DType::F32;
    match op {
        Op::Gemm {
            trans_a, trans_b, ..
        } => {
            let (a, b) = (need(ins, 0)?, need(ins, 1)?);
            need_float(a, "Gemm input A")?;
            if a.shape.len() != 2 || b.shape.len() != 2 {
                return invalid(format!(
                    "Gemm needs 2-D A and B, got {:?} and {:?}",
                    a.shape, b.shape
                ));
            }
            let (m, k) = if *trans_a {
                (a.shape[1], a.shape[0])
            } else {
                (a.shape[0], a.shape[1])
            };
            let (k2, n) = if *trans_b {
                (b.shape[1], b.shape[0])
            } else {
                (b.shape[0], b.shape[1])
            };
            if k != k2 {
                return invalid(format!(
                    "Gemm inner dimensions differ: A {:?}, B {:?}",
                    a.shape, b.shape
                ));
            }
            if let Some(Some(c)) = ins.get(2)
                && broadcast_shape(c.shape, &[m, n]).as_deref() != Some(&[m, n][..])
            {
                return invalid(format!(
                    "Gemm C {:?} does not broadcast to [{m}, {n}]",
                    c.shape
                ));
            }
            out(vec![m, n], f32s)
        }
        Op::MatMul => {
            let (a, b) = (need(ins, 0)?, need(ins, 1)?);
            need_float(a, "MatMul input")?;
            out(matmul_shape(a.shape, b.shape)?, f32s)
        }
        Op::Conv { window, group } => {
            let (x, w) = (need(ins, 0)?, need(ins, 1)?);
            need_float(x, "Conv input")?;
            let g = conv_geometry(window, *group, x.shape, w.shape)?;
            if let Some(Some(b)) = ins.get(2)
                && b.shape != [w.shape[0]]
            {
                return invalid(format!(
                    "Conv bias {:?}, expected [{}]",
                    b.shape, w.shape[0]
                ));
            }
            out(vec![x.shape[0], w.shape[0], g.out[0], g.out[1]], f32s)
        }
        Op::Add | Op::Sub | Op::Mul | Op::Div => {
            let (a, b) = (need(ins, 0)?, need(ins, 1)?);
            if a.dtype != b.dtype {
                return invalid("operands have different element types");
            }
            let shape = broadcast_shape(a.shape, b.shape).ok_or_else(|| {
                Issue::Invalid(format!(
                    "shapes {:?} and {:?} do not broadcast",
                    a.shape, b.shape
                ))
            })?;
            out(shape, a.dtype)
        }
        Op::Relu | Op::Sigmoid | Op::Tanh => {
            let x = need(ins, 0)?;
            need_float(x, "the input")?;
            out(x.shape.to_vec(), f32s)
        }
        Op::Flatten { axis } => {
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
        Op::Reshape { allowzero } => {
            let x = need(ins, 0)?;
            let target =
                const_ints(Some(need(ins, 1)?), "the Reshape target shape")?.unwrap_or_default();
            out(reshape_target(x.shape, &target, *allowzero)?, x.dtype)
        }
        Op::Transpose { perm } => {
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
        Op::Identity => {
            let x = need(ins, 0)?;
            out(x.shape.to_vec(), x.dtype)
        }
        Op::Dropout => {
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
        Op::Squeeze { axes } => {
            let x = need(ins, 0)?;
            let axes = match axes {
                Some(a) => Some(a.clone()),
                None => const_ints(ins.get(1).and_then(|o| o.as_ref()), "Squeeze axes")?,
            };
            out(squeeze_shape(x.shape, axes.as_deref())?, x.dtype)
        }
        Op::Unsqueeze { axes } => {
            let x = need(ins, 0)?;
            let axes = match axes {
                Some(a) => a.clone(),
                None => const_ints(Some(need(ins, 1)?), "Unsqueeze axes")?.unwrap_or_default(),
            };
            out(unsqueeze_shape(x.shape, &axes)?, x.dtype)
        }
        Op::Constant(t) => out(t.shape.clone(), t.dtype()),
        Op::BatchNorm { .. } => {
            let x = need(ins, 0)?;
            need_float(x, "BatchNormalization input")?;
            if x.shape.len() < 2 {
                return invalid(format!(
                    "BatchNormalization input {:?} has no channel axis",
                    x.shape
                ));
            }
            for i in 1..5 {
                let p = need(ins, i)?;
                if p.shape != [x.shape[1]] {
                    return invalid(format!(
                        "BatchNormalization parameter {i} has shape {:?}, expected [{}]",
                        p.shape, x.shape[1]
                    ));
                }
            }
            out(x.shape.to_vec(), f32s)
        }
        Op::Pool { window, .. } => {
            let x = need(ins, 0)?;
            need_float(x, "pool input")?;
            let g = pool_geometry(window, x.shape)?;
            out(vec![x.shape[0], x.shape[1], g.out[0], g.out[1]], f32s)
        }
        Op::GlobalAveragePool => {
            let x = need(ins, 0)?;
            need_float(x, "pool input")?;
            if x.shape.len() < 3 {
                return invalid(format!(
                    "GlobalAveragePool input {:?} has no spatial axes",
                    x.shape
                ));
            }
            let mut shape = x.shape[..2].to_vec();
            shape.resize(x.shape.len(), 1);
            out(shape, f32s)
        }
        Op::Pad { pads, .. } => {
            let x = need(ins, 0)?;
            let pads = match pads {
                Some(p) => p.clone(),
                None => const_ints(Some(need(ins, 1)?), "Pad pads")?.unwrap_or_default(),
            };
            if let Some(Some(v)) = ins.get(2)
                && v.value.is_none()
            {
                return unsupported("Pad constant_value must be a constant");
            }
            if ins.get(3).is_some_and(|o| o.is_some()) {
                return unsupported("Pad with an 'axes' input is not supported");
            }
            let r = x.shape.len();
            if pads.len() != 2 * r {
                return invalid(format!("Pad has {} pads for rank {r}", pads.len()));
            }
            if pads.iter().any(|&p| p < 0) {
                return unsupported("negative Pad (cropping) is not supported");
            }
            let shape = (0..r)
                .map(|i| {
                    usize::try_from(pads[i])
                        .ok()
                        .zip(usize::try_from(pads[i + r]).ok())
                        .and_then(|(b, e)| x.shape[i].checked_add(b)?.checked_add(e))
                        .ok_or_else(|| Issue::Invalid(format!("Pad {pads:?} overflows")))
                })
                .collect::<Result<Vec<usize>, Issue>>()?;
            out(shape, x.dtype)
        }
        Op::Shape { start, end } => {
            let x = need(ins, 0)?;
            let r = x.shape.len() as i64;
            let fix = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r);
            let (s, e) = (fix(*start), fix(end.unwrap_or(r)));
            out(vec![(e - s).max(0) as usize], DType::I64)
        }
        Op::Gather { axis } => {
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
        Op::Concat { axis } => {
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
        Op::Cast { to } => out(need(ins, 0)?.shape.to_vec(), *to),
        Op::Slice { attrs } => {
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
        Op::Unary(_)
        | Op::Pow
        | Op::Compare(_)
        | Op::Logic(_)
        | Op::Where
        | Op::Clip { .. }
        | Op::Nary(_)
        | Op::Reduce { .. }
        | Op::ArgExtreme { .. }
        | Op::Softmax { .. }
        | Op::LayerNorm { .. }
        | Op::Rnn(_)
        | Op::Split { .. }
        | Op::PadMode { .. } => super::infer_nn::infer_nn(op, ins),
        Op::ConstantOfShape(value) => {
            let dims =
                const_ints(Some(need(ins, 0)?), "ConstantOfShape shape")?.unwrap_or_default();
            let shape = dims
                .iter()
                .map(|&d| usize::try_from(d).map_err(|_| Issue::Invalid(format!("dimension {d}"))))
                .collect::<Result<Vec<_>, _>>()?;
            out(shape, value.as_ref().map_or(DType::F32, Tensor::dtype))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::AutoPad;

    fn spec(auto_pad: AutoPad, strides: [usize; 2], pads: Option<[usize; 4]>) -> WindowSpec {
        WindowSpec {
            auto_pad,
            kernel: None,
            strides: Some(strides.to_vec()),
            pads: pads.map(|p| p.to_vec()),
            dilations: None,
            ceil_mode: false,
        }
    }

    #[test]
    fn matmul_follows_numpy() {
        assert_eq!(matmul_shape(&[1, 5], &[5, 3]).unwrap(), vec![1, 3]);
        assert_eq!(matmul_shape(&[5], &[5, 3]).unwrap(), vec![3]);
        assert_eq!(matmul_shape(&[2, 4, 5], &[5]).unwrap(), vec![2, 4]);
        assert_eq!(
            matmul_shape(&[2, 1, 4, 5], &[3, 5, 6]).unwrap(),
            vec![2, 3, 4, 6]
        );
        assert!(matmul_shape(&[2, 4], &[5, 3]).is_err());
    }

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

    #[test]
    fn squeeze_unsqueeze_and_slice() {
        assert_eq!(squeeze_shape(&[1, 3, 1], None).unwrap(), vec![3]);
        assert_eq!(squeeze_shape(&[1, 3, 1], Some(&[-1])).unwrap(), vec![1, 3]);
        assert!(squeeze_shape(&[1, 3], Some(&[1])).is_err());
        assert_eq!(unsqueeze_shape(&[3], &[0, -1]).unwrap(), vec![1, 3, 1]);
        let r = slice_ranges(&[5, 4], &[-1], &[i64::MAX], Some(&[0]), None).unwrap();
        assert_eq!(r, vec![(4, 1, 1), (0, 1, 4)]);
        let r = slice_ranges(&[5], &[4], &[i64::MIN], None, Some(&[-2])).unwrap();
        assert_eq!(r, vec![(4, -2, 3)]);
        // Extreme steps and targets neither overflow nor panic.
        let r = slice_ranges(&[5], &[0], &[5], None, Some(&[i64::MAX])).unwrap();
        assert_eq!(r, vec![(0, i64::MAX, 1)]);
        let r = slice_ranges(&[5], &[4], &[-9], None, Some(&[i64::MIN])).unwrap();
        assert_eq!(r, vec![(4, i64::MIN, 1)]);
        assert!(reshape_target(&[4], &[1 << 40, 1 << 40, -1], false).is_err());
        assert!(reshape_target(&[4], &[1 << 62, 1 << 62], false).is_err());
    }

    #[test]
    fn hostile_pads_and_groups_are_errors_not_overflows() {
        let x = Tensor::f32(vec![1, 2], vec![0.0; 2]);
        let op = Op::Pad {
            pads: Some(vec![0, i64::MAX, 0, i64::MAX]),
            value: 0.0,
        };
        assert!(matches!(
            infer(&op, &[Some(Operand::of(&x))]),
            Err(Issue::Invalid(_))
        ));
        let win = spec(AutoPad::NotSet, [1, 1], None);
        assert!(conv_geometry(&win, usize::MAX, &[1, 2, 3, 3], &[2, 2, 1, 1]).is_err());
    }
}
