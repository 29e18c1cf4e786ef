//! [`Gatekeeper`]: who may ask this miner for proofs, and the miner's view of the metagraph.
//!
//! Upstream's rules (`_blacklist`, the same for all four synapses): a caller is refused when
//! its hotkey is not in the metagraph ("Hotkey is not registered"), when its stake is below
//! `VALIDATOR_STAKE_THRESHOLD` ("Stake below minimum"), or when it has no validator permit
//! ("Requesting UID has no validator permit"). `--disable-blacklist` lets everybody through.
//!
//! The axon runs this hook before it checks the signature (as the SDK does), so it only ever
//! refuses; the handlers trust nothing but the verified caller.

use std::sync::{Arc, RwLock};

use omron_chain::{Metagraph, Rao, Uid};
use omron_keys::AccountId;

/// Why a caller is refused. `Display` gives upstream's exact reason text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The hotkey has no uid on the subnet.
    NotRegistered,
    /// The caller's stake is below the threshold.
    StakeBelowMinimum {
        /// The caller's stake, rao.
        stake: Rao,
        /// The threshold, rao.
        threshold: Rao,
    },
    /// The caller has no validator permit.
    NoValidatorPermit {
        /// The caller's uid.
        uid: Uid,
    },
}

impl Refusal {
    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::NotRegistered => "not_registered",
            Refusal::StakeBelowMinimum { .. } => "stake_below_minimum",
            Refusal::NoValidatorPermit { .. } => "no_validator_permit",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::NotRegistered => "Hotkey is not registered",
            Refusal::StakeBelowMinimum { .. } => "Stake below minimum",
            Refusal::NoValidatorPermit { .. } => "Requesting UID has no validator permit",
        })
    }
}

/// The blacklist rules over the latest metagraph the miner read.
#[derive(Debug)]
pub struct Gatekeeper {
    metagraph: RwLock<Arc<Metagraph>>,
    stake_threshold: Rao,
    disabled: bool,
}

impl Gatekeeper {
    /// Rules over `metagraph`; `disabled` lets every caller through.
    pub fn new(metagraph: Metagraph, stake_threshold: Rao, disabled: bool) -> Self {
        Self {
            metagraph: RwLock::new(Arc::new(metagraph)),
            stake_threshold,
            disabled,
        }
    }

    /// Replaces the metagraph view.
    pub fn update(&self, metagraph: Metagraph) {
        let mut slot = self.metagraph.write().unwrap_or_else(|p| p.into_inner());
        *slot = Arc::new(metagraph);
    }

    /// The current metagraph view.
    pub fn metagraph(&self) -> Arc<Metagraph> {
        // A writer only swaps an Arc, so a poisoned lock still holds a whole value.
        self.metagraph
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether the blacklist is off.
    pub fn disabled(&self) -> bool {
        self.disabled
    }

    /// `Ok` when `hotkey` may call, otherwise the reason it may not.
    pub fn check(&self, hotkey: &AccountId) -> Result<(), Refusal> {
        if self.disabled {
            return Ok(());
        }
        let metagraph = self.metagraph();
        let Some(neuron) = metagraph.by_hotkey(hotkey) else {
            return Err(Refusal::NotRegistered);
        };
        if neuron.stake < self.stake_threshold {
            return Err(Refusal::StakeBelowMinimum {
                stake: neuron.stake,
                threshold: self.stake_threshold,
            });
        }
        if !neuron.validator_permit {
            return Err(Refusal::NoValidatorPermit { uid: neuron.uid });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_chain::{AxonInfo, NeuronInfo, Proportion};
    use omron_keys::Keypair;

    fn neuron(uid: Uid, uri: &str, stake: Rao, permit: bool) -> NeuronInfo {
        let hotkey = Keypair::from_uri(uri).unwrap().public();
        NeuronInfo {
            uid,
            hotkey,
            coldkey: hotkey,
            stake,
            validator_permit: permit,
            axon: AxonInfo::default(),
            last_update: 0,
            block_at_registration: 0,
            rank: Proportion::ZERO,
            trust: Proportion::ZERO,
            consensus: Proportion::ZERO,
            incentive: Proportion::ZERO,
            dividends: Proportion::ZERO,
            validator_trust: Proportion::ZERO,
            emission: 0,
            active: true,
        }
    }

    fn metagraph() -> Metagraph {
        Metagraph {
            netuid: 1,
            block: 10,
            neurons: vec![
                neuron(0, "//v", 2_000, true),
                neuron(1, "//poor", 10, true),
                neuron(2, "//nopermit", 5_000, false),
            ],
        }
    }

    fn key(uri: &str) -> AccountId {
        Keypair::from_uri(uri).unwrap().public()
    }

    #[test]
    fn upstream_rules_and_reasons() {
        let g = Gatekeeper::new(metagraph(), 1_024, false);
        assert_eq!(g.check(&key("//v")), Ok(()));
        let r = g.check(&key("//stranger")).unwrap_err();
        assert_eq!(r.to_string(), "Hotkey is not registered");
        let r = g.check(&key("//poor")).unwrap_err();
        assert_eq!(
            r,
            Refusal::StakeBelowMinimum {
                stake: 10,
                threshold: 1_024
            }
        );
        assert_eq!(r.to_string(), "Stake below minimum");
        let r = g.check(&key("//nopermit")).unwrap_err();
        assert_eq!(r.to_string(), "Requesting UID has no validator permit");
        assert_eq!(r.label(), "no_validator_permit");
    }

    #[test]
    fn disabled_lets_everybody_through_and_updates_apply() {
        let g = Gatekeeper::new(metagraph(), 1_024, true);
        assert!(g.disabled());
        assert_eq!(g.check(&key("//stranger")), Ok(()));
        let g = Gatekeeper::new(metagraph(), 1_024, false);
        let mut mg = metagraph();
        mg.neurons.push(neuron(3, "//stranger", 9_999, true));
        g.update(mg);
        assert_eq!(g.check(&key("//stranger")), Ok(()));
        assert_eq!(g.metagraph().n(), 4);
    }
}
