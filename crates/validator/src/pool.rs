//! The request pool's bookkeeping (reference §1.4, `maintain_request_pool`): at most
//! `concurrency` requests in flight, each queryable uid queried at most once per round.
//!
//! A uid enters the round's *processed* set when its request ends (success or failure); the
//! round restarts, clearing that set, once every queryable uid is processed or in flight.
//! Candidates are taken in ascending uid order, skipping processed and in-flight uids. This
//! type is the pure logic; the node drives it and owns the tasks.
//!
//! Unlike the reference, a round does not wait for requests still in flight: there, one miner
//! that never answers holds every round for its whole timeout, so an honest miner is asked
//! once per timeout (3 requests in 130 s with a 60 s timeout) and a score batch takes hours.
//! Here the straggler keeps its one request in flight (never two at once), misses the rounds
//! that pass meanwhile, and is asked again in the round in which its request ends (a request
//! from an earlier round does not count for the current one); every other uid is asked once
//! per round.

use std::collections::{BTreeMap, BTreeSet};

/// The state of the current round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundTracker {
    processed: BTreeSet<u16>,
    /// Uids in flight, with the round their request was taken in.
    active: BTreeMap<u16, u64>,
    rounds_completed: u64,
}

impl RoundTracker {
    /// A fresh tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Clears the processed set when the round is complete: every queryable uid is processed
    /// or in flight, and at least one is processed (the reference's `update_processed_uids`
    /// waits until all are processed). Returns whether it did.
    pub fn maybe_start_new_round(&mut self, queryable: &[u16]) -> bool {
        let covered = queryable
            .iter()
            .all(|uid| self.processed.contains(uid) || self.active.contains_key(uid));
        if !self.processed.is_empty() && covered {
            self.processed.clear();
            self.rounds_completed += 1;
            true
        } else {
            false
        }
    }

    /// Up to `concurrency - in_flight` uids to query now: queryable, not processed in this
    /// round, not in flight; ascending. Marks them in flight.
    pub fn take(&mut self, queryable: &[u16], concurrency: usize) -> Vec<u16> {
        let slots = concurrency.saturating_sub(self.active.len());
        let picked: Vec<u16> = queryable
            .iter()
            .copied()
            .filter(|uid| !self.processed.contains(uid) && !self.active.contains_key(uid))
            .take(slots)
            .collect();
        let round = self.rounds_completed;
        self.active.extend(picked.iter().map(|&uid| (uid, round)));
        picked
    }

    /// Records that `uid`'s request ended (whatever its outcome).
    pub fn finish(&mut self, uid: u16) {
        // A request taken in an earlier round does not count for this one: a uid that was
        // still in flight when the round turned is asked in this round too.
        if self.active.remove(&uid) == Some(self.rounds_completed) {
            self.processed.insert(uid);
        }
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> usize {
        self.active.len()
    }

    /// Uids done in this round.
    pub fn processed(&self) -> usize {
        self.processed.len()
    }

    /// Rounds completed since the tracker was created.
    pub fn rounds_completed(&self) -> u64 {
        self.rounds_completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_concurrency_in_flight_and_each_uid_once_per_round() {
        let queryable: Vec<u16> = (1..=5).collect();
        let mut t = RoundTracker::new();
        assert_eq!(t.take(&queryable, 2), vec![1, 2]);
        assert!(t.take(&queryable, 2).is_empty(), "both slots busy");
        t.finish(2);
        assert_eq!(t.take(&queryable, 2), vec![3], "2 is done for this round");
        t.finish(1);
        t.finish(3);
        assert_eq!(t.take(&queryable, 2), vec![4, 5]);
        t.finish(4);
        assert!(
            t.maybe_start_new_round(&queryable),
            "5 still in flight does not hold the round"
        );
        assert!(!t.maybe_start_new_round(&queryable), "nothing done yet");
        assert_eq!(t.rounds_completed(), 1);
        assert_eq!(t.take(&queryable, 2), vec![1], "5 holds the other slot");
        t.finish(5);
        assert_eq!(
            t.take(&queryable, 3),
            vec![2, 3],
            "5 is done for this round"
        );
    }

    /// One uid that never answers (its request ends only at a long timeout) does not slow the
    /// others: simulated in steps where every other request takes one step and the straggler's
    /// takes 60, the others are each asked once per step, the straggler once per 60 steps.
    #[test]
    fn a_silent_uid_does_not_hold_the_others_and_each_uid_is_asked_once_per_round() {
        let queryable: Vec<u16> = (0..5).collect();
        let (silent, timeout_steps, steps) = (0u16, 60u32, 600u32);
        let mut t = RoundTracker::new();
        let mut asked = [0u32; 5];
        let mut silent_since = None;
        for step in 0..steps {
            t.maybe_start_new_round(&queryable);
            let mut in_round = Vec::new();
            for uid in t.take(&queryable, 16) {
                asked[uid as usize] += 1;
                in_round.push(uid);
            }
            assert!(
                in_round.windows(2).all(|w| w[0] < w[1]),
                "no uid twice in one take"
            );
            if in_round.contains(&silent) {
                silent_since = Some(step);
            }
            for uid in in_round.into_iter().filter(|&u| u != silent) {
                t.finish(uid);
            }
            if silent_since.is_some_and(|s| step - s + 1 == timeout_steps) {
                t.finish(silent);
                silent_since = None;
            }
        }
        // The others lose one step per straggler answer: the step in which the silent uid,
        // its request ended, is asked again within the round.
        for uid in 1..5 {
            assert!(
                asked[uid] >= steps - steps / timeout_steps - 2,
                "uid {uid} asked {} times",
                asked[uid]
            );
        }
        assert!(
            asked[0] <= steps / timeout_steps + 1,
            "one request at a time"
        );
        assert!(
            asked[0] >= steps / timeout_steps - 1,
            "the silent uid is still asked"
        );
    }

    /// Many uids, few slots and uneven answer times: a uid in flight when a round turns is
    /// asked in the next round too, so over many rounds every uid is asked about as often.
    #[test]
    fn uids_in_flight_at_a_round_turn_are_not_skipped() {
        let queryable: Vec<u16> = (0..256).collect();
        let mut t = RoundTracker::new();
        let mut asked = vec![0u32; 256];
        let mut ends: Vec<(u32, u16)> = Vec::new();
        let mut seed = 7u32;
        for step in 0..4000u32 {
            for &(_, uid) in ends.iter().filter(|(end, _)| *end == step) {
                t.finish(uid);
            }
            ends.retain(|(end, _)| *end != step);
            t.maybe_start_new_round(&queryable);
            for uid in t.take(&queryable, 16) {
                asked[uid as usize] += 1;
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                ends.push((step + 1 + (seed >> 16) % 3, uid));
            }
        }
        let (min, max) = (asked.iter().min().unwrap(), asked.iter().max().unwrap());
        assert!(max - min <= 2, "asked between {min} and {max} times");
        assert!(t.rounds_completed() >= 100);
    }

    #[test]
    fn a_shrinking_set_still_completes_rounds_and_new_uids_join() {
        let mut t = RoundTracker::new();
        assert_eq!(t.take(&[1, 2, 3], 8), vec![1, 2, 3]);
        t.finish(1);
        t.finish(2);
        // uid 3 left the queryable set while in flight; 2 processed >= 2 queryable.
        assert!(t.maybe_start_new_round(&[1, 2]));
        assert_eq!(
            t.take(&[1, 2, 7], 8),
            vec![1, 2, 7],
            "3 is still in flight, not offered"
        );
        assert_eq!(t.in_flight(), 4);
        t.finish(3);
        assert_eq!(
            t.processed(),
            0,
            "3's request was taken in the previous round: it does not count for this one"
        );
    }

    #[test]
    fn an_empty_pool_does_nothing() {
        let mut t = RoundTracker::new();
        assert!(!t.maybe_start_new_round(&[]));
        assert!(t.take(&[], 16).is_empty());
        assert!(
            t.take(&[4], 0).is_empty(),
            "zero concurrency queries nobody"
        );
    }
}
