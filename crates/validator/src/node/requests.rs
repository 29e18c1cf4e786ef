//! The request pool and the life of one request: prepare a benchmark input, query the miner,
//! verify the answer off the async runtime, score it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use omron_bittensor::dendrite::AxonTarget;
use omron_circuit::StoredCircuit;
use omron_protocol::{CircuitId, QueryInput, QueryZkProof};
use omron_scoring::constants::POW_NONCE_SLOTS;
use rand::Rng;
use tokio::task::JoinSet;

use super::Shared;
use super::prover::PowJob;
use crate::answer::{Answer, read_answer};
use crate::benchmark::{admit, input_json};
use crate::error::NodeError;
use crate::metrics::{RequestStatus, VerificationResult};
use crate::pool::RoundTracker;
use crate::scorer::{ScoreUpdate, ScoredAnswer, ScoringContext, score_response};

/// How long the pool sleeps when there is nobody to query, unless the metagraph changes.
const IDLE: Duration = Duration::from_secs(1);

/// Runs the pool until shutdown, then gives requests in flight `shutdown_grace` to end.
pub(super) async fn run(shared: Arc<Shared>) {
    let mut rounds = RoundTracker::new();
    let mut tasks: JoinSet<u16> = JoinSet::new();
    let mut ids: HashMap<tokio::task::Id, u16> = HashMap::new();
    let mut snapshots = shared.snapshot.subscribe();
    let mut stop = shared.stop.clone();
    let concurrency = shared.config.concurrency;
    loop {
        if shared.stopping() {
            break;
        }
        let queryable = snapshots.borrow_and_update().queryable.clone();
        if rounds.maybe_start_new_round(&queryable) {
            tracing::debug!(rounds = rounds.rounds_completed(), "request round complete");
        }
        for uid in rounds.take(&queryable, concurrency) {
            let handle = tasks.spawn(request(shared.clone(), uid));
            ids.insert(handle.id(), uid);
        }
        shared.metrics.set_active_requests(tasks.len());
        tokio::select! {
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let (id, uid) = match done {
                    Ok((id, uid)) => (id, Some(uid)),
                    Err(e) => {
                        tracing::error!(error = %e, "request task failed");
                        (e.id(), None)
                    }
                };
                if let Some(uid) = ids.remove(&id).or(uid) {
                    rounds.finish(uid);
                }
            }
            _ = snapshots.changed() => {}
            _ = tokio::time::sleep(IDLE), if tasks.is_empty() => {}
            // An error means the node's handle is gone: stop as well.
            changed = stop.changed() => if changed.is_err() { break },
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

/// One request to `uid`; returns the uid so the pool can close it.
async fn request(shared: Arc<Shared>, uid: u16) -> u16 {
    if let Err(e) = request_inner(&shared, uid).await {
        match e {
            NodeError::Store(_) | NodeError::Task(_) => shared.fail(e),
            other => tracing::warn!(uid, error = %other, "request not sent"),
        }
    }
    uid
}

/// The outcome of verification.
struct Checked {
    status: RequestStatus,
    verified: bool,
    proof_bytes: u64,
    detail: String,
}

async fn request_inner(shared: &Arc<Shared>, uid: u16) -> Result<(), NodeError> {
    let snapshot = shared.snapshot();
    let Some(neuron) = snapshot.neuron(uid) else {
        return Ok(());
    };
    let miner_hotkey = neuron.hotkey;
    let miner_ss58 = miner_hotkey.to_ss58();
    let Some(addr) = neuron.axon.socket_addr() else {
        tracing::debug!(uid, "no dialable axon");
        return Ok(());
    };
    let (circuit, input) = {
        // ThreadRng: a CSPRNG seeded from the OS; the nonce in each input comes from it.
        let mut rng = rand::thread_rng();
        let circuit = shared.circuits.choose(&mut rng).clone();
        let input = circuit.generate_input(&mut rng);
        (circuit, input)
    };
    let circuit_id = circuit.id();
    let admitted = {
        let input = input.clone();
        shared.with_store(move |s| admit(s, &input)).await?
    };
    if admitted.is_none() {
        shared.metrics.hash_guard_rejected();
        tracing::warn!(uid, circuit = %circuit_id, "generated input already sent before; request dropped");
        return Ok(());
    }
    let cid: CircuitId = circuit_id.parse().map_err(|e| NodeError::InvalidConfig {
        what: "circuit id",
        reason: format!("{circuit_id}: {e}"),
    })?;
    let public_inputs = omron_bittensor::json::to_value(&input_json(&input)).map_err(|e| {
        NodeError::InvalidConfig {
            what: "request input",
            reason: e.to_string(),
        }
    })?;
    let synapse = QueryZkProof::request(QueryInput::new(&cid, public_inputs));
    let timeout = circuit.timeout_secs() as f64;
    let target = AxonTarget {
        ip: addr.ip().to_string(),
        port: addr.port(),
        hotkey: miner_hotkey,
    };
    let dendrite = shared.dendrite(uid)?;
    let envelope = dendrite
        .query(&target, synapse, Duration::from_secs_f64(timeout))
        .await;
    let response_time = envelope
        .base
        .dendrite
        .process_time
        .filter(|t| t.is_finite() && *t >= 0.0)
        .unwrap_or(timeout);
    let checked = check(
        shared,
        &circuit,
        read_answer(&envelope),
        input,
        miner_hotkey,
    )
    .await?;

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
        circuit_timeout: timeout,
        verified: checked.verified,
        response_time,
        proof_bytes: checked.proof_bytes,
    };
    let mut nonce = [0u16; POW_NONCE_SLOTS];
    for slot in &mut nonce {
        *slot = rand::rngs::OsRng.r#gen();
    }
    let block = ctx.block;
    let update = shared
        .with_store(move |s| s.write(|w| score_response(w, &ctx, &scored, &nonce)))
        .await?;
    shared
        .metrics
        .request_finished(&circuit_id, checked.status, response_time);
    tracing::info!(
        uid,
        hotkey = %miner_ss58,
        circuit = %circuit_id,
        verified = checked.verified,
        response_time,
        proof_bytes = checked.proof_bytes,
        detail = %checked.detail,
        "response scored"
    );
    publish(shared, uid, &update, block);
    Ok(())
}

/// Verifies an answer against the input the validator sent and the metagraph's hotkey.
async fn check(
    shared: &Arc<Shared>,
    circuit: &Arc<StoredCircuit>,
    answer: Answer,
    input: omron_circuit::RequestInput,
    miner_hotkey: omron_keys::AccountId,
) -> Result<Checked, NodeError> {
    let circuit_id = circuit.id();
    match answer {
        Answer::NoAnswer { status, message } => Ok(Checked {
            status: RequestStatus::Failed,
            verified: false,
            proof_bytes: 0,
            detail: format!("no answer (status {status:?}: {message})"),
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
            })
        }
        Answer::Proof { proof, outputs } => {
            let bytes = proof.len();
            let circuit = circuit.clone();
            let started = Instant::now();
            let result = tokio::task::spawn_blocking(move || {
                circuit.verify_response(&input, miner_hotkey.as_bytes(), &proof, Some(&outputs))
            })
            .await
            .map_err(|e| NodeError::Task(format!("verification: {e}")))?;
            let took = started.elapsed().as_secs_f64();
            let (result_kind, verified, detail) = match result {
                Ok(_) => (VerificationResult::Valid, true, "proof verified".to_owned()),
                Err(e) => (
                    VerificationResult::Invalid,
                    false,
                    format!("proof rejected: {e}"),
                ),
            };
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
