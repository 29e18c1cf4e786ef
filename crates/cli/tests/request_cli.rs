//! `omron request` and `omron receipt verify` driven through the real `omron` binary.
//!
//! Receipts are made here as a validator makes them (a mnist-mlp proof by `//Bob`, a receipt
//! signed by `//Alice`); `omron request` talks to a stand-in validator API in this process: a
//! TLS WebSocket with a self-signed certificate that checks the signed headers and answers
//! one JSON-RPC request honestly, with a lie, or with an error. The exchange with a live
//! `omron validator` is tested with the validator's own tests.

#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};

use futures::{SinkExt, StreamExt};
use omron_api::receipt::RECEIPT_VERSION;
use omron_api::rpc::{PROOF_OF_COMPUTATION, ProofOfComputationParams, RpcRequest, RpcResponse};
use omron_api::{AuthHeaders, ErrorObject, InferenceResult, ProofContext, UnsignedReceipt};
use omron_api::{canonical, rpc::codes};
use omron_circuit::{RequestInput, StoredCircuit};
use omron_keys::Keypair;
use rand::SeedableRng;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

// ---------------------------------------------------------------------------------------------
// Running the binary.

fn omron(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_omron"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .env_remove("BT_WALLET_NAME")
        .env_remove("BT_WALLET_HOTKEY")
        .env_remove("BT_WALLET_PATH")
        .output()
        .expect("the omron binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 1 and one line `rejected: ...` naming `why_word`.
#[track_caller]
fn assert_rejected(out: &Output, why_word: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", text(out));
    let so = stdout(out);
    assert!(so.starts_with("rejected: "), "{}", text(out));
    assert_eq!(so.trim_end().lines().count(), 1, "one line: {}", text(out));
    assert!(
        so.contains(why_word),
        "expected '{why_word}': {}",
        text(out)
    );
    assert!(!stderr(out).contains("panicked"), "{}", text(out));
}

/// Exit 2 and one line `omron: error: ...` on stderr naming `why_word`.
#[track_caller]
fn assert_error(out: &Output, why_word: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", text(out));
    let se = stderr(out);
    let line = se
        .lines()
        .find(|l| l.starts_with("omron: error: "))
        .unwrap_or_else(|| panic!("no error line: {}", text(out)));
    assert!(
        line.contains(why_word),
        "expected '{why_word}': {}",
        text(out)
    );
    assert!(!se.contains("panicked"), "{}", text(out));
}

fn circuits() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../circuits")
}

fn mnist_dir() -> PathBuf {
    circuits().join("mnist-mlp")
}

fn mnist() -> &'static StoredCircuit {
    static CELL: OnceLock<StoredCircuit> = OnceLock::new();
    CELL.get_or_init(|| StoredCircuit::load(&mnist_dir()).unwrap())
}

fn key(uri: &str) -> Keypair {
    Keypair::from_uri(uri).unwrap()
}

fn ss58(uri: &str) -> String {
    key(uri).public().to_ss58()
}

/// An app input for mnist-mlp (no nonce: the validator draws one).
fn app_input(seed: u64) -> Value {
    let drawn = mnist().generate_input(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    json!({"input_data": drawn.input_data})
}

// ---------------------------------------------------------------------------------------------
// Answers as a validator makes them.

/// Proves `app` (drawing the nonce from `seed` unless the app gave one) as `//Bob` and answers
/// with a receipt signed by `//Alice`.
fn honest_answer(app: &Value, seed: u64) -> InferenceResult {
    let (input_data, own) = omron_api::verify::read_app_input(app).unwrap();
    let nonce = own.unwrap_or_else(|| {
        mnist()
            .generate_input(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed))
            .nonce
    });
    let request = RequestInput {
        input_data,
        nonce: nonce.clone(),
    };
    let proven = serde_json::to_value(&request).unwrap();
    let bob = key("//Bob").public();
    let (proof, output) = mnist().prove_request(&request, bob.as_bytes()).unwrap();
    let output = json!(output);
    let hash = canonical::hash(&json!({"method": PROOF_OF_COMPUTATION, "params": app}));
    let receipt = UnsignedReceipt {
        version: RECEIPT_VERSION,
        request_hash: hash.clone(),
        method: PROOF_OF_COMPUTATION.into(),
        circuit_id: mnist().id(),
        input_hash: canonical::hash(&proven),
        output: output.clone(),
        proof_hash: canonical::sha256_hex(&proof),
        miner_uid: 4,
        miner_hotkey: bob.to_ss58(),
        validator_hotkey: ss58("//Alice"),
        netuid: 2,
        block: 321,
        issued_at: 1_700_000_000,
    }
    .sign(&key("//Alice"));
    InferenceResult {
        hash,
        public_signals: canonical::to_string(&output),
        proof: hex::encode(&proof),
        success: true,
        circuit_id: mnist().id(),
        circuit_name: mnist().metadata.name.clone(),
        miner_uid: 4,
        miner_hotkey: bob.to_ss58(),
        output,
        context: ProofContext {
            input: proven,
            nonce: Some(nonce),
            miner_hotkey: bob.to_ss58(),
        },
        receipt,
        attempts: 1,
    }
}

/// The record `omron request --output-json` writes, with the proof and the proven input in
/// files of their own, in a fresh folder.
struct Archived {
    dir: tempfile::TempDir,
    result: InferenceResult,
}

impl Archived {
    fn new() -> Archived {
        static RESULT: OnceLock<InferenceResult> = OnceLock::new();
        let result = RESULT
            .get_or_init(|| honest_answer(&app_input(1), 2))
            .clone();
        let dir = tempfile::tempdir().unwrap();
        let record = json!({
            "output": result.output,
            "proof": result.proof,
            "receipt": result.receipt,
            "context": result.context,
        });
        let write = |name: &str, v: &Value| {
            std::fs::write(
                dir.path().join(name),
                serde_json::to_string_pretty(v).unwrap(),
            )
            .unwrap();
        };
        write("record.json", &record);
        write(
            "receipt.json",
            &serde_json::to_value(&result.receipt).unwrap(),
        );
        write("input.json", &result.context.input);
        let proof = hex::decode(&result.proof).unwrap();
        std::fs::write(dir.path().join("proof.bin"), &proof).unwrap();
        std::fs::write(dir.path().join("proof.hex"), &result.proof).unwrap();
        Archived { dir, result }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn verify(&self, extra: &[&str]) -> Output {
        let circuit = mnist_dir();
        let mut args = vec!["receipt", "verify", "--circuit", circuit.to_str().unwrap()];
        args.extend_from_slice(extra);
        omron(&args, self.path())
    }
}

// ---------------------------------------------------------------------------------------------
// `omron receipt verify`.

#[test]
fn receipt_verify_accepts_a_genuine_record_alone_or_with_its_files() {
    let a = Archived::new();
    let out = a.verify(&["--receipt", "record.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let so = stdout(&out);
    assert!(so.starts_with("verified\n"), "{}", text(&out));
    assert!(
        so.contains(&format!("validator: {}", ss58("//Alice"))),
        "{so}"
    );
    assert!(
        so.contains(&format!("miner: uid 4 {}", ss58("//Bob"))),
        "{so}"
    );
    assert!(
        so.contains(&format!(
            "output: {}",
            canonical::to_string(&a.result.output)
        )),
        "{so}"
    );
    // A bare receipt with the proof as binary or hex, and the proven input.
    for proof in ["proof.bin", "proof.hex"] {
        let out = a.verify(&[
            "--receipt",
            "receipt.json",
            "--proof",
            proof,
            "--input",
            "input.json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{proof}: {}", text(&out));
    }
    // The circuit found by the receipt's id in a folder of circuits.
    let store = circuits();
    let out = omron(
        &[
            "receipt",
            "verify",
            "--receipt",
            "record.json",
            "--circuit",
            store.to_str().unwrap(),
        ],
        a.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn receipt_verify_rejects_a_changed_output() {
    let a = Archived::new();
    let mut record: Value =
        serde_json::from_str(&std::fs::read_to_string(a.path().join("record.json")).unwrap())
            .unwrap();
    let first = record["receipt"]["output"][0].as_f64().unwrap();
    record["receipt"]["output"][0] = json!(first + 1.0);
    std::fs::write(a.path().join("record.json"), record.to_string()).unwrap();
    assert_rejected(&a.verify(&["--receipt", "record.json"]), "signature");
    // Re-signed by the validator: the signature holds, the proof's output does not match.
    let mut receipt: omron_api::Receipt =
        serde_json::from_value(record["receipt"].clone()).unwrap();
    receipt = receipt.body.sign(&key("//Alice"));
    record["receipt"] = serde_json::to_value(&receipt).unwrap();
    std::fs::write(a.path().join("record.json"), record.to_string()).unwrap();
    assert_rejected(&a.verify(&["--receipt", "record.json"]), "differs");
}

#[test]
fn receipt_verify_rejects_a_tampered_proof() {
    let a = Archived::new();
    let mut proof = std::fs::read(a.path().join("proof.bin")).unwrap();
    let mid = proof.len() / 2;
    proof[mid] ^= 0x10;
    std::fs::write(a.path().join("proof.bin"), &proof).unwrap();
    assert_rejected(
        &a.verify(&["--receipt", "record.json", "--proof", "proof.bin"]),
        "proof_hash",
    );
}

#[test]
fn receipt_verify_rejects_another_input() {
    let a = Archived::new();
    let mut other = a.result.context.input.clone();
    let x = other["input_data"][0][3].as_f64().unwrap();
    other["input_data"][0][3] = json!(if x > 0.5 { 0.0 } else { 1.0 });
    std::fs::write(a.path().join("other.json"), other.to_string()).unwrap();
    assert_rejected(
        &a.verify(&["--receipt", "record.json", "--input", "other.json"]),
        "input_hash",
    );
    // The app's input without the validator's nonce: rejected, with a hint.
    let bare = json!({"input_data": a.result.context.input["input_data"]});
    std::fs::write(a.path().join("app.json"), bare.to_string()).unwrap();
    let out = a.verify(&["--receipt", "record.json", "--input", "app.json"]);
    assert_rejected(&out, "nonce");
}

#[test]
fn receipt_verify_fails_with_exit_2_on_unreadable_files() {
    let a = Archived::new();
    assert_error(&a.verify(&["--receipt", "missing.json"]), "cannot read");
    std::fs::write(a.path().join("junk.json"), "{not json").unwrap();
    assert_error(&a.verify(&["--receipt", "junk.json"]), "not JSON");
    // A bare receipt carries neither proof nor input.
    assert_error(
        &a.verify(&["--receipt", "receipt.json", "--input", "input.json"]),
        "--proof",
    );
    assert_error(
        &a.verify(&["--receipt", "receipt.json", "--proof", "proof.bin"]),
        "--input",
    );
}

// ---------------------------------------------------------------------------------------------
// A stand-in validator API.

/// How the stand-in answers.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    /// Has the input proven and answers with it.
    Honest,
    /// Answers with another output, in the result and in a re-signed receipt.
    LiesAboutTheOutput,
    /// Answers with the original's "request failed" JSON-RPC error.
    Fails,
    /// Refuses the WebSocket upgrade, as for a key it does not allow.
    Refuses,
}

/// A TLS WebSocket listener on 127.0.0.1 with a fresh self-signed certificate.
struct StandIn {
    url: String,
    fingerprint: String,
}

fn stand_in(behaviour: Behaviour) -> StandIn {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = certified.cert.der().clone();
    let fingerprint = omron_api::tls::fingerprint(cert.as_ref());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(omron_api::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("wss://127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                // A failed handshake (say, the client refused the certificate) ends only
                // that connection.
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let _ = serve(tls, behaviour).await;
                }
            }
        });
    });
    StandIn { url, fingerprint }
}

/// Refuses the upgrade (401, with the reason) unless the headers are a fresh signature and
/// `allowed`.
// The handshake callback's signature is tungstenite's, large error type included.
#[allow(clippy::result_large_err)]
fn check_headers(req: &Request, resp: Response, allowed: bool) -> Result<Response, ErrorResponse> {
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let checked = AuthHeaders::read(header)
        .and_then(|h| h.verify(omron_api::auth::unix_now()))
        .and_then(|(key, _, _)| {
            if allowed {
                Ok(())
            } else {
                Err(omron_api::AuthError::NotAllowed(key.to_ss58()))
            }
        });
    match checked {
        Ok(()) => Ok(resp),
        Err(e) => {
            let mut refused = ErrorResponse::new(Some(e.to_string()));
            *refused.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::UNAUTHORIZED;
            Err(refused)
        }
    }
}

/// Reads requests and answers each.
#[allow(clippy::result_large_err)] // the handshake callback's, as above
async fn serve(
    tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    behaviour: Behaviour,
) -> Result<(), Box<dyn std::error::Error>> {
    let allowed = !matches!(behaviour, Behaviour::Refuses);
    let mut ws = tokio_tungstenite::accept_hdr_async(tls, move |req: &Request, resp| {
        check_headers(req, resp, allowed)
    })
    .await?;
    while let Some(frame) = ws.next().await {
        let Message::Text(t) = frame? else { continue };
        let request: RpcRequest = serde_json::from_str(t.as_str())?;
        let params: ProofOfComputationParams = serde_json::from_value(request.params)?;
        let response = match behaviour {
            Behaviour::Fails => RpcResponse::err(
                request.id,
                ErrorObject::new(codes::REQUEST_FAILED, "Request processing failed"),
            ),
            Behaviour::Honest | Behaviour::LiesAboutTheOutput | Behaviour::Refuses => {
                let mut result = honest_answer(&params.input, 5);
                if matches!(behaviour, Behaviour::LiesAboutTheOutput) {
                    let first = result.output[0].as_f64().unwrap_or(0.0);
                    result.output[0] = json!(first + 1.0);
                    result.public_signals = canonical::to_string(&result.output);
                    result.receipt.body.output = result.output.clone();
                    result.receipt = result.receipt.body.clone().sign(&key("//Alice"));
                }
                RpcResponse::ok(request.id, serde_json::to_value(result)?)
            }
        };
        ws.send(Message::text(serde_json::to_string(&response)?))
            .await?;
    }
    Ok(())
}

/// A folder holding `input.json` for mnist-mlp.
fn app_dir(app: &Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.json"), app.to_string()).unwrap();
    dir
}

/// `omron request` for mnist-mlp with `input.json` of `cwd`, signed with `//Charlie`.
fn request(cwd: &Path, url: &str, extra: &[&str]) -> Output {
    let store = circuits();
    let mut args = vec![
        "request",
        "--validator",
        url,
        "--circuit",
        "mnist-mlp",
        "--circuits",
        store.to_str().unwrap(),
        "--input",
        "input.json",
        "--key-uri",
        "//Charlie",
        "--timeout",
        "60",
    ];
    args.extend_from_slice(extra);
    omron(&args, cwd)
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------------
// `omron request`.

#[test]
fn request_verifies_the_answer_and_writes_a_record_that_receipt_verify_accepts() {
    let v = stand_in(Behaviour::Honest);
    let app = app_dir(&app_input(3));
    let alice = ss58("//Alice");
    let out = request(
        app.path(),
        &v.url,
        &[
            "--cert-sha256",
            &v.fingerprint,
            "--validator-hotkey",
            &alice,
            "--output-json",
            "answer.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let so = stdout(&out);
    assert!(so.starts_with("verified: MNIST MLP"), "{so}");
    assert!(
        so.contains(&format!("miner: uid 4 {}", ss58("//Bob"))),
        "{so}"
    );
    assert!(so.contains(&format!("validator: {alice}")), "{so}");
    assert!(so.contains("\"signature\""), "the receipt is printed: {so}");
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(app.path().join("answer.json")).unwrap())
            .unwrap();
    for field in ["output", "proof", "receipt", "context"] {
        assert!(record.get(field).is_some(), "{field} in {record}");
    }
    let circuit = mnist_dir();
    let out = omron(
        &[
            "receipt",
            "verify",
            "--receipt",
            "answer.json",
            "--circuit",
            circuit.to_str().unwrap(),
        ],
        app.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// A running `omron chain serve` (fast blocks, fresh state), killed when dropped.
struct DevChain {
    child: std::process::Child,
    url: String,
    _state: tempfile::TempDir,
}

impl Drop for DevChain {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DevChain {
    fn start() -> DevChain {
        use std::io::{BufRead, BufReader};
        let state = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_omron"))
            .args(["chain", "serve", "--port", "0", "--block-time-ms", "100"])
            .arg("--state")
            .arg(state.path())
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The first stdout line is the URL.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_owned();
        assert!(url.starts_with("http://"), "chain serve printed {url:?}");
        DevChain {
            child,
            url,
            _state: state,
        }
    }

    /// Runs `omron chain ARGS` against this chain; its stdout.
    fn run(&self, args: &[&str]) -> String {
        let mut all = vec!["chain"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--subtensor.network", &self.url]);
        let out = omron(&all, Path::new("."));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        stdout(&out).trim().to_owned()
    }

    /// Commits `data` as `hotkey` on `netuid`, as a validator publishes its certificate.
    fn commit(&self, hotkey: &str, netuid: u16, data: &[u8]) {
        use omron_chain::Chain;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let chain = omron_chain::Network::Dev(self.url.clone())
                .connect_dev()
                .await
                .unwrap();
            chain
                .set_commitment(&key(hotkey), netuid, data)
                .await
                .unwrap();
        });
    }
}

#[test]
fn request_pins_the_certificate_its_validator_committed_on_chain() {
    let chain = DevChain::start();
    let netuid = chain.run(&["create-subnet", "--owner", "//Alice"]);
    chain.run(&[
        "register",
        "--netuid",
        &netuid,
        "--coldkey",
        "//Alice",
        "--hotkey",
        "//Alice",
    ]);
    chain.run(&[
        "register",
        "--netuid",
        &netuid,
        "--coldkey",
        "//Alice",
        "--hotkey",
        "//Ferdie",
    ]);
    let n: u16 = netuid.parse().unwrap();
    let v = stand_in(Behaviour::Honest);
    // Alice (the stand-in's key) commits its certificate's SHA-256 as ASCII hex.
    chain.commit("//Alice", n, v.fingerprint.as_bytes());
    let app = app_dir(&app_input(12));
    let from_chain = |hotkey: &str| {
        request(
            app.path(),
            &v.url,
            &[
                "--validator-hotkey",
                &ss58(hotkey),
                "--netuid",
                &netuid,
                "--subtensor.network",
                &chain.url,
            ],
        )
    };
    let out = from_chain("//Alice");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout(&out).starts_with("verified: "), "{}", text(&out));
    // Ferdie committed another certificate's SHA-256; Dave committed nothing.
    chain.commit(
        "//Ferdie",
        n,
        canonical::sha256_hex(b"another certificate").as_bytes(),
    );
    assert_error(&from_chain("//Ferdie"), "pin mismatch");
    assert_error(&from_chain("//Dave"), "has no commitment");
}

#[test]
fn request_rejects_a_validator_that_lies_about_the_output() {
    let v = stand_in(Behaviour::LiesAboutTheOutput);
    let app = app_dir(&app_input(4));
    let out = request(
        app.path(),
        &v.url,
        &[
            "--cert-sha256",
            &v.fingerprint,
            "--output-json",
            "answer.json",
        ],
    );
    assert_rejected(&out, "output");
    assert!(
        !app.path().join("answer.json").exists(),
        "no record of a rejected answer"
    );
}

#[test]
fn request_rejects_a_receipt_signed_by_another_validator_than_asked() {
    let v = stand_in(Behaviour::Honest);
    let app = app_dir(&app_input(6));
    let dave = ss58("//Dave");
    let out = request(
        app.path(),
        &v.url,
        &["--cert-sha256", &v.fingerprint, "--validator-hotkey", &dave],
    );
    assert_rejected(&out, "not by the validator asked");
}

#[test]
fn request_fails_with_exit_2_on_a_json_rpc_error() {
    let v = stand_in(Behaviour::Fails);
    let app = app_dir(&app_input(7));
    let out = request(app.path(), &v.url, &["--cert-sha256", &v.fingerprint]);
    assert_error(&out, "Request processing failed");
}

#[test]
fn request_fails_with_exit_2_when_the_validator_refuses_the_key() {
    let v = stand_in(Behaviour::Refuses);
    let app = app_dir(&app_input(11));
    let out = request(app.path(), &v.url, &["--cert-sha256", &v.fingerprint]);
    assert_error(&out, "refused the connection: HTTP 401");
    assert!(stderr(&out).contains(&ss58("//Charlie")), "{}", text(&out));
}

#[test]
fn request_refuses_a_certificate_other_than_the_pinned_one() {
    let v = stand_in(Behaviour::Honest);
    let app = app_dir(&app_input(8));
    let other = canonical::sha256_hex(b"another certificate");
    let out = request(app.path(), &v.url, &["--cert-sha256", &other]);
    assert_error(&out, "pin mismatch");
}

#[test]
fn request_to_an_unreachable_port_fails_with_exit_2() {
    let app = app_dir(&app_input(9));
    let url = format!("wss://127.0.0.1:{}", closed_port());
    let pin = "ab".repeat(32);
    let out = request(app.path(), &url, &["--cert-sha256", &pin]);
    assert_error(&out, "cannot connect to");
    assert_eq!(stdout(&out), "", "nothing on stdout: {}", text(&out));
}

#[test]
fn request_refuses_a_malformed_pin_and_wss_without_one() {
    let app = app_dir(&app_input(10));
    let url = format!("wss://127.0.0.1:{}", closed_port());
    let out = request(app.path(), &url, &["--cert-sha256", "abc123"]);
    assert_error(&out, "--cert-sha256");
    assert!(
        stderr(&out).contains("not a SHA-256 fingerprint"),
        "{}",
        text(&out)
    );
    let out = request(app.path(), &url, &[]);
    assert_error(&out, "needs the validator's certificate");
}

#[test]
fn request_refuses_an_unknown_circuit_or_a_malformed_input_before_connecting() {
    let app = app_dir(&json!({"input_data": [[1.0]], "extra": true}));
    let url = format!("wss://127.0.0.1:{}", closed_port());
    let pin = "ab".repeat(32);
    let out = request(app.path(), &url, &["--cert-sha256", &pin]);
    assert_error(&out, "unknown field");
    let store = circuits();
    let out = omron(
        &[
            "request",
            "--validator",
            &url,
            "--circuit",
            "no-such-circuit",
            "--circuits",
            store.to_str().unwrap(),
            "--input",
            "input.json",
            "--key-uri",
            "//Charlie",
            "--cert-sha256",
            &pin,
        ],
        app.path(),
    );
    assert_error(&out, "no circuit 'no-such-circuit'");
}
