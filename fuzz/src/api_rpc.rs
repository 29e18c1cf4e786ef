//! The external API's decoders: JSON-RPC requests and their params, the app's input, the
//! request-signature headers with the replay guard, receipts, a whole answer checked with the
//! circuit's files (`check_answer`), canonical JSON and certificate pins.
//!
//! Modes (first byte):
//! 0. a request frame: `RpcRequest`, params of either method, `read_app_input`; canonical JSON
//!    is a fixed point (the canonical text of the re-parsed canonical text is the same);
//! 1. a receipt: whatever verifies was signed by the one key that signs receipts here;
//! 2. the three auth headers (NUL-separated) checked at a fixed time, then the replay guard;
//! 3. an `InferenceResult` for the app's fixed SN2 batch (`answer_fixture`): an accepted answer
//!    carries the true outputs and names the receipt key;
//! 4. a certificate pin (`tls::parse_fingerprint`, `Pin::sha256`).

use std::sync::OnceLock;

use omron_api::rpc::{InferenceResult, ProofOfComputationParams, ProofOfWeightsParams, RpcRequest};
use omron_api::verify::read_app_input;
use omron_api::{AppRequest, AuthHeaders, Pin, Receipt, canonical, check_answer, tls};
use omron_circuit::StoredCircuit;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use crate::fixtures::{key, miner_key, stored_circuit};

/// The key that signs receipts in the seeds.
pub const VALIDATOR_KEY: u8 = 5;
/// The auth target's clock (seconds).
pub const NOW_SECS: u64 = 1_750_000_000;

/// The app's SN2 batch, its circuit and the true outputs.
pub struct AnswerFixture {
    /// `sn2-pow-256`.
    pub circuit: StoredCircuit,
    /// The app's `evaluation_data`.
    pub evaluation_data: Value,
    /// The proof a miner made for it.
    pub proof: Vec<u8>,
    /// The proven outputs as the API returns them.
    pub output: Value,
}

/// Built once: the batch is drawn from a fixed seed, so the seed generator's answers match.
pub fn answer_fixture() -> &'static AnswerFixture {
    static FX: OnceLock<AnswerFixture> = OnceLock::new();
    FX.get_or_init(|| {
        let circuit = stored_circuit("sn2-pow-256");
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let evaluation_data = circuit
            .generate_pow_inputs(&mut rng)
            .expect("sn2 circuit generates batches");
        let (proof, outputs) = circuit
            .prove_pow(&evaluation_data, miner_key().public().as_bytes())
            .expect("the fixture batch proves");
        AnswerFixture {
            circuit,
            evaluation_data,
            proof,
            output: serde_json::json!(outputs),
        }
    })
}

/// The target.
pub fn run(data: &[u8]) {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 5 {
        0 => request(body),
        1 => {
            if let Ok(receipt) = serde_json::from_slice::<Receipt>(body) {
                let _ = receipt.miner();
                let _ = receipt.check_proof(b"");
                let _ = receipt.check_input(&receipt.body.output);
                if let Ok(signer) = receipt.verify_signature() {
                    assert_eq!(
                        signer,
                        key(VALIDATOR_KEY).public(),
                        "a receipt verified for a key that never signed one"
                    );
                }
            }
        }
        2 => {
            let mut parts = body
                .split(|&b| b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned());
            let (ts, origin, sig) = (parts.next(), parts.next(), parts.next());
            let get = |name: &str| match name {
                "x-timestamp" => ts.clone(),
                "x-origin-ss58" => origin.clone(),
                "x-signature" => sig.clone(),
                _ => None,
            };
            if let Ok(headers) = AuthHeaders::read(get)
                && let Ok((account, stamp, signature)) = headers.verify(NOW_SECS)
            {
                let mut guard = omron_api::auth::ReplayGuard::new(4);
                guard
                    .accept(&signature, stamp, NOW_SECS)
                    .expect("a fresh guard accepts once");
                assert!(
                    guard.accept(&signature, stamp, NOW_SECS).is_err(),
                    "a replay was accepted"
                );
                let _ = account;
            }
        }
        3 => {
            if let Ok(result) = serde_json::from_slice::<InferenceResult>(body) {
                let fx = answer_fixture();
                let asked = AppRequest::Weights {
                    evaluation_data: &fx.evaluation_data,
                };
                if let Ok(verified) = check_answer(&fx.circuit, asked, &result) {
                    assert_eq!(
                        verified.output, fx.output,
                        "an answer with another output was accepted"
                    );
                    assert_eq!(
                        verified.validator,
                        key(VALIDATOR_KEY).public(),
                        "receipt key"
                    );
                }
            }
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            let _ = tls::parse_fingerprint(&text);
            let _ = Pin::sha256(&text);
        }
    }
}

fn request(body: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let text = canonical::to_string(&value);
    let again: Value = serde_json::from_str(&text).expect("canonical JSON parses");
    assert_eq!(
        canonical::to_string(&again),
        text,
        "canonical JSON is not a fixed point"
    );
    let _ = canonical::hash(&value);
    let Ok(req) = serde_json::from_value::<RpcRequest>(value) else {
        return;
    };
    if let Ok(p) = serde_json::from_value::<ProofOfComputationParams>(req.params.clone()) {
        let _ = read_app_input(&p.input);
    }
    let _ = serde_json::from_value::<ProofOfWeightsParams>(req.params);
}
