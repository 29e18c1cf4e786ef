//! Linear layers with their channel-wise neighbours folded in: the float weights of a layer
//! ([`Linear`]), the folding of a following BatchNormalization or Add/Sub/Mul by a
//! per-channel constant into them (in `f64`, before quantising), and the quantised MatMul or
//! Conv with its bias at the exact product scale.

use omron_ir::{ConvAttrs, Op as IrOp, broadcast_shape};

use crate::error::ModelError;
use crate::facts::NodeStatus;
use crate::graph::ValueId;
use crate::op::{Low, Lowerer, downcast};
use crate::ops::arith::Arith;
use crate::ops::normalise::Norm;
use crate::tensor::Tensor;

/// Float weights of a linear layer (rows = output channels) before quantisation.
pub(super) struct Linear {
    w: Vec<f64>,
    w_shape: Vec<usize>,
    bias: Vec<f64>,
    has_bias: bool,
}

impl Linear {
    pub(super) fn new(w: Vec<f64>, w_shape: Vec<usize>, bias: Option<Vec<f64>>) -> Linear {
        let rows = w_shape[0];
        Linear {
            w,
            w_shape,
            has_bias: bias.is_some(),
            bias: bias.unwrap_or_else(|| vec![0.0; rows]),
        }
    }

    fn rows(&self) -> usize {
        self.w_shape[0]
    }

    /// Multiplies output channel `n` (weights and bias) by `a[n]`.
    fn scale_rows(&mut self, a: &[f64]) {
        let per = self.w.len() / self.rows().max(1);
        for (n, &f) in a.iter().enumerate() {
            self.w[n * per..(n + 1) * per]
                .iter_mut()
                .for_each(|w| *w *= f);
            self.bias[n] *= f;
        }
    }

    pub(super) fn add_bias(&mut self, b: &[f64], sign: f64) {
        self.bias
            .iter_mut()
            .zip(b)
            .for_each(|(x, &y)| *x += sign * y);
        self.has_bias = true;
    }
}

impl<'a> Lowerer<'a> {
    /// Folds channel-wise ops that follow a linear layer into its weights: BatchNormalization
    /// (channel axis 1), and Add/Sub/Mul by a constant that varies only along `axis`. Returns
    /// the value the (fused) layer now produces.
    pub(super) fn fuse(&mut self, start: ValueId, lin: &mut Linear, axis: usize) -> ValueId {
        let m = self.m;
        let mut out = start;
        loop {
            if m.graph.outputs.contains(&out) || m.analysis.consumers[out].len() != 1 {
                return out;
            }
            let c = m.analysis.consumers[out][0];
            let node = &m.graph.nodes[c];
            let (Ok(op), NodeStatus::Runtime { quant: Ok(()) }) = (&node.op, &m.analysis.status[c])
            else {
                return out;
            };
            let op = op.as_ref();
            let shape = self.shape(out);
            if shape.get(axis) != Some(&lin.rows()) {
                return out;
            }
            let other = |i: usize| node.inputs.get(i).copied().flatten();
            if let Some(Norm::BatchNorm { epsilon }) = downcast::<Norm>(op)
                && axis == 1
                && other(0) == Some(out)
            {
                let Ok((a, b)) = self.batch_norm_affine(c, *epsilon) else {
                    return out;
                };
                lin.scale_rows(&a);
                lin.add_bias(&b, 1.0);
            } else if let Some(op @ (Arith::Add | Arith::Sub | Arith::Mul)) = downcast::<Arith>(op)
            {
                let (first, second) = (other(0), other(1));
                let (is_first, cv) = match (first, second) {
                    (Some(f), Some(s)) if f == out && s != out => (true, s),
                    (Some(f), Some(s)) if s == out && f != out => (false, f),
                    _ => return out,
                };
                let Some(ct) = m.analysis.values[cv].constant.as_ref() else {
                    return out;
                };
                let Some(vec) = per_channel(ct, shape, axis, lin.rows()) else {
                    return out;
                };
                match op {
                    Arith::Add => lin.add_bias(&vec, 1.0),
                    Arith::Sub if is_first => lin.add_bias(&vec, -1.0),
                    Arith::Sub => {
                        // c - y = c + (-1) y
                        lin.scale_rows(&vec![-1.0; lin.rows()]);
                        lin.add_bias(&vec, 1.0);
                    }
                    _ => lin.scale_rows(&vec),
                }
            } else {
                return out;
            }
            self.absorbed[c] = true;
            match node.outputs.first().copied().flatten() {
                Some(next) => out = next,
                None => return out,
            }
        }
    }

    /// Quantises and emits a MatMul (`conv: None`) or Conv, with its bias at the exact
    /// product scale. The result is wide; `out` is the ONNX value it will be narrowed as, and
    /// names the result (plus `suffix`).
    pub(super) fn emit_linear(
        &mut self,
        n: usize,
        x: Low,
        lin: &Linear,
        conv: Option<ConvAttrs>,
        out: ValueId,
        suffix: &str,
    ) -> Result<Low, ModelError> {
        let label = self.label(n);
        let cap = self.weight_cap(x.scale, self.cal[out]);
        let (wq, sw) = self.quant_weight(n, &lin.w, cap)?;
        let wid = self.const_tensor(format!("{label}/weight"), lin.w_shape.clone(), wq, sw);
        let mut ins = vec![x.id, wid];
        if lin.has_bias {
            let bq = self.quant_at(n, &lin.bias, x.scale + sw)?;
            ins.push(self.const_tensor(
                format!("{label}/bias"),
                vec![lin.rows()],
                bq,
                x.scale + sw,
            ));
        }
        let op = match conv {
            Some(attrs) => IrOp::Conv(attrs),
            None => IrOp::MatMul,
        };
        let out_name = format!("{}{suffix}", self.m.value_name(out));
        self.push(label.to_string(), op, ins, out_name)
    }
}

/// The per-channel values of constant `c` when added to a tensor of `shape`, if `c` varies
/// only along `axis` (length `rows`) and broadcasting does not change `shape`.
pub(super) fn per_channel(
    c: &Tensor,
    shape: &[usize],
    axis: usize,
    rows: usize,
) -> Option<Vec<f64>> {
    let data = c.as_f32()?;
    if c.shape.len() > shape.len() || broadcast_shape(shape, &c.shape).as_deref() != Some(shape) {
        return None;
    }
    let offset = shape.len() - c.shape.len();
    if c.shape
        .iter()
        .enumerate()
        .any(|(i, &d)| d != 1 && i + offset != axis)
    {
        return None;
    }
    let along = if axis >= offset {
        c.shape[axis - offset]
    } else {
        1
    };
    Some(
        (0..rows)
            .map(|k| data[if along == 1 { 0 } else { k }] as f64)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_accepts_only_channel_constants() {
        let bias = Tensor::f32(vec![1, 3, 1, 1], vec![1.0, 2.0, 3.0]);
        assert_eq!(
            per_channel(&bias, &[1, 3, 4, 4], 1, 3),
            Some(vec![1.0, 2.0, 3.0])
        );
        let scalar = Tensor::f32(vec![], vec![5.0]);
        assert_eq!(
            per_channel(&scalar, &[1, 3, 4, 4], 1, 3),
            Some(vec![5.0; 3])
        );
        let spatial = Tensor::f32(vec![4, 1], vec![0.0; 4]);
        assert_eq!(per_channel(&spatial, &[1, 3, 4, 4], 1, 3), None);
        let last = Tensor::f32(vec![3], vec![1.0, 2.0, 3.0]);
        assert_eq!(per_channel(&last, &[2, 3], 1, 3), Some(vec![1.0, 2.0, 3.0]));
        let widening = Tensor::f32(vec![2, 3], vec![0.0; 6]);
        assert_eq!(per_channel(&widening, &[1, 3], 1, 3), None);
    }
}
