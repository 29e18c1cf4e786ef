//! Forged witnesses for the transformer relations: a prover that follows the protocol exactly
//! (so the transcript is consistent) but proves values the executor would not compute. Each
//! must be refused by the relation that owns the wrong value, not by Fiat–Shamir.

use omron_ir::{Graph, GraphBuilder, Op};

use crate::witness::Witness;
use crate::{Circuit, CircuitError, VerifyError};

const CTX: &[u8] = b"nonce|hotkey";

/// Proves `graph` on `inputs` with `forge` applied to the honest witness, and returns what the
/// verifier says.
fn verify_forged(
    graph: Graph,
    inputs: &[Vec<i64>],
    forge: impl FnOnce(&Circuit, &mut Witness),
) -> Result<Vec<Vec<i64>>, VerifyError> {
    let circuit = Circuit::compile("forged", graph).expect("compiles");
    let trace = omron_ir::execute(circuit.graph(), inputs).expect("executes");
    let mut witness = Witness::new(circuit.plan(), circuit.graph(), &trace);
    // The untouched witness proves and verifies: the refusal below is the forgery's.
    let honest = circuit
        .prove_witness(inputs, CTX, &witness)
        .expect("proves");
    circuit
        .verify(inputs, &honest.proof, CTX)
        .expect("the honest witness verifies");
    forge(&circuit, &mut witness);
    let forged: ProofResult = circuit.prove_witness(inputs, CTX, &witness);
    circuit.verify(
        inputs,
        &forged.expect("a forged witness still proves").proof,
        CTX,
    )
}

type ProofResult = Result<crate::ProofOutput, CircuitError>;

/// Adds `delta` to element `at` of tensor `t` in the witness.
fn bump(circuit: &Circuit, w: &mut Witness, t: usize, at: usize, delta: i64) {
    let mut rows = w.rows(t).to_vec();
    rows[at] += delta;
    w.set(circuit.plan(), t, rows);
}

fn attention_scores() -> (Graph, usize, usize) {
    let mut g = GraphBuilder::new();
    let q = g.input("q", &[2, 3, 4], 6);
    let k = g.input("k", &[2, 4, 3], 6);
    let s = g.node("qk", Op::BatchMatMul, &[q, k]).expect("qk");
    let r = g
        .node("rs", Op::Rescale { shift: 6 }, &[s])
        .expect("rescale");
    (g.finish(&[r]).expect("valid"), s, r)
}

fn inputs(n: usize, seed: i64) -> Vec<i64> {
    (0..n as i64).map(|i| (i * 37 + seed) % 101 - 50).collect()
}

#[test]
fn a_wrong_virtual_product_is_refused_by_the_batched_sumcheck() {
    let (graph, s, r) = attention_scores();
    let xs = [inputs(24, 3), inputs(24, 11)];
    // y + 64 and its rescale + 1: the rescale's remainder check still holds, only the product
    // relation sees the change.
    let e = verify_forged(graph, &xs, |c, w| {
        bump(c, w, s, 7, 64);
        bump(c, w, r, 7, 1);
    })
    .expect_err("forged product");
    assert!(
        matches!(
            e,
            VerifyError::Sumcheck {
                label: "batch-matmul",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_wrong_public_product_is_refused() {
    let mut g = GraphBuilder::new();
    let a = g.input("a", &[3, 5], 0);
    let b = g.input("b", &[5, 2], 0);
    let y = g.node("ab", Op::BatchMatMul, &[a, b]).expect("ab");
    let graph = g.finish(&[y]).expect("valid");
    let e = verify_forged(graph, &[inputs(15, 1), inputs(10, 2)], |c, w| {
        bump(c, w, y, 4, -1)
    })
    .expect_err("forged output");
    assert!(matches!(e, VerifyError::Sumcheck { .. }), "{e}");
}

fn embedding_graph(virtual_output: bool) -> (Graph, usize, usize) {
    let mut g = GraphBuilder::new();
    let ids = g.input("ids", &[5], 0);
    let table: Vec<i64> = (0..7 * 3).map(|i| i * 13 - 100).collect();
    let t = g.constant("wte", &[7, 3], 4, table);
    let e = g.node("embed", Op::Embedding, &[ids, t]).expect("embed");
    let r = g
        .node("rs", Op::Rescale { shift: 0 }, &[e])
        .expect("rescale");
    let outputs = if virtual_output { vec![r] } else { vec![r, e] };
    (g.finish(&outputs).expect("valid"), e, r)
}

#[test]
fn a_wrong_embedding_row_is_refused() {
    let ids = vec![vec![6, 0, 3, 3, 1]];
    for virtual_output in [true, false] {
        let (graph, e, r) = embedding_graph(virtual_output);
        // The embedding and the value read from it change together: only the embedding's own
        // check can see it.
        let wrong = verify_forged(graph, &ids, |c, w| {
            bump(c, w, e, 5, 1);
            bump(c, w, r, 5, 1);
        });
        assert!(
            matches!(wrong, Err(VerifyError::Relation(ref m)) if m.contains("'embed'")),
            "virtual {virtual_output}: {wrong:?}"
        );
    }
}

/// The batched lookup argument (one GKR over every lookup, tables weighed by `ρ`): a ReLU value
/// off by 2 (its rescaled quotient moved along, so the division's remainder stays in range and
/// only the ReLU pair is wrong) is refused by the lookup argument, with a Tanh table and a range
/// table sharing the GKR. So is the same pair when it is the only lookup of its table.
#[test]
fn a_wrong_function_value_is_refused_by_the_batched_lookup() {
    use omron_ir::{LookupFn, LookupKind};
    let lookup = |kind| {
        Op::Lookup(LookupFn {
            kind,
            in_scale: 8,
            out_scale: 8,
        })
    };
    for with_tanh in [true, false] {
        let mut g = GraphBuilder::new();
        let x = g.input("x", &[3, 5], 8);
        let y = g
            .node("relu", lookup(LookupKind::Relu), &[x])
            .expect("relu");
        let q = g
            .node("half", Op::Rescale { shift: 1 }, &[y])
            .expect("rescale");
        let mut outputs = vec![q];
        if with_tanh {
            outputs.push(
                g.node("tanh", lookup(LookupKind::Tanh), &[x])
                    .expect("tanh"),
            );
        }
        let graph = g.finish(&outputs).expect("valid");
        let input = inputs(15, 3);
        // Element 0 of the input is negative, so its ReLU is 0 and (x, 2) is no row.
        assert!(input[0] < 0);
        let result = verify_forged(graph, &[input], |c, w| {
            bump(c, w, y, 0, 2);
            bump(c, w, q, 0, 1);
        });
        assert!(
            matches!(result, Err(VerifyError::Lookup { .. })),
            "with_tanh={with_tanh}: {result:?}"
        );
    }
}
