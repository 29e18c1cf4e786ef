//! omron-timelock's integration tests, one binary:
//!
//! - `vectors`: quicknet's real published signatures verify, and open what we encrypt.
//! - `python`: interop with PyPI `bittensor-drand` (`OMRON_DRAND_PYTHON`, from
//!   `scripts/drand-venv.sh`): each side decrypts the other's ciphertext with the real round-1000
//!   signature; the SDK's commit has our layout and our round.
//! - `finney`: the commit calls encode against the real finney metadata.

// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod finney;
mod python;
mod vectors;

/// Real quicknet pulses (round, signature hex). Round 1000 is
/// `https://api.drand.sh/52db9ba7…e971/public/1000` as recorded in `opentensor/subtensor`
/// `pallets/drand/src/tests.rs` (`DRAND_PULSE`, with its randomness) and in ideal-lab5
/// timelock's `tlock.rs` test; round 2000 is `DRAND_QUICKNET_SIG_2000_HEX` of subtensor's
/// `pallets/commitments/src/mock.rs` (its comment says round 20000, its tests use it as round
/// 2000, and it verifies as round 2000 only). `vectors::published_signatures_verify` checks both
/// against quicknet's public key, so a mistyped vector cannot pass.
pub(crate) const ROUND_1000: (u64, &str) = (
    1000,
    "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39",
);
/// The randomness drand published with round 1000 (`sha256(signature)`).
pub(crate) const ROUND_1000_RANDOMNESS: &str =
    "fe290beca10872ef2fb164d2aa4442de4566183ec51c56ff3cd603d930e54fdd";
/// Round 2000.
pub(crate) const ROUND_2000: (u64, &str) = (
    2000,
    "b6cb8f482a0b15d45936a4c4ea08e98a087e71787caee3f4d07a8a9843b1bc5423c6b3c22f446488b3137eaca799c77e",
);

pub(crate) fn sig(v: (u64, &str)) -> Vec<u8> {
    hex::decode(v.1).unwrap()
}
