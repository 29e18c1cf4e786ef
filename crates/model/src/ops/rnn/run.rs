//! The float reference of a recurrent layer, in `f64`, with a hook after every step (the
//! lowering sizes its intermediates from it).

use super::spec::{Cell, RnnDims, RnnSpec};
use crate::kernel::f64s;
use crate::shape::{Issue, invalid};
use crate::tensor::Tensor;

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
    d: &RnnDims,
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
