//! The validator's settings: built once (by the CLI or a test), read-only while it runs.

use std::net::SocketAddr;
use std::time::Duration;

use omron_bittensor::dendrite::DEFAULT_MAX_RESPONSE_BYTES;
use omron_scoring::constants::{MAX_CONCURRENT_REQUESTS, WEIGHTS_VERSION};

use crate::external_state::ExternalApiConfig;

/// The default budget of answer bytes in flight over all miners: 128 MiB, the reference's 16
/// requests in flight times the 8 MiB cap on one answer. Every request (benchmark or external)
/// takes one of the `concurrency` slots, so with the defaults no answer ever waits for room,
/// whatever the miners send; the budget bounds the answers' memory when `concurrency` is
/// raised. An answer costs about 3.5 times its size while it is parsed (body, JSON tree, the
/// synapse's strings, the decoded proof), so answers stay under about 450 MB at worst, within
/// the 1 GB a validator needs at least (`docs/hardware.md`).
pub const DEFAULT_ANSWER_BUDGET_BYTES: usize = 16 * DEFAULT_MAX_RESPONSE_BYTES;

/// Everything the node needs to know besides its keys, chain, circuits and store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorConfig {
    /// The subnet.
    pub netuid: u16,
    /// Requests in flight at most (the reference's `MAX_CONCURRENT_REQUESTS`, 16).
    pub concurrency: usize,
    /// Also query miners whose axon is on a loopback, private or link-local IPv4 address.
    /// Off by default, as in the reference; local networks and tests turn it on.
    pub allow_private_axons: bool,
    /// The weights version key sent with weights (`WEIGHTS_VERSION`, 11002).
    pub weights_version: u64,
    /// Whether the node sets weights at all (on by default).
    pub set_weights: bool,
    /// The owner burn of `subnet-2` 10.3.2: before the weights are set, every weight is scaled
    /// by 0.2 and the subnet owner's uid gets 0.8 (see `omron_scoring::apply_owner_burn`).
    /// On by default, as in the original's newest release; `--no-owner-burn` turns it off.
    pub owner_burn: bool,
    /// Time between two metagraph syncs (the metagraph is also synced at every new epoch).
    pub sync_interval: Duration,
    /// Where the HTTP API (`/health`, `/scoreboard`, `/`) listens; `None` disables it.
    pub api_addr: Option<SocketAddr>,
    /// Where the Prometheus exporter (`/metrics`, `/health`) listens; `None` disables it.
    pub metrics_addr: Option<SocketAddr>,
    /// How long shutdown waits for requests in flight before abandoning them.
    pub shutdown_grace: Duration,
    /// The external API for apps; `None` turns it off (`--ignore-external-requests`).
    pub external: Option<ExternalApiConfig>,
    /// Largest answer read from one miner, in bytes (8 MiB: 4.7 times the largest honest
    /// answer of the shipped circuits, see [`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub max_answer_bytes: usize,
    /// Answer bytes in flight over all miners at once ([`DEFAULT_ANSWER_BUDGET_BYTES`]), at
    /// least `max_answer_bytes` (policy: `omron_bittensor::dendrite::AnswerBudget`).
    pub answer_budget_bytes: usize,
}

impl ValidatorConfig {
    /// The defaults for a subnet: 16 requests in flight, the reference's weights version,
    /// a 5-minute sync interval, the API on 127.0.0.1:8000, no metrics exporter, no external
    /// API (the CLI turns it on by default; see [`ExternalApiConfig::new`]), answers of at most
    /// 8 MiB and 128 MiB of them in flight.
    pub fn new(netuid: u16) -> Self {
        Self {
            netuid,
            concurrency: MAX_CONCURRENT_REQUESTS,
            allow_private_axons: false,
            weights_version: WEIGHTS_VERSION,
            set_weights: true,
            owner_burn: true,
            sync_interval: Duration::from_secs(300),
            api_addr: Some(SocketAddr::from(([127, 0, 0, 1], 8000))),
            metrics_addr: None,
            shutdown_grace: Duration::from_secs(10),
            external: None,
            max_answer_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            answer_budget_bytes: DEFAULT_ANSWER_BUDGET_BYTES,
        }
    }
}
