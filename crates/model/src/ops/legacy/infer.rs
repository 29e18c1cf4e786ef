//! Shape inference for every op the front end parses. The same functions run at load time
//! (on declared input shapes) and inside the float executor (on actual tensors), so an
//! operand the executor receives has always passed these checks: kernels index without
//! bounds surprises. The v2 ops (reductions, normalisation, recurrent layers, ...) have their
//! rules in `infer_nn.rs`; this file keeps the v1 ops and the window geometry shared by both,
//! and is just over 800 lines with its tests.

use omron_ir::broadcast_shape;

use super::Op;
use crate::shape::{Issue, Operand, OutInfo, invalid, need, need_float, out, unsupported};
use crate::tensor::DType;
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
        Op::Unary(_) | Op::Pow | Op::Clip { .. } | Op::Nary(_) | Op::LayerNorm { .. } => {
            super::infer_nn::infer_nn(op, ins)
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
    fn hostile_groups_are_errors_not_overflows() {
        let win = spec(AutoPad::NotSet, [1, 1], None);
        assert!(conv_geometry(&win, usize::MAX, &[1, 2, 3, 3], &[2, 2, 1, 1]).is_err());
    }
}
