//! The SN27 scoring circuit matches the float reference of §3.3c within its stated tolerance
//! (`2 * 10^-6` per normalised score), on batches drawn like the reference's `generate()`, on
//! wilder random batches and on edge cases; and its proofs are sound.

#![allow(clippy::unwrap_used)]

mod common;

use common::tamper::{Refusals, end_cells, flips_at, one_bit_off, spread_flips};
use omron_circuit::pow::sn27::{SN27_SCALE, Sn27Batch, benchmark_batch, sn27_graph};
use omron_circuit::{
    Circuit, CircuitDir, CircuitMetadata, CircuitType, InputGenerator, StoredCircuit,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The tolerance stated in the module docs and docs/scoring.md.
const TOLERANCE: f64 = 2e-6;

/// Runs the graph on `batch` and returns the largest deviation from the float reference.
fn max_error(graph: &omron_ir::Graph, batch: &Sn27Batch, n: usize) -> f64 {
    let columns = batch.columns(n).unwrap();
    let outputs = omron_ir::execute(graph, &columns).unwrap().outputs(graph);
    assert_eq!(outputs[1], vec![batch.nonce], "the nonce is copied through");
    let reference = batch.reference_scores();
    outputs[0]
        .iter()
        .zip(&reference)
        .map(|(&q, &r)| {
            assert!(q >= 0, "scores are clamped at 0");
            (q as f64 / SN27_SCALE as f64 - r).abs()
        })
        .fold(0.0, f64::max)
}

/// A batch beyond `generate()`: zero attempts and successes, many failures, slow averages,
/// difficulties outside the clamp, few validators, short uid lists, heavy penalties.
fn wild_batch(rng: &mut ChaCha8Rng, n: usize) -> Sn27Batch {
    let mut b = benchmark_batch(n, rng);
    let uid_range = rng.gen_range(4..=300);
    for i in 0..n {
        b.challenge_attempts[i] = rng.gen_range(0..=12);
        b.challenge_successes[i] = rng.gen_range(0..=12);
        b.last_20_challenge_failed[i] = rng.gen_range(0..=25);
        b.challenge_elapsed_time_avg[i] = rng.gen_range(0.0..45.0);
        b.last_20_difficulty_avg[i] = rng.gen_range(-2.0..20.0);
        b.uid[i] = rng.gen_range(0..uid_range);
    }
    let len = |rng: &mut ChaCha8Rng| rng.gen_range(0..=n);
    let la = len(rng);
    b.allocated_uids = (0..la).map(|_| rng.gen_range(-1..uid_range)).collect();
    let lp = len(rng);
    b.penalized_uids = (0..lp)
        .map(|_| rng.gen_range(-1..uid_range / 2 + 1))
        .collect();
    let lv = len(rng);
    b.validator_uids = (0..lv).map(|_| rng.gen_range(-3..uid_range)).collect();
    b
}

#[test]
fn the_circuit_matches_the_float_reference_on_generated_batches() {
    let mut rng = ChaCha8Rng::seed_from_u64(27);
    let mut worst: f64 = 0.0;
    for n in [256, 64] {
        let graph = sn27_graph(n).unwrap();
        let rounds = if n == 256 { 40 } else { 300 };
        for _ in 0..rounds {
            worst = worst.max(max_error(&graph, &benchmark_batch(n, &mut rng), n));
            worst = worst.max(max_error(&graph, &wild_batch(&mut rng, n), n));
        }
    }
    eprintln!("SN27: worst deviation from the float reference {worst:e}");
    assert!(worst <= TOLERANCE, "worst deviation {worst}");
}

fn uniform(n: usize) -> Sn27Batch {
    Sn27Batch {
        challenge_attempts: vec![10; n],
        challenge_successes: vec![8; n],
        last_20_challenge_failed: vec![2; n],
        challenge_elapsed_time_avg: vec![6.0; n],
        last_20_difficulty_avg: vec![9.5; n],
        has_docker: vec![true; n],
        uid: (0..n as i64).collect(),
        allocated_uids: vec![],
        penalized_uids: vec![],
        validator_uids: (0..8).collect(),
        nonce: 12345,
    }
}

fn scores(batch: &Sn27Batch, n: usize) -> Vec<f64> {
    let graph = sn27_graph(n).unwrap();
    let out = omron_ir::execute(&graph, &batch.columns(n).unwrap())
        .unwrap()
        .outputs(&graph);
    assert!(max_error(&graph, batch, n) <= TOLERANCE);
    out[0].iter().map(|&q| q as f64 / 1e6).collect()
}

#[test]
fn edge_cases_match_the_reference() {
    let n = 16;
    let plain = scores(&uniform(n), n);
    // dm = 9.5 / 12 * 100, ratio 80, time 24, penalty 40 * 0.1^1.5.
    let want = (9.5 / 12.0 * 100.0 + 80.0 + 24.0 - 40.0 * 0.1f64.powf(1.5)) / 251.0;
    assert!(
        (plain[0] - want).abs() <= TOLERANCE,
        "{} vs {want}",
        plain[0]
    );

    // Zero successes, failed >= 19: zeroed; with an allocation: the allocation score.
    let mut b = uniform(n);
    b.challenge_successes[1] = 0;
    b.last_20_challenge_failed[2] = 19;
    b.last_20_challenge_failed[3] = 20;
    b.last_20_challenge_failed[4] = 18;
    b.challenge_successes[5] = 0;
    b.allocated_uids = vec![5, 6, -1];
    let s = scores(&b, n);
    assert_eq!(&s[1..4], &[0.0, 0.0, 0.0]);
    assert!(s[4] > 0.0);
    let alloc = (230.0 * 0.79 + 9.5 / 12.0 * 100.0 * 0.21) / 251.0;
    assert!((s[5] - alloc).abs() <= TOLERANCE && (s[6] - alloc).abs() <= TOLERANCE);

    // No docker halves; zero attempts divide by 1.
    let mut b = uniform(n);
    b.has_docker[0] = false;
    b.challenge_attempts[1] = 0;
    b.challenge_successes[1] = 1;
    let s = scores(&b, n);
    assert!((s[0] - plain[0] / 2.0).abs() <= TOLERANCE);

    // Penalties: 8 validators (half = 4). Uid 0 reported twice: x 0.5; uid 1 four times: 0.
    let mut b = uniform(n);
    b.penalized_uids = vec![0, 0, 1, 1, 1, 1, -1];
    let s = scores(&b, n);
    assert!((s[0] - plain[0] * 0.5).abs() <= TOLERANCE);
    assert_eq!(s[1], 0.0);
    // No validators at all: everyone is zeroed (count >= 0 = half).
    let mut b = uniform(n);
    b.validator_uids = vec![-1; 3];
    assert!(scores(&b, n).iter().all(|&x| x == 0.0));

    // A slow average and a heavy penalty push the score below 0: clamped.
    let mut b = uniform(n);
    b.challenge_elapsed_time_avg[0] = 900.0;
    b.last_20_difficulty_avg[1] = 100.0;
    b.last_20_difficulty_avg[2] = 0.0;
    let s = scores(&b, n);
    assert_eq!(s[0], 0.0);
    assert!(s[1] > s[2]);
}

#[test]
fn out_of_domain_and_malformed_inputs_are_refused() {
    let n = 16;
    let good = uniform(n).to_json();
    assert!(Sn27Batch::from_json(&good, n).is_ok());
    assert!(Sn27Batch::from_json(&good, 32).is_err(), "wrong batch size");
    let edits: Vec<(&str, serde_json::Value)> = vec![
        ("pow_timeout", serde_json::json!([31.0])),
        ("allocation_weight", serde_json::json!([0.2, 0.21])),
        ("challenge_attempts", serde_json::json!(vec![-1; 16])),
        ("challenge_successes", serde_json::json!(vec![70000; 16])),
        (
            "challenge_elapsed_time_avg",
            serde_json::json!(vec![-1.0; 16]),
        ),
        ("last_20_difficulty_avg", serde_json::json!(vec![2e6; 16])),
        ("uid", serde_json::json!(vec![-5; 16])),
        ("uid", serde_json::json!(vec![0.5; 16])),
        ("has_docker", serde_json::json!(vec![2; 16])),
        ("penalized_uids", serde_json::json!(vec![1; 17])),
        ("nonce", serde_json::json!([])),
        ("nonce", serde_json::json!(["x"])),
    ];
    for (field, value) in edits {
        let mut bad = good.clone();
        bad[field] = value.clone();
        assert!(
            Sn27Batch::from_json(&bad, n).is_err(),
            "{field} = {value} accepted"
        );
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("uid");
    assert!(Sn27Batch::from_json(&missing, n).is_err());
    assert!(Sn27Batch::from_json(&serde_json::json!([1, 2]), n).is_err());
}

#[test]
fn a_256_batch_proves_verifies_and_rejects_tampering() {
    let n = 256;
    let circuit = Circuit::compile("sn27-pow-256", sn27_graph(n).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    CircuitDir::new(dir.path())
        .save(&circuit, None, serde_json::Value::Null)
        .unwrap();
    let metadata = CircuitMetadata {
        name: "SN27 PoW 256".into(),
        description: "test".into(),
        author: "test".into(),
        version: "0.1.0".into(),
        proof_system: "OMRON".into(),
        circuit_type: CircuitType::ProofOfWeights,
        netuid: Some(27),
        weights_version: None,
        timeout: None,
        benchmark_choice_weight: Some(0.0),
        input_generator: InputGenerator::Sn27Scoring { batch: n },
    };
    std::fs::write(
        dir.path().join("metadata.json"),
        serde_json::to_string(&metadata).unwrap(),
    )
    .unwrap();
    let stored = StoredCircuit::load(dir.path()).unwrap();
    assert!(stored.is_proof_of_weights());
    let mut rng = ChaCha8Rng::seed_from_u64(2727);
    let inputs = stored.generate_pow_inputs(&mut rng).unwrap();
    let miner = [9u8; 32];
    let (proof, outputs) = stored.prove_pow(&inputs, &miner).unwrap();
    let batch = Sn27Batch::from_json(&inputs, n).unwrap();
    let reference = batch.reference_scores();
    for (q, r) in outputs[0].iter().zip(&reference) {
        assert!((*q as f64 / 1e6 - r).abs() <= TOLERANCE);
    }
    assert_eq!(
        stored
            .verify_pow(&inputs, &miner, &proof, Some(&outputs))
            .unwrap(),
        outputs
    );
    let mut refusals = Refusals::new("sn27-pow-256");
    let verify = |p: &[u8]| stored.verify_pow(&inputs, &miner, p, None);
    let mut flips = flips_at(&[0, 100, proof.len() / 2, proof.len() - 10], 4);
    flips.extend(spread_flips(proof.len(), 64));
    refusals.flipped(&proof, &flips, verify);
    refusals.resized(&proof, verify);
    let mut cells = vec![(0, 7)];
    cells.extend(end_cells(&outputs));
    refusals.nudged_each("claimed output", &outputs, &cells, |wrong| {
        stored.verify_pow(&inputs, &miner, &proof, Some(wrong))
    });
    let mut other = batch.clone();
    other.challenge_successes[3] += 1;
    refusals.refused(
        "other inputs",
        stored.verify_pow(&other.to_json(), &miner, &proof, None),
    );
    // The same inputs through the raw circuit with a changed column are rejected too (the
    // proof context stays the same, so only the inputs differ).
    let columns = batch.columns(n).unwrap();
    let raw = circuit.prove(&columns, b"ctx").unwrap();
    let mut changed = columns.clone();
    changed[7][0] = if changed[7][0] == 3 { 4 } else { 3 };
    refusals.refused(
        "changed column",
        circuit.verify(&changed, &raw.proof, b"ctx"),
    );
    let mut miners = vec![[1u8; 32]];
    miners.extend(one_bit_off(&miner));
    refusals.other_contexts(&miners, |key| stored.verify_pow(&inputs, key, &proof, None));
    refusals.finish();
    assert!(
        stored
            .prove_pow(&serde_json::json!({"scores": [1.0]}), &miner)
            .is_err()
    );
}
