//! The shipped circuit store: every circuit loads, serves a generated request, and a proof is
//! bound to its nonce (or batch), its outputs and the miner's hotkey, and refused when damaged.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::tamper::{Refusals, end_cells, one_bit_off, spread_flips};
use omron_circuit::CircuitStore;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn shipped_circuits_prove_and_verify_requests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../circuits");
    let store = CircuitStore::load(&dir).unwrap();
    assert!(store.len() >= 2, "the shipped circuits load");
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let miner = [7u8; 32];
    let mut miners = vec![[8u8; 32]];
    miners.extend(one_bit_off(&miner));
    for c in store.iter() {
        assert_eq!(store.get(&c.id()).unwrap().id(), c.id());
        let mut refusals = Refusals::new(&c.metadata.name);
        if c.is_proof_of_weights() {
            let inputs = c.generate_pow_inputs(&mut rng).unwrap();
            let (proof, outputs) = c.prove_pow(&inputs, &miner).unwrap();
            assert_eq!(
                c.verify_pow(&inputs, &miner, &proof, Some(&outputs))
                    .unwrap(),
                outputs
            );
            // Another miner's hotkey, another batch, other outputs or a damaged proof:
            // rejected.
            let verify = |p: &[u8]| c.verify_pow(&inputs, &miner, p, None);
            refusals.flipped(&proof, &spread_flips(proof.len(), 16), verify);
            refusals.resized(&proof, verify);
            refusals.other_contexts(&miners, |key| c.verify_pow(&inputs, key, &proof, None));
            let other = c.generate_pow_inputs(&mut rng).unwrap();
            refusals.refused("other batch", c.verify_pow(&other, &miner, &proof, None));
            refusals.nudged_each("claimed output", &outputs, &end_cells(&outputs), |wrong| {
                c.verify_pow(&inputs, &miner, &proof, Some(wrong))
            });
            refusals.finish();
            continue;
        }
        let input = c.generate_input(&mut rng);
        let again = c.generate_input(&mut rng);
        assert_ne!(input.nonce, again.nonce, "nonces never repeat");
        let (proof, outputs) = c.prove_request(&input, &miner).unwrap();
        let verified = c
            .verify_response(&input, &miner, &proof, Some(&outputs))
            .unwrap();
        assert_eq!(verified, outputs);
        // Another miner's hotkey, another nonce, other outputs or a damaged proof: rejected.
        refusals.other_contexts(&miners, |key| c.verify_response(&input, key, &proof, None));
        let mut other = input.clone();
        other.nonce = again.nonce.clone();
        refusals.refused(
            "other nonce",
            c.verify_response(&other, &miner, &proof, None),
        );
        for i in [0, outputs.len() - 1] {
            let mut wrong = outputs.clone();
            wrong[i] += 1.0;
            refusals.refused(
                &format!("claimed output [{i}] + 1"),
                c.verify_response(&input, &miner, &proof, Some(&wrong)),
            );
        }
        let verify = |p: &[u8]| c.verify_response(&input, &miner, p, None);
        refusals.flipped(&proof, &spread_flips(proof.len(), 16), verify);
        refusals.resized(&proof, verify);
        refusals.finish();
    }
}

#[test]
fn proof_of_weights_requests_prove_and_verify() {
    use omron_circuit::{CircuitMetadata, CircuitType, InputGenerator, StoredCircuit};
    let dir = tempfile::tempdir().unwrap();
    let circuit = omron_circuit::Circuit::compile(
        "sn2-pow-16",
        omron_circuit::pow::sn2::sn2_graph(16).unwrap(),
    )
    .unwrap();
    omron_circuit::CircuitDir::new(dir.path())
        .save(&circuit, None, serde_json::Value::Null)
        .unwrap();
    let metadata = CircuitMetadata {
        name: "SN2 PoW 16".into(),
        description: "test".into(),
        author: "test".into(),
        version: "0.1.0".into(),
        proof_system: "OMRON".into(),
        circuit_type: CircuitType::ProofOfWeights,
        netuid: Some(2),
        weights_version: None,
        timeout: None,
        benchmark_choice_weight: None,
        input_generator: InputGenerator::Sn2Scoring { batch: 16 },
    };
    std::fs::write(
        dir.path().join("metadata.json"),
        serde_json::to_string(&metadata).unwrap(),
    )
    .unwrap();
    let stored = StoredCircuit::load(dir.path()).unwrap();
    assert!(stored.is_proof_of_weights());
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let inputs = stored.generate_pow_inputs(&mut rng).unwrap();
    let miner = [1u8; 32];
    let (proof, outputs) = stored.prove_pow(&inputs, &miner).unwrap();
    assert_eq!(
        stored
            .verify_pow(&inputs, &miner, &proof, Some(&outputs))
            .unwrap(),
        outputs
    );
    let mut refusals = Refusals::new("sn2-pow-16");
    let mut miners = vec![[2u8; 32]];
    miners.extend(one_bit_off(&miner));
    refusals.other_contexts(&miners, |key| stored.verify_pow(&inputs, key, &proof, None));
    let mut cells = vec![(0, 0)];
    cells.extend(end_cells(&outputs));
    refusals.nudged_each("claimed output", &outputs, &cells, |wrong| {
        stored.verify_pow(&inputs, &miner, &proof, Some(wrong))
    });
    let other = stored.generate_pow_inputs(&mut rng).unwrap();
    refusals.refused(
        "other inputs",
        stored.verify_pow(&other, &miner, &proof, None),
    );
    let verify = |p: &[u8]| stored.verify_pow(&inputs, &miner, p, None);
    refusals.flipped(&proof, &spread_flips(proof.len(), 64), verify);
    refusals.resized(&proof, verify);
    refusals.finish();
    assert!(
        stored
            .prove_pow(&serde_json::json!({"nope": 1}), &miner)
            .is_err()
    );
}
