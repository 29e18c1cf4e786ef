//! Elementwise functions of one operand: `Relu`, `Sigmoid`, `Tanh`, `Exp`, `Log`, `Erf`, `Sqrt`,
//! `Reciprocal`, `Abs`, `Neg`, `Softplus`, `Elu`, `LeakyRelu`, `HardSigmoid`, `Gelu`, `Sign`,
//! `Not` and `Clip`. Each is one lookup table from the input's scale to the output's (exact at
//! equal scales for Relu, Abs, LeakyRelu and Clip), or exact integer arithmetic (Neg, Not).

use std::sync::Arc;

use omron_ir::{LookupKind, Op as IrOp};

use crate::error::ModelError;
use crate::graph::ValueId;
use crate::kernel::{f64s, float_input, input, to_f32};
use crate::op::build::pow2;
use crate::op::{Low, Lowerer, OnnxOp, OpRef, Parse};
use crate::shape::{
    Issue, Operand, OutInfo, float_operand, invalid, need, need_float, optional, out,
};
use crate::tensor::{DType, Tensor};

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &[
    "Relu",
    "Sigmoid",
    "Tanh",
    "Exp",
    "Log",
    "Erf",
    "Sqrt",
    "Reciprocal",
    "Abs",
    "Neg",
    "Softplus",
    "Sign",
    "Not",
    "Elu",
    "LeakyRelu",
    "HardSigmoid",
    "Gelu",
    "Clip",
];

/// An elementwise function of one float operand (lowered to one lookup table, or exactly).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Unary {
    /// `e^x`.
    Exp,
    /// `ln x`.
    Log,
    /// The error function.
    Erf,
    /// `sqrt x`.
    Sqrt,
    /// `1 / x`.
    Reciprocal,
    /// `|x|`.
    Abs,
    /// `-x`.
    Neg,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x` for `x > 0`, else `alpha (e^x - 1)`.
    Elu { alpha: f32 },
    /// `x` for `x >= 0`, else `alpha x`.
    LeakyRelu { alpha: f32 },
    /// `max(0, min(1, alpha x + beta))`.
    HardSigmoid { alpha: f32, beta: f32 },
    /// `x Phi(x)` (exact GELU, opset 20).
    Gelu,
    /// `-1`, `0` or `1`.
    Sign,
    /// Logical not of a boolean.
    Not,
}

impl Unary {
    /// The function in `f64` (the float reference).
    pub(crate) fn apply(self, x: f64) -> f64 {
        match self {
            Unary::Exp => x.exp(),
            Unary::Log => x.ln(),
            Unary::Erf => libm::erf(x),
            Unary::Sqrt => x.sqrt(),
            Unary::Reciprocal => 1.0 / x,
            Unary::Abs => x.abs(),
            Unary::Neg => -x,
            Unary::Softplus => x.exp().ln_1p(),
            Unary::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha as f64 * x.exp_m1()
                }
            }
            Unary::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha as f64 * x
                }
            }
            Unary::HardSigmoid { alpha, beta } => (alpha as f64 * x + beta as f64).clamp(0.0, 1.0),
            Unary::Gelu => 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)),
            Unary::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Unary::Not => f64::from(u8::from(x == 0.0)),
        }
    }
}

/// An elementwise function of one operand.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// An elementwise function.
    Unary(Unary),
    /// Clamp to `[min, max]`: from attributes (opset < 11) or inputs 1 and 2.
    Clip { min: Option<f32>, max: Option<f32> },
}

/// Parses a node of one of [`OP_TYPES`].
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    let a = &p.attrs;
    let opset = p.opset;
    let op = match p.op_type {
        "Relu" | "Sigmoid" | "Tanh" => {
            a.only(&[])?;
            match p.op_type {
                "Relu" => Activation::Relu,
                "Sigmoid" => Activation::Sigmoid,
                _ => Activation::Tanh,
            }
        }
        "Exp" | "Log" | "Erf" | "Sqrt" | "Reciprocal" | "Abs" | "Neg" | "Softplus" | "Sign"
        | "Not" => {
            a.only(&[])?;
            Activation::Unary(match p.op_type {
                "Exp" => Unary::Exp,
                "Log" => Unary::Log,
                "Erf" => Unary::Erf,
                "Sqrt" => Unary::Sqrt,
                "Reciprocal" => Unary::Reciprocal,
                "Abs" => Unary::Abs,
                "Neg" => Unary::Neg,
                "Softplus" => Unary::Softplus,
                "Sign" => Unary::Sign,
                _ => Unary::Not,
            })
        }
        "Elu" | "LeakyRelu" => {
            a.only(&["alpha"])?;
            let elu = p.op_type == "Elu";
            let alpha = a.float("alpha")?.unwrap_or(if elu { 1.0 } else { 0.01 });
            Activation::Unary(if elu {
                Unary::Elu { alpha }
            } else {
                Unary::LeakyRelu { alpha }
            })
        }
        "HardSigmoid" => {
            a.only(&["alpha", "beta"])?;
            Activation::Unary(Unary::HardSigmoid {
                alpha: a.float("alpha")?.unwrap_or(0.2),
                beta: a.float("beta")?.unwrap_or(0.5),
            })
        }
        "Gelu" => {
            a.only(&["approximate"])?;
            match a.string("approximate")?.as_deref() {
                None | Some("none") => Activation::Unary(Unary::Gelu),
                Some(other) => {
                    return Err(format!(
                        "Gelu approximate='{other}' is not supported (only 'none')"
                    ));
                }
            }
        }
        "Clip" => {
            if opset < 11 {
                a.only(&["min", "max"])?;
                Activation::Clip {
                    min: a.float("min")?,
                    max: a.float("max")?,
                }
            } else {
                a.only(&[])?;
                Activation::Clip {
                    min: None,
                    max: None,
                }
            }
        }
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(Arc::new(op))
}

impl OnnxOp for Activation {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        let f32s = DType::F32;
        match self {
            Activation::Relu | Activation::Sigmoid | Activation::Tanh => {
                let x = need(ins, 0)?;
                need_float(x, "the input")?;
                out(x.shape.to_vec(), f32s)
            }
            Activation::Unary(u) => {
                let x = need(ins, 0)?;
                if *u == Unary::Not {
                    return out(x.shape.to_vec(), DType::I64);
                }
                float_operand(x)?;
                out(x.shape.to_vec(), f32s)
            }
            Activation::Clip { .. } => {
                let x = need(ins, 0)?;
                float_operand(x)?;
                for i in [1, 2] {
                    if let Some(o) = optional(ins, i)
                        && o.shape.iter().product::<usize>() != 1
                    {
                        return invalid("Clip bounds must be scalars");
                    }
                }
                out(x.shape.to_vec(), f32s)
            }
        }
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        let shape = infos[0].shape.clone();
        let x = |i: usize| input(ins, i);
        let fx = |i: usize| float_input(ins, i);
        let one = |t: Tensor| -> Result<Vec<Tensor>, Issue> { Ok(vec![t]) };
        match self {
            Activation::Relu => one(Tensor::f32(
                shape,
                fx(0)?
                    .iter()
                    .map(|&v| if v > 0.0 { v } else { 0.0 })
                    .collect(),
            )),
            Activation::Sigmoid => one(Tensor::f32(
                shape,
                fx(0)?
                    .iter()
                    .map(|&v| (1.0 / (1.0 + (-(v as f64)).exp())) as f32)
                    .collect(),
            )),
            Activation::Tanh => one(Tensor::f32(
                shape,
                fx(0)?.iter().map(|&v| (v as f64).tanh() as f32).collect(),
            )),
            Activation::Unary(u) => {
                let t = x(0)?;
                let v = f64s(t);
                if *u == Unary::Not {
                    return one(Tensor::i64(
                        shape,
                        v.iter().map(|&b| i64::from(b == 0.0)).collect(),
                    ));
                }
                one(to_f32(shape, v.into_iter().map(|a| u.apply(a))))
            }
            Activation::Clip { min, max } => {
                let t = x(0)?;
                let bound = |attr: Option<f32>, i: usize| -> Option<f32> {
                    attr.or_else(|| {
                        ins.get(i)
                            .copied()
                            .flatten()
                            .and_then(|b| b.to_f32().first().copied())
                    })
                };
                let lo = bound(*min, 1).unwrap_or(f32::MIN);
                let hi = bound(*max, 2).unwrap_or(f32::MAX);
                let v = t.as_f32().unwrap_or_default();
                // ONNX: min(max(x, lo), hi), so hi wins when lo > hi.
                one(Tensor::f32(
                    shape,
                    v.iter().map(|&a| a.max(lo).min(hi)).collect(),
                ))
            }
        }
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        match self {
            Activation::Relu => l.lookup_node(n, LookupKind::Relu),
            Activation::Sigmoid => l.lookup_node(n, LookupKind::Sigmoid),
            Activation::Tanh => l.lookup_node(n, LookupKind::Tanh),
            Activation::Unary(u) => l.unary(n, *u),
            Activation::Clip { min, max } => l.clip(n, *min, *max),
        }
    }

    fn quant_check(&self, ins: &[Option<Operand<'_>>]) -> Result<(), String> {
        match self {
            Activation::Clip { .. }
                if !(1..3).all(|i| {
                    ins.get(i)
                        .is_none_or(|o| o.as_ref().is_none_or(|o| o.value.is_some()))
                }) =>
            {
                Err("Clip bounds must be constants".into())
            }
            _ => Ok(()),
        }
    }
}

impl Lowerer<'_> {
    /// Relu, Sigmoid and Tanh: one lookup (Relu is exact at equal scales).
    pub(crate) fn lookup_node(&mut self, n: usize, kind: LookupKind) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let x = self.narrow(a)?;
        let out_scale = if kind == LookupKind::Relu {
            x.scale
        } else {
            self.cal[out]
        };
        let y = self.lookup(&label, x, kind, out_scale, &out_name)?;
        self.set(out, y);
        Ok(())
    }

    pub(crate) fn unary(&mut self, n: usize, u: Unary) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let y = match u {
            Unary::Neg => {
                let x = self.carry(a, out)?;
                self.mul_int(&label, x, -1, 0, &out_name)?
            }
            Unary::Not => {
                let x = self.get(a)?;
                let one =
                    self.int_const(format!("{label}/one"), vec![], vec![1 << x.scale], x.scale);
                self.binary(&label, IrOp::Sub, one, x, &out_name)?
            }
            Unary::Abs => {
                let x = self.narrow(a)?;
                self.lookup(&label, x, LookupKind::Abs, x.scale, &out_name)?
            }
            Unary::LeakyRelu { alpha } => {
                let alpha_milli = milli(alpha).ok_or_else(|| {
                    self.err(
                        n,
                        format!("LeakyRelu alpha {alpha} is not a multiple of 0.001"),
                    )
                })?;
                let x = self.narrow(a)?;
                self.lookup(
                    &label,
                    x,
                    LookupKind::LeakyRelu { alpha_milli },
                    x.scale,
                    &out_name,
                )?
            }
            Unary::HardSigmoid { alpha, beta } => self.hard_sigmoid(n, a, alpha, beta)?,
            _ => {
                let kind = match u {
                    Unary::Exp => LookupKind::Exp,
                    Unary::Log => LookupKind::Log,
                    Unary::Erf => LookupKind::Erf,
                    Unary::Sqrt => LookupKind::Sqrt,
                    Unary::Reciprocal => LookupKind::Reciprocal,
                    Unary::Softplus => LookupKind::Softplus,
                    Unary::Gelu => LookupKind::Gelu,
                    Unary::Sign => LookupKind::Sign,
                    Unary::Elu { alpha } => LookupKind::Elu {
                        alpha_milli: milli(alpha).ok_or_else(|| {
                            self.err(n, format!("Elu alpha {alpha} is not a multiple of 0.001"))
                        })?,
                    },
                    _ => return Err(self.err(n, format!("{u:?} has no lookup"))),
                };
                let x = self.narrow(a)?;
                self.lookup(&label, x, kind, self.cal[out], &out_name)?
            }
        };
        self.set(out, y);
        Ok(())
    }

    /// `clamp(alpha x + beta, 0, 1)`: a constant product and shift (exact at the product's
    /// scale), rescaled, then an exact clamp table.
    fn hard_sigmoid(
        &mut self,
        n: usize,
        a: ValueId,
        alpha: f32,
        beta: f32,
    ) -> Result<Low, ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let x = self.narrow(a)?;
        let s = self.cal[out];
        let cap = self.weight_cap(x.scale, s);
        let (q, sw) = self.quant_weight(n, &[alpha as f64], cap)?;
        let k = self.int_const(format!("{label}/alpha"), vec![], q, sw);
        let ax = self.binary(&format!("{label}/scale"), IrOp::Mul, x, k, &out_name)?;
        let b = self.quant_at(n, &[beta as f64], ax.scale)?;
        let bc = self.int_const(format!("{label}/beta"), vec![], b, ax.scale);
        let lin = self.binary(&format!("{label}/shift"), IrOp::Add, ax, bc, &out_name)?;
        // The affine part may exceed [0, 1]; size its scale by the calibration run.
        let max = self.float_vals(a).map(|v| {
            v.iter()
                .fold(1f64, |m, &x| m.max((alpha as f64 * x + beta as f64).abs()))
        });
        let t = self.internal_scale(n, "alpha x + beta", max, s)?;
        let lin = self.rescale(&format!("{label}/narrow"), lin, t, &out_name)?;
        self.lookup(
            &label,
            lin,
            LookupKind::Clip { lo: 0, hi: 1 << t },
            t,
            &out_name,
        )
    }

    /// Clip: an exact clamp table at the input's scale.
    pub(crate) fn clip(
        &mut self,
        n: usize,
        min: Option<f32>,
        max: Option<f32>,
    ) -> Result<(), ModelError> {
        let (label, out, out_name) = self.names(n)?;
        let a = self.act(n, 0)?;
        let bound = |l: &Self, attr: Option<f32>, i: usize| -> Result<Option<f64>, ModelError> {
            if let Some(v) = attr {
                return Ok(Some(v as f64));
            }
            match l.m.graph.nodes[n].inputs.get(i).copied().flatten() {
                None => Ok(None),
                Some(_) => Ok(l.constant(n, i)?.to_f32().first().map(|&v| v as f64)),
            }
        };
        let lo = bound(self, min, 1)?;
        let hi = bound(self, max, 2)?;
        let x = self.narrow(a)?;
        let q = |v: Option<f64>, default: i64| {
            v.map_or(default, |v| {
                (v * pow2(x.scale))
                    .round()
                    .clamp(omron_ir::ACT_MIN as f64, omron_ir::ACT_MAX as f64)
                    as i64
            })
        };
        let lo_q = q(lo, omron_ir::ACT_MIN);
        // ONNX applies max(x, lo) first, then min(., hi): hi wins when lo > hi.
        let hi_q = q(hi, omron_ir::ACT_MAX);
        let (lo_q, hi_q) = if lo_q > hi_q {
            (hi_q, hi_q)
        } else {
            (lo_q, hi_q)
        };
        let y = self.lookup(
            &label,
            x,
            LookupKind::Clip { lo: lo_q, hi: hi_q },
            x.scale,
            &out_name,
        )?;
        self.set(out, y);
        Ok(())
    }
}

/// `alpha` in thousandths, when it is one exactly (lookup parameters are integers).
fn milli(alpha: f32) -> Option<i32> {
    let m = alpha as f64 * 1000.0;
    let r = m.round();
    ((m - r).abs() <= 1e-3 && r.abs() < 1e9).then_some(r as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_parameters_are_exact_or_refused() {
        assert_eq!(milli(0.01), Some(10));
        assert_eq!(milli(1.0), Some(1000));
        assert_eq!(milli(1.0 / 6.0), None);
    }
}
