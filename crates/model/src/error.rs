use thiserror::Error;

use crate::coverage::CoverageReport;

/// Everything that can go wrong between ONNX bytes and a quantised IR graph.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The file is larger than the loader accepts.
    #[error("the model is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes are not a well-formed ONNX protobuf.
    #[error("not a valid ONNX file: {0}")]
    Decode(String),
    /// The protobuf decoded, but the model is not a well-formed ONNX graph.
    #[error("malformed ONNX model: {0}")]
    Malformed(String),
    /// The model imports an operator-set version outside the supported range.
    #[error("the model uses ONNX opset {version}; supported opsets are {min} to {max}")]
    Opset {
        /// The model's default-domain opset.
        version: i64,
        /// Lowest supported opset.
        min: i64,
        /// Highest supported opset.
        max: i64,
    },
    /// A constant tensor (initialiser or attribute) cannot be decoded.
    #[error("tensor '{name}': {detail}")]
    Tensor {
        /// Tensor name.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// A graph input or output is unusable (no shape, not a float tensor, ...).
    #[error("graph {kind} '{name}': {detail}")]
    Signature {
        /// `input` or `output`.
        kind: &'static str,
        /// Value name.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// A node's operands do not fit its op (the model itself is inconsistent).
    #[error("node {node} ({op}): {detail}")]
    Shape {
        /// Node label (name, or position and output when unnamed).
        node: String,
        /// ONNX op type.
        op: String,
        /// What is wrong.
        detail: String,
    },
    /// The model uses ops or configurations the front end does not support; the report names
    /// each one.
    #[error("{0}")]
    Unsupported(Box<CoverageReport>),
    /// Values passed to the model do not fit its inputs.
    #[error("input {index}: {detail}")]
    Input {
        /// Which model input.
        index: usize,
        /// What is wrong.
        detail: String,
    },
    /// The calibration run shows a value too large for any fixed-point scale, or is unusable.
    #[error("calibration: tensor '{tensor}': {detail}")]
    Calibration {
        /// The ONNX value.
        tensor: String,
        /// What is wrong.
        detail: String,
    },
    /// A constant cannot be represented in fixed point within the configured bits.
    #[error("quantising node {node}: {detail}")]
    Quantise {
        /// Node label.
        node: String,
        /// What is wrong.
        detail: String,
    },
    /// The quantised model is too far from the float model at some layer.
    #[error(
        "node {node} ({op}): the quantised value '{value}' is off by {error:.3e} on {sample}, \
         above the bound {bound:.3e} (|float| up to {reference:.3e}); the model's values do \
         not fit fixed point well at this layer"
    )]
    Accuracy {
        /// Node label.
        node: String,
        /// ONNX op type.
        op: String,
        /// The ONNX value checked.
        value: String,
        /// Largest absolute error found.
        error: f64,
        /// The bound it exceeds.
        bound: f64,
        /// Largest float magnitude of the value.
        reference: f64,
        /// Which sample input.
        sample: String,
    },
    /// Invalid quantisation options.
    #[error("quantisation options: {0}")]
    Options(String),
    /// The lowered integer graph failed validation or execution.
    #[error(transparent)]
    Ir(#[from] omron_ir::IrError),
}
