//! Integration tests of omron-bittensor, one binary (STYLE habit 10).
//!
//! * `vectors_*`: replay the ground truth captured from the real SDK in
//!   `../shared/data/bittensor-wire/` (wallet files, body hashes, raw HTTP exchanges).
//! * `loopback`: our dendrite against our axon over real HTTP on 127.0.0.1.
//! * `interop_*`: the real Python SDK (bittensor 10.5.0 and 11.3.0, installed by
//!   `scripts/test.sh` into venvs) against our axon and dendrite.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod interop_btauth;
mod interop_sdk10;
mod interop_sdk_checks;
mod loopback;
mod python;
mod vectors_body_hash;
mod vectors_dendrite_merge;
mod vectors_dumps;
mod vectors_handcrafted;
mod vectors_wallets;
