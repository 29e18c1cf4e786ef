//! The subnet's miner node: answers validators' proof requests with proofs from our engine.
//!
//! A miner loads the circuit store, checks that its hotkey is registered on the subnet, serves
//! an axon with one handler per synapse and announces the axon on chain when the metagraph
//! shows another address. Then it keeps its metagraph view fresh (the blacklist reads it) and
//! re-checks its registration on every sync.
//!
//! | synapse | answer |
//! |---|---|
//! | `QueryZkProof` | `query_output` = `{"proof": <hex>, "public_signals": <JSON of the outputs>}`, or `"Empty query input"` / `"An error occurred"` as upstream |
//! | `ProofOfWeightsSynapse` | `proof` (hex) and `public_signals` (JSON of the outputs), when `verification_key_hash` names a proof-of-weights circuit of the store (the SN2 scoring circuit takes the reference's batch inputs); an error otherwise |
//! | `QueryForCapacities` | compute units per circuit ([`Capacities`], from `miner.config.toml`) |
//! | `Competition` | `error`: competitions are not supported |
//!
//! * [`config`]: [`MinerConfig`], built once by the caller, read-only afterwards.
//! * [`blacklist`]: the upstream caller rules (registered, enough stake, validator permit).
//! * [`prover`]: the proof limit (a semaphore with a bounded wait) and proving off the async
//!   runtime, plus the dev-only slow and faulty behaviours of `omron localnet`.
//! * [`handlers`]: the four synapse handlers.
//! * [`metrics`]: [`MinerMetrics`], one documented struct, exported as Prometheus text with
//!   `/health` by [`http`].
//! * [`status`]: the miner's own neuron (block, stake, rank, trust, consensus, incentive,
//!   emission) and its requests served and failed per circuit, logged as a status line every
//!   [`StatusOptions::every_blocks`] blocks; the neuron values are also the
//!   `omron_miner_chain_*` gauges after every metagraph read.
//! * [`doctor`]: `omron miner doctor`'s checks (registration, the announced axon probed with a
//!   signed request, the blacklist's view of the validators, prove times against the timeouts,
//!   disk, clock), each OK / WARN / FAIL with what to fix.
//! * [`node`]: [`Miner::start`] ties it together; [`MinerHandle::shutdown`] stops it cleanly.
//!
//! Depends on the `Chain` trait (never on a chain implementation's internals), the axon of
//! `omron-bittensor`, the synapses of `omron-protocol` and the circuit store of
//! `omron-circuit`. Must not depend on: the validator, the ONNX front end (`omron-model`),
//! wallets on disk (the caller hands in the hotkey) or the CLI.

pub mod blacklist;
pub mod capacities;
pub mod config;
pub mod doctor;
mod error;
pub mod handlers;
pub mod http;
pub mod metrics;
pub mod node;
pub mod prover;
pub mod status;

pub use blacklist::{Gatekeeper, Refusal};
pub use capacities::{Capacities, DEFAULT_COMPUTE_UNITS};
pub use config::{DevOptions, MinerConfig};
pub use error::MinerError;
pub use metrics::MinerMetrics;
pub use node::{Miner, MinerHandle};
pub use prover::{ProofService, ProveError, Proved, ProvedPow};
pub use status::{RequestTally, StatusOptions};
