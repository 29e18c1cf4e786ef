//! The circuit inputs of one proof-of-weights batch (§3.3a of the reference): what the
//! validator computes a witness for every 256 responses, and what a `ProofOfWeightsSynapse`
//! carries to a miner for the batched (1024) proof.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::constants::{POW_NONCE_SLOTS, SCALING};
use crate::error::{Result, ScoringError};
use crate::incentive::{BatchOutput, CircuitItem, IncentiveParams, evaluate_batch};
use crate::pow_item::{PowItem, scale_float, scale_int};

/// The complete inputs of the SN2 PoW circuit for one batch, already processed for a
/// real-world request: nonce slots filled, constants added and floats scaled.
///
/// Serialises to the circuit's input JSON (the field names and order of the reference's
/// `to_dict_list` plus `_add_missing_constants`), which is also what a `ProofOfWeightsSynapse`
/// carries in `inputs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitInputs {
    /// Scaled maximum scores.
    pub maximum_score: Vec<u64>,
    /// Scaled previous scores.
    pub previous_score: Vec<u64>,
    /// Verification flags.
    pub verified: Vec<bool>,
    /// Scaled proof sizes.
    pub proof_size: Vec<u64>,
    /// Scaled response times.
    pub response_time: Vec<u64>,
    /// Scaled competition scores.
    pub competition: Vec<u64>,
    /// Scaled maximum response times.
    pub maximum_response_time: Vec<u64>,
    /// Scaled minimum response times.
    pub minimum_response_time: Vec<u64>,
    /// Block numbers.
    pub block_number: Vec<i64>,
    /// Validator uids; the last [`POW_NONCE_SLOTS`] hold the random nonce.
    pub validator_uid: Vec<i64>,
    /// Miner uids.
    pub miner_uid: Vec<i64>,
    /// `int(0.4 * 1e8)`.
    #[serde(rename = "RATE_OF_DECAY")]
    pub rate_of_decay: u64,
    /// `int(0.1 * 1e8)`.
    #[serde(rename = "RATE_OF_RECOVERY")]
    pub rate_of_recovery: u64,
    /// `int(0.9 * 1e8)`.
    #[serde(rename = "FLATTENING_COEFFICIENT")]
    pub flattening_coefficient: u64,
    /// `0`.
    #[serde(rename = "PROOF_SIZE_WEIGHT")]
    pub proof_size_weight: u64,
    /// `int(3648 * 1e8)`.
    #[serde(rename = "PROOF_SIZE_THRESHOLD")]
    pub proof_size_threshold: u64,
    /// `1e8`.
    #[serde(rename = "RESPONSE_TIME_WEIGHT")]
    pub response_time_weight: u64,
    /// `0`.
    #[serde(rename = "COMPETITION_WEIGHT")]
    pub competition_weight: u64,
    /// `int(0.99 * 1e8)`.
    #[serde(rename = "MAXIMUM_RESPONSE_TIME_DECIMAL")]
    pub maximum_response_time_decimal: u64,
    /// `1e8`.
    pub scaling: u64,
}

/// Names of the per-item columns, in the reference's order.
const COLUMNS: [&str; 11] = [
    "maximum_score",
    "previous_score",
    "verified",
    "proof_size",
    "response_time",
    "competition",
    "maximum_response_time",
    "minimum_response_time",
    "block_number",
    "validator_uid",
    "miner_uid",
];

impl CircuitInputs {
    fn with_params(batch_size: usize, params: &IncentiveParams) -> Self {
        Self {
            maximum_score: Vec::with_capacity(batch_size),
            previous_score: Vec::with_capacity(batch_size),
            verified: Vec::with_capacity(batch_size),
            proof_size: Vec::with_capacity(batch_size),
            response_time: Vec::with_capacity(batch_size),
            competition: Vec::with_capacity(batch_size),
            maximum_response_time: Vec::with_capacity(batch_size),
            minimum_response_time: Vec::with_capacity(batch_size),
            block_number: Vec::with_capacity(batch_size),
            validator_uid: Vec::with_capacity(batch_size),
            miner_uid: Vec::with_capacity(batch_size),
            rate_of_decay: params.rate_of_decay,
            rate_of_recovery: params.rate_of_recovery,
            flattening_coefficient: params.flattening_coefficient,
            proof_size_weight: params.proof_size_weight,
            proof_size_threshold: params.proof_size_threshold,
            response_time_weight: params.response_time_weight,
            competition_weight: params.competition_weight,
            maximum_response_time_decimal: params.maximum_response_time_decimal,
            scaling: SCALING,
        }
    }

    fn push(&mut self, item: &CircuitItem) {
        self.maximum_score.push(item.maximum_score);
        self.previous_score.push(item.previous_score);
        self.verified.push(item.verified == 1);
        self.proof_size.push(item.proof_size);
        self.response_time.push(item.response_time);
        self.competition.push(item.competition);
        self.maximum_response_time.push(item.maximum_response_time);
        self.minimum_response_time.push(item.minimum_response_time);
        self.block_number.push(item.block_number);
        self.validator_uid.push(item.validator_uid);
        self.miner_uid.push(item.miner_uid);
    }

    fn apply_nonce(&mut self, nonce: &[u16; POW_NONCE_SLOTS]) {
        let start = self.validator_uid.len() - POW_NONCE_SLOTS;
        for (slot, &n) in self.validator_uid[start..].iter_mut().zip(nonce) {
            *slot = i64::from(n);
        }
    }

    /// The validator's own path (§5.5, §5.10): `input_handler(RWR, to_dict_list(items))`.
    /// `items` must hold exactly `batch_size` items (pad them first with [`crate::pad_items`]);
    /// `nonce` replaces the last 16 validator uids (the reference draws each slot with
    /// `secrets.randbits(16)`).
    pub fn from_pow_items(
        items: &[PowItem],
        batch_size: usize,
        nonce: &[u16; POW_NONCE_SLOTS],
    ) -> Result<Self> {
        check_batch_len("items", batch_size, items.len())?;
        let mut inputs = Self::with_params(batch_size, &IncentiveParams::default());
        for item in items {
            inputs.push(&item.to_circuit_item()?);
        }
        inputs.apply_nonce(nonce);
        Ok(inputs)
    }

    /// The external-request path (§3.3a, §6): `data` is a JSON object of unscaled columns
    /// (`maximum_score`, ... as floats or ints, `verified` as booleans, uids and blocks as
    /// ints) and optionally the constants and `scaling`. As in the reference, the last 16
    /// `validator_uid` entries are overwritten with `nonce` first, missing constants are added
    /// with the shipped values, and then the seven float columns are scaled (ints exactly,
    /// floats by a float64 multiply and truncation).
    ///
    /// Stricter than the reference: every column must have exactly `batch_size` entries
    /// (the circuit rejects other lengths anyway), values must be non-negative, and `scaling`,
    /// if given, must be `100000000` (the circuit's arithmetic is written for it).
    pub fn from_request_json(
        data: &Value,
        batch_size: usize,
        nonce: &[u16; POW_NONCE_SLOTS],
    ) -> Result<Self> {
        let obj = data
            .as_object()
            .ok_or_else(|| invalid("inputs", "must be a JSON object"))?;
        for column in COLUMNS {
            let len = obj
                .get(column)
                .and_then(Value::as_array)
                .ok_or_else(|| invalid(column, "missing or not a list"))?
                .len();
            check_batch_len(column, batch_size, len)?;
        }
        let column = |name: &'static str| -> &Vec<Value> {
            // Presence and type were checked above.
            obj.get(name)
                .and_then(Value::as_array)
                .map_or(&EMPTY, |v| v)
        };
        let defaults = IncentiveParams::default();
        let constant = |name: &'static str, default: u64| -> Result<u64> {
            match obj.get(name) {
                None => Ok(default),
                Some(v) => v
                    .as_u64()
                    .ok_or_else(|| invalid(name, "must be a non-negative integer")),
            }
        };
        let params = IncentiveParams {
            rate_of_decay: constant("RATE_OF_DECAY", defaults.rate_of_decay)?,
            rate_of_recovery: constant("RATE_OF_RECOVERY", defaults.rate_of_recovery)?,
            flattening_coefficient: constant(
                "FLATTENING_COEFFICIENT",
                defaults.flattening_coefficient,
            )?,
            proof_size_threshold: constant("PROOF_SIZE_THRESHOLD", defaults.proof_size_threshold)?,
            proof_size_weight: constant("PROOF_SIZE_WEIGHT", defaults.proof_size_weight)?,
            response_time_weight: constant("RESPONSE_TIME_WEIGHT", defaults.response_time_weight)?,
            maximum_response_time_decimal: constant(
                "MAXIMUM_RESPONSE_TIME_DECIMAL",
                defaults.maximum_response_time_decimal,
            )?,
            competition_weight: constant("COMPETITION_WEIGHT", defaults.competition_weight)?,
        };
        let scaling = constant("scaling", SCALING)?;
        if scaling != SCALING {
            return Err(invalid(
                "scaling",
                &format!("must be {SCALING}, got {scaling}"),
            ));
        }
        let mut inputs = Self::with_params(batch_size, &params);
        for i in 0..batch_size {
            let item = CircuitItem {
                maximum_score: scale_json("maximum_score", &column("maximum_score")[i])?,
                previous_score: scale_json("previous_score", &column("previous_score")[i])?,
                verified: json_bool("verified", &column("verified")[i])?,
                proof_size: scale_json("proof_size", &column("proof_size")[i])?,
                response_time: scale_json("response_time", &column("response_time")[i])?,
                competition: scale_json("competition", &column("competition")[i])?,
                maximum_response_time: scale_json(
                    "maximum_response_time",
                    &column("maximum_response_time")[i],
                )?,
                minimum_response_time: scale_json(
                    "minimum_response_time",
                    &column("minimum_response_time")[i],
                )?,
                block_number: json_int("block_number", &column("block_number")[i])?,
                // Overwritten below for the nonce slots, before any check of their values.
                validator_uid: if i + POW_NONCE_SLOTS >= batch_size {
                    0
                } else {
                    json_int("validator_uid", &column("validator_uid")[i])?
                },
                miner_uid: json_int("miner_uid", &column("miner_uid")[i])?,
            };
            inputs.push(&item);
        }
        inputs.apply_nonce(nonce);
        Ok(inputs)
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.miner_uid.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.miner_uid.is_empty()
    }

    /// The scalar parameters.
    pub fn params(&self) -> IncentiveParams {
        IncentiveParams {
            rate_of_decay: self.rate_of_decay,
            rate_of_recovery: self.rate_of_recovery,
            flattening_coefficient: self.flattening_coefficient,
            proof_size_threshold: self.proof_size_threshold,
            proof_size_weight: self.proof_size_weight,
            response_time_weight: self.response_time_weight,
            maximum_response_time_decimal: self.maximum_response_time_decimal,
            competition_weight: self.competition_weight,
        }
    }

    /// The rows. Columns of unequal length (only possible for deserialised values) are an
    /// error.
    pub fn items(&self) -> Result<Vec<CircuitItem>> {
        let n = self.len();
        let lens = [
            ("maximum_score", self.maximum_score.len()),
            ("previous_score", self.previous_score.len()),
            ("verified", self.verified.len()),
            ("proof_size", self.proof_size.len()),
            ("response_time", self.response_time.len()),
            ("competition", self.competition.len()),
            ("maximum_response_time", self.maximum_response_time.len()),
            ("minimum_response_time", self.minimum_response_time.len()),
            ("block_number", self.block_number.len()),
            ("validator_uid", self.validator_uid.len()),
        ];
        for (what, len) in lens {
            check_batch_len(what, n, len)?;
        }
        Ok((0..n)
            .map(|i| CircuitItem {
                maximum_score: self.maximum_score[i],
                previous_score: self.previous_score[i],
                verified: u64::from(self.verified[i]),
                proof_size: self.proof_size[i],
                response_time: self.response_time[i],
                competition: self.competition[i],
                maximum_response_time: self.maximum_response_time[i],
                minimum_response_time: self.minimum_response_time[i],
                block_number: self.block_number[i],
                validator_uid: self.validator_uid[i],
                miner_uid: self.miner_uid[i],
            })
            .collect())
    }

    /// Computes the circuit's outputs (what its witness holds after the constant `1`).
    pub fn evaluate(&self) -> Result<BatchOutput> {
        evaluate_batch(&self.params(), &self.items()?)
    }

    /// The circuit input JSON.
    pub fn to_json(&self) -> Value {
        // Serialising plain vectors and integers cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

static EMPTY: Vec<Value> = Vec::new();

fn invalid(field: &str, reason: &str) -> ScoringError {
    ScoringError::InvalidInput {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

fn check_batch_len(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected < POW_NONCE_SLOTS {
        return Err(ScoringError::WrongLength {
            what: "batch (must have room for the 16 nonce slots)",
            expected: POW_NONCE_SLOTS,
            actual: expected,
        });
    }
    if actual == expected {
        Ok(())
    } else {
        Err(ScoringError::WrongLength {
            what,
            expected,
            actual,
        })
    }
}

fn scale_json(field: &'static str, v: &Value) -> Result<u64> {
    let n = v
        .as_number()
        .ok_or_else(|| invalid(field, &format!("expected a number, got {v}")))?;
    if let Some(i) = n.as_i64() {
        scale_int(field, i)
    } else if n.is_u64() {
        // Larger than i64::MAX: times 1e8 cannot fit anything the circuit accepts.
        Err(ScoringError::Unscalable {
            field,
            value: n.as_f64().unwrap_or(f64::MAX),
        })
    } else {
        scale_float(field, n.as_f64().unwrap_or(f64::NAN))
    }
}

fn json_int(field: &'static str, v: &Value) -> Result<i64> {
    v.as_i64()
        .ok_or_else(|| invalid(field, &format!("expected an integer, got {v}")))
}

/// Pydantic's lax `bool`: `true`/`false` or the integers 0 and 1.
fn json_bool(field: &'static str, v: &Value) -> Result<u64> {
    match v {
        Value::Bool(b) => Ok(u64::from(*b)),
        Value::Number(n) if n.as_u64() == Some(0) || n.as_u64() == Some(1) => {
            Ok(n.as_u64().unwrap_or(0))
        }
        _ => Err(invalid(field, &format!("expected a boolean, got {v}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::SINGLE_POW_BATCH_SIZE;

    #[test]
    fn nonce_fills_the_last_sixteen_validator_uids() {
        let items = vec![PowItem::for_competition(1, 0.1, 0.0, 10, 5); SINGLE_POW_BATCH_SIZE];
        let nonce: [u16; 16] = std::array::from_fn(|i| 1000 + i as u16);
        let inputs = CircuitInputs::from_pow_items(&items, SINGLE_POW_BATCH_SIZE, &nonce).unwrap();
        assert_eq!(inputs.validator_uid[239], 5);
        assert_eq!(inputs.validator_uid[240], 1000);
        assert_eq!(inputs.validator_uid[255], 1015);
        let out = inputs.evaluate().unwrap();
        assert_eq!(out.validator_uid[255], 1015);
        assert_eq!(out.new_score.len(), 256);
        assert!(
            CircuitInputs::from_pow_items(&items[..10], SINGLE_POW_BATCH_SIZE, &nonce).is_err()
        );
    }

    #[test]
    fn circuit_json_has_the_reference_field_names_and_order() {
        let items = vec![PowItem::empty(); 16];
        let inputs = CircuitInputs::from_pow_items(&items, 16, &[7; 16]).unwrap();
        let text = serde_json::to_string(&inputs).unwrap();
        let keys: Vec<&str> = text
            .match_indices("\":")
            .map(|(i, _)| {
                let start = text[..i].rfind('"').unwrap_or(0) + 1;
                &text[start..i]
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                "maximum_score",
                "previous_score",
                "verified",
                "proof_size",
                "response_time",
                "competition",
                "maximum_response_time",
                "minimum_response_time",
                "block_number",
                "validator_uid",
                "miner_uid",
                "RATE_OF_DECAY",
                "RATE_OF_RECOVERY",
                "FLATTENING_COEFFICIENT",
                "PROOF_SIZE_WEIGHT",
                "PROOF_SIZE_THRESHOLD",
                "RESPONSE_TIME_WEIGHT",
                "COMPETITION_WEIGHT",
                "MAXIMUM_RESPONSE_TIME_DECIMAL",
                "scaling"
            ]
        );
        let back: CircuitInputs = serde_json::from_str(&text).unwrap();
        assert_eq!(back, inputs);
    }

    #[test]
    fn request_json_path_scales_and_fills_constants() {
        let n = 16;
        let data = serde_json::json!({
            "maximum_score": vec![0.00390625; n],
            "previous_score": vec![0.001; n],
            "verified": vec![true; n],
            "proof_size": vec![5000; n],
            "response_time": vec![12.5; n],
            "competition": vec![0; n],
            "maximum_response_time": vec![20.0; n],
            "minimum_response_time": vec![5; n],
            "block_number": vec![3_000_000; n],
            "validator_uid": vec![1; n],
            "miner_uid": vec![4; n],
            "RATE_OF_DECAY": 50_000_000,
        });
        let inputs = CircuitInputs::from_request_json(&data, n, &[9; 16]).unwrap();
        assert_eq!(inputs.maximum_score[0], 390_625);
        assert_eq!(inputs.previous_score[0], 100_000);
        assert_eq!(inputs.proof_size[0], 500_000_000_000);
        assert_eq!(inputs.minimum_response_time[0], 500_000_000);
        assert_eq!(inputs.rate_of_decay, 50_000_000);
        assert_eq!(inputs.rate_of_recovery, 10_000_000);
        assert_eq!(inputs.validator_uid, vec![9; n]);

        let mut short = data.clone();
        short["miner_uid"] = serde_json::json!([1, 2]);
        assert_eq!(
            CircuitInputs::from_request_json(&short, n, &[0; 16]),
            Err(ScoringError::WrongLength {
                what: "miner_uid",
                expected: n,
                actual: 2
            })
        );
        let mut bad = data.clone();
        bad["verified"][3] = serde_json::json!(2);
        assert!(matches!(
            CircuitInputs::from_request_json(&bad, n, &[0; 16]),
            Err(ScoringError::InvalidInput { .. })
        ));
        let mut bad_scaling = data;
        bad_scaling["scaling"] = serde_json::json!(1000);
        assert!(CircuitInputs::from_request_json(&bad_scaling, n, &[0; 16]).is_err());
    }
}
