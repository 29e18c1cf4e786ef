//! Proof of weights: the seam through which the validator proves its score updates.
//!
//! Every 256-item batch the validator applies (reference §5.5) is a [`CircuitInputs`] of the
//! SN2 scoring circuit. A [`BatchProver`] proves such a batch with our engine; the node calls it
//! off the async runtime after the batch's scores are committed, checks the proof with
//! [`BatchProver::verify`], and archives it with the exact inputs (the JSON of
//! [`CircuitInputs::to_json`]) in the store's proof archive, so anyone can re-verify it later.
//! Archive entries of batch proofs carry the prover's circuit id and the validator's own uid
//! and hotkey.
//!
//! The node takes an `Option<Arc<dyn BatchProver>>`: `None` means proof of weights is not
//! enabled, which the node logs once at startup; scores are still computed exactly (by
//! [`CircuitInputs::evaluate`], the circuit's arithmetic), just not proven.

use omron_scoring::CircuitInputs;

/// A proof of one batch and the circuit's public outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchProof {
    /// The proof bytes.
    pub proof: Vec<u8>,
    /// The circuit's public outputs, tensor by tensor, as the engine reports them (for the
    /// scoring circuit: the new scores, then the copied block numbers, miner and validator
    /// uids).
    pub public_outputs: Vec<Vec<i64>>,
}

/// One applied batch to prove, queued by the request pool for the node's prover task.
#[derive(Debug, Clone)]
pub(crate) struct PowJob {
    /// The PoW queue step of the batch.
    pub(crate) step: u64,
    /// The block at which it was applied.
    pub(crate) block: u64,
    /// The exact circuit inputs whose outputs became the scores.
    pub(crate) inputs: CircuitInputs,
}

/// Why a batch could not be proven.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("proving the score batch failed: {0}")]
pub struct ProverError(pub String);

/// Proves score-update batches. Implementations are called from a blocking thread and may
/// take seconds.
pub trait BatchProver: Send + Sync {
    /// The id of the circuit proofs are made with (stored with each archived proof).
    fn circuit_id(&self) -> String;

    /// Proves one batch.
    fn prove(&self, inputs: &CircuitInputs) -> Result<BatchProof, ProverError>;

    /// Checks a proof of `inputs` (the node checks its own proofs before archiving them, and
    /// records the result in the archive entry's `verified`).
    fn verify(&self, inputs: &CircuitInputs, proof: &BatchProof) -> Result<(), ProverError>;
}

/// The SN2 scoring circuit from the circuit store as the batch prover: proves each batch with
/// the validator's own hotkey bound into the proof (anyone can re-verify an archived proof with
/// the same circuit, inputs and hotkey).
pub struct StoredCircuitProver {
    circuit: omron_circuit::StoredCircuit,
    hotkey: [u8; 32],
}

impl StoredCircuitProver {
    /// The first proof-of-weights circuit of `store` for batches of `batch` items, if any.
    pub fn from_store(
        store: &omron_circuit::CircuitStore,
        batch: usize,
        hotkey: [u8; 32],
    ) -> Option<StoredCircuitProver> {
        store
            .iter()
            .find(|c| {
                c.metadata.input_generator == omron_circuit::InputGenerator::Sn2Scoring { batch }
            })
            .map(|c| StoredCircuitProver {
                circuit: c.clone(),
                hotkey,
            })
    }
}

impl BatchProver for StoredCircuitProver {
    fn circuit_id(&self) -> String {
        self.circuit.id()
    }

    fn prove(&self, inputs: &CircuitInputs) -> Result<BatchProof, ProverError> {
        let (proof, public_outputs) = self
            .circuit
            .prove_pow(&inputs.to_json(), &self.hotkey)
            .map_err(|e| ProverError(e.to_string()))?;
        Ok(BatchProof {
            proof,
            public_outputs,
        })
    }

    fn verify(&self, inputs: &CircuitInputs, proof: &BatchProof) -> Result<(), ProverError> {
        self.circuit
            .verify_pow(
                &inputs.to_json(),
                &self.hotkey,
                &proof.proof,
                Some(&proof.public_outputs),
            )
            .map(|_| ())
            .map_err(|e| ProverError(e.to_string()))
    }
}
