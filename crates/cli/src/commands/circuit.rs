//! `omron circuit ...`: compile ONNX models into circuits and inspect them.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use omron_circuit::{Circuit, CircuitDir, CircuitInfo, MIN_SECURITY_BITS, SoundnessReport};
use omron_ir::InputRange;
use omron_model::{AccuracyReport, CoverageReport, QuantOptions, QuantisedModel};

use super::prove::read_input;
use crate::Outcome;
use crate::progress::Progress;

/// Circuit subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum CircuitCommand {
    /// Compile an ONNX model into a circuit folder; prints the circuit id, the op coverage and
    /// the quantisation accuracy.
    #[command(after_help = crate::progress::HELP)]
    Compile {
        /// The ONNX model.
        model: PathBuf,
        /// Output folder (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Calibration input (`{"input_data": [[...]]}`): picks the fixed-point scales and is
        /// the input the accuracy is reported on.
        #[arg(long, value_name = "INPUT.json")]
        calibration: Option<PathBuf>,
    },
    /// Build one of the hand-written circuits (validators' scoring functions).
    Builtin {
        /// Which circuit.
        #[arg(value_enum)]
        name: BuiltinCircuit,
        /// Items per batch.
        #[arg(long, default_value_t = 256)]
        batch: usize,
        /// Output folder (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Print a circuit's id, ops, sizes and scales.
    Inspect {
        /// The circuit folder.
        dir: PathBuf,
    },
}

/// The hand-written circuits `omron circuit builtin` can build.
// The variant names are the command-line values (`sn2-pow`, `sn27-pow`, `sn48-pow`).
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum BuiltinCircuit {
    /// The SN2 incentive function over a batch of score updates (proof of weights).
    Sn2Pow,
    /// The SN27 (Compute subnet) miner scoring over a batch of miners (proof of weights).
    Sn27Pow,
    /// The SN48 tiered weights over a batch of scores (proof of weights).
    Sn48Pow,
}

pub(crate) fn run(cmd: CircuitCommand) -> anyhow::Result<Outcome> {
    match cmd {
        CircuitCommand::Builtin { name, batch, out } => {
            anyhow::ensure!(
                (1..=1 << 16).contains(&batch),
                "--batch must be between 1 and 65536"
            );
            let (label, graph) = match name {
                BuiltinCircuit::Sn2Pow => (
                    format!("sn2-pow-{batch}"),
                    omron_circuit::pow::sn2::sn2_graph(batch)?,
                ),
                BuiltinCircuit::Sn27Pow => (
                    format!("sn27-pow-{batch}"),
                    omron_circuit::pow::sn27::sn27_graph(batch)?,
                ),
                BuiltinCircuit::Sn48Pow => (
                    format!("sn48-pow-{batch}"),
                    omron_circuit::pow::sn48::sn48_graph(batch)?,
                ),
            };
            let progress = Progress::start(label.as_str());
            progress.phase(format!("compiling the circuit ({} ops)", graph.nodes.len()));
            let circuit = Circuit::compile(&label, graph)?;
            progress.phase(format!("writing {}", out.display()));
            let info = CircuitDir::new(&out).save(&circuit, None, serde_json::Value::Null)?;
            drop(progress);
            println!("circuit id: {}", info.id);
            println!("written to: {}", out.display());
            Ok(Outcome::Success)
        }
        CircuitCommand::Compile {
            model,
            out,
            calibration,
        } => {
            let progress = Progress::start(model_name(&model));
            let compiled = compile(&model, calibration.as_deref(), &progress)?;
            progress.phase(format!("writing {}", out.display()));
            let info = CircuitDir::new(&out).save(
                &compiled.circuit,
                Some(&compiled.onnx),
                compiled.reports(),
            )?;
            drop(progress);
            print_coverage(&compiled.coverage);
            print_accuracy(&compiled.accuracy, compiled.accuracy_input);
            println!("circuit id: {}", info.id);
            println!("written to: {}", out.display());
            Ok(Outcome::Success)
        }
        CircuitCommand::Inspect { dir } => {
            let (circuit, info) = CircuitDir::new(&dir).load()?;
            let info = info.unwrap_or_else(|| CircuitInfo::new(&circuit, serde_json::Value::Null));
            print_info(&info, &omron_ir::input_ranges(circuit.graph()));
            print_soundness(&circuit.soundness());
            Ok(Outcome::Success)
        }
    }
}

/// Where the accuracy figures come from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AccuracyInput {
    /// The calibration file.
    Calibration,
    /// A seeded input when no calibration file is given: activations uniform in `[-1, 1)`,
    /// token ids uniform over their embedding table (`QuantisedModel::synthetic_input`).
    Synthetic,
}

/// A compiled model with its front-end reports.
pub(crate) struct Compiled {
    pub(crate) circuit: Circuit,
    pub(crate) onnx: Vec<u8>,
    pub(crate) coverage: CoverageReport,
    pub(crate) quantised: QuantisedModel,
    pub(crate) accuracy: AccuracyReport,
    pub(crate) accuracy_input: AccuracyInput,
}

impl Compiled {
    fn reports(&self) -> serde_json::Value {
        serde_json::json!({
            "coverage": self.coverage,
            "accuracy": self.accuracy,
            "accuracy_input": format!("{:?}", self.accuracy_input).to_lowercase(),
            "quantisation": {
                "input_scales": self.quantised.input_scales,
                "output_scales": self.quantised.output_scales,
                "calibrated": self.quantised.calibrated,
                "options": self.quantised.options,
            },
        })
    }
}

/// The circuit's name for `model_path`: the folder's name for `DIR/network.onnx` or
/// `DIR/model.onnx`, otherwise the file's stem.
fn model_name(model_path: &Path) -> String {
    model_path
        .parent()
        .and_then(|p| p.file_name())
        .filter(|_| {
            model_path
                .file_stem()
                .is_some_and(|s| s == "network" || s == "model")
        })
        .or_else(|| model_path.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into())
}

/// Loads, quantises and compiles `model_path`, naming each phase on `progress`.
pub(crate) fn compile(
    model_path: &Path,
    calibration: Option<&Path>,
    progress: &Progress,
) -> anyhow::Result<Compiled> {
    progress.phase("reading ONNX");
    let onnx = std::fs::read(model_path)
        .with_context(|| format!("cannot read {}", model_path.display()))?;
    let model = omron_model::load_onnx(&onnx)
        .with_context(|| format!("{} is not a usable ONNX model", model_path.display()))?;
    let coverage = model.coverage().clone();
    if !coverage.is_supported() {
        progress.suspend(|| print_coverage(&coverage));
        anyhow::bail!(
            "{} uses ops the circuit compiler does not support: {}",
            model_path.display(),
            coverage.unsupported_ops().join(", ")
        );
    }
    let calibration_data: Option<Vec<Vec<f32>>> = match calibration {
        Some(path) => {
            progress.phase("reading the calibration input");
            let flat = read_input(&path.to_path_buf())?.flattened()?;
            Some(
                flat.into_iter()
                    .map(|v| v.into_iter().map(|x| x as f32).collect())
                    .collect(),
            )
        }
        None => None,
    };
    progress.phase(format!("quantising {} ONNX nodes", coverage.node_count));
    let quantised = omron_model::quantise(
        &model,
        calibration_data.as_deref(),
        &QuantOptions::default(),
    )
    .context("quantisation failed")?;
    let (sample, accuracy_input) = match calibration_data {
        Some(c) => (c, AccuracyInput::Calibration),
        None => (quantised.synthetic_input(), AccuracyInput::Synthetic),
    };
    progress.phase("accuracy: float model vs quantised");
    let accuracy = quantised
        .accuracy(&model, &sample)
        .context("measuring accuracy")?;
    progress.phase(format!(
        "compiling the circuit ({} ops)",
        quantised.graph.nodes.len()
    ));
    let circuit = Circuit::compile(&model_name(model_path), quantised.graph.clone())?;
    Ok(Compiled {
        circuit,
        onnx,
        coverage,
        quantised,
        accuracy,
        accuracy_input,
    })
}

fn print_coverage(coverage: &CoverageReport) {
    println!(
        "op coverage (opset {}, {} nodes):",
        coverage.opset, coverage.node_count
    );
    for op in &coverage.ops {
        let status = if op.supported { "ok" } else { "UNSUPPORTED" };
        println!("  {:<22} {:>4}  {status}", op.op_type, op.count);
    }
    for node in &coverage.unsupported {
        println!("  unsupported: {node}");
    }
    if coverage.unanalysed > 0 {
        println!(
            "  ({} nodes after unsupported ones were not analysed)",
            coverage.unanalysed
        );
    }
}

fn print_accuracy(acc: &AccuracyReport, input: AccuracyInput) {
    let on = match input {
        AccuracyInput::Calibration => "the calibration input",
        AccuracyInput::Synthetic => "a synthetic input (no --calibration given)",
    };
    println!(
        "accuracy on {on}: max abs error {:.3e}, mean abs error {:.3e}, argmax {}",
        acc.max_abs_error,
        acc.mean_abs_error,
        if acc.argmax_agrees {
            "agrees"
        } else {
            "DISAGREES"
        }
    );
}

fn print_info(info: &CircuitInfo, ranges: &[InputRange]) {
    println!("circuit id        {}", info.id);
    println!("name              {}", info.name);
    for (i, t) in info.inputs.iter().enumerate() {
        // Token ids are bounded by their table, not by the 16-bit activation range.
        let ids = match ranges.get(i) {
            Some(InputRange::TableRows { rows, .. }) => format!(", token ids in [0, {rows})"),
            _ => String::new(),
        };
        println!(
            "input {i}           shape {:?}, scale 2^{}{ids}",
            t.shape, t.scale
        );
    }
    for (i, t) in info.outputs.iter().enumerate() {
        println!(
            "output {i}          shape {:?}, scale 2^{}",
            t.shape, t.scale
        );
    }
    let ops: Vec<String> = info.ops.iter().map(|(k, v)| format!("{k} x{v}")).collect();
    println!("ops               {}", ops.join(", "));
    println!("parameters        {}", info.params);
    println!("committed values  {} per proof", info.committed_values);
    println!("lookup tables     {}", info.tables.join(", "));
}

/// The soundness figure and each of its terms (`docs/proof-system.md` §7). Truncated, not
/// rounded: a circuit at 99.97 bits must not print as 100.0.
fn print_soundness(report: &SoundnessReport) {
    let floor = |bits: f64| (bits * 10.0).floor() / 10.0;
    println!(
        "security          {:.1} bits (every term; loading requires {MIN_SECURITY_BITS})",
        floor(report.bits_total)
    );
    for term in &report.terms {
        println!(
            "  {:<20} {:>6.1} bits  {}",
            term.name,
            floor(term.bits),
            term.detail
        );
    }
}
