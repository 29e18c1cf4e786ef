//! nanoGPT (bench/models/nanogpt: 4 layers, 4 heads, width 64, vocab 65, 64-token prompts)
//! from its ONNX file: quantised with the shipped prompt as calibration, its next-token argmax
//! compared with onnxruntime's on the 100 prompts of `bench/models/nanogpt/reference.json`
//! (written by `bench/make_transformers.py --check bench/models/nanogpt --reference-out ...`),
//! then one prompt proven and verified, and tampered proofs, token ids and contexts refused.

// In a test, a panic is the failure report.
#![allow(clippy::unwrap_used)]

use omron_circuit::Circuit;
use omron_model::{InputData, QuantOptions, load_onnx, quantise};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/models/nanogpt");

/// The index of the largest value.
fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DIR}/{name}")).unwrap()
}

#[test]
fn nanogpt_keeps_the_next_token_and_proves() {
    let model = load_onnx(&read("network.onnx")).unwrap();
    let calibration = InputData::from_json(&read("input.json")).unwrap().inputs;
    let q = quantise(&model, Some(&calibration), &QuantOptions::default()).unwrap();
    assert_eq!(q.input_scales, vec![0], "token ids are integers");

    let reference: serde_json::Value = serde_json::from_slice(&read("reference.json")).unwrap();
    let prompts = reference["prompts"].as_array().unwrap();
    let ort = reference["ort_last_logits"].as_array().unwrap();
    assert_eq!(prompts.len(), 100);
    let (mut agree, mut max_err) = (0, 0f64);
    for (p, o) in prompts.iter().zip(ort) {
        let ids: Vec<f32> = p
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let o: Vec<f64> = o
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let y = q.run(&[ids]).unwrap().remove(0);
        let last = &y[y.len() - o.len()..];
        agree += usize::from(argmax(last) == argmax(&o));
        max_err = last
            .iter()
            .zip(&o)
            .fold(max_err, |m, (a, b)| m.max((a - b).abs()));
    }
    println!(
        "nanoGPT: next-token argmax {agree}/100 with onnxruntime, max |logit error| {max_err:.3e}"
    );
    assert!(agree >= 95, "argmax agreement {agree}/100");
    assert!(max_err < 1e-2, "max logit error {max_err}");

    let inputs = q.quantise_inputs(&calibration).unwrap();
    let circuit = Circuit::compile("nanogpt", q.graph.clone()).unwrap();
    let ctx = b"nanogpt nonce|hotkey";
    let proof = circuit.prove(&inputs, ctx).unwrap();
    let outputs = circuit.verify(&inputs, &proof.proof, ctx).unwrap();
    assert_eq!(q.dequantise_outputs(&outputs), q.run(&calibration).unwrap());
    let n = proof.proof.len();
    for k in 0..8 {
        let mut bad = proof.proof.clone();
        bad[(k * n / 8 + 97 * k) % n] ^= 1 << k;
        assert!(circuit.verify(&inputs, &bad, ctx).is_err(), "flip {k}");
    }
    let mut other = inputs.clone();
    other[0][63] = (other[0][63] + 1) % 65;
    assert!(circuit.verify(&other, &proof.proof, ctx).is_err());
    assert!(
        circuit
            .verify(&inputs, &proof.proof, b"nanogpt nonce|hotkez")
            .is_err()
    );
}
