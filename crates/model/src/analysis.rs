//! Load-time analysis: liveness, constant folding, shape inference and the per-node verdict
//! (folded, runs at run time and lowers, runs only in float, unsupported) from which the
//! coverage report is built.

use std::collections::BTreeMap;

use crate::ModelError;
use crate::coverage::{CoverageReport, OpUsage, UnsupportedNode};
use crate::eval::eval;
use crate::graph::{OnnxGraph, Source, ValueId};
use crate::infer::{Issue, Operand, infer};
use crate::ops::{Op, Runtime};
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

fn shape_err(g: &OnnxGraph, n: usize, detail: String) -> ModelError {
    let node = &g.nodes[n];
    ModelError::Shape {
        node: node.label(g),
        op: node.op_type.clone(),
        detail,
    }
}

/// Analyses `g`. Errors only for models that are inconsistent (operand shapes that no
/// implementation could accept); unsupported features become node verdicts instead.
pub(crate) fn analyse(g: &OnnxGraph) -> Result<Analysis, ModelError> {
    let mut values: Vec<ValueState> = g
        .values
        .iter()
        .map(|v| match &v.source {
            Source::Const(t) => ValueState {
                shape: Some(t.shape.clone()),
                dtype: t.dtype(),
                constant: Some(t.clone()),
            },
            Source::Input(i) => ValueState {
                shape: Some(g.inputs[*i].shape.clone()),
                dtype: DType::F32,
                constant: None,
            },
            Source::Node(_) => ValueState {
                shape: None,
                dtype: DType::F32,
                constant: None,
            },
        })
        .collect();

    let mut live = vec![false; g.values.len()];
    for &o in &g.outputs {
        live[o] = true;
    }
    let mut node_live = vec![false; g.nodes.len()];
    for (n, node) in g.nodes.iter().enumerate().rev() {
        if node.outputs.iter().flatten().any(|&v| live[v]) {
            node_live[n] = true;
            for &v in node.inputs.iter().flatten() {
                live[v] = true;
            }
        }
    }
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); g.values.len()];
    for (n, node) in g.nodes.iter().enumerate() {
        if node_live[n] {
            for &v in node.inputs.iter().flatten() {
                if consumers[v].last() != Some(&n) {
                    consumers[v].push(n);
                }
            }
        }
    }

    let mut status = Vec::with_capacity(g.nodes.len());
    for (n, node) in g.nodes.iter().enumerate() {
        if !node_live[n] {
            status.push(NodeStatus::Dead);
            continue;
        }
        let op = match &node.op {
            Ok(op) => op,
            Err(reason) => {
                status.push(NodeStatus::Unsupported(reason.clone()));
                continue;
            }
        };
        let verdict = analyse_node(g, n, op, &mut values, &live)?;
        status.push(verdict);
    }
    Ok(Analysis {
        values,
        status,
        consumers,
    })
}

fn analyse_node(
    g: &OnnxGraph,
    n: usize,
    op: &Op,
    values: &mut [ValueState],
    live: &[bool],
) -> Result<NodeStatus, ModelError> {
    let node = &g.nodes[n];
    // Outputs beyond what the op models (BatchNormalization's training statistics, MaxPool's
    // Indices, ...) must be unused.
    if let Some((k, _)) = node
        .outputs
        .iter()
        .enumerate()
        .skip(op.output_count())
        .find(|(_, v)| v.is_some_and(|v| live[v]))
    {
        return Ok(NodeStatus::Unsupported(format!(
            "output {k} ({}) is not supported",
            node.op_type
        )));
    }
    let known = node
        .inputs
        .iter()
        .flatten()
        .all(|&v| values[v].shape.is_some());
    let all_const = node
        .inputs
        .iter()
        .flatten()
        .all(|&v| values[v].constant.is_some());
    if !known {
        return Ok(if op.runtime() == Runtime::FoldOnly {
            NodeStatus::Unsupported(fold_only_reason(&node.op_type))
        } else {
            NodeStatus::Unreached
        });
    }
    let outs: Vec<Option<ValueId>> = node.outputs.clone();
    let set = |values: &mut [ValueState], i: usize, t: Tensor| {
        if let Some(Some(v)) = outs.get(i) {
            values[*v] = ValueState {
                shape: Some(t.shape.clone()),
                dtype: t.dtype(),
                constant: Some(t),
            };
        }
    };
    // Shape only needs the input's shape, which is known even for run-time values.
    if let (Op::Shape { start, end }, Some(Some(x))) = (op, node.inputs.first())
        && let Some(shape) = values[*x].shape.clone()
    {
        let r = shape.len() as i64;
        let fix = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
        let s = fix(*start);
        let e = fix(end.unwrap_or(r)).max(s);
        let dims: Vec<i64> = shape[s..e].iter().map(|&d| d as i64).collect();
        set(values, 0, Tensor::i64(vec![dims.len()], dims));
        return Ok(NodeStatus::Folded);
    }
    if all_const {
        let ins: Vec<Option<&Tensor>> = node
            .inputs
            .iter()
            .map(|v| v.and_then(|v| values[v].constant.as_ref()))
            .collect();
        return match eval(op, &ins) {
            Ok(results) => {
                for (i, t) in results.into_iter().enumerate() {
                    set(values, i, t);
                }
                Ok(NodeStatus::Folded)
            }
            Err(Issue::Invalid(d)) => Err(shape_err(g, n, d)),
            Err(Issue::Unsupported(d)) => Ok(NodeStatus::Unsupported(d)),
        };
    }
    if op.runtime() == Runtime::FoldOnly {
        return Ok(NodeStatus::Unsupported(fold_only_reason(&node.op_type)));
    }
    let operands: Vec<Option<Operand<'_>>> = node
        .inputs
        .iter()
        .map(|v| {
            v.map(|v| {
                let s = &values[v];
                Operand {
                    shape: s.shape.as_deref().unwrap_or_default(),
                    dtype: s.dtype,
                    value: s.constant.as_ref(),
                }
            })
        })
        .collect();
    let infos = match infer(op, &operands) {
        Ok(i) => i,
        Err(Issue::Invalid(d)) => return Err(shape_err(g, n, d)),
        Err(Issue::Unsupported(d)) => return Ok(NodeStatus::Unsupported(d)),
    };
    let quant = quant_check(op, &operands);
    for (i, info) in infos.into_iter().enumerate() {
        if let Some(Some(v)) = outs.get(i) {
            values[*v] = ValueState {
                shape: Some(info.shape.clone()),
                dtype: info.dtype,
                constant: None,
            };
            // Dropout's mask is all true at inference: a constant.
            if matches!(op, Op::Dropout) && i == 1 {
                let len = info.shape.iter().product();
                values[*v].constant = Some(Tensor::i64(info.shape, vec![1; len]));
            }
        }
    }
    Ok(NodeStatus::Runtime { quant })
}

fn fold_only_reason(op_type: &str) -> String {
    format!(
        "{op_type} is only supported on constant inputs (shape arithmetic); here it reads a value computed at run time"
    )
}

/// Whether a run-time node lowers to the IR, given which operands are constant.
fn quant_check(op: &Op, ins: &[Option<Operand<'_>>]) -> Result<(), String> {
    let is_const = |i: usize| {
        ins.get(i)
            .and_then(|o| o.as_ref())
            .is_some_and(|o| o.value.is_some())
    };
    let rank = |i: usize| {
        ins.get(i)
            .and_then(|o| o.as_ref())
            .map_or(0, |o| o.shape.len())
    };
    let batch1 = |what: &str| {
        let b = ins
            .first()
            .and_then(|o| o.as_ref())
            .and_then(|o| o.shape.first().copied());
        if b == Some(1) {
            Ok(())
        } else {
            Err(format!(
                "{what} with batch size {b:?} (only 1 is supported)"
            ))
        }
    };
    match op {
        Op::Gemm { .. } if !is_const(1) => {
            Err("Gemm with a computed B operand needs an activation x activation matmul, which the IR lacks".into())
        }
        Op::MatMul => match (is_const(0), is_const(1)) {
            (false, true) if rank(1) <= 2 => Ok(()),
            (false, true) => Err("MatMul with a constant operand of rank > 2 is not supported".into()),
            (true, false) if rank(0) <= 2 && rank(1) == 2 => Ok(()),
            (true, false) => Err("MatMul with a constant left operand needs a 2-D right operand".into()),
            _ => Err("MatMul of two computed tensors needs an activation x activation matmul, which the IR lacks".into()),
        },
        Op::Conv { .. } => {
            if !is_const(1) || (ins.get(2).is_some_and(|o| o.is_some()) && !is_const(2)) {
                return Err("Conv weights and bias must be constants".into());
            }
            batch1("Conv")
        }
        Op::Div => {
            let int = ins.first().and_then(|o| o.as_ref()).is_some_and(|o| o.dtype == DType::I64);
            if int { Err("integer division of computed values is not supported".into()) } else { Ok(()) }
        }
        Op::BatchNorm { .. } => {
            if (1..5).all(is_const) { Ok(()) } else { Err("BatchNormalization parameters must be constants".into()) }
        }
        Op::Gather { .. } if !is_const(1) => Err("Gather with computed indices is not supported (only constant indices)".into()),
        Op::Cast { to: DType::I64 } if ins.first().and_then(|o| o.as_ref()).is_some_and(|o| o.dtype == DType::F32) => {
            Err("Cast of a computed float to an integer type (truncation) is not supported".into())
        }
        Op::Pow if crate::infer_nn::pow_exponent(ins).is_none() => {
            Err("Pow needs a constant exponent (one value)".into())
        }
        Op::Clip { .. } if !(1..3).all(|i| ins.get(i).is_none_or(|o| o.as_ref().is_none_or(|o| o.value.is_some()))) => {
            Err("Clip bounds must be constants".into())
        }
        Op::LayerNorm { .. } if !(1..3).all(|i| ins.get(i).is_none_or(|o| o.as_ref().is_none_or(|o| o.value.is_some()))) => {
            Err("LayerNormalization scale and bias must be constants".into())
        }
        Op::Rnn(_) if !(1..4).all(|i| ins.get(i).is_none_or(|o| o.as_ref().is_none_or(|o| o.value.is_some()))) => {
            Err("recurrent weights W, R and B must be constants".into())
        }
        _ => Ok(()),
    }
}

/// Builds the coverage report from the verdicts.
pub(crate) fn coverage(g: &OnnxGraph, a: &Analysis) -> CoverageReport {
    let mut ops: BTreeMap<&str, OpUsage> = BTreeMap::new();
    let mut unsupported = Vec::new();
    let mut unanalysed = 0;
    for (node, status) in g.nodes.iter().zip(&a.status) {
        let usage = ops.entry(node.op_type.as_str()).or_insert_with(|| OpUsage {
            op_type: node.op_type.clone(),
            count: 0,
            folded: 0,
            unused: 0,
            supported: true,
        });
        usage.count += 1;
        let reason = match status {
            NodeStatus::Dead => {
                usage.unused += 1;
                None
            }
            NodeStatus::Folded => {
                usage.folded += 1;
                None
            }
            NodeStatus::Runtime { quant: Ok(()) } => None,
            NodeStatus::Runtime { quant: Err(r) } | NodeStatus::Unsupported(r) => Some(r.clone()),
            NodeStatus::Unreached => {
                unanalysed += 1;
                None
            }
        };
        if let Some(reason) = reason {
            usage.supported = false;
            let output = node
                .outputs
                .iter()
                .flatten()
                .next()
                .map(|&v| g.values[v].name.clone())
                .unwrap_or_default();
            unsupported.push(UnsupportedNode {
                index: node.index,
                name: node.name.clone(),
                output,
                op_type: node.op_type.clone(),
                reason,
            });
        }
    }
    unsupported.sort_by_key(|u| u.index);
    CoverageReport {
        opset: g.opset,
        producer: g.producer.clone(),
        node_count: g.nodes.len(),
        ops: ops.into_values().collect(),
        unsupported,
        unanalysed,
    }
}
