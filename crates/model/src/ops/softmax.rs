//! `Softmax` and `LogSoftmax`: `x - max` (a Max tree), an `Exp` table to a high scale, the sum,
//! and one rounded `Div` per element (LogSoftmax: a `Log` table of the sum, subtracted).

use std::sync::Arc;

use omron_ir::{LookupKind, Op as IrOp};

use crate::error::ModelError;
use crate::kernel::{f64s, input, map_lanes, to_f32};
use crate::op::{Low, Lowerer, OnnxOp, OpRef, Parse};
use crate::shape::{Issue, Operand, OutInfo, float_operand, need, norm_axis, out};
use crate::tensor::{DType, Tensor};

/// Largest scale of the exponentials inside a softmax: `Div` needs the sum of `n` of them
/// below `2^32`, so the scale is also capped at `31 - bits(n)`.
const SOFTMAX_EXP_SCALE: u32 = 16;

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &["Softmax", "LogSoftmax"];

/// Softmax or log-softmax.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Softmax {
    /// Softmax (or log-softmax) along `axis`; `legacy` (opset < 13) flattens all axes from
    /// `axis` on into one.
    Softmax { axis: i64, legacy: bool, log: bool },
}

/// Parses a node of one of [`OP_TYPES`].
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    let a = &p.attrs;
    let opset = p.opset;
    let op = match p.op_type {
        "Softmax" | "LogSoftmax" => {
            a.only(&["axis"])?;
            let legacy = opset < 13;
            Softmax::Softmax {
                axis: a.int("axis")?.unwrap_or(if legacy { 1 } else { -1 }),
                legacy,
                log: p.op_type == "LogSoftmax",
            }
        }
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(Arc::new(op))
}

impl OnnxOp for Softmax {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        let f32s = DType::F32;
        match self {
            Softmax::Softmax { axis, .. } => {
                let x = need(ins, 0)?;
                float_operand(x)?;
                norm_axis(*axis, x.shape.len())?;
                out(x.shape.to_vec(), f32s)
            }
        }
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        let shape = infos[0].shape.clone();
        let x = |i: usize| input(ins, i);
        let one = |t: Tensor| -> Result<Vec<Tensor>, Issue> { Ok(vec![t]) };
        match self {
            Softmax::Softmax { axis, legacy, log } => {
                let t = x(0)?;
                let a = norm_axis(*axis, t.shape.len())?;
                let v = f64s(t);
                let y = if *legacy {
                    // Opset < 13: softmax over everything from `axis` on, as one lane.
                    let inner: usize = t.shape[a..].iter().product();
                    let mut out = Vec::with_capacity(v.len());
                    for chunk in v.chunks(inner.max(1)) {
                        let mut lane = chunk.to_vec();
                        softmax_lane(&mut lane, *log);
                        out.extend(lane);
                    }
                    out
                } else {
                    map_lanes(&v, &t.shape, a, |lane| softmax_lane(lane, *log))
                };
                one(to_f32(shape, y))
            }
        }
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        match self {
            Softmax::Softmax { axis, legacy, log } => l.softmax(n, *axis, *legacy, *log),
        }
    }
}

impl Lowerer<'_> {
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
        let a = self.act(n, 0)?;
        let x = self.narrow(a)?;
        self.softmax_of(n, x, axis, legacy, log)
    }

    /// The softmax of node `n` applied to `x` (its input, already bounded: narrowed, or
    /// masked by `ops::masked`).
    pub(crate) fn softmax_of(
        &mut self,
        n: usize,
        mut x: Low,
        axis: i64,
        legacy: bool,
        log: bool,
    ) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let shape = self.tensors[x.id].shape.clone();
        let mut axis = norm_axis(axis, shape.len()).map_err(|e| self.issue(n, e))?;
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
}

/// Softmax (or log-softmax) of one lane, in place.
pub(crate) fn softmax_lane(lane: &mut [f64], log: bool) {
    let m = lane.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = lane.iter().map(|&x| (x - m).exp()).sum();
    for x in lane.iter_mut() {
        *x = if log {
            *x - m - sum.ln()
        } else {
            (*x - m).exp() / sum
        };
    }
}
