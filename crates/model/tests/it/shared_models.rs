//! The five benchmark models, and the subnet's LSTM and age models end to end.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use omron_model::{InputData, OnnxModel, QuantOptions, QuantisedModel, load_onnx, quantise};

pub(crate) fn shared(path: &str) -> String {
    format!("{}/../../../shared/data/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// `n` values uniform in `[lo, hi)` from a seeded xorshift stream.
pub(crate) fn uniform(n: usize, lo: f32, hi: f32, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            lo + (hi - lo) * ((state >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

/// `count` LSTM inputs: 5 floats uniform in [0, 0.85), the subnet's input distribution.
pub(crate) fn lstm_inputs(count: usize, seed: u64) -> Vec<Vec<Vec<f32>>> {
    (0..count)
        .map(|i| vec![uniform(5, 0.0, 0.85, seed.wrapping_add(i as u64 * 0x9e37))])
        .collect()
}

/// IR size summary: per op, nodes and output elements; lookup rows; total computed values.
pub(crate) fn ir_summary(q: &QuantisedModel) -> String {
    let mut per_op: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let (mut lookups, mut values) = (0, 0);
    for n in &q.graph.nodes {
        let elems = q.graph.tensors[n.output].numel();
        let e = per_op.entry(n.op.name()).or_default();
        e.0 += 1;
        e.1 += elems;
        if matches!(
            n.op,
            omron_ir::Op::Lookup(_) | omron_ir::Op::WideLookup { .. }
        ) {
            lookups += elems;
        }
        if !matches!(
            n.op,
            omron_ir::Op::Reshape { .. }
                | omron_ir::Op::Slice { .. }
                | omron_ir::Op::Concat { .. }
                | omron_ir::Op::Gather { .. }
                | omron_ir::Op::Transpose { .. }
        ) {
            values += elems;
        }
    }
    let ops: Vec<String> = per_op
        .iter()
        .map(|(op, (c, e))| format!("{op} {c} ({e})"))
        .collect();
    format!(
        "{} IR nodes: {}; {lookups} lookups, {values} computed values outside layout ops, {} parameters",
        q.graph.nodes.len(),
        ops.join(", "),
        q.graph.param_count()
    )
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

pub(crate) const LSTM: &str = "omron/neurons/deployment_layer/model_31df94d233053d9648c3c57362d9aa8aaa0f77761ac520af672103dbb387a6a5/network.onnx";
pub(crate) const AGE: &str = "omron/neurons/_validator/competitions/1/age.onnx";
const AGE_INPUT: &str = "omron/neurons/_validator/competitions/1/input.json";

fn ops_of(q: &QuantisedModel, name: &str) -> usize {
    q.graph.nodes.iter().filter(|n| n.op.name() == name).count()
}

#[test]
fn issue_6_lstm_lowers_and_matches_the_float_model() {
    let model = load(LSTM);
    let cov = model.coverage();
    assert_eq!(cov.opset, 15);
    assert_eq!(model.inputs()[0].shape, Some(vec![1, 5, 1]));
    assert!(cov.is_supported(), "{cov}");
    let samples = lstm_inputs(21, 0x1157);
    let q = quantise(&model, Some(&samples[0]), &QuantOptions::default()).unwrap();
    q.graph.validate().unwrap();
    println!("LSTM: {}", ir_summary(&q));
    // Two layers x 5 steps: one gate MatMul each, plus the Dense head.
    assert_eq!(ops_of(&q, "MatMul"), 11);
    assert_eq!(ops_of(&q, "Sigmoid"), 10);
    assert_eq!(ops_of(&q, "Tanh"), 20);
    // Compile-time check: the calibration input and two random samples, every layer in bound.
    assert_eq!(q.sample_accuracy.len(), 3);
    for r in &q.sample_accuracy {
        let w = r.worst_layer.as_ref().unwrap();
        println!(
            "LSTM sample: max abs error {:.3e}, worst layer {} ({}) {:.3e} of bound {:.3e}, {} layers checked",
            r.max_abs_error, w.node, w.op_type, w.max_abs_error, w.bound, r.layers_checked
        );
        assert!(w.max_abs_error <= w.bound, "{w:?}");
        assert!(r.layers_checked >= 6, "{r:?}");
    }
    let mut worst = 0f64;
    for x in &samples[1..] {
        let acc = q.accuracy(&model, x).unwrap();
        worst = worst.max(acc.max_abs_error);
    }
    println!("LSTM: worst max abs error vs the float model over 20 random inputs {worst:.3e}");
    assert!(worst < 1e-3, "{worst}");
}

/// onnxruntime 1.32 (CPU) outputs of the LSTM on `lstm_inputs(3, 0xa11ce)`.
const LSTM_GOLDEN: [f64; 3] = [
    -0.16850191354751587,
    -0.18079136312007904,
    -0.16104893386363983,
];

#[test]
fn issue_6_lstm_quantised_outputs_match_stored_onnxruntime_values() {
    let model = load(LSTM);
    let samples = lstm_inputs(3, 0xa11ce);
    let q = quantise(&model, Some(&samples[0]), &QuantOptions::default()).unwrap();
    for (x, want) in samples.iter().zip(LSTM_GOLDEN) {
        let f = model.run_float(x).unwrap()[0][0] as f64;
        assert!((f - want).abs() <= 1e-6, "float {f} vs onnxruntime {want}");
        let y = q.run(x).unwrap()[0][0];
        assert!(
            (y - want).abs() <= 1e-2,
            "quantised {y} vs onnxruntime {want}"
        );
    }
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

/// The age model and its quantisation, shared by the tests (the heaviest model: quantised
/// once, with one random sample besides the calibration input).
pub(crate) fn age() -> &'static (OnnxModel, QuantisedModel) {
    static AGE_Q: OnceLock<(OnnxModel, QuantisedModel)> = OnceLock::new();
    AGE_Q.get_or_init(|| {
        let model = load(AGE);
        let opts = QuantOptions {
            accuracy_samples: 1,
            ..QuantOptions::default()
        };
        let q = quantise(&model, Some(&input(AGE_INPUT)), &opts).unwrap();
        (model, q)
    })
}

#[test]
fn age_model_runs_in_float_and_is_fully_supported() {
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
    assert!(cov.is_supported(), "{cov}");
    let shape = cov.ops.iter().find(|o| o.op_type == "Shape").unwrap();
    assert_eq!((shape.count, shape.folded), (6, 6));
    let y = model.run_float(&input(AGE_INPUT)).unwrap();
    for (i, (got, want)) in y.iter().zip(AGE_GOLDEN).enumerate() {
        assert_close(&format!("age output {i}"), got, want, 1e-6);
    }
}

#[test]
fn issue_6_age_model_lowers_end_to_end() {
    let (model, q) = age();
    q.graph.validate().unwrap();
    println!("age: {}", ir_summary(q));
    assert_eq!(q.output_scales.len(), 9);
    // Batch norms fold into their convolutions: no per-channel Mul survives, only the six
    // activation products. Five MaxPools are Max trees; five AveragePools SumPool + DivRound.
    assert_eq!(ops_of(q, "Mul"), 6);
    assert_eq!(ops_of(q, "SumPool"), 5);
    assert_eq!(ops_of(q, "DivRound"), 5);
    assert_eq!(ops_of(q, "Max"), 2 * 3 + 2 * 7 + 2 * 3);
    assert_eq!(ops_of(q, "Conv"), 14);
    assert_eq!(q.sample_accuracy.len(), 2);
    for r in &q.sample_accuracy {
        let w = r.worst_layer.as_ref().unwrap();
        println!(
            "age sample: max abs error {:.3e}, worst layer {} ({}) {:.3e} of bound {:.3e}",
            r.max_abs_error, w.node, w.op_type, w.max_abs_error, w.bound
        );
        assert!(w.max_abs_error <= w.bound);
    }
    // The integer graph on the shipped input against the stored onnxruntime outputs.
    let got = q.run(&input(AGE_INPUT)).unwrap();
    assert_eq!(model.outputs().len(), got.len());
    for (i, (g, want)) in got.iter().zip(AGE_GOLDEN).enumerate() {
        let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
        for (a, b) in g.iter().zip(want) {
            assert!(
                (a - b).abs() <= 2e-3 + 2e-2 * scale,
                "age output {i}: {a} vs onnxruntime {b}"
            );
        }
    }
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
