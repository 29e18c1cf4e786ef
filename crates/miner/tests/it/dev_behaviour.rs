//! The dev-only behaviours `omron localnet` runs: a slow miner and a faulty one.

use std::time::{Duration, Instant};

use omron_miner::DevOptions;
use omron_protocol::QueryOutput;

use crate::common::{Subnet, ask, key, request, store, target, validator};

#[tokio::test]
async fn the_slow_miner_answers_late_and_the_faulty_one_with_bad_proofs() {
    let subnet = Subnet::new(2).await;
    let mut slow = subnet.config();
    slow.dev = DevOptions {
        delay: Duration::from_millis(700),
        faulty: false,
    };
    let mut faulty = subnet.config();
    faulty.dev = DevOptions {
        delay: Duration::ZERO,
        faulty: true,
    };
    let slow = subnet.start(0, slow).await;
    let faulty = subnet.start(1, faulty).await;
    let dendrite = validator();

    let (id, input, query) = request(0);
    let start = Instant::now();
    let got = ask(&dendrite, &target(0, &slow), query).await;
    assert!(start.elapsed() >= Duration::from_millis(700));
    assert!(got.base.dendrite.process_time.unwrap() >= 0.7);
    let Some(QueryOutput::Proof(p)) = got.synapse.output() else {
        panic!("no proof: {:?}", got.synapse)
    };
    let store = store();
    let circuit = store.get(&id).unwrap();
    circuit
        .verify_response(
            &input,
            key("//Alice//miner0").public().as_bytes(),
            &hex::decode(&p.proof).unwrap(),
            None,
        )
        .unwrap();

    let (id, input, query) = request(0);
    let got = ask(&dendrite, &target(1, &faulty), query).await;
    let Some(QueryOutput::Proof(p)) = got.synapse.output() else {
        panic!("no proof: {:?}", got.synapse)
    };
    let outputs: Vec<f64> = serde_json::from_str(&p.public_signals).unwrap();
    assert!(!outputs.is_empty());
    let err = store
        .get(&id)
        .unwrap()
        .verify_response(
            &input,
            key("//Alice//miner1").public().as_bytes(),
            &hex::decode(&p.proof).unwrap(),
            Some(&outputs),
        )
        .unwrap_err();
    assert!(!err.to_string().is_empty());
    slow.shutdown().await;
    faulty.shutdown().await;
}
