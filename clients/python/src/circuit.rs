//! Circuit folders and the arguments that go with them: loading a folder (or a folder of
//! them), telling whether a name or id names a circuit, reading the exact input a proof is
//! bound to, and proof bytes given as hex or `bytes`.

use std::path::{Path, PathBuf};

use omron_api::AnswerError;
use omron_api::verify::read_app_input;
use omron_circuit::{CircuitStore, METADATA_FILE, RequestInput, StoredCircuit};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};
use serde_json::{Value, json};

use crate::convert::to_py;
use crate::error::Error;

/// Loads the circuit in `dir` (`vk.bin`, `circuit.json`, `metadata.json`).
pub(crate) fn load(dir: &Path) -> Result<StoredCircuit, Error> {
    StoredCircuit::load(dir).map_err(|e| Error::Circuit {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })
}

/// Whether `name_or_id` names `circuit`: its name, its id (hex, any case), or its folder's own
/// name (`mnist-mlp` for `circuits/mnist-mlp`).
pub(crate) fn names(circuit: &StoredCircuit, name_or_id: &str) -> bool {
    name_or_id == circuit.metadata.name
        || name_or_id.eq_ignore_ascii_case(&circuit.id())
        || circuit.path.file_name().is_some_and(|f| f == name_or_id)
}

/// The circuit files a client checks answers with: one circuit's folder, or a folder of
/// circuit folders (a store, like the repository's `circuits/`).
pub(crate) enum Files {
    /// A circuit folder (it has a `metadata.json`).
    One(Box<StoredCircuit>),
    /// A folder of circuit folders.
    Store {
        /// The folder.
        dir: PathBuf,
        /// Its circuits.
        store: CircuitStore,
    },
}

impl Files {
    /// Opens `dir`: a circuit folder if it has a `metadata.json`, else a folder of them.
    pub(crate) fn open(dir: &Path) -> Result<Files, Error> {
        if dir.join(METADATA_FILE).is_file() {
            return Ok(Files::One(Box::new(load(dir)?)));
        }
        let store = CircuitStore::load(dir).map_err(|e| Error::Circuit {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        if store.is_empty() {
            return Err(Error::Circuit {
                path: dir.display().to_string(),
                reason: format!(
                    "neither a circuit folder (no {METADATA_FILE}) nor a folder of circuit folders"
                ),
            });
        }
        Ok(Files::Store {
            dir: dir.to_path_buf(),
            store,
        })
    }

    fn dir(&self) -> &Path {
        match self {
            Files::One(c) => &c.path,
            Files::Store { dir, .. } => dir,
        }
    }

    fn all(&self) -> Vec<&StoredCircuit> {
        match self {
            Files::One(c) => vec![c],
            Files::Store { store, .. } => store.iter().collect(),
        }
    }

    /// The circuit `name_or_id` names ([`names`]), refused before anything is sent if none.
    pub(crate) fn named(&self, name_or_id: &str) -> Result<&StoredCircuit, Error> {
        let all = self.all();
        if let Some(c) = all.iter().find(|c| names(c, name_or_id)) {
            return Ok(c);
        }
        let have: Vec<String> = all
            .iter()
            .map(|c| format!("'{}' ({})", c.metadata.name, c.id()))
            .collect();
        Err(Error::Input(format!(
            "circuit '{name_or_id}' is not in {} (it holds {}): pass the folder of the circuit you ask for",
            self.dir().display(),
            have.join(", ")
        )))
    }

    /// Refuses a folder with no proof-of-weights circuit (of `weights_version`, if given).
    pub(crate) fn scoring(&self, weights_version: Option<u64>) -> Result<(), Error> {
        let any = self.all().into_iter().any(|c| {
            c.is_proof_of_weights()
                && weights_version.is_none_or(|v| c.metadata.weights_version == Some(v))
        });
        if any {
            return Ok(());
        }
        Err(Error::Input(format!(
            "{} holds no proof-of-weights circuit{}",
            self.dir().display(),
            weights_version.map_or(String::new(), |v| format!(" of weights_version {v}"))
        )))
    }

    /// The circuit an answer names by id: the folder's own circuit (the answer is then checked
    /// against it), or the store's circuit of that id.
    pub(crate) fn answering(&self, id: &str) -> Result<&StoredCircuit, Error> {
        match self {
            Files::One(c) => Ok(c),
            Files::Store { dir, store } => store.get(id).ok_or_else(|| {
                Error::Answer(AnswerError::Mismatch(format!(
                    "the answer is for circuit {id}, which is not in {}",
                    dir.display()
                )))
            }),
        }
    }
}

/// What a circuit folder holds: `{"id", "name", "description", "version", "type", "netuid",
/// "weights_version", "timeout", "input_shapes", "output_shapes"}` (`type` is
/// `"proof_of_computation"` or `"proof_of_weights"`).
#[pyfunction]
pub(crate) fn circuit_info(py: Python<'_>, circuit_dir: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    let info = py.detach(|| -> Result<Value, Error> {
        let c = load(&circuit_dir)?;
        let graph = c.circuit.graph();
        let shapes = |ids: &[usize]| -> Vec<Vec<usize>> {
            ids.iter()
                .filter_map(|&t| graph.tensors.get(t).map(|d| d.shape.clone()))
                .collect()
        };
        let m = &c.metadata;
        Ok(json!({
            "id": c.id(),
            "name": m.name,
            "description": m.description,
            "version": m.version,
            "type": m.circuit_type,
            "netuid": m.netuid,
            "weights_version": m.weights_version,
            "timeout": c.timeout_secs(),
            "input_shapes": shapes(&graph.inputs),
            "output_shapes": shapes(&graph.outputs),
        }))
    })?;
    to_py(py, &info)
}

/// The exact input a proof of `circuit` is bound to, in the form the validator hashes: for a
/// model, `{"input_data": [[floats]], "nonce": "<hex>"}` (so `[[1, 2]]` and `[[1.0, 2.0]]` are
/// the same input); for a scoring circuit, the batch as given.
pub(crate) fn proven_input(circuit: &StoredCircuit, input: &Value) -> Result<Value, Error> {
    if circuit.is_proof_of_weights() {
        return Ok(input.clone());
    }
    let (input_data, nonce) = read_app_input(input).map_err(Error::Input)?;
    let nonce = nonce.ok_or_else(|| {
        Error::Input(
            "input has no nonce: a proof is bound to {\"input_data\": ..., \"nonce\": \"<hex>\"}, \
             the input with the nonce that was proven"
                .into(),
        )
    })?;
    request_value(input_data, nonce)
}

/// The JSON of a model request input.
pub(crate) fn request_value(input_data: Vec<Vec<f64>>, nonce: String) -> Result<Value, Error> {
    serde_json::to_value(RequestInput { input_data, nonce })
        .map_err(|e| Error::Input(format!("input: {e}")))
}

/// Proof bytes from `str` (hex, optionally `0x`-prefixed), `bytes` or `bytearray`.
pub(crate) fn proof_bytes(proof: &Bound<'_, PyAny>) -> Result<Vec<u8>, Error> {
    if let Ok(s) = proof.cast::<PyString>() {
        let text = s
            .to_cow()
            .map_err(|e| Error::Input(format!("proof: {e}")))?;
        let text = text.trim();
        return hex::decode(text.strip_prefix("0x").unwrap_or(text))
            .map_err(|e| Error::Input(format!("proof is not hex: {e}")));
    }
    if let Ok(b) = proof.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = proof.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    Err(Error::Input("proof must be hex text (str) or bytes".into()))
}
