//! What a permitted validator gets from a miner.

use std::time::Duration;

use omron_chain::Chain;
use omron_circuit::{CircuitStore, CircuitType};
use omron_miner::{Capacities, Miner, MinerError};
use omron_protocol::{
    Competition, ProofOfWeightsSynapse, ProofSystem, QueryForCapacities, QueryInput, QueryOutput,
    QueryZkProof,
};

use crate::common::{Subnet, ask, key, request, store, target, validator};

fn verify(
    circuit_id: &str,
    input: &omron_circuit::RequestInput,
    miner_uri: &str,
    output: &QueryOutput,
) -> Result<Vec<f64>, String> {
    let QueryOutput::Proof(p) = output else {
        return Err(format!("not a proof: {output:?}"));
    };
    let proof = hex::decode(&p.proof).map_err(|e| e.to_string())?;
    let outputs: Vec<f64> = serde_json::from_str(&p.public_signals).map_err(|e| e.to_string())?;
    let store = store();
    let circuit = store.get(circuit_id).ok_or("no circuit")?;
    circuit
        .verify_response(
            input,
            key(miner_uri).public().as_bytes(),
            &proof,
            Some(&outputs),
        )
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn proofs_for_every_circuit_verify_against_the_validators_own_inputs() {
    let subnet = Subnet::new(1).await;
    let miner = subnet.start(0, subnet.config()).await;

    // The axon was announced on chain at the address it serves.
    let mg = subnet.chain.metagraph(subnet.netuid).await.unwrap();
    let me = mg.by_hotkey(&key("//Alice//miner0").public()).unwrap();
    assert_eq!(me.axon.socket_addr(), Some(miner.announced_addr()));
    assert_eq!(me.uid, miner.uid());

    let dendrite = validator();
    let t = target(0, &miner);
    let benchmark = crate::common::benchmark_circuits();
    assert!(
        benchmark.len() >= 2,
        "the repository ships at least two model circuits"
    );
    for index in 0..benchmark.len() {
        let (id, input, query) = request(index);
        let got = ask(&dendrite, &t, query).await;
        assert_eq!(got.base.dendrite.status_code, Some(200), "{:?}", got.base);
        let output = got.synapse.output().unwrap();
        let proven = verify(&id, &input, "//Alice//miner0", &output).unwrap();
        assert!(!proven.is_empty());
        // The proof is bound to the miner's hotkey: it does not verify for another miner.
        assert!(verify(&id, &input, "//Alice//miner9", &output).is_err());
        // ... nor for another nonce.
        let mut other = input.clone();
        other.nonce = "ff".repeat(16);
        assert!(verify(&id, &other, "//Alice//miner0", &output).is_err());
    }
    assert_eq!(
        miner
            .metrics()
            .requests("QueryZkProof", omron_miner::metrics::Outcome::Ok),
        benchmark.len() as u64
    );
    miner.shutdown().await;
}

#[tokio::test]
async fn failures_answer_with_the_upstream_texts() {
    let subnet = Subnet::new(1).await;
    let miner = subnet.start(0, subnet.config()).await;
    let dendrite = validator();
    let t = target(0, &miner);

    let got = ask(&dendrite, &t, QueryZkProof::default()).await;
    assert_eq!(
        got.synapse.query_output.as_deref(),
        Some("Empty query input")
    );

    let (_, input, _) = request(0);
    let public = omron_bittensor::json::to_value(&input).unwrap();
    let unknown = QueryZkProof::request(QueryInput::new(&"0".repeat(64).parse().unwrap(), public));
    let got = ask(&dendrite, &t, unknown).await;
    assert_eq!(
        got.synapse.query_output.as_deref(),
        Some("An error occurred")
    );

    // Inputs of the wrong shape for the circuit.
    let (id, mut input, _) = request(0);
    input.input_data[0].truncate(3);
    let bad = QueryZkProof::request(QueryInput::new(
        &id.parse().unwrap(),
        omron_bittensor::json::to_value(&input).unwrap(),
    ));
    let got = ask(&dendrite, &t, bad).await;
    assert_eq!(
        got.synapse.query_output.as_deref(),
        Some("An error occurred")
    );
    let text = reqwest_metrics(&miner).await;
    assert!(text.is_none(), "the exporter is off unless configured");

    // Capacities: one default entry per circuit.
    let got = ask(&dendrite, &t, QueryForCapacities::default()).await;
    let caps = got.synapse.capacities.unwrap();
    assert_eq!(caps.len(), store().len());
    assert!(
        caps.values()
            .all(|&u| u == omron_miner::DEFAULT_COMPUTE_UNITS)
    );

    // Competitions: an explicit error, never a silent success.
    let got = ask(
        &dendrite,
        &t,
        Competition {
            id: 1,
            hash: "h".into(),
            file_name: "commitment".into(),
            ..Competition::default()
        },
    )
    .await;
    assert_eq!(got.base.dendrite.status_code, Some(200));
    assert!(got.synapse.error.unwrap().contains("not supported"));
    assert_eq!(got.synapse.commitment, None);

    // Proof of weights with a proof-of-computation circuit: an error answer.
    let inputs = omron_bittensor::json::to_value(&input).unwrap();
    let pow = ProofOfWeightsSynapse::request(
        2,
        id.parse().unwrap(),
        ProofSystem::Zkml,
        inputs.as_object().unwrap().clone(),
    );
    let got = ask(&dendrite, &t, pow).await;
    assert_eq!(got.base.dendrite.status_code, Some(500), "{:?}", got.base);
    assert!(got.synapse.proof.is_empty());
    miner.shutdown().await;
}

async fn reqwest_metrics(miner: &omron_miner::MinerHandle) -> Option<String> {
    let addr = miner.metrics_addr()?;
    Some(
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn proof_of_weights_requests_are_proven_with_the_shipped_scoring_circuit() {
    let subnet = Subnet::new(1).await;
    let miner = subnet.start(0, subnet.config()).await;
    // The SN2 scoring circuit (a 256-item score batch), as shipped in circuits/.
    let store = store();
    let pow_circuit = store
        .iter()
        .find(|c| c.metadata.circuit_type == CircuitType::ProofOfWeights)
        .expect("the repository ships a proof-of-weights circuit")
        .clone();
    let id = pow_circuit.id();
    let inputs = pow_circuit
        .generate_pow_inputs(&mut rand::thread_rng())
        .expect("a scoring batch");
    let wire = omron_bittensor::json::parse(inputs.to_string().as_bytes()).unwrap();
    let pow = ProofOfWeightsSynapse::request(
        2,
        id.parse().unwrap(),
        ProofSystem::Zkml,
        wire.as_object().unwrap().clone(),
    );
    let got = ask(&validator(), &target(0, &miner), pow).await;
    assert_eq!(got.base.dendrite.status_code, Some(200), "{:?}", got.base);
    let proof = hex::decode(&got.synapse.proof).unwrap();
    let outputs: Vec<Vec<i64>> = serde_json::from_str(&got.synapse.public_signals).unwrap();
    // Checked against the inputs the validator sent, bound to the miner's hotkey.
    pow_circuit
        .verify_pow(
            &inputs,
            key("//Alice//miner0").public().as_bytes(),
            &proof,
            Some(&outputs),
        )
        .unwrap();
    assert!(
        pow_circuit
            .verify_pow(
                &inputs,
                key("//Alice//miner9").public().as_bytes(),
                &proof,
                None
            )
            .is_err()
    );
    // Empty inputs come back unchanged, as upstream.
    let empty = ProofOfWeightsSynapse::request(
        2,
        id.parse().unwrap(),
        ProofSystem::Zkml,
        omron_bittensor::json::JsonObject::new(),
    );
    let got = ask(&validator(), &target(0, &miner), empty).await;
    assert_eq!(got.base.dendrite.status_code, Some(200));
    assert!(got.synapse.proof.is_empty() && got.synapse.public_signals.is_empty());
    // A QueryZkProof for it is refused: it is not a proof-of-computation circuit.
    let q = QueryZkProof::request(QueryInput::new(&id.parse().unwrap(), wire));
    let got = ask(&validator(), &target(0, &miner), q).await;
    assert_eq!(
        got.synapse.query_output.as_deref(),
        Some("An error occurred")
    );
    miner.shutdown().await;
}

#[tokio::test]
async fn metrics_health_and_configured_capacities() {
    let subnet = Subnet::new(1).await;
    let mut config = subnet.config();
    config.prometheus = Some("127.0.0.1:0".parse().unwrap());
    let only = crate::common::benchmark_circuits()[0].id();
    config.capacities = Capacities::from_toml(
        &format!("[miner]\n[[miner.circuits]]\nid = \"{only}\"\ncompute_units = 7\n"),
        "test",
    )
    .unwrap();
    let miner = subnet.start(0, config).await;
    let t = target(0, &miner);
    let dendrite = validator();
    let got = ask(&dendrite, &t, QueryForCapacities::default()).await;
    let caps = got.synapse.capacities.unwrap();
    assert_eq!(caps.len(), 1);
    assert_eq!(caps[&only.parse().unwrap()], 7);
    let (_, _, query) = request(0);
    let got = ask(&dendrite, &t, query).await;
    assert!(matches!(got.synapse.output(), Some(QueryOutput::Proof(_))));
    // Refused callers are counted too.
    let stranger = omron_bittensor::dendrite::Dendrite::new(key("//Stranger")).unwrap();
    let got = ask(&stranger, &t, QueryForCapacities::default()).await;
    assert_eq!(got.base.dendrite.status_code, Some(403));

    let text = reqwest_metrics(&miner).await.unwrap();
    for needle in [
        "omron_miner_requests_total{synapse=\"QueryZkProof\",outcome=\"ok\"} 1",
        "omron_miner_requests_total{synapse=\"QueryForCapacities\",outcome=\"ok\"} 1",
        "omron_miner_refused_total{reason=\"not_registered\"} 1",
        "omron_miner_proof_duration_seconds_count{",
        "omron_miner_proof_size_bytes_sum{",
        "omron_miner_proofs_in_flight 0",
        "omron_miner_registered 1",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let addr = miner.metrics_addr().unwrap();
    let health = reqwest::get(format!("http://{addr}/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["uid"], u64::from(miner.uid()));
    assert_eq!(body["hotkey"], key("//Alice//miner0").public().to_ss58());
    miner.shutdown().await;
    // Stopped means stopped.
    assert!(reqwest::get(format!("http://{addr}/health")).await.is_err());
}

#[tokio::test]
async fn start_fails_clearly_when_it_cannot_serve() {
    let subnet = Subnet::new(1).await;
    // Not registered.
    let err = Miner::start(subnet.config(), subnet.arc(), key("//Nobody"), store())
        .await
        .unwrap_err();
    assert!(matches!(err, MinerError::NotRegistered { .. }), "{err}");
    assert!(err.to_string().contains("not registered"), "{err}");
    // An address the chain refuses (127.0.0.1).
    let mut config = subnet.config();
    config.axon_bind = "127.0.0.1:0".parse().unwrap();
    let err = Miner::start(config, subnet.arc(), key("//Alice//miner0"), store())
        .await
        .unwrap_err();
    assert!(matches!(err, MinerError::Announce { .. }), "{err}");
    // Every interface and no external address.
    let mut config = subnet.config();
    config.axon_bind = "0.0.0.0:0".parse().unwrap();
    let err = Miner::start(config, subnet.arc(), key("//Alice//miner0"), store())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--axon.external_ip"), "{err}");
    // Nothing to serve.
    let err = Miner::start(
        subnet.config(),
        subnet.arc(),
        key("//Alice//miner0"),
        CircuitStore::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, MinerError::NoCircuits), "{err}");
}

#[tokio::test]
async fn a_deregistered_miner_reports_unhealthy() {
    let subnet = Subnet::new(1).await;
    let mut config = subnet.config();
    config.prometheus = Some("127.0.0.1:0".parse().unwrap());
    let miner = subnet.start(0, config).await;
    let addr = miner.metrics_addr().unwrap();
    // Fill the subnet so the miner (out of immunity) is pruned: shrink it first.
    let alice = key("//Alice");
    let mut hyper = subnet.chain.hyperparameters(subnet.netuid).await.unwrap();
    hyper.max_allowed_uids = 4;
    hyper.immunity_period = 0;
    use omron_chain::DevChain;
    let owner_set = subnet
        .chain
        .set_hyperparameters(&alice, subnet.netuid, hyper)
        .await;
    if owner_set.is_err() {
        // Only the owner may change hyperparameters; the owner coldkey is Alice here.
        panic!("cannot set hyperparameters: {owner_set:?}");
    }
    subnet.chain.produce_blocks(2).unwrap();
    let mut pruned = false;
    for i in 0..8 {
        let hk = key(&format!("//Alice//newcomer{i}")).public();
        let _ = subnet
            .chain
            .burned_register(&alice, subnet.netuid, &hk)
            .await;
        subnet.chain.produce_block().unwrap();
        let mg = subnet.chain.metagraph(subnet.netuid).await.unwrap();
        if mg.by_hotkey(&key("//Alice//miner0").public()).is_none() {
            pruned = true;
            break;
        }
    }
    assert!(pruned, "the miner was never pruned");
    let mut status = 0;
    for _ in 0..100 {
        status = reqwest::get(format!("http://{addr}/health"))
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 503);
    miner.shutdown().await;
}

/// The gauge's value in the metrics text (`name value` on its own line).
fn gauge(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn chain_status_gauges_follow_the_metagraph() {
    use omron_chain::{DevChain, RAO_PER_TAO};
    let subnet = Subnet::new(1).await;
    let mut config = subnet.config();
    config.prometheus = Some("127.0.0.1:0".parse().unwrap());
    let miner = subnet.start(0, config).await;
    let uid = miner.uid();
    // At start-up: registered, no stake, nothing earned yet.
    let text = reqwest_metrics(&miner).await.unwrap();
    for name in [
        "omron_miner_chain_stake_tao",
        "omron_miner_chain_rank",
        "omron_miner_chain_trust",
        "omron_miner_chain_consensus",
        "omron_miner_chain_incentive",
        "omron_miner_chain_emission_tao",
        "omron_miner_chain_validator_trust",
        "omron_miner_chain_dividends",
    ] {
        assert_eq!(gauge(&text, name), Some(0.0), "{name} in\n{text}");
    }
    // Stake on the miner, all of the validator's weight on it, and an epoch.
    let alice = key("//Alice");
    subnet
        .chain
        .add_stake(
            &alice,
            &key("//Alice//miner0").public(),
            subnet.netuid,
            5 * RAO_PER_TAO,
        )
        .await
        .unwrap();
    subnet
        .chain
        .set_weights(
            &key("//Alice//validator"),
            subnet.netuid,
            &[uid],
            &[u16::MAX],
            0,
        )
        .await
        .unwrap();
    subnet.chain.run_to_next_epoch(subnet.netuid).unwrap();
    let block = subnet.chain.block().unwrap();
    // The next metagraph sync (every 100 ms here) shows it.
    let mut text = String::new();
    for _ in 0..100 {
        text = reqwest_metrics(&miner).await.unwrap();
        if gauge(&text, "omron_miner_chain_incentive").is_some_and(|i| i > 0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        gauge(&text, "omron_miner_chain_incentive"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        gauge(&text, "omron_miner_chain_consensus"),
        Some(1.0),
        "{text}"
    );
    // The stake added, plus the emission the chain staked back onto the hotkey.
    assert!(
        gauge(&text, "omron_miner_chain_stake_tao").is_some_and(|s| s >= 5.0),
        "{text}"
    );
    assert!(
        gauge(&text, "omron_miner_chain_emission_tao").is_some_and(|e| e > 0.0),
        "{text}"
    );
    assert!(
        gauge(&text, "omron_miner_metagraph_block").is_some_and(|b| b >= block as f64),
        "{text}"
    );
    assert_eq!(miner.metrics().chain_incentive(), 1.0);
    miner.shutdown().await;
}

/// With its only proof slot and wait queue taken, the miner answers further proof-of-weights
/// requests with 503 "Service busy" (not a 500, which reads as a broken miner).
#[tokio::test]
async fn a_busy_miner_answers_proof_of_weights_with_503() {
    let subnet = Subnet::new(1).await;
    let mut config = subnet.config();
    config.max_concurrent_proofs = 1;
    config.max_waiting_proofs = 1;
    let miner = subnet.start(0, config).await;
    let store = store();
    let pow_circuit = store
        .iter()
        .find(|c| c.metadata.circuit_type == CircuitType::ProofOfWeights)
        .expect("a shipped proof-of-weights circuit")
        .clone();
    let dendrite = std::sync::Arc::new(validator());
    let t = target(0, &miner);
    let mut asks = Vec::new();
    for _ in 0..6 {
        let inputs = pow_circuit
            .generate_pow_inputs(&mut rand::thread_rng())
            .unwrap();
        let wire = omron_bittensor::json::parse(inputs.to_string().as_bytes()).unwrap();
        let pow = ProofOfWeightsSynapse::request(
            2,
            pow_circuit.id().parse().unwrap(),
            ProofSystem::Zkml,
            wire.as_object().unwrap().clone(),
        );
        let (d, t) = (dendrite.clone(), t.clone());
        asks.push(tokio::spawn(async move { ask(&d, &t, pow).await }));
    }
    let mut codes = Vec::new();
    for a in asks {
        let got = a.await.unwrap();
        codes.push(got.base.dendrite.status_code);
        if got.base.dendrite.status_code == Some(503) {
            let msg = got.base.dendrite.status_message.unwrap_or_default();
            assert!(msg.contains("busy"), "{msg}");
        }
    }
    assert!(codes.contains(&Some(200)), "{codes:?}");
    assert!(codes.contains(&Some(503)), "{codes:?}");
    assert!(!codes.contains(&Some(500)), "{codes:?}");
    miner.shutdown().await;
}
