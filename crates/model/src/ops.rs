//! ONNX operators the front end understands, parsed from a node's attributes with the defaults
//! of the model's opset. An op that is not listed here, or a listed op with an attribute value
//! we do not handle, becomes a reason string that ends up in the coverage report.
//!
//! The file is long because it is one table: the op enum and its attribute types, then one
//! short parse arm per ONNX op type (about 70 of them); splitting it would scatter that table.

use crate::attrs::Attrs;
use crate::proto::NodeProto;
use crate::tensor::{DType, Tensor};

/// How a convolution or pool pads its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AutoPad {
    /// Explicit `pads`.
    NotSet,
    /// No padding.
    Valid,
    /// Pad so that `out = ceil(in / stride)`, extra padding at the end.
    SameUpper,
    /// Pad so that `out = ceil(in / stride)`, extra padding at the start.
    SameLower,
}

/// Geometry attributes shared by Conv, AveragePool and MaxPool (2-D only in v1).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct WindowSpec {
    pub(crate) auto_pad: AutoPad,
    /// `kernel_shape`; for Conv it may be absent and is then taken from the weight.
    pub(crate) kernel: Option<Vec<usize>>,
    pub(crate) strides: Option<Vec<usize>>,
    /// ONNX order: all begins, then all ends.
    pub(crate) pads: Option<Vec<usize>>,
    pub(crate) dilations: Option<Vec<usize>>,
    /// Output size rounds up instead of down (pools only).
    pub(crate) ceil_mode: bool,
}

/// The kind of pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PoolKind {
    /// Mean over the window; `count_include_pad` says whether padded zeros count.
    Average {
        /// Divide by the full window area even where it overlaps padding.
        count_include_pad: bool,
    },
    /// Maximum over the window (padding never wins).
    Max,
}

/// Opset < 10 Slice attributes: starts, ends, optional axes.
pub(crate) type SliceAttrs = (Vec<i64>, Vec<i64>, Option<Vec<i64>>);

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

/// A comparison; the result is boolean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmp {
    Greater,
    Less,
    Equal,
    GreaterOrEqual,
    LessOrEqual,
}

/// A logical operation on booleans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Logic {
    And,
    Or,
    Xor,
}

/// A variadic elementwise op with numpy broadcasting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Nary {
    Max,
    Min,
    Sum,
    Mean,
}

/// A reduction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReduceKind {
    Sum,
    Mean,
    Max,
    Min,
}

/// Padding mode of `Pad`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PadMode {
    /// A constant value.
    Constant,
    /// Repeat the edge element.
    Edge,
    /// Mirror without repeating the edge element.
    Reflect,
}

/// Which way a recurrent layer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Forward,
    Reverse,
    Bidirectional,
}

impl Direction {
    /// Number of directions (the `num_directions` axis of the weights).
    pub(crate) fn count(self) -> usize {
        if self == Direction::Bidirectional {
            2
        } else {
            1
        }
    }

    /// Whether direction number `d` runs backwards in time.
    pub(crate) fn reversed(self, d: usize) -> bool {
        self == Direction::Reverse || (self == Direction::Bidirectional && d == 1)
    }
}

/// The cell of a recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cell {
    /// Gates i, o, f, c (ONNX order).
    Lstm,
    /// Gates z, r, h; `linear_before_reset` applies the reset gate after the recurrent matmul.
    Gru { linear_before_reset: bool },
}

impl Cell {
    /// Gates per hidden unit (rows of W per direction are `gates * hidden`).
    pub(crate) fn gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru { .. } => 3,
        }
    }
}

/// Attributes of an ONNX `LSTM` or `GRU` node (default activations only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RnnSpec {
    pub(crate) cell: Cell,
    pub(crate) hidden: usize,
    pub(crate) direction: Direction,
    /// `layout = 1`: batch-first inputs and outputs.
    pub(crate) batch_first: bool,
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
    /// To 2-D at `axis`.
    Flatten { axis: i64 },
    /// To the shape in input 1 (`0` copies a dimension unless `allowzero`, `-1` is inferred).
    Reshape { allowzero: bool },
    /// Axis permutation; `None` reverses the axes.
    Transpose { perm: Option<Vec<usize>> },
    /// Copy (also Dropout at inference, whose mask output is all true).
    Identity,
    /// Inference-mode dropout: the identity, plus an all-true mask output.
    Dropout,
    /// Removes size-1 axes: from the attribute (opset < 13), input 1, or all of them.
    Squeeze { axes: Option<Vec<i64>> },
    /// Inserts size-1 axes: from the attribute (opset < 13) or input 1.
    Unsqueeze { axes: Option<Vec<i64>> },
    /// A constant from an attribute.
    Constant(Tensor),
    /// Inference batch normalisation over axis 1.
    BatchNorm { epsilon: f32 },
    /// Average or max pooling (2-D).
    Pool { kind: PoolKind, window: WindowSpec },
    /// Mean over all spatial axes.
    GlobalAveragePool,
    /// Constant-mode padding; pads from the attribute (opset < 11) or input 1.
    Pad { pads: Option<Vec<i64>>, value: f32 },
    /// The input's shape (dims `start..end`).
    Shape { start: i64, end: Option<i64> },
    /// `take` along `axis`.
    Gather { axis: i64 },
    /// Join along `axis`.
    Concat { axis: i64 },
    /// Change of element type.
    Cast { to: DType },
    /// Strided slice; attribute form for opset < 10, inputs otherwise.
    Slice { attrs: Option<SliceAttrs> },
    /// A tensor of the shape in input 0, filled with a value (default float 0).
    ConstantOfShape(Option<Tensor>),
    /// An elementwise function.
    Unary(Unary),
    /// `a ^ b` (lowered only for a constant exponent).
    Pow,
    /// Elementwise comparison (boolean result).
    Compare(Cmp),
    /// Elementwise logic on booleans.
    Logic(Logic),
    /// `cond ? a : b` with broadcasting.
    Where,
    /// Clamp to `[min, max]`: from attributes (opset < 11) or inputs 1 and 2.
    Clip { min: Option<f32>, max: Option<f32> },
    /// Variadic Max, Min, Sum or Mean.
    Nary(Nary),
    /// Reduction over `axes` (attribute, or input 1 from opset 13 for ReduceSum and 18 for
    /// the others; `None` reduces all axes unless `noop_with_empty_axes`).
    Reduce {
        kind: ReduceKind,
        axes: Option<Vec<i64>>,
        keepdims: bool,
        noop_with_empty_axes: bool,
    },
    /// Index of the first (or last) maximum or minimum along `axis`.
    ArgExtreme {
        max: bool,
        axis: i64,
        keepdims: bool,
        select_last_index: bool,
    },
    /// Softmax (or log-softmax) along `axis`; `legacy` (opset < 13) flattens all axes from
    /// `axis` on into one.
    Softmax { axis: i64, legacy: bool, log: bool },
    /// Layer normalisation over the axes from `axis` on.
    LayerNorm { axis: i64, epsilon: f32 },
    /// An LSTM or GRU layer.
    Rnn(RnnSpec),
    /// Split along `axis` into `parts` outputs (sizes from the attribute, input 1, or equal).
    Split {
        axis: i64,
        split: Option<Vec<i64>>,
        parts: usize,
    },
    /// Padding with a mode (opset 11+ form, or the opset < 11 attribute form with a
    /// non-constant mode).
    PadMode {
        mode: PadMode,
        pads: Option<Vec<i64>>,
    },
}

/// What the front end can do with an op when one of its inputs is computed at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Runtime {
    /// Runs in the float reference and lowers to the integer IR (subject to the operand
    /// checks of the analysis).
    Quantised,
    /// Only supported when every input is a constant (shape arithmetic), folded at load time.
    FoldOnly,
}

impl Op {
    /// What happens to this op when it sees run-time values.
    pub(crate) fn runtime(&self) -> Runtime {
        match self {
            Op::Shape { .. } | Op::ConstantOfShape(_) | Op::Constant(_) => Runtime::FoldOnly,
            _ => Runtime::Quantised,
        }
    }

    /// How many outputs the op produces.
    pub(crate) fn output_count(&self) -> usize {
        match self {
            Op::Dropout => 2,
            Op::Rnn(s) => match s.cell {
                Cell::Lstm => 3,
                Cell::Gru { .. } => 2,
            },
            Op::Split { parts, .. } => *parts,
            _ => 1,
        }
    }
}

/// Lowest and highest default-domain opset accepted. Semantics are implemented from the operator
/// changelog for 7..=21; unknown attributes are refused, so a later change surfaces as a reason.
pub const MIN_OPSET: i64 = 7;
/// See [`MIN_OPSET`].
pub const MAX_OPSET: i64 = 21;

/// Parses `node` for the default-domain `opset`, or says why it is not supported.
pub(crate) fn parse(node: &NodeProto, opset: i64) -> Result<Op, String> {
    if !(node.domain.is_empty() || node.domain == "ai.onnx") {
        return Err(format!(
            "operator domain '{}' is not supported",
            node.domain
        ));
    }
    let a = Attrs::new(&node.attribute)?;
    let op = match node.op_type.as_str() {
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
            match node.op_type.as_str() {
                "Add" => Op::Add,
                "Sub" => Op::Sub,
                "Mul" => Op::Mul,
                _ => Op::Div,
            }
        }
        "Relu" | "Sigmoid" | "Tanh" => {
            a.only(&[])?;
            match node.op_type.as_str() {
                "Relu" => Op::Relu,
                "Sigmoid" => Op::Sigmoid,
                _ => Op::Tanh,
            }
        }
        "Flatten" => {
            a.only(&["axis"])?;
            Op::Flatten {
                axis: a.int("axis")?.unwrap_or(1),
            }
        }
        "Reshape" => {
            a.only(&["allowzero"])?;
            Op::Reshape {
                allowzero: a.flag("allowzero", false)?,
            }
        }
        "Transpose" => {
            a.only(&["perm"])?;
            Op::Transpose {
                perm: a.non_negative_ints("perm")?,
            }
        }
        "Identity" => {
            a.only(&[])?;
            Op::Identity
        }
        "Dropout" => {
            // `ratio` is irrelevant at inference; `seed` (opset 12+) too.
            a.only(&["ratio", "seed"])?;
            Op::Dropout
        }
        "Squeeze" | "Unsqueeze" => {
            let axes = if opset < 13 {
                a.only(&["axes"])?;
                a.ints("axes")?
            } else {
                a.only(&[])?;
                None
            };
            if node.op_type == "Squeeze" {
                Op::Squeeze { axes }
            } else {
                if opset < 13 && axes.is_none() {
                    return Err("Unsqueeze needs the 'axes' attribute".into());
                }
                Op::Unsqueeze { axes }
            }
        }
        "Constant" => {
            a.only(&[
                "value",
                "value_float",
                "value_floats",
                "value_int",
                "value_ints",
            ])?;
            let t = if let Some(t) = a.tensor("value")? {
                t
            } else if let Some(f) = a.float("value_float")? {
                Tensor::f32(vec![], vec![f])
            } else if let Some(f) = a.floats("value_floats")? {
                Tensor::f32(vec![f.len()], f)
            } else if let Some(i) = a.int("value_int")? {
                Tensor::i64(vec![], vec![i])
            } else if let Some(i) = a.ints("value_ints")? {
                Tensor::i64(vec![i.len()], i)
            } else {
                return Err("Constant has no value attribute".into());
            };
            Op::Constant(t)
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
        "AveragePool" => {
            a.only(&[
                "auto_pad",
                "ceil_mode",
                "count_include_pad",
                "kernel_shape",
                "pads",
                "strides",
                "dilations",
            ])?;
            let kind = PoolKind::Average {
                count_include_pad: a.flag("count_include_pad", false)?,
            };
            Op::Pool {
                kind,
                window: window(&a, true)?,
            }
        }
        "MaxPool" => {
            a.only(&[
                "auto_pad",
                "ceil_mode",
                "dilations",
                "kernel_shape",
                "pads",
                "storage_order",
                "strides",
            ])?;
            // storage_order only affects the (unsupported) Indices output.
            Op::Pool {
                kind: PoolKind::Max,
                window: window(&a, true)?,
            }
        }
        "GlobalAveragePool" => {
            a.only(&[])?;
            Op::GlobalAveragePool
        }
        "Pad" => {
            a.only(&["mode", "pads", "value"])?;
            let mode = a.string("mode")?.unwrap_or_else(|| "constant".into());
            let mode = match mode.as_str() {
                "constant" => PadMode::Constant,
                "edge" => PadMode::Edge,
                "reflect" => PadMode::Reflect,
                other => {
                    return Err(format!(
                        "Pad mode '{other}' is not supported (only constant, edge and reflect)"
                    ));
                }
            };
            if mode != PadMode::Constant {
                let pads = if opset < 11 {
                    Some(a.ints("pads")?.ok_or("Pad needs the 'pads' attribute")?)
                } else {
                    None
                };
                return Ok(Op::PadMode { mode, pads });
            }
            if opset < 11 {
                let pads = a.ints("pads")?.ok_or("Pad needs the 'pads' attribute")?;
                Op::Pad {
                    pads: Some(pads),
                    value: a.float("value")?.unwrap_or(0.0),
                }
            } else {
                if a.has("pads") || a.has("value") {
                    return Err("Pad takes pads and value as inputs from opset 11".into());
                }
                Op::Pad {
                    pads: None,
                    value: 0.0,
                }
            }
        }
        "Shape" => {
            a.only(&["start", "end"])?;
            Op::Shape {
                start: a.int("start")?.unwrap_or(0),
                end: a.int("end")?,
            }
        }
        "Gather" => {
            a.only(&["axis"])?;
            Op::Gather {
                axis: a.int("axis")?.unwrap_or(0),
            }
        }
        "Concat" => {
            a.only(&["axis"])?;
            Op::Concat {
                axis: a.int("axis")?.ok_or("Concat needs the 'axis' attribute")?,
            }
        }
        "Cast" => {
            a.only(&["to", "saturate"])?;
            let to = a.int("to")?.ok_or("Cast needs the 'to' attribute")?;
            let to = i32::try_from(to)
                .ok()
                .and_then(DType::from_onnx)
                .ok_or_else(|| format!("Cast to element type {to} is not supported"))?;
            Op::Cast { to }
        }
        "Slice" => {
            if opset < 10 {
                a.only(&["starts", "ends", "axes"])?;
                let starts = a.ints("starts")?.ok_or("Slice needs 'starts'")?;
                let ends = a.ints("ends")?.ok_or("Slice needs 'ends'")?;
                Op::Slice {
                    attrs: Some((starts, ends, a.ints("axes")?)),
                }
            } else {
                a.only(&[])?;
                Op::Slice { attrs: None }
            }
        }
        "ConstantOfShape" => {
            a.only(&["value"])?;
            Op::ConstantOfShape(a.tensor("value")?)
        }
        "Exp" | "Log" | "Erf" | "Sqrt" | "Reciprocal" | "Abs" | "Neg" | "Softplus" | "Sign"
        | "Not" => {
            a.only(&[])?;
            Op::Unary(match node.op_type.as_str() {
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
            let elu = node.op_type == "Elu";
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
        "Greater" | "Less" | "Equal" | "GreaterOrEqual" | "LessOrEqual" => {
            a.only(&[])?;
            Op::Compare(match node.op_type.as_str() {
                "Greater" => Cmp::Greater,
                "Less" => Cmp::Less,
                "Equal" => Cmp::Equal,
                "GreaterOrEqual" => Cmp::GreaterOrEqual,
                _ => Cmp::LessOrEqual,
            })
        }
        "And" | "Or" | "Xor" => {
            a.only(&[])?;
            Op::Logic(match node.op_type.as_str() {
                "And" => Logic::And,
                "Or" => Logic::Or,
                _ => Logic::Xor,
            })
        }
        "Where" => {
            a.only(&[])?;
            Op::Where
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
            Op::Nary(match node.op_type.as_str() {
                "Max" => Nary::Max,
                "Min" => Nary::Min,
                "Sum" => Nary::Sum,
                _ => Nary::Mean,
            })
        }
        "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" => {
            let kind = match node.op_type.as_str() {
                "ReduceSum" => ReduceKind::Sum,
                "ReduceMean" => ReduceKind::Mean,
                "ReduceMax" => ReduceKind::Max,
                _ => ReduceKind::Min,
            };
            // Axes moved from an attribute to an input at opset 13 for ReduceSum, 18 for the
            // others; `noop_with_empty_axes` arrived with the input form.
            let axes_input = opset >= if kind == ReduceKind::Sum { 13 } else { 18 };
            let axes = if axes_input {
                a.only(&["keepdims", "noop_with_empty_axes"])?;
                None
            } else {
                a.only(&["axes", "keepdims"])?;
                a.ints("axes")?
            };
            Op::Reduce {
                kind,
                axes,
                keepdims: a.flag("keepdims", true)?,
                noop_with_empty_axes: a.flag("noop_with_empty_axes", false)?,
            }
        }
        "ArgMax" | "ArgMin" => {
            a.only(&["axis", "keepdims", "select_last_index"])?;
            Op::ArgExtreme {
                max: node.op_type == "ArgMax",
                axis: a.int("axis")?.unwrap_or(0),
                keepdims: a.flag("keepdims", true)?,
                select_last_index: a.flag("select_last_index", false)?,
            }
        }
        "Softmax" | "LogSoftmax" => {
            a.only(&["axis"])?;
            let legacy = opset < 13;
            Op::Softmax {
                axis: a.int("axis")?.unwrap_or(if legacy { 1 } else { -1 }),
                legacy,
                log: node.op_type == "LogSoftmax",
            }
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
        "LSTM" | "GRU" => Op::Rnn(rnn(&a, &node.op_type, opset)?),
        "Split" => {
            let split = if opset < 13 {
                a.only(&["axis", "split"])?;
                a.ints("split")?
            } else {
                a.only(&["axis", "num_outputs"])?;
                None
            };
            let parts = node.output.len();
            if let Some(n) = a.int("num_outputs")?
                && usize::try_from(n).ok() != Some(parts)
            {
                return Err(format!(
                    "Split num_outputs {n} differs from its {parts} outputs"
                ));
            }
            Op::Split {
                axis: a.int("axis")?.unwrap_or(0),
                split,
                parts,
            }
        }
        "TopK" => {
            return Err(
                "TopK is not supported: sorting is not provable in the IR yet \
                 (ArgMax, ReduceMax and MaxPool cover k = 1)"
                    .into(),
            );
        }
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(op)
}

/// Parses an `LSTM` or `GRU` node. Only the default activations are accepted (tf2onnx writes
/// them out explicitly); `clip`, `input_forget` and activation parameters change the maths
/// and are refused.
fn rnn(a: &Attrs<'_>, op_type: &str, opset: i64) -> Result<RnnSpec, String> {
    let lstm = op_type == "LSTM";
    let mut known = vec![
        "activation_alpha",
        "activation_beta",
        "activations",
        "clip",
        "direction",
        "hidden_size",
    ];
    known.push(if lstm {
        "input_forget"
    } else {
        "linear_before_reset"
    });
    if opset >= 14 {
        known.push("layout");
    }
    a.only(&known)?;
    let direction = match a.string("direction")?.as_deref() {
        None | Some("forward") => Direction::Forward,
        Some("reverse") => Direction::Reverse,
        Some("bidirectional") => Direction::Bidirectional,
        Some(other) => return Err(format!("{op_type} direction '{other}' is not valid")),
    };
    let defaults: &[&str] = if lstm {
        &["Sigmoid", "Tanh", "Tanh"]
    } else {
        &["Sigmoid", "Tanh"]
    };
    if let Some(acts) = a.strings("activations")? {
        let expected: Vec<&str> = (0..direction.count())
            .flat_map(|_| defaults.iter().copied())
            .collect();
        if acts != expected {
            return Err(format!(
                "{op_type} activations {acts:?} are not supported (only the defaults {expected:?})"
            ));
        }
    }
    for name in ["activation_alpha", "activation_beta", "clip"] {
        if a.has(name) {
            return Err(format!("{op_type} attribute '{name}' is not supported"));
        }
    }
    if a.flag("input_forget", false)? {
        return Err("LSTM input_forget=1 (coupled input and forget gates) is not supported".into());
    }
    let hidden = a
        .int("hidden_size")?
        .and_then(|h| usize::try_from(h).ok())
        .filter(|&h| (1..=1 << 16).contains(&h))
        .ok_or_else(|| format!("{op_type} needs a positive 'hidden_size'"))?;
    let cell = if lstm {
        Cell::Lstm
    } else {
        Cell::Gru {
            linear_before_reset: a.flag("linear_before_reset", false)?,
        }
    };
    // Batch-first recurrent layers are valid ONNX, but onnxruntime refuses them, so there is
    // no reference to check our unrolling against: refuse them too.
    if a.flag("layout", false)? {
        return Err(format!(
            "{op_type} layout=1 (batch-first) is not supported; export with layout=0"
        ));
    }
    Ok(RnnSpec {
        cell,
        hidden,
        direction,
        batch_first: false,
    })
}

fn window(a: &Attrs<'_>, pool: bool) -> Result<WindowSpec, String> {
    let auto_pad = match a.string("auto_pad")?.as_deref() {
        None | Some("NOTSET") => AutoPad::NotSet,
        Some("VALID") => AutoPad::Valid,
        Some("SAME_UPPER") => AutoPad::SameUpper,
        Some("SAME_LOWER") => AutoPad::SameLower,
        Some(other) => return Err(format!("auto_pad '{other}' is not a valid value")),
    };
    let kernel = a.positive_ints("kernel_shape")?;
    if pool && kernel.is_none() {
        return Err("pooling needs the 'kernel_shape' attribute".into());
    }
    Ok(WindowSpec {
        auto_pad,
        kernel,
        strides: a.positive_ints("strides")?,
        pads: a.non_negative_ints("pads")?,
        dilations: a.positive_ints("dilations")?,
        ceil_mode: a.flag("ceil_mode", false)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{AttributeProto, attribute_type as at};

    fn node(op: &str, attrs: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            attribute: attrs,
            ..Default::default()
        }
    }

    fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: Some(at::INTS),
            ints: v.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_follow_the_opset() {
        assert_eq!(
            parse(&node("Gemm", vec![]), 13).unwrap(),
            Op::Gemm {
                alpha: 1.0,
                beta: 1.0,
                trans_a: false,
                trans_b: false
            }
        );
        // Squeeze axes moved from an attribute to an input in opset 13.
        assert_eq!(
            parse(&node("Squeeze", vec![ints("axes", &[0])]), 11).unwrap(),
            Op::Squeeze {
                axes: Some(vec![0])
            }
        );
        assert!(parse(&node("Squeeze", vec![ints("axes", &[0])]), 13).is_err());
        assert!(parse(&node("Unsqueeze", vec![]), 9).is_err());
    }

    #[test]
    fn unknown_ops_domains_and_attributes_give_reasons() {
        assert!(
            parse(&node("Hardmax", vec![]), 13)
                .unwrap_err()
                .contains("'Hardmax'")
        );
        assert!(
            parse(&node("LSTM", vec![]), 13)
                .unwrap_err()
                .contains("hidden_size")
        );
        let mut n = node("Relu", vec![]);
        n.domain = "com.microsoft".into();
        assert!(parse(&n, 13).unwrap_err().contains("com.microsoft"));
        assert!(
            parse(&node("Relu", vec![ints("odd", &[1])]), 13)
                .unwrap_err()
                .contains("odd")
        );
        let neg = ints("strides", &[0, 1]);
        assert!(parse(&node("Conv", vec![neg]), 13).is_err());
    }
}
