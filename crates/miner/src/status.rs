//! The miner's status line: its own neuron as the chain shows it ([`NeuronStatus`]: block,
//! stake, uid, rank, trust, consensus, incentive, emission, as the original miner's status
//! table) and the requests it served and failed per circuit ([`RequestTally`]), since start and
//! since the previous line. [`StatusOptions::every_blocks`] sets the cadence; the same neuron
//! values feed the `omron_miner_chain_*` gauges of [`crate::metrics`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use omron_chain::{Metagraph, NetUid, NeuronInfo, RAO_PER_TAO, Rao, Uid};
use omron_keys::AccountId;

/// The default cadence, in blocks: the original miner printed its status table every 24 steps
/// of its 1-second loop, two 12-second blocks.
pub const DEFAULT_STATUS_BLOCKS: u64 = 2;

/// How the status line is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusOptions {
    /// A line every this many new blocks (at least 1).
    pub every_blocks: u64,
}

impl Default for StatusOptions {
    fn default() -> Self {
        Self {
            every_blocks: DEFAULT_STATUS_BLOCKS,
        }
    }
}

/// One neuron's chain values, as floats for the gauges and the log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NeuronStatus {
    /// The block of the metagraph read.
    pub block: u64,
    /// The uid.
    pub uid: Uid,
    /// Stake on the hotkey in the subnet, TAO.
    pub stake_tao: f64,
    /// Rank in [0, 1] (the real chain reports 0 since dynamic TAO).
    pub rank: f64,
    /// Trust in [0, 1] (the real chain reports 0 since dynamic TAO).
    pub trust: f64,
    /// Consensus in [0, 1].
    pub consensus: f64,
    /// Incentive in [0, 1].
    pub incentive: f64,
    /// Emission to the hotkey at the last epoch, TAO.
    pub emission_tao: f64,
    /// Validator trust in [0, 1].
    pub validator_trust: f64,
    /// Dividends in [0, 1].
    pub dividends: f64,
}

fn tao(rao: Rao) -> f64 {
    rao as f64 / RAO_PER_TAO as f64
}

impl NeuronStatus {
    /// The values of `neuron` in a metagraph read at `block`.
    pub fn new(block: u64, neuron: &NeuronInfo) -> Self {
        Self {
            block,
            uid: neuron.uid,
            stake_tao: tao(neuron.stake),
            rank: neuron.rank.as_f64(),
            trust: neuron.trust.as_f64(),
            consensus: neuron.consensus.as_f64(),
            incentive: neuron.incentive.as_f64(),
            emission_tao: tao(neuron.emission),
            validator_trust: neuron.validator_trust.as_f64(),
            dividends: neuron.dividends.as_f64(),
        }
    }

    /// The status of the neuron at `uid` in `metagraph`, if it is there.
    pub fn of(metagraph: &Metagraph, uid: Uid) -> Option<Self> {
        metagraph.by_uid(uid).map(|n| Self::new(metagraph.block, n))
    }

    /// Logs the chain values alone (info level, one field per value): the start-up line, before
    /// any request.
    pub fn log(&self, netuid: u16) {
        tracing::info!(
            block = self.block,
            netuid,
            uid = self.uid,
            stake_tao = self.stake_tao,
            rank = self.rank,
            trust = self.trust,
            consensus = self.consensus,
            incentive = self.incentive,
            emission_tao = self.emission_tao,
            validator_trust = self.validator_trust,
            dividends = self.dividends,
            "miner status"
        );
    }
}

/// Served and failed requests of one circuit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Answered with a proof.
    pub served: u64,
    /// Answered without one (bad or empty input, busy, proving failed).
    pub failed: u64,
}

/// The label of requests naming a circuit this miner does not hold: one bucket, so callers
/// cannot grow the table with made-up ids.
pub const OTHER_CIRCUIT: &str = "other";

/// Requests served and failed per circuit since start. The handlers' wrappers in
/// [`crate::node`] record every proof request; the status line reads [`RequestTally::snapshot`].
#[derive(Debug)]
pub struct RequestTally {
    /// Circuit id → display name, for the circuits served.
    names: BTreeMap<String, String>,
    /// Display name → counts (every served circuit present from the start, at zero).
    counts: Mutex<BTreeMap<String, Counts>>,
}

impl RequestTally {
    /// A tally for the circuits `(id, name)` served.
    pub fn new(circuits: impl IntoIterator<Item = (String, String)>) -> Self {
        let names: BTreeMap<String, String> = circuits.into_iter().collect();
        let counts = names
            .values()
            .map(|n| (n.clone(), Counts::default()))
            .collect();
        Self {
            names,
            counts: Mutex::new(counts),
        }
    }

    /// Records one proof request for circuit `id` (`None`: the request named none).
    pub fn record(&self, id: Option<&str>, served: bool) {
        let name = id
            .and_then(|id| self.names.get(id))
            .map_or(OTHER_CIRCUIT, String::as_str);
        // Counters only: a poisoned lock still holds whole numbers.
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let c = counts.entry(name.to_owned()).or_default();
        if served {
            c.served += 1;
        } else {
            c.failed += 1;
        }
    }

    /// The counts so far, by circuit name.
    pub fn snapshot(&self) -> BTreeMap<String, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// `name served/failed (+new served/+new failed)` per circuit, `; `-separated.
pub fn describe_requests(
    now: &BTreeMap<String, Counts>,
    before: &BTreeMap<String, Counts>,
) -> String {
    let mut out = String::new();
    for (name, c) in now {
        let prev = before.get(name).copied().unwrap_or_default();
        if !out.is_empty() {
            out.push_str("; ");
        }
        let _ = write!(
            out,
            "{name} {}/{} (+{}/+{})",
            c.served,
            c.failed,
            c.served - prev.served.min(c.served),
            c.failed - prev.failed.min(c.failed)
        );
    }
    out
}

/// One periodic status line. `neuron` is the miner's own neuron at the last metagraph read
/// (`None`: the hotkey holds no uid), `block` the chain's current block.
pub fn log_line(
    netuid: NetUid,
    hotkey: &AccountId,
    block: u64,
    neuron: Option<&NeuronStatus>,
    now: &BTreeMap<String, Counts>,
    before: &BTreeMap<String, Counts>,
) {
    let requests = describe_requests(now, before);
    let served: u64 = now.values().map(|c| c.served).sum();
    let failed: u64 = now.values().map(|c| c.failed).sum();
    match neuron {
        Some(s) => tracing::info!(
            block,
            netuid,
            uid = s.uid,
            stake_tao = s.stake_tao,
            rank = s.rank,
            trust = s.trust,
            consensus = s.consensus,
            incentive = s.incentive,
            emission_tao = s.emission_tao,
            metagraph_block = s.block,
            served,
            failed,
            ?requests,
            "miner status"
        ),
        None => tracing::warn!(
            block,
            netuid,
            hotkey = %hotkey,
            served,
            failed,
            ?requests,
            "miner status: NOT REGISTERED: this hotkey holds no uid on the subnet, so validators do not query it; register it again (`btcli subnets register --netuid {netuid}`, or `omron chain register` on a dev chain) and run `omron miner doctor` with the miner's flags"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_chain::{AxonInfo, Proportion};

    #[test]
    fn values_are_tao_and_fractions() {
        let neuron = NeuronInfo {
            uid: 4,
            hotkey: AccountId([4; 32]),
            coldkey: AccountId([0; 32]),
            stake: 1_500_000_000,
            validator_permit: false,
            axon: AxonInfo::default(),
            last_update: 0,
            block_at_registration: 0,
            rank: Proportion::ZERO,
            trust: Proportion::ONE,
            consensus: Proportion(32768),
            incentive: Proportion::ONE,
            dividends: Proportion::ZERO,
            validator_trust: Proportion::ZERO,
            emission: 250_000_000,
            active: true,
        };
        let mg = Metagraph {
            netuid: 2,
            block: 99,
            neurons: vec![neuron],
        };
        let s = NeuronStatus::of(&mg, 4).unwrap();
        assert_eq!((s.block, s.uid), (99, 4));
        assert_eq!((s.stake_tao, s.emission_tao), (1.5, 0.25));
        assert_eq!((s.trust, s.incentive, s.rank), (1.0, 1.0, 0.0));
        assert!((s.consensus - 0.5).abs() < 1e-4);
        assert_eq!(NeuronStatus::of(&mg, 5), None);
    }

    #[test]
    fn tally_counts_per_circuit_and_buckets_unknown_ids() {
        let t = RequestTally::new([
            ("aa".to_owned(), "mlp".to_owned()),
            ("bb".to_owned(), "cnn".to_owned()),
        ]);
        t.record(Some("aa"), true);
        t.record(Some("aa"), true);
        t.record(Some("aa"), false);
        let before = t.snapshot();
        t.record(Some("aa"), true);
        t.record(Some("made-up"), false);
        t.record(None, false);
        let now = t.snapshot();
        assert_eq!(
            now["mlp"],
            Counts {
                served: 3,
                failed: 1
            }
        );
        assert_eq!(now["cnn"], Counts::default());
        assert_eq!(
            now[OTHER_CIRCUIT],
            Counts {
                served: 0,
                failed: 2
            }
        );
        assert_eq!(now.len(), 3, "unknown ids share one bucket");
        assert_eq!(
            describe_requests(&now, &before),
            "cnn 0/0 (+0/+0); mlp 3/1 (+1/+0); other 0/2 (+0/+2)"
        );
    }

    #[test]
    fn default_cadence_is_the_originals_two_blocks() {
        // 24 one-second steps at 12-second blocks.
        assert_eq!(StatusOptions::default().every_blocks, 2);
    }
}
