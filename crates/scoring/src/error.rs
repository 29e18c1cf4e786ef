//! The one error type of the crate. Every variant carries the numbers that explain it, so a log
//! line says which item, which value and which bound.

use thiserror::Error;

/// Everything that can go wrong in scoring arithmetic, item construction and weight conversion.
///
/// The incentive-function variants mirror the ways the PoW circuit's witness generation fails:
/// where the circuit would reject an item (a range check, a wrapped negative difference, a
/// division by zero), this crate returns an error instead of a number.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ScoringError {
    /// A flag the circuit constrains to `{0, 1}` holds something else.
    #[error("{field} must be 0 or 1, got {value}")]
    NotBoolean {
        /// Name of the circuit input.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// A value the circuit range-checks is not below `2^40`.
    #[error("{field} = {value} is out of the circuit's range (must be < {bound})")]
    OutOfRange {
        /// Name of the circuit value.
        field: &'static str,
        /// The value found.
        value: u128,
        /// The exclusive bound.
        bound: u128,
    },
    /// `maximum_response_time == minimum_response_time`: the normalisation divides by zero.
    #[error("maximum_response_time equals minimum_response_time ({value}): division by zero")]
    EqualResponseTimeBounds {
        /// The common value (scaled by 1e8).
        value: u64,
    },
    /// A difference the circuit computes in the field is negative, so it would wrap around the
    /// modulus and fail witness generation.
    #[error("{what}: {minuend} - {subtrahend} is negative")]
    NegativeDifference {
        /// Which difference.
        what: &'static str,
        /// Left operand.
        minuend: u128,
        /// Right operand.
        subtrahend: u128,
    },
    /// An intermediate value does not fit the integer width used to compute it.
    #[error("arithmetic overflow computing {what}")]
    Overflow {
        /// Which value.
        what: &'static str,
    },
    /// One item of a batch failed; the whole batch fails, as the circuit's witness does.
    #[error("batch item {index}: {source}")]
    BatchItem {
        /// Position of the failing item in the batch.
        index: usize,
        /// Why it failed.
        #[source]
        source: Box<ScoringError>,
    },
    /// A column or batch has the wrong number of entries.
    #[error("{what} has {actual} entries, expected {expected}")]
    WrongLength {
        /// Which column or list.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Length found.
        actual: usize,
    },
    /// A float cannot be scaled to a non-negative 64-bit integer (`int(x * 1e8)`).
    #[error("{field} = {value} cannot be scaled to a non-negative integer")]
    Unscalable {
        /// Name of the value.
        field: &'static str,
        /// The value found.
        value: f64,
    },
    /// A weight is negative or not finite; the chain cannot hold it.
    #[error("weight {index} is {value}: weights must be finite and non-negative")]
    InvalidWeight {
        /// Position of the weight.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// Request inputs for the PoW circuit are malformed.
    #[error("invalid PoW circuit input {field}: {reason}")]
    InvalidInput {
        /// Offending field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An input was already seen by the hash guard.
    #[error("hash already exists: {hash}")]
    DuplicateInput {
        /// Hex of the sha256 of the canonical input JSON.
        hash: String,
    },
}

/// Result alias of the crate.
pub type Result<T, E = ScoringError> = std::result::Result<T, E>;
