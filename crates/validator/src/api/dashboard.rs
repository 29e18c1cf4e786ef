//! The dashboard's JSON: one endpoint per part of the page, each built from the snapshot (the
//! metagraph: incentive, emission, stake), the store (scores, request statistics, the request
//! log, the weights history, the proof-of-weights queue) and the chain watch.
//!
//! * `GET /dashboard/summary` → [`Summary`];
//! * `GET /dashboard/miners/series?blocks=B&buckets=N` → [`Series`];
//! * `GET /dashboard/circuits?limit=N` → [`CircuitStats`]s;
//! * `GET /dashboard/requests?limit=N&failed=true` → [`RequestRow`]s.

use std::sync::Arc;

use omron_chain::RAO_PER_TAO;
use omron_scoring::constants::SINGLE_POW_BATCH_SIZE;
use serde::{Deserialize, Serialize};

use super::chain_watch::{ChainWatch, WeightsMode, connection_state};
use super::stats;
use crate::error::NodeError;
use crate::shared::Shared;
use crate::store::{StoredRequest, TxOutcome, WeightsRecord};

/// Blocks the series cover without `blocks` (a day of 12 s blocks); the window never starts
/// before the oldest logged request, so a young log fills the chart.
pub const DEFAULT_SERIES_BLOCKS: u64 = 7_200;
/// Buckets of a series without `buckets`.
pub const DEFAULT_SERIES_BUCKETS: u64 = 60;
/// Buckets of a series at most.
pub const MAX_SERIES_BUCKETS: u64 = 500;
/// Weight records the weight series reads at most.
const WEIGHT_RECORDS: usize = 1_000;
/// Logged requests the circuit statistics cover without `limit`.
pub const DEFAULT_CIRCUIT_SAMPLES: usize = 5_000;
/// Rows `GET /dashboard/requests` returns without `limit`, and at most.
pub const DEFAULT_REQUEST_ROWS: usize = 50;
/// See [`DEFAULT_REQUEST_ROWS`].
pub const MAX_REQUEST_ROWS: usize = 500;

/// `GET /dashboard/summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The subnet.
    pub netuid: u16,
    /// The validator's uid.
    pub validator_uid: u16,
    /// Its hotkey (ss58).
    pub validator_hotkey: String,
    /// The chain as the validator sees it.
    pub chain: ChainStatus,
    /// Progress toward the next score update.
    pub batch: BatchProgress,
    /// The weights the chain included last, as shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<WeightsInForce>,
    /// Every uid the validator queries or has statistics for (its own uid excluded).
    pub miners: Vec<MinerSummary>,
    /// Requests in the request log (what the series, circuits and requests read).
    pub logged_requests: u64,
}

/// The chain part of [`Summary`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainStatus {
    /// The latest block the validator saw.
    pub block: u64,
    /// Seconds since it arrived.
    pub last_block_age_s: f64,
    /// `ok`, `lagging` (no block for 60 s) or `stalled` (180 s).
    pub connection: String,
    /// Forced reconnects of the chain client (real networks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnects: Option<u64>,
    /// Block streams that went silent (real networks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalls: Option<u64>,
    /// The block the metagraph was read at.
    pub metagraph_block: u64,
    /// The subnet's tempo (blocks per epoch).
    pub tempo: u16,
    /// How the subnet takes weights.
    pub weights_mode: WeightsMode,
    /// Whether this validator sets weights at all (`--no-weights` turns it off).
    pub sets_weights: bool,
    /// Block of the newest weights the chain included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_weights_block: Option<u64>,
    /// The newest weights transaction, whatever became of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_weights_attempt: Option<WeightsAttempt>,
    /// The validator's `last_update` in the metagraph (its last weights on chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator_last_update: Option<u64>,
}

/// The newest weights transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsAttempt {
    /// Block the weights were computed at.
    pub block: u64,
    /// When, milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// `pending`, `included` or `failed`.
    pub outcome: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether it was a commit (commit-reveal).
    pub commit_reveal: bool,
}

/// Where the proof-of-weights queue stands: scores move once per
/// [`SINGLE_POW_BATCH_SIZE`] (256) responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchProgress {
    /// Responses per score update.
    pub size: u64,
    /// Responses queued since the validator's state began.
    pub queued: u64,
    /// Responses toward the next update.
    pub in_batch: u64,
    /// Responses still needed for it.
    pub remaining: u64,
    /// Updates so far (`queued / size`).
    pub batches: u64,
}

impl BatchProgress {
    fn of(queued: u64) -> Self {
        let size = SINGLE_POW_BATCH_SIZE as u64;
        let in_batch = queued % size;
        Self {
            size,
            queued,
            in_batch,
            remaining: size - in_batch,
            batches: queued / size,
        }
    }
}

/// The weights the chain included last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsInForce {
    /// Block they were computed at.
    pub block: u64,
    /// Sum of the `u16` weights.
    pub total: u64,
    /// Each uid's weight and share.
    pub shares: Vec<WeightShare>,
}

/// One uid's part of a weight vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightShare {
    /// The uid.
    pub uid: u16,
    /// The `u16` weight sent.
    pub weight: u16,
    /// Percent of the vector's total.
    pub share_pct: f64,
}

fn shares(record: &WeightsRecord) -> (u64, Vec<WeightShare>) {
    let total: u64 = record.weights.iter().map(|w| u64::from(*w)).sum();
    let shares = record
        .uids
        .iter()
        .zip(&record.weights)
        .map(|(uid, w)| WeightShare {
            uid: *uid,
            weight: *w,
            share_pct: pct(u64::from(*w), total),
        })
        .collect();
    (total, shares)
}

fn pct(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * part as f64 / total as f64
    }
}

/// One miner in [`Summary`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinerSummary {
    /// The uid.
    pub uid: u16,
    /// Its hotkey (ss58), from the metagraph.
    pub hotkey: String,
    /// Requests recorded for the hotkey.
    pub requests: u64,
    /// Of which the proof verified.
    pub verified: u64,
    /// Mean response time over all its requests, milliseconds (a timeout counts in full).
    pub mean_response_ms: f64,
    /// Mean proof size over the verified responses, bytes.
    pub mean_proof_bytes: f64,
    /// The current score.
    pub score: f64,
    /// Its `u16` weight in the weights in force (0 if none).
    pub weight: u16,
    /// That weight as a percent of the vector's total.
    pub weight_share_pct: f64,
    /// Its incentive at the last epoch, as a fraction of the subnet's (0 to 1).
    pub incentive: f64,
    /// Rao emitted to it at the last epoch.
    pub emission_rao: u64,
    /// The same in TAO.
    pub emission_tao: f64,
    /// Whether the validator queries it now.
    pub queryable: bool,
}

/// Everything [`summary`] reads from the store, in one blocking call.
struct SummaryRows {
    scores: Vec<crate::store::ScoreRow>,
    stats: Vec<crate::store::MinerStats>,
    included: Option<(i64, WeightsRecord)>,
    newest: Option<(i64, WeightsRecord)>,
    queued: usize,
    logged: u64,
}

/// Builds `GET /dashboard/summary`.
pub(crate) async fn summary(
    shared: &Arc<Shared>,
    watch: &ChainWatch,
) -> Result<Summary, NodeError> {
    let rows = shared
        .with_store(|s| {
            Ok(SummaryRows {
                scores: s.scores()?,
                stats: s.miner_stats()?,
                included: s.last_included_weights()?,
                newest: s.weights_history(1)?.into_iter().next(),
                queued: s.pow_queue_len()?,
                logged: s.request_log_len()?,
            })
        })
        .await?;
    let snapshot = shared.snapshot();
    let weights = rows.included.as_ref().map(|(_, rec)| {
        let (total, shares) = shares(rec);
        WeightsInForce {
            block: rec.block,
            total,
            shares,
        }
    });
    let mut miners = Vec::new();
    for neuron in &snapshot.metagraph.neurons {
        let uid = neuron.uid;
        if uid == snapshot.validator_uid {
            continue;
        }
        let hotkey = neuron.hotkey.to_ss58();
        let stat = rows
            .stats
            .iter()
            .find(|s| s.uid == uid && s.hotkey == hotkey);
        let queryable = snapshot.queryable.binary_search(&uid).is_ok();
        if stat.is_none() && !queryable {
            continue;
        }
        let share = weights
            .as_ref()
            .and_then(|w| w.shares.iter().find(|s| s.uid == uid));
        miners.push(MinerSummary {
            uid,
            requests: stat.map_or(0, |s| s.requests),
            verified: stat.map_or(0, |s| s.verified),
            mean_response_ms: stat.map_or(0.0, |s| s.mean_response_ms()),
            mean_proof_bytes: stat.map_or(0.0, |s| s.mean_proof_bytes()),
            score: rows
                .scores
                .iter()
                .find(|r| r.uid == uid && r.hotkey == hotkey)
                .map_or(0.0, |r| f64::from(r.score)),
            weight: share.map_or(0, |s| s.weight),
            weight_share_pct: share.map_or(0.0, |s| s.share_pct),
            incentive: neuron.incentive.as_f64(),
            emission_rao: neuron.emission,
            emission_tao: neuron.emission as f64 / RAO_PER_TAO as f64,
            queryable,
            hotkey,
        });
    }
    let age = watch.last_block_age();
    let health = shared.chain.connection_health();
    let chain = ChainStatus {
        block: shared.block(),
        last_block_age_s: age.as_secs_f64(),
        connection: connection_state(age).to_owned(),
        reconnects: health.map(|h| h.reconnects),
        stalls: health.map(|h| h.stalls),
        metagraph_block: snapshot.metagraph.block,
        tempo: snapshot.hyperparameters.tempo,
        weights_mode: watch.weights_mode(shared).await,
        sets_weights: shared.config.set_weights,
        last_weights_block: rows.included.as_ref().map(|(_, r)| r.block),
        last_weights_attempt: rows.newest.map(|(_, r)| {
            let (outcome, reason) = match r.outcome {
                TxOutcome::Pending => ("pending", None),
                TxOutcome::Included { .. } => ("included", None),
                TxOutcome::Failed { reason } => ("failed", Some(reason)),
            };
            WeightsAttempt {
                block: r.block,
                created_at_ms: r.created_at_ms,
                outcome: outcome.to_owned(),
                reason,
                commit_reveal: r.commit_reveal,
            }
        }),
        validator_last_update: snapshot
            .neuron(snapshot.validator_uid)
            .map(|n| n.last_update),
    };
    Ok(Summary {
        netuid: shared.config.netuid,
        validator_uid: snapshot.validator_uid,
        validator_hotkey: shared.hotkey_ss58.clone(),
        chain,
        batch: BatchProgress::of(rows.queued as u64),
        weights,
        miners,
        logged_requests: rows.logged,
    })
}

/// The query of `GET /dashboard/miners/series`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(crate) struct SeriesQuery {
    /// Blocks back from the latest ([`DEFAULT_SERIES_BLOCKS`] if absent).
    blocks: Option<u64>,
    /// Buckets ([`DEFAULT_SERIES_BUCKETS`] if absent, at most [`MAX_SERIES_BUCKETS`]).
    buckets: Option<u64>,
}

/// `GET /dashboard/miners/series`: each miner's requests in buckets of blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// First block covered.
    pub from_block: u64,
    /// Last block covered.
    pub to_block: u64,
    /// Blocks per bucket.
    pub bucket_blocks: u64,
    /// One line per uid, by uid.
    pub miners: Vec<SeriesLine>,
}

/// One miner's series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesLine {
    /// The uid.
    pub uid: u16,
    /// The hotkey now at the uid (the requests of earlier hotkeys are left out).
    pub hotkey: String,
    /// One point per bucket with requests, oldest first.
    pub points: Vec<SeriesPoint>,
    /// The uid's share of each weight vector the chain included in the window (the one in
    /// force at its start first, at `from_block`), oldest first.
    pub weights: Vec<WeightPoint>,
}

/// One bucket of a [`SeriesLine`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// The bucket's first block.
    pub block: u64,
    /// Requests scored in it.
    pub requests: u64,
    /// Of which the proof verified.
    pub verified: u64,
    /// `verified / requests`.
    pub verified_ratio: f64,
    /// Mean measured response time, milliseconds (a timeout counts in full).
    pub mean_response_ms: f64,
    /// The score after the bucket's last request.
    pub score: f64,
}

/// A uid's share of one weight vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightPoint {
    /// The block the vector was computed at.
    pub block: u64,
    /// The uid's percent of its total.
    pub share_pct: f64,
}

/// Builds `GET /dashboard/miners/series`.
pub(crate) async fn series(shared: &Arc<Shared>, q: SeriesQuery) -> Result<Series, NodeError> {
    let to_block = shared.block();
    let blocks = q.blocks.unwrap_or(DEFAULT_SERIES_BLOCKS).max(1);
    let buckets = q
        .buckets
        .unwrap_or(DEFAULT_SERIES_BUCKETS)
        .clamp(1, MAX_SERIES_BUCKETS);
    let (span, records) = shared
        .with_store(|s| Ok((s.request_log_span()?, s.weights_history(WEIGHT_RECORDS)?)))
        .await?;
    let oldest = span.map_or(to_block, |(lo, _)| lo);
    let from_block = to_block
        .saturating_sub(blocks - 1)
        .max(oldest)
        .min(to_block);
    let width = (to_block - from_block + 1).div_ceil(buckets).max(1);
    let buckets = shared
        .with_store(move |s| s.request_series(from_block, width))
        .await?;
    // Included vectors, oldest first; the last one before the window stands at its start.
    let mut included: Vec<&WeightsRecord> = records
        .iter()
        .map(|(_, r)| r)
        .filter(|r| matches!(r.outcome, TxOutcome::Included { .. }))
        .collect();
    included.reverse();
    let start = included.iter().rposition(|r| r.block < from_block);
    let in_window = &included[start.unwrap_or(0)..];

    let snapshot = shared.snapshot();
    let mut miners: Vec<SeriesLine> = Vec::new();
    for b in buckets {
        let current = snapshot.neuron(b.uid).map(|n| n.hotkey.to_ss58());
        if current.as_deref() != Some(b.hotkey.as_str()) {
            continue;
        }
        if miners.last().is_none_or(|l| l.uid != b.uid) {
            let weights = in_window
                .iter()
                .map(|r| {
                    let (_, shares) = shares(r);
                    WeightPoint {
                        block: r.block.max(from_block),
                        share_pct: shares
                            .iter()
                            .find(|s| s.uid == b.uid)
                            .map_or(0.0, |s| s.share_pct),
                    }
                })
                .collect();
            miners.push(SeriesLine {
                uid: b.uid,
                hotkey: b.hotkey.clone(),
                points: Vec::new(),
                weights,
            });
        }
        if let Some(line) = miners.last_mut() {
            line.points.push(SeriesPoint {
                block: from_block + b.index * width,
                requests: b.requests,
                verified: b.verified,
                verified_ratio: b.verified as f64 / b.requests.max(1) as f64,
                mean_response_ms: b.response_time_sum * 1000.0 / b.requests.max(1) as f64,
                score: f64::from(b.score),
            });
        }
    }
    Ok(Series {
        from_block,
        to_block,
        bucket_blocks: width,
        miners,
    })
}

/// The query of `GET /dashboard/circuits`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(crate) struct CircuitsQuery {
    /// Newest logged requests to cover ([`DEFAULT_CIRCUIT_SAMPLES`] if absent).
    limit: Option<usize>,
}

/// One circuit's line of `GET /dashboard/circuits`.
pub type CircuitStats = stats::CircuitStats;

/// Builds `GET /dashboard/circuits`: every benchmark circuit, then any other circuit the log
/// names (external requests can ask for any circuit of the store).
pub(crate) async fn circuits(
    shared: &Arc<Shared>,
    q: CircuitsQuery,
) -> Result<Vec<CircuitStats>, NodeError> {
    let limit = q
        .limit
        .unwrap_or(DEFAULT_CIRCUIT_SAMPLES)
        .min(crate::store::MAX_REQUEST_LOG as usize);
    let samples = shared.with_store(move |s| s.circuit_samples(limit)).await?;
    let benchmark: Vec<String> = shared.circuits.circuits().iter().map(|c| c.id()).collect();
    let mut out = stats::per_circuit(&benchmark, &samples);
    for line in &mut out {
        line.name = circuit_name(shared, &line.circuit_id);
    }
    Ok(out)
}

/// The name of a circuit of the store, if the validator has it.
pub(crate) fn circuit_name(shared: &Shared, id: &str) -> Option<String> {
    shared
        .all_circuits
        .iter()
        .find(|c| c.id() == id)
        .map(|c| c.metadata.name.clone())
}

/// The query of `GET /dashboard/requests`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(crate) struct RequestsQuery {
    /// Rows wanted ([`DEFAULT_REQUEST_ROWS`] if absent, at most [`MAX_REQUEST_ROWS`]).
    limit: Option<usize>,
    /// Only requests whose proof did not verify.
    #[serde(default)]
    failed: bool,
}

/// One line of `GET /dashboard/requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRow {
    /// Log id (increasing).
    pub id: i64,
    /// When it was scored, milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// The block it was scored at.
    pub block: u64,
    /// The miner's uid.
    pub uid: u16,
    /// The miner's hotkey (ss58).
    pub hotkey: String,
    /// The circuit id.
    pub circuit_id: String,
    /// The circuit's name, if the validator has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_name: Option<String>,
    /// `benchmark` or `external`.
    pub source: String,
    /// `verified`, `unverified` or `failed`.
    pub status: String,
    /// Measured response time, milliseconds.
    pub response_ms: f64,
    /// Proof size, bytes.
    pub proof_bytes: u64,
    /// What verification said ("proof verified", or why it failed).
    pub detail: String,
    /// The uid's score after it.
    pub score: f64,
}

/// Builds `GET /dashboard/requests`, newest first.
pub(crate) async fn requests(
    shared: &Arc<Shared>,
    q: RequestsQuery,
) -> Result<Vec<RequestRow>, NodeError> {
    let limit = q
        .limit
        .unwrap_or(DEFAULT_REQUEST_ROWS)
        .min(MAX_REQUEST_ROWS);
    let failed = q.failed;
    let rows = shared
        .with_store(move |s| s.recent_requests(limit, failed))
        .await?;
    Ok(rows
        .into_iter()
        .map(|StoredRequest { id, request: r }| RequestRow {
            id,
            created_at_ms: r.created_at_ms,
            block: r.block,
            uid: r.uid,
            circuit_name: circuit_name(shared, &r.circuit_id),
            hotkey: r.hotkey,
            circuit_id: r.circuit_id,
            source: if r.external { "external" } else { "benchmark" }.to_owned(),
            status: r.status.as_str().to_owned(),
            response_ms: r.response_time * 1000.0,
            proof_bytes: r.proof_bytes,
            detail: r.detail,
            score: f64::from(r.score),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_progress_counts_toward_the_next_multiple_of_256() {
        let p = BatchProgress::of(600);
        assert_eq!(
            (p.size, p.in_batch, p.remaining, p.batches),
            (256, 88, 168, 2)
        );
        let fresh = BatchProgress::of(0);
        assert_eq!(
            (fresh.in_batch, fresh.remaining, fresh.batches),
            (0, 256, 0)
        );
    }

    #[test]
    fn weight_shares_are_percent_of_the_total() {
        let record = WeightsRecord {
            block: 9,
            uids: vec![0, 2, 3],
            weights: vec![65535, 13107, 0],
            version_key: 1,
            commit_reveal: false,
            reveal_round: None,
            outcome: TxOutcome::Included {
                tx_hash: String::new(),
            },
            created_at_ms: 0,
        };
        let (total, s) = shares(&record);
        assert_eq!(total, 78_642);
        assert!((s[0].share_pct - 83.333_375).abs() < 1e-3, "{s:?}");
        assert!((s[1].share_pct - 16.666_624).abs() < 1e-3);
        assert_eq!(s[2].share_pct, 0.0);
        let sum: f64 = s.iter().map(|x| x.share_pct).sum();
        assert!((sum - 100.0).abs() < 1e-9);
        assert_eq!(pct(5, 0), 0.0, "an all-zero vector has no shares");
    }
}
