//! The validator's receipt: a statement, signed with its hotkey, that it verified a miner's
//! proof of this output for this input of this circuit.
//!
//! The signed message is `omron-rs receipt v1\n` followed by the canonical JSON
//! ([`crate::canonical`]) of every field but `signature`. Anyone can check it with the
//! validator's public key alone; the proof it names is checked with the circuit's files
//! (`omron receipt verify`), so a receipt never has to be trusted on its own.

use omron_keys::{AccountId, Keypair, Signature};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical;

/// The receipt format version.
pub const RECEIPT_VERSION: u32 = 1;
/// The domain tag in front of the signed text.
const DOMAIN: &[u8] = b"omron-rs receipt v1\n";

/// Why a receipt does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The receipt's version is not one this code reads.
    #[error("receipt version {0} is not supported (expected {RECEIPT_VERSION})")]
    Version(u32),
    /// A field is unreadable.
    #[error("malformed receipt: {0}")]
    Malformed(String),
    /// The signature does not verify.
    #[error("receipt signature does not verify for validator {0}")]
    BadSignature(String),
    /// A field does not match the thing it describes.
    #[error("receipt {field} is {in_receipt}, but the {what} hashes to {actual}")]
    Mismatch {
        /// Which field.
        field: &'static str,
        /// What it describes.
        what: &'static str,
        /// The receipt's value.
        in_receipt: String,
        /// The value computed.
        actual: String,
    },
}

/// Every field of a receipt but its signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnsignedReceipt {
    /// [`RECEIPT_VERSION`].
    pub version: u32,
    /// The request's hash (the API answer's `hash`).
    pub request_hash: String,
    /// The JSON-RPC method.
    pub method: String,
    /// The circuit id (hex).
    pub circuit_id: String,
    /// SHA-256 of the canonical JSON of the input the proof is bound to (the app's input with
    /// the validator's nonce, or the proof-of-weights batch).
    pub input_hash: String,
    /// The proven output.
    pub output: Value,
    /// SHA-256 of the proof bytes.
    pub proof_hash: String,
    /// The miner that proved it.
    pub miner_uid: u16,
    /// Its hotkey (ss58).
    pub miner_hotkey: String,
    /// The validator that verified it (ss58); the signer.
    pub validator_hotkey: String,
    /// The subnet.
    pub netuid: u16,
    /// The chain block when the proof was verified.
    pub block: u64,
    /// Unix seconds when the receipt was made.
    pub issued_at: u64,
}

/// A signed receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// What is signed.
    #[serde(flatten)]
    pub body: UnsignedReceipt,
    /// `0x`-prefixed hex of the 64-byte sr25519 signature by `validator_hotkey`.
    pub signature: String,
}

impl UnsignedReceipt {
    /// The exact bytes signed.
    pub fn message(&self) -> Vec<u8> {
        // A struct of strings, numbers and a JSON value always serialises.
        let value = serde_json::to_value(self).unwrap_or(Value::Null);
        let mut msg = DOMAIN.to_vec();
        msg.extend_from_slice(canonical::to_string(&value).as_bytes());
        msg
    }

    /// Signs with the validator's hotkey (which should be `validator_hotkey`).
    pub fn sign(self, hotkey: &Keypair) -> Receipt {
        let signature = hotkey.sign(&self.message());
        Receipt {
            body: self,
            signature: signature.to_hex(),
        }
    }
}

impl Receipt {
    /// Checks the version and the signature against `validator_hotkey`; returns that key.
    pub fn verify_signature(&self) -> Result<AccountId, ReceiptError> {
        if self.body.version != RECEIPT_VERSION {
            return Err(ReceiptError::Version(self.body.version));
        }
        let key = AccountId::from_ss58(&self.body.validator_hotkey)
            .map_err(|e| ReceiptError::Malformed(format!("validator_hotkey: {e}")))?;
        let sig = Signature::from_hex(&self.signature)
            .map_err(|e| ReceiptError::Malformed(format!("signature: {e}")))?;
        if !key.verify(&self.body.message(), &sig) {
            return Err(ReceiptError::BadSignature(
                self.body.validator_hotkey.clone(),
            ));
        }
        Ok(key)
    }

    /// Checks that `proof` is the proof the receipt names.
    pub fn check_proof(&self, proof: &[u8]) -> Result<(), ReceiptError> {
        let actual = canonical::sha256_hex(proof);
        if actual != self.body.proof_hash {
            return Err(ReceiptError::Mismatch {
                field: "proof_hash",
                what: "proof",
                in_receipt: self.body.proof_hash.clone(),
                actual,
            });
        }
        Ok(())
    }

    /// Checks that `input` is the input the receipt names.
    pub fn check_input(&self, input: &Value) -> Result<(), ReceiptError> {
        let actual = canonical::hash(input);
        if actual != self.body.input_hash {
            return Err(ReceiptError::Mismatch {
                field: "input_hash",
                what: "input",
                in_receipt: self.body.input_hash.clone(),
                actual,
            });
        }
        Ok(())
    }

    /// The miner's hotkey.
    pub fn miner(&self) -> Result<AccountId, ReceiptError> {
        AccountId::from_ss58(&self.body.miner_hotkey)
            .map_err(|e| ReceiptError::Malformed(format!("miner_hotkey: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt() -> Receipt {
        let validator = Keypair::from_uri("//Alice").unwrap();
        UnsignedReceipt {
            version: RECEIPT_VERSION,
            request_hash: "ab".repeat(32),
            method: "omron.proof_of_computation".into(),
            circuit_id: "cd".repeat(32),
            input_hash: canonical::hash(&serde_json::json!({"input_data": [[1.0]], "nonce": "00"})),
            output: serde_json::json!([0.5, -1.25]),
            proof_hash: canonical::sha256_hex(b"proof"),
            miner_uid: 3,
            miner_hotkey: Keypair::from_uri("//Bob").unwrap().public().to_ss58(),
            validator_hotkey: validator.public().to_ss58(),
            netuid: 2,
            block: 77,
            issued_at: 1_700_000_000,
        }
        .sign(&validator)
    }

    #[test]
    fn a_receipt_verifies_after_a_json_round_trip() {
        let r = receipt();
        let text = serde_json::to_string_pretty(&r).unwrap();
        let back: Receipt = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back.verify_signature().unwrap(),
            Keypair::from_uri("//Alice").unwrap().public()
        );
        back.check_proof(b"proof").unwrap();
        back.check_input(&serde_json::json!({"nonce": "00", "input_data": [[1.0]]}))
            .unwrap();
        assert!(back.check_proof(b"proof!").is_err());
        assert!(
            back.check_input(&serde_json::json!({"input_data": [[1.5]], "nonce": "00"}))
                .is_err()
        );
    }

    #[test]
    fn every_tampered_field_breaks_the_signature() {
        let r = receipt();
        type Tamper = Box<dyn Fn(&mut UnsignedReceipt)>;
        let tampers: Vec<Tamper> = vec![
            Box::new(|b| b.output = serde_json::json!([0.5, -1.0])),
            Box::new(|b| b.miner_uid = 4),
            Box::new(|b| b.block += 1),
            Box::new(|b| b.circuit_id = "ce".repeat(32)),
            Box::new(|b| b.proof_hash = canonical::sha256_hex(b"other")),
            Box::new(|b| {
                b.miner_hotkey = Keypair::from_uri("//Charlie").unwrap().public().to_ss58()
            }),
            Box::new(|b| b.request_hash = "00".repeat(32)),
        ];
        for t in tampers {
            let mut bad = r.clone();
            t(&mut bad.body);
            assert!(matches!(
                bad.verify_signature(),
                Err(ReceiptError::BadSignature(_))
            ));
        }
        // Claiming another validator signed it fails too.
        let mut other = r.clone();
        other.body.validator_hotkey = Keypair::from_uri("//Bob").unwrap().public().to_ss58();
        assert!(other.verify_signature().is_err());
        let mut version = r;
        version.body.version = 2;
        assert_eq!(version.verify_signature(), Err(ReceiptError::Version(2)));
    }
}
