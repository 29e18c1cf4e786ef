//! [`ProofService`]: proves requests with the circuit store, at most `max_concurrent_proofs`
//! at a time, off the async runtime.
//!
//! A request that finds every slot busy waits (up to its own timeout) while fewer than
//! `max_waiting_proofs` requests are waiting; beyond that it is turned away at once with
//! [`ProveError::Busy`], so a flood cannot pile up unbounded work behind the axon.

use std::sync::Arc;
use std::time::{Duration, Instant};

use omron_circuit::{CircuitError, CircuitStore, CircuitType, RequestInput, StoredCircuit};
use tokio::sync::Semaphore;

use crate::config::DevOptions;
use crate::metrics::MinerMetrics;

/// A finished proof.
#[derive(Debug, Clone)]
pub struct Proved {
    /// The proof bytes (corrupted when the dev `faulty` option is on).
    pub proof: Vec<u8>,
    /// The dequantised outputs.
    pub outputs: Vec<f64>,
    /// Time spent proving.
    pub prove_time: Duration,
}

/// A finished proof-of-weights proof.
#[derive(Debug, Clone)]
pub struct ProvedPow {
    /// The proof bytes (corrupted when the dev `faulty` option is on).
    pub proof: Vec<u8>,
    /// The circuit's public outputs (for the SN2 scoring circuit: the new scores and the
    /// miner uids, scaled integers).
    pub outputs: Vec<Vec<i64>>,
    /// Time spent proving.
    pub prove_time: Duration,
}

/// Why a request got no proof.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The store has no circuit with this id.
    #[error("no circuit {id} in the store")]
    UnknownCircuit {
        /// The requested id.
        id: String,
    },
    /// The circuit exists but is not of the type the synapse needs.
    #[error("circuit {id} is a {actual:?} circuit, expected {expected:?}")]
    WrongType {
        /// The circuit.
        id: String,
        /// What the synapse needs.
        expected: CircuitType,
        /// What the circuit is.
        actual: CircuitType,
    },
    /// Every slot is busy and the wait queue is full.
    #[error("busy: {in_flight} proofs running, {waiting} waiting (limit {max_waiting})")]
    Busy {
        /// Proofs running.
        in_flight: usize,
        /// Requests waiting.
        waiting: usize,
        /// The wait-queue limit.
        max_waiting: usize,
    },
    /// No slot freed up within the request's time.
    #[error("no proof slot freed up within {waited_ms} ms")]
    WaitTimeout {
        /// How long the request waited.
        waited_ms: u64,
    },
    /// The input does not fit the circuit (or the proof failed).
    #[error("prover: {0}")]
    Prover(#[from] omron_circuit::CircuitError),
    /// The proving task died.
    #[error("the proving task panicked or was cancelled: {0}")]
    Task(String),
}

/// Proves requests for one miner hotkey.
#[derive(Debug)]
pub struct ProofService {
    store: Arc<CircuitStore>,
    hotkey: [u8; 32],
    slots: Arc<Semaphore>,
    max_concurrent: usize,
    max_waiting: usize,
    waiting: std::sync::atomic::AtomicUsize,
    metrics: Arc<MinerMetrics>,
    dev: DevOptions,
}

impl ProofService {
    /// A service proving as `hotkey` with `max_concurrent` slots (at least one) and at most
    /// `max_waiting` waiting requests.
    pub fn new(
        store: Arc<CircuitStore>,
        hotkey: [u8; 32],
        max_concurrent: usize,
        max_waiting: usize,
        metrics: Arc<MinerMetrics>,
        dev: DevOptions,
    ) -> Self {
        let max_concurrent = max_concurrent.max(1);
        Self {
            store,
            hotkey,
            slots: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
            max_waiting,
            waiting: std::sync::atomic::AtomicUsize::new(0),
            metrics,
            dev,
        }
    }

    /// The circuit store.
    pub fn store(&self) -> &CircuitStore {
        &self.store
    }

    /// Proves `input` on proof-of-computation circuit `id`, waiting at most `max_wait` for a
    /// slot.
    pub async fn prove(
        &self,
        id: &str,
        kind: CircuitType,
        input: RequestInput,
        max_wait: Duration,
    ) -> Result<Proved, ProveError> {
        let (proof, outputs, prove_time) = self
            .run(id, kind, max_wait, move |c, hotkey| {
                c.prove_request(&input, hotkey)
            })
            .await?;
        Ok(Proved {
            proof,
            outputs,
            prove_time,
        })
    }

    /// Proves a proof-of-weights request (`inputs` as the circuit's JSON, e.g. the SN2 scoring
    /// batch) on circuit `id`, waiting at most `max_wait` for a slot.
    pub async fn prove_pow(
        &self,
        id: &str,
        inputs: serde_json::Value,
        max_wait: Duration,
    ) -> Result<ProvedPow, ProveError> {
        let (proof, outputs, prove_time) = self
            .run(
                id,
                CircuitType::ProofOfWeights,
                max_wait,
                move |c, hotkey| c.prove_pow(&inputs, hotkey),
            )
            .await?;
        Ok(ProvedPow {
            proof,
            outputs,
            prove_time,
        })
    }

    /// Checks the circuit, takes a slot, proves on a blocking thread, applies the dev
    /// `faulty` behaviour and records the metrics.
    async fn run<T, F>(
        &self,
        id: &str,
        kind: CircuitType,
        max_wait: Duration,
        prove: F,
    ) -> Result<(Vec<u8>, T, Duration), ProveError>
    where
        T: Send + 'static,
        F: FnOnce(&StoredCircuit, &[u8; 32]) -> Result<(Vec<u8>, T), CircuitError> + Send + 'static,
    {
        let circuit = self
            .store
            .get(id)
            .ok_or_else(|| ProveError::UnknownCircuit { id: id.to_owned() })?;
        if circuit.metadata.circuit_type != kind {
            return Err(ProveError::WrongType {
                id: id.to_owned(),
                expected: kind,
                actual: circuit.metadata.circuit_type,
            });
        }
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => self.wait_for_slot(max_wait).await?,
        };
        let _in_flight = self.metrics.proof_started();
        let store = self.store.clone();
        let hotkey = self.hotkey;
        let id_owned = id.to_owned();
        let start = Instant::now();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            match store.get(&id_owned) {
                Some(c) => prove(c, &hotkey).map_err(ProveError::from),
                None => Err(ProveError::UnknownCircuit { id: id_owned }),
            }
        })
        .await
        .map_err(|e| ProveError::Task(e.to_string()))?;
        let prove_time = start.elapsed();
        let (mut proof, outputs) = result?;
        if self.dev.faulty {
            corrupt(&mut proof);
        }
        self.metrics
            .observe_proof(id, prove_time.as_secs_f64(), proof.len());
        Ok((proof, outputs, prove_time))
    }

    async fn wait_for_slot(
        &self,
        max_wait: Duration,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, ProveError> {
        use std::sync::atomic::Ordering;
        let waiting = self.waiting.fetch_add(1, Ordering::SeqCst);
        // Undo the count however this function ends.
        struct Leave<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _leave = Leave(&self.waiting);
        if waiting >= self.max_waiting {
            return Err(ProveError::Busy {
                in_flight: self.max_concurrent - self.slots.available_permits(),
                waiting,
                max_waiting: self.max_waiting,
            });
        }
        let _gauge = self.metrics.wait_started();
        let start = Instant::now();
        match tokio::time::timeout(max_wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; treat it like a timeout all the same.
            Ok(Err(_)) | Err(_) => Err(ProveError::WaitTimeout {
                waited_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }

    #[cfg(test)]
    fn slots(&self) -> Arc<Semaphore> {
        self.slots.clone()
    }
}

/// The dev `faulty` behaviour: flips bits spread over the whole proof, so it still looks like
/// a proof of the right size but cannot verify.
fn corrupt(proof: &mut [u8]) {
    let n = proof.len();
    if n == 0 {
        // An empty proof never verifies already.
        return;
    }
    for i in (0..n).step_by((n / 16).max(1)) {
        proof[i] ^= 0x5a;
    }
    proof[n / 2] ^= 0xff;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn store() -> Arc<CircuitStore> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../circuits");
        let all = CircuitStore::load(&dir).unwrap();
        let mlp = all
            .iter()
            .find(|c| c.path.ends_with("mnist-mlp"))
            .unwrap()
            .clone();
        Arc::new(CircuitStore::from_circuits(vec![mlp]))
    }

    fn service(
        store: Arc<CircuitStore>,
        slots: usize,
        waiting: usize,
        dev: DevOptions,
    ) -> ProofService {
        ProofService::new(
            store,
            [7; 32],
            slots,
            waiting,
            Arc::new(MinerMetrics::new()),
            dev,
        )
    }

    fn input(store: &CircuitStore) -> (String, RequestInput) {
        use rand::SeedableRng;
        let c = store.iter().next().unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        (c.id(), c.generate_input(&mut rng))
    }

    #[tokio::test]
    async fn proves_verifiable_proofs_and_faulty_ones_that_are_not() {
        let store = store();
        let (id, req) = input(&store);
        let honest = service(store.clone(), 1, 1, DevOptions::default());
        let p = honest
            .prove(
                &id,
                CircuitType::ProofOfComputation,
                req.clone(),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        let c = store.get(&id).unwrap();
        let proven = c
            .verify_response(&req, &[7; 32], &p.proof, Some(&p.outputs))
            .unwrap();
        assert_eq!(proven, p.outputs);
        // Bound to the hotkey: another miner's key does not verify.
        assert!(c.verify_response(&req, &[8; 32], &p.proof, None).is_err());

        let faulty = service(
            store.clone(),
            1,
            1,
            DevOptions {
                faulty: true,
                ..DevOptions::default()
            },
        );
        let f = faulty
            .prove(
                &id,
                CircuitType::ProofOfComputation,
                req.clone(),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(f.proof.len(), p.proof.len());
        assert!(c.verify_response(&req, &[7; 32], &f.proof, None).is_err());
    }

    #[tokio::test]
    async fn unknown_and_wrong_type_circuits_are_refused() {
        let store = store();
        let (id, req) = input(&store);
        let s = service(store, 1, 1, DevOptions::default());
        let e = s
            .prove(
                &"0".repeat(64),
                CircuitType::ProofOfComputation,
                req.clone(),
                Duration::ZERO,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, ProveError::UnknownCircuit { .. }), "{e}");
        let e = s
            .prove(
                &id,
                CircuitType::ProofOfWeights,
                req.clone(),
                Duration::ZERO,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, ProveError::WrongType { .. }), "{e}");
        let mut bad = req;
        bad.nonce = "zz".into();
        let e = s
            .prove(&id, CircuitType::ProofOfComputation, bad, Duration::ZERO)
            .await
            .unwrap_err();
        assert!(matches!(e, ProveError::Prover(_)), "{e}");
    }

    #[tokio::test]
    async fn full_slots_make_requests_wait_then_turn_them_away() {
        let store = store();
        let (id, req) = input(&store);
        let s = Arc::new(service(store, 1, 1, DevOptions::default()));
        // Occupy the only slot.
        let held = s.slots().acquire_owned().await.unwrap();
        // One request may wait; it times out when the slot stays taken.
        let e = s
            .prove(
                &id,
                CircuitType::ProofOfComputation,
                req.clone(),
                Duration::from_millis(50),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e, ProveError::WaitTimeout { waited_ms } if waited_ms >= 50),
            "{e}"
        );
        // With one request already waiting, the next is busy at once.
        let waiter = {
            let s = s.clone();
            let (id, req) = (id.clone(), req.clone());
            tokio::spawn(async move {
                s.prove(
                    &id,
                    CircuitType::ProofOfComputation,
                    req,
                    Duration::from_secs(30),
                )
                .await
            })
        };
        while s.metrics.render().contains("omron_miner_proofs_waiting 0") {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let e = s
            .prove(
                &id,
                CircuitType::ProofOfComputation,
                req,
                Duration::from_secs(30),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                ProveError::Busy {
                    in_flight: 1,
                    waiting: 1,
                    max_waiting: 1
                }
            ),
            "{e}"
        );
        // Freeing the slot lets the waiting request through.
        drop(held);
        let p = waiter.await.unwrap().unwrap();
        assert!(!p.proof.is_empty());
    }

    #[test]
    fn corruption_changes_every_proof() {
        let mut small = vec![1u8];
        corrupt(&mut small);
        assert_ne!(small, vec![1u8]);
        let original: Vec<u8> = (0..=255).collect();
        let mut p = original.clone();
        corrupt(&mut p);
        assert_eq!(p.len(), original.len());
        assert!(p.iter().zip(&original).filter(|(a, b)| a != b).count() >= 16);
    }
}
