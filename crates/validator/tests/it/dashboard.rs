//! The dashboard's JSON endpoints against a running validator with a real store: an honest
//! and a faulty miner on the embedded chain, scores seeded so that weights are set at the
//! first window; every endpoint is read back and checked against what the store and the
//! metagraph must say.

use std::time::Duration;

use omron_validator::Validator;
use omron_validator::api::dashboard::{CircuitStats, RequestRow, Series, Summary};
use omron_validator::store::{ScoreRow, Store};

use crate::miners::Behaviour;
use crate::node::{Net, fast_subnet, mnist, wait_for};

const LIMIT: Duration = Duration::from_secs(90);

async fn get<T: serde::de::DeserializeOwned>(url: String) -> T {
    let res = reqwest::get(&url).await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    res.json().await.unwrap()
}

async fn status(url: String) -> u16 {
    reqwest::get(url).await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dashboard_endpoints_report_history_weights_and_the_chain() {
    let net = Net::start(
        mnist(),
        fast_subnet(),
        &[Behaviour::Honest, Behaviour::Faulty],
        Duration::from_millis(100),
    )
    .await;
    let (honest, faulty) = (2u16, 3u16);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("validator.sqlite")).unwrap();
    // Scores from "earlier": weights are set at the first window without waiting for a
    // 256-response batch.
    store
        .set_scores(&[
            ScoreRow {
                uid: honest,
                hotkey: net.miners[0].keypair.public().to_ss58(),
                score: 0.003,
            },
            ScoreRow {
                uid: faulty,
                hotkey: net.miners[1].keypair.public().to_ss58(),
                score: 0.001,
            },
        ])
        .unwrap();
    let validator = Validator::start(net.config(), net.parts(store, None))
        .await
        .unwrap();
    let api = format!("http://{}", validator.api_addr().unwrap());

    // Until both miners were asked a few times, weights are in and Yuma paid the honest one.
    let summary: Summary = wait_for("requests, weights and incentive", LIMIT, || {
        let url = format!("{api}/dashboard/summary");
        async move {
            let s: Summary = get(url).await;
            let asked = |uid| s.miners.iter().any(|m| m.uid == uid && m.requests >= 3);
            let paid = s
                .miners
                .iter()
                .any(|m| m.uid == honest && m.incentive > 0.0);
            (asked(honest) && asked(faulty) && s.chain.last_weights_block.is_some() && paid)
                .then_some(s)
        }
    })
    .await;
    assert_eq!((summary.netuid, summary.validator_uid), (net.netuid, 1));
    let c = &summary.chain;
    assert_eq!(c.weights_mode.mode, "direct", "{c:?}");
    assert_eq!(c.connection, "ok");
    assert!(c.last_block_age_s < 10.0, "{c:?}");
    assert_eq!((c.reconnects, c.stalls), (None, None), "the embedded chain");
    assert_eq!(c.tempo, 10);
    assert!(c.sets_weights);
    assert!(c.validator_last_update.is_some());
    let attempt = c.last_weights_attempt.as_ref().unwrap();
    assert!(["included", "pending"].contains(&attempt.outcome.as_str()));
    // Every scored response is queued for proof of weights and logged, in one transaction.
    assert_eq!(summary.batch.size, 256);
    assert_eq!(summary.batch.queued, summary.logged_requests);
    assert_eq!(
        summary.batch.in_batch + summary.batch.remaining,
        256,
        "{:?}",
        summary.batch
    );
    // Weights as shares of the vector in force.
    let weights = summary.weights.as_ref().unwrap();
    let total: f64 = weights.shares.iter().map(|s| s.share_pct).sum();
    assert!((total - 100.0).abs() < 1e-6, "{weights:?}");
    let miner = |uid| summary.miners.iter().find(|m| m.uid == uid).unwrap();
    let share = |uid| weights.shares.iter().find(|s| s.uid == uid).unwrap();
    assert!(miner(honest).weight_share_pct > miner(faulty).weight_share_pct);
    assert!(miner(faulty).weight_share_pct > 0.0, "{weights:?}");
    assert_eq!(miner(honest).weight, share(honest).weight);
    assert_eq!(miner(honest).weight_share_pct, share(honest).share_pct);
    assert!(miner(honest).emission_rao > 0);
    assert!(
        summary.miners.iter().all(|m| m.uid != 1),
        "own uid left out"
    );
    assert_eq!(miner(faulty).verified, 0);

    // Recent requests: newest first, failures with their reason.
    let rows: Vec<RequestRow> = get(format!("{api}/dashboard/requests?limit=200")).await;
    assert!(rows.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let bad = rows.iter().find(|r| r.uid == faulty).unwrap();
    assert_eq!(bad.status, "unverified");
    assert!(bad.detail.starts_with("proof rejected"), "{bad:?}");
    assert_eq!(bad.source, "benchmark");
    let good = rows.iter().find(|r| r.uid == honest).unwrap();
    assert_eq!(
        (good.status.as_str(), good.detail.as_str()),
        ("verified", "proof verified")
    );
    assert!(good.proof_bytes > 0 && good.response_ms > 0.0);
    assert!(good.circuit_name.is_some());
    let failures: Vec<RequestRow> = get(format!("{api}/dashboard/requests?failed=true")).await;
    assert!(!failures.is_empty() && failures.iter().all(|r| r.status != "verified"));
    let one: Vec<RequestRow> = get(format!("{api}/dashboard/requests?limit=1")).await;
    assert_eq!(one.len(), 1);
    assert_eq!(
        status(format!("{api}/dashboard/requests?limit=lots")).await,
        400
    );

    // The series: the honest line verifies everything, the faulty one nothing; the weight
    // line carries the honest miner's share.
    let series: Series = get(format!("{api}/dashboard/miners/series?buckets=8")).await;
    assert!(series.from_block <= series.to_block && series.bucket_blocks >= 1);
    let line = |uid| series.miners.iter().find(|l| l.uid == uid).unwrap();
    assert!(line(honest).points.iter().all(|p| p.verified_ratio == 1.0));
    assert!(line(faulty).points.iter().all(|p| p.verified_ratio == 0.0));
    assert!(line(honest).points.len() <= 8);
    assert!(
        line(honest)
            .points
            .windows(2)
            .all(|w| w[0].block < w[1].block)
    );
    assert!(line(honest).weights.iter().any(|w| w.share_pct > 0.0));
    let one_bucket: Series = get(format!("{api}/dashboard/miners/series?buckets=0")).await;
    assert!(one_bucket.miners.iter().all(|l| l.points.len() == 1));
    assert_eq!(
        status(format!("{api}/dashboard/miners/series?blocks=-1")).await,
        400
    );

    // Circuits: the one benchmark circuit, with every logged request counted.
    let circuits: Vec<CircuitStats> = get(format!("{api}/dashboard/circuits")).await;
    assert_eq!(circuits.len(), 1, "{circuits:?}");
    let c = &circuits[0];
    assert!(c.benchmark && c.name.is_some());
    assert_eq!(c.verified + c.unverified + c.failed, c.requests);
    assert!(c.verified > 0 && c.unverified > 0);
    let (median, p90) = (c.median_response_ms.unwrap(), c.p90_response_ms.unwrap());
    assert!(0.0 < median && median <= p90, "{c:?}");
    assert!(c.median_proof_bytes.unwrap() > 0);

    // The page: self-contained, reading these endpoints.
    let page = reqwest::get(format!("{api}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for part in [
        "/dashboard/summary",
        "/dashboard/miners/series",
        "/dashboard/circuits",
        "/dashboard/requests",
    ] {
        assert!(page.contains(part), "{part}");
    }
    // Nothing from elsewhere: the only URL is the SVG namespace.
    assert_eq!(
        page.matches("http").count(),
        page.matches("http://www.w3.org/2000/svg").count(),
        "no external assets"
    );
    assert!(!page.contains("<script src"));

    validator.shutdown().await.unwrap();
    net.stop().await;
}
