//! The ops a transformer needs, proven end to end on graphs built with the IR's builder:
//! batched products of two computed tensors (attention's `Q Kᵀ` and `P V`), embedding lookups by
//! public token ids, products of computed tensors with broadcasting (layer norm), division by a
//! computed per-row sum (softmax) and a row maximum as a tree of `Max` over slices. Every proof
//! verifies, reaches 100 bits, and is refused when an output, a proof byte, an input (token id
//! or activation) or the context changes.

// Test helpers outside `#[test]` functions unwrap freely: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use common::tamper::{Refusals, end_cells, one_bit_off, spread_flips};
use omron_circuit::{Circuit, CircuitError, MIN_SECURITY_BITS, TableSpec, VerifyError};
use omron_ir::{Graph, GraphBuilder, IrError, LookupFn, LookupKind, Op, TensorId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CTX: &[u8; 14] = b"nonce-1|hotkey";

/// The Goldilocks modulus (outputs are sent as canonical field elements).
const P: u64 = 0xffff_ffff_0000_0001;

/// Bytes of the magic number that opens a proof; the outputs follow, 8 bytes each.
const MAGIC_LEN: usize = 8;

fn lookup(kind: LookupKind, in_scale: u32, out_scale: u32) -> Op {
    Op::Lookup(LookupFn {
        kind,
        in_scale,
        out_scale,
    })
}

fn node(g: &mut GraphBuilder, name: &str, op: Op, inputs: &[TensorId]) -> TensorId {
    g.node(name, op, inputs)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn random(rng: &mut ChaCha8Rng, n: usize, range: i64) -> Vec<i64> {
    (0..n).map(|_| rng.gen_range(-range..=range)).collect()
}

fn constant(
    g: &mut GraphBuilder,
    rng: &mut ChaCha8Rng,
    name: &str,
    shape: &[usize],
    scale: u32,
    range: i64,
) -> TensorId {
    let data = random(rng, shape.iter().product(), range);
    g.constant(name, shape, scale, data)
}

/// `proof` with the claimed output element `index` (flat over every output) moved up by one,
/// re-encoded as a canonical field element.
fn with_output_moved(proof: &[u8], index: usize) -> Vec<u8> {
    let at = MAGIC_LEN + 8 * index;
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&proof[at..at + 8]);
    let v = u64::from_le_bytes(bytes);
    let moved = if v + 1 == P { 0 } else { v + 1 };
    let mut out = proof.to_vec();
    out[at..at + 8].copy_from_slice(&moved.to_le_bytes());
    out
}

/// Compiles, asserts 100 bits, proves, verifies (outputs are the executor's), and runs the
/// tampering checks: every claimed output element moved by one, proof bytes flipped, the proof
/// cut or extended, each input's end cells moved by one, other contexts. Returns the circuit
/// and the proven outputs.
fn check(name: &str, graph: Graph, inputs: &[Vec<i64>]) -> (Circuit, Vec<Vec<i64>>) {
    let circuit = Circuit::compile(name, graph).unwrap_or_else(|e| panic!("{name}: {e}"));
    let report = circuit.soundness();
    assert!(report.bits_total >= MIN_SECURITY_BITS, "{name}: {report:?}");
    let proof = circuit.prove(inputs, CTX).expect("proves");
    let outputs = circuit
        .verify(inputs, &proof.proof, CTX)
        .expect("honest proof verifies");
    let expected = omron_ir::execute(circuit.graph(), inputs)
        .unwrap()
        .outputs(circuit.graph());
    assert_eq!(outputs, expected, "{name}: outputs are the executor's");
    assert_eq!(outputs, proof.outputs);

    let mut refusals = Refusals::new(name);
    let verify = |p: &[u8]| circuit.verify(inputs, p, CTX);
    let elements: usize = outputs.iter().map(Vec::len).sum();
    for index in [0, elements / 2, elements - 1] {
        refusals.refused(
            &format!("output element {index} + 1"),
            verify(&with_output_moved(&proof.proof, index)),
        );
    }
    refusals.flipped(&proof.proof, &spread_flips(proof.proof.len(), 151), verify);
    let appended = refusals.resized(&proof.proof, verify);
    assert!(matches!(appended, VerifyError::TrailingBytes { count: 1 }));
    refusals.nudged_each("input", inputs, &end_cells(inputs), |other| {
        circuit.verify(other, &proof.proof, CTX)
    });
    let mut contexts = vec![b"nonce-2|other".to_vec(), Vec::new()];
    contexts.extend(one_bit_off(CTX).iter().map(|c| c.to_vec()));
    refusals.other_contexts(&contexts, |c| circuit.verify(inputs, &proof.proof, c));
    let cases = refusals.finish();
    assert!(cases >= 150, "{name}: {cases} cases");
    eprintln!(
        "{name}: {:.2} bits, {} committed values, proof {} bytes",
        report.bits_total,
        circuit.plan().committed_len(),
        proof.proof.len()
    );
    (circuit, outputs)
}

/// Activation-range range checks the plan added on `tensor` (as a whole lookup column).
fn range_checks_on(circuit: &Circuit, tensor: TensorId) -> usize {
    let plan = circuit.plan();
    plan.lookups
        .iter()
        .filter(|l| {
            plan.tables[l.table] == TableSpec::ACTIVATION
                && l.input.terms == [(tensor, 1)]
                && l.output.is_none()
        })
        .count()
}

/// Q Kᵀ over two heads, both factors computed (linear projections of the input, rescaled),
/// `Kᵀ` a Transpose of a computed tensor: the plan knows both factors are activations and adds
/// no range check.
#[test]
fn batched_product_of_two_computed_tensors() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (t, d, h) = (5, 6, 2);
    let mut g = GraphBuilder::new();
    let x = g.input("x", &[t, d], 8);
    let wq = constant(&mut g, &mut rng, "wq", &[d, d], 8, 128);
    let wk = constant(&mut g, &mut rng, "wk", &[d, d], 8, 128);
    let q = node(&mut g, "q", Op::MatMul, &[x, wq]);
    let q = node(&mut g, "q8", Op::Rescale { shift: 8 }, &[q]);
    let k = node(&mut g, "k", Op::MatMul, &[x, wk]);
    let k = node(&mut g, "k8", Op::Rescale { shift: 8 }, &[k]);
    let heads = |g: &mut GraphBuilder, name: &str, v: TensorId, perm: Vec<usize>| {
        let r = node(
            g,
            &format!("{name}.heads"),
            Op::Reshape {
                shape: vec![t, h, d / h],
            },
            &[v],
        );
        node(g, &format!("{name}.t"), Op::Transpose { perm }, &[r])
    };
    let qh = heads(&mut g, "q", q, vec![1, 0, 2]);
    let kt = heads(&mut g, "k", k, vec![1, 2, 0]);
    let scores = node(&mut g, "qk", Op::BatchMatMul, &[qh, kt]);
    let y = node(&mut g, "qk8", Op::Rescale { shift: 8 }, &[scores]);
    let graph = g.finish(&[y]).unwrap();
    assert_eq!(graph.tensors[scores].shape, vec![h, t, t]);
    let input = random(&mut rng, t * d, 300);
    let (circuit, outputs) = check("qk", graph, std::slice::from_ref(&input));
    assert_eq!(
        range_checks_on(&circuit, qh) + range_checks_on(&circuit, kt),
        0
    );

    // An independent computation of one score: head 1, query 3, key 4.
    let project = |w: TensorId, row: usize, col: usize| -> i64 {
        let w = circuit.graph().tensors[w].const_data().unwrap();
        let acc: i64 = (0..d).map(|j| input[row * d + j] * w[col * d + j]).sum();
        (acc + 128) >> 8
    };
    let (head, i, j) = (1, 3, 4);
    let dot: i64 = (0..d / h)
        .map(|c| project(wq, i, head * (d / h) + c) * project(wk, j, head * (d / h) + c))
        .sum();
    assert_eq!(outputs[0][(head * t + i) * t + j], (dot + 128) >> 8);
}

/// A factor the graph does not bound (a quotient, up to 2^30) is range-checked to the
/// activation range by the plan, and an execution where it leaves that range is refused.
#[test]
fn an_unbounded_factor_is_range_checked() {
    let build = |shift: u32| {
        let mut g = GraphBuilder::new();
        let a = g.input("a", &[3, 4], 0);
        let b = g.input("b", &[3, 1], 0);
        let v = g.input("v", &[4, 2], 0);
        let q = node(&mut g, "q", Op::Div { shift }, &[a, b]);
        let y = node(&mut g, "qv", Op::BatchMatMul, &[q, v]);
        (g.finish(&[y]).unwrap(), q, v)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let a = random(&mut rng, 12, 200);
    let b = vec![3, 7, 11];
    let v = random(&mut rng, 8, 100);
    let (graph, q, input_v) = build(4);
    let (circuit, _) = check("unbounded", graph, &[a.clone(), b.clone(), v.clone()]);
    assert_eq!(range_checks_on(&circuit, q), 1, "the quotient is checked");
    assert_eq!(range_checks_on(&circuit, input_v), 1, "so is the input");

    // 200 * 2^10 / 3 leaves the activation range: the executor refuses it, naming the node.
    let (graph, _, _) = build(10);
    let circuit = Circuit::compile("unbounded-10", graph).unwrap();
    match circuit.prove(&[a, b, v], CTX) {
        Err(CircuitError::Ir(IrError::ActivationOverflow { node, op, .. })) => {
            assert_eq!((node.as_str(), op), ("qv", "BatchMatMul"))
        }
        other => panic!("{other:?}"),
    }
}

/// A graph `ids -> Embedding(table) -> MatMul -> Rescale`, and the embedding itself as a
/// second (public) output.
fn embedding_graph(vocab: usize, width: usize, tokens: usize) -> (Graph, TensorId) {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut g = GraphBuilder::new();
    let ids = g.input("ids", &[tokens], 0);
    let table = constant(&mut g, &mut rng, "wte", &[vocab, width], 8, 256);
    let x = node(&mut g, "embed", Op::Embedding, &[ids, table]);
    let w = constant(&mut g, &mut rng, "w", &[3, width], 8, 100);
    let y = node(&mut g, "proj", Op::MatMul, &[x, w]);
    let y = node(&mut g, "proj8", Op::Rescale { shift: 8 }, &[y]);
    (g.finish(&[y, x]).unwrap(), table)
}

#[test]
fn embedding_of_public_token_ids() {
    let (vocab, width, tokens) = (1000, 16, 7);
    let (graph, table) = embedding_graph(vocab, width, tokens);
    let ids: Vec<i64> = vec![999, 0, 17, 17, 512, 3, 999];
    let (circuit, outputs) = check("embedding", graph, std::slice::from_ref(&ids));
    let rows = circuit.graph().tensors[table].const_data().unwrap();
    for (t, &id) in ids.iter().enumerate() {
        let id = id as usize;
        assert_eq!(
            outputs[1][t * width..(t + 1) * width],
            rows[id * width..(id + 1) * width],
            "token {t}"
        );
    }
    let proof = circuit.prove(std::slice::from_ref(&ids), CTX).unwrap();
    let mut refusals = Refusals::new("embedding ids");
    // Another valid token, and ids outside the table, do not verify.
    for (position, other) in [(2, 18), (0, 998), (6, vocab as i64), (1, -1)] {
        let mut changed = ids.clone();
        changed[position] = other;
        refusals.refused(
            &format!("id {other} at {position}"),
            circuit.verify(&[changed], &proof.proof, CTX),
        );
    }
    refusals.finish();
}

#[test]
fn embedding_refuses_out_of_range_ids_and_computed_indices() {
    let (graph, _) = embedding_graph(50, 4, 3);
    let circuit = Circuit::compile("embedding", graph).unwrap();
    for ids in [vec![0, 50, 1], vec![-1, 0, 0]] {
        match circuit.prove(std::slice::from_ref(&ids), CTX) {
            Err(CircuitError::Ir(IrError::IndexOutOfRange { node, bound, .. })) => {
                assert_eq!((node.as_str(), bound), ("embed", 50), "{ids:?}")
            }
            other => panic!("{ids:?}: {other:?}"),
        }
    }

    // Indices computed inside the model are refused at compile, naming the node.
    let mut g = GraphBuilder::new();
    let x = g.input("x", &[3], 4);
    let ids = node(&mut g, "ids", Op::Rescale { shift: 4 }, &[x]);
    let table = g.constant("wte", &[8, 2], 0, (0..16).collect());
    let y = node(&mut g, "embed", Op::Embedding, &[ids, table]);
    let graph = g.finish(&[y]).unwrap();
    let e = Circuit::compile("computed-ids", graph).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, CircuitError::Unsupported { ref node, .. } if node == "embed")
            && text.contains("index tensor 'ids' is computed"),
        "{text}"
    );

    // Constant indices are public too. (This circuit commits nothing, so its commitment's
    // codeword is tiny and fully opened: another valid proof-of-work nonce gives another valid
    // proof of the same outputs. The byte-flip checks are therefore left to the circuits
    // above; a wrong output and another context are still refused.)
    let mut g = GraphBuilder::new();
    let x = g.input("x", &[1], 0);
    let ids = g.constant("ids", &[4], 0, vec![2, 0, 2, 7]);
    let table = g.constant("wte", &[8, 2], 0, (0..16).collect());
    let e = node(&mut g, "embed", Op::Embedding, &[ids, table]);
    let y = node(&mut g, "shift", Op::Add, &[e, x]);
    let circuit = Circuit::compile("const-ids", g.finish(&[y]).unwrap()).unwrap();
    let proof = circuit.prove(&[vec![100]], CTX).unwrap();
    let outputs = circuit.verify(&[vec![100]], &proof.proof, CTX).unwrap();
    assert_eq!(outputs[0], vec![104, 105, 100, 101, 104, 105, 114, 115]);
    let mut refusals = Refusals::new("const-ids");
    for index in [0, 7] {
        refusals.refused(
            &format!("output element {index} + 1"),
            circuit.verify(&[vec![100]], &with_output_moved(&proof.proof, index), CTX),
        );
    }
    refusals.refused("input + 1", circuit.verify(&[vec![101]], &proof.proof, CTX));
    refusals.refused("context", circuit.verify(&[vec![100]], &proof.proof, b""));
    refusals.finish();
}

/// Layer normalisation: `x * x` and `d * r` with `r` a computed per-row factor broadcast along
/// the last axis, against a float reference.
#[test]
fn layer_norm_products_of_computed_tensors_with_broadcasting() {
    let (t, d) = (4, 8);
    let mut g = GraphBuilder::new();
    let x = g.input("x", &[t, d], 8);
    let row_sum = |g: &mut GraphBuilder, name: &str, v: TensorId| {
        node(
            g,
            name,
            Op::ReduceSum {
                axes: vec![1],
                keepdims: true,
            },
            &[v],
        )
    };
    let s = row_sum(&mut g, "sum", x);
    let mean = node(&mut g, "mean", Op::DivRound { divisor: d as u64 }, &[s]);
    let centred = node(&mut g, "centred", Op::Sub, &[x, mean]);
    let sq = node(&mut g, "sq", Op::Mul, &[centred, centred]);
    let ss = row_sum(&mut g, "ss", sq);
    let var = node(&mut g, "var", Op::DivFloor { divisor: d as u64 }, &[ss]);
    let eps = g.scalar("eps", 16, 1);
    let var = node(&mut g, "var_eps", Op::Add, &[var, eps]);
    let var = node(&mut g, "var8", Op::Rescale { shift: 8 }, &[var]);
    let r = node(&mut g, "rstd", lookup(LookupKind::Rsqrt, 8, 12), &[var]);
    let normed = node(&mut g, "normed", Op::Mul, &[centred, r]);
    let y = node(&mut g, "y", Op::Rescale { shift: 12 }, &[normed]);
    let graph = g.finish(&[y]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let input = random(&mut rng, t * d, 700);
    let (_, outputs) = check("layernorm", graph, std::slice::from_ref(&input));

    let mut worst: f64 = 0.0;
    for (row, got) in input.chunks(d).zip(outputs[0].chunks(d)) {
        let xs: Vec<f64> = row.iter().map(|&v| v as f64 / 256.0).collect();
        let mean = xs.iter().sum::<f64>() / d as f64;
        let var = xs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d as f64;
        for (v, &y) in xs.iter().zip(got) {
            let want = (v - mean) / var.sqrt();
            worst = worst.max((y as f64 / 256.0 - want).abs());
        }
    }
    eprintln!("layernorm: max abs error {worst:.2e} against f64");
    assert!(worst < 0.02, "{worst}");
}

/// The row maximum as a tree of `Max` over `Slice`s of odd length (the last two slices
/// overlap), then `Max`/`Min` of a row with a computed per-row value broadcast along it.
#[test]
fn row_max_tree_and_broadcast_max_min() {
    let (t, n) = (3, 5);
    let mut g = GraphBuilder::new();
    let x = g.input("x", &[t, n], 6);
    let cols = |g: &mut GraphBuilder, name: &str, v: TensorId, start: usize, end: usize| {
        node(
            g,
            name,
            Op::Slice {
                starts: vec![0, start],
                ends: vec![t, end],
                steps: vec![1, 1],
            },
            &[v],
        )
    };
    // 5 -> max([0, 3), [2, 5)) = 3 -> max([0, 2), [1, 3)) = 2 -> max([0, 1), [1, 2)) = 1.
    let a = cols(&mut g, "s0", x, 0, 3);
    let b = cols(&mut g, "s1", x, 2, 5);
    let m3 = node(&mut g, "m3", Op::Max, &[a, b]);
    let a = cols(&mut g, "s2", m3, 0, 2);
    let b = cols(&mut g, "s3", m3, 1, 3);
    let m2 = node(&mut g, "m2", Op::Max, &[a, b]);
    let a = cols(&mut g, "s4", m2, 0, 1);
    let b = cols(&mut g, "s5", m2, 1, 2);
    let row_max = node(&mut g, "rowmax", Op::Max, &[a, b]);
    let centred = node(&mut g, "centred", Op::Sub, &[x, row_max]);
    let s = node(
        &mut g,
        "sum",
        Op::ReduceSum {
            axes: vec![1],
            keepdims: true,
        },
        &[x],
    );
    let mean = node(&mut g, "mean", Op::DivRound { divisor: n as u64 }, &[s]);
    let above = node(&mut g, "above", Op::Max, &[x, mean]);
    let below = node(&mut g, "below", Op::Min, &[mean, x]);
    let graph = g.finish(&[row_max, centred, above, below]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let input = random(&mut rng, t * n, 4000);
    let (_, outputs) = check("rowmax", graph, std::slice::from_ref(&input));
    for (r, row) in input.chunks(n).enumerate() {
        let max = *row.iter().max().unwrap();
        assert_eq!(outputs[0][r], max);
        let mean = (row.iter().sum::<i64>() + 2).div_euclid(5);
        for (i, &v) in row.iter().enumerate() {
            assert_eq!(outputs[1][r * n + i], v - max);
            assert_eq!(outputs[2][r * n + i], v.max(mean));
            assert_eq!(outputs[3][r * n + i], v.min(mean));
        }
    }
}

/// Dimensions of the attention test.
const TOKENS: usize = 4;
const WIDTH: usize = 8;
const HEADS: usize = 2;
const HEAD: usize = WIDTH / HEADS;
const VOCAB: usize = 16;
/// The causal mask's additive constant at scale 8: -16.0, so that `e^(x - max)` of a masked
/// score rounds to 0 at the probabilities' scale, while every difference the `Max` tree and
/// the `Exp` table see stays in the activation range.
const MASK: i64 = -16 * 256;

/// One causal self-attention block over embedded tokens:
/// `ids -> Embedding -> Q, K, V (MatMul) -> heads -> Q Kᵀ -> /√d -> + causal mask -> - row max
/// (tree of Max over Slices) -> Exp table -> row sum -> Div -> P V -> merge heads`.
/// Returns the graph and the constants (table, wq, wk, wv) for the float reference.
fn attention_block(rng: &mut ChaCha8Rng) -> (Graph, [TensorId; 4]) {
    let mut g = GraphBuilder::new();
    let ids = g.input("ids", &[TOKENS], 0);
    let table = constant(&mut g, rng, "wte", &[VOCAB, WIDTH], 8, 256);
    let x = node(&mut g, "embed", Op::Embedding, &[ids, table]);
    let mut project = |g: &mut GraphBuilder, name: &str, perm: Vec<usize>| {
        let w = constant(g, rng, &format!("w{name}"), &[WIDTH, WIDTH], 8, 128);
        let y = node(g, name, Op::MatMul, &[x, w]);
        let y = node(g, &format!("{name}8"), Op::Rescale { shift: 8 }, &[y]);
        let shape = vec![TOKENS, HEADS, HEAD];
        let y = node(g, &format!("{name}.heads"), Op::Reshape { shape }, &[y]);
        (
            node(g, &format!("{name}.t"), Op::Transpose { perm }, &[y]),
            w,
        )
    };
    let (q, wq) = project(&mut g, "q", vec![1, 0, 2]); // [H, T, d]
    let (kt, wk) = project(&mut g, "k", vec![1, 2, 0]); // [H, d, T]
    let (v, wv) = project(&mut g, "v", vec![1, 0, 2]); // [H, T, d]
    let scores = node(&mut g, "qk", Op::BatchMatMul, &[q, kt]); // scale 16
    // 1/√d = 1/2 as the integer 1 at scale 1, then back to scale 8.
    let half = g.scalar("inv_sqrt_d", 1, 1);
    let scaled = node(&mut g, "scaled", Op::Mul, &[scores, half]);
    let scaled = node(&mut g, "scaled8", Op::Rescale { shift: 9 }, &[scaled]);
    let mask: Vec<i64> = (0..TOKENS * TOKENS)
        .map(|i| if i % TOKENS > i / TOKENS { MASK } else { 0 })
        .collect();
    let mask = g.constant("causal_mask", &[TOKENS, TOKENS], 8, mask);
    let masked = node(&mut g, "masked", Op::Add, &[scaled, mask]); // [H, T, T]
    let half_cols = |g: &mut GraphBuilder, name: &str, t: TensorId, start: usize, end: usize| {
        let op = Op::Slice {
            starts: vec![0, 0, start],
            ends: vec![HEADS, TOKENS, end],
            steps: vec![1, 1, 1],
        };
        node(g, name, op, &[t])
    };
    let (a, b) = (
        half_cols(&mut g, "max.l0", masked, 0, 2),
        half_cols(&mut g, "max.r0", masked, 2, 4),
    );
    let m = node(&mut g, "max0", Op::Max, &[a, b]);
    let (a, b) = (
        half_cols(&mut g, "max.l1", m, 0, 1),
        half_cols(&mut g, "max.r1", m, 1, 2),
    );
    let row_max = node(&mut g, "rowmax", Op::Max, &[a, b]); // [H, T, 1]
    let centred = node(&mut g, "centred", Op::Sub, &[masked, row_max]);
    let e = node(&mut g, "exp", lookup(LookupKind::Exp, 8, 12), &[centred]);
    let sum = node(
        &mut g,
        "rowsum",
        Op::ReduceSum {
            axes: vec![2],
            keepdims: true,
        },
        &[e],
    );
    let p = node(&mut g, "softmax", Op::Div { shift: 13 }, &[e, sum]); // scale 13
    let p = node(&mut g, "softmax12", Op::Rescale { shift: 1 }, &[p]);
    let out = node(&mut g, "pv", Op::BatchMatMul, &[p, v]); // [H, T, d], scale 20
    let out = node(
        &mut g,
        "merge.t",
        Op::Transpose {
            perm: vec![1, 0, 2],
        },
        &[out],
    );
    let out = node(
        &mut g,
        "merge",
        Op::Reshape {
            shape: vec![TOKENS, WIDTH],
        },
        &[out],
    );
    let y = node(&mut g, "attn", Op::Rescale { shift: 12 }, &[out]);
    (g.finish(&[y]).unwrap(), [table, wq, wk, wv])
}

/// The same block in `f64` from the quantised constants, with a true causal softmax.
fn attention_reference(graph: &Graph, consts: [TensorId; 4], ids: &[i64]) -> Vec<f64> {
    let real = |t: TensorId| -> Vec<f64> {
        let def = &graph.tensors[t];
        let unit = (1u64 << def.scale) as f64;
        def.const_data()
            .unwrap()
            .iter()
            .map(|&v| v as f64 / unit)
            .collect()
    };
    let [table, wq, wk, wv] = consts.map(real);
    let x: Vec<f64> = ids
        .iter()
        .flat_map(|&id| table[id as usize * WIDTH..(id as usize + 1) * WIDTH].to_vec())
        .collect();
    let project = |w: &[f64]| -> Vec<f64> {
        (0..TOKENS * WIDTH)
            .map(|i| {
                let (t, o) = (i / WIDTH, i % WIDTH);
                (0..WIDTH)
                    .map(|j| x[t * WIDTH + j] * w[o * WIDTH + j])
                    .sum()
            })
            .collect()
    };
    let (q, k, v) = (project(&wq), project(&wk), project(&wv));
    let mut out = vec![0.0; TOKENS * WIDTH];
    for h in 0..HEADS {
        for i in 0..TOKENS {
            let scores: Vec<f64> = (0..=i)
                .map(|j| {
                    let dot: f64 = (0..HEAD)
                        .map(|c| q[i * WIDTH + h * HEAD + c] * k[j * WIDTH + h * HEAD + c])
                        .sum();
                    dot / (HEAD as f64).sqrt()
                })
                .collect();
            let max = scores.iter().cloned().fold(f64::MIN, f64::max);
            let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let total: f64 = exps.iter().sum();
            for (j, e) in exps.iter().enumerate() {
                for c in 0..HEAD {
                    out[i * WIDTH + h * HEAD + c] += e / total * v[j * WIDTH + h * HEAD + c];
                }
            }
        }
    }
    out
}

#[test]
fn causal_attention_block() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let (graph, consts) = attention_block(&mut rng);
    let reference = graph.clone();
    let ids: Vec<i64> = vec![3, 15, 0, 3];
    let (circuit, outputs) = check("attention", graph, std::slice::from_ref(&ids));
    // The new ops survive the verifying key's encoding: a validator loads the same circuit.
    let loaded = Circuit::from_vk_bytes(circuit.vk_bytes()).expect("the key loads");
    assert_eq!(loaded.id(), circuit.id());
    let proof = circuit.prove(std::slice::from_ref(&ids), CTX).unwrap();
    assert_eq!(
        loaded
            .verify(std::slice::from_ref(&ids), &proof.proof, CTX)
            .unwrap(),
        outputs
    );
    // Q, Kᵀ, V (transposes of rescaled projections) and the rescaled probabilities are known
    // activations: no range check beyond a quotient's own.
    let graph = circuit.graph();
    for (t, def) in graph.tensors.iter().enumerate() {
        if def.name.ends_with(".t") {
            assert_eq!(range_checks_on(&circuit, t), 0, "{}", def.name);
        }
        if def.name == "softmax12" {
            assert_eq!(range_checks_on(&circuit, t), 1, "{}", def.name);
        }
    }
    let want = attention_reference(&reference, consts, &ids);
    let worst = outputs[0]
        .iter()
        .zip(&want)
        .map(|(&y, w)| (y as f64 / 256.0 - w).abs())
        .fold(0.0, f64::max);
    let largest = want.iter().fold(0.0f64, |m, w| m.max(w.abs()));
    eprintln!("attention: max abs error {worst:.2e} against f64 (|y| up to {largest:.2})");
    assert!(worst < 0.02, "{worst}");
    assert!(largest > 0.1, "the block computes something: {largest}");
    // The first token attends to itself only: its output is its own value row.
    let v_first: Vec<f64> = want[..WIDTH].to_vec();
    for (c, w) in v_first.iter().enumerate() {
        assert!((outputs[0][c] as f64 / 256.0 - w).abs() < 0.01, "{c}");
    }
}
