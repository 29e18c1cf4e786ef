//! Pooling: `MaxPool` (slices and Max trees, separable), `AveragePool` (`SumPool` and a rounded
//! division) and `GlobalAveragePool` (a sum and a rounded division), all 2-D.

use std::sync::Arc;

use omron_ir::{ExactFn, Op as IrOp};

use crate::error::ModelError;
use crate::kernel::{float_input, input};
use crate::op::{Low, Lowerer, OnnxOp, OpRef, Parse};
use crate::shape::{Issue, Operand, OutInfo, invalid, need, need_float, out, unsupported};
use crate::tensor::{DType, Tensor};
use crate::window::{Geometry, WindowSpec, geometry, window};

/// Padding value of MaxPool: below every input the range check before it admits, and close
/// enough that `x - pad` stays inside the activation range.
const MAX_POOL_FLOOR: i64 = -(1 << 14);

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &["AveragePool", "MaxPool", "GlobalAveragePool"];

/// The kind of pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PoolKind {
    /// Mean over the window; `count_include_pad` says whether padded zeros count.
    Average {
        /// Divide by the full window area even where it overlaps padding.
        count_include_pad: bool,
    },
    /// Maximum over the window (padding never wins).
    Max,
}

/// A pooling op.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Pool {
    /// Average or max pooling (2-D).
    Pool { kind: PoolKind, window: WindowSpec },
    /// Mean over all spatial axes.
    GlobalAveragePool,
}

/// Parses a node of one of [`OP_TYPES`].
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    let a = &p.attrs;
    let op = match p.op_type {
        "AveragePool" => {
            a.only(&[
                "auto_pad",
                "ceil_mode",
                "count_include_pad",
                "kernel_shape",
                "pads",
                "strides",
                "dilations",
            ])?;
            let kind = PoolKind::Average {
                count_include_pad: a.flag("count_include_pad", false)?,
            };
            Pool::Pool {
                kind,
                window: window(a, true)?,
            }
        }
        "MaxPool" => {
            a.only(&[
                "auto_pad",
                "ceil_mode",
                "dilations",
                "kernel_shape",
                "pads",
                "storage_order",
                "strides",
            ])?;
            // storage_order only affects the (unsupported) Indices output.
            Pool::Pool {
                kind: PoolKind::Max,
                window: window(a, true)?,
            }
        }
        "GlobalAveragePool" => {
            a.only(&[])?;
            Pool::GlobalAveragePool
        }
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(Arc::new(op))
}

impl OnnxOp for Pool {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        let f32s = DType::F32;
        match self {
            Pool::Pool { window, .. } => {
                let x = need(ins, 0)?;
                need_float(x, "pool input")?;
                let g = pool_geometry(window, x.shape)?;
                out(vec![x.shape[0], x.shape[1], g.out[0], g.out[1]], f32s)
            }
            Pool::GlobalAveragePool => {
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
        }
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        let shape = infos[0].shape.clone();
        let x = |i: usize| input(ins, i);
        let fx = |i: usize| float_input(ins, i);
        let one = |t: Tensor| -> Result<Vec<Tensor>, Issue> { Ok(vec![t]) };
        match self {
            Pool::Pool { kind, window } => {
                let t = x(0)?;
                let g = pool_geometry(window, &t.shape)?;
                one(Tensor::f32(shape, pool(*kind, fx(0)?, &t.shape, &g)))
            }
            Pool::GlobalAveragePool => {
                let t = x(0)?;
                let inner: usize = t.shape[2..].iter().product();
                let v = fx(0)?;
                let y = v
                    .chunks(inner.max(1))
                    .map(|c| (c.iter().map(|&a| a as f64).sum::<f64>() / inner as f64) as f32);
                one(Tensor::f32(shape, y.collect()))
            }
        }
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        match self {
            Pool::Pool { kind, window } => l.pool(n, *kind, window),
            Pool::GlobalAveragePool => l.global_average_pool(n),
        }
    }
}

impl Lowerer<'_> {
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
    use crate::op::run as eval;
    use crate::window::AutoPad;

    fn f(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::f32(shape.to_vec(), v.to_vec())
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
        let avg = |cip| Pool::Pool {
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
            &Pool::Pool {
                kind: PoolKind::Max,
                window,
            },
            &[Some(&x)],
        )
        .unwrap();
        assert_eq!(y[0].as_f32().unwrap(), &[1.0, 2.0, 3.0, 4.0]);
    }
}
