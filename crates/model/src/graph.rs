//! From decoded protobuf to a resolved graph: every value name bound to exactly one source
//! (runtime input, initialiser or node output), nodes sorted topologically, ops parsed by the
//! parser the caller gives (the graph knows nothing of what an op is: `O` is its payload).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use prost::Message;

use crate::error::ModelError;
use crate::proto::{ModelProto, NodeProto, ValueInfoProto, data_type};
use crate::tensor::{DType, MAX_TENSOR_ELEMENTS, Tensor, checked_numel};

/// Largest `.onnx` file the loader accepts: 512 MiB.
pub const MAX_MODEL_BYTES: usize = 512 << 20;

/// Lowest and highest default-domain opset accepted. Semantics are implemented from the operator
/// changelog for 7..=21; unknown attributes are refused, so a later change surfaces as a reason.
pub const MIN_OPSET: i64 = 7;
/// See [`MIN_OPSET`].
pub const MAX_OPSET: i64 = 21;

/// Index of a value in [`OnnxGraph::values`].
pub(crate) type ValueId = usize;

/// Where a value comes from.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    /// Runtime input number `n`.
    Input(usize),
    /// An initialiser.
    Const(Tensor),
    /// Output of node `n` (index into [`OnnxGraph::nodes`]).
    Node(usize),
}

/// A named value.
#[derive(Clone, Debug)]
pub(crate) struct Value {
    pub(crate) name: String,
    pub(crate) source: Source,
}

/// A node with its operands resolved.
#[derive(Clone, Debug)]
pub(crate) struct GraphNode<O> {
    /// Position in the ONNX file (nodes are re-sorted; reports use the file position).
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) op_type: String,
    /// Operands; `None` for an omitted optional input (empty name).
    pub(crate) inputs: Vec<Option<ValueId>>,
    /// Results; `None` for an omitted optional output.
    pub(crate) outputs: Vec<Option<ValueId>>,
    /// The parsed op, or why it is not supported.
    pub(crate) op: Result<O, String>,
}

impl<O> GraphNode<O> {
    /// A human label: the node name, or its position and first output when it has none
    /// (PyTorch's opset-9 exporter leaves names empty).
    pub(crate) fn label(&self, graph: &OnnxGraph<O>) -> String {
        if !self.name.is_empty() {
            return format!("'{}'", self.name);
        }
        match self.outputs.iter().flatten().next() {
            Some(&v) => format!("#{} (output '{}')", self.index, graph.values[v].name),
            None => format!("#{}", self.index),
        }
    }
}

/// A runtime input of the model.
#[derive(Clone, Debug)]
pub(crate) struct InputDef {
    pub(crate) value: ValueId,
    /// Concrete shape; symbolic dimensions are taken as 1 (batch of one).
    pub(crate) shape: Vec<usize>,
    /// Element type: `F32` for real-valued inputs, `I64` for integer inputs (token ids),
    /// which are carried at scale 0 as integers.
    pub(crate) dtype: DType,
}

/// A resolved ONNX graph.
#[derive(Clone, Debug)]
pub(crate) struct OnnxGraph<O> {
    pub(crate) values: Vec<Value>,
    /// Topological order.
    pub(crate) nodes: Vec<GraphNode<O>>,
    pub(crate) inputs: Vec<InputDef>,
    pub(crate) outputs: Vec<ValueId>,
    /// Default-domain opset.
    pub(crate) opset: i64,
    pub(crate) producer: String,
}

impl<O> OnnxGraph<O> {
    /// Decodes and resolves `bytes`, parsing each node with `parse` (node, default-domain opset).
    pub(crate) fn decode(
        bytes: &[u8],
        parse: impl Fn(&NodeProto, i64) -> Result<O, String>,
    ) -> Result<OnnxGraph<O>, ModelError> {
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(ModelError::TooLarge {
                size: bytes.len(),
                limit: MAX_MODEL_BYTES,
            });
        }
        // prost bounds nesting depth (100) and checks every length prefix against the bytes
        // left, so hostile input cannot recurse or allocate without bound here.
        let model = ModelProto::decode(bytes).map_err(|e| ModelError::Decode(e.to_string()))?;
        Self::from_proto(model, parse)
    }

    fn from_proto(
        model: ModelProto,
        parse: impl Fn(&NodeProto, i64) -> Result<O, String>,
    ) -> Result<OnnxGraph<O>, ModelError> {
        let malformed = |s: String| ModelError::Malformed(s);
        let opset = model
            .opset_import
            .iter()
            .filter(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .filter_map(|o| o.version)
            .max()
            .ok_or_else(|| malformed("no opset import for the default ONNX domain".into()))?;
        if !(MIN_OPSET..=MAX_OPSET).contains(&opset) {
            return Err(ModelError::Opset {
                version: opset,
                min: MIN_OPSET,
                max: MAX_OPSET,
            });
        }
        let producer = format!("{} {}", model.producer_name, model.producer_version)
            .trim()
            .to_string();
        let graph = model
            .graph
            .ok_or_else(|| malformed("the model has no graph".into()))?;
        if !graph.sparse_initializer.is_empty() {
            return Err(malformed("sparse initialisers are not supported".into()));
        }

        let mut values: Vec<Value> = Vec::new();
        let mut by_name: HashMap<String, ValueId> = HashMap::new();
        let mut define = |name: &str, source: Source, values: &mut Vec<Value>| {
            if name.is_empty() {
                return Err(malformed("a value has an empty name".into()));
            }
            if by_name.contains_key(name) {
                return Err(malformed(format!(
                    "value '{name}' is defined more than once"
                )));
            }
            by_name.insert(name.to_string(), values.len());
            values.push(Value {
                name: name.to_string(),
                source,
            });
            Ok(values.len() - 1)
        };

        for init in &graph.initializer {
            let t = Tensor::from_proto(init).map_err(|detail| ModelError::Tensor {
                name: init.name.clone(),
                detail,
            })?;
            define(&init.name, Source::Const(t), &mut values)?;
        }
        let mut inputs = Vec::new();
        for info in &graph.input {
            // Opset-9 exporters list every initialiser as a graph input too: those are
            // constants, not inputs.
            if graph.initializer.iter().any(|i| i.name == info.name) {
                continue;
            }
            let (shape, dtype) = input_shape(info)?;
            let value = define(&info.name, Source::Input(inputs.len()), &mut values)?;
            inputs.push(InputDef {
                value,
                shape,
                dtype,
            });
        }
        for (n, node) in graph.node.iter().enumerate() {
            for out in node.output.iter().filter(|o| !o.is_empty()) {
                define(out, Source::Node(n), &mut values)?;
            }
        }
        let mut nodes = Vec::with_capacity(graph.node.len());
        for (index, node) in graph.node.iter().enumerate() {
            let resolve = |name: &String| -> Result<Option<ValueId>, ModelError> {
                if name.is_empty() {
                    return Ok(None);
                }
                by_name.get(name).copied().map(Some).ok_or_else(|| {
                    malformed(format!(
                        "node {index} ('{}', {}) reads '{name}', which nothing defines",
                        node.name, node.op_type
                    ))
                })
            };
            let inputs = node
                .input
                .iter()
                .map(resolve)
                .collect::<Result<Vec<_>, _>>()?;
            let outputs = node
                .output
                .iter()
                .map(resolve)
                .collect::<Result<Vec<_>, _>>()?;
            nodes.push(GraphNode {
                index,
                name: node.name.clone(),
                op_type: node.op_type.clone(),
                inputs,
                outputs,
                op: parse(node, opset),
            });
        }
        let outputs = graph
            .output
            .iter()
            .map(|o| {
                by_name
                    .get(&o.name)
                    .copied()
                    .ok_or_else(|| ModelError::Signature {
                        kind: "output",
                        name: o.name.clone(),
                        detail: "nothing in the graph defines it".into(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if outputs.is_empty() {
            return Err(malformed("the graph has no outputs".into()));
        }
        let nodes = topo_sort(nodes, &values)?;
        // Sorting moved nodes: point each value at its producer's new position.
        for (pos, node) in nodes.iter().enumerate() {
            for &v in node.outputs.iter().flatten() {
                values[v].source = Source::Node(pos);
            }
        }
        Ok(OnnxGraph {
            values,
            nodes,
            inputs,
            outputs,
            opset,
            producer,
        })
    }
}

/// The shape and element type of a graph input. Floating point inputs are real values;
/// integer inputs (token ids: int64, int32 and the narrower integer types) are integers at
/// scale 0. Booleans and other types are refused.
fn input_shape(info: &ValueInfoProto) -> Result<(Vec<usize>, DType), ModelError> {
    let err = |detail: String| ModelError::Signature {
        kind: "input",
        name: info.name.clone(),
        detail,
    };
    let tensor = info
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .ok_or_else(|| err("is not a tensor".into()))?;
    let elem = tensor.elem_type.unwrap_or(data_type::UNDEFINED);
    let dtype = match DType::from_onnx(elem) {
        Some(d) if elem != data_type::BOOL => d,
        _ => {
            return Err(err(format!(
                "has element type {}; only floating point and integer inputs are supported",
                data_type::name(elem)
            )));
        }
    };
    let shape = tensor
        .shape
        .as_ref()
        .ok_or_else(|| err("has no declared shape".into()))?;
    let mut dims = Vec::with_capacity(shape.dim.len());
    for d in &shape.dim {
        dims.push(match d.dim_value {
            // Symbolic (batch) dimensions: one sample per proof.
            None => 1,
            Some(v) if v >= 1 => usize::try_from(v).map_err(|_| err(format!("dimension {v}")))?,
            Some(v) => return Err(err(format!("has dimension {v}"))),
        });
    }
    if checked_numel(&dims).is_none() {
        return Err(err(format!(
            "shape {dims:?} exceeds {MAX_TENSOR_ELEMENTS} elements"
        )));
    }
    Ok((dims, dtype))
}

/// Kahn's algorithm, always taking the earliest ready node in file order, so the result is
/// deterministic and equals the file order when that is already topological.
fn topo_sort<O>(
    nodes: Vec<GraphNode<O>>,
    values: &[Value],
) -> Result<Vec<GraphNode<O>>, ModelError> {
    let n = nodes.len();
    let mut indegree = vec![0usize; n];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, node) in nodes.iter().enumerate() {
        let mut deps: Vec<usize> = node
            .inputs
            .iter()
            .flatten()
            .filter_map(|&v| match values[v].source {
                Source::Node(p) => Some(p),
                _ => None,
            })
            .collect();
        deps.sort_unstable();
        deps.dedup();
        for p in deps {
            if p == i {
                return Err(ModelError::Malformed(format!(
                    "node {i} reads its own output"
                )));
            }
            indegree[i] += 1;
            users[p].push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| indegree[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &u in &users[i] {
            indegree[u] -= 1;
            if indegree[u] == 0 {
                ready.push(Reverse(u));
            }
        }
    }
    if order.len() != n {
        return Err(ModelError::Malformed("the graph has a cycle".into()));
    }
    let mut slots: Vec<Option<GraphNode<O>>> = nodes.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}
