//! The proof system: Goldilocks field and extension, Fiat-Shamir transcript, sumcheck, LogUp-GKR
//! fractional sums, a Basefold multilinear commitment over Reed-Solomon codes, and the binary
//! proof channel with hard size limits.
//!
//! This crate knows nothing of machine learning, networks or async runtimes, and the verifier
//! side needs nothing heavier than `blake3`. Protocol-level documentation lives in
//! `docs/proof-system.md`; each module documents the piece it implements.

mod error;
pub mod field;
pub mod fold;
pub mod fraction_sum;
pub mod mle;
mod par;
pub mod pcs;
pub mod sumcheck;
mod transcript;

pub use error::VerifyError;
pub use field::{Ext, Fp};
pub use transcript::{ProverChannel, Transcript, VerifierChannel};
