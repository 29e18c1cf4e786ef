//! How far the quantised model is from the float model on given inputs.

use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::model::OnnxModel;
use crate::quantise::QuantisedModel;

/// Accuracy of one output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputAccuracy {
    /// ONNX output name.
    pub name: String,
    /// Largest `|quantised - float|` over the output's elements.
    pub max_abs_error: f64,
    /// Mean `|quantised - float|`.
    pub mean_abs_error: f64,
    /// Largest `|float|`, to put the errors in proportion.
    pub max_abs_reference: f64,
    /// Index of the largest float element.
    pub argmax_float: usize,
    /// Index of the largest dequantised element.
    pub argmax_quantised: usize,
    /// Whether the two agree.
    pub argmax_agrees: bool,
}

/// Accuracy of the quantised model against the float model on one input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuracyReport {
    /// Largest absolute error over all outputs.
    pub max_abs_error: f64,
    /// Mean absolute error over all output elements.
    pub mean_abs_error: f64,
    /// Whether every output's argmax agrees.
    pub argmax_agrees: bool,
    /// Per output, in ONNX order.
    pub per_output: Vec<OutputAccuracy>,
}

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
        let float = model.run_float(inputs)?;
        let quant = self.run(inputs)?;
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
        })
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
