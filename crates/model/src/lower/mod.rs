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
//! Ops whose lowering has intermediate values of its own (softmax, layer normalisation, the
//! recurrent cells, division) choose their scales from the calibration run: the float values
//! of the node's inputs are at hand (`Lowerer::float`), and the op's internals are recomputed
//! in `f64` to size each intermediate with the same margin as every ONNX value.
//!
//! This file holds the state and the shared helpers; each op family lowers in its own module:
//! `linear` (Gemm, MatMul, Conv, batch norm folding), `elementwise` (arithmetic, lookups,
//! comparisons, Where, Clip, Max/Min), `select` (layout and selection ops), `reduce`
//! (reductions, ArgMax, Softmax, LayerNormalization, pooling) and `rnn` (LSTM, GRU).
//! It is over 800 lines because those modules share one state and about thirty small
//! helpers (narrowing, alignment, rescaling, lookups, slices, max trees) that live here.

mod elementwise;
mod linear;
mod reduce;
mod rnn;
mod select;

use std::collections::BTreeMap;

use omron_ir::{LookupFn, LookupKind, Node, Op as IrOp, TensorDef, TensorId, TensorKind};

use crate::ModelError;
use crate::analysis::NodeStatus;
use crate::graph::{Source, ValueId};
use crate::infer::Issue;
use crate::model::OnnxModel;
use crate::ops::{Op, Unary};
use crate::quantise::{Probe, QuantOptions, QuantisedModel};
use crate::tensor::Tensor;

/// An IR tensor standing for an ONNX value (or an intermediate), and its scale.
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

struct Lowerer<'a> {
    m: &'a OnnxModel,
    opts: &'a QuantOptions,
    cal: &'a [u32],
    /// Float values of every run-time value on the calibration input.
    trace: Option<&'a [Option<Tensor>]>,
    tensors: Vec<TensorDef>,
    nodes: Vec<Node>,
    low: Vec<Option<Low>>,
    narrow_cache: Vec<Option<Low>>,
    absorbed: Vec<bool>,
    /// Division nodes whose denominator is a `Sqrt` folded into them: node -> the Sqrt's input
    /// (lowered as a multiplication by an `Rsqrt` lookup).
    rsqrt_of: BTreeMap<usize, ValueId>,
    /// Final `Mul` nodes of an erf-form GELU chain folded into one `Gelu` table: node -> x.
    gelu_at: BTreeMap<usize, ValueId>,
}

/// Lowers every run-time node of `m` using activation scales `cal` (one per ONNX value) and,
/// when calibrated, the float `trace` of the calibration input.
pub(crate) fn lower(
    m: &OnnxModel,
    cal: &[u32],
    trace: Option<&[Option<Tensor>]>,
    opts: &QuantOptions,
) -> Result<QuantisedModel, ModelError> {
    let g = &m.graph;
    let mut l = Lowerer {
        m,
        opts,
        cal,
        trace,
        tensors: Vec::new(),
        nodes: Vec::new(),
        low: vec![None; g.values.len()],
        narrow_cache: vec![None; g.values.len()],
        absorbed: vec![false; g.nodes.len()],
        rsqrt_of: BTreeMap::new(),
        gelu_at: BTreeMap::new(),
    };
    l.fuse_rsqrt();
    l.fuse_gelu();
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
    // Every ONNX value with an IR tensor of its own, for the per-layer accuracy check.
    let mut probes = Vec::new();
    for (v, low) in l.low.iter().enumerate() {
        let (Some(low), Source::Node(n)) = (low, &g.values[v].source) else {
            continue;
        };
        let node = &g.nodes[*n];
        probes.push(Probe {
            value: m.value_name(v).to_string(),
            node: node.label(g),
            op_type: node.op_type.clone(),
            tensor: low.id,
            scale: low.scale,
        });
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
        calibrated: trace.is_some(),
        options: opts.clone(),
        graph,
        probes,
        sample_accuracy: Vec::new(),
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

    fn names(&self, n: usize) -> Result<(String, ValueId, String), ModelError> {
        let out = self.output(n)?;
        Ok((self.label(n), out, self.m.value_name(out).to_string()))
    }

    fn lower_node(&mut self, n: usize) -> Result<(), ModelError> {
        let m: &'a OnnxModel = self.m;
        let node = &m.graph.nodes[n];
        let Ok(op) = &node.op else {
            return Err(self.err(n, "unsupported op"));
        };
        if let Some(&x) = self.gelu_at.get(&n) {
            return self.gelu(n, x);
        }
        match op {
            Op::Gemm {
                alpha,
                beta,
                trans_a,
                trans_b,
            } => self.gemm(n, alpha, beta, trans_a, trans_b),
            Op::MatMul => self.matmul(n),
            Op::Conv { window, group } => self.conv(n, window, group),
            Op::BatchNorm { epsilon } => self.batch_norm(n, epsilon),
            Op::Add | Op::Sub => self.add_sub(n, op),
            Op::Mul | Op::Div => self.mul_div(n, op),
            Op::Relu => self.lookup_node(n, LookupKind::Relu),
            Op::Sigmoid => self.lookup_node(n, LookupKind::Sigmoid),
            Op::Tanh => self.lookup_node(n, LookupKind::Tanh),
            Op::Unary(u) => self.unary(n, *u),
            Op::Pow => self.pow(n),
            Op::Compare(c) => self.compare(n, *c),
            Op::Logic(l) => self.logic(n, *l),
            Op::Where => self.where_(n),
            Op::Clip { min, max } => self.clip(n, *min, *max),
            Op::Nary(k) => self.nary(n, *k),
            Op::Flatten { .. } | Op::Reshape { .. } | Op::Squeeze { .. } | Op::Unsqueeze { .. } => {
                self.reshape_node(n)
            }
            Op::Transpose { perm } => self.transpose(n, perm.clone()),
            Op::Identity | Op::Dropout | Op::Cast { .. } => self.pass(n),
            Op::Pad { value, .. } => self.pad(n, *value),
            Op::PadMode { mode, pads } => self.pad_mode(n, *mode, pads.clone()),
            Op::Slice { attrs } => self.slice(n, attrs.clone()),
            Op::Concat { axis } => self.concat(n, *axis),
            Op::Gather { axis } => self.gather(n, *axis),
            Op::Split { .. } => self.split(n),
            Op::Pool { kind, window } => self.pool(n, *kind, window),
            Op::GlobalAveragePool => self.global_average_pool(n),
            Op::Reduce {
                kind,
                axes,
                keepdims,
                noop_with_empty_axes,
            } => self.reduce(n, *kind, axes, *keepdims, *noop_with_empty_axes),
            Op::ArgExtreme {
                max,
                axis,
                keepdims,
                select_last_index,
            } => self.arg_extreme(n, *max, *axis, *keepdims, *select_last_index),
            Op::Softmax { axis, legacy, log } => self.softmax(n, *axis, *legacy, *log),
            Op::LayerNorm { axis, epsilon } => self.layer_norm(n, *axis, *epsilon),
            Op::Rnn(spec) => self.rnn(n, spec),
            Op::Shape { .. } | Op::Constant(_) | Op::ConstantOfShape(_) => Err(self.err(
                n,
                format!("{op:?} is only supported on constants (folded at load time)"),
            )),
        }
    }

    /// Marks `Sqrt` nodes whose only consumer divides by them (`a / sqrt(v)`, or
    /// `Reciprocal(sqrt(v))`): the pair lowers to one `Rsqrt` lookup, which is both cheaper and
    /// more precise than a square root followed by a division (the decomposed
    /// LayerNormalization of older exporters).
    fn fuse_rsqrt(&mut self) {
        let m: &'a OnnxModel = self.m;
        let g = &m.graph;
        for (n, node) in g.nodes.iter().enumerate() {
            if !matches!(node.op, Ok(Op::Unary(Unary::Sqrt)))
                || !matches!(m.analysis.status[n], NodeStatus::Runtime { quant: Ok(()) })
            {
                continue;
            }
            let (Some(Some(s)), Some(Some(v))) = (node.outputs.first(), node.inputs.first()) else {
                continue;
            };
            if g.outputs.contains(s) || m.analysis.consumers[*s].len() != 1 {
                continue;
            }
            let c = m.analysis.consumers[*s][0];
            let user = &g.nodes[c];
            let fusable = match &user.op {
                Ok(Op::Div) => {
                    user.inputs.get(1) == Some(&Some(*s)) && user.inputs.first() != Some(&Some(*s))
                }
                Ok(Op::Unary(Unary::Reciprocal)) => true,
                _ => false,
            };
            if fusable && matches!(m.analysis.status[c], NodeStatus::Runtime { quant: Ok(()) }) {
                self.absorbed[n] = true;
                self.rsqrt_of.insert(c, *v);
            }
        }
    }

    /// Finds `0.5 * x * (1 + erf(x / sqrt(2)))` (PyTorch's exact GELU: Div or Mul by the
    /// constant, Erf, Add 1, Mul by x, Mul by 0.5, operands in either order) whose inner values
    /// are used only by the chain, and folds it into one `Gelu` table at its last node.
    fn fuse_gelu(&mut self) {
        let m: &'a OnnxModel = self.m;
        let g = &m.graph;
        let runtime_ok =
            |n: usize| matches!(m.analysis.status[n], NodeStatus::Runtime { quant: Ok(()) });
        // The only consumer of value `v` (not a graph output), if any.
        let sole = |v: ValueId| -> Option<usize> {
            (!g.outputs.contains(&v) && m.analysis.consumers[v].len() == 1)
                .then(|| m.analysis.consumers[v][0])
                .filter(|&c| runtime_ok(c))
        };
        let scalar = |v: Option<ValueId>| -> Option<f64> {
            let t = m.analysis.values[v?].constant.as_ref()?;
            let f = t.to_f32();
            (f.len() == 1).then(|| f[0] as f64)
        };
        let out0 = |n: usize| g.nodes[n].outputs.first().copied().flatten();
        // The operand of binary node `n` that is not `v`, and whether `v` is the first.
        let other = |n: usize, v: ValueId| -> Option<(Option<ValueId>, bool)> {
            let ins = &g.nodes[n].inputs;
            match (
                ins.first().copied().flatten(),
                ins.get(1).copied().flatten(),
            ) {
                (Some(a), b) if a == v && b != Some(v) => Some((b, true)),
                (a, Some(b)) if b == v && a != Some(v) => Some((a, false)),
                _ => None,
            }
        };
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs();
        for (n_erf, node) in g.nodes.iter().enumerate() {
            if !matches!(node.op, Ok(Op::Unary(Unary::Erf))) || !runtime_ok(n_erf) {
                continue;
            }
            let chain = (|| {
                let t1 = node.inputs.first().copied().flatten()?;
                let n_scale = match g.values[t1].source {
                    Source::Node(p) if runtime_ok(p) && sole(t1) == Some(n_erf) => p,
                    _ => return None,
                };
                let x = g.nodes[n_scale].inputs.first().copied().flatten()?;
                let k = scalar(g.nodes[n_scale].inputs.get(1).copied().flatten())?;
                let ok = match g.nodes[n_scale].op {
                    Ok(Op::Div) => close(k, std::f64::consts::SQRT_2),
                    Ok(Op::Mul) => close(k, std::f64::consts::FRAC_1_SQRT_2),
                    _ => false,
                };
                if !ok || m.analysis.values[x].constant.is_some() {
                    return None;
                }
                let t2 = out0(n_erf)?;
                let n_add = sole(t2)?;
                let (one, _) = other(n_add, t2)?;
                if !matches!(g.nodes[n_add].op, Ok(Op::Add)) || scalar(one) != Some(1.0) {
                    return None;
                }
                let t3 = out0(n_add)?;
                let n_mul = sole(t3)?;
                let (xv, _) = other(n_mul, t3)?;
                if !matches!(g.nodes[n_mul].op, Ok(Op::Mul)) || xv != Some(x) {
                    return None;
                }
                let t4 = out0(n_mul)?;
                let n_half = sole(t4)?;
                let (half, _) = other(n_half, t4)?;
                if !matches!(g.nodes[n_half].op, Ok(Op::Mul)) || scalar(half) != Some(0.5) {
                    return None;
                }
                Some((x, [n_scale, n_erf, n_add, n_mul], n_half))
            })();
            if let Some((x, inner, last)) = chain {
                for i in inner {
                    self.absorbed[i] = true;
                }
                self.gelu_at.insert(last, x);
            }
        }
    }

    /// The folded GELU chain ending at node `n`: one table from `x`.
    fn gelu(&mut self, n: usize, x: ValueId) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let xq = self.narrow(x)?;
        let y = self.lookup(&label, xq, LookupKind::Gelu, self.cal[out], &out_name)?;
        self.set(out, y);
        Ok(())
    }

    fn issue(&self, n: usize, e: Issue) -> ModelError {
        match e {
            Issue::Invalid(d) | Issue::Unsupported(d) => self.err(n, d),
        }
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

    /// The product `a * b` of two bounded tensors, their scales lowered first if needed so
    /// that the product can later be rescaled to `target` within `max_shift`.
    fn product(
        &mut self,
        label: &str,
        a: Low,
        b: Low,
        target: u32,
        name: &str,
    ) -> Result<Low, ModelError> {
        let limit = target + self.opts.max_shift;
        let (mut ta, mut tb) = (a.scale, b.scale);
        while ta + tb > limit && ta + tb > 0 {
            if ta >= tb { ta -= 1 } else { tb -= 1 }
        }
        let a = self.rescale(&format!("{label}/lhs"), a, ta, name)?;
        let b = self.rescale(&format!("{label}/rhs"), b, tb, name)?;
        self.binary(label, IrOp::Mul, a, b, name)
    }

    /// Brings tensors to one common scale: the lowest of their scales, lowered further to the
    /// range-safe scale (`safe`) of any operand that must be rescaled.
    fn align(&mut self, label: &str, items: &[(Low, u32)]) -> Result<Vec<Low>, ModelError> {
        let Some(mut t) = items.iter().map(|(l, _)| l.scale).min() else {
            return Ok(Vec::new());
        };
        loop {
            let mut changed = false;
            for (low, safe) in items {
                if low.scale > t && t > *safe {
                    t = *safe;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, (low, safe)) in items.iter().enumerate() {
            let name = self.tensors[low.id].name.clone();
            out.push(self.bring_to(&format!("{label}/align{i}"), *low, *safe, t, &name)?);
        }
        Ok(out)
    }

    /// What shape inference knows about each input of node `n` (for the attribute resolvers
    /// shared with `infer_nn`).
    fn operands(&self, n: usize) -> Vec<Option<crate::infer::Operand<'a>>> {
        let m: &'a OnnxModel = self.m;
        m.graph.nodes[n]
            .inputs
            .iter()
            .map(|v| {
                v.map(|v| {
                    let s = &m.analysis.values[v];
                    crate::infer::Operand {
                        shape: s.shape.as_deref().unwrap_or_default(),
                        dtype: s.dtype,
                        value: s.constant.as_ref(),
                    }
                })
            })
            .collect()
    }

    /// The float value of `v` on the calibration input (run-time values from the trace,
    /// constants from the analysis); `None` when uncalibrated.
    fn float(&self, v: ValueId) -> Option<&'a Tensor> {
        let trace: &'a [Option<Tensor>] = self.trace?;
        let m: &'a OnnxModel = self.m;
        trace[v].as_ref().or(m.analysis.values[v].constant.as_ref())
    }

    /// The float value of `v` as `f64`s, when calibrated.
    fn float_vals(&self, v: ValueId) -> Option<Vec<f64>> {
        self.float(v)
            .map(|t| t.to_f32().iter().map(|&x| x as f64).collect())
    }

    /// Scale of an intermediate whose calibration values reach `max_abs` (`None` when
    /// uncalibrated: the default scale): the largest scale up to `cap` that keeps it in the
    /// activation range with the margin.
    fn internal_scale(
        &self,
        n: usize,
        what: &str,
        max_abs: Option<f64>,
        cap: u32,
    ) -> Result<u32, ModelError> {
        let Some(max_abs) = max_abs else {
            return Ok(self.opts.default_scale.min(cap));
        };
        if !max_abs.is_finite() {
            return Err(self.err(n, format!("{what} is not finite on the calibration input")));
        }
        (0..=cap)
            .rev()
            .find(|&s| max_abs * self.opts.margin * pow2(s) <= omron_ir::ACT_MAX as f64)
            .ok_or_else(|| {
                self.err(
                    n,
                    format!(
                        "{what} reaches {max_abs} on the calibration input, beyond the \
                         activation range even at scale 0"
                    ),
                )
            })
    }

    /// `Rescale` of `x` down to scale `t` (nothing when it is already there).
    fn rescale(&mut self, label: &str, x: Low, t: u32, name: &str) -> Result<Low, ModelError> {
        if x.scale <= t {
            return Ok(x);
        }
        self.push(
            label.to_string(),
            IrOp::Rescale { shift: x.scale - t },
            vec![x.id],
            name.to_string(),
        )
    }

    /// A table lookup of `kind` from `x`'s scale to `out_scale`.
    fn lookup(
        &mut self,
        label: &str,
        x: Low,
        kind: LookupKind,
        out_scale: u32,
        name: &str,
    ) -> Result<Low, ModelError> {
        let f = LookupFn {
            kind,
            in_scale: x.scale,
            out_scale,
        };
        self.push(
            label.to_string(),
            IrOp::Lookup(f),
            vec![x.id],
            name.to_string(),
        )
    }

    /// A constant of `shape` holding integers `data` at `scale`.
    fn int_const(&mut self, name: String, shape: Vec<usize>, data: Vec<i64>, scale: u32) -> Low {
        let id = self.const_tensor(name, shape, data, scale);
        Low { id, scale }
    }

    /// A binary IR op on two tensors.
    fn binary(
        &mut self,
        label: &str,
        op: IrOp,
        a: Low,
        b: Low,
        name: &str,
    ) -> Result<Low, ModelError> {
        self.push(label.to_string(), op, vec![a.id, b.id], name.to_string())
    }

    /// `x` multiplied by the exact integer `k` given at scale `k_scale` (the result has scale
    /// `x.scale + k_scale`; `k = 2^k_scale` relabels `x` at a higher scale, exactly).
    fn mul_int(
        &mut self,
        label: &str,
        x: Low,
        k: i64,
        k_scale: u32,
        name: &str,
    ) -> Result<Low, ModelError> {
        let c = self.int_const(format!("{label}/k"), vec![], vec![k], k_scale);
        self.binary(label, IrOp::Mul, x, c, name)
    }

    /// Brings `x` (range-safe at scale `safe`) to scale `t`: down by rescaling, up by an
    /// exact multiplication by a power of two.
    fn bring_to(
        &mut self,
        label: &str,
        x: Low,
        safe: u32,
        t: u32,
        name: &str,
    ) -> Result<Low, ModelError> {
        match x.scale.cmp(&t) {
            std::cmp::Ordering::Equal => Ok(x),
            std::cmp::Ordering::Greater => {
                let mut x = x;
                if x.scale > t + self.opts.max_shift && safe > t && safe < x.scale {
                    x = self.rescale(&format!("{label}/narrow"), x, safe, name)?;
                }
                self.rescale(label, x, t, name)
            }
            std::cmp::Ordering::Less => {
                let up = t - x.scale;
                if up > 40 {
                    return Err(ModelError::Quantise {
                        node: label.to_string(),
                        detail: format!("cannot raise a value from scale {} to {t}", x.scale),
                    });
                }
                self.mul_int(label, x, 1 << up, up, name)
            }
        }
    }

    /// Slice of `x` along `axis`: `count` elements from `start` with `step`.
    fn slice_axis(
        &mut self,
        label: &str,
        x: Low,
        axis: usize,
        (start, count, step): (usize, usize, usize),
        name: &str,
    ) -> Result<Low, ModelError> {
        let shape = self.tensors[x.id].shape.clone();
        if start == 0 && step == 1 && count == shape[axis] {
            return Ok(x);
        }
        let mut starts = vec![0; shape.len()];
        let mut ends = shape.clone();
        let mut steps = vec![1; shape.len()];
        starts[axis] = start;
        ends[axis] = start + (count - 1) * step + 1;
        steps[axis] = step;
        self.push(
            label.to_string(),
            IrOp::Slice {
                starts,
                ends,
                steps,
            },
            vec![x.id],
            name.to_string(),
        )
    }

    /// Pairwise `Max` (or `Min`) of equal-scale tensors, as a balanced tree.
    fn extreme_tree(
        &mut self,
        label: &str,
        mut parts: Vec<Low>,
        max: bool,
        name: &str,
    ) -> Result<Low, ModelError> {
        let mut level = 0;
        while parts.len() > 1 {
            let mut next = Vec::with_capacity(parts.len().div_ceil(2));
            for (i, pair) in parts.chunks(2).enumerate() {
                next.push(match pair {
                    [a, b] => self.binary(
                        &format!("{label}/max{level}.{i}"),
                        if max { IrOp::Max } else { IrOp::Min },
                        *a,
                        *b,
                        name,
                    )?,
                    [a] => *a,
                    _ => unreachable_empty()?,
                });
            }
            parts = next;
            level += 1;
        }
        parts.pop().ok_or_else(|| ModelError::Quantise {
            node: label.to_string(),
            detail: "a maximum over nothing".into(),
        })
    }

    /// Max (or min) over `axis` of a range-safe `x`, keeping the axis as size 1: the axis is
    /// halved repeatedly (two overlapping halves when odd, which max/min do not mind).
    fn reduce_extreme_axis(
        &mut self,
        label: &str,
        mut x: Low,
        axis: usize,
        max: bool,
        name: &str,
    ) -> Result<Low, ModelError> {
        let mut level = 0;
        loop {
            let len = self.tensors[x.id].shape[axis];
            if len <= 1 {
                return Ok(x);
            }
            let half = len.div_ceil(2);
            let l = format!("{label}/halve{level}");
            let a = self.slice_axis(&format!("{l}/lo"), x, axis, (0, half, 1), name)?;
            let b = self.slice_axis(&format!("{l}/hi"), x, axis, (len - half, half, 1), name)?;
            x = self.binary(&l, if max { IrOp::Max } else { IrOp::Min }, a, b, name)?;
            level += 1;
        }
    }
}

fn pow2(s: u32) -> f64 {
    (1u64 << s) as f64
}

/// The empty case of a `chunks(2)` match, which cannot happen.
fn unreachable_empty() -> Result<Low, ModelError> {
    Err(ModelError::Quantise {
        node: "max tree".into(),
        detail: "internal: empty chunk".into(),
    })
}
