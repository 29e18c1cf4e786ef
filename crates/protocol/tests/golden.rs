//! Golden vectors: the real SDK's `QueryZkProof` exchange (`dumps/02_success_query_zk_proof`)
//! parses into our types, keeping the values the SDK hashed.
//!
//! The capture harness declared `required_hash_fields = ("query_input",)`, unlike the original
//! subnet (and so unlike our [`QueryZkProof`], which hashes nothing). Re-hashing our parse of
//! `query_input` as the harness did must give the signed `computed_body_hash`: that shows the
//! values survive our types exactly; our own body hash is `H("")`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use omron_bittensor::body_hash::{EMPTY_BODY_HASH, body_hash_of};
use omron_bittensor::json::{JsonValue, parse};
use omron_bittensor::synapse::Envelope;
use omron_protocol::QueryZkProof;

fn dump(file: &str) -> (String, Vec<u8>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/bittensor-wire/dumps/02_success_query_zk_proof")
        .join(file);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP message");
    (
        String::from_utf8(raw[..split].to_vec()).unwrap(),
        raw[split + 4..].to_vec(),
    )
}

/// The hash the capture harness signed: over `query_input` only.
const HARNESS_HASH_FIELDS: &[&str] = &["query_input"];

fn harness_hash(env: &Envelope<QueryZkProof>) -> String {
    body_hash_of(&env.fields_object().unwrap(), HARNESS_HASH_FIELDS).unwrap()
}

fn header<'a>(head: &'a str, name: &str) -> &'a str {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[test]
fn request_body_parses_and_rehashes_to_the_signed_hash() {
    let (head, body) = dump("request.raw.txt");
    let signed = header(&head, "computed_body_hash");
    let env = Envelope::<QueryZkProof>::from_value(parse(&body).unwrap()).unwrap();
    let input = env.synapse.query_input.as_ref().unwrap();
    assert_eq!(input.model_id(), Some("mnist-v1"));
    assert_eq!(
        input.public_inputs(),
        &JsonValue::Array(vec![
            JsonValue::Int(1),
            JsonValue::Int(2),
            JsonValue::Int(3)
        ])
    );
    assert_eq!(env.synapse.query_output, None);
    assert_eq!(harness_hash(&env), signed);
    assert_eq!(env.body_hash().unwrap(), EMPTY_BODY_HASH);
    assert_eq!(env.base.timeout, Some(12.0));
    assert_eq!(
        env.base.dendrite.hotkey.as_deref(),
        Some("5FRY4og7L7mGTAwKWB2sBok3ABR3scCkn7Za79zTn3H8BsgH")
    );
    // Our serialisation of it reads back identically and keeps the hash.
    let again = Envelope::<QueryZkProof>::from_value(parse(&env.to_json_bytes().unwrap()).unwrap())
        .unwrap();
    assert_eq!(again, env);
    assert_eq!(harness_hash(&again), signed);
}

#[test]
fn response_body_parses_with_the_output_and_same_hash() {
    let (head, body) = dump("response.raw.txt");
    let env = Envelope::<QueryZkProof>::from_value(parse(&body).unwrap()).unwrap();
    assert_eq!(
        env.synapse.query_output.as_deref(),
        Some("proof:53bdcf7a13fc1a99b603ff53739052d28dc03c842ad920c4fecaf5b9e781c887")
    );
    assert_eq!(env.base.axon.status_code, Some(200));
    assert_eq!(harness_hash(&env), header(&head, "computed_body_hash"));
    assert_eq!(env.body_hash().unwrap(), EMPTY_BODY_HASH);
}
