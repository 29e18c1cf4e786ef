//! Hand-built models exercising each supported op. Float outputs are checked against values
//! computed by onnxruntime 1.32 on the same models (`GOLDEN`), and the quantised model is
//! checked against the float model.

use omron_model::{QuantOptions, load_onnx, quantise};

use crate::builder::{Builder, float, float_tensor, int, int_tensor, ints, string, tensor_attr};

/// Deterministic inputs in [-1, 1].
pub(crate) fn sample(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 5 + seed * 3) % 19) as f32 / 9.0 - 1.0)
        .collect()
}

/// Each case: name, model, input shapes.
#[allow(clippy::vec_init_then_push)] // one commented push per case reads better than a literal
pub(crate) fn cases() -> Vec<(&'static str, Builder, Vec<Vec<usize>>)> {
    let mut v = Vec::new();
    // Gemm with transA, transB, alpha, beta and a per-column C (folded into the bias).
    v.push((
        "gemm_transposed",
        Builder::new(13)
            .input("x", &[4, 3])
            .weight("B", &[5, 4], 1)
            .weight("C", &[5], 2)
            .node(
                "Gemm",
                &["x", "B", "C"],
                &["y"],
                vec![
                    int("transA", 1),
                    int("transB", 1),
                    float("alpha", 0.5),
                    float("beta", 2.0),
                ],
            )
            .output("y"),
        vec![vec![4, 3]],
    ));
    // Gemm with a full [M, N] C: added after the product.
    v.push((
        "gemm_c_matrix",
        Builder::new(13)
            .input("x", &[3, 4])
            .weight("B", &[4, 5], 3)
            .weight("C", &[3, 5], 4)
            .node("Gemm", &["x", "B", "C"], &["g"], vec![])
            .node("Relu", &["g"], &["y"], vec![])
            .output("y"),
        vec![vec![3, 4]],
    ));
    // MatMul + Add bias + BatchNormalization (all folded into one layer) + Sigmoid; symbolic batch.
    v.push((
        "matmul_bias_batchnorm",
        Builder::new(13)
            .input("x", &[-1, 6])
            .weight("W", &[6, 4], 5)
            .weight("b", &[4], 6)
            .weight("gamma", &[4], 7)
            .weight("beta", &[4], 8)
            .weight("mean", &[4], 9)
            .init("var", &[4], &[0.5, 1.0, 2.0, 0.25])
            .node("MatMul", &["x", "W"], &["m"], vec![])
            .node("Add", &["m", "b"], &["a"], vec![])
            .node(
                "BatchNormalization",
                &["a", "gamma", "beta", "mean", "var"],
                &["bn"],
                vec![float("epsilon", 1e-3)],
            )
            .node("Sigmoid", &["bn"], &["y"], vec![])
            .output("y"),
        vec![vec![1, 6]],
    ));
    // Constant left operand: A x.
    v.push((
        "matmul_const_left",
        Builder::new(13)
            .input("x", &[4, 2])
            .weight("A", &[3, 4], 10)
            .node("MatMul", &["A", "x"], &["m"], vec![])
            .node("Tanh", &["m"], &["y"], vec![])
            .output("y"),
        vec![vec![4, 2]],
    ));
    // Rank-3 activations times a matrix, bias along the last axis.
    v.push((
        "matmul_rank3",
        Builder::new(13)
            .input("x", &[2, 3, 4])
            .weight("W", &[4, 5], 11)
            .weight("b", &[5], 12)
            .node("MatMul", &["x", "W"], &["m"], vec![])
            .node("Add", &["b", "m"], &["a"], vec![])
            .node("Relu", &["a"], &["y"], vec![])
            .output("y"),
        vec![vec![2, 3, 4]],
    ));
    // Conv stride 2 with padding, batch norm, relu, flatten, gemm.
    v.push((
        "conv_stride2_pad",
        Builder::new(13)
            .input("x", &[1, 2, 7, 7])
            .weight("W", &[4, 2, 3, 3], 13)
            .weight("B", &[4], 14)
            .weight("gamma", &[4], 15)
            .weight("beta", &[4], 16)
            .weight("mean", &[4], 17)
            .init("var", &[4], &[1.5, 0.5, 1.0, 2.0])
            .weight("F", &[3, 64], 18)
            .node(
                "Conv",
                &["x", "W", "B"],
                &["c"],
                vec![
                    ints("kernel_shape", &[3, 3]),
                    ints("strides", &[2, 2]),
                    ints("pads", &[1, 1, 1, 1]),
                ],
            )
            .node(
                "BatchNormalization",
                &["c", "gamma", "beta", "mean", "var"],
                &["bn"],
                vec![],
            )
            .node("Relu", &["bn"], &["r"], vec![])
            .node("Flatten", &["r"], &["f"], vec![int("axis", 1)])
            .node("Gemm", &["f", "F"], &["y"], vec![int("transB", 1)])
            .output("y"),
        vec![vec![1, 2, 7, 7]],
    ));
    // Grouped, dilated conv with asymmetric pads; SAME_LOWER with strides [2, 1]; VALID.
    v.push((
        "conv_groups_dilation_autopad",
        Builder::new(11)
            .input("x", &[1, 4, 6, 6])
            .weight("W", &[4, 2, 3, 3], 19)
            .weight("W2", &[2, 4, 2, 2], 20)
            .weight("W3", &[2, 2, 2, 3], 32)
            .node(
                "Conv",
                &["x", "W"],
                &["c"],
                vec![
                    int("group", 2),
                    ints("dilations", &[2, 2]),
                    ints("pads", &[2, 1, 2, 1]),
                ],
            )
            .node("Sigmoid", &["c"], &["s"], vec![])
            .node(
                "Conv",
                &["s", "W2"],
                &["c2"],
                vec![string("auto_pad", "SAME_LOWER"), ints("strides", &[2, 1])],
            )
            .node(
                "Conv",
                &["c2", "W3"],
                &["y"],
                vec![string("auto_pad", "VALID")],
            )
            .output("y"),
        vec![vec![1, 4, 6, 6]],
    ));
    // Layout ops: Transpose, Reshape with -1, Unsqueeze/Squeeze with axes inputs, Flatten axis 0.
    v.push((
        "layout_chain",
        Builder::new(13)
            .input("x", &[1, 2, 3, 4])
            .init_i64("shape", &[2], &[-1, 8])
            .init_i64("axes", &[1], &[0])
            .weight("W", &[24, 3], 21)
            .node(
                "Transpose",
                &["x"],
                &["t"],
                vec![ints("perm", &[0, 2, 3, 1])],
            )
            .node("Reshape", &["t", "shape"], &["r"], vec![])
            .node("Unsqueeze", &["r", "axes"], &["u"], vec![])
            .node("Squeeze", &["u", "axes"], &["s"], vec![])
            .node("Flatten", &["s"], &["f"], vec![int("axis", 0)])
            .node("MatMul", &["f", "W"], &["y"], vec![])
            .output("y"),
        vec![vec![1, 2, 3, 4]],
    ));
    // Opset 11 forms: axes attributes, Identity, Dropout, Constant nodes, Mul/Add by them.
    v.push((
        "opset11_misc",
        Builder::new(11)
            .input("x", &[1, 6])
            .node("Unsqueeze", &["x"], &["u"], vec![ints("axes", &[1])])
            .node("Squeeze", &["u"], &["s"], vec![ints("axes", &[1])])
            .node("Identity", &["s"], &["i"], vec![])
            .node("Dropout", &["i"], &["d", "mask"], vec![float("ratio", 0.5)])
            .node(
                "Constant",
                &[],
                &["half"],
                vec![tensor_attr("value", float_tensor("", &[], &[0.75]))],
            )
            .node(
                "Constant",
                &[],
                &["shift"],
                vec![tensor_attr(
                    "value",
                    float_tensor("", &[6], &[0.1, -0.2, 0.3, -0.4, 0.5, -0.6]),
                )],
            )
            .node("Mul", &["d", "half"], &["m"], vec![])
            .node("Add", &["m", "shift"], &["a"], vec![])
            .node("Tanh", &["a"], &["y"], vec![])
            .output("y"),
        vec![vec![1, 6]],
    ));
    // Opset 9 PyTorch style: initialisers listed as inputs, zero Pad, and the
    // Shape -> Gather -> Unsqueeze -> Concat -> Reshape flatten pattern.
    let mut b = Builder::new(9)
        .input("x", &[1, 2, 4, 4])
        .weight("W", &[3, 2, 1, 1], 22)
        .weight("Wb", &[3], 23)
        .weight("F", &[2, 48], 24)
        .weight("Fb", &[2], 25)
        .node(
            "Conv",
            &["x", "W", "Wb"],
            &["c"],
            vec![ints("kernel_shape", &[1, 1]), ints("pads", &[0, 0, 0, 0])],
        )
        .node(
            "Pad",
            &["c"],
            &["p"],
            vec![
                string("mode", "constant"),
                ints("pads", &[0; 8]),
                float("value", 0.0),
            ],
        )
        .node(
            "Constant",
            &[],
            &["zero"],
            vec![tensor_attr("value", int_tensor("", &[], &[0]))],
        )
        .node("Shape", &["p"], &["shape"], vec![])
        .node("Gather", &["shape", "zero"], &["n"], vec![int("axis", 0)])
        .node(
            "Constant",
            &[],
            &["minus1"],
            vec![tensor_attr("value", int_tensor("", &[], &[-1]))],
        )
        .node("Unsqueeze", &["n"], &["n1"], vec![ints("axes", &[0])])
        .node("Unsqueeze", &["minus1"], &["m1"], vec![ints("axes", &[0])])
        .node("Concat", &["n1", "m1"], &["target"], vec![int("axis", 0)])
        .node("Reshape", &["p", "target"], &["flat"], vec![])
        .node(
            "Gemm",
            &["flat", "F", "Fb"],
            &["y"],
            vec![float("alpha", 1.0), float("beta", 1.0), int("transB", 1)],
        )
        .output("y");
    for name in ["W", "Wb", "F", "Fb"] {
        let shape = b
            .graph
            .initializer
            .iter()
            .find(|t| t.name == name)
            .unwrap()
            .dims
            .clone();
        b.graph
            .input
            .push(crate::builder::value_info(name, 1, &shape));
    }
    v.push(("opset9_flatten_pattern", b, vec![vec![1, 2, 4, 4]]));
    // Residual add of two computed values, Sub/Mul/Div by constants, activation x activation.
    v.push((
        "residual_arithmetic",
        Builder::new(13)
            .input("x", &[1, 8])
            .weight("A", &[8, 8], 26)
            .weight("Ab", &[8], 27)
            .weight("B", &[8, 8], 28)
            .weight("c", &[8], 29)
            .init("four", &[], &[4.0])
            .node("Gemm", &["x", "A", "Ab"], &["ha"], vec![])
            .node("Relu", &["ha"], &["h"], vec![])
            .node("Gemm", &["x", "B"], &["g"], vec![int("transB", 1)])
            .node("Add", &["h", "g"], &["s"], vec![])
            .node("Sub", &["s", "c"], &["s2"], vec![])
            .node("Mul", &["s2", "h"], &["p"], vec![])
            .node("Div", &["p", "four"], &["q"], vec![])
            .node("Sub", &["q", "x"], &["r"], vec![])
            .node("Tanh", &["r"], &["y"], vec![])
            .output("y"),
        vec![vec![1, 8]],
    ));
    // Average pools: padded with count_include_pad=0 (non-uniform divisors), strided, ceil mode,
    // global.
    v.push((
        "average_pools",
        Builder::new(13)
            .input("x", &[1, 3, 8, 8])
            .node(
                "AveragePool",
                &["x"],
                &["p1"],
                vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])],
            )
            .node(
                "AveragePool",
                &["p1"],
                &["p2"],
                vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
            )
            .node(
                "AveragePool",
                &["p2"],
                &["p3"],
                vec![
                    ints("kernel_shape", &[3, 3]),
                    ints("strides", &[2, 2]),
                    int("ceil_mode", 1),
                ],
            )
            .node("GlobalAveragePool", &["p3"], &["g"], vec![])
            .node("Flatten", &["g"], &["f"], vec![])
            .node("MatMul", &["f", "W2"], &["y"], vec![])
            .weight("W2", &[3, 2], 31)
            .output("y"),
        vec![vec![1, 3, 8, 8]],
    ));
    v
}

/// Outputs of onnxruntime 1.32 (CPU) on `cases()` with `sample` inputs (input `i` uses seed `i`).
const GOLDEN: &[(&str, &[f64])] = &[
    (
        "average_pools",
        &[-0.00973079726099968, 0.007760923821479082],
    ),
    (
        "conv_groups_dilation_autopad",
        &[
            0.35107138752937317,
            -0.026070892810821533,
            0.749021053314209,
            -0.828211784362793,
            -0.22001564502716064,
            0.05977601557970047,
            -0.14387813210487366,
            0.29876768589019775,
        ],
    ),
    (
        "conv_stride2_pad",
        &[0.4161728024482727, -2.164759635925293, 0.2773291766643524],
    ),
    (
        "gemm_c_matrix",
        &[
            0.0,
            0.798611044883728,
            0.9444444179534912,
            0.0,
            0.0,
            0.12499997019767761,
            0.0,
            0.3263888955116272,
            0.027777761220932007,
            0.0,
            0.0,
            0.611111044883728,
            1.1458332538604736,
            0.0,
            0.0,
        ],
    ),
    (
        "gemm_transposed",
        &[
            -0.9236111044883728,
            -0.5798611044883728,
            0.9618055820465088,
            -0.9305555820465088,
            -0.2673611044883728,
            -1.4479167461395264,
            0.031250014901161194,
            1.1909722089767456,
            -1.0833333730697632,
            -0.8020833730697632,
            -0.9166666269302368,
            0.1805555522441864,
            0.9583333134651184,
            -1.6979166269302368,
            -0.28125,
        ],
    ),
    (
        "layout_chain",
        &[-0.5555557012557983, 0.6805555820465088, 1.437499761581421],
    ),
    (
        "matmul_bias_batchnorm",
        &[
            0.44169482588768005,
            0.4640100598335266,
            0.3537764549255371,
            0.2978021502494812,
        ],
    ),
    (
        "matmul_const_left",
        &[
            0.13118407130241394,
            0.4994785487651825,
            -0.47296974062919617,
            -0.1987096518278122,
            0.117510125041008,
            -0.4399930536746979,
        ],
    ),
    (
        "matmul_rank3",
        &[
            0.9027777910232544,
            0.0,
            0.0,
            0.8611111044883728,
            0.0,
            0.9166666865348816,
            0.0,
            0.0,
            0.819444477558136,
            0.0,
            0.9305555820465088,
            0.0,
            0.0,
            0.7777777910232544,
            0.0,
            0.9444444179534912,
            0.0,
            0.0,
            0.7361111044883728,
            0.0,
            0.034722208976745605,
            0.034722208976745605,
            0.0347222238779068,
            0.034722208976745605,
            0.034722208976745605,
            0.04861113429069519,
            0.0,
            0.11805552244186401,
            0.0,
            0.027777791023254395,
        ],
    ),
    (
        "opset11_misc",
        &[
            -0.5716699361801147,
            -0.4879249632358551,
            0.36559876799583435,
            0.09966795146465302,
            -0.16514042019844055,
            -0.6910695433616638,
        ],
    ),
    ("opset9_flatten_pattern", &[-0.10850685834884644, 0.6875]),
    (
        "residual_arithmetic",
        &[
            0.7615941762924194,
            0.40545305609703064,
            0.48608747124671936,
            -0.5625787973403931,
            0.7108445167541504,
            0.32151269912719727,
            -0.21863506734371185,
            -0.6514293551445007,
        ],
    ),
];

fn inputs_for(shapes: &[Vec<usize>]) -> Vec<Vec<f32>> {
    shapes
        .iter()
        .enumerate()
        .map(|(i, s)| sample(s.iter().product(), i))
        .collect()
}

#[test]
fn float_reference_matches_onnxruntime() {
    let cases = cases();
    assert_eq!(cases.len(), GOLDEN.len());
    for (name, b, shapes) in cases {
        let model = load_onnx(&b.bytes()).unwrap();
        let y = model.run_float(&inputs_for(&shapes)).unwrap();
        let want = GOLDEN.iter().find(|g| g.0 == name).unwrap().1;
        assert_eq!(y[0].len(), want.len(), "{name}");
        for (i, (a, b)) in y[0].iter().zip(want).enumerate() {
            assert!(
                (*a as f64 - b).abs() <= 1e-6,
                "{name}[{i}]: {a} vs onnxruntime {b}"
            );
        }
    }
}

#[test]
fn every_case_quantises_close_to_the_float_model() {
    for (name, b, shapes) in cases() {
        let model = load_onnx(&b.bytes()).unwrap();
        assert!(
            model.coverage().is_supported(),
            "{name}: {}",
            model.coverage()
        );
        let x = inputs_for(&shapes);
        let q = quantise(&model, Some(&x), &QuantOptions::default()).unwrap();
        q.graph.validate().unwrap();
        let acc = q.accuracy(&model, &x).unwrap();
        let scale = acc.per_output[0].max_abs_reference.max(1.0);
        println!(
            "{name}: max abs error {:.2e} (|y| <= {:.2}), {} IR nodes",
            acc.max_abs_error,
            scale,
            q.graph.nodes.len()
        );
        assert!(acc.max_abs_error <= 2e-3 * scale, "{name}: {acc:?}");
    }
}

fn ir_ops(name: &str) -> Vec<&'static str> {
    let (_, b, shapes) = cases().into_iter().find(|c| c.0 == name).unwrap();
    let model = load_onnx(&b.bytes()).unwrap();
    let q = quantise(&model, Some(&inputs_for(&shapes)), &QuantOptions::default()).unwrap();
    q.graph.nodes.iter().map(|n| n.op.name()).collect()
}

#[test]
fn bias_and_batch_norm_fold_into_the_linear_layer() {
    assert_eq!(
        ir_ops("matmul_bias_batchnorm"),
        ["MatMul", "Rescale", "Sigmoid"]
    );
    assert_eq!(
        ir_ops("conv_stride2_pad"),
        ["Conv", "Rescale", "Relu", "Reshape", "MatMul", "Rescale"]
    );
    // Per-column C and alpha/beta live in the weights and bias; transA is a transpose.
    assert_eq!(
        ir_ops("gemm_transposed"),
        ["Transpose", "MatMul", "Rescale"]
    );
}

#[test]
fn shape_arithmetic_is_folded_away() {
    let (_, b, _) = cases()
        .into_iter()
        .find(|c| c.0 == "opset9_flatten_pattern")
        .unwrap();
    let model = load_onnx(&b.bytes()).unwrap();
    let cov = model.coverage();
    for op in ["Shape", "Gather", "Concat", "Constant"] {
        let usage = cov.ops.iter().find(|o| o.op_type == op).unwrap();
        assert_eq!(usage.folded, usage.count, "{op} not folded: {cov}");
    }
    assert_eq!(
        ir_ops("opset9_flatten_pattern"),
        ["Conv", "Reshape", "Rescale", "MatMul", "Rescale"]
    );
}

#[test]
fn quantisation_is_deterministic() {
    for (name, b, shapes) in cases() {
        let x = inputs_for(&shapes);
        let q1 = quantise(
            &load_onnx(&b.bytes()).unwrap(),
            Some(&x),
            &QuantOptions::default(),
        )
        .unwrap();
        let q2 = quantise(
            &load_onnx(&b.bytes()).unwrap(),
            Some(&x),
            &QuantOptions::default(),
        )
        .unwrap();
        assert_eq!(q1, q2, "{name}");
    }
}

#[test]
fn unsorted_nodes_are_sorted() {
    let (_, mut b, shapes) = cases()
        .into_iter()
        .find(|c| c.0 == "residual_arithmetic")
        .unwrap();
    let sorted = load_onnx(&b.bytes())
        .unwrap()
        .run_float(&inputs_for(&shapes))
        .unwrap();
    b.graph.node.reverse();
    let reversed = load_onnx(&b.bytes())
        .unwrap()
        .run_float(&inputs_for(&shapes))
        .unwrap();
    assert_eq!(sorted, reversed);
}

#[test]
fn uncalibrated_quantisation_uses_the_default_scale() {
    let (_, b, shapes) = cases()
        .into_iter()
        .find(|c| c.0 == "conv_stride2_pad")
        .unwrap();
    let model = load_onnx(&b.bytes()).unwrap();
    let q = quantise(&model, None, &QuantOptions::default()).unwrap();
    assert!(!q.calibrated);
    assert_eq!(q.input_scales, vec![8]);
    assert_eq!(q.output_scales, vec![8]);
    let acc = q.accuracy(&model, &inputs_for(&shapes)).unwrap();
    assert!(acc.max_abs_error < 0.05, "{acc:?}");
}

#[test]
fn rescale_shifts_and_weights_stay_within_the_options() {
    for max_shift in [12, 16] {
        let opts = QuantOptions {
            max_shift,
            ..QuantOptions::default()
        };
        for (name, b, shapes) in cases() {
            let model = load_onnx(&b.bytes()).unwrap();
            let x = inputs_for(&shapes);
            let q = quantise(&model, Some(&x), &opts).unwrap();
            for node in &q.graph.nodes {
                if let omron_ir::Op::Rescale { shift } = node.op {
                    assert!(
                        shift <= max_shift,
                        "{name}: {} shifts by {shift}",
                        node.name
                    );
                }
            }
            for t in &q.graph.tensors {
                if t.name.ends_with("/weight") || t.name.ends_with("/factor") {
                    let max = t
                        .const_data()
                        .unwrap()
                        .iter()
                        .map(|v| v.abs())
                        .max()
                        .unwrap_or(0);
                    assert!(max < 1 << 15, "{name}: {} reaches {max}", t.name);
                }
            }
            let acc = q.accuracy(&model, &x).unwrap();
            assert!(
                acc.max_abs_error < 5e-3,
                "{name} (max_shift {max_shift}): {acc:?}"
            );
        }
    }
}
