//! Per-miner history of the scoreboard and its sparklines (`▁▂▃▄▅▆▇█`), for the live view.

use std::collections::{BTreeMap, VecDeque};

use super::SummaryMiner;

/// The eight block elements, lowest first.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Eighths of a cell, for horizontal share bars (index k is k/8 of a cell; 0 is empty).
const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/// Draws `values` (oldest first) as exactly `width` cells: the newest value sits at the right
/// edge, older ones to its left, and cells without a value are spaces. `max` is drawn as a full
/// block and 0 as the lowest one; values are clamped to `[0, max]`, and anything not finite
/// reads as 0 (a sparkline must never panic on what a node reported).
pub(crate) fn sparkline(values: &[f64], max: f64, width: usize) -> String {
    let shown = &values[values.len().saturating_sub(width)..];
    let mut out = " ".repeat(width - shown.len());
    for &v in shown {
        let level = if max.is_finite() && max > 0.0 && v.is_finite() {
            // Rounded, so a value near the top is drawn at the top.
            ((v.clamp(0.0, max) / max) * 7.0).round() as usize
        } else {
            0
        };
        out.push(BARS[level.min(7)]);
    }
    out
}

/// A bar of `width` cells filled to `share` (0 to 1), in eighths of a cell, padded with spaces.
pub(crate) fn share_bar(share: f64, width: usize) -> String {
    let share = if share.is_finite() {
        share.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (share * (width * 8) as f64).round() as usize;
    let mut out = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        out.push(EIGHTHS[eighths % 8]);
    }
    let used = out.chars().count();
    out.push_str(&" ".repeat(width.saturating_sub(used)));
    out
}

/// One refresh of one miner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    /// The validator's score.
    pub(crate) score: f64,
    /// The chain's incentive.
    pub(crate) incentive: f64,
}

/// The last `capacity` samples of every miner, by uid.
#[derive(Debug, Clone)]
pub(crate) struct History {
    capacity: usize,
    miners: BTreeMap<u16, VecDeque<Sample>>,
}

impl History {
    /// An empty history keeping `capacity` refreshes (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            miners: BTreeMap::new(),
        }
    }

    /// Refreshes kept per miner.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Appends one refresh, dropping the oldest sample past the capacity.
    pub(crate) fn record(&mut self, lines: &[SummaryMiner]) {
        for m in lines {
            let samples = self.miners.entry(m.uid).or_default();
            if samples.len() == self.capacity {
                samples.pop_front();
            }
            samples.push_back(Sample {
                score: m.score,
                incentive: m.incentive,
            });
        }
    }

    /// The most refreshes any miner has (for the footer).
    pub(crate) fn depth(&self) -> usize {
        self.miners.values().map(VecDeque::len).max().unwrap_or(0)
    }

    /// One field of `uid`'s samples, oldest first (empty for a miner never seen).
    pub(crate) fn series(&self, uid: u16, field: fn(&Sample) -> f64) -> Vec<f64> {
        self.miners
            .get(&uid)
            .map(|s| s.iter().map(field).collect())
            .unwrap_or_default()
    }

    /// The largest value of one field over every miner's last `width` samples: the common
    /// scale of the sparklines, so that miners can be compared line against line.
    pub(crate) fn max(&self, width: usize, field: fn(&Sample) -> f64) -> f64 {
        self.miners
            .values()
            .flat_map(|s| s.iter().skip(s.len().saturating_sub(width)).map(field))
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::localnet::nodes::MinerKind;

    fn miner(uid: u16, score: f64, incentive: f64) -> SummaryMiner {
        SummaryMiner {
            uid,
            hotkey: String::new(),
            kind: MinerKind::Honest,
            requests: 0,
            verified: 0,
            mean_response_ms: 0.0,
            score,
            weight: 0.0,
            incentive,
            emission: 0,
            mean_proof_bytes: 0.0,
        }
    }

    #[test]
    fn sparkline_scales_to_max_and_keeps_the_newest_at_the_right() {
        assert_eq!(sparkline(&[0.0, 0.5, 1.0], 1.0, 3), "▁▅█");
        let ramp: Vec<f64> = (0..8).map(f64::from).collect();
        assert_eq!(sparkline(&ramp, 7.0, 8), "▁▂▃▄▅▆▇█");
        // Fewer samples than cells: padded on the left.
        assert_eq!(sparkline(&[1.0, 2.0], 2.0, 5), "   ▅█");
        // More samples than cells: the oldest fall off.
        assert_eq!(sparkline(&[2.0, 2.0, 0.0, 2.0], 2.0, 2), "▁█");
        assert_eq!(sparkline(&[], 1.0, 0), "");
    }

    #[test]
    fn sparkline_survives_zero_scales_and_bad_values() {
        assert_eq!(sparkline(&[0.0, 0.0], 0.0, 2), "▁▁");
        assert_eq!(sparkline(&[f64::NAN, -3.0, 9.0], 1.0, 3), "▁▁█");
        assert_eq!(sparkline(&[1.0], f64::INFINITY, 1), "▁");
    }

    #[test]
    fn share_bars_fill_in_eighths() {
        assert_eq!(share_bar(1.0, 4), "████");
        assert_eq!(share_bar(0.0, 4), "    ");
        assert_eq!(share_bar(0.5, 4), "██  ");
        // 0.53 of 10 cells is 42.4 eighths: five full cells and two eighths.
        assert_eq!(share_bar(0.53, 10), "█████▎    ");
        assert_eq!(share_bar(f64::NAN, 3), "   ");
        assert_eq!(share_bar(7.0, 2), "██");
        for s in [0.0, 0.01, 0.3, 0.99, 1.0] {
            assert_eq!(share_bar(s, 10).chars().count(), 10, "{s}");
        }
    }

    #[test]
    fn history_keeps_the_last_refreshes_per_miner() {
        let mut h = History::new(3);
        for i in 0..5 {
            let i = f64::from(i);
            h.record(&[miner(1, i, 0.1 * i), miner(2, 2.0 * i, 0.0)]);
        }
        assert_eq!(h.depth(), 3);
        assert_eq!(h.series(1, |s| s.score), [2.0, 3.0, 4.0]);
        assert_eq!(h.series(2, |s| s.incentive), [0.0, 0.0, 0.0]);
        assert!(h.series(9, |s| s.score).is_empty());
        assert_eq!(h.max(3, |s| s.score), 8.0);
        // Only the last sample of each miner: 4 and 8.
        assert_eq!(h.max(1, |s| s.score), 8.0);
        assert!((h.max(2, |s| s.incentive) - 0.4).abs() < 1e-12);
    }
}
