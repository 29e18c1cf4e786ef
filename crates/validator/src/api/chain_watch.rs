//! What the dashboard says about the chain beyond the current block: how long ago the last
//! block arrived, and how the subnet takes weights (cached, since on a real network asking is
//! a round trip and the page polls every few seconds).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use omron_chain::CommitRevealMode;
use serde::{Deserialize, Serialize};

use crate::shared::Shared;

/// How long a read of the weights mode is reused.
const MODE_TTL: Duration = Duration::from_secs(60);
/// How long the dashboard waits for the chain to say the weights mode.
const MODE_TIMEOUT: Duration = Duration::from_secs(5);
/// A last block older than this reads as `lagging` (five finney blocks).
pub(super) const LAGGING_AFTER: Duration = Duration::from_secs(60);
/// A last block older than this reads as `stalled`; the chain client's own watchdog
/// reconnects long before on finney (5 block times), so this means the reconnects failed.
pub(super) const STALLED_AFTER: Duration = Duration::from_secs(180);

/// How the subnet takes weights, as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightsMode {
    /// `direct` (`set_weights`), `commit-reveal v2`, `commit-reveal v3`/`v4` (timelocked),
    /// or `unknown` when the chain could not be read.
    pub mode: String,
    /// Epochs between a commit and its reveal (commit-reveal only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reveal_period_epochs: Option<u64>,
    /// Why the mode is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl WeightsMode {
    fn of(mode: CommitRevealMode) -> Self {
        let (mode, reveal_period_epochs) = match mode {
            CommitRevealMode::Off => ("direct".to_owned(), None),
            CommitRevealMode::V2 { reveal_period } => {
                ("commit-reveal v2".to_owned(), Some(reveal_period))
            }
            CommitRevealMode::Timelocked {
                version,
                reveal_period,
            } => (format!("commit-reveal v{version}"), Some(reveal_period)),
        };
        Self {
            mode,
            reveal_period_epochs,
            error: None,
        }
    }

    fn unknown(error: String) -> Self {
        Self {
            mode: "unknown".into(),
            reveal_period_epochs: None,
            error: Some(error),
        }
    }
}

/// Follows the validator's block watch and caches the weights mode.
pub(crate) struct ChainWatch {
    /// The latest block and when it was first seen.
    last_block: Mutex<(u64, Instant)>,
    mode: tokio::sync::Mutex<Option<(Instant, WeightsMode)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain values with no invariant between them: a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ChainWatch {
    /// Starts watching `shared`'s blocks until the node stops.
    pub(crate) fn start(shared: &Arc<Shared>) -> Arc<Self> {
        let watch = Arc::new(Self {
            last_block: Mutex::new((shared.block(), Instant::now())),
            mode: tokio::sync::Mutex::new(None),
        });
        let mut blocks = shared.block.subscribe();
        let mut stop = shared.stop.clone();
        let me = watch.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = blocks.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        let block = *blocks.borrow_and_update();
                        me.saw(block, Instant::now());
                    }
                    changed = stop.changed() => {
                        if changed.is_err() || *stop.borrow() {
                            return;
                        }
                    }
                }
            }
        });
        watch
    }

    /// Records `block` seen at `at` (the same block again does not reset its age).
    fn saw(&self, block: u64, at: Instant) {
        let mut last = lock(&self.last_block);
        if block != last.0 {
            *last = (block, at);
        }
    }

    /// Seconds since the latest block arrived.
    pub(crate) fn last_block_age(&self) -> Duration {
        lock(&self.last_block).1.elapsed()
    }

    /// The weights mode, read from the chain at most once per [`MODE_TTL`].
    pub(crate) async fn weights_mode(&self, shared: &Shared) -> WeightsMode {
        let mut cached = self.mode.lock().await;
        if let Some((at, mode)) = cached.as_ref()
            && at.elapsed() < MODE_TTL
        {
            return mode.clone();
        }
        let read = tokio::time::timeout(
            MODE_TIMEOUT,
            shared.chain.commit_reveal_mode(shared.config.netuid),
        )
        .await;
        let mode = match read {
            Ok(Ok(mode)) => WeightsMode::of(mode),
            Ok(Err(e)) => WeightsMode::unknown(e.to_string()),
            Err(_) => WeightsMode::unknown(format!(
                "the chain did not answer within {} s",
                MODE_TIMEOUT.as_secs()
            )),
        };
        *cached = Some((Instant::now(), mode.clone()));
        mode
    }
}

/// `ok`, `lagging` or `stalled`, from the age of the last block.
pub(super) fn connection_state(last_block_age: Duration) -> &'static str {
    if last_block_age >= STALLED_AFTER {
        "stalled"
    } else if last_block_age >= LAGGING_AFTER {
        "lagging"
    } else {
        "ok"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_age_restarts_only_at_a_new_block() {
        let start = Instant::now();
        let watch = ChainWatch {
            last_block: Mutex::new((10, start)),
            mode: tokio::sync::Mutex::new(None),
        };
        watch.saw(10, start + Duration::from_secs(5));
        assert_eq!(lock(&watch.last_block).1, start, "same block: age kept");
        watch.saw(11, start + Duration::from_secs(6));
        assert_eq!(
            *lock(&watch.last_block),
            (11, start + Duration::from_secs(6))
        );
    }

    #[test]
    fn modes_and_states_read_as_documented() {
        assert_eq!(WeightsMode::of(CommitRevealMode::Off).mode, "direct");
        let v2 = WeightsMode::of(CommitRevealMode::V2 { reveal_period: 1 });
        assert_eq!(
            (v2.mode.as_str(), v2.reveal_period_epochs),
            ("commit-reveal v2", Some(1))
        );
        let v4 = WeightsMode::of(CommitRevealMode::Timelocked {
            version: 4,
            reveal_period: 2,
        });
        assert_eq!(v4.mode, "commit-reveal v4");
        assert_eq!(connection_state(Duration::from_secs(1)), "ok");
        assert_eq!(connection_state(LAGGING_AFTER), "lagging");
        assert_eq!(connection_state(STALLED_AFTER), "stalled");
    }
}
