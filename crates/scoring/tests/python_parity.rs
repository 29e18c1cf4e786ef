//! Bit-for-bit parity with CPython and with the reference's integer scoring model.
//!
//! Each test runs `tests/python/parity.py MODE DIR` with the system `python3` (standard library
//! only) and compares this crate's results with the JSON it prints. `DIR` is
//! `../shared/data/omron` from the project root, which holds the reference's `score_model.py`.
//! A missing `python3` or reference file fails the test: nothing is skipped silently.

use std::path::PathBuf;
use std::process::Command;

use omron_scoring::{
    CircuitItem, IncentiveParams, PyRandom, ScoringError, convert_weights_and_uids_for_emit,
    evaluate_batch, hash_hex, input_hash, is_valid_axon_ip,
    py_json::{dumps_sorted, float_repr},
    response_curve, scale_float, score_from_scaled,
};
use serde_json::{Map, Value};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn reference_dir() -> PathBuf {
    manifest_dir().join("../../../shared/data/omron")
}

fn run_python(mode: &str) -> Value {
    let script = manifest_dir().join("tests/python/parity.py");
    let reference = reference_dir();
    assert!(
        reference.join("score_model.py").is_file(),
        "the reference scoring model is missing: expected {}",
        reference.join("score_model.py").display()
    );
    let output = Command::new("python3")
        .arg(&script)
        .arg(mode)
        .arg(&reference)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "python3 parity.py {mode} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("parity.py prints one JSON document")
}

/// A float's bit pattern sent as hex text (floats never travel as JSON numbers here, so the
/// comparison does not depend on serde_json's float parser).
fn hex_u64(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("hex text"), 16).expect("hex bits")
}

fn u64_of(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a u64: {}", v[key]))
}

#[test]
fn incentive_batches_match_the_reference_model_bit_for_bit() {
    let doc = run_python("incentive");
    let batches = doc["batches"].as_array().expect("batches");
    assert_eq!(batches.len(), 4000);
    let (mut ok, mut failed, mut items_checked) = (0, 0, 0);
    for (b, batch) in batches.iter().enumerate() {
        let p = &batch["params"];
        let params = IncentiveParams {
            rate_of_decay: u64_of(p, "RD"),
            rate_of_recovery: u64_of(p, "RR"),
            response_time_weight: u64_of(p, "RTW"),
            maximum_response_time_decimal: u64_of(p, "MAXD"),
            competition_weight: u64_of(p, "CW"),
            ..IncentiveParams::default()
        };
        let items: Vec<CircuitItem> = batch["items"]
            .as_array()
            .expect("items")
            .iter()
            .enumerate()
            .map(|(i, it)| CircuitItem {
                maximum_score: u64_of(it, "ms"),
                previous_score: u64_of(it, "prev"),
                verified: u64_of(it, "v"),
                proof_size: 0,
                response_time: u64_of(it, "rt"),
                competition: u64_of(it, "comp"),
                maximum_response_time: u64_of(it, "mx"),
                minimum_response_time: u64_of(it, "mn"),
                block_number: b as i64,
                validator_uid: 0,
                miner_uid: i as i64,
            })
            .collect();
        let result = evaluate_batch(&params, &items);
        match (&batch["error_index"], result) {
            (Value::Null, Ok(out)) => {
                let expected: Vec<u64> = batch["expected"]
                    .as_array()
                    .expect("expected")
                    .iter()
                    .map(|v| v.as_u64().expect("score"))
                    .collect();
                assert_eq!(out.new_score, expected, "batch {b}");
                assert_eq!(out.miner_uid, (0..items.len() as i64).collect::<Vec<_>>());
                items_checked += expected.len();
                ok += 1;
            }
            (Value::Number(index), Err(ScoringError::BatchItem { index: got, .. })) => {
                assert_eq!(Some(got as u64), index.as_u64(), "batch {b}: failing item");
                failed += 1;
            }
            (expected, got) => {
                panic!("batch {b}: reference error index {expected}, ours {got:?}")
            }
        }
    }
    // The generator must exercise both outcomes a lot.
    assert!(ok > 3000 && failed > 500, "ok {ok}, failed {failed}");
    assert!(items_checked > 24_000);

    for pair in doc["curve"].as_array().expect("curve") {
        let norm = pair[0].as_u64().expect("norm");
        let expected: u128 = pair[1]
            .as_str()
            .expect("decimal text")
            .parse()
            .expect("integer");
        assert_eq!(
            response_curve(norm).expect("in range"),
            expected,
            "f({norm})"
        );
    }
}

#[test]
fn float32_scaling_and_score_round_trip_match_python() {
    let doc = run_python("scaling");
    for pair in doc["floats"].as_array().expect("floats") {
        let x = f64::from_bits(hex_u64(&pair[0]));
        let expected = pair[1].as_u64().expect("scaled");
        assert_eq!(
            scale_float("x", f64::from(x as f32)).expect("scalable"),
            expected,
            "int(float32({x}) * 1e8)"
        );
    }
    for triple in doc["scores"].as_array().expect("scores") {
        let w = triple[0].as_u64().expect("w");
        let s32 = f32::from_bits(hex_u64(&triple[1]) as u32);
        let rescaled = triple[2].as_u64().expect("rescaled");
        let ours = score_from_scaled(w);
        assert_eq!(ours.to_bits(), s32.to_bits(), "score of witness value {w}");
        assert_eq!(
            scale_float("previous_score", f64::from(ours)).expect("scalable"),
            rescaled
        );
    }
}

fn seed_bytes(hex_seed: &str) -> Vec<u8> {
    let digits = hex_seed.trim_start_matches("0x");
    let padded = format!("{digits:0>64}");
    hex::decode(padded).expect("seed hex")
}

#[test]
fn mersenne_twister_and_shuffle_match_cpython() {
    let doc = run_python("shuffle");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 20);
    for case in cases {
        let seed_hex = case["seed_hex"].as_str().expect("seed");
        let bytes = seed_bytes(seed_hex);
        if let Some(text) = case["text"].as_str() {
            // The validator's path: sha256 of the block-hash text.
            use sha2::Digest;
            assert_eq!(sha2::Sha256::digest(text.as_bytes()).to_vec(), bytes);
        }
        for n in [1usize, 2, 10, 256, 1000] {
            let expected: Vec<u64> = case[format!("shuffle_{n}")]
                .as_array()
                .expect("shuffle")
                .iter()
                .map(|v| v.as_u64().expect("uid"))
                .collect();
            let mut ours: Vec<u64> = (0..n as u64).collect();
            PyRandom::from_be_bytes(&bytes).shuffle(&mut ours);
            assert_eq!(ours, expected, "seed {seed_hex}, n {n}");
        }
        let mut rng = PyRandom::from_be_bytes(&bytes);
        for pair in case["bits"].as_array().expect("bits") {
            let k = pair[0].as_u64().expect("k") as u32;
            // Values above 2^64 do not fit serde_json's integers: parity.py sends decimal text.
            let expected = pair[1].as_str().expect("decimal text");
            assert_eq!(
                rng.getrandbits(k).to_string(),
                expected,
                "seed {seed_hex}, k {k}"
            );
        }
        let expected_random = f64::from_bits(hex_u64(&case["random"]));
        assert_eq!(
            PyRandom::from_be_bytes(&bytes).random().to_bits(),
            expected_random.to_bits()
        );
    }
}

/// Rebuilds a value encoded by parity.py's `encode`: floats travel as their bit patterns and
/// objects as key/value lists, so nothing depends on JSON float parsing or map order.
fn decode(v: &Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(decode).collect()),
        Value::Object(map) => {
            if let Some(bits) = map.get("__f64").and_then(Value::as_str) {
                let raw = u64::from_str_radix(bits, 16).expect("f64 bits");
                let x = f64::from_bits(raw);
                return serde_json::Number::from_f64(x)
                    .map(Value::Number)
                    .expect("finite float");
            }
            let pairs = map["__dict"].as_array().expect("dict pairs");
            let mut out = Map::new();
            for pair in pairs {
                out.insert(pair[0].as_str().expect("key").to_owned(), decode(&pair[1]));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[test]
fn json_dumps_float_repr_and_input_hash_match_cpython() {
    let doc = run_python("hashing");
    let cases = doc["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 1500);
    for (i, case) in cases.iter().enumerate() {
        let value = decode(&case["value"]);
        let expected = case["dumps"].as_str().expect("dumps");
        assert_eq!(dumps_sorted(&value), expected, "case {i}");
        assert_eq!(
            hash_hex(&input_hash(&value)),
            case["sha256"].as_str().expect("sha256"),
            "case {i}"
        );
    }
    let reprs = doc["reprs"].as_array().expect("reprs");
    assert!(reprs.len() > 4900);
    for pair in reprs {
        let x =
            f64::from_bits(u64::from_str_radix(pair[0].as_str().expect("bits"), 16).expect("hex"));
        assert_eq!(
            float_repr(x),
            pair[1].as_str().expect("repr"),
            "repr of {x:e}"
        );
    }
}

#[test]
fn weight_conversion_matches_the_sdk_formula() {
    let doc = run_python("weights");
    for (i, case) in doc["cases"].as_array().expect("cases").iter().enumerate() {
        let weights: Vec<f32> = case["weights"]
            .as_array()
            .expect("weights")
            .iter()
            .map(|h| {
                f32::from_bits(u32::from_str_radix(h.as_str().expect("bits"), 16).expect("hex"))
            })
            .collect();
        let uids: Vec<u16> = (0..weights.len() as u16).collect();
        let out = convert_weights_and_uids_for_emit(&uids, &weights).expect("valid weights");
        let expected_uids: Vec<u16> = serde_json::from_value(case["uids"].clone()).expect("uids");
        let expected_values: Vec<u16> =
            serde_json::from_value(case["values"].clone()).expect("values");
        assert_eq!(out.uids, expected_uids, "case {i}");
        assert_eq!(out.weights, expected_values, "case {i}");
    }
}

#[test]
fn axon_ip_rules_match_python_ipaddress() {
    let doc = run_python("ips");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() > 20_000);
    for pair in cases {
        let ip = pair[0].as_str().expect("ip");
        let expected = pair[1].as_bool().expect("flag");
        assert_eq!(is_valid_axon_ip(ip), expected, "{ip:?}");
    }
}
