//! Our dendrite against our axon over real HTTP on 127.0.0.1, both signing schemes.

use std::time::{Duration, Instant};

use omron_bittensor::axon::{AuthScheme, AxonConfig};
use omron_bittensor::dendrite::{AxonTarget, Dendrite, DendriteConfig, is_success};
use omron_bittensor::json::{JsonObject, JsonValue};
use omron_bittensor::synapse::Ping;

use crate::common::{
    FailingQuery, QueryZkProof, RequiredFieldQuery, UnknownQuery, capture_axon, capture_proof,
    miner_hotkey, stranger_hotkey, validator_hotkey,
};

fn input(pairs: &[(&str, JsonValue)]) -> JsonObject {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn query(i: JsonObject) -> QueryZkProof {
    QueryZkProof {
        query_input: Some(i),
        query_output: None,
    }
}

#[tokio::test]
async fn every_outcome_over_both_schemes() {
    let axon = capture_axon(None, AxonConfig::default()).await;
    let addr = axon.local_addr();
    let target = AxonTarget {
        ip: addr.ip().to_string(),
        port: addr.port(),
        hotkey: miner_hotkey().public(),
    };
    let t = Duration::from_secs(5);
    for scheme in [AuthScheme::Sdk, AuthScheme::BtAuth1] {
        let config = DendriteConfig {
            scheme,
            ..DendriteConfig::default()
        };
        let dendrite = Dendrite::with_config(validator_hotkey(), config.clone()).unwrap();
        // Success: outputs arrive, inputs survive, the status is 200.
        let i = input(&[
            ("model_id", JsonValue::String("m".into())),
            ("b", JsonValue::Float(2.5)),
        ]);
        let got = dendrite.query(&target, query(i.clone()), t).await;
        assert!(is_success(&got), "{scheme:?}: {:?}", got.base.dendrite);
        assert_eq!(got.synapse.query_output, Some(capture_proof(&i)));
        assert_eq!(got.synapse.query_input, Some(i));
        assert_eq!(got.base.dendrite.status_message.as_deref(), Some("Success"));
        assert!(got.base.dendrite.process_time.unwrap() > 0.0);
        assert_eq!(
            got.base.axon.hotkey,
            Some(miner_hotkey().public().to_ss58())
        );

        let got = dendrite.query(&target, Ping {}, t).await;
        assert!(is_success(&got), "{scheme:?}");
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
        assert_eq!(got.synapse.answer.as_deref(), Some("olleh"), "{scheme:?}");

        // Handler failure: 500 with an id.
        let got = dendrite.query(&target, FailingQuery::default(), t).await;
        assert_eq!(got.base.dendrite.status_code, Some(500), "{scheme:?}");
        assert!(
            got.base
                .dendrite
                .status_message
                .unwrap()
                .starts_with("Internal Server Error #")
        );

        // Unknown synapse: 404 with the SDK's text.
        let got = dendrite.query(&target, UnknownQuery::default(), t).await;
        assert_eq!(got.base.dendrite.status_code, Some(404));
        assert_eq!(
            got.base.dendrite.status_message.as_deref(),
            Some(
                "Synapse name 'UnknownQuery' not found. Available synapses ['Synapse', \
                 'QueryZkProof', 'FailingQuery', 'RequiredFieldQuery']"
            )
        );

        // A slow handler: the axon stops it at the request's timeout and answers 408.
        let slow = input(&[("sleep", JsonValue::Float(3.0))]);
        let started = Instant::now();
        let got = dendrite
            .query(&target, query(slow), Duration::from_millis(700))
            .await;
        assert_eq!(got.base.dendrite.status_code, Some(408), "{scheme:?}");
        // Well before the 3 s the handler wanted (generous for loaded CI machines).
        assert!(started.elapsed() < Duration::from_millis(2800));

        // Blacklisted caller.
        let stranger = Dendrite::with_config(stranger_hotkey(), config.clone()).unwrap();
        let got = stranger.query(&target, query(JsonObject::new()), t).await;
        assert_eq!(got.base.dendrite.status_code, Some(403));
        assert_eq!(
            got.base.dendrite.status_message.as_deref(),
            Some(
                "Forbidden. Key is blacklisted: Unrecognized hotkey \
                 5Eef3k8dZk97uY1joM2WFJRvuUroAhic5Xed2dq1HscSZUvC."
            )
        );

        // Signed for another axon: 401.
        let wrong = AxonTarget {
            hotkey: stranger_hotkey().public(),
            ..target.clone()
        };
        let got = dendrite.query(&wrong, query(JsonObject::new()), t).await;
        assert_eq!(got.base.dendrite.status_code, Some(401), "{scheme:?}");
        assert!(
            got.base
                .dendrite
                .status_message
                .unwrap()
                .starts_with("Not Verified with error: ")
        );

        // A stale clock: 401 (SDK: too old; btauth/1: StaleRequest).
        let stale = Dendrite::with_config(validator_hotkey(), config.clone())
            .unwrap()
            .with_clock(std::sync::Arc::new(|| {
                omron_bittensor::ids::now_ns() - 60_000_000_000
            }));
        let got = stale.query(&target, query(JsonObject::new()), t).await;
        assert_eq!(got.base.dendrite.status_code, Some(401), "{scheme:?}");
        assert!(got.base.dendrite.status_message.unwrap().contains("old"));
    }

    // Many axons at once, in order; one of them down (503).
    let dendrite = Dendrite::new(validator_hotkey()).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = AxonTarget {
        ip: "127.0.0.1".into(),
        port: closed.local_addr().unwrap().port(),
        hotkey: miner_hotkey().public(),
    };
    drop(closed);
    let targets = vec![target.clone(), dead.clone(), target.clone()];
    let results = dendrite
        .query_many(&targets, &query(input(&[("x", JsonValue::Int(1))])), t)
        .await;
    let codes: Vec<_> = results
        .iter()
        .map(|r| r.base.dendrite.status_code)
        .collect();
    assert_eq!(codes, [Some(200), Some(503), Some(200)]);
    assert_eq!(
        results[1].base.dendrite.status_message.as_deref(),
        Some(
            format!(
                "Service unavailable at 127.0.0.1:{}/QueryZkProof",
                dead.port
            )
            .as_str()
        )
    );
    axon.shutdown().await;
}

#[tokio::test]
async fn concurrent_queries_from_one_dendrite_all_succeed() {
    let axon = capture_axon(None, AxonConfig::default()).await;
    let addr = axon.local_addr();
    let target = AxonTarget {
        ip: addr.ip().to_string(),
        port: addr.port(),
        hotkey: miner_hotkey().public(),
    };
    let dendrite = Dendrite::new(validator_hotkey()).unwrap();
    // Strictly increasing nonces per (hotkey, uuid): sequential calls never collide.
    for n in 0..20 {
        let got = dendrite
            .query(
                &target,
                query(input(&[("n", JsonValue::Int(n))])),
                Duration::from_secs(5),
            )
            .await;
        assert!(
            is_success(&got),
            "{n}: {:?}",
            got.base.dendrite.status_message
        );
    }
    axon.shutdown().await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let config = AxonConfig {
        max_body_bytes: 1024,
        ..AxonConfig::default()
    };
    let axon = capture_axon(None, config).await;
    let addr = axon.local_addr();
    let target = AxonTarget {
        ip: addr.ip().to_string(),
        port: addr.port(),
        hotkey: miner_hotkey().public(),
    };
    let dendrite = Dendrite::new(validator_hotkey()).unwrap();
    let big = input(&[("blob", JsonValue::String("x".repeat(4096)))]);
    let got = dendrite
        .query(&target, query(big), Duration::from_secs(5))
        .await;
    assert_eq!(got.base.dendrite.status_code, Some(413));
    axon.shutdown().await;
}

#[tokio::test]
async fn request_bytes_in_flight_are_bounded_over_all_connections() {
    // Room for two 600 KB bodies at once, not three.
    let config = AxonConfig {
        max_body_bytes: 1 << 20,
        max_body_bytes_in_flight: 1_300_000,
        ..AxonConfig::default()
    };
    let axon = capture_axon(None, config).await;
    let addr = axon.local_addr();
    let target = AxonTarget {
        ip: addr.ip().to_string(),
        port: addr.port(),
        hotkey: miner_hotkey().public(),
    };
    let dendrite = Dendrite::new(validator_hotkey()).unwrap();
    let t = Duration::from_secs(20);
    let slow = || {
        query(input(&[
            ("blob", JsonValue::String("x".repeat(600_000))),
            ("sleep", JsonValue::Float(8.0)),
        ]))
    };
    let (a, b) = (slow(), slow());
    // One dendrite per concurrent request: requests of one dendrite that overtake each other
    // on the way can be refused as replays (an older nonce arriving after a newer one).
    let first = tokio::spawn({
        let (d, tg) = (Dendrite::new(validator_hotkey()).unwrap(), target.clone());
        async move { d.query(&tg, a, t).await }
    });
    let second = tokio::spawn({
        let (d, tg) = (Dendrite::new(validator_hotkey()).unwrap(), target.clone());
        async move { d.query(&tg, b, t).await }
    });
    // Once both big requests are held by the slow handler, a third big one is refused as
    // busy. Until both have arrived (signing and sending 600 KB takes a while in a debug build
    // on a loaded machine) it is served at once, as it does not sleep: ask until refused.
    let big_fast = || query(input(&[("blob", JsonValue::String("x".repeat(600_000)))]));
    let mut refused = false;
    for _ in 0..40 {
        assert!(
            !first.is_finished() && !second.is_finished(),
            "the held requests ended before a third was refused"
        );
        let third = dendrite.query(&target, big_fast(), t).await;
        match third.base.dendrite.status_code {
            Some(503) => {
                refused = true;
                break;
            }
            Some(200) => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("third request: {other:?}"),
        }
    }
    assert!(refused, "a third big request is refused while two are held");
    // ...while a small one still fits and is served.
    let small = dendrite.query(&target, query(input(&[])), t).await;
    assert_eq!(small.base.dendrite.status_code, Some(200));
    for held in [first, second] {
        assert_eq!(held.await.unwrap().base.dendrite.status_code, Some(200));
    }
    // Their bytes are given back: the next big request is served.
    let after = dendrite.query(&target, slow(), t).await;
    assert_eq!(after.base.dendrite.status_code, Some(200));
    axon.shutdown().await;
}
