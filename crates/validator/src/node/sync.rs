//! Following the chain: new blocks, and the metagraph re-read periodically and at each epoch.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use omron_chain::{Chain, epoch_index};
use omron_keys::AccountId;
use tokio::time::{Instant, sleep_until};

use super::Shared;
use crate::config::ValidatorConfig;
use crate::error::NodeError;
use crate::snapshot::Snapshot;

/// Delay before resubscribing after the block stream broke.
const RESUBSCRIBE_DELAY: Duration = Duration::from_secs(2);

/// Reads the metagraph and hyperparameters and finds the validator's uid.
pub(super) async fn read_snapshot(
    chain: &dyn Chain,
    config: &ValidatorConfig,
    hotkey: &AccountId,
) -> Result<Snapshot, NodeError> {
    let metagraph = chain.metagraph(config.netuid).await?;
    let hyperparameters = chain.hyperparameters(config.netuid).await?;
    let Some(me) = metagraph.by_hotkey(hotkey) else {
        return Err(NodeError::NotRegistered {
            hotkey: hotkey.to_ss58(),
            netuid: config.netuid,
        });
    };
    let uid = me.uid;
    Ok(Snapshot::new(
        metagraph,
        hyperparameters,
        uid,
        config.allow_private_axons,
    ))
}

/// Every uid's hotkey, for [`crate::store::Store::sync_hotkeys`].
pub(super) fn hotkeys(snapshot: &Snapshot) -> Vec<(u16, String)> {
    snapshot
        .metagraph
        .neurons
        .iter()
        .map(|n| (n.uid, n.hotkey.to_ss58()))
        .collect()
}

/// What woke the sync loop.
enum Event {
    /// A new block.
    Block(u64),
    /// The block stream failed.
    Broken(String),
    /// The periodic sync is due.
    Timer,
}

/// Re-reads the subnet and publishes the new snapshot.
async fn sync_once(shared: &Arc<Shared>) -> Result<(), NodeError> {
    let snapshot = read_snapshot(&*shared.chain, &shared.config, &shared.hotkey.public()).await?;
    let old_uid = shared.snapshot().validator_uid;
    if snapshot.validator_uid != old_uid {
        tracing::warn!(
            old_uid,
            uid = snapshot.validator_uid,
            "the validator's uid changed (re-registered)"
        );
    }
    let pairs = hotkeys(&snapshot);
    let reset = shared.with_store(move |s| s.sync_hotkeys(&pairs)).await?;
    for uid in &reset {
        shared.metrics.set_score(*uid, 0.0);
    }
    shared.metrics.set_queryable(snapshot.queryable.len());
    tracing::info!(
        block = snapshot.metagraph.block,
        neurons = snapshot.n(),
        queryable = snapshot.queryable.len(),
        reset = ?reset,
        "metagraph synced"
    );
    shared.snapshot.send_replace(Arc::new(snapshot));
    Ok(())
}

/// Follows blocks and syncs the metagraph every `sync_interval` and at every new epoch.
pub(super) async fn run(shared: Arc<Shared>) {
    let mut stop = shared.stop.clone();
    let netuid = shared.config.netuid;
    let epoch_of = |shared: &Shared, block: u64| {
        let tempo = shared.snapshot().hyperparameters.tempo;
        (tempo > 0).then(|| epoch_index(netuid, tempo, block))
    };
    let mut last_epoch = epoch_of(&shared, shared.block());
    let mut next_sync = Instant::now() + shared.config.sync_interval;
    let mut blocks = None;
    loop {
        if shared.stopping() {
            return;
        }
        let stream = match &mut blocks {
            Some(s) => s,
            None => match shared.chain.subscribe_blocks().await {
                Ok(s) => blocks.insert(s),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot subscribe to blocks; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(RESUBSCRIBE_DELAY) => {}
                        _ = stop.changed() => return,
                    }
                    continue;
                }
            },
        };
        let event = tokio::select! {
            item = stream.next() => match item {
                Some(Ok(block)) => Event::Block(block),
                Some(Err(e)) => Event::Broken(e.to_string()),
                None => Event::Broken("the stream ended".into()),
            },
            _ = sleep_until(next_sync) => Event::Timer,
            _ = stop.changed() => return,
        };
        let due = match event {
            Event::Block(block) => {
                shared.block.send_replace(block);
                shared.metrics.set_block(block);
                if let Some(h) = shared.chain.connection_health() {
                    shared.metrics.set_chain_health(h.reconnects, h.stalls);
                }
                let epoch = epoch_of(&shared, block);
                let new_epoch = epoch != last_epoch;
                if new_epoch {
                    tracing::debug!(block, epoch = ?epoch, "new epoch");
                    last_epoch = epoch;
                }
                new_epoch
            }
            Event::Broken(reason) => {
                tracing::warn!(%reason, "block stream broke; resubscribing");
                blocks = None;
                tokio::select! {
                    _ = tokio::time::sleep(RESUBSCRIBE_DELAY) => {}
                    _ = stop.changed() => return,
                }
                false
            }
            Event::Timer => true,
        };
        if due {
            next_sync = Instant::now() + shared.config.sync_interval;
            match sync_once(&shared).await {
                Ok(()) => {}
                Err(e @ (NodeError::NotRegistered { .. } | NodeError::Store(_))) => {
                    shared.fail(e);
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "metagraph sync failed; keeping the last one"),
            }
        }
    }
}
