//! Load-time analysis: liveness, constant folding, shape inference and the per-node verdict
//! (folded, runs at run time and lowers, runs only in float, unsupported) from which the
//! coverage report is built. Each node's op answers through [`OnnxOp`]; nothing here knows an
//! op family.

use std::collections::BTreeMap;

use crate::coverage::{CoverageReport, OpUsage, UnsupportedNode};
use crate::error::ModelError;
use crate::facts::{Analysis, NodeStatus, ValueState};
use crate::graph::{Source, ValueId};
use crate::op::{Graph, OnnxOp, Runtime, run};
use crate::shape::{Issue, Operand};
use crate::tensor::{DType, Tensor};

fn shape_err(g: &Graph, n: usize, detail: String) -> ModelError {
    let node = &g.nodes[n];
    ModelError::Shape {
        node: node.label(g),
        op: node.op_type.clone(),
        detail,
    }
}

/// Analyses `g`. Errors only for models that are inconsistent (operand shapes that no
/// implementation could accept); unsupported features become node verdicts instead.
pub(crate) fn analyse(g: &Graph) -> Result<Analysis, ModelError> {
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
                dtype: g.inputs[*i].dtype,
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
        let verdict = analyse_node(g, n, op.as_ref(), &mut values, &live)?;
        status.push(verdict);
    }
    Ok(Analysis {
        values,
        status,
        consumers,
    })
}

fn analyse_node(
    g: &Graph,
    n: usize,
    op: &dyn OnnxOp,
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
    // Some results (Shape) only need the input's shape, which is known even for run-time values.
    if let Some(Some(x)) = node.inputs.first()
        && let Some(t) = values[*x]
            .shape
            .as_deref()
            .and_then(|s| op.fold_on_shape(s))
    {
        set(values, 0, t);
        return Ok(NodeStatus::Folded);
    }
    if all_const {
        let ins: Vec<Option<&Tensor>> = node
            .inputs
            .iter()
            .map(|v| v.and_then(|v| values[v].constant.as_ref()))
            .collect();
        return match run(op, &ins) {
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
    let infos = match op.infer(&operands) {
        Ok(i) => i,
        Err(Issue::Invalid(d)) => return Err(shape_err(g, n, d)),
        Err(Issue::Unsupported(d)) => return Ok(NodeStatus::Unsupported(d)),
    };
    let quant = op.quant_check(&operands);
    for (i, info) in infos.into_iter().enumerate() {
        if let Some(Some(v)) = outs.get(i) {
            values[*v] = ValueState {
                shape: Some(info.shape.clone()),
                dtype: info.dtype,
                constant: None,
            };
            // Outputs constant whatever the inputs (Dropout's mask is all true at inference).
            values[*v].constant = op.constant_output(i, &info);
        }
    }
    Ok(NodeStatus::Runtime { quant })
}

fn fold_only_reason(op_type: &str) -> String {
    format!(
        "{op_type} is only supported on constant inputs (shape arithmetic); here it reads a value computed at run time"
    )
}

/// Builds the coverage report from the verdicts.
pub(crate) fn coverage(g: &Graph, a: &Analysis) -> CoverageReport {
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
