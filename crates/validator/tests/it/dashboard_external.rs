//! The local API's view of the external API: a validator with both on loopback, an honest
//! miner, an app making two verified requests and one refused at its params; `GET /external`
//! lists the archived ones (newest first, without proofs or inputs) and the dashboard page has
//! the section that shows them.

use std::time::Duration;

use omron_api::client::{ApiClient, ClientError, Pin};
use omron_api::rpc::{InferenceResult, PROOF_OF_COMPUTATION, codes};
use omron_circuit::StoredCircuit;
use omron_validator::api::ExternalRow;
use omron_validator::store::Store;
use omron_validator::{ExternalApiConfig, Validator, ValidatorConfig};
use serde_json::{Value, json};

use crate::miners::Behaviour;
use crate::node::{Net, fast_subnet, key, mnist};

const CALL: Duration = Duration::from_secs(60);

async fn get(url: String) -> reqwest::Response {
    reqwest::get(url).await.unwrap()
}

/// One verified proof-of-computation request with a fresh input.
async fn ask(client: &mut ApiClient, circuit: &StoredCircuit) -> InferenceResult {
    let input = circuit.generate_input(&mut rand::thread_rng());
    let result = client
        .call(
            PROOF_OF_COMPUTATION,
            json!({"circuit": circuit.id(), "input": {"input_data": input.input_data}}),
            CALL,
        )
        .await
        .unwrap();
    serde_json::from_value(result).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dashboard_lists_archived_external_requests_newest_first() {
    let circuits = mnist();
    let circuit = circuits.iter().next().unwrap().clone();
    let net = Net::start(
        circuits.clone(),
        fast_subnet(),
        &[Behaviour::Honest],
        Duration::from_millis(100),
    )
    .await;
    let app = key("//App");
    let dir = tempfile::tempdir().unwrap();
    let mut ext = ExternalApiConfig::new(dir.path().join("cert"));
    ext.addr = "127.0.0.1:0".parse().unwrap();
    ext.whitelist = vec![app.public()];
    let config = ValidatorConfig {
        external: Some(ext),
        ..net.config()
    };
    let store = Store::open(&dir.path().join("validator.sqlite")).unwrap();
    let validator = Validator::start(config, net.parts(store, None))
        .await
        .unwrap();
    let api = validator.api_addr().unwrap();
    let fp = validator.certificate_fingerprint().unwrap();
    let url = format!("wss://{}/rpc", validator.external_addr().unwrap());

    // Nothing yet.
    let rows: Vec<ExternalRow> = get(format!("http://{api}/external"))
        .await
        .json()
        .await
        .unwrap();
    assert!(rows.is_empty(), "{rows:?}");

    let mut client = ApiClient::connect(&url, &Pin::Sha256(fp), &app, None)
        .await
        .unwrap();
    let first = ask(&mut client, &circuit).await;
    let second = ask(&mut client, &circuit).await;
    // Refused before it is queued: not archived.
    match client
        .call(
            PROOF_OF_COMPUTATION,
            json!({"circuit": circuit.id(), "input": {"input_data": [[1.0, 2.0]]}}),
            CALL,
        )
        .await
    {
        Err(ClientError::Rpc(e)) => assert_eq!(e.code, codes::INVALID_PARAMS, "{e}"),
        other => panic!("a short input must be refused, got {other:?}"),
    }
    client.close().await;

    // The archive is written before the answer goes out, so both are listed now.
    let raw: Value = get(format!("http://{api}/external"))
        .await
        .json()
        .await
        .unwrap();
    let list = raw.as_array().unwrap();
    assert_eq!(list.len(), 2, "only queued requests are archived: {raw:#}");
    for row in list {
        for heavy in ["proof", "context", "output", "input", "receipt"] {
            assert!(row.get(heavy).is_none(), "{heavy} is left out: {row:#}");
        }
    }
    let rows: Vec<ExternalRow> = serde_json::from_value(raw.clone()).unwrap();
    assert!(rows[0].id > rows[1].id, "newest first");
    for (row, answer) in rows.iter().zip([&second, &first]) {
        assert_eq!(row.request_hash, answer.hash);
        assert_eq!(row.status, "verified");
        assert_eq!(row.error, None);
        assert_eq!(row.method, PROOF_OF_COMPUTATION);
        assert_eq!(row.origin, app.public().to_ss58());
        assert_eq!(row.circuit_id, circuit.id());
        assert_eq!(
            row.circuit_name.as_deref(),
            Some(answer.circuit_name.as_str())
        );
        assert_eq!(row.miner_uid, Some(2));
        assert_eq!(row.miner_uid, Some(answer.miner_uid));
        assert_eq!(
            row.miner_hotkey.as_deref(),
            Some(answer.miner_hotkey.as_str())
        );
        assert!(row.attempts >= 1);
        assert!(row.latency_ms > 0.0);
        let sig = row.receipt_signature.as_deref().unwrap();
        assert!(
            sig.len() > 2 && answer.receipt.signature.starts_with(sig),
            "{sig} starts {}",
            answer.receipt.signature
        );
    }

    // The limit, and a malformed one.
    let one: Vec<ExternalRow> = get(format!("http://{api}/external?limit=1"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one, rows[..1]);
    let many: Vec<ExternalRow> = get(format!("http://{api}/external?limit=100000"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(many, rows);
    assert_eq!(
        get(format!("http://{api}/external?limit=lots"))
            .await
            .status(),
        400
    );

    // The page has the section.
    let page = get(format!("http://{api}/")).await.text().await.unwrap();
    assert!(page.contains("Recent external requests"));
    assert!(page.contains("/external"));
    assert!(page.contains("/scoreboard"));

    validator.shutdown().await.unwrap();
    net.stop().await;
}
