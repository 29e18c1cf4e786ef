//! Bittensor wallets and the axon/dendrite wire protocol (SDK <= 10.x and btauth/1).
//!
//! Must not depend on: the chain, the proof engine or any node crate.

pub mod axon;
pub mod body_hash;
pub mod btauth;
pub mod dendrite;
pub mod headers;
pub mod ids;
pub mod json;
pub mod legacy;
pub mod synapse;
pub mod wallet;
