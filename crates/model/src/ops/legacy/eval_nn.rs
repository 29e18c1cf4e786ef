//! Float reference kernels of the v2 ops (elementwise functions, comparisons, selection,
//! reductions, softmax, layer normalisation, splits, padding modes and the recurrent layers).
//!
//! Precision follows `eval.rs`: tensors hold `f32`; transcendental functions, sums and the
//! recurrent state are computed in `f64` and rounded once per output.

use super::{Nary, Op, Unary};
use crate::kernel::{broadcast_map, f64s, to_f32};
use crate::shape::{Issue, OutInfo, invalid, norm_axis};
use crate::tensor::{DType, Tensor};

/// Runs a v2 op on `ins` given its inferred results.
pub(crate) fn eval_nn(
    op: &Op,
    ins: &[Option<&Tensor>],
    infos: &[OutInfo],
) -> Result<Vec<Tensor>, Issue> {
    let x = |i: usize| -> Result<&Tensor, Issue> {
        ins.get(i)
            .copied()
            .flatten()
            .ok_or_else(|| Issue::Invalid(format!("input {i} is missing")))
    };
    let shape = infos[0].shape.clone();
    let one = |t: Tensor| Ok(vec![t]);
    match op {
        Op::Unary(u) => {
            let t = x(0)?;
            let v = f64s(t);
            if *u == Unary::Not {
                return one(Tensor::i64(
                    shape,
                    v.iter().map(|&b| i64::from(b == 0.0)).collect(),
                ));
            }
            one(to_f32(shape, v.into_iter().map(|a| u.apply(a))))
        }
        Op::Pow => {
            let (a, b) = (x(0)?, x(1)?);
            let (av, bv) = (f64s(a), f64s(b));
            let (ia, ib) = (
                broadcast_map(&a.shape, &shape),
                broadcast_map(&b.shape, &shape),
            );
            one(to_f32(
                shape,
                ia.iter().zip(&ib).map(|(&i, &j)| av[i].powf(bv[j])),
            ))
        }
        Op::Clip { min, max } => {
            let t = x(0)?;
            let bound = |attr: Option<f32>, i: usize| -> Option<f32> {
                attr.or_else(|| {
                    ins.get(i)
                        .copied()
                        .flatten()
                        .and_then(|b| b.to_f32().first().copied())
                })
            };
            let lo = bound(*min, 1).unwrap_or(f32::MIN);
            let hi = bound(*max, 2).unwrap_or(f32::MAX);
            let v = t.as_f32().unwrap_or_default();
            // ONNX: min(max(x, lo), hi), so hi wins when lo > hi.
            one(Tensor::f32(
                shape,
                v.iter().map(|&a| a.max(lo).min(hi)).collect(),
            ))
        }
        Op::Nary(kind) => {
            let parts: Vec<&Tensor> = ins.iter().flatten().copied().collect();
            let maps: Vec<Vec<usize>> = parts
                .iter()
                .map(|p| broadcast_map(&p.shape, &shape))
                .collect();
            let vals: Vec<Vec<f64>> = parts.iter().map(|p| f64s(p)).collect();
            let n: usize = shape.iter().product();
            let y: Vec<f64> = (0..n)
                .map(|k| {
                    let it = vals.iter().zip(&maps).map(|(v, m)| v[m[k]]);
                    match kind {
                        Nary::Max => it.fold(f64::NEG_INFINITY, f64::max),
                        Nary::Min => it.fold(f64::INFINITY, f64::min),
                        Nary::Sum => it.sum(),
                        Nary::Mean => it.sum::<f64>() / parts.len() as f64,
                    }
                })
                .collect();
            one(match infos[0].dtype {
                DType::F32 => to_f32(shape, y),
                DType::I64 => Tensor::i64(shape, y.into_iter().map(|v| v as i64).collect()),
            })
        }
        Op::LayerNorm { axis, epsilon } => {
            let t = x(0)?;
            let a = norm_axis(*axis, t.shape.len())?;
            let d: usize = t.shape[a..].iter().product();
            let inner_shape = &t.shape[a..];
            let param = |i: usize| -> Option<Vec<f64>> {
                let p = ins.get(i).copied().flatten()?;
                let m = broadcast_map(&p.shape, inner_shape);
                let pv = f64s(p);
                Some(m.into_iter().map(|k| pv[k]).collect())
            };
            let (gamma, beta) = (param(1), param(2));
            let v = f64s(t);
            let mut y = Vec::with_capacity(v.len());
            for lane in v.chunks(d.max(1)) {
                let (mean, var) = mean_var(lane);
                let r = 1.0 / (var + *epsilon as f64).sqrt();
                for (k, &val) in lane.iter().enumerate() {
                    let g = gamma.as_ref().map_or(1.0, |g| g[k]);
                    let b = beta.as_ref().map_or(0.0, |b| b[k]);
                    y.push((val - mean) * r * g + b);
                }
            }
            one(to_f32(shape, y))
        }
        _ => invalid("internal: not a v2 op"),
    }
}

/// Mean and (population) variance of a lane.
pub(crate) fn mean_var(lane: &[f64]) -> (f64, f64) {
    let n = lane.len().max(1) as f64;
    let mean = lane.iter().sum::<f64>() / n;
    let var = lane.iter().map(|&v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var)
}
