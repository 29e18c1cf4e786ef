//! One external request in the request pool: a miner chosen by score, asked with the app's
//! input, its proof verified against that input (never the miner's claim), the response
//! scored like any other, and on a failure another miner, until one proves it, the attempts
//! run out or the request's time budget does. Only a verified proof is ever answered, with a
//! receipt signed by the validator's hotkey; every request is archived.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use omron_api::rpc::{ErrorObject, InferenceResult, ProofContext, codes};
use omron_api::{UnsignedReceipt, canonical, receipt::RECEIPT_VERSION};
use rand::distributions::{Distribution, WeightedIndex};
use serde_json::{Value, json};

use super::Shared;
use super::requests::{Ask, ask_and_score};
use crate::error::NodeError;
use crate::external_state::{Job, JobInput};
use crate::store::{ExternalRecord, ProvenRecord};

/// A miner with no score yet still gets this much weight, so newcomers are tried too.
const SCORE_FLOOR: f64 = 0.05;
/// An attempt with less time than this left is not started.
const MIN_ATTEMPT: Duration = Duration::from_secs(1);

/// Picks a queryable miner not tried yet, by score (weighted at random, so not always the same
/// one), preferring miners with no request in flight; marks it busy.
fn claim_miner(shared: &Shared, tried: &BTreeSet<u16>) -> Option<u16> {
    let snapshot = shared.snapshot();
    let candidates: Vec<u16> = snapshot
        .queryable
        .iter()
        .copied()
        .filter(|u| !tried.contains(u))
        .collect();
    let mut busy = shared.busy_uids();
    let idle: Vec<u16> = candidates
        .iter()
        .copied()
        .filter(|u| !busy.contains(u))
        .collect();
    let pool = if idle.is_empty() { candidates } else { idle };
    let weights: Vec<f64> = pool
        .iter()
        .map(|u| shared.metrics.score(*u).unwrap_or(0.0).max(0.0) + SCORE_FLOOR)
        .collect();
    let index = WeightedIndex::new(&weights).ok()?;
    let uid = pool[index.sample(&mut rand::thread_rng())];
    busy.insert(uid);
    Some(uid)
}

/// Serves one job to the end; the caller holds its pool slot.
pub(super) async fn serve(shared: Arc<Shared>, max_attempts: u32, job: Job) {
    let Job {
        method,
        origin,
        circuit,
        input,
        request_hash,
        received,
        deadline,
        reply,
    } = job;
    let (ask, proven_input) = match &input {
        JobInput::Computation { input } => (
            Ask::Computation(input.clone()),
            crate::benchmark::input_json(input),
        ),
        JobInput::Weights { evaluation_data } => (
            Ask::Weights(evaluation_data.clone()),
            evaluation_data.clone(),
        ),
    };
    let mut tried = BTreeSet::new();
    let mut failures: Vec<String> = Vec::new();
    let mut success = None;
    while (tried.len() as u32) < max_attempts && !shared.stopping() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left < MIN_ATTEMPT {
            failures.push("time budget spent".into());
            break;
        }
        let Some(uid) = claim_miner(&shared, &tried) else {
            if tried.is_empty() {
                failures.push("no miner to ask: no queryable uid".into());
            }
            break;
        };
        if !tried.is_empty() {
            shared.metrics.external_retry();
        }
        tried.insert(uid);
        let timeout = Duration::from_secs(circuit.timeout_secs()).min(left);
        let lane = shared.claim_lane(uid);
        let asked = ask_and_score(&shared, uid, lane, &circuit, &ask, timeout).await;
        shared.release_lane(uid, lane);
        shared.busy_uids().remove(&uid);
        match asked {
            Ok(Some(a)) => match a.checked.proven {
                Some(proven) => {
                    success = Some((uid, proven));
                    break;
                }
                None => failures.push(format!("uid {uid}: {}", a.checked.detail)),
            },
            Ok(None) => failures.push(format!("uid {uid}: no dialable axon")),
            Err(e @ (NodeError::Store(_) | NodeError::Task(_))) => {
                failures.push(format!("uid {uid}: {e}"));
                shared.fail(e);
                break;
            }
            Err(e) => failures.push(format!("uid {uid}: {e}")),
        }
    }
    let latency = received.elapsed().as_secs_f64();
    let block = shared.block();
    let snapshot = shared.snapshot();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut record = ExternalRecord {
        request_hash: request_hash.clone(),
        method: method.to_owned(),
        origin: origin.to_ss58(),
        circuit_id: circuit.id(),
        status: "failed".into(),
        error: None,
        attempts: tried.len() as u32,
        latency_ms: latency * 1000.0,
        block,
        created_at_ms: now_ms,
        proven: None,
    };
    let answer = match success {
        Some((uid, (proof, output))) => {
            let miner_hotkey = snapshot
                .neuron(uid)
                .map(|n| n.hotkey.to_ss58())
                .unwrap_or_default();
            let receipt = UnsignedReceipt {
                version: RECEIPT_VERSION,
                request_hash: request_hash.clone(),
                method: method.to_owned(),
                circuit_id: circuit.id(),
                input_hash: canonical::hash(&proven_input),
                output: output.clone(),
                proof_hash: canonical::sha256_hex(&proof),
                miner_uid: uid,
                miner_hotkey: miner_hotkey.clone(),
                validator_hotkey: shared.hotkey_ss58.clone(),
                netuid: shared.config.netuid,
                block,
                issued_at: now_ms / 1000,
            }
            .sign(&shared.hotkey);
            let proof_hex = hex::encode(&proof);
            let nonce = match &input {
                JobInput::Computation { input } => Some(input.nonce.clone()),
                JobInput::Weights { .. } => None,
            };
            let result = InferenceResult {
                hash: request_hash.clone(),
                public_signals: canonical::to_string(&output),
                proof: proof_hex.clone(),
                success: true,
                circuit_id: circuit.id(),
                circuit_name: circuit.metadata.name.clone(),
                miner_uid: uid,
                miner_hotkey: miner_hotkey.clone(),
                output: output.clone(),
                context: ProofContext {
                    input: proven_input.clone(),
                    nonce,
                    miner_hotkey: miner_hotkey.clone(),
                },
                receipt: receipt.clone(),
                attempts: tried.len() as u32,
            };
            record.status = "verified".into();
            record.proven = Some(ProvenRecord {
                context: proven_input.clone(),
                output,
                proof: proof_hex,
                receipt: serde_json::to_value(&receipt).unwrap_or(Value::Null),
                miner_uid: uid,
                miner_hotkey,
            });
            serde_json::to_value(&result).map_err(|e| {
                ErrorObject::new(
                    codes::INTERNAL_ERROR,
                    format!("cannot encode the answer: {e}"),
                )
            })
        }
        None => {
            let reason = if failures.is_empty() {
                "validator shutting down".to_owned()
            } else {
                failures.join("; ")
            };
            record.error = Some(reason.clone());
            Err(
                ErrorObject::new(codes::REQUEST_FAILED, "Request processing failed")
                    .with_data(json!({ "attempts": tried.len(), "reason": reason })),
            )
        }
    };
    let result_label = if answer.is_ok() { "verified" } else { "failed" };
    shared
        .metrics
        .external_request(method, result_label, Some(latency));
    tracing::info!(
        method,
        origin = %record.origin,
        circuit = %record.circuit_id,
        attempts = record.attempts,
        result = result_label,
        latency_ms = record.latency_ms,
        error = record.error.as_deref().unwrap_or(""),
        "external request answered"
    );
    let archived = shared
        .with_store(move |s| s.write(|w| w.archive_external(&record)))
        .await;
    if let Err(e) = archived {
        tracing::error!(error = %e, "external request not archived");
    }
    let _ = reply.send(answer);
}
