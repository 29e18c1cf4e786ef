//! Issue 5: the nodes as separate processes of the real binary.
//!
//! * `omron chain serve` runs the chain; keys are registered and staked with `omron chain ...`;
//!   `omron miner` and `omron validator` run as their own processes; the validator scores the
//!   miner; it is killed (SIGKILL) and restarted on the same state folder, and its scoreboard
//!   still holds the miner's score and request counts.
//! * Issue 8, the synapses as the original declares them, in both directions with the real
//!   Python SDK (bittensor 10.5.0, from `scripts/test.sh`'s venv, `OMRON_BT10_PYTHON`), whose
//!   classes are written as the original's `neurons/protocol.py` declares them
//!   (`tests/py/original_protocol.py`: no `required_hash_fields` anywhere):
//!   - a Python dendrite queries `omron miner` with all four synapses; the miner accepts them
//!     (signature over the body hash `H("")`, nonce), `omron verify` accepts the
//!     `QueryZkProof` proof and the `ProofOfWeightsSynapse` proof verifies against the batch
//!     sent;
//!   - `omron query` (our dendrite, as the validator uses it) queries a Python axon serving the
//!     original's classes; the SDK's own checks (signature, nonce, body hash, the
//!     `bt_header_input_obj_*` headers of the required fields) accept every request and our
//!     types read every answer.
//!
//! Both serve only the MLP circuit: its proofs take milliseconds even in a debug build, which
//! keeps the 256 responses a score update needs within a few dozen seconds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::*;

/// A subnet on a served chain, with a registered miner and a staked validator.
struct Net {
    dir: tempfile::TempDir,
    _chain: Proc,
    url: String,
    netuid: String,
    wallets: PathBuf,
    circuits: PathBuf,
}

impl Net {
    fn new(validators: &[&str], miners: &[&str]) -> (Net, Vec<String>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let (chain, url) = serve_chain(dir.path());
        let netuid = run(&["chain", "create-subnet", "--subtensor.network", &url])
            .trim()
            .to_owned();
        let wallets = dir.path().join("wallets");
        let mut vkeys = Vec::new();
        for v in validators {
            let hk = wallet(&wallets, v);
            run(&[
                "chain",
                "register",
                "--netuid",
                &netuid,
                "--coldkey",
                "//Alice",
                "--hotkey",
                &hk,
                "--subtensor.network",
                &url,
            ]);
            run(&[
                "chain",
                "stake",
                "--netuid",
                &netuid,
                "--coldkey",
                "//Alice",
                "--hotkey",
                &hk,
                "--amount",
                "2000",
                "--subtensor.network",
                &url,
            ]);
            vkeys.push(hk);
        }
        let mut mkeys = Vec::new();
        for m in miners {
            let hk = wallet(&wallets, m);
            run(&[
                "chain",
                "register",
                "--netuid",
                &netuid,
                "--coldkey",
                "//Alice",
                "--hotkey",
                &hk,
                "--subtensor.network",
                &url,
            ]);
            mkeys.push(hk);
        }
        let circuits = mlp_circuits(dir.path());
        (
            Net {
                dir,
                _chain: chain,
                url,
                netuid,
                wallets,
                circuits,
            },
            vkeys,
            mkeys,
        )
    }

    fn spawn(&self, name: &str, args: &[&str]) -> Proc {
        let log = self.dir.path().join(format!("{name}.log"));
        let child = omron()
            .args(args)
            .args(["--netuid", &self.netuid, "--subtensor.network", &self.url])
            .arg("--wallet.path")
            .arg(&self.wallets)
            .arg("--circuits")
            .arg(&self.circuits)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
            .spawn()
            .unwrap();
        Proc {
            child,
            log: log.with_extension("err"),
        }
    }

    /// `omron miner` on 127.0.0.2; returns it, its axon port and its metrics port.
    fn miner(&self, wallet: &str, extra: &[&str]) -> (Proc, u16, u16) {
        let axon = free_port_on("127.0.0.2");
        let metrics = free_port();
        let mut args = vec![
            "miner".to_owned(),
            "--wallet.name".into(),
            wallet.into(),
            "--axon.ip".into(),
            "127.0.0.2".into(),
            "--axon.port".into(),
            axon.to_string(),
            "--prometheus.ip".into(),
            "127.0.0.1".into(),
            "--prometheus.port".into(),
            metrics.to_string(),
            "--metagraph.sync-interval".into(),
            "1".into(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        (self.spawn(wallet, &refs), axon, metrics)
    }

    /// `omron validator` with its state in `<tmp>/validator`; returns it and its API port.
    fn validator(&self, wallet: &str) -> (Proc, u16) {
        let api = free_port();
        let state = self.dir.path().join("validator-state");
        let args = [
            "validator",
            "--wallet.name",
            wallet,
            "--api.port",
            &api.to_string(),
            "--state",
            state.to_str().unwrap(),
            "--allow-private-axons",
            "--metagraph.sync-interval",
            "1",
            // The external API on loopback, on a port the OS picks.
            "--external-api-host",
            "127.0.0.1",
            "--external-api-port",
            "0",
        ];
        (self.spawn(wallet, &args), api)
    }

    fn metagraph(&self) -> Value {
        serde_json::from_str(&run(&[
            "chain",
            "metagraph",
            "--netuid",
            &self.netuid,
            "--json",
            "--subtensor.network",
            &self.url,
        ]))
        .unwrap()
    }

    /// Waits until `hotkey` holds a validator permit (handed out at epochs).
    fn wait_for_permit(&self, hotkey: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mg = self.metagraph();
            let permit = mg["neurons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["hotkey"] == hotkey && n["validator_permit"] == true);
            if permit {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no validator permit for {hotkey}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// `GET url` as JSON, if it answers 200.
fn get_json(url: &str) -> Option<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::builder()
            .no_proxy()
            .build()
            .ok()?
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        r.json().await.ok()
    })
}

fn get_text(url: &str) -> Option<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .ok()?
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()
    })
}

/// Polls `f` every 250 ms until it returns `Some`, failing with `what` after `limit`.
fn wait_for<T>(
    limit: Duration,
    what: &str,
    procs: &mut [&mut Proc],
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        for p in procs.iter_mut() {
            p.assert_running(what);
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; logs:\n{}",
            procs
                .iter()
                .map(|p| p.log())
                .collect::<Vec<_>>()
                .join("\n----\n")
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn miner_row(board: &Value, hotkey: &str) -> Option<Value> {
    board["miners"]
        .as_array()?
        .iter()
        .find(|m| m["hotkey"] == hotkey)
        .cloned()
}

#[test]
fn a_killed_validator_restarts_with_its_scores() {
    let (net, vkeys, mkeys) = Net::new(&["validator"], &["miner"]);
    net.wait_for_permit(&vkeys[0]);
    let (mut miner, _axon, metrics) = net.miner("miner", &[]);
    wait_for(
        Duration::from_secs(60),
        "miner health",
        &mut [&mut miner],
        || get_json(&format!("http://127.0.0.1:{metrics}/health")).filter(|h| h["status"] == "ok"),
    );
    let (mut validator, api) = net.validator("validator");

    // The validator queries the miner, verifies its proofs and, after a full batch of 256
    // responses (upstream's score step), gives it a score.
    let scored = wait_for(
        Duration::from_secs(240),
        "a score for the miner",
        &mut [&mut miner, &mut validator],
        || {
            let board = get_json(&format!("http://127.0.0.1:{api}/scoreboard"))?;
            let row = miner_row(&board, &mkeys[0])?;
            (row["score"].as_f64()? > 0.0).then_some(row)
        },
    );
    let requests = scored["requests"].as_u64().unwrap();
    let verified = scored["verified"].as_u64().unwrap();
    let score = scored["score"].as_f64().unwrap();
    assert!(requests >= 256, "{scored}");
    assert!(verified as f64 >= 0.95 * requests as f64, "{scored}");
    assert!(scored["mean_response_ms"].as_f64().unwrap() > 0.0);

    // The miner's own metrics saw the same traffic.
    let text = get_text(&format!("http://127.0.0.1:{metrics}/metrics")).unwrap();
    assert!(
        text.contains("omron_miner_requests_total{synapse=\"QueryZkProof\",outcome=\"ok\"}"),
        "{text}"
    );

    // SIGKILL: no chance to flush anything.
    validator.child.kill().unwrap();
    validator.child.wait().unwrap();
    let (mut restarted, api) = net.validator("validator");
    let after = wait_for(
        Duration::from_secs(60),
        "the restarted validator's scoreboard",
        &mut [&mut restarted],
        || {
            let board = get_json(&format!("http://127.0.0.1:{api}/scoreboard"))?;
            miner_row(&board, &mkeys[0])
        },
    );
    assert!(
        after["score"].as_f64().unwrap() >= score * (1.0 - 1e-9),
        "score lost: {score} before, {after}"
    );
    assert!(after["requests"].as_u64().unwrap() >= requests, "{after}");
    assert!(after["verified"].as_u64().unwrap() >= verified, "{after}");
    // And it keeps working.
    wait_for(
        Duration::from_secs(60),
        "new requests after the restart",
        &mut [&mut restarted, &mut miner],
        || {
            let board = get_json(&format!("http://127.0.0.1:{api}/scoreboard"))?;
            let row = miner_row(&board, &mkeys[0])?;
            (row["requests"].as_u64()? > requests + 5).then_some(())
        },
    );
}

/// The bittensor 10.5.0 interpreter (`scripts/bittensor-venvs.sh` exports it).
fn bt10_python() -> PathBuf {
    match std::env::var_os("OMRON_BT10_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "OMRON_BT10_PYTHON is not set: run scripts/test.sh, which installs the bittensor \
             10.5.0 venv this test needs (or export OMRON_BT10_PYTHON=<venv>/bin/python)"
        ),
    }
}

/// A script of `tests/py/` run by `python`, with a throw-away HOME (importing bittensor
/// creates `~/.bittensor`) and no wallet settings of the user's.
fn python_script(python: &Path, home: &Path, script: &str) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/py")
            .join(script),
    )
    .env("HOME", home)
    .env("BT_NO_PARSE_CLI_ARGS", "true")
    .env("PYTHONDONTWRITEBYTECODE", "1")
    .env_remove("BT_WALLET_PASSWORD");
    cmd
}

/// `H("")`: the body hash of a synapse with no hashed fields, which all of the original's are.
const EMPTY_BODY_HASH: &str = omron_bittensor::body_hash::EMPTY_BODY_HASH;

/// The SDK's reading of one class (`{"required_hash_fields": [...], "required": [...]}`)
/// matches what our type declares.
fn assert_declared_as<S: omron_bittensor::synapse::Synapse>(sdk: &Value) {
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("{}: {sdk}", S::NAME))
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect()
    };
    let class = &sdk[S::NAME];
    assert_eq!(
        names(&class["required_hash_fields"]),
        S::REQUIRED_HASH_FIELDS,
        "{}: hashed fields",
        S::NAME
    );
    let ours: Vec<&str> = S::REQUIRED_FIELDS.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        names(&class["required"]),
        ours,
        "{}: required fields",
        S::NAME
    );
}

/// Every synapse of ours declares what the SDK reads off the original's class.
fn assert_declarations(line: &Value) {
    let sdk = &line["declarations"];
    assert_declared_as::<omron_protocol::QueryZkProof>(sdk);
    assert_declared_as::<omron_protocol::ProofOfWeightsSynapse>(sdk);
    assert_declared_as::<omron_protocol::Competition>(sdk);
    assert_declared_as::<omron_protocol::QueryForCapacities>(sdk);
}

#[test]
fn issue_8_the_python_sdk_with_the_original_synapses_queries_omron_miner() {
    let python = bt10_python();
    // The Python caller is a registered, staked validator with a permit: the miner's
    // blacklist stays on.
    let (net, vkeys, mkeys) = Net::new(&["pyvalidator"], &["miner"]);
    // Beside the MLP, the shipped SN2 scoring circuit, for ProofOfWeightsSynapse.
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../circuits/sn2-pow-256");
    std::os::unix::fs::symlink(
        src.canonicalize().unwrap(),
        net.circuits.join("sn2-pow-256"),
    )
    .unwrap();
    net.wait_for_permit(&vkeys[0]);
    let (mut miner, axon, metrics) = net.miner("miner", &[]);
    wait_for(
        Duration::from_secs(60),
        "miner health",
        &mut [&mut miner],
        || get_json(&format!("http://127.0.0.1:{metrics}/health")).filter(|h| h["status"] == "ok"),
    );
    // The miner's blacklist view must include the permit (it reads the metagraph every 1 s).
    std::thread::sleep(Duration::from_millis(2500));

    // A fresh request and a scoring batch, as a validator draws them.
    let store = omron_circuit::CircuitStore::load(&net.circuits).unwrap();
    let of_type = |t| store.iter().find(|c| c.metadata.circuit_type == t).unwrap();
    let circuit = of_type(omron_circuit::CircuitType::ProofOfComputation);
    let pow_circuit = of_type(omron_circuit::CircuitType::ProofOfWeights);
    let input = circuit.generate_input(&mut rand::thread_rng());
    let input_path = net.dir.path().join("request.json");
    std::fs::write(&input_path, serde_json::to_string(&input).unwrap()).unwrap();
    let pow_inputs = pow_circuit
        .generate_pow_inputs(&mut rand::thread_rng())
        .unwrap();
    let pow_path = net.dir.path().join("pow.json");
    std::fs::write(&pow_path, pow_inputs.to_string()).unwrap();

    let home = tempfile::tempdir().unwrap();
    let out = python_script(&python, home.path(), "original_dendrite.py")
        .arg(&net.wallets)
        .args(["pyvalidator", "127.0.0.2", &axon.to_string(), &mkeys[0]])
        .arg(&input_path)
        .arg(circuit.id())
        .arg(&pow_path)
        .arg(pow_circuit.id())
        .output()
        .unwrap();
    let stdout = check(out, "original_dendrite.py");
    let lines: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    assert_declarations(&lines[0]);
    let call = |name: &str| -> &Value {
        let got = lines
            .iter()
            .find(|l| l["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {stdout}"));
        // Accepted: the SDK signed H("") and our axon checked the same value.
        assert_eq!(got["sent_body_hash"], EMPTY_BODY_HASH, "{name}: {got}");
        assert_eq!(
            got["status_code"],
            200,
            "{name}: {got}\nminer log:\n{}",
            miner.log()
        );
        assert_eq!(got["is_success"], true, "{name}: {got}");
        got
    };

    // QueryZkProof: a proof that `omron verify` accepts.
    let got = call("query_zk_proof");
    let output: Value = serde_json::from_str(got["query_output"].as_str().unwrap())
        .unwrap_or_else(|e| panic!("query_output is not a proof ({e}): {got}"));
    let proof = hex::decode(output["proof"].as_str().unwrap()).unwrap();
    let signals: Vec<f64> =
        serde_json::from_str(output["public_signals"].as_str().unwrap()).unwrap();
    assert_eq!(signals.len(), 10);
    // The SDK's merge keeps the echoed input.
    assert_eq!(got["query_input"]["model_id"], circuit.id().as_str());

    let proof_path = net.dir.path().join("proof.bin");
    std::fs::write(&proof_path, &proof).unwrap();
    let out_path = net.dir.path().join("output.json");
    std::fs::write(
        &out_path,
        serde_json::json!({ "output": signals }).to_string(),
    )
    .unwrap();
    let verify = |hotkey: &str| {
        omron()
            .args(["verify", "--circuit"])
            .arg(&circuit.path)
            .arg("--input")
            .arg(&input_path)
            .arg("--proof")
            .arg(&proof_path)
            .arg("--output-json")
            .arg(&out_path)
            .args(["--nonce", &input.nonce, "--miner-hotkey", hotkey])
            .output()
            .unwrap()
    };
    let ok = verify(&mkeys[0]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "verified");
    // Bound to the miner: the same proof for another hotkey is rejected.
    let other = verify(&vkeys[0]);
    assert_eq!(other.status.code(), Some(1), "{other:?}");
    assert!(String::from_utf8_lossy(&other.stdout).starts_with("rejected"));

    // A query_input without public_inputs: the original miner's answer.
    assert_eq!(
        call("query_zk_proof_empty")["query_output"],
        "Empty query input"
    );

    // ProofOfWeightsSynapse: a proof of the batch sent, bound to the miner's hotkey.
    let got = call("proof_of_weights");
    assert_eq!(got["verification_key_hash"], pow_circuit.id().as_str());
    assert_eq!(got["proof_system"], "CIRCOM");
    let proof = hex::decode(got["proof"].as_str().unwrap()).unwrap();
    let outputs: Vec<Vec<i64>> =
        serde_json::from_str(got["public_signals"].as_str().unwrap()).unwrap();
    let miner_key = omron_keys::AccountId::from_ss58(&mkeys[0]).unwrap();
    pow_circuit
        .verify_pow(&pow_inputs, miner_key.as_bytes(), &proof, Some(&outputs))
        .unwrap();

    // QueryForCapacities: compute units for both circuits.
    let caps = call("capacities")["capacities"]
        .as_object()
        .unwrap()
        .clone();
    assert!(caps.contains_key(&circuit.id()), "{caps:?}");
    assert!(caps.contains_key(&pow_circuit.id()), "{caps:?}");

    // Competition: the request echoed, with the miner's refusal in `error`.
    let got = call("competition");
    assert_eq!(
        (&got["id"], &got["file_name"]),
        (&1.into(), &"commitment".into())
    );
    assert!(
        got["error"].as_str().unwrap().contains("not supported"),
        "{got}"
    );
    assert!(got["commitment"].is_null(), "{got}");

    let text = get_text(&format!("http://127.0.0.1:{metrics}/metrics")).unwrap();
    for synapse in ["QueryZkProof", "ProofOfWeightsSynapse"] {
        assert!(
            text.contains(&format!("synapse=\"{synapse}\",outcome=\"ok\"")),
            "{synapse}: {text}"
        );
    }
    miner.assert_running("miner");
}

/// A Python axon of the original's classes (`tests/py/original_axon.py`), with its stdout read
/// line by line.
struct PythonAxon {
    proc: Proc,
    lines: std::sync::mpsc::Receiver<String>,
}

impl PythonAxon {
    fn start(
        python: &Path,
        home: &Path,
        wallets: &Path,
        wallet: &str,
        allowed: &str,
    ) -> (Self, u16) {
        let port = free_port();
        let log = home.join("original_axon.err");
        let mut child = python_script(python, home, "original_axon.py")
            .arg(wallets)
            .args([wallet, &port.to_string(), allowed])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        (
            Self {
                proc: Proc { child, log },
                lines,
            },
            port,
        )
    }

    /// The script's next own line (`READY` or a JSON object), within `limit`; the SDK's log
    /// lines, which go to stdout too, are skipped.
    fn next_line(&self, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|e| {
                panic!("the Python axon said nothing ({e}):\n{}", self.proc.log())
            });
            if line == "READY" || line.starts_with('{') {
                return line;
            }
        }
    }

    /// A record printed since the last read, if any (SDK log lines skipped).
    fn pending_record(&self) -> Option<String> {
        self.lines.try_iter().find(|l| l.starts_with('{'))
    }
}

#[test]
fn issue_8_omron_query_reaches_a_python_axon_serving_the_original_synapses() {
    let python = bt10_python();
    let dir = tempfile::tempdir().unwrap();
    let wallets = dir.path().join("wallets");
    let py_miner = wallet(&wallets, "pyminer");
    let validator = wallet(&wallets, "validator");
    wallet(&wallets, "stranger");
    let home = tempfile::tempdir().unwrap();
    let (mut axon, port) = PythonAxon::start(&python, home.path(), &wallets, "pyminer", &validator);
    let first: Value = serde_json::from_str(&axon.next_line(Duration::from_secs(120))).unwrap();
    assert_declarations(&first);
    assert_eq!(axon.next_line(Duration::from_secs(120)), "READY");

    // `omron query`: our dendrite and synapse types, as the validator sends them.
    let query = |wallet: &str, synapse: &str, body: &str| -> (Option<i32>, Value) {
        let out = omron()
            .args(["query", "--axon", &format!("127.0.0.1:{port}")])
            .args([
                "--axon.hotkey",
                &py_miner,
                "--synapse",
                synapse,
                "--body",
                body,
            ])
            .args(["--timeout", "30", "--wallet.name", wallet])
            .arg("--wallet.path")
            .arg(&wallets)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let answer = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "omron query {synapse}: not JSON ({e}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code(), answer)
    };
    let accepted = |synapse: &str, body: &str| -> Value {
        let (code, answer) = query("validator", synapse, body);
        assert_eq!(answer["status_code"], 200, "{synapse}: {answer}");
        assert_eq!(code, Some(0), "{synapse}: {answer}");
        answer["response"].clone()
    };

    // QueryZkProof: the answer reads as a proof output.
    let model_id = "ab".repeat(32);
    let public_inputs = serde_json::json!({"input_data": [[0.1, 1e-05, 2.0, -3]], "nonce": "42"});
    let body = serde_json::json!({
        "query_input": {"public_inputs": public_inputs, "model_id": model_id}
    })
    .to_string();
    let response = accepted("QueryZkProof", &body);
    let output = omron_protocol::QueryOutput::parse(response["query_output"].as_str().unwrap());
    let omron_protocol::QueryOutput::Proof(proof) = output else {
        panic!("not a proof output: {response}")
    };
    assert_eq!(proof.proof, "python-axon");
    let echoed: Value = serde_json::from_str(&proof.public_signals).unwrap();
    assert_eq!(echoed, public_inputs);
    assert_eq!(response["query_input"]["model_id"], model_id.as_str());

    // ProofOfWeightsSynapse: four required fields, each with its input_obj header (the SDK
    // builds the synapse from them before reading the body); the proof system in any case.
    let body = serde_json::json!({
        "subnet_uid": 2,
        "verification_key_hash": model_id,
        "proof_system": "ezkl",
        "inputs": {"scores": [0.5, 1.0], "nonce": [3]},
        "proof": "",
        "public_signals": ""
    })
    .to_string();
    let response = accepted("ProofOfWeightsSynapse", &body);
    assert_eq!(response["proof"], "python-axon");
    assert_eq!(response["public_signals"], r#"["nonce", "scores"]"#);
    assert_eq!(response["proof_system"], "EZKL");
    assert_eq!(response["verification_key_hash"], model_id.as_str());

    // QueryForCapacities: upstream's compute units, keyed by circuit id.
    let response = accepted("QueryForCapacities", "{}");
    assert_eq!(
        response["capacities"],
        serde_json::json!({"4a87c995300f4e9ad9add9d5b800eb93bb3ecd3f9459b617f9924a211407a88c": 400})
    );

    // Competition: three required fields; the answer's commitment.
    let body = format!(r#"{{"id": 1, "hash": "{model_id}", "file_name": "commitment"}}"#);
    let response = accepted("Competition", &body);
    let commitment: Value = serde_json::from_str(response["commitment"].as_str().unwrap()).unwrap();
    assert_eq!(commitment["hash"], model_id.as_str());
    assert_eq!(response["file_name"], "commitment");

    // The SDK's blacklist still applies: a caller it does not know is refused.
    let (code, answer) = query(
        "stranger",
        "QueryZkProof",
        r#"{"query_input": {"model_id": "m"}}"#,
    );
    assert_eq!(answer["status_code"], 403, "{answer}");
    assert_eq!(code, Some(1));

    // What the Python handlers received: the verified caller, H(""), the fields as sent.
    let mut seen = Vec::new();
    for _ in 0..4 {
        let line: Value = serde_json::from_str(&axon.next_line(Duration::from_secs(10))).unwrap();
        assert_eq!(line["caller"], validator.as_str(), "{line}");
        assert_eq!(line["body_hash"], EMPTY_BODY_HASH, "{line}");
        seen.push(line);
    }
    assert_eq!(
        seen.iter()
            .map(|l| l["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [
            "QueryZkProof",
            "ProofOfWeightsSynapse",
            "QueryForCapacities",
            "Competition"
        ]
    );
    assert_eq!(seen[0]["query_input"]["public_inputs"], public_inputs);
    assert_eq!(seen[1]["proof_system"], "EZKL");
    assert_eq!(
        seen[1]["inputs"],
        serde_json::json!({"scores": [0.5, 1.0], "nonce": [3]})
    );
    assert_eq!(
        (&seen[3]["id"], &seen[3]["file_name"]),
        (&1.into(), &"commitment".into())
    );
    if let Some(line) = axon.pending_record() {
        panic!("the stranger reached a handler: {line}");
    }
    axon.proc.assert_running("the Python axon");
}
