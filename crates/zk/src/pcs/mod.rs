//! The transparent multilinear polynomial commitment: Basefold over Reed-Solomon codes, with its
//! NTT and Merkle tree.

pub mod basefold;
pub mod merkle;
pub mod ntt;

pub use basefold::{Claim, Committed, PcsParams};
