//! The lowering pass: IR inputs, every run-time node in topological order, outputs narrowed to
//! their calibrated scales, and the probes of the per-layer accuracy check.

use std::collections::BTreeMap;

use omron_ir::TensorKind;

use super::{Fusion, Loaded, Low, Lowerer};
use crate::error::ModelError;
use crate::facts::NodeStatus;
use crate::graph::Source;
use crate::quantised::{Probe, QuantOptions, QuantisedModel};
use crate::tensor::Tensor;

/// Lowers every run-time node of `m` using activation scales `cal` (one per ONNX value) and,
/// when calibrated, the float `trace` of the calibration input, after running `fusions` in
/// order.
pub(crate) fn lower(
    m: Loaded<'_>,
    fusions: &[Fusion],
    cal: &[u32],
    trace: Option<&[Option<Tensor>]>,
    opts: &QuantOptions,
) -> Result<QuantisedModel, ModelError> {
    let g = m.graph;
    let mut l = Lowerer {
        m,
        opts,
        cal,
        trace,
        tensors: Vec::new(),
        nodes: Vec::new(),
        low: vec![None; g.values.len()],
        narrow_cache: vec![None; g.values.len()],
        absorbed: vec![false; g.nodes.len()],
        fused: BTreeMap::new(),
    };
    for fusion in fusions {
        fusion(&mut l);
    }
    let mut inputs = Vec::new();
    for def in &g.inputs {
        let scale = cal[def.value];
        let id = l.tensor(
            m.value_name(def.value).to_string(),
            def.shape.clone(),
            scale,
            TensorKind::Input,
        );
        l.low[def.value] = Some(Low { id, scale });
        inputs.push(id);
    }
    for n in 0..g.nodes.len() {
        if matches!(m.analysis.status[n], NodeStatus::Runtime { .. }) && !l.absorbed[n] {
            l.lower_node(n)?;
        }
    }
    let mut outputs = Vec::new();
    let mut output_scales = Vec::new();
    let mut output_shapes = Vec::new();
    for &v in &g.outputs {
        if l.low[v].is_none() {
            return Err(ModelError::Quantise {
                node: format!("output '{}'", m.value_name(v)),
                detail: "the output is a constant; there is nothing to prove".into(),
            });
        }
        let y = l.narrow(v)?;
        outputs.push(y.id);
        output_scales.push(y.scale);
        output_shapes.push(l.tensors[y.id].shape.clone());
    }
    // Every ONNX value with an IR tensor of its own, for the per-layer accuracy check.
    let mut probes = Vec::new();
    for (v, low) in l.low.iter().enumerate() {
        let (Some(low), Source::Node(n)) = (low, &g.values[v].source) else {
            continue;
        };
        let node = &g.nodes[*n];
        probes.push(Probe {
            value: m.value_name(v).to_string(),
            node: node.label(g),
            op_type: node.op_type.clone(),
            tensor: low.id,
            scale: low.scale,
        });
    }
    let graph = omron_ir::Graph {
        tensors: l.tensors,
        nodes: l.nodes,
        inputs,
        outputs,
    };
    Ok(QuantisedModel {
        input_names: g
            .inputs
            .iter()
            .map(|d| m.value_name(d.value).to_string())
            .collect(),
        input_shapes: g.inputs.iter().map(|d| d.shape.clone()).collect(),
        input_scales: g.inputs.iter().map(|d| cal[d.value]).collect(),
        output_names: g
            .outputs
            .iter()
            .map(|&v| m.value_name(v).to_string())
            .collect(),
        output_shapes,
        output_scales,
        calibrated: trace.is_some(),
        options: opts.clone(),
        graph,
        probes,
        sample_accuracy: Vec::new(),
    })
}

impl Lowerer<'_> {
    /// Lowers node `n`: by the fused pattern ending there, or by its op.
    fn lower_node(&mut self, n: usize) -> Result<(), ModelError> {
        let g = self.m.graph;
        let Ok(op) = &g.nodes[n].op else {
            return Err(self.err(n, "unsupported op"));
        };
        if let Some(f) = self.fused.remove(&n) {
            return f.lower(self, n);
        }
        op.lower(self, n)
    }
}
