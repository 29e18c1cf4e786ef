//! `omron prove`: run a circuit's model on an input and prove the result.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use omron_circuit::{CircuitDir, InputData, OutputData};

use crate::Outcome;

/// Arguments of `omron prove`.
#[derive(Debug, Args)]
pub(crate) struct ProveArgs {
    /// The circuit folder (from `omron circuit compile`).
    #[arg(long, value_name = "DIR")]
    circuit: PathBuf,
    /// The input, as `{"input_data": [[...]]}`.
    #[arg(long, value_name = "INPUT.json")]
    input: PathBuf,
    /// Where to write the proof.
    #[arg(long, value_name = "PROOF")]
    out: PathBuf,
    /// Also write the dequantised output as `{"output": [...]}`.
    #[arg(long = "output-json", value_name = "OUT.json")]
    output_json: Option<PathBuf>,
    /// Context bound into the proof, as hex (the subnet binds the request nonce and the miner's
    /// hotkey this way); the verifier must be given the same.
    #[arg(long, value_name = "HEX", default_value = "")]
    context: String,
}

pub(crate) fn read_input(path: &PathBuf) -> anyhow::Result<InputData> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    InputData::from_json(&text).with_context(|| format!("{}", path.display()))
}

pub(crate) fn parse_context(hex_text: &str) -> anyhow::Result<Vec<u8>> {
    hex::decode(hex_text.trim_start_matches("0x")).context("--context must be hex")
}

pub(crate) fn run(args: ProveArgs) -> anyhow::Result<Outcome> {
    let (circuit, _) = CircuitDir::new(&args.circuit).load()?;
    let inputs = read_input(&args.input)?.quantise(&circuit)?;
    let context = parse_context(&args.context)?;
    let start = Instant::now();
    let proof = circuit.prove(&inputs, &context)?;
    let elapsed = start.elapsed();
    std::fs::write(&args.out, &proof.proof)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let output = OutputData::from_quantised(&circuit, &proof.outputs);
    if let Some(path) = &args.output_json {
        let json = serde_json::to_string(&output)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("circuit  {}", circuit.id_hex());
    println!("proved   in {:.1} ms", elapsed.as_secs_f64() * 1e3);
    println!(
        "proof    {} ({} bytes)",
        args.out.display(),
        proof.proof.len()
    );
    println!("output   {:?}", output.output);
    Ok(Outcome::Success)
}
