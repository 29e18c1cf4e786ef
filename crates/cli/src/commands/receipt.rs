//! `omron receipt verify`: check a validator's signed receipt with the circuit's own files:
//! the signature, that the proof and the input are the ones it names, that the proof verifies
//! for that input and miner, and that the proven output is the receipt's.
//!
//! Exit 0 and `verified` when every check holds; 1 and `rejected: <reason>` when one fails;
//! 2 when a file cannot be read or is not what it should be.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use omron_api::{
    AnswerError, InferenceResult, ProofContext, Receipt, ReceiptError, verify_receipt,
};
use omron_circuit::{CircuitStore, MAX_PROOF_BYTES, METADATA_FILE, PROOF_MAGIC, StoredCircuit};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Outcome;

/// `omron receipt ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ReceiptCommand {
    /// Check a receipt's signature and the proof it names, against the input proven.
    Verify(VerifyArgs),
}

/// `omron receipt verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The receipt: a bare receipt, or a record holding "receipt", "proof" and
    /// "context": {"input"} (what `omron request --output-json` writes).
    #[arg(long, value_name = "RECEIPT.json")]
    receipt: PathBuf,
    /// The circuit folder, or a folder of circuits holding the receipt's circuit (default:
    /// `circuits/` of the working directory or of the repository).
    #[arg(long, value_name = "DIR")]
    circuit: Option<PathBuf>,
    /// The proof: binary, or hex text (default: the record's "proof").
    #[arg(long, value_name = "PROOF")]
    proof: Option<PathBuf>,
    /// The exact input proven, nonce included (default: the record's "context"."input").
    #[arg(long, value_name = "INPUT.json")]
    input: Option<PathBuf>,
}

/// A verified answer as `omron request --output-json` writes it: enough to check the receipt
/// again, with the circuit's files alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The proven output.
    pub(crate) output: Value,
    /// The proof, hex.
    pub(crate) proof: String,
    /// The validator's signed receipt.
    pub(crate) receipt: Receipt,
    /// What the proof is bound to: the exact input proven, its nonce, the miner.
    pub(crate) context: ProofContext,
}

impl Record {
    /// The record of an answer.
    pub(crate) fn of(result: &InferenceResult) -> Self {
        Self {
            output: result.output.clone(),
            proof: result.proof.clone(),
            receipt: result.receipt.clone(),
            context: result.context.clone(),
        }
    }
}

pub(crate) fn run(cmd: ReceiptCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ReceiptCommand::Verify(args) => verify(&args),
    }
}

/// What the receipt file holds: the receipt, and the proof and input when it is a record.
struct Loaded {
    receipt: Receipt,
    proof: Option<String>,
    input: Option<Value>,
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))
}

fn load_receipt(path: &Path) -> anyhow::Result<Loaded> {
    let value = read_json(path)?;
    let Some(inner) = value.get("receipt") else {
        let receipt = serde_json::from_value(value)
            .with_context(|| format!("{}: neither a receipt nor a record", path.display()))?;
        return Ok(Loaded {
            receipt,
            proof: None,
            input: None,
        });
    };
    let receipt = serde_json::from_value(inner.clone())
        .with_context(|| format!("{}: its \"receipt\" is not a receipt", path.display()))?;
    let proof = match value.get("proof") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => bail!("{}: \"proof\" must be a hex string", path.display()),
    };
    let input = value.get("context").and_then(|c| c.get("input")).cloned();
    Ok(Loaded {
        receipt,
        proof,
        input,
    })
}

/// Decodes hex text (optionally `0x`-prefixed, surrounding whitespace ignored).
fn from_hex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text.trim().trim_start_matches("0x")).ok()
}

/// A proof file: the binary proof, or its hex text.
fn read_proof(path: &Path) -> anyhow::Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len > 2 * MAX_PROOF_BYTES as u64 + 16 {
        bail!(
            "{}: {len} bytes, larger than any valid proof",
            path.display()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.starts_with(PROOF_MAGIC) {
        return Ok(bytes);
    }
    Ok(std::str::from_utf8(&bytes)
        .ok()
        .and_then(from_hex)
        .unwrap_or(bytes))
}

/// The circuit the receipt names: `dir` itself when it is a circuit folder, else the one of
/// the receipt's id among `dir`'s circuits (or the default circuit store's).
fn load_circuit(dir: Option<&Path>, id: &str) -> anyhow::Result<StoredCircuit> {
    if let Some(dir) = dir
        && dir.join(METADATA_FILE).is_file()
    {
        return StoredCircuit::load(dir)
            .with_context(|| format!("cannot load the circuit in {}", dir.display()));
    }
    let dir = super::miner::circuits_dir(dir)?;
    let store = CircuitStore::load(&dir)
        .with_context(|| format!("cannot load the circuits in {}", dir.display()))?;
    store.get(id).cloned().with_context(|| {
        format!(
            "no circuit with the receipt's id {id} in {}; pass --circuit DIR",
            dir.display()
        )
    })
}

fn verify(args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let loaded = load_receipt(&args.receipt)?;
    let proof = match (&args.proof, &loaded.proof) {
        (Some(path), _) => read_proof(path)?,
        (None, Some(text)) => from_hex(text)
            .with_context(|| format!("{}: \"proof\" is not hex", args.receipt.display()))?,
        (None, None) => bail!(
            "{} holds no proof; pass --proof FILE",
            args.receipt.display()
        ),
    };
    let input = match (&args.input, loaded.input) {
        (Some(path), _) => read_json(path)?,
        (None, Some(input)) => input,
        (None, None) => bail!(
            "{} holds no input; pass --input with the exact input proven (nonce included)",
            args.receipt.display()
        ),
    };
    let receipt = loaded.receipt;
    let circuit = load_circuit(args.circuit.as_deref(), &receipt.body.circuit_id)?;
    match verify_receipt(&circuit, &receipt, &input, &proof) {
        Ok(ok) => {
            println!("verified");
            println!("circuit: {} ({})", circuit.metadata.name, circuit.id());
            println!("validator: {}", ok.validator);
            println!("miner: uid {} {}", receipt.body.miner_uid, ok.miner);
            println!("output: {}", omron_api::canonical::to_string(&ok.output));
            Ok(Outcome::Success)
        }
        Err(err) => {
            let wrong_input = matches!(
                &err,
                AnswerError::Receipt(ReceiptError::Mismatch {
                    field: "input_hash",
                    ..
                })
            );
            let hint = if wrong_input
                && !circuit.is_proof_of_weights()
                && input.get("nonce").is_none()
            {
                " (the input proven includes the nonce used: {\"input_data\": ..., \"nonce\": ...})"
            } else {
                ""
            };
            println!("rejected: {err}{hint}");
            Ok(Outcome::Rejected)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_are_read_as_binary_or_hex() {
        let dir = tempfile::tempdir().unwrap();
        let mut proof = PROOF_MAGIC.to_vec();
        proof.extend_from_slice(b"0123abcd");
        let bin = dir.path().join("p.bin");
        std::fs::write(&bin, &proof).unwrap();
        assert_eq!(read_proof(&bin).unwrap(), proof);
        let hex_file = dir.path().join("p.hex");
        std::fs::write(&hex_file, format!("0x{}\n", hex::encode(&proof))).unwrap();
        assert_eq!(read_proof(&hex_file).unwrap(), proof);
        // Neither: kept as bytes (the receipt's proof_hash then rejects it).
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"not a proof").unwrap();
        assert_eq!(read_proof(&junk).unwrap(), b"not a proof");
        assert!(read_proof(&dir.path().join("missing")).is_err());
    }
}
