//! The crate's error type: every way a ciphertext, a signature, a schedule or a commit can be
//! refused, with the numbers that explain why.

/// Why a timelock operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimelockError {
    /// The ciphertext ends inside a field.
    #[error(
        "ciphertext truncated: {field} needs {needed} bytes at offset {offset}, {available} left"
    )]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Where it starts.
        offset: usize,
        /// How many bytes it needs.
        needed: u64,
        /// How many bytes are left.
        available: usize,
    },
    /// A fixed-size field carries the wrong length prefix.
    #[error("ciphertext field {field} is {actual} bytes long, expected {expected}")]
    FieldLength {
        /// The field.
        field: &'static str,
        /// The length the format prescribes.
        expected: usize,
        /// The length the prefix claims.
        actual: u64,
    },
    /// Bytes follow the last field.
    #[error("{trailing} bytes follow the ciphertext")]
    TrailingBytes {
        /// How many.
        trailing: usize,
    },
    /// The ciphertext exceeds the decoder's hard limit.
    #[error("ciphertext is {actual} bytes, more than the {max} this decoder reads")]
    TooLarge {
        /// Its size.
        actual: usize,
        /// The limit ([`crate::MAX_CIPHERTEXT_BYTES`]).
        max: usize,
    },
    /// The header's `U` is not a compressed G2 point of the prime-order subgroup.
    #[error("ciphertext header: U is not a valid compressed G2 point")]
    InvalidHeaderPoint,
    /// The symmetric cipher suite is not AES-256-GCM.
    #[error("unknown cipher suite {suite:?}: only AES_GCM_ is supported")]
    UnknownCipherSuite {
        /// The suite named, lossily as text.
        suite: String,
    },
    /// A drand signature of the wrong size.
    #[error("a quicknet signature is {expected} bytes (compressed G1), got {actual}")]
    SignatureLength {
        /// 48.
        expected: usize,
        /// What was given.
        actual: usize,
    },
    /// A signature that is not a compressed G1 point of the prime-order subgroup.
    #[error("the signature is not a valid compressed G1 point")]
    InvalidSignature,
    /// The signature does not verify for the round against quicknet's public key.
    #[error("the signature is not quicknet's signature of round {round}")]
    SignatureMismatch {
        /// The round it was checked for.
        round: u64,
    },
    /// The IBE header does not open under this signature: another round's signature, or a
    /// tampered header.
    #[error(
        "the signature does not open this ciphertext (another round's signature, or a tampered header)"
    )]
    WrongKey,
    /// AES-GCM refused the body: it was tampered with.
    #[error("the ciphertext body fails AES-GCM authentication (tampered)")]
    BodyAuthentication,
    /// The plaintext does not fit the symmetric cipher's limits.
    #[error("plaintext of {actual} bytes cannot be encrypted")]
    PlaintextTooLarge {
        /// Its size.
        actual: usize,
    },
    /// The encrypted commit exceeds what the runtime stores (`MAX_CRV3_COMMIT_SIZE_BYTES`).
    #[error(
        "the encrypted commit is {actual} bytes, the runtime stores at most {max}: commit fewer uids"
    )]
    CommitTooLarge {
        /// Its size.
        actual: usize,
        /// The limit ([`crate::MAX_COMMIT_BYTES`]).
        max: usize,
    },
    /// `uids` and `values` differ in length.
    #[error("{uids} uids but {values} values")]
    WeightsLength {
        /// Number of uids.
        uids: usize,
        /// Number of values.
        values: usize,
    },
    /// The decrypted bytes are no weights payload.
    #[error("the plaintext is no weights payload: {reason}")]
    Payload {
        /// What the decoder said.
        reason: String,
    },
    /// The subnet's tempo is zero, so it runs no epochs and no reveal ever comes.
    #[error("tempo is 0: the subnet runs no epochs, so a commit would never be revealed")]
    TempoIsZero,
    /// The reveal block was not found within the simulation bound.
    #[error("no reveal block within {blocks} blocks of block {from}")]
    ScheduleBound {
        /// The block simulated from.
        from: u64,
        /// The bound.
        blocks: u64,
    },
    /// A block time that is not a positive finite number of seconds.
    #[error("block time must be a positive number of seconds, got {0}")]
    BlockTime(String),
    /// A commit-reveal version this crate does not build commits for.
    #[error("commit-reveal version {0} is not a timelocked version (3 and 4 are)")]
    UnsupportedVersion(u16),
    /// The runtime offers none of the extrinsics that commit for this version.
    #[error("this runtime offers none of {wanted} for commit-reveal v{version}")]
    NoCommitCall {
        /// The subnet's version.
        version: u16,
        /// The calls looked for, in order of preference.
        wanted: String,
    },
}

/// The crate's result type.
pub type Result<T, E = TimelockError> = std::result::Result<T, E>;
