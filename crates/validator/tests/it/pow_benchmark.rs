//! Proof-of-weights benchmark requests (reference §3.4): a validator whose benchmark circuits
//! are proof-of-weights circuits sends `ProofOfWeightsSynapse` requests with fresh scoring
//! batches to miners on loopback, verifies the proofs against the batches it sent and scores
//! them; a miner that proves some other batch is scored as failed.
//!
//! The circuit is the SN48 tiered-weights circuit of the shipped `sn48-pow-256`, built for a
//! batch of 8 so that a proof takes milliseconds and the first 256-response score batch comes
//! quickly; the request path is the same for the shipped size.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use omron_bittensor::axon::{Axon, AxonHandle, HandlerError, Request};
use omron_chain::Chain;
use omron_circuit::{Circuit, CircuitMetadata, CircuitStore, CircuitType, InputGenerator};
use omron_circuit::{StoredCircuit, pow::sn48::sn48_graph};
use omron_keys::Keypair;
use omron_protocol::ProofOfWeightsSynapse;
use omron_validator::store::Store;
use omron_validator::{Scoreboard, Validator, ValidatorConfig};

use crate::node::{Net, announce_axon, fast_subnet, key, wait_for};

/// Scores per SN48 batch in the test circuit.
const BATCH: usize = 8;
/// The SN48 circuit's subnet, which the request must name.
const NETUID: u16 = 48;
const LIMIT: Duration = Duration::from_secs(120);

/// The SN48 proof-of-weights circuit for [`BATCH`] scores, the only benchmark circuit.
fn sn48_store() -> Arc<CircuitStore> {
    static STORE: OnceLock<Arc<CircuitStore>> = OnceLock::new();
    STORE
        .get_or_init(|| {
            let circuit = Circuit::compile("sn48-pow-8", sn48_graph(BATCH).unwrap()).unwrap();
            Arc::new(CircuitStore::from_circuits(vec![StoredCircuit {
                circuit,
                metadata: CircuitMetadata {
                    name: "SN48 PoW 8".into(),
                    description: "SN48 tiered weights over 8 scores, for tests".into(),
                    author: "omron-rs tests".into(),
                    version: "0.1.0".into(),
                    proof_system: "OMRON".into(),
                    circuit_type: CircuitType::ProofOfWeights,
                    netuid: Some(NETUID),
                    weights_version: None,
                    timeout: Some(10),
                    benchmark_choice_weight: Some(1.0),
                    input_generator: InputGenerator::Sn48Scoring { batch: BATCH },
                },
                path: PathBuf::from("sn48-pow-8"),
            }]))
        })
        .clone()
}

/// How a proof-of-weights miner answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Answer {
    /// Proves the batch it was sent.
    Honest = 0,
    /// Proves the batch with another nonce.
    ChangedNonce = 1,
    /// Proves the batch with its first score changed.
    ChangedScore = 2,
}

/// What a miner saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    subnet_uid: u16,
    circuit: String,
    nonce: serde_json::Value,
}

/// A miner on 127.0.0.2 that answers `ProofOfWeightsSynapse` with a real proof from the circuit
/// store, bound to its hotkey; it serves nothing else, so any other request fails.
struct PowMiner {
    keypair: Keypair,
    port: u16,
    answer: Arc<AtomicU8>,
    answered: Arc<AtomicU64>,
    seen: Arc<Mutex<Vec<Seen>>>,
    handle: AxonHandle,
}

impl PowMiner {
    async fn start(keypair: Keypair, circuits: Arc<CircuitStore>) -> Self {
        let answer = Arc::new(AtomicU8::new(Answer::Honest as u8));
        let answered = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let hotkey = keypair.public();
        let (mode, count, log) = (answer.clone(), answered.clone(), seen.clone());
        let handle = Axon::builder(hotkey)
            .handler(move |req: Request<ProofOfWeightsSynapse>| {
                let circuits = circuits.clone();
                let mode = mode.load(Ordering::SeqCst);
                let (count, log) = (count.clone(), log.clone());
                async move {
                    let mut synapse = req.synapse;
                    let inputs = serde_json::to_value(&synapse.inputs).unwrap();
                    log.lock().unwrap().push(Seen {
                        subnet_uid: synapse.subnet_uid,
                        circuit: synapse.verification_key_hash.to_string(),
                        nonce: inputs["nonce"].clone(),
                    });
                    let circuit = circuits
                        .get(&synapse.verification_key_hash.to_string())
                        .cloned()
                        .ok_or_else(|| HandlerError::new("unknown circuit"))?;
                    let proven = tampered(inputs, mode);
                    let (proof, outputs) =
                        tokio::task::spawn_blocking(move || circuit.prove_pow(&proven, &hotkey.0))
                            .await
                            .unwrap()
                            .map_err(|e| HandlerError::new(e.to_string()))?;
                    synapse.proof = hex::encode(proof);
                    synapse.public_signals = serde_json::to_string(&outputs).unwrap();
                    count.fetch_add(1, Ordering::Relaxed);
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
            answer,
            answered,
            seen,
            handle,
        }
    }

    fn set(&self, answer: Answer) {
        self.answer.store(answer as u8, Ordering::SeqCst);
    }

    fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    async fn stop(self) {
        self.handle.shutdown().await;
    }
}

/// The batch a miner proves: the one it was sent, or one with a changed nonce or score.
fn tampered(mut inputs: serde_json::Value, mode: u8) -> serde_json::Value {
    if mode == Answer::ChangedNonce as u8 {
        let nonce = inputs["nonce"][0].as_f64().unwrap();
        inputs["nonce"] = serde_json::json!([nonce + 1.0]);
    } else if mode == Answer::ChangedScore as u8 {
        let score = inputs["scores"][0].as_f64().unwrap();
        inputs["scores"][0] = serde_json::json!(1.0 - score);
    }
    inputs
}

/// A subnet with the validator (uid 1) and one [`PowMiner`] per entry from uid 2 on.
async fn start(miners: usize) -> (Net, Vec<PowMiner>) {
    let store = sn48_store();
    let net = Net::start(
        store.clone(),
        fast_subnet(),
        &[],
        Duration::from_millis(100),
    )
    .await;
    let alice = key("//Alice");
    let mut out = Vec::new();
    for i in 0..miners {
        let miner = PowMiner::start(key(&format!("//Alice/powminer{i}")), store.clone()).await;
        let uid = net
            .chain
            .burned_register(&alice, net.netuid, &miner.keypair.public())
            .await
            .unwrap();
        assert_eq!(usize::from(uid), i + 2);
        announce_axon(&net.chain, net.netuid, &miner.keypair, miner.port).await;
        out.push(miner);
    }
    (net, out)
}

fn row(board: &Scoreboard, miner: usize) -> &omron_validator::MinerRow {
    let uid = u16::try_from(miner + 2).unwrap();
    board
        .miners
        .iter()
        .find(|m| m.uid == uid)
        .unwrap_or_else(|| panic!("uid {uid} missing from the scoreboard: {board:?}"))
}

/// Waits until every miner has a positive score (the first 256-response batch).
async fn all_scored(v: &Validator, miners: usize) -> Scoreboard {
    wait_for("every miner to score", LIMIT, || async {
        let b = v.scoreboard().await.unwrap();
        (b.miners.len() == miners && b.miners.iter().all(|m| m.score > 0.0)).then_some(b)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pow_benchmark_requests_are_proven_verified_and_scored() {
    let (net, miners) = start(2).await;
    let circuit_id = sn48_store().iter().next().unwrap().id();
    let dir = tempfile::tempdir().unwrap();
    let config = ValidatorConfig {
        concurrency: miners.len(),
        ..net.config()
    };
    let store = Store::open(&dir.path().join("v.sqlite")).unwrap();
    let v = Validator::start(config, net.parts(store, None))
        .await
        .unwrap();

    let board = all_scored(&v, miners.len()).await;
    let mut nonces = HashSet::new();
    let mut sent = 0;
    for (i, m) in miners.iter().enumerate() {
        let r = row(&board, i);
        assert!(r.requests > 0 && r.verified == r.requests, "{r:?}");
        assert!(r.score > 0.0, "the score rose from 0: {r:?}");
        assert!(
            m.answered() >= r.requests,
            "only the miner's answers were scored"
        );
        for s in m.seen() {
            assert_eq!(s.subnet_uid, NETUID, "the circuit's netuid is sent");
            assert_eq!(s.circuit, circuit_id);
            nonces.insert(s.nonce.to_string());
            sent += 1;
        }
    }
    assert_eq!(nonces.len(), sent, "every batch carried a fresh nonce");
    let metrics = reqwest::get(format!("http://{}/metrics", v.metrics_addr().unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!("circuit=\"{circuit_id}\"")),
        "{metrics}"
    );
    v.shutdown().await.unwrap();
    let store = Store::open(&dir.path().join("v.sqlite")).unwrap();
    let log = store.recent_requests(50, false).unwrap();
    assert!(!log.is_empty());
    for r in &log {
        assert_eq!(r.request.circuit_id, circuit_id);
        assert!(!r.request.external, "benchmark requests");
    }
    for m in miners {
        m.stop().await;
    }
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miner_proving_another_batch_than_it_was_sent_is_scored_as_failed() {
    const HONEST: usize = 0;
    const NONCE: usize = 1;
    const SCORE: usize = 2;
    let (net, miners) = start(3).await;
    let dir = tempfile::tempdir().unwrap();
    let config = ValidatorConfig {
        concurrency: miners.len(),
        ..net.config()
    };
    let store = Store::open(&dir.path().join("v.sqlite")).unwrap();
    let v = Validator::start(config, net.parts(store, None))
        .await
        .unwrap();

    // All three earn a score honestly, then two of them prove other batches.
    let before = all_scored(&v, miners.len()).await;
    miners[NONCE].set(Answer::ChangedNonce);
    miners[SCORE].set(Answer::ChangedScore);
    let target = v.metrics().pow_batches_applied() + 2;
    wait_for("two more batches", LIMIT, || async {
        (v.metrics().pow_batches_applied() >= target).then_some(())
    })
    .await;
    let after = v.scoreboard().await.unwrap();
    let honest = row(&after, HONEST);
    assert_eq!(honest.verified, honest.requests, "{honest:?}");
    for cheat in [NONCE, SCORE] {
        let (b, a) = (row(&before, cheat), row(&after, cheat));
        // At most the requests in flight when the switch was thrown still verified.
        assert!(
            a.verified <= b.verified + miners.len() as u64,
            "{b:?} -> {a:?}"
        );
        assert!(a.requests > a.verified + 2, "{a:?}");
        assert!(
            a.score < b.score * 0.6 * 1.001,
            "at least one decay of 40%: {} -> {}",
            b.score,
            a.score
        );
        assert!(a.score < honest.score, "{after:?}");
    }
    v.shutdown().await.unwrap();

    // The request log says why.
    let store = Store::open(&dir.path().join("v.sqlite")).unwrap();
    let failures = store.recent_requests(1000, true).unwrap();
    for cheat in [NONCE, SCORE] {
        let hotkey = miners[cheat].keypair.public().to_ss58();
        let theirs: Vec<_> = failures
            .iter()
            .filter(|r| r.request.hotkey == hotkey)
            .collect();
        assert!(!theirs.is_empty(), "miner {cheat} has logged failures");
        for r in theirs {
            assert!(
                r.request.detail.starts_with("proof rejected"),
                "{:?}",
                r.request
            );
        }
    }
    let honest_key = miners[HONEST].keypair.public().to_ss58();
    assert!(failures.iter().all(|r| r.request.hotkey != honest_key));
    for m in miners {
        m.stop().await;
    }
    net.stop().await;
}
