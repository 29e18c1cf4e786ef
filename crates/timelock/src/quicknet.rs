//! The drand quicknet beacon: its constants, its round clock, the identity a round's signature
//! opens, and the check that a signature is quicknet's.
//!
//! Quicknet (`bls-unchained-g1-rfc9380`) signs round `r` as `sk · H(sha256(r as u64 big
//! endian))`, `H` the RFC 9380 hash to G1 (`BLS12381G1_XMD:SHA-256_SSWU_RO_`) with the domain
//! [`DST`]; the signature is a 48-byte compressed G1 point, the public key a 96-byte compressed
//! G2 point. The signature of a round is therefore the IBE private key of the identity
//! `sha256(round)`, which is what timelock encryption encrypts to.

use std::sync::OnceLock;

use ark_bls12_381::{Bls12_381, G1Affine, G1Projective, G2Affine, g1};
use ark_ec::hashing::HashToCurve;
use ark_ec::hashing::curve_maps::wb::WBMap;
use ark_ec::hashing::map_to_curve_hasher::MapToCurveBasedHasher;
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::One;
use ark_ff::field_hashers::DefaultFieldHasher;
use ark_serialize::CanonicalDeserialize;
use sha2::{Digest, Sha256};

use crate::error::{Result, TimelockError};

/// Quicknet's group public key, hex (96 bytes, compressed G2), as `/info` publishes it.
pub const PUBLIC_KEY_HEX: &str = "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a";
/// Quicknet's chain hash (the id in `https://api.drand.sh/<hash>/public/<round>`).
pub const CHAIN_HASH_HEX: &str = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971";
/// Unix time of round 1.
pub const GENESIS_TIME: u64 = 1_692_803_367;
/// Seconds between rounds.
pub const PERIOD_SECS: u64 = 3;
/// The scheme id.
pub const SCHEME: &str = "bls-unchained-g1-rfc9380";
/// The hash-to-G1 domain separation tag quicknet signs under.
pub const DST: &[u8] = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_";
/// Bytes of a round signature (compressed G1).
pub const SIGNATURE_BYTES: usize = 48;

/// Quicknet's public key as a curve point.
pub fn public_key() -> G2Affine {
    static KEY: OnceLock<G2Affine> = OnceLock::new();
    *KEY.get_or_init(|| {
        // A compile-time constant that the tests check decodes: not outside data.
        #[allow(clippy::expect_used)]
        let bytes = hex::decode(PUBLIC_KEY_HEX).expect("the quicknet key constant is hex");
        #[allow(clippy::expect_used)]
        G2Affine::deserialize_compressed(&bytes[..])
            .expect("the quicknet key constant is a G2 point")
    })
}

/// The message quicknet signs for `round`: `sha256(round as u64 big endian)`.
pub fn round_message(round: u64) -> [u8; 32] {
    Sha256::digest(round.to_be_bytes()).into()
}

/// The identity point of `round`: `H(sha256(round))` in G1, which the round's signature is the
/// IBE private key of.
pub fn round_identity(round: u64) -> G1Affine {
    hash_to_g1(&round_message(round))
}

/// RFC 9380 `hash_to_curve` into G1 with quicknet's [`DST`].
pub(crate) fn hash_to_g1(msg: &[u8]) -> G1Affine {
    type Hasher =
        MapToCurveBasedHasher<G1Projective, DefaultFieldHasher<Sha256, 128>, WBMap<g1::Config>>;
    // Neither step can fail for BLS12-381 G1 with a non-empty DST shorter than 256 bytes: the
    // errors are for curves without the map and for the map's exceptional point, which the
    // simplified SWU map handles.
    #[allow(clippy::expect_used)]
    let hasher = Hasher::new(DST).expect("BLS12-381 G1 supports the WB map");
    #[allow(clippy::expect_used)]
    hasher.hash(msg).expect("hashing to BLS12-381 G1 is total")
}

/// Decodes a 48-byte round signature (checked to lie in the prime-order subgroup).
pub fn parse_signature(signature: &[u8]) -> Result<G1Affine> {
    if signature.len() != SIGNATURE_BYTES {
        return Err(TimelockError::SignatureLength {
            expected: SIGNATURE_BYTES,
            actual: signature.len(),
        });
    }
    let point =
        G1Affine::deserialize_compressed(signature).map_err(|_| TimelockError::InvalidSignature)?;
    if point.is_zero() {
        return Err(TimelockError::InvalidSignature);
    }
    Ok(point)
}

/// Checks that `signature` is quicknet's signature of `round`:
/// `e(signature, G2) == e(H(sha256(round)), public key)`.
pub fn verify_round_signature(round: u64, signature: &[u8]) -> Result<()> {
    let sig = parse_signature(signature)?;
    let lhs = Bls12_381::multi_pairing(
        [sig, (-round_identity(round).into_group()).into_affine()],
        [G2Affine::generator(), public_key()],
    );
    if lhs.0.is_one() {
        Ok(())
    } else {
        Err(TimelockError::SignatureMismatch { round })
    }
}

/// The randomness drand publishes with a round: `sha256(signature)`.
pub fn randomness(signature: &[u8]) -> [u8; 32] {
    Sha256::digest(signature).into()
}

/// The Unix time at which `round` is emitted (round 1 at genesis).
pub fn round_time(round: u64) -> u64 {
    GENESIS_TIME.saturating_add(round.saturating_sub(1).saturating_mul(PERIOD_SECS))
}

/// The latest round emitted at Unix time `unix_secs` (0 before genesis).
pub fn latest_round_at(unix_secs: u64) -> u64 {
    if unix_secs < GENESIS_TIME {
        0
    } else {
        (unix_secs - GENESIS_TIME) / PERIOD_SECS + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_key_constant_decodes() {
        let pk = public_key();
        assert!(!pk.is_zero());
        assert!(pk.is_in_correct_subgroup_assuming_on_curve());
    }

    #[test]
    fn round_clock() {
        assert_eq!(round_time(1), GENESIS_TIME);
        assert_eq!(round_time(1000), GENESIS_TIME + 999 * 3);
        assert_eq!(latest_round_at(GENESIS_TIME - 1), 0);
        assert_eq!(latest_round_at(GENESIS_TIME), 1);
        assert_eq!(latest_round_at(GENESIS_TIME + 2), 1);
        assert_eq!(latest_round_at(GENESIS_TIME + 3), 2);
        for round in [1, 2, 1000, 20_000, 17_200_000] {
            assert_eq!(latest_round_at(round_time(round)), round);
        }
    }

    #[test]
    fn signatures_of_the_wrong_shape_are_errors() {
        assert_eq!(
            parse_signature(&[0u8; 47]),
            Err(TimelockError::SignatureLength {
                expected: 48,
                actual: 47
            })
        );
        assert_eq!(
            parse_signature(&[0xffu8; 48]),
            Err(TimelockError::InvalidSignature)
        );
        // The point at infinity is well-formed but opens nothing.
        let mut infinity = [0u8; 48];
        infinity[0] = 0xc0;
        assert_eq!(
            parse_signature(&infinity),
            Err(TimelockError::InvalidSignature)
        );
    }
}
