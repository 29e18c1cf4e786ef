//! Checking an answer without trusting the validator: the proof is verified with the
//! circuit's own files against the input the app itself sent, and every field of the answer
//! and of the receipt must agree with what was verified. The original's clients take
//! `success: true` on faith; ours never do.

use omron_circuit::{RequestInput, StoredCircuit};
use omron_keys::AccountId;
use serde_json::Value;

use crate::canonical;
use crate::receipt::{Receipt, ReceiptError};
use crate::rpc::InferenceResult;

/// Why an answer or a receipt was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The answer names something other than what was asked or proven.
    #[error("answer does not match: {0}")]
    Mismatch(String),
    /// A field is unreadable.
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// The receipt does not hold.
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// The proof does not verify.
    #[error("proof rejected: {0}")]
    Proof(String),
}

/// What was asked, as the app itself holds it.
#[derive(Debug, Clone, Copy)]
pub enum AppRequest<'a> {
    /// `omron.proof_of_computation` with this `input`.
    Computation {
        /// The app's `input` (`{"input_data": ..., "nonce"?: ...}`).
        input: &'a Value,
    },
    /// `omron.proof_of_weights` with this `evaluation_data`.
    Weights {
        /// The app's batch.
        evaluation_data: &'a Value,
    },
}

/// An answer that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedAnswer {
    /// The proven output.
    pub output: Value,
    /// The validator that signed the receipt.
    pub validator: AccountId,
    /// The miner that proved it.
    pub miner: AccountId,
}

/// Reads the `input` of a proof-of-computation request: `input_data` and an optional nonce.
pub fn read_app_input(input: &Value) -> Result<(Vec<Vec<f64>>, Option<String>), String> {
    let obj = input
        .as_object()
        .ok_or("input must be an object {\"input_data\": [[...]]}")?;
    for key in obj.keys() {
        if key != "input_data" && key != "nonce" {
            return Err(format!(
                "input has an unknown field '{key}' (expected input_data and optionally nonce)"
            ));
        }
    }
    let data = obj.get("input_data").ok_or("input has no input_data")?;
    let data: Vec<Vec<f64>> = serde_json::from_value(data.clone())
        .map_err(|e| format!("input_data must be a list of lists of numbers: {e}"))?;
    let nonce = match obj.get("nonce") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(format!("nonce must be a hex string, not {other}")),
    };
    Ok((data, nonce))
}

fn mismatch(what: impl Into<String>) -> AnswerError {
    AnswerError::Mismatch(what.into())
}

/// Checks `result` for `request` with the circuit's files: the proof verifies against the
/// app's input and the miner's hotkey, the output is the proven one, and the receipt is
/// signed and names exactly this input, output, proof, circuit and miner.
pub fn check_answer(
    circuit: &StoredCircuit,
    request: AppRequest<'_>,
    result: &InferenceResult,
) -> Result<VerifiedAnswer, AnswerError> {
    let id = circuit.id();
    if result.circuit_id != id {
        return Err(mismatch(format!(
            "answer is for circuit {}, the circuit files are {id}",
            result.circuit_id
        )));
    }
    if !result.success {
        return Err(mismatch("answer says success: false"));
    }
    if result.miner_hotkey != result.context.miner_hotkey {
        return Err(mismatch("miner_hotkey differs from the proof context's"));
    }
    let proof = hex::decode(result.proof.trim_start_matches("0x"))
        .map_err(|e| AnswerError::Malformed(format!("proof is not hex: {e}")))?;
    let proven_input = match request {
        AppRequest::Computation { input } => {
            let (input_data, own_nonce) = read_app_input(input).map_err(AnswerError::Malformed)?;
            let nonce = result
                .context
                .nonce
                .clone()
                .ok_or_else(|| mismatch("no nonce in the proof context"))?;
            if let Some(own) = own_nonce
                && !own.eq_ignore_ascii_case(&nonce)
            {
                return Err(mismatch(
                    "the proof is bound to another nonce than the app's",
                ));
            }
            serde_json::to_value(RequestInput { input_data, nonce })
                .map_err(|e| AnswerError::Malformed(e.to_string()))?
        }
        AppRequest::Weights { evaluation_data } => evaluation_data.clone(),
    };
    if canonical::hash(&proven_input) != canonical::hash(&result.context.input) {
        return Err(mismatch("the proof context's input is not the app's input"));
    }
    if result.receipt.body.miner_hotkey != result.miner_hotkey
        || result.receipt.body.miner_uid != result.miner_uid
    {
        return Err(mismatch("the receipt names another miner"));
    }
    if result.receipt.body.request_hash != result.hash {
        return Err(mismatch("the receipt names another request"));
    }
    if result.receipt.body.output != result.output {
        return Err(mismatch("the receipt names another output"));
    }
    let verified = verify_receipt(circuit, &result.receipt, &proven_input, &proof)?;
    Ok(verified)
}

/// Checks a receipt on its own (an archived one, say): the signature, that `input` and `proof`
/// are the ones it names, that the proof verifies for the circuit, input and miner, and that
/// the proven output is the receipt's.
pub fn verify_receipt(
    circuit: &StoredCircuit,
    receipt: &Receipt,
    input: &Value,
    proof: &[u8],
) -> Result<VerifiedAnswer, AnswerError> {
    let validator = receipt.verify_signature()?;
    let id = circuit.id();
    if receipt.body.circuit_id != id {
        return Err(mismatch(format!(
            "receipt is for circuit {}, the circuit files are {id}",
            receipt.body.circuit_id
        )));
    }
    receipt.check_proof(proof)?;
    receipt.check_input(input)?;
    let miner = receipt.miner()?;
    let output = prove_output(circuit, input, &miner, proof)?;
    if output != receipt.body.output {
        return Err(mismatch(format!(
            "the proof's output {} differs from the receipt's {}",
            canonical::to_string(&output),
            canonical::to_string(&receipt.body.output)
        )));
    }
    Ok(VerifiedAnswer {
        output,
        validator,
        miner,
    })
}

/// Verifies `proof` for `input` (a request input or a scoring batch) and returns the proven
/// output as JSON: floats for a model, integer columns for a scoring circuit.
pub fn prove_output(
    circuit: &StoredCircuit,
    input: &Value,
    miner: &AccountId,
    proof: &[u8],
) -> Result<Value, AnswerError> {
    if circuit.is_proof_of_weights() {
        let out = circuit
            .verify_pow(input, miner.as_bytes(), proof, None)
            .map_err(|e| AnswerError::Proof(e.to_string()))?;
        Ok(serde_json::json!(out))
    } else {
        let req: RequestInput = serde_json::from_value(input.clone())
            .map_err(|e| AnswerError::Malformed(format!("input: {e}")))?;
        let out = circuit
            .verify_response(&req, miner.as_bytes(), proof, None)
            .map_err(|e| AnswerError::Proof(e.to_string()))?;
        Ok(serde_json::json!(out))
    }
}
