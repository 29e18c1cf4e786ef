//! `omron bench`: compile, prove and verify models and print a table of times, proof sizes,
//! peak memory and accuracy. Defaults to the bundled benchmark models (`bench/models/`).
//!
//! A folder may also be a shipped circuit (`circuits/NAME`, with `metadata.json`): it is then
//! loaded instead of compiled and proven on a request drawn by its own input generator, the
//! way a validator would query a miner (proof-of-weights circuits included).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::circuit::compile;
use crate::{Outcome, alloc};

/// Arguments of `omron bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Model folders, each with `network.onnx` (or `model.onnx`) and `input.json`, or circuit
    /// folders with `metadata.json` (e.g. `circuits/*`).
    #[arg(value_name = "MODEL_DIR")]
    models: Vec<PathBuf>,
    /// Proofs and verifications per model; the table shows medians.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    reps: u32,
    /// Also write the results as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// One row of the table.
#[derive(Debug, serde::Serialize)]
pub(crate) struct BenchRow {
    model: String,
    params: usize,
    /// Compile time for a model folder, load time for a circuit folder.
    compile_ms: f64,
    prove_ms: f64,
    verify_ms: f64,
    proof_bytes: usize,
    prove_peak_bytes: usize,
    /// Against the float model on `input.json` (model folders only).
    max_abs_error: Option<f64>,
    argmax_agrees: Option<bool>,
}

fn default_models() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/models");
    let root = if root.is_dir() {
        root
    } else {
        PathBuf::from("bench/models")
    };
    [
        "mlp_small",
        "mlp_mnist",
        "cnn_small",
        "mlp_sigmoid",
        "mlp_tanh",
    ]
    .iter()
    .map(|m| root.join(m))
    .collect()
}

fn model_file(dir: &Path) -> anyhow::Result<PathBuf> {
    ["network.onnx", "model.onnx"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
        .with_context(|| format!("{} has no network.onnx or model.onnx", dir.display()))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Medians of `reps` proofs and verifications, the last proof's size and the prover's peak
/// heap growth.
struct Timed {
    prove_ms: f64,
    verify_ms: f64,
    proof_bytes: usize,
    peak_bytes: usize,
}

fn time_reps(
    reps: u32,
    mut prove: impl FnMut() -> anyhow::Result<Vec<u8>>,
    mut verify: impl FnMut(&[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<Timed> {
    let (mut prove_ms, mut verify_ms) = (Vec::new(), Vec::new());
    let (mut proof_bytes, mut peak_bytes) = (0, 0);
    for _ in 0..reps {
        let base = alloc::reset_peak();
        let t = Instant::now();
        let proof = prove()?;
        prove_ms.push(t.elapsed().as_secs_f64() * 1e3);
        peak_bytes = peak_bytes.max(alloc::peak().saturating_sub(base));
        proof_bytes = proof.len();
        let t = Instant::now();
        verify(&proof).context("the proof did not verify")?;
        verify_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(Timed {
        prove_ms: median(prove_ms),
        verify_ms: median(verify_ms),
        proof_bytes,
        peak_bytes,
    })
}

pub(crate) fn bench_model(dir: &Path, reps: u32) -> anyhow::Result<BenchRow> {
    let model = model_file(dir)?;
    let input_path = dir.join("input.json");
    let start = Instant::now();
    let compiled = compile(&model, Some(&input_path))?;
    let compile_ms = start.elapsed().as_secs_f64() * 1e3;
    let circuit = &compiled.circuit;
    let inputs = super::prove::read_input(&input_path)?.quantise(circuit)?;
    let timed = time_reps(
        reps,
        || Ok(circuit.prove(&inputs, b"")?.proof),
        |proof| {
            circuit.verify(&inputs, proof, b"")?;
            Ok(())
        },
    )?;
    let name = dir
        .file_name()
        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
    Ok(BenchRow {
        model: name,
        params: circuit.graph().param_count(),
        compile_ms,
        prove_ms: timed.prove_ms,
        verify_ms: timed.verify_ms,
        proof_bytes: timed.proof_bytes,
        prove_peak_bytes: timed.peak_bytes,
        max_abs_error: Some(compiled.accuracy.max_abs_error),
        argmax_agrees: Some(compiled.accuracy.argmax_agrees),
    })
}

/// Benchmarks a shipped circuit on requests from its own input generator.
pub(crate) fn bench_stored(dir: &Path, reps: u32) -> anyhow::Result<BenchRow> {
    use rand::SeedableRng;
    const MINER: [u8; 32] = [7; 32];
    let start = Instant::now();
    let stored = omron_circuit::StoredCircuit::load(dir)?;
    let load_ms = start.elapsed().as_secs_f64() * 1e3;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let pow_inputs = stored.generate_pow_inputs(&mut rng);
    let request = stored.generate_input(&mut rng);
    let timed = time_reps(
        reps,
        || {
            Ok(match &pow_inputs {
                Some(inputs) => stored.prove_pow(inputs, &MINER)?.0,
                None => stored.prove_request(&request, &MINER)?.0,
            })
        },
        |proof| {
            match &pow_inputs {
                Some(inputs) => stored.verify_pow(inputs, &MINER, proof, None).map(drop),
                None => stored
                    .verify_response(&request, &MINER, proof, None)
                    .map(drop),
            }?;
            Ok(())
        },
    )?;
    let name = dir
        .file_name()
        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
    Ok(BenchRow {
        model: name,
        params: stored.circuit.graph().param_count(),
        compile_ms: load_ms,
        prove_ms: timed.prove_ms,
        verify_ms: timed.verify_ms,
        proof_bytes: timed.proof_bytes,
        prove_peak_bytes: timed.peak_bytes,
        max_abs_error: None,
        argmax_agrees: None,
    })
}

pub(crate) fn run(args: BenchArgs) -> anyhow::Result<Outcome> {
    let models = if args.models.is_empty() {
        default_models()
    } else {
        args.models
    };
    let mut rows = Vec::with_capacity(models.len());
    println!(
        "{:<16} {:>8} {:>11} {:>9} {:>10} {:>9} {:>9} {:>11} {:>7}",
        "model / circuit",
        "params",
        "compile ms",
        "prove ms",
        "verify ms",
        "proof KB",
        "peak MB",
        "max |err|",
        "argmax"
    );
    for dir in &models {
        let row = if dir.join(omron_circuit::METADATA_FILE).is_file() {
            bench_stored(dir, args.reps)
        } else {
            bench_model(dir, args.reps)
        };
        let row = row.with_context(|| format!("benchmarking {}", dir.display()))?;
        println!(
            "{:<16} {:>8} {:>11.1} {:>9.1} {:>10.2} {:>9.1} {:>9.1} {:>11} {:>7}",
            row.model,
            row.params,
            row.compile_ms,
            row.prove_ms,
            row.verify_ms,
            row.proof_bytes as f64 / 1024.0,
            row.prove_peak_bytes as f64 / (1024.0 * 1024.0),
            row.max_abs_error
                .map_or_else(|| "-".to_string(), |e| format!("{e:.2e}")),
            match row.argmax_agrees {
                Some(true) => "agrees",
                Some(false) => "DIFFERS",
                None => "-",
            }
        );
        rows.push(row);
    }
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_string_pretty(&rows)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(Outcome::Success)
}
