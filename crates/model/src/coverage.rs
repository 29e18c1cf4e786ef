//! The op-coverage report: every op type the model uses, and each node the front end cannot
//! lower to the integer IR, with the reason.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How one ONNX op type is used by a model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpUsage {
    /// ONNX op type (`Gemm`, `Conv`, ...).
    pub op_type: String,
    /// Nodes of this type in the graph.
    pub count: usize,
    /// Of those, nodes computed at load time because all their inputs are constants
    /// (shape arithmetic such as `Shape -> Gather -> Concat`).
    pub folded: usize,
    /// Of those, nodes whose results no graph output depends on (ignored).
    pub unused: usize,
    /// Whether every live node of this type lowers to the IR.
    pub supported: bool,
}

/// A node the front end cannot lower, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsupportedNode {
    /// Position of the node in the ONNX file.
    pub index: usize,
    /// The node's name (may be empty: opset-9 PyTorch exports leave names out).
    pub name: String,
    /// The node's first output value, which identifies unnamed nodes.
    pub output: String,
    /// ONNX op type.
    pub op_type: String,
    /// Why it is not supported.
    pub reason: String,
}

impl fmt::Display for UnsupportedNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            write!(
                f,
                "{} node #{} (output '{}'): {}",
                self.op_type, self.index, self.output, self.reason
            )
        } else {
            write!(f, "{} node '{}': {}", self.op_type, self.name, self.reason)
        }
    }
}

/// Which ops a model uses and whether each lowers to the integer IR.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageReport {
    /// The default-domain opset the model imports.
    pub opset: i64,
    /// Producer name and version from the file.
    pub producer: String,
    /// Number of nodes in the graph.
    pub node_count: usize,
    /// Every op type used, sorted by name.
    pub ops: Vec<OpUsage>,
    /// Each node that cannot be lowered, in file order.
    pub unsupported: Vec<UnsupportedNode>,
    /// Nodes not analysed because they depend on an unsupported node (their own support is
    /// unknown until the unsupported ones are handled).
    pub unanalysed: usize,
}

impl CoverageReport {
    /// True when every node lowers to the IR.
    pub fn is_supported(&self) -> bool {
        self.unsupported.is_empty() && self.unanalysed == 0
    }

    /// The distinct unsupported op types, sorted.
    pub fn unsupported_ops(&self) -> Vec<&str> {
        let mut ops: Vec<&str> = self
            .unsupported
            .iter()
            .map(|u| u.op_type.as_str())
            .collect();
        ops.sort_unstable();
        ops.dedup();
        ops
    }
}

impl fmt::Display for CoverageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ops: Vec<String> = self
            .ops
            .iter()
            .map(|o| {
                let mark = if o.supported { "" } else { " (unsupported)" };
                format!("{} x{}{mark}", o.op_type, o.count)
            })
            .collect();
        write!(
            f,
            "opset {}, {} nodes: {}",
            self.opset,
            self.node_count,
            ops.join(", ")
        )?;
        if !self.unsupported.is_empty() {
            write!(
                f,
                "\n{} node(s) cannot be lowered (unsupported ops: {}):",
                self.unsupported.len(),
                self.unsupported_ops().join(", ")
            )?;
            for u in &self.unsupported {
                write!(f, "\n  - {u}")?;
            }
        }
        if self.unanalysed > 0 {
            write!(f, "\n{} later node(s) were not analysed", self.unanalysed)?;
        }
        Ok(())
    }
}
