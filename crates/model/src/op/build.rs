//! The lowering context's basic operations: reading the node being lowered, creating IR
//! tensors and nodes, quantising constants, and the calibration values at hand.

use omron_ir::{Node, Op as IrOp, TensorDef, TensorId, TensorKind};

use super::{Arg, Low, Lowerer};
use crate::error::ModelError;
use crate::graph::ValueId;
use crate::shape::{Issue, Operand};
use crate::tensor::Tensor;

impl<'a> Lowerer<'a> {
    /// The node's name, or its op type and file position when it has none (IR node names).
    pub(crate) fn label(&self, n: usize) -> String {
        let node = &self.m.graph.nodes[n];
        if node.name.is_empty() {
            format!("{}#{}", node.op_type, node.index)
        } else {
            node.name.clone()
        }
    }

    /// A quantisation error at node `n`.
    pub(crate) fn err(&self, n: usize, detail: impl Into<String>) -> ModelError {
        ModelError::Quantise {
            node: self.m.graph.nodes[n].label(self.m.graph),
            detail: detail.into(),
        }
    }

    /// Input `i` of node `n`: a constant or a computed value.
    pub(crate) fn arg(&self, n: usize, i: usize) -> Result<Arg<'a>, ModelError> {
        let m = self.m;
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

    /// Input `i` of node `n`, which must be computed at run time.
    pub(crate) fn act(&self, n: usize, i: usize) -> Result<ValueId, ModelError> {
        match self.arg(n, i)? {
            Arg::Act(v) => Ok(v),
            Arg::Const(_) => Err(self.err(n, format!("input {i} must be computed at run time"))),
        }
    }

    /// Input `i` of node `n`, which must be a float constant.
    pub(crate) fn constant(&self, n: usize, i: usize) -> Result<&'a Tensor, ModelError> {
        match self.arg(n, i)? {
            Arg::Const(t) if t.as_f32().is_some() => Ok(t),
            _ => Err(self.err(n, format!("input {i} must be a float constant"))),
        }
    }

    /// The inferred shape of value `v`.
    pub(crate) fn shape(&self, v: ValueId) -> &'a [usize] {
        let m = self.m;
        m.analysis.values[v].shape.as_deref().unwrap_or_default()
    }

    /// Output 0 of node `n`.
    pub(crate) fn output(&self, n: usize) -> Result<ValueId, ModelError> {
        self.m.graph.nodes[n]
            .outputs
            .first()
            .copied()
            .flatten()
            .ok_or_else(|| self.err(n, "output 0 is omitted"))
    }

    /// The IR tensor value `v` lowered to.
    pub(crate) fn get(&self, v: ValueId) -> Result<Low, ModelError> {
        self.low[v].ok_or_else(|| ModelError::Quantise {
            node: format!("value '{}'", self.m.value_name(v)),
            detail: "used before it is computed".into(),
        })
    }

    /// A new IR tensor.
    pub(crate) fn tensor(
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

    /// Appends an IR node computing a new tensor of the shape and scale the op gives.
    pub(crate) fn push(
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
    pub(crate) fn narrow(&mut self, v: ValueId) -> Result<Low, ModelError> {
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

    /// Records what value `v` lowered to.
    pub(crate) fn set(&mut self, v: ValueId, low: Low) {
        self.low[v] = Some(low);
    }

    /// The highest scale a constant multiplying a value at `x_scale` may take so that the
    /// product, at `x_scale + s`, is later rescaled to `target` with a shift of at most
    /// `max_shift` (the circuit range-checks each rescale remainder in a `2^shift` table).
    pub(crate) fn weight_cap(&self, x_scale: u32, target: u32) -> u32 {
        (self.opts.max_shift + target).saturating_sub(x_scale)
    }

    /// Quantises weights to the largest scale (at most `cap` and `max_weight_scale`) that
    /// keeps them within `weight_bits`.
    pub(crate) fn quant_weight(
        &self,
        n: usize,
        w: &[f64],
        cap: u32,
    ) -> Result<(Vec<i64>, u32), ModelError> {
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
    pub(crate) fn quant_at(&self, n: usize, v: &[f64], scale: u32) -> Result<Vec<i64>, ModelError> {
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

    /// An IR constant.
    pub(crate) fn const_tensor(
        &mut self,
        name: String,
        shape: Vec<usize>,
        data: Vec<i64>,
        scale: u32,
    ) -> TensorId {
        self.tensor(name, shape, scale, TensorKind::Const(data))
    }

    /// Node `n`'s label, its output 0 and that output's name.
    pub(crate) fn names(&self, n: usize) -> Result<(String, ValueId, String), ModelError> {
        let out = self.output(n)?;
        Ok((self.label(n), out, self.m.value_name(out).to_string()))
    }

    /// A shape-rule issue found while lowering node `n`, as a quantisation error.
    pub(crate) fn issue(&self, n: usize, e: Issue) -> ModelError {
        match e {
            Issue::Invalid(d) | Issue::Unsupported(d) => self.err(n, d),
        }
    }

    /// A float constant quantised at `scale`, as an IR constant of its own shape.
    pub(crate) fn scaled_const(
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

    /// What shape inference knows about each input of node `n` (for the attribute
    /// resolvers of the shape rules).
    pub(crate) fn operands(&self, n: usize) -> Vec<Option<Operand<'a>>> {
        let m = self.m;
        m.graph.nodes[n]
            .inputs
            .iter()
            .map(|v| {
                v.map(|v| {
                    let s = &m.analysis.values[v];
                    Operand {
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
    pub(crate) fn float(&self, v: ValueId) -> Option<&'a Tensor> {
        let trace: &'a [Option<Tensor>] = self.trace?;
        let m = self.m;
        trace[v].as_ref().or(m.analysis.values[v].constant.as_ref())
    }

    /// The float value of `v` as `f64`s, when calibrated.
    pub(crate) fn float_vals(&self, v: ValueId) -> Option<Vec<f64>> {
        self.float(v)
            .map(|t| t.to_f32().iter().map(|&x| x as f64).collect())
    }

    /// Scale of an intermediate whose calibration values reach `max_abs` (`None` when
    /// uncalibrated: the default scale): the largest scale up to `cap` that keeps it in the
    /// activation range with the margin.
    pub(crate) fn internal_scale(
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

    /// A constant of `shape` holding integers `data` at `scale`.
    pub(crate) fn int_const(
        &mut self,
        name: String,
        shape: Vec<usize>,
        data: Vec<i64>,
        scale: u32,
    ) -> Low {
        let id = self.const_tensor(name, shape, data, scale);
        Low { id, scale }
    }
}

/// `2^s` as a float.
pub(crate) fn pow2(s: u32) -> f64 {
    (1u64 << s) as f64
}
