//! The request pool and the life of one request: draw a benchmark input (a model input or,
//! for a proof-of-weights circuit, a scoring batch), query the miner, verify the answer off the
//! async runtime, score it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use omron_bittensor::dendrite::AxonTarget;
use omron_circuit::{CircuitType, StoredCircuit};
use omron_protocol::{CircuitId, ProofOfWeightsSynapse, ProofSystem, QueryInput, QueryZkProof};
use omron_scoring::constants::POW_NONCE_SLOTS;
use rand::Rng;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::Shared;
use super::prover::PowJob;
use crate::answer::{Answer, Claimed, read_answer, read_pow_answer};
use crate::benchmark::{admit_value, input_json};
use crate::error::NodeError;
use crate::external::Job;
use crate::metrics::{RequestStatus, VerificationResult};
use crate::pool::RoundTracker;
use crate::scorer::{ScoreUpdate, ScoredAnswer, ScoringContext, score_response};
use crate::store::{LoggedRequest, LoggedStatus};

/// How long the pool sleeps when there is nobody to query, unless the metagraph changes.
const IDLE: Duration = Duration::from_secs(1);

/// Runs the pool until shutdown, then gives requests in flight `shutdown_grace` to end.
///
/// At most `concurrency` requests are in flight. External requests (from `external`, the
/// external API's queue) take a free slot before any benchmark request does; each benchmark
/// uid is asked once per round, and never while an external request is asking it.
pub(super) async fn run(shared: Arc<Shared>, mut external: Option<mpsc::Receiver<Job>>) {
    let mut rounds = RoundTracker::new();
    // A task's uid for benchmark requests, `None` for external ones.
    let mut tasks: JoinSet<Option<u16>> = JoinSet::new();
    let mut ids: HashMap<tokio::task::Id, Option<u16>> = HashMap::new();
    let mut snapshots = shared.snapshot.subscribe();
    let mut stop = shared.stop.clone();
    let concurrency = shared.config.concurrency;
    let max_attempts = shared
        .external
        .as_ref()
        .map_or(1, |e| e.config.max_attempts.max(1));
    loop {
        if shared.stopping() {
            break;
        }
        // External requests first.
        while tasks.len() < concurrency {
            let Some(job) = external.as_mut().and_then(|rx| rx.try_recv().ok()) else {
                break;
            };
            let handle = tasks.spawn(external_request(shared.clone(), max_attempts, job));
            ids.insert(handle.id(), None);
        }
        if let Some(ext) = &shared.external {
            shared.metrics.set_external_queue(ext.queued());
        }
        let queryable = snapshots.borrow_and_update().queryable.clone();
        if rounds.maybe_start_new_round(&queryable) {
            tracing::debug!(rounds = rounds.rounds_completed(), "request round complete");
        }
        let free = concurrency.saturating_sub(tasks.len());
        let available: Vec<u16> = {
            let busy = shared.busy_uids();
            queryable
                .iter()
                .copied()
                .filter(|u| !busy.contains(u))
                .collect()
        };
        for uid in rounds.take(&available, rounds.in_flight() + free) {
            shared.busy_uids().insert(uid);
            let handle = tasks.spawn(request(shared.clone(), uid));
            ids.insert(handle.id(), Some(uid));
        }
        shared.metrics.set_active_requests(tasks.len());
        let slot_free = tasks.len() < concurrency;
        tokio::select! {
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let (id, uid) = match done {
                    Ok((id, uid)) => (id, uid),
                    Err(e) => {
                        tracing::error!(error = %e, "request task failed");
                        (e.id(), None)
                    }
                };
                if let Some(uid) = ids.remove(&id).flatten().or(uid) {
                    shared.busy_uids().remove(&uid);
                    rounds.finish(uid);
                }
            }
            Some(job) = recv(&mut external), if slot_free => {
                let handle = tasks.spawn(external_request(shared.clone(), max_attempts, job));
                ids.insert(handle.id(), None);
            }
            _ = snapshots.changed() => {}
            _ = tokio::time::sleep(IDLE), if tasks.is_empty() => {}
            // An error means the node's handle is gone: stop as well.
            changed = stop.changed() => if changed.is_err() { break },
        }
    }
    // Queued external requests get their answer now rather than at their deadline.
    if let Some(rx) = external.as_mut() {
        rx.close();
        while let Ok(job) = rx.try_recv() {
            let _ = job.reply.send(Err(omron_api::rpc::ErrorObject::new(
                omron_api::rpc::codes::SHUTTING_DOWN,
                "validator shutting down: request not sent to a miner",
            )));
        }
    }
    let in_flight = tasks.len();
    if in_flight > 0 {
        tracing::info!(in_flight, "waiting for requests in flight");
        let drained = tokio::time::timeout(shared.config.shutdown_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                abandoned = tasks.len(),
                "abandoning requests in flight (their inputs stay in the hash guard; no score changes)"
            );
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
    }
    shared.metrics.set_active_requests(0);
}

/// The next external job, or never when the API is off.
async fn recv(external: &mut Option<mpsc::Receiver<Job>>) -> Option<Job> {
    match external {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn external_request(shared: Arc<Shared>, max_attempts: u32, job: Job) -> Option<u16> {
    super::route::serve(shared, max_attempts, job).await;
    None
}

/// One request to `uid`; returns the uid so the pool can close it.
async fn request(shared: Arc<Shared>, uid: u16) -> Option<u16> {
    if let Err(e) = request_inner(&shared, uid).await {
        match e {
            NodeError::Store(_) | NodeError::Task(_) => shared.fail(e),
            other => tracing::warn!(uid, error = %other, "request not sent"),
        }
    }
    Some(uid)
}

/// The outcome of verification.
pub(crate) struct Checked {
    pub(crate) status: RequestStatus,
    pub(crate) verified: bool,
    pub(crate) proof_bytes: u64,
    pub(crate) detail: String,
    /// The proof and its proven output, when it verified.
    pub(crate) proven: Option<(Vec<u8>, serde_json::Value)>,
}

/// What a miner is asked to prove.
#[derive(Debug, Clone)]
pub(crate) enum Ask {
    /// A model input (`QueryZkProof`).
    Computation(omron_circuit::RequestInput),
    /// A scoring batch (`ProofOfWeightsSynapse`).
    Weights(serde_json::Value),
}

/// One answered (or unanswered) request, verified and scored.
pub(crate) struct Asked {
    pub(crate) checked: Checked,
}

async fn request_inner(shared: &Arc<Shared>, uid: u16) -> Result<(), NodeError> {
    let (circuit, ask, sent) = {
        // ThreadRng: a CSPRNG seeded from the OS; the nonce in each input comes from it.
        let mut rng = rand::thread_rng();
        let circuit = shared.circuits.choose(&mut rng).clone();
        let (ask, sent) = draw_ask(&circuit, &mut rng)?;
        (circuit, ask, sent)
    };
    let circuit_id = circuit.id();
    if !shared.with_store(move |s| admit_value(s, &sent)).await? {
        shared.metrics.hash_guard_rejected();
        tracing::warn!(uid, circuit = %circuit_id, "generated input already sent before; request dropped");
        return Ok(());
    }
    let timeout = Duration::from_secs(circuit.timeout_secs());
    ask_and_score(shared, uid, 0, &circuit, &ask, timeout).await?;
    Ok(())
}

/// A fresh benchmark ask for `circuit` (reference §3.4) and the JSON that travels, which the
/// hash guard hashes: a model input with a new nonce (`QueryZkProof`) for a
/// proof-of-computation circuit, a scoring batch with new nonce slots (`ProofOfWeightsSynapse`)
/// for a proof-of-weights one.
fn draw_ask(
    circuit: &StoredCircuit,
    rng: &mut impl rand::RngCore,
) -> Result<(Ask, serde_json::Value), NodeError> {
    if circuit.metadata.circuit_type == CircuitType::ProofOfWeights {
        let inputs = circuit
            .generate_pow_inputs(rng)
            .ok_or_else(|| NodeError::InvalidConfig {
                what: "benchmark circuit",
                reason: format!(
                    "{} ({}) draws no proof-of-weights inputs",
                    circuit.id(),
                    circuit.metadata.name
                ),
            })?;
        Ok((Ask::Weights(inputs.clone()), inputs))
    } else {
        let input = circuit.generate_input(rng);
        let sent = input_json(&input);
        Ok((Ask::Computation(input), sent))
    }
}

/// Asks `uid` (through its dendrite on `lane`, see [`Shared::dendrite`]) to prove `ask` with
/// `circuit`, verifies the answer against the validator's own
/// input, and scores it like any response. `None` when the uid has no dialable axon (nothing
/// was sent, nothing scored).
pub(crate) async fn ask_and_score(
    shared: &Arc<Shared>,
    uid: u16,
    lane: u16,
    circuit: &Arc<StoredCircuit>,
    ask: &Ask,
    timeout: Duration,
) -> Result<Option<Asked>, NodeError> {
    let snapshot = shared.snapshot();
    let Some(neuron) = snapshot.neuron(uid) else {
        return Ok(None);
    };
    let miner_hotkey = neuron.hotkey;
    let miner_ss58 = miner_hotkey.to_ss58();
    let Some(addr) = neuron.axon.socket_addr() else {
        tracing::debug!(uid, "no dialable axon");
        return Ok(None);
    };
    let circuit_id = circuit.id();
    let cid: CircuitId = circuit_id.parse().map_err(|e| NodeError::InvalidConfig {
        what: "circuit id",
        reason: format!("{circuit_id}: {e}"),
    })?;
    let target = AxonTarget {
        ip: addr.ip().to_string(),
        port: addr.port(),
        hotkey: miner_hotkey,
    };
    let dendrite = shared.dendrite(uid, lane)?;
    let bad_input = |e: String| NodeError::InvalidConfig {
        what: "request input",
        reason: e,
    };
    let (process_time, answer) = match ask {
        Ask::Computation(input) => {
            let public_inputs = omron_bittensor::json::to_value(&input_json(input))
                .map_err(|e| bad_input(e.to_string()))?;
            let synapse = QueryZkProof::request(QueryInput::new(&cid, public_inputs));
            let envelope = dendrite.query(&target, synapse, timeout).await;
            let process_time = envelope.base.dendrite.process_time;
            (
                process_time,
                off_runtime(move || read_answer(&envelope)).await?,
            )
        }
        Ask::Weights(inputs) => {
            let object = match omron_bittensor::json::to_value(inputs)
                .map_err(|e| bad_input(e.to_string()))?
            {
                omron_bittensor::json::JsonValue::Object(o) => o,
                _ => return Err(bad_input("a scoring batch must be a JSON object".into())),
            };
            let synapse = ProofOfWeightsSynapse::request(
                circuit.metadata.netuid.unwrap_or(shared.config.netuid),
                cid,
                ProofSystem::default(),
                object,
            );
            let envelope = dendrite.query(&target, synapse, timeout).await;
            let process_time = envelope.base.dendrite.process_time;
            (
                process_time,
                off_runtime(move || read_pow_answer(&envelope)).await?,
            )
        }
    };
    let timeout_secs = timeout.as_secs_f64();
    let response_time = process_time
        .filter(|t| t.is_finite() && *t >= 0.0)
        .unwrap_or(timeout_secs);
    let checked = check(shared, circuit, answer, ask.clone(), miner_hotkey).await?;
    if checked.verified {
        shared.record_circuit_time(&circuit_id, response_time);
    }

    let current = shared.snapshot();
    let ctx = ScoringContext {
        queryable: current.queryable.iter().copied().collect::<BTreeSet<u16>>(),
        n: current.n(),
        block: shared.block(),
        validator_uid: current.validator_uid,
    };
    let scored = ScoredAnswer {
        uid,
        hotkey: miner_ss58.clone(),
        circuit_id: circuit_id.clone(),
        circuit_timeout: circuit.timeout_secs() as f64,
        verified: checked.verified,
        response_time,
        proof_bytes: checked.proof_bytes,
    };
    let mut nonce = [0u16; POW_NONCE_SLOTS];
    for slot in &mut nonce {
        *slot = rand::rngs::OsRng.r#gen();
    }
    let block = ctx.block;
    let log = LoggedRequest {
        created_at_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        block,
        uid,
        hotkey: miner_ss58.clone(),
        circuit_id: circuit_id.clone(),
        // Lane 0 is the benchmark pool's; external requests ask on lanes from 1.
        external: lane > 0,
        status: match checked.status {
            RequestStatus::Verified => LoggedStatus::Verified,
            RequestStatus::Unverified => LoggedStatus::Unverified,
            RequestStatus::Failed => LoggedStatus::Failed,
        },
        response_time,
        proof_bytes: checked.proof_bytes,
        detail: checked.detail.clone(),
        score: 0.0,
    };
    let update = shared
        .with_store(move |s| {
            s.write(|w| {
                let update = score_response(w, &ctx, &scored, &nonce)?;
                // Logged in the same transaction, with the score this response left.
                w.log_request(&LoggedRequest {
                    score: update.score,
                    ..log
                })?;
                Ok(update)
            })
        })
        .await?;
    shared
        .metrics
        .request_finished(&circuit_id, checked.status, response_time);
    tracing::debug!(
        uid,
        hotkey = %miner_ss58,
        circuit = %circuit_id,
        verified = checked.verified,
        response_time,
        proof_bytes = checked.proof_bytes,
        detail = %checked.detail,
        "response scored"
    );
    if let Some((elapsed, window)) =
        shared
            .summary
            .record(checked.verified, response_time, &checked.detail)
    {
        super::summary::log(elapsed, &window);
    }
    publish(shared, uid, &update, block);
    Ok(Some(Asked { checked }))
}

/// Reads an answer on a blocking thread: a hostile miner's 40 MB answer took seconds to
/// decode in a debug build, which must not stall the runtime every other request runs on.
/// A panic is passed on as if the reader ran here (it ends this request's task only).
async fn off_runtime(read: impl FnOnce() -> Answer + Send + 'static) -> Result<Answer, NodeError> {
    match tokio::task::spawn_blocking(read).await {
        Ok(answer) => Ok(answer),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(NodeError::Task(format!("reading an answer: {e}"))),
    }
}

/// Verifies an answer against the input the validator sent and the metagraph's hotkey.
async fn check(
    shared: &Arc<Shared>,
    circuit: &Arc<StoredCircuit>,
    answer: Answer,
    ask: Ask,
    miner_hotkey: omron_keys::AccountId,
) -> Result<Checked, NodeError> {
    let circuit_id = circuit.id();
    match answer {
        Answer::NoAnswer { status, message } => Ok(Checked {
            status: RequestStatus::Failed,
            verified: false,
            proof_bytes: 0,
            detail: format!("no answer (status {status:?}: {message})"),
            proven: None,
        }),
        Answer::Malformed { reason } => {
            shared
                .metrics
                .verified(&circuit_id, VerificationResult::Malformed, None, None);
            Ok(Checked {
                status: RequestStatus::Unverified,
                verified: false,
                proof_bytes: 0,
                detail: reason,
                proven: None,
            })
        }
        Answer::Proof { proof, claimed } => {
            let bytes = proof.len();
            let circuit = circuit.clone();
            let started = Instant::now();
            let result = tokio::task::spawn_blocking(move || {
                let hotkey = miner_hotkey.as_bytes();
                match (ask, claimed) {
                    (Ask::Computation(input), Claimed::Floats(out)) => circuit
                        .verify_response(&input, hotkey, &proof, Some(&out))
                        .map(|o| serde_json::json!(o)),
                    (Ask::Weights(inputs), Claimed::Columns(out)) => circuit
                        .verify_pow(&inputs, hotkey, &proof, Some(&out))
                        .map(|o| serde_json::json!(o)),
                    _ => Err(omron_circuit::VerifyError::Output(
                        "the answer's outputs are not of the kind asked".into(),
                    )),
                }
                .map(|out| (proof, out))
            })
            .await
            .map_err(|e| NodeError::Task(format!("verification: {e}")))?;
            let took = started.elapsed().as_secs_f64();
            let (result_kind, detail, proven) = match result {
                Ok(p) => (
                    VerificationResult::Valid,
                    "proof verified".to_owned(),
                    Some(p),
                ),
                Err(e) => (
                    VerificationResult::Invalid,
                    format!("proof rejected: {e}"),
                    None,
                ),
            };
            let verified = proven.is_some();
            shared
                .metrics
                .verified(&circuit_id, result_kind, Some(bytes), Some(took));
            Ok(Checked {
                status: if verified {
                    RequestStatus::Verified
                } else {
                    RequestStatus::Unverified
                },
                verified,
                proof_bytes: bytes as u64,
                detail,
                proven,
            })
        }
    }
}

/// Feeds the metrics and hands an applied batch to the prover.
fn publish(shared: &Arc<Shared>, uid: u16, update: &ScoreUpdate, block: u64) {
    let m = &shared.metrics;
    m.set_score(uid, update.score);
    for z in &update.zeroed {
        m.set_score(*z, 0.0);
    }
    let Some(batch) = &update.batch else {
        return;
    };
    match &batch.outcome {
        Ok(applied) => {
            m.pow_batch(true);
            for (u, s) in applied {
                m.set_score(*u, *s);
            }
            tracing::info!(
                step = batch.step,
                items = applied.len(),
                "score batch applied"
            );
            if let (Some(jobs), Some(inputs)) = (&shared.pow_jobs, &batch.inputs) {
                let job = PowJob {
                    step: batch.step,
                    block,
                    inputs: inputs.clone(),
                };
                if jobs.try_send(job).is_err() {
                    m.pow_proof(false);
                    tracing::error!(
                        step = batch.step,
                        "proof-of-weights queue full: this batch will not be proven"
                    );
                }
            }
        }
        Err(e) => {
            m.pow_batch(false);
            tracing::warn!(step = batch.step, error = %e, "score batch failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(name: &str) -> StoredCircuit {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../circuits")
            .join(name);
        StoredCircuit::load(&dir).unwrap()
    }

    #[test]
    fn a_proof_of_weights_circuit_is_asked_for_a_fresh_scoring_batch() {
        let circuit = shipped("sn48-pow-256");
        let mut rng = rand::thread_rng();
        let (ask, sent) = draw_ask(&circuit, &mut rng).unwrap();
        let Ask::Weights(inputs) = ask else {
            panic!("a proof-of-weights circuit gets a ProofOfWeightsSynapse");
        };
        // What travels is what is hashed and what the answer is verified against.
        assert_eq!(inputs, sent);
        assert!(circuit.pow_columns(&inputs).is_ok(), "the circuit takes it");
        let (_, again) = draw_ask(&circuit, &mut rng).unwrap();
        assert_ne!(sent["nonce"], again["nonce"], "a fresh nonce every time");
    }

    #[test]
    fn a_proof_of_computation_circuit_is_asked_for_a_model_input() {
        let circuit = shipped("mnist-mlp");
        let (ask, sent) = draw_ask(&circuit, &mut rand::thread_rng()).unwrap();
        let Ask::Computation(input) = ask else {
            panic!("a proof-of-computation circuit gets a QueryZkProof");
        };
        assert_eq!(input_json(&input), sent);
        assert_eq!(input.input_data[0].len(), 784);
    }

    #[test]
    fn a_proof_of_weights_circuit_without_a_scoring_generator_is_an_error() {
        let mut circuit = shipped("sn48-pow-256");
        circuit.metadata.input_generator = omron_circuit::InputGenerator::Uniform {
            low: 0.0,
            high: 1.0,
        };
        assert!(matches!(
            draw_ask(&circuit, &mut rand::thread_rng()),
            Err(NodeError::InvalidConfig { .. })
        ));
    }
}
