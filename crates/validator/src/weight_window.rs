//! When the validator may set weights (reference §5.8), scaled to the subnet's tempo.
//!
//! The reference sets weights only when at least `WEIGHT_RATE_LIMIT` (100) blocks passed since
//! its last update **and** at most `WEIGHT_UPDATE_BUFFER` (15) blocks remain in the epoch. Those
//! constants assume the real subnet's 360-block tempo; on a short-tempo local subnet the buffer
//! would cover the whole epoch and the rate limit would skip several epochs. So both are
//! capped by what the tempo allows:
//!
//! ```text
//! buffer     = min(15, max(1, tempo / 4))
//! rate_limit = max(weights_rate_limit, min(100, tempo - buffer))
//! ```
//!
//! For tempo 360 this is exactly the reference (15 and 100). The rate limit stays above the
//! buffer, so weights are set at most once per epoch, and at most `tempo - buffer` blocks, so
//! a validator that set weights in one epoch's window (or revealed at the start of the next)
//! can set them again in the next window. It never drops below the chain's own
//! `weights_rate_limit`, which the chain enforces anyway. Tempo 20 with the dev rate limit of
//! 5 gives a buffer of 5 and a rate limit of 15.

use omron_chain::Hyperparameters;
use omron_scoring::constants::{WEIGHT_RATE_LIMIT, WEIGHT_UPDATE_BUFFER};

/// The two conditions of the weight window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightWindow {
    /// Blocks that must have passed since the validator's last update.
    pub rate_limit: u64,
    /// The window opens when at most this many blocks remain before the next epoch.
    pub buffer: u64,
}

impl WeightWindow {
    /// The reference's constants (100 and 15).
    pub const REFERENCE: WeightWindow = WeightWindow {
        rate_limit: WEIGHT_RATE_LIMIT,
        buffer: WEIGHT_UPDATE_BUFFER,
    };

    /// The window for a subnet with these hyperparameters (see the module doc).
    pub fn for_subnet(hyperparameters: &Hyperparameters) -> Self {
        let tempo = u64::from(hyperparameters.tempo);
        let buffer = WEIGHT_UPDATE_BUFFER.min((tempo / 4).max(1));
        let rate_limit = hyperparameters
            .weights_rate_limit
            .max(WEIGHT_RATE_LIMIT.min(tempo.saturating_sub(buffer)));
        Self { rate_limit, buffer }
    }

    /// Whether weights may be set now.
    pub fn is_open(&self, blocks_since_last_update: u64, blocks_until_next_epoch: u64) -> bool {
        blocks_since_last_update >= self.rate_limit && blocks_until_next_epoch <= self.buffer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hyper(tempo: u16, weights_rate_limit: u64) -> Hyperparameters {
        Hyperparameters {
            tempo,
            weights_rate_limit,
            ..Hyperparameters::default()
        }
    }

    #[test]
    fn the_real_tempo_gives_the_reference_window() {
        let w = WeightWindow::for_subnet(&Hyperparameters::default());
        assert_eq!(w, WeightWindow::REFERENCE);
        for since in [0, 99, 100, 101, 500] {
            for until in [0, 14, 15, 16, 360] {
                assert_eq!(
                    w.is_open(since, until),
                    omron_scoring::in_weight_window(since, until),
                    "since {since}, until {until}"
                );
            }
        }
    }

    #[test]
    fn short_tempos_scale_the_window() {
        assert_eq!(
            WeightWindow::for_subnet(&hyper(20, 5)),
            WeightWindow {
                rate_limit: 15,
                buffer: 5
            }
        );
        assert_eq!(
            WeightWindow::for_subnet(&hyper(10, 0)),
            WeightWindow {
                rate_limit: 8,
                buffer: 2
            }
        );
        assert_eq!(
            WeightWindow::for_subnet(&hyper(2, 0)),
            WeightWindow {
                rate_limit: 1,
                buffer: 1
            }
        );
        // The chain's own rate limit is never undercut.
        assert_eq!(WeightWindow::for_subnet(&hyper(20, 50)).rate_limit, 50);
        // A 100-block epoch with the default rate limit: the chain's 100 wins.
        assert_eq!(WeightWindow::for_subnet(&hyper(99, 100)).rate_limit, 100);
    }

    #[test]
    fn one_set_per_epoch_and_every_epoch_reachable() {
        // Walk many epochs of a tempo-20 subnet setting weights whenever the window is open
        // (the chain's schedule: tempo - (block + netuid + 1) % (tempo + 1)).
        for tempo in [4u16, 10, 20, 50, 360] {
            let w = WeightWindow::for_subnet(&hyper(tempo, 1));
            let period = u64::from(tempo) + 1;
            let mut last_update = 0u64;
            let mut sets_per_epoch = std::collections::BTreeMap::<u64, u32>::new();
            for block in 1..period * 30 {
                let until = omron_chain::blocks_until_next_epoch(1, tempo, block);
                let epoch = omron_chain::epoch_index(1, tempo, block);
                if w.is_open(block - last_update, until) {
                    last_update = block;
                    *sets_per_epoch.entry(epoch).or_default() += 1;
                }
            }
            assert!(
                sets_per_epoch.values().all(|&n| n == 1),
                "tempo {tempo}: {sets_per_epoch:?}"
            );
            let missed = (1..29).filter(|e| !sets_per_epoch.contains_key(e)).count();
            assert_eq!(missed, 0, "tempo {tempo}: an epoch without weights");
        }
    }
}
