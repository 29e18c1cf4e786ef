//! Benchmark requests (reference §3.4): pick a circuit by its `benchmark_choice_weight`, draw
//! a fresh input with its generator, and admit it only if the persistent hash guard has never
//! seen it.
//!
//! Both kinds of circuit are benchmarked, as in the reference: a proof-of-computation circuit
//! is asked with a `QueryZkProof` holding a model input and a new 16-byte nonce, a
//! proof-of-weights circuit with a `ProofOfWeightsSynapse` holding a scoring batch from
//! `generate_pow_inputs` (its nonce slots drawn anew). Either answer is verified against the
//! validator's own input and scored alike.

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
    /// The circuits of `store` with a positive, finite weight whose input generator draws
    /// their kind of request (a model input for proof of computation, a scoring batch for
    /// proof of weights).
    pub fn new(store: &CircuitStore) -> Result<Self, NodeError> {
        let mut circuits = Vec::new();
        let mut weights = Vec::new();
        for c in store.iter() {
            let weight = c.metadata.benchmark_choice_weight.unwrap_or(0.0);
            let positive = weight.is_finite() && weight > 0.0;
            // A mismatch would send a scoring batch as a model input or the reverse: every
            // honest miner would fail it.
            let generator_fits =
                c.is_proof_of_weights() == (c.metadata.circuit_type == CircuitType::ProofOfWeights);
            if positive && generator_fits {
                circuits.push(Arc::new(c.clone()));
                weights.push(weight);
            } else if positive {
                tracing::warn!(
                    circuit = %c.id(),
                    name = %c.metadata.name,
                    kind = ?c.metadata.circuit_type,
                    generator = ?c.metadata.input_generator,
                    "circuit not used for benchmark requests: its input generator is not of its type"
                );
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
    use omron_circuit::InputGenerator;
    use rand::SeedableRng;

    /// A shipped circuit (`circuits/NAME`) with its benchmark weight set to `weight`.
    fn shipped(name: &str, weight: Option<f64>) -> StoredCircuit {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../circuits")
            .join(name);
        let mut c = StoredCircuit::load(&dir).unwrap();
        c.metadata.benchmark_choice_weight = weight;
        c
    }

    fn names(b: &BenchmarkCircuits) -> Vec<&str> {
        b.circuits()
            .iter()
            .map(|c| c.metadata.name.as_str())
            .collect()
    }

    #[test]
    fn proof_of_weights_circuits_with_a_positive_weight_are_benchmarked() {
        let store = CircuitStore::from_circuits(vec![
            shipped("mnist-mlp", Some(0.8)),
            shipped("sn27-pow-256", Some(0.0)),
            shipped("sn48-pow-256", Some(0.2)),
        ]);
        let b = BenchmarkCircuits::new(&store).unwrap();
        assert_eq!(names(&b), ["MNIST MLP", "SN48 PoW 256"]);
        // Drawn in proportion to the weights: 0.2 of 1.0 for SN48.
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let draws = 10_000;
        let pow = (0..draws)
            .filter(|_| b.choose(&mut rng).metadata.circuit_type == CircuitType::ProofOfWeights)
            .count();
        let share = pow as f64 / draws as f64;
        assert!(
            (0.18..0.22).contains(&share),
            "proof-of-weights share {share}"
        );
    }

    #[test]
    fn a_store_of_proof_of_weights_circuits_alone_is_benchmarked() {
        let store = CircuitStore::from_circuits(vec![
            shipped("sn27-pow-256", Some(0.1)),
            shipped("sn48-pow-256", None),
        ]);
        let b = BenchmarkCircuits::new(&store).unwrap();
        assert_eq!(names(&b), ["SN27 PoW 256"], "no weight counts as 0");
        let only_zero = CircuitStore::from_circuits(vec![shipped("sn48-pow-256", Some(0.0))]);
        assert!(matches!(
            BenchmarkCircuits::new(&only_zero),
            Err(NodeError::NoBenchmarkCircuits { loaded: 1 })
        ));
    }

    #[test]
    fn a_circuit_whose_generator_is_not_of_its_type_is_left_out() {
        // A proof-of-weights circuit with a model-input generator could only be sent inputs no
        // miner can prove, and the reverse.
        let mut pow_uniform = shipped("sn48-pow-256", Some(1.0));
        pow_uniform.metadata.input_generator = InputGenerator::Uniform {
            low: 0.0,
            high: 1.0,
        };
        let mut poc_scoring = shipped("mnist-mlp", Some(1.0));
        poc_scoring.metadata.input_generator = InputGenerator::Sn48Scoring { batch: 256 };
        let store = CircuitStore::from_circuits(vec![
            pow_uniform,
            poc_scoring,
            shipped("sn27-pow-256", Some(f64::NAN)),
        ]);
        assert!(matches!(
            BenchmarkCircuits::new(&store),
            Err(NodeError::NoBenchmarkCircuits { loaded: 3 })
        ));
    }

    #[test]
    fn the_shipped_proof_of_weights_circuits_get_a_minority_of_benchmark_traffic() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../circuits");
        let store = CircuitStore::load(&dir).unwrap();
        let b = BenchmarkCircuits::new(&store).unwrap();
        let weight = |c: &StoredCircuit| c.metadata.benchmark_choice_weight.unwrap_or(0.0);
        let (mut pow, mut all) = (Vec::new(), 0.0);
        for c in b.circuits() {
            all += weight(c);
            if c.metadata.circuit_type == CircuitType::ProofOfWeights {
                pow.push(c.path.file_name().unwrap().to_str().unwrap().to_owned());
            }
        }
        pow.sort();
        assert_eq!(pow, ["sn2-pow-256", "sn27-pow-256", "sn48-pow-256"]);
        let pow_weight: f64 = b
            .circuits()
            .iter()
            .filter(|c| c.metadata.circuit_type == CircuitType::ProofOfWeights)
            .map(|c| weight(c))
            .sum();
        assert!(
            pow_weight > 0.0 && pow_weight < 0.5 * all,
            "proof of weights {pow_weight} of {all}"
        );
    }

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
