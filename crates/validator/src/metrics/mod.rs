//! The validator's Prometheus metrics: one documented struct, small methods at the call sites,
//! text exposition at `/metrics` on `--prometheus.port` (see `docs/validator.md`).
//!
//! Every name starts with `omron_validator_`; units are in the names. Labels: `circuit` is the
//! circuit id (sha256 of its verifying key, hex), `uid` the miner's uid. The standard process
//! metrics (`process_*`, see [`omron_bittensor::process`]) follow, read at each render.

mod answers;
mod process;
mod registry;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use omron_bittensor::dendrite::AnswerBudget;
use omron_bittensor::process::ProcessStats;

use registry::{CounterVec, GaugeVec, HistogramVec};

/// Response-time buckets, seconds: a small model proves in milliseconds, the largest time out
/// at the circuit timeout (60 s by default).
const TIME_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];
/// Proof-size buckets, bytes.
const SIZE_BUCKETS: &[f64] = &[
    1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
];

/// How a request ended, for `omron_validator_requests_total{status}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    /// An answer whose proof verified.
    Verified,
    /// An answer that was not a valid proof (unparsable, an error string, or a proof that
    /// failed verification).
    Unverified,
    /// No answer: timeout, unreachable axon, or a refusal (non-200 status).
    Failed,
}

impl RequestStatus {
    fn label(self) -> &'static str {
        match self {
            RequestStatus::Verified => "verified",
            RequestStatus::Unverified => "unverified",
            RequestStatus::Failed => "failed",
        }
    }
}

/// What verification concluded, for `omron_validator_verifications_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationResult {
    /// The proof verified against the validator's own inputs and the miner's hotkey.
    Valid,
    /// A well-formed answer whose proof (or claimed output) is wrong.
    Invalid,
    /// An answer that could not be read as a proof at all.
    Malformed,
}

impl VerificationResult {
    fn label(self) -> &'static str {
        match self {
            VerificationResult::Valid => "valid",
            VerificationResult::Invalid => "invalid",
            VerificationResult::Malformed => "malformed",
        }
    }
}

/// How weights reached the chain, for the weight counters' `method` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsMethod {
    /// `set_weights` (commit-reveal off).
    Set,
    /// `commit_weights` (commit-reveal v2).
    Commit,
    /// `reveal_weights` of an earlier commit.
    Reveal,
    /// `commit_timelocked_weights` (timelocked commit-reveal v3/v4; the chain reveals).
    CommitTimelocked,
}

impl WeightsMethod {
    fn label(self) -> &'static str {
        match self {
            WeightsMethod::Set => "set_weights",
            WeightsMethod::Commit => "commit_weights",
            WeightsMethod::Reveal => "reveal_weights",
            WeightsMethod::CommitTimelocked => "commit_timelocked_weights",
        }
    }
}

/// The validator's metrics.
#[derive(Debug)]
pub struct ValidatorMetrics {
    /// `omron_validator_requests_total{circuit,status}`: proof requests ended, by status
    /// (`verified`, `unverified`, `failed`).
    requests: CounterVec,
    /// `omron_validator_verifications_total{circuit,result}`: verification outcomes of answers
    /// (`valid`, `invalid`, `malformed`).
    verifications: CounterVec,
    /// `omron_validator_response_time_seconds{circuit}`: measured response time of each
    /// request (the dendrite's process time; the timeout when no answer came).
    response_time: HistogramVec,
    /// `omron_validator_proof_size_bytes{circuit}`: size of each proof received.
    proof_size: HistogramVec,
    /// `omron_validator_verification_duration_seconds{circuit}`: time spent verifying a proof.
    verification_duration: HistogramVec,
    /// `omron_validator_hash_guard_rejections_total`: generated inputs dropped because they
    /// were sent before.
    hash_guard_rejections: CounterVec,
    /// `omron_validator_active_requests`: requests in flight.
    active_requests: GaugeVec,
    /// `omron_validator_queryable_uids`: uids the validator queries.
    queryable_uids: GaugeVec,
    /// `omron_validator_block`: the latest block seen.
    block: GaugeVec,
    /// `omron_validator_score{uid}`: each uid's current score.
    score: GaugeVec,
    /// `omron_validator_pow_batches_total{result}`: 256-item score batches evaluated
    /// (`applied`, `failed`).
    pow_batches: CounterVec,
    /// `omron_validator_pow_proofs_total{result}`: proofs of score batches (`archived`,
    /// `failed`); stays empty while proof of weights is not enabled.
    pow_proofs: CounterVec,
    /// `omron_validator_weights_set_total{method}`: weight transactions the chain accepted.
    weights_set: CounterVec,
    /// `omron_validator_weights_failed_total{method}`: weight transactions that failed.
    weights_failed: CounterVec,
    /// `omron_validator_last_weight_update_timestamp_seconds`: Unix time of the last accepted
    /// weight transaction.
    last_weight_update: GaugeVec,
    /// `omron_validator_external_requests_total{method,result}`: external API requests ended
    /// (`verified`, `failed`, `busy`, `refused`: bad parameters or a bound).
    external_requests: CounterVec,
    /// `omron_validator_external_latency_seconds{method}`: arrival to answer of external
    /// requests that reached the queue.
    external_latency: HistogramVec,
    /// `omron_validator_external_queue_depth`: external requests waiting for a miner.
    external_queue: GaugeVec,
    /// `omron_validator_external_retries_total`: external requests sent again to another
    /// miner after a failed attempt.
    external_retries: CounterVec,
    /// `omron_validator_external_connections`: open WebSocket connections.
    external_connections: GaugeVec,
    /// `omron_validator_chain_reconnects`: forced reconnects to the chain since start (a
    /// stalled block stream or repeated failed calls; real networks only).
    chain_reconnects: GaugeVec,
    /// `omron_validator_chain_stalls`: block streams that went silent past the stall limit.
    chain_stalls: GaugeVec,
    /// `omron_validator_last_weights_block`: the latest block seen when the chain last accepted
    /// a weight transaction (absent before the first).
    last_weights_block: GaugeVec,
    /// `omron_validator_blocks_since_weights`: blocks from the last accepted weight
    /// transaction (or, before the first, from the first block this process saw) to the
    /// latest block; computed at render.
    blocks_since_weights: GaugeVec,
    /// The first block this process saw, plus one (0: none yet).
    first_block: AtomicU64,
    /// The node's answer budget, read at render: `omron_validator_answer_bytes_in_flight`,
    /// `..._in_flight_peak`, `omron_validator_answer_budget_bytes`, `..._waits_total` and
    /// `..._refusals_total` (see `answers`).
    answer_budget: OnceLock<Arc<AnswerBudget>>,
}

impl Default for ValidatorMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ValidatorMetrics {
    /// All metrics at zero.
    pub fn new() -> Self {
        Self {
            requests: CounterVec::new(
                "omron_validator_requests_total",
                "Proof requests ended, by circuit and status (verified, unverified, failed).",
                &["circuit", "status"],
            ),
            verifications: CounterVec::new(
                "omron_validator_verifications_total",
                "Verification outcomes of answers (valid, invalid, malformed).",
                &["circuit", "result"],
            ),
            response_time: HistogramVec::new(
                "omron_validator_response_time_seconds",
                "Measured response time of proof requests (the timeout when no answer came).",
                &["circuit"],
                TIME_BUCKETS,
            ),
            proof_size: HistogramVec::new(
                "omron_validator_proof_size_bytes",
                "Size of the proofs received.",
                &["circuit"],
                SIZE_BUCKETS,
            ),
            verification_duration: HistogramVec::new(
                "omron_validator_verification_duration_seconds",
                "Time spent verifying one proof.",
                &["circuit"],
                TIME_BUCKETS,
            ),
            hash_guard_rejections: CounterVec::new(
                "omron_validator_hash_guard_rejections_total",
                "Generated inputs dropped because the hash guard had seen them.",
                &[],
            ),
            active_requests: GaugeVec::new(
                "omron_validator_active_requests",
                "Proof requests in flight.",
                &[],
            ),
            queryable_uids: GaugeVec::new(
                "omron_validator_queryable_uids",
                "Uids the validator queries.",
                &[],
            ),
            block: GaugeVec::new("omron_validator_block", "The latest block seen.", &[]),
            score: GaugeVec::new(
                "omron_validator_score",
                "Current score of each uid.",
                &["uid"],
            ),
            pow_batches: CounterVec::new(
                "omron_validator_pow_batches_total",
                "256-item score batches evaluated (applied, failed).",
                &["result"],
            ),
            pow_proofs: CounterVec::new(
                "omron_validator_pow_proofs_total",
                "Proofs of score batches (archived, failed).",
                &["result"],
            ),
            weights_set: CounterVec::new(
                "omron_validator_weights_set_total",
                "Weight transactions accepted by the chain.",
                &["method"],
            ),
            weights_failed: CounterVec::new(
                "omron_validator_weights_failed_total",
                "Weight transactions that failed.",
                &["method"],
            ),
            last_weight_update: GaugeVec::new(
                "omron_validator_last_weight_update_timestamp_seconds",
                "Unix time of the last weight transaction the chain accepted.",
                &[],
            ),
            external_requests: CounterVec::new(
                "omron_validator_external_requests_total",
                "External API requests ended, by method and result (verified, failed, busy, refused).",
                &["method", "result"],
            ),
            external_latency: HistogramVec::new(
                "omron_validator_external_latency_seconds",
                "Arrival to answer of queued external API requests.",
                &["method"],
                TIME_BUCKETS,
            ),
            external_queue: GaugeVec::new(
                "omron_validator_external_queue_depth",
                "External API requests waiting for a miner.",
                &[],
            ),
            external_retries: CounterVec::new(
                "omron_validator_external_retries_total",
                "External API requests sent again to another miner after a failed attempt.",
                &[],
            ),
            external_connections: GaugeVec::new(
                "omron_validator_external_connections",
                "Open external API WebSocket connections.",
                &[],
            ),
            chain_reconnects: GaugeVec::new(
                "omron_validator_chain_reconnects",
                "Forced reconnects to the chain since start (stalled block stream or failed calls).",
                &[],
            ),
            chain_stalls: GaugeVec::new(
                "omron_validator_chain_stalls",
                "Block streams that went silent past the stall limit since start.",
                &[],
            ),
            last_weights_block: GaugeVec::new(
                "omron_validator_last_weights_block",
                "Latest block seen when the chain last accepted a weight transaction.",
                &[],
            ),
            blocks_since_weights: GaugeVec::new(
                "omron_validator_blocks_since_weights",
                "Blocks since the last accepted weight transaction (before the first: since this process saw its first block).",
                &[],
            ),
            first_block: AtomicU64::new(0),
            answer_budget: OnceLock::new(),
        }
    }

    /// Exports `budget` (the node's, set once at start; a second one is ignored).
    pub fn watch_answer_budget(&self, budget: Arc<AnswerBudget>) {
        let _ = self.answer_budget.set(budget);
    }

    /// The exported answer budget (its peak, bytes in flight, waits and refusals).
    pub fn answer_budget(&self) -> Option<Arc<AnswerBudget>> {
        self.answer_budget.get().cloned()
    }

    /// Records an ended external request (`result`: verified, failed, busy, refused).
    pub fn external_request(&self, method: &str, result: &str, latency: Option<f64>) {
        self.external_requests.inc(&[method, result]);
        if let Some(l) = latency {
            self.external_latency.observe(&[method], l);
        }
    }

    /// External requests ended with `result`.
    pub fn external_requests(&self, method: &str, result: &str) -> u64 {
        self.external_requests.get(&[method, result])
    }

    /// Sets the external queue depth.
    pub fn set_external_queue(&self, n: usize) {
        self.external_queue.set(&[], n as f64);
    }

    /// Counts a retry of an external request.
    pub fn external_retry(&self) {
        self.external_retries.inc(&[]);
    }

    /// Sets the number of open external connections.
    pub fn set_external_connections(&self, n: usize) {
        self.external_connections.set(&[], n as f64);
    }

    /// Sets the chain connection's counters.
    pub fn set_chain_health(&self, reconnects: u64, stalls: u64) {
        self.chain_reconnects.set(&[], reconnects as f64);
        self.chain_stalls.set(&[], stalls as f64);
    }

    /// The forced reconnects last recorded.
    pub fn chain_reconnects(&self) -> Option<f64> {
        self.chain_reconnects.get(&[])
    }

    /// Records a finished request.
    pub fn request_finished(&self, circuit: &str, status: RequestStatus, response_time: f64) {
        self.requests.inc(&[circuit, status.label()]);
        self.response_time.observe(&[circuit], response_time);
    }

    /// Records a verification.
    pub fn verified(
        &self,
        circuit: &str,
        result: VerificationResult,
        proof_bytes: Option<usize>,
        duration_secs: Option<f64>,
    ) {
        self.verifications.inc(&[circuit, result.label()]);
        if let Some(bytes) = proof_bytes {
            self.proof_size.observe(&[circuit], bytes as f64);
        }
        if let Some(d) = duration_secs {
            self.verification_duration.observe(&[circuit], d);
        }
    }

    /// Counts an input the hash guard refused.
    pub fn hash_guard_rejected(&self) {
        self.hash_guard_rejections.inc(&[]);
    }

    /// Sets the number of requests in flight.
    pub fn set_active_requests(&self, n: usize) {
        self.active_requests.set(&[], n as f64);
    }

    /// Sets the number of queryable uids.
    pub fn set_queryable(&self, n: usize) {
        self.queryable_uids.set(&[], n as f64);
    }

    /// Sets the latest block.
    pub fn set_block(&self, block: u64) {
        self.block.set(&[], block as f64);
        let _ = self.first_block.compare_exchange(
            0,
            block.saturating_add(1),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// Sets a uid's score.
    pub fn set_score(&self, uid: u16, score: f32) {
        self.score.set(&[&uid.to_string()], f64::from(score));
    }

    /// Counts an evaluated batch.
    pub fn pow_batch(&self, applied: bool) {
        self.pow_batches
            .inc(&[if applied { "applied" } else { "failed" }]);
    }

    /// Counts a batch proof.
    pub fn pow_proof(&self, archived: bool) {
        self.pow_proofs
            .inc(&[if archived { "archived" } else { "failed" }]);
    }

    /// Counts a weight transaction; an accepted one also sets the last-update time.
    pub fn weights(&self, method: WeightsMethod, accepted: bool, unix_secs: f64) {
        if accepted {
            self.weights_set.inc(&[method.label()]);
            self.last_weight_update.set(&[], unix_secs);
            // The call sites know the block only roughly too (the transaction is in the latest
            // block or the next), so the latest block seen is the block of record.
            if let Some(block) = self.block.get(&[]) {
                self.last_weights_block.set(&[], block);
            }
        } else {
            self.weights_failed.inc(&[method.label()]);
        }
    }

    /// Requests ended with `status` for a circuit (tests and the dashboard).
    pub fn requests(&self, circuit: &str, status: RequestStatus) -> u64 {
        self.requests.get(&[circuit, status.label()])
    }

    /// Score batches applied so far.
    pub fn pow_batches_applied(&self) -> u64 {
        self.pow_batches.get(&["applied"])
    }

    /// Accepted weight transactions of a method.
    pub fn weights_accepted(&self, method: WeightsMethod) -> u64 {
        self.weights_set.get(&[method.label()])
    }

    /// Proof sizes observed for a circuit.
    pub fn proof_sizes_observed(&self, circuit: &str) -> u64 {
        self.proof_size.count(&[circuit])
    }

    /// The current score gauge of a uid.
    pub fn score(&self, uid: u16) -> Option<f64> {
        self.score.get(&[&uid.to_string()])
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.requests.encode(&mut out);
        self.verifications.encode(&mut out);
        self.response_time.encode(&mut out);
        self.proof_size.encode(&mut out);
        self.verification_duration.encode(&mut out);
        self.hash_guard_rejections.encode(&mut out);
        self.active_requests.encode(&mut out);
        self.queryable_uids.encode(&mut out);
        self.block.encode(&mut out);
        self.score.encode(&mut out);
        self.pow_batches.encode(&mut out);
        self.pow_proofs.encode(&mut out);
        self.weights_set.encode(&mut out);
        self.weights_failed.encode(&mut out);
        self.last_weight_update.encode(&mut out);
        self.external_requests.encode(&mut out);
        self.external_latency.encode(&mut out);
        self.external_queue.encode(&mut out);
        self.external_retries.encode(&mut out);
        self.external_connections.encode(&mut out);
        self.chain_reconnects.encode(&mut out);
        self.chain_stalls.encode(&mut out);
        self.update_blocks_since_weights();
        self.last_weights_block.encode(&mut out);
        self.blocks_since_weights.encode(&mut out);
        if let Some(budget) = self.answer_budget.get() {
            answers::encode(&mut out, budget);
        }
        process::encode(&mut out, &ProcessStats::read());
        out
    }

    /// Blocks since weights were last accepted (see the field), once a block was seen.
    fn update_blocks_since_weights(&self) {
        let Some(block) = self.block.get(&[]) else {
            return;
        };
        let first = self.first_block.load(Ordering::Relaxed).saturating_sub(1) as f64;
        let since = self.last_weights_block.get(&[]).unwrap_or(first);
        self.blocks_since_weights.set(&[], (block - since).max(0.0));
    }

    /// Blocks since weights were last accepted, as last rendered.
    pub fn blocks_since_weights(&self) -> Option<f64> {
        self.update_blocks_since_weights();
        self.blocks_since_weights.get(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_sites_feed_the_named_series() {
        let m = ValidatorMetrics::new();
        m.request_finished("c1", RequestStatus::Verified, 0.2);
        m.request_finished("c1", RequestStatus::Failed, 60.0);
        m.verified("c1", VerificationResult::Valid, Some(2048), Some(0.01));
        m.set_score(3, 0.25);
        m.weights(WeightsMethod::Set, true, 1_700_000_000.0);
        m.weights(WeightsMethod::Commit, false, 0.0);
        m.set_chain_health(2, 1);
        let text = m.render();
        for line in [
            "omron_validator_requests_total{circuit=\"c1\",status=\"verified\"} 1",
            "omron_validator_requests_total{circuit=\"c1\",status=\"failed\"} 1",
            "omron_validator_verifications_total{circuit=\"c1\",result=\"valid\"} 1",
            "omron_validator_proof_size_bytes_bucket{circuit=\"c1\",le=\"4096\"} 1",
            "omron_validator_response_time_seconds_count{circuit=\"c1\"} 2",
            "omron_validator_score{uid=\"3\"} 0.25",
            "omron_validator_weights_set_total{method=\"set_weights\"} 1",
            "omron_validator_weights_failed_total{method=\"commit_weights\"} 1",
            "omron_validator_last_weight_update_timestamp_seconds 1700000000",
            "omron_validator_chain_reconnects 2",
            "omron_validator_chain_stalls 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert_eq!(m.requests("c1", RequestStatus::Verified), 1);
        assert_eq!(m.weights_accepted(WeightsMethod::Set), 1);
    }

    #[test]
    fn blocks_since_weights_counts_from_start_then_from_the_last_accepted_weights() {
        let m = ValidatorMetrics::new();
        assert_eq!(m.blocks_since_weights(), None, "no block seen yet");
        m.set_block(1000);
        m.set_block(1250);
        assert_eq!(
            m.blocks_since_weights(),
            Some(250.0),
            "since the first block seen"
        );
        m.weights(WeightsMethod::Set, false, 0.0);
        assert_eq!(
            m.blocks_since_weights(),
            Some(250.0),
            "a failed transaction counts not"
        );
        m.weights(WeightsMethod::Set, true, 1.0);
        m.set_block(1300);
        let text = m.render();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.contains(&"omron_validator_last_weights_block 1250"),
            "{text}"
        );
        assert!(
            lines.contains(&"omron_validator_blocks_since_weights 50"),
            "{text}"
        );
    }

    #[test]
    fn the_answer_budget_is_rendered_once_watched() {
        let m = ValidatorMetrics::new();
        assert!(
            !m.render().contains("omron_validator_answer_"),
            "not before"
        );
        let budget = AnswerBudget::new(1000);
        m.watch_answer_budget(budget.clone());
        let held = budget.try_reserve(600).unwrap();
        assert!(budget.try_reserve(500).is_err());
        let text = m.render();
        for line in [
            "omron_validator_answer_bytes_in_flight 600",
            "omron_validator_answer_bytes_in_flight_peak 600",
            "omron_validator_answer_budget_bytes 1000",
            "omron_validator_answer_budget_waits_total 0",
            "omron_validator_answer_budget_refusals_total 1",
            "# TYPE omron_validator_answer_budget_refusals_total counter",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        drop(held);
        assert!(
            m.render()
                .lines()
                .any(|l| l == "omron_validator_answer_bytes_in_flight 0")
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn render_reads_the_process_metrics() {
        let text = ValidatorMetrics::new().render();
        let rss = text
            .lines()
            .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
            .and_then(|v| v.parse::<f64>().ok());
        assert!(rss.is_some_and(|v| v > 0.0), "{text}");
        for family in [
            "process_cpu_seconds_total",
            "process_open_fds",
            "process_max_fds",
        ] {
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "{family} in {text}"
            );
        }
    }
}
