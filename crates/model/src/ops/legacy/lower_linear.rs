//! Linear layers: Gemm, MatMul and Conv with constant weights, and the channel-wise ops
//! (BatchNormalization, Add/Sub/Mul by a per-channel constant) folded into them.

use omron_ir::{ConvAttrs, Op as IrOp, broadcast_shape};

use super::Op;
use super::infer::conv_geometry;
use crate::error::ModelError;
use crate::facts::NodeStatus;
use crate::graph::ValueId;
use crate::op::{Arg, Low, Lowerer, downcast};
use crate::tensor::Tensor;
use crate::window::WindowSpec;

/// Float weights of a linear layer (rows = output channels) before quantisation.
struct Linear {
    w: Vec<f64>,
    w_shape: Vec<usize>,
    bias: Vec<f64>,
    has_bias: bool,
}

impl Linear {
    fn new(w: Vec<f64>, w_shape: Vec<usize>, bias: Option<Vec<f64>>) -> Linear {
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

    fn add_bias(&mut self, b: &[f64], sign: f64) {
        self.bias
            .iter_mut()
            .zip(b)
            .for_each(|(x, &y)| *x += sign * y);
        self.has_bias = true;
    }
}

impl<'a> Lowerer<'a> {
    pub(crate) fn gemm(
        &mut self,
        n: usize,
        alpha: &f32,
        beta: &f32,
        trans_a: &bool,
        trans_b: &bool,
    ) -> Result<(), ModelError> {
        let m = self.m;
        let node = &m.graph.nodes[n];
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let b = self.constant(n, 1)?;
        let mut x = self.narrow(a)?;
        if *trans_a {
            x = self.push(
                format!("{label}/transA"),
                IrOp::Transpose { perm: vec![1, 0] },
                vec![x.id],
                format!("{out_name}/A"),
            )?;
        }
        let bv = b.as_f32().unwrap_or_default();
        let (k, cols) = if *trans_b {
            (b.shape[1], b.shape[0])
        } else {
            (b.shape[0], b.shape[1])
        };
        let mut w = Vec::with_capacity(cols * k);
        for j in 0..cols {
            for p in 0..k {
                let v = if *trans_b {
                    bv[j * k + p]
                } else {
                    bv[p * cols + j]
                };
                w.push(*alpha as f64 * v as f64);
            }
        }
        let mut lin = Linear::new(w, vec![cols, k], None);
        let out_shape = self.shape(out).to_vec();
        let mut post: Option<Arg<'a>> = None;
        if node.inputs.get(2).is_some_and(|c| c.is_some()) {
            match self.arg(n, 2)? {
                Arg::Const(c) => match per_channel(c, &out_shape, 1, cols) {
                    Some(vec) => lin.add_bias(
                        &vec.iter().map(|&x| *beta as f64 * x).collect::<Vec<_>>(),
                        1.0,
                    ),
                    None => post = Some(Arg::Const(c)),
                },
                act => {
                    if *beta != 1.0 {
                        return Err(
                            self.err(n, "Gemm with a computed C and beta != 1 is not supported")
                        );
                    }
                    post = Some(act);
                }
            }
        }
        let last = if post.is_none() {
            self.fuse(out, &mut lin, 1)
        } else {
            out
        };
        let y = self.emit_linear(n, x, &lin, None, last, "")?;
        let y = match post {
            None => y,
            Some(Arg::Const(c)) => {
                let vals: Vec<f64> = c
                    .to_f32()
                    .iter()
                    .map(|&v| *beta as f64 * v as f64)
                    .collect();
                let q = self.quant_at(n, &vals, y.scale)?;
                let cid = self.const_tensor(format!("{label}/C"), c.shape.clone(), q, y.scale);
                self.push(
                    format!("{label}/addC"),
                    IrOp::Add,
                    vec![y.id, cid],
                    format!("{out_name}/C"),
                )?
            }
            Some(Arg::Act(cv)) => {
                self.add_acts(&label, (y, out), (self.get(cv)?, cv), IrOp::Add, &out_name)?
            }
        };
        self.set(last, y);
        Ok(())
    }

    pub(crate) fn matmul(&mut self, n: usize) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        match (self.arg(n, 0)?, self.arg(n, 1)?) {
            (Arg::Act(a), Arg::Const(b)) => {
                let x = self.narrow(a)?;
                let bv = b.to_f32();
                if b.shape.len() == 2 {
                    let (k, cols) = (b.shape[0], b.shape[1]);
                    let w = (0..cols)
                        .flat_map(|j| (0..k).map(move |p| (j, p)))
                        .map(|(j, p)| bv[p * cols + j] as f64)
                        .collect();
                    let mut lin = Linear::new(w, vec![cols, k], None);
                    let axis = self.shape(out).len().saturating_sub(1);
                    let last = self.fuse(out, &mut lin, axis);
                    let y = self.emit_linear(n, x, &lin, None, last, "")?;
                    self.set(last, y);
                } else {
                    let lin = Linear::new(
                        bv.iter().map(|&v| v as f64).collect(),
                        vec![1, b.shape[0]],
                        None,
                    );
                    let y = self.emit_linear(n, x, &lin, None, out, "/col")?;
                    let y = self.reshape(&label, y, self.shape(out).to_vec(), &out_name)?;
                    self.set(out, y);
                }
            }
            (Arg::Const(a), Arg::Act(b)) => {
                // A B = (B^T A^T)^T: transpose the activation, multiply by A's rows.
                let xb = self.narrow(b)?;
                let xt = self.push(
                    format!("{label}/transB"),
                    IrOp::Transpose { perm: vec![1, 0] },
                    vec![xb.id],
                    format!("{out_name}/BT"),
                )?;
                let av: Vec<f64> = a.to_f32().iter().map(|&v| v as f64).collect();
                let w_shape = if a.shape.len() == 2 {
                    a.shape.clone()
                } else {
                    vec![1, a.shape[0]]
                };
                let lin = Linear::new(av, w_shape, None);
                let y = self.emit_linear(n, xt, &lin, None, out, "/T")?;
                let y = if a.shape.len() == 2 {
                    self.push(
                        format!("{label}/transY"),
                        IrOp::Transpose { perm: vec![1, 0] },
                        vec![y.id],
                        out_name.clone(),
                    )?
                } else {
                    self.reshape(&label, y, self.shape(out).to_vec(), &out_name)?
                };
                self.set(out, y);
            }
            _ => return Err(self.err(n, "MatMul needs exactly one constant operand")),
        }
        Ok(())
    }

    pub(crate) fn conv(
        &mut self,
        n: usize,
        window: &WindowSpec,
        group: &usize,
    ) -> Result<(), ModelError> {
        let m = self.m;
        let node = &m.graph.nodes[n];
        let (_, out, _) = self.names(n)?;
        let a = self.act(n, 0)?;
        let x = self.narrow(a)?;
        let w = self.constant(n, 1)?;
        let bias = match node.inputs.get(2).copied().flatten() {
            Some(_) => Some(
                self.constant(n, 2)?
                    .to_f32()
                    .iter()
                    .map(|&v| v as f64)
                    .collect(),
            ),
            None => None,
        };
        let g =
            conv_geometry(window, *group, self.shape(a), &w.shape).map_err(|e| self.issue(n, e))?;
        let attrs = ConvAttrs {
            strides: g.strides,
            pads: g.pads,
            dilations: g.dilations,
            group: *group,
        };
        let mut lin = Linear::new(
            w.to_f32().iter().map(|&v| v as f64).collect(),
            w.shape.clone(),
            bias,
        );
        let last = self.fuse(out, &mut lin, 1);
        let y = self.emit_linear(n, x, &lin, Some(attrs), last, "")?;
        self.set(last, y);
        Ok(())
    }

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

    /// Folds channel-wise ops that follow a linear layer into its weights: BatchNormalization
    /// (channel axis 1), and Add/Sub/Mul by a constant that varies only along `axis`. Returns
    /// the value the (fused) layer now produces.
    fn fuse(&mut self, start: ValueId, lin: &mut Linear, axis: usize) -> ValueId {
        let m = self.m;
        let mut out = start;
        loop {
            if m.graph.outputs.contains(&out) || m.analysis.consumers[out].len() != 1 {
                return out;
            }
            let c = m.analysis.consumers[out][0];
            let node = &m.graph.nodes[c];
            let (Some(op), NodeStatus::Runtime { quant: Ok(()) }) = (
                node.op
                    .as_ref()
                    .ok()
                    .and_then(|o| downcast::<Op>(o.as_ref())),
                &m.analysis.status[c],
            ) else {
                return out;
            };
            let shape = self.shape(out);
            if shape.get(axis) != Some(&lin.rows()) {
                return out;
            }
            let other = |i: usize| node.inputs.get(i).copied().flatten();
            match op {
                Op::BatchNorm { epsilon } if axis == 1 && other(0) == Some(out) => {
                    let Ok((a, b)) = self.batch_norm_affine(c, *epsilon) else {
                        return out;
                    };
                    lin.scale_rows(&a);
                    lin.add_bias(&b, 1.0);
                }
                Op::Add | Op::Sub | Op::Mul => {
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
                        Op::Add => lin.add_bias(&vec, 1.0),
                        Op::Sub if is_first => lin.add_bias(&vec, -1.0),
                        Op::Sub => {
                            // c - y = c + (-1) y
                            lin.scale_rows(&vec![-1.0; lin.rows()]);
                            lin.add_bias(&vec, 1.0);
                        }
                        _ => lin.scale_rows(&vec),
                    }
                }
                _ => return out,
            }
            self.absorbed[c] = true;
            match node.outputs.first().copied().flatten() {
                Some(next) => out = next,
                None => return out,
            }
        }
    }

    /// Per-channel `y = a * x + b` of an inference BatchNormalization node.
    fn batch_norm_affine(
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

    /// Quantises and emits a MatMul (`conv: None`) or Conv, with its bias at the exact
    /// product scale. The result is wide; `out` is the ONNX value it will be narrowed as, and
    /// names the result (plus `suffix`).
    fn emit_linear(
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
fn per_channel(c: &Tensor, shape: &[usize], axis: usize, rows: usize) -> Option<Vec<f64>> {
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
