//! The validator's settings: built once (by the CLI or a test), read-only while it runs.

use std::net::SocketAddr;
use std::time::Duration;

use omron_scoring::constants::{MAX_CONCURRENT_REQUESTS, WEIGHTS_VERSION};

use crate::external_state::ExternalApiConfig;

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
}

impl ValidatorConfig {
    /// The defaults for a subnet: 16 requests in flight, the reference's weights version,
    /// a 5-minute sync interval, the API on 127.0.0.1:8000, no metrics exporter and no external
    /// API (the CLI turns it on by default; see [`ExternalApiConfig::new`]).
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
        }
    }
}
