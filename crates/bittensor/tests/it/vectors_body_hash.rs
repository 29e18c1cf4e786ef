//! `body_hash_vectors.json`: every case parsed from the wire JSON and hashed like the SDK.

use omron_bittensor::body_hash::{EMPTY_BODY_HASH, body_hash, body_hash_of, sha3_hex};
use omron_bittensor::json::{JsonValue, parse, python_str};
use omron_bittensor::synapse::{Envelope, Synapse};
use serde::{Deserialize, Serialize};

use crate::common::load_json;

#[test]
fn query_input_cases_match_cpython_str_and_sha3() {
    let vectors = load_json("body_hash_vectors.json");
    assert_eq!(vectors["empty_hash"].as_str().unwrap(), EMPTY_BODY_HASH);
    let cases = vectors["query_zk_proof"].as_array().unwrap();
    assert!(cases.len() >= 14);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        // Both the JSON the SDK sends (ASCII-escaped) and the raw UTF-8 form must agree.
        for field in ["query_input_wire_json_ascii", "query_input_json"] {
            let value = parse(case[field].as_str().unwrap().as_bytes()).unwrap();
            let text = python_str(&value);
            assert_eq!(
                text,
                case["str_value"].as_str().unwrap(),
                "{name} ({field})"
            );
            assert_eq!(
                hex::encode(text.as_bytes()),
                case["str_value_utf8_hex"].as_str().unwrap(),
                "{name}"
            );
            assert_eq!(
                sha3_hex(text.as_bytes()),
                case["field_hash"].as_str().unwrap(),
                "{name}"
            );
            assert_eq!(
                body_hash([&value]),
                case["body_hash"].as_str().unwrap(),
                "{name}"
            );
        }
    }
}

/// The vectors' multi-field model: pydantic coerces `c_float=1` to `1.0` before hashing, which a
/// typed `f64` field reproduces.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Multi {
    a_str: String,
    b_int: i64,
    c_float: f64,
    d_list: Vec<JsonValue>,
    e_opt: Option<String>,
    f_bool: bool,
    g_floats: Vec<f64>,
}

impl Default for Multi {
    fn default() -> Self {
        Self {
            a_str: String::new(),
            b_int: 0,
            c_float: 0.0,
            d_list: Vec::new(),
            e_opt: None,
            f_bool: false,
            g_floats: Vec::new(),
        }
    }
}

impl Synapse for Multi {
    const NAME: &'static str = "MultiHash";
    const REQUIRED_HASH_FIELDS: &'static [&'static str] = &[
        "c_float", "a_str", "d_list", "e_opt", "b_int", "f_bool", "g_floats",
    ];
}

#[test]
fn multi_field_cases_follow_tuple_order_and_pydantic_coercion() {
    let vectors = load_json("body_hash_vectors.json");
    for case in vectors["multi_hash"].as_array().unwrap() {
        let order: Vec<&str> = case["hash_fields_in_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(order, Multi::REQUIRED_HASH_FIELDS);
        // Start from the defaults and apply the kwargs, as the Python class does.
        let mut object = omron_bittensor::json::to_value(&Multi::default()).unwrap();
        let kwargs = parse(case["input_kwargs"].to_string().as_bytes()).unwrap();
        if let (JsonValue::Object(o), JsonValue::Object(k)) = (&mut object, kwargs) {
            for (key, value) in k {
                o.insert(key, value);
            }
        }
        let envelope = Envelope::<Multi>::from_value(object).unwrap();
        let fields = envelope.fields_object().unwrap();
        let strs: Vec<String> = order
            .iter()
            .map(|f| python_str(fields.get(f).unwrap()))
            .collect();
        let want: Vec<&str> = case["str_values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(strs, want);
        assert_eq!(
            envelope.body_hash().unwrap(),
            case["body_hash"].as_str().unwrap()
        );
    }
}

#[test]
fn legacy_field_style_hashes_in_definition_order() {
    let vectors = load_json("body_hash_vectors.json");
    let case = &vectors["legacy_field_style"][0];
    let object = parse(br#"{"x": "X", "y": "Y"}"#).unwrap();
    let order: Vec<&str> = case["order_used"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        body_hash_of(object.as_object().unwrap(), &order).unwrap(),
        case["body_hash"].as_str().unwrap()
    );
}
