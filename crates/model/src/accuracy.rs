//! How far the quantised model is from the float model on given inputs.

use omron_ir::{Trace, execute};

use crate::error::ModelError;
use crate::model::OnnxModel;
use crate::quantised::{AccuracyReport, LayerError, OutputAccuracy, QuantisedModel};
use crate::tensor::Tensor;

fn argmax(v: impl Iterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, x) in v.enumerate() {
        if x > best.1 {
            best = (i, x);
        }
    }
    best.0
}

impl QuantisedModel {
    /// Runs both `model` in float and this integer graph on `inputs` (one flattened vector per
    /// model input) and compares the outputs.
    pub fn accuracy(
        &self,
        model: &OnnxModel,
        inputs: &[Vec<f32>],
    ) -> Result<AccuracyReport, ModelError> {
        let float_trace = model.trace_float(inputs)?;
        let float = model.outputs_of(&float_trace)?;
        let q = self.quantise_inputs(inputs)?;
        let trace = execute(&self.graph, &q)?;
        let quant = self.dequantise_outputs(&trace.outputs(&self.graph));
        let (layers_checked, worst_layer) = self.layer_errors(model, &float_trace, &trace);
        let mut per_output = Vec::with_capacity(float.len());
        let (mut total, mut count) = (0f64, 0usize);
        for ((f, q), name) in float.iter().zip(&quant).zip(&self.output_names) {
            let errs: Vec<f64> = f
                .iter()
                .zip(q)
                .map(|(&a, &b)| (a as f64 - b).abs())
                .collect();
            total += errs.iter().sum::<f64>();
            count += errs.len();
            let argmax_float = argmax(f.iter().map(|&x| x as f64));
            let argmax_quantised = argmax(q.iter().copied());
            per_output.push(OutputAccuracy {
                name: name.clone(),
                max_abs_error: errs.iter().copied().fold(0.0, f64::max),
                mean_abs_error: errs.iter().sum::<f64>() / errs.len().max(1) as f64,
                max_abs_reference: f.iter().map(|&x| (x as f64).abs()).fold(0.0, f64::max),
                argmax_float,
                argmax_quantised,
                argmax_agrees: argmax_float == argmax_quantised,
            });
        }
        Ok(AccuracyReport {
            max_abs_error: per_output
                .iter()
                .map(|o| o.max_abs_error)
                .fold(0.0, f64::max),
            mean_abs_error: total / count.max(1) as f64,
            argmax_agrees: per_output.iter().all(|o| o.argmax_agrees),
            per_output,
            layers_checked,
            worst_layer,
        })
    }

    /// Compares every probed value with its float counterpart; returns how many were
    /// compared and the one with the largest error relative to its bound.
    fn layer_errors(
        &self,
        model: &OnnxModel,
        float: &[Option<Tensor>],
        trace: &Trace,
    ) -> (usize, Option<LayerError>) {
        let mut checked = 0;
        let mut worst: Option<(f64, LayerError)> = None;
        for p in &self.probes {
            let Some(v) = model.value_id(&p.value) else {
                continue;
            };
            let Some(f) = float[v].as_ref().and_then(Tensor::as_f32) else {
                continue;
            };
            let q = trace.get(&self.graph, p.tensor);
            if q.len() != f.len() {
                continue;
            }
            checked += 1;
            let unit = (1u64 << p.scale.min(62)) as f64;
            let (mut err, mut reference) = (0f64, 0f64);
            for (&a, &b) in f.iter().zip(q) {
                err = err.max((a as f64 - b as f64 / unit).abs());
                reference = reference.max((a as f64).abs());
            }
            let bound =
                self.options.layer_abs_tolerance + self.options.layer_rel_tolerance * reference;
            let ratio = err / bound.max(f64::MIN_POSITIVE);
            if worst.as_ref().is_none_or(|w| ratio > w.0) {
                worst = Some((
                    ratio,
                    LayerError {
                        value: p.value.clone(),
                        node: p.node.clone(),
                        op_type: p.op_type.clone(),
                        max_abs_error: err,
                        max_abs_reference: reference,
                        bound,
                    },
                ));
            }
        }
        (checked, worst.map(|w| w.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax([1.0, 3.0, 3.0, 2.0].into_iter()), 1);
        assert_eq!(argmax([-1.0].into_iter()), 0);
    }
}
