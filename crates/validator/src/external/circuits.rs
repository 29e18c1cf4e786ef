//! The circuits the external API serves: every circuit of the validator's store, named by id
//! or name; the JSON Schema of each one's input; a request's parameters checked against the
//! circuit before anything is queued (so that an off-schema input costs no miner time).

use std::sync::Arc;

use omron_api::rpc::{CircuitInfo, ErrorObject, codes};
use omron_api::verify::read_app_input;
use omron_circuit::{CircuitType, RequestInput, StoredCircuit};
use rand::RngCore;
use serde_json::{Value, json};

use crate::external_state::JobInput;

/// Finds a circuit by id (full hex, or a prefix of at least 8 digits), name, or the name of
/// its folder (`mnist-mlp`).
pub(crate) fn resolve<'a>(
    circuits: &'a [Arc<StoredCircuit>],
    wanted: &str,
) -> Result<&'a Arc<StoredCircuit>, ErrorObject> {
    let w = wanted.trim().to_ascii_lowercase();
    let w = w.strip_prefix("0x").unwrap_or(&w);
    let by_id: Vec<_> = circuits
        .iter()
        .filter(|c| w.len() >= 8 && c.id().starts_with(w))
        .collect();
    let matches = if by_id.is_empty() {
        circuits
            .iter()
            .filter(|c| {
                let w = wanted.trim();
                c.metadata.name.eq_ignore_ascii_case(w)
                    || c.circuit.name() == w
                    || c.path.file_name().is_some_and(|f| f == w)
            })
            .collect()
    } else {
        by_id
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!("unknown circuit '{wanted}' (GET /circuits lists the circuits served)"),
        )),
        _ => Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!("circuit '{wanted}' is ambiguous: give more of its id"),
        )),
    }
}

/// The scoring circuit for a subnet (`x-netuid`) and weights version.
pub(crate) fn resolve_weights(
    circuits: &[Arc<StoredCircuit>],
    netuid: u16,
    weights_version: Option<u64>,
) -> Result<&Arc<StoredCircuit>, ErrorObject> {
    let mut candidates: Vec<_> = circuits
        .iter()
        .filter(|c| {
            c.metadata.circuit_type == CircuitType::ProofOfWeights
                && c.metadata.netuid == Some(netuid)
                && weights_version.is_none_or(|v| c.metadata.weights_version == Some(v))
        })
        .collect();
    // Several batch sizes of one subnet: the smallest proves fastest; a larger batch than it
    // takes is refused with the circuit's own message.
    candidates.sort_by_key(|c| {
        c.circuit
            .graph()
            .tensors
            .iter()
            .map(|t| t.numel())
            .sum::<usize>()
    });
    candidates.first().copied().ok_or_else(|| {
        ErrorObject::new(
            codes::INVALID_PARAMS,
            match weights_version {
                Some(v) => format!(
                    "no proof-of-weights circuit for netuid {netuid} with weights_version {v}"
                ),
                None => format!("no proof-of-weights circuit for netuid {netuid}"),
            },
        )
    })
}

fn invalid(circuit: &StoredCircuit, reason: impl std::fmt::Display) -> ErrorObject {
    ErrorObject::new(
        codes::INVALID_PARAMS,
        format!(
            "input does not fit circuit '{}': {reason}",
            circuit.metadata.name
        ),
    )
}

/// Checks a proof-of-computation input against the circuit; draws the nonce when the app gave
/// none.
pub(crate) fn computation_input(
    circuit: &StoredCircuit,
    input: &Value,
) -> Result<JobInput, ErrorObject> {
    if circuit.is_proof_of_weights() {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            format!(
                "circuit '{}' is a proof-of-weights circuit: use omron.proof_of_weights",
                circuit.metadata.name
            ),
        ));
    }
    let (input_data, nonce) = read_app_input(input).map_err(|e| invalid(circuit, e))?;
    let graph = circuit.circuit.graph();
    if input_data.len() != graph.inputs.len() {
        return Err(invalid(
            circuit,
            format!(
                "{} input tensors given, the model takes {}",
                input_data.len(),
                graph.inputs.len()
            ),
        ));
    }
    for (i, (data, &t)) in input_data.iter().zip(&graph.inputs).enumerate() {
        let want = graph.tensors[t].numel();
        if data.len() != want {
            return Err(invalid(
                circuit,
                format!(
                    "input {i} has {} numbers, the model takes {want} (shape {:?})",
                    data.len(),
                    graph.tensors[t].shape
                ),
            ));
        }
        if let Some(j) = data.iter().position(|x| !x.is_finite()) {
            return Err(invalid(
                circuit,
                format!("input {i}[{j}] is not a finite number"),
            ));
        }
    }
    let nonce = match nonce {
        Some(n) => n.to_ascii_lowercase(),
        None => {
            let mut bytes = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            hex::encode(bytes)
        }
    };
    let input = RequestInput { input_data, nonce };
    input.nonce_bytes().map_err(|e| invalid(circuit, e))?;
    Ok(JobInput::Computation { input })
}

/// Checks a scoring batch against the circuit's input rules.
pub(crate) fn weights_input(
    circuit: &StoredCircuit,
    evaluation_data: &Value,
) -> Result<JobInput, ErrorObject> {
    circuit
        .pow_columns(evaluation_data)
        .map_err(|e| invalid(circuit, e))?;
    Ok(JobInput::Weights {
        evaluation_data: evaluation_data.clone(),
    })
}

/// A JSON Schema of the method's input for `circuit`.
pub fn input_schema(circuit: &StoredCircuit) -> Value {
    if circuit.is_proof_of_weights() {
        // The batch format is the circuit's own; its schema is read off a generated batch.
        let mut rng = rand::rngs::OsRng;
        let sample = circuit.generate_pow_inputs(&mut rng).unwrap_or(Value::Null);
        let mut schema = schema_of(&sample);
        if let Value::Object(m) = &mut schema {
            m.insert(
                "$schema".into(),
                json!("https://json-schema.org/draft/2020-12/schema"),
            );
            m.insert(
                "description".into(),
                json!(format!(
                    "omron.proof_of_weights evaluation_data for {}",
                    circuit.metadata.name
                )),
            );
        }
        return schema;
    }
    let graph = circuit.circuit.graph();
    let tensors: Vec<Value> = graph
        .inputs
        .iter()
        .map(|&t| {
            let n = graph.tensors[t].numel();
            json!({
                "type": "array",
                "items": {"type": "number"},
                "minItems": n,
                "maxItems": n,
                "description": format!("tensor '{}' of shape {:?}, flattened", graph.tensors[t].name, graph.tensors[t].shape),
            })
        })
        .collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "description": format!("omron.proof_of_computation input for {}", circuit.metadata.name),
        "type": "object",
        "additionalProperties": false,
        "required": ["input_data"],
        "properties": {
            "input_data": {
                "type": "array",
                "prefixItems": tensors,
                "minItems": graph.inputs.len(),
                "maxItems": graph.inputs.len(),
            },
            "nonce": {
                "type": "string",
                "pattern": "^[0-9a-fA-F]{16,128}$",
                "description": "optional: 8 to 64 bytes of hex the proof is bound to (the validator draws one otherwise)",
            },
        },
    })
}

/// The schema of a value's shape: objects with their keys, arrays with their length and the
/// first element's schema, numbers, strings, booleans.
fn schema_of(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let props: serde_json::Map<String, Value> =
                m.iter().map(|(k, x)| (k.clone(), schema_of(x))).collect();
            json!({"type": "object", "required": m.keys().collect::<Vec<_>>(), "properties": props})
        }
        Value::Array(items) => {
            let mut s = json!({"type": "array", "minItems": items.len(), "maxItems": items.len()});
            if let (Some(first), Value::Object(m)) = (items.first(), &mut s) {
                m.insert("items".into(), schema_of(first));
            }
            s
        }
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Null => json!({}),
    }
}

/// `GET /circuits`' entry for a circuit, with the measured prove time (mean response time of
/// the verified proofs seen) when there is one.
pub fn circuit_info(circuit: &StoredCircuit, measured: Option<(u64, f64)>) -> CircuitInfo {
    let graph = circuit.circuit.graph();
    let m = &circuit.metadata;
    CircuitInfo {
        id: circuit.id(),
        name: m.name.clone(),
        description: m.description.clone(),
        author: m.author.clone(),
        version: m.version.clone(),
        circuit_type: match m.circuit_type {
            CircuitType::ProofOfComputation => "proof_of_computation".into(),
            CircuitType::ProofOfWeights => "proof_of_weights".into(),
        },
        proof_system: m.proof_system.clone(),
        netuid: m.netuid,
        weights_version: m.weights_version,
        timeout: circuit.timeout_secs(),
        input_schema: input_schema(circuit),
        output_shapes: graph
            .outputs
            .iter()
            .map(|&t| graph.tensors[t].shape.clone())
            .collect(),
        measured_prove_ms: measured
            .filter(|(n, _)| *n > 0)
            .map(|(n, sum)| sum * 1000.0 / n as f64),
        verified_proofs: measured.map_or(0, |(n, _)| n),
    }
}
