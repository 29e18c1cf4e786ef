//! Offline use: drawing benchmark inputs, proving with the engine in-process (what a miner does), and signing an answer
//! with a local key (what a validator does). For trials and tests without a running subnet;
//! a real answer comes from a validator and is checked with `verify_answer`.

use std::path::PathBuf;

use omron_api::canonical;
use omron_api::receipt::RECEIPT_VERSION;
use omron_api::rpc::{PROOF_OF_COMPUTATION, PROOF_OF_WEIGHTS};
use omron_api::verify::read_app_input;
use omron_api::{InferenceResult, ProofContext, UnsignedReceipt};
use omron_circuit::RequestInput;
use pyo3::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::circuit;
use crate::convert::{to_json, to_py};
use crate::error::Error;
use crate::keys;

/// What [`prove_locally`] returns, and what [`make_answer`] reads back.
#[derive(Debug, Serialize, Deserialize)]
struct LocalProof {
    /// The circuit id (hex).
    circuit_id: String,
    /// The circuit's name.
    circuit_name: String,
    /// The API method that asks for such a proof.
    method: String,
    /// The exact input proven (a model's with its nonce, or the batch).
    input: Value,
    /// The nonce of a model proof.
    nonce: Option<String>,
    /// The prover's hotkey (ss58).
    miner_hotkey: String,
    /// The proof, hex.
    proof: String,
    /// The proven output.
    output: Value,
}

/// Proves `input` with the circuit in `circuit_dir`, in this process, as the miner whose key is
/// `miner_key_uri` (default `//Bob`, a well-known dev key).
///
/// For a model, `input` is `{"input_data": [[...]]}`; the proof is bound to `nonce_hex` (8-64
/// bytes of hex), to `input["nonce"]`, or to a fresh random nonce. For a scoring circuit,
/// `input` is the batch and no nonce is taken (the proof is bound to the batch itself).
///
/// Returns `{"circuit_id", "circuit_name", "method", "input", "nonce", "miner_hotkey", "proof",
/// "output"}`, where `input` is the exact input proven: pass it, the hotkey and the proof to
/// `verify`.
#[pyfunction]
#[pyo3(signature = (circuit_dir, input, nonce_hex=None, miner_key_uri="//Bob"))]
pub(crate) fn prove_locally<'py>(
    py: Python<'py>,
    circuit_dir: PathBuf,
    input: &Bound<'py, PyAny>,
    nonce_hex: Option<String>,
    miner_key_uri: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let input = to_json(input, "input")?;
    let miner = keys::from_uri(miner_key_uri, "miner_key_uri")?;
    let proven = py.detach(|| -> Result<Value, Error> {
        let c = circuit::load(&circuit_dir)?;
        let hotkey = miner.public();
        let local = if c.is_proof_of_weights() {
            if nonce_hex.is_some() {
                return Err(Error::Input(format!(
                    "'{}' is a proof-of-weights circuit: it takes no nonce (the proof is bound to the batch itself)",
                    c.metadata.name
                )));
            }
            let (proof, output) = c
                .prove_pow(&input, hotkey.as_bytes())
                .map_err(|e| Error::Prove(e.to_string()))?;
            LocalProof {
                circuit_id: c.id(),
                circuit_name: c.metadata.name.clone(),
                method: PROOF_OF_WEIGHTS.into(),
                input,
                nonce: None,
                miner_hotkey: hotkey.to_ss58(),
                proof: hex::encode(proof),
                output: json!(output),
            }
        } else {
            let (input_data, own_nonce) = read_app_input(&input).map_err(Error::Input)?;
            let nonce = match (nonce_hex, own_nonce) {
                (Some(a), Some(b)) if !a.eq_ignore_ascii_case(&b) => {
                    return Err(Error::Input(format!(
                        "nonce_hex {a} differs from input[\"nonce\"] {b}: give one"
                    )));
                }
                (Some(n), _) | (None, Some(n)) => n,
                (None, None) => hex::encode(rand::random::<[u8; 16]>()),
            };
            let request = RequestInput { input_data, nonce };
            let (proof, output) = c
                .prove_request(&request, hotkey.as_bytes())
                .map_err(|e| Error::Prove(e.to_string()))?;
            let nonce = request.nonce.clone();
            LocalProof {
                circuit_id: c.id(),
                circuit_name: c.metadata.name.clone(),
                method: PROOF_OF_COMPUTATION.into(),
                input: circuit::request_value(request.input_data, request.nonce)?,
                nonce: Some(nonce),
                miner_hotkey: hotkey.to_ss58(),
                proof: hex::encode(proof),
                output: json!(output),
            }
        };
        serde_json::to_value(local).map_err(|e| Error::Input(e.to_string()))
    })?;
    to_py(py, &proven)
}

/// A benchmark input of the circuit in `circuit_dir`, drawn as validators draw them (from
/// `seed`, or at random): `{"input_data": [[...]]}` for a model (no nonce: pass one to
/// `prove_locally`, or let it draw one), a scoring batch for a proof-of-weights circuit.
#[pyfunction]
#[pyo3(signature = (circuit_dir, seed=None))]
pub(crate) fn sample_input(
    py: Python<'_>,
    circuit_dir: PathBuf,
    seed: Option<u64>,
) -> PyResult<Bound<'_, PyAny>> {
    let input = py.detach(|| -> Result<Value, Error> {
        let c = circuit::load(&circuit_dir)?;
        let mut rng = match seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_entropy(),
        };
        if c.is_proof_of_weights() {
            c.generate_pow_inputs(&mut rng).ok_or_else(|| {
                Error::Input(format!("'{}' has no batch generator", c.metadata.name))
            })
        } else {
            Ok(json!({ "input_data": c.generate_input(&mut rng).input_data }))
        }
    })?;
    to_py(py, &input)
}

/// FOR TESTS AND OFFLINE TRIALS ONLY: turns a `prove_locally` result into a validator's answer
/// (the `omron.*` JSON-RPC result, receipt included) signed by the key `validator_key_uri`,
/// as if that validator had verified the proof. Nothing is verified here: check the answer
/// with `verify_answer` or its receipt with `verify_receipt`, as an app does with a real one.
///
/// The answer's `hash` (and the receipt's `request_hash`) is the hash of the proven input;
/// `issued_at` is now.
#[pyfunction]
#[pyo3(signature = (proven, validator_key_uri, miner_uid=0, netuid=2, block=0))]
pub(crate) fn make_answer<'py>(
    py: Python<'py>,
    proven: &Bound<'py, PyAny>,
    validator_key_uri: &str,
    miner_uid: u16,
    netuid: u16,
    block: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let proven: LocalProof = serde_json::from_value(to_json(proven, "proven")?)
        .map_err(|e| Error::Input(format!("proven is not a prove_locally result: {e}")))?;
    let validator = keys::from_uri(validator_key_uri, "validator_key_uri")?;
    let proof = hex::decode(&proven.proof)
        .map_err(|e| Error::Input(format!("proven[\"proof\"] is not hex: {e}")))?;
    let input_hash = canonical::hash(&proven.input);
    let request_hash = input_hash.clone();
    let receipt = UnsignedReceipt {
        version: RECEIPT_VERSION,
        request_hash: request_hash.clone(),
        method: proven.method,
        circuit_id: proven.circuit_id.clone(),
        input_hash,
        output: proven.output.clone(),
        proof_hash: canonical::sha256_hex(&proof),
        miner_uid,
        miner_hotkey: proven.miner_hotkey.clone(),
        validator_hotkey: validator.public().to_ss58(),
        netuid,
        block,
        issued_at: omron_api::auth::unix_now(),
    }
    .sign(&validator);
    let answer = InferenceResult {
        hash: request_hash,
        public_signals: canonical::to_string(&proven.output),
        proof: proven.proof,
        success: true,
        circuit_id: proven.circuit_id,
        circuit_name: proven.circuit_name,
        miner_uid,
        miner_hotkey: proven.miner_hotkey.clone(),
        output: proven.output,
        context: ProofContext {
            input: proven.input,
            nonce: proven.nonce,
            miner_hotkey: proven.miner_hotkey,
        },
        receipt,
        attempts: 1,
    };
    let value = serde_json::to_value(answer).map_err(|e| Error::Input(e.to_string()))?;
    to_py(py, &value)
}
