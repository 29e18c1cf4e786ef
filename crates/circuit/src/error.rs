//! Errors of compiling, proving and loading circuits.

use thiserror::Error;

pub use omron_zk::VerifyError;

/// Why a circuit could not be compiled, loaded or proven.
#[derive(Debug, Error)]
pub enum CircuitError {
    /// The IR graph is invalid, or executing it failed (e.g. an activation overflow).
    #[error(transparent)]
    Ir(#[from] omron_ir::IrError),
    /// The graph uses something the proof system cannot prove yet.
    #[error("node '{node}' ({op}) cannot be proven: {reason}")]
    Unsupported {
        /// Node name.
        node: String,
        /// Op name.
        op: String,
        /// Why.
        reason: String,
    },
    /// The circuit's proofs would be sound to fewer bits than required.
    #[error("circuit soundness is {bits:.2} bits, below the required {min} ({terms})")]
    Soundness {
        /// The circuit's total, in bits.
        bits: f64,
        /// The floor.
        min: f64,
        /// Each term, in bits.
        terms: String,
    },
    /// A verifying key or circuit folder is malformed.
    #[error("malformed circuit: {0}")]
    Malformed(String),
    /// Reading or writing circuit files failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An input file is malformed or does not fit the circuit.
    #[error("input: {0}")]
    Input(String),
}
