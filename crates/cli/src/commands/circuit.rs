//! `omron circuit ...`: compile ONNX models into circuits and inspect them.

use std::path::PathBuf;

use clap::Subcommand;

use crate::Outcome;

/// Circuit subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum CircuitCommand {
    /// Compile an ONNX model into a circuit folder and print its id.
    Compile {
        /// The ONNX model.
        model: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Calibration input (EZKL form `{"input_data": [[...]]}`).
        #[arg(long)]
        calibration: Option<PathBuf>,
    },
}

pub(crate) fn run(cmd: CircuitCommand) -> anyhow::Result<Outcome> {
    match cmd {
        CircuitCommand::Compile { .. } => {
            anyhow::bail!("circuit compilation lands with the proof engine (issue #2)")
        }
    }
}
