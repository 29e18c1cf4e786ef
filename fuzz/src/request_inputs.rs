//! A request's inputs as a miner reads them from a validator: `public_inputs` of
//! `QueryZkProof` (a `RequestInput`, quantised for the model circuit, with its nonce) and the
//! `inputs` of `ProofOfWeightsSynapse` (checked against each proof-of-weights circuit's
//! constants and domain by `pow_columns`). The bytes are the JSON text, parsed by the SDK-exact
//! JSON reader the axon uses.

use std::sync::OnceLock;

use omron_bittensor::json;
use omron_circuit::{InputData, RequestInput, StoredCircuit};

use crate::fixtures::stored_circuit;

fn circuits() -> &'static [StoredCircuit] {
    static ALL: OnceLock<Vec<StoredCircuit>> = OnceLock::new();
    ALL.get_or_init(|| {
        ["cnn-small", "sn2-pow-256", "sn27-pow-256", "sn48-pow-256"]
            .into_iter()
            .map(stored_circuit)
            .collect()
    })
}

/// The target.
pub fn run(data: &[u8]) {
    let Ok(value) = json::parse(data) else {
        return;
    };
    if let Ok(request) = json::from_value::<RequestInput>(value.clone()) {
        let _ = request.nonce_bytes();
        let model = &circuits()[0];
        let input = InputData {
            input_data: request
                .input_data
                .iter()
                .map(|v| serde_json::json!(v))
                .collect(),
        };
        if let Ok(columns) = input.quantise(&model.circuit) {
            let graph = model.circuit.graph();
            assert_eq!(columns.len(), graph.inputs.len(), "quantised input count");
        }
    }
    let Ok(plain) = serde_json::to_value(&value) else {
        return;
    };
    for circuit in &circuits()[1..] {
        if let Ok(columns) = circuit.pow_columns(&plain) {
            let graph = circuit.circuit.graph();
            assert_eq!(
                columns.len(),
                graph.inputs.len(),
                "{}: column count",
                circuit.metadata.name
            );
        }
    }
}
