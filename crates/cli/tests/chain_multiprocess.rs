//! Issue 4: `omron chain serve` in one process, two other processes register and serve axons and
//! each sees the other in the metagraph; the chain is killed, restarts from its state folder and
//! the metagraph is unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const OMRON: &str = env!("CARGO_BIN_EXE_omron");

/// A running `omron chain serve`, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(state: &Path, block_time_ms: u64) -> Server {
    let mut child = Command::new(OMRON)
        .args([
            "chain",
            "serve",
            "--port",
            "0",
            "--block-time-ms",
            &block_time_ms.to_string(),
        ])
        .arg("--state")
        .arg(state)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start omron chain serve");
    let url = common::loopback_url_line(&mut child);
    Server { child, url }
}

fn omron(url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(OMRON);
    cmd.args(args)
        .args(["--subtensor.network", url])
        .env_remove("RUST_LOG");
    cmd
}

fn check(output: Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn run(url: &str, args: &[&str]) -> String {
    check(omron(url, args).output().unwrap(), &args.join(" "))
}

fn metagraph(url: &str, netuid: &str) -> Value {
    serde_json::from_str(&run(
        url,
        &["chain", "metagraph", "--netuid", netuid, "--json"],
    ))
    .unwrap()
}

fn neuron<'a>(mg: &'a Value, hotkey: &str) -> Option<&'a Value> {
    mg["neurons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["hotkey"] == hotkey)
}

/// The ss58 address of a URI, through the binary's own error path: registering an existing
/// hotkey fails, so ask the metagraph instead. Simpler: derive it in-process.
fn address(uri: &str) -> String {
    omron_keys::Keypair::from_uri(uri)
        .unwrap()
        .public()
        .to_string()
}

#[test]
fn chain_serves_two_processes_and_survives_a_restart() {
    let state = tempfile::tempdir().unwrap();
    let server = serve(state.path(), 100);
    let url = server.url.clone();

    // A long tempo keeps epochs (and so stake and emission) out of the comparison below.
    let netuid = run(
        &url,
        &[
            "chain",
            "create-subnet",
            "--owner",
            "//Alice",
            "--tempo",
            "5000",
        ],
    );
    let netuid = netuid.trim().to_owned();
    assert_eq!(netuid, "1");

    // Two processes at once, each registering its hotkey and serving its axon.
    let spawn = |cold: &str, hot: &str, port: &str| {
        let netuid = netuid.clone();
        let (url, cold, hot, port) = (
            url.clone(),
            cold.to_owned(),
            hot.to_owned(),
            port.to_owned(),
        );
        std::thread::spawn(move || {
            run(
                &url,
                &[
                    "chain",
                    "register",
                    "--netuid",
                    &netuid,
                    "--coldkey",
                    &cold,
                    "--hotkey",
                    &hot,
                ],
            );
            run(
                &url,
                &[
                    "chain",
                    "serve-axon",
                    "--netuid",
                    &netuid,
                    "--hotkey",
                    &hot,
                    "--port",
                    &port,
                ],
            );
        })
    };
    let a = spawn("//Bob", "//Bob/miner", "9101");
    let b = spawn("//Charlie", "//Charlie/miner", "9102");
    a.join().unwrap();
    b.join().unwrap();

    // Each side's view (a fresh process reading the chain) holds the other's axon.
    let (bob, charlie) = (address("//Bob/miner"), address("//Charlie/miner"));
    let mg = metagraph(&url, &netuid);
    let nb = neuron(&mg, &bob).expect("Bob's miner registered");
    let nc = neuron(&mg, &charlie).expect("Charlie's miner registered");
    assert_eq!(nb["axon"]["port"], 9101);
    assert_eq!(nc["axon"]["port"], 9102);
    assert_eq!(nb["coldkey"], address("//Bob"));
    let mut uids: Vec<u64> = mg["neurons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["uid"].as_u64().unwrap())
        .collect();
    uids.sort_unstable();
    assert_eq!(uids, vec![0, 1, 2]);

    // Registering again is refused with the runtime's error name, and the exit code says so.
    let again = omron(
        &url,
        &[
            "chain",
            "register",
            "--netuid",
            &netuid,
            "--coldkey",
            "//Bob",
            "--hotkey",
            "//Bob/miner",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("HotKeyAlreadyRegisteredInSubNet"));

    // Kill the chain outright (no graceful shutdown) and start it again on the same state.
    let block_before: u64 = run(&url, &["chain", "block"]).trim().parse().unwrap();
    let neurons_before = metagraph(&url, &netuid)["neurons"].clone();
    drop(server);
    let server = serve(state.path(), 60_000);
    let after = metagraph(&server.url, &netuid);
    assert_eq!(
        after["neurons"], neurons_before,
        "metagraph changed across the restart"
    );
    assert!(after["block"].as_u64().unwrap() >= block_before);

    // And it keeps producing blocks from where it stopped.
    drop(server);
    let server = serve(state.path(), 50);
    let start = Instant::now();
    let first: u64 = run(&server.url, &["chain", "block"])
        .trim()
        .parse()
        .unwrap();
    assert!(first >= block_before);
    loop {
        let now: u64 = run(&server.url, &["chain", "block"])
            .trim()
            .parse()
            .unwrap();
        if now > first {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no new block after restart"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn unreachable_chain_is_a_clear_error() {
    let out = omron(
        "http://127.0.0.1:1",
        &["chain", "metagraph", "--netuid", "1"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach http://127.0.0.1:1"),
        "{stderr}"
    );
    let out = omron("nowhere", &["chain", "block"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected dev, finney"));
}
