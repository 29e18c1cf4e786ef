//! `cargo bench -p omron-circuit`: proving and verifying every circuit shipped in `circuits/`
//! with a benchmark request drawn by its own input generator (as a validator would send it).
//!
//! Filter with criterion's usual argument, e.g. `cargo bench -p omron-circuit -- lstm` (or
//! `-- age`, `-- nanogpt`). Each circuit's proof size is printed before its timings.
//! `omron bench` prints the same figures as a table; `docs/benchmarks.md` records both and
//! the EZKL side-by-side runs.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use omron_circuit::{CircuitStore, StoredCircuit};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// The miner hotkey bound into every benchmark proof.
const MINER: [u8; 32] = [7; 32];

fn bench_circuit(c: &mut Criterion, circuit: &StoredCircuit) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let name = circuit.path.file_name().map_or_else(
        || circuit.metadata.name.clone(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut group = c.benchmark_group(name.clone());
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    if let Some(inputs) = circuit.generate_pow_inputs(&mut rng) {
        let (proof, outputs) = circuit
            .prove_pow(&inputs, &MINER)
            .expect("shipped circuit proves its benchmark batch");
        println!("{name}/proof: {} bytes", proof.len());
        group.bench_function("prove", |b| {
            b.iter(|| circuit.prove_pow(black_box(&inputs), &MINER))
        });
        group.bench_function("verify", |b| {
            b.iter(|| circuit.verify_pow(black_box(&inputs), &MINER, &proof, Some(&outputs)))
        });
    } else {
        let input = circuit.generate_input(&mut rng);
        let (proof, _) = circuit
            .prove_request(&input, &MINER)
            .expect("shipped circuit proves its benchmark input");
        println!("{name}/proof: {} bytes", proof.len());
        group.bench_function("prove", |b| {
            b.iter(|| circuit.prove_request(black_box(&input), &MINER))
        });
        group.bench_function("verify", |b| {
            b.iter(|| circuit.verify_response(black_box(&input), &MINER, &proof, None))
        });
    }
    group.finish();
}

fn shipped_circuits(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../circuits");
    let store = CircuitStore::load(&dir).expect("circuits/ loads");
    for circuit in store.iter() {
        bench_circuit(c, circuit);
    }
}

criterion_group!(benches, shipped_circuits);
criterion_main!(benches);
