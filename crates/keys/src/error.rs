//! The one error type of this crate.

/// Everything that can go wrong while parsing or deriving keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The address is not valid base58.
    #[error("invalid ss58 address {address:?}: not base58")]
    Ss58NotBase58 {
        /// The rejected text.
        address: String,
    },
    /// The decoded address has the wrong number of bytes.
    #[error("invalid ss58 address {address:?}: decodes to {actual} bytes, expected {expected}")]
    Ss58Length {
        /// The rejected text.
        address: String,
        /// Bytes a prefix-42 address decodes to.
        expected: usize,
        /// Bytes it decoded to.
        actual: usize,
    },
    /// The address belongs to another network.
    #[error(
        "ss58 address {address:?} has network prefix {actual}, expected {expected} (Bittensor)"
    )]
    Ss58Prefix {
        /// The rejected text.
        address: String,
        /// The Bittensor prefix.
        expected: u8,
        /// The prefix found.
        actual: u8,
    },
    /// The two checksum bytes do not match (a typo in the address).
    #[error("invalid ss58 address {address:?}: checksum mismatch (typo?)")]
    Ss58Checksum {
        /// The rejected text.
        address: String,
    },
    /// A hex string could not be decoded.
    #[error("invalid hex for {what}: {reason}")]
    Hex {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// A byte string had the wrong length.
    #[error("{what} must be {expected} bytes, got {actual}")]
    Length {
        /// What was being decoded.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Given length.
        actual: usize,
    },
    /// The bytes are not a valid sr25519 secret key.
    #[error("invalid sr25519 secret key: {reason}")]
    SecretKey {
        /// Why schnorrkel rejected it.
        reason: String,
    },
    /// The mnemonic is not a valid English BIP-39 phrase.
    #[error("invalid mnemonic: {reason}")]
    Mnemonic {
        /// Why it was rejected (unknown word, bad checksum, word count).
        reason: String,
    },
    /// A secret URI (`phrase//hard/soft///password`) could not be parsed.
    #[error("invalid secret URI: {reason}")]
    Uri {
        /// Why it was rejected.
        reason: String,
    },
}
