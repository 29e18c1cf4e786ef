//! Ops that combine many elements: ReduceSum/Mean/Max/Min, ArgMax/ArgMin, Softmax and
//! LogSoftmax, LayerNormalization, and pooling (MaxPool as slices and Max trees, average
//! pooling as `SumPool` and a rounded division).

use omron_ir::{ExactFn, LookupKind, Op as IrOp};

use super::eval::window_counts;
use super::eval_nn::mean_var;
use super::infer::pool_geometry;
use super::infer_nn::{reduce_node_axes, reduced_shape};
use super::{PoolKind, ReduceKind};
use crate::error::ModelError;
use crate::op::{Low, Lowerer};
use crate::shape::norm_axis;
use crate::window::{Geometry, WindowSpec};

/// Largest scale of the exponentials inside a softmax: `Div` needs the sum of `n` of them
/// below `2^32`, so the scale is also capped at `31 - bits(n)`.
const SOFTMAX_EXP_SCALE: u32 = 16;

/// Largest scale of the variance and `1/std` inside a layer normalisation: small variances
/// need more fractional bits than activations to keep `1/sqrt(var)` precise.
const NORM_INTERNAL_SCALE: u32 = 24;

/// Padding value of MaxPool: below every input the range check before it admits, and close
/// enough that `x - pad` stays inside the activation range.
const MAX_POOL_FLOOR: i64 = -(1 << 14);

impl<'a> Lowerer<'a> {
    pub(crate) fn reduce(
        &mut self,
        n: usize,
        kind: ReduceKind,
        axes: &Option<Vec<i64>>,
        keepdims: bool,
        noop: bool,
    ) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let shape = self.shape(a).to_vec();
        let axes = reduce_node_axes(axes, &self.operands(n), shape.len(), noop)
            .map_err(|e| self.issue(n, e))?;
        if axes.is_empty() {
            return self.pass(n);
        }
        let want = reduced_shape(&shape, &axes, keepdims);
        let y = match kind {
            ReduceKind::Sum => {
                let x = self.carry(a, out)?;
                self.push(
                    label.clone(),
                    IrOp::ReduceSum {
                        axes: axes.clone(),
                        keepdims,
                    },
                    vec![x.id],
                    out_name.clone(),
                )?
            }
            ReduceKind::Mean => {
                let x = self.narrow(a)?;
                let count: usize = axes.iter().map(|&d| shape[d]).product();
                let sum = self.push(
                    format!("{label}/sum"),
                    IrOp::ReduceSum {
                        axes: axes.clone(),
                        keepdims,
                    },
                    vec![x.id],
                    format!("{out_name}/sum"),
                )?;
                self.push(
                    label.clone(),
                    IrOp::DivRound {
                        divisor: count as u64,
                    },
                    vec![sum.id],
                    out_name.clone(),
                )?
            }
            ReduceKind::Max | ReduceKind::Min => {
                let mut x = self.narrow(a)?;
                for &d in &axes {
                    x = self.reduce_extreme_axis(
                        &format!("{label}/axis{d}"),
                        x,
                        d,
                        kind == ReduceKind::Max,
                        &out_name,
                    )?;
                }
                x
            }
        };
        let y = self.reshape(&label, y, want, &out_name)?;
        self.set(out, y);
        Ok(())
    }

    /// ArgMax/ArgMin: the maximum along the axis (a Max tree), `IsZero(x - max)` marks every
    /// maximum, a constant triangular MatMul counts the marks up to (or from) each position,
    /// and the index is the number of positions before the first mark (or `n - 1` minus the
    /// number after the last). All integers at scale 0.
    pub(crate) fn arg_extreme(
        &mut self,
        n: usize,
        max: bool,
        axis: i64,
        keepdims: bool,
        last: bool,
    ) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let shape = self.shape(a).to_vec();
        let r = shape.len();
        let axis = norm_axis(axis, r).map_err(|e| self.issue(n, e))?;
        let len = shape[axis];
        let x = self.narrow(a)?;
        let m = self.reduce_extreme_axis(&format!("{label}/extreme"), x, axis, max, &out_name)?;
        let d = self.binary(&format!("{label}/diff"), IrOp::Sub, x, m, &out_name)?;
        let marks = self.lookup(
            &format!("{label}/marks"),
            d,
            LookupKind::IsZero,
            0,
            &format!("{out_name}/marks"),
        )?;
        // Move the axis last for the MatMul.
        let marks = if axis + 1 == r {
            marks
        } else {
            let mut perm: Vec<usize> = (0..r).filter(|&i| i != axis).collect();
            perm.push(axis);
            self.push(
                format!("{label}/last"),
                IrOp::Transpose { perm },
                vec![marks.id],
                format!("{out_name}/marks_t"),
            )?
        };
        // Row j of the weight counts marks at positions k <= j (or k >= j for the last index).
        let w: Vec<i64> = (0..len * len)
            .map(|i| {
                let (j, k) = (i / len, i % len);
                i64::from(if last { k >= j } else { k <= j })
            })
            .collect();
        let wid = self.const_tensor(format!("{label}/prefix"), vec![len, len], w, 0);
        let counts = self.push(
            format!("{label}/counts"),
            IrOp::MatMul,
            vec![marks.id, wid],
            format!("{out_name}/counts"),
        )?;
        let none = self.lookup(
            &format!("{label}/none"),
            counts,
            LookupKind::IsZero,
            0,
            &format!("{out_name}/none"),
        )?;
        let rank = self.tensors[none.id].shape.len();
        let idx = self.push(
            format!("{label}/count"),
            IrOp::ReduceSum {
                axes: vec![rank - 1],
                keepdims: true,
            },
            vec![none.id],
            format!("{out_name}/index"),
        )?;
        let idx = if last {
            let top = self.int_const(format!("{label}/top"), vec![], vec![len as i64 - 1], 0);
            self.binary(&format!("{label}/from_end"), IrOp::Sub, top, idx, &out_name)?
        } else {
            idx
        };
        // The kept axis has size 1, so moving it back is a reshape.
        let want = reduced_shape(&shape, &[axis], keepdims);
        let y = self.reshape(&label, idx, want, &out_name)?;
        self.set(out, y);
        Ok(())
    }

    /// Softmax: `x - max` (a Max tree), an `Exp` table to a high scale, the sum, and one
    /// `Div` per element rounded to the output scale. LogSoftmax: `x - max - log(sum)` with a
    /// `Log` table on the rescaled sum.
    pub(crate) fn softmax(
        &mut self,
        n: usize,
        axis: i64,
        legacy: bool,
        log: bool,
    ) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let shape = self.shape(a).to_vec();
        let mut axis = norm_axis(axis, shape.len()).map_err(|e| self.issue(n, e))?;
        let mut x = self.narrow(a)?;
        if legacy && axis + 1 != shape.len() {
            let outer: usize = shape[..axis].iter().product();
            x = self.reshape(
                &format!("{label}/flat"),
                x,
                vec![outer, shape[axis..].iter().product()],
                &out_name,
            )?;
            axis = 1;
        }
        let len = self.tensors[x.id].shape[axis];
        let m = self.reduce_extreme_axis(&format!("{label}/max"), x, axis, true, &out_name)?;
        let d = self.binary(
            &format!("{label}/centre"),
            IrOp::Sub,
            x,
            m,
            &format!("{out_name}/centred"),
        )?;
        let bits = usize::BITS - len.leading_zeros();
        let s_e = SOFTMAX_EXP_SCALE.min(31u32.saturating_sub(bits));
        let e = self.lookup(
            &format!("{label}/exp"),
            d,
            LookupKind::Exp,
            s_e,
            &format!("{out_name}/exp"),
        )?;
        let sum = self.push(
            format!("{label}/sum"),
            IrOp::ReduceSum {
                axes: vec![axis],
                keepdims: true,
            },
            vec![e.id],
            format!("{out_name}/sum"),
        )?;
        let s_out = self.cal[out];
        let y = if log {
            // sum is in [1, len]: rescale it to the largest scale that holds len.
            let s_l = (0..=s_e)
                .rev()
                .find(|&s| (len as f64) * f64::from(1u32 << s.min(30)) <= omron_ir::ACT_MAX as f64)
                .unwrap_or(0);
            let sum = self.rescale(&format!("{label}/sum/q"), sum, s_l, &out_name)?;
            let ls = self.lookup(
                &format!("{label}/log"),
                sum,
                LookupKind::Log,
                d.scale,
                &format!("{out_name}/logsum"),
            )?;
            self.binary(&label, IrOp::Sub, d, ls, &out_name)?
        } else {
            let q = self.binary(
                &format!("{label}/div"),
                IrOp::Div { shift: s_out + 1 },
                e,
                sum,
                &format!("{out_name}/x2"),
            )?;
            self.rescale(&label, q, s_out, &out_name)?
        };
        let y = self.reshape(&format!("{label}/unflat"), y, shape, &out_name)?;
        self.set(out, y);
        Ok(())
    }

    /// LayerNormalization over the axes from `axis` on (flattened to one axis of `D`):
    /// `mean = round(sum / D)`, `d = x - mean` (exact), `var = floor(sum d^2 / D)` at twice
    /// the input scale (exact up to the floor), `+ eps`, rescaled to a calibrated scale, an
    /// `Rsqrt` table, `d * rsqrt` rescaled to the normalised value's scale, then the constant
    /// scale and bias (lazily rescaled like any linear layer).
    pub(crate) fn layer_norm(
        &mut self,
        n: usize,
        axis: i64,
        epsilon: f32,
    ) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let shape = self.shape(a).to_vec();
        let axis = norm_axis(axis, shape.len()).map_err(|e| self.issue(n, e))?;
        let outer: usize = shape[..axis].iter().product();
        let dim: usize = shape[axis..].iter().product();
        // Calibration: variance, 1/std and the normalised values.
        let stats = self.float_vals(a).map(|v| {
            let (mut var_max, mut r_max, mut norm_max) = (0f64, 0f64, 0f64);
            for lane in v.chunks(dim.max(1)) {
                let (mean, var) = mean_var(lane);
                let r = 1.0 / (var + epsilon as f64).sqrt();
                var_max = var_max.max(var + epsilon as f64);
                r_max = r_max.max(r);
                for &x in lane {
                    norm_max = norm_max.max(((x - mean) * r).abs());
                }
            }
            (var_max, r_max, norm_max)
        });
        let x = self.narrow(a)?;
        let x = self.reshape(&format!("{label}/flat"), x, vec![outer, dim], &out_name)?;
        let sum = self.push(
            format!("{label}/sum"),
            IrOp::ReduceSum {
                axes: vec![1],
                keepdims: true,
            },
            vec![x.id],
            format!("{out_name}/sum"),
        )?;
        let mean = self.push(
            format!("{label}/mean"),
            IrOp::DivRound {
                divisor: dim as u64,
            },
            vec![sum.id],
            format!("{out_name}/mean"),
        )?;
        let d = self.binary(
            &format!("{label}/centre"),
            IrOp::Sub,
            x,
            mean,
            &format!("{out_name}/centred"),
        )?;
        let sq = self.binary(&format!("{label}/square"), IrOp::Mul, d, d, &out_name)?;
        let ss = self.push(
            format!("{label}/sumsq"),
            IrOp::ReduceSum {
                axes: vec![1],
                keepdims: true,
            },
            vec![sq.id],
            format!("{out_name}/sumsq"),
        )?;
        let var = self.push(
            format!("{label}/var"),
            IrOp::DivFloor {
                divisor: dim as u64,
            },
            vec![ss.id],
            format!("{out_name}/var"),
        )?;
        let eps = self.quant_at(n, &[epsilon as f64], var.scale)?;
        let eps = self.int_const(format!("{label}/epsilon"), vec![], eps, var.scale);
        let var = self.binary(&format!("{label}/eps"), IrOp::Add, var, eps, &out_name)?;
        // Down from twice the input scale, by at most max_shift bits.
        let cap = NORM_INTERNAL_SCALE.min(var.scale);
        let s_v = self
            .internal_scale(n, "the variance", stats.map(|s| s.0), cap)?
            .max(var.scale.saturating_sub(self.opts.max_shift));
        let var = self.rescale(&format!("{label}/var/q"), var, s_v, &out_name)?;
        let s_r = self.internal_scale(n, "1 / std", stats.map(|s| s.1), NORM_INTERNAL_SCALE)?;
        let r = self.lookup(
            &format!("{label}/rsqrt"),
            var,
            LookupKind::Rsqrt,
            s_r,
            &format!("{out_name}/rsqrt"),
        )?;
        let s_n = self.internal_scale(
            n,
            "the normalised value",
            stats.map(|s| s.2),
            self.opts.max_scale,
        )?;
        let norm = self.product(&format!("{label}/normalise"), d, r, s_n, &out_name)?;
        let norm = self.rescale(&format!("{label}/normalised"), norm, s_n, &out_name)?;
        let param = |l: &Self, i: usize| -> Result<Option<Vec<f64>>, ModelError> {
            if l.m.graph.nodes[n]
                .inputs
                .get(i)
                .copied()
                .flatten()
                .is_none()
            {
                return Ok(None);
            }
            let t = l.constant(n, i)?;
            let inner = &shape[axis..];
            let map = crate::kernel::broadcast_map(&t.shape, inner);
            let v = t.to_f32();
            Ok(Some(map.into_iter().map(|k| v[k] as f64).collect()))
        };
        let gamma = param(self, 1)?.unwrap_or_else(|| vec![1.0; dim]);
        let beta = param(self, 2)?;
        let cap = self.weight_cap(norm.scale, self.cal[out]);
        let (gq, sg) = self.quant_weight(n, &gamma, cap)?;
        let g = self.int_const(format!("{label}/scale"), vec![dim], gq, sg);
        let mut y = self.binary(&format!("{label}/gamma"), IrOp::Mul, norm, g, &out_name)?;
        if let Some(beta) = beta {
            let bq = self.quant_at(n, &beta, y.scale)?;
            let b = self.int_const(format!("{label}/bias"), vec![dim], bq, y.scale);
            y = self.binary(&format!("{label}/beta"), IrOp::Add, y, b, &out_name)?;
        }
        let y = self.reshape(&label, y, shape, &out_name)?;
        self.set(out, y);
        Ok(())
    }

    pub(crate) fn pool(
        &mut self,
        n: usize,
        kind: PoolKind,
        window: &WindowSpec,
    ) -> Result<(), ModelError> {
        let out = self.output(n)?;
        let a = self.act(n, 0)?;
        let y = match kind {
            PoolKind::Max => self.max_pool(n, a, window)?,
            PoolKind::Average { count_include_pad } => {
                self.average_pool(n, a, window, count_include_pad)?
            }
        };
        self.set(out, y);
        Ok(())
    }

    pub(crate) fn global_average_pool(&mut self, n: usize) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let shape = self.shape(a).to_vec();
        let axes: Vec<usize> = (2..shape.len()).collect();
        let count: usize = shape[2..].iter().product();
        let x = self.narrow(a)?;
        let sum = self.push(
            format!("{label}/sum"),
            IrOp::ReduceSum {
                axes,
                keepdims: true,
            },
            vec![x.id],
            format!("{out_name}/sum"),
        )?;
        let y = self.push(
            label,
            IrOp::DivRound {
                divisor: count.max(1) as u64,
            },
            vec![sum.id],
            out_name,
        )?;
        self.set(out, y);
        Ok(())
    }

    /// Pool geometry with the end padding a ceil-mode window needs made explicit.
    fn pool_pads(&self, n: usize, a: usize, window: &WindowSpec) -> Result<Geometry, ModelError> {
        let xs = self.shape(a).to_vec();
        let mut g = pool_geometry(window, &xs).map_err(|e| self.issue(n, e))?;
        let r = xs.len();
        for i in 0..2 {
            let span = (g.kernel[i] - 1) * g.dilations[i] + 1;
            let need = ((g.out[i] - 1) * g.strides[i] + span) as isize
                - (xs[r - 2 + i] + g.pads[i]) as isize;
            g.pads[i + 2] = need.max(0) as usize;
        }
        Ok(g)
    }

    /// MaxPool as a separable max: slices of the (padded) input along the width, one per
    /// kernel column, reduced by a Max tree, then the same along the height. Padding uses a
    /// floor value below every admitted input, after a range check that admits
    /// `[MAX_POOL_FLOOR, -MAX_POOL_FLOOR)`.
    fn max_pool(&mut self, n: usize, a: usize, window: &WindowSpec) -> Result<Low, ModelError> {
        let (label, _, out_name) = self.names(n)?;
        let g = self.pool_pads(n, a, window)?;
        let mut x = self.narrow(a)?;
        let r = self.shape(a).len();
        if g.pads.iter().any(|&p| p > 0) {
            x = self.push(
                format!("{label}/range"),
                IrOp::WideLookup {
                    f: ExactFn::Identity,
                    lo: MAX_POOL_FLOOR,
                    hi: -MAX_POOL_FLOOR,
                },
                vec![x.id],
                format!("{out_name}/checked"),
            )?;
            let mut pads = vec![[0, 0]; r];
            pads[r - 2] = [g.pads[0], g.pads[2]];
            pads[r - 1] = [g.pads[1], g.pads[3]];
            x = self.push(
                format!("{label}/pad"),
                IrOp::Pad {
                    pads,
                    value: MAX_POOL_FLOOR,
                },
                vec![x.id],
                format!("{out_name}/padded"),
            )?;
        }
        for (step, axis) in [(1usize, r - 1), (0, r - 2)] {
            let mut parts = Vec::with_capacity(g.kernel[step]);
            for k in 0..g.kernel[step] {
                parts.push(self.slice_axis(
                    &format!("{label}/{}{k}", if step == 1 { "col" } else { "row" }),
                    x,
                    axis,
                    (k * g.dilations[step], g.out[step], g.strides[step]),
                    &out_name,
                )?);
            }
            x = self.extreme_tree(
                &format!("{label}/{}", if step == 1 { "cols" } else { "rows" }),
                parts,
                true,
                &out_name,
            )?;
        }
        Ok(x)
    }

    /// Average pooling: window sums (`SumPool`), then a rounded division by the window size
    /// when every window counts the same, or a product by a constant map of `1/count`
    /// otherwise (padding excluded from the count).
    fn average_pool(
        &mut self,
        n: usize,
        a: usize,
        window: &WindowSpec,
        count_include_pad: bool,
    ) -> Result<Low, ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let g = self.pool_pads(n, a, window)?;
        if g.dilations != [1, 1] {
            return Err(self.err(n, "dilated average pooling is not supported"));
        }
        let xs = self.shape(a).to_vec();
        let r = xs.len();
        let x = self.narrow(a)?;
        let sums = self.push(
            format!("{label}/sum"),
            IrOp::SumPool {
                kernel: g.kernel,
                strides: g.strides,
                pads: g.pads,
            },
            vec![x.id],
            format!("{out_name}/sum"),
        )?;
        let (h, w) = (xs[r - 2], xs[r - 1]);
        let mut counts = Vec::with_capacity(g.out[0] * g.out[1]);
        for i in 0..g.out[0] {
            for j in 0..g.out[1] {
                let (rh, ph) = window_counts(i, 0, &g, h);
                let (rw, pw) = window_counts(j, 1, &g, w);
                counts.push(if count_include_pad { ph * pw } else { rh * rw }.max(1));
            }
        }
        if counts.iter().all(|&k| k == counts[0]) {
            return self.push(
                label,
                IrOp::DivRound {
                    divisor: counts[0] as u64,
                },
                vec![sums.id],
                out_name,
            );
        }
        let recip: Vec<f64> = counts.iter().map(|&k| 1.0 / k as f64).collect();
        let cap = self.weight_cap(sums.scale, self.cal[out]);
        let (q, s) = self.quant_weight(n, &recip, cap)?;
        let cid = self.const_tensor(format!("{label}/divisor"), vec![g.out[0], g.out[1]], q, s);
        self.push(
            format!("{label}/mean"),
            IrOp::Mul,
            vec![sums.id, cid],
            out_name,
        )
    }
}
