//! Circuit loading: `vk.bin` (`Circuit::from_vk_bytes`), `metadata.json` (`CircuitMetadata`,
//! then what a node does with it) and `circuit.json` (`CircuitInfo`).
//!
//! The first byte picks the file; the rest is its content. A verifying key that loads must
//! re-serialise to the same bytes' circuit id and give a soundness report.

use std::sync::OnceLock;

use omron_circuit::{Circuit, CircuitInfo, CircuitMetadata, StoredCircuit};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::fixtures::stored_circuit;

fn base() -> &'static StoredCircuit {
    static BASE: OnceLock<StoredCircuit> = OnceLock::new();
    BASE.get_or_init(|| stored_circuit("sn2-pow-256"))
}

/// Batch sizes a `metadata.json` may name before a node would try to build the batch: the
/// generators allocate per item, and that is the operator's own file, not a stranger's.
const MAX_GENERATED_BATCH: usize = 1 << 12;

/// The target.
pub fn run(data: &[u8]) {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 3 {
        0 => vk(body),
        1 => metadata(body),
        _ => {
            if let Ok(info) = serde_json::from_slice::<CircuitInfo>(body) {
                let _ = serde_json::to_vec(&info);
            }
        }
    }
}

fn vk(body: &[u8]) {
    let Ok(circuit) = Circuit::from_vk_bytes(body) else {
        return;
    };
    let again = Circuit::from_vk_bytes(circuit.vk_bytes())
        .expect("a loaded verifying key must load again from its own bytes");
    assert_eq!(again.id(), circuit.id(), "the circuit id changed on reload");
    let _ = circuit.soundness();
    let _ = circuit.op_counts();
    let _ = (circuit.input_scales(), circuit.output_scales());
}

fn metadata(body: &[u8]) {
    let Ok(metadata) = serde_json::from_slice::<CircuitMetadata>(body) else {
        return;
    };
    let stored = StoredCircuit {
        circuit: base().circuit.clone(),
        metadata,
        path: "fuzz".into(),
    };
    let _ = (stored.timeout_secs(), stored.is_proof_of_weights());
    let batch = match stored.metadata.input_generator {
        omron_circuit::InputGenerator::Uniform { .. }
        | omron_circuit::InputGenerator::Tokens { .. } => 0,
        omron_circuit::InputGenerator::Sn2Scoring { batch }
        | omron_circuit::InputGenerator::Sn27Scoring { batch }
        | omron_circuit::InputGenerator::Sn48Scoring { batch } => batch,
    };
    if batch <= MAX_GENERATED_BATCH {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let _ = stored.generate_input(&mut rng);
        if let Some(inputs) = stored.generate_pow_inputs(&mut rng) {
            let _ = stored.pow_columns(&inputs);
        }
    }
}
