//! Linear layers with constant weights: `Gemm`, `MatMul` and 2-D `Conv`, lowered to the IR's
//! `MatMul` and `Conv` with the following channel-wise ops folded in (`fold.rs`); and `MatMul`
//! of two computed tensors, the IR's `BatchMatMul` (`product.rs`).

mod einsum;
mod fold;
mod lower;
mod product;

use std::sync::Arc;

use omron_ir::broadcast_shape;

use crate::error::ModelError;
use crate::kernel::{broadcast_map, float_input, input};
use crate::op::{Lowerer, OnnxOp, OpRef, Parse};
use crate::shape::{
    Issue, Operand, OutInfo, invalid, is_const, need, need_float, out, rank, unsupported,
};
use crate::tensor::{DType, Tensor};
use crate::window::{Geometry, WindowSpec, geometry, window};

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &["Gemm", "MatMul", "Conv", "Einsum"];

/// A linear layer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LinearOp {
    /// `Y = alpha * A' * B' + beta * C`.
    Gemm {
        alpha: f32,
        beta: f32,
        trans_a: bool,
        trans_b: bool,
    },
    /// numpy `matmul`.
    MatMul,
    /// 2-D convolution with `group` groups.
    Conv { window: WindowSpec, group: usize },
    /// A two-operand `Einsum` (`einsum.rs`).
    Einsum(einsum::Equation),
}

/// Parses a node of one of [`OP_TYPES`].
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    if p.op_type == "Einsum" {
        return einsum::parse(p);
    }
    let a = &p.attrs;
    let op = match p.op_type {
        "Gemm" => {
            a.only(&["alpha", "beta", "transA", "transB"])?;
            LinearOp::Gemm {
                alpha: a.float("alpha")?.unwrap_or(1.0),
                beta: a.float("beta")?.unwrap_or(1.0),
                trans_a: a.flag("transA", false)?,
                trans_b: a.flag("transB", false)?,
            }
        }
        "MatMul" => {
            a.only(&[])?;
            LinearOp::MatMul
        }
        "Conv" => {
            a.only(&[
                "auto_pad",
                "dilations",
                "group",
                "kernel_shape",
                "pads",
                "strides",
            ])?;
            let group = a.int("group")?.unwrap_or(1);
            let group = usize::try_from(group)
                .ok()
                .filter(|&g| g > 0)
                .ok_or_else(|| format!("invalid group {group}"))?;
            LinearOp::Conv {
                window: window(a, false)?,
                group,
            }
        }
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(Arc::new(op))
}

impl OnnxOp for LinearOp {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        let f32s = DType::F32;
        match self {
            LinearOp::Gemm {
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
            LinearOp::MatMul => {
                let (a, b) = (need(ins, 0)?, need(ins, 1)?);
                need_float(a, "MatMul input")?;
                out(matmul_shape(a.shape, b.shape)?, f32s)
            }
            LinearOp::Conv { window, group } => {
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
            LinearOp::Einsum(eq) => einsum::infer(eq, ins),
        }
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        let shape = infos[0].shape.clone();
        let x = |i: usize| input(ins, i);
        let fx = |i: usize| float_input(ins, i);
        let one = |t: Tensor| -> Result<Vec<Tensor>, Issue> { Ok(vec![t]) };
        match self {
            LinearOp::Gemm {
                alpha,
                beta,
                trans_a,
                trans_b,
            } => {
                let (a, b) = (fx(0)?, fx(1)?);
                let (m, n) = (shape[0], shape[1]);
                let k = if *trans_a {
                    x(0)?.shape[0]
                } else {
                    x(0)?.shape[1]
                };
                let c = match ins.get(2).copied().flatten() {
                    Some(c) => {
                        let cv = c
                            .as_f32()
                            .ok_or_else(|| Issue::Invalid("Gemm C must be float".into()))?;
                        Some(
                            broadcast_map(&c.shape, &shape)
                                .into_iter()
                                .map(|i| cv[i])
                                .collect::<Vec<_>>(),
                        )
                    }
                    None => None,
                };
                let mut y = Vec::with_capacity(m * n);
                for i in 0..m {
                    for j in 0..n {
                        let mut acc = 0f64;
                        for p in 0..k {
                            let av = if *trans_a { a[p * m + i] } else { a[i * k + p] };
                            let bv = if *trans_b { b[j * k + p] } else { b[p * n + j] };
                            acc += av as f64 * bv as f64;
                        }
                        let mut v = *alpha as f64 * acc;
                        if let Some(c) = &c {
                            v += *beta as f64 * c[i * n + j] as f64;
                        }
                        y.push(v as f32);
                    }
                }
                one(Tensor::f32(shape, y))
            }
            LinearOp::MatMul => one(Tensor::f32(shape, matmul(x(0)?, x(1)?)?)),
            LinearOp::Conv { window, group } => {
                let (xt, wt) = (x(0)?, x(1)?);
                let g = conv_geometry(window, *group, &xt.shape, &wt.shape)?;
                let bias = match ins.get(2).copied().flatten() {
                    Some(b) => Some(
                        b.as_f32()
                            .ok_or_else(|| Issue::Invalid("Conv bias must be float".into()))?,
                    ),
                    None => None,
                };
                one(Tensor::f32(
                    shape,
                    conv(fx(0)?, &xt.shape, fx(1)?, &wt.shape, bias, *group, &g),
                ))
            }
            LinearOp::Einsum(eq) => einsum::eval(eq, ins, infos),
        }
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        match self {
            LinearOp::Gemm {
                alpha,
                beta,
                trans_a,
                trans_b,
            } => l.gemm(n, alpha, beta, trans_a, trans_b),
            LinearOp::MatMul => l.matmul(n),
            LinearOp::Conv { window, group } => l.conv(n, window, group),
            LinearOp::Einsum(eq) => l.einsum(n, eq),
        }
    }

    fn quant_check(&self, ins: &[Option<Operand<'_>>]) -> Result<(), String> {
        let is_const = |i: usize| is_const(ins, i);
        let rank = |i: usize| rank(ins, i);
        let batch1 = |what: &str| {
            let b = ins
                .first()
                .and_then(|o| o.as_ref())
                .and_then(|o| o.shape.first().copied());
            if b == Some(1) {
                Ok(())
            } else {
                Err(format!(
                    "{what} with batch size {b:?} (only 1 is supported)"
                ))
            }
        };
        match self {
            LinearOp::Gemm { .. } if !is_const(1) && is_const(0) => Err(
                "Gemm with a constant A and a computed B is not supported (write it as MatMul)"
                    .into(),
            ),
            LinearOp::Gemm { alpha, beta, .. } if !is_const(1) => {
                let computed_c = ins.get(2).is_some_and(|o| o.is_some()) && !is_const(2);
                product::gemm_product_issue(*alpha, *beta, computed_c).map_or(Ok(()), Err)
            }
            LinearOp::MatMul => match (is_const(0), is_const(1)) {
                (false, true) if rank(1) <= 2 => Ok(()),
                (false, true) => {
                    Err("MatMul with a constant operand of rank > 2 is not supported".into())
                }
                (true, false) if rank(0) <= 2 && rank(1) == 2 => Ok(()),
                (true, false) => {
                    Err("MatMul with a constant left operand needs a 2-D right operand".into())
                }
                (false, false) => {
                    let shape = |i: usize| {
                        ins.get(i)
                            .and_then(|o| o.as_ref())
                            .map_or(&[][..], |o| o.shape)
                    };
                    product::batch_matmul_issue(shape(0), shape(1)).map_or(Ok(()), Err)
                }
                _ => Ok(()),
            },
            LinearOp::Conv { .. } => {
                if !is_const(1) || (ins.get(2).is_some_and(|o| o.is_some()) && !is_const(2)) {
                    return Err("Conv weights and bias must be constants".into());
                }
                batch1("Conv")
            }
            LinearOp::Einsum(_) => einsum::quant_check(ins),
            _ => Ok(()),
        }
    }
}

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

/// numpy `matmul` in float with `f64` accumulation.
fn matmul(a: &Tensor, b: &Tensor) -> Result<Vec<f32>, Issue> {
    let (av, bv) = match (a.as_f32(), b.as_f32()) {
        (Some(x), Some(y)) => (x, y),
        _ => return invalid("MatMul operands must be float"),
    };
    let a2: Vec<usize> = if a.shape.len() == 1 {
        vec![1, a.shape[0]]
    } else {
        a.shape.clone()
    };
    let b2: Vec<usize> = if b.shape.len() == 1 {
        vec![b.shape[0], 1]
    } else {
        b.shape.clone()
    };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let n = b2[b2.len() - 1];
    let (ab, bb) = (&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
    let batch = omron_ir::broadcast_shape(ab, bb).unwrap_or_default();
    let ia = broadcast_map(ab, &batch);
    let ib = broadcast_map(bb, &batch);
    let mut y = Vec::with_capacity(ia.len() * m * n);
    for (&pa, &pb) in ia.iter().zip(&ib) {
        let (xa, xb) = (
            &av[pa * m * k..(pa + 1) * m * k],
            &bv[pb * k * n..(pb + 1) * k * n],
        );
        for i in 0..m {
            for j in 0..n {
                let acc: f64 = (0..k)
                    .map(|p| xa[i * k + p] as f64 * xb[p * n + j] as f64)
                    .sum();
                y.push(acc as f32);
            }
        }
    }
    Ok(y)
}

fn conv(
    x: &[f32],
    xs: &[usize],
    w: &[f32],
    ws: &[usize],
    bias: Option<&[f32]>,
    group: usize,
    g: &Geometry,
) -> Vec<f32> {
    let (batch, c, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
    let (o_ch, c_per, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    let (oh, ow) = (g.out[0], g.out[1]);
    let o_per = o_ch / group;
    let mut y = Vec::with_capacity(batch * o_ch * oh * ow);
    for nb in 0..batch {
        for o in 0..o_ch {
            let grp = o / o_per;
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = bias.map_or(0.0, |b| b[o] as f64);
                    for cc in 0..c_per {
                        let ci = grp * c_per + cc;
                        for u in 0..kh {
                            let r = (i * g.strides[0] + u * g.dilations[0]) as isize
                                - g.pads[0] as isize;
                            if r < 0 || r as usize >= h {
                                continue;
                            }
                            for v in 0..kw {
                                let s = (j * g.strides[1] + v * g.dilations[1]) as isize
                                    - g.pads[1] as isize;
                                if s < 0 || s as usize >= wd {
                                    continue;
                                }
                                let xv = x[((nb * c + ci) * h + r as usize) * wd + s as usize];
                                let wv = w[((o * c_per + cc) * kh + u) * kw + v];
                                acc += xv as f64 * wv as f64;
                            }
                        }
                    }
                    y.push(acc as f32);
                }
            }
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::run as eval;
    use crate::window::AutoPad;

    fn f(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::f32(shape.to_vec(), v.to_vec())
    }

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

    #[test]
    fn gemm_honours_transposes_alpha_beta() {
        let a = f(&[2, 1], &[1.0, 2.0]); // transA: A' = [[1, 2]]
        let b = f(&[2, 2], &[1.0, 2.0, 3.0, 4.0]); // transB: B' = [[1, 3], [2, 4]]
        let c = f(&[2], &[10.0, 20.0]);
        let op = LinearOp::Gemm {
            alpha: 2.0,
            beta: 0.5,
            trans_a: true,
            trans_b: true,
        };
        let y = eval(&op, &[Some(&a), Some(&b), Some(&c)]).unwrap();
        // A'B' = [1*1 + 2*2, 1*3 + 2*4] = [5, 11]; 2*that + 0.5*C = [15, 32]
        assert_eq!(y[0], f(&[1, 2], &[15.0, 32.0]));
    }

    #[test]
    fn conv_with_stride_and_padding() {
        let x = f(
            &[1, 1, 3, 3],
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        );
        let w = f(&[1, 1, 2, 2], &[1.0; 4]);
        let window = WindowSpec {
            auto_pad: AutoPad::NotSet,
            kernel: None,
            strides: Some(vec![2, 2]),
            pads: Some(vec![1, 1, 1, 1]),
            dilations: None,
            ceil_mode: false,
        };
        let y = eval(
            &LinearOp::Conv { window, group: 1 },
            &[Some(&x), Some(&w), None],
        )
        .unwrap();
        assert_eq!(y[0], f(&[1, 1, 2, 2], &[1.0, 5.0, 11.0, 28.0]));
    }
}
