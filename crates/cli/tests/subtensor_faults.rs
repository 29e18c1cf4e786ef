//! Issue 7, chain faults: `omron validator` and `omron miner` run as processes against the
//! real subtensor runtime (spec 218 under chopsticks, a block every half second), and the chain
//! fails under them.
//!
//! * **Crash.** Once the validator has set weights, chopsticks is killed (SIGKILL), left down
//!   for a few seconds and restarted on the same port from its saved blocks. Both nodes stay up,
//!   follow the chain again by themselves (their block gauges pass the restart block), the
//!   validator's store has lost nothing (its scoreboard counters are not reset) and it sets
//!   weights again (`LastUpdate` passes the restart block).
//! * **Stall.** chopsticks is stopped (SIGSTOP) for longer than the validator's stall timeout:
//!   its socket stays open and silent, like a half-open connection. The validator's block
//!   watchdog forces a reconnect (logged), and after SIGCONT it sets weights again.
//!
//! The subnet is set up in this process with `SubtensorDev` (tempo 10, owner burn on, so the
//! validator sets weights, the owner's uid, before any miner has a score). The runtime never
//! pays incentive (a mock epoch), so the test asserts on weights.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use omron_chain::chopsticks::{BlockMode, Chopsticks, ChopsticksOptions, default_genesis};
use omron_chain::subtensor::dev::SubtensorDev;
use omron_chain::{Chain, DevChain, Hyperparameters, NetUid, RAO_PER_TAO, SubtensorClient, Uid};
use omron_keys::{AccountId, Keypair};
use serde_json::Value;

mod common;
use common::{Proc, free_port_on, mlp_circuits, omron};

/// A wallet with a plaintext coldkey and hotkey; returns the hotkey.
fn wallet(root: &Path, name: &str) -> AccountId {
    let out = omron()
        .args(["wallet", "create", "--no-password", "--wallet.path"])
        .arg(root)
        .args(["--wallet.name", name])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wallet create: {stdout}");
    let ss58 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("hotkey default: "))
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no hotkey address in {stdout}"));
    AccountId::from_ss58(ss58).unwrap()
}

/// `omron <args> --netuid N --subtensor.network URL ...`, logging to `<dir>/<name>.log`.
fn spawn(dir: &Path, name: &str, args: &[String], netuid: NetUid, url: &str) -> Proc {
    let log = dir.join(format!("{name}.log"));
    let child = omron()
        .args(args)
        .args(["--netuid", &netuid.to_string(), "--subtensor.network", url])
        .arg("--wallet.path")
        .arg(dir.join("wallets"))
        .arg("--circuits")
        .arg(dir.join("circuits"))
        .stdout(std::fs::File::create(dir.join(format!("{name}.out"))).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    Proc { child, log }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn get_text(url: &str) -> Option<String> {
    let r = http().get(url).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.text().await.ok()
}

/// The sum of a metric's samples (all label sets) in a Prometheus text page.
fn metric(page: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in page.lines().filter(|l| !l.starts_with('#')) {
        let Some((key, value)) = line.rsplit_once(' ') else {
            continue;
        };
        if key.split('{').next() == Some(name) {
            *found.get_or_insert(0.0) += value.parse::<f64>().ok()?;
        }
    }
    found
}

/// The two node processes.
struct Nodes {
    validator: Proc,
    miner: Proc,
}

impl Nodes {
    fn assert_running(&mut self) {
        self.validator.assert_running("validator");
        self.miner.assert_running("miner");
    }

    fn logs(&self) -> String {
        format!(
            "validator:\n{}\n----\nminer:\n{}",
            self.validator.log(),
            self.miner.log()
        )
    }

    /// Polls `f` every 250 ms until it returns `Some`, checking the nodes are alive; fails
    /// with `what` and the logs after `limit`. Returns the value and the time it took.
    async fn wait_for<T, F, Fut>(&mut self, limit: Duration, what: &str, mut f: F) -> (T, Duration)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let started = Instant::now();
        loop {
            if let Some(v) = f().await {
                return (v, started.elapsed());
            }
            self.assert_running();
            assert!(
                started.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}; logs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// What the test reads from the nodes: their HTTP endpoints and the validator's log.
struct Probe {
    api: u16,
    validator_metrics: u16,
    miner_metrics: u16,
    miner_hotkey: String,
    validator_log: PathBuf,
}

impl Probe {
    async fn validator_metric(&self, name: &str) -> Option<f64> {
        let url = format!("http://127.0.0.1:{}/metrics", self.validator_metrics);
        metric(&get_text(&url).await?, name)
    }

    async fn validator_block(&self) -> Option<u64> {
        self.validator_metric("omron_validator_block")
            .await
            .map(|b| b as u64)
    }

    async fn miner_block(&self) -> Option<u64> {
        let url = format!("http://127.0.0.1:{}/metrics", self.miner_metrics);
        metric(&get_text(&url).await?, "omron_miner_metagraph_block").map(|b| b as u64)
    }

    /// The miner's row of the validator's scoreboard: `(requests, verified)`.
    async fn scoreboard(&self) -> Option<(u64, u64)> {
        let url = format!("http://127.0.0.1:{}/scoreboard", self.api);
        let board: Value = serde_json::from_str(&get_text(&url).await?).ok()?;
        let row = board["miners"]
            .as_array()?
            .iter()
            .find(|m| m["hotkey"] == self.miner_hotkey.as_str())?;
        Some((row["requests"].as_u64()?, row["verified"].as_u64()?))
    }

    /// Lines of the validator's log that contain `needle`.
    fn validator_log_count(&self, needle: &str) -> usize {
        std::fs::read_to_string(&self.validator_log)
            .map(|l| l.lines().filter(|l| l.contains(needle)).count())
            .unwrap_or(0)
    }
}

/// The validator's `LastUpdate` on chain.
async fn last_update(client: &SubtensorClient, netuid: NetUid, uid: Uid) -> Option<u64> {
    let mg = client.metagraph(netuid).await.ok()?;
    mg.by_uid(uid).map(|n| n.last_update)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nodes_ride_out_a_chain_crash_and_a_stall() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut options = ChopsticksOptions::new(default_genesis());
    options.block_mode = BlockMode::Manual;
    options.log = Some(dir.join("chopsticks.log"));
    options.db = Some(dir.join("chain.sqlite"));
    let mut chopsticks = Chopsticks::start(options).await.unwrap();
    let _producer = chopsticks.spawn_interval(Duration::from_millis(500));
    let url = chopsticks.url();
    let client = SubtensorClient::connect(&url).await.unwrap();
    let key = |uri: &str| Keypair::from_uri(uri).unwrap();
    let dev = SubtensorDev::new(client.clone(), key("//Alice"))
        .await
        .unwrap();

    // --- A subnet: the owner (uid 0), a staked validator, a miner.
    let wallets = dir.join("wallets");
    let validator_hot = wallet(&wallets, "validator");
    let miner_hot = wallet(&wallets, "miner");
    mlp_circuits(dir);
    let (owner, validator_cold, miner_cold) = (key("//Owner"), key("//Validator"), key("//Miner"));
    let tao = RAO_PER_TAO;
    dev.fund(&[
        (owner.public(), 10_000 * tao),
        (validator_cold.public(), 10_000 * tao),
        (miner_cold.public(), 100 * tao),
    ])
    .await
    .unwrap();
    let netuid = dev
        .create_subnet(
            &owner,
            &key("//Owner/hot").public(),
            Hyperparameters {
                tempo: 10,
                weights_rate_limit: 2,
                ..Hyperparameters::dev()
            },
        )
        .await
        .unwrap();
    let v_uid = client
        .burned_register(&validator_cold, netuid, &validator_hot)
        .await
        .unwrap();
    client
        .burned_register(&miner_cold, netuid, &miner_hot)
        .await
        .unwrap();
    dev.add_stake(&validator_cold, &validator_hot, netuid, 1_000 * tao)
        .await
        .unwrap();
    let setup = started.elapsed();

    // --- The nodes, as processes.
    let miner_metrics = free_port_on("127.0.0.1");
    let axon = free_port_on("127.0.0.2");
    let miner_args: Vec<String> = [
        "miner",
        "--wallet.name",
        "miner",
        "--axon.ip",
        "127.0.0.2",
        "--axon.port",
        &axon.to_string(),
        "--prometheus.ip",
        "127.0.0.1",
        "--prometheus.port",
        &miner_metrics.to_string(),
        "--metagraph.sync-interval",
        "1",
    ]
    .map(String::from)
    .to_vec();
    let miner = spawn(dir, "miner", &miner_args, netuid, &url);
    let api = free_port_on("127.0.0.1");
    let validator_metrics = free_port_on("127.0.0.1");
    let state = dir.join("validator-state");
    let validator_args: Vec<String> = [
        "validator",
        "--wallet.name",
        "validator",
        "--api.port",
        &api.to_string(),
        "--prometheus.ip",
        "127.0.0.1",
        "--prometheus.port",
        &validator_metrics.to_string(),
        "--state",
        state.to_str().unwrap(),
        "--allow-private-axons",
        "--metagraph.sync-interval",
        "1",
        // One proof request at a time: traffic enough, and CPU left for the chain on 2 cores.
        "--concurrency",
        "1",
        "--external-api-host",
        "127.0.0.1",
        "--external-api-port",
        "0",
    ]
    .map(String::from)
    .to_vec();
    let validator = spawn(dir, "validator", &validator_args, netuid, &url);
    let mut nodes = Nodes { validator, miner };
    let probe = Probe {
        api,
        validator_metrics,
        miner_metrics,
        miner_hotkey: miner_hot.to_ss58(),
        validator_log: dir.join("validator.log"),
    };
    let weights_set = "omron_validator_weights_set_total";

    // --- Weights once, and traffic to the miner. (`LastUpdate` is the registration block until
    // the first weights; the validator's counter tells.)
    nodes
        .wait_for(Duration::from_secs(120), "weights and requests", || async {
            let set = probe.validator_metric(weights_set).await?;
            let (requests, _) = probe.scoreboard().await?;
            (set > 0.0 && requests > 0).then_some(())
        })
        .await;
    let first_weights = started.elapsed();

    // --- Crash: SIGKILL, a few seconds down, restart where it was.
    let (requests, verified) = probe.scoreboard().await.unwrap();
    let set_before = probe.validator_metric(weights_set).await.unwrap();
    let killed_at = chopsticks.head().await.unwrap();
    chopsticks.kill();
    tokio::time::sleep(Duration::from_secs(5)).await;
    nodes.assert_running();
    let resumed_at = chopsticks.restart().await.unwrap();
    assert!(
        resumed_at <= killed_at && resumed_at + 2 >= killed_at,
        "resumed at #{resumed_at}, killed at #{killed_at}"
    );
    // Both nodes follow the chain again by themselves: they see blocks made after the restart.
    let restarted = Instant::now();
    let (validator_back, miner_back) = (Cell::new(None), Cell::new(None));
    nodes
        .wait_for(
            Duration::from_secs(60),
            "both nodes past the restart",
            || async {
                for (back, block) in [
                    (&validator_back, probe.validator_block().await),
                    (&miner_back, probe.miner_block().await),
                ] {
                    if back.get().is_none() && block.is_some_and(|b| b > killed_at) {
                        back.set(Some(restarted.elapsed()));
                    }
                }
                (validator_back.get().is_some() && miner_back.get().is_some()).then_some(())
            },
        )
        .await;
    let (validator_back, miner_back) = (validator_back.get().unwrap(), miner_back.get().unwrap());
    // The chain kept its state: the subnet and both registrations.
    assert_eq!(
        client.uid_of(netuid, &validator_hot).await.unwrap(),
        Some(v_uid)
    );
    assert!(client.uid_of(netuid, &miner_hot).await.unwrap().is_some());
    // Nothing lost: the store's counters go on from where they were.
    let (r, v) = probe.scoreboard().await.unwrap();
    assert!(
        r >= requests && v >= verified,
        "({r}, {v}) after ({requests}, {verified})"
    );
    // Weights again, on chain, after the restart.
    let (_, weights_back) = nodes
        .wait_for(
            Duration::from_secs(90),
            "weights after the restart",
            || async { (last_update(&client, netuid, v_uid).await? > resumed_at).then_some(()) },
        )
        .await;
    assert!(probe.validator_metric(weights_set).await.unwrap() > set_before);

    // --- Stall: the node stops answering with its socket open until the validator's watchdog
    // fires (five of its observed block times, at least 10 s; at most 60 s). (It may have fired
    // already while the chain was down: count the lines.)
    let (stall_line, forced_line) = ("no new block for", "reconnected to the chain (forced)");
    let (stalls, forced) = (
        probe.validator_log_count(stall_line),
        probe.validator_log_count(forced_line),
    );
    let frozen_at = chopsticks.head().await.unwrap();
    chopsticks.freeze().unwrap();
    let (_, stalled) = nodes
        .wait_for(Duration::from_secs(75), "the stall watchdog", || async {
            (probe.validator_log_count(stall_line) > stalls).then_some(())
        })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    nodes.assert_running();
    chopsticks.thaw().unwrap();
    let (_, reconnected) = nodes
        .wait_for(Duration::from_secs(30), "the forced reconnect", || async {
            (probe.validator_log_count(forced_line) > forced).then_some(())
        })
        .await;
    let (_, weights_after_stall) = nodes
        .wait_for(
            Duration::from_secs(90),
            "weights after the stall",
            || async { (last_update(&client, netuid, v_uid).await? > frozen_at).then_some(()) },
        )
        .await;
    let (r2, _) = probe.scoreboard().await.unwrap();
    assert!(r2 > r, "requests go on: {r2} after {r}");
    // The forced reconnects are on the validator's exporter too.
    let (_, _) = nodes
        .wait_for(Duration::from_secs(30), "the reconnect metric", || async {
            (probe
                .validator_metric("omron_validator_chain_reconnects")
                .await?
                >= 1.0)
                .then_some(())
        })
        .await;
    nodes.assert_running();

    // What the nodes said about the chain, for the record.
    for (name, log) in [
        ("validator", nodes.validator.log()),
        ("miner", nodes.miner.log()),
    ] {
        for line in log.lines().filter(|l| {
            [
                "chain connection",
                "reconnect",
                "block stream",
                "metagraph sync failed",
            ]
            .iter()
            .any(|k| l.contains(k))
        }) {
            eprintln!("{name}: {line}");
        }
    }
    eprintln!(
        "setup {setup:?}, first weights at {first_weights:?}; killed at #{killed_at}, resumed \
         at #{resumed_at}: validator back after {validator_back:?}, miner after \
         {miner_back:?}, weights after {weights_back:?} more; frozen at #{frozen_at}: stall \
         noticed after {stalled:?} (earlier forced reconnects: {forced}), forced reconnect {reconnected:?} and weights \
         {weights_after_stall:?} after the thaw; \
         requests {requests} -> {r} -> {r2}; total {:?}",
        started.elapsed()
    );
}
