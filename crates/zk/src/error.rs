//! Why a proof was rejected. Every malformed or wrong proof ends in one of these; the verifier
//! never panics on bytes it did not produce.

use thiserror::Error;

/// A proof failed to decode or to verify.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The proof ended before the verifier read everything it expects.
    #[error("proof truncated: {what} needs {needed} more bytes, {remaining} left")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// Bytes remain after the verifier read everything it expects.
    #[error("proof has {count} unexpected trailing bytes")]
    TrailingBytes {
        /// Number of extra bytes.
        count: usize,
    },
    /// The proof is larger than any valid proof may be.
    #[error("proof is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the proof.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A field element in the proof is not in canonical form (`>= p`).
    #[error("non-canonical field element in {what}")]
    NonCanonical {
        /// What was being read.
        what: &'static str,
    },
    /// A variable-length integer is malformed or out of its allowed range.
    #[error("invalid integer in {what}: {detail}")]
    InvalidInteger {
        /// What was being read.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// Wrong magic bytes or an unsupported format version.
    #[error("not an omron proof, or unsupported version: {0}")]
    Format(String),
    /// A sumcheck round polynomial does not match the running claim.
    #[error("sumcheck '{label}' failed in round {round} of {rounds}")]
    Sumcheck {
        /// Which sumcheck.
        label: &'static str,
        /// Failing round (the final check is round `rounds`).
        round: usize,
        /// Number of rounds.
        rounds: usize,
    },
    /// A claimed value does not satisfy the relation it must.
    #[error("relation check failed: {0}")]
    Relation(String),
    /// A LogUp lookup argument does not balance.
    #[error("lookup argument for table '{table}' does not balance")]
    Lookup {
        /// The table's name.
        table: String,
    },
    /// A Merkle opening does not match the committed root.
    #[error("Merkle opening of {what} does not match the commitment")]
    Merkle {
        /// Which oracle.
        what: &'static str,
    },
    /// A folding consistency check of the commitment opening failed.
    #[error("commitment opening failed at query {query}: {detail}")]
    Opening {
        /// Index of the query.
        query: usize,
        /// What failed.
        detail: &'static str,
    },
    /// The proof-of-work nonce does not meet the required difficulty.
    #[error("proof-of-work nonce does not have {bits} leading zero bits")]
    ProofOfWork {
        /// Required bits.
        bits: u32,
    },
    /// The public output in the proof is not what the caller expected.
    #[error("public output mismatch: {0}")]
    Output(String),
}
