//! `dendrite_merge/`: canned axon answers the real Python dendrite merged. Our dendrite gets
//! the same bytes from a fake axon and must end with the same status, message and fields.

use std::net::SocketAddr;
use std::time::Duration;

use omron_bittensor::dendrite::{AxonTarget, Dendrite, is_success};
use omron_bittensor::json::{JsonObject, JsonValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{QueryZkProof, miner_hotkey, validator_hotkey, wire_dir};

/// (case, why our result differs from the Python dendrite's).
const DEVIATIONS: &[(&str, &str)] = &[(
    "05_titlecase_header_names",
    "HTTP header names are case-insensitive; our client reads Title-Case status headers too",
)];

/// Serves `response` to one request, then closes.
async fn fake_axon(response: Vec<u8>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // Read the head and the announced body before answering.
        loop {
            let n = stream.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().unwrap())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        stream.write_all(&response).await.unwrap();
        stream.shutdown().await.ok();
    });
    addr
}

#[tokio::test]
async fn our_dendrite_merges_canned_answers_like_the_sdk() {
    let summary = crate::common::load_json("dendrite_merge/summary.json");
    let dendrite = Dendrite::new(validator_hotkey()).unwrap();
    let mut input = JsonObject::new();
    input.insert("k", JsonValue::Int(1));
    let mut checked = 0;
    for case in summary.as_array().unwrap() {
        let name = case["case"].as_str().unwrap();
        let response =
            std::fs::read(wire_dir().join(format!("dendrite_merge/{name}.response.raw.txt")))
                .unwrap();
        let addr = fake_axon(response).await;
        let target = AxonTarget {
            ip: addr.ip().to_string(),
            port: addr.port(),
            hotkey: miner_hotkey().public(),
        };
        let synapse = QueryZkProof {
            query_input: Some(input.clone()),
            query_output: None,
        };
        let got = dendrite
            .query(&target, synapse, Duration::from_secs(5))
            .await;
        checked += 1;
        if DEVIATIONS.iter().any(|(c, _)| *c == name) {
            assert!(is_success(&got), "{name}");
            continue;
        }
        let d = &got.base.dendrite;
        let a = &got.base.axon;
        assert_eq!(
            is_success(&got),
            case["is_success"].as_bool().unwrap(),
            "{name}"
        );
        assert_eq!(
            d.status_code.map(u64::from),
            case["dendrite.status_code"].as_u64(),
            "{name}"
        );
        assert_eq!(
            a.status_code.map(u64::from),
            case["axon.status_code"].as_u64(),
            "{name}"
        );
        assert_eq!(
            a.status_message.as_deref(),
            case["axon.status_message"].as_str(),
            "{name}"
        );
        let want_message = case["dendrite.status_message"].as_str();
        match (d.status_code, want_message) {
            // The text after the prefix is the parser's own explanation.
            (Some(422), Some(w)) => {
                assert!(w.starts_with("Failed to parse response"), "{name}");
                assert!(
                    d.status_message
                        .as_deref()
                        .unwrap()
                        .starts_with("Failed to parse response"),
                    "{name}"
                );
            }
            _ => assert_eq!(d.status_message.as_deref(), want_message, "{name}"),
        }
        let input_after = got
            .synapse
            .query_input
            .as_ref()
            .map(|o| serde_json::to_value(o).unwrap());
        assert_eq!(
            input_after.unwrap_or(serde_json::Value::Null),
            case["query_input_after"],
            "{name}"
        );
        assert_eq!(
            got.synapse.query_output.as_deref(),
            case["query_output_after"].as_str(),
            "{name}"
        );
        assert_eq!(
            a.hotkey.as_deref(),
            case["axon.hotkey_after"].as_str(),
            "{name}"
        );
        assert_eq!(
            d.hotkey.as_deref(),
            case["dendrite.hotkey_after"].as_str(),
            "{name}"
        );
        assert_eq!(
            d.signature.is_none(),
            case["dendrite.signature_after_is_none"].as_bool().unwrap(),
            "{name}"
        );
    }
    assert_eq!(checked, 14);
}
