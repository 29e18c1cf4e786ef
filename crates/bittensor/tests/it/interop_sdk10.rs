//! The real bittensor 10.5.0 against our axon and dendrite.

use std::time::Duration;

use omron_bittensor::axon::AxonConfig;
use omron_bittensor::dendrite::{AxonTarget, Dendrite, is_success};
use omron_bittensor::json::{JsonObject, JsonValue};
use omron_bittensor::synapse::Ping;

use crate::common::{
    FailingQuery, QueryZkProof, RequiredFieldQuery, UnknownQuery, WhoAmI, capture_axon_with,
    capture_proof, miner_hotkey, stranger_hotkey, validator_hotkey, wallets_dir,
};
use crate::python::{Server, command, free_port, python, run_json_lines};

const BT10: &str = "OMRON_BT10_PYTHON";

/// The parts of a status message that do not depend on ids, clocks or signatures.
fn stable(message: Option<&str>) -> Option<String> {
    let m = message?;
    let m = m.split(" #").next().unwrap_or(m);
    let m = m.split(" but request was").next().unwrap_or(m);
    let prefix = "Not Verified with error: Signature mismatch with";
    Some(if m.starts_with(prefix) { prefix } else { m }.to_owned())
}

async fn python_axon(home: &tempfile::TempDir) -> (Server, u16) {
    let port = free_port();
    let mut cmd = command(&python(BT10), home, "py_axon.py");
    cmd.arg(wallets_dir()).arg(port.to_string());
    (Server::start(cmd, Duration::from_secs(120)).await, port)
}

async fn python_dendrite(home: &tempfile::TempDir, port: u16) -> Vec<serde_json::Value> {
    let mut cmd = command(&python(BT10), home, "py_dendrite.py");
    cmd.arg(wallets_dir())
        .arg(port.to_string())
        .arg(miner_hotkey().public().to_ss58());
    run_json_lines(cmd, Duration::from_secs(180)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_dendrite_gets_from_our_axon_what_a_python_axon_answers() {
    let home = tempfile::tempdir().unwrap();
    let ours = capture_axon_with(None, AxonConfig::default(), true).await;
    let (_py_axon, py_port) = python_axon(&home).await;
    let (from_python, from_ours) = tokio::join!(
        python_dendrite(&home, py_port),
        python_dendrite(&home, ours.local_addr().port())
    );
    let names: Vec<&str> = from_ours
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 15, "{names:?}");
    assert_eq!(from_python.len(), from_ours.len());
    let validator = validator_hotkey().public().to_ss58();
    let stranger = stranger_hotkey().public().to_ss58();
    for (p, o) in from_python.iter().zip(&from_ours) {
        let name = p["name"].as_str().unwrap();
        assert_eq!(o["name"], p["name"]);
        assert_eq!(o["is_success"], p["is_success"], "{name}");
        if name == "tampered_hashed_field" {
            // Deliberately different: the SDK's axon answers a body that does not match its
            // signed hash with a generic 500; ours says it was a bad request (400).
            assert_eq!(p["status_code"], 500, "{name}: python {p}");
            assert_eq!(o["status_code"], 400, "{name}: ours {o}");
            continue;
        }
        assert_eq!(
            o["status_code"], p["status_code"],
            "{name}: ours {o} python {p}"
        );
        if p["status_code"] != 408 {
            assert_eq!(
                stable(o["status_message"].as_str()),
                stable(p["status_message"].as_str()),
                "{name}"
            );
        }
        match name {
            "forged_body_hotkey" => {
                // The SDK hands its handler the body's forged hotkey; ours the verified one.
                assert_eq!(p["caller"], stranger.as_str());
                assert_eq!(o["caller"], validator.as_str());
            }
            _ => {
                for field in ["query_output", "query_input", "answer", "caller"] {
                    assert_eq!(o[field], p[field], "{name}: {field}");
                }
            }
        }
    }
    let code =
        |name: &str| from_ours.iter().find(|r| r["name"] == name).unwrap()["status_code"].as_u64();
    let expected = [
        ("ping", 200),
        ("success", 200),
        ("required_field", 200),
        ("whoami", 200),
        ("failing", 500),
        ("unknown", 404),
        ("timeout", 408),
        ("blacklisted", 403),
        ("wrong_axon_hotkey", 401),
        ("bad_signature", 401),
        ("replay_first", 200),
        ("replay_second", 401),
        ("stale_nonce", 401),
        ("tampered_hashed_field", 400),
        ("forged_body_hotkey", 200),
    ];
    for (name, want) in expected {
        assert_eq!(code(name), Some(want), "{name}");
    }
    ours.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_dendrite_against_a_python_axon() {
    let home = tempfile::tempdir().unwrap();
    let (_py_axon, port) = python_axon(&home).await;
    let target = AxonTarget {
        ip: "127.0.0.1".into(),
        port,
        hotkey: miner_hotkey().public(),
    };
    let dendrite = Dendrite::new(validator_hotkey()).unwrap();
    let t = Duration::from_secs(12);

    let mut input = JsonObject::new();
    input.insert(
        "public_inputs",
        JsonValue::Array(vec![JsonValue::Float(0.5), JsonValue::Int(2)]),
    );
    input.insert("model_id", JsonValue::String("m\u{e9}".into()));
    let got = dendrite
        .query(
            &target,
            QueryZkProof {
                query_input: Some(input.clone()),
                query_output: None,
            },
            t,
        )
        .await;
    assert!(is_success(&got), "{:?}", got.base.dendrite);
    assert_eq!(got.synapse.query_output, Some(capture_proof(&input)));
    assert_eq!(got.synapse.query_input, Some(input));
    assert_eq!(got.base.axon.status_code, Some(200));
    assert_eq!(
        got.base.axon.hotkey,
        Some(miner_hotkey().public().to_ss58())
    );
    assert!(got.base.dendrite.process_time.unwrap() > 0.0);

    assert!(is_success(&dendrite.query(&target, Ping {}, t).await));
    // A required field: the empty-value header makes the Python axon accept it.
    let got = dendrite
        .query(
            &target,
            RequiredFieldQuery {
                prompt: "hello".into(),
                answer: None,
            },
            t,
        )
        .await;
    assert_eq!(
        got.synapse.answer.as_deref(),
        Some("olleh"),
        "{:?}",
        got.base.dendrite
    );
    let got = dendrite.query(&target, WhoAmI::default(), t).await;
    assert_eq!(
        got.synapse.caller,
        Some(validator_hotkey().public().to_ss58())
    );

    let got = dendrite.query(&target, FailingQuery::default(), t).await;
    assert_eq!(got.base.dendrite.status_code, Some(500));
    assert!(
        got.base
            .dendrite
            .status_message
            .unwrap()
            .starts_with("Internal Server Error #")
    );

    let got = dendrite.query(&target, UnknownQuery::default(), t).await;
    assert_eq!(got.base.dendrite.status_code, Some(404));
    assert_eq!(
        got.base.dendrite.status_message.as_deref(),
        Some(
            "Synapse name 'UnknownQuery' not found. Available synapses ['Synapse', \
             'QueryZkProof', 'FailingQuery', 'RequiredFieldQuery', 'WhoAmI']"
        )
    );

    let mut slow = JsonObject::new();
    slow.insert("sleep", JsonValue::Int(3));
    let got = dendrite
        .query(
            &target,
            QueryZkProof {
                query_input: Some(slow),
                query_output: None,
            },
            Duration::from_secs(1),
        )
        .await;
    assert_eq!(got.base.dendrite.status_code, Some(408));
    assert_eq!(
        got.base.dendrite.status_message.as_deref(),
        Some("Request timeout after 1.0 seconds")
    );

    let stranger = Dendrite::new(stranger_hotkey()).unwrap();
    let got = stranger.query(&target, QueryZkProof::default(), t).await;
    assert_eq!(got.base.dendrite.status_code, Some(403));
    assert_eq!(
        got.base.dendrite.status_message.as_deref(),
        Some(
            "Forbidden. Key is blacklisted: Unrecognized hotkey \
             5Eef3k8dZk97uY1joM2WFJRvuUroAhic5Xed2dq1HscSZUvC."
        )
    );

    let wrong = AxonTarget {
        hotkey: stranger_hotkey().public(),
        ..target.clone()
    };
    let got = dendrite.query(&wrong, QueryZkProof::default(), t).await;
    assert_eq!(got.base.dendrite.status_code, Some(401));
    assert!(
        got.base
            .dendrite
            .status_message
            .unwrap()
            .starts_with("Not Verified with error: Signature mismatch with ")
    );

    let stale = Dendrite::new(validator_hotkey())
        .unwrap()
        .with_clock(std::sync::Arc::new(|| {
            omron_bittensor::ids::now_ns() - 60_000_000_000
        }));
    let got = stale.query(&target, QueryZkProof::default(), t).await;
    assert_eq!(got.base.dendrite.status_code, Some(401));
    assert!(got.base.dendrite.status_message.unwrap().starts_with(
        "Not Verified with error: Nonce is too old: acceptable delta is 16.00 seconds"
    ));

    // Many at once, all merged.
    let targets = vec![target.clone(); 4];
    let all = dendrite
        .query_many(&targets, &QueryZkProof::default(), t)
        .await;
    assert!(all.iter().all(is_success));
}
