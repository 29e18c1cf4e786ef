use thiserror::Error;

/// Errors from building or executing a [`crate::Graph`].
#[derive(Debug, Error, PartialEq, Eq)]
pub enum IrError {
    /// A node refers to a tensor id that does not exist.
    #[error("node {node} refers to tensor {tensor}, but the graph has {count} tensors")]
    UnknownTensor {
        /// Index of the node.
        node: usize,
        /// The missing tensor id.
        tensor: usize,
        /// Number of tensors in the graph.
        count: usize,
    },
    /// An op received the wrong number of inputs.
    #[error("node '{node}' ({op}): expected {expected} inputs, got {actual}")]
    Arity {
        /// Node name.
        node: String,
        /// Op name.
        op: &'static str,
        /// Expected number of inputs.
        expected: usize,
        /// Actual number of inputs.
        actual: usize,
    },
    /// Shapes do not fit the op.
    #[error("node '{node}' ({op}): {detail}")]
    Shape {
        /// Node name.
        node: String,
        /// Op name.
        op: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// An operand that must be a constant is not.
    #[error("node '{node}' ({op}): input {index} must be a constant")]
    NotConst {
        /// Node name.
        node: String,
        /// Op name.
        op: &'static str,
        /// Position of the input.
        index: usize,
    },
    /// A bounded activation left its range: the model needs smaller scales.
    #[error(
        "node '{node}' ({op}): value {value} is outside the {bits}-bit activation range; \
         the model's activations are too large for its scale (recompile with a smaller scale)"
    )]
    ActivationOverflow {
        /// Node name.
        node: String,
        /// Op name.
        op: &'static str,
        /// The offending value.
        value: i64,
        /// Activation bits.
        bits: u32,
    },
    /// An index (an [`crate::Op::Embedding`] token id) is outside its table.
    #[error(
        "node '{node}' ({op}): index {index} of '{indices}' at position {position} is outside \
         [0, {bound})"
    )]
    IndexOutOfRange {
        /// Node name.
        node: String,
        /// Op name.
        op: &'static str,
        /// Name of the index tensor (the model input holding the token ids).
        indices: String,
        /// The offending index.
        index: i64,
        /// Its position in the index tensor (row-major).
        position: usize,
        /// The number of rows of the table.
        bound: usize,
    },
    /// An intermediate value exceeded [`crate::VALUE_BOUND`].
    #[error("node '{node}' ({op}): intermediate value exceeds 2^62 in magnitude")]
    ValueOverflow {
        /// Node name.
        node: String,
        /// Op name.
        op: &'static str,
    },
    /// The model input has the wrong size or an unusable value.
    #[error("input {index}: {detail}")]
    Input {
        /// Which model input.
        index: usize,
        /// What is wrong.
        detail: String,
    },
    /// The graph is not well formed.
    #[error("malformed graph: {0}")]
    Malformed(String),
}
