//! Quantisation: calibration (choosing each activation's scale), lowering to the integer IR
//! and the compile-time accuracy checks, giving a [`QuantisedModel`].

use crate::error::ModelError;
use crate::model::OnnxModel;
use crate::op::driver::lower;
use crate::ops::{FUSIONS, masked_softmaxes};
use crate::quantised::{QuantOptions, QuantisedModel};
use crate::tensor::{DType, Tensor};

/// Lowers `model` to the integer IR.
///
/// With a `calibration` input (one flattened vector per model input), the model is run in
/// float and each activation gets the largest scale (at most `max_scale`) that keeps it within
/// the activation range with `margin` headroom; the lowered graph is then executed on the same
/// input to confirm that no range check fails. Without one, every activation gets
/// `default_scale`. The result is deterministic: the same model, calibration and options give
/// the identical graph.
pub fn quantise(
    model: &OnnxModel,
    calibration: Option<&[Vec<f32>]>,
    options: &QuantOptions,
) -> Result<QuantisedModel, ModelError> {
    options.check()?;
    if !model.coverage().is_supported() {
        return Err(ModelError::Unsupported(Box::new(model.coverage().clone())));
    }
    let (mut scales, trace) = match calibration {
        Some(inputs) => {
            let trace = model.trace_float(inputs)?;
            (calibrate(model, &trace, options)?, Some(trace))
        }
        None => (vec![options.default_scale; model.graph.values.len()], None),
    };
    // Integer inputs (token ids) are integers: scale 0.
    let integer: Vec<bool> = model
        .graph
        .inputs
        .iter()
        .map(|d| d.dtype == DType::I64)
        .collect();
    for (d, _) in model.graph.inputs.iter().zip(&integer).filter(|(_, i)| **i) {
        scales[d.value] = 0;
    }
    let mut q = lower(model.loaded(), FUSIONS, &scales, trace.as_deref(), options)?;
    q.graph.validate()?;
    if let Some(inputs) = calibration {
        // The calibration input and the random samples must run through every range check
        // of the integer graph, and every layer must stay within the accuracy bound.
        let mut samples = vec![inputs.to_vec()];
        samples.extend(random_samples(inputs, &integer, options.accuracy_samples));
        for (k, x) in samples.iter().enumerate() {
            let report = q.accuracy(model, x)?;
            if let Some(w) = report
                .worst_layer
                .as_ref()
                .filter(|w| w.max_abs_error > w.bound)
            {
                return Err(ModelError::Accuracy {
                    node: w.node.clone(),
                    op: w.op_type.clone(),
                    value: w.value.clone(),
                    error: w.max_abs_error,
                    bound: w.bound,
                    reference: w.max_abs_reference,
                    sample: if k == 0 {
                        "the calibration input".into()
                    } else {
                        format!("random sample {k}")
                    },
                });
            }
            q.sample_accuracy.push(report);
        }
    }
    tracing::debug!(
        nodes = q.graph.nodes.len(),
        tensors = q.graph.tensors.len(),
        input_scales = ?q.input_scales,
        output_scales = ?q.output_scales,
        "quantised model"
    );
    Ok(q)
}

/// `count` seeded inputs, each element uniform in `[min, max]` of the same model input's
/// calibration values (a fixed xorshift stream: the same model compiles the same way); rounded
/// to integers for integer inputs (token ids stay ids of the same range).
fn random_samples(calibration: &[Vec<f32>], integer: &[bool], count: usize) -> Vec<Vec<Vec<f32>>> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..count)
        .map(|_| {
            calibration
                .iter()
                .zip(integer)
                .map(|(x, &int)| {
                    let lo = x.iter().copied().fold(f32::INFINITY, f32::min);
                    let hi = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    x.iter()
                        .map(|_| {
                            state ^= state << 13;
                            state ^= state >> 7;
                            state ^= state << 17;
                            let u = (state >> 40) as f32 / (1u64 << 24) as f32;
                            if lo.is_finite() && hi.is_finite() {
                                let v = lo + (hi - lo) * u;
                                if int { v.round() } else { v }
                            } else {
                                0.0
                            }
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// Activation scale of every value from one float run.
fn calibrate(
    model: &OnnxModel,
    trace: &[Option<Tensor>],
    options: &QuantOptions,
) -> Result<Vec<u32>, ModelError> {
    let mut scales = vec![options.max_scale; trace.len()];
    // Masked softmax inputs (a `-inf` or `finfo.min` fill) are never materialised: the fused
    // lowering sizes their scale itself (`ops::masked`).
    let masked: Vec<usize> = masked_softmaxes(model.loaded())
        .iter()
        .map(|p| p.masked)
        .collect();
    for (v, t) in trace.iter().enumerate() {
        let Some(t) = t else { continue };
        if masked.contains(&v) {
            continue;
        }
        let Some(data) = t.as_f32() else { continue };
        let mut max_abs = 0f64;
        for &x in data {
            if !x.is_finite() {
                return Err(ModelError::Calibration {
                    tensor: model.value_name(v).to_string(),
                    detail: "the float model produces a non-finite value on the calibration input"
                        .into(),
                });
            }
            max_abs = max_abs.max((x as f64).abs());
        }
        scales[v] = options.activation_scale(max_abs).ok_or_else(|| ModelError::Calibration {
            tensor: model.value_name(v).to_string(),
            detail: format!(
                "reaches {max_abs}, which does not fit the {}-bit activation range even at scale 0 \
                 with margin {}",
                omron_ir::ACT_BITS,
                options.margin
            ),
        })?;
    }
    Ok(scales)
}
