//! The SN48 tiered-weights circuit matches the float reference of §3.3d within its stated
//! tolerance (`2 * 10^-6` per weight) on batches drawn like the reference's `generate()` and on
//! edge cases (all zero, ties, tier boundaries, zero tiers); and its proofs are sound.

#![allow(clippy::unwrap_used)]

mod common;

use common::tamper::{Refusals, end_cells, flips_at, one_bit_off, spread_flips};
use omron_circuit::pow::sn48::{SN48_WEIGHT_SCALE, Sn48Batch, benchmark_batch, sn48_graph};
use omron_circuit::{
    Circuit, CircuitDir, CircuitMetadata, CircuitType, InputGenerator, StoredCircuit,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The tolerance stated in the module docs and docs/scoring.md.
const TOLERANCE: f64 = 2e-6;

fn weights(graph: &omron_ir::Graph, batch: &Sn48Batch) -> Vec<f64> {
    let n = batch.scores.len();
    let outputs = omron_ir::execute(graph, &batch.columns(n).unwrap())
        .unwrap()
        .outputs(graph);
    assert_eq!(outputs[1], vec![batch.nonce], "the nonce is copied through");
    let sum: i64 = outputs[0].iter().sum();
    assert!(
        sum <= SN48_WEIGHT_SCALE && sum >= SN48_WEIGHT_SCALE - n as i64,
        "weights sum to {sum}"
    );
    outputs[0]
        .iter()
        .map(|&q| q as f64 / SN48_WEIGHT_SCALE as f64)
        .collect()
}

fn max_error(graph: &omron_ir::Graph, batch: &Sn48Batch) -> f64 {
    weights(graph, batch)
        .iter()
        .zip(batch.reference_weights())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

#[test]
fn the_circuit_matches_the_float_reference_on_generated_batches() {
    let mut rng = ChaCha8Rng::seed_from_u64(48);
    let mut worst: f64 = 0.0;
    for (n, rounds) in [(256, 60), (64, 300), (10, 300), (3, 100)] {
        let graph = sn48_graph(n).unwrap();
        for round in 0..rounds {
            let mut b = benchmark_batch(n, &mut rng);
            // Every other batch: coarse scores (many ties), some exact zeros and ones.
            if round % 2 == 1 {
                for s in &mut b.scores {
                    *s = match rng.gen_range(0..8) {
                        0 => 0.0,
                        1 => 1.0,
                        _ => f64::from(rng.gen_range(0..20u32)) / 20.0,
                    };
                }
            }
            worst = worst.max(max_error(&graph, &b));
        }
    }
    eprintln!("SN48: worst deviation from the float reference {worst:e}");
    assert!(worst <= TOLERANCE, "worst deviation {worst}");
}

#[test]
fn edge_cases_match_the_reference() {
    let n = 20; // tiers of 2, 8 and 10
    let graph = sn48_graph(n).unwrap();
    let check = |scores: Vec<f64>| {
        let b = Sn48Batch { scores, nonce: 7 };
        let w = weights(&graph, &b);
        let e = max_error(&graph, &b);
        assert!(e <= TOLERANCE, "{:?}: {e}", b.scores);
        w
    };

    // All zero: uniform inside each tier; by index, 0 and 1 are the top tier.
    let w = check(vec![0.0; n]);
    assert!((w[0] - 0.35).abs() <= 1e-6 && (w[1] - 0.35).abs() <= 1e-6);
    assert!((w[2] - 0.2 / 8.0).abs() <= 1e-6 && (w[19] - 0.01).abs() <= 1e-6);

    // All equal (non-zero): the same weights as all zero.
    let w2 = check(vec![0.5; n]);
    for (a, b) in w.iter().zip(&w2) {
        assert!((a - b).abs() <= 1e-6);
    }

    // A tie across the top boundary: the lower index wins the top tier.
    let mut s = vec![0.1; n];
    s[5] = 0.9;
    s[9] = 0.8;
    s[3] = 0.8;
    let w = check(s);
    assert!(w[3] > 0.2 && w[9] < 0.2, "{} {}", w[3], w[9]);

    // A zero tier next to non-zero ones: the bottom tier is all zero, so uniform.
    let mut s = vec![0.0; n];
    for (i, x) in s.iter_mut().enumerate().take(10) {
        *x = 1.0 - i as f64 * 0.05;
    }
    let w = check(s);
    assert!((w[15] - 0.01).abs() <= 1e-6);

    // Descending scores: squares weigh the top tier.
    let s: Vec<f64> = (0..n).map(|i| 1.0 - i as f64 / n as f64).collect();
    let w = check(s);
    let (a, b) = (1.0f64, 0.95f64);
    assert!((w[0] - 0.7 * a * a / (a * a + b * b)).abs() <= TOLERANCE);
}

#[test]
fn out_of_domain_and_malformed_inputs_are_refused() {
    let n = 16;
    let good = Sn48Batch {
        scores: vec![0.25; n],
        nonce: 99,
    }
    .to_json();
    assert!(Sn48Batch::from_json(&good, n).is_ok());
    assert!(Sn48Batch::from_json(&good, 17).is_err(), "wrong batch size");
    let edits: Vec<(&str, serde_json::Value)> = vec![
        ("top_tier_pct", serde_json::json!([0.2])),
        ("bottom_tier_weight", serde_json::json!([])),
        ("scores", serde_json::json!(vec![1.5; 16])),
        ("scores", serde_json::json!(vec![-0.1; 16])),
        ("scores", serde_json::json!(vec!["a"; 16])),
        ("nonce", serde_json::json!([0.5])),
        ("nonce", serde_json::json!([1, 2])),
        ("nonce", serde_json::json!(3)),
    ];
    for (field, value) in edits {
        let mut bad = good.clone();
        bad[field] = value.clone();
        assert!(
            Sn48Batch::from_json(&bad, n).is_err(),
            "{field} = {value} accepted"
        );
    }
    let mut float_nonce = good.clone();
    float_nonce["nonce"] = serde_json::json!([123456.0]);
    assert_eq!(Sn48Batch::from_json(&float_nonce, n).unwrap().nonce, 123456);
    assert!(Sn48Batch::from_json(&serde_json::json!(null), n).is_err());
}

#[test]
fn a_256_batch_proves_verifies_and_rejects_tampering() {
    let n = 256;
    let circuit = Circuit::compile("sn48-pow-256", sn48_graph(n).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    CircuitDir::new(dir.path())
        .save(&circuit, None, serde_json::Value::Null)
        .unwrap();
    let metadata = CircuitMetadata {
        name: "SN48 PoW 256".into(),
        description: "test".into(),
        author: "test".into(),
        version: "0.1.0".into(),
        proof_system: "OMRON".into(),
        circuit_type: CircuitType::ProofOfWeights,
        netuid: Some(48),
        weights_version: None,
        timeout: None,
        benchmark_choice_weight: Some(0.0),
        input_generator: InputGenerator::Sn48Scoring { batch: n },
    };
    std::fs::write(
        dir.path().join("metadata.json"),
        serde_json::to_string(&metadata).unwrap(),
    )
    .unwrap();
    let stored = StoredCircuit::load(dir.path()).unwrap();
    assert!(stored.is_proof_of_weights());
    let mut rng = ChaCha8Rng::seed_from_u64(4848);
    let inputs = stored.generate_pow_inputs(&mut rng).unwrap();
    let miner = [5u8; 32];
    let (proof, outputs) = stored.prove_pow(&inputs, &miner).unwrap();
    let batch = Sn48Batch::from_json(&inputs, n).unwrap();
    for (q, r) in outputs[0].iter().zip(batch.reference_weights()) {
        assert!((*q as f64 / 1e6 - r).abs() <= TOLERANCE);
    }
    assert_eq!(
        stored
            .verify_pow(&inputs, &miner, &proof, Some(&outputs))
            .unwrap(),
        outputs
    );
    let mut refusals = Refusals::new("sn48-pow-256");
    let verify = |p: &[u8]| stored.verify_pow(&inputs, &miner, p, None);
    let mut flips = flips_at(&[0, 100, proof.len() / 2, proof.len() - 10], 4);
    flips.extend(spread_flips(proof.len(), 64));
    refusals.flipped(&proof, &flips, verify);
    refusals.resized(&proof, verify);
    let mut cells = vec![(0, 3)];
    cells.extend(end_cells(&outputs));
    refusals.nudged_each("claimed output", &outputs, &cells, |wrong| {
        stored.verify_pow(&inputs, &miner, &proof, Some(wrong))
    });
    let mut other = batch.clone();
    other.scores[10] = (other.scores[10] + 0.5) % 1.0;
    refusals.refused(
        "other inputs",
        stored.verify_pow(&other.to_json(), &miner, &proof, None),
    );
    let columns = batch.columns(n).unwrap();
    let raw = circuit.prove(&columns, b"ctx").unwrap();
    let mut swapped = columns.clone();
    swapped[0].swap(0, 1);
    refusals.refused(
        "swapped scores",
        circuit.verify(&swapped, &raw.proof, b"ctx"),
    );
    let mut miners = vec![[1u8; 32]];
    miners.extend(one_bit_off(&miner));
    refusals.other_contexts(&miners, |key| stored.verify_pow(&inputs, key, &proof, None));
    refusals.finish();
}
