//! Issue 11, item 7: `omron miner doctor` and the miner's status line, with the real binary
//! against `omron chain serve`.
//!
//! One subnet (100 ms blocks) with a staked validator holding a permit, a registered miner and
//! an unregistered hotkey:
//! * a healthy miner running (`omron miner`): the doctor, given the same flags, answers every
//!   check OK and exits 0; the miner's status line (every 5 blocks here) shows its uid and the
//!   proof requests it failed per circuit after one bad request from the validator's key;
//! * the unregistered hotkey: the registration check fails with the registration advice, the
//!   checks that need a uid are skipped, exit 1;
//! * the miner stopped: its announced axon no longer answers, and the axon check fails naming
//!   the address, exit 1.
//!
//! Only the MLP circuit is served: it proves in milliseconds even in a debug build.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;
use common::*;

/// Polls `f` every 200 ms until it returns `Some`, failing with `what` (and `log`) after
/// `limit`.
fn wait_for<T>(
    limit: Duration,
    what: &str,
    log: impl Fn() -> String,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn issue_11_miner_doctor_and_status_line() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, url) = serve_chain(dir.path());
    let netuid = run(&["chain", "create-subnet", "--subtensor.network", &url])
        .trim()
        .to_owned();
    let wallets = dir.path().join("wallets");
    let wallets_arg = wallets.to_str().unwrap().to_owned();
    let validator = wallet(&wallets, "validator");
    let miner_key = wallet(&wallets, "miner");
    let stranger = wallet(&wallets, "stranger");
    for hk in [&validator, &miner_key] {
        run(&[
            "chain",
            "register",
            "--netuid",
            &netuid,
            "--coldkey",
            "//Alice",
            "--hotkey",
            hk,
            "--subtensor.network",
            &url,
        ]);
    }
    run(&[
        "chain",
        "stake",
        "--netuid",
        &netuid,
        "--coldkey",
        "//Alice",
        "--hotkey",
        &validator,
        "--amount",
        "2000",
        "--subtensor.network",
        &url,
    ]);
    let circuits = dir.path().join("circuits");
    std::fs::create_dir_all(&circuits).unwrap();
    let mlp = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../circuits/mnist-mlp");
    std::os::unix::fs::symlink(mlp.canonicalize().unwrap(), circuits.join("mnist-mlp")).unwrap();
    let circuits_arg = circuits.to_str().unwrap().to_owned();

    // Permits are handed out at epochs.
    let chain_log = || std::fs::read_to_string(&chain.log).unwrap_or_default();
    wait_for(
        Duration::from_secs(60),
        "the validator's permit",
        chain_log,
        || {
            let mg: serde_json::Value = serde_json::from_str(&run(&[
                "chain",
                "metagraph",
                "--netuid",
                &netuid,
                "--json",
                "--subtensor.network",
                &url,
            ]))
            .unwrap();
            mg["neurons"]
                .as_array()?
                .iter()
                .any(|n| n["hotkey"] == validator.as_str() && n["validator_permit"] == true)
                .then_some(())
        },
    );

    let port = free_port_on("127.0.0.2").to_string();
    let common = |wallet: &str| -> Vec<String> {
        [
            "--wallet.name",
            wallet,
            "--wallet.path",
            &wallets_arg,
            "--netuid",
            &netuid,
            "--subtensor.network",
            &url,
            "--circuits",
            &circuits_arg,
            "--axon.ip",
            "127.0.0.2",
            "--axon.port",
            &port,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    };
    let miner_log = dir.path().join("miner.log");
    let mut miner_args = vec!["miner".to_owned()];
    miner_args.extend(common("miner"));
    miner_args.extend(
        [
            "--metagraph.sync-interval",
            "1",
            "--status.interval-blocks",
            "5",
        ]
        .map(String::from),
    );
    let miner = Proc {
        child: omron()
            .args(&miner_args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&miner_log).unwrap())
            .spawn()
            .unwrap(),
        log: miner_log,
    };
    wait_for(
        Duration::from_secs(60),
        "the miner's axon announcement",
        || miner.log(),
        || miner.log().contains("miner running").then_some(()),
    );

    let doctor = |wallet: &str, extra: &[&str]| -> (bool, i32, String) {
        let mut args = vec!["miner".to_owned(), "doctor".to_owned()];
        args.extend(common(wallet));
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let output = omron().args(&args).output().unwrap();
        let (stdout, stderr) = text(&output);
        let code = output.status.code().unwrap_or(-1);
        // Shown with --nocapture: the doctor's report as a user sees it.
        eprintln!("$ omron {}\n{stdout}", args.join(" "));
        (
            output.status.success(),
            code,
            format!("{stdout}\n--- stderr:\n{stderr}"),
        )
    };

    // A healthy miner: every check OK, exit 0.
    let (ok, code, out) = doctor("miner", &[]);
    assert!(ok, "exit {code}:\n{out}");
    for check in [
        "registration",
        "axon",
        "blacklist",
        "prove",
        "disk",
        "clock",
    ] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(check))
            .unwrap_or_else(|| panic!("no {check} line:\n{out}"));
        assert!(line.starts_with("OK "), "{check} is not OK:\n{out}");
    }
    assert!(out.contains("0 WARN, 0 FAIL, 0 SKIP: OK"), "{out}");
    assert!(out.contains(&format!("127.0.0.2:{port}")), "{out}");
    assert!(out.contains("MNIST MLP"), "{out}");

    // The status line: a bad proof request from the validator (permitted, so the blacklist
    // lets it through) shows as one failed MNIST MLP request.
    let caps = run(&[
        "query",
        "--axon",
        &format!("127.0.0.2:{port}"),
        "--axon.hotkey",
        &miner_key,
        "--synapse",
        "QueryForCapacities",
        "--wallet.name",
        "validator",
        "--wallet.path",
        &wallets_arg,
    ]);
    let id = caps
        .split('"')
        .find(|s| s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no circuit id in {caps}"));
    let body = format!(
        r#"{{"query_input": {{"model_id": "{id}", "public_inputs": {{"input_data": [[1.0]], "nonce": "00"}}}}}}"#
    );
    run(&[
        "query",
        "--axon",
        &format!("127.0.0.2:{port}"),
        "--axon.hotkey",
        &miner_key,
        "--synapse",
        "QueryZkProof",
        "--body",
        &body,
        "--wallet.name",
        "validator",
        "--wallet.path",
        &wallets_arg,
    ]);
    wait_for(
        Duration::from_secs(30),
        "a status line counting the failed request",
        || miner.log(),
        || {
            miner
                .log()
                .lines()
                .any(|l| {
                    l.contains("miner status") && l.contains("MNIST MLP 0/1") && l.contains("uid=")
                })
                .then_some(())
        },
    );

    // An unregistered hotkey: FAIL with the registration advice, exit 1.
    let (ok, code, out) = doctor("stranger", &["--no-prove"]);
    assert!(!ok && code == 1, "exit {code}:\n{out}");
    assert!(out.contains("FAIL  registration"), "{out}");
    assert!(
        out.contains(&format!(
            "hotkey {stranger} is not registered on netuid {netuid}"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("btcli subnets register --netuid {netuid}")),
        "{out}"
    );
    assert!(out.contains("omron chain register"), "{out}");
    assert!(out.contains("SKIP  axon"), "{out}");

    // The miner gone: its announced axon does not answer; FAIL naming the address, exit 1.
    drop(miner);
    let (ok, code, out) = doctor("miner", &["--no-prove", "--probe-timeout", "3"]);
    assert!(!ok && code == 1, "exit {code}:\n{out}");
    let axon_line = out
        .lines()
        .find(|l| l.starts_with("FAIL  axon"))
        .unwrap_or_else(|| panic!("no failed axon check:\n{out}"));
    assert!(
        axon_line.contains(&format!("127.0.0.2:{port} does not answer")),
        "{out}"
    );
    assert!(out.contains("OK    registration"), "{out}");
    drop(chain);
}
