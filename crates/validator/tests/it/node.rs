//! The validator node end to end, in one process: the embedded chain producing blocks on a
//! timer, a subnet with a staked validator, real miners on loopback (honest, slow, faulty),
//! and the node querying, verifying, scoring, setting weights and restarting from its store.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use omron_chain::{
    BlockProducer, Chain, ChainConfig, DevChain, EmbeddedChain, Hyperparameters, RAO_PER_TAO,
    ServeAxon,
};
use omron_circuit::{CircuitStore, StoredCircuit};
use omron_keys::Keypair;
use omron_scoring::CircuitInputs;
use omron_validator::metrics::WeightsMethod;
use omron_validator::store::{ScoreRow, Store, TxOutcome};
use omron_validator::{
    BatchProof, BatchProver, Health, NodeError, NodeParts, ProverError, Scoreboard, Validator,
    ValidatorConfig,
};

use crate::miners::{Behaviour, TestMiner};

/// Announces `keypair`'s axon on 127.0.0.2:`port` (the loopback address the node's
/// `--allow-private-axons` setting admits in these tests).
pub(crate) async fn announce_axon(
    chain: &EmbeddedChain,
    netuid: u16,
    keypair: &Keypair,
    port: u16,
) {
    let axon = ServeAxon {
        version: 1,
        ip: "127.0.0.2".parse().unwrap(),
        port,
        protocol: 4,
    };
    chain.serve_axon(keypair, netuid, &axon).await.unwrap();
}

pub(crate) fn key(uri: &str) -> Keypair {
    Keypair::from_uri(uri).unwrap()
}

/// The small benchmark circuit only: it proves in milliseconds.
pub(crate) fn mnist() -> Arc<CircuitStore> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../circuits/mnist-mlp");
    Arc::new(CircuitStore::from_circuits(vec![
        StoredCircuit::load(&dir).unwrap(),
    ]))
}

/// A hand-built dense layer (12 inputs, 3 outputs): a real circuit of our engine that proves
/// faster than any shipped model, so the tests can run many 256-response batches.
fn tiny() -> Arc<CircuitStore> {
    use omron_circuit::{Circuit, CircuitMetadata, CircuitType, InputGenerator};
    use omron_ir::{Graph, Node, Op, TensorDef, TensorKind};
    let def = |name: &str, shape: &[usize], scale, kind| TensorDef {
        name: name.into(),
        shape: shape.to_vec(),
        scale,
        kind,
    };
    let weights: Vec<i64> = (0..36).map(|i| (i * 7 % 61) - 30).collect();
    let graph = Graph {
        tensors: vec![
            def("x", &[1, 12], 6, TensorKind::Input),
            def("w", &[3, 12], 6, TensorKind::Const(weights)),
            def("h", &[1, 3], 12, TensorKind::Computed),
            def("y", &[1, 3], 6, TensorKind::Computed),
        ],
        nodes: vec![
            Node {
                name: "dense".into(),
                op: Op::MatMul,
                inputs: vec![0, 1],
                output: 2,
            },
            Node {
                name: "rescale".into(),
                op: Op::Rescale { shift: 6 },
                inputs: vec![2],
                output: 3,
            },
        ],
        inputs: vec![0],
        outputs: vec![3],
    };
    let circuit = Circuit::compile("tiny-dense", graph).unwrap();
    Arc::new(CircuitStore::from_circuits(vec![StoredCircuit {
        circuit,
        metadata: CircuitMetadata {
            name: "tiny dense".into(),
            description: "12x3 dense layer for tests".into(),
            author: "omron-rs tests".into(),
            version: "0.1.0".into(),
            proof_system: "OMRON".into(),
            circuit_type: CircuitType::ProofOfComputation,
            netuid: None,
            weights_version: None,
            timeout: Some(10),
            benchmark_choice_weight: Some(1.0),
            input_generator: InputGenerator::Uniform {
                low: 0.0,
                high: 1.0,
            },
        },
        path: PathBuf::from("tiny-dense"),
    }]))
}

pub(crate) struct Net {
    pub(crate) chain: EmbeddedChain,
    pub(crate) netuid: u16,
    pub(crate) validator: Keypair,
    pub(crate) miners: Vec<TestMiner>,
    circuits: Arc<CircuitStore>,
    blocks: Option<BlockProducer>,
}

impl Net {
    /// A subnet with the owner at uid 0, a validator with 2000 TAO of stake (and its permit)
    /// at uid 1, and one miner per behaviour from uid 2 on, each serving on 127.0.0.2. Blocks
    /// are produced every `block_time` from then on.
    pub(crate) async fn start(
        circuits: Arc<CircuitStore>,
        hyper: Hyperparameters,
        behaviours: &[Behaviour],
        block_time: Duration,
    ) -> Net {
        let chain = EmbeddedChain::in_memory(ChainConfig {
            block_time,
            ..ChainConfig::fast()
        })
        .unwrap();
        let alice = key("//Alice");
        let netuid = chain
            .create_subnet(&alice, &key("//Alice/owner").public(), hyper)
            .await
            .unwrap();
        let validator = key("//Alice/validator");
        assert_eq!(
            chain
                .burned_register(&alice, netuid, &validator.public())
                .await
                .unwrap(),
            1
        );
        chain
            .add_stake(&alice, &validator.public(), netuid, 2000 * RAO_PER_TAO)
            .await
            .unwrap();
        let mut miners = Vec::new();
        for (i, b) in behaviours.iter().enumerate() {
            let hot = key(&format!("//Alice/miner{i}"));
            let uid = chain
                .burned_register(&alice, netuid, &hot.public())
                .await
                .unwrap();
            assert_eq!(usize::from(uid), i + 2);
            let miner = TestMiner::start(hot, *b, circuits.clone()).await;
            announce_axon(&chain, netuid, &miner.keypair, miner.port).await;
            miners.push(miner);
        }
        // Permits are handed out at an epoch.
        chain.run_to_next_epoch(netuid).unwrap();
        let mg = chain.metagraph(netuid).await.unwrap();
        assert!(
            mg.neurons[1].validator_permit,
            "the validator holds a permit"
        );
        let blocks = Some(chain.spawn_block_production());
        Net {
            chain,
            netuid,
            validator,
            miners,
            circuits,
            blocks,
        }
    }

    fn uid(&self, miner: usize) -> u16 {
        u16::try_from(miner + 2).unwrap()
    }

    pub(crate) fn config(&self) -> ValidatorConfig {
        ValidatorConfig {
            concurrency: 4,
            allow_private_axons: true,
            sync_interval: Duration::from_secs(2),
            api_addr: Some("127.0.0.1:0".parse().unwrap()),
            metrics_addr: Some("127.0.0.1:0".parse().unwrap()),
            shutdown_grace: Duration::from_secs(5),
            ..ValidatorConfig::new(self.netuid)
        }
    }

    pub(crate) fn parts(&self, store: Store, prover: Option<Arc<dyn BatchProver>>) -> NodeParts {
        NodeParts {
            chain: Arc::new(self.chain.clone()),
            hotkey: self.validator.clone(),
            circuits: (*self.circuits).clone(),
            store,
            prover,
        }
    }

    pub(crate) async fn stop(mut self) {
        if let Some(b) = self.blocks.take() {
            b.stop();
        }
        for m in self.miners {
            m.stop().await;
        }
    }
}

/// Short epochs: tempo 10 (11 blocks), the dev rate limit, commit-reveal off.
pub(crate) fn fast_subnet() -> Hyperparameters {
    Hyperparameters {
        tempo: 10,
        ..Hyperparameters::dev()
    }
}

/// Polls `check` every 100 ms until it returns `Some`, or fails the test after `limit`.
pub(crate) async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn row(board: &Scoreboard, uid: u16) -> &omron_validator::MinerRow {
    board
        .miners
        .iter()
        .find(|m| m.uid == uid)
        .unwrap_or_else(|| panic!("uid {uid} missing from the scoreboard: {board:?}"))
}

async fn http_json<T: serde::de::DeserializeOwned>(url: String) -> T {
    reqwest::get(url).await.unwrap().json::<T>().await.unwrap()
}

fn state_file(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("validator.sqlite")
}

const LIMIT: Duration = Duration::from_secs(90);

/// Miners of the main test: four honest, one slow, one faulty.
const HONEST: usize = 4;
const SLOW: usize = 4;
const FAULTY: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_scores_miners_sets_weights_and_keeps_its_state_across_a_restart() {
    let mut behaviours = vec![Behaviour::Honest; HONEST];
    behaviours.push(Behaviour::Slow(Duration::from_millis(50)));
    behaviours.push(Behaviour::Faulty);
    let net = Net::start(
        tiny(),
        fast_subnet(),
        &behaviours,
        Duration::from_millis(100),
    )
    .await;
    let miners = behaviours.len();
    // The faulty miner first earns a score honestly, then starts corrupting its proofs.
    net.miners[FAULTY].set_faulty(false);
    let dir = tempfile::tempdir().unwrap();
    let config = ValidatorConfig {
        concurrency: miners,
        ..net.config()
    };
    let started = Instant::now();
    let v = Validator::start(
        config.clone(),
        net.parts(Store::open(&state_file(&dir)).unwrap(), None),
    )
    .await
    .unwrap();
    assert_eq!(v.uid(), 1);
    let api = v.api_addr().unwrap();

    // Every miner is queried, verified, and earns a score at the first 256-item batch.
    let board = wait_for("every miner to score", LIMIT, || async {
        let b = v.scoreboard().await.unwrap();
        (b.miners.len() == miners && b.miners.iter().all(|m| m.score > 0.0)).then_some(b)
    })
    .await;
    let batches = v.metrics().pow_batches_applied();
    eprintln!(
        "first batch after {:?} ({batches} applied)",
        started.elapsed()
    );
    for i in 0..miners {
        let m = row(&board, net.uid(i));
        assert!(m.requests > 0 && m.verified == m.requests, "{m:?}");
        assert_eq!(m.hotkey, net.miners[i].keypair.public().to_ss58());
        assert!(
            m.mean_proof_bytes > 0.0 && m.mean_response_ms > 0.0,
            "{m:?}"
        );
        assert!(net.miners[i].answered() >= m.requests);
    }
    assert!(
        row(&board, net.uid(SLOW)).mean_response_ms > 50.0,
        "the slow miner is measured slow"
    );

    // The HTTP API serves the same.
    let health: Health = http_json(format!("http://{api}/health")).await;
    assert_eq!((health.status.as_str(), health.uid), ("ok", 1));
    let served: Scoreboard = http_json(format!("http://{api}/scoreboard")).await;
    assert_eq!(served.netuid, net.netuid);
    assert_eq!(served.validator_uid, 1);
    assert_eq!(served.miners.len(), miners);
    let page = reqwest::get(format!("http://{api}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/scoreboard"));
    let metrics = reqwest::get(format!("http://{}/metrics", v.metrics_addr().unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("omron_validator_requests_total{circuit="),
        "{metrics}"
    );
    assert!(metrics.contains("status=\"verified\""));

    // Now the faulty miner corrupts every proof: its score loses 40% at every batch.
    let peak = row(&board, net.uid(FAULTY)).score;
    let verified_before = row(&board, net.uid(FAULTY)).verified;
    net.miners[FAULTY].set_faulty(true);
    let target = batches + 5;
    wait_for("five more batches", LIMIT, || async {
        (v.metrics().pow_batches_applied() >= target).then_some(())
    })
    .await;
    let board = v.scoreboard().await.unwrap();
    let f = row(&board, net.uid(FAULTY));
    let best = board.miners.iter().map(|m| m.score).fold(0.0, f64::max);
    eprintln!(
        "after {:?}: faulty {} (peak {peak}), best {best}",
        started.elapsed(),
        f.score
    );
    assert!(
        f.score < peak * 0.6f64.powi(4) * 1.001,
        "four decays of 40% at least: {} from {peak}",
        f.score
    );
    assert!(
        f.score < 0.05 * best,
        "the faulty miner's score is about zero"
    );
    assert!(
        f.verified <= verified_before + miners as u64,
        "corrupt proofs never verify"
    );
    assert!(f.requests > f.verified);
    let slow = row(&board, net.uid(SLOW)).score;
    for i in 0..HONEST {
        assert!(
            row(&board, net.uid(i)).score > slow,
            "fast honest miners outscore the slow one: {board:?}"
        );
    }
    assert!(slow > f.score);

    // Weights reached the chain.
    let record = wait_for("weights on chain", LIMIT, || async {
        let b = v.scoreboard().await.unwrap();
        b.miners.iter().any(|m| m.weight > 0).then_some(b)
    })
    .await;
    assert!(v.metrics().weights_accepted(WeightsMethod::Set) >= 1);
    assert!(record.miners.iter().filter(|m| m.weight > 0).count() >= HONEST);
    let mg = net.chain.metagraph(net.netuid).await.unwrap();
    assert!(
        mg.neurons[1].last_update > mg.neurons[1].block_at_registration,
        "the chain recorded the weight set"
    );
    // After an epoch the chain's consensus pays the honest miners.
    wait_for("incentive for the honest miners", LIMIT, || async {
        let mg = net.chain.metagraph(net.netuid).await.unwrap();
        (0..HONEST)
            .all(|i| mg.neurons[usize::from(net.uid(i))].incentive.0 > 0)
            .then_some(())
    })
    .await;

    // Restart: everything the node reported is in the store, and a new node continues.
    let metrics = v.metrics();
    let before = v.scoreboard().await.unwrap();
    v.shutdown().await.unwrap();
    let store = Store::open(&state_file(&dir)).unwrap();
    let scores = store.scores().unwrap();
    for i in 0..miners {
        let uid = net.uid(i);
        let stored = scores.iter().find(|s| s.uid == uid).unwrap();
        assert_eq!(
            metrics.score(uid),
            Some(f64::from(stored.score)),
            "uid {uid}: the last score the node reported is the stored one"
        );
    }
    let stats = store.miner_stats().unwrap();
    for m in &before.miners {
        let s = stats.iter().find(|s| s.uid == m.uid).unwrap();
        assert!(s.requests >= m.requests, "no request statistics lost");
    }
    let queued = store.pow_queue_len().unwrap();
    assert!(queued >= 256 * 6, "{queued} PoW items");
    assert!(store.hash_guard().unwrap().len() >= queued);
    // With the owner burn (on by default) the owner's uid 0 holds the largest weight.
    assert!(store.weights_history(100).unwrap().iter().any(|(_, r)| {
        matches!(r.outcome, TxOutcome::Included { .. })
            && r.version_key == 11002
            && r.uids.first() == Some(&0)
            && r.weights.first() == Some(&u16::MAX)
    }));
    drop(store);

    let v2 = Validator::start(
        config,
        net.parts(Store::open(&state_file(&dir)).unwrap(), None),
    )
    .await
    .unwrap();
    let resumed = v2.scoreboard().await.unwrap();
    for m in &resumed.miners {
        let s = stats.iter().find(|s| s.uid == m.uid).unwrap();
        assert!(m.requests >= s.requests, "statistics continue: {m:?}");
    }
    for i in 0..HONEST {
        assert!(
            row(&resumed, net.uid(i)).weight > 0,
            "the last weights are still shown"
        );
    }
    let batches = v2.metrics().pow_batches_applied();
    wait_for("a batch after the restart", LIMIT, || async {
        (v2.metrics().pow_batches_applied() > batches).then_some(())
    })
    .await;
    let board = v2.scoreboard().await.unwrap();
    assert!(row(&board, net.uid(0)).score > row(&board, net.uid(FAULTY)).score * 20.0);
    eprintln!("done after {:?}", started.elapsed());
    v2.shutdown().await.unwrap();
    net.stop().await;
}

/// Proves nothing: records the batches it is given and returns their exact evaluation as the
/// "public outputs", so the test can check what the node hands to a prover and what it
/// archives. The real prover (the SN2 scoring circuit) plugs into the same trait.
struct RecordingProver {
    seen: std::sync::Mutex<Vec<CircuitInputs>>,
}

impl BatchProver for RecordingProver {
    fn circuit_id(&self) -> String {
        "ab".repeat(32)
    }

    fn prove(&self, inputs: &CircuitInputs) -> Result<BatchProof, ProverError> {
        self.seen.lock().unwrap().push(inputs.clone());
        let out = inputs.evaluate().map_err(|e| ProverError(e.to_string()))?;
        let as_i64 = |v: &[u64]| v.iter().map(|&x| i64::try_from(x).unwrap()).collect();
        Ok(BatchProof {
            proof: b"recorded".to_vec(),
            public_outputs: vec![as_i64(&out.new_score), out.miner_uid],
        })
    }

    fn verify(&self, inputs: &CircuitInputs, proof: &BatchProof) -> Result<(), ProverError> {
        let out = inputs.evaluate().map_err(|e| ProverError(e.to_string()))?;
        (proof.public_outputs.get(1) == Some(&out.miner_uid))
            .then_some(())
            .ok_or_else(|| ProverError("outputs differ".into()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_batches_go_to_the_prover_and_into_the_archive() {
    let net = Net::start(
        tiny(),
        fast_subnet(),
        &[Behaviour::Honest, Behaviour::Faulty],
        Duration::from_millis(100),
    )
    .await;
    // A third miner whose axon is announced on a port where nobody listens.
    let dead = key("//Alice/dead");
    let alice = key("//Alice");
    let dead_uid = net
        .chain
        .burned_register(&alice, net.netuid, &dead.public())
        .await
        .unwrap();
    let closed_port = std::net::TcpListener::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    announce_axon(&net.chain, net.netuid, &dead, closed_port).await;
    // 250 padding items (miner uid -1, never applied): the first batch is due after 6
    // responses instead of 256.
    let mut store = Store::open_in_memory(Default::default()).unwrap();
    store
        .push_pow_items(&vec![omron_scoring::PowItem::empty(); 250])
        .unwrap();
    let prover = Arc::new(RecordingProver {
        seen: std::sync::Mutex::new(Vec::new()),
    });
    let v = Validator::start(
        ValidatorConfig {
            api_addr: None,
            metrics_addr: None,
            set_weights: false,
            ..net.config()
        },
        net.parts(store, Some(prover.clone())),
    )
    .await
    .unwrap();
    assert_eq!((v.api_addr(), v.metrics_addr()), (None, None));
    wait_for("a proven batch", LIMIT, || async {
        (!prover.seen.lock().unwrap().is_empty()).then_some(())
    })
    .await;
    let board = wait_for("the dead miner to be tried", LIMIT, || async {
        let b = v.scoreboard().await.unwrap();
        b.miners
            .iter()
            .any(|m| m.uid == dead_uid && m.requests > 0)
            .then_some(b)
    })
    .await;
    let d = row(&board, dead_uid);
    assert_eq!(d.verified, 0);
    assert_eq!(
        d.mean_response_ms, 10_000.0,
        "a request without an answer counts the circuit's timeout (10 s)"
    );
    let f = row(&board, net.uid(1));
    assert_eq!(f.verified, 0, "corrupted proofs never verify: {f:?}");
    assert!(f.requests > 0 && f.mean_proof_bytes == 0.0);
    let h = row(&board, net.uid(0));
    assert!(h.verified > 0 && h.verified == h.requests);
    let m = v.metrics();
    let circuit = net.circuits.iter().next().unwrap().id();
    use omron_validator::metrics::RequestStatus;
    assert!(
        m.requests(&circuit, RequestStatus::Failed) > 0,
        "the dead axon"
    );
    assert!(
        m.requests(&circuit, RequestStatus::Unverified) > 0,
        "the faulty miner"
    );
    assert!(m.requests(&circuit, RequestStatus::Verified) > 0);

    v.shutdown().await.unwrap();
    let seen = prover.seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    // The first batch: 250 padding items, then the 6 real responses.
    let first = &seen[0];
    let out = first.evaluate().unwrap();
    assert_eq!(&out.miner_uid[..250], &[-1; 250][..]);
    assert!(out.miner_uid[250..].iter().all(|&u| u >= 2));
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archived_batch_proofs_carry_the_exact_inputs() {
    let net = Net::start(
        tiny(),
        fast_subnet(),
        &[Behaviour::Honest],
        Duration::from_millis(100),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&state_file(&dir)).unwrap();
    store
        .push_pow_items(&vec![omron_scoring::PowItem::empty(); 254])
        .unwrap();
    let prover = Arc::new(RecordingProver {
        seen: std::sync::Mutex::new(Vec::new()),
    });
    let v = Validator::start(
        ValidatorConfig {
            set_weights: false,
            ..net.config()
        },
        net.parts(store, Some(prover.clone())),
    )
    .await
    .unwrap();
    let reader = Store::open(&state_file(&dir)).unwrap();
    let archived = wait_for("an archived proof", LIMIT, || async {
        let recent = reader.recent_proofs(1).unwrap();
        recent.into_iter().next()
    })
    .await;
    v.shutdown().await.unwrap();
    let seen = prover.seen.lock().unwrap().clone();
    let e = &archived.entry;
    assert_eq!(e.circuit_id, "ab".repeat(32));
    assert_eq!(
        (e.miner_uid, e.miner_hotkey.clone()),
        (1, net.validator.public().to_ss58())
    );
    assert!(e.verified, "the node checked its own proof");
    assert_eq!(e.proof, b"recorded");
    let inputs: serde_json::Value = serde_json::from_str(&e.inputs_json).unwrap();
    assert_eq!(
        inputs,
        seen[0].to_json(),
        "the archive holds the exact inputs proven"
    );
    assert_eq!(
        e.request_hash,
        omron_scoring::hash_hex(&omron_scoring::input_hash(&seen[0].to_json()))
    );
    // The new scores in the archived outputs are the scores the node applied.
    let outputs: Vec<Vec<i64>> = serde_json::from_str(&e.output_json).unwrap();
    let uid = net.uid(0);
    let last = outputs[1]
        .iter()
        .rposition(|&u| u == i64::from(uid))
        .unwrap();
    let applied = omron_scoring::score_from_scaled(u64::try_from(outputs[0][last]).unwrap());
    let stored = Store::open(&state_file(&dir))
        .unwrap()
        .score_vector(8)
        .unwrap();
    assert!(applied > 0.0);
    assert!(
        stored[usize::from(uid)] == applied || seen.len() > 1,
        "the stored score is the proven batch's (unless a later batch followed)"
    );
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_reveal_commits_then_reveals_even_across_a_restart() {
    let hyper = Hyperparameters {
        tempo: 10,
        commit_reveal_weights_enabled: true,
        commit_reveal_period: 2,
        ..Hyperparameters::dev()
    };
    let net = Net::start(
        tiny(),
        hyper,
        &[Behaviour::Honest, Behaviour::Honest],
        Duration::from_millis(200),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    // A validator that already earned scores: seed them for the two miners' hotkeys.
    {
        let mut store = Store::open(&state_file(&dir)).unwrap();
        let rows: Vec<ScoreRow> = (0..2)
            .map(|i| ScoreRow {
                uid: net.uid(i),
                hotkey: net.miners[i].keypair.public().to_ss58(),
                score: 0.01 * (i + 1) as f32,
            })
            .collect();
        store.set_scores(&rows).unwrap();
    }
    let v1 = Validator::start(
        net.config(),
        net.parts(Store::open(&state_file(&dir)).unwrap(), None),
    )
    .await
    .unwrap();
    wait_for("a commit", LIMIT, || async {
        (v1.metrics().weights_accepted(WeightsMethod::Commit) >= 1).then_some(())
    })
    .await;
    assert_eq!(v1.metrics().weights_accepted(WeightsMethod::Set), 0);
    v1.shutdown().await.unwrap();
    let pending = Store::open(&state_file(&dir))
        .unwrap()
        .pending_commits()
        .unwrap();
    assert_eq!(
        pending.len(),
        1,
        "the commit waits for its reveal in the store"
    );
    assert_eq!(pending[0].salt.len(), 8);
    assert_eq!(pending[0].weights.iter().max(), Some(&65535));

    let v2 = Validator::start(
        net.config(),
        net.parts(Store::open(&state_file(&dir)).unwrap(), None),
    )
    .await
    .unwrap();
    wait_for("the reveal", LIMIT, || async {
        (v2.metrics().weights_accepted(WeightsMethod::Reveal) >= 1).then_some(())
    })
    .await;
    let board = v2.scoreboard().await.unwrap();
    assert!(board.miners.iter().all(|m| m.weight > 0), "{board:?}");
    v2.shutdown().await.unwrap();
    let store = Store::open(&state_file(&dir)).unwrap();
    assert!(store.pending_commits().unwrap().is_empty());
    let history = store.weights_history(10).unwrap();
    let revealed = history
        .iter()
        .find(|(id, _)| *id == pending[0].record_id)
        .unwrap();
    assert!(revealed.1.commit_reveal);
    assert!(matches!(revealed.1.outcome, TxOutcome::Included { .. }));
    wait_for("incentive from the revealed weights", LIMIT, || async {
        let mg = net.chain.metagraph(net.netuid).await.unwrap();
        (mg.neurons[3].incentive.0 > mg.neurons[2].incentive.0).then_some(())
    })
    .await;
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_that_cannot_run_says_why() {
    let net = Net::start(tiny(), fast_subnet(), &[], Duration::from_millis(100)).await;
    let store = || Store::open_in_memory(Default::default()).unwrap();
    let stranger = NodeParts {
        hotkey: key("//Nobody"),
        ..net.parts(store(), None)
    };
    match Validator::start(net.config(), stranger).await {
        Err(NodeError::NotRegistered { hotkey, netuid }) => {
            assert_eq!(hotkey, key("//Nobody").public().to_ss58());
            assert_eq!(netuid, net.netuid);
        }
        other => panic!("expected NotRegistered, got {other:?}"),
    }
    let zero = ValidatorConfig {
        concurrency: 0,
        ..net.config()
    };
    assert!(matches!(
        Validator::start(zero, net.parts(store(), None)).await,
        Err(NodeError::InvalidConfig {
            what: "concurrency",
            ..
        })
    ));
    let no_circuits = NodeParts {
        circuits: CircuitStore::default(),
        ..net.parts(store(), None)
    };
    assert!(matches!(
        Validator::start(net.config(), no_circuits).await,
        Err(NodeError::NoBenchmarkCircuits { loaded: 0 })
    ));
    // A busy API port fails the start cleanly.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = ValidatorConfig {
        api_addr: Some(busy.local_addr().unwrap()),
        ..net.config()
    };
    assert!(matches!(
        Validator::start(taken, net.parts(store(), None)).await,
        Err(NodeError::Bind { what: "API", .. })
    ));
    // Without any queryable miner the node idles, and its API still answers.
    let v = Validator::start(net.config(), net.parts(store(), None))
        .await
        .unwrap();
    let health: Health = http_json(format!("http://{}/health", v.api_addr().unwrap())).await;
    assert_eq!(health.uid, 1);
    let board = v.scoreboard().await.unwrap();
    assert!(board.miners.is_empty());
    v.shutdown().await.unwrap();
    net.stop().await;
}

#[test]
fn the_shipped_mnist_circuit_is_a_benchmark_circuit() {
    // The node's default circuit store must hold something to ask miners.
    let circuits = omron_validator::benchmark::BenchmarkCircuits::new(&mnist()).unwrap();
    assert_eq!(circuits.circuits().len(), 1);
}
