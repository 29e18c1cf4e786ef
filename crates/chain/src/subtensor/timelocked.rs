//! Timelocked weight commits (commit-reveal v3/v4) through the real runtime, and the choice of
//! how a subnet takes weights ([`CommitRevealMode`]).
//!
//! # The mode
//!
//! Read at one block, decided by [`mode_for`]:
//!
//! 1. `CommitRevealWeightsEnabled[netuid]` false: [`CommitRevealMode::Off`] (`set_weights`).
//! 2. The runtime has the global `CommitRevealWeightsVersion` (finney: 4): that version, with
//!    the commit call [`CommitCall::choose`] picks from the calls the metadata offers, is
//!    [`CommitRevealMode::Timelocked`]. A version this client does not know (not 3 or 4) is an
//!    error naming it; a runtime that offers none of the version's calls commits with CRv2.
//! 3. No version entry: a runtime of the CRv3 era that offers `commit_crv3_weights` is
//!    timelocked v3; otherwise (spec 218: only `commit_weights`/`reveal_weights`) it is
//!    [`CommitRevealMode::V2`], with `RevealPeriodEpochs` (1 where the runtime lacks it).
//!
//! # The commit
//!
//! [`Chain::commit_timelocked_weights`](crate::Chain::commit_timelocked_weights) reads the
//! version, the reveal period, the tempo and the epoch schedule (stateful where the runtime has
//! every item of [`STATEFUL_SCHEDULE_STORAGE`], modulo otherwise) at the head, aims at the drand
//! round that follows the reveal period ([`omron_timelock::round_for`], at [`BLOCK_TIME_SECS`]),
//! encrypts the payload (CRv4 with the hotkey, CRv3 without), builds the call the metadata
//! offers with every argument filled by name ([`commit_call`]) and submits it signed by the
//! hotkey.

use omron_keys::Keypair;
use omron_timelock::commit::{DEFAULT_VERSION, VERSION_STORAGE};
use omron_timelock::schedule::{STATEFUL_SCHEDULE_STORAGE, unix_now};
use omron_timelock::{
    CommitCall, CommitRevealVersion, EpochState, RevealSchedule, TimelockCommit, TimelockError,
    Weights, commit_for_round, round_for,
};
use subxt::Metadata;
use subxt::dynamic::Value;
use subxt::storage::DynamicAddress;

use super::calls::{self, CallPayload, SUBTENSOR};
use super::{AtBlock, SubtensorClient, storage};
use crate::error::{ChainError, ChainResult};
use crate::types::{CommitRevealMode, Hyperparameters, NetUid, TimelockReceipt, Uid};

/// Seconds per block used to turn blocks into drand rounds. Every real subtensor network
/// (finney, test, a local node) makes a block every 12 s, and the SDK assumes the same; the
/// chain reveals a commit whose round has not been emitted yet only later in the reveal epoch,
/// so the estimate only needs to be close.
pub const BLOCK_TIME_SECS: f64 = 12.0;

/// The call the commit carries when the runtime has no `CommitRevealWeightsVersion` and no
/// CRv3 call either (for the error naming it).
const TIMELOCKED_CALL: &str = "commit_timelocked_weights";

/// `SubtensorModule.CommitRevealWeightsVersion` (global, `u16`).
fn version_entry() -> DynamicAddress<(), u16> {
    subxt::dynamic::storage(SUBTENSOR, VERSION_STORAGE)
}

/// One `u64` item of the stateful epoch schedule, keyed by netuid.
fn schedule_entry(name: &str) -> DynamicAddress<(NetUid,), u64> {
    subxt::dynamic::storage(SUBTENSOR, name)
}

/// Whether `SubtensorModule.call` is in the metadata.
pub fn offers(metadata: &Metadata) -> impl Fn(&str) -> bool + '_ {
    |call| calls::has_call(metadata, SUBTENSOR, call)
}

/// The timelocked version and commit call a runtime supports: `version` is its
/// `CommitRevealWeightsVersion` (`None` when it has no such entry), `offers` says whether a
/// `SubtensorModule` call exists. `Ok(None)`: the runtime has no timelocked commits (CRv2
/// only). A version this client does not know is [`ChainError::Metadata`].
pub fn timelocked_call(
    version: Option<u16>,
    offers: impl Fn(&str) -> bool,
) -> ChainResult<Option<(CommitRevealVersion, CommitCall)>> {
    let Some(number) = version else {
        // Before the version entry existed, a runtime with timelocked commits had CRv3's call.
        return Ok(offers(CommitCall::Crv3Weights.name())
            .then_some((CommitRevealVersion::V3, CommitCall::Crv3Weights)));
    };
    let version = CommitRevealVersion::try_from(number).map_err(|_| {
        ChainError::Metadata(format!(
            "{SUBTENSOR}.{VERSION_STORAGE} is {number}; this client commits with versions 3 and 4"
        ))
    })?;
    Ok(CommitCall::choose(version, offers)
        .ok()
        .map(|call| (version, call)))
}

/// The subnet's weights mode (see the module docs): `enabled` is
/// `CommitRevealWeightsEnabled[netuid]`, `reveal_period` `RevealPeriodEpochs[netuid]`, `version`
/// and `offers` as for [`timelocked_call`].
pub fn mode_for(
    enabled: bool,
    reveal_period: u64,
    version: Option<u16>,
    offers: impl Fn(&str) -> bool,
) -> ChainResult<CommitRevealMode> {
    if !enabled {
        return Ok(CommitRevealMode::Off);
    }
    Ok(match timelocked_call(version, offers)? {
        Some((version, _)) => CommitRevealMode::Timelocked {
            version: version.number(),
            reveal_period,
        },
        None => CommitRevealMode::V2 { reveal_period },
    })
}

/// `call(netuid, [mecid,] commit, reveal_round[, commit_reveal_version])` with the runtime's
/// argument list, each argument filled by name (`mecid` 0, the main mechanism), so a runtime
/// whose call takes other arguments is an error naming them.
pub fn commit_call(
    metadata: &Metadata,
    netuid: NetUid,
    call: CommitCall,
    commit: &TimelockCommit,
) -> ChainResult<CallPayload> {
    let args = call
        .arg_names()
        .iter()
        .map(|&name| {
            let value = match name {
                "netuid" => Value::u128(netuid.into()),
                "mecid" => Value::u128(0),
                "commit" => Value::from_bytes(&commit.ciphertext),
                "reveal_round" => Value::u128(commit.reveal_round.into()),
                "commit_reveal_version" => Value::u128(commit.version.number().into()),
                other => {
                    return Err(ChainError::Metadata(format!(
                        "{SUBTENSOR}.{} takes `{other}`, which this client cannot fill",
                        call.name()
                    )));
                }
            };
            Ok(calls::arg(name, value))
        })
        .collect::<ChainResult<Vec<_>>>()?;
    calls::build(metadata, SUBTENSOR, call.name(), args)
}

/// A refusal of the timelock crate as the chain layer reports it.
fn timelock_error(e: TimelockError) -> ChainError {
    ChainError::InvalidArgument {
        what: "timelocked commit",
        reason: e.to_string(),
    }
}

impl SubtensorClient {
    /// `CommitRevealWeightsVersion` where the runtime has it.
    async fn commit_reveal_version(&self, at: &AtBlock) -> ChainResult<Option<u16>> {
        if !storage::has(at.metadata_ref(), &version_entry()) {
            return Ok(None);
        }
        self.storage_or(at, version_entry(), (), DEFAULT_VERSION)
            .await
            .map(Some)
    }

    /// `RevealPeriodEpochs[netuid]`, or the default where the runtime lacks it.
    async fn reveal_period_epochs(&self, at: &AtBlock, netuid: NetUid) -> ChainResult<u64> {
        let default = Hyperparameters::default().commit_reveal_period;
        self.optional(at, storage::reveal_period(), (netuid,), default)
            .await
    }

    /// See [`Chain::commit_reveal_mode`](crate::Chain::commit_reveal_mode) and the module docs.
    pub(super) async fn read_commit_reveal_mode(
        &self,
        netuid: NetUid,
    ) -> ChainResult<CommitRevealMode> {
        let at = self.at().await?;
        let enabled = self
            .storage_or(
                &at,
                storage::commit_reveal_enabled(),
                (netuid,),
                Hyperparameters::default().commit_reveal_weights_enabled,
            )
            .await?;
        let reveal_period = self.reveal_period_epochs(&at, netuid).await?;
        let version = self.commit_reveal_version(&at).await?;
        mode_for(enabled, reveal_period, version, offers(at.metadata_ref()))
    }

    /// The subnet's epoch schedule at `at`: stateful where the runtime has every item of it.
    async fn reveal_schedule(
        &self,
        at: &AtBlock,
        netuid: NetUid,
        tempo: u16,
    ) -> ChainResult<RevealSchedule> {
        let md = at.metadata_ref();
        let current_block = at.block_number();
        if !STATEFUL_SCHEDULE_STORAGE
            .iter()
            .all(|name| storage::has_entry(md, SUBTENSOR, name))
        {
            return Ok(RevealSchedule::Modulo {
                netuid,
                tempo,
                current_block,
            });
        }
        let [last, pending, index, since] = STATEFUL_SCHEDULE_STORAGE;
        let read = |name| self.storage_or(at, schedule_entry(name), (netuid,), 0);
        Ok(RevealSchedule::Stateful(EpochState {
            last_epoch_block: read(last).await?,
            pending_epoch_at: read(pending).await?,
            subnet_epoch_index: read(index).await?,
            tempo,
            blocks_since_last_step: read(since).await?,
            current_block,
        }))
    }

    /// See [`Chain::commit_timelocked_weights`](crate::Chain::commit_timelocked_weights) and the
    /// module docs. Whether commit-reveal is on is the runtime's to check
    /// (`CommitRevealDisabled`).
    pub(super) async fn commit_timelocked(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        uids: &[Uid],
        weights: &[u16],
        version_key: u64,
    ) -> ChainResult<TimelockReceipt> {
        let at = self.at().await?;
        let md = at.metadata_ref();
        let version = self.commit_reveal_version(&at).await?;
        let Some((version, call)) = timelocked_call(version, offers(md))? else {
            let wanted = match version.and_then(|v| CommitRevealVersion::try_from(v).ok()) {
                Some(v) => CommitCall::candidates(v)
                    .iter()
                    .map(|c| format!("{SUBTENSOR}.{}", c.name()))
                    .collect::<Vec<_>>()
                    .join(" or "),
                None => format!("{SUBTENSOR}.{TIMELOCKED_CALL}"),
            };
            return Err(ChainError::Unsupported(wanted));
        };
        let reveal_period = self.reveal_period_epochs(&at, netuid).await?;
        let tempo = self
            .storage_or(
                &at,
                storage::tempo(),
                (netuid,),
                Hyperparameters::default().tempo,
            )
            .await?;
        let schedule = self.reveal_schedule(&at, netuid, tempo).await?;
        let target = round_for(&schedule, reveal_period, BLOCK_TIME_SECS, unix_now())
            .map_err(timelock_error)?;
        let account = hotkey.public();
        let payload = Weights {
            hotkey: account.as_bytes(),
            uids,
            values: weights,
            version_key,
        };
        let commit = commit_for_round(version, &payload, target.round, &mut rand::rngs::OsRng)
            .map_err(timelock_error)?;
        let extrinsic = commit_call(md, netuid, call, &commit)?;
        let included = self.submit(hotkey, &extrinsic).await?;
        Ok(TimelockReceipt {
            block: included.block,
            reveal_round: commit.reveal_round,
            first_reveal_block: target.first_reveal_block,
            version: version.number(),
            call: call.name().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offering(names: &'static [&'static str]) -> impl Fn(&str) -> bool {
        move |c| names.contains(&c)
    }

    const FINNEY: &[&str] = &[
        "commit_weights",
        "reveal_weights",
        "commit_timelocked_weights",
        "commit_timelocked_mechanism_weights",
    ];
    const SPEC_218: &[&str] = &["commit_weights", "reveal_weights", "batch_reveal_weights"];
    const CRV3_ERA: &[&str] = &["commit_weights", "reveal_weights", "commit_crv3_weights"];

    #[test]
    fn the_mode_follows_the_switch_the_version_and_the_calls() {
        let v4 = CommitRevealMode::Timelocked {
            version: 4,
            reveal_period: 2,
        };
        assert_eq!(mode_for(true, 2, Some(4), offering(FINNEY)).unwrap(), v4);
        assert_eq!(
            mode_for(false, 2, Some(4), offering(FINNEY)).unwrap(),
            CommitRevealMode::Off
        );
        assert_eq!(
            mode_for(true, 1, Some(3), offering(FINNEY)).unwrap(),
            CommitRevealMode::Timelocked {
                version: 3,
                reveal_period: 1
            }
        );
        // Spec 218: no version entry, no timelocked call.
        assert_eq!(
            mode_for(true, 1, None, offering(SPEC_218)).unwrap(),
            CommitRevealMode::V2 { reveal_period: 1 }
        );
        assert_eq!(
            mode_for(false, 1, None, offering(SPEC_218)).unwrap(),
            CommitRevealMode::Off
        );
        // A version entry but none of its calls: CRv2.
        assert_eq!(
            mode_for(true, 1, Some(4), offering(SPEC_218)).unwrap(),
            CommitRevealMode::V2 { reveal_period: 1 }
        );
        // The CRv3 era: no version entry, commit_crv3_weights.
        assert_eq!(
            mode_for(true, 1, None, offering(CRV3_ERA)).unwrap(),
            CommitRevealMode::Timelocked {
                version: 3,
                reveal_period: 1
            }
        );
        assert_eq!(
            timelocked_call(None, offering(CRV3_ERA)).unwrap(),
            Some((CommitRevealVersion::V3, CommitCall::Crv3Weights))
        );
        // An unknown version is named, unless commit-reveal is off anyway.
        let err = mode_for(true, 1, Some(5), offering(FINNEY)).unwrap_err();
        assert!(
            err.to_string().contains("CommitRevealWeightsVersion is 5"),
            "{err}"
        );
        assert_eq!(
            mode_for(false, 1, Some(5), offering(FINNEY)).unwrap(),
            CommitRevealMode::Off
        );
    }
}
