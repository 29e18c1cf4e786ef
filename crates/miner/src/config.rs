//! [`MinerConfig`]: everything a miner is told, built once (by the CLI or a test) and read-only
//! while it runs.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use omron_chain::{NetUid, RAO_PER_TAO, Rao};
use omron_scoring::constants::VALIDATOR_STAKE_THRESHOLD;

use crate::capacities::Capacities;

/// A miner's settings.
#[derive(Debug, Clone)]
pub struct MinerConfig {
    /// The subnet served.
    pub netuid: NetUid,
    /// Where the axon listens (port 0 picks a free one).
    pub axon_bind: SocketAddr,
    /// The IP announced on chain; `None` uses the bind IP, which then must be a concrete one.
    pub external_ip: Option<IpAddr>,
    /// The port announced on chain; `None` uses the bound port.
    pub external_port: Option<u16>,
    /// Serve every caller (upstream `--disable-blacklist`).
    pub disable_blacklist: bool,
    /// Stake (rao) a caller needs; upstream's `VALIDATOR_STAKE_THRESHOLD` (1024 TAO).
    pub stake_threshold: Rao,
    /// Proofs computed at once.
    pub max_concurrent_proofs: usize,
    /// Requests that may wait for a proof slot; beyond that, new ones get a busy answer.
    pub max_waiting_proofs: usize,
    /// How often the metagraph is read again (blacklist view, registration check, axon
    /// announcement).
    pub sync_interval: Duration,
    /// Where `/metrics` and `/health` are served; `None` keeps the exporter off.
    pub prometheus: Option<SocketAddr>,
    /// Compute units per circuit, answered to `QueryForCapacities`.
    pub capacities: Capacities,
    /// Dev-only behaviours (slow, faulty) for `omron localnet`.
    pub dev: DevOptions,
}

/// Behaviours that only make sense on a local test network: `omron localnet` uses them to run
/// a slow and a faulty miner next to honest ones. Never set them on a real subnet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DevOptions {
    /// Extra time before a proof answer is sent.
    pub delay: Duration,
    /// Corrupt every proof before sending it (it will not verify).
    pub faulty: bool,
}

impl DevOptions {
    /// Whether any dev behaviour is on.
    pub fn any(&self) -> bool {
        self.faulty || !self.delay.is_zero()
    }
}

/// The upstream stake threshold in rao.
pub fn default_stake_threshold() -> Rao {
    // 1024 TAO, exactly representable.
    (VALIDATOR_STAKE_THRESHOLD as u64) * RAO_PER_TAO
}

/// The default proof limit: one proof per CPU.
pub fn default_max_concurrent_proofs() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl MinerConfig {
    /// Defaults for a subnet, binding `axon_bind`: blacklist on, one proof per CPU, four
    /// waiting requests per proof slot, a metagraph sync every 60 s, no exporter, no dev
    /// behaviour, and an empty capacities table (the node fills one entry per circuit).
    pub fn new(netuid: NetUid, axon_bind: SocketAddr) -> Self {
        let slots = default_max_concurrent_proofs();
        Self {
            netuid,
            axon_bind,
            external_ip: None,
            external_port: None,
            disable_blacklist: false,
            stake_threshold: default_stake_threshold(),
            max_concurrent_proofs: slots,
            max_waiting_proofs: slots * 4,
            sync_interval: Duration::from_secs(60),
            prometheus: None,
            capacities: Capacities::default(),
            dev: DevOptions::default(),
        }
    }

    /// The address to announce, given the port the axon actually bound.
    pub fn announced_addr(&self, bound_port: u16) -> Option<SocketAddr> {
        let ip = match self.external_ip {
            Some(ip) => ip,
            None if self.axon_bind.ip().is_unspecified() => return None,
            None => self.axon_bind.ip(),
        };
        Some(SocketAddr::new(
            ip,
            self.external_port.unwrap_or(bound_port),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_1024_tao() {
        assert_eq!(default_stake_threshold(), 1_024_000_000_000);
    }

    #[test]
    fn announced_address_prefers_the_external_one() {
        let mut c = MinerConfig::new(1, "0.0.0.0:8091".parse().unwrap());
        assert_eq!(c.announced_addr(8091), None);
        c.external_ip = Some("10.0.0.5".parse().unwrap());
        assert_eq!(
            c.announced_addr(8091),
            Some("10.0.0.5:8091".parse().unwrap())
        );
        c.external_port = Some(9000);
        assert_eq!(
            c.announced_addr(8091),
            Some("10.0.0.5:9000".parse().unwrap())
        );
        let c = MinerConfig::new(1, "127.0.0.2:0".parse().unwrap());
        assert_eq!(
            c.announced_addr(4321),
            Some("127.0.0.2:4321".parse().unwrap())
        );
    }

    #[test]
    fn dev_options_default_off() {
        assert!(!DevOptions::default().any());
        assert!(
            DevOptions {
                faulty: true,
                ..DevOptions::default()
            }
            .any()
        );
    }
}
