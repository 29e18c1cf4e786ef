//! A timelocked weights commit, ready to submit: which extrinsic carries it for the subnet's
//! commit-reveal version, and its `(commit, reveal_round)`.
//!
//! The version is the runtime's global `SubtensorModule.CommitRevealWeightsVersion` (`u16`,
//! default 4); `commit_timelocked_weights` refuses any other (`IncorrectCommitRevealVersion`).
//! A subnet uses timelocked commits when `CommitRevealWeightsEnabled[netuid]` is true and the
//! runtime offers one of the calls below; a runtime offering none of them (the executed runtime,
//! spec 218, which has no Drand pallet either) commits with CRv2 hashes (`commit_weights` /
//! `reveal_weights`, which the runtime accepts whatever the version) instead.
//!
//! | version | payload | extrinsic, first the metadata offers | arguments |
//! |---|---|---|---|
//! | 4 | with hotkey | `commit_timelocked_weights` (113 on finney) | `netuid, commit, reveal_round, commit_reveal_version` |
//! | 4 | with hotkey | `commit_timelocked_mechanism_weights` (118) | `netuid, mecid, commit, reveal_round, commit_reveal_version` |
//! | 3 | legacy | `commit_crv3_weights` (99 until removed) | `netuid, commit, reveal_round` |
//! | 3 | legacy | `commit_timelocked_weights` | `netuid, commit, reveal_round, commit_reveal_version` |
//!
//! `commit` is a `BoundedVec<u8, 5000>` (SCALE: compact length, bytes), `mecid` 0 is the main
//! mechanism. `commit_crv3_mechanism_weights` is left out: the runtime hard-codes version 4
//! for it, which `commit_timelocked_mechanism_weights` states explicitly.

use rand::{CryptoRng, RngCore};

use crate::error::{Result, TimelockError};
use crate::payload::Weights;
use crate::schedule::{RevealSchedule, round_for};
use crate::tlock;

/// The runtime's bound on a commit (`MAX_CRV3_COMMIT_SIZE_BYTES`).
pub const MAX_COMMIT_BYTES: usize = 5000;
/// The pallet holding the commit calls and the version.
pub const PALLET: &str = "SubtensorModule";
/// The global storage value holding the runtime's commit-reveal version.
pub const VERSION_STORAGE: &str = "CommitRevealWeightsVersion";
/// The version a runtime without that storage value's entry uses.
pub const DEFAULT_VERSION: u16 = 4;

/// A timelocked commit-reveal version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommitRevealVersion {
    /// CRv3: the payload carries no hotkey.
    V3,
    /// CRv4: the payload carries the committing hotkey.
    V4,
}

impl CommitRevealVersion {
    /// The number the runtime stores and `commit_reveal_version` carries.
    pub fn number(self) -> u16 {
        match self {
            Self::V3 => 3,
            Self::V4 => 4,
        }
    }
}

impl TryFrom<u16> for CommitRevealVersion {
    type Error = TimelockError;

    fn try_from(v: u16) -> Result<Self> {
        match v {
            3 => Ok(Self::V3),
            4 => Ok(Self::V4),
            other => Err(TimelockError::UnsupportedVersion(other)),
        }
    }
}

/// The extrinsic that carries a timelocked commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommitCall {
    /// `commit_timelocked_weights(netuid, commit, reveal_round, commit_reveal_version)`.
    TimelockedWeights,
    /// `commit_timelocked_mechanism_weights(netuid, mecid, commit, reveal_round,
    /// commit_reveal_version)`.
    TimelockedMechanismWeights,
    /// `commit_crv3_weights(netuid, commit, reveal_round)`.
    Crv3Weights,
}

impl CommitCall {
    /// The call's name in `SubtensorModule`.
    pub fn name(self) -> &'static str {
        match self {
            Self::TimelockedWeights => "commit_timelocked_weights",
            Self::TimelockedMechanismWeights => "commit_timelocked_mechanism_weights",
            Self::Crv3Weights => "commit_crv3_weights",
        }
    }

    /// The calls that commit for `version`, in order of preference.
    pub fn candidates(version: CommitRevealVersion) -> &'static [CommitCall] {
        match version {
            CommitRevealVersion::V4 => &[Self::TimelockedWeights, Self::TimelockedMechanismWeights],
            CommitRevealVersion::V3 => &[Self::Crv3Weights, Self::TimelockedWeights],
        }
    }

    /// The first candidate for `version` the runtime offers (`offers(name)` says whether
    /// `SubtensorModule.name` is in its metadata).
    pub fn choose(version: CommitRevealVersion, offers: impl Fn(&str) -> bool) -> Result<Self> {
        let candidates = Self::candidates(version);
        candidates
            .iter()
            .copied()
            .find(|c| offers(c.name()))
            .ok_or_else(|| TimelockError::NoCommitCall {
                version: version.number(),
                wanted: candidates
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The call's argument names in the runtime's order.
    pub fn arg_names(self) -> &'static [&'static str] {
        match self {
            Self::TimelockedWeights => {
                &["netuid", "commit", "reveal_round", "commit_reveal_version"]
            }
            Self::TimelockedMechanismWeights => &[
                "netuid",
                "mecid",
                "commit",
                "reveal_round",
                "commit_reveal_version",
            ],
            Self::Crv3Weights => &["netuid", "commit", "reveal_round"],
        }
    }
}

/// An encrypted commit: what the commit call's `commit` and `reveal_round` take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelockCommit {
    /// The serialised ciphertext of the payload.
    pub ciphertext: Vec<u8>,
    /// The drand round whose signature opens it.
    pub reveal_round: u64,
    /// The version it was built for (the call's `commit_reveal_version`).
    pub version: CommitRevealVersion,
}

/// Encrypts `weights` to `reveal_round` in the payload shape of `version`.
pub fn commit_for_round<R: RngCore + CryptoRng>(
    version: CommitRevealVersion,
    weights: &Weights<'_>,
    reveal_round: u64,
    rng: &mut R,
) -> Result<TimelockCommit> {
    let plaintext = match version {
        CommitRevealVersion::V4 => weights.encode_v4()?,
        CommitRevealVersion::V3 => weights.encode_v3()?,
    };
    let ciphertext = tlock::encrypt(reveal_round, &plaintext, rng)?;
    if ciphertext.len() > MAX_COMMIT_BYTES {
        return Err(TimelockError::CommitTooLarge {
            actual: ciphertext.len(),
            max: MAX_COMMIT_BYTES,
        });
    }
    Ok(TimelockCommit {
        ciphertext,
        reveal_round,
        version,
    })
}

/// The whole client side of a timelocked commit, as the SDK does it: the round from the
/// subnet's schedule and reveal period (see [`crate::schedule`]) at Unix time `now_unix_secs`,
/// then the encrypted payload.
pub fn commit_weights<R: RngCore + CryptoRng>(
    version: CommitRevealVersion,
    weights: &Weights<'_>,
    schedule: &RevealSchedule,
    reveal_period_epochs: u64,
    block_time_secs: f64,
    now_unix_secs: f64,
    rng: &mut R,
) -> Result<TimelockCommit> {
    let target = round_for(
        schedule,
        reveal_period_epochs,
        block_time_secs,
        now_unix_secs,
    )?;
    commit_for_round(version, weights, target.round, rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn versions() {
        assert_eq!(
            CommitRevealVersion::try_from(4),
            Ok(CommitRevealVersion::V4)
        );
        assert_eq!(
            CommitRevealVersion::try_from(3),
            Ok(CommitRevealVersion::V3)
        );
        assert_eq!(
            CommitRevealVersion::try_from(2),
            Err(TimelockError::UnsupportedVersion(2))
        );
        assert_eq!(CommitRevealVersion::V4.number(), DEFAULT_VERSION);
    }

    #[test]
    fn the_call_follows_the_version_and_the_metadata() {
        let finney = |c: &str| {
            [
                "commit_timelocked_weights",
                "commit_timelocked_mechanism_weights",
            ]
            .contains(&c)
        };
        let v4 = CommitCall::choose(CommitRevealVersion::V4, finney).unwrap();
        assert_eq!(v4, CommitCall::TimelockedWeights);
        let v3 = CommitCall::choose(CommitRevealVersion::V3, finney).unwrap();
        assert_eq!(v3, CommitCall::TimelockedWeights);
        let old = |c: &str| c == "commit_crv3_weights";
        assert_eq!(
            CommitCall::choose(CommitRevealVersion::V3, old).unwrap(),
            CommitCall::Crv3Weights
        );
        let mech_only = |c: &str| c == "commit_timelocked_mechanism_weights";
        assert_eq!(
            CommitCall::choose(CommitRevealVersion::V4, mech_only).unwrap(),
            CommitCall::TimelockedMechanismWeights
        );
        let crv2_only = |c: &str| c == "commit_weights";
        assert_eq!(
            CommitCall::choose(CommitRevealVersion::V4, crv2_only),
            Err(TimelockError::NoCommitCall {
                version: 4,
                wanted: "commit_timelocked_weights, commit_timelocked_mechanism_weights".into()
            })
        );
    }

    #[test]
    fn too_many_weights_do_not_fit_a_commit() {
        let uids: Vec<u16> = (0..1200).collect();
        let w = Weights {
            hotkey: &[1; 32],
            uids: &uids,
            values: &uids,
            version_key: 0,
        };
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        assert!(matches!(
            commit_for_round(CommitRevealVersion::V4, &w, 1000, &mut rng),
            Err(TimelockError::CommitTooLarge { max: 5000, .. })
        ));
        let w = Weights {
            uids: &uids[..256],
            values: &uids[..256],
            ..w
        };
        let c = commit_for_round(CommitRevealVersion::V4, &w, 1000, &mut rng).unwrap();
        assert_eq!(c.ciphertext.len(), 244 + 1 + 32 + 2 * (2 + 2 * 256) + 8);
    }
}
