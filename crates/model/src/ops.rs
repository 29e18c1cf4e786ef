//! ONNX operators the front end understands, parsed from a node's attributes with the defaults
//! of the model's opset. An op that is not listed here, or a listed op with an attribute value
//! we do not handle, becomes a reason string that ends up in the coverage report.

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
}

/// What the front end can do with an op when one of its inputs is computed at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Runtime {
    /// Runs in the float reference and lowers to the integer IR.
    Quantised,
    /// Runs in the float reference only; the reason says what the IR lacks.
    FloatOnly(&'static str),
    /// Only supported when every input is a constant (shape arithmetic), folded at load time.
    FoldOnly,
}

impl Op {
    /// What happens to this op when it sees run-time values.
    pub(crate) fn runtime(&self) -> Runtime {
        match self {
            Op::Pool {
                kind: PoolKind::Max,
                ..
            } => Runtime::FloatOnly(
                "MaxPool needs a max gadget; the IR has no max op yet (planned for v2)",
            ),
            Op::Shape { .. }
            | Op::Gather { .. }
            | Op::Concat { .. }
            | Op::Cast { .. }
            | Op::Slice { .. }
            | Op::ConstantOfShape(_)
            | Op::Constant(_) => Runtime::FoldOnly,
            _ => Runtime::Quantised,
        }
    }

    /// How many outputs the op produces.
    pub(crate) fn output_count(&self) -> usize {
        match self {
            Op::Dropout => 2,
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
            if mode != "constant" {
                return Err(format!(
                    "Pad mode '{mode}' is not supported (only 'constant')"
                ));
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
        other => return Err(format!("op '{other}' is not implemented")),
    };
    Ok(op)
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
            parse(&node("LSTM", vec![]), 13)
                .unwrap_err()
                .contains("'LSTM'")
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
