//! The shipped circuit store: every circuit loads, serves a generated request, and a proof is
//! bound to its nonce and to the miner's hotkey.

#![allow(clippy::unwrap_used)]

use std::path::Path;

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
    for c in store.iter() {
        assert_eq!(store.get(&c.id()).unwrap().id(), c.id());
        if c.is_proof_of_weights() {
            let inputs = c.generate_pow_inputs(&mut rng).unwrap();
            let (proof, outputs) = c.prove_pow(&inputs, &miner).unwrap();
            assert_eq!(
                c.verify_pow(&inputs, &miner, &proof, Some(&outputs))
                    .unwrap(),
                outputs
            );
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
        // Another miner's hotkey, another nonce, or other outputs: rejected.
        assert!(
            c.verify_response(&input, &[8u8; 32], &proof, None).is_err(),
            "{}",
            c.metadata.name
        );
        let mut other = input.clone();
        other.nonce = again.nonce.clone();
        assert!(c.verify_response(&other, &miner, &proof, None).is_err());
        let mut wrong = outputs.clone();
        wrong[0] += 1.0;
        assert!(
            c.verify_response(&input, &miner, &proof, Some(&wrong))
                .is_err()
        );
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
    assert!(
        stored
            .verify_pow(&inputs, &[2u8; 32], &proof, None)
            .is_err(),
        "other miner"
    );
    let mut wrong = outputs.clone();
    wrong[0][0] += 1;
    assert!(
        stored
            .verify_pow(&inputs, &miner, &proof, Some(&wrong))
            .is_err(),
        "other outputs"
    );
    let other = stored.generate_pow_inputs(&mut rng).unwrap();
    assert!(
        stored.verify_pow(&other, &miner, &proof, None).is_err(),
        "other inputs"
    );
    assert!(
        stored
            .prove_pow(&serde_json::json!({"nope": 1}), &miner)
            .is_err()
    );
}
