//! The external API end to end: the embedded chain, a validator with its API on a loopback
//! port, an honest and a faulty miner, and apps over real TLS WebSockets with the certificate
//! pinned. Every answer is re-verified here with the circuit's files; every refusal is checked
//! for its own error while a good client keeps being served.

use std::time::Duration;

use omron_api::auth::AuthHeaders;
use omron_api::client::{ApiClient, ClientError, Pin};
use omron_api::rpc::{InferenceResult, PROOF_OF_COMPUTATION, codes};
use omron_api::verify::{AppRequest, check_answer, verify_receipt};
use omron_circuit::StoredCircuit;
use omron_keys::Keypair;
use omron_validator::store::{Store, StoreLimits};
use omron_validator::{ExternalApiConfig, Validator};
use serde_json::{Value, json};

use crate::miners::Behaviour;
use crate::node::{Net, fast_subnet, key, mnist};

const CALL: Duration = Duration::from_secs(60);

fn app_input(circuit: &StoredCircuit) -> Value {
    let input = circuit.generate_input(&mut rand::thread_rng());
    json!({ "input_data": input.input_data })
}

async fn connect(url: &str, fp: &str, k: &Keypair) -> Result<ApiClient, ClientError> {
    ApiClient::connect(url, &Pin::Sha256(fp.to_owned()), k, None).await
}

fn refused_with(r: Result<ApiClient, ClientError>, words: &str) {
    match r {
        Err(ClientError::Refused { status: 401, body }) => {
            assert!(
                body.contains(words),
                "refusal {body:?} should say {words:?}"
            )
        }
        Err(other) => panic!("expected a 401 saying {words:?}, got {other}"),
        Ok(_) => panic!("expected a 401 saying {words:?}, got a connection"),
    }
}

fn rpc_error(r: Result<Value, ClientError>, code: i64, words: &str) {
    match r {
        Err(ClientError::Rpc(e)) => {
            assert_eq!(e.code, code, "{e}");
            assert!(e.message.contains(words), "{e} should say {words:?}");
        }
        other => panic!("expected error {code} saying {words:?}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn apps_get_verified_inferences_and_every_bad_request_is_refused_on_its_own() {
    let circuits = mnist();
    let circuit = circuits.iter().next().unwrap().clone();
    let net = Net::start(
        circuits.clone(),
        fast_subnet(),
        &[Behaviour::Honest, Behaviour::Faulty],
        Duration::from_millis(100),
    )
    .await;
    let honest = net.miners[0].keypair.public();
    let app = key("//App");
    let app2 = key("//App2");
    let dir = tempfile::tempdir().unwrap();
    let mut ext = ExternalApiConfig::new(dir.path().join("cert"));
    ext.addr = "127.0.0.1:0".parse().unwrap();
    ext.whitelist = vec![app.public(), app2.public()];
    ext.rate_limit_per_minute = 20;
    ext.max_message_bytes = 64 << 10;
    let config = omron_validator::ValidatorConfig {
        external: Some(ext),
        ..net.config()
    };
    let store = Store::open(&dir.path().join("validator.sqlite")).unwrap();
    let validator = Validator::start(config, net.parts(store, None))
        .await
        .unwrap();
    let fp = validator.certificate_fingerprint().unwrap();
    let url = format!("wss://{}/rpc", validator.external_addr().unwrap());

    // The fingerprint is committed on chain, where clients read it to pin.
    let committed =
        omron_chain::Chain::get_commitment(&net.chain, net.netuid, &net.validator.public())
            .await
            .unwrap()
            .expect("a commitment");
    assert_eq!(committed.data, fp.as_bytes());

    // GET /circuits and /health over the same pinned TLS.
    let list = omron_api::client::get_json(&url, &Pin::Sha256(fp.clone()), "/circuits")
        .await
        .unwrap();
    let list: Vec<omron_api::CircuitInfo> = serde_json::from_value(list).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, circuit.id());
    assert_eq!(list[0].output_shapes, vec![vec![1, 10]]);
    assert_eq!(
        list[0].input_schema["properties"]["input_data"]["prefixItems"][0]["maxItems"],
        784
    );
    let health = omron_api::client::get_json(&url, &Pin::Sha256(fp.clone()), "/health")
        .await
        .unwrap();
    assert_eq!(health["certificate_sha256"], json!(fp));

    // A good client, served while the refusals below happen.
    let good = {
        let (url, fp, circuit, app) = (url.clone(), fp.clone(), circuit.clone(), app.clone());
        tokio::spawn(async move {
            let mut client = connect(&url, &fp, &app).await.unwrap();
            let mut retried = 0;
            let mut answers = 0;
            // The miner is drawn by score, so the faulty one comes first now and then: then the
            // request must be retried with the honest one. 14 requests make missing that
            // case a 1-in-16000 event.
            for _ in 0..14 {
                let input = app_input(&circuit);
                let result = client
                    .call(
                        PROOF_OF_COMPUTATION,
                        // By metadata name here; by id and by folder name below.
                        json!({"circuit": if answers % 2 == 0 { "MNIST MLP" } else { "mnist-mlp" }, "input": input}),
                        CALL,
                    )
                    .await
                    .unwrap();
                let result: InferenceResult = serde_json::from_value(result).unwrap();
                let ok = check_answer(&circuit, AppRequest::Computation { input: &input }, &result)
                    .unwrap();
                assert_eq!(ok.miner, honest, "only the honest miner's proofs verify");
                assert_eq!(result.output.as_array().unwrap().len(), 10);
                answers += 1;
                if result.attempts == 2 {
                    retried += 1;
                }
                if retried > 0 && answers >= 4 {
                    break;
                }
            }
            (answers, retried)
        })
    };

    // Refusals at the door.
    refused_with(
        connect(&url, &fp, &key("//Nobody")).await,
        "neither whitelisted",
    );
    let mut forged = AuthHeaders::sign_now(&app);
    forged.origin_ss58 = app2.public().to_ss58();
    refused_with(
        ApiClient::connect_with(&url, &Pin::Sha256(fp.clone()), &forged, None).await,
        "bad signature",
    );
    let stale = AuthHeaders::sign(&app, omron_api::auth::unix_now() - 1000);
    refused_with(
        ApiClient::connect_with(&url, &Pin::Sha256(fp.clone()), &stale, None).await,
        "stale",
    );
    let once = AuthHeaders::sign_now(&app2);
    let first = ApiClient::connect_with(&url, &Pin::Sha256(fp.clone()), &once, None)
        .await
        .unwrap();
    refused_with(
        ApiClient::connect_with(&url, &Pin::Sha256(fp.clone()), &once, None).await,
        "replayed",
    );
    first.close().await;
    match connect(&url, &"00".repeat(32), &app).await {
        Err(ClientError::Connect { reason, .. }) => assert!(reason.contains("pin"), "{reason}"),
        other => panic!("a wrong pin must fail the handshake, got {other:?}"),
    }
    // A validator-permit holder of the subnet gets in by naming it.
    ApiClient::connect(
        &url,
        &Pin::Sha256(fp.clone()),
        &net.validator,
        Some(net.netuid),
    )
    .await
    .unwrap()
    .close()
    .await;

    // Refusals of requests on an open connection.
    let mut c = connect(&url, &fp, &app2).await.unwrap();
    rpc_error(
        c.call(
            PROOF_OF_COMPUTATION,
            json!({"circuit": "nope", "input": app_input(&circuit)}),
            CALL,
        )
        .await,
        codes::INVALID_PARAMS,
        "unknown circuit",
    );
    rpc_error(
        c.call(
            PROOF_OF_COMPUTATION,
            json!({"circuit": circuit.id(), "input": {"input_data": [[1.0, 2.0]]}}),
            CALL,
        )
        .await,
        codes::INVALID_PARAMS,
        "784",
    );
    rpc_error(
        c.call(PROOF_OF_COMPUTATION, json!({"circuit": circuit.id()}), CALL)
            .await,
        codes::INVALID_PARAMS,
        "input",
    );
    rpc_error(
        c.call("omron.mine_bitcoin", json!({}), CALL).await,
        codes::METHOD_NOT_FOUND,
        "unknown method",
    );
    c.send_text("{not json".into()).await.unwrap();
    let parse = c.next_response().await.unwrap();
    assert_eq!(parse.error.unwrap().code, codes::PARSE_ERROR);
    // Rate limit: 20 a minute for this key; the 21st is refused.
    for i in 0..21 {
        let r = c
            .call(
                PROOF_OF_COMPUTATION,
                json!({"circuit": circuit.id(), "input": app_input(&circuit)}),
                CALL,
            )
            .await;
        if i < 20 {
            let v = r.unwrap_or_else(|e| panic!("request {i}: {e}"));
            assert_eq!(v["success"], json!(true));
        } else {
            rpc_error(r, codes::RATE_LIMITED, "rate limit");
        }
    }
    // An oversized message closes that connection only.
    c.send_text(format!("{{\"pad\": \"{}\"}}", "x".repeat(100 << 10)))
        .await
        .unwrap();
    assert!(matches!(
        c.next_response().await,
        Err(ClientError::Transport(_))
    ));

    let (answers, retried) = good.await.unwrap();
    assert!(answers >= 4, "the good client was served ({answers})");
    assert!(
        retried > 0,
        "a request that met the faulty miner first was retried with the honest one"
    );
    let m = validator.metrics();
    assert!(m.external_requests(PROOF_OF_COMPUTATION, "verified") >= 24);
    assert!(
        m.render()
            .contains("omron_validator_external_retries_total")
    );

    validator.shutdown().await.unwrap();
    // Every answered request is archived with what re-verifies it.
    let store =
        Store::open_with_limits(&dir.path().join("validator.sqlite"), StoreLimits::default())
            .unwrap();
    let records = store.recent_external(100).unwrap();
    let verified: Vec<_> = records
        .iter()
        .filter(|r| r.record.status == "verified")
        .collect();
    assert!(verified.len() >= 24, "{} verified records", verified.len());
    for r in verified.iter().take(3) {
        let p = r.record.proven.as_ref().unwrap();
        let receipt: omron_api::Receipt = serde_json::from_value(p.receipt.clone()).unwrap();
        let proof = hex::decode(&p.proof).unwrap();
        let ok = verify_receipt(&circuit, &receipt, &p.context, &proof).unwrap();
        assert_eq!(ok.validator, net.validator.public());
        let mut bad = proof.clone();
        bad[proof.len() / 2] ^= 1;
        assert!(verify_receipt(&circuit, &receipt, &p.context, &bad).is_err());
    }
    net.stop().await;
}
