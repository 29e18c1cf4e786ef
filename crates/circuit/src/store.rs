//! The circuit store: the folders under `circuits/` that miners serve and validators query,
//! each holding a compiled circuit (`vk.bin`, `circuit.json`) and its subnet metadata
//! (`metadata.json`: name, version, type, benchmark input generator).
//!
//! A subnet request binds a fresh nonce and the miner's hotkey into the proof (the proof's
//! context), so inputs never repeat and a proof cannot be replayed by another miner.

use std::path::{Path, PathBuf};

use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

use crate::artifact::CircuitDir;
use crate::{Circuit, CircuitError, InputData, OutputData, VerifyError};

/// The metadata file's name.
pub const METADATA_FILE: &str = "metadata.json";

/// What a circuit proves, as the original subnet classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitType {
    /// A model's inference (benchmark or user requests).
    ProofOfComputation,
    /// A validator's scoring (proof of weights).
    ProofOfWeights,
}

/// How benchmark inputs are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum InputGenerator {
    /// Every element uniform in `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound (exclusive).
        high: f64,
    },
    /// SN2 score-update batches (the reference's benchmark `generate()`, §3.3a), for the SN2
    /// proof-of-weights circuit of that batch size.
    Sn2Scoring {
        /// Items per batch.
        batch: usize,
    },
    /// SN27 (Compute subnet) miner-scoring batches (the reference's `generate()`, §3.3c), for
    /// the SN27 proof-of-weights circuit of that batch size.
    Sn27Scoring {
        /// Miners per batch.
        batch: usize,
    },
    /// SN48 tiered-weights batches (uniform scores, §3.3d), for the SN48 proof-of-weights
    /// circuit of that batch size.
    Sn48Scoring {
        /// Scores per batch.
        batch: usize,
    },
    /// Token sequences for a language model: every element a uniform integer id in
    /// `[0, vocab)` (the model input is integer token ids at scale 0).
    Tokens {
        /// Vocabulary size.
        vocab: u32,
    },
}

/// A circuit's `metadata.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CircuitMetadata {
    /// Short name.
    pub name: String,
    /// What the circuit computes.
    pub description: String,
    /// Who made it.
    pub author: String,
    /// Semantic version.
    pub version: String,
    /// The proof system (`"OMRON"` for this engine).
    pub proof_system: String,
    /// What it proves.
    #[serde(rename = "type")]
    pub circuit_type: CircuitType,
    /// For proof-of-weights circuits, the subnet whose scoring it proves.
    #[serde(default)]
    pub netuid: Option<u16>,
    /// For proof-of-weights circuits, that subnet's weights version.
    #[serde(default)]
    pub weights_version: Option<u64>,
    /// Request timeout in seconds (default 60).
    #[serde(default)]
    pub timeout: Option<u64>,
    /// Relative weight when validators pick a benchmark circuit.
    #[serde(default)]
    pub benchmark_choice_weight: Option<f64>,
    /// The benchmark input generator.
    pub input_generator: InputGenerator,
}

/// The input of one subnet request: the model inputs and a fresh nonce.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestInput {
    /// Model inputs, EZKL form.
    pub input_data: Vec<Vec<f64>>,
    /// 16 random bytes, hex; part of the proof's context.
    pub nonce: String,
}

/// A circuit with its metadata, as served and queried on the subnet.
#[derive(Debug, Clone)]
pub struct StoredCircuit {
    /// The compiled circuit.
    pub circuit: Circuit,
    /// Its metadata.
    pub metadata: CircuitMetadata,
    /// Where it was loaded from.
    pub path: PathBuf,
}

/// The proof context of a request: domain tag, nonce and the miner's hotkey.
pub fn request_context(nonce: &[u8], miner_hotkey: &[u8; 32]) -> Vec<u8> {
    let mut ctx = b"omron-rs request v1".to_vec();
    ctx.extend_from_slice(&(nonce.len() as u32).to_le_bytes());
    ctx.extend_from_slice(nonce);
    ctx.extend_from_slice(miner_hotkey);
    ctx
}

impl RequestInput {
    /// The nonce bytes, which must be 8 to 64 bytes of hex.
    pub fn nonce_bytes(&self) -> Result<Vec<u8>, CircuitError> {
        let bytes = hex::decode(&self.nonce)
            .map_err(|e| CircuitError::Input(format!("nonce is not hex: {e}")))?;
        if !(8..=64).contains(&bytes.len()) {
            return Err(CircuitError::Input(format!(
                "nonce has {} bytes, expected 8 to 64",
                bytes.len()
            )));
        }
        Ok(bytes)
    }

    fn quantise(&self, circuit: &Circuit) -> Result<Vec<Vec<i64>>, CircuitError> {
        let data = InputData {
            input_data: self
                .input_data
                .iter()
                .map(|v| serde_json::json!(v))
                .collect(),
        };
        data.quantise(circuit)
    }
}

impl StoredCircuit {
    /// Loads one circuit folder.
    pub fn load(dir: &Path) -> Result<StoredCircuit, CircuitError> {
        let (circuit, _) = CircuitDir::new(dir).load()?;
        let meta_path = dir.join(METADATA_FILE);
        let text = std::fs::read_to_string(&meta_path).map_err(|source| CircuitError::Io {
            path: meta_path.display().to_string(),
            source,
        })?;
        let metadata: CircuitMetadata = serde_json::from_str(&text)
            .map_err(|e| CircuitError::Malformed(format!("{}: {e}", meta_path.display())))?;
        Ok(StoredCircuit {
            circuit,
            metadata,
            path: dir.to_path_buf(),
        })
    }

    /// The circuit id (lowercase hex).
    pub fn id(&self) -> String {
        self.circuit.id_hex()
    }

    /// The request timeout in seconds.
    pub fn timeout_secs(&self) -> u64 {
        self.metadata.timeout.unwrap_or(60)
    }

    /// A fresh benchmark input with a random nonce (for proof-of-computation circuits; a
    /// proof-of-weights circuit's benchmark input comes from
    /// [`StoredCircuit::generate_pow_inputs`]).
    pub fn generate_input(&self, rng: &mut impl RngCore) -> RequestInput {
        let graph = self.circuit.graph();
        let input_data = graph
            .inputs
            .iter()
            .map(|&t| {
                let n = graph.tensors[t].numel();
                match self.metadata.input_generator {
                    InputGenerator::Uniform { low, high } => (0..n)
                        .map(|_| low + (high - low) * rng.r#gen::<f64>())
                        .collect(),
                    InputGenerator::Tokens { vocab } => (0..n)
                        .map(|_| f64::from(rng.gen_range(0..vocab.max(1))))
                        .collect(),
                    // Proof-of-weights circuits take `generate_pow_inputs` instead.
                    InputGenerator::Sn2Scoring { .. }
                    | InputGenerator::Sn27Scoring { .. }
                    | InputGenerator::Sn48Scoring { .. } => Vec::new(),
                }
            })
            .collect();
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        RequestInput {
            input_data,
            nonce: hex::encode(nonce),
        }
    }

    /// A fresh benchmark batch for a proof-of-weights circuit (the reference's `generate()`,
    /// with the 16 nonce slots filled at random) as the request's `inputs` JSON; `None` for
    /// other circuits.
    pub fn generate_pow_inputs(&self, rng: &mut impl RngCore) -> Option<serde_json::Value> {
        match self.metadata.input_generator {
            InputGenerator::Sn2Scoring { batch } => crate::pow::sn2::benchmark_inputs(batch, rng)
                .ok()
                .map(|i| i.to_json()),
            InputGenerator::Sn27Scoring { batch } => {
                Some(crate::pow::sn27::benchmark_batch(batch, rng).to_json())
            }
            InputGenerator::Sn48Scoring { batch } => {
                Some(crate::pow::sn48::benchmark_batch(batch, rng).to_json())
            }
            InputGenerator::Uniform { .. } | InputGenerator::Tokens { .. } => None,
        }
    }

    /// Proves a proof-of-weights request (its `inputs` JSON) as the miner with
    /// `miner_hotkey`. Returns the proof and the public outputs.
    pub fn prove_pow(
        &self,
        inputs: &serde_json::Value,
        miner_hotkey: &[u8; 32],
    ) -> Result<(Vec<u8>, Vec<Vec<i64>>), CircuitError> {
        let columns = self.pow_columns(inputs)?;
        let ctx = request_context(&pow_nonce(inputs), miner_hotkey);
        let proof = self.circuit.prove(&columns, &ctx)?;
        Ok((proof.proof, proof.outputs))
    }

    /// Verifies a proof-of-weights answer for the `inputs` the validator itself sent; claimed
    /// outputs, if any, must equal the proven ones. Returns the proven outputs.
    pub fn verify_pow(
        &self,
        inputs: &serde_json::Value,
        miner_hotkey: &[u8; 32],
        proof: &[u8],
        claimed_outputs: Option<&[Vec<i64>]>,
    ) -> Result<Vec<Vec<i64>>, VerifyError> {
        let columns = self
            .pow_columns(inputs)
            .map_err(|e| VerifyError::Relation(format!("request inputs: {e}")))?;
        let ctx = request_context(&pow_nonce(inputs), miner_hotkey);
        let outputs = self.circuit.verify(&columns, proof, &ctx)?;
        if let Some(claimed) = claimed_outputs
            && claimed != outputs.as_slice()
        {
            return Err(VerifyError::Output(
                "claimed outputs differ from the proven ones".into(),
            ));
        }
        Ok(outputs)
    }

    /// Whether this circuit proves a scoring function (and takes `inputs` JSON requests).
    pub fn is_proof_of_weights(&self) -> bool {
        !matches!(
            self.metadata.input_generator,
            InputGenerator::Uniform { .. } | InputGenerator::Tokens { .. }
        )
    }

    /// The graph inputs of a proof-of-weights request (its `inputs` JSON), checked against the
    /// circuit's constants and domain.
    pub fn pow_columns(&self, inputs: &serde_json::Value) -> Result<Vec<Vec<i64>>, CircuitError> {
        match self.metadata.input_generator {
            InputGenerator::Sn2Scoring { batch } => {
                let parsed: omron_scoring::CircuitInputs =
                    serde_json::from_value(inputs.clone())
                        .map_err(|e| CircuitError::Input(format!("not SN2 scoring inputs: {e}")))?;
                Ok(crate::pow::sn2::Sn2Inputs::new(&parsed, batch)?.columns)
            }
            InputGenerator::Sn27Scoring { batch } => {
                crate::pow::sn27::Sn27Batch::from_json(inputs, batch)?.columns(batch)
            }
            InputGenerator::Sn48Scoring { batch } => {
                crate::pow::sn48::Sn48Batch::from_json(inputs, batch)?.columns(batch)
            }
            InputGenerator::Uniform { .. } | InputGenerator::Tokens { .. } => {
                Err(CircuitError::Input(format!(
                    "circuit '{}' is not a proof-of-weights circuit",
                    self.metadata.name
                )))
            }
        }
    }

    /// Proves a request as the miner with `miner_hotkey`; returns the proof and the
    /// dequantised outputs.
    pub fn prove_request(
        &self,
        input: &RequestInput,
        miner_hotkey: &[u8; 32],
    ) -> Result<(Vec<u8>, Vec<f64>), CircuitError> {
        let inputs = input.quantise(&self.circuit)?;
        let ctx = request_context(&input.nonce_bytes()?, miner_hotkey);
        let proof = self.circuit.prove(&inputs, &ctx)?;
        let outputs = OutputData::from_quantised(&self.circuit, &proof.outputs).output;
        Ok((proof.proof, outputs))
    }

    /// Verifies a miner's proof for the request the validator itself sent. If the miner also
    /// claimed outputs, they must be exactly the proven ones. Returns the proven outputs.
    pub fn verify_response(
        &self,
        input: &RequestInput,
        miner_hotkey: &[u8; 32],
        proof: &[u8],
        claimed_outputs: Option<&[f64]>,
    ) -> Result<Vec<f64>, VerifyError> {
        let inputs = input
            .quantise(&self.circuit)
            .map_err(|e| VerifyError::Relation(format!("request input: {e}")))?;
        let nonce = input
            .nonce_bytes()
            .map_err(|e| VerifyError::Relation(format!("request nonce: {e}")))?;
        let outputs =
            self.circuit
                .verify(&inputs, proof, &request_context(&nonce, miner_hotkey))?;
        let proven = OutputData::from_quantised(&self.circuit, &outputs);
        if let Some(claimed) = claimed_outputs {
            OutputData {
                output: claimed.to_vec(),
            }
            .matches(&self.circuit, &outputs)
            .map_err(VerifyError::Output)?;
        }
        Ok(proven.output)
    }
}

/// The nonce of a proof-of-weights request: the first 16 bytes of the SHA-256 of its inputs'
/// JSON text (the inputs carry random nonce slots, so this does not repeat). With the prover's
/// hotkey it gives the proof's [`request_context`].
pub fn pow_nonce(inputs: &serde_json::Value) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(inputs.to_string().as_bytes())[..16].to_vec()
}

/// Every circuit under a folder.
#[derive(Debug, Clone, Default)]
pub struct CircuitStore {
    circuits: Vec<StoredCircuit>,
}

impl CircuitStore {
    /// Loads every subfolder of `dir` that holds a `metadata.json`, in name order. A folder
    /// that fails to load is an error (a store must not silently lose circuits).
    pub fn load(dir: &Path) -> Result<CircuitStore, CircuitError> {
        let entries = std::fs::read_dir(dir).map_err(|source| CircuitError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join(METADATA_FILE).is_file())
            .collect();
        paths.sort();
        let circuits = paths
            .iter()
            .map(|p| StoredCircuit::load(p))
            .collect::<Result<_, _>>()?;
        Ok(CircuitStore { circuits })
    }

    /// A store of the given circuits.
    pub fn from_circuits(circuits: Vec<StoredCircuit>) -> CircuitStore {
        CircuitStore { circuits }
    }

    /// The circuit with this id.
    pub fn get(&self, id: &str) -> Option<&StoredCircuit> {
        self.circuits.iter().find(|c| c.id() == id)
    }

    /// All circuits.
    pub fn iter(&self) -> impl Iterator<Item = &StoredCircuit> {
        self.circuits.iter()
    }

    /// Number of circuits.
    pub fn len(&self) -> usize {
        self.circuits.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.circuits.is_empty()
    }
}
