//! Per-circuit statistics over logged requests: counts by outcome, and the median and 90th
//! percentile of response times and proof sizes of the verified responses (an unverified
//! response's time says nothing about how fast the circuit proves).

use serde::{Deserialize, Serialize};

use crate::store::{CircuitSample, LoggedStatus};

/// One circuit's line of `GET /dashboard/circuits`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CircuitStats {
    /// The circuit id (hex).
    pub circuit_id: String,
    /// Its name, if the validator has the circuit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether the benchmark pool draws it.
    pub benchmark: bool,
    /// Requests covered.
    pub requests: u64,
    /// Of which the proof verified.
    pub verified: u64,
    /// Of which an answer came that was not a valid proof.
    pub unverified: u64,
    /// Of which no answer came.
    pub failed: u64,
    /// Of which an external request caused.
    pub external: u64,
    /// `verified / requests` (0 when none).
    pub verified_ratio: f64,
    /// Median response time of the verified responses, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_response_ms: Option<f64>,
    /// 90th percentile of the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_response_ms: Option<f64>,
    /// Median proof size of the verified responses, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_proof_bytes: Option<u64>,
    /// Largest verified proof, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_proof_bytes: Option<u64>,
    /// Block of the newest request covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_block: Option<u64>,
}

/// The nearest-rank `p`-th percentile (0 < p <= 100) of sorted values: the smallest value
/// with at least `p` percent of the values at or below it. `None` when empty.
pub(super) fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Statistics per circuit: the `benchmark` circuits first (in that order, even without
/// requests), then the others the samples name, by id.
pub(super) fn per_circuit(benchmark: &[String], samples: &[CircuitSample]) -> Vec<CircuitStats> {
    let mut ids: Vec<String> = benchmark.to_vec();
    let mut others: Vec<String> = samples
        .iter()
        .map(|s| s.circuit_id.clone())
        .filter(|id| !benchmark.contains(id))
        .collect();
    others.sort();
    others.dedup();
    ids.extend(others);
    ids.into_iter()
        .map(|id| {
            let mine: Vec<&CircuitSample> = samples.iter().filter(|s| s.circuit_id == id).collect();
            let count = |status| mine.iter().filter(|s| s.status == status).count() as u64;
            let verified: Vec<&&CircuitSample> = mine
                .iter()
                .filter(|s| s.status == LoggedStatus::Verified)
                .collect();
            let mut times: Vec<f64> = verified.iter().map(|s| s.response_time * 1000.0).collect();
            times.sort_by(f64::total_cmp);
            let mut sizes: Vec<u64> = verified.iter().map(|s| s.proof_bytes).collect();
            sizes.sort_unstable();
            let requests = mine.len() as u64;
            CircuitStats {
                benchmark: benchmark.contains(&id),
                name: None,
                requests,
                verified: verified.len() as u64,
                unverified: count(LoggedStatus::Unverified),
                failed: count(LoggedStatus::Failed),
                external: mine.iter().filter(|s| s.external).count() as u64,
                verified_ratio: if requests == 0 {
                    0.0
                } else {
                    verified.len() as f64 / requests as f64
                },
                median_response_ms: percentile(&times, 50.0),
                p90_response_ms: percentile(&times, 90.0),
                median_proof_bytes: percentile(&sizes, 50.0),
                max_proof_bytes: sizes.last().copied(),
                last_block: mine.iter().map(|s| s.block).max(),
                circuit_id: id,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ten: Vec<u32> = (1..=10).collect();
        assert_eq!(percentile(&ten, 50.0), Some(5));
        assert_eq!(percentile(&ten, 90.0), Some(9));
        assert_eq!(percentile(&ten, 91.0), Some(10));
        assert_eq!(percentile(&ten, 100.0), Some(10));
        assert_eq!(percentile(&[7u32], 90.0), Some(7));
        assert_eq!(percentile::<u32>(&[], 50.0), None);
    }

    fn sample(id: &str, status: LoggedStatus, ms: f64, bytes: u64, block: u64) -> CircuitSample {
        CircuitSample {
            circuit_id: id.into(),
            status,
            external: block % 2 == 1,
            response_time: ms / 1000.0,
            proof_bytes: bytes,
            block,
        }
    }

    #[test]
    fn only_verified_responses_enter_the_percentiles() {
        use LoggedStatus::*;
        let mut samples: Vec<CircuitSample> = (1..=10u32)
            .map(|i| sample("a", Verified, f64::from(i) * 100.0, 1000 + u64::from(i), 10))
            .collect();
        samples.push(sample("a", Failed, 60_000.0, 0, 11));
        samples.push(sample("a", Unverified, 5.0, 0, 12));
        samples.push(sample("z", Verified, 42.0, 77, 13));
        let stats = per_circuit(&["b".into(), "a".into()], &samples);
        let ids: Vec<&str> = stats.iter().map(|s| s.circuit_id.as_str()).collect();
        assert_eq!(ids, ["b", "a", "z"], "benchmark order first, then the rest");
        assert_eq!((stats[0].requests, stats[0].median_response_ms), (0, None));
        let a = &stats[1];
        assert_eq!(
            (a.requests, a.verified, a.unverified, a.failed, a.external),
            (12, 10, 1, 1, 1)
        );
        assert!((a.verified_ratio - 10.0 / 12.0).abs() < 1e-12);
        assert_eq!(a.median_response_ms, Some(500.0));
        assert_eq!(a.p90_response_ms, Some(900.0));
        assert_eq!(a.median_proof_bytes, Some(1005));
        assert_eq!(a.max_proof_bytes, Some(1010));
        assert_eq!(a.last_block, Some(12));
        assert!(a.benchmark && !stats[2].benchmark);
    }
}
