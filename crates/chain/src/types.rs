//! The values the chain hands to subnets: neurons, axons, hyperparameters, metagraphs.
//!
//! Numbers keep the chain's own representation (u16 proportions, u64 rao) so nothing is lost
//! between the real network, the embedded chain and the RPC; [`Proportion::as_f64`] gives the
//! float view the Python SDK shows.

use omron_keys::AccountId;
use serde::{Deserialize, Serialize};

/// A subnet id.
pub type NetUid = u16;
/// A neuron's slot within a subnet.
pub type Uid = u16;
/// A block height.
pub type BlockNumber = u64;
/// An amount in rao (1 TAO = 10^9 rao).
pub type Rao = u64;

/// Rao per TAO.
pub const RAO_PER_TAO: Rao = 1_000_000_000;

/// A value in [0, 1] stored as the chain stores it: `u16`, where 65535 is 1.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Proportion(pub u16);

impl Proportion {
    /// Zero.
    pub const ZERO: Self = Self(0);
    /// One (65535).
    pub const ONE: Self = Self(u16::MAX);

    /// The proportion as a float in [0, 1].
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / f64::from(u16::MAX)
    }

    /// Rounds a float in [0, 1] (clamped) to the nearest u16 proportion.
    pub fn from_f64(x: f64) -> Self {
        let x = if x.is_finite() {
            x.clamp(0.0, 1.0)
        } else {
            0.0
        };
        // Rounded, in range by the clamp above.
        Self((x * f64::from(u16::MAX)).round() as u16)
    }
}

/// Where a neuron serves (the chain's `AxonInfo`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxonInfo {
    /// Block at which the axon was last served (0 = never).
    pub block: BlockNumber,
    /// Free-form version the neuron publishes.
    pub version: u32,
    /// IPv4 (in the low 32 bits) or IPv6 address.
    pub ip: u128,
    /// TCP port.
    pub port: u16,
    /// 4 or 6 (0 when never served).
    pub ip_type: u8,
    /// Free-form protocol number (the SDK sends 4).
    pub protocol: u8,
}

impl AxonInfo {
    /// A neuron is serving once it published a non-zero address.
    pub fn is_serving(&self) -> bool {
        self.ip != 0
    }

    /// The address as text (`1.2.3.4` or an IPv6 literal); `None` when `ip_type` is neither 4 nor 6.
    pub fn ip_string(&self) -> Option<String> {
        match self.ip_type {
            4 => u32::try_from(self.ip)
                .ok()
                .map(|v| std::net::Ipv4Addr::from(v).to_string()),
            6 => Some(std::net::Ipv6Addr::from(self.ip).to_string()),
            _ => None,
        }
    }

    /// `ip:port` for dialing, IPv6 in brackets; `None` when not serving.
    pub fn socket_addr(&self) -> Option<std::net::SocketAddr> {
        if !self.is_serving() {
            return None;
        }
        let ip: std::net::IpAddr = match self.ip_type {
            4 => std::net::Ipv4Addr::from(u32::try_from(self.ip).ok()?).into(),
            6 => std::net::Ipv6Addr::from(self.ip).into(),
            _ => return None,
        };
        Some(std::net::SocketAddr::new(ip, self.port))
    }
}

/// What `serve_axon` publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServeAxon {
    /// Free-form version number.
    pub version: u32,
    /// The address to publish.
    pub ip: std::net::IpAddr,
    /// TCP port (non-zero).
    pub port: u16,
    /// Free-form protocol number (the Python SDK sends 4).
    pub protocol: u8,
}

impl ServeAxon {
    /// The chain's `(ip: u128, ip_type: u8)` encoding of the address.
    pub fn ip_parts(&self) -> (u128, u8) {
        match self.ip {
            std::net::IpAddr::V4(v4) => (u128::from(u32::from(v4)), 4),
            std::net::IpAddr::V6(v6) => (u128::from(v6), 6),
        }
    }
}

/// One neuron of a subnet as the metagraph shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeuronInfo {
    /// Slot in the subnet.
    pub uid: Uid,
    /// The neuron's hotkey.
    pub hotkey: AccountId,
    /// The coldkey that owns the hotkey.
    pub coldkey: AccountId,
    /// Total stake on the hotkey in this subnet, in rao.
    pub stake: Rao,
    /// Whether the neuron may set weights (top-k by stake at the last epoch).
    pub validator_permit: bool,
    /// Where it serves.
    pub axon: AxonInfo,
    /// Block of its last weight set (or registration).
    pub last_update: BlockNumber,
    /// Block at which it registered into this uid.
    pub block_at_registration: BlockNumber,
    /// Normalised ranks (the real chain no longer computes this and reports 0).
    pub rank: Proportion,
    /// Clipped over unclipped support (the real chain no longer computes this and reports 0).
    pub trust: Proportion,
    /// Stake-weighted median weight it received.
    pub consensus: Proportion,
    /// Miner share of the last epoch.
    pub incentive: Proportion,
    /// Validator share of the last epoch.
    pub dividends: Proportion,
    /// Sum of its clipped weights.
    pub validator_trust: Proportion,
    /// Rao emitted to it at the last epoch.
    pub emission: Rao,
    /// Whether it updated within the activity cutoff.
    pub active: bool,
}

/// All neurons of a subnet at one block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metagraph {
    /// The subnet.
    pub netuid: NetUid,
    /// The block the metagraph was read at.
    pub block: BlockNumber,
    /// Neurons ordered by uid.
    pub neurons: Vec<NeuronInfo>,
}

impl Metagraph {
    /// Number of neurons.
    pub fn n(&self) -> usize {
        self.neurons.len()
    }

    /// The neuron a hotkey occupies, if any.
    pub fn by_hotkey(&self, hotkey: &AccountId) -> Option<&NeuronInfo> {
        self.neurons.iter().find(|n| &n.hotkey == hotkey)
    }

    /// The neuron in a uid, if any.
    pub fn by_uid(&self, uid: Uid) -> Option<&NeuronInfo> {
        self.neurons.iter().find(|n| n.uid == uid)
    }
}

/// The subnet hyperparameters a miner or validator needs. Defaults are the real chain's
/// defaults for a new subnet (spec section 3.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hyperparameters {
    /// Blocks between epochs (an epoch runs every `tempo + 1` blocks).
    pub tempo: u16,
    /// Minimum blocks between two weight sets of one uid.
    pub weights_rate_limit: u64,
    /// Whether weights go through commit-reveal (then `set_weights` is refused).
    pub commit_reveal_weights_enabled: bool,
    /// Epochs between a commit and its reveal.
    pub commit_reveal_period: u64,
    /// Minimum number of weights in a set (clamped to the subnet size).
    pub min_allowed_weights: u16,
    /// Largest allowed single weight after max-upscaling (65535 = no limit).
    pub max_weight_limit: u16,
    /// Blocks after registration during which a neuron cannot be pruned.
    pub immunity_period: u16,
    /// Blocks without an update after which a neuron counts as inactive.
    pub activity_cutoff: u16,
    /// Lowest accepted `version_key` for weights (0 accepts any).
    pub weights_version: u64,
    /// Maximum number of uids.
    pub max_allowed_uids: u16,
    /// Number of validator permits (top-k by stake).
    pub max_allowed_validators: u16,
    /// Consensus majority, as a u16 proportion (32767 = 0.5).
    pub kappa: u16,
    /// Bonds EMA: `alpha = 1 - bonds_moving_avg / 1e6`.
    pub bonds_moving_avg: u64,
    /// How much of the clipping applies to bonds (u16 proportion).
    pub bonds_penalty: u16,
    /// Minimum blocks between two `serve_axon` calls of one neuron.
    pub serving_rate_limit: u64,
    /// Rao burned by `burned_register`.
    pub burn: Rao,
    /// Whether registration is open.
    pub registration_allowed: bool,
    /// Minimum stake (rao) to set weights; the subnet owner is exempt.
    pub stake_threshold: Rao,
}

impl Hyperparameters {
    /// Settings for a local development subnet: short tempo and rate limits, one weight is
    /// enough, commit-reveal off, a cheap burn. Every other value is the chain default.
    pub fn dev() -> Self {
        Self {
            tempo: 20,
            weights_rate_limit: 5,
            commit_reveal_weights_enabled: false,
            min_allowed_weights: 1,
            immunity_period: 100,
            activity_cutoff: 5000,
            serving_rate_limit: 0,
            burn: RAO_PER_TAO / 10,
            ..Self::default()
        }
    }
}

impl Default for Hyperparameters {
    fn default() -> Self {
        Self {
            tempo: 360,
            weights_rate_limit: 100,
            commit_reveal_weights_enabled: true,
            commit_reveal_period: 1,
            min_allowed_weights: 1024,
            max_weight_limit: u16::MAX,
            immunity_period: 4096,
            activity_cutoff: 5000,
            weights_version: 0,
            max_allowed_uids: 256,
            max_allowed_validators: 128,
            kappa: 32767,
            bonds_moving_avg: 900_000,
            bonds_penalty: u16::MAX,
            serving_rate_limit: 50,
            burn: RAO_PER_TAO,
            registration_allowed: true,
            stake_threshold: 0,
        }
    }
}

/// How a subnet takes weights, as the runtime runs it now (see [`Chain::commit_reveal_mode`](crate::Chain::commit_reveal_mode)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum CommitRevealMode {
    /// Commit-reveal is off: `set_weights`.
    Off,
    /// Commit-reveal v2: `commit_weights(hash)`, then the validator itself reveals with
    /// `reveal_weights` in epoch `commit epoch + reveal_period`.
    V2 {
        /// `RevealPeriodEpochs`.
        reveal_period: u64,
    },
    /// Timelocked commit-reveal (CRv3/CRv4): the weights are encrypted to a drand round and the
    /// chain reveals them by itself once the round's pulse is on chain; nothing to reveal.
    Timelocked {
        /// The runtime's commit-reveal version (3 or 4), `commit_reveal_version` of the call.
        version: u16,
        /// `RevealPeriodEpochs`.
        reveal_period: u64,
    },
}

impl CommitRevealMode {
    /// The mode of a chain without timelocked commits (the embedded chain, spec 218): off, or
    /// CRv2 with the subnet's reveal period.
    pub fn from_hyperparameters(h: &Hyperparameters) -> Self {
        if h.commit_reveal_weights_enabled {
            Self::V2 {
                reveal_period: h.commit_reveal_period,
            }
        } else {
            Self::Off
        }
    }

    /// Whether weights go through a commit (v2 or timelocked) instead of `set_weights`.
    pub fn is_commit_reveal(self) -> bool {
        !matches!(self, Self::Off)
    }
}

impl std::fmt::Display for CommitRevealMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Off => f.write_str("commit-reveal off"),
            Self::V2 { reveal_period } => {
                write!(f, "commit-reveal v2 (reveal period {reveal_period} epochs)")
            }
            Self::Timelocked {
                version,
                reveal_period,
            } => write!(
                f,
                "timelocked commit-reveal v{version} (reveal period {reveal_period} epochs)"
            ),
        }
    }
}

/// What a timelocked weights commit became on chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelockReceipt {
    /// The block the commit is in.
    pub block: BlockNumber,
    /// The drand quicknet round it is encrypted to: the chain reveals the weights once this
    /// round's pulse is on chain, in the reveal epoch.
    pub reveal_round: u64,
    /// The first block of the reveal epoch, as predicted from the head the commit was built at.
    pub first_reveal_block: BlockNumber,
    /// The commit-reveal version it was built for (3 or 4).
    pub version: u16,
    /// The `SubtensorModule` call that carried it (`commit_timelocked_weights`, ...).
    pub call: String,
}

/// Who owns a subnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetOwner {
    /// The coldkey that created the subnet (receives the owner cut).
    pub coldkey: AccountId,
    /// The owner's hotkey (registered as uid 0 at creation).
    pub hotkey: AccountId,
}

/// How a client's connection to the chain has fared since it connected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionHealth {
    /// Forced reconnects (after a stalled block stream or repeated failed calls).
    pub reconnects: u64,
    /// Block streams that went silent for longer than the stall limit.
    pub stalls: u64,
}

/// A commitment a neuron published with `set_commitment`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    /// Block at which it was set.
    pub block: BlockNumber,
    /// The raw bytes (at most [`MAX_COMMITMENT_BYTES`]).
    pub data: Vec<u8>,
}

/// The real chain's largest `Raw` commitment field.
pub const MAX_COMMITMENT_BYTES: usize = 128;

/// Where an epoch stands for one subnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochInfo {
    /// Current block.
    pub block: BlockNumber,
    /// Blocks until the next epoch runs (0 = it runs at this block).
    pub blocks_until_next_epoch: u64,
    /// The epoch index `(block + netuid + 1) / (tempo + 1)`.
    pub epoch: u64,
}

/// The runtime's (and the SDKs') epoch schedule: `tempo - (block + netuid + 1) % (tempo + 1)`; an
/// epoch runs at the block where this is 0, once every `tempo + 1` blocks. Tempo 0 never runs.
pub fn blocks_until_next_epoch(netuid: NetUid, tempo: u16, block: BlockNumber) -> u64 {
    if tempo == 0 {
        return u64::MAX;
    }
    let period = u64::from(tempo) + 1;
    let adj = block.saturating_add(u64::from(netuid)).saturating_add(1);
    u64::from(tempo) - adj % period
}

/// The epoch index of a block under the same schedule (used by commit-reveal).
pub fn epoch_index(netuid: NetUid, tempo: u16, block: BlockNumber) -> u64 {
    let period = u64::from(tempo) + 1;
    block.saturating_add(u64::from(netuid)).saturating_add(1) / period
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportion_round_trips_the_ends() {
        assert_eq!(Proportion::from_f64(1.0), Proportion::ONE);
        assert_eq!(Proportion::from_f64(0.0), Proportion::ZERO);
        assert_eq!(Proportion::from_f64(2.0), Proportion::ONE);
        assert_eq!(Proportion::from_f64(f64::NAN), Proportion::ZERO);
        assert!((Proportion(32768).as_f64() - 0.500_007_6).abs() < 1e-6);
    }

    #[test]
    fn epoch_schedule_matches_the_sdk_formula() {
        // omron-reference 5.9: netuid 2, tempo 360: 360 - (block + 3) % 361.
        assert_eq!(blocks_until_next_epoch(2, 360, 357), 0);
        assert_eq!(blocks_until_next_epoch(2, 360, 358), 360);
        assert_eq!(blocks_until_next_epoch(2, 360, 0), 357);
        assert_eq!(blocks_until_next_epoch(2, 0, 0), u64::MAX);
        assert_eq!(epoch_index(2, 360, 358), 1);
        assert_eq!(epoch_index(2, 360, 357), 0);
    }

    #[test]
    fn axon_addresses_render() {
        let serve = ServeAxon {
            version: 1,
            ip: "127.0.0.2".parse().unwrap(),
            port: 8091,
            protocol: 4,
        };
        let (ip, ip_type) = serve.ip_parts();
        assert_eq!((ip, ip_type), (0x7f00_0002, 4));
        let axon = AxonInfo {
            block: 1,
            version: 1,
            ip,
            port: 8091,
            ip_type,
            protocol: 4,
        };
        assert_eq!(axon.ip_string().as_deref(), Some("127.0.0.2"));
        assert_eq!(axon.socket_addr().unwrap().to_string(), "127.0.0.2:8091");
        assert_eq!(AxonInfo::default().socket_addr(), None);
    }
}
