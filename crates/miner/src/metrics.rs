//! [`MinerMetrics`]: the miner's Prometheus metrics, one documented struct with small methods
//! for the call sites. Exported as OpenMetrics text (which Prometheus scrapes natively) by
//! [`crate::http`] when `--prometheus.port` is given.
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `omron_miner_requests_total` | counter | `synapse`, `outcome` | requests answered, by synapse and [`Outcome`] |
//! | `omron_miner_refused_total` | counter | `reason` | callers refused by the blacklist |
//! | `omron_miner_proof_duration_seconds` | histogram | `circuit` | time spent proving (excludes waiting for a slot) |
//! | `omron_miner_proof_size_bytes` | histogram | `circuit` | size of the proofs sent |
//! | `omron_miner_proofs_in_flight` | gauge | | proofs being computed now |
//! | `omron_miner_proofs_waiting` | gauge | | requests waiting for a proof slot |
//! | `omron_miner_registered` | gauge | | 1 while the hotkey holds a uid on the subnet |
//! | `omron_miner_uid` | gauge | | the uid held (-1 when none) |
//! | `omron_miner_metagraph_block` | gauge | | block of the last metagraph read |
//! | `omron_miner_chain_stake_tao` | gauge | | stake on the hotkey in the subnet, TAO |
//! | `omron_miner_chain_rank` | gauge | | rank in [0, 1] (the real chain reports 0 since dTAO) |
//! | `omron_miner_chain_trust` | gauge | | trust in [0, 1] (the real chain reports 0 since dTAO) |
//! | `omron_miner_chain_consensus` | gauge | | consensus in [0, 1] |
//! | `omron_miner_chain_incentive` | gauge | | incentive in [0, 1] |
//! | `omron_miner_chain_emission_tao` | gauge | | emission to the hotkey at the last epoch, TAO |
//! | `omron_miner_chain_validator_trust` | gauge | | validator trust in [0, 1] |
//! | `omron_miner_chain_dividends` | gauge | | dividends in [0, 1] |
//!
//! The `omron_miner_chain_*` gauges are the miner's own neuron at the last metagraph read (the
//! values of its status line, [`crate::status`]); they read 0 while it holds no uid.
//!
//! Beside them, without the prefix, the standard process metrics (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_open_fds`,
//! `process_max_fds`, `process_start_time_seconds`), read from the OS at each scrape by
//! [`ProcessCollector`] (see [`omron_bittensor::process`]).

use std::sync::atomic::AtomicU64;

use crate::status::NeuronStatus;
use omron_bittensor::process::ProcessStats;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Proof-time buckets, seconds: small models prove in milliseconds, the largest take up to the
/// 60 s circuit timeout.
const PROOF_SECONDS_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Proof-size buckets, bytes (4 KiB to 16 MiB, factor 4).
const PROOF_BYTES_BUCKETS: [f64; 7] = [
    4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
];

/// Every `reason` of [`crate::blacklist::Refusal::label`]: their series exist at 0 from the
/// start, so that `rate()` and the dashboard show 0 rather than no data before the first
/// refusal.
const REFUSAL_REASONS: [&str; 3] = [
    "not_registered",
    "stake_below_minimum",
    "no_validator_permit",
];

/// How a request ended, the `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A proof (or the requested answer) was sent.
    Ok,
    /// The request carried no input.
    EmptyInput,
    /// The request named a circuit this miner does not hold (or of the wrong type).
    UnknownCircuit,
    /// The input did not fit the circuit (shape, nonce).
    BadInput,
    /// All proof slots were busy and the wait queue full, or the wait ran out.
    Busy,
    /// Proving failed.
    Failed,
    /// The synapse is not supported (competitions).
    Unsupported,
}

impl Outcome {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::EmptyInput => "empty_input",
            Outcome::UnknownCircuit => "unknown_circuit",
            Outcome::BadInput => "bad_input",
            Outcome::Busy => "busy",
            Outcome::Failed => "failed",
            Outcome::Unsupported => "unsupported",
        }
    }
}

type Labels = Vec<(&'static str, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;
type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

fn seconds_histogram() -> Histogram {
    Histogram::new(PROOF_SECONDS_BUCKETS)
}

fn bytes_histogram() -> Histogram {
    Histogram::new(PROOF_BYTES_BUCKETS)
}

/// Every metric the miner exports (see the module table for names and labels).
#[derive(Debug)]
pub struct MinerMetrics {
    /// Requests answered, by synapse and outcome.
    requests: Family<Labels, Counter>,
    /// Callers refused by the blacklist, by reason.
    refused: Family<Labels, Counter>,
    /// Proving time per circuit, seconds.
    proof_duration: HistogramFamily,
    /// Proof size per circuit, bytes.
    proof_size: HistogramFamily,
    /// Proofs being computed.
    in_flight: Gauge,
    /// Requests waiting for a proof slot.
    waiting: Gauge,
    /// 1 while registered.
    registered: Gauge,
    /// The uid held, -1 when none.
    uid: Gauge,
    /// Block of the last metagraph read.
    metagraph_block: Gauge,
    /// When the last metagraph read succeeded (`/health` reports its age).
    last_read: std::sync::Mutex<Option<std::time::Instant>>,
    /// The miner's own neuron at the last metagraph read.
    chain: ChainGauges,
    registry: Registry,
}

/// The miner's neuron as the chain shows it (the `omron_miner_chain_*` gauges).
#[derive(Debug, Default)]
struct ChainGauges {
    /// Stake on the hotkey in the subnet, TAO.
    stake_tao: FloatGauge,
    /// Rank, in [0, 1].
    rank: FloatGauge,
    /// Trust, in [0, 1].
    trust: FloatGauge,
    /// Consensus, in [0, 1].
    consensus: FloatGauge,
    /// Incentive, in [0, 1].
    incentive: FloatGauge,
    /// Emission at the last epoch, TAO.
    emission_tao: FloatGauge,
    /// Validator trust, in [0, 1].
    validator_trust: FloatGauge,
    /// Dividends, in [0, 1].
    dividends: FloatGauge,
}

impl ChainGauges {
    fn register(&self, registry: &mut Registry) {
        let tao = || Unit::Other("tao".into());
        registry.register_with_unit(
            "chain_stake",
            "Stake on the miner's hotkey in the subnet at the last metagraph read",
            tao(),
            self.stake_tao.clone(),
        );
        for (name, help, gauge) in [
            (
                "chain_rank",
                "The miner's rank in [0, 1] at the last metagraph read",
                &self.rank,
            ),
            (
                "chain_trust",
                "The miner's trust in [0, 1] at the last metagraph read",
                &self.trust,
            ),
            (
                "chain_consensus",
                "The miner's consensus in [0, 1] at the last metagraph read",
                &self.consensus,
            ),
            (
                "chain_incentive",
                "The miner's incentive in [0, 1] at the last metagraph read",
                &self.incentive,
            ),
        ] {
            registry.register(name, help, gauge.clone());
        }
        registry.register_with_unit(
            "chain_emission",
            "Emission to the miner's hotkey at the last epoch, as of the last metagraph read",
            tao(),
            self.emission_tao.clone(),
        );
        registry.register(
            "chain_validator_trust",
            "The miner's validator trust in [0, 1] at the last metagraph read",
            self.validator_trust.clone(),
        );
        registry.register(
            "chain_dividends",
            "The miner's dividends in [0, 1] at the last metagraph read",
            self.dividends.clone(),
        );
    }

    fn set(&self, status: Option<&NeuronStatus>) {
        let value = |f: fn(&NeuronStatus) -> f64| status.map_or(0.0, f);
        self.stake_tao.set(value(|s| s.stake_tao));
        self.rank.set(value(|s| s.rank));
        self.trust.set(value(|s| s.trust));
        self.consensus.set(value(|s| s.consensus));
        self.incentive.set(value(|s| s.incentive));
        self.emission_tao.set(value(|s| s.emission_tao));
        self.validator_trust.set(value(|s| s.validator_trust));
        self.dividends.set(value(|s| s.dividends));
    }
}

impl Default for MinerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl MinerMetrics {
    /// Fresh metrics, registered under the `omron_miner` prefix.
    pub fn new() -> Self {
        let requests = Family::<Labels, Counter>::default();
        let refused = Family::<Labels, Counter>::default();
        for reason in REFUSAL_REASONS {
            // Creating the series is the point; the guard is dropped at once.
            drop(refused.get_or_create(&vec![("reason", reason.to_owned())]));
        }
        let proof_duration = HistogramFamily::new_with_constructor(seconds_histogram as fn() -> _);
        let proof_size = HistogramFamily::new_with_constructor(bytes_histogram as fn() -> _);
        let in_flight = Gauge::default();
        let waiting = Gauge::default();
        let registered = Gauge::default();
        let uid = Gauge::default();
        uid.set(-1);
        let metagraph_block = Gauge::default();
        let chain = ChainGauges::default();
        // The process metrics keep their standard, unprefixed names: they hang off the root,
        // the miner's own metrics off the `omron_miner` sub-registry.
        let mut root = Registry::default();
        root.register_collector(Box::new(ProcessCollector));
        let registry = root.sub_registry_with_prefix("omron_miner");
        registry.register(
            "requests",
            "Requests answered, by synapse and outcome",
            requests.clone(),
        );
        registry.register(
            "refused",
            "Callers refused by the blacklist, by reason",
            refused.clone(),
        );
        registry.register_with_unit(
            "proof_duration",
            "Time spent proving, per circuit (excludes waiting for a slot)",
            Unit::Seconds,
            proof_duration.clone(),
        );
        registry.register_with_unit(
            "proof_size",
            "Size of the proofs sent, per circuit",
            Unit::Bytes,
            proof_size.clone(),
        );
        registry.register(
            "proofs_in_flight",
            "Proofs being computed now",
            in_flight.clone(),
        );
        registry.register(
            "proofs_waiting",
            "Requests waiting for a proof slot",
            waiting.clone(),
        );
        registry.register(
            "registered",
            "1 while the hotkey holds a uid on the subnet",
            registered.clone(),
        );
        registry.register("uid", "The uid held (-1 when none)", uid.clone());
        registry.register(
            "metagraph_block",
            "Block of the last metagraph read",
            metagraph_block.clone(),
        );
        chain.register(registry);
        Self {
            requests,
            refused,
            proof_duration,
            proof_size,
            in_flight,
            waiting,
            registered,
            uid,
            metagraph_block,
            last_read: std::sync::Mutex::new(None),
            chain,
            registry: root,
        }
    }

    /// Counts one answered request.
    pub fn inc_request(&self, synapse: &'static str, outcome: Outcome) {
        self.requests
            .get_or_create(&vec![
                ("synapse", synapse.to_owned()),
                ("outcome", outcome.label().to_owned()),
            ])
            .inc();
    }

    /// Requests answered so far with this synapse and outcome.
    pub fn requests(&self, synapse: &'static str, outcome: Outcome) -> u64 {
        self.requests
            .get_or_create(&vec![
                ("synapse", synapse.to_owned()),
                ("outcome", outcome.label().to_owned()),
            ])
            .get()
    }

    /// Counts one refused caller.
    pub fn inc_refused(&self, reason: &'static str) {
        self.refused
            .get_or_create(&vec![("reason", reason.to_owned())])
            .inc();
    }

    /// Records a finished proof.
    pub fn observe_proof(&self, circuit: &str, seconds: f64, bytes: usize) {
        let labels = vec![("circuit", circuit.to_owned())];
        self.proof_duration.get_or_create(&labels).observe(seconds);
        self.proof_size.get_or_create(&labels).observe(bytes as f64);
    }

    /// Marks a proof as started; the guard marks it finished when dropped.
    pub fn proof_started(&self) -> GaugeGuard {
        GaugeGuard::new(self.in_flight.clone())
    }

    /// Marks a request as waiting for a slot; the guard ends the wait when dropped.
    pub fn wait_started(&self) -> GaugeGuard {
        GaugeGuard::new(self.waiting.clone())
    }

    /// Proofs being computed now.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.get()
    }

    /// The uid held at the last metagraph read, if any.
    pub fn uid(&self) -> Option<u16> {
        u16::try_from(self.uid.get()).ok()
    }

    /// Block of the last metagraph read.
    pub fn metagraph_block(&self) -> u64 {
        u64::try_from(self.metagraph_block.get()).unwrap_or(0)
    }

    /// Records the registration state after a metagraph read.
    pub fn set_registration(&self, uid: Option<u16>, block: u64) {
        self.registered.set(i64::from(uid.is_some()));
        self.uid.set(uid.map_or(-1, i64::from));
        self.metagraph_block
            .set(i64::try_from(block).unwrap_or(i64::MAX));
        *self.last_read.lock().unwrap_or_else(|p| p.into_inner()) = Some(std::time::Instant::now());
    }

    /// Time since the last successful metagraph read (`None` before the first).
    pub fn metagraph_age(&self) -> Option<std::time::Duration> {
        self.last_read
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|at| at.elapsed())
    }

    /// Records the miner's own neuron after a metagraph read (`None`: it holds no uid, and
    /// the `chain_*` gauges read 0).
    pub fn set_status(&self, status: Option<&NeuronStatus>) {
        self.chain.set(status);
    }

    /// The incentive at the last metagraph read, in [0, 1].
    pub fn chain_incentive(&self) -> f64 {
        self.chain.incentive.get()
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// The standard process metrics, read when the registry is encoded (at each scrape).
#[derive(Debug)]
pub struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for m in ProcessStats::read().metrics() {
            let kind = if m.counter {
                MetricType::Counter
            } else {
                MetricType::Gauge
            };
            // No UNIT line: the unit is already the name's suffix, as Prometheus's own
            // collectors write it.
            let metric = encoder.encode_descriptor(m.name, m.help, None, kind)?;
            if m.counter {
                ConstCounter::new(m.value).encode(metric)?;
            } else {
                ConstGauge::new(m.value).encode(metric)?;
            }
        }
        Ok(())
    }
}

/// Decrements a gauge when dropped (so a cancelled request cannot leave it high).
#[derive(Debug)]
pub struct GaugeGuard {
    gauge: Gauge,
}

impl GaugeGuard {
    fn new(gauge: Gauge) -> Self {
        gauge.inc();
        Self { gauge }
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_units_and_labels() {
        let m = MinerMetrics::new();
        m.inc_request("QueryZkProof", Outcome::Ok);
        m.inc_request("QueryZkProof", Outcome::Ok);
        m.inc_request("QueryZkProof", Outcome::Busy);
        m.inc_refused("not_registered");
        m.observe_proof("abc", 0.02, 20_000);
        m.set_registration(Some(3), 77);
        assert_eq!(m.requests("QueryZkProof", Outcome::Ok), 2);
        let text = m.render();
        for needle in [
            "omron_miner_requests_total{synapse=\"QueryZkProof\",outcome=\"ok\"} 2",
            "omron_miner_requests_total{synapse=\"QueryZkProof\",outcome=\"busy\"} 1",
            "omron_miner_refused_total{reason=\"not_registered\"} 1",
            "omron_miner_proof_duration_seconds_count{circuit=\"abc\"} 1",
            "omron_miner_proof_size_bytes_sum{circuit=\"abc\"} 20000",
            "omron_miner_registered 1",
            "omron_miner_uid 3",
            "omron_miner_metagraph_block 77",
            "# EOF",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        // The process metrics, unprefixed, before the end marker.
        for needle in [
            "# TYPE process_cpu_seconds counter",
            "\nprocess_cpu_seconds_total ",
            "\nprocess_resident_memory_bytes ",
            "\nprocess_start_time_seconds ",
        ] {
            let at = text.find(needle);
            assert!(at.is_some(), "missing {needle:?} in\n{text}");
            assert!(at < text.find("# EOF"), "{needle:?} after # EOF");
        }
        assert!(!text.contains("omron_miner_process"), "{text}");
    }

    #[test]
    fn refusal_series_start_at_zero_for_every_reason() {
        use crate::blacklist::Refusal;
        let text = MinerMetrics::new().render();
        for refusal in [
            Refusal::NotRegistered,
            Refusal::StakeBelowMinimum {
                stake: Default::default(),
                threshold: Default::default(),
            },
            Refusal::NoValidatorPermit {
                uid: Default::default(),
            },
        ] {
            let line = format!(
                "omron_miner_refused_total{{reason=\"{}\"}} 0",
                refusal.label()
            );
            assert!(text.contains(&line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn guards_restore_the_gauges() {
        let m = MinerMetrics::new();
        {
            let _a = m.proof_started();
            let _b = m.proof_started();
            let _w = m.wait_started();
            assert_eq!(m.in_flight(), 2);
            assert!(m.render().contains("omron_miner_proofs_waiting 1"));
        }
        assert_eq!(m.in_flight(), 0);
        assert!(m.render().contains("omron_miner_proofs_waiting 0"));
        m.set_registration(None, 1);
        assert!(m.render().contains("omron_miner_uid -1"));
    }
}
