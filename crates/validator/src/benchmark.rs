//! Benchmark requests (reference §3.4): pick a circuit by its `benchmark_choice_weight`, draw
//! a fresh input with its generator (a new 16-byte nonce every time), and admit it only if the
//! persistent hash guard has never seen it.
//!
//! Unlike the reference, only proof-of-computation circuits are benchmarked: asking miners for
//! proof-of-weights proofs (`ProofOfWeightsSynapse`) is not part of this node.

use std::sync::Arc;

use omron_circuit::{CircuitStore, CircuitType, RequestInput, StoredCircuit};
use omron_scoring::{InputHash, input_hash};
use rand::Rng;
use rand::distributions::{Distribution, WeightedIndex};

use crate::error::NodeError;
use crate::store::{HashInsert, Store, StoreError};

/// The circuits benchmark requests are drawn from, with their weights.
#[derive(Debug, Clone)]
pub struct BenchmarkCircuits {
    circuits: Vec<Arc<StoredCircuit>>,
    index: WeightedIndex<f64>,
}

impl BenchmarkCircuits {
    /// The proof-of-computation circuits of `store` with a positive, finite weight.
    pub fn new(store: &CircuitStore) -> Result<Self, NodeError> {
        let mut circuits = Vec::new();
        let mut weights = Vec::new();
        for c in store.iter() {
            let weight = c.metadata.benchmark_choice_weight.unwrap_or(0.0);
            if c.metadata.circuit_type == CircuitType::ProofOfComputation
                && weight.is_finite()
                && weight > 0.0
            {
                circuits.push(Arc::new(c.clone()));
                weights.push(weight);
            } else {
                tracing::info!(
                    circuit = %c.id(),
                    name = %c.metadata.name,
                    weight,
                    "circuit not used for benchmark requests"
                );
            }
        }
        let index = WeightedIndex::new(&weights).map_err(|_| NodeError::NoBenchmarkCircuits {
            loaded: store.len(),
        })?;
        Ok(Self { circuits, index })
    }

    /// Draws a circuit with probability proportional to its weight.
    pub fn choose(&self, rng: &mut impl Rng) -> &Arc<StoredCircuit> {
        &self.circuits[self.index.sample(rng)]
    }

    /// The circuits in use.
    pub fn circuits(&self) -> &[Arc<StoredCircuit>] {
        &self.circuits
    }
}

/// The input as the JSON value that travels (`public_inputs`), which is also what is hashed.
pub fn input_json(input: &RequestInput) -> serde_json::Value {
    // A RequestInput is a list of float lists and a string: it always serialises (non-finite
    // floats, which the generator never draws, would become null).
    serde_json::to_value(input).unwrap_or(serde_json::Value::Null)
}

/// Hashes `input` as the reference does and remembers the hash. `None` when the hash guard has
/// seen it before: the request must not be sent.
pub fn admit(store: &mut Store, input: &RequestInput) -> Result<Option<InputHash>, StoreError> {
    let hash = input_hash(&input_json(input));
    match store.insert_hash(&hash)? {
        HashInsert::Inserted { .. } => Ok(Some(hash)),
        HashInsert::Duplicate => Ok(None),
    }
}

/// Remembers the hash of any input JSON (an external request's); `false` when it was seen
/// before.
pub fn admit_value(store: &mut Store, input: &serde_json::Value) -> Result<bool, StoreError> {
    let hash = input_hash(input);
    Ok(matches!(
        store.insert_hash(&hash)?,
        HashInsert::Inserted { .. }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreLimits;

    fn input(nonce: &str) -> RequestInput {
        RequestInput {
            input_data: vec![vec![0.25, 0.5]],
            nonce: nonce.to_owned(),
        }
    }

    #[test]
    fn a_repeated_input_is_refused_even_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.sqlite");
        {
            let mut store = Store::open(&path).unwrap();
            assert!(
                admit(&mut store, &input("00112233445566778899aabbccddeeff"))
                    .unwrap()
                    .is_some()
            );
            assert!(
                admit(&mut store, &input("00112233445566778899aabbccddeeff"))
                    .unwrap()
                    .is_none()
            );
            assert!(
                admit(&mut store, &input("ffeeddccbbaa99887766554433221100"))
                    .unwrap()
                    .is_some()
            );
        }
        let mut store = Store::open(&path).unwrap();
        assert!(
            admit(&mut store, &input("00112233445566778899aabbccddeeff"))
                .unwrap()
                .is_none(),
            "the guard survives a restart"
        );
    }

    #[test]
    fn the_hash_is_the_references_over_the_sent_json() {
        let mut store = Store::open_in_memory(StoreLimits::default()).unwrap();
        let i = input("0001020304050607");
        let hash = admit(&mut store, &i).unwrap().unwrap();
        // json.dumps({"input_data": [[0.25, 0.5]], "nonce": "0001020304050607"}, sort_keys=True)
        let text = r#"{"input_data": [[0.25, 0.5]], "nonce": "0001020304050607"}"#;
        use sha2::Digest;
        let expected: [u8; 32] = sha2::Sha256::digest(text.as_bytes()).into();
        assert_eq!(hash, expected);
    }
}
