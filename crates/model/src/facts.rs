//! What load-time analysis knows about each value (shape, element type, constant value) and
//! its verdict on each node. The analysis fills these in (`analysis.rs`); coverage, the float
//! run and lowering read them.

use crate::tensor::{DType, Tensor};

/// What the analysis knows about a value.
#[derive(Clone, Debug)]
pub(crate) struct ValueState {
    /// Shape, when known (unknown downstream of unsupported nodes).
    pub(crate) shape: Option<Vec<usize>>,
    pub(crate) dtype: DType,
    /// The value, when it is constant (initialiser or folded).
    pub(crate) constant: Option<Tensor>,
}

/// The verdict on one node.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum NodeStatus {
    /// No graph output depends on it.
    Dead,
    /// All inputs constant: evaluated at load time.
    Folded,
    /// Runs at run time; `quant` says whether it lowers to the IR (and why not).
    Runtime { quant: Result<(), String> },
    /// Cannot run at all.
    Unsupported(String),
    /// Depends on an unsupported node; not analysed.
    Unreached,
}

/// The analysed graph.
#[derive(Clone, Debug)]
pub(crate) struct Analysis {
    pub(crate) values: Vec<ValueState>,
    pub(crate) status: Vec<NodeStatus>,
    /// For each value, the live nodes that read it (in topological order).
    pub(crate) consumers: Vec<Vec<usize>>,
}

impl Analysis {
    /// True when every live node can run in float.
    pub(crate) fn float_ready(&self) -> bool {
        self.status.iter().all(|s| {
            matches!(
                s,
                NodeStatus::Dead | NodeStatus::Folded | NodeStatus::Runtime { .. }
            )
        })
    }
}
