//! Integration tests of omron-miner, one binary (STYLE habit 10): a real miner (axon over
//! HTTP on loopback, real proofs) on an in-process embedded chain, queried by our real
//! dendrite signing as registered and unregistered callers.
//!
//! * `common`: the subnet (validator with stake and permit, a poor caller, the miner) and
//!   miner start-up.
//! * `serving`: proofs that verify against the validator's own inputs, announcement,
//!   capacities, competition, proof of weights, metrics and health, start-up failures.
//! * `gatekeeping`: the blacklist's upstream reasons, its refresh, and `--disable-blacklist`.
//! * `dev_behaviour`: the slow and faulty miners of `omron localnet`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod dev_behaviour;
mod gatekeeping;
mod serving;
