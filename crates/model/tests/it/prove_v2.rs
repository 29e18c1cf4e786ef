//! Every v2 op family end to end: each hand-built case of `ops_v2` (unary tables, Pow/Div/GELU,
//! comparisons with Where and Clip, reductions with Softmax and ArgMax, layer norms, pools,
//! LSTM and GRU, the layout ops) is quantised, compiled into a circuit, proven and verified;
//! then proofs with a changed byte (sampled across the whole proof), another input and another
//! context are all rejected.

use omron_circuit::Circuit;
use omron_model::{QuantOptions, load_onnx, quantise};

use crate::ops_v2::{cases, inputs_for};

#[test]
fn v2_op_families_prove_verify_and_reject_tampering() {
    for (name, b, shapes) in cases() {
        let model = load_onnx(&b.bytes()).unwrap();
        let x = inputs_for(&shapes);
        let q = quantise(&model, Some(&x), &QuantOptions::default()).unwrap();
        let inputs = q.quantise_inputs(&x).unwrap();
        let expected = q.run(&x).unwrap();
        let circuit =
            Circuit::compile(name, q.graph.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ctx = b"v2 nonce|hotkey";
        let proof = circuit
            .prove(&inputs, ctx)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let outputs = circuit
            .verify(&inputs, &proof.proof, ctx)
            .unwrap_or_else(|e| panic!("{name}: honest proof rejected: {e}"));
        assert_eq!(outputs, proof.outputs, "{name}");
        // The proven outputs are the quantised model's.
        assert_eq!(
            q.dequantise_outputs(&outputs),
            expected,
            "{name}: proven outputs differ from the quantised model's"
        );

        let n = proof.proof.len();
        for k in 0..24 {
            let mut bad = proof.proof.clone();
            let at = (k * n / 24 + k * 131) % n;
            bad[at] ^= 1 << (k % 8);
            assert!(
                circuit.verify(&inputs, &bad, ctx).is_err(),
                "{name}: byte {at} of {n} changed and still verified"
            );
        }
        let mut other = inputs.clone();
        other[0][0] += 1;
        assert!(
            circuit.verify(&other, &proof.proof, ctx).is_err(),
            "{name}: another input verified"
        );
        assert!(
            circuit.verify(&inputs, &proof.proof, b"v2 other").is_err(),
            "{name}: another context verified"
        );
    }
}
