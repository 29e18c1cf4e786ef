//! [`MinerService`]: the four synapse handlers.
//!
//! Answers follow upstream (`neurons/_miner/miner_session.py`): a `QueryZkProof` without
//! inputs gets `"Empty query input"`, any failure `"An error occurred"` (the reason goes to
//! the log and the `outcome` metric label, not to the caller); the one addition is
//! [`BUSY`], for a request turned away by the proof limit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use omron_bittensor::axon::{HandlerError, Request};
use omron_bittensor::json::{self, JsonValue};

use omron_bittensor::synapse::Synapse;
use omron_circuit::{CircuitType, RequestInput};
use omron_protocol::{
    Competition, ProofOfWeightsSynapse, ProofOutput, QueryForCapacities, QueryZkProof,
};
use omron_scoring::constants::SINGLE_PROOF_OF_WEIGHTS_MODEL_ID;
use tracing::{info, warn};

use crate::capacities::Capacities;
use crate::config::DevOptions;
use crate::metrics::{MinerMetrics, Outcome};
use crate::prover::{ProofService, ProveError, Proved};

/// Upstream's answer to a request without inputs.
pub const EMPTY_INPUT: &str = "Empty query input";
/// Upstream's answer to every failure.
pub const ERROR: &str = "An error occurred";
/// The answer when every proof slot is busy and the wait queue is full.
pub const BUSY: &str = "Miner busy: every proof slot is taken, try again later";
/// The `Competition.error` this miner answers.
pub const NO_COMPETITIONS: &str = "Competitions are not supported by this miner";

/// The miner's request handling, shared by the axon's handlers.
#[derive(Debug)]
pub struct MinerService {
    prover: ProofService,
    capacities: Capacities,
    metrics: Arc<MinerMetrics>,
    dev: DevOptions,
}

/// The `outcome` label of a proving failure.
fn outcome_of(e: &ProveError) -> Outcome {
    match e {
        ProveError::UnknownCircuit { .. } | ProveError::WrongType { .. } => Outcome::UnknownCircuit,
        ProveError::Busy { .. } | ProveError::WaitTimeout { .. } => Outcome::Busy,
        ProveError::Prover(omron_circuit::CircuitError::Input(_)) => Outcome::BadInput,
        ProveError::Prover(_) | ProveError::Task(_) => Outcome::Failed,
    }
}

/// The time a handler may wait for a proof slot: the request's own timeout.
fn wait_budget(timeout_secs: f64) -> Duration {
    Duration::try_from_secs_f64(timeout_secs).unwrap_or(Duration::ZERO)
}

impl MinerService {
    /// A service answering from `prover` and `capacities`.
    pub fn new(
        prover: ProofService,
        capacities: Capacities,
        metrics: Arc<MinerMetrics>,
        dev: DevOptions,
    ) -> Self {
        Self {
            prover,
            capacities,
            metrics,
            dev,
        }
    }

    /// The dev `delay`: the slow miner of `omron localnet` sleeps before each proof answer.
    async fn dev_delay(&self) {
        if !self.dev.delay.is_zero() {
            tokio::time::sleep(self.dev.delay).await;
        }
    }

    fn count(&self, synapse: &'static str, outcome: Outcome) {
        self.metrics.inc_request(synapse, outcome);
    }

    /// `QueryZkProof`: proves `query_input.public_inputs` (a [`RequestInput`]) on the circuit
    /// named by `query_input.model_id`, bound to this miner's hotkey and the request's nonce.
    pub async fn query_zk_proof(&self, req: Request<QueryZkProof>) -> QueryZkProof {
        let start = Instant::now();
        let caller = req.caller;
        let mut synapse = req.synapse;
        let (text, outcome, circuit) = match self.answer_query(&synapse, req.timeout_secs).await {
            Ok((circuit, proved)) => (
                ProofOutput {
                    proof: hex::encode(&proved.proof),
                    public_signals: serde_json::to_string(&proved.outputs)
                        .unwrap_or_else(|_| "[]".into()),
                }
                .to_query_output(),
                Outcome::Ok,
                circuit,
            ),
            Err((outcome, circuit, reason)) => {
                warn!(%caller, circuit, outcome = outcome.label(), %reason, "proof request failed");
                let text = match outcome {
                    Outcome::EmptyInput => EMPTY_INPUT,
                    Outcome::Busy => BUSY,
                    _ => ERROR,
                };
                (text.to_owned(), outcome, circuit)
            }
        };
        self.dev_delay().await;
        synapse.query_output = Some(text);
        self.count(QueryZkProof::NAME, outcome);
        info!(
            %caller,
            circuit,
            outcome = outcome.label(),
            ms = start.elapsed().as_millis() as u64,
            "answered QueryZkProof"
        );
        synapse
    }

    async fn answer_query(
        &self,
        synapse: &QueryZkProof,
        timeout_secs: f64,
    ) -> Result<(String, Proved), (Outcome, String, String)> {
        let Some(input) = &synapse.query_input else {
            return Err((Outcome::EmptyInput, String::new(), "no query_input".into()));
        };
        let circuit = input
            .model_id()
            .unwrap_or(SINGLE_PROOF_OF_WEIGHTS_MODEL_ID)
            .to_owned();
        let inputs = input.public_inputs();
        if is_empty(inputs) {
            return Err((Outcome::EmptyInput, circuit, "empty public_inputs".into()));
        }
        let request: RequestInput = json::from_value(inputs.clone()).map_err(|e| {
            (
                Outcome::BadInput,
                circuit.clone(),
                format!("public_inputs is not {{input_data, nonce}}: {e}"),
            )
        })?;
        match self
            .prover
            .prove(
                &circuit,
                CircuitType::ProofOfComputation,
                request,
                wait_budget(timeout_secs),
            )
            .await
        {
            Ok(p) => Ok((circuit, p)),
            Err(e) => Err((outcome_of(&e), circuit, e.to_string())),
        }
    }

    /// `ProofOfWeightsSynapse`: proves `inputs` (the circuit's JSON inputs; for the SN2
    /// scoring circuit the reference's 256- or 1024-item batch) with the proof-of-weights
    /// circuit named by `verification_key_hash`. Empty inputs come back unchanged, as
    /// upstream; an unknown circuit, one of another type or inputs it cannot take are an
    /// error answer.
    pub async fn proof_of_weights(
        &self,
        req: Request<ProofOfWeightsSynapse>,
    ) -> Result<ProofOfWeightsSynapse, HandlerError> {
        let caller = req.caller;
        let mut synapse = req.synapse;
        let circuit = synapse.verification_key_hash.to_string();
        if synapse.inputs.is_empty() {
            self.count(ProofOfWeightsSynapse::NAME, Outcome::EmptyInput);
            return Ok(synapse);
        }
        let inputs = match serde_json::to_value(&synapse.inputs) {
            Ok(v) => v,
            Err(e) => {
                self.count(ProofOfWeightsSynapse::NAME, Outcome::BadInput);
                return Err(HandlerError::new(format!("inputs are not plain JSON: {e}")));
            }
        };
        let result = self
            .prover
            .prove_pow(&circuit, inputs, wait_budget(req.timeout_secs))
            .await;
        self.dev_delay().await;
        match result {
            Ok(p) => {
                synapse.proof = hex::encode(&p.proof);
                synapse.public_signals =
                    serde_json::to_string(&p.outputs).unwrap_or_else(|_| "[]".into());
                self.count(ProofOfWeightsSynapse::NAME, Outcome::Ok);
                info!(%caller, circuit, ms = p.prove_time.as_millis() as u64, "answered ProofOfWeightsSynapse");
                Ok(synapse)
            }
            Err(e) => {
                let outcome = outcome_of(&e);
                self.count(ProofOfWeightsSynapse::NAME, outcome);
                warn!(%caller, circuit, outcome = outcome.label(), reason = %e, "proof-of-weights request failed");
                // Busy is not a failure of the request: a 503 tells the validator to try later.
                Err(match outcome {
                    Outcome::Busy => HandlerError::busy(BUSY),
                    _ => HandlerError::new(e.to_string()),
                })
            }
        }
    }

    /// `QueryForCapacities`: the compute units per circuit.
    pub fn capacities(&self, req: Request<QueryForCapacities>) -> QueryForCapacities {
        self.count(QueryForCapacities::NAME, Outcome::Ok);
        let mut synapse = req.synapse;
        synapse.capacities = Some(self.capacities.as_map().clone());
        synapse
    }

    /// `Competition`: not supported; says so in `error` (never a silent success).
    pub fn competition(&self, req: Request<Competition>) -> Competition {
        self.count(Competition::NAME, Outcome::Unsupported);
        let mut synapse = req.synapse;
        synapse.file_content = None;
        synapse.commitment = None;
        synapse.error = Some(NO_COMPETITIONS.to_owned());
        synapse
    }
}

/// Upstream's "no inputs": null, or an empty object, list or string.
fn is_empty(v: &JsonValue) -> bool {
    match v {
        JsonValue::Null => true,
        JsonValue::Object(o) => o.is_empty(),
        JsonValue::Array(a) => a.is_empty(),
        JsonValue::String(s) => s.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_inputs_are_recognised() {
        assert!(is_empty(&JsonValue::Null));
        assert!(is_empty(&json::parse(b"{}").unwrap()));
        assert!(is_empty(&json::parse(b"[]").unwrap()));
        assert!(!is_empty(&json::parse(br#"{"a": 1}"#).unwrap()));
        assert!(!is_empty(&json::parse(b"3").unwrap()));
    }

    #[test]
    fn outcomes_of_failures() {
        assert_eq!(
            outcome_of(&ProveError::UnknownCircuit { id: "x".into() }),
            Outcome::UnknownCircuit
        );
        assert_eq!(
            outcome_of(&ProveError::WaitTimeout { waited_ms: 1 }),
            Outcome::Busy
        );
        assert_eq!(
            outcome_of(&ProveError::Prover(omron_circuit::CircuitError::Input(
                "x".into()
            ))),
            Outcome::BadInput
        );
        assert_eq!(wait_budget(f64::NAN), Duration::ZERO);
        assert_eq!(wait_budget(-1.0), Duration::ZERO);
        assert_eq!(wait_budget(1.5), Duration::from_millis(1500));
    }
}
