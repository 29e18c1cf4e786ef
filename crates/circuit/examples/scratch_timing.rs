#![allow(missing_docs, clippy::unwrap_used)]
use omron_circuit::Circuit;
use omron_ir::{ConvAttrs, Graph, LookupFn, LookupKind, Node, Op, TensorDef, TensorKind};
use std::time::Instant;

fn t(g: &mut Graph, shape: &[usize], scale: u32, kind: TensorKind) -> usize {
    g.tensors.push(TensorDef {
        name: "t".into(),
        shape: shape.to_vec(),
        scale,
        kind,
    });
    g.tensors.len() - 1
}
fn node(g: &mut Graph, op: Op, inputs: &[usize]) -> usize {
    let defs: Vec<&TensorDef> = inputs.iter().map(|&i| &g.tensors[i]).collect();
    let shape = op.output_shape("n", &defs).unwrap();
    let scale = op.output_scale(&defs);
    let out = t(g, &shape, scale, TensorKind::Computed);
    g.nodes.push(Node {
        name: format!("n{}", g.nodes.len()),
        op,
        inputs: inputs.to_vec(),
        output: out,
    });
    out
}
fn w(n: usize, seed: u64) -> Vec<i64> {
    (0..n)
        .map(|i| (((i as u64).wrapping_mul(2654435761).wrapping_add(seed)) % 121) as i64 - 60)
        .collect()
}

fn main() {
    let relu = Op::Lookup(LookupFn {
        kind: LookupKind::Relu,
        in_scale: 7,
        out_scale: 7,
    });
    // mlp_mnist
    let mut g = Graph {
        tensors: vec![],
        nodes: vec![],
        inputs: vec![],
        outputs: vec![],
    };
    let x = t(&mut g, &[1, 784], 7, TensorKind::Input);
    g.inputs.push(x);
    let w1 = t(&mut g, &[128, 784], 7, TensorKind::Const(w(128 * 784, 1)));
    let b1 = t(&mut g, &[128], 14, TensorKind::Const(w(128, 2)));
    let h = node(&mut g, Op::MatMul, &[x, w1, b1]);
    let q = node(&mut g, Op::Rescale { shift: 7 }, &[h]);
    let a = node(&mut g, relu.clone(), &[q]);
    let w2 = t(&mut g, &[10, 128], 7, TensorKind::Const(w(1280, 3)));
    let o = node(&mut g, Op::MatMul, &[a, w2]);
    let y = node(&mut g, Op::Rescale { shift: 7 }, &[o]);
    g.outputs.push(y);
    run("mlp_mnist", g, 784);
    // cnn_small
    let mut g = Graph {
        tensors: vec![],
        nodes: vec![],
        inputs: vec![],
        outputs: vec![],
    };
    let x = t(&mut g, &[1, 1, 28, 28], 7, TensorKind::Input);
    g.inputs.push(x);
    let wc = t(&mut g, &[4, 1, 3, 3], 7, TensorKind::Const(w(36, 4)));
    let bc = t(&mut g, &[4], 14, TensorKind::Const(w(4, 5)));
    let c = node(
        &mut g,
        Op::Conv(ConvAttrs {
            strides: [1, 1],
            pads: [0; 4],
            dilations: [1, 1],
            group: 1,
        }),
        &[x, wc, bc],
    );
    let q = node(&mut g, Op::Rescale { shift: 7 }, &[c]);
    let a = node(&mut g, relu, &[q]);
    let f = node(
        &mut g,
        Op::Reshape {
            shape: vec![1, 2704],
        },
        &[a],
    );
    let w2 = t(&mut g, &[10, 2704], 7, TensorKind::Const(w(27040, 6)));
    let o = node(&mut g, Op::MatMul, &[f, w2]);
    let y = node(&mut g, Op::Rescale { shift: 7 }, &[o]);
    g.outputs.push(y);
    run("cnn_small", g, 784);
}

fn run(name: &str, g: Graph, n: usize) {
    let c = Circuit::compile(name, g).unwrap();
    let input = vec![(0..n).map(|i| (i % 200) as i64 - 50).collect::<Vec<_>>()];
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let p = c.prove(&input, b"").unwrap();
    if std::env::var("VERIFY_ONLY").is_ok() {
        for _ in 0..reps {
            c.verify(&input, &p.proof, b"").unwrap();
        }
        return;
    }
    for _ in 0..reps {
        let t0 = Instant::now();
        let p = c.prove(&input, b"").unwrap();
        let t1 = Instant::now();
        c.verify(&input, &p.proof, b"").unwrap();
        let t2 = Instant::now();
        println!(
            "{name}: prove {:?} verify {:?} size {} committed {} vars {}",
            t1 - t0,
            t2 - t1,
            p.proof.len(),
            c.plan().committed_len(),
            c.plan().commit_vars
        );
    }
}
