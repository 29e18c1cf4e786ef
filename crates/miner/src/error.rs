//! [`MinerError`]: why a miner could not start (or stopped).

use std::net::SocketAddr;

/// Why a miner could not start.
#[derive(Debug, thiserror::Error)]
pub enum MinerError {
    /// The hotkey has no uid on the subnet.
    #[error(
        "hotkey {hotkey} is not registered on subnet {netuid}: register it first (e.g. `btcli subnets register`, or `omron chain register` on a dev chain)"
    )]
    NotRegistered {
        /// The hotkey (ss58).
        hotkey: String,
        /// The subnet.
        netuid: u16,
    },
    /// A chain read or call failed.
    #[error("chain: {0}")]
    Chain(#[from] omron_chain::ChainError),
    /// The axon could not start.
    #[error("axon: {0}")]
    Axon(#[from] omron_bittensor::axon::AxonError),
    /// The chain refused the axon address.
    #[error("cannot announce the axon at {addr} on chain: {source}")]
    Announce {
        /// The address that was refused.
        addr: SocketAddr,
        /// The chain's answer.
        source: omron_chain::ChainError,
    },
    /// No address to announce: the axon binds every interface and none was given.
    #[error(
        "the axon binds {bind}, which is not an address validators can dial: pass --axon.external_ip (and --axon.external_port if it differs)"
    )]
    NoExternalIp {
        /// The bind address.
        bind: SocketAddr,
    },
    /// The capacities file is unreadable or malformed.
    #[error("capacities file {path}: {reason}")]
    Capacities {
        /// The file.
        path: String,
        /// What is wrong (with the entry's index where there is one).
        reason: String,
    },
    /// The metrics server could not bind its address.
    #[error("cannot serve metrics on {addr}: {reason}")]
    Metrics {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        reason: String,
    },
    /// The circuit store holds nothing to serve.
    #[error("the circuit store is empty: nothing to prove (check --circuits)")]
    NoCircuits,
}
