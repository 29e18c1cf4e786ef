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
