//! Setting weights (reference §5.8): at every new block, reveal a due commit, and inside the
//! weight window turn the scores into `u16` weights and set them, or commit them when the
//! subnet uses commit-reveal. Every attempt is recorded in the store's weights history.
//!
//! Which of the three is read from the chain at each attempt
//! ([`Chain::commit_reveal_mode`](omron_chain::Chain::commit_reveal_mode)): commit-reveal off,
//! `set_weights`; CRv2 (the embedded chain, runtimes without timelocked commits), a hash commit
//! this node reveals (below); timelocked (CRv3/CRv4, finney), one `commit_timelocked_weights`,
//! encrypted by the chain client to the drand round after the reveal period, which the chain
//! decrypts and applies by itself, so there is nothing to reveal; its history row keeps that
//! round (`reveal_round`).
//!
//! CRv2: the commit is `weights_commit_hash(hotkey, netuid, uids, weights, salt,
//! version_key)` with 8 random `u16` salt words; uids, weights and salt are kept in the store
//! so the reveal survives a restart. The reveal is sent once the chain's epoch reaches
//! `epoch(commit block) + commit_reveal_period` (retried while the chain says it is too early);
//! a commit whose reveal epoch has passed is recorded as failed.
//!
//! Owner burn (`subnet-2` 10.3.2, on unless `owner_burn` is off): the float weights are scaled
//! by 0.2 and the uid of the subnet owner's hotkey (read from the chain at each attempt) gets
//! 0.8, before the `u16` conversion ([`apply_owner_burn`]). When the owner's hotkey holds no uid
//! in the metagraph the weights go out unburnt, with a warning. With the burn a validator
//! whose miners have no score yet sets the owner's weight alone, as upstream does.
//!
//! At most [`ATTEMPTS_PER_EPOCH`] attempts per epoch: a refused transaction is retried at the
//! next block of the window, but not forever.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use omron_chain::{
    ChainError, CommitRevealMode, Metagraph, PalletError, epoch_index, weights_commit_hash,
};
use omron_keys::AccountId;
use omron_scoring::{apply_owner_burn, convert_weights_and_uids_for_emit, scores_to_weights};
use rand::Rng;

use super::Shared;
use crate::error::NodeError;
use crate::metrics::WeightsMethod;
use crate::store::{PendingCommit, StoreError, TxOutcome, WeightsRecord, Writer};
use crate::weight_window::WeightWindow;

/// Weight transactions tried per epoch at most.
pub(crate) const ATTEMPTS_PER_EPOCH: u32 = 3;

/// Salt words of a commit (as the SDK).
const SALT_WORDS: usize = 8;

fn now() -> (u64, f64) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
        d.as_secs_f64(),
    )
}

/// Runs until shutdown.
pub(super) async fn run(shared: Arc<Shared>) {
    let mut blocks = shared.block.subscribe();
    let mut stop = shared.stop.clone();
    let mut attempts: BTreeMap<u64, u32> = BTreeMap::new();
    loop {
        tokio::select! {
            changed = blocks.changed() => if changed.is_err() { return },
            _ = stop.changed() => return,
        }
        let block = *blocks.borrow_and_update();
        match step(&shared, block, &mut attempts).await {
            Ok(()) => {}
            Err(e @ NodeError::Store(_)) => {
                shared.fail(e);
                return;
            }
            Err(e) => tracing::warn!(block, error = %e, "weight step failed"),
        }
    }
}

/// One block's work.
async fn step(
    shared: &Arc<Shared>,
    block: u64,
    attempts: &mut BTreeMap<u64, u32>,
) -> Result<(), NodeError> {
    let snapshot = shared.snapshot();
    let netuid = shared.config.netuid;
    let hyper = &snapshot.hyperparameters;
    let epoch = epoch_index(netuid, hyper.tempo, block);

    let pending = shared.with_store(|s| s.pending_commits()).await?;
    for commit in &pending {
        reveal(shared, commit, epoch).await?;
    }
    if !pending.is_empty() {
        // One commit at a time: the next one waits for this reveal.
        return Ok(());
    }

    let window = WeightWindow::for_subnet(hyper);
    let until = shared.chain.blocks_until_next_epoch(netuid).await?;
    let since = shared
        .chain
        .blocks_since_last_update(netuid, snapshot.validator_uid)
        .await?;
    if !window.is_open(since, until) {
        return Ok(());
    }
    attempts.retain(|e, _| *e + 1 >= epoch);
    let tries = attempts.entry(epoch).or_default();
    if *tries >= ATTEMPTS_PER_EPOCH {
        return Ok(());
    }
    *tries += 1;

    let n = snapshot.n();
    let scores = shared.with_store(move |s| s.score_vector(n)).await?;
    let mut weights = scores_to_weights(&scores, n);
    let owner_uid = if shared.config.owner_burn {
        let owner = shared.chain.subnet_owner(netuid).await?.hotkey;
        burn_for_owner(&mut weights, &snapshot.metagraph, &owner)
    } else {
        None
    };
    let uids: Vec<u16> = (0..n).filter_map(|u| u16::try_from(u).ok()).collect();
    let emit = convert_weights_and_uids_for_emit(&uids, &weights)?;
    if emit.is_empty() {
        tracing::info!(block, "no miner has a score yet; no weights to set");
        return Ok(());
    }
    // How the subnet takes weights now: set, CRv2 commit, or timelocked commit.
    let mode = shared.chain.commit_reveal_mode(netuid).await?;
    let version_key = shared.config.weights_version;
    let (created_at_ms, _) = now();
    let record = WeightsRecord {
        block,
        uids: emit.uids.clone(),
        weights: emit.weights.clone(),
        version_key,
        commit_reveal: mode.is_commit_reveal(),
        reveal_round: None,
        outcome: TxOutcome::Pending,
        created_at_ms,
    };
    let id = shared
        .with_store(move |s| s.record_weights(&record))
        .await?;
    let method = method_for(mode);
    let included = TxOutcome::Included {
        tx_hash: String::new(),
    };
    match mode {
        CommitRevealMode::Off => {
            let result = shared
                .chain
                .set_weights(
                    &shared.hotkey,
                    netuid,
                    &emit.uids,
                    &emit.weights,
                    version_key,
                )
                .await;
            if let Err(e) = result {
                return fail(shared, id, method, block, &e).await;
            }
            shared
                .with_store(move |s| s.set_weights_outcome(id, &included))
                .await?;
            tracing::info!(block, %mode, uids = emit.uids.len(), weights = ?emit.weights, ?owner_uid, "weights set");
        }
        CommitRevealMode::V2 { reveal_period } => {
            let salt: Vec<u16> = {
                let mut rng = rand::thread_rng();
                (0..SALT_WORDS).map(|_| rng.r#gen()).collect()
            };
            let hotkey = shared.hotkey.public();
            let hash = weights_commit_hash(
                &hotkey,
                netuid,
                &emit.uids,
                &emit.weights,
                &salt,
                version_key,
            );
            let result = shared
                .chain
                .commit_weights(&shared.hotkey, netuid, hash)
                .await;
            if let Err(e) = result {
                return fail(shared, id, method, block, &e).await;
            }
            let reveal_epoch = epoch + reveal_period;
            let commit = PendingCommit {
                record_id: id,
                uids: emit.uids.clone(),
                weights: emit.weights.clone(),
                salt,
                version_key,
                commit_block: block,
                reveal_epoch,
            };
            shared
                .with_store(move |s| s.write(|w| w.add_pending_commit(&commit)))
                .await?;
            tracing::info!(block, %mode, uids = emit.uids.len(), ?owner_uid, reveal_epoch, "weights committed");
        }
        CommitRevealMode::Timelocked { .. } => {
            let result = shared
                .chain
                .commit_timelocked_weights(
                    &shared.hotkey,
                    netuid,
                    &emit.uids,
                    &emit.weights,
                    version_key,
                )
                .await;
            let receipt = match result {
                Ok(receipt) => receipt,
                Err(e) => return fail(shared, id, method, block, &e).await,
            };
            let round = receipt.reveal_round;
            shared
                .with_store(move |s| {
                    s.write(|w| {
                        w.set_weights_reveal_round(id, round)?;
                        w.set_weights_outcome(id, &included)
                    })
                })
                .await?;
            tracing::info!(
                block,
                %mode,
                uids = emit.uids.len(),
                ?owner_uid,
                reveal_round = receipt.reveal_round,
                first_reveal_block = receipt.first_reveal_block,
                call = %receipt.call,
                "weights committed, timelocked; the chain reveals them"
            );
        }
    }
    shared.metrics.weights(method, true, now().1);
    Ok(())
}

/// The transaction an attempt sends in each mode: `set_weights` when commit-reveal is off, a
/// CRv2 hash commit (revealed later by [`reveal`]), or a timelocked commit that the chain
/// reveals by itself.
fn method_for(mode: CommitRevealMode) -> WeightsMethod {
    match mode {
        CommitRevealMode::Off => WeightsMethod::Set,
        CommitRevealMode::V2 { .. } => WeightsMethod::Commit,
        CommitRevealMode::Timelocked { .. } => WeightsMethod::CommitTimelocked,
    }
}

/// Applies the owner burn for `owner`'s uid in `metagraph`; returns that uid, or `None` (and
/// warns, leaving the weights as they are) when the owner's hotkey holds no uid.
fn burn_for_owner(weights: &mut [f32], metagraph: &Metagraph, owner: &AccountId) -> Option<u16> {
    let burnt = metagraph
        .by_hotkey(owner)
        .map(|n| n.uid)
        .filter(|&uid| apply_owner_burn(weights, usize::from(uid)));
    if burnt.is_none() {
        tracing::warn!(
            owner = %owner,
            "the subnet owner's hotkey holds no uid in the metagraph; weights set without the owner burn"
        );
    }
    burnt
}

async fn fail(
    shared: &Arc<Shared>,
    id: i64,
    method: WeightsMethod,
    block: u64,
    error: &ChainError,
) -> Result<(), NodeError> {
    let outcome = TxOutcome::Failed {
        reason: error.to_string(),
    };
    shared
        .with_store(move |s| s.set_weights_outcome(id, &outcome))
        .await?;
    shared.metrics.weights(method, false, 0.0);
    tracing::warn!(block, ?method, %error, "weights not accepted");
    Ok(())
}

/// Reveals `commit` when its epoch has come; drops it when the chain refuses it for good.
async fn reveal(shared: &Arc<Shared>, commit: &PendingCommit, epoch: u64) -> Result<(), NodeError> {
    let id = commit.record_id;
    if epoch < commit.reveal_epoch {
        return Ok(());
    }
    // The chain may count the commit in the next epoch if it was included a block later;
    // a reveal is possible up to one epoch after the expected one.
    if epoch > commit.reveal_epoch + 1 {
        let reason = format!(
            "commit expired: reveal was due in epoch {}, now {epoch}",
            commit.reveal_epoch
        );
        let outcome = TxOutcome::Failed { reason };
        shared
            .with_store(move |s| s.write(|w| close_commit(w, id, &outcome)))
            .await?;
        shared.metrics.weights(WeightsMethod::Reveal, false, 0.0);
        tracing::warn!(record = id, "weight commit expired before its reveal");
        return Ok(());
    }
    let result = shared
        .chain
        .reveal_weights(
            &shared.hotkey,
            shared.config.netuid,
            &commit.uids,
            &commit.weights,
            &commit.salt,
            commit.version_key,
        )
        .await;
    let outcome = match result {
        Ok(()) => {
            shared.metrics.weights(WeightsMethod::Reveal, true, now().1);
            tracing::info!(record = id, epoch, "weights revealed");
            TxOutcome::Included {
                tx_hash: String::new(),
            }
        }
        Err(ChainError::Rejected {
            error: PalletError::RevealTooEarly,
            ..
        }) => return Ok(()),
        Err(e @ ChainError::Rejected { .. }) => {
            shared.metrics.weights(WeightsMethod::Reveal, false, 0.0);
            tracing::warn!(record = id, error = %e, "reveal refused; commit dropped");
            TxOutcome::Failed {
                reason: e.to_string(),
            }
        }
        // Transport and the like: try again at the next block.
        Err(e) => return Err(e.into()),
    };
    shared
        .with_store(move |s| s.write(|w| close_commit(w, id, &outcome)))
        .await
}

/// Forgets a commit and records its outcome. The history row may already have been trimmed
/// from the bounded history; the commit itself is what matters.
fn close_commit(w: &mut Writer<'_>, id: i64, outcome: &TxOutcome) -> crate::store::Result<()> {
    w.remove_pending_commit(id)?;
    match w.set_weights_outcome(id, outcome) {
        Err(StoreError::UnknownWeightsRecord { .. }) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_chain::{AxonInfo, NeuronInfo, Proportion};

    fn metagraph(hotkeys: &[u8]) -> Metagraph {
        let neurons = hotkeys
            .iter()
            .enumerate()
            .map(|(uid, &h)| NeuronInfo {
                uid: u16::try_from(uid).unwrap(),
                hotkey: AccountId([h; 32]),
                coldkey: AccountId([0; 32]),
                stake: 0,
                validator_permit: false,
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
            })
            .collect();
        Metagraph {
            netuid: 2,
            block: 100,
            neurons,
        }
    }

    #[test]
    fn the_owners_uid_gets_the_burn() {
        let mg = metagraph(&[9, 1, 2, 3]);
        let mut w = scores_to_weights(&[0.0, 0.5, 0.25, 0.0], 4);
        // The owner's hotkey sits at uid 3 here, not at the creation slot 0.
        assert_eq!(burn_for_owner(&mut w, &mg, &AccountId([3; 32])), Some(3));
        assert_eq!(w, vec![0.0, 0.5 * 0.2f32, 0.25 * 0.2f32, 0.8]);
        let emit = convert_weights_and_uids_for_emit(&[0, 1, 2, 3], &w).unwrap();
        assert_eq!(emit.uids, vec![1, 2, 3]);
        assert_eq!(
            emit.weights[2],
            u16::MAX,
            "the owner holds the largest weight"
        );
    }

    #[test]
    fn the_mode_picks_the_transaction() {
        assert_eq!(method_for(CommitRevealMode::Off), WeightsMethod::Set);
        assert_eq!(
            method_for(CommitRevealMode::V2 { reveal_period: 1 }),
            WeightsMethod::Commit
        );
        for version in [3, 4] {
            assert_eq!(
                method_for(CommitRevealMode::Timelocked {
                    version,
                    reveal_period: 1
                }),
                WeightsMethod::CommitTimelocked
            );
        }
    }

    #[test]
    fn an_owner_without_a_uid_leaves_the_weights_unburnt() {
        let mg = metagraph(&[1, 2]);
        let mut w = vec![0.5, 0.25];
        assert_eq!(burn_for_owner(&mut w, &mg, &AccountId([7; 32])), None);
        assert_eq!(w, vec![0.5, 0.25]);
    }
}
