//! The subnet constants that scoring depends on, with the values of the reference subnet
//! (`neurons/constants.py` of omron-subnet 10.3.1 and the PoW circuit's `input.py`).
//!
//! Values are copied as facts; where the reference holds a float that the circuit receives as
//! an integer, both forms are here and a test checks that the integer is `int(x * 1e8)` the way
//! Python computes it.

/// Fixed-point scale of the proof-of-weights circuit: a real `x` travels as `int(x * 1e8)`.
/// The circuit's polynomial constants are written for this scale, so it cannot change.
pub const SCALING: u64 = 100_000_000;

/// Bit width of the circuit's range checks (`IncentiveMechanism(batch_size, bits = 40)`).
pub const RANGE_BITS: u32 = 40;

/// Exclusive upper bound of a range-checked circuit value: `2^40`.
pub const RANGE_BOUND: u64 = 1 << RANGE_BITS;

/// Items per batch of the single proof-of-weights circuit (and per score application, §5.5).
pub const SINGLE_POW_BATCH_SIZE: usize = 256;

/// Items per batch of the batched proof-of-weights circuit (§5.10).
pub const BATCHED_POW_BATCH_SIZE: usize = 1024;

/// Slots at the end of `validator_uid` overwritten by a random 16-bit nonce before proving, so
/// that two batches never have identical inputs (HashGuard).
pub const POW_NONCE_SLOTS: usize = 16;

/// Circuit id (sha256 of the verification key) of "SN2 PoW 256 Circom", the circuit whose
/// witness turns every 256 responses into new scores.
pub const SINGLE_PROOF_OF_WEIGHTS_MODEL_ID: &str =
    "4a87c995300f4e9ad9add9d5b800eb93bb3ecd3f9459b617f9924a211407a88c";

/// Circuit id of "SN2 PoW 1024 Circom", proved by miners over 1024 queued score updates.
pub const BATCHED_PROOF_OF_WEIGHTS_MODEL_ID: &str =
    "1550853037e01d93c0831e2a4f80de7811b1c6780fb36b3cee89f4ba524df1be";

/// Multiplier a failed (unverified) response applies to the score: `s -= 0.4 * s`.
pub const RATE_OF_DECAY: f64 = 0.4;
/// Fraction of the distance to the target that a verified response moves the score.
pub const RATE_OF_RECOVERY: f64 = 0.1;
/// Public input of the circuit with no effect on the result.
pub const FLATTENING_COEFFICIENT: f64 = 0.9;
/// Proof size (bytes) the legacy reward normalised by; a public input with no effect.
pub const PROOF_SIZE_THRESHOLD: f64 = 3648.0;
/// Weight of proof size in the score: zero in the shipped circuit.
pub const PROOF_SIZE_WEIGHT: f64 = 0.0;
/// Weight of response time in the score.
pub const RESPONSE_TIME_WEIGHT: f64 = 1.0;
/// Weight of the competition score: zero, so competitions have no effect (§5.6).
pub const COMPETITION_WEIGHT: f64 = 0.0;
/// Normalised response times are clamped to at most this fraction (`x <= 0.99`).
pub const MAXIMUM_RESPONSE_TIME_DECIMAL: f64 = 0.99;

/// `int(RATE_OF_DECAY * 1e8)`.
pub const RATE_OF_DECAY_SCALED: u64 = 40_000_000;
/// `int(RATE_OF_RECOVERY * 1e8)`.
pub const RATE_OF_RECOVERY_SCALED: u64 = 10_000_000;
/// `int(FLATTENING_COEFFICIENT * 1e8)`.
pub const FLATTENING_COEFFICIENT_SCALED: u64 = 90_000_000;
/// `int(PROOF_SIZE_THRESHOLD * 1e8)`.
pub const PROOF_SIZE_THRESHOLD_SCALED: u64 = 364_800_000_000;
/// `int(PROOF_SIZE_WEIGHT * 1e8)`.
pub const PROOF_SIZE_WEIGHT_SCALED: u64 = 0;
/// `int(RESPONSE_TIME_WEIGHT * 1e8)`.
pub const RESPONSE_TIME_WEIGHT_SCALED: u64 = 100_000_000;
/// `int(COMPETITION_WEIGHT * 1e8)`.
pub const COMPETITION_WEIGHT_SCALED: u64 = 0;
/// `int(MAXIMUM_RESPONSE_TIME_DECIMAL * 1e8)`.
pub const MAXIMUM_RESPONSE_TIME_DECIMAL_SCALED: u64 = 99_000_000;

/// Proof size assumed when it cannot be measured, and for every unverified response.
pub const DEFAULT_PROOF_SIZE: u64 = 5000;
/// Fraction of the slowest verified response times whose median is the "maximum" (§5.2).
pub const MAXIMUM_SCORE_MEDIAN_SAMPLE: f64 = 0.05;
/// Timeout of a proof request when a circuit's metadata sets none, in seconds. Also the
/// maximum response time reported while a circuit has fewer than two verified samples.
pub const CIRCUIT_TIMEOUT_SECONDS: u64 = 60;
/// Request timeout in seconds; used as the response time of padding items.
pub const VALIDATOR_REQUEST_TIMEOUT_SECONDS: u64 = 120;
/// Evaluation items kept per circuit for the response-time statistics (one per uid).
pub const MAX_EVALUATION_ITEMS: usize = 1024;
/// `maximum_score` of padding items: `1 / 235`.
pub const DEFAULT_MAX_SCORE: f64 = 1.0 / 235.0;

/// Version key sent with every weight vector (`WEIGHTS_VERSION`).
pub const WEIGHTS_VERSION: u64 = 11002;
/// Minimum blocks between two weight updates of one validator.
pub const WEIGHT_RATE_LIMIT: u64 = 100;
/// Weights are set only when at most this many blocks remain in the epoch.
pub const WEIGHT_UPDATE_BUFFER: u64 = 15;
/// Blocks per epoch (subnet tempo); an epoch spans `EPOCH_TEMPO + 1` blocks.
pub const EPOCH_TEMPO: u64 = 360;
/// Number of miner groups that uids are shuffled into (§5.9).
pub const NUM_MINER_GROUPS: u64 = 8;
/// Blocks before an epoch's end in which a miner must post its bonds-reset commitment.
pub const MINER_RESET_WINDOW_BLOCKS: u64 = 10;

/// Total stake (TAO) at or above which a neuron counts as a validator: it is not queried and
/// its score is zeroed. Also the miners' blacklist threshold.
pub const VALIDATOR_STAKE_THRESHOLD: f64 = 1024.0;
/// The stake threshold on the subnet's testnet netuid, where everyone has stake: `1e19`.
pub const TESTNET_VALIDATOR_STAKE_THRESHOLD: f64 = 1e19;
/// The subnet's mainnet netuid.
pub const DEFAULT_NETUID: u16 = 2;
/// The subnet's testnet netuid (`MAINNET_TESTNET_UIDS` maps 2 to 118).
pub const TESTNET_NETUID: u16 = 118;

/// Hashes of request inputs remembered by the hash guard (FIFO).
pub const MAX_HASHES: usize = 32768;

/// Concurrent miner requests of the validator's request pool.
pub const MAX_CONCURRENT_REQUESTS: usize = 16;

/// The BN254 scalar field modulus, in decimal: the field the Circom circuits compute in.
pub const FIELD_MODULUS: &str =
    "21888242871839275222246405745257275088548364400416034343698204186575808495617";

// The clamp constant is range-checked by the circuit; a value at or above 2^40 could never be
// proved.
const _: () = assert!(MAXIMUM_RESPONSE_TIME_DECIMAL_SCALED < RANGE_BOUND);

#[cfg(test)]
mod tests {
    use super::*;

    /// `int(x * SCALING)` in Python: a float multiply then truncation toward zero.
    fn py_scale(x: f64) -> u64 {
        (x * SCALING as f64).trunc() as u64
    }

    #[test]
    fn scaled_constants_are_pythons_int_of_product() {
        assert_eq!(py_scale(RATE_OF_DECAY), RATE_OF_DECAY_SCALED);
        assert_eq!(py_scale(RATE_OF_RECOVERY), RATE_OF_RECOVERY_SCALED);
        assert_eq!(
            py_scale(FLATTENING_COEFFICIENT),
            FLATTENING_COEFFICIENT_SCALED
        );
        assert_eq!(py_scale(PROOF_SIZE_THRESHOLD), PROOF_SIZE_THRESHOLD_SCALED);
        assert_eq!(py_scale(PROOF_SIZE_WEIGHT), PROOF_SIZE_WEIGHT_SCALED);
        assert_eq!(py_scale(RESPONSE_TIME_WEIGHT), RESPONSE_TIME_WEIGHT_SCALED);
        assert_eq!(py_scale(COMPETITION_WEIGHT), COMPETITION_WEIGHT_SCALED);
        assert_eq!(
            py_scale(MAXIMUM_RESPONSE_TIME_DECIMAL),
            MAXIMUM_RESPONSE_TIME_DECIMAL_SCALED
        );
    }

    #[test]
    fn range_bound_is_two_to_the_forty() {
        assert_eq!(RANGE_BOUND, 1_099_511_627_776);
    }
}
