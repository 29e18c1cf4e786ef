//! The transformer lowerings (issue 13) end to end on hand-built graphs: integer token-id
//! inputs with `Gather(table, ids)` as an IR `Embedding`; `MatMul` of two computed tensors
//! (attention's `Q K^T` and `P V`) as `BatchMatMul`, with the head reshapes and transposes;
//! causal masks written with `finfo(float32).min` (Where, on a constant or `Trilu` mask) or
//! `-1e9` (additive) fused into the
//! softmax; layer norm and erf GELU around them. Each graph is quantised, compared with the
//! float reference, compiled, proven and verified; then flipped proof bytes, a nudged input
//! (another token id), a claimed output moved by one and another context are all refused.
//! Batch products broadcast their batch dimensions. Refusals: ids that are computed, ids out of
//! the table.

use omron_circuit::Circuit;
use omron_model::proto::{TensorProto, data_type as dt};
use omron_model::{QuantOptions, load_onnx, quantise};

use crate::builder::{Builder, float, int, ints, string, value_info};

const T: usize = 6;
const D: usize = 8;
const HEADS: usize = 2;

/// A boolean initialiser (the causal mask: `true` on and below the diagonal).
fn causal(name: &str) -> TensorProto {
    let raw = (0..T * T).map(|i| u8::from(i % T <= i / T)).collect();
    TensorProto {
        name: name.into(),
        dims: vec![T as i64, T as i64],
        data_type: Some(dt::BOOL),
        raw_data: Some(raw),
        ..Default::default()
    }
}

/// Token ids `[1, T]` through an embedding table `[20, D]` and a linear layer.
fn embedding() -> Builder {
    let mut b = Builder::new(17)
        .weight("wte", &[20, D as i64], 3)
        .weight("w", &[D as i64, 4], 5)
        .node("Gather", &["wte", "ids"], &["e"], vec![int("axis", 0)])
        .node("MatMul", &["e", "w"], &["y"], vec![])
        .output("y");
    b.graph
        .input
        .push(value_info("ids", dt::INT64, &[1, T as i64]));
    b
}

/// One attention block on `x: [1, T, D]`: layer norm, Q/K/V, heads, `Q K^T / 2`, a causal
/// mask (`Mask::Additive`: `+ mask` with -1e9; otherwise `Where` with `finfo(float32).min`
/// on a boolean initialiser, or on `Trilu` of a ones matrix), softmax, `P V`, heads merged,
/// and an erf GELU.
fn attention(mask: Mask) -> Builder {
    let (t, d, h) = (T as i64, D as i64, HEADS as i64);
    let mut b = Builder::new(17)
        .input("x", &[1, t, d])
        .init("gamma", &[d], &[1.0; D])
        .init("beta", &[d], &[0.0; D])
        .weight("wq", &[d, d], 1)
        .weight("wk", &[d, d], 2)
        .weight("wv", &[d, d], 4)
        .init_i64("heads", &[4], &[1, t, h, d / h])
        .init_i64("merged", &[3], &[1, t, d])
        .init("two", &[], &[2.0])
        .init("sqrt2", &[], &[std::f32::consts::SQRT_2])
        .init("one", &[], &[1.0])
        .init("half", &[], &[0.5])
        .node(
            "LayerNormalization",
            &["x", "gamma", "beta"],
            &["n"],
            vec![int("axis", -1), float("epsilon", 1e-5)],
        )
        .node("MatMul", &["n", "wq"], &["q0"], vec![])
        .node("MatMul", &["n", "wk"], &["k0"], vec![])
        .node("MatMul", &["n", "wv"], &["v0"], vec![])
        .node("Reshape", &["q0", "heads"], &["q1"], vec![])
        .node("Reshape", &["k0", "heads"], &["k1"], vec![])
        .node("Reshape", &["v0", "heads"], &["v1"], vec![])
        .node(
            "Transpose",
            &["q1"],
            &["q"],
            vec![ints("perm", &[0, 2, 1, 3])],
        )
        .node(
            "Transpose",
            &["k1"],
            &["kt"],
            vec![ints("perm", &[0, 2, 3, 1])],
        )
        .node(
            "Transpose",
            &["v1"],
            &["v"],
            vec![ints("perm", &[0, 2, 1, 3])],
        )
        .node("MatMul", &["q", "kt"], &["s0"], vec![])
        .node("Div", &["s0", "two"], &["s"], vec![]);
    b = if mask == Mask::Additive {
        let mask: Vec<f32> = (0..T * T)
            .map(|i| if i % T <= i / T { 0.0 } else { -1e9 })
            .collect();
        b.init("mask", &[t, t], &mask)
            .node("Add", &["s", "mask"], &["sm"], vec![])
    } else if mask == Mask::Trilu {
        let mut ones = causal("ones");
        ones.raw_data = Some(vec![1; T * T]);
        let mut b = b.init("fill", &[], &[f32::MIN]);
        b.graph.initializer.push(ones);
        b.node("Trilu", &["ones"], &["causal"], vec![int("upper", 0)])
            .node("Where", &["causal", "s", "fill"], &["sm"], vec![])
    } else {
        let mut b = b.init("fill", &[], &[f32::MIN]);
        b.graph.initializer.push(causal("causal"));
        b.node("Where", &["causal", "s", "fill"], &["sm"], vec![])
    };
    b.node("Softmax", &["sm"], &["p"], vec![int("axis", -1)])
        .node("MatMul", &["p", "v"], &["o0"], vec![])
        .node(
            "Transpose",
            &["o0"],
            &["o1"],
            vec![ints("perm", &[0, 2, 1, 3])],
        )
        .node("Reshape", &["o1", "merged"], &["o"], vec![])
        .node("Div", &["o", "sqrt2"], &["g0"], vec![])
        .node("Erf", &["g0"], &["g1"], vec![])
        .node("Add", &["g1", "one"], &["g2"], vec![])
        .node("Mul", &["o", "g2"], &["g3"], vec![])
        .node("Mul", &["g3", "half"], &["y"], vec![])
        .output("y")
}

/// How an attention block's causal mask is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mask {
    Where,
    Additive,
    Trilu,
}

fn ids() -> Vec<f32> {
    vec![3.0, 0.0, 19.0, 7.0, 7.0, 12.0]
}

fn activations() -> Vec<f32> {
    (0..T * D)
        .map(|i| ((i * 37 % 29) as f32 / 29.0 - 0.5) * 3.0)
        .collect()
}

/// Quantises, proves and verifies `b` on `x`, checks the result against the float model
/// within `tol`, and that every tampered proof is refused. Returns the number of refusals.
fn prove_and_tamper(name: &str, b: &Builder, x: Vec<f32>, tol: f64) -> usize {
    let model = load_onnx(&b.bytes()).unwrap();
    assert!(
        model.coverage().is_supported(),
        "{name}: {}",
        model.coverage()
    );
    let x = vec![x];
    let q = quantise(&model, Some(&x), &QuantOptions::default()).unwrap();
    let float = model.run_float(&x).unwrap();
    let fixed = q.run(&x).unwrap();
    let err = float[0]
        .iter()
        .zip(&fixed[0])
        .fold(0f64, |m, (&f, &q)| m.max((f64::from(f) - q).abs()));
    assert!(err <= tol, "{name}: max error {err} > {tol}");
    let inputs = q.quantise_inputs(&x).unwrap();
    let circuit = Circuit::compile(name, q.graph.clone()).unwrap();
    let ctx = b"transformer nonce|hotkey";
    let proof = circuit.prove(&inputs, ctx).unwrap();
    let outputs = circuit.verify(&inputs, &proof.proof, ctx).unwrap();
    assert_eq!(outputs, proof.outputs, "{name}");
    assert_eq!(q.dequantise_outputs(&outputs), fixed, "{name}");

    let mut refused = 0;
    let n = proof.proof.len();
    for k in 0..32 {
        let mut bad = proof.proof.clone();
        let at = (k * n / 32 + k * 131) % n;
        bad[at] ^= 1 << (k % 8);
        assert!(
            circuit.verify(&inputs, &bad, ctx).is_err(),
            "{name}: byte {at} of {n} flipped and still verified"
        );
        refused += 1;
    }
    assert!(circuit.verify(&inputs, &proof.proof[..n - 1], ctx).is_err());
    for i in [0, inputs[0].len() - 1] {
        let mut other = inputs.clone();
        other[0][i] += 1;
        assert!(
            circuit.verify(&other, &proof.proof, ctx).is_err(),
            "{name}: input {i} moved by one and still verified"
        );
    }
    // A claimed output one unit off is not what the proof proves.
    let mut claimed = outputs.clone();
    claimed[0][0] += 1;
    assert_ne!(circuit.verify(&inputs, &proof.proof, ctx).unwrap(), claimed);
    assert!(
        circuit
            .verify(&inputs, &proof.proof, b"transformer nonce|hotkez")
            .is_err()
    );
    refused + 5
}

#[test]
fn token_ids_index_an_embedding_table_proven_and_tamper_checked() {
    let refused = prove_and_tamper("embedding", &embedding(), ids(), 2e-3);
    assert!(refused >= 37);
    // The ids are a public input at scale 0, carried as integers.
    let model = load_onnx(&embedding().bytes()).unwrap();
    let q = quantise(&model, Some(&[ids()]), &QuantOptions::default()).unwrap();
    assert_eq!(q.input_scales, vec![0]);
    assert_eq!(
        q.quantise_inputs(&[ids()]).unwrap()[0],
        vec![3, 0, 19, 7, 7, 12]
    );
    // A fractional id, and an id beyond the table, are refused.
    let mut half = ids();
    half[1] = 0.5;
    assert!(model.run_float(&[half]).is_err());
    let mut beyond = ids();
    beyond[2] = 20.0;
    assert!(q.run(&[beyond]).is_err());
}

#[test]
fn attention_with_a_where_mask_proven_and_tamper_checked() {
    prove_and_tamper(
        "attention/where",
        &attention(Mask::Where),
        activations(),
        2e-2,
    );
    // The same mask built by Trilu (folded at load time) gives the same circuit outputs.
    let (a, b) = (attention(Mask::Where), attention(Mask::Trilu));
    let x = vec![activations()];
    let opts = QuantOptions::default();
    let qa = quantise(&load_onnx(&a.bytes()).unwrap(), Some(&x), &opts).unwrap();
    let qb = quantise(&load_onnx(&b.bytes()).unwrap(), Some(&x), &opts).unwrap();
    assert_eq!(qa.run(&x).unwrap(), qb.run(&x).unwrap());
}

#[test]
fn attention_with_an_additive_mask_proven_and_tamper_checked() {
    prove_and_tamper(
        "attention/additive",
        &attention(Mask::Additive),
        activations(),
        2e-2,
    );
}

#[test]
fn computed_ids_and_unfused_mask_fills_are_refused() {
    // Ids computed from a float input: no longer public token ids.
    let mut b = Builder::new(17)
        .input("x", &[1, T as i64])
        .weight("wte", &[20, D as i64], 3)
        .node(
            "Cast",
            &["x"],
            &["ids"],
            vec![int("to", i64::from(dt::INT64))],
        )
        .node("Gather", &["wte", "ids"], &["y"], vec![int("axis", 0)])
        .output("y");
    let model = load_onnx(&b.bytes()).unwrap();
    let e = quantise(&model, Some(&[ids()]), &QuantOptions::default()).unwrap_err();
    assert!(e.to_string().contains("Gather"), "{e}");
    // Gather along axis 1 by computed ids is not an embedding.
    b.graph.node[1].attribute = vec![int("axis", 1)];
    b.graph.input[0] = value_info("x", dt::INT64, &[1, T as i64]);
    b.graph.node.remove(0);
    b.graph.node[0].input[1] = "x".into();
    let cov = load_onnx(&b.bytes()).unwrap().coverage().clone();
    assert!(
        cov.unsupported
            .iter()
            .any(|u| u.reason.contains("axis other than 0")),
        "{cov}"
    );
    // A mask fill used by anything other than a softmax is not fused: calibration refuses it.
    let mut b = Builder::new(17)
        .input("x", &[T as i64, T as i64])
        .init("fill", &[], &[f32::MIN])
        .node("Where", &["causal", "x", "fill"], &["y"], vec![])
        .output("y");
    b.graph.initializer.push(causal("causal"));
    let model = load_onnx(&b.bytes()).unwrap();
    let x = activations()[..T * T].to_vec();
    assert!(quantise(&model, Some(&[x]), &QuantOptions::default()).is_err());
}

#[test]
fn trilu_of_a_computed_tensor_proven_and_tamper_checked() {
    let t = T as i64;
    let b = Builder::new(17)
        .input("x", &[1, t, t])
        .init_i64("k", &[], &[1])
        .node("Trilu", &["x", "k"], &["y"], vec![int("upper", 1)])
        .output("y");
    let x = activations()[..T * T].to_vec();
    // Upper with k = 1 keeps j > i: entry 0 is dropped, yet moving it still changes the
    // public input the proof is bound to, and is refused.
    prove_and_tamper("trilu", &b, x, 1e-3);
}

/// `Gemm` of two computed tensors (attention written with `Gemm`): `Q K^T` through `transB`
/// with a constant `C` scaled by `beta`, `P V` without transposes, and `Q^T K` through
/// `transA`, each a `BatchMatMul`.
fn gemm_products() -> Builder {
    let (t, d) = (T as i64, D as i64);
    let bias: Vec<f32> = (0..T * T).map(|i| (i % 5) as f32 * 0.25 - 0.5).collect();
    Builder::new(17)
        .input("x", &[t, d])
        .weight("wq", &[d, d], 1)
        .weight("wk", &[d, d], 2)
        .weight("wv", &[d, d], 4)
        .init("bias", &[t, t], &bias)
        .node("MatMul", &["x", "wq"], &["q"], vec![])
        .node("MatMul", &["x", "wk"], &["k"], vec![])
        .node("MatMul", &["x", "wv"], &["v"], vec![])
        .node(
            "Gemm",
            &["q", "k", "bias"],
            &["s"],
            vec![int("transB", 1), float("beta", 0.5)],
        )
        .node("Softmax", &["s"], &["p"], vec![int("axis", -1)])
        .node("Gemm", &["p", "v"], &["z"], vec![])
        .node("Gemm", &["q", "k"], &["u"], vec![int("transA", 1)])
        .output("z")
        .output("u")
}

/// `b` quantised on the test activations, and the indices of its `BatchMatMul` nodes.
fn batch_products(b: &Builder) -> (omron_model::QuantisedModel, Vec<usize>) {
    let model = load_onnx(&b.bytes()).unwrap();
    let q = quantise(&model, Some(&[activations()]), &QuantOptions::default()).unwrap();
    let products = (0..q.graph.nodes.len())
        .filter(|&i| q.graph.nodes[i].op == omron_ir::Op::BatchMatMul)
        .collect();
    (q, products)
}

#[test]
fn gemm_of_two_computed_tensors_proven_and_tamper_checked() {
    let refused = prove_and_tamper("gemm/products", &gemm_products(), activations(), 3e-2);
    assert!(refused >= 37);
    assert_eq!(batch_products(&gemm_products()).1.len(), 3);
    // alpha != 1 on two computed tensors, and a constant A with a computed B, are refused
    // with the reason.
    let mut scaled = gemm_products();
    scaled.graph.node[5].attribute.push(float("alpha", 2.0));
    let cov = load_onnx(&scaled.bytes()).unwrap().coverage().clone();
    assert!(
        cov.unsupported
            .iter()
            .any(|u| u.reason.contains("alpha = 2")),
        "{cov}"
    );
    let mut const_a = gemm_products();
    const_a.graph.node[5].input[0] = "bias".into();
    let cov = load_onnx(&const_a.bytes()).unwrap().coverage().clone();
    assert!(
        cov.unsupported
            .iter()
            .any(|u| u.reason.contains("constant A and a computed B")),
        "{cov}"
    );
}

/// Attention written with `Einsum` on the heads layout `[b, t, h, d]`: scores
/// `bqhd,bkhd->bhqk` and values `bhqk,bkhd->bqhd`, each a `BatchMatMul` between transposes.
fn einsum_attention() -> Builder {
    let (t, d, h) = (T as i64, D as i64, HEADS as i64);
    Builder::new(17)
        .input("x", &[1, t, d])
        .weight("wq", &[d, d], 1)
        .weight("wk", &[d, d], 2)
        .weight("wv", &[d, d], 4)
        .init_i64("heads", &[4], &[1, t, h, d / h])
        .init_i64("merged", &[3], &[1, t, d])
        .node("MatMul", &["x", "wq"], &["q0"], vec![])
        .node("MatMul", &["x", "wk"], &["k0"], vec![])
        .node("MatMul", &["x", "wv"], &["v0"], vec![])
        .node("Reshape", &["q0", "heads"], &["q"], vec![])
        .node("Reshape", &["k0", "heads"], &["k"], vec![])
        .node("Reshape", &["v0", "heads"], &["v"], vec![])
        .node(
            "Einsum",
            &["q", "k"],
            &["s"],
            vec![string("equation", "bqhd,bkhd->bhqk")],
        )
        .node("Softmax", &["s"], &["p"], vec![int("axis", -1)])
        .node(
            "Einsum",
            &["p", "v"],
            &["o"],
            vec![string("equation", "bhqk, bkhd -> bqhd")],
        )
        .node("Reshape", &["o", "merged"], &["y"], vec![])
        .output("y")
}

#[test]
fn einsum_attention_proven_and_tamper_checked() {
    let refused = prove_and_tamper("einsum/attention", &einsum_attention(), activations(), 3e-2);
    assert!(refused >= 37);
    assert_eq!(batch_products(&einsum_attention()).1.len(), 2);
    // A constant operand, and an equation with an ellipsis, are refused with the reason.
    let with_const = Builder::new(17)
        .input("x", &[1, T as i64, D as i64])
        .weight("wc", &[D as i64, 3], 7)
        .node(
            "Einsum",
            &["x", "wc"],
            &["y"],
            vec![string("equation", "btd,de->bte")],
        )
        .output("y");
    let e = quantise(
        &load_onnx(&with_const.bytes()).unwrap(),
        Some(&[activations()]),
        &QuantOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("constant operand"), "{e}");
    let mut ellipsis = einsum_attention();
    ellipsis.graph.node[6].attribute = vec![string("equation", "...qhd,...khd->...hqk")];
    let cov = load_onnx(&ellipsis.bytes()).unwrap().coverage().clone();
    assert!(
        cov.unsupported
            .iter()
            .any(|u| u.reason.contains("ellipses")),
        "{cov}"
    );
}

/// A batched product whose right operand has no batch dimension: `[2, 3, D] x [D, T]`, the
/// right operand repeated along the batch (numpy broadcasting) before the `BatchMatMul`.
#[test]
fn broadcast_batch_products_proven_and_tamper_checked() {
    let (t, d) = (T as i64, D as i64);
    let b = Builder::new(17)
        .input("x", &[1, t, d])
        .weight("wq", &[d, d], 1)
        .weight("wk", &[d, d], 2)
        .init_i64("split", &[3], &[2, t / 2, d])
        .init_i64("flat", &[2], &[t, d])
        .node("MatMul", &["x", "wq"], &["q0"], vec![])
        .node("MatMul", &["x", "wk"], &["k0"], vec![])
        .node("Reshape", &["q0", "split"], &["q"], vec![])
        .node("Reshape", &["k0", "flat"], &["k1"], vec![])
        .node("Transpose", &["k1"], &["kt"], vec![ints("perm", &[1, 0])])
        .node("MatMul", &["q", "kt"], &["y"], vec![])
        .output("y");
    let refused = prove_and_tamper("broadcast", &b, activations(), 3e-2);
    assert!(refused >= 37);
    let (q, products) = batch_products(&b);
    let shapes: Vec<&[usize]> = q.graph.nodes[products[0]]
        .inputs
        .iter()
        .map(|&i| q.graph.tensors[i].shape.as_slice())
        .collect();
    assert_eq!(shapes, [&[2, 3, 8][..], &[2, 8, 6][..]]);
}
