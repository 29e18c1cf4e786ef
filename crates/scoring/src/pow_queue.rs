//! The proof-of-weights queue and the batch application rules (§5.5, §5.10).
//!
//! Every scored response appends one [`PowItem`]. Scores change only when the queue length is
//! a non-zero multiple of 256 that has not been processed yet: then the **last** 256 items go
//! through the incentive function and their outputs overwrite the scores. Consequences the
//! reference has and this queue keeps:
//!
//! * scores move in steps of 256 responses;
//! * if a uid appears several times in one batch, the last occurrence wins, and every
//!   occurrence was computed from the same stale `previous_score`;
//! * the step is marked processed even when the batch fails (the reference logs and skips);
//! * the queue is trimmed only by the batched (1024) PoW path, which removes the **first**
//!   1024 items; after that the length may land on an already-processed step and a batch is
//!   skipped (quirk 7 of §10).
//!
//! The reference checks for a due batch only right after appending the response's own item,
//! so competition items appended in between can make the length jump over a multiple of 256;
//! callers keep that by calling [`PowQueue::due_batch`] only after a response item.

use serde::{Deserialize, Serialize};

use crate::constants::{BATCHED_POW_BATCH_SIZE, SINGLE_POW_BATCH_SIZE};
use crate::incentive::BatchOutput;
use crate::pow_item::{PowItem, pad_items, score_from_scaled};

/// A batch that is due for processing.
#[derive(Debug, Clone, PartialEq)]
pub struct DueBatch {
    /// `len(queue) >> 8` when the batch became due; pass it to [`PowQueue::mark_processed`].
    pub step: u64,
    /// The last 256 items of the queue.
    pub items: Vec<PowItem>,
}

/// The validator's queue of score updates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PowQueue {
    items: Vec<PowItem>,
    last_processed_step: Option<u64>,
}

impl PowQueue {
    /// Rebuilds a queue from stored state.
    pub fn from_parts(items: Vec<PowItem>, last_processed_step: Option<u64>) -> Self {
        Self {
            items,
            last_processed_step,
        }
    }

    /// Appends an item.
    pub fn push(&mut self, item: PowItem) {
        self.items.push(item);
    }

    /// Number of queued items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The queued items, oldest first.
    pub fn items(&self) -> &[PowItem] {
        &self.items
    }

    /// The last processed step (`None` before the first batch: the reference's `-1`).
    pub fn last_processed_step(&self) -> Option<u64> {
        self.last_processed_step
    }

    /// The batch to process now, if any: the length is a non-zero multiple of 256 and its step
    /// (`len >> 8`) differs from the last processed one.
    pub fn due_batch(&self) -> Option<DueBatch> {
        let len = self.items.len();
        if len < SINGLE_POW_BATCH_SIZE || !len.is_multiple_of(SINGLE_POW_BATCH_SIZE) {
            return None;
        }
        let step = (len >> 8) as u64;
        if self.last_processed_step == Some(step) {
            return None;
        }
        Some(DueBatch {
            step,
            items: self.items[len - SINGLE_POW_BATCH_SIZE..].to_vec(),
        })
    }

    /// Records that the batch of `step` was handled (successfully or not).
    pub fn mark_processed(&mut self, step: u64) {
        self.last_processed_step = Some(step);
    }

    /// The batched-PoW path (§5.10): when at least 1024 items are queued, removes the first
    /// 1024 and returns them (already exactly 1024, so padding is a no-op). `None` otherwise.
    pub fn take_batched(&mut self) -> Option<Vec<PowItem>> {
        if self.items.len() < BATCHED_POW_BATCH_SIZE {
            return None;
        }
        let taken: Vec<PowItem> = self.items.drain(..BATCHED_POW_BATCH_SIZE).collect();
        Some(pad_items(&taken, BATCHED_POW_BATCH_SIZE))
    }

    /// `remove_processed_items(count)`: drops the first `count` items.
    pub fn remove_front(&mut self, count: usize) {
        let count = count.min(self.items.len());
        self.items.drain(..count);
    }
}

/// Writes a batch's outputs into the score vector (`_process_witness_results`).
///
/// Each output score `w` becomes the float32 `float32(w) / 1e8`. Uids outside
/// `0..scores.len()` (padding's `-1` among them) are skipped. Later entries overwrite earlier
/// ones for the same uid. Returns the `(uid, new score)` pairs applied, in batch order.
pub fn apply_batch_output(scores: &mut [f32], output: &BatchOutput) -> Vec<(u16, f32)> {
    let mut applied = Vec::new();
    for (&uid, &w) in output.miner_uid.iter().zip(&output.new_score) {
        let Ok(index) = usize::try_from(uid) else {
            continue;
        };
        if index >= scores.len() {
            continue;
        }
        let score = score_from_scaled(w);
        scores[index] = score;
        // index < scores.len() <= u16 range in practice; a longer vector would still index
        // correctly, only the reported uid saturates.
        applied.push((u16::try_from(index).unwrap_or(u16::MAX), score));
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit_inputs::CircuitInputs;
    use crate::constants::POW_NONCE_SLOTS;

    fn item(uid: i64, prev: f32) -> PowItem {
        PowItem {
            maximum_score: 1.0 / 256.0,
            previous_score: prev,
            verified: true,
            proof_size: 100,
            response_time: 5.0,
            competition: 0.0,
            maximum_response_time: 15.0,
            minimum_response_time: 5.0,
            block_number: 1,
            validator_uid: 0,
            miner_uid: uid,
        }
    }

    #[test]
    fn batches_are_due_every_256_items_once() {
        let mut q = PowQueue::default();
        for i in 0..255 {
            q.push(item(i % 10, 0.0));
            assert!(q.due_batch().is_none(), "not due at {}", q.len());
        }
        q.push(item(7, 0.0));
        let batch = q.due_batch().unwrap();
        assert_eq!(batch.step, 1);
        assert_eq!(batch.items.len(), 256);
        assert_eq!(batch.items[255].miner_uid, 7);
        q.mark_processed(batch.step);
        assert!(q.due_batch().is_none());
        for _ in 0..256 {
            q.push(item(1, 0.0));
        }
        assert_eq!(q.due_batch().unwrap().step, 2);
    }

    #[test]
    fn batched_path_trims_the_front_and_can_skip_a_step() {
        let mut q = PowQueue::default();
        for i in 0..1280 {
            q.push(item(i, 0.0));
        }
        q.mark_processed(5);
        let taken = q.take_batched().unwrap();
        assert_eq!(taken.len(), 1024);
        assert_eq!(taken[0].miner_uid, 0);
        assert_eq!(q.len(), 256);
        assert_eq!(q.items()[0].miner_uid, 1024);
        // 256 left is step 1: not processed yet, so due.
        assert_eq!(q.due_batch().unwrap().step, 1);
        q.mark_processed(1);
        assert!(q.take_batched().is_none(), "fewer than 1024 queued");
        q.remove_front(10);
        assert_eq!(q.len(), 246);
        // The step is only the length: a trimmed queue whose length lands on the last
        // processed step is not processed, although these items never were (§10.7).
        let skipped = PowQueue::from_parts(vec![item(0, 0.0); 512], Some(2));
        assert!(skipped.due_batch().is_none());
    }

    #[test]
    fn last_occurrence_wins_with_stale_previous_score() {
        // Two updates of uid 3 in one batch, both computed from previous score 0.
        let mut items = vec![PowItem::empty(); 256];
        items[10] = item(3, 0.0);
        let mut slower = item(3, 0.0);
        slower.response_time = 10.0;
        items[200] = slower;
        items[50] = item(300, 0.0); // out of range of a 256-long score vector
        let inputs = CircuitInputs::from_pow_items(&items, 256, &[0; POW_NONCE_SLOTS]).unwrap();
        let out = inputs.evaluate().unwrap();
        assert_eq!(out.new_score[10], 39_062);
        assert_eq!(out.new_score[200], 19_531);
        let mut scores = vec![0.0f32; 256];
        let applied = apply_batch_output(&mut scores, &out);
        assert_eq!(
            applied,
            vec![
                (3, score_from_scaled(39_062)),
                (3, score_from_scaled(19_531))
            ]
        );
        assert_eq!(scores[3], score_from_scaled(19_531));
        assert_eq!(scores.iter().filter(|&&s| s != 0.0).count(), 1);
    }
}
