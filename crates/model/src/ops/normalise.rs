//! Normalisation: inference `BatchNormalization` (folded into a preceding linear layer when it
//! is its only consumer, see `linear`, otherwise a per-channel `Mul` and `Add`) and
//! `LayerNormalization` (mean, variance, an `Rsqrt` table, scale and bias).

use std::sync::Arc;

use omron_ir::{LookupKind, Op as IrOp, broadcast_shape};

use crate::error::ModelError;
use crate::kernel::{broadcast_map, f64s, float_input, input, to_f32};
use crate::op::{Lowerer, OnnxOp, OpRef, Parse};
use crate::shape::{
    Issue, Operand, OutInfo, float_operand, invalid, is_const, need, need_float, norm_axis,
    optional, out,
};
use crate::tensor::{DType, Tensor};

/// Largest scale of the variance and `1/std` inside a layer normalisation: small variances
/// need more fractional bits than activations to keep `1/sqrt(var)` precise.
const NORM_INTERNAL_SCALE: u32 = 24;

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &["BatchNormalization", "LayerNormalization"];

/// A normalisation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Norm {
    /// Inference batch normalisation over axis 1.
    BatchNorm { epsilon: f32 },
    /// Layer normalisation over the axes from `axis` on.
    LayerNorm { axis: i64, epsilon: f32 },
}

/// Parses a node of one of [`OP_TYPES`].
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    let a = &p.attrs;
    let op = match p.op_type {
        "BatchNormalization" => {
            a.only(&["epsilon", "momentum", "spatial", "training_mode"])?;
            if !a.flag("spatial", true)? {
                return Err("BatchNormalization with spatial=0 is not supported".into());
            }
            if a.flag("training_mode", false)? {
                return Err("BatchNormalization in training mode is not supported".into());
            }
            Norm::BatchNorm {
                epsilon: a.float("epsilon")?.unwrap_or(1e-5),
            }
        }
        "LayerNormalization" => {
            a.only(&["axis", "epsilon", "stash_type"])?;
            if a.int("stash_type")?.is_some_and(|t| t != 1) {
                return Err(
                    "LayerNormalization stash_type other than 1 (float) is not supported".into(),
                );
            }
            Norm::LayerNorm {
                axis: a.int("axis")?.unwrap_or(-1),
                epsilon: a.float("epsilon")?.unwrap_or(1e-5),
            }
        }
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(Arc::new(op))
}

impl OnnxOp for Norm {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        let f32s = DType::F32;
        match self {
            Norm::BatchNorm { .. } => {
                let x = need(ins, 0)?;
                need_float(x, "BatchNormalization input")?;
                if x.shape.len() < 2 {
                    return invalid(format!(
                        "BatchNormalization input {:?} has no channel axis",
                        x.shape
                    ));
                }
                for i in 1..5 {
                    let p = need(ins, i)?;
                    if p.shape != [x.shape[1]] {
                        return invalid(format!(
                            "BatchNormalization parameter {i} has shape {:?}, expected [{}]",
                            p.shape, x.shape[1]
                        ));
                    }
                }
                out(x.shape.to_vec(), f32s)
            }
            Norm::LayerNorm { axis, .. } => {
                let x = need(ins, 0)?;
                float_operand(x)?;
                let a = norm_axis(*axis, x.shape.len())?;
                let inner = &x.shape[a..];
                for i in [1, 2] {
                    if let Some(p) = optional(ins, i)
                        && broadcast_shape(inner, p.shape).as_deref() != Some(inner)
                    {
                        return invalid(format!(
                            "LayerNormalization parameter {i} {:?} does not broadcast to {inner:?}",
                            p.shape
                        ));
                    }
                }
                need(ins, 1)?;
                let mut stats = x.shape[..a].to_vec();
                stats.resize(x.shape.len(), 1);
                Ok(vec![
                    OutInfo {
                        shape: x.shape.to_vec(),
                        dtype: f32s,
                    },
                    OutInfo {
                        shape: stats.clone(),
                        dtype: f32s,
                    },
                    OutInfo {
                        shape: stats,
                        dtype: f32s,
                    },
                ])
            }
        }
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        let shape = infos[0].shape.clone();
        let x = |i: usize| input(ins, i);
        let fx = |i: usize| float_input(ins, i);
        let one = |t: Tensor| -> Result<Vec<Tensor>, Issue> { Ok(vec![t]) };
        match self {
            Norm::BatchNorm { epsilon } => {
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
            Norm::LayerNorm { axis, epsilon } => {
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
        }
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        match self {
            Norm::BatchNorm { epsilon } => l.batch_norm(n, epsilon),
            Norm::LayerNorm { axis, epsilon } => l.layer_norm(n, *axis, *epsilon),
        }
    }

    fn quant_check(&self, ins: &[Option<Operand<'_>>]) -> Result<(), String> {
        let is_const = |i: usize| is_const(ins, i);
        match self {
            Norm::BatchNorm { .. } => {
                if (1..5).all(is_const) {
                    Ok(())
                } else {
                    Err("BatchNormalization parameters must be constants".into())
                }
            }
            Norm::LayerNorm { .. }
                if !(1..3).all(|i| {
                    ins.get(i)
                        .is_none_or(|o| o.as_ref().is_none_or(|o| o.value.is_some()))
                }) =>
            {
                Err("LayerNormalization scale and bias must be constants".into())
            }
            _ => Ok(()),
        }
    }
}

impl Lowerer<'_> {
    /// BatchNormalization that could not be folded: `Mul` and `Add` by per-channel constants.
    pub(crate) fn batch_norm(&mut self, n: usize, epsilon: &f32) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let x = self.narrow(a)?;
        let (scale, shift) = self.batch_norm_affine(n, *epsilon)?;
        let rank = self.shape(a).len();
        let mut bshape = vec![scale.len()];
        bshape.resize(rank - 1, 1);
        let cap = self.weight_cap(x.scale, self.cal[out]);
        let (qa, sa) = self.quant_weight(n, &scale, cap)?;
        let aid = self.const_tensor(format!("{label}/scale"), bshape.clone(), qa, sa);
        let y = self.push(
            format!("{label}/mul"),
            IrOp::Mul,
            vec![x.id, aid],
            format!("{out_name}/scaled"),
        )?;
        let qb = self.quant_at(n, &shift, y.scale)?;
        let bid = self.const_tensor(format!("{label}/shift"), bshape, qb, y.scale);
        let y = self.push(label, IrOp::Add, vec![y.id, bid], out_name)?;
        self.set(out, y);
        Ok(())
    }

    /// Per-channel `y = a * x + b` of an inference BatchNormalization node.
    pub(crate) fn batch_norm_affine(
        &self,
        n: usize,
        epsilon: f32,
    ) -> Result<(Vec<f64>, Vec<f64>), ModelError> {
        let p = |i: usize| -> Result<Vec<f64>, ModelError> {
            Ok(self
                .constant(n, i)?
                .to_f32()
                .iter()
                .map(|&v| v as f64)
                .collect())
        };
        let (scale, bias, mean, var) = (p(1)?, p(2)?, p(3)?, p(4)?);
        let a: Vec<f64> = scale
            .iter()
            .zip(&var)
            .map(|(&s, &v)| s / (v + epsilon as f64).sqrt())
            .collect();
        let b: Vec<f64> = bias
            .iter()
            .zip(&mean)
            .zip(&a)
            .map(|((&b, &mu), &a)| b - mu * a)
            .collect();
        if a.iter().chain(&b).any(|v| !v.is_finite()) {
            return Err(self.err(
                n,
                "batch-norm parameters give a non-finite scale (variance + epsilon <= 0?)",
            ));
        }
        Ok((a, b))
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
}

/// Mean and (population) variance of a lane.
pub(crate) fn mean_var(lane: &[f64]) -> (f64, f64) {
    let n = lane.len().max(1) as f64;
    let mean = lane.iter().sum::<f64>() / n;
    let var = lane.iter().map(|&v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var)
}
