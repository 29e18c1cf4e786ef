//! The SN2 scoring circuit is bit-exact with the reference arithmetic (`omron-scoring`, itself
//! checked against the reference's Python on thousands of batches), and proves and verifies.

#![allow(clippy::unwrap_used)]

mod common;

use common::tamper::{Refusals, end_cells, flips_at, one_bit_off, spread_flips};
use omron_circuit::Circuit;
use omron_circuit::pow::sn2::{Sn2Inputs, sn2_graph};
use omron_scoring::{CircuitInputs, PowItem};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_item(rng: &mut ChaCha8Rng) -> PowItem {
    match rng.gen_range(0..10) {
        0 => PowItem::empty(),
        1 => PowItem::for_competition(rng.r#gen(), 1.0 / 256.0, rng.r#gen(), 5_000_000, 3),
        _ => {
            let min = rng.gen_range(0.0..30.0f32);
            let max = min + rng.gen_range(0.5..60.0f32);
            let verified = rng.gen_bool(0.7);
            // Some responses are slower than the window's maximum, some exactly at the bounds.
            let rt = match rng.gen_range(0..6) {
                0 => min,
                1 => max,
                2 => max + rng.gen_range(0.0..40.0f32),
                _ => rng.gen_range(min..max),
            };
            let maximum_score = 1.0 / 256.0f32;
            PowItem {
                maximum_score,
                previous_score: rng.gen_range(0.0..maximum_score * 1.2),
                verified,
                proof_size: rng.gen_range(0..200_000),
                response_time: if verified { rt } else { max.max(min + 1.0) },
                competition: 0.0,
                maximum_response_time: max.max(min + 1.0),
                minimum_response_time: min,
                block_number: rng.gen_range(3_000_000..10_000_000),
                validator_uid: rng.gen_range(0..256),
                miner_uid: rng.gen_range(0..256),
            }
        }
    }
}

fn batch(rng: &mut ChaCha8Rng, n: usize) -> CircuitInputs {
    let items: Vec<PowItem> = (0..n).map(|_| random_item(rng)).collect();
    let nonce: [u16; 16] = std::array::from_fn(|_| rng.r#gen());
    CircuitInputs::from_pow_items(&items, n, &nonce).unwrap()
}

#[test]
fn the_circuit_graph_matches_the_reference_arithmetic() {
    let n = 16;
    let graph = sn2_graph(n).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let mut compared = 0;
    for _ in 0..1500 {
        let inputs = batch(&mut rng, n);
        let reference = inputs.evaluate().unwrap();
        let columns = Sn2Inputs::new(&inputs, n).unwrap().columns;
        let outputs = omron_ir::execute(&graph, &columns).unwrap().outputs(&graph);
        let got: Vec<u64> = outputs[0].iter().map(|&v| v as u64).collect();
        assert_eq!(got, reference.new_score);
        assert_eq!(outputs[1], reference.block_number);
        assert_eq!(outputs[2], reference.miner_uid);
        assert_eq!(outputs[3], reference.validator_uid);
        compared += n;
    }
    assert_eq!(compared, 24_000);
}

#[test]
fn reference_vectors_a_to_d() {
    // min 5 s, max 15 s, max score int(1/256 * 1e8) = 390625 (section 5.4 of the reference).
    let cases = [
        (true, 5.0f32, 0.0f32, 39_062u64),
        (true, 10.0, 0.0, 19_531),
        (false, 15.0, 0.003, 180_000),
        (true, 10.0, 0.00390625, 371_094),
    ];
    let items: Vec<PowItem> = cases
        .iter()
        .map(|&(verified, rt, prev, _)| PowItem {
            maximum_score: 1.0 / 256.0,
            previous_score: prev,
            verified,
            proof_size: 0,
            response_time: rt,
            competition: 0.0,
            maximum_response_time: 15.0,
            minimum_response_time: 5.0,
            block_number: 1,
            validator_uid: 0,
            miner_uid: 7,
        })
        .collect();
    let inputs = CircuitInputs::from_pow_items(&items, 4, &[0; 16]);
    // The nonce slots need 16 items; build the columns directly instead.
    let inputs = match inputs {
        Ok(i) => i,
        Err(_) => {
            let mut padded = items.clone();
            padded.extend(std::iter::repeat_n(PowItem::empty(), 12));
            CircuitInputs::from_pow_items(&padded, 16, &[0; 16]).unwrap()
        }
    };
    let n = inputs.maximum_score.len();
    let graph = sn2_graph(n).unwrap();
    let columns = Sn2Inputs::new(&inputs, n).unwrap().columns;
    let outputs = omron_ir::execute(&graph, &columns).unwrap().outputs(&graph);
    for (i, &(_, _, _, want)) in cases.iter().enumerate() {
        // Float32 scaling of the previous score can cost one unit (see docs/scoring.md).
        let got = outputs[0][i] as u64;
        assert!(got.abs_diff(want) <= 1, "vector {i}: {got} vs {want}");
        assert_eq!(got, inputs.evaluate().unwrap().new_score[i]);
    }
}

#[test]
fn out_of_domain_inputs_are_refused() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut inputs = batch(&mut rng, 16);
    inputs.rate_of_decay += 1;
    assert!(Sn2Inputs::new(&inputs, 16).is_err());
    let mut inputs = batch(&mut rng, 16);
    inputs.response_time[3] = inputs.minimum_response_time[3].saturating_sub(1);
    if inputs.minimum_response_time[3] > 0 {
        assert!(Sn2Inputs::new(&inputs, 16).is_err());
    }
    assert!(
        Sn2Inputs::new(&batch(&mut rng, 16), 32).is_err(),
        "wrong batch size"
    );
}

#[test]
fn a_256_batch_proves_verifies_and_rejects_tampering() {
    let n = 256;
    let circuit = Circuit::compile("sn2-pow-256", sn2_graph(n).unwrap()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let inputs = batch(&mut rng, n);
    let columns = Sn2Inputs::new(&inputs, n).unwrap().columns;
    let proof = circuit.prove(&columns, b"ctx").unwrap();
    let outputs = circuit.verify(&columns, &proof.proof, b"ctx").unwrap();
    let want: Vec<i64> = inputs
        .evaluate()
        .unwrap()
        .new_score
        .iter()
        .map(|&v| v as i64)
        .collect();
    assert_eq!(outputs[0], want);
    let mut refusals = Refusals::new("sn2-pow-256");
    let verify = |p: &[u8]| circuit.verify(&columns, p, b"ctx");
    let len = proof.proof.len();
    let mut flips = flips_at(&[0, 100, len / 2, len - 10], 2);
    flips.extend(spread_flips(len, 64));
    refusals.flipped(&proof.proof, &flips, verify);
    refusals.resized(&proof.proof, verify);
    // [1][5]: a different previous score; then the ends of every column.
    let mut cells = vec![(1, 5)];
    cells.extend(end_cells(&columns));
    refusals.nudged_each("input", &columns, &cells, |other| {
        circuit.verify(other, &proof.proof, b"ctx")
    });
    let mut contexts = vec![b"ctx2".to_vec(), Vec::new()];
    contexts.extend(one_bit_off(b"ctx").iter().map(|c| c.to_vec()));
    refusals.other_contexts(&contexts, |c| circuit.verify(&columns, &proof.proof, c));
    refusals.finish();
}
