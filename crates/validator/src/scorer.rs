//! One response's path through the scoring state (reference §5.1–5.6), inside one store
//! transaction so a crash never leaves half an update:
//!
//! 1. an unverified response takes the circuit's current maximum response time and the
//!    default proof size (5000);
//! 2. its evaluation item (with the uid's current score and the circuit's current minimum)
//!    replaces the uid's item in the circuit's window;
//! 3. every non-queryable uid's score is set to 0;
//! 4. a PoW item is built from the *updated* window's minimum and maximum and the uid's score,
//!    and queued;
//! 5. when the queue's length reaches a new multiple of 256, the last 256 items become the
//!    scoring circuit's inputs (16 nonce slots from OS randomness), the integer incentive
//!    function runs, and its outputs overwrite the scores (last occurrence wins); the step is
//!    marked processed even when the batch fails, as in the reference.
//!
//! The uid's request statistics (for the scoreboard) are updated in the same transaction.

use std::collections::BTreeSet;

use omron_scoring::constants::{DEFAULT_PROOF_SIZE, POW_NONCE_SLOTS, SINGLE_POW_BATCH_SIZE};
use omron_scoring::{
    CircuitInputs, EvaluationItem, PowItem, ScoredResponse, ScoringError, apply_batch_output,
    zero_non_queryable,
};

use crate::store::{ResponseRecord, StoreError, Writer};

/// The subnet state a response is scored against.
#[derive(Debug, Clone)]
pub struct ScoringContext {
    /// The uids queried now (§1.4); every other uid is zeroed.
    pub queryable: BTreeSet<u16>,
    /// Number of uids (the length of the score vector; `maximum_score = 1 / n`).
    pub n: usize,
    /// The current block.
    pub block: u64,
    /// The validator's own uid.
    pub validator_uid: u16,
}

/// A response as the scorer needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredAnswer {
    /// The miner's uid.
    pub uid: u16,
    /// The miner's hotkey (ss58), from the metagraph.
    pub hotkey: String,
    /// The circuit asked.
    pub circuit_id: String,
    /// The circuit's timeout, seconds (clamps the window's statistics).
    pub circuit_timeout: f64,
    /// Whether the proof verified.
    pub verified: bool,
    /// Measured response time, seconds (the timeout when no answer came).
    pub response_time: f64,
    /// Size of the proof received, bytes (0 when none).
    pub proof_bytes: u64,
}

/// A batch that came due with this response.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResult {
    /// The queue step (`len / 256`).
    pub step: u64,
    /// The circuit inputs (absent when the items could not be scaled).
    pub inputs: Option<CircuitInputs>,
    /// The scores written, in batch order, or why the batch failed.
    pub outcome: Result<Vec<(u16, f32)>, ScoringError>,
}

/// What scoring one response changed.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreUpdate {
    /// The uid's score when the response was scored.
    pub previous_score: f32,
    /// The uid's score afterwards.
    pub score: f32,
    /// Uids whose non-zero score was zeroed as non-queryable.
    pub zeroed: Vec<u16>,
    /// The batch applied with this response, if one came due.
    pub batch: Option<BatchResult>,
}

fn score_vector(w: &Writer<'_>, n: usize) -> Result<Vec<f32>, StoreError> {
    let mut scores = vec![0.0f32; n];
    for row in w.scores()? {
        if let Some(slot) = scores.get_mut(usize::from(row.uid)) {
            *slot = row.score;
        }
    }
    Ok(scores)
}

/// Scores one response (see the module doc). `nonce` fills the batch's 16 nonce slots if a
/// batch comes due; the caller draws it from OS randomness.
pub fn score_response(
    w: &mut Writer<'_>,
    ctx: &ScoringContext,
    answer: &ScoredAnswer,
    nonce: &[u16; POW_NONCE_SLOTS],
) -> Result<ScoreUpdate, StoreError> {
    let uid = answer.uid;
    let index = usize::from(uid);
    let timeout = answer.circuit_timeout;
    let mut scores = score_vector(w, ctx.n)?;
    let previous_score = scores.get(index).copied().unwrap_or(0.0);

    // 1-2: the evaluation window, with the statistics from before this response.
    let window = w.evaluation_window(&answer.circuit_id)?;
    let (response_time, proof_size) = if answer.verified {
        (answer.response_time, answer.proof_bytes)
    } else {
        (window.maximum_response_time(timeout), DEFAULT_PROOF_SIZE)
    };
    w.record_evaluation(
        &answer.circuit_id,
        &EvaluationItem {
            uid,
            response_time,
            proof_size,
            verified: answer.verified,
            score: previous_score,
            minimum_response_time: window.minimum_response_time(timeout),
        },
    )?;

    // 3: non-queryable uids lose their score (no competitions in this node).
    let before = scores.clone();
    zero_non_queryable(&mut scores, &ctx.queryable, |_| false);
    let zeroed: Vec<(u16, f32)> = before
        .iter()
        .zip(&scores)
        .enumerate()
        .filter(|(_, (b, a))| b != a)
        .filter_map(|(i, (_, a))| u16::try_from(i).ok().map(|u| (u, *a)))
        .collect();
    w.update_scores(&zeroed)?;

    // 4: the PoW item reads the updated window.
    let window = w.evaluation_window(&answer.circuit_id)?;
    let maximum_score = if ctx.n == 0 { 0.0 } else { 1.0 / ctx.n as f64 };
    let item = PowItem::from_response(
        &ScoredResponse {
            uid,
            verified: answer.verified,
            proof_size,
            response_time,
        },
        maximum_score,
        scores.get(index).copied().unwrap_or(0.0),
        window.maximum_response_time(timeout),
        window.minimum_response_time(timeout),
        i64::try_from(ctx.block).unwrap_or(i64::MAX),
        i64::from(ctx.validator_uid),
        0.0,
    );
    w.push_pow_items(&[item])?;

    // 5: a due batch.
    let batch = match w.pow_due_batch()? {
        None => None,
        Some(due) => {
            let (inputs, outcome) =
                match CircuitInputs::from_pow_items(&due.items, SINGLE_POW_BATCH_SIZE, nonce) {
                    Ok(inputs) => {
                        let outcome = inputs
                            .evaluate()
                            .map(|out| apply_batch_output(&mut scores, &out));
                        (Some(inputs), outcome)
                    }
                    Err(e) => (None, Err(e)),
                };
            match &outcome {
                Ok(applied) => {
                    w.update_scores(applied)?;
                }
                Err(e) => {
                    tracing::warn!(step = due.step, error = %e, "score batch failed; skipped as the reference does");
                }
            }
            w.set_pow_last_processed_step(due.step)?;
            Some(BatchResult {
                step: due.step,
                inputs,
                outcome,
            })
        }
    };

    w.record_miner_response(&ResponseRecord {
        uid,
        hotkey: &answer.hotkey,
        verified: answer.verified,
        response_time: answer.response_time,
        proof_bytes: answer.proof_bytes,
        block: ctx.block,
    })?;

    Ok(ScoreUpdate {
        previous_score,
        score: scores.get(index).copied().unwrap_or(0.0),
        zeroed: zeroed.into_iter().map(|(u, _)| u).collect(),
        batch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ScoreRow, Store, StoreLimits};
    use omron_scoring::score_from_scaled;

    const N: usize = 256;

    fn store_with_uids() -> Store {
        let mut store = Store::open_in_memory(StoreLimits::default()).unwrap();
        let hotkeys: Vec<(u16, String)> = (0..8).map(|u| (u, format!("hk{u}"))).collect();
        store.sync_hotkeys(&hotkeys).unwrap();
        store
    }

    fn ctx() -> ScoringContext {
        ScoringContext {
            queryable: [1, 2, 3].into_iter().collect(),
            n: N,
            block: 50,
            validator_uid: 0,
        }
    }

    fn answer(uid: u16, verified: bool, rt: f64) -> ScoredAnswer {
        ScoredAnswer {
            uid,
            hotkey: format!("hk{uid}"),
            circuit_id: "c".into(),
            circuit_timeout: 60.0,
            verified,
            response_time: rt,
            proof_bytes: if verified { 2000 } else { 0 },
        }
    }

    fn score(store: &mut Store, a: &ScoredAnswer) -> ScoreUpdate {
        store
            .write(|w| score_response(w, &ctx(), a, &[7; POW_NONCE_SLOTS]))
            .unwrap()
    }

    #[test]
    fn a_batch_applies_the_reference_vectors_after_256_responses() {
        let mut store = store_with_uids();
        // uid 5 is not queryable: its score goes to zero at the first response.
        store
            .set_scores(&[ScoreRow {
                uid: 5,
                hotkey: "hk5".into(),
                score: 0.5,
            }])
            .unwrap();
        let first = score(&mut store, &answer(1, true, 5.0));
        assert_eq!(first.zeroed, vec![5]);
        assert!(first.batch.is_none());
        assert_eq!(store.score_vector(N).unwrap()[5], 0.0);
        // 255 more: fast uid 1 (5 s), slow uid 2 (15 s), failing uid 3.
        for i in 1..256 {
            let a = match i % 3 {
                0 => answer(1, true, 5.0),
                1 => answer(2, true, 15.0),
                _ => answer(3, false, 60.0),
            };
            let update = score(&mut store, &a);
            assert_eq!(
                update.batch.is_some(),
                i == 255,
                "batch only at the 256th item"
            );
            if let Some(batch) = update.batch {
                assert_eq!(batch.step, 1);
                assert!(batch.outcome.is_ok());
                let inputs = batch.inputs.unwrap();
                assert_eq!(inputs.len(), 256);
            }
        }
        let scores = store.score_vector(N).unwrap();
        // With min 5 s and max 15 s (two verified samples) and 1/256 as the maximum score, a
        // response at the minimum from 0 gives vector A (39 062); one at the maximum is
        // clamped to x = 0.99 and gives 1 624 (docs/scoring.md §2).
        assert_eq!(scores[1], score_from_scaled(39_062));
        assert_eq!(scores[2], score_from_scaled(1_624));
        assert_eq!(scores[3], 0.0, "unverified from zero stays zero");
        assert!(store.pow_due_batch().unwrap().is_none(), "step recorded");
        let stats = store.miner_stats().unwrap();
        let s1 = stats.iter().find(|s| s.uid == 1).unwrap();
        let s3 = stats.iter().find(|s| s.uid == 3).unwrap();
        assert_eq!((s1.requests, s1.verified), (86, 86));
        assert_eq!((s3.requests, s3.verified), (85, 0));
        assert!((s3.mean_response_ms() - 60_000.0).abs() < 1e-6);
    }

    #[test]
    fn unverified_responses_decay_an_earned_score_by_forty_percent() {
        let mut store = store_with_uids();
        store
            .set_scores(&[ScoreRow {
                uid: 3,
                hotkey: "hk3".into(),
                score: score_from_scaled(300_000),
            }])
            .unwrap();
        for _ in 0..256 {
            score(&mut store, &answer(3, false, 1.0));
        }
        // Vector C: 300 000 unverified -> 180 000 (all 256 items saw the same previous score,
        // the float32 round trip of 300 000 is exact).
        assert_eq!(
            store.score_vector(N).unwrap()[3],
            score_from_scaled(180_000)
        );
    }
}
