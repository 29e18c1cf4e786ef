//! Interop with the SDK's own timelock library, PyPI `bittensor-drand`, run through
//! `tests/py/drand_oracle.py` in the venvs `scripts/drand-venv.sh` installs: 2.0.0
//! (`OMRON_DRAND_PYTHON`, what SDK 10.5 pins) and 1.3.0 (`OMRON_DRAND1_PYTHON`, the modulo
//! schedule's `get_encrypted_commit`). A missing interpreter fails the tests: they are never
//! skipped.
//!
//! Only the library's explicit-round functions are used (`encrypt_at_round`,
//! `decrypt_with_signature`, `get_encrypted_commit_v2`), so nothing needs the drand HTTP API.

use std::io::Write;
use std::process::{Command, Stdio};

use omron_timelock::schedule::{self, EpochState, RevealSchedule};
use omron_timelock::{
    CommitRevealVersion, DecodedPayload, TlockCiphertext, Weights, WeightsTlockPayload,
    commit_for_round, decrypt, encrypt,
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{Value, json};

use crate::{ROUND_1000, ROUND_2000, sig};

/// bittensor-drand 2.0.0.
const V2: &str = "OMRON_DRAND_PYTHON";
/// bittensor-drand 1.3.0.
const V1: &str = "OMRON_DRAND1_PYTHON";

fn drand_python(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: source scripts/drand-venv.sh (it installs .venv-drand and \
             .venv-drand1 with the pinned bittensor-drand versions and exports \
             OMRON_DRAND_PYTHON and OMRON_DRAND1_PYTHON)"
        )
    })
}

/// Runs the oracle in the venv `var` names on `requests`, one answer per request.
fn oracle_in(var: &str, requests: &[Value]) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/drand_oracle.py");
    let mut child = Command::new(drand_python(var))
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the drand oracle");
    {
        let mut stdin = child.stdin.take().unwrap();
        for r in requests {
            writeln!(stdin, "{r}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "drand oracle failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), requests.len());
    answers
}

/// Runs the oracle in bittensor-drand 2.0.0.
fn oracle(requests: &[Value]) -> Vec<Value> {
    oracle_in(V2, requests)
}

fn decrypt_request(ciphertext: &[u8], signature_hex: &str) -> Value {
    json!({"op": "decrypt", "ciphertext": hex::encode(ciphertext), "signature": signature_hex})
}

fn hex_field(v: &Value, field: &str) -> Vec<u8> {
    let s = v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {v}"));
    hex::decode(s).unwrap()
}

const HOTKEY: [u8; 32] = [0x42; 32];

fn weights() -> Weights<'static> {
    Weights {
        hotkey: &HOTKEY,
        uids: &[0, 1, 3, 7],
        values: &[32768, 16384, 65535, 1],
        version_key: 11002,
    }
}

/// (a) Our ciphertexts, a whole CRv4 commit among them, decrypted by bittensor-drand with the
/// real published signature of their round.
#[test]
fn bittensor_drand_decrypts_ours() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let commit =
        commit_for_round(CommitRevealVersion::V4, &weights(), ROUND_1000.0, &mut rng).unwrap();
    let v3 = commit_for_round(CommitRevealVersion::V3, &weights(), ROUND_2000.0, &mut rng).unwrap();
    let empty = encrypt(ROUND_1000.0, b"", &mut rng).unwrap();
    let long: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    let long_ct = encrypt(ROUND_2000.0, &long, &mut rng).unwrap();
    let cases = [
        (
            commit.ciphertext.clone(),
            ROUND_1000,
            weights().encode_v4().unwrap(),
        ),
        (v3.ciphertext, ROUND_2000, weights().encode_v3().unwrap()),
        (empty, ROUND_1000, Vec::new()),
        (long_ct, ROUND_2000, long),
    ];
    let requests: Vec<Value> = cases
        .iter()
        .map(|(ct, round, _)| decrypt_request(ct, round.1))
        .collect();
    for (answer, (_, round, plaintext)) in oracle(&requests).iter().zip(&cases) {
        assert_eq!(
            &hex_field(answer, "plaintext"),
            plaintext,
            "round {}: {answer}",
            round.0
        );
    }
    let recovered = hex_field(&oracle(&requests[..1])[0], "plaintext");
    assert_eq!(
        DecodedPayload::decode(&recovered).unwrap(),
        DecodedPayload::V4(WeightsTlockPayload {
            hotkey: HOTKEY.to_vec(),
            uids: vec![0, 1, 3, 7],
            values: vec![32768, 16384, 65535, 1],
            version_key: 11002,
        })
    );
}

/// (b) bittensor-drand's ciphertexts decrypted by ours, with the same real signatures.
#[test]
fn we_decrypt_bittensor_drands() {
    let payload = weights().encode_v4().unwrap();
    let cases = [
        (ROUND_1000, payload.clone()),
        (ROUND_2000, b"any bytes at all".to_vec()),
        (ROUND_1000, Vec::new()),
    ];
    let requests: Vec<Value> = cases
        .iter()
        .map(|(round, pt)| json!({"op": "encrypt", "round": round.0, "plaintext": hex::encode(pt)}))
        .collect();
    for (answer, (round, plaintext)) in oracle(&requests).iter().zip(&cases) {
        assert_eq!(answer["round"], json!(round.0));
        let ct = hex_field(answer, "ciphertext");
        assert_eq!(ct.len(), 244 + plaintext.len(), "their layout is ours");
        assert_eq!(
            &decrypt(&ct, &sig(*round)).unwrap(),
            plaintext,
            "round {}",
            round.0
        );
        let other = if round.0 == 1000 {
            ROUND_2000
        } else {
            ROUND_1000
        };
        assert!(
            decrypt(&ct, &sig(other)).is_err(),
            "another round's signature opens nothing"
        );
    }
}

/// Tampered ciphertexts are refused by both sides.
#[test]
fn tampered_ciphertexts_are_refused_by_both() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let ct = encrypt(ROUND_1000.0, b"do not touch", &mut rng).unwrap();
    // One byte in U's coordinates, in V, in W, in the AES body, in the nonce.
    let n = ct.len();
    let spots = [10, 120, 160, 200, n - 20];
    let mut requests = Vec::new();
    for &i in &spots {
        let mut bad = ct.clone();
        bad[i] ^= 0x80;
        assert!(
            decrypt(&bad, &sig(ROUND_1000)).is_err(),
            "we accepted byte {i} flipped"
        );
        requests.push(decrypt_request(&bad, ROUND_1000.1));
    }
    for (answer, i) in oracle(&requests).iter().zip(spots) {
        assert!(
            answer.get("error").is_some(),
            "bittensor-drand accepted byte {i} flipped: {answer}"
        );
    }
}

/// The SDK's whole commit (`get_encrypted_commit_v2`): our layout with the v4 payload's length,
/// and the reveal round our formula gives at the time it was made.
#[test]
fn the_sdk_commit_matches_our_layout_and_round() {
    let state = EpochState {
        last_epoch_block: 5_000_000,
        pending_epoch_at: 0,
        subnet_epoch_index: 13_000,
        tempo: 360,
        blocks_since_last_step: 120,
        current_block: 5_000_120,
    };
    let w = weights();
    let answer = &oracle(&[json!({
        "op": "commit_v2",
        "uids": w.uids,
        "weights": w.values,
        "version_key": w.version_key,
        "state": {
            "last_epoch_block": state.last_epoch_block,
            "pending_epoch_at": state.pending_epoch_at,
            "subnet_epoch_index": state.subnet_epoch_index,
            "tempo": state.tempo,
            "blocks_since_last_step": state.blocks_since_last_step,
            "current_block": state.current_block,
        },
        "reveal_period": 1,
        "block_time": 12.0,
        "hotkey": hex::encode(HOTKEY),
    })])[0];
    let commit = hex_field(answer, "commit");
    TlockCiphertext::from_bytes(&commit).unwrap();
    assert_eq!(commit.len(), 244 + w.encode_v4().unwrap().len());

    let schedule = RevealSchedule::Stateful(state);
    assert_eq!(schedule.first_reveal_block(1).unwrap(), 5_000_360);
    let theirs = answer["reveal_round"].as_u64().unwrap();
    let at = |t: &str| {
        schedule::round_for(&schedule, 1, 12.0, answer[t].as_f64().unwrap())
            .unwrap()
            .round
    };
    assert!(
        (at("before")..=at("after")).contains(&theirs),
        "their round {theirs}, ours {}..={}",
        at("before"),
        at("after")
    );
}

/// bittensor-drand 1.3.0 (`get_encrypted_commit`, the modulo schedule finney runs): the same
/// ciphertexts open both ways, and its round is our modulo formula's.
#[test]
fn bittensor_drand_1_agrees_too() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let ours =
        commit_for_round(CommitRevealVersion::V4, &weights(), ROUND_1000.0, &mut rng).unwrap();
    let payload = weights().encode_v4().unwrap();
    let w = weights();
    let answers = oracle_in(
        V1,
        &[
            decrypt_request(&ours.ciphertext, ROUND_1000.1),
            json!({"op": "encrypt", "round": ROUND_2000.0, "plaintext": hex::encode(&payload)}),
            json!({
                "op": "commit_v1",
                "uids": w.uids,
                "weights": w.values,
                "version_key": w.version_key,
                "tempo": 360,
                "current_block": 5_000_000,
                "netuid": 2,
                "reveal_period": 1,
                "block_time": 12.0,
                "hotkey": hex::encode(HOTKEY),
            }),
        ],
    );
    assert_eq!(hex_field(&answers[0], "plaintext"), payload);
    assert_eq!(
        decrypt(&hex_field(&answers[1], "ciphertext"), &sig(ROUND_2000)).unwrap(),
        payload
    );

    let commit = hex_field(&answers[2], "commit");
    TlockCiphertext::from_bytes(&commit).unwrap();
    assert_eq!(commit.len(), 244 + payload.len());
    let schedule = RevealSchedule::Modulo {
        netuid: 2,
        tempo: 360,
        current_block: 5_000_000,
    };
    let theirs = answers[2]["reveal_round"].as_u64().unwrap();
    let at = |t: &str| {
        schedule::round_for(&schedule, 1, 12.0, answers[2][t].as_f64().unwrap())
            .unwrap()
            .round
    };
    assert!(
        (at("before")..=at("after")).contains(&theirs),
        "their round {theirs}, ours {}..={}",
        at("before"),
        at("after")
    );
}
