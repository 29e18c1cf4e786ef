//! Circuit folders on disk: `vk.bin` (the verifying key, whose SHA-256 is the circuit id),
//! `circuit.json` (a readable summary, including compile-time reports) and optionally the source
//! `model.onnx`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Circuit, CircuitError};

/// The verifying key's file name.
pub const VK_FILE: &str = "vk.bin";
/// The summary's file name.
pub const INFO_FILE: &str = "circuit.json";
/// The source model's file name.
pub const MODEL_FILE: &str = "model.onnx";
/// Verifying keys larger than this are refused.
const MAX_VK_BYTES: u64 = 1 << 30;

/// Shape and scale of one model input or output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorInfo {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Fractional bits.
    pub scale: u32,
}

/// The readable summary of a circuit (`circuit.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CircuitInfo {
    /// The circuit id.
    pub id: String,
    /// The circuit's name.
    pub name: String,
    /// Model inputs.
    pub inputs: Vec<TensorInfo>,
    /// Model outputs.
    pub outputs: Vec<TensorInfo>,
    /// Op counts of the quantised graph.
    pub ops: BTreeMap<String, usize>,
    /// Number of weights and biases.
    pub params: usize,
    /// Values held in the commitment per proof.
    pub committed_values: usize,
    /// Lookup tables used.
    pub tables: Vec<String>,
    /// Security of the commitment's query phase, in bits.
    pub query_security_bits: f64,
    /// Compile-time reports (op coverage, accuracy) from the front end.
    #[serde(default)]
    pub reports: serde_json::Value,
}

impl CircuitInfo {
    /// The summary of `circuit`, with the front end's `reports` attached.
    pub fn new(circuit: &Circuit, reports: serde_json::Value) -> CircuitInfo {
        let graph = circuit.graph();
        let tensor = |&t: &usize| TensorInfo {
            shape: graph.tensors[t].shape.clone(),
            scale: graph.tensors[t].scale,
        };
        CircuitInfo {
            id: circuit.id_hex(),
            name: circuit.name().to_string(),
            inputs: graph.inputs.iter().map(tensor).collect(),
            outputs: graph.outputs.iter().map(tensor).collect(),
            ops: circuit.op_counts().into_iter().collect(),
            params: graph.param_count(),
            committed_values: circuit.plan().committed_len(),
            tables: circuit.plan().tables.iter().map(|t| t.name()).collect(),
            query_security_bits: circuit.params().query_security_bits(),
            reports,
        }
    }
}

/// Reading and writing circuit folders.
#[derive(Debug, Clone)]
pub struct CircuitDir {
    path: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CircuitError + '_ {
    move |source| CircuitError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl CircuitDir {
    /// A circuit folder at `path`.
    pub fn new(path: impl Into<PathBuf>) -> CircuitDir {
        CircuitDir { path: path.into() }
    }

    /// Writes the circuit, its summary and (if given) the source model.
    pub fn save(
        &self,
        circuit: &Circuit,
        model: Option<&[u8]>,
        reports: serde_json::Value,
    ) -> Result<CircuitInfo, CircuitError> {
        std::fs::create_dir_all(&self.path).map_err(io_err(&self.path))?;
        let vk = self.path.join(VK_FILE);
        std::fs::write(&vk, circuit.vk_bytes()).map_err(io_err(&vk))?;
        let info = CircuitInfo::new(circuit, reports);
        let json = serde_json::to_string_pretty(&info)
            .map_err(|e| CircuitError::Malformed(format!("cannot encode circuit.json: {e}")))?;
        let info_path = self.path.join(INFO_FILE);
        std::fs::write(&info_path, json + "\n").map_err(io_err(&info_path))?;
        if let Some(bytes) = model {
            let m = self.path.join(MODEL_FILE);
            std::fs::write(&m, bytes).map_err(io_err(&m))?;
        }
        Ok(info)
    }

    /// Loads the circuit; if `circuit.json` is present its id must match the verifying key.
    pub fn load(&self) -> Result<(Circuit, Option<CircuitInfo>), CircuitError> {
        let vk = self.path.join(VK_FILE);
        let len = std::fs::metadata(&vk).map_err(io_err(&vk))?.len();
        if len > MAX_VK_BYTES {
            return Err(CircuitError::Malformed(format!(
                "{} is {len} bytes, too large",
                vk.display()
            )));
        }
        let bytes = std::fs::read(&vk).map_err(io_err(&vk))?;
        let circuit = Circuit::from_vk_bytes(&bytes)?;
        let info_path = self.path.join(INFO_FILE);
        let info = match std::fs::read_to_string(&info_path) {
            Ok(text) => {
                let info: CircuitInfo = serde_json::from_str(&text).map_err(|e| {
                    CircuitError::Malformed(format!("{}: {e}", info_path.display()))
                })?;
                if info.id != circuit.id_hex() {
                    return Err(CircuitError::Malformed(format!(
                        "{} names circuit {} but {VK_FILE} is circuit {}",
                        info_path.display(),
                        info.id,
                        circuit.id_hex()
                    )));
                }
                Some(info)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&info_path)(e)),
        };
        Ok((circuit, info))
    }
}
