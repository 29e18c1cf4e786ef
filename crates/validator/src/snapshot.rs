//! The validator's view of its subnet at the last metagraph sync: the neurons, the subnet's
//! hyperparameters, its own uid and the uids it queries.
//!
//! Queryable uids follow the reference (§1.4): stake below the validator threshold (1024 TAO)
//! and an axon IP that is a *global* IPv4 address. A local network publishes its axons on
//! loopback (the chain refuses `127.0.0.1`, so `127.0.0.2`), which that rule excludes; the
//! explicit `allow_private_axons` switch additionally accepts private, loopback and link-local
//! IPv4 addresses (never `0.0.0.0/8`, multicast or broadcast). It is off by default and meant
//! for local networks and tests only.

use std::net::Ipv4Addr;

use omron_chain::{Hyperparameters, Metagraph, NeuronInfo, RAO_PER_TAO};
use omron_scoring::{axon_ip_to_string, is_valid_axon_ip, is_validator_stake};

/// The subnet as the validator last read it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The metagraph.
    pub metagraph: Metagraph,
    /// The subnet's hyperparameters.
    pub hyperparameters: Hyperparameters,
    /// The validator's own uid.
    pub validator_uid: u16,
    /// The uids the validator queries, ascending.
    pub queryable: Vec<u16>,
}

impl Snapshot {
    /// Builds the view of `metagraph` for the validator at `validator_uid`.
    pub fn new(
        metagraph: Metagraph,
        hyperparameters: Hyperparameters,
        validator_uid: u16,
        allow_private_axons: bool,
    ) -> Self {
        let queryable = queryable_uids(&metagraph, allow_private_axons);
        Self {
            metagraph,
            hyperparameters,
            validator_uid,
            queryable,
        }
    }

    /// The number of uids (the length of the reference's score vector).
    pub fn n(&self) -> usize {
        self.metagraph.n()
    }

    /// The neuron at `uid`, if any.
    pub fn neuron(&self, uid: u16) -> Option<&NeuronInfo> {
        self.metagraph.by_uid(uid)
    }
}

/// The stake the reference compares with its threshold: total stake in TAO.
fn stake_tao(neuron: &NeuronInfo) -> f64 {
    neuron.stake as f64 / RAO_PER_TAO as f64
}

/// The uids to query (§1.4), ascending; with `allow_private_axons`, non-global IPv4 axons
/// (loopback, private, link-local) count too.
pub fn queryable_uids(metagraph: &Metagraph, allow_private_axons: bool) -> Vec<u16> {
    let netuid = metagraph.netuid;
    let mut uids: Vec<u16> = metagraph
        .neurons
        .iter()
        .filter(|n| !is_validator_stake(netuid, stake_tao(n)))
        .filter(|n| {
            // The SDK's text form of the chain's integer, as the reference sees it.
            let ip = axon_ip_to_string(n.axon.ip);
            is_valid_axon_ip(&ip) || (allow_private_axons && is_local_ipv4(&ip))
        })
        .map(|n| n.uid)
        .collect();
    uids.sort_unstable();
    uids.dedup();
    uids
}

/// A dialable non-global IPv4 address: loopback, private or link-local, but not `0.0.0.0/8`,
/// multicast or broadcast.
fn is_local_ipv4(ip: &str) -> bool {
    let Ok(addr) = ip.parse::<Ipv4Addr>() else {
        return false;
    };
    addr.octets()[0] != 0 && !addr.is_multicast() && !addr.is_broadcast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_chain::AxonInfo;
    use omron_keys::AccountId;

    fn neuron(uid: u16, stake_tao: u64, ip: [u8; 4]) -> NeuronInfo {
        NeuronInfo {
            uid,
            hotkey: AccountId([uid as u8; 32]),
            coldkey: AccountId([0; 32]),
            stake: stake_tao * RAO_PER_TAO,
            validator_permit: false,
            axon: AxonInfo {
                block: 1,
                version: 1,
                ip: u128::from(u32::from_be_bytes(ip)),
                port: 8091,
                ip_type: 4,
                protocol: 4,
            },
            last_update: 0,
            block_at_registration: 0,
            rank: Default::default(),
            trust: Default::default(),
            consensus: Default::default(),
            incentive: Default::default(),
            dividends: Default::default(),
            validator_trust: Default::default(),
            emission: 0,
            active: true,
        }
    }

    fn metagraph(netuid: u16) -> Metagraph {
        Metagraph {
            netuid,
            block: 10,
            neurons: vec![
                neuron(0, 0, [0, 0, 0, 0]),      // owner, never served
                neuron(1, 5000, [8, 8, 8, 8]),   // validator stake
                neuron(2, 10, [8, 8, 4, 4]),     // public miner
                neuron(3, 10, [127, 0, 0, 2]),   // loopback miner
                neuron(4, 10, [192, 168, 1, 5]), // private miner
                neuron(5, 10, [224, 0, 0, 1]),   // multicast
                neuron(6, 1023, [9, 9, 9, 9]),   // just under the threshold
                neuron(7, 2000, [127, 0, 0, 2]), // a validator on loopback
            ],
        }
    }

    #[test]
    fn default_rule_is_the_references() {
        assert_eq!(queryable_uids(&metagraph(2), false), vec![2, 6]);
    }

    #[test]
    fn private_axons_only_with_the_switch_and_never_validators() {
        assert_eq!(queryable_uids(&metagraph(2), true), vec![2, 3, 4, 6]);
        // On the testnet netuid the stake threshold is 1e19 TAO: everyone is a miner.
        assert_eq!(
            queryable_uids(&metagraph(118), true),
            vec![1, 2, 3, 4, 6, 7]
        );
    }

    #[test]
    fn local_ipv4_rule() {
        for ip in [
            "127.0.0.2",
            "10.0.0.1",
            "192.168.0.9",
            "169.254.1.1",
            "8.8.8.8",
        ] {
            assert!(is_local_ipv4(ip), "{ip}");
        }
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "224.1.1.1",
            "255.255.255.255",
            "::1",
            "x",
        ] {
            assert!(!is_local_ipv4(ip), "{ip}");
        }
    }
}
