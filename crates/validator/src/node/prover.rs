//! The proof-of-weights worker: proves applied score batches one at a time, checks each proof,
//! and archives it with the exact circuit inputs.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use omron_scoring::{hash_hex, input_hash};
use tokio::sync::mpsc;

use super::Shared;
use crate::pow::BatchProver;
use crate::store::NewArchivedProof;

// The request pool (a sibling) queues jobs under this name.
pub(super) use crate::pow::PowJob;

/// Batches waiting to be proven at most; a full queue drops (and counts) the newest.
pub(super) const QUEUE: usize = 8;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Proves jobs until shutdown (a batch being proven is finished first).
pub(super) async fn run(
    shared: Arc<Shared>,
    prover: Arc<dyn BatchProver>,
    mut jobs: mpsc::Receiver<PowJob>,
) {
    let mut stop = shared.stop.clone();
    loop {
        let job = tokio::select! {
            job = jobs.recv() => match job { Some(j) => j, None => return },
            _ = stop.changed() => return,
        };
        let step = job.step;
        match prove_and_archive(&shared, prover.clone(), job).await {
            Ok(id) => {
                shared.metrics.pow_proof(true);
                tracing::info!(step, archive_id = id, "score batch proven and archived");
            }
            Err(reason) => {
                shared.metrics.pow_proof(false);
                tracing::error!(step, %reason, "score batch not proven");
            }
        }
    }
}

async fn prove_and_archive(
    shared: &Arc<Shared>,
    prover: Arc<dyn BatchProver>,
    job: PowJob,
) -> Result<i64, String> {
    let inputs_value = job.inputs.to_json();
    let request_hash = hash_hex(&input_hash(&inputs_value));
    let inputs_json = inputs_value.to_string();
    let circuit_id = prover.circuit_id();
    let inputs = job.inputs;
    let (proof, prove_secs, verified, verify_secs) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let proof = prover.prove(&inputs)?;
        let prove_secs = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let verified = match prover.verify(&inputs, &proof) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "our own score-batch proof does not verify");
                false
            }
        };
        Ok::<_, crate::pow::ProverError>((
            proof,
            prove_secs,
            verified,
            started.elapsed().as_secs_f64(),
        ))
    })
    .await
    .map_err(|e| format!("prover task: {e}"))?
    .map_err(|e| e.to_string())?;
    let output_json = serde_json::to_string(&proof.public_outputs).unwrap_or_else(|_| "[]".into());
    let entry = NewArchivedProof {
        request_hash,
        circuit_id,
        miner_uid: shared.snapshot().validator_uid,
        miner_hotkey: shared.hotkey_ss58.clone(),
        inputs_json,
        output_json,
        proof: proof.proof,
        verified,
        response_time: prove_secs,
        verification_time: Some(verify_secs),
        block: Some(job.block),
        created_at_ms: now_ms(),
    };
    shared
        .with_store(move |s| s.archive_proof(&entry))
        .await
        .map_err(|e| e.to_string())
}
