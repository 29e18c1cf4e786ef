//! Setting weights (reference §5.8): at every new block, reveal a due commit, and inside the
//! weight window turn the scores into `u16` weights and set them, or commit them when the
//! subnet uses commit-reveal. Every attempt is recorded in the store's weights history.
//!
//! Commit-reveal: the commit is `weights_commit_hash(hotkey, netuid, uids, weights, salt,
//! version_key)` with 8 random `u16` salt words; uids, weights and salt are kept in the store
//! so the reveal survives a restart. The reveal is sent once the chain's epoch reaches
//! `epoch(commit block) + commit_reveal_period` (retried while the chain says it is too early);
//! a commit whose reveal epoch has passed is recorded as failed.
//!
//! At most [`ATTEMPTS_PER_EPOCH`] attempts per epoch: a refused transaction is retried at the
//! next block of the window, but not forever.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use omron_chain::{ChainError, PalletError, epoch_index, weights_commit_hash};
use omron_scoring::{convert_weights_and_uids_for_emit, scores_to_weights};
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
    let weights = scores_to_weights(&scores, n);
    let uids: Vec<u16> = (0..n).filter_map(|u| u16::try_from(u).ok()).collect();
    let emit = convert_weights_and_uids_for_emit(&uids, &weights)?;
    if emit.is_empty() {
        tracing::info!(block, "no miner has a score yet; no weights to set");
        return Ok(());
    }
    let commit_reveal = hyper.commit_reveal_weights_enabled;
    let version_key = shared.config.weights_version;
    let (created_at_ms, _) = now();
    let record = WeightsRecord {
        block,
        uids: emit.uids.clone(),
        weights: emit.weights.clone(),
        version_key,
        commit_reveal,
        outcome: TxOutcome::Pending,
        created_at_ms,
    };
    let id = shared
        .with_store(move |s| s.record_weights(&record))
        .await?;
    if commit_reveal {
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
        match result {
            Ok(()) => {
                let commit = PendingCommit {
                    record_id: id,
                    uids: emit.uids.clone(),
                    weights: emit.weights.clone(),
                    salt,
                    version_key,
                    commit_block: block,
                    reveal_epoch: epoch + hyper.commit_reveal_period,
                };
                shared
                    .with_store(move |s| s.write(|w| w.add_pending_commit(&commit)))
                    .await?;
                shared.metrics.weights(WeightsMethod::Commit, true, now().1);
                tracing::info!(
                    block,
                    uids = emit.uids.len(),
                    reveal_epoch = epoch + hyper.commit_reveal_period,
                    "weights committed"
                );
            }
            Err(e) => fail(shared, id, WeightsMethod::Commit, block, &e).await?,
        }
    } else {
        match shared
            .chain
            .set_weights(
                &shared.hotkey,
                netuid,
                &emit.uids,
                &emit.weights,
                version_key,
            )
            .await
        {
            Ok(()) => {
                let outcome = TxOutcome::Included {
                    tx_hash: String::new(),
                };
                shared
                    .with_store(move |s| s.set_weights_outcome(id, &outcome))
                    .await?;
                shared.metrics.weights(WeightsMethod::Set, true, now().1);
                tracing::info!(block, uids = emit.uids.len(), weights = ?emit.weights, "weights set");
            }
            Err(e) => fail(shared, id, WeightsMethod::Set, block, &e).await?,
        }
    }
    Ok(())
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
