//! The fixed-point scheme's knobs ([`QuantOptions`]) and its product: a [`QuantisedModel`], the
//! lowered integer graph with the scales a caller needs to feed it and read it, and the
//! accuracy reports it carries.

use omron_ir::{ACT_MAX, Graph, InputRange, TensorId, execute, input_ranges, quantise_input};
use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// Knobs of the fixed-point scheme. `Default` is the documented scheme.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantOptions {
    /// Highest activation scale (fractional bits) calibration may choose. 12 bits keeps the
    /// rounding error of each rescale at 2^-13 while leaving room for values up to 8.
    pub max_scale: u32,
    /// Activation scale of every value when no calibration input is given.
    pub default_scale: u32,
    /// Headroom: a calibrated activation times `margin` must still fit the activation range
    /// (`|v| * 2^scale * margin <= ACT_MAX`), so inputs somewhat larger than the calibration
    /// input still prove. At least 1.
    pub margin: f64,
    /// Signed bits of a quantised weight: `|w_q| <= 2^(weight_bits - 1) - 1`.
    pub weight_bits: u32,
    /// Highest weight scale; caps the size of accumulators for tensors of tiny weights.
    pub max_weight_scale: u32,
    /// Largest shift of any `Rescale`. The circuit range-checks each rescale remainder in a
    /// table of `2^shift` rows, so weight and factor scales are capped to keep every shift
    /// (input scale + weight scale - output scale) at most this. At least `max_scale`.
    pub max_shift: u32,
    /// Seeded random inputs (uniform in the range of the calibration input) the compile-time
    /// accuracy check runs besides the calibration input itself.
    pub accuracy_samples: usize,
    /// Per-layer accuracy bound, relative part: a value whose quantised error exceeds
    /// `layer_abs_tolerance + layer_rel_tolerance * max|float value|` on a sample input is
    /// refused, naming its node.
    pub layer_rel_tolerance: f64,
    /// Per-layer accuracy bound, absolute part (see `layer_rel_tolerance`).
    pub layer_abs_tolerance: f64,
}

impl Default for QuantOptions {
    fn default() -> Self {
        QuantOptions {
            max_scale: 12,
            default_scale: 8,
            margin: 4.0,
            weight_bits: 16,
            max_weight_scale: 24,
            max_shift: 16,
            accuracy_samples: 2,
            layer_rel_tolerance: 1.0 / 32.0,
            layer_abs_tolerance: 1.0 / 64.0,
        }
    }
}

impl QuantOptions {
    /// Refuses inconsistent options.
    pub(crate) fn check(&self) -> Result<(), ModelError> {
        let bad = |s: String| Err(ModelError::Options(s));
        if !(self.margin.is_finite() && self.margin >= 1.0) {
            return bad(format!(
                "margin must be a finite number >= 1, got {}",
                self.margin
            ));
        }
        if self.max_scale > 24 || self.default_scale > 24 {
            return bad(format!(
                "activation scales must be at most 24 (max_scale {}, default_scale {})",
                self.max_scale, self.default_scale
            ));
        }
        if self.max_shift < self.max_scale.max(self.default_scale) || self.max_shift > 32 {
            return bad(format!(
                "max_shift must be at least the activation scales and at most 32 (got {})",
                self.max_shift
            ));
        }
        if !(self.layer_rel_tolerance.is_finite()
            && self.layer_rel_tolerance >= 0.0
            && self.layer_abs_tolerance.is_finite()
            && self.layer_abs_tolerance >= 0.0)
        {
            return bad(format!(
                "layer tolerances must be finite and non-negative (got {} and {})",
                self.layer_rel_tolerance, self.layer_abs_tolerance
            ));
        }
        if self.accuracy_samples > 64 {
            return bad(format!(
                "accuracy_samples is at most 64 (got {})",
                self.accuracy_samples
            ));
        }
        if !(2..=32).contains(&self.weight_bits) || self.max_weight_scale > 32 {
            return bad(format!(
                "weight_bits must be 2..=32 and max_weight_scale at most 32 (got {} and {})",
                self.weight_bits, self.max_weight_scale
            ));
        }
        Ok(())
    }

    /// The largest scale `s <= max_scale` with `max_abs * margin * 2^s <= ACT_MAX`.
    pub(crate) fn activation_scale(&self, max_abs: f64) -> Option<u32> {
        (0..=self.max_scale)
            .rev()
            .find(|&s| max_abs * self.margin * (1u64 << s) as f64 <= ACT_MAX as f64)
    }
}

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

/// The error of one ONNX value's IR tensor against the float model (per-layer check).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerError {
    /// ONNX value name.
    pub value: String,
    /// Label of the node computing it.
    pub node: String,
    /// Its ONNX op type.
    pub op_type: String,
    /// Largest `|quantised - float|` over the value's elements.
    pub max_abs_error: f64,
    /// Largest `|float|`.
    pub max_abs_reference: f64,
    /// The bound: `layer_abs_tolerance + layer_rel_tolerance * max_abs_reference`.
    pub bound: f64,
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
    /// Number of float values compared layer by layer (every ONNX value with an IR tensor of
    /// its own; boolean and integer values are left out, since a comparison of nearly equal
    /// values may legitimately flip).
    pub layers_checked: usize,
    /// The value with the largest error relative to its bound.
    pub worst_layer: Option<LayerError>,
}

/// An IR tensor that stands for an ONNX value, for the per-layer accuracy check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// ONNX value name.
    pub value: String,
    /// Label of the node computing it (name, or position and output).
    pub node: String,
    /// Its ONNX op type.
    pub op_type: String,
    /// The IR tensor standing for the value.
    pub tensor: TensorId,
    /// That tensor's scale: the real value is `integer / 2^scale`.
    pub scale: u32,
}

/// A model lowered to the integer IR, with what a caller needs to feed it and read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantisedModel {
    /// The integer graph; `graph.validate()` passes.
    pub graph: Graph,
    /// ONNX names of the inputs, in order.
    pub input_names: Vec<String>,
    /// Shapes of the inputs.
    pub input_shapes: Vec<Vec<usize>>,
    /// Fractional bits of each input: feed `round(x * 2^scale)`.
    pub input_scales: Vec<u32>,
    /// ONNX names of the outputs, in order.
    pub output_names: Vec<String>,
    /// Shapes of the outputs.
    pub output_shapes: Vec<Vec<usize>>,
    /// Fractional bits of each output: the real value is `y / 2^scale`.
    pub output_scales: Vec<u32>,
    /// Whether scales came from a calibration input (otherwise `default_scale` everywhere).
    pub calibrated: bool,
    /// The options used.
    pub options: QuantOptions,
    /// IR tensors standing for ONNX values (per-layer accuracy check).
    pub probes: Vec<Probe>,
    /// Compile-time accuracy on the sample inputs: the calibration input first, then
    /// `accuracy_samples` seeded random inputs (empty without calibration).
    pub sample_accuracy: Vec<AccuracyReport>,
}

impl QuantisedModel {
    /// Quantises float inputs to the integers the graph takes (round half away from zero):
    /// activations must fit the 16-bit range at their scale, token ids their table
    /// ([`omron_ir::input_range`]).
    pub fn quantise_inputs(&self, inputs: &[Vec<f32>]) -> Result<Vec<Vec<i64>>, ModelError> {
        if inputs.len() != self.input_scales.len() {
            return Err(ModelError::Input {
                index: inputs.len().min(self.input_scales.len()),
                detail: format!(
                    "the model takes {} inputs, got {}",
                    self.input_scales.len(),
                    inputs.len()
                ),
            });
        }
        inputs
            .iter()
            .enumerate()
            .map(|(index, x)| {
                let want: usize = self.input_shapes[index].iter().product();
                if x.len() != want {
                    return Err(ModelError::Input {
                        index,
                        detail: format!("expected {want} values, got {}", x.len()),
                    });
                }
                let wide: Vec<f64> = x.iter().map(|&v| v as f64).collect();
                quantise_input(&self.graph, index, &wide).map_err(ModelError::from)
            })
            .collect()
    }

    /// A seeded input for an accuracy check when the caller has none: each activation uniform
    /// in `[-1, 1)`, each token id ([`InputRange::TableRows`]) uniform in `[0, rows)`. A fixed
    /// LCG keeps it identical across runs and machines. Ids are exact as `f32` up to 2^24
    /// rows, the most an `f32` input can name.
    pub fn synthetic_input(&self) -> Vec<Vec<f32>> {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        input_ranges(&self.graph)
            .iter()
            .zip(&self.input_shapes)
            .map(|(range, shape)| {
                let n: usize = shape.iter().product();
                (0..n)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        // 24 uniform bits: `u = bits / 2^24` in [0, 1).
                        let bits = state >> 40;
                        match range {
                            InputRange::Activation => {
                                (bits as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
                            }
                            InputRange::TableRows { rows, .. } => {
                                ((u128::from(bits) * (*rows).min(1 << 24) as u128) >> 24) as f32
                            }
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// Dequantises integer outputs: `y / 2^scale`.
    pub fn dequantise_outputs(&self, outputs: &[Vec<i64>]) -> Vec<Vec<f64>> {
        outputs
            .iter()
            .zip(&self.output_scales)
            .map(|(y, &s)| y.iter().map(|&v| v as f64 / (1u64 << s) as f64).collect())
            .collect()
    }

    /// Runs the integer graph on float inputs: quantise, [`omron_ir::execute`], dequantise.
    pub fn run(&self, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, ModelError> {
        let q = self.quantise_inputs(inputs)?;
        let trace = execute(&self.graph, &q)?;
        Ok(self.dequantise_outputs(&trace.outputs(&self.graph)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_scale_keeps_the_margin() {
        let o = QuantOptions::default();
        assert_eq!(o.activation_scale(0.0), Some(12));
        assert_eq!(o.activation_scale(1.0), Some(12)); // 4 * 4096 = 16384 <= 32767
        assert_eq!(o.activation_scale(3.0), Some(11)); // 3 * 4 * 2048 = 24576
        assert_eq!(o.activation_scale(8191.75), Some(0));
        assert_eq!(o.activation_scale(8192.0), None);
    }

    #[test]
    fn bad_options_are_refused() {
        let o = QuantOptions {
            margin: 0.5,
            ..QuantOptions::default()
        };
        assert!(matches!(o.check(), Err(ModelError::Options(_))));
        let o = QuantOptions {
            weight_bits: 1,
            ..QuantOptions::default()
        };
        assert!(o.check().is_err());
        assert!(QuantOptions::default().check().is_ok());
    }
}
