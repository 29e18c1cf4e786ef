//! The float reference kernels: one function per op over [`Tensor`]s, used both to fold
//! constants at load time and to run the model in float (the accuracy oracle).
//!
//! Precision: tensors hold `f32` like the ONNX model; sums of products (Gemm, MatMul, Conv,
//! pooling, batch norm) accumulate in `f64` and round once to `f32`; elementwise arithmetic is
//! plain `f32` (bit-identical to any IEEE implementation); Sigmoid and Tanh are computed in
//! `f64` and rounded. This keeps us within ~1e-6 of onnxruntime, which accumulates in `f32`.

use super::Op;
use super::infer::conv_geometry;
use crate::kernel::broadcast_map;
use crate::shape::{Issue, OutInfo, invalid};
use crate::tensor::{Data, Tensor};
use crate::window::Geometry;

/// Runs `op` on `ins` (one entry per ONNX input; `None` when omitted).
pub(crate) fn eval(
    op: &Op,
    ins: &[Option<&Tensor>],
    infos: &[OutInfo],
) -> Result<Vec<Tensor>, Issue> {
    let shape = infos[0].shape.clone();
    let x = |i: usize| -> Result<&Tensor, Issue> {
        ins.get(i)
            .copied()
            .flatten()
            .ok_or_else(|| Issue::Invalid(format!("input {i} is missing")))
    };
    let fx = |i: usize| -> Result<&[f32], Issue> {
        x(i)?
            .as_f32()
            .ok_or_else(|| Issue::Invalid(format!("input {i} must be a float tensor")))
    };
    let one = |t: Tensor| Ok(vec![t]);
    match op {
        Op::Gemm {
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
        Op::MatMul => one(Tensor::f32(shape, matmul(x(0)?, x(1)?)?)),
        Op::Conv { window, group } => {
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
        Op::Add | Op::Sub | Op::Mul | Op::Div => one(binary(op, x(0)?, x(1)?, shape)?),
        Op::Relu => one(Tensor::f32(
            shape,
            fx(0)?
                .iter()
                .map(|&v| if v > 0.0 { v } else { 0.0 })
                .collect(),
        )),
        Op::Sigmoid => one(Tensor::f32(
            shape,
            fx(0)?
                .iter()
                .map(|&v| (1.0 / (1.0 + (-(v as f64)).exp())) as f32)
                .collect(),
        )),
        Op::Tanh => one(Tensor::f32(
            shape,
            fx(0)?.iter().map(|&v| (v as f64).tanh() as f32).collect(),
        )),
        Op::BatchNorm { epsilon } => {
            let t = x(0)?;
            let v = fx(0)?;
            let (scale, b, mean, var) = (fx(1)?, fx(2)?, fx(3)?, fx(4)?);
            let c = t.shape[1];
            let inner: usize = t.shape[2..].iter().product();
            let y = v
                .iter()
                .enumerate()
                .map(|(i, &xv)| {
                    let ch = (i / inner) % c;
                    let a = scale[ch] as f64 / (var[ch] as f64 + *epsilon as f64).sqrt();
                    ((xv as f64 - mean[ch] as f64) * a + b[ch] as f64) as f32
                })
                .collect();
            one(Tensor::f32(shape, y))
        }
        Op::Unary(_) | Op::Pow | Op::Clip { .. } | Op::Nary(_) | Op::LayerNorm { .. } => {
            super::eval_nn::eval_nn(op, ins, infos)
        }
    }
}

fn binary(op: &Op, a: &Tensor, b: &Tensor, shape: Vec<usize>) -> Result<Tensor, Issue> {
    let ia = broadcast_map(&a.shape, &shape);
    let ib = broadcast_map(&b.shape, &shape);
    let data = match (&a.data, &b.data) {
        (Data::F32(x), Data::F32(y)) => Data::F32(
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| match op {
                    Op::Add => x[i] + y[j],
                    Op::Sub => x[i] - y[j],
                    Op::Mul => x[i] * y[j],
                    _ => x[i] / y[j],
                })
                .collect(),
        ),
        (Data::I64(x), Data::I64(y)) => Data::I64(
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| {
                    match op {
                        Op::Add => x[i].checked_add(y[j]),
                        Op::Sub => x[i].checked_sub(y[j]),
                        Op::Mul => x[i].checked_mul(y[j]),
                        _ => x[i].checked_div(y[j]),
                    }
                    .ok_or_else(|| {
                        Issue::Invalid("integer arithmetic overflows or divides by 0".into())
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return invalid("operands have different element types"),
    };
    Ok(Tensor { shape, data })
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
    use crate::window::{AutoPad, WindowSpec};

    fn eval(op: &Op, ins: &[Option<&Tensor>]) -> Result<Vec<Tensor>, Issue> {
        crate::op::run(op, ins)
    }

    fn f(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::f32(shape.to_vec(), v.to_vec())
    }

    #[test]
    fn gemm_honours_transposes_alpha_beta() {
        let a = f(&[2, 1], &[1.0, 2.0]); // transA: A' = [[1, 2]]
        let b = f(&[2, 2], &[1.0, 2.0, 3.0, 4.0]); // transB: B' = [[1, 3], [2, 4]]
        let c = f(&[2], &[10.0, 20.0]);
        let op = Op::Gemm {
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
        let y = eval(&Op::Conv { window, group: 1 }, &[Some(&x), Some(&w), None]).unwrap();
        assert_eq!(y[0], f(&[1, 1, 2, 2], &[1.0, 5.0, 11.0, 28.0]));
    }

    #[test]
    fn integer_division_by_zero_is_an_error() {
        let a = Tensor::i64(vec![1], vec![4]);
        let b = Tensor::i64(vec![1], vec![0]);
        assert!(eval(&Op::Div, &[Some(&a), Some(&b)]).is_err());
    }
}
