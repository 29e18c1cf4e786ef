//! Hand-built models for the v2 ops (issue 6). Every output of every case is checked against
//! onnxruntime 1.32 values stored in `golden_v2.rs` (regenerate with
//! `cargo test -p omron-model --test it -- --ignored print_v2_goldens --nocapture`), and the
//! quantised model against the float model.

use omron_model::{QuantOptions, load_onnx, quantise};

use crate::builder::{Builder, float, float_tensor, int, ints, string, tensor_attr};
use crate::golden_v2::GOLDEN_V2;
use crate::ops::sample;

/// Each case: name, model, input shapes.
#[allow(clippy::vec_init_then_push)] // one commented push per case reads better than a literal
pub(crate) fn cases() -> Vec<(&'static str, Builder, Vec<Vec<usize>>)> {
    let mut v = Vec::new();
    // Lookup tables and exact unary ops on one [1, 9] input in [-1, 1].
    v.push((
        "unary_tables",
        Builder::new(13)
            .input("x", &[1, 9])
            .init("half", &[], &[0.5])
            .node("Exp", &["x"], &["exp"], vec![])
            .node("Erf", &["x"], &["erf"], vec![])
            .node("Abs", &["x"], &["abs"], vec![])
            .node("Neg", &["x"], &["neg"], vec![])
            .node("Softplus", &["x"], &["softplus"], vec![])
            .node("Elu", &["x"], &["elu"], vec![float("alpha", 0.5)])
            .node("LeakyRelu", &["x"], &["leaky"], vec![float("alpha", 0.1)])
            .node(
                "HardSigmoid",
                &["x"],
                &["hsig"],
                vec![float("alpha", 1.0 / 6.0)],
            )
            .node("Sign", &["x"], &["sign"], vec![])
            .node("Add", &["abs", "half"], &["pos"], vec![])
            .node("Sqrt", &["pos"], &["sqrt"], vec![])
            .node("Log", &["pos"], &["log"], vec![])
            .node("Reciprocal", &["pos"], &["recip"], vec![])
            .output("exp")
            .output("erf")
            .output("abs")
            .output("neg")
            .output("softplus")
            .output("elu")
            .output("leaky")
            .output("hsig")
            .output("sign")
            .output("sqrt")
            .output("log")
            .output("recip"),
        vec![vec![1, 9]],
    ));
    // Pow with constant exponents, division by computed values (positive, negative, with a
    // constant numerator), Sqrt fused into the division, and the erf form of GELU.
    v.push((
        "pow_div_gelu",
        Builder::new(13)
            .input("x", &[2, 5])
            .init("two", &[], &[2.0])
            .init("three", &[], &[3.0])
            .init("p15", &[], &[1.5])
            .init("one", &[], &[1.0])
            .init("half", &[], &[0.5])
            .init("sqrt2", &[], &[std::f32::consts::SQRT_2])
            .node("Pow", &["x", "two"], &["sq"], vec![])
            .node("Pow", &["x", "three"], &["cube"], vec![])
            .node("Abs", &["x"], &["abs"], vec![])
            .node("Add", &["abs", "one"], &["pos"], vec![])
            .node("Pow", &["pos", "p15"], &["p15x"], vec![])
            .node("Div", &["x", "pos"], &["ratio"], vec![])
            .node("Sub", &["x", "three"], &["negd"], vec![])
            .node("Div", &["x", "negd"], &["ratio_neg"], vec![])
            .node("Div", &["two", "pos"], &["const_num"], vec![])
            .node("Sqrt", &["pos"], &["root"], vec![])
            .node("Div", &["x", "root"], &["by_root"], vec![])
            .node("Div", &["x", "sqrt2"], &["g0"], vec![])
            .node("Erf", &["g0"], &["g1"], vec![])
            .node("Add", &["g1", "one"], &["g2"], vec![])
            .node("Mul", &["x", "g2"], &["g3"], vec![])
            .node("Mul", &["g3", "half"], &["gelu"], vec![])
            .output("sq")
            .output("cube")
            .output("p15x")
            .output("ratio")
            .output("ratio_neg")
            .output("const_num")
            .output("by_root")
            .output("gelu"),
        vec![vec![2, 5]],
    ));
    // Comparisons, logic, Where, Cast of a boolean, Clip (inputs form), variadic Max/Min/
    // Sum/Mean.
    v.push((
        "compare_where_clip",
        Builder::new(13)
            .input("x", &[2, 6])
            .input("y", &[2, 6])
            .init("t", &[], &[0.2])
            .init("lo", &[], &[-0.3])
            .init("hi", &[], &[0.4])
            .init("tenth", &[], &[0.1])
            .init("c", &[6], &[0.5, -0.5, 0.0, 0.25, -0.75, 1.0])
            .node("Greater", &["x", "t"], &["gt"], vec![])
            .node("Less", &["x", "y"], &["lt"], vec![])
            .node("GreaterOrEqual", &["y", "x"], &["ge"], vec![])
            .node("And", &["gt", "lt"], &["and"], vec![])
            .node("Or", &["gt", "lt"], &["or"], vec![])
            .node("Not", &["and"], &["nand"], vec![])
            .node("Cast", &["nand"], &["nand_f"], vec![int("to", 1)])
            .node("Cast", &["ge"], &["ge_f"], vec![int("to", 1)])
            .node("Mul", &["x", "tenth"], &["xs"], vec![])
            .node("Where", &["gt", "x", "xs"], &["leaky"], vec![])
            .node("Where", &["or", "y", "c"], &["pick"], vec![])
            .node("Clip", &["x", "lo", "hi"], &["clip"], vec![])
            .node("Clip", &["y", "", "hi"], &["clip_hi"], vec![])
            .node("Max", &["x", "y", "c"], &["max"], vec![])
            .node("Min", &["x", "y"], &["min"], vec![])
            .node("Sum", &["x", "y", "c"], &["sum"], vec![])
            .node("Mean", &["x", "y"], &["mean"], vec![])
            .output("nand_f")
            .output("ge_f")
            .output("leaky")
            .output("pick")
            .output("clip")
            .output("clip_hi")
            .output("max")
            .output("min")
            .output("sum")
            .output("mean"),
        vec![vec![2, 6], vec![2, 6]],
    ));
    // Reductions (axes as attribute for opset 11 and as input for ReduceSum at 13 are in two
    // cases), ArgMax/ArgMin, Softmax and LogSoftmax.
    v.push((
        "reductions_softmax",
        Builder::new(13)
            .input("x", &[2, 3, 4])
            .init_i64("ax1", &[1], &[1])
            .node("ReduceSum", &["x", "ax1"], &["rsum"], vec![])
            .node(
                "ReduceMean",
                &["x"],
                &["rmean"],
                vec![ints("axes", &[1, 2]), int("keepdims", 0)],
            )
            .node("ReduceMax", &["x"], &["rmax"], vec![ints("axes", &[-1])])
            .node(
                "ReduceMin",
                &["x"],
                &["rmin"],
                vec![ints("axes", &[0]), int("keepdims", 0)],
            )
            .node(
                "ArgMax",
                &["x"],
                &["amax"],
                vec![int("axis", 1), int("keepdims", 0)],
            )
            .node(
                "ArgMin",
                &["x"],
                &["amin"],
                vec![int("axis", -1), int("select_last_index", 1)],
            )
            .node("Cast", &["amax"], &["amax_f"], vec![int("to", 1)])
            .node("Cast", &["amin"], &["amin_f"], vec![int("to", 1)])
            .node("Softmax", &["x"], &["soft"], vec![])
            .node("Softmax", &["x"], &["soft1"], vec![int("axis", 1)])
            .node("LogSoftmax", &["x"], &["logsoft"], vec![int("axis", -1)])
            .output("rsum")
            .output("rmean")
            .output("rmax")
            .output("rmin")
            .output("amax_f")
            .output("amin_f")
            .output("soft")
            .output("soft1")
            .output("logsoft"),
        vec![vec![2, 3, 4]],
    ));
    // Opset 10: legacy softmax (flattens from the axis), Clip attributes, Split attribute.
    v.push((
        "opset10_legacy",
        Builder::new(10)
            .input("x", &[1, 2, 3])
            .node("Softmax", &["x"], &["soft"], vec![int("axis", 1)])
            .node(
                "Split",
                &["x"],
                &["s0", "s1"],
                vec![int("axis", 2), ints("split", &[1, 2])],
            )
            .node(
                "Clip",
                &["s1"],
                &["clip"],
                vec![float("min", -0.2), float("max", 0.3)],
            )
            .node("Exp", &["s0"], &["e0"], vec![])
            .output("soft")
            .output("clip")
            .output("e0"),
        vec![vec![1, 2, 3]],
    ));
    // LayerNormalization (opset 17) over one and two axes, and the decomposed form older
    // exporters write (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add).
    v.push((
        "layer_norm",
        Builder::new(17)
            .input("x", &[2, 3, 8])
            .weight("g", &[8], 1)
            .weight("b", &[8], 2)
            .weight("g2", &[3, 8], 3)
            .init("two", &[], &[2.0])
            .init("eps", &[], &[1e-5])
            .init_i64("last", &[1], &[-1])
            .node(
                "LayerNormalization",
                &["x", "g", "b"],
                &["ln"],
                vec![float("epsilon", 1e-5)],
            )
            .node(
                "LayerNormalization",
                &["x", "g2"],
                &["ln2"],
                vec![int("axis", -2)],
            )
            .node("ReduceMean", &["x"], &["mu"], vec![ints("axes", &[-1])])
            .node("Sub", &["x", "mu"], &["d"], vec![])
            .node("Pow", &["d", "two"], &["d2"], vec![])
            .node("ReduceMean", &["d2"], &["var"], vec![ints("axes", &[-1])])
            .node("Add", &["var", "eps"], &["ve"], vec![])
            .node("Sqrt", &["ve"], &["std"], vec![])
            .node("Div", &["d", "std"], &["nrm"], vec![])
            .node("Mul", &["nrm", "g"], &["nrm_g"], vec![])
            .node("Add", &["nrm_g", "b"], &["ln_dec"], vec![])
            .output("ln")
            .output("ln2")
            .output("ln_dec"),
        vec![vec![2, 3, 8]],
    ));
    // Selection on computed values: Slice (forward, stepped, backwards), Concat with a
    // constant, Gather (vector and scalar index), Split (opset 13 sizes input), Pad (constant
    // non-zero value, reflect, edge), Transpose.
    v.push((
        "selection",
        Builder::new(13)
            .input("x", &[2, 3, 4])
            .init_i64("st", &[2], &[0, 1])
            .init_i64("en", &[2], &[2, 4])
            .init_i64("axs", &[2], &[1, 2])
            .init_i64("stp", &[2], &[2, 2])
            .init_i64("rst", &[1], &[-1])
            .init_i64("ren", &[1], &[-100])
            .init_i64("rax", &[1], &[2])
            .init_i64("rsp", &[1], &[-1])
            .weight("k", &[2, 1, 4], 7)
            .init_i64("idx", &[2], &[2, 0])
            .init_i64("one", &[], &[1])
            .init_i64("sizes", &[2], &[1, 3])
            .init_i64("pads", &[6], &[0, 1, 0, 0, 0, 2])
            .init("pv", &[], &[0.75])
            .init_i64("pads2", &[6], &[0, 0, 1, 0, 0, 2])
            .node("Slice", &["x", "st", "en", "axs", "stp"], &["sl"], vec![])
            .node(
                "Slice",
                &["x", "rst", "ren", "rax", "rsp"],
                &["rev"],
                vec![],
            )
            .node("Concat", &["x", "k"], &["cat"], vec![int("axis", 1)])
            .node("Gather", &["x", "idx"], &["ga"], vec![int("axis", 1)])
            .node("Gather", &["x", "one"], &["gs"], vec![int("axis", 2)])
            .node(
                "Split",
                &["x", "sizes"],
                &["p0", "p1"],
                vec![int("axis", -1)],
            )
            .node("Pad", &["x", "pads", "pv"], &["padc"], vec![])
            .node(
                "Pad",
                &["x", "pads2"],
                &["padr"],
                vec![string("mode", "reflect")],
            )
            .node(
                "Pad",
                &["x", "pads2"],
                &["pade"],
                vec![string("mode", "edge")],
            )
            .node("Transpose", &["x"], &["tr"], vec![ints("perm", &[2, 0, 1])])
            .output("sl")
            .output("rev")
            .output("cat")
            .output("ga")
            .output("gs")
            .output("p0")
            .output("p1")
            .output("padc")
            .output("padr")
            .output("pade")
            .output("tr"),
        vec![vec![2, 3, 4]],
    ));
    // Pooling: padded ceil-mode MaxPool, dilated MaxPool, AveragePool counting the padding,
    // GlobalAveragePool.
    v.push((
        "pools",
        Builder::new(13)
            .input("x", &[1, 2, 7, 7])
            .node(
                "MaxPool",
                &["x"],
                &["mp"],
                vec![
                    ints("kernel_shape", &[3, 3]),
                    ints("strides", &[2, 2]),
                    ints("pads", &[1, 1, 1, 1]),
                    int("ceil_mode", 1),
                ],
            )
            .node(
                "MaxPool",
                &["x"],
                &["mpd"],
                vec![ints("kernel_shape", &[2, 2]), ints("dilations", &[2, 2])],
            )
            .node(
                "AveragePool",
                &["x"],
                &["ap"],
                vec![
                    ints("kernel_shape", &[3, 3]),
                    ints("pads", &[1, 1, 1, 1]),
                    int("count_include_pad", 1),
                ],
            )
            .node("GlobalAveragePool", &["x"], &["gap"], vec![])
            .output("mp")
            .output("mpd")
            .output("ap")
            .output("gap"),
        vec![vec![1, 2, 7, 7]],
    ));
    // Bidirectional LSTM with biases and a constant non-zero initial state; all outputs.
    v.push((
        "lstm_bidirectional",
        Builder::new(13)
            .input("x", &[3, 1, 2])
            .weight("W", &[2, 16, 2], 11)
            .weight("R", &[2, 16, 4], 12)
            .weight("B", &[2, 32], 13)
            .weight("h0", &[2, 1, 4], 14)
            .node(
                "LSTM",
                &["x", "W", "R", "B", "", "h0"],
                &["Y", "Yh", "Yc"],
                vec![int("hidden_size", 4), string("direction", "bidirectional")],
            )
            .output("Y")
            .output("Yh")
            .output("Yc"),
        vec![vec![3, 1, 2]],
    ));
    // Reverse LSTM over a batch of 2 with computed initial states (model inputs) and explicit
    // default activations, as tf2onnx writes them.
    let acts = omron_model::proto::AttributeProto {
        name: "activations".into(),
        r#type: Some(omron_model::proto::attribute_type::STRINGS),
        strings: ["Sigmoid", "Tanh", "Tanh"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect(),
        ..Default::default()
    };
    v.push((
        "lstm_reverse_batch2",
        Builder::new(14)
            .input("x", &[3, 2, 2])
            .input("h0", &[1, 2, 3])
            .input("c0", &[1, 2, 3])
            .weight("W", &[1, 12, 2], 15)
            .weight("R", &[1, 12, 3], 16)
            .node(
                "LSTM",
                &["x", "W", "R", "", "", "h0", "c0"],
                &["Y", "Yh"],
                vec![int("hidden_size", 3), string("direction", "reverse"), acts],
            )
            .output("Y")
            .output("Yh"),
        vec![vec![3, 2, 2], vec![1, 2, 3], vec![1, 2, 3]],
    ));
    // GRU, default (reset before the recurrent product), forward.
    v.push((
        "gru",
        Builder::new(13)
            .input("x", &[4, 1, 3])
            .weight("W", &[1, 12, 3], 17)
            .weight("R", &[1, 12, 4], 18)
            .weight("B", &[1, 24], 19)
            .node(
                "GRU",
                &["x", "W", "R", "B"],
                &["Y", "Yh"],
                vec![int("hidden_size", 4)],
            )
            .output("Y")
            .output("Yh"),
        vec![vec![4, 1, 3]],
    ));
    // GRU as PyTorch exports it (linear_before_reset = 1), bidirectional, constant state.
    v.push((
        "gru_linear_before_reset",
        Builder::new(13)
            .input("x", &[3, 1, 2])
            .weight("W", &[2, 9, 2], 20)
            .weight("R", &[2, 9, 3], 21)
            .weight("B", &[2, 18], 22)
            .weight("h0", &[2, 1, 3], 23)
            .node(
                "GRU",
                &["x", "W", "R", "B", "", "h0"],
                &["Y"],
                vec![
                    int("hidden_size", 3),
                    int("linear_before_reset", 1),
                    string("direction", "bidirectional"),
                ],
            )
            .output("Y"),
        vec![vec![3, 1, 2]],
    ));
    // A Constant node and a shape-derived constant feeding runtime ops.
    v.push((
        "constants",
        Builder::new(13)
            .input("x", &[2, 3])
            .node(
                "Constant",
                &[],
                &["c"],
                vec![tensor_attr(
                    "value",
                    float_tensor("", &[3], &[0.5, -1.0, 2.0]),
                )],
            )
            .init_i64("one", &[], &[1])
            .node("Shape", &["x"], &["shape"], vec![])
            .node("Gather", &["shape", "one"], &["cols"], vec![])
            .node("Cast", &["cols"], &["shape_f"], vec![int("to", 1)])
            .node("Mul", &["x", "c"], &["xc"], vec![])
            .node("Div", &["xc", "shape_f"], &["y"], vec![])
            .output("y"),
        vec![vec![2, 3]],
    ));
    v
}

pub(crate) fn inputs_for(shapes: &[Vec<usize>]) -> Vec<Vec<f32>> {
    shapes
        .iter()
        .enumerate()
        .map(|(i, s)| sample(s.iter().product(), i))
        .collect()
}

#[test]
#[ignore = "regenerates GOLDEN_V2 with onnxruntime; run by hand"]
fn print_v2_goldens() {
    for (name, b, shapes) in cases() {
        let path = std::env::temp_dir().join(format!("omron-v2-{name}.onnx"));
        std::fs::write(&path, b.bytes()).unwrap();
        let out = crate::ort::ort_outputs(path.to_str().unwrap(), &[inputs_for(&shapes)]);
        println!("    (\"{name}\", &[");
        for o in &out[0] {
            println!("        &{o:?},");
        }
        println!("    ]),");
    }
}

fn golden(name: &str) -> &'static [&'static [f64]] {
    GOLDEN_V2
        .iter()
        .find(|g| g.0 == name)
        .unwrap_or_else(|| panic!("no golden values for {name}"))
        .1
}

#[test]
fn v2_float_reference_matches_onnxruntime() {
    for (name, b, shapes) in cases() {
        let model = load_onnx(&b.bytes()).unwrap();
        let y = model.run_float(&inputs_for(&shapes)).unwrap();
        let want = golden(name);
        assert_eq!(y.len(), want.len(), "{name}");
        for (k, (got, want)) in y.iter().zip(want).enumerate() {
            assert_eq!(got.len(), want.len(), "{name} output {k}");
            for (i, (a, b)) in got.iter().zip(*want).enumerate() {
                assert!(
                    (*a as f64 - b).abs() <= 2e-6 * b.abs().max(1.0),
                    "{name} output {k}[{i}]: {a} vs onnxruntime {b}"
                );
            }
        }
    }
}

#[test]
fn v2_cases_quantise_close_to_onnxruntime() {
    for (name, b, shapes) in cases() {
        let model = load_onnx(&b.bytes()).unwrap();
        assert!(
            model.coverage().is_supported(),
            "{name}: {}",
            model.coverage()
        );
        let x = inputs_for(&shapes);
        let q = quantise(&model, Some(&x), &QuantOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        q.graph.validate().unwrap();
        let got = q.run(&x).unwrap();
        let mut worst = 0f64;
        for (k, (g, want)) in got.iter().zip(golden(name)).enumerate() {
            let scale = want.iter().fold(1f64, |m, v| m.max(v.abs()));
            for (i, (a, b)) in g.iter().zip(*want).enumerate() {
                let err = (a - b).abs();
                worst = worst.max(err / scale);
                assert!(
                    err <= 4e-3 * scale,
                    "{name} output {k}[{i}]: quantised {a} vs onnxruntime {b}"
                );
            }
        }
        println!(
            "{name}: worst error {worst:.2e} (relative to max(1, |y|)), {} IR nodes",
            q.graph.nodes.len()
        );
    }
}

fn ir_ops(name: &str) -> Vec<&'static str> {
    let (_, b, shapes) = cases().into_iter().find(|c| c.0 == name).unwrap();
    let model = load_onnx(&b.bytes()).unwrap();
    let q = quantise(&model, Some(&inputs_for(&shapes)), &QuantOptions::default()).unwrap();
    q.graph.nodes.iter().map(|n| n.op.name()).collect()
}

fn count(ops: &[&str], op: &str) -> usize {
    ops.iter().filter(|o| **o == op).count()
}

#[test]
fn v2_ops_lower_to_the_documented_ir() {
    // Softmax: Max tree, Exp table, ReduceSum, Div; LogSoftmax: Log table instead of Div.
    let r = ir_ops("reductions_softmax");
    assert_eq!(count(&r, "Exp"), 3);
    assert_eq!(count(&r, "Div"), 2);
    assert_eq!(count(&r, "Log"), 1);
    // ArgMax/ArgMin: the marks, a triangular MatMul, the no-mark-yet table.
    assert_eq!(count(&r, "MatMul"), 2);
    assert_eq!(count(&r, "IsZero"), 4);
    // The decomposed layer norm divides by Sqrt through one Rsqrt table; so does the fused.
    let ln = ir_ops("layer_norm");
    assert_eq!(count(&ln, "Rsqrt"), 3);
    assert_eq!(count(&ln, "Sqrt"), 0);
    assert_eq!(count(&ln, "DivFloor"), 2);
    // Pools: no grouped convolution any more.
    let p = ir_ops("pools");
    assert_eq!(count(&p, "Conv"), 0);
    assert_eq!(count(&p, "SumPool"), 1);
    assert!(count(&p, "Max") >= 4);
    // LSTM: one gate MatMul per step and direction.
    let l = ir_ops("lstm_bidirectional");
    assert_eq!(count(&l, "MatMul"), 6);
    assert_eq!(count(&l, "Sigmoid"), 6);
    assert_eq!(count(&l, "Tanh"), 12);
    // The erf form of GELU is one table; Pow 2 and 3 are products, Pow 1.5 a table.
    let g = ir_ops("pow_div_gelu");
    assert_eq!(count(&g, "Gelu"), 1);
    assert_eq!(count(&g, "Erf"), 0);
    assert_eq!(count(&g, "Pow"), 1);
    assert_eq!(count(&g, "Rsqrt"), 1);
    // Comparisons are 0/1 tables.
    let c = ir_ops("compare_where_clip");
    assert_eq!(count(&c, "Step"), 2);
    assert_eq!(count(&c, "NonNegative"), 1);
    assert_eq!(count(&c, "Clip"), 2);
}

#[test]
fn v2_quantisation_is_deterministic() {
    for (name, b, shapes) in cases() {
        let x = inputs_for(&shapes);
        let a = quantise(
            &load_onnx(&b.bytes()).unwrap(),
            Some(&x),
            &QuantOptions::default(),
        );
        let c = quantise(
            &load_onnx(&b.bytes()).unwrap(),
            Some(&x),
            &QuantOptions::default(),
        );
        assert_eq!(a.unwrap(), c.unwrap(), "{name}");
    }
}
