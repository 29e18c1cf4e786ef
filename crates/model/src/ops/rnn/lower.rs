//! ONNX `LSTM` and `GRU`, unrolled over the (fixed) sequence.
//!
//! Each step is one constant MatMul over `[x_t, h_{t-1}]` (the input and recurrent weights
//! side by side, both biases folded into one), a Rescale of the gate pre-activations, Sigmoid
//! and Tanh tables, and activation products, with scales chosen so that every sum adds exact
//! integers:
//!
//! * `h` lives at `s = min(scale(x), scale of [-1, 1] with the margin)`, so `[x_t, h]`
//!   concatenate without rescaling (`h` is structurally in `(-1, 1)`);
//! * gate outputs (sigmoids, `tanh(c)`) at `GATE_SCALE` (14 bits: they are in `[-1, 1]`);
//! * LSTM: the candidate `tanh` is tabulated straight to the cell scale `s_c` (calibrated), so
//!   `f c_{t-1}` and `i g` are both at `GATE_SCALE + s_c` and add exactly; one Rescale gives
//!   `c_t`, and `o tanh(c_t)` one more gives `h_t`;
//! * GRU: `h_t = h~ + z (h_{t-1} - h~)` with `h~` tabulated at `s`, so the difference is exact
//!   and one Rescale gives `h_t`.
//!
//! Pre-activation scales come from re-running the layer in `f64` on the calibration input.
//! Constant initial states fold into the first step (a zero state drops the recurrent half).

use omron_ir::{LookupKind, Op as IrOp};

use super::run::{StepTrace, run_rnn};
use super::spec::{Cell, RnnDims, RnnSpec, rnn_dims};
use crate::error::ModelError;
use crate::graph::ValueId;
use crate::op::{Arg, Low, Lowerer};
use crate::tensor::Tensor;

/// Scale of sigmoid and tanh outputs inside a cell (values in `[-1, 1]` fit 16 bits at 14).
pub(super) const GATE_SCALE: u32 = 14;

/// A recurrent state entering a step.
#[derive(Clone, Copy)]
pub(super) enum State {
    /// All zeros (the default initial state).
    Zero,
    /// A computed or constant tensor `[batch, hidden]`.
    Low(Low),
}

/// Calibration maxima of a layer's internals.
#[derive(Clone, Copy, Default)]
struct Stats {
    gates: f64,
    candidate: f64,
    cell: f64,
    recurrent: f64,
}

/// Per-direction weights as `f64`, rows = gate units.
pub(super) struct DirWeights {
    /// `[rows, input]`.
    pub(super) w: Vec<f64>,
    /// `[rows, hidden]`.
    pub(super) r: Vec<f64>,
    pub(super) wb: Vec<f64>,
    pub(super) rb: Vec<f64>,
}

fn fmax(v: &[f64]) -> f64 {
    v.iter().fold(0f64, |m, &x| m.max(x.abs()))
}

impl<'a> Lowerer<'a> {
    pub(crate) fn rnn(&mut self, n: usize, spec: &RnnSpec) -> Result<(), ModelError> {
        let label = self.label(n);
        let dims = rnn_dims(spec, &self.operands(n)).map_err(|e| self.issue(n, e))?;
        let x_v = self.act(n, 0)?;
        let stats = self.rnn_stats(n, spec, &dims);
        let node_inputs = self.m.graph.nodes[n].inputs.clone();
        let present = |i: usize| node_inputs.get(i).copied().flatten().is_some();

        // Scales.
        let unit = self
            .opts
            .activation_scale(1.0)
            .unwrap_or(0)
            .min(self.opts.max_scale);
        let xq = self.narrow(x_v)?;
        let s = xq.scale.min(unit);
        let x_all = self.bring_to(&format!("{label}/x"), xq, self.cal[x_v], s, "x")?;
        let s_g = GATE_SCALE.min(self.opts.max_shift);
        let s_p = self.internal_scale(
            n,
            "the gate pre-activations",
            stats.map(|st| st.gates.max(st.candidate)),
            self.opts.max_scale,
        )?;
        let s_c = self.internal_scale(
            n,
            "the cell state",
            stats.map(|st| st.cell.max(1.0)),
            self.opts.max_scale,
        )?;
        let s_r = self.internal_scale(
            n,
            "the recurrent term",
            stats.map(|st| st.recurrent),
            self.opts.max_scale,
        )?;

        let (h0, c0) = (
            self.state_input(n, 5, s)?,
            if spec.cell == Cell::Lstm {
                self.state_input(n, 6, s_c)?
            } else {
                None
            },
        );
        let h = dims.hidden;
        let mut ys: Vec<Vec<Low>> = Vec::new();
        let mut finals_h = Vec::new();
        let mut finals_c = Vec::new();
        for dir in 0..dims.dirs {
            let dl = format!("{label}/d{dir}");
            let wts = self.dir_weights(n, dir, &dims, spec, present(3))?;
            let mut h_prev = self.initial(&dl, h0, dir, &dims, spec, "h")?;
            let mut c_prev = self.initial(&dl, c0, dir, &dims, spec, "c")?;
            let mut hs: Vec<Option<Low>> = vec![None; dims.steps];
            let mut step_w: [Option<(Low, Low, Low)>; 4] = [None; 4];
            for step in 0..dims.steps {
                let t = if spec.direction.reversed(dir) {
                    dims.steps - 1 - step
                } else {
                    step
                };
                let sl = format!("{dl}/t{t}");
                let x_t = self.step_input(&sl, x_all, t, &dims, spec)?;
                let (h_new, c_new) = match spec.cell {
                    Cell::Lstm => {
                        let pre = self.gate_matmul(
                            n,
                            &sl,
                            x_t,
                            h_prev,
                            &wts,
                            0..4 * h,
                            s_p,
                            &mut step_w[0],
                        )?;
                        let pre = self.rescale(&format!("{sl}/pre"), pre, s_p, &sl)?;
                        let sig_in =
                            self.slice_axis(&format!("{sl}/iof"), pre, 1, (0, 3 * h, 1), &sl)?;
                        let sig = self.lookup(
                            &format!("{sl}/sigmoid"),
                            sig_in,
                            LookupKind::Sigmoid,
                            s_g,
                            &sl,
                        )?;
                        let g_in =
                            self.slice_axis(&format!("{sl}/g"), pre, 1, (3 * h, h, 1), &sl)?;
                        let g =
                            self.lookup(&format!("{sl}/tanh_g"), g_in, LookupKind::Tanh, s_c, &sl)?;
                        let i = self.slice_axis(&format!("{sl}/i"), sig, 1, (0, h, 1), &sl)?;
                        let o = self.slice_axis(&format!("{sl}/o"), sig, 1, (h, h, 1), &sl)?;
                        let f = self.slice_axis(&format!("{sl}/f"), sig, 1, (2 * h, h, 1), &sl)?;
                        let ig = self.binary(&format!("{sl}/ig"), IrOp::Mul, i, g, &sl)?;
                        let cw = match c_prev {
                            State::Zero => ig,
                            State::Low(c) => {
                                let fc = self.binary(&format!("{sl}/fc"), IrOp::Mul, f, c, &sl)?;
                                self.binary(&format!("{sl}/c_sum"), IrOp::Add, fc, ig, &sl)?
                            }
                        };
                        let c = self.rescale(&format!("{sl}/c"), cw, s_c, &format!("{sl}/c"))?;
                        // o tanh(c) is rescaled by s_g + s_o - s <= max_shift.
                        let s_o = s_g.min(self.opts.max_shift + s - s_g);
                        let tc =
                            self.lookup(&format!("{sl}/tanh_c"), c, LookupKind::Tanh, s_o, &sl)?;
                        let hw = self.binary(&format!("{sl}/oh"), IrOp::Mul, o, tc, &sl)?;
                        let hn = self.rescale(&format!("{sl}/h"), hw, s, &format!("{sl}/h"))?;
                        (hn, State::Low(c))
                    }
                    Cell::Gru {
                        linear_before_reset,
                    } => {
                        let hn = self.gru_step(
                            n,
                            &sl,
                            x_t,
                            h_prev,
                            &wts,
                            &dims,
                            (s, s_g, s_p, s_r),
                            linear_before_reset,
                            &mut step_w,
                        )?;
                        (hn, State::Zero)
                    }
                };
                hs[t] = Some(h_new);
                h_prev = State::Low(h_new);
                c_prev = c_new;
            }
            ys.push(hs.into_iter().flatten().collect());
            if let State::Low(hl) = h_prev {
                finals_h.push(hl);
            }
            if let State::Low(cl) = c_prev {
                finals_c.push(cl);
            }
        }
        self.rnn_outputs(n, spec, &dims, ys, finals_h, finals_c)
    }

    /// The float internals of the layer on the calibration input.
    fn rnn_stats(&self, n: usize, spec: &RnnSpec, dims: &RnnDims) -> Option<Stats> {
        let m = self.m;
        let ins: Vec<Option<&Tensor>> = m.graph.nodes[n]
            .inputs
            .iter()
            .map(|v| v.and_then(|v| self.float(v)))
            .collect();
        ins.first().copied().flatten()?;
        let mut st = Stats::default();
        let mut on_step = |t: &StepTrace<'_>| {
            st.gates = st.gates.max(fmax(t.gates));
            st.candidate = st.candidate.max(fmax(t.candidate));
            st.cell = st.cell.max(fmax(t.cell));
            st.recurrent = st.recurrent.max(fmax(t.recurrent));
        };
        run_rnn(spec, dims, &ins, &mut on_step).ok()?;
        Some(st)
    }

    /// An initial state input (`[dirs, batch, hidden]` or batch-first) at scale `scale`:
    /// `None` when absent or all zero.
    fn state_input(&mut self, n: usize, i: usize, scale: u32) -> Result<Option<Low>, ModelError> {
        let label = self.label(n);
        if self.m.graph.nodes[n]
            .inputs
            .get(i)
            .copied()
            .flatten()
            .is_none()
        {
            return Ok(None);
        }
        Ok(match self.arg(n, i)? {
            Arg::Const(t) => {
                let v: Vec<f64> = t.to_f32().iter().map(|&x| x as f64).collect();
                if v.iter().all(|&x| x == 0.0) {
                    None
                } else {
                    let q = self.quant_at(n, &v, scale)?;
                    Some(self.int_const(format!("{label}/state{i}"), t.shape.clone(), q, scale))
                }
            }
            Arg::Act(v) => {
                let x = self.narrow(v)?;
                Some(self.bring_to(&format!("{label}/state{i}"), x, self.cal[v], scale, "state")?)
            }
        })
    }

    /// Direction `dir`'s slice `[batch, hidden]` of an initial state.
    fn initial(
        &mut self,
        label: &str,
        st: Option<Low>,
        dir: usize,
        dims: &RnnDims,
        spec: &RnnSpec,
        what: &str,
    ) -> Result<State, ModelError> {
        let Some(st) = st else {
            return Ok(State::Zero);
        };
        let axis = if spec.batch_first { 1 } else { 0 };
        let name = format!("{label}/{what}0");
        let x = self.slice_axis(&name, st, axis, (dir, 1, 1), &name)?;
        Ok(State::Low(self.reshape(
            &name,
            x,
            vec![dims.batch, dims.hidden],
            &name,
        )?))
    }

    /// `x_t` as `[batch, input]`.
    fn step_input(
        &mut self,
        label: &str,
        x: Low,
        t: usize,
        dims: &RnnDims,
        spec: &RnnSpec,
    ) -> Result<Low, ModelError> {
        let axis = if spec.batch_first { 1 } else { 0 };
        let name = format!("{label}/x");
        let xt = self.slice_axis(&name, x, axis, (t, 1, 1), &name)?;
        self.reshape(&name, xt, vec![dims.batch, dims.input], &name)
    }

    fn dir_weights(
        &self,
        n: usize,
        dir: usize,
        dims: &RnnDims,
        spec: &RnnSpec,
        has_bias: bool,
    ) -> Result<DirWeights, ModelError> {
        let rows = spec.cell.gates() * dims.hidden;
        let f = |t: &Tensor| -> Vec<f64> { t.to_f32().iter().map(|&x| x as f64).collect() };
        let w = f(self.constant(n, 1)?);
        let r = f(self.constant(n, 2)?);
        let (wb, rb) = if has_bias {
            let b = f(self.constant(n, 3)?);
            let base = dir * 2 * rows;
            (
                b[base..base + rows].to_vec(),
                b[base + rows..base + 2 * rows].to_vec(),
            )
        } else {
            (vec![0.0; rows], vec![0.0; rows])
        };
        Ok(DirWeights {
            w: w[dir * rows * dims.input..(dir + 1) * rows * dims.input].to_vec(),
            r: r[dir * rows * dims.hidden..(dir + 1) * rows * dims.hidden].to_vec(),
            wb,
            rb,
        })
    }

    /// `x_t W_g^T + h R_g^T + Wb_g + Rb_g` for the gate rows `rows`, wide: one MatMul over
    /// `[x_t, h]` with `[W | R]`, or over `x_t` alone when the state is zero. The quantised
    /// weights are built once per direction (`cache`) and shared by every step.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn gate_matmul(
        &mut self,
        n: usize,
        label: &str,
        x_t: Low,
        h_prev: State,
        wts: &DirWeights,
        rows: std::ops::Range<usize>,
        target: u32,
        cache: &mut Option<(Low, Low, Low)>,
    ) -> Result<Low, ModelError> {
        let (ni, nh) = (wts.w.len() / (wts.wb.len()), wts.r.len() / (wts.rb.len()));
        if cache.is_none() {
            let mut both = Vec::with_capacity(rows.len() * (ni + nh));
            for j in rows.clone() {
                both.extend_from_slice(&wts.w[j * ni..(j + 1) * ni]);
                both.extend_from_slice(&wts.r[j * nh..(j + 1) * nh]);
            }
            let cap = self.weight_cap(x_t.scale, target);
            let (q, sw) = self.quant_weight(n, &both, cap)?;
            let k = ni + nh;
            let wx: Vec<i64> = (0..rows.len())
                .flat_map(|j| q[j * k..j * k + ni].to_vec())
                .collect();
            let lname = self.label(n);
            let full = self.int_const(format!("{lname}/WR"), vec![rows.len(), k], q, sw);
            let wonly = self.int_const(format!("{lname}/W"), vec![rows.len(), ni], wx, sw);
            let bias: Vec<f64> = rows.clone().map(|j| wts.wb[j] + wts.rb[j]).collect();
            let bq = self.quant_at(n, &bias, x_t.scale + sw)?;
            let b = self.int_const(format!("{lname}/B"), vec![rows.len()], bq, x_t.scale + sw);
            *cache = Some((full, wonly, b));
        }
        let Some((full, wonly, b)) = *cache else {
            return Err(self.err(n, "internal: recurrent weights missing"));
        };
        match h_prev {
            State::Zero => self.push(
                format!("{label}/gates"),
                IrOp::MatMul,
                vec![x_t.id, wonly.id, b.id],
                format!("{label}/gates"),
            ),
            State::Low(hp) => {
                let cat = self.push(
                    format!("{label}/xh"),
                    IrOp::Concat { axis: 1 },
                    vec![x_t.id, hp.id],
                    format!("{label}/xh"),
                )?;
                self.push(
                    format!("{label}/gates"),
                    IrOp::MatMul,
                    vec![cat.id, full.id, b.id],
                    format!("{label}/gates"),
                )
            }
        }
    }

    /// Builds the outputs that are used: `Y` (every step), `Y_h` and `Y_c` (final states).
    fn rnn_outputs(
        &mut self,
        n: usize,
        spec: &RnnSpec,
        dims: &RnnDims,
        ys: Vec<Vec<Low>>,
        finals_h: Vec<Low>,
        finals_c: Vec<Low>,
    ) -> Result<(), ModelError> {
        let label = self.label(n);
        let outs: Vec<Option<ValueId>> = self.m.graph.nodes[n].outputs.clone();
        let used = |l: &Self, v: ValueId| {
            !l.m.analysis.consumers[v].is_empty() || l.m.graph.outputs.contains(&v)
        };
        let (b, h) = (dims.batch, dims.hidden);
        if let Some(Some(y)) = outs.first()
            && used(self, *y)
        {
            let name = self.m.value_name(*y).to_string();
            let (step_shape, t_axis, d_axis) = if spec.batch_first {
                (vec![b, 1, 1, h], 1, 2)
            } else {
                (vec![1, 1, b, h], 0, 1)
            };
            let mut per_dir = Vec::new();
            for (d, hs) in ys.into_iter().enumerate() {
                let mut parts = Vec::new();
                for (t, hl) in hs.into_iter().enumerate() {
                    parts.push(self.reshape(
                        &format!("{label}/y{d}.{t}"),
                        hl,
                        step_shape.clone(),
                        &name,
                    )?);
                }
                per_dir.push(self.concat_lows(&format!("{label}/y{d}"), parts, t_axis, &name)?);
            }
            let y_low = self.concat_lows(&format!("{label}/y"), per_dir, d_axis, &name)?;
            self.set(*y, y_low);
        }
        for (k, finals) in [(1, finals_h), (2, finals_c)] {
            let Some(Some(v)) = outs.get(k) else { continue };
            if !used(self, *v) {
                continue;
            }
            if finals.len() != dims.dirs {
                return Err(self.err(n, "internal: missing final state"));
            }
            let name = self.m.value_name(*v).to_string();
            let (shape, axis) = if spec.batch_first {
                (vec![b, 1, h], 1)
            } else {
                (vec![1, b, h], 0)
            };
            let mut parts = Vec::new();
            for (d, f) in finals.into_iter().enumerate() {
                parts.push(self.reshape(
                    &format!("{label}/out{k}.{d}"),
                    f,
                    shape.clone(),
                    &name,
                )?);
            }
            let low = self.concat_lows(&format!("{label}/out{k}"), parts, axis, &name)?;
            self.set(*v, low);
        }
        Ok(())
    }

    /// Concat of equal-scale tensors (nothing for one).
    fn concat_lows(
        &mut self,
        label: &str,
        parts: Vec<Low>,
        axis: usize,
        name: &str,
    ) -> Result<Low, ModelError> {
        if parts.len() == 1 {
            return Ok(parts[0]);
        }
        let ids = parts.iter().map(|p| p.id).collect();
        self.push(
            label.to_string(),
            IrOp::Concat { axis },
            ids,
            name.to_string(),
        )
    }
}
