//! Errors of the validator node.

use std::net::SocketAddr;

use omron_chain::ChainError;
use omron_scoring::ScoringError;
use thiserror::Error;

use crate::store::StoreError;

/// Why the validator could not start, or had to stop.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The validator's hotkey holds no uid in the subnet.
    #[error(
        "hotkey {hotkey} is not registered on netuid {netuid}; register it first (for example \
         with `omron chain register`)"
    )]
    NotRegistered {
        /// The hotkey (ss58).
        hotkey: String,
        /// The subnet.
        netuid: u16,
    },
    /// No circuit of the circuit store can be used for benchmark requests.
    #[error(
        "none of the {loaded} circuits in the circuit store has a positive \
         benchmark_choice_weight (and an input generator of its type), so there is nothing to \
         ask miners"
    )]
    NoBenchmarkCircuits {
        /// Circuits loaded.
        loaded: usize,
    },
    /// A configuration value that cannot work.
    #[error("invalid {what}: {reason}")]
    InvalidConfig {
        /// The setting.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The chain refused a call or could not be reached.
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// The validator's store failed (the node stops rather than lose state).
    #[error("validator store: {0}")]
    Store(#[from] StoreError),
    /// A listening socket could not be opened.
    #[error("cannot listen for the {what} on {addr}: {reason}")]
    Bind {
        /// Which server (`API`, `metrics`).
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        reason: String,
    },
    /// The dendrite's HTTP client could not be built.
    #[error("dendrite: {0}")]
    Dendrite(#[from] omron_bittensor::dendrite::DendriteError),
    /// The scoring arithmetic refused its input.
    #[error("scoring: {0}")]
    Scoring(#[from] ScoringError),
    /// A background task panicked or was cancelled unexpectedly.
    #[error("background task failed: {0}")]
    Task(String),
}
