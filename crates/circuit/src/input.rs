//! Model inputs and outputs as JSON: EZKL's `{"input_data": [[...]]}` and our
//! `{"output": [...]}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Circuit, CircuitError};

/// Inputs in EZKL's form: one flattened, row-major list of numbers per model input. Nested
/// lists inside one input are flattened too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputData {
    /// One list per model input.
    pub input_data: Vec<Value>,
}

fn flatten(v: &Value, out: &mut Vec<f64>, index: usize) -> Result<(), CircuitError> {
    match v {
        Value::Array(items) => items.iter().try_for_each(|i| flatten(i, out, index)),
        Value::Number(n) => {
            let f = n.as_f64().ok_or_else(|| {
                CircuitError::Input(format!(
                    "input {index}: {n} is not representable as a float"
                ))
            })?;
            out.push(f);
            Ok(())
        }
        other => Err(CircuitError::Input(format!(
            "input {index}: expected numbers, found {}",
            match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::String(_) => "a string",
                _ => "an object",
            }
        ))),
    }
}

impl InputData {
    /// Parses the JSON text of an input file.
    pub fn from_json(text: &str) -> Result<InputData, CircuitError> {
        serde_json::from_str(text).map_err(|e| {
            CircuitError::Input(format!(
                "not an input file ({{\"input_data\": [[...]]}}): {e}"
            ))
        })
    }

    /// The inputs as flat float vectors.
    pub fn flattened(&self) -> Result<Vec<Vec<f64>>, CircuitError> {
        self.input_data
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut out = Vec::new();
                flatten(v, &mut out, i)?;
                Ok(out)
            })
            .collect()
    }

    /// Quantises the inputs for `circuit`, checking their number and sizes.
    pub fn quantise(&self, circuit: &Circuit) -> Result<Vec<Vec<i64>>, CircuitError> {
        let flat = self.flattened()?;
        let graph = circuit.graph();
        if flat.len() != graph.inputs.len() {
            return Err(CircuitError::Input(format!(
                "the circuit takes {} inputs, the file has {}",
                graph.inputs.len(),
                flat.len()
            )));
        }
        flat.iter()
            .zip(&graph.inputs)
            .enumerate()
            .map(|(i, (values, &t))| {
                let def = &graph.tensors[t];
                if values.len() != def.numel() {
                    return Err(CircuitError::Input(format!(
                        "input {i} needs {} values (shape {:?}), the file has {}",
                        def.numel(),
                        def.shape,
                        values.len()
                    )));
                }
                // Activations must fit 16 bits; token ids read only by embeddings may reach
                // their table's size (`omron_ir::input_range`).
                Ok(omron_ir::quantise_input(graph, i, values)?)
            })
            .collect()
    }
}

/// Model outputs as written by `omron prove --output-json`: every output dequantised and
/// concatenated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputData {
    /// The flattened outputs.
    pub output: Vec<f64>,
}

impl OutputData {
    /// Dequantises proven outputs.
    pub fn from_quantised(circuit: &Circuit, outputs: &[Vec<i64>]) -> OutputData {
        let scales = circuit.output_scales();
        let output = outputs
            .iter()
            .zip(scales)
            .flat_map(|(o, s)| {
                let factor = (1u64 << s) as f64;
                o.iter().map(move |&v| v as f64 / factor)
            })
            .collect();
        OutputData { output }
    }

    /// Whether these outputs are exactly the dequantisation of `outputs` (every value must sit
    /// on the fixed-point grid and equal the proven one).
    pub fn matches(&self, circuit: &Circuit, outputs: &[Vec<i64>]) -> Result<(), String> {
        let want = OutputData::from_quantised(circuit, outputs);
        if want.output.len() != self.output.len() {
            return Err(format!(
                "the output file has {} values, the proof {}",
                self.output.len(),
                want.output.len()
            ));
        }
        for (i, (a, b)) in self.output.iter().zip(&want.output).enumerate() {
            if a != b {
                return Err(format!("output value {i} is {a}, the proof says {b}"));
            }
        }
        Ok(())
    }
}
