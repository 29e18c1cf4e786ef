//! Proof-of-weights circuits: validators' scoring functions, written by hand as IR graphs.
//!
//! `sn2` is this subnet's own incentive function, bit-exact with the reference's integer
//! arithmetic, which validators prove over their score-update batches.

pub mod sn2;
