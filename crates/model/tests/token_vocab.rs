//! Token ids beyond 16 bits: an ONNX `Gather` on a 40000-row embedding table (GPT-2's
//! vocabulary has 50257 rows) quantises, proves and verifies with id 39999; ids 40000, -1 and
//! fractional ones are refused by name; tampered proofs and moved ids are refused; and without
//! a calibration input the synthetic accuracy input draws valid ids.

// In a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

// The `it` binary's ONNX builder; this binary uses part of it.
#[allow(dead_code)]
#[path = "it/builder.rs"]
mod builder;

use builder::{Builder, int, value_info};
use omron_circuit::Circuit;
use omron_model::proto::data_type as dt;
use omron_model::{ModelError, QuantOptions, QuantisedModel, load_onnx, quantise};

const ROWS: i64 = 40000;
const WIDTH: i64 = 8;

/// Token ids `[1, 4]` through a `[40000, 8]` table and a linear layer.
fn model() -> Builder {
    let mut b = Builder::new(17)
        .weight("wte", &[ROWS, WIDTH], 3)
        .weight("w", &[WIDTH, 4], 5)
        .node("Gather", &["wte", "ids"], &["e"], vec![int("axis", 0)])
        .node("MatMul", &["e", "w"], &["y"], vec![])
        .output("y");
    b.graph.input.push(value_info("ids", dt::INT64, &[1, 4]));
    b
}

fn ids() -> Vec<f32> {
    vec![39999.0, 0.0, 32768.0, 12345.0]
}

fn quantised(calibration: Option<&[Vec<f32>]>) -> QuantisedModel {
    let model = load_onnx(&model().bytes()).unwrap();
    quantise(&model, calibration, &QuantOptions::default()).unwrap()
}

#[test]
fn ids_up_to_the_table_size_prove_and_verify() {
    let model = load_onnx(&model().bytes()).unwrap();
    let x = vec![ids()];
    let q = quantise(&model, Some(&x), &QuantOptions::default()).unwrap();
    assert_eq!(q.input_scales, vec![0]);
    let inputs = q.quantise_inputs(&x).unwrap();
    assert_eq!(inputs, vec![vec![39999, 0, 32768, 12345]]);
    // The quantised model follows the float one on the high ids.
    let float = model.run_float(&x).unwrap();
    let fixed = q.run(&x).unwrap();
    let err = float[0]
        .iter()
        .zip(&fixed[0])
        .fold(0f64, |m, (&f, &q)| m.max((f64::from(f) - q).abs()));
    assert!(err < 1e-2, "max error {err}");

    let circuit = Circuit::compile("token-vocab", q.graph.clone()).unwrap();
    let ctx = b"token vocab nonce|hotkey";
    let proof = circuit.prove(&inputs, ctx).unwrap();
    let outputs = circuit.verify(&inputs, &proof.proof, ctx).unwrap();
    assert_eq!(outputs, proof.outputs);
    assert_eq!(q.dequantise_outputs(&outputs), fixed);

    let n = proof.proof.len();
    for k in 0..16 {
        let mut bad = proof.proof.clone();
        let at = (k * n / 16 + 61 * k) % n;
        bad[at] ^= 1 << (k % 8);
        assert!(
            circuit.verify(&inputs, &bad, ctx).is_err(),
            "byte {at} of {n} flipped and still verified"
        );
    }
    // Another id (one row down), or an id past the table handed straight to the verifier.
    for (position, id) in [(0, 39998), (2, 32767), (0, ROWS)] {
        let mut other = inputs.clone();
        other[0][position] = id;
        assert!(
            circuit.verify(&other, &proof.proof, ctx).is_err(),
            "id {id} at {position} verified"
        );
    }
    assert!(circuit.verify(&inputs, &proof.proof, b"other").is_err());
}

#[test]
fn ids_outside_the_table_are_refused_by_name() {
    let q = quantised(Some(&[ids()]));
    for (bad, shown) in [(40000.0, "40000"), (-1.0, "-1"), (7.5, "7.5")] {
        let mut x = ids();
        x[1] = bad;
        let e = q.quantise_inputs(&[x.clone()]).expect_err(shown);
        let text = e.to_string();
        assert!(matches!(e, ModelError::Ir(_)), "{e:?}");
        assert!(
            text.contains(&format!(
                "value 1 ({shown}) of 'ids' is not a token id in [0, 40000)"
            )),
            "{text}"
        );
        assert!(q.run(&[x]).is_err(), "{shown} runs");
    }
}

#[test]
fn without_calibration_the_synthetic_input_draws_valid_ids() {
    let model = load_onnx(&model().bytes()).unwrap();
    let q = quantised(None);
    let sample = q.synthetic_input();
    assert_eq!(sample.len(), 1);
    assert_eq!(sample[0].len(), 4);
    for &id in &sample[0] {
        assert!(
            id.fract() == 0.0 && (0.0..ROWS as f32).contains(&id),
            "{id}"
        );
    }
    // Spread over the table, not stuck in the 16-bit part or at one row.
    let distinct: std::collections::BTreeSet<u32> = sample[0].iter().map(|&v| v as u32).collect();
    assert!(distinct.len() >= 3, "{sample:?}");
    let report = q.accuracy(&model, &sample).unwrap();
    assert!(report.max_abs_error < 0.1, "{report:?}");
    assert!(report.argmax_agrees, "{report:?}");
}
