//! The verifier functions: a proof, an answer or a receipt checked with the circuit's own
//! files, trusting nothing a validator or miner says. All of them release the GIL while the
//! circuit loads and the proof verifies.

use std::path::PathBuf;

use omron_api::rpc::{PROOF_OF_COMPUTATION, PROOF_OF_WEIGHTS};
use omron_api::verify::prove_output;
use omron_api::{
    AppRequest, InferenceResult, ProofOfComputationParams, ProofOfWeightsParams, Receipt,
    VerifiedAnswer, check_answer,
};
use omron_circuit::StoredCircuit;
use pyo3::prelude::*;
use serde_json::{Value, json};

use crate::circuit;
use crate::convert::{to_json, to_py};
use crate::error::Error;
use crate::keys;

/// Verifies `proof` (hex `str` or `bytes`) of the circuit in `circuit_dir` for `input` and the
/// miner with `miner_hotkey` (ss58), and returns the proven output: a list of floats for a
/// model, a list of integer columns for a scoring circuit.
///
/// `input` is the exact input proven: `{"input_data": [[...]], "nonce": "<hex>"}` for a model,
/// the batch dict for a scoring circuit. Raises `OmronError` if the proof does not verify for
/// exactly this circuit, input, nonce and miner.
#[pyfunction]
#[pyo3(signature = (circuit_dir, input, miner_hotkey, proof))]
pub(crate) fn verify<'py>(
    py: Python<'py>,
    circuit_dir: PathBuf,
    input: &Bound<'py, PyAny>,
    miner_hotkey: &str,
    proof: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let input = to_json(input, "input")?;
    let miner = keys::account(miner_hotkey, "miner_hotkey")?;
    let proof = circuit::proof_bytes(proof)?;
    let output = py.detach(|| -> Result<Value, Error> {
        let c = circuit::load(&circuit_dir)?;
        let input = circuit::proven_input(&c, &input)?;
        Ok(prove_output(&c, &input, &miner, &proof)?)
    })?;
    to_py(py, &output)
}

/// Checks a validator's answer (`result`, the JSON-RPC result as a dict) to the request the app
/// itself made (`method` and its `params`), with the circuit's files: the proof verifies against
/// the app's own input and the miner's hotkey, the output is the proven one, and the receipt is
/// signed and names exactly this input, output, proof, circuit and miner.
///
/// Returns `{"output", "validator", "miner"}` (hotkeys as ss58); raises `OmronError` on any
/// failure.
#[pyfunction]
#[pyo3(signature = (circuit_dir, method, params, result))]
pub(crate) fn verify_answer<'py>(
    py: Python<'py>,
    circuit_dir: PathBuf,
    method: &str,
    params: &Bound<'py, PyAny>,
    result: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let params = to_json(params, "params")?;
    let result = to_json(result, "result")?;
    let method = method.to_owned();
    let verified = py.detach(|| -> Result<Value, Error> {
        let c = circuit::load(&circuit_dir)?;
        let result: InferenceResult = serde_json::from_value(result)
            .map_err(|e| Error::Input(format!("result is not an API answer: {e}")))?;
        Ok(verified_json(&check_request(&c, &method, params, &result)?))
    })?;
    to_py(py, &verified)
}

/// Checks `result` against the request `method(params)`; the shared part of
/// [`verify_answer`] and the client.
pub(crate) fn check_request(
    c: &StoredCircuit,
    method: &str,
    params: Value,
    result: &InferenceResult,
) -> Result<VerifiedAnswer, Error> {
    match method {
        PROOF_OF_COMPUTATION | "proof_of_computation" => {
            let p: ProofOfComputationParams = serde_json::from_value(params).map_err(|e| {
                Error::Input(format!(
                    "params of {PROOF_OF_COMPUTATION} are {{\"circuit\", \"input\"}}: {e}"
                ))
            })?;
            if !circuit::names(c, &p.circuit) {
                return Err(Error::Input(format!(
                    "the request names circuit '{}', but {} holds '{}' ({})",
                    p.circuit,
                    c.path.display(),
                    c.metadata.name,
                    c.id()
                )));
            }
            Ok(check_answer(
                c,
                AppRequest::Computation { input: &p.input },
                result,
            )?)
        }
        PROOF_OF_WEIGHTS | "proof_of_weights" => {
            let p: ProofOfWeightsParams = serde_json::from_value(params).map_err(|e| {
                Error::Input(format!(
                    "params of {PROOF_OF_WEIGHTS} are {{\"evaluation_data\", \"weights_version\"?}}: {e}"
                ))
            })?;
            check_weights_circuit(c, p.weights_version)?;
            Ok(check_answer(
                c,
                AppRequest::Weights {
                    evaluation_data: &p.evaluation_data,
                },
                result,
            )?)
        }
        _ => Err(Error::Input(format!(
            "unknown method '{method}' (expected {PROOF_OF_COMPUTATION} or {PROOF_OF_WEIGHTS})"
        ))),
    }
}

/// Refuses a circuit that is not a scoring circuit (of `weights_version`, if given: the
/// validator picks only a circuit of that version).
pub(crate) fn check_weights_circuit(
    c: &StoredCircuit,
    weights_version: Option<u64>,
) -> Result<(), Error> {
    if !c.is_proof_of_weights() {
        return Err(Error::Input(format!(
            "{} holds '{}', a model circuit, not a proof-of-weights circuit",
            c.path.display(),
            c.metadata.name
        )));
    }
    if let Some(asked) = weights_version
        && c.metadata.weights_version != Some(asked)
    {
        return Err(Error::Input(format!(
            "weights_version {asked} asked, but '{}' in {} is {}",
            c.metadata.name,
            c.path.display(),
            c.metadata
                .weights_version
                .map_or("of no weights_version".to_owned(), |v| format!(
                    "version {v}"
                ))
        )));
    }
    Ok(())
}

/// Checks a receipt on its own (an archived one, say): its signature, that `input` and `proof`
/// are the ones it names, that the proof verifies for the circuit in `circuit_dir`, the input
/// and the receipt's miner, and that the proven output is the receipt's.
///
/// `input` is the exact input proven (for a model, with its nonce). Returns
/// `{"output", "validator", "miner"}`; raises `OmronError` on any failure.
#[pyfunction]
#[pyo3(signature = (circuit_dir, receipt, input, proof))]
pub(crate) fn verify_receipt<'py>(
    py: Python<'py>,
    circuit_dir: PathBuf,
    receipt: &Bound<'py, PyAny>,
    input: &Bound<'py, PyAny>,
    proof: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let receipt = to_json(receipt, "receipt")?;
    let input = to_json(input, "input")?;
    let proof = circuit::proof_bytes(proof)?;
    let verified = py.detach(|| -> Result<Value, Error> {
        let receipt: Receipt = serde_json::from_value(receipt)
            .map_err(|e| Error::Input(format!("receipt is not a validator receipt: {e}")))?;
        let c = circuit::load(&circuit_dir)?;
        let input = circuit::proven_input(&c, &input)?;
        Ok(verified_json(&omron_api::verify_receipt(
            &c, &receipt, &input, &proof,
        )?))
    })?;
    to_py(py, &verified)
}

/// `{"output", "validator", "miner"}` of a verified answer.
pub(crate) fn verified_json(v: &VerifiedAnswer) -> Value {
    json!({
        "output": v.output,
        "validator": v.validator.to_ss58(),
        "miner": v.miner.to_ss58(),
    })
}
