//! Chain faults (issue 7) at the client: the real runtime under chopsticks, blocks every half
//! second, is killed and restarted, then frozen (SIGSTOP) past the client's stall timeout.
//!
//! * The harness restarts the runtime where it was: the subnet, its hyperparameters, the
//!   registrations and the validator's stake and weights are still there, and new blocks follow
//!   the last saved one.
//! * The client reconnects by itself after the restart: a block stream reports the lost
//!   connection, a new subscription sees blocks past the restart, and weights are set again.
//! * A frozen node keeps its socket open and says nothing: the block stream ends after the stall
//!   timeout, the client forces a reconnect (counted), and once the node continues, blocks and
//!   calls flow again on the new connection.
//!
//! The nodes under such faults (`omron validator` and `omron miner` as processes) are tested in
//! `crates/cli/tests/subtensor_faults.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use omron_chain::chopsticks::{BlockMode, Chopsticks, ChopsticksOptions, default_genesis};
use omron_chain::subtensor::dev::SubtensorDev;
use omron_chain::subtensor::health::HealthConfig;
use omron_chain::{BlockNumber, Chain, DevChain, Hyperparameters, RAO_PER_TAO, SubtensorClient};
use omron_keys::Keypair;

fn key(uri: &str) -> Keypair {
    Keypair::from_uri(uri).unwrap()
}

/// Subscribes (again while the connection is down) until a block above `above` arrives;
/// returns it and how many subscriptions it took.
async fn first_block_above(client: &SubtensorClient, above: BlockNumber) -> (BlockNumber, u32) {
    let mut subscriptions = 0;
    loop {
        subscriptions += 1;
        let Ok(mut blocks) = client.subscribe_blocks().await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        while let Some(item) = blocks.next().await {
            match item {
                Ok(b) if b > above => return (b, subscriptions),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_survives_a_restart_and_a_frozen_node() {
    let log = std::env::temp_dir().join(format!("omron-faults-{}.log", std::process::id()));
    let mut options = ChopsticksOptions::new(default_genesis());
    options.block_mode = BlockMode::Manual;
    options.log = Some(log.clone());
    let mut chopsticks = Chopsticks::start(options).await.unwrap();
    let _blocks = chopsticks.spawn_interval(Duration::from_millis(500));
    let started = Instant::now();

    let health = HealthConfig {
        min_stall: Duration::from_secs(4),
        ..HealthConfig::default()
    };
    let client = SubtensorClient::connect_with(&chopsticks.url(), health)
        .await
        .unwrap();
    let dev = SubtensorDev::new(client.clone(), key("//Alice"))
        .await
        .unwrap();

    // --- A subnet with a staked validator and a miner; weights set once.
    let (owner, owner_hot) = (key("//Owner"), key("//Owner/hot"));
    let (validator, validator_hot) = (key("//Validator"), key("//Validator/hot"));
    let (miner, miner_hot) = (key("//Miner"), key("//Miner/hot"));
    let tao = RAO_PER_TAO;
    dev.fund(&[
        (owner.public(), 10_000 * tao),
        (validator.public(), 10_000 * tao),
        (miner.public(), 100 * tao),
    ])
    .await
    .unwrap();
    let hyper = Hyperparameters {
        tempo: 10,
        weights_rate_limit: 2,
        ..Hyperparameters::dev()
    };
    let netuid = dev
        .create_subnet(&owner, &owner_hot.public(), hyper.clone())
        .await
        .unwrap();
    let v_uid = client
        .burned_register(&validator, netuid, &validator_hot.public())
        .await
        .unwrap();
    let m_uid = client
        .burned_register(&miner, netuid, &miner_hot.public())
        .await
        .unwrap();
    dev.add_stake(&validator, &validator_hot.public(), netuid, 1_000 * tao)
        .await
        .unwrap();
    client
        .set_weights(&validator_hot, netuid, &[m_uid], &[u16::MAX], 0)
        .await
        .unwrap();
    let before = client.metagraph(netuid).await.unwrap();
    let set_at = before.by_uid(v_uid).unwrap().last_update;
    assert!(set_at > 0);
    let setup = started.elapsed();

    // --- Kill the runtime under an open block stream, restart it where it was.
    let mut stream = client.subscribe_blocks().await.unwrap();
    // The subscription is made at the first poll: have it live, as in a running node.
    stream.next().await.unwrap().unwrap();
    let killed_at = chopsticks.head().await.unwrap();
    chopsticks.kill();
    let down = Instant::now();
    // The open stream reports the lost connection (then the caller subscribes again).
    let reported = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match stream.next().await {
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Some(e.to_string()),
                None => return None,
            }
        }
    })
    .await
    .expect("the stream noticed the dead node");
    drop(stream);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let resumed_at = chopsticks.restart().await.unwrap();
    let restarted = Instant::now();
    assert!(
        resumed_at + 2 >= killed_at && resumed_at <= killed_at,
        "resumed at #{resumed_at}, killed at #{killed_at}"
    );
    let (seen, subscriptions) = first_block_above(&client, resumed_at).await;
    let reconnect_time = restarted.elapsed();

    // The chain's state is what it was: subnet, hyperparameters, registrations, stake, weights.
    assert!(dev.subnets().await.unwrap().contains(&netuid));
    assert_eq!(client.hyperparameters(netuid).await.unwrap(), hyper);
    let after = client.metagraph(netuid).await.unwrap();
    assert_eq!(after.n(), before.n());
    for (a, b) in after.neurons.iter().zip(&before.neurons) {
        assert_eq!(
            (a.uid, a.hotkey, a.coldkey, a.block_at_registration),
            (b.uid, b.hotkey, b.coldkey, b.block_at_registration)
        );
        assert!(
            a.stake >= b.stake,
            "uid {}: stake {} < {}",
            a.uid,
            a.stake,
            b.stake
        );
    }
    assert_eq!(after.by_uid(v_uid).unwrap().last_update, set_at);
    // Weights again, past the rate limit, after the restart.
    dev.new_blocks(3).await.unwrap();
    client
        .set_weights(&validator_hot, netuid, &[m_uid], &[u16::MAX], 0)
        .await
        .unwrap();
    let again = client.metagraph(netuid).await.unwrap();
    assert!(again.by_uid(v_uid).unwrap().last_update > resumed_at);

    // --- Freeze the runtime past the stall timeout: the stream ends, the client reconnects.
    let forced_before = client.health().reconnects();
    let mut stream = client.subscribe_blocks().await.unwrap();
    // A few blocks teach the client the block time (until then it assumes finney's 12 s).
    for _ in 0..6 {
        stream.next().await.unwrap().unwrap();
    }
    let stall = client.health().stall_timeout();
    // Blocks every 0.5 s: the 4 s floor, or just above it when a loaded machine stretches the
    // observed block time past 0.5 s (it measured 4.08 s once); far below what finney's 12 s
    // blocks would give.
    assert!(
        stall >= Duration::from_secs(4) && stall < Duration::from_secs(8),
        "blocks every 0.5 s: near the floor, got {stall:?}"
    );
    let frozen_at = chopsticks.head().await.unwrap();
    chopsticks.freeze().unwrap();
    let frozen = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(item) = stream.next().await {
            if item.is_err() {
                return false;
            }
        }
        true
    })
    .await
    .expect("the stalled stream ended");
    assert!(ended, "a stall ends the stream");
    let detected = frozen.elapsed();
    // Counted from the last block, which came at most a block before the freeze.
    assert!(
        detected + Duration::from_secs(1) >= stall && detected < stall + Duration::from_secs(5),
        "stall noticed after {detected:?}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    chopsticks.thaw().unwrap();
    let thawed = Instant::now();
    let (after_thaw, _) = first_block_above(&client, frozen_at).await;
    let resumed_blocks = thawed.elapsed();
    // The forced reconnect completes once the node answers the new handshake.
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.health().reconnects() == forced_before {
        assert!(Instant::now() < deadline, "no forced reconnect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reconnected = thawed.elapsed();
    let now = client.current_block().await.unwrap();
    assert!(now >= after_thaw);
    dev.new_blocks(3).await.unwrap();
    client
        .set_weights(&validator_hot, netuid, &[m_uid], &[u16::MAX], 0)
        .await
        .unwrap();

    eprintln!(
        "setup {setup:?}; kill at #{killed_at} (stream: {reported:?}), restarted after {:?} at \
         #{resumed_at}, block #{seen} seen {reconnect_time:?} later ({subscriptions} \
         subscriptions); stall {stall:?} noticed after {detected:?}, blocks {resumed_blocks:?} \
         and forced reconnect {reconnected:?} after the thaw; {} forced reconnects",
        restarted.duration_since(down),
        client.health().reconnects()
    );
    assert!(
        reconnect_time < Duration::from_secs(20),
        "{reconnect_time:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(240));
    drop(chopsticks);
    let _ = std::fs::remove_file(log);
}
