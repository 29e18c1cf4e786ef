//! A small programmatic graph builder, for circuits written by hand (the scoring circuits) and
//! for tests: each call adds one node and returns its output tensor.

use crate::{Graph, IrError, Node, Op, TensorDef, TensorId, TensorKind};

/// Builds a [`Graph`] node by node.
#[derive(Debug, Clone)]
pub struct GraphBuilder {
    graph: Graph,
}

impl Default for GraphBuilder {
    fn default() -> Self {
        GraphBuilder::new()
    }
}

impl GraphBuilder {
    /// An empty graph.
    pub fn new() -> GraphBuilder {
        GraphBuilder {
            graph: Graph {
                tensors: vec![],
                nodes: vec![],
                inputs: vec![],
                outputs: vec![],
            },
        }
    }

    fn tensor(&mut self, name: &str, shape: &[usize], scale: u32, kind: TensorKind) -> TensorId {
        self.graph.tensors.push(TensorDef {
            name: name.into(),
            shape: shape.to_vec(),
            scale,
            kind,
        });
        self.graph.tensors.len() - 1
    }

    /// Adds a model input.
    pub fn input(&mut self, name: &str, shape: &[usize], scale: u32) -> TensorId {
        let t = self.tensor(name, shape, scale, TensorKind::Input);
        self.graph.inputs.push(t);
        t
    }

    /// Adds a constant.
    pub fn constant(
        &mut self,
        name: &str,
        shape: &[usize],
        scale: u32,
        data: Vec<i64>,
    ) -> TensorId {
        self.tensor(name, shape, scale, TensorKind::Const(data))
    }

    /// Adds a scalar constant (shape `[]`).
    pub fn scalar(&mut self, name: &str, scale: u32, value: i64) -> TensorId {
        self.constant(name, &[], scale, vec![value])
    }

    /// Adds a node; its output's shape and scale follow from the op.
    pub fn node(&mut self, name: &str, op: Op, inputs: &[TensorId]) -> Result<TensorId, IrError> {
        let defs: Vec<&TensorDef> = inputs
            .iter()
            .map(|&i| {
                self.graph.tensors.get(i).ok_or(IrError::UnknownTensor {
                    node: self.graph.nodes.len(),
                    tensor: i,
                    count: self.graph.tensors.len(),
                })
            })
            .collect::<Result<_, _>>()?;
        let shape = op.output_shape(name, &defs)?;
        let scale = op.output_scale(&defs);
        let out = self.tensor(name, &shape, scale, TensorKind::Computed);
        self.graph.nodes.push(Node {
            name: name.into(),
            op,
            inputs: inputs.to_vec(),
            output: out,
        });
        Ok(out)
    }

    /// Marks model outputs and returns the validated graph.
    pub fn finish(mut self, outputs: &[TensorId]) -> Result<Graph, IrError> {
        self.graph.outputs = outputs.to_vec();
        self.graph.validate()?;
        Ok(self.graph)
    }
}
