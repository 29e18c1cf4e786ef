//! `omron bench`: compile, prove and verify models and print a table of times, proof sizes,
//! peak memory and accuracy. Defaults to the bundled benchmark models (`bench/models/`).
//!
//! A folder may also be a shipped circuit (`circuits/NAME`, with `metadata.json`): it is then
//! loaded instead of compiled and proven on a request drawn by its own input generator, the
//! way a validator would query a miner (proof-of-weights circuits included).
//!
//! Plain files among the paths are skipped with a note on stderr, so a shell glob such as
//! `bench/models/*` (which also matches its `README.md`) works; a missing path, or a folder
//! that is neither a model nor a circuit, is an error naming it, before anything is measured.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::circuit::compile;
use crate::progress::Progress;
use crate::{Outcome, alloc};

/// Arguments of `omron bench`.
#[derive(Debug, Args)]
#[command(after_help = crate::progress::HELP)]
pub(crate) struct BenchArgs {
    /// Model folders, each with `network.onnx` (or `model.onnx`) and `input.json`, or circuit
    /// folders with `metadata.json` (e.g. `bench/models/* circuits/*`). Plain files among them,
    /// such as a README a glob matched, are skipped with a note on stderr.
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

/// One folder to benchmark.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// An ONNX model with its `input.json`: compiled, then proven on that input.
    Model(PathBuf),
    /// A shipped circuit folder (`metadata.json`): loaded, then proven on a generated request.
    Circuit(PathBuf),
}

impl Target {
    fn dir(&self) -> &Path {
        match self {
            Target::Model(dir) | Target::Circuit(dir) => dir,
        }
    }
}

/// Sorts the command line's paths into models and circuits. A plain file is skipped and
/// returned in the second list; a missing path, or a folder that is neither a model (a model
/// file and `input.json`) nor a circuit (`metadata.json`), is an error naming it.
fn targets(paths: Vec<PathBuf>) -> anyhow::Result<(Vec<Target>, Vec<PathBuf>)> {
    let (mut targets, mut skipped) = (Vec::new(), Vec::new());
    for path in paths {
        let meta = std::fs::metadata(&path)
            .with_context(|| format!("cannot benchmark {}", path.display()))?;
        if !meta.is_dir() {
            skipped.push(path);
        } else if path.join(omron_circuit::METADATA_FILE).is_file() {
            targets.push(Target::Circuit(path));
        } else {
            anyhow::ensure!(
                model_file(&path).is_ok(),
                "{} is neither a model folder (network.onnx or model.onnx) nor a circuit \
                 folder ({})",
                path.display(),
                omron_circuit::METADATA_FILE
            );
            anyhow::ensure!(
                path.join("input.json").is_file(),
                "model folder {} has no input.json to prove on",
                path.display()
            );
            targets.push(Target::Model(path));
        }
    }
    Ok((targets, skipped))
}

/// The folder's own name (the table's first column), or the whole path if it has none.
fn display_name(dir: &Path) -> String {
    dir.file_name()
        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into())
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
    progress: &Progress,
    mut prove: impl FnMut() -> anyhow::Result<Vec<u8>>,
    mut verify: impl FnMut(&[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<Timed> {
    let (mut prove_ms, mut verify_ms) = (Vec::new(), Vec::new());
    let (mut proof_bytes, mut peak_bytes) = (0, 0);
    for rep in 1..=reps {
        progress.phase(format!("proving, rep {rep}/{reps}"));
        let base = alloc::reset_peak();
        let t = Instant::now();
        let proof = prove()?;
        prove_ms.push(t.elapsed().as_secs_f64() * 1e3);
        peak_bytes = peak_bytes.max(alloc::peak().saturating_sub(base));
        proof_bytes = proof.len();
        progress.phase(format!("verifying, rep {rep}/{reps}"));
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

fn bench_model(dir: &Path, reps: u32, progress: &Progress) -> anyhow::Result<BenchRow> {
    let model = model_file(dir)?;
    let input_path = dir.join("input.json");
    let start = Instant::now();
    let compiled = compile(&model, Some(&input_path), progress)?;
    let compile_ms = start.elapsed().as_secs_f64() * 1e3;
    let circuit = &compiled.circuit;
    progress.phase("quantising the input");
    let inputs = super::prove::read_input(&input_path)?.quantise(circuit)?;
    let timed = time_reps(
        reps,
        progress,
        || Ok(circuit.prove(&inputs, b"")?.proof),
        |proof| {
            circuit.verify(&inputs, proof, b"")?;
            Ok(())
        },
    )?;
    Ok(BenchRow {
        model: display_name(dir),
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
fn bench_stored(dir: &Path, reps: u32, progress: &Progress) -> anyhow::Result<BenchRow> {
    use rand::SeedableRng;
    const MINER: [u8; 32] = [7; 32];
    progress.phase("loading the circuit");
    let start = Instant::now();
    let stored = omron_circuit::StoredCircuit::load(dir)?;
    let load_ms = start.elapsed().as_secs_f64() * 1e3;
    progress.phase("generating a request");
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let pow_inputs = stored.generate_pow_inputs(&mut rng);
    let request = stored.generate_input(&mut rng);
    let timed = time_reps(
        reps,
        progress,
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
    Ok(BenchRow {
        model: display_name(dir),
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
    let paths = if args.models.is_empty() {
        default_models()
    } else {
        args.models
    };
    let (targets, skipped) = targets(paths)?;
    for path in &skipped {
        eprintln!(
            "omron: note: skipping {}: a file, not a model or circuit folder",
            path.display()
        );
    }
    anyhow::ensure!(
        !targets.is_empty(),
        "no model or circuit folder to benchmark among the paths given"
    );
    let mut rows = Vec::with_capacity(targets.len());
    println!(
        "{:<16} {:>8} {:>11} {:>9} {:>10} {:>9} {:>9} {:>11} {:>7}",
        "model / circuit",
        "params",
        "compile ms",
        "prove ms",
        "verify ms",
        "proof KiB",
        "peak MiB",
        "max |err|",
        "argmax"
    );
    let mut progress = Progress::start("omron bench");
    for (done, target) in targets.iter().enumerate() {
        let dir = target.dir();
        progress.subject(format!(
            "[{}/{}] {}",
            done + 1,
            targets.len(),
            display_name(dir)
        ));
        let row = match target {
            Target::Circuit(dir) => bench_stored(dir, args.reps, &progress),
            Target::Model(dir) => bench_model(dir, args.reps, &progress),
        };
        let row = row.with_context(|| format!("benchmarking {}", dir.display()))?;
        if done + 1 == targets.len() {
            // Cleared before the last row, so it is not drawn again below the table.
            progress.finish();
        }
        progress.suspend(|| print_row(&row));
        rows.push(row);
    }
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_string_pretty(&rows)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(Outcome::Success)
}

fn print_row(row: &BenchRow) {
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
}
