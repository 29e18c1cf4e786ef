//! `omron verify`: check a proof against a circuit and an input (and optionally an output).
//!
//! Exit 0 and `verified` when the proof is valid; otherwise exit 1 with a one-line reason,
//! whatever the cause (a wrong proof, a malformed file, a missing circuit).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use omron_circuit::{CircuitDir, MAX_PROOF_BYTES, OutputData};

use super::prove::{circuit_inputs, parse_context};
use crate::Outcome;

/// Arguments of `omron verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The circuit folder.
    #[arg(long, value_name = "DIR")]
    circuit: PathBuf,
    /// The input the proof must be for (for a proof-of-weights circuit, the request's `inputs`
    /// JSON).
    #[arg(long, value_name = "INPUT.json")]
    input: PathBuf,
    /// The proof file.
    #[arg(long, value_name = "PROOF")]
    proof: PathBuf,
    /// The output the proof must prove, as `{"output": [...]}`.
    #[arg(long = "output-json", value_name = "OUT.json")]
    output_json: Option<PathBuf>,
    /// The context the proof was bound to, as hex.
    #[arg(long, value_name = "HEX", default_value = "", conflicts_with_all = ["nonce", "miner_hotkey"])]
    context: String,
    /// For a subnet request: the request's nonce (hex, as in `RequestInput.nonce`); with
    /// --miner-hotkey it builds the request context instead of --context.
    #[arg(long, value_name = "HEX", requires = "miner_hotkey")]
    nonce: Option<String>,
    /// For a subnet request: the ss58 hotkey of the miner that proved it.
    /// For a proof-of-weights circuit, `--nonce` may be left out: the request's nonce is derived
    /// from the batch JSON (`--input`), and the hotkey is the prover's (a validator's, for its
    /// own score batches).
    #[arg(long = "miner-hotkey", value_name = "SS58")]
    miner_hotkey: Option<String>,
}

/// The proof context: `--context`, or the subnet request context of `--nonce` and
/// `--miner-hotkey`.
fn context_of(args: &VerifyArgs) -> anyhow::Result<Vec<u8>> {
    let Some(hotkey) = &args.miner_hotkey else {
        return parse_context(&args.context);
    };
    let hotkey: omron_keys::AccountId = hotkey
        .parse()
        .map_err(|e| anyhow::anyhow!("--miner-hotkey {hotkey}: {e}"))?;
    let nonce = match &args.nonce {
        Some(nonce) => {
            hex::decode(nonce.trim_start_matches("0x")).context("--nonce must be hex")?
        }
        None => {
            let stored = omron_circuit::StoredCircuit::load(&args.circuit).context(
                "--miner-hotkey without --nonce needs a proof-of-weights circuit folder",
            )?;
            if !stored.is_proof_of_weights() {
                anyhow::bail!(
                    "--miner-hotkey without --nonce is only for proof-of-weights circuits; \
                     give the request's --nonce"
                );
            }
            let text = std::fs::read_to_string(&args.input)
                .with_context(|| format!("cannot read {}", args.input.display()))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not JSON", args.input.display()))?;
            omron_circuit::pow_nonce(&value)
        }
    };
    Ok(omron_circuit::request_context(&nonce, hotkey.as_bytes()))
}

/// What the command checks, read from the flags. A flag or file that cannot be read is the
/// caller's mistake (exit 2); only the proof itself can be rejected (exit 1).
struct Check {
    circuit: omron_circuit::Circuit,
    context: Vec<u8>,
    inputs: Vec<Vec<i64>>,
    expected: Option<OutputData>,
}

fn prepare(args: &VerifyArgs) -> anyhow::Result<Check> {
    let (circuit, _) = CircuitDir::new(&args.circuit).load()?;
    let context = context_of(args)?;
    let inputs = circuit_inputs(&args.circuit, &circuit, &args.input)?;
    let expected = match &args.output_json {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let out: OutputData = serde_json::from_str(&text)
                .with_context(|| format!("{}: expected {{\"output\": [...]}}", path.display()))?;
            Some(out)
        }
        None => None,
    };
    Ok(Check {
        circuit,
        context,
        inputs,
        expected,
    })
}

/// Verifies the proof file; an error here is a rejection of the proof. A missing or
/// oversized proof file is rejected too: there is no valid proof to accept.
fn check(args: &VerifyArgs, c: &Check) -> anyhow::Result<f64> {
    let len = std::fs::metadata(&args.proof)
        .with_context(|| format!("cannot read {}", args.proof.display()))?
        .len();
    if len > MAX_PROOF_BYTES as u64 {
        anyhow::bail!("proof file is {len} bytes, larger than any valid proof");
    }
    let proof = std::fs::read(&args.proof)
        .with_context(|| format!("cannot read {}", args.proof.display()))?;
    let start = Instant::now();
    let outputs = c
        .circuit
        .verify(&c.inputs, &proof, &c.context)
        .context("invalid proof")?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    if let Some(expected) = &c.expected {
        expected
            .matches(&c.circuit, &outputs)
            .map_err(|e| anyhow::anyhow!("output mismatch: {e}"))?;
    }
    Ok(ms)
}

pub(crate) fn run(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let prepared = prepare(&args)?;
    match check(&args, &prepared) {
        Ok(ms) => {
            println!("verified");
            tracing::debug!(ms, "verification time");
            Ok(Outcome::Success)
        }
        Err(err) => {
            println!("rejected: {err:#}");
            Ok(Outcome::Rejected)
        }
    }
}
