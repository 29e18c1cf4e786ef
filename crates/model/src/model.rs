//! [`OnnxModel`]: a loaded, analysed ONNX model with its coverage report and float reference
//! execution.

use serde::{Deserialize, Serialize};

use crate::analysis::{analyse, coverage};
use crate::coverage::CoverageReport;
use crate::error::ModelError;
use crate::facts::{Analysis, NodeStatus};
use crate::graph::OnnxGraph;
use crate::op::{Graph, Loaded, run};
use crate::shape::Issue;
use crate::tensor::{DType, Tensor};

/// Largest magnitude of a value of an integer input: inputs arrive as `f32`, which holds every
/// integer up to `2^24` exactly (token ids of any vocabulary in use).
const MAX_ID: f32 = (1 << 24) as f32;

/// Name and shape of a model input or output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorInfo {
    /// ONNX value name.
    pub name: String,
    /// Concrete shape (symbolic input dimensions are taken as 1); `None` for an output whose
    /// shape could not be inferred because it depends on an unsupported node.
    pub shape: Option<Vec<usize>>,
}

/// A loaded ONNX model: resolved graph, folded constants, inferred shapes and coverage.
#[derive(Clone, Debug)]
pub struct OnnxModel {
    pub(crate) graph: Graph,
    pub(crate) analysis: Analysis,
    coverage: CoverageReport,
}

/// Decodes and analyses an ONNX model.
///
/// Succeeds for any well-formed model, including ones with unsupported ops: call
/// [`OnnxModel::coverage`] to see what can be lowered. Fails for bytes that are not ONNX,
/// models over [`crate::MAX_MODEL_BYTES`], undecodable constants, dangling value names, cycles,
/// and operand shapes no implementation could accept.
pub fn load_onnx(bytes: &[u8]) -> Result<OnnxModel, ModelError> {
    let graph = OnnxGraph::decode(bytes, crate::ops::parse)?;
    let analysis = analyse(&graph)?;
    let coverage = coverage(&graph, &analysis);
    tracing::debug!(
        nodes = coverage.node_count,
        opset = coverage.opset,
        unsupported = coverage.unsupported.len(),
        "loaded ONNX model"
    );
    Ok(OnnxModel {
        graph,
        analysis,
        coverage,
    })
}

impl OnnxModel {
    /// The op-coverage report.
    pub fn coverage(&self) -> &CoverageReport {
        &self.coverage
    }

    /// The default-domain opset.
    pub fn opset(&self) -> i64 {
        self.graph.opset
    }

    /// The runtime inputs (initialisers listed as inputs are excluded), in ONNX order.
    pub fn inputs(&self) -> Vec<TensorInfo> {
        self.graph
            .inputs
            .iter()
            .map(|i| TensorInfo {
                name: self.graph.values[i.value].name.clone(),
                shape: Some(i.shape.clone()),
            })
            .collect()
    }

    /// The outputs, in ONNX order.
    pub fn outputs(&self) -> Vec<TensorInfo> {
        self.graph
            .outputs
            .iter()
            .map(|&v| TensorInfo {
                name: self.graph.values[v].name.clone(),
                shape: self.analysis.values[v].shape.clone(),
            })
            .collect()
    }

    /// Checks `inputs` against the model's inputs: count, element counts, finiteness.
    pub(crate) fn check_inputs(&self, inputs: &[Vec<f32>]) -> Result<(), ModelError> {
        if inputs.len() != self.graph.inputs.len() {
            return Err(ModelError::Input {
                index: inputs.len().min(self.graph.inputs.len()),
                detail: format!(
                    "the model takes {} inputs, got {}",
                    self.graph.inputs.len(),
                    inputs.len()
                ),
            });
        }
        for (index, (def, data)) in self.graph.inputs.iter().zip(inputs).enumerate() {
            let want: usize = def.shape.iter().product();
            if data.len() != want {
                return Err(ModelError::Input {
                    index,
                    detail: format!(
                        "expected {want} values (shape {:?}), got {}",
                        def.shape,
                        data.len()
                    ),
                });
            }
            if let Some(i) = data.iter().position(|v| !v.is_finite()) {
                return Err(ModelError::Input {
                    index,
                    detail: format!("value {i} is not finite"),
                });
            }
            if def.dtype == DType::I64
                && let Some(i) = data
                    .iter()
                    .position(|v| v.fract() != 0.0 || v.abs() > MAX_ID)
            {
                return Err(ModelError::Input {
                    index,
                    detail: format!(
                        "value {i} ({}) is not an integer of at most 2^24 in magnitude; the \
                         input has an integer type (token ids)",
                        data[i]
                    ),
                });
            }
        }
        Ok(())
    }

    /// Runs the model in float (f32 tensors, f64 accumulation) and returns each output,
    /// flattened row-major. `inputs` holds one flattened vector per model input.
    pub fn run_float(&self, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, ModelError> {
        let trace = self.trace_float(inputs)?;
        self.outputs_of(&trace)
    }

    /// The id of the value named `name`.
    pub(crate) fn value_id(&self, name: &str) -> Option<usize> {
        self.graph.values.iter().position(|v| v.name == name)
    }

    /// The graph outputs of a float trace, flattened.
    pub(crate) fn outputs_of(&self, trace: &[Option<Tensor>]) -> Result<Vec<Vec<f32>>, ModelError> {
        self.graph
            .outputs
            .iter()
            .map(|&v| {
                match trace[v]
                    .as_ref()
                    .or(self.analysis.values[v].constant.as_ref())
                {
                    Some(t) => Ok(t.to_f32()),
                    None => Err(ModelError::Malformed(format!(
                        "output '{}' was not computed",
                        self.graph.values[v].name
                    ))),
                }
            })
            .collect()
    }

    /// Runs the model in float and returns every value computed at run time (inputs included);
    /// `None` for constants (read them from the analysis) and for values of dead nodes.
    pub(crate) fn trace_float(
        &self,
        inputs: &[Vec<f32>],
    ) -> Result<Vec<Option<Tensor>>, ModelError> {
        if !self.analysis.float_ready() {
            return Err(ModelError::Unsupported(Box::new(self.coverage.clone())));
        }
        self.check_inputs(inputs)?;
        let g = &self.graph;
        // Constants stay in the analysis: a run never copies the weights.
        let mut vals: Vec<Option<Tensor>> = vec![None; g.values.len()];
        for (def, data) in g.inputs.iter().zip(inputs) {
            vals[def.value] = Some(match def.dtype {
                DType::F32 => Tensor::f32(def.shape.clone(), data.clone()),
                // Integers checked above: exact in f32 up to 2^24.
                DType::I64 => {
                    Tensor::i64(def.shape.clone(), data.iter().map(|&x| x as i64).collect())
                }
            });
        }
        for (n, node) in g.nodes.iter().enumerate() {
            if !matches!(self.analysis.status[n], NodeStatus::Runtime { .. }) {
                continue;
            }
            let Ok(op) = &node.op else { continue };
            let results = {
                let ins: Vec<Option<&Tensor>> = node
                    .inputs
                    .iter()
                    .map(|v| {
                        v.and_then(|v| {
                            vals[v]
                                .as_ref()
                                .or(self.analysis.values[v].constant.as_ref())
                        })
                    })
                    .collect();
                run(op.as_ref(), &ins).map_err(|issue| {
                    let detail = match issue {
                        Issue::Invalid(d) | Issue::Unsupported(d) => d,
                    };
                    ModelError::Shape {
                        node: node.label(g),
                        op: node.op_type.clone(),
                        detail,
                    }
                })?
            };
            for (slot, t) in node.outputs.iter().zip(results) {
                if let Some(v) = slot {
                    // Constant outputs (Dropout's mask) keep their folded value.
                    if self.analysis.values[*v].constant.is_none() {
                        vals[*v] = Some(t);
                    }
                }
            }
        }
        Ok(vals)
    }

    /// The name of value `v` (for reports).
    pub(crate) fn value_name(&self, v: usize) -> &str {
        &self.graph.values[v].name
    }

    /// The graph and analysis, as lowering reads them.
    pub(crate) fn loaded(&self) -> Loaded<'_> {
        Loaded {
            graph: &self.graph,
            analysis: &self.analysis,
        }
    }
}
