//! End-to-end proofs of small hand-built graphs, one per relation, with soundness checks:
//! every proof verifies, and tampered proofs, outputs, inputs, contexts and weights are rejected.

// Test helpers outside `#[test]` functions unwrap freely: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use common::tamper::{Refusals, end_cells, one_bit_off, spread_flips};
use omron_circuit::{Circuit, CircuitError, VerifyError};
use omron_ir::{ConvAttrs, Graph, LookupFn, LookupKind, Node, Op, TensorDef, TensorKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A tiny graph builder for tests.
struct Builder {
    g: Graph,
    rng: ChaCha8Rng,
}

impl Builder {
    fn new(seed: u64) -> Builder {
        Builder {
            g: Graph {
                tensors: vec![],
                nodes: vec![],
                inputs: vec![],
                outputs: vec![],
            },
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn tensor(&mut self, name: &str, shape: &[usize], scale: u32, kind: TensorKind) -> usize {
        self.g.tensors.push(TensorDef {
            name: name.into(),
            shape: shape.to_vec(),
            scale,
            kind,
        });
        self.g.tensors.len() - 1
    }

    fn input(&mut self, shape: &[usize], scale: u32) -> usize {
        let t = self.tensor("x", shape, scale, TensorKind::Input);
        self.g.inputs.push(t);
        t
    }

    fn weights(&mut self, shape: &[usize], scale: u32, range: i64) -> usize {
        let n: usize = shape.iter().product();
        let data = (0..n).map(|_| self.rng.gen_range(-range..=range)).collect();
        self.tensor("w", shape, scale, TensorKind::Const(data))
    }

    fn node(&mut self, op: Op, inputs: &[usize]) -> usize {
        let defs: Vec<&TensorDef> = inputs.iter().map(|&i| &self.g.tensors[i]).collect();
        let shape = op.output_shape("n", &defs).expect("valid node");
        let scale = op.output_scale(&defs);
        let out = self.tensor("t", &shape, scale, TensorKind::Computed);
        let name = format!("n{}", self.g.nodes.len());
        self.g.nodes.push(Node {
            name,
            op,
            inputs: inputs.to_vec(),
            output: out,
        });
        out
    }

    fn finish(mut self, outputs: &[usize]) -> Graph {
        self.g.outputs = outputs.to_vec();
        self.g.validate().expect("valid graph");
        self.g
    }

    fn random_input(&mut self, n: usize, range: i64) -> Vec<i64> {
        (0..n).map(|_| self.rng.gen_range(-range..=range)).collect()
    }
}

fn relu(scale: u32) -> Op {
    Op::Lookup(LookupFn {
        kind: LookupKind::Relu,
        in_scale: scale,
        out_scale: scale,
    })
}

/// Proves, verifies, and runs the standard tampering checks.
fn check(name: &str, graph: Graph, inputs: Vec<Vec<i64>>) {
    let circuit = Circuit::compile(name, graph).expect("compiles");
    let ctx = b"nonce-1|hotkey";
    let proof = circuit.prove(&inputs, ctx).expect("proves");
    let outputs = circuit
        .verify(&inputs, &proof.proof, ctx)
        .expect("honest proof verifies");
    assert_eq!(
        outputs, proof.outputs,
        "{name}: verified outputs are the proven ones"
    );
    let expected = omron_ir::execute(circuit.graph(), &inputs)
        .unwrap()
        .outputs(circuit.graph());
    assert_eq!(outputs, expected, "{name}: outputs are the model's");

    let mut refusals = Refusals::new(name);
    // Another context (e.g. another miner's hotkey, one bit off, or none) must not verify.
    let mut contexts = vec![b"nonce-2|other".to_vec(), Vec::new()];
    contexts.extend(one_bit_off(ctx).iter().map(|c| c.to_vec()));
    refusals.other_contexts(&contexts, |c| circuit.verify(&inputs, &proof.proof, c));
    // Another input must not verify.
    let mut cells = vec![(0, 0)];
    cells.extend(end_cells(&inputs));
    refusals.nudged_each("input", &inputs, &cells, |other| {
        circuit.verify(other, &proof.proof, ctx)
    });
    // Changing any single byte must not verify (sampled across the whole proof).
    let verify = |p: &[u8]| circuit.verify(&inputs, p, ctx);
    refusals.flipped(&proof.proof, &spread_flips(proof.proof.len(), 211), verify);
    // Truncation and trailing garbage.
    let appended = refusals.resized(&proof.proof, verify);
    assert!(matches!(appended, VerifyError::TrailingBytes { count: 1 }));
    refusals.finish();
}

#[test]
fn dense_relu_mlp() {
    let mut b = Builder::new(1);
    let x = b.input(&[1, 12], 6);
    let w1 = b.weights(&[7, 12], 6, 60);
    let bias1 = b.weights(&[7], 12, 2000);
    let h = b.node(Op::MatMul, &[x, w1, bias1]);
    let q = b.node(Op::Rescale { shift: 6 }, &[h]);
    let a = b.node(relu(6), &[q]);
    let w2 = b.weights(&[3, 7], 6, 60);
    let o = b.node(Op::MatMul, &[a, w2]);
    let y = b.node(Op::Rescale { shift: 6 }, &[o]);
    let input = b.random_input(12, 64);
    check("mlp", b.finish(&[y]), vec![input]);
}

#[test]
fn batched_matmul_with_sigmoid_and_tanh() {
    let mut b = Builder::new(2);
    let x = b.input(&[3, 5], 8);
    let w = b.weights(&[6, 5], 8, 200);
    let h = b.node(Op::MatMul, &[x, w]);
    let q = b.node(Op::Rescale { shift: 8 }, &[h]);
    let s = b.node(
        Op::Lookup(LookupFn {
            kind: LookupKind::Sigmoid,
            in_scale: 8,
            out_scale: 8,
        }),
        &[q],
    );
    let t = b.node(
        Op::Lookup(LookupFn {
            kind: LookupKind::Tanh,
            in_scale: 8,
            out_scale: 8,
        }),
        &[s],
    );
    let input = b.random_input(15, 600);
    check("sig-tanh", b.finish(&[t]), vec![input]);
}

#[test]
fn convolution_with_stride_padding_and_channels() {
    let mut b = Builder::new(3);
    let x = b.input(&[1, 2, 7, 6], 5);
    let w = b.weights(&[3, 2, 3, 2], 5, 30);
    let bias = b.weights(&[3], 10, 300);
    let attrs = ConvAttrs {
        strides: [2, 1],
        pads: [1, 0, 1, 1],
        dilations: [1, 2],
        group: 1,
    };
    let c = b.node(Op::Conv(attrs), &[x, w, bias]);
    let q = b.node(Op::Rescale { shift: 5 }, &[c]);
    let a = b.node(relu(5), &[q]);
    let input = b.random_input(2 * 7 * 6, 32);
    check("conv", b.finish(&[a]), vec![input]);
}

#[test]
fn conv_flatten_dense_like_cnn_small() {
    let mut b = Builder::new(4);
    let x = b.input(&[1, 1, 9, 9], 6);
    let w = b.weights(&[4, 1, 3, 3], 6, 60);
    let bias = b.weights(&[4], 12, 3000);
    let attrs = ConvAttrs {
        strides: [1, 1],
        pads: [0; 4],
        dilations: [1, 1],
        group: 1,
    };
    let c = b.node(Op::Conv(attrs), &[x, w, bias]);
    let q = b.node(Op::Rescale { shift: 6 }, &[c]);
    let a = b.node(relu(6), &[q]);
    let f = b.node(
        Op::Reshape {
            shape: vec![1, 4 * 7 * 7],
        },
        &[a],
    );
    let w2 = b.weights(&[10, 196], 6, 30);
    let bias2 = b.weights(&[10], 12, 3000);
    let o = b.node(Op::MatMul, &[f, w2, bias2]);
    let y = b.node(Op::Rescale { shift: 6 }, &[o]);
    let input = b.random_input(81, 64);
    check("cnn", b.finish(&[y]), vec![input]);
}

#[test]
fn broadcast_add_sub_and_products() {
    let mut b = Builder::new(5);
    let x = b.input(&[2, 3, 4], 4);
    let bias = b.weights(&[3, 1], 4, 50);
    let s = b.node(Op::Add, &[x, bias]);
    let scalar = b.weights(&[], 2, 7);
    let m = b.node(Op::Mul, &[s, scalar]);
    let q = b.node(Op::Rescale { shift: 2 }, &[m]);
    let q = b.node(Op::Sub, &[q, x]);
    let q = b.node(Op::Rescale { shift: 0 }, &[q]);
    let r = b.node(relu(4), &[q]);
    let p = b.node(Op::Mul, &[r, q]); // activation x activation
    let y = b.node(Op::Rescale { shift: 4 }, &[p]);
    let input = b.random_input(24, 60);
    check("elementwise", b.finish(&[y]), vec![input]);
}

#[test]
fn transpose_and_reshape() {
    let mut b = Builder::new(6);
    let x = b.input(&[3, 5], 4);
    let t = b.node(Op::Transpose { perm: vec![1, 0] }, &[x]);
    let r = b.node(Op::Reshape { shape: vec![15] }, &[t]);
    let w = b.weights(&[2, 15], 4, 20);
    let o = b.node(Op::MatMul, &[r, w]);
    let y = b.node(Op::Rescale { shift: 4 }, &[o]);
    let input = b.random_input(15, 60);
    check("wiring", b.finish(&[y]), vec![input]);
}

#[test]
fn wrong_weights_are_rejected() {
    // A proof made with one set of weights must not verify against a circuit with others.
    let build = |seed: u64| {
        let mut b = Builder::new(7);
        let x = b.input(&[1, 8], 6);
        let w = b.weights(&[4, 8], 6, 60);
        if let (1, TensorKind::Const(data)) = (seed, &mut b.g.tensors[w].kind) {
            data[5] += 1;
        }
        let h = b.node(Op::MatMul, &[x, w]);
        let y = b.node(Op::Rescale { shift: 6 }, &[h]);
        b.finish(&[y])
    };
    let a = Circuit::compile("a", build(0)).unwrap();
    let b = Circuit::compile("b", build(1)).unwrap();
    assert_ne!(a.id(), b.id());
    let input = vec![(0..8).map(|i| i * 7 - 20).collect::<Vec<i64>>()];
    let proof = a.prove(&input, b"").unwrap();
    assert!(a.verify(&input, &proof.proof, b"").is_ok());
    let mut refusals = Refusals::new("wrong weights");
    refusals.refused("other weights", b.verify(&input, &proof.proof, b""));
    refusals.finish();
}

#[test]
fn overflowing_activation_is_a_clear_error() {
    let mut b = Builder::new(8);
    let x = b.input(&[1, 2], 0);
    let w = b.tensor("w", &[1, 2], 0, TensorKind::Const(vec![30000, 30000]));
    let h = b.node(Op::MatMul, &[x, w]);
    let y = b.node(Op::Rescale { shift: 0 }, &[h]);
    let circuit = Circuit::compile("overflow", b.finish(&[y])).unwrap();
    let err = circuit.prove(&[vec![1, 1]], b"").unwrap_err();
    assert!(matches!(err, CircuitError::Ir(_)), "{err}");
}

#[test]
fn verifying_key_round_trips_and_ids_are_deterministic() {
    let make = || {
        let mut b = Builder::new(9);
        let x = b.input(&[1, 4], 4);
        let w = b.weights(&[2, 4], 4, 10);
        let h = b.node(Op::MatMul, &[x, w]);
        let y = b.node(Op::Rescale { shift: 4 }, &[h]);
        b.finish(&[y])
    };
    let a = Circuit::compile("det", make()).unwrap();
    let b = Circuit::compile("det", make()).unwrap();
    assert_eq!(a.id_hex(), b.id_hex());
    let c = Circuit::from_vk_bytes(a.vk_bytes()).unwrap();
    assert_eq!(c.id(), a.id());
    assert!(Circuit::from_vk_bytes(&a.vk_bytes()[..20]).is_err());
    assert!(Circuit::from_vk_bytes(b"garbage").is_err());
}

fn lookup(kind: LookupKind, in_scale: u32, out_scale: u32) -> Op {
    Op::Lookup(LookupFn {
        kind,
        in_scale,
        out_scale,
    })
}

#[test]
fn selections_slice_concat_pad_gather_reduce_pool() {
    let mut b = Builder::new(10);
    let x = b.input(&[1, 2, 6, 5], 4);
    let s = b.node(
        Op::Slice {
            starts: vec![0, 0, 1, 0],
            ends: vec![1, 2, 6, 5],
            steps: vec![1, 1, 2, 2],
        },
        &[x],
    );
    let p = b.node(
        Op::Pad {
            pads: vec![[0, 0], [0, 0], [1, 0], [0, 2]],
            value: -3,
        },
        &[s],
    );
    let g = b.node(
        Op::Gather {
            axis: 1,
            indices: vec![1, 0, 1],
        },
        &[p],
    );
    let pool = b.node(
        Op::SumPool {
            kernel: [2, 2],
            strides: [1, 2],
            pads: [0, 1, 1, 0],
        },
        &[g],
    );
    let r = b.node(
        Op::ReduceSum {
            axes: vec![3],
            keepdims: true,
        },
        &[pool],
    );
    let c = b.node(Op::Concat { axis: 3 }, &[r, pool, r]);
    let y = b.node(Op::Rescale { shift: 1 }, &[c]);
    let input = b.random_input(60, 100);
    check("selections", b.finish(&[y]), vec![input]);
}

#[test]
fn maxpool_as_max_of_slices_and_min() {
    let mut b = Builder::new(11);
    let x = b.input(&[1, 2, 4, 4], 6);
    let corner = |b: &mut Builder, i: usize, j: usize| {
        b.node(
            Op::Slice {
                starts: vec![0, 0, i, j],
                ends: vec![1, 2, 4, 4],
                steps: vec![1, 1, 2, 2],
            },
            &[x],
        )
    };
    let (c00, c01, c10, c11) = (
        corner(&mut b, 0, 0),
        corner(&mut b, 0, 1),
        corner(&mut b, 1, 0),
        corner(&mut b, 1, 1),
    );
    let m0 = b.node(Op::Max, &[c00, c01]);
    let m1 = b.node(Op::Max, &[c10, c11]);
    let pooled = b.node(Op::Max, &[m0, m1]);
    let zero = b.tensor("zero", &[1], 6, TensorKind::Const(vec![0]));
    let clipped = b.node(Op::Min, &[pooled, zero]);
    let y = b.node(Op::Rescale { shift: 0 }, &[clipped]);
    let input = b.random_input(32, 500);
    check("maxpool", b.finish(&[y, pooled]), vec![input]);
}

#[test]
fn divisions_by_constants() {
    let mut b = Builder::new(12);
    let x = b.input(&[2, 7], 4);
    let w = b.weights(&[5, 7], 4, 40);
    let h = b.node(Op::MatMul, &[x, w]);
    let mean = b.node(Op::DivRound { divisor: 7 }, &[h]);
    let floor = b.node(Op::DivFloor { divisor: 1_000_003 }, &[h]);
    let input = b.random_input(14, 100);
    check("divconst", b.finish(&[mean, floor]), vec![input]);
}

#[test]
fn softmax_with_a_variable_division() {
    let mut b = Builder::new(13);
    let x = b.input(&[3, 4], 8);
    let m = b.node(
        Op::ReduceSum {
            axes: vec![1],
            keepdims: true,
        },
        &[x],
    );
    let mean = b.node(Op::DivRound { divisor: 4 }, &[m]);
    let centred = b.node(Op::Sub, &[x, mean]);
    let q = b.node(Op::Rescale { shift: 0 }, &[centred]);
    let e = b.node(lookup(LookupKind::Exp, 8, 8), &[q]);
    let sum = b.node(
        Op::ReduceSum {
            axes: vec![1],
            keepdims: true,
        },
        &[e],
    );
    let soft = b.node(Op::Div { shift: 8 }, &[e, sum]);
    let input = b.random_input(12, 300);
    check("softmax", b.finish(&[soft]), vec![input]);
}

#[test]
fn wide_comparisons_and_the_scoring_curve() {
    let mut b = Builder::new(14);
    // Integer inputs far outside the activation range (response times scaled by 1e8).
    let rt = b.input(&[8], 0);
    let lim = b.tensor("limit", &[1], 0, TensorKind::Const(vec![3_000_000_000]));
    let d = b.node(Op::Sub, &[rt, lim]);
    let slow = b.node(
        Op::WideLookup {
            f: omron_ir::ExactFn::Step,
            lo: -(1 << 40),
            hi: 1 << 40,
        },
        &[d],
    );
    let norm = b.node(Op::DivFloor { divisor: 64 }, &[rt]);
    let curve = b.node(
        Op::WideLookup {
            f: omron_ir::ExactFn::Sn2ResponseCurve,
            lo: 0,
            hi: 99_000_001,
        },
        &[norm],
    );
    let input: Vec<i64> = (0..8).map(|i| 600_000_000 * i + 12_345).collect();
    check("wide", b.finish(&[slow, curve]), vec![input]);
}
