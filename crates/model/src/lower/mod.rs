//! Lowering the analysed float graph to the integer IR.
//!
//! Every run-time value `v` has a calibrated activation scale `cal[v]`: at that scale (or any
//! lower one) its integers stay within the activation range with the configured margin. An IR
//! tensor standing for `v` may carry a *higher* scale ("wide"): the exact result of a
//! MatMul/Conv/Mul, or of adding a constant to one. Wide tensors are only rescaled when a
//! consumer needs a bounded operand (lookups, products, the next linear layer, graph outputs),
//! so a bias or batch-norm shift added after a matmul is added exactly, and a value is rounded
//! once per layer. Channel-wise ops that directly follow a Gemm/MatMul/Conv (BatchNormalization,
//! Add/Sub/Mul by a per-channel constant) are folded into its weights and bias in `f64` before
//! quantising.
//!
//! The file is long because it is one pass with one state; each op's lowering is a short arm of
//! `lower_node`, and helpers follow it in the order the arms use them.

use omron_ir::{ConvAttrs, Node, Op as IrOp, TensorDef, TensorId, TensorKind, broadcast_shape};
use omron_ir::{LookupFn, LookupKind};

use crate::ModelError;
use crate::analysis::NodeStatus;
use crate::eval::window_counts;
use crate::graph::ValueId;
use crate::infer::{Issue, conv_geometry, pool_geometry};
use crate::model::OnnxModel;
use crate::ops::{Op, PoolKind, WindowSpec};
use crate::quantise::{QuantOptions, QuantisedModel};
use crate::tensor::Tensor;

/// An IR tensor standing for an ONNX value, and its scale.
#[derive(Clone, Copy, Debug)]
struct Low {
    id: TensorId,
    scale: u32,
}

/// An operand of an ONNX node.
#[derive(Clone, Copy)]
enum Arg<'a> {
    Const(&'a Tensor),
    Act(ValueId),
}

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

struct Lowerer<'a> {
    m: &'a OnnxModel,
    opts: &'a QuantOptions,
    cal: &'a [u32],
    tensors: Vec<TensorDef>,
    nodes: Vec<Node>,
    low: Vec<Option<Low>>,
    narrow_cache: Vec<Option<Low>>,
    absorbed: Vec<bool>,
}

/// Lowers every run-time node of `m` using activation scales `cal` (one per ONNX value).
pub(crate) fn lower(
    m: &OnnxModel,
    cal: &[u32],
    opts: &QuantOptions,
    calibrated: bool,
) -> Result<QuantisedModel, ModelError> {
    let g = &m.graph;
    let mut l = Lowerer {
        m,
        opts,
        cal,
        tensors: Vec::new(),
        nodes: Vec::new(),
        low: vec![None; g.values.len()],
        narrow_cache: vec![None; g.values.len()],
        absorbed: vec![false; g.nodes.len()],
    };
    let mut inputs = Vec::new();
    for def in &g.inputs {
        let scale = cal[def.value];
        let id = l.tensor(
            m.value_name(def.value).to_string(),
            def.shape.clone(),
            scale,
            TensorKind::Input,
        );
        l.low[def.value] = Some(Low { id, scale });
        inputs.push(id);
    }
    for n in 0..g.nodes.len() {
        if matches!(m.analysis.status[n], NodeStatus::Runtime { .. }) && !l.absorbed[n] {
            l.lower_node(n)?;
        }
    }
    let mut outputs = Vec::new();
    let mut output_scales = Vec::new();
    let mut output_shapes = Vec::new();
    for &v in &g.outputs {
        if l.low[v].is_none() {
            return Err(ModelError::Quantise {
                node: format!("output '{}'", m.value_name(v)),
                detail: "the output is a constant; there is nothing to prove".into(),
            });
        }
        let y = l.narrow(v)?;
        outputs.push(y.id);
        output_scales.push(y.scale);
        output_shapes.push(l.tensors[y.id].shape.clone());
    }
    let graph = omron_ir::Graph {
        tensors: l.tensors,
        nodes: l.nodes,
        inputs,
        outputs,
    };
    Ok(QuantisedModel {
        input_names: g
            .inputs
            .iter()
            .map(|d| m.value_name(d.value).to_string())
            .collect(),
        input_shapes: g.inputs.iter().map(|d| d.shape.clone()).collect(),
        input_scales: g.inputs.iter().map(|d| cal[d.value]).collect(),
        output_names: g
            .outputs
            .iter()
            .map(|&v| m.value_name(v).to_string())
            .collect(),
        output_shapes,
        output_scales,
        calibrated,
        options: opts.clone(),
        graph,
    })
}

impl<'a> Lowerer<'a> {
    fn label(&self, n: usize) -> String {
        let node = &self.m.graph.nodes[n];
        if node.name.is_empty() {
            format!("{}#{}", node.op_type, node.index)
        } else {
            node.name.clone()
        }
    }

    fn err(&self, n: usize, detail: impl Into<String>) -> ModelError {
        ModelError::Quantise {
            node: self.m.graph.nodes[n].label(&self.m.graph),
            detail: detail.into(),
        }
    }

    fn arg(&self, n: usize, i: usize) -> Result<Arg<'a>, ModelError> {
        let m: &'a OnnxModel = self.m;
        let v = m.graph.nodes[n]
            .inputs
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| self.err(n, format!("input {i} is missing")))?;
        Ok(match &m.analysis.values[v].constant {
            Some(t) => Arg::Const(t),
            None => Arg::Act(v),
        })
    }

    fn act(&self, n: usize, i: usize) -> Result<ValueId, ModelError> {
        match self.arg(n, i)? {
            Arg::Act(v) => Ok(v),
            Arg::Const(_) => Err(self.err(n, format!("input {i} must be computed at run time"))),
        }
    }

    fn constant(&self, n: usize, i: usize) -> Result<&'a Tensor, ModelError> {
        match self.arg(n, i)? {
            Arg::Const(t) if t.as_f32().is_some() => Ok(t),
            _ => Err(self.err(n, format!("input {i} must be a float constant"))),
        }
    }

    fn shape(&self, v: ValueId) -> &'a [usize] {
        let m: &'a OnnxModel = self.m;
        m.analysis.values[v].shape.as_deref().unwrap_or_default()
    }

    fn output(&self, n: usize) -> Result<ValueId, ModelError> {
        self.m.graph.nodes[n]
            .outputs
            .first()
            .copied()
            .flatten()
            .ok_or_else(|| self.err(n, "output 0 is omitted"))
    }

    fn get(&self, v: ValueId) -> Result<Low, ModelError> {
        self.low[v].ok_or_else(|| ModelError::Quantise {
            node: format!("value '{}'", self.m.value_name(v)),
            detail: "used before it is computed".into(),
        })
    }

    fn tensor(
        &mut self,
        name: String,
        shape: Vec<usize>,
        scale: u32,
        kind: TensorKind,
    ) -> TensorId {
        self.tensors.push(TensorDef {
            name,
            shape,
            scale,
            kind,
        });
        self.tensors.len() - 1
    }

    fn push(
        &mut self,
        name: String,
        op: IrOp,
        inputs: Vec<TensorId>,
        out_name: String,
    ) -> Result<Low, ModelError> {
        let defs: Vec<&TensorDef> = inputs.iter().map(|&i| &self.tensors[i]).collect();
        let shape = op.output_shape(&name, &defs)?;
        let scale = op.output_scale(&defs);
        let id = self.tensor(out_name, shape, scale, TensorKind::Computed);
        self.nodes.push(Node {
            name,
            op,
            inputs,
            output: id,
        });
        Ok(Low { id, scale })
    }

    /// `v` at a scale where it is range-safe (rescaled once and cached if it is wide).
    fn narrow(&mut self, v: ValueId) -> Result<Low, ModelError> {
        let low = self.get(v)?;
        let target = self.cal[v];
        if low.scale <= target {
            return Ok(low);
        }
        if let Some(c) = self.narrow_cache[v] {
            return Ok(c);
        }
        let name = self.m.value_name(v).to_string();
        let r = self.push(
            format!("{name}/rescale"),
            IrOp::Rescale {
                shift: low.scale - target,
            },
            vec![low.id],
            format!("{name}/q"),
        )?;
        self.narrow_cache[v] = Some(r);
        Ok(r)
    }

    fn set(&mut self, v: ValueId, low: Low) {
        self.low[v] = Some(low);
    }

    /// The highest scale a constant multiplying a value at `x_scale` may take so that the
    /// product, at `x_scale + s`, is later rescaled to `target` with a shift of at most
    /// `max_shift` (the circuit range-checks each rescale remainder in a `2^shift` table).
    fn weight_cap(&self, x_scale: u32, target: u32) -> u32 {
        (self.opts.max_shift + target).saturating_sub(x_scale)
    }

    /// Quantises weights to the largest scale (at most `cap` and `max_weight_scale`) that
    /// keeps them within `weight_bits`.
    fn quant_weight(&self, n: usize, w: &[f64], cap: u32) -> Result<(Vec<i64>, u32), ModelError> {
        let max = w.iter().fold(0f64, |m, &x| m.max(x.abs()));
        if !max.is_finite() {
            return Err(self.err(n, "a constant is not finite"));
        }
        let limit = ((1u64 << (self.opts.weight_bits - 1)) - 1) as f64;
        let scale = (0..=self.opts.max_weight_scale.min(cap))
            .rev()
            .find(|&s| (max * pow2(s)).round() <= limit)
            .ok_or_else(|| {
                self.err(
                    n,
                    format!(
                        "a constant reaches {max}, beyond {} bits at scale 0",
                        self.opts.weight_bits
                    ),
                )
            })?;
        Ok((
            w.iter()
                .map(|&x| (x * pow2(scale)).round() as i64)
                .collect(),
            scale,
        ))
    }

    /// Quantises values at a given scale (biases, added constants).
    fn quant_at(&self, n: usize, v: &[f64], scale: u32) -> Result<Vec<i64>, ModelError> {
        v.iter()
            .map(|&x| {
                let q = (x * pow2(scale)).round();
                if q.is_finite() && q.abs() < pow2(53) {
                    Ok(q as i64)
                } else {
                    Err(self.err(n, format!("constant {x} does not fit at scale {scale}")))
                }
            })
            .collect()
    }

    fn const_tensor(
        &mut self,
        name: String,
        shape: Vec<usize>,
        data: Vec<i64>,
        scale: u32,
    ) -> TensorId {
        self.tensor(name, shape, scale, TensorKind::Const(data))
    }

    fn lower_node(&mut self, n: usize) -> Result<(), ModelError> {
        let m: &'a OnnxModel = self.m;
        let node = &m.graph.nodes[n];
        let Ok(op) = &node.op else {
            return Err(self.err(n, "unsupported op"));
        };
        let label = self.label(n);
        let out = self.output(n)?;
        let out_name = m.value_name(out).to_string();
        match op {
            Op::Gemm {
                alpha,
                beta,
                trans_a,
                trans_b,
            } => {
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
                                return Err(self.err(
                                    n,
                                    "Gemm with a computed C and beta != 1 is not supported",
                                ));
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
                        let cid =
                            self.const_tensor(format!("{label}/C"), c.shape.clone(), q, y.scale);
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
            }
            Op::MatMul => match (self.arg(n, 0)?, self.arg(n, 1)?) {
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
            },
            Op::Conv { window, group } => {
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
                let g = conv_geometry(window, *group, self.shape(a), &w.shape)
                    .map_err(|e| self.issue(n, e))?;
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
            }
            Op::Add | Op::Sub => {
                let ir = if matches!(op, Op::Add) {
                    IrOp::Add
                } else {
                    IrOp::Sub
                };
                let y = match (self.arg(n, 0)?, self.arg(n, 1)?) {
                    (Arg::Act(a), Arg::Act(b)) => {
                        self.add_acts(&label, (self.get(a)?, a), (self.get(b)?, b), ir, &out_name)?
                    }
                    (Arg::Act(a), Arg::Const(c)) => {
                        let x = self.carry(a, out)?;
                        let cid = self.scaled_const(n, &label, c, x.scale)?;
                        self.push(label.clone(), ir, vec![x.id, cid], out_name.clone())?
                    }
                    (Arg::Const(c), Arg::Act(a)) => {
                        let x = self.carry(a, out)?;
                        let cid = self.scaled_const(n, &label, c, x.scale)?;
                        self.push(label.clone(), ir, vec![cid, x.id], out_name.clone())?
                    }
                    _ => return Err(self.err(n, "both operands are constants")),
                };
                self.set(out, y);
            }
            Op::Mul | Op::Div => {
                let y = match (self.arg(n, 0)?, self.arg(n, 1)?) {
                    (Arg::Act(a), Arg::Act(b)) if matches!(op, Op::Mul) => {
                        let (xa, xb) = self.product_operands(&label, a, b, out)?;
                        self.push(
                            label.clone(),
                            IrOp::Mul,
                            vec![xa.id, xb.id],
                            out_name.clone(),
                        )?
                    }
                    (Arg::Act(a), Arg::Const(c)) | (Arg::Const(c), Arg::Act(a)) => {
                        let act_first = matches!(self.arg(n, 0)?, Arg::Act(_));
                        let mut vals: Vec<f64> = c.to_f32().iter().map(|&v| v as f64).collect();
                        if matches!(op, Op::Div) {
                            if !act_first {
                                return Err(
                                    self.err(n, "division by a computed value is not supported")
                                );
                            }
                            if vals.contains(&0.0) {
                                return Err(self.err(n, "division by zero"));
                            }
                            vals.iter_mut().for_each(|v| *v = 1.0 / *v);
                        }
                        let x = self.narrow(a)?;
                        let cap = self.weight_cap(x.scale, self.cal[out]);
                        let (q, s) = self.quant_weight(n, &vals, cap)?;
                        let cid =
                            self.const_tensor(format!("{label}/factor"), c.shape.clone(), q, s);
                        let ins = if act_first {
                            vec![x.id, cid]
                        } else {
                            vec![cid, x.id]
                        };
                        self.push(label.clone(), IrOp::Mul, ins, out_name.clone())?
                    }
                    _ => return Err(self.err(n, "unsupported operands")),
                };
                self.set(out, y);
            }
            Op::Relu | Op::Sigmoid | Op::Tanh => {
                let a = self.act(n, 0)?;
                let x = self.narrow(a)?;
                let (kind, out_scale) = match op {
                    Op::Relu => (LookupKind::Relu, x.scale),
                    Op::Sigmoid => (LookupKind::Sigmoid, self.cal[out]),
                    _ => (LookupKind::Tanh, self.cal[out]),
                };
                let f = LookupFn {
                    kind,
                    in_scale: x.scale,
                    out_scale,
                };
                let y = self.push(label, IrOp::Lookup(f), vec![x.id], out_name)?;
                self.set(out, y);
            }
            Op::Flatten { .. } | Op::Reshape { .. } | Op::Squeeze { .. } | Op::Unsqueeze { .. } => {
                let a = self.act(n, 0)?;
                let x = self.carry(a, out)?;
                let y = self.reshape(&label, x, self.shape(out).to_vec(), &out_name)?;
                self.set(out, y);
            }
            Op::Transpose { perm } => {
                let a = self.act(n, 0)?;
                let x = self.carry(a, out)?;
                let perm = perm
                    .clone()
                    .unwrap_or_else(|| (0..self.shape(a).len()).rev().collect());
                let y = self.push(label, IrOp::Transpose { perm }, vec![x.id], out_name)?;
                self.set(out, y);
            }
            Op::Identity | Op::Dropout | Op::Pad { .. } => {
                // Pad reaches here only with all-zero pads (checked by the coverage analysis).
                let a = self.act(n, 0)?;
                let x = self.carry(a, out)?;
                self.set(out, x);
                if self.low[a].is_some_and(|l| l.id == x.id) && self.cal[out] == self.cal[a] {
                    self.narrow_cache[out] = self.narrow_cache[a];
                }
            }
            Op::BatchNorm { epsilon } => {
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
            }
            Op::Pool {
                kind: PoolKind::Average { count_include_pad },
                window,
            } => {
                let a = self.act(n, 0)?;
                let y = self.average_pool(n, &label, a, window, *count_include_pad, out)?;
                self.set(out, y);
            }
            Op::GlobalAveragePool => {
                let a = self.act(n, 0)?;
                let s = self.shape(a);
                if s.len() != 4 {
                    return Err(self.err(n, "only 2-D global pooling is supported"));
                }
                let window = WindowSpec {
                    auto_pad: crate::ops::AutoPad::Valid,
                    kernel: Some(vec![s[2], s[3]]),
                    strides: None,
                    pads: None,
                    dilations: None,
                    ceil_mode: false,
                };
                let y = self.average_pool(n, &label, a, &window, false, out)?;
                self.set(out, y);
            }
            other => return Err(self.err(n, format!("{other:?} cannot be lowered"))),
        }
        Ok(())
    }

    fn issue(&self, n: usize, e: Issue) -> ModelError {
        match e {
            Issue::Invalid(d) | Issue::Unsupported(d) => self.err(n, d),
        }
    }

    /// Folds channel-wise ops that follow a linear layer into its weights: BatchNormalization
    /// (channel axis 1), and Add/Sub/Mul by a constant that varies only along `axis`. Returns
    /// the value the (fused) layer now produces.
    fn fuse(&mut self, start: ValueId, lin: &mut Linear, axis: usize) -> ValueId {
        let m: &'a OnnxModel = self.m;
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

    /// A float constant quantised at `scale`, as an IR constant of its own shape.
    fn scaled_const(
        &mut self,
        n: usize,
        label: &str,
        c: &Tensor,
        scale: u32,
    ) -> Result<TensorId, ModelError> {
        let vals: Vec<f64> = c.to_f32().iter().map(|&v| v as f64).collect();
        let q = self.quant_at(n, &vals, scale)?;
        Ok(self.const_tensor(format!("{label}/const"), c.shape.clone(), q, scale))
    }

    /// Adds or subtracts two computed values, first bringing them to a common scale that is
    /// range-safe for whichever operands must be rescaled.
    fn add_acts(
        &mut self,
        label: &str,
        a: (Low, ValueId),
        b: (Low, ValueId),
        op: IrOp,
        out_name: &str,
    ) -> Result<Low, ModelError> {
        let mut t = a.0.scale.min(b.0.scale);
        loop {
            let mut changed = false;
            for (low, v) in [a, b] {
                if low.scale > t && t > self.cal[v] {
                    t = self.cal[v];
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut ids = Vec::with_capacity(2);
        for (i, (low, v)) in [a, b].into_iter().enumerate() {
            ids.push(self.lower_to(&format!("{label}/align{i}"), low, v, t)?.id);
        }
        self.push(label.to_string(), op, ids, out_name.to_string())
    }

    /// Rescales `low` (standing for value `v`) down to scale `t <= cal[v]`. When one step would
    /// shift by more than `max_shift`, it first goes to `cal[v]` (a shift within the bound by
    /// construction), then on to `t`.
    fn lower_to(
        &mut self,
        label: &str,
        mut low: Low,
        v: ValueId,
        t: u32,
    ) -> Result<Low, ModelError> {
        let name = self.m.value_name(v).to_string();
        if low.scale > t + self.opts.max_shift {
            let c = self.cal[v];
            let shift = IrOp::Rescale {
                shift: low.scale - c,
            };
            low = self.push(
                format!("{label}/narrow"),
                shift,
                vec![low.id],
                format!("{name}/q"),
            )?;
        }
        if low.scale > t {
            let shift = IrOp::Rescale {
                shift: low.scale - t,
            };
            low = self.push(
                label.to_string(),
                shift,
                vec![low.id],
                format!("{name}/at{t}"),
            )?;
        }
        Ok(low)
    }

    /// `a`'s IR tensor for an op producing `out` that keeps its scale (layout ops, adding a
    /// constant). It is narrowed first if staying wide would later need a rescale shift above
    /// `max_shift` for `out` (whose range may be larger than `a`'s).
    fn carry(&mut self, a: ValueId, out: ValueId) -> Result<Low, ModelError> {
        let x = self.get(a)?;
        if x.scale > self.cal[out] + self.opts.max_shift {
            self.narrow(a)
        } else {
            Ok(x)
        }
    }

    /// Both factors of an activation product, narrowed, and lowered further if the product's
    /// scale would exceed `cal[out] + max_shift`.
    fn product_operands(
        &mut self,
        label: &str,
        a: ValueId,
        b: ValueId,
        out: ValueId,
    ) -> Result<(Low, Low), ModelError> {
        let (xa, xb) = (self.narrow(a)?, self.narrow(b)?);
        let limit = self.cal[out] + self.opts.max_shift;
        let (mut ta, mut tb) = (xa.scale, xb.scale);
        while ta + tb > limit && ta + tb > 0 {
            if ta >= tb { ta -= 1 } else { tb -= 1 }
        }
        Ok((
            self.lower_to(&format!("{label}/lhs"), xa, a, ta)?,
            self.lower_to(&format!("{label}/rhs"), xb, b, tb)?,
        ))
    }

    fn reshape(
        &mut self,
        label: &str,
        x: Low,
        shape: Vec<usize>,
        out_name: &str,
    ) -> Result<Low, ModelError> {
        if self.tensors[x.id].shape == shape {
            return Ok(x);
        }
        self.push(
            format!("{label}/reshape"),
            IrOp::Reshape { shape },
            vec![x.id],
            out_name.to_string(),
        )
    }

    /// Average pooling as a depthwise convolution: each channel convolved with a window of
    /// `1/count`. When every window counts the same number of elements, `1/count` is the
    /// weight (exact for power-of-two windows); otherwise the window sums are multiplied by a
    /// constant map of `1/count` per output position.
    fn average_pool(
        &mut self,
        n: usize,
        label: &str,
        a: ValueId,
        window: &WindowSpec,
        count_include_pad: bool,
        out: ValueId,
    ) -> Result<Low, ModelError> {
        let out_name = self.m.value_name(out).to_string();
        let x = self.narrow(a)?;
        let xs = self.shape(a).to_vec();
        let g = pool_geometry(window, &xs).map_err(|e| self.issue(n, e))?;
        let (c, h, w) = (xs[1], xs[2], xs[3]);
        let mut pads = g.pads;
        for i in 0..2 {
            let span = (g.kernel[i] - 1) * g.dilations[i] + 1;
            let need =
                ((g.out[i] - 1) * g.strides[i] + span) as isize - ([h, w][i] + g.pads[i]) as isize;
            pads[i + 2] = need.max(0) as usize;
        }
        let attrs = ConvAttrs {
            strides: g.strides,
            pads,
            dilations: g.dilations,
            group: c,
        };
        if attrs.output_hw(h, w, g.kernel[0], g.kernel[1]) != Some((g.out[0], g.out[1])) {
            return Err(self.err(n, "pooling geometry cannot be expressed as a convolution"));
        }
        let mut counts = Vec::with_capacity(g.out[0] * g.out[1]);
        for i in 0..g.out[0] {
            for j in 0..g.out[1] {
                let (rh, ph) = window_counts(i, 0, &g, h);
                let (rw, pw) = window_counts(j, 1, &g, w);
                counts.push(if count_include_pad { ph * pw } else { rh * rw }.max(1));
            }
        }
        let taps = g.kernel[0] * g.kernel[1];
        let w_shape = vec![c, 1, g.kernel[0], g.kernel[1]];
        if counts.iter().all(|&k| k == counts[0]) {
            let lin = Linear::new(vec![1.0 / counts[0] as f64; c * taps], w_shape, None);
            return self.emit_linear(n, x, &lin, Some(attrs), out, "");
        }
        // Window sums (weights exactly 1 at scale 0), then one product per output position.
        let wid = self.const_tensor(format!("{label}/window"), w_shape, vec![1; c * taps], 0);
        let sums = self.push(
            format!("{label}/sum"),
            IrOp::Conv(attrs),
            vec![x.id, wid],
            format!("{out_name}/sum"),
        )?;
        let recip: Vec<f64> = counts.iter().map(|&k| 1.0 / k as f64).collect();
        let cap = self.weight_cap(sums.scale, self.cal[out]);
        let (q, s) = self.quant_weight(n, &recip, cap)?;
        let cid = self.const_tensor(
            format!("{label}/divisor"),
            vec![1, 1, g.out[0], g.out[1]],
            q,
            s,
        );
        self.push(
            format!("{label}/mean"),
            IrOp::Mul,
            vec![sums.id, cid],
            out_name,
        )
    }
}

fn pow2(s: u32) -> f64 {
    (1u64 << s) as f64
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
