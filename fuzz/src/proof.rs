//! The proof decoder and verifier under structured mutations of valid proofs.
//!
//! At first use, three circuits of `circuits/` (the smallest model, `cnn-small`, and the SN2
//! and SN27 proof-of-weights circuits) each prove one fixed input under a fixed context. The
//! fuzz bytes pick a circuit and a list of edits (flip, overwrite, insert, delete, truncate,
//! write a boundary value, copy a chunk, splice in another circuit's proof) at chosen offsets.
//! Random bytes would die at the magic; edits of a real proof reach every reader of the
//! verifier. The edited proof is verified, and:
//!
//! * under the true inputs and context, `Ok` must give exactly the true outputs;
//! * under another context or other inputs, it must be `Err` whatever the edits;
//! * nothing may panic.

use std::sync::OnceLock;

use omron_circuit::{Circuit, InputData, MAX_PROOF_BYTES, request_context};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::Bytes;
use crate::fixtures::{miner_key, stored_circuit};

/// A circuit with one valid proof.
pub struct Fixture {
    /// The circuit's folder name.
    pub name: &'static str,
    /// The circuit.
    pub circuit: Circuit,
    /// Quantised inputs the proof is for.
    pub inputs: Vec<Vec<i64>>,
    /// The context it is bound to.
    pub context: Vec<u8>,
    /// The valid proof.
    pub proof: Vec<u8>,
    /// What verifying it gives.
    pub outputs: Vec<Vec<i64>>,
}

/// The circuits the target mutates proofs of.
pub const CIRCUITS: [&str; 3] = ["sn2-pow-256", "sn27-pow-256", "cnn-small"];

fn fixture(name: &'static str) -> Fixture {
    let stored = stored_circuit(name);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let hotkey = miner_key().public();
    let (inputs, context) = match stored.generate_pow_inputs(&mut rng) {
        Some(json) => (
            stored.pow_columns(&json).expect("generated PoW inputs"),
            request_context(&omron_circuit::pow_nonce(&json), hotkey.as_bytes()),
        ),
        None => {
            let request = stored.generate_input(&mut rng);
            let data = InputData {
                input_data: request
                    .input_data
                    .iter()
                    .map(|v| serde_json::json!(v))
                    .collect(),
            };
            let nonce = request.nonce_bytes().expect("generated nonce");
            (
                data.quantise(&stored.circuit).expect("generated input"),
                request_context(&nonce, hotkey.as_bytes()),
            )
        }
    };
    let proved = stored
        .circuit
        .prove(&inputs, &context)
        .unwrap_or_else(|e| panic!("{name}: the fixture input does not prove: {e}"));
    let outputs = stored
        .circuit
        .verify(&inputs, &proved.proof, &context)
        .unwrap_or_else(|e| panic!("{name}: the fixture proof does not verify: {e}"));
    assert_eq!(
        outputs, proved.outputs,
        "{name}: verify disagrees with prove"
    );
    Fixture {
        name,
        circuit: stored.circuit,
        inputs,
        context,
        proof: proved.proof,
        outputs,
    }
}

/// The fixtures, proved once per process.
pub fn fixtures() -> &'static [Fixture] {
    static ALL: OnceLock<Vec<Fixture>> = OnceLock::new();
    ALL.get_or_init(|| CIRCUITS.iter().map(|&name| fixture(name)).collect())
}

/// Values that sit on the edges of the proof's integer and field encodings.
const BOUNDARY: [u64; 10] = [
    0,
    1,
    0xff,
    0xffff_ffff,
    0x1_0000_0000,
    u64::MAX,
    0xffff_ffff_0000_0000, // p - 1
    0xffff_ffff_0000_0001, // p, the Goldilocks modulus
    0xffff_ffff_0000_0002, // p + 1
    1 << 63,
];

/// Applies up to eight edits described by `bytes` to `proof`.
pub fn mutate(proof: &mut Vec<u8>, bytes: &mut Bytes<'_>, others: &[&[u8]]) {
    for _ in 0..8 {
        if bytes.is_empty() {
            break;
        }
        let kind = bytes.u8() % 8;
        let len = proof.len().max(1);
        let at = bytes.u32() as usize % (len + 1);
        let data = bytes.chunk();
        match kind {
            0 => {
                for (i, b) in data.iter().enumerate() {
                    if let Some(x) = proof.get_mut(at + i) {
                        *x ^= b;
                    }
                }
            }
            1 => {
                for (i, &b) in data.iter().enumerate() {
                    if let Some(x) = proof.get_mut(at + i) {
                        *x = b;
                    }
                }
            }
            2 => {
                let at = at.min(proof.len());
                proof.splice(at..at, data.iter().copied());
            }
            3 => {
                let at = at.min(proof.len());
                let end = (at + data.len().max(1)).min(proof.len());
                proof.drain(at..end);
            }
            4 => proof.truncate(at),
            5 => {
                let value = BOUNDARY[data.first().copied().unwrap_or(0) as usize % BOUNDARY.len()];
                for (i, b) in value.to_le_bytes().into_iter().enumerate() {
                    if let Some(x) = proof.get_mut(at + i) {
                        *x = b;
                    }
                }
            }
            6 => {
                // Copy a chunk of the proof onto another place of it (a plausible value from
                // elsewhere, e.g. one Merkle path over another).
                let from = u32::from_le_bytes([
                    data.first().copied().unwrap_or(0),
                    data.get(1).copied().unwrap_or(0),
                    data.get(2).copied().unwrap_or(0),
                    0,
                ]) as usize
                    % len;
                let n = data.get(3).copied().unwrap_or(8).max(1) as usize;
                let chunk: Vec<u8> = proof.iter().skip(from).take(n).copied().collect();
                for (i, b) in chunk.into_iter().enumerate() {
                    if let Some(x) = proof.get_mut(at + i) {
                        *x = b;
                    }
                }
            }
            _ => {
                if let Some(other) =
                    others.get(data.first().copied().unwrap_or(0) as usize % others.len().max(1))
                {
                    proof.truncate(at.min(proof.len()));
                    proof.extend(other.iter().skip(at).copied());
                }
            }
        }
        if proof.len() > MAX_PROOF_BYTES {
            proof.truncate(MAX_PROOF_BYTES);
        }
    }
}

/// The target.
pub fn run(data: &[u8]) {
    let all = fixtures();
    let mut bytes = Bytes::new(data);
    let fx = &all[bytes.u8() as usize % all.len()];
    let flags = bytes.u8();
    let others: Vec<&[u8]> = all.iter().map(|f| f.proof.as_slice()).collect();
    let mut proof = fx.proof.clone();
    mutate(&mut proof, &mut bytes, &others);

    match flags % 3 {
        0 => {
            if let Ok(outputs) = fx.circuit.verify(&fx.inputs, &proof, &fx.context) {
                assert_eq!(
                    outputs, fx.outputs,
                    "{}: an edited proof verified with other outputs",
                    fx.name
                );
            }
        }
        1 => {
            let mut context = fx.context.clone();
            let i = (flags as usize / 3) % context.len();
            context[i] ^= 1;
            let verdict = fx.circuit.verify(&fx.inputs, &proof, &context);
            assert!(
                verdict.is_err(),
                "{}: a proof verified under another context (byte {i})",
                fx.name
            );
        }
        _ => {
            let mut inputs = fx.inputs.clone();
            let column = (flags as usize / 3) % inputs.len();
            if let Some(v) = inputs[column].first_mut() {
                *v = v.wrapping_add(1);
            }
            let verdict = fx.circuit.verify(&inputs, &proof, &fx.context);
            assert!(
                verdict.is_err(),
                "{}: a proof verified for other inputs (column {column})",
                fx.name
            );
        }
    }
}
