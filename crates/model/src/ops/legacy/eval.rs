//! The float reference kernels: one function per op over [`Tensor`]s, used both to fold
//! constants at load time and to run the model in float (the accuracy oracle).
//!
//! Precision: tensors hold `f32` like the ONNX model; sums of products (Gemm, MatMul, Conv,
//! pooling, batch norm) accumulate in `f64` and round once to `f32`; elementwise arithmetic is
//! plain `f32` (bit-identical to any IEEE implementation); Sigmoid and Tanh are computed in
//! `f64` and rounded. This keeps us within ~1e-6 of onnxruntime, which accumulates in `f32`.

use super::infer::{conv_geometry, pool_geometry, slice_ranges};
use super::{Op, PoolKind};
use crate::kernel::{broadcast_map, gather_flat, index_walk, strides};
use crate::shape::{Issue, OutInfo, invalid, norm_axis};
use crate::tensor::{DType, Data, Tensor};
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
        Op::Flatten { .. }
        | Op::Reshape { .. }
        | Op::Squeeze { .. }
        | Op::Unsqueeze { .. }
        | Op::Identity => one(Tensor {
            shape,
            data: x(0)?.data.clone(),
        }),
        Op::Dropout => {
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
        Op::Transpose { perm } => {
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
        Op::Constant(t) => one(t.clone()),
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
        Op::Pool { kind, window } => {
            let t = x(0)?;
            let g = pool_geometry(window, &t.shape)?;
            one(Tensor::f32(shape, pool(*kind, fx(0)?, &t.shape, &g)))
        }
        Op::GlobalAveragePool => {
            let t = x(0)?;
            let inner: usize = t.shape[2..].iter().product();
            let v = fx(0)?;
            let y = v
                .chunks(inner.max(1))
                .map(|c| (c.iter().map(|&a| a as f64).sum::<f64>() / inner as f64) as f32);
            one(Tensor::f32(shape, y.collect()))
        }
        Op::Pad { pads, value } => {
            let t = x(0)?;
            let r = t.shape.len();
            let pads: Vec<i64> = match pads {
                Some(p) => p.clone(),
                None => x(1)?.as_i64().map(<[i64]>::to_vec).unwrap_or_default(),
            };
            let fill = match ins.get(2).copied().flatten() {
                Some(c) => c.to_f32().first().copied().unwrap_or(0.0),
                None => *value,
            };
            // Source index of every output element, or usize::MAX for padding.
            let st = strides(&t.shape);
            let src = index_walk(&shape, |idx| {
                let mut flat = 0;
                for d in 0..r {
                    let i = idx[d] as i64 - pads[d];
                    if i < 0 || i >= t.shape[d] as i64 {
                        return usize::MAX;
                    }
                    flat += i as usize * st[d];
                }
                flat
            });
            let data = match &t.data {
                Data::F32(v) => Data::F32(
                    src.iter()
                        .map(|&i| if i == usize::MAX { fill } else { v[i] })
                        .collect(),
                ),
                Data::I64(v) => Data::I64(
                    src.iter()
                        .map(|&i| if i == usize::MAX { fill as i64 } else { v[i] })
                        .collect(),
                ),
            };
            one(Tensor { shape, data })
        }
        Op::Shape { start, end } => {
            let t = x(0)?;
            let r = t.shape.len() as i64;
            let fix = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
            let (s, e) = (fix(*start), fix(end.unwrap_or(r)));
            let dims = t.shape[s..e.max(s)].iter().map(|&d| d as i64).collect();
            one(Tensor::i64(shape, dims))
        }
        Op::Gather { axis } => {
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
                        return invalid(format!("Gather index out of range for dimension {dim}"));
                    }
                    for j in 0..inner {
                        src.push((o * dim as usize + k as usize) * inner + j);
                    }
                }
            }
            one(gather_flat(d, shape, &src))
        }
        Op::Concat { axis } => {
            let a = norm_axis(*axis, shape.len())?;
            let outer: usize = shape[..a].iter().product();
            let parts: Vec<&Tensor> = ins.iter().flatten().copied().collect();
            let data = match parts[0].dtype() {
                DType::F32 => Data::F32(concat(&parts, outer, |t| t.as_f32().unwrap_or_default())),
                DType::I64 => Data::I64(concat(&parts, outer, |t| t.as_i64().unwrap_or_default())),
            };
            one(Tensor { shape, data })
        }
        Op::Cast { to } => {
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
        Op::Slice { attrs } => {
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
        | Op::PadMode { .. } => super::eval_nn::eval_nn(op, ins, infos),
        Op::ConstantOfShape(value) => {
            let n = shape.iter().product();
            let data = match value {
                None => Data::F32(vec![0.0; n]),
                Some(v) if v.len() == 1 => match &v.data {
                    Data::F32(f) => Data::F32(vec![f[0]; n]),
                    Data::I64(i) => Data::I64(vec![i[0]; n]),
                },
                Some(_) => return invalid("ConstantOfShape value must have one element"),
            };
            one(Tensor { shape, data })
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

/// The window positions of output `i` along one axis: (first input index, which may be
/// negative, i.e. in the padding) and how many window taps fall in the real input and in
/// input-plus-padding.
pub(crate) fn window_counts(i: usize, axis: usize, g: &Geometry, len: usize) -> (usize, usize) {
    let start = (i * g.strides[axis]) as isize - g.pads[axis] as isize;
    let end_pad = (len + g.pads[axis + 2]) as isize;
    let (mut real, mut padded) = (0, 0);
    for t in 0..g.kernel[axis] {
        let p = start + (t * g.dilations[axis]) as isize;
        if p < end_pad {
            padded += 1;
        }
        if p >= 0 && (p as usize) < len {
            real += 1;
        }
    }
    (real, padded)
}

fn pool(kind: PoolKind, x: &[f32], xs: &[usize], g: &Geometry) -> Vec<f32> {
    let (batch, c, h, w) = (xs[0], xs[1], xs[2], xs[3]);
    let (oh, ow) = (g.out[0], g.out[1]);
    let mut y = Vec::with_capacity(batch * c * oh * ow);
    for plane in 0..batch * c {
        let xp = &x[plane * h * w..(plane + 1) * h * w];
        for i in 0..oh {
            for j in 0..ow {
                let mut sum = 0f64;
                let mut best = f32::NEG_INFINITY;
                for u in 0..g.kernel[0] {
                    let r = (i * g.strides[0] + u * g.dilations[0]) as isize - g.pads[0] as isize;
                    if r < 0 || r as usize >= h {
                        continue;
                    }
                    for v in 0..g.kernel[1] {
                        let s =
                            (j * g.strides[1] + v * g.dilations[1]) as isize - g.pads[1] as isize;
                        if s < 0 || s as usize >= w {
                            continue;
                        }
                        let xv = xp[r as usize * w + s as usize];
                        sum += xv as f64;
                        best = best.max(xv);
                    }
                }
                y.push(match kind {
                    PoolKind::Max => best,
                    PoolKind::Average { count_include_pad } => {
                        let (rh, ph) = window_counts(i, 0, g, h);
                        let (rw, pw) = window_counts(j, 1, g, w);
                        let count = if count_include_pad { ph * pw } else { rh * rw };
                        (sum / count.max(1) as f64) as f32
                    }
                });
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
    fn average_pool_excludes_padding_unless_asked() {
        let x = f(&[1, 1, 2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let window = WindowSpec {
            auto_pad: AutoPad::NotSet,
            kernel: Some(vec![2, 2]),
            strides: Some(vec![1, 1]),
            pads: Some(vec![1, 1, 0, 0]),
            dilations: None,
            ceil_mode: false,
        };
        let avg = |cip| Op::Pool {
            kind: PoolKind::Average {
                count_include_pad: cip,
            },
            window: window.clone(),
        };
        let y = eval(&avg(false), &[Some(&x)]).unwrap();
        assert_eq!(y[0].as_f32().unwrap(), &[1.0, 1.5, 2.0, 2.5]);
        let y = eval(&avg(true), &[Some(&x)]).unwrap();
        assert_eq!(y[0].as_f32().unwrap(), &[0.25, 0.75, 1.0, 2.5]);
        let y = eval(
            &Op::Pool {
                kind: PoolKind::Max,
                window,
            },
            &[Some(&x)],
        )
        .unwrap();
        assert_eq!(y[0].as_f32().unwrap(), &[1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn shape_gather_concat_fold_a_flatten_target() {
        let x = f(&[2, 3, 4], &[0.0; 24]);
        let s = eval(
            &Op::Shape {
                start: 0,
                end: None,
            },
            &[Some(&x)],
        )
        .unwrap()
        .remove(0);
        let zero = Tensor::i64(vec![], vec![0]);
        let d0 = eval(&Op::Gather { axis: 0 }, &[Some(&s), Some(&zero)])
            .unwrap()
            .remove(0);
        assert_eq!(d0, Tensor::i64(vec![], vec![2]));
        let u = eval(
            &Op::Unsqueeze {
                axes: Some(vec![0]),
            },
            &[Some(&d0)],
        )
        .unwrap()
        .remove(0);
        let m1 = Tensor::i64(vec![1], vec![-1]);
        let target = eval(&Op::Concat { axis: 0 }, &[Some(&u), Some(&m1)])
            .unwrap()
            .remove(0);
        assert_eq!(target, Tensor::i64(vec![2], vec![2, -1]));
        let y = eval(
            &Op::Reshape { allowzero: false },
            &[Some(&x), Some(&target)],
        )
        .unwrap();
        assert_eq!(y[0].shape, vec![2, 12]);
    }

    #[test]
    fn transpose_slice_and_pad_move_the_right_elements() {
        let x = Tensor::i64(vec![2, 3], vec![1, 2, 3, 4, 5, 6]);
        let t = eval(&Op::Transpose { perm: None }, &[Some(&x)])
            .unwrap()
            .remove(0);
        assert_eq!(t, Tensor::i64(vec![3, 2], vec![1, 4, 2, 5, 3, 6]));
        let s = eval(
            &Op::Slice {
                attrs: Some((vec![1], vec![3], Some(vec![1]))),
            },
            &[Some(&x)],
        )
        .unwrap()
        .remove(0);
        assert_eq!(s, Tensor::i64(vec![2, 2], vec![2, 3, 5, 6]));
        let p = eval(
            &Op::Pad {
                pads: Some(vec![0, 1, 0, 0]),
                value: 9.0,
            },
            &[Some(&x)],
        )
        .unwrap()
        .remove(0);
        assert_eq!(p, Tensor::i64(vec![2, 4], vec![9, 1, 2, 3, 9, 4, 5, 6]));
    }

    #[test]
    fn integer_division_by_zero_is_an_error() {
        let a = Tensor::i64(vec![1], vec![4]);
        let b = Tensor::i64(vec![1], vec![0]);
        assert!(eval(&Op::Div, &[Some(&a), Some(&b)]).is_err());
    }
}
