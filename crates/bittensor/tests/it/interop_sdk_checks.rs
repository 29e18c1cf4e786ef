//! The real SDK reads what we write: a wallet made by our code (encrypted coldkey), and body
//! hashes of random payloads (Python `str()` semantics under fuzzing).

use std::process::Stdio;
use std::time::Duration;

use omron_bittensor::body_hash::body_hash;
use omron_bittensor::json::{JsonObject, JsonValue, python_str};
use omron_bittensor::wallet::Wallet;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::AsyncWriteExt;

use crate::python::{command, python};

const BT10: &str = "OMRON_BT10_PYTHON";

#[tokio::test]
async fn bittensor_wallet_loads_our_wallet_and_decrypts_our_coldkey() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let wallet = Wallet::new(dir.path(), "ours", "hk").unwrap();
    let (cold, phrase) = omron_keys::Keypair::generate();
    let password = "a p\u{e4}ssword!";
    wallet
        .write_coldkey(&cold, Some(&phrase), Some(password))
        .unwrap();
    let hot = wallet.create_hotkey().unwrap();
    let mut cmd = command(&python(BT10), &home, "sdk_checks.py");
    cmd.arg("wallet")
        .arg(dir.path())
        .arg("ours")
        .arg("hk")
        .arg(password);
    let out = crate::python::run_json_lines(cmd, Duration::from_secs(180)).await;
    let r = &out[0];
    assert_eq!(r["coldkeypub"], cold.public().to_ss58().as_str());
    assert_eq!(r["coldkey"], cold.public().to_ss58().as_str());
    assert_eq!(r["coldkey_encrypted"], true);
    assert_eq!(r["hotkey"], hot.account.to_ss58().as_str());
    assert_eq!(r["hotkey_mode"], "0o600");
    assert_eq!(r["hotkey_signature_ok"], true);
}

/// Characters that exercise repr(): quotes, escapes, controls, separators, format characters,
/// private use, printable non-ASCII. All assigned before Unicode 14 (CPython 3.11's tables).
const CHARS: &[char] = &[
    'a',
    'Z',
    '0',
    ' ',
    '\'',
    '"',
    '\\',
    '\n',
    '\r',
    '\t',
    '\u{0}',
    '\u{7}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{a0}',
    '\u{ad}',
    '\u{e9}',
    '\u{2028}',
    '\u{2029}',
    '\u{200b}',
    '\u{feff}',
    '\u{3000}',
    '\u{65e5}',
    '\u{e000}',
    '\u{1f600}',
    '\u{10ffff}',
    '\u{1d11e}',
    '\u{fffd}',
    '{',
];

fn random_value(rng: &mut StdRng, depth: u32) -> JsonValue {
    match rng.gen_range(0..if depth > 3 { 6 } else { 8 }) {
        0 => JsonValue::Null,
        1 => JsonValue::Bool(rng.r#gen()),
        2 => JsonValue::Int(match rng.gen_range(0..3) {
            0 => rng.gen_range(-1000..1000),
            1 => rng.r#gen::<i64>().into(),
            _ => rng.r#gen::<i128>() >> rng.gen_range(0..64),
        }),
        3 => {
            let f = loop {
                let candidate = match rng.gen_range(0..3) {
                    0 => f64::from_bits(rng.r#gen()),
                    1 => rng.r#gen::<f64>() * 10f64.powi(rng.gen_range(-30..30)),
                    _ => (rng.gen_range(-1_000_000..1_000_000) as f64) / 1000.0,
                };
                if candidate.is_finite() {
                    break candidate;
                }
            };
            JsonValue::Float(f)
        }
        4 | 5 => JsonValue::String(
            (0..rng.gen_range(0..8))
                .map(|_| CHARS[rng.gen_range(0..CHARS.len())])
                .collect(),
        ),
        6 => JsonValue::Array(
            (0..rng.gen_range(0..4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => JsonValue::Object(random_object(rng, depth + 1)),
    }
}

fn random_object(rng: &mut StdRng, depth: u32) -> JsonObject {
    (0..rng.gen_range(0..5))
        .map(|_| {
            let key: String = (0..rng.gen_range(1..5))
                .map(|_| CHARS[rng.gen_range(0..CHARS.len())])
                .collect();
            (key, random_value(rng, depth))
        })
        .collect()
}

#[tokio::test]
async fn body_hashes_of_random_payloads_match_the_sdk() {
    let home = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(0x5eed_b0d1);
    let inputs: Vec<JsonValue> = (0..400)
        .map(|i| {
            if i % 10 == 0 {
                JsonValue::Null
            } else {
                JsonValue::Object(random_object(&mut rng, 0))
            }
        })
        .collect();
    let mut cmd = command(&python(BT10), &home, "sdk_checks.py");
    cmd.arg("hash")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = String::new();
    for value in &inputs {
        let mut line = JsonObject::new();
        line.insert("query_input", value.clone());
        lines.push_str(&JsonValue::Object(line).to_json_string());
        lines.push('\n');
    }
    let writer = tokio::spawn(async move {
        stdin.write_all(lines.as_bytes()).await.unwrap();
    });
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    writer.await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), inputs.len());
    for (value, r) in inputs.iter().zip(&results) {
        assert_eq!(python_str(value), r["str"].as_str().unwrap(), "{value}");
        assert_eq!(body_hash([value]), r["hash"].as_str().unwrap(), "{value}");
    }
}
