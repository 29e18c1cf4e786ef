//! Minimal miners for the node tests: a real axon (`omron_bittensor::axon`) answering
//! `QueryZkProof` with a real proof from the circuit store, bound to the miner's hotkey and the
//! request's nonce. Behaviours: honest, slow (sleeps before answering) and faulty (flips a byte
//! of every proof while its switch is on).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use omron_bittensor::axon::{Axon, AxonHandle, HandlerError, Request};
use omron_circuit::{CircuitStore, RequestInput};
use omron_keys::Keypair;
use omron_protocol::{ProofOutput, QueryZkProof};

/// How a test miner answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behaviour {
    /// Proves and answers at once.
    Honest,
    /// Proves, then waits this long before answering.
    Slow(Duration),
    /// Proves, then corrupts the proof while [`TestMiner::set_faulty`] is on (on at start).
    Faulty,
}

/// A running test miner.
pub(crate) struct TestMiner {
    pub(crate) keypair: Keypair,
    pub(crate) port: u16,
    faulty: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    handle: AxonHandle,
}

impl TestMiner {
    /// Serves on 127.0.0.2 (loopback; the chain refuses 127.0.0.1 as an axon address).
    pub(crate) async fn start(
        keypair: Keypair,
        behaviour: Behaviour,
        circuits: Arc<CircuitStore>,
    ) -> Self {
        let faulty = Arc::new(AtomicBool::new(behaviour == Behaviour::Faulty));
        let answered = Arc::new(AtomicU64::new(0));
        let hotkey = keypair.public();
        let (f, a) = (faulty.clone(), answered.clone());
        let handle = Axon::builder(hotkey)
            .handler(move |req: Request<QueryZkProof>| {
                let (circuits, faulty, answered) = (circuits.clone(), f.clone(), a.clone());
                async move {
                    let mut synapse = req.synapse;
                    synapse.query_output =
                        Some(answer(&circuits, &synapse, hotkey.0, behaviour, &faulty).await);
                    answered.fetch_add(1, Ordering::Relaxed);
                    Ok::<_, HandlerError>(synapse)
                }
            })
            .serve("127.0.0.2:0".parse().unwrap())
            .await
            .unwrap();
        let port = handle.local_addr().port();
        Self {
            keypair,
            port,
            faulty,
            answered,
            handle,
        }
    }

    /// Turns proof corruption on or off.
    pub(crate) fn set_faulty(&self, on: bool) {
        self.faulty.store(on, Ordering::SeqCst);
    }

    /// Requests answered so far.
    pub(crate) fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    pub(crate) async fn stop(self) {
        self.handle.shutdown().await;
    }
}

async fn answer(
    circuits: &CircuitStore,
    synapse: &QueryZkProof,
    hotkey: [u8; 32],
    behaviour: Behaviour,
    faulty: &AtomicBool,
) -> String {
    let Some(query) = &synapse.query_input else {
        return "Empty query input".into();
    };
    let Some(circuit) = query.model_id().and_then(|id| circuits.get(id)).cloned() else {
        return "An error occurred".into();
    };
    let Ok(input) =
        omron_bittensor::json::from_value::<RequestInput>(query.public_inputs().clone())
    else {
        return "An error occurred".into();
    };
    let proved = tokio::task::spawn_blocking(move || circuit.prove_request(&input, &hotkey)).await;
    let Ok(Ok((mut proof, outputs))) = proved else {
        return "An error occurred".into();
    };
    if let Behaviour::Slow(delay) = behaviour {
        tokio::time::sleep(delay).await;
    }
    if faulty.load(Ordering::SeqCst) {
        let mid = proof.len() / 2;
        proof[mid] ^= 0x01;
    }
    ProofOutput {
        proof: hex::encode(proof),
        public_signals: serde_json::to_string(&outputs).unwrap(),
    }
    .to_query_output()
}
