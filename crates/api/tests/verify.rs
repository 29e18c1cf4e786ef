//! `omron_api::verify` with real proofs: a miner (`//Bob`) proves a request with a shipped
//! circuit, a validator (`//Alice`) answers with a signed receipt exactly as the API server
//! builds one, and the app's check must accept that answer and reject every way a validator or
//! a miner could bend it: another proof, output, input, nonce, miner, signer, circuit, or a
//! receipt field changed after signing.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::OnceLock;

use omron_api::receipt::RECEIPT_VERSION;
use omron_api::rpc::{PROOF_OF_COMPUTATION, PROOF_OF_WEIGHTS};
use omron_api::{
    AnswerError, AppRequest, InferenceResult, ProofContext, ReceiptError, UnsignedReceipt,
    canonical, check_answer, verify_receipt,
};
use omron_circuit::{RequestInput, StoredCircuit};
use omron_keys::Keypair;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

fn key(uri: &str) -> Keypair {
    Keypair::from_uri(uri).unwrap()
}

fn miner() -> Keypair {
    key("//Bob")
}

fn validator() -> Keypair {
    key("//Alice")
}

fn load(name: &str) -> StoredCircuit {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../circuits")
        .join(name);
    StoredCircuit::load(&dir).unwrap()
}

/// What a proof was made of, and the answer a validator gives for it.
struct Proven {
    circuit: StoredCircuit,
    /// What the app sent (`input` or `evaluation_data`).
    app: Value,
    /// The exact input proven (the app's input with the validator's nonce, or the batch).
    proven: Value,
    proof: Vec<u8>,
    result: InferenceResult,
}

impl Proven {
    fn request(&self) -> AppRequest<'_> {
        if self.circuit.is_proof_of_weights() {
            AppRequest::Weights {
                evaluation_data: &self.app,
            }
        } else {
            AppRequest::Computation { input: &self.app }
        }
    }

    fn check(&self, result: &InferenceResult) -> Result<omron_api::VerifiedAnswer, AnswerError> {
        check_answer(&self.circuit, self.request(), result)
    }
}

/// The answer a validator builds once the miner's proof verified: the result's fields, and a
/// receipt over the proven input's canonical hash and the proof bytes' hash.
fn answer(
    circuit: &StoredCircuit,
    proven: &Value,
    nonce: Option<String>,
    proof: &[u8],
    output: Value,
    miner_hotkey: &str,
) -> InferenceResult {
    let method = if circuit.is_proof_of_weights() {
        PROOF_OF_WEIGHTS
    } else {
        PROOF_OF_COMPUTATION
    };
    let request_hash = canonical::hash(&json!({"method": method, "params": proven}));
    let receipt = UnsignedReceipt {
        version: RECEIPT_VERSION,
        request_hash: request_hash.clone(),
        method: method.into(),
        circuit_id: circuit.id(),
        input_hash: canonical::hash(proven),
        output: output.clone(),
        proof_hash: canonical::sha256_hex(proof),
        miner_uid: 1,
        miner_hotkey: miner_hotkey.into(),
        validator_hotkey: validator().public().to_ss58(),
        netuid: 2,
        block: 1_000,
        issued_at: 1_700_000_000,
    }
    .sign(&validator());
    InferenceResult {
        hash: request_hash,
        public_signals: canonical::to_string(&output),
        proof: hex::encode(proof),
        success: true,
        circuit_id: circuit.id(),
        circuit_name: circuit.metadata.name.clone(),
        miner_uid: 1,
        miner_hotkey: miner_hotkey.into(),
        output,
        context: ProofContext {
            input: proven.clone(),
            nonce,
            miner_hotkey: miner_hotkey.into(),
        },
        receipt,
        attempts: 1,
    }
}

/// Proves `app` (`{"input_data": ...}`, with or without the app's own nonce) with mnist-mlp
/// as `//Bob`; the validator draws the nonce when the app gave none.
fn prove_mnist(app: Value, validator_nonce: &str) -> Proven {
    let circuit = load("mnist-mlp");
    let (input_data, own_nonce) = omron_api::verify::read_app_input(&app).unwrap();
    let nonce = own_nonce.unwrap_or_else(|| validator_nonce.to_owned());
    let request = RequestInput {
        input_data,
        nonce: nonce.clone(),
    };
    let proven = serde_json::to_value(&request).unwrap();
    let bob = miner().public();
    let (proof, output) = circuit.prove_request(&request, bob.as_bytes()).unwrap();
    let result = answer(
        &circuit,
        &proven,
        Some(nonce),
        &proof,
        json!(output),
        &bob.to_ss58(),
    );
    Proven {
        circuit,
        app,
        proven,
        proof,
        result,
    }
}

/// One mnist-mlp answer shared by the tests (the validator drew the nonce).
fn mnist() -> &'static Proven {
    static CELL: OnceLock<Proven> = OnceLock::new();
    CELL.get_or_init(|| {
        let circuit = load("mnist-mlp");
        let drawn = circuit.generate_input(&mut ChaCha8Rng::seed_from_u64(7));
        prove_mnist(json!({"input_data": drawn.input_data}), &drawn.nonce)
    })
}

/// One sn2-pow-256 answer shared by the tests.
fn sn2() -> &'static Proven {
    static CELL: OnceLock<Proven> = OnceLock::new();
    CELL.get_or_init(|| {
        let circuit = load("sn2-pow-256");
        let batch = circuit
            .generate_pow_inputs(&mut ChaCha8Rng::seed_from_u64(11))
            .unwrap();
        let bob = miner().public();
        let (proof, output) = circuit.prove_pow(&batch, bob.as_bytes()).unwrap();
        let result = answer(
            &circuit,
            &batch,
            None,
            &proof,
            json!(output),
            &bob.to_ss58(),
        );
        Proven {
            circuit,
            app: batch.clone(),
            proven: batch,
            proof,
            result,
        }
    })
}

/// Signs the receipt again after its fields were changed, as a lying validator would.
fn resign(result: &mut InferenceResult, signer: &Keypair) {
    result.receipt = result.receipt.body.clone().sign(signer);
}

/// The proof with one byte flipped at `at`.
fn flipped(proof: &[u8], at: usize) -> Vec<u8> {
    let mut p = proof.to_vec();
    p[at] ^= 0x01;
    p
}

/// A few positions spread over the proof: its header, body and last byte.
fn positions(len: usize) -> [usize; 5] {
    [0, 9, len / 3, 2 * len / 3, len - 1]
}

#[track_caller]
fn assert_mismatch(got: Result<omron_api::VerifiedAnswer, AnswerError>, why: &str) {
    match got {
        Err(AnswerError::Mismatch(_)) => {}
        other => panic!("{why}: expected a mismatch, got {other:?}"),
    }
}

#[track_caller]
fn assert_proof_rejected(got: Result<omron_api::VerifiedAnswer, AnswerError>, why: &str) {
    match got {
        Err(AnswerError::Proof(_)) => {}
        other => panic!("{why}: expected the proof to be rejected, got {other:?}"),
    }
}

#[track_caller]
fn assert_bad_signature(got: Result<omron_api::VerifiedAnswer, AnswerError>, why: &str) {
    match got {
        Err(AnswerError::Receipt(ReceiptError::BadSignature(_))) => {}
        other => panic!("{why}: expected a bad receipt signature, got {other:?}"),
    }
}

#[test]
fn a_genuine_answer_is_accepted_and_names_output_miner_and_validator() {
    let m = mnist();
    let ok = m.check(&m.result).unwrap();
    assert_eq!(ok.output, m.result.output);
    assert_eq!(ok.miner, miner().public());
    assert_eq!(ok.validator, validator().public());
    // Through JSON, as the app receives it.
    let text = serde_json::to_string(&m.result).unwrap();
    let back: InferenceResult = serde_json::from_str(&text).unwrap();
    assert_eq!(m.check(&back).unwrap().output, m.result.output);
}

#[test]
fn the_apps_own_nonce_is_accepted_and_another_nonce_rejected() {
    let m = mnist();
    let own = "0123456789abcdef0123456789abcdef";
    let mut app = m.app.clone();
    app["nonce"] = json!(own);
    let p = prove_mnist(app, "unused");
    assert_eq!(p.result.context.nonce.as_deref(), Some(own));
    p.check(&p.result).unwrap();
    // The app's nonce in upper case is the same nonce.
    let mut upper = p.app.clone();
    upper["nonce"] = json!(own.to_ascii_uppercase());
    check_answer(
        &p.circuit,
        AppRequest::Computation { input: &upper },
        &p.result,
    )
    .unwrap();
    // The validator proved the app's input with a nonce of its own instead.
    let mut other = p.app.clone();
    other["nonce"] = json!("fedcba9876543210fedcba9876543210");
    assert_mismatch(
        check_answer(
            &p.circuit,
            AppRequest::Computation { input: &other },
            &p.result,
        ),
        "a proof bound to another nonce than the app's",
    );
}

#[test]
fn a_flipped_proof_byte_is_rejected() {
    let m = mnist();
    for at in positions(m.proof.len()) {
        let bad = flipped(&m.proof, at);
        // The receipt still names the genuine proof.
        let mut r = m.result.clone();
        r.proof = hex::encode(&bad);
        match m.check(&r) {
            Err(AnswerError::Receipt(ReceiptError::Mismatch {
                field: "proof_hash",
                ..
            })) => {}
            other => panic!("byte {at}: expected a proof_hash mismatch, got {other:?}"),
        }
        // A validator vouching for the flipped proof: the proof itself fails.
        r.receipt.body.proof_hash = canonical::sha256_hex(&bad);
        resign(&mut r, &validator());
        assert_proof_rejected(
            m.check(&r),
            &format!("byte {at} flipped, receipt re-signed"),
        );
    }
    // A truncated proof and a proof that is not hex.
    let mut r = m.result.clone();
    let short = &m.proof[..m.proof.len() / 2];
    r.proof = hex::encode(short);
    r.receipt.body.proof_hash = canonical::sha256_hex(short);
    resign(&mut r, &validator());
    assert_proof_rejected(m.check(&r), "truncated proof");
    let mut r = m.result.clone();
    r.proof = "zz".into();
    assert!(matches!(m.check(&r), Err(AnswerError::Malformed(_))));
}

#[test]
fn another_output_is_rejected() {
    let m = mnist();
    let mut other = m.result.output.clone();
    other[0] = json!(other[0].as_f64().unwrap() + 1.0);
    // The result's output alone: the receipt names the proven one.
    let mut r = m.result.clone();
    r.output = other.clone();
    assert_mismatch(m.check(&r), "result output changed");
    // Result and receipt alike, re-signed: the proof's output differs.
    r.receipt.body.output = other;
    resign(&mut r, &validator());
    assert_mismatch(m.check(&r), "output changed in result and receipt");
}

#[test]
fn an_input_other_than_the_apps_is_rejected() {
    let m = mnist();
    let mut app = m.app.clone();
    let first = app["input_data"][0][0].as_f64().unwrap();
    app["input_data"][0][0] = json!(if first > 0.5 { 0.0 } else { 1.0 });
    // The answer proves the original input, not this app's.
    assert_mismatch(
        check_answer(
            &m.circuit,
            AppRequest::Computation { input: &app },
            &m.result,
        ),
        "proof context is another input",
    );
    // A validator that claims the app's input in context and receipt: the proof fails.
    let mut claimed = m.proven.clone();
    claimed["input_data"] = app["input_data"].clone();
    let mut r = m.result.clone();
    r.context.input = claimed.clone();
    r.receipt.body.input_hash = canonical::hash(&claimed);
    resign(&mut r, &validator());
    assert_proof_rejected(
        check_answer(&m.circuit, AppRequest::Computation { input: &app }, &r),
        "another input claimed as proven",
    );
    // An input the app never could have sent.
    assert!(matches!(
        check_answer(
            &m.circuit,
            AppRequest::Computation {
                input: &json!({"input_data": m.app["input_data"], "extra": 1})
            },
            &m.result
        ),
        Err(AnswerError::Malformed(_))
    ));
}

#[test]
fn another_miner_hotkey_is_rejected() {
    let m = mnist();
    let charlie = key("//Charlie").public().to_ss58();
    // Only the result's field: it disagrees with the proof context.
    let mut r = m.result.clone();
    r.miner_hotkey = charlie.clone();
    assert_mismatch(m.check(&r), "result names another miner than its context");
    // Result, context and receipt alike, re-signed: the proof is bound to Bob.
    r.context.miner_hotkey = charlie.clone();
    r.receipt.body.miner_hotkey = charlie;
    resign(&mut r, &validator());
    assert_proof_rejected(m.check(&r), "credited to another miner");
}

#[test]
fn a_receipt_signed_by_another_key_is_rejected() {
    let m = mnist();
    let charlie = key("//Charlie");
    let mut r = m.result.clone();
    resign(&mut r, &charlie);
    assert_bad_signature(m.check(&r), "signed by a key other than validator_hotkey");
    // A receipt that names its signer is valid for that signer: the app compares the
    // validator it asked with the one returned.
    r.receipt.body.validator_hotkey = charlie.public().to_ss58();
    resign(&mut r, &charlie);
    let ok = m.check(&r).unwrap();
    assert_eq!(ok.validator, charlie.public());
    assert_ne!(ok.validator, validator().public());
}

#[test]
fn a_receipt_field_changed_after_signing_is_rejected() {
    type Tamper = (&'static str, fn(&mut InferenceResult));
    let tampers: [Tamper; 9] = [
        ("block", |r| r.receipt.body.block += 1),
        ("issued_at", |r| r.receipt.body.issued_at -= 60),
        ("netuid", |r| r.receipt.body.netuid = 3),
        ("method", |r| {
            r.receipt.body.method = PROOF_OF_WEIGHTS.into()
        }),
        ("version", |r| r.receipt.body.version = RECEIPT_VERSION + 1),
        ("circuit_id", |r| {
            r.receipt.body.circuit_id = "00".repeat(32)
        }),
        ("miner_uid", |r| {
            r.miner_uid = 9;
            r.receipt.body.miner_uid = 9;
        }),
        ("request_hash", |r| {
            r.hash = "11".repeat(32);
            r.receipt.body.request_hash = "11".repeat(32);
        }),
        ("signature", |r| {
            let mut sig = r.receipt.signature.clone().into_bytes();
            let last = sig.len() - 1;
            sig[last] = if sig[last] == b'0' { b'1' } else { b'0' };
            r.receipt.signature = String::from_utf8(sig).unwrap();
        }),
    ];
    let m = mnist();
    for (field, tamper) in tampers {
        let mut r = m.result.clone();
        tamper(&mut r);
        match m.check(&r) {
            Err(AnswerError::Receipt(ReceiptError::BadSignature(_) | ReceiptError::Version(_))) => {
            }
            other => panic!("{field} changed: expected a receipt error, got {other:?}"),
        }
    }
}

#[test]
fn a_circuit_id_mismatch_is_rejected() {
    let m = mnist();
    // The answer claims another circuit than the files the app checks with.
    let mut r = m.result.clone();
    r.circuit_id = sn2().circuit.id();
    assert_mismatch(m.check(&r), "result names another circuit");
    // The receipt names another circuit (re-signed).
    let mut r = m.result.clone();
    r.receipt.body.circuit_id = sn2().circuit.id();
    resign(&mut r, &validator());
    assert_mismatch(m.check(&r), "receipt names another circuit");
    // The genuine answer checked with another circuit's files.
    assert_mismatch(
        check_answer(
            &sn2().circuit,
            AppRequest::Computation { input: &m.app },
            &m.result,
        ),
        "checked with another circuit's files",
    );
}

#[test]
fn success_false_is_rejected() {
    let m = mnist();
    let mut r = m.result.clone();
    r.success = false;
    assert_mismatch(m.check(&r), "success: false");
}

#[test]
fn a_proof_of_weights_answer_is_accepted_and_tampering_rejected() {
    let p = sn2();
    let ok = p.check(&p.result).unwrap();
    assert_eq!(ok.output, p.result.output);
    assert_eq!(ok.miner, miner().public());
    // Another batch than the app's.
    let other = p
        .circuit
        .generate_pow_inputs(&mut ChaCha8Rng::seed_from_u64(12))
        .unwrap();
    assert_mismatch(
        check_answer(
            &p.circuit,
            AppRequest::Weights {
                evaluation_data: &other,
            },
            &p.result,
        ),
        "another batch",
    );
    // A flipped proof byte, vouched for by the validator.
    for at in [p.proof.len() / 2, p.proof.len() - 1] {
        let bad = flipped(&p.proof, at);
        let mut r = p.result.clone();
        r.proof = hex::encode(&bad);
        r.receipt.body.proof_hash = canonical::sha256_hex(&bad);
        resign(&mut r, &validator());
        assert_proof_rejected(p.check(&r), &format!("pow proof byte {at} flipped"));
    }
    // Credited to another miner.
    let charlie = key("//Charlie").public().to_ss58();
    let mut r = p.result.clone();
    r.miner_hotkey = charlie.clone();
    r.context.miner_hotkey = charlie.clone();
    r.receipt.body.miner_hotkey = charlie;
    resign(&mut r, &validator());
    assert_proof_rejected(p.check(&r), "pow credited to another miner");
}

#[test]
fn an_archived_receipt_verifies_with_its_input_and_proof_alone() {
    let m = mnist();
    let text = serde_json::to_string_pretty(&m.result.receipt).unwrap();
    let receipt: omron_api::Receipt = serde_json::from_str(&text).unwrap();
    let ok = verify_receipt(&m.circuit, &receipt, &m.proven, &m.proof).unwrap();
    assert_eq!(ok.output, m.result.output);
    assert_eq!(ok.validator, validator().public());
    assert_eq!(ok.miner, miner().public());

    // Another proof or another input than the receipt names.
    match verify_receipt(&m.circuit, &receipt, &m.proven, &flipped(&m.proof, 9)) {
        Err(AnswerError::Receipt(ReceiptError::Mismatch {
            field: "proof_hash",
            ..
        })) => {}
        other => panic!("flipped proof: {other:?}"),
    }
    for input in [m.app.clone(), {
        let mut i = m.proven.clone();
        i["nonce"] = json!("00".repeat(16));
        i
    }] {
        match verify_receipt(&m.circuit, &receipt, &input, &m.proof) {
            Err(AnswerError::Receipt(ReceiptError::Mismatch {
                field: "input_hash",
                ..
            })) => {}
            other => panic!("another input {input}: {other:?}"),
        }
    }
    // A receipt forged over another input (same validator): the proof does not verify for it.
    let mut forged_input = m.proven.clone();
    forged_input["nonce"] = json!("00".repeat(16));
    let mut body = receipt.body.clone();
    body.input_hash = canonical::hash(&forged_input);
    let forged = body.sign(&validator());
    assert_proof_rejected(
        verify_receipt(&m.circuit, &forged, &forged_input, &m.proof),
        "receipt forged over another nonce",
    );
    // With another circuit's files, or tampered after signing.
    assert_mismatch(
        verify_receipt(&sn2().circuit, &receipt, &m.proven, &m.proof),
        "another circuit's files",
    );
    let mut tampered = receipt.clone();
    tampered.body.output[0] = json!(tampered.body.output[0].as_f64().unwrap() + 1.0);
    assert_bad_signature(
        verify_receipt(&m.circuit, &tampered, &m.proven, &m.proof),
        "output changed after signing",
    );

    // A proof-of-weights receipt, archived with its batch.
    let p = sn2();
    let ok = verify_receipt(&p.circuit, &p.result.receipt, &p.proven, &p.proof).unwrap();
    assert_eq!(ok.output, p.result.output);
}
