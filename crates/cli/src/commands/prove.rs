//! `omron prove`: run a circuit's model on an input and prove the result.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use omron_circuit::{
    Circuit, CircuitDir, CircuitMetadata, CircuitType, InputData, METADATA_FILE, OutputData,
    StoredCircuit,
};

use crate::Outcome;
use crate::progress::Progress;

/// Arguments of `omron prove`.
#[derive(Debug, Args)]
#[command(after_help = crate::progress::HELP)]
pub(crate) struct ProveArgs {
    /// The circuit folder (from `omron circuit compile`).
    #[arg(long, value_name = "DIR")]
    circuit: PathBuf,
    /// The input, as `{"input_data": [[...]]}`; for a proof-of-weights circuit, the request's
    /// `inputs` JSON (e.g. the reference's scoring batch).
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

/// The circuit's inputs from `path`: for a proof-of-weights circuit (its folder's
/// `metadata.json` says so) the request's `inputs` JSON, e.g. the reference's scoring batch;
/// otherwise `{"input_data": [[...]]}`, quantised.
pub(crate) fn circuit_inputs(
    dir: &Path,
    circuit: &Circuit,
    path: &PathBuf,
) -> anyhow::Result<Vec<Vec<i64>>> {
    let meta = dir.join(METADATA_FILE);
    let pow = match std::fs::read_to_string(&meta) {
        Ok(text) => {
            serde_json::from_str::<CircuitMetadata>(&text)
                .with_context(|| format!("{}", meta.display()))?
                .circuit_type
                == CircuitType::ProofOfWeights
        }
        Err(_) => false,
    };
    // Only a proof-of-weights folder is loaded again, for its input checks.
    if pow {
        let stored = StoredCircuit::load(dir)?;
        if stored.is_proof_of_weights() {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not JSON", path.display()))?;
            return stored
                .pow_columns(&value)
                .with_context(|| format!("{}", path.display()));
        }
    }
    Ok(read_input(path)?.quantise(circuit)?)
}

pub(crate) fn parse_context(hex_text: &str) -> anyhow::Result<Vec<u8>> {
    hex::decode(hex_text.trim_start_matches("0x")).context("--context must be hex")
}

pub(crate) fn run(args: ProveArgs) -> anyhow::Result<Outcome> {
    let progress = Progress::start(args.circuit.display().to_string());
    progress.phase("loading the circuit");
    let (circuit, _) = CircuitDir::new(&args.circuit).load()?;
    progress.subject(circuit.name());
    progress.phase("reading the input");
    let inputs = circuit_inputs(&args.circuit, &circuit, &args.input)?;
    let context = parse_context(&args.context)?;
    progress.phase(format!("proving ({} ops)", circuit.graph().nodes.len()));
    let start = Instant::now();
    let proof = circuit.prove(&inputs, &context)?;
    let elapsed = start.elapsed();
    progress.phase(format!("writing {}", args.out.display()));
    std::fs::write(&args.out, &proof.proof)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let output = OutputData::from_quantised(&circuit, &proof.outputs);
    if let Some(path) = &args.output_json {
        let json = serde_json::to_string(&output)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    drop(progress);
    println!("circuit  {}", circuit.id_hex());
    println!("proved   in {:.1} ms", elapsed.as_secs_f64() * 1e3);
    println!(
        "proof    {} ({} bytes)",
        args.out.display(),
        proof.proof.len()
    );
    // A row is the last output's innermost axis: a language model's vocabulary.
    let graph = circuit.graph();
    let row = graph
        .outputs
        .last()
        .and_then(|&t| graph.tensors[t].shape.last().copied())
        .unwrap_or(output.output.len());
    print!("{}", output_lines(&output.output, row));
    Ok(Outcome::Success)
}

/// Outputs up to this many values print in full.
const PRINTED_IN_FULL: usize = 64;
/// Leading values a summary shows.
const SUMMARY_HEAD: usize = 16;

/// The `output` lines: every value when there are few; otherwise (GPT-2's logits are 800 000
/// values, 11 MB of text) the count, the first values and the argmax of the last `row` values,
/// a language model's next-token prediction. `--output-json` always has them all.
fn output_lines(values: &[f64], row: usize) -> String {
    if values.len() <= PRINTED_IN_FULL {
        return format!("output   {values:?}\n");
    }
    let head = &values[..SUMMARY_HEAD];
    let row = if row == 0 || row > values.len() {
        values.len()
    } else {
        row
    };
    let last = &values[values.len() - row..];
    let (at, best) =
        last.iter().enumerate().fold(
            (0, f64::NEG_INFINITY),
            |(i, m), (j, &v)| {
                if v > m { (j, v) } else { (i, m) }
            },
        );
    format!(
        "output   {} values (all in --output-json); first {SUMMARY_HEAD}: {head:?}\n\
         argmax   {at} of the last {} values (value {best})\n",
        values.len(),
        last.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_outputs_print_in_full() {
        assert_eq!(output_lines(&[0.5, -1.0], 2), "output   [0.5, -1.0]\n");
        let many = vec![0.25; PRINTED_IN_FULL];
        assert_eq!(output_lines(&many, 8).lines().count(), 1);
        assert!(output_lines(&many, 8).contains(&format!("{many:?}")));
    }

    #[test]
    fn long_outputs_print_a_summary_with_the_last_rows_argmax() {
        // 3 positions of a 50-token vocabulary; the last position peaks at token 7, the first
        // at token 40 (not the last row's argmax).
        let mut logits: Vec<f64> = (0..150).map(|i| f64::from(i % 50) / 100.0).collect();
        logits[40] = 9.0;
        logits[100 + 7] = 3.5;
        let text = output_lines(&logits, 50);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0]
                .starts_with("output   150 values (all in --output-json); first 16: [0.0, 0.01,"),
            "{text}"
        );
        assert!(lines[0].ends_with("0.15]"), "{text}");
        assert_eq!(lines[1], "argmax   7 of the last 50 values (value 3.5)");
        // A row longer than the output (or empty) falls back to the whole output.
        assert!(output_lines(&logits, 1000).contains("argmax   40 of the last 150 values"));
        assert!(output_lines(&logits, 0).contains("argmax   40 of the last 150 values"));
    }
}
