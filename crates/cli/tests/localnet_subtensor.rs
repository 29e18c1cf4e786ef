//! `omron localnet --chain subtensor`: the whole subnet on the real subtensor runtime (spec 218,
//! executed by chopsticks from npm): the localnet creates the subnet under sudo, registers and
//! stakes through the runtime's own extrinsics, the validator and miners run as child
//! processes against it, and the validator's weights land on the runtime (its `LastUpdate`
//! moves), with the fastest honest miner weighted most and the faulty one not at all.
//!
//! This runtime's epoch is a mock that never pays miners incentive (`docs/chain.md`, "The real
//! runtime"), so the ranking is checked on the weights the runtime accepted, not on incentive.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const OMRON: &str = env!("CARGO_BIN_EXE_omron");
const CAP: Duration = Duration::from_secs(480);

fn metagraph(url: &str, netuid: &str) -> Option<Value> {
    let out = Command::new(OMRON)
        .args(["chain", "metagraph", "--json", "--netuid", netuid])
        .args(["--subtensor.network", url])
        .env_remove("RUST_LOG")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).ok())
        .flatten()
}

fn neuron(mg: &Value, uid: u64) -> Option<&Value> {
    mg["neurons"]
        .as_array()
        .and_then(|ns| ns.iter().find(|n| n["uid"] == uid))
}

#[test]
fn localnet_runs_on_the_real_subtensor_runtime_and_lands_weights() {
    let dir = tempfile::tempdir().unwrap();
    let circuits = dir.path().join("circuits");
    std::fs::create_dir_all(&circuits).unwrap();
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../circuits/mnist-mlp");
    std::os::unix::fs::symlink(src.canonicalize().unwrap(), circuits.join("mnist-mlp")).unwrap();
    let summary_path = dir.path().join("summary.json");
    let started = Instant::now();
    let mut child = Command::new(OMRON)
        .args(["localnet", "--chain", "subtensor", "--miners", "3"])
        .args(["--block-time-ms", "500", "--scoreboard-interval", "20"])
        .args(["--duration", &CAP.as_secs().to_string()])
        .arg("--state")
        .arg(dir.path().join("state"))
        .arg("--circuits")
        .arg(&circuits)
        .arg("--summary")
        .arg(&summary_path)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("localnet.err")).unwrap())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut output: Vec<String> = Vec::new();
    let mut url = None;
    let mut netuid = None;
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(300))
            .unwrap_or_else(|e| {
                let _ = child.kill();
                panic!("localnet did not come up ({e}):\n{}", output.join("\n"))
            });
        output.push(line.clone());
        if line.contains("real subtensor runtime") && line.contains("ws://") {
            url = line
                .split_whitespace()
                .find(|w| w.starts_with("ws://"))
                .map(str::to_owned);
            netuid = line
                .split("subnet ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_owned);
        }
        if line.starts_with("all nodes up") {
            break;
        }
    }
    let (url, netuid) = (url.expect("chain URL"), netuid.expect("netuid"));
    let first = metagraph(&url, &netuid).expect("the metagraph of the real runtime");
    let validator = neuron(&first, 1).expect("the validator at uid 1");
    let up_block = first["block"].as_u64().unwrap();
    assert!(
        validator["stake"].as_u64().unwrap() >= 4_096_000_000_000,
        "the validator's stake on the runtime: {validator}"
    );

    // Until the runtime holds the validator's weights (its LastUpdate moves past start-up).
    loop {
        while let Ok(line) = rx.try_recv() {
            output.push(line);
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("localnet exited early ({status}):\n{}", output.join("\n"));
        }
        let landed = metagraph(&url, &netuid).is_some_and(|mg| {
            neuron(&mg, 1).is_some_and(|v| v["last_update"].as_u64().unwrap_or(0) > up_block)
        });
        if landed {
            break;
        }
        assert!(
            started.elapsed() < CAP - Duration::from_secs(30),
            "no weights on the runtime after {:?}:\n{}",
            started.elapsed(),
            output.join("\n")
        );
        std::thread::sleep(Duration::from_secs(3));
    }
    // SAFETY: kill(2) on our own child, which has not been reaped (try_wait saw it running).
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("localnet did not stop within 90 s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(1)) {
        output.push(line);
    }
    let text = output.join("\n");
    assert!(status.success(), "localnet failed ({status}):\n{text}");
    let summary: Value = serde_json::from_slice(&std::fs::read(&summary_path).unwrap()).unwrap();
    let miners = summary["miners"].as_array().unwrap();
    let weight = |kind: &str| -> f64 {
        miners
            .iter()
            .find(|m| m["kind"] == kind)
            .and_then(|m| m["weight"].as_f64())
            .unwrap_or_else(|| panic!("no {kind} miner in {summary}"))
    };
    assert!(
        weight("honest") > weight("slow"),
        "the honest miner outweighs the slow one: {summary}"
    );
    assert_eq!(weight("faulty"), 0.0, "{summary}");
}
