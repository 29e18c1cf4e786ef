//! The five benchmark models, and the subnet's LSTM and age models (v2 targets: coverage only).

use omron_model::{InputData, ModelError, OnnxModel, QuantOptions, load_onnx, quantise};

fn shared(path: &str) -> String {
    format!("{}/../../../shared/data/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn load(path: &str) -> OnnxModel {
    let bytes = std::fs::read(shared(path)).unwrap();
    load_onnx(&bytes).unwrap()
}

fn input(path: &str) -> Vec<Vec<f32>> {
    InputData::from_json(&std::fs::read(shared(path)).unwrap())
        .unwrap()
        .inputs
}

const MODELS: [&str; 5] = [
    "mlp_small",
    "mlp_mnist",
    "cnn_small",
    "mlp_sigmoid",
    "mlp_tanh",
];

#[test]
fn benchmark_models_quantise_and_match_the_float_model() {
    for name in MODELS {
        let model = load(&format!("models/{name}/network.onnx"));
        assert!(
            model.coverage().is_supported(),
            "{name}: {}",
            model.coverage()
        );
        let x = input(&format!("models/{name}/input.json"));
        let q = quantise(&model, Some(&x), &QuantOptions::default()).unwrap();
        q.graph.validate().unwrap();
        let acc = q.accuracy(&model, &x).unwrap();
        println!(
            "{name}: max abs err {:.3e}, mean {:.3e}, argmax agrees {}, |y| max {:.3}, input scale {:?}, output scale {:?}, {} IR nodes",
            acc.max_abs_error,
            acc.mean_abs_error,
            acc.argmax_agrees,
            acc.per_output[0].max_abs_reference,
            q.input_scales,
            q.output_scales,
            q.graph.nodes.len()
        );
        let shifts: Vec<u32> = q
            .graph
            .nodes
            .iter()
            .filter_map(|n| match n.op {
                omron_ir::Op::Rescale { shift } => Some(shift),
                _ => None,
            })
            .collect();
        let weight_scales: Vec<u32> = q
            .graph
            .tensors
            .iter()
            .filter(|t| t.name.ends_with("/weight"))
            .map(|t| t.scale)
            .collect();
        println!("{name}: weight scales {weight_scales:?}, rescale shifts {shifts:?}");
        assert!(acc.argmax_agrees, "{name}: argmax differs: {acc:?}");
        assert!(
            acc.max_abs_error < 2e-3,
            "{name}: max abs error {}",
            acc.max_abs_error
        );
    }
}

/// onnxruntime 1.32 (CPU) outputs on each model's shipped input.json.
const GOLDEN: &[(&str, &[f64])] = &[
    (
        "mlp_small",
        &[
            -0.005050629377365112,
            0.3057239055633545,
            -0.23236243426799774,
            -0.027290314435958862,
            -0.06391969323158264,
            -0.20529945194721222,
            -0.011680345982313156,
            -0.011888101696968079,
        ],
    ),
    (
        "mlp_mnist",
        &[
            0.23905181884765625,
            0.13562153279781342,
            0.05725258216261864,
            0.018426677212119102,
            -0.11098612844944,
            0.16567182540893555,
            0.1092417910695076,
            -0.1617073267698288,
            0.02561079151928425,
            -0.20029234886169434,
        ],
    ),
    (
        "cnn_small",
        &[
            -0.07222943007946014,
            0.18294356763362885,
            -0.09645088016986847,
            0.23784048855304718,
            -0.022606035694479942,
            0.19959113001823425,
            -0.23812341690063477,
            0.11933048814535141,
            -0.0667734369635582,
            -0.016359958797693253,
        ],
    ),
    (
        "mlp_sigmoid",
        &[
            1.0198228359222412,
            -0.0653463676571846,
            0.11033962666988373,
            -0.14240261912345886,
        ],
    ),
    (
        "mlp_tanh",
        &[
            0.44193947315216064,
            -0.1637912094593048,
            0.19087903201580048,
            0.027731573209166527,
        ],
    ),
];

fn assert_close(name: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{name}");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (*a as f64 - b).abs() <= tol,
            "{name}[{i}]: {a} vs onnxruntime {b}"
        );
    }
}

#[test]
fn float_reference_matches_onnxruntime() {
    for (name, want) in GOLDEN {
        let model = load(&format!("models/{name}/network.onnx"));
        let y = model
            .run_float(&input(&format!("models/{name}/input.json")))
            .unwrap();
        assert_close(name, &y[0], want, 1e-6);
    }
}

#[test]
fn quantisation_of_a_shipped_model_is_deterministic() {
    let bytes = std::fs::read(shared("models/cnn_small/network.onnx")).unwrap();
    let x = input("models/cnn_small/input.json");
    let a = quantise(
        &load_onnx(&bytes).unwrap(),
        Some(&x),
        &QuantOptions::default(),
    )
    .unwrap();
    let b = quantise(
        &load_onnx(&bytes).unwrap(),
        Some(&x),
        &QuantOptions::default(),
    )
    .unwrap();
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

const LSTM: &str = "omron/neurons/deployment_layer/model_31df94d233053d9648c3c57362d9aa8aaa0f77761ac520af672103dbb387a6a5/network.onnx";
const AGE: &str = "omron/neurons/_validator/competitions/1/age.onnx";

#[test]
fn lstm_model_loads_and_reports_its_lstm_nodes() {
    let model = load(LSTM);
    let cov = model.coverage();
    assert_eq!(cov.opset, 15);
    assert_eq!(model.inputs()[0].shape, Some(vec![1, 5, 1]));
    let lstm: Vec<&str> = cov
        .unsupported
        .iter()
        .filter(|u| u.op_type == "LSTM")
        .map(|u| u.name.as_str())
        .collect();
    assert_eq!(lstm, ["LSTM__43", "LSTM__59"]);
    assert!(
        cov.unsupported
            .iter()
            .all(|u| u.op_type == "LSTM" || u.op_type == "Slice"),
        "{cov}"
    );
    // The input Reshape is fine; the Gemm head is never reached.
    assert!(
        cov.ops
            .iter()
            .find(|o| o.op_type == "Reshape")
            .unwrap()
            .supported
    );
    assert!(cov.unanalysed > 0);
    assert!(!cov.is_supported());
    let err = model.run_float(&[vec![0.5; 5]]).unwrap_err();
    assert!(matches!(err, ModelError::Unsupported(_)), "{err}");
    let err = quantise(&model, None, &QuantOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("LSTM__43") && text.contains("LSTM__59"),
        "{text}"
    );
}

/// onnxruntime 1.32 outputs of age.onnx on its shipped input.json (9 outputs).
const AGE_GOLDEN: [&[f64]; 9] = [
    &[0.0, 0.16459250450134277, 0.17767933011054993],
    &[0.0, 0.2107318639755249, 0.04823979362845421],
    &[0.0, 0.02390570007264614, 0.1358029544353485],
    &[-0.5801306366920471],
    &[0.01015715952962637],
    &[-0.14447779953479767],
    &[
        -0.002749800682067871,
        -0.07120144367218018,
        -0.06125139445066452,
    ],
    &[
        -0.0011954113142564893,
        0.17783382534980774,
        -0.2668057084083557,
    ],
    &[
        -5.199928682086963e-11,
        -0.4305635690689087,
        -0.03444230183959007,
    ],
];

#[test]
fn age_model_runs_in_float_and_reports_only_maxpool() {
    let model = load(AGE);
    let cov = model.coverage();
    assert_eq!(cov.opset, 9);
    assert_eq!(cov.node_count, 141);
    assert_eq!(
        model.inputs().len(),
        1,
        "initialisers listed as inputs are constants"
    );
    assert_eq!(model.outputs().len(), 9);
    // Batch norm, average pooling, zero Pad, the flatten pattern and activation products all
    // lower; MaxPool is the one missing gadget.
    assert_eq!(cov.unsupported_ops(), ["MaxPool"]);
    assert_eq!(cov.unsupported.len(), 5);
    assert!(
        cov.unsupported
            .iter()
            .all(|u| u.name.is_empty() && !u.output.is_empty())
    );
    assert_eq!(cov.unanalysed, 0);
    let shape = cov.ops.iter().find(|o| o.op_type == "Shape").unwrap();
    assert_eq!((shape.count, shape.folded), (6, 6));
    let y = model
        .run_float(&input("omron/neurons/_validator/competitions/1/input.json"))
        .unwrap();
    for (i, (got, want)) in y.iter().zip(AGE_GOLDEN).enumerate() {
        assert_close(&format!("age output {i}"), got, want, 1e-6);
    }
    assert!(matches!(
        quantise(&model, None, &QuantOptions::default()),
        Err(ModelError::Unsupported(_))
    ));
}

#[test]
fn benchmark_models_hold_up_on_inputs_they_were_not_calibrated_on() {
    // 20 seeded inputs per model in the range of its shipped input ([0, 1) for the image
    // models, [-1, 1) otherwise): the 4x calibration margin keeps every range check passing.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for name in MODELS {
        let model = load(&format!("models/{name}/network.onnx"));
        let calib = input(&format!("models/{name}/input.json"));
        let q = quantise(&model, Some(&calib), &QuantOptions::default()).unwrap();
        let lo = if calib[0].iter().all(|&v| v >= 0.0) {
            0.0
        } else {
            -1.0
        };
        let mut worst = 0f64;
        for _ in 0..20 {
            let x: Vec<f32> = (0..calib[0].len())
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    lo + (1.0 - lo) * ((state >> 40) as f32 / (1u64 << 24) as f32)
                })
                .collect();
            let acc = q.accuracy(&model, std::slice::from_ref(&x)).unwrap();
            worst = worst.max(acc.max_abs_error);
            if !acc.argmax_agrees {
                // Only acceptable when the float top two are closer than the error.
                let y = &model.run_float(&[x]).unwrap()[0];
                let mut sorted = y.clone();
                sorted.sort_by(|a, b| b.total_cmp(a));
                assert!(
                    (sorted[0] - sorted[1]) as f64 <= 2.0 * acc.max_abs_error,
                    "{name}: {acc:?}"
                );
            }
        }
        println!("{name}: worst max abs error over 20 random inputs {worst:.3e}");
        assert!(worst < 2e-3, "{name}: {worst}");
    }
}

#[test]
fn age_model_lowers_once_maxpool_is_replaced() {
    // Everything but MaxPool lowers: swap the five MaxPools for AveragePools (same
    // attributes) and quantise the real 141-node model end to end.
    use prost::Message;
    let mut proto =
        omron_model::proto::ModelProto::decode(&std::fs::read(shared(AGE)).unwrap()[..]).unwrap();
    for node in &mut proto.graph.as_mut().unwrap().node {
        if node.op_type == "MaxPool" {
            node.op_type = "AveragePool".into();
        }
    }
    let model = load_onnx(&proto.encode_to_vec()).unwrap();
    assert!(model.coverage().is_supported(), "{}", model.coverage());
    let x = input("omron/neurons/_validator/competitions/1/input.json");
    let q = quantise(&model, Some(&x), &QuantOptions::default()).unwrap();
    q.graph.validate().unwrap();
    let acc = q.accuracy(&model, &x).unwrap();
    let ops = |name: &str| q.graph.nodes.iter().filter(|n| n.op.name() == name).count();
    println!(
        "age (MaxPool -> AveragePool): max abs error {:.3e}, mean {:.3e}, argmax agrees {}, {} IR nodes ({} Conv, {} MatMul, {} Mul, {} Rescale)",
        acc.max_abs_error,
        acc.mean_abs_error,
        acc.argmax_agrees,
        q.graph.nodes.len(),
        ops("Conv"),
        ops("MatMul"),
        ops("Mul"),
        ops("Rescale"),
    );
    assert_eq!(q.output_scales.len(), 9);
    // Batch norms fold into their convolutions: no per-channel Mul survives, only the six
    // activation products.
    assert_eq!(ops("Mul"), 6);
    assert!(acc.argmax_agrees, "{acc:?}");
    assert!(acc.max_abs_error < 2e-3, "{acc:?}");
}
