//! Token ids beyond 16 bits (GPT-2's vocabulary has 50257 rows): a request input read only as
//! embedding indices is quantised up to its table's size, proven and verified, while ids past
//! the table, negative or fractional are refused with a message naming the input and the
//! value, and every input used any other way keeps the 16-bit activation check.

// Test helpers outside `#[test]` functions unwrap freely: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use common::tamper::{Refusals, end_cells, spread_flips};
use omron_circuit::{Circuit, CircuitError, InputData};
use omron_ir::{Graph, GraphBuilder, Op, TensorId};

const CTX: &[u8] = b"nonce-7|hotkey";
const VOCAB: usize = 40000;
const WIDTH: usize = 4;

fn node(g: &mut GraphBuilder, name: &str, op: Op, inputs: &[TensorId]) -> TensorId {
    g.node(name, op, inputs)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Deterministic table rows in `[-128, 128)`, different for neighbouring rows.
fn table_values(rows: usize) -> Vec<i64> {
    (0..rows * WIDTH)
        .map(|i| ((i as i64 * 7919) % 256) - 128)
        .collect()
}

/// `ids [5] -> Embedding(wte [40000, 4]) -> MatMul -> Rescale`, and the rows themselves.
fn vocabulary_graph() -> Graph {
    let mut g = GraphBuilder::new();
    let ids = g.input("ids", &[5], 0);
    let table = g.constant("wte", &[VOCAB, WIDTH], 8, table_values(VOCAB));
    let x = node(&mut g, "embed", Op::Embedding, &[ids, table]);
    let w = g.constant(
        "w",
        &[3, WIDTH],
        8,
        vec![3, -1, 4, 1, -5, 9, 2, -6, 5, 3, -5, 8],
    );
    let y = node(&mut g, "proj", Op::MatMul, &[x, w]);
    let y = node(&mut g, "proj8", Op::Rescale { shift: 8 }, &[y]);
    g.finish(&[y, x]).unwrap()
}

fn request(ids: &str) -> InputData {
    InputData::from_json(&format!("{{\"input_data\": [{ids}]}}")).unwrap()
}

#[test]
fn request_ids_up_to_the_table_prove_and_verify() {
    let circuit = Circuit::compile("vocab-40000", vocabulary_graph()).unwrap();
    let inputs = request("[[39999, 0, 32768, 32767, 25000]]")
        .quantise(&circuit)
        .unwrap();
    assert_eq!(inputs, vec![vec![39999, 0, 32768, 32767, 25000]]);
    let proof = circuit.prove(&inputs, CTX).unwrap();
    let outputs = circuit.verify(&inputs, &proof.proof, CTX).unwrap();
    assert_eq!(outputs, proof.outputs);
    let rows = table_values(VOCAB);
    assert_eq!(
        outputs[1][..WIDTH],
        rows[39999 * WIDTH..40000 * WIDTH],
        "token 0 is row 39999"
    );

    let verify = |ids: &[Vec<i64>], proof: &[u8]| circuit.verify(ids, proof, CTX);
    let mut refusals = Refusals::new("vocab-40000");
    refusals.flipped(&proof.proof, &spread_flips(proof.proof.len(), 24), |p| {
        verify(&inputs, p)
    });
    refusals.resized(&proof.proof, |p| verify(&inputs, p));
    refusals.nudged_each("input", &inputs, &end_cells(&inputs), |x| {
        verify(x, &proof.proof)
    });
    // Another id below 2^15 for one above (and back), and ids past the table handed straight
    // to the verifier (the request quantisation would refuse them first).
    for (position, other) in [(2, 0), (3, 32768), (0, VOCAB as i64), (4, 1 << 40), (1, -1)] {
        let mut changed = inputs.clone();
        changed[0][position] = other;
        refusals.refused(
            &format!("id {other} at {position}"),
            verify(&changed, &proof.proof),
        );
    }
    refusals.other_contexts(&[b"nonce-8|hotkey".as_slice()], |c| {
        circuit.verify(&inputs, &proof.proof, c)
    });
    assert!(refusals.finish() >= 30);
}

#[test]
fn request_ids_outside_the_table_are_refused_naming_the_input_and_value() {
    let circuit = Circuit::compile("vocab-40000", vocabulary_graph()).unwrap();
    for (ids, shown) in [
        ("[[0, 40000, 1, 2, 3]]", "40000"),
        ("[[0, -1, 1, 2, 3]]", "-1"),
        ("[[0, 3.5, 1, 2, 3]]", "3.5"),
        ("[[0, 1e20, 1, 2, 3]]", "100000000000000000000"),
    ] {
        let e = request(ids).quantise(&circuit).expect_err(shown);
        let text = e.to_string();
        assert!(matches!(e, CircuitError::Ir(_)), "{e:?}");
        assert!(
            text.contains(&format!(
                "input 0: value 1 ({shown}) of 'ids' is not a token id in [0, 40000)"
            )) && text.contains("embedding 'embed'"),
            "{text}"
        );
    }
}

#[test]
fn inputs_used_otherwise_keep_the_activation_range() {
    // `ids` indexes the table and is also added to a constant: an activation, 16 bits.
    let mut g = GraphBuilder::new();
    let ids = g.input("ids", &[2], 0);
    let table = g.constant("wte", &[VOCAB, WIDTH], 8, table_values(VOCAB));
    let e = node(&mut g, "embed", Op::Embedding, &[ids, table]);
    let one = g.scalar("one", 0, 1);
    let next = node(&mut g, "next", Op::Add, &[ids, one]);
    let circuit = Circuit::compile("ids-also-added", g.finish(&[e, next]).unwrap()).unwrap();
    let inputs = request("[[32767, 5]]").quantise(&circuit).unwrap();
    let proof = circuit.prove(&inputs, CTX).unwrap();
    let outputs = circuit.verify(&inputs, &proof.proof, CTX).unwrap();
    assert_eq!(outputs[1], vec![32768, 6]);
    let e = request("[[32768, 5]]").quantise(&circuit).unwrap_err();
    assert!(
        e.to_string()
            .contains("value 0 (32768) of 'ids' is outside the range"),
        "{e}"
    );
}
