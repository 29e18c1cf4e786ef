//! Which uids the validator queries (§1.4) and what happens to the others (§5.6).
//!
//! A uid is queryable iff both hold:
//! * its total stake is below the validator threshold: 1024 TAO, or `1e19` on the subnet's
//!   testnet netuid 118 where every neuron holds stake. The reference compares float32
//!   tensors, so both sides are rounded to float32 first;
//! * its axon IP parses as an IPv4 address that is global and not multicast (Python's
//!   `ipaddress.IPv4Address(ip).is_global and not .is_multicast`). `0.0.0.0`, private,
//!   loopback, link-local, shared (100.64/10), documentation, benchmarking, reserved and
//!   broadcast addresses are not global; an IPv6 axon is not queryable.
//!
//! So validators and miners without a public IPv4 address are never queried, and on every
//! response their scores are set to zero unless they have a competition state.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::constants::{
    TESTNET_NETUID, TESTNET_VALIDATOR_STAKE_THRESHOLD, VALIDATOR_STAKE_THRESHOLD,
};

/// The parts of a metagraph neuron that decide whether it is queried.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuronView {
    /// The neuron's uid.
    pub uid: u16,
    /// Total stake in TAO.
    pub total_stake: f64,
    /// The axon IP as the metagraph prints it (`"0.0.0.0"` when never served).
    pub axon_ip: String,
}

/// The stake threshold of `netuid`, in TAO.
pub fn stake_threshold(netuid: u16) -> f64 {
    if netuid == TESTNET_NETUID {
        TESTNET_VALIDATOR_STAKE_THRESHOLD
    } else {
        VALIDATOR_STAKE_THRESHOLD
    }
}

/// Whether `total_stake` (TAO) counts as a validator on `netuid`, compared in float32.
pub fn is_validator_stake(netuid: u16, total_stake: f64) -> bool {
    (total_stake as f32) >= (stake_threshold(netuid) as f32) || total_stake.is_nan()
}

/// `ipaddress.IPv4Address(ip).is_global and not .is_multicast` (CPython 3.12.4 and later, the
/// reference runtime): Python's strict dotted-quad syntax, no leading zeros.
pub fn is_valid_axon_ip(ip: &str) -> bool {
    // Rust's parser is as strict as Python's: four decimal octets, no leading zeros.
    ip.parse::<Ipv4Addr>()
        .is_ok_and(|a| is_global(a) && !a.is_multicast())
}

/// The axon IP text the Bittensor SDK shows for the integer the chain stores
/// (`int_to_ip`, i.e. `str(netaddr.IPAddress(ip))`): dotted IPv4 for values below `2^32`,
/// whatever the axon's `ip_type` says, IPv6 text otherwise (never queryable).
pub fn axon_ip_to_string(ip: u128) -> String {
    match u32::try_from(ip) {
        Ok(v4) => Ipv4Addr::from(v4).to_string(),
        Err(_) => Ipv6Addr::from(ip).to_string(),
    }
}

/// CPython's `IPv4Address.is_global`: not in 100.64.0.0/10 and not private.
fn is_global(a: Ipv4Addr) -> bool {
    !in_net(a, [100, 64, 0, 0], 10) && !is_private(a)
}

/// CPython's `IPv4Address.is_private` (3.12.4+: 192.0.0.0/24 minus 192.0.0.9 and .10).
fn is_private(a: Ipv4Addr) -> bool {
    const PRIVATE: [([u8; 4], u32); 14] = [
        ([0, 0, 0, 0], 8),
        ([10, 0, 0, 0], 8),
        ([127, 0, 0, 0], 8),
        ([169, 254, 0, 0], 16),
        ([172, 16, 0, 0], 12),
        ([192, 0, 0, 0], 24),
        ([192, 0, 0, 170], 31),
        ([192, 0, 2, 0], 24),
        ([192, 168, 0, 0], 16),
        ([198, 18, 0, 0], 15),
        ([198, 51, 100, 0], 24),
        ([203, 0, 113, 0], 24),
        ([240, 0, 0, 0], 4),
        ([255, 255, 255, 255], 32),
    ];
    const EXCEPTIONS: [([u8; 4], u32); 2] = [([192, 0, 0, 9], 32), ([192, 0, 0, 10], 32)];
    PRIVATE.iter().any(|&(net, len)| in_net(a, net, len))
        && !EXCEPTIONS.iter().any(|&(net, len)| in_net(a, net, len))
}

fn in_net(a: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(a) & mask) == (u32::from_be_bytes(net) & mask)
}

/// The queryable uids of a metagraph, in uid order.
pub fn queryable_uids(netuid: u16, neurons: &[NeuronView]) -> Vec<u16> {
    let mut uids: Vec<u16> = neurons
        .iter()
        .filter(|n| !is_validator_stake(netuid, n.total_stake) && is_valid_axon_ip(&n.axon_ip))
        .map(|n| n.uid)
        .collect();
    uids.sort_unstable();
    uids.dedup();
    uids
}

/// `process_non_queryable_scores` (§5.6): zeroes the score of every uid that is not queryable,
/// except uids for which `has_competition_state` holds; those are returned (in uid order) so
/// the caller can queue a [`crate::PowItem::for_competition`] for each.
pub fn zero_non_queryable(
    scores: &mut [f32],
    queryable: &BTreeSet<u16>,
    mut has_competition_state: impl FnMut(u16) -> bool,
) -> Vec<u16> {
    let mut competitors = Vec::new();
    for (index, score) in scores.iter_mut().enumerate() {
        let Ok(uid) = u16::try_from(index) else { break };
        if queryable.contains(&uid) {
            continue;
        }
        if has_competition_state(uid) {
            competitors.push(uid);
        } else {
            *score = 0.0;
        }
    }
    competitors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_rules_follow_python_ipaddress() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "203.0.114.1",
            "100.128.0.1",
            "192.0.0.9",
            "192.0.0.10",
            "198.20.0.1",
        ] {
            assert!(is_valid_axon_ip(ip), "{ip} is global");
        }
        for ip in [
            "0.0.0.0",
            "10.1.2.3",
            "127.0.0.1",
            "169.254.1.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.0.170",
            "192.0.2.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "240.0.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.255",
            // Not dotted-quad IPv4 at all.
            "",
            "1.2.3",
            "01.2.3.4",
            "1.2.3.256",
            "::1",
            "2001:db8::1",
            " 8.8.8.8",
        ] {
            assert!(!is_valid_axon_ip(ip), "{ip:?} is not a queryable axon");
        }
    }

    #[test]
    fn chain_integers_become_sdk_ip_text() {
        assert_eq!(axon_ip_to_string(0), "0.0.0.0");
        assert_eq!(axon_ip_to_string(0x0808_0808), "8.8.8.8");
        assert_eq!(axon_ip_to_string(1u128 << 32), "::1:0:0");
        assert!(is_valid_axon_ip(&axon_ip_to_string(0x0101_0101)));
        assert!(!is_valid_axon_ip(&axon_ip_to_string(u128::MAX)));
    }

    #[test]
    fn stake_threshold_depends_on_netuid_and_uses_float32() {
        assert!(!is_validator_stake(2, 1023.9));
        assert!(is_validator_stake(2, 1024.0));
        // 1023.99999 rounds to 1024.0 in float32.
        assert!(is_validator_stake(2, 1_023.999_99));
        assert!(!is_validator_stake(118, 1e12));
        assert!(is_validator_stake(118, 1e19));
        assert!(
            is_validator_stake(2, f64::NAN),
            "an unreadable stake is not a miner"
        );
    }

    #[test]
    fn queryable_needs_low_stake_and_a_global_ipv4() {
        let n = |uid, stake, ip: &str| NeuronView {
            uid,
            total_stake: stake,
            axon_ip: ip.to_owned(),
        };
        let neurons = vec![
            n(0, 5000.0, "8.8.8.8"), // validator
            n(1, 10.0, "8.8.4.4"),   // miner
            n(2, 10.0, "0.0.0.0"),   // never served
            n(3, 0.0, "10.0.0.1"),   // private
            n(4, 1023.0, "9.9.9.9"), // miner just under the threshold
        ];
        assert_eq!(queryable_uids(2, &neurons), vec![1, 4]);
        assert_eq!(queryable_uids(118, &neurons), vec![0, 1, 4]);
    }

    #[test]
    fn non_queryable_scores_are_zeroed_unless_competing() {
        let mut scores = vec![0.5f32; 6];
        let queryable: BTreeSet<u16> = [1, 4].into_iter().collect();
        let competitors = zero_non_queryable(&mut scores, &queryable, |uid| uid == 3);
        assert_eq!(competitors, vec![3]);
        assert_eq!(scores, vec![0.0, 0.5, 0.0, 0.5, 0.5, 0.0]);
    }
}
