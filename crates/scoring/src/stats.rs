//! Per-circuit response-time statistics (§5.2): the window of evaluation items and the minimum
//! and maximum response times that normalise a response in the incentive function.
//!
//! The window holds at most [`MAX_EVALUATION_ITEMS`] items, at most one per uid: a new item
//! for a uid replaces the old one **in place**, otherwise it is appended, and when the window
//! overflows the oldest positions are dropped.
//!
//! Over the verified items with a positive response time, sorted ascending (`R`):
//! * `minimum = clamp(min(R), 0, timeout)` when `|R| >= 2`, else `0.0`;
//! * `maximum = clamp(lower_median(R[-k:]), 0, timeout)` with `k = max(int(|R| * 0.05), 1)`
//!   when `|R| >= 2`, else [`CIRCUIT_TIMEOUT_SECONDS`] (60, not the circuit's timeout).
//!
//! The reference computes both with float32 torch tensors, so the results are float32 values
//! (returned here as the `f64` that holds them exactly).

use serde::{Deserialize, Serialize};

use crate::constants::{
    CIRCUIT_TIMEOUT_SECONDS, MAX_EVALUATION_ITEMS, MAXIMUM_SCORE_MEDIAN_SAMPLE,
};

/// One scored response in a circuit's window (`CircuitEvaluationItem`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvaluationItem {
    /// Miner uid.
    pub uid: u16,
    /// Response time in seconds (the circuit's maximum when unverified).
    pub response_time: f64,
    /// Proof size in bytes.
    pub proof_size: u64,
    /// Whether the proof verified.
    pub verified: bool,
    /// The miner's score when the item was recorded.
    pub score: f32,
    /// The circuit's minimum response time when the item was recorded.
    pub minimum_response_time: f64,
}

/// A circuit's evaluation window.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EvaluationWindow {
    items: Vec<EvaluationItem>,
}

fn clamp_f32(x: f32, timeout: f64) -> f64 {
    // torch.clamp on a float32 tensor: the bounds become float32 too.
    f64::from(x.max(0.0).min(timeout as f32))
}

impl EvaluationWindow {
    /// Rebuilds a window from stored items in window order; keeps the newest
    /// [`MAX_EVALUATION_ITEMS`] and, for a uid stored twice, the later entry in the earlier
    /// position (the result of replaying the updates).
    pub fn from_items(items: impl IntoIterator<Item = EvaluationItem>) -> Self {
        let mut window = Self::default();
        for item in items {
            window.update(item);
        }
        window
    }

    /// Records an item: replaces the same uid's item in place or appends, then keeps the last
    /// [`MAX_EVALUATION_ITEMS`] positions.
    pub fn update(&mut self, item: EvaluationItem) {
        if let Some(existing) = self.items.iter_mut().find(|e| e.uid == item.uid) {
            *existing = item;
        } else {
            self.items.push(item);
        }
        if self.items.len() > MAX_EVALUATION_ITEMS {
            let excess = self.items.len() - MAX_EVALUATION_ITEMS;
            self.items.drain(..excess);
        }
    }

    /// The items in window order.
    pub fn items(&self) -> &[EvaluationItem] {
        &self.items
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Ascending response times of verified items with a positive time.
    pub fn successful_response_times(&self) -> Vec<f64> {
        let mut times: Vec<f64> = self
            .items
            .iter()
            .filter(|i| i.verified && i.response_time > 0.0)
            .map(|i| i.response_time)
            .collect();
        times.sort_by(f64::total_cmp);
        times
    }

    /// The minimum response time in seconds, clamped to `[0, timeout]`.
    pub fn minimum_response_time(&self, timeout: f64) -> f64 {
        let times = self.successful_response_times();
        if times.len() < 2 {
            return 0.0;
        }
        // Sorted and float32 rounding is monotonic, so the first is the float32 minimum.
        clamp_f32(times[0] as f32, timeout)
    }

    /// The maximum response time in seconds: the lower median of the slowest 5 %, clamped to
    /// `[0, timeout]`.
    pub fn maximum_response_time(&self, timeout: f64) -> f64 {
        let times = self.successful_response_times();
        if times.len() < 2 {
            return CIRCUIT_TIMEOUT_SECONDS as f64;
        }
        let k = ((times.len() as f64 * MAXIMUM_SCORE_MEDIAN_SAMPLE) as usize).max(1);
        let slowest = &times[times.len() - k..];
        // torch.median returns the lower of the two middle values for an even count.
        let median = slowest[(k - 1) / 2];
        clamp_f32(median as f32, timeout)
    }

    /// Verified items over all items; `0.0` for an empty window.
    pub fn verification_ratio(&self) -> f64 {
        if self.items.is_empty() {
            return 0.0;
        }
        let verified = self.items.iter().filter(|i| i.verified).count();
        verified as f64 / self.items.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(uid: u16, rt: f64, verified: bool) -> EvaluationItem {
        EvaluationItem {
            uid,
            response_time: rt,
            proof_size: 100,
            verified,
            score: 0.0,
            minimum_response_time: 0.0,
        }
    }

    #[test]
    fn fewer_than_two_samples_give_the_defaults() {
        let mut w = EvaluationWindow::default();
        assert_eq!(w.minimum_response_time(60.0), 0.0);
        assert_eq!(
            w.maximum_response_time(30.0),
            60.0,
            "CIRCUIT_TIMEOUT_SECONDS, not the timeout"
        );
        w.update(item(1, 3.0, true));
        w.update(item(2, 4.0, false));
        w.update(item(3, 0.0, true)); // zero times are not samples
        assert_eq!(w.minimum_response_time(60.0), 0.0);
        assert_eq!(w.maximum_response_time(60.0), 60.0);
        assert!((w.verification_ratio() - 2.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn minimum_and_lower_median_of_slowest_five_percent() {
        let mut w = EvaluationWindow::default();
        // 40 verified samples 1..=40 s: k = int(40 * 0.05) = 2 -> lower median of [39, 40] = 39.
        for uid in 0..40u16 {
            w.update(item(uid, f64::from(uid) + 1.0, true));
        }
        assert_eq!(w.minimum_response_time(60.0), 1.0);
        assert_eq!(w.maximum_response_time(60.0), 39.0);
        // 60 samples: k = 3 -> median of [58, 59, 60] = 59.
        for uid in 40..60u16 {
            w.update(item(uid, f64::from(uid) + 1.0, true));
        }
        assert_eq!(w.maximum_response_time(60.0), 59.0);
        // Clamped to the timeout.
        assert_eq!(w.maximum_response_time(50.0), 50.0);
        // float32 rounding: 0.1 s becomes 0.10000000149011612.
        w.update(item(0, 0.1, true));
        assert_eq!(w.minimum_response_time(60.0), f64::from(0.1f32));
    }

    #[test]
    fn one_item_per_uid_replaced_in_place_and_window_bounded() {
        let mut w = EvaluationWindow::default();
        w.update(item(5, 1.0, true));
        w.update(item(6, 2.0, true));
        w.update(item(5, 9.0, false));
        assert_eq!(
            w.items()
                .iter()
                .map(|i| (i.uid, i.response_time))
                .collect::<Vec<_>>(),
            vec![(5, 9.0), (6, 2.0)]
        );
        let mut big = EvaluationWindow::default();
        for uid in 0..(MAX_EVALUATION_ITEMS as u16 + 10) {
            big.update(item(uid, 1.0, true));
        }
        assert_eq!(big.len(), MAX_EVALUATION_ITEMS);
        assert_eq!(big.items()[0].uid, 10);
        let rebuilt = EvaluationWindow::from_items(big.items().iter().copied());
        assert_eq!(rebuilt, big);
    }
}
