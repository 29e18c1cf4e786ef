//! Quicknet's real signatures: they verify against the public key, and they open what we
//! encrypt to their round (and nothing else).

use omron_timelock::{TimelockError, decrypt, encrypt, quicknet};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::{ROUND_1000, ROUND_1000_RANDOMNESS, ROUND_2000, sig};

#[test]
fn published_signatures_verify() {
    for v in [ROUND_1000, ROUND_2000] {
        quicknet::verify_round_signature(v.0, &sig(v))
            .unwrap_or_else(|e| panic!("round {}: {e}", v.0));
    }
    assert_eq!(
        hex::encode(quicknet::randomness(&sig(ROUND_1000))),
        ROUND_1000_RANDOMNESS
    );
}

#[test]
fn a_signature_verifies_for_its_round_only() {
    for round in [999, 1001, 2000] {
        assert_eq!(
            quicknet::verify_round_signature(round, &sig(ROUND_1000)),
            Err(TimelockError::SignatureMismatch { round })
        );
    }
    let mut flipped = sig(ROUND_1000);
    flipped[47] ^= 1;
    assert!(quicknet::verify_round_signature(1000, &flipped).is_err());
}

#[test]
fn real_signatures_open_our_ciphertexts() {
    let mut rng = ChaCha20Rng::seed_from_u64(1000);
    for v in [ROUND_1000, ROUND_2000] {
        let msg = format!("weights for round {}", v.0);
        let ct = encrypt(v.0, msg.as_bytes(), &mut rng).unwrap();
        assert_eq!(decrypt(&ct, &sig(v)).unwrap(), msg.as_bytes());
    }
    let ct = encrypt(1000, b"early", &mut rng).unwrap();
    assert_eq!(decrypt(&ct, &sig(ROUND_2000)), Err(TimelockError::WrongKey));
}

#[test]
fn tampering_with_any_byte_is_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let ct = encrypt(1000, b"tamper with me", &mut rng).unwrap();
    for i in 0..ct.len() {
        let mut bad = ct.clone();
        bad[i] ^= 0x01;
        assert!(
            decrypt(&bad, &sig(ROUND_1000)).is_err(),
            "byte {i} flipped was accepted"
        );
    }
}
