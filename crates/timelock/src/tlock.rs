//! Timelock encryption to a quicknet round: Boneh–Franklin IBE (FullIdent, the Fujisaki–Okamoto
//! variant) hides a fresh 32-byte AES-256-GCM key under the round's identity, and the key
//! encrypts the plaintext. The round's signature, once drand publishes it, is the identity's
//! private key.
//!
//! With `P` quicknet's public key (G2), `Q = H(sha256(round))` (G1), `e` the BLS12-381 pairing,
//! `key` and `sigma` 32 random bytes each:
//!
//! ```text
//! r = Fr::from_be_bytes_mod_order(sha256(sigma || key))
//! U = r·G2
//! V = sigma xor sha256(ser(e(Q, r·P)))           ser = arkworks' compressed Fq12, 576 bytes
//! W = key   xor sha256(sigma)
//! body = AES-256-GCM(key, nonce, plaintext, aad = "")
//! ```
//!
//! Decryption with the signature `s = sk·Q`: `e(s, U) = e(Q, r·P)` gives `sigma`, then `key`;
//! recomputing `r` and checking `r·G2 == U` rejects a wrong signature or a tampered header
//! before AES-GCM's tag rejects a tampered body.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use ark_bls12_381::{Bls12_381, Fr, G1Affine, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::PrimeField;
use ark_serialize::CanonicalSerialize;
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

use crate::ciphertext::{NONCE_BYTES, TlockCiphertext};
use crate::error::{Result, TimelockError};
use crate::quicknet;

/// Encrypts `plaintext` so that quicknet's signature of `round` decrypts it; returns the
/// serialised ciphertext (see [`crate::ciphertext`]).
pub fn encrypt<R: RngCore + CryptoRng>(
    round: u64,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>> {
    Ok(encrypt_to(
        quicknet::public_key(),
        quicknet::round_identity(round),
        plaintext,
        rng,
    )?
    .to_bytes())
}

/// Decrypts a serialised ciphertext with the 48-byte signature of the round it was encrypted
/// to. A signature of another round, or a tampered ciphertext, is an error.
pub fn decrypt(ciphertext: &[u8], round_signature: &[u8]) -> Result<Vec<u8>> {
    let ct = TlockCiphertext::from_bytes(ciphertext)?;
    let signature = quicknet::parse_signature(round_signature)?;
    decrypt_with(&ct, signature)
}

/// Encryption to an arbitrary master public key and identity point (the tests use a key of
/// their own to check the algebra without drand).
pub(crate) fn encrypt_to<R: RngCore + CryptoRng>(
    master: G2Affine,
    identity: G1Affine,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<TlockCiphertext> {
    let mut key = [0u8; 32];
    let mut sigma = [0u8; 32];
    let mut nonce = [0u8; NONCE_BYTES];
    rng.fill_bytes(&mut key);
    rng.fill_bytes(&mut sigma);
    rng.fill_bytes(&mut nonce);

    let r = h3(&sigma, &key);
    let u = (G2Projective::generator() * r).into_affine();
    let shared = Bls12_381::pairing(identity, (master.into_group() * r).into_affine());
    let v = xor(&sigma, &h2(&shared.0));
    let w = xor(&key, &sha256(&sigma));
    let body = Aes256Gcm::new(&key.into())
        .encrypt(Nonce::from_slice(&nonce), plaintext)
        .map_err(|_| TimelockError::PlaintextTooLarge {
            actual: plaintext.len(),
        })?;
    Ok(TlockCiphertext {
        u,
        v,
        w,
        body,
        nonce,
    })
}

/// Decryption of a parsed ciphertext with the identity's private key (a round signature).
pub(crate) fn decrypt_with(ct: &TlockCiphertext, signature: G1Affine) -> Result<Vec<u8>> {
    let shared = Bls12_381::pairing(signature, ct.u);
    let sigma = xor(&ct.v, &h2(&shared.0));
    let key = xor(&ct.w, &sha256(&sigma));
    let r = h3(&sigma, &key);
    if (G2Projective::generator() * r).into_affine() != ct.u {
        return Err(TimelockError::WrongKey);
    }
    Aes256Gcm::new(&key.into())
        .decrypt(Nonce::from_slice(&ct.nonce), ct.body.as_slice())
        .map_err(|_| TimelockError::BodyAuthentication)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `H2`: a target-group element to 32 bytes, `sha256` of its compressed arkworks encoding.
fn h2(gt: &<Bls12_381 as Pairing>::TargetField) -> [u8; 32] {
    let mut bytes = Vec::with_capacity(576);
    // Serialising a field element into a Vec cannot fail.
    #[allow(clippy::expect_used)]
    gt.serialize_compressed(&mut bytes)
        .expect("an Fq12 element serialises into a Vec");
    sha256(&bytes)
}

/// `H3`: `(sigma, key)` to a scalar, `sha256(sigma || key)` read big endian mod r.
fn h3(sigma: &[u8; 32], key: &[u8; 32]) -> Fr {
    let mut input = [0u8; 64];
    input[..32].copy_from_slice(sigma);
    input[32..].copy_from_slice(key);
    Fr::from_be_bytes_mod_order(&sha256(&input))
}

fn xor(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// A master key of our own: the identity's private key is `msk·Q`, so the algebra is
    /// checked without any published signature.
    fn setup(seed: u64) -> (Fr, G2Affine, ChaCha20Rng) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let msk = Fr::rand(&mut rng);
        let master = (G2Projective::generator() * msk).into_affine();
        (msk, master, rng)
    }

    #[test]
    fn round_trip_under_a_local_master_key() {
        let (msk, master, mut rng) = setup(1);
        let q = quicknet::round_identity(42);
        for len in [0usize, 1, 31, 32, 33, 1000] {
            let msg: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let ct = encrypt_to(master, q, &msg, &mut rng).unwrap();
            assert_eq!(ct.body.len(), len + 16);
            let key = (q.into_group() * msk).into_affine();
            assert_eq!(decrypt_with(&ct, key).unwrap(), msg, "len {len}");
            let parsed = TlockCiphertext::from_bytes(&ct.to_bytes()).unwrap();
            assert_eq!(decrypt_with(&parsed, key).unwrap(), msg);
        }
    }

    #[test]
    fn another_identitys_key_is_refused() {
        let (msk, master, mut rng) = setup(2);
        let ct = encrypt_to(master, quicknet::round_identity(7), b"weights", &mut rng).unwrap();
        let other = (quicknet::round_identity(8).into_group() * msk).into_affine();
        assert_eq!(decrypt_with(&ct, other), Err(TimelockError::WrongKey));
    }

    #[test]
    fn tampering_is_refused() {
        let (msk, master, mut rng) = setup(3);
        let q = quicknet::round_identity(9);
        let key = (q.into_group() * msk).into_affine();
        let ct = encrypt_to(master, q, b"weights", &mut rng).unwrap();
        let mut v = ct.clone();
        v.v[0] ^= 1;
        assert_eq!(decrypt_with(&v, key), Err(TimelockError::WrongKey));
        let mut w = ct.clone();
        w.w[31] ^= 1;
        assert_eq!(decrypt_with(&w, key), Err(TimelockError::WrongKey));
        let mut body = ct.clone();
        body.body[0] ^= 1;
        assert_eq!(
            decrypt_with(&body, key),
            Err(TimelockError::BodyAuthentication)
        );
        let mut nonce = ct;
        nonce.nonce[0] ^= 1;
        assert_eq!(
            decrypt_with(&nonce, key),
            Err(TimelockError::BodyAuthentication)
        );
    }

    #[test]
    fn seeded_encryption_is_deterministic_and_fresh_per_draw() {
        let a = encrypt(1000, b"x", &mut ChaCha20Rng::seed_from_u64(5)).unwrap();
        let b = encrypt(1000, b"x", &mut ChaCha20Rng::seed_from_u64(5)).unwrap();
        let c = encrypt(1000, b"x", &mut ChaCha20Rng::seed_from_u64(6)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
