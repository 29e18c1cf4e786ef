//! The real bittensor 11.3.0 `http_auth` (btauth/1) against our axon and dendrite.

use std::time::Duration;

use omron_bittensor::axon::{AuthScheme, AxonConfig};
use omron_bittensor::dendrite::{AxonTarget, Dendrite, DendriteConfig, is_success};
use omron_bittensor::json::{JsonObject, JsonValue};

use crate::common::{
    QueryZkProof, capture_axon, capture_proof, load_json, miner_hotkey, stranger_hotkey,
    validator_hotkey, wallets_dir,
};
use crate::python::{Server, command, free_port, python, run_json_lines};

const BT11: &str = "OMRON_BT11_PYTHON";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk11_signed_requests_against_our_axon() {
    let home = tempfile::tempdir().unwrap();
    let axon = capture_axon(None, AxonConfig::default()).await;
    let mut cmd = command(&python(BT11), &home, "btauth_client.py");
    cmd.arg(wallets_dir())
        .arg(axon.local_addr().port().to_string());
    let results = run_json_lines(cmd, Duration::from_secs(120)).await;
    let outcomes = load_json("btauth1_v11_vectors.json")["negative_outcomes"].clone();
    let mut input = JsonObject::new();
    input.insert("model_id", JsonValue::String("m".into()));
    input.insert(
        "x",
        JsonValue::Array(vec![JsonValue::Float(1.5), JsonValue::Int(2)]),
    );
    let proof = capture_proof(&input);
    assert_eq!(results.len(), 10);
    for r in &results {
        let name = r["name"].as_str().unwrap();
        match name {
            "ok" | "with_query" => {
                assert_eq!(r["status"], 200, "{name}: {r}");
                assert_eq!(r["query_output"], proof.as_str(), "{name}");
                assert_eq!(r["axon_status"], 200, "{name}");
            }
            _ => {
                assert_eq!(r["status"], 401, "{name}: {r}");
                let key = if name == "path_changed" {
                    "path_changed"
                } else {
                    name
                };
                let sdk_text = outcomes[key].as_str().unwrap_or_else(|| panic!("{key}"));
                // Our texts are the SDK verifier's, behind the axon's usual prefix.
                assert_eq!(
                    r["message"].as_str().unwrap(),
                    format!("Not Verified with error: {sdk_text}"),
                    "{name}"
                );
            }
        }
    }
    axon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_btauth_requests_verify_in_sdk11() {
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = command(&python(BT11), &home, "btauth_server.py");
    cmd.arg(wallets_dir()).arg(port.to_string());
    let _server = Server::start(cmd, Duration::from_secs(120)).await;
    let config = DendriteConfig {
        scheme: AuthScheme::BtAuth1,
        ..DendriteConfig::default()
    };
    let dendrite = Dendrite::with_config(validator_hotkey(), config.clone()).unwrap();
    let target = AxonTarget {
        ip: "127.0.0.1".into(),
        port,
        hotkey: miner_hotkey().public(),
    };
    let t = Duration::from_secs(10);
    let got = dendrite.query(&target, QueryZkProof::default(), t).await;
    assert!(is_success(&got), "{:?}", got.base.dendrite);
    let expected = format!("btauth-ok:{}", validator_hotkey().public().to_ss58());
    assert_eq!(got.synapse.query_output.as_deref(), Some(expected.as_str()));
    // Each request has a fresh nonce: a second one is not a replay.
    assert!(is_success(
        &dendrite.query(&target, QueryZkProof::default(), t).await
    ));

    let wrong = AxonTarget {
        hotkey: stranger_hotkey().public(),
        ..target.clone()
    };
    let got = dendrite.query(&wrong, QueryZkProof::default(), t).await;
    assert_eq!(got.base.dendrite.status_code, Some(401));
    assert_eq!(
        got.base.dendrite.status_message.as_deref(),
        Some("WrongReceiver: request was signed for a different receiving hotkey")
    );

    let stale = Dendrite::with_config(validator_hotkey(), config)
        .unwrap()
        .with_clock(std::sync::Arc::new(|| {
            omron_bittensor::ids::now_ns() - 11_000_000_000
        }));
    let got = stale.query(&target, QueryZkProof::default(), t).await;
    assert_eq!(got.base.dendrite.status_code, Some(401));
    assert_eq!(
        got.base.dendrite.status_message.as_deref(),
        Some("StaleRequest: nonce is older than the 10s freshness window")
    );
}
