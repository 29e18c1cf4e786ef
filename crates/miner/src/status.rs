//! [`NeuronStatus`]: the miner's own neuron as the chain shows it, logged as one status line
//! (the original miner's status table: block, stake, rank, trust, consensus, incentive,
//! emission) and exported as the `omron_miner_chain_*` gauges of [`crate::metrics`].

use std::time::Duration;

use omron_chain::{Metagraph, NeuronInfo, RAO_PER_TAO, Rao, Uid};

/// How often the status line is logged: the original miner printed its status table every
/// 24 steps of its 1-second loop.
pub const STATUS_INTERVAL: Duration = Duration::from_secs(24);

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

    /// Logs the status line (info level, one field per value).
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

#[cfg(test)]
mod tests {
    use super::*;
    use omron_chain::{AxonInfo, Proportion};
    use omron_keys::AccountId;

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
}
