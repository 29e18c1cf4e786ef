//! Ops that combine many elements: ReduceSum/Mean/Max/Min, ArgMax/ArgMin, Softmax and
//! LogSoftmax, LayerNormalization, and pooling (MaxPool as slices and Max trees, average
//! pooling as `SumPool` and a rounded division).

use omron_ir::{LookupKind, Op as IrOp};

use super::eval_nn::mean_var;
use crate::error::ModelError;
use crate::op::Lowerer;
use crate::shape::norm_axis;

/// Largest scale of the variance and `1/std` inside a layer normalisation: small variances
/// need more fractional bits than activations to keep `1/sqrt(var)` precise.
const NORM_INTERNAL_SCALE: u32 = 24;

impl<'a> Lowerer<'a> {
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
}
