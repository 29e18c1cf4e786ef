//! Float reference kernels of the v2 ops (elementwise functions, comparisons, selection,
//! reductions, softmax, layer normalisation, splits, padding modes and the recurrent layers).
//!
//! Precision follows `eval.rs`: tensors hold `f32`; transcendental functions, sums and the
//! recurrent state are computed in `f64` and rounded once per output.

use super::infer_nn::rnn_dims;
use super::{Cell, Cmp, Logic, Nary, Op, RnnSpec, Unary};
use crate::kernel::{broadcast_map, f64s, to_f32};
use crate::shape::{Issue, Operand, OutInfo, invalid, norm_axis};
use crate::tensor::{DType, Data, Tensor};

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
        Op::Compare(c) => {
            let (a, b) = (x(0)?, x(1)?);
            let (av, bv) = (f64s(a), f64s(b));
            let (ia, ib) = (
                broadcast_map(&a.shape, &shape),
                broadcast_map(&b.shape, &shape),
            );
            let y = ia
                .iter()
                .zip(&ib)
                .map(|(&i, &j)| {
                    let (p, q) = (av[i], bv[j]);
                    i64::from(match c {
                        Cmp::Greater => p > q,
                        Cmp::Less => p < q,
                        Cmp::Equal => p == q,
                        Cmp::GreaterOrEqual => p >= q,
                        Cmp::LessOrEqual => p <= q,
                    })
                })
                .collect();
            one(Tensor::i64(shape, y))
        }
        Op::Logic(l) => {
            let (a, b) = (x(0)?, x(1)?);
            let (av, bv) = (f64s(a), f64s(b));
            let (ia, ib) = (
                broadcast_map(&a.shape, &shape),
                broadcast_map(&b.shape, &shape),
            );
            let y = ia
                .iter()
                .zip(&ib)
                .map(|(&i, &j)| {
                    let (p, q) = (av[i] != 0.0, bv[j] != 0.0);
                    i64::from(match l {
                        Logic::And => p && q,
                        Logic::Or => p || q,
                        Logic::Xor => p != q,
                    })
                })
                .collect();
            one(Tensor::i64(shape, y))
        }
        Op::Where => {
            let (c, a, b) = (x(0)?, x(1)?, x(2)?);
            let cv = f64s(c);
            let ic = broadcast_map(&c.shape, &shape);
            let (ia, ib) = (
                broadcast_map(&a.shape, &shape),
                broadcast_map(&b.shape, &shape),
            );
            let pick = |k: usize| cv[ic[k]] != 0.0;
            let data = match (&a.data, &b.data) {
                (Data::F32(p), Data::F32(q)) => Data::F32(
                    (0..ic.len())
                        .map(|k| if pick(k) { p[ia[k]] } else { q[ib[k]] })
                        .collect(),
                ),
                (Data::I64(p), Data::I64(q)) => Data::I64(
                    (0..ic.len())
                        .map(|k| if pick(k) { p[ia[k]] } else { q[ib[k]] })
                        .collect(),
                ),
                _ => return invalid("Where branches have different element types"),
            };
            one(Tensor { shape, data })
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
        Op::Rnn(spec) => {
            let operands: Vec<Option<Operand<'_>>> =
                ins.iter().map(|o| o.map(Operand::of)).collect();
            let dims = rnn_dims(spec, &operands)?;
            let run = run_rnn(spec, &dims, ins, &mut |_| {})?;
            let mut outs = vec![
                to_f32(infos[0].shape.clone(), run.y),
                to_f32(infos[1].shape.clone(), run.y_h),
            ];
            if spec.cell == Cell::Lstm {
                outs.push(to_f32(infos[2].shape.clone(), run.y_c));
            }
            Ok(outs)
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

/// What one recurrent step computed, for calibration: the pre-activations of the sigmoid
/// gates and of the candidate, and the new cell state (LSTM) or the recurrent term of a GRU
/// with `linear_before_reset`.
pub(crate) struct StepTrace<'a> {
    /// Sigmoid-gate pre-activations (LSTM i, o, f; GRU z, r), `[batch, k * hidden]`.
    pub(crate) gates: &'a [f64],
    /// Candidate pre-activations (LSTM c~, GRU h~), `[batch, hidden]`.
    pub(crate) candidate: &'a [f64],
    /// LSTM cell state after the step.
    pub(crate) cell: &'a [f64],
    /// GRU `h R_h^T + Rb_h` (`linear_before_reset`), or empty.
    pub(crate) recurrent: &'a [f64],
}

/// Results of a recurrent layer, flattened in the output layouts.
pub(crate) struct RnnRun {
    pub(crate) y: Vec<f64>,
    pub(crate) y_h: Vec<f64>,
    pub(crate) y_c: Vec<f64>,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Runs an LSTM or GRU in `f64`, calling `on_step` after every step.
pub(crate) fn run_rnn(
    spec: &RnnSpec,
    d: &super::infer_nn::RnnDims,
    ins: &[Option<&Tensor>],
    on_step: &mut dyn FnMut(&StepTrace<'_>),
) -> Result<RnnRun, Issue> {
    let get = |i: usize| ins.get(i).copied().flatten();
    let (xt, wt, rt) = match (get(0), get(1), get(2)) {
        (Some(x), Some(w), Some(r)) => (x, w, r),
        _ => return invalid("LSTM/GRU needs X, W and R"),
    };
    let (xv, wv, rv) = (f64s(xt), f64s(wt), f64s(rt));
    let bv = get(3).map(f64s);
    let h0 = get(5).map(f64s);
    let c0 = get(6).filter(|_| spec.cell == Cell::Lstm).map(f64s);
    let (t_len, b, n_in, h, dirs) = (d.steps, d.batch, d.input, d.hidden, d.dirs);
    let g = spec.cell.gates();
    let rows = g * h;
    // Index of state (dir, batch, unit) in the state layout.
    let st = |dir: usize, bi: usize, k: usize| {
        if spec.batch_first {
            (bi * dirs + dir) * h + k
        } else {
            (dir * b + bi) * h + k
        }
    };
    let yi = |t: usize, dir: usize, bi: usize, k: usize| {
        if spec.batch_first {
            ((bi * t_len + t) * dirs + dir) * h + k
        } else {
            ((t * dirs + dir) * b + bi) * h + k
        }
    };
    let xi = |t: usize, bi: usize, k: usize| {
        if spec.batch_first {
            (bi * t_len + t) * n_in + k
        } else {
            (t * b + bi) * n_in + k
        }
    };
    let mut y = vec![0.0; t_len * dirs * b * h];
    let mut y_h = vec![0.0; dirs * b * h];
    let mut y_c = vec![0.0; dirs * b * h];
    for dir in 0..dirs {
        let w = &wv[dir * rows * n_in..(dir + 1) * rows * n_in];
        let r = &rv[dir * rows * h..(dir + 1) * rows * h];
        let (wb, rb): (Vec<f64>, Vec<f64>) = match &bv {
            Some(bb) => (
                bb[dir * 2 * rows..dir * 2 * rows + rows].to_vec(),
                bb[dir * 2 * rows + rows..(dir + 1) * 2 * rows].to_vec(),
            ),
            None => (vec![0.0; rows], vec![0.0; rows]),
        };
        let mut hs = vec![0.0; b * h];
        let mut cs = vec![0.0; b * h];
        for bi in 0..b {
            for k in 0..h {
                if let Some(v) = &h0 {
                    hs[bi * h + k] = v[st(dir, bi, k)];
                }
                if let Some(v) = &c0 {
                    cs[bi * h + k] = v[st(dir, bi, k)];
                }
            }
        }
        let sig_rows = if spec.cell == Cell::Lstm {
            3 * h
        } else {
            2 * h
        };
        let mut gates = vec![0.0; b * sig_rows];
        let mut cand = vec![0.0; b * h];
        let mut recur = Vec::new();
        for step in 0..t_len {
            let t = if spec.direction.reversed(dir) {
                t_len - 1 - step
            } else {
                step
            };
            // x W^T + Wb, and h R^T + Rb, per batch row and gate row.
            let mut xw = vec![0.0; b * rows];
            let mut hr = vec![0.0; b * rows];
            for bi in 0..b {
                for j in 0..rows {
                    let mut a = wb[j];
                    for k in 0..n_in {
                        a += xv[xi(t, bi, k)] * w[j * n_in + k];
                    }
                    xw[bi * rows + j] = a;
                    let mut c = rb[j];
                    for k in 0..h {
                        c += hs[bi * h + k] * r[j * h + k];
                    }
                    hr[bi * rows + j] = c;
                }
            }
            match spec.cell {
                Cell::Lstm => {
                    for bi in 0..b {
                        for k in 0..h {
                            let pre = |gate: usize| {
                                xw[bi * rows + gate * h + k] + hr[bi * rows + gate * h + k]
                            };
                            let (pi, po, pf, pc) = (pre(0), pre(1), pre(2), pre(3));
                            gates[bi * sig_rows + k] = pi;
                            gates[bi * sig_rows + h + k] = po;
                            gates[bi * sig_rows + 2 * h + k] = pf;
                            cand[bi * h + k] = pc;
                            let c = sigmoid(pf) * cs[bi * h + k] + sigmoid(pi) * pc.tanh();
                            cs[bi * h + k] = c;
                            hs[bi * h + k] = sigmoid(po) * c.tanh();
                        }
                    }
                }
                Cell::Gru {
                    linear_before_reset,
                } => {
                    if linear_before_reset {
                        recur = vec![0.0; b * h];
                    }
                    let mut next = vec![0.0; b * h];
                    for bi in 0..b {
                        // All of z and r first: the candidate of unit k reads r of every unit.
                        for k in 0..h {
                            gates[bi * sig_rows + k] = xw[bi * rows + k] + hr[bi * rows + k];
                            gates[bi * sig_rows + h + k] =
                                xw[bi * rows + h + k] + hr[bi * rows + h + k];
                        }
                        for k in 0..h {
                            let z = sigmoid(gates[bi * sig_rows + k]);
                            let rg = sigmoid(gates[bi * sig_rows + h + k]);
                            let ph = if linear_before_reset {
                                let q = hr[bi * rows + 2 * h + k];
                                recur[bi * h + k] = q;
                                xw[bi * rows + 2 * h + k] + rg * q
                            } else {
                                // (r . h) R_h^T + Rb_h
                                let mut a = rb[2 * h + k];
                                for j in 0..h {
                                    let rj = sigmoid(gates[bi * sig_rows + h + j]);
                                    a += rj * hs[bi * h + j] * r[(2 * h + k) * h + j];
                                }
                                xw[bi * rows + 2 * h + k] + a
                            };
                            cand[bi * h + k] = ph;
                            next[bi * h + k] = (1.0 - z) * ph.tanh() + z * hs[bi * h + k];
                        }
                    }
                    hs = next;
                }
            }
            on_step(&StepTrace {
                gates: &gates,
                candidate: &cand,
                cell: &cs,
                recurrent: &recur,
            });
            for bi in 0..b {
                for k in 0..h {
                    y[yi(t, dir, bi, k)] = hs[bi * h + k];
                }
            }
        }
        for bi in 0..b {
            for k in 0..h {
                y_h[st(dir, bi, k)] = hs[bi * h + k];
                y_c[st(dir, bi, k)] = cs[bi * h + k];
            }
        }
    }
    Ok(RnnRun { y, y_h, y_c })
}
