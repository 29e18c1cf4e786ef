//! The ONNX front end: the protobuf reader and graph resolution (`load_onnx`), the float
//! reference on a fixed input, quantisation and the circuit compile, as `omron circuit
//! compile` runs them on a model file from anyone.
//!
//! The later stages run only on models whose tensors stay small, so one input cannot spend
//! the fuzzer's time on a legitimately large model; the reader's own limits
//! (`MAX_MODEL_BYTES`, `MAX_TENSOR_ELEMENTS`) are what stands between a file and memory.

use omron_circuit::Circuit;
use omron_model::{QuantOptions, load_onnx, quantise};

/// Largest element count of all inputs, and of the quantised graph, that later stages take.
const MAX_ELEMENTS: usize = 1 << 16;

/// The target.
pub fn run(data: &[u8]) {
    let Ok(model) = load_onnx(data) else {
        return;
    };
    let _ = model.opset();
    let _ = model.outputs();
    if !model.coverage().is_supported() {
        return;
    }
    let mut inputs = Vec::new();
    for info in model.inputs() {
        let Some(shape) = info.shape else { return };
        let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        match n {
            Some(n) if n <= MAX_ELEMENTS => inputs.push(
                (0..n)
                    .map(|i| ((i % 7) as f32 - 3.0) / 4.0)
                    .collect::<Vec<f32>>(),
            ),
            _ => return,
        }
    }
    let _ = model.run_float(&inputs);
    let Ok(quantised) = quantise(&model, None, &QuantOptions::default()) else {
        return;
    };
    let elements: usize = quantised
        .graph
        .tensors
        .iter()
        .map(|t| t.numel())
        .fold(0usize, usize::saturating_add);
    if elements > MAX_ELEMENTS {
        return;
    }
    let _ = quantised.run(&inputs);
    let _ = Circuit::compile("fuzz", quantised.graph);
}
