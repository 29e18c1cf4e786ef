//! ONNX operators the front end understands, parsed from a node's attributes with the defaults
//! of the model's opset. An op that is not listed here, or a listed op with an attribute value
//! we do not handle, becomes a reason string that ends up in the coverage report.
//!
//! TRANSITIONAL: the ops not yet moved into their family module (`crate::ops::<family>`).

mod eval;
mod eval_nn;
mod infer;
mod infer_nn;
mod lower_elementwise;
mod lower_linear;
mod lower_reduce;

use std::sync::Arc;

use omron_ir::LookupKind;

use crate::error::ModelError;
use crate::op::{Lowerer, OnnxOp, OpRef, Parse};
use crate::shape::{Issue, Operand, OutInfo, is_const, rank};
use crate::tensor::{DType, Tensor};
use crate::window::{WindowSpec, window};

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

/// A variadic elementwise op with numpy broadcasting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Nary {
    Max,
    Min,
    Sum,
    Mean,
}

/// A parsed ONNX operator with its attributes resolved.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Op {
    /// `Y = alpha * A' * B' + beta * C`.
    Gemm {
        alpha: f32,
        beta: f32,
        trans_a: bool,
        trans_b: bool,
    },
    /// numpy `matmul`.
    MatMul,
    /// 2-D convolution with `group` groups.
    Conv { window: WindowSpec, group: usize },
    /// Elementwise with numpy broadcasting.
    Add,
    /// Elementwise with numpy broadcasting.
    Sub,
    /// Elementwise with numpy broadcasting.
    Mul,
    /// Elementwise with numpy broadcasting (integer division truncates).
    Div,
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// Inference batch normalisation over axis 1.
    BatchNorm { epsilon: f32 },
    /// An elementwise function.
    Unary(Unary),
    /// `a ^ b` (lowered only for a constant exponent).
    Pow,
    /// Clamp to `[min, max]`: from attributes (opset < 11) or inputs 1 and 2.
    Clip { min: Option<f32>, max: Option<f32> },
    /// Variadic Max, Min, Sum or Mean.
    Nary(Nary),
    /// Layer normalisation over the axes from `axis` on.
    LayerNorm { axis: i64, epsilon: f32 },
}

/// The ONNX op types this family parses.
pub(crate) const OP_TYPES: &[&str] = &[
    "Gemm",
    "MatMul",
    "Conv",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Relu",
    "Sigmoid",
    "Tanh",
    "BatchNormalization",
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
    "Pow",
    "Clip",
    "Max",
    "Min",
    "Sum",
    "Mean",
    "LayerNormalization",
];

/// Parses a node of one of [`OP_TYPES`], or says why it is not supported.
pub(crate) fn parse(p: &Parse<'_>) -> Result<OpRef, String> {
    let a = &p.attrs;
    let opset = p.opset;
    let op = match p.op_type {
        "Gemm" => {
            a.only(&["alpha", "beta", "transA", "transB"])?;
            Op::Gemm {
                alpha: a.float("alpha")?.unwrap_or(1.0),
                beta: a.float("beta")?.unwrap_or(1.0),
                trans_a: a.flag("transA", false)?,
                trans_b: a.flag("transB", false)?,
            }
        }
        "MatMul" => {
            a.only(&[])?;
            Op::MatMul
        }
        "Conv" => {
            a.only(&[
                "auto_pad",
                "dilations",
                "group",
                "kernel_shape",
                "pads",
                "strides",
            ])?;
            let group = a.int("group")?.unwrap_or(1);
            let group = usize::try_from(group)
                .ok()
                .filter(|&g| g > 0)
                .ok_or_else(|| format!("invalid group {group}"))?;
            Op::Conv {
                window: window(&a, false)?,
                group,
            }
        }
        "Add" | "Sub" | "Mul" | "Div" => {
            a.only(&[])?;
            match p.op_type {
                "Add" => Op::Add,
                "Sub" => Op::Sub,
                "Mul" => Op::Mul,
                _ => Op::Div,
            }
        }
        "Relu" | "Sigmoid" | "Tanh" => {
            a.only(&[])?;
            match p.op_type {
                "Relu" => Op::Relu,
                "Sigmoid" => Op::Sigmoid,
                _ => Op::Tanh,
            }
        }
        "BatchNormalization" => {
            a.only(&["epsilon", "momentum", "spatial", "training_mode"])?;
            if !a.flag("spatial", true)? {
                return Err("BatchNormalization with spatial=0 is not supported".into());
            }
            if a.flag("training_mode", false)? {
                return Err("BatchNormalization in training mode is not supported".into());
            }
            Op::BatchNorm {
                epsilon: a.float("epsilon")?.unwrap_or(1e-5),
            }
        }
        "Exp" | "Log" | "Erf" | "Sqrt" | "Reciprocal" | "Abs" | "Neg" | "Softplus" | "Sign"
        | "Not" => {
            a.only(&[])?;
            Op::Unary(match p.op_type {
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
            Op::Unary(if elu {
                Unary::Elu { alpha }
            } else {
                Unary::LeakyRelu { alpha }
            })
        }
        "HardSigmoid" => {
            a.only(&["alpha", "beta"])?;
            Op::Unary(Unary::HardSigmoid {
                alpha: a.float("alpha")?.unwrap_or(0.2),
                beta: a.float("beta")?.unwrap_or(0.5),
            })
        }
        "Gelu" => {
            a.only(&["approximate"])?;
            match a.string("approximate")?.as_deref() {
                None | Some("none") => Op::Unary(Unary::Gelu),
                Some(other) => {
                    return Err(format!(
                        "Gelu approximate='{other}' is not supported (only 'none')"
                    ));
                }
            }
        }
        "Pow" => {
            a.only(&[])?;
            Op::Pow
        }
        "Clip" => {
            if opset < 11 {
                a.only(&["min", "max"])?;
                Op::Clip {
                    min: a.float("min")?,
                    max: a.float("max")?,
                }
            } else {
                a.only(&[])?;
                Op::Clip {
                    min: None,
                    max: None,
                }
            }
        }
        "Max" | "Min" | "Sum" | "Mean" => {
            a.only(&[])?;
            Op::Nary(match p.op_type {
                "Max" => Nary::Max,
                "Min" => Nary::Min,
                "Sum" => Nary::Sum,
                _ => Nary::Mean,
            })
        }
        "LayerNormalization" => {
            a.only(&["axis", "epsilon", "stash_type"])?;
            if a.int("stash_type")?.is_some_and(|t| t != 1) {
                return Err(
                    "LayerNormalization stash_type other than 1 (float) is not supported".into(),
                );
            }
            Op::LayerNorm {
                axis: a.int("axis")?.unwrap_or(-1),
                epsilon: a.float("epsilon")?.unwrap_or(1e-5),
            }
        }
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(Arc::new(op))
}

impl OnnxOp for Op {
    fn infer(&self, ins: &[Option<Operand<'_>>]) -> Result<Vec<OutInfo>, Issue> {
        infer::infer(self, ins)
    }

    fn eval(&self, ins: &[Option<&Tensor>], infos: &[OutInfo]) -> Result<Vec<Tensor>, Issue> {
        eval::eval(self, ins, infos)
    }

    fn lower(&self, l: &mut Lowerer<'_>, n: usize) -> Result<(), ModelError> {
        l.lower_legacy(n, self)
    }

    fn quant_check(&self, ins: &[Option<Operand<'_>>]) -> Result<(), String> {
        quant_check(self, ins)
    }

    fn output_count(&self) -> usize {
        match self {
            _ => 1,
        }
    }
}

/// Whether a run-time node lowers to the IR, given which operands are constant.
fn quant_check(op: &Op, ins: &[Option<Operand<'_>>]) -> Result<(), String> {
    let is_const = |i: usize| is_const(ins, i);
    let rank = |i: usize| rank(ins, i);
    let batch1 = |what: &str| {
        let b = ins
            .first()
            .and_then(|o| o.as_ref())
            .and_then(|o| o.shape.first().copied());
        if b == Some(1) {
            Ok(())
        } else {
            Err(format!(
                "{what} with batch size {b:?} (only 1 is supported)"
            ))
        }
    };
    match op {
        Op::Gemm { .. } if !is_const(1) => {
            Err("Gemm with a computed B operand needs an activation x activation matmul, which the IR lacks".into())
        }
        Op::MatMul => match (is_const(0), is_const(1)) {
            (false, true) if rank(1) <= 2 => Ok(()),
            (false, true) => Err("MatMul with a constant operand of rank > 2 is not supported".into()),
            (true, false) if rank(0) <= 2 && rank(1) == 2 => Ok(()),
            (true, false) => Err("MatMul with a constant left operand needs a 2-D right operand".into()),
            _ => Err("MatMul of two computed tensors needs an activation x activation matmul, which the IR lacks".into()),
        },
        Op::Conv { .. } => {
            if !is_const(1) || (ins.get(2).is_some_and(|o| o.is_some()) && !is_const(2)) {
                return Err("Conv weights and bias must be constants".into());
            }
            batch1("Conv")
        }
        Op::Div => {
            let int = ins.first().and_then(|o| o.as_ref()).is_some_and(|o| o.dtype == DType::I64);
            if int { Err("integer division of computed values is not supported".into()) } else { Ok(()) }
        }
        Op::BatchNorm { .. } => {
            if (1..5).all(is_const) { Ok(()) } else { Err("BatchNormalization parameters must be constants".into()) }
        }
        Op::Pow if infer_nn::pow_exponent(ins).is_none() => {
            Err("Pow needs a constant exponent (one value)".into())
        }
        Op::Clip { .. } if !(1..3).all(|i| ins.get(i).is_none_or(|o| o.as_ref().is_none_or(|o| o.value.is_some()))) => {
            Err("Clip bounds must be constants".into())
        }
        Op::LayerNorm { .. } if !(1..3).all(|i| ins.get(i).is_none_or(|o| o.as_ref().is_none_or(|o| o.value.is_some()))) => {
            Err("LayerNormalization scale and bias must be constants".into())
        }
        _ => Ok(()),
    }
}

impl Lowerer<'_> {
    fn lower_legacy(&mut self, n: usize, op: &Op) -> Result<(), ModelError> {
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
            Op::Clip { min, max } => self.clip(n, *min, *max),
            Op::Nary(k) => self.nary(n, *k),
            Op::LayerNorm { axis, epsilon } => self.layer_norm(n, *axis, *epsilon),
        }
    }
}
