use serde::{Deserialize, Serialize};

use crate::{IrError, Op, numel};

/// Index of a tensor in [`Graph::tensors`].
pub type TensorId = usize;

/// Where a tensor's values come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TensorKind {
    /// A model input (public in every proof); its position in [`Graph::inputs`] orders it.
    Input,
    /// A constant (weights, biases, shape-free data), row-major.
    Const(Vec<i64>),
    /// Computed by exactly one node.
    Computed,
}

/// A tensor: its shape, fixed-point scale and origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorDef {
    /// Name, for reports (the ONNX value or initialiser name where there is one).
    pub name: String,
    /// Dimensions, row-major; `[]` is a scalar.
    pub shape: Vec<usize>,
    /// Fractional bits: the integer `v` means `v / 2^scale`.
    pub scale: u32,
    /// Origin of the values.
    pub kind: TensorKind,
}

impl TensorDef {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    /// The constant data, if this tensor is a constant.
    pub fn const_data(&self) -> Option<&[i64]> {
        match &self.kind {
            TensorKind::Const(data) => Some(data),
            _ => None,
        }
    }
}

/// One operation: `output = op(inputs)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Name, for reports (the ONNX node name where there is one).
    pub name: String,
    /// The operation and its attributes.
    pub op: Op,
    /// Operand tensors, in the order the op documents.
    pub inputs: Vec<TensorId>,
    /// The tensor this node computes.
    pub output: TensorId,
}

/// A quantised model: tensors, nodes in topological order, inputs and outputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graph {
    /// Every tensor, indexed by [`TensorId`].
    pub tensors: Vec<TensorDef>,
    /// Nodes in an order where every input is defined before use.
    pub nodes: Vec<Node>,
    /// Model inputs, in ONNX order.
    pub inputs: Vec<TensorId>,
    /// Model outputs, in ONNX order.
    pub outputs: Vec<TensorId>,
}

impl Graph {
    /// The tensor with id `id`.
    ///
    /// # Panics
    /// If `id` is out of range; call [`Graph::validate`] on untrusted graphs first.
    pub fn tensor(&self, id: TensorId) -> &TensorDef {
        &self.tensors[id]
    }

    /// Checks the structure: ids in range, each computed tensor produced by exactly one earlier
    /// node, inputs and constants never produced by a node, constant sizes matching shapes,
    /// constants below [`crate::VALUE_BOUND`] in magnitude, and every node's operand shapes
    /// valid for its op.
    pub fn validate(&self) -> Result<(), IrError> {
        let count = self.tensors.len();
        for t in &self.tensors {
            // Checked before anything multiplies dimensions: a verifying key is outside data.
            let elements = t
                .shape
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .filter(|&n| n <= crate::MAX_TENSOR_ELEMENTS);
            if elements.is_none() {
                return Err(IrError::Malformed(format!(
                    "tensor '{}' has shape {:?}, more than 2^32 elements",
                    t.name, t.shape
                )));
            }
            if let TensorKind::Const(data) = &t.kind
                && data.len() != t.numel()
            {
                return Err(IrError::Malformed(format!(
                    "constant '{}' has {} values for shape {:?}",
                    t.name,
                    data.len(),
                    t.shape
                )));
            }
            // Every value the circuit handles is below 2^62 in magnitude, constants included:
            // the circuit's no-wrap bounds (e.g. of a division by a constant) assume it.
            if let TensorKind::Const(data) = &t.kind
                && let Some(v) = data
                    .iter()
                    .find(|v| v.unsigned_abs() >= crate::VALUE_BOUND as u64)
            {
                return Err(IrError::Malformed(format!(
                    "constant '{}' holds {v}, beyond 2^62 in magnitude",
                    t.name
                )));
            }
        }
        for &id in self.inputs.iter().chain(&self.outputs) {
            if id >= count {
                return Err(IrError::Malformed(format!(
                    "graph input/output {id} out of range"
                )));
            }
        }
        for &id in &self.inputs {
            if self.tensors[id].kind != TensorKind::Input {
                return Err(IrError::Malformed(format!(
                    "graph input {id} is not an Input tensor"
                )));
            }
        }
        let mut defined: Vec<bool> = self
            .tensors
            .iter()
            .map(|t| !matches!(t.kind, TensorKind::Computed))
            .collect();
        for (index, node) in self.nodes.iter().enumerate() {
            for &tensor in node.inputs.iter().chain(std::iter::once(&node.output)) {
                if tensor >= count {
                    return Err(IrError::UnknownTensor {
                        node: index,
                        tensor,
                        count,
                    });
                }
            }
            for &tensor in &node.inputs {
                if !defined[tensor] {
                    return Err(IrError::Malformed(format!(
                        "node '{}' reads tensor '{}' before it is computed",
                        node.name, self.tensors[tensor].name
                    )));
                }
            }
            if defined[node.output] {
                return Err(IrError::Malformed(format!(
                    "node '{}' writes tensor '{}', which is already defined",
                    node.name, self.tensors[node.output].name
                )));
            }
            let inputs: Vec<&TensorDef> = node.inputs.iter().map(|&i| &self.tensors[i]).collect();
            let expected = node.op.output_shape(&node.name, &inputs)?;
            let out = &self.tensors[node.output];
            if expected != out.shape {
                return Err(IrError::Shape {
                    node: node.name.clone(),
                    op: node.op.name(),
                    detail: format!(
                        "output shape {:?}, but the op gives {:?}",
                        out.shape, expected
                    ),
                });
            }
            let scale = node.op.output_scale(&inputs);
            if scale != out.scale {
                return Err(IrError::Malformed(format!(
                    "node '{}' ({}): output scale {}, but the op gives {}",
                    node.name,
                    node.op.name(),
                    out.scale,
                    scale
                )));
            }
            defined[node.output] = true;
        }
        for &id in &self.outputs {
            if !defined[id] {
                return Err(IrError::Malformed(format!(
                    "graph output {id} is never computed"
                )));
            }
        }
        Ok(())
    }

    /// Number of constant parameters (weights and biases).
    pub fn param_count(&self) -> usize {
        self.tensors
            .iter()
            .filter_map(TensorDef::const_data)
            .map(<[i64]>::len)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph_with_input_shape(shape: Vec<usize>) -> Graph {
        Graph {
            tensors: vec![TensorDef {
                name: "x".into(),
                shape,
                scale: 0,
                kind: TensorKind::Input,
            }],
            nodes: Vec::new(),
            inputs: vec![0],
            outputs: vec![0],
        }
    }

    // Found by the circuit_files fuzz target: a verifying key whose shape's product overflows
    // usize made validation panic instead of refusing the key.
    #[test]
    fn a_shape_whose_element_count_overflows_is_refused_not_a_panic() {
        for shape in [
            vec![1usize << 40, 1 << 40],
            vec![usize::MAX, 2],
            vec![(1 << 32) + 1],
        ] {
            let err = graph_with_input_shape(shape.clone())
                .validate()
                .unwrap_err();
            assert!(
                err.to_string().contains("more than 2^32 elements"),
                "{shape:?}: {err}"
            );
        }
        assert_eq!(crate::shape::numel(&[usize::MAX, 2]), usize::MAX);
        graph_with_input_shape(vec![1 << 16, 1 << 16])
            .validate()
            .unwrap();
    }
}
