//! The subtensor chain as subnets see it.
//!
//! Owns: the [`Chain`] trait (everything a miner or validator asks of the chain) and its three
//! implementations: [`EmbeddedChain`], an in-process local subtensor with registration, stake,
//! axons, weights, commit-reveal and Yuma consensus, its state in SQLite; [`DevChainClient`],
//! which reaches an embedded chain served by [`serve_rpc`] in another process; and
//! [`SubtensorClient`], a subxt client for the real network (finney, test, a local node) that
//! reads the runtime metadata at run time.
//!
//! Must not depend on: the node crates, wallets on disk, the proof engine or the protocol.
//! Keys come from `omron-keys`.

mod chain;
pub mod chopsticks;
mod commit_reveal;
mod dev;
mod embedded;
mod error;
mod network;
mod rpc;
pub mod subtensor;
mod types;
pub mod yuma;

pub use chain::{BlockStream, Chain};
pub use commit_reveal::weights_commit_hash;
pub use dev::{Call, CallOutput, DevChain, Query, QueryOutput};
pub use embedded::{BlockProducer, ChainConfig, EmbeddedChain, STATE_FILE};
pub use error::{ChainError, ChainResult, PalletError};
pub use network::{DEV_URL, FINNEY_URL, LOCAL_URL, Network, TEST_URL};
pub use rpc::{
    DevChainClient, MAX_REQUEST_BYTES, RpcServer, SignedCall, WireError, WireErrorKind, serve_rpc,
    signing_payload,
};
pub use subtensor::SubtensorClient;
pub use types::*;
