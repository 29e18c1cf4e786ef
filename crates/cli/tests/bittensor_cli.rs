//! `omron wallet` and `omron query`, run as the real binary in temporary directories.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PASSWORD: &str = "btwire-Test-Passw0rd!";

fn wallets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/bittensor-wire/wallets")
}

/// The binary with a clean environment: no SDK variables, a temporary HOME.
fn omron(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_omron"));
    for var in [
        "BT_WALLET_PASSWORD",
        "BT_WALLET_PASSWORD_FILE",
        "BT_WALLET_NAME",
        "BT_WALLET_HOTKEY",
        "BT_WALLET_PATH",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home)
        .current_dir(home)
        .stdin(std::process::Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[test]
fn show_prints_the_known_addresses() {
    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = run(omron(home.path())
        .args([
            "wallet",
            "show",
            "--wallet.name",
            "validator",
            "--wallet.hotkey",
            "default",
            "--wallet.path",
        ])
        .arg(wallets()));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("coldkey: 5F7a4Wgr9DjxJQuJgVQfSRoNH3ePqvqq3ryP5EfzaCFJYq3T"),
        "{out}"
    );
    assert!(
        out.contains("hotkey default: 5FRY4og7L7mGTAwKWB2sBok3ABR3scCkn7Za79zTn3H8BsgH"),
        "{out}"
    );
    let (code, out, _) = run(omron(home.path())
        .args(["wallet", "show", "--wallet.name", "miner", "--wallet.path"])
        .arg(wallets()));
    assert_eq!(code, 0);
    assert!(
        out.contains("coldkey: 5D32HL4QhDbgAvEJQ8DnvqhecaD8fN96EdRRpqLH2Njg9gsX"),
        "{out}"
    );
    assert!(
        out.contains("hotkey default: 5CJXU3SZbrQXL8DPNQnBF3vPbWGgP15LhxFpi4tWhr9poyEz"),
        "{out}"
    );
    // The SDK's environment variable selects the root too.
    let (code, out, _) = run(omron(home.path())
        .args(["wallet", "show", "--wallet.name", "miner"])
        .env("BT_WALLET_PATH", wallets()));
    assert_eq!(code, 0);
    assert!(out.contains("5D32HL4QhDbgAvEJQ8DnvqhecaD8fN96EdRRpqLH2Njg9gsX"));
    let (code, _, err) = run(omron(home.path())
        .args(["wallet", "show", "--wallet.name", "nobody", "--wallet.path"])
        .arg(wallets()));
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn show_unlock_decrypts_with_the_known_password_only() {
    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = run(omron(home.path())
        .args([
            "wallet",
            "show",
            "--unlock",
            "--wallet.name",
            "validator",
            "--wallet.path",
        ])
        .arg(wallets())
        .env("BT_WALLET_PASSWORD", PASSWORD));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("coldkey unlocked: 5F7a4Wgr9DjxJQuJgVQfSRoNH3ePqvqq3ryP5EfzaCFJYq3T"),
        "{out}"
    );
    let (code, _, err) = run(omron(home.path())
        .args([
            "wallet",
            "show",
            "--unlock",
            "--wallet.name",
            "miner_enc",
            "--wallet.path",
        ])
        .arg(wallets())
        .env("BT_WALLET_PASSWORD", "not the password"));
    assert_eq!(code, 2);
    assert!(err.contains("wrong password"), "{err}");
    // No password and no terminal: a clear error, not a hang.
    let (code, _, err) = run(omron(home.path())
        .args([
            "wallet",
            "show",
            "--unlock",
            "--wallet.name",
            "validator",
            "--wallet.path",
        ])
        .arg(wallets()));
    assert_eq!(code, 2);
    assert!(err.contains("BT_WALLET_PASSWORD"), "{err}");
}

#[test]
fn list_shows_every_vector_wallet() {
    let home = tempfile::tempdir().unwrap();
    let (code, out, err) = run(omron(home.path())
        .args(["wallet", "list", "--wallet.path"])
        .arg(wallets()));
    assert_eq!(code, 0, "{err}");
    for needle in [
        "validator  coldkey 5F7a4Wgr9DjxJQuJgVQfSRoNH3ePqvqq3ryP5EfzaCFJYq3T",
        "hotkey stranger  5Eef3k8dZk97uY1joM2WFJRvuUroAhic5Xed2dq1HscSZUvC",
        "miner_enc  coldkey 5D32HL4QhDbgAvEJQ8DnvqhecaD8fN96EdRRpqLH2Njg9gsX",
    ] {
        assert!(out.contains(needle), "{needle}\n{out}");
    }
    let (code, out, _) = run(omron(home.path()).args(["wallet", "list"]));
    assert_eq!(code, 0);
    assert!(out.contains("no wallets under"), "{out}");
}

fn field<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in\n{out}"))
        .split_whitespace()
        .next()
        .unwrap()
}

#[test]
fn create_then_show_encrypted_and_plain_and_never_overwrite() {
    let home = tempfile::tempdir().unwrap();
    let root = home.path().join("w");
    // Plain coldkey.
    let (code, out, err) = run(omron(home.path())
        .args([
            "wallet",
            "create",
            "--no-password",
            "--wallet.name",
            "plain",
            "--wallet.hotkey",
            "hk",
            "--wallet.path",
        ])
        .arg(&root));
    assert_eq!(code, 0, "{err}");
    let cold = field(&out, "coldkey: ").to_owned();
    let hot = field(&out, "hotkey hk: ").to_owned();
    assert_eq!(
        out.lines()
            .find_map(|l| l.strip_prefix("coldkey mnemonic: "))
            .unwrap()
            .split(' ')
            .count(),
        12
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [
            "plain/coldkey",
            "plain/coldkeypub.txt",
            "plain/hotkeys/hk",
            "plain/hotkeys/hkpub.txt",
        ] {
            let mode = std::fs::metadata(root.join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }
    let (code, out, _) = run(omron(home.path())
        .args([
            "wallet",
            "show",
            "--unlock",
            "--wallet.name",
            "plain",
            "--wallet.hotkey",
            "hk",
            "--wallet.path",
        ])
        .arg(&root));
    assert_eq!(code, 0);
    assert_eq!(field(&out, "coldkey: "), cold);
    assert_eq!(field(&out, "hotkey hk: "), hot);
    assert!(out.contains("NOT encrypted"));
    // Nothing left to create: refused, files untouched.
    let before = std::fs::read(root.join("plain/coldkey")).unwrap();
    let (code, _, err) = run(omron(home.path())
        .args([
            "wallet",
            "create",
            "--no-password",
            "--wallet.name",
            "plain",
            "--wallet.hotkey",
            "hk",
            "--wallet.path",
        ])
        .arg(&root));
    assert_eq!(code, 2);
    assert!(err.contains("nothing to create"), "{err}");
    assert_eq!(std::fs::read(root.join("plain/coldkey")).unwrap(), before);
    // A second hotkey for the same coldkey.
    let (code, out, _) = run(omron(home.path())
        .args([
            "wallet",
            "create",
            "--wallet.name",
            "plain",
            "--wallet.hotkey",
            "hk2",
            "--wallet.path",
        ])
        .arg(&root));
    assert_eq!(code, 0);
    assert_eq!(field(&out, "coldkey: "), cold);

    // Encrypted coldkey, password from the SDK's variable; without one and no terminal: error.
    let (code, _, err) = run(omron(home.path())
        .args(["wallet", "create", "--wallet.name", "enc", "--wallet.path"])
        .arg(&root));
    assert_eq!(code, 2);
    assert!(err.contains("BT_WALLET_PASSWORD"), "{err}");
    assert!(!root.join("enc/coldkey").exists());
    let (code, out, err) = run(omron(home.path())
        .args(["wallet", "create", "--wallet.name", "enc", "--wallet.path"])
        .arg(&root)
        .env("BT_WALLET_PASSWORD", "pw-1"));
    assert_eq!(code, 0, "{err}");
    let cold = field(&out, "coldkey: ").to_owned();
    assert!(
        std::fs::read(root.join("enc/coldkey"))
            .unwrap()
            .starts_with(b"$NACL")
    );
    let (code, out, err) = run(omron(home.path())
        .args([
            "wallet",
            "show",
            "--unlock",
            "--wallet.name",
            "enc",
            "--wallet.path",
        ])
        .arg(&root)
        .env("BT_WALLET_PASSWORD", "pw-1"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("coldkey unlocked: {cold}")), "{out}");
}

/// A miner-like axon (the vectors' miner hotkey) answering QueryZkProof with its caller and
/// model id; only the vectors' validator hotkey is allowed.
async fn miner_axon() -> omron_bittensor::axon::AxonHandle {
    use omron_bittensor::axon::{Axon, HandlerError, Request};
    use omron_bittensor::wallet::Wallet;
    use omron_protocol::{ProofOutput, QueryZkProof};
    let miner = Wallet::new(wallets(), "miner", "default")
        .unwrap()
        .hotkey()
        .unwrap();
    let validator = Wallet::new(wallets(), "validator", "default")
        .unwrap()
        .hotkey()
        .unwrap();
    let allowed = validator.public();
    Axon::builder(miner.public())
        .handler(|req: Request<QueryZkProof>| async move {
            let mut s = req.synapse;
            let model = s
                .query_input
                .as_ref()
                .and_then(|i| i.model_id().map(str::to_owned));
            s.query_output = Some(
                ProofOutput {
                    proof: format!("for {}", req.caller),
                    public_signals: model.unwrap_or_default(),
                }
                .to_query_output(),
            );
            Ok::<_, HandlerError>(s)
        })
        .blacklist(move |c| (*c.hotkey != allowed).then(|| "not a validator".to_owned()))
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

#[test]
fn query_sends_a_signed_request_and_prints_the_answer() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let axon = runtime.block_on(miner_axon());
    let home = tempfile::tempdir().unwrap();
    let addr = axon.local_addr().to_string();
    let query = |hotkey: &str, synapse: &str, body: &str, extra: &[&str]| {
        let mut cmd = omron(home.path());
        cmd.args(["query", "--axon", &addr])
            .args([
                "--axon.hotkey",
                "5CJXU3SZbrQXL8DPNQnBF3vPbWGgP15LhxFpi4tWhr9poyEz",
            ])
            .args(["--synapse", synapse, "--body", body, "--timeout", "10"])
            .args([
                "--wallet.name",
                "validator",
                "--wallet.hotkey",
                hotkey,
                "--wallet.path",
            ])
            .arg(wallets())
            .args(extra);
        run(&mut cmd)
    };
    let id = "ab".repeat(32);
    let body =
        format!(r#"{{"query_input": {{"public_inputs": {{"x": [1.5]}}, "model_id": "{id}"}}}}"#);
    for extra in [&[][..], &["--btauth"][..]] {
        let (code, out, err) = query("default", "QueryZkProof", &body, extra);
        assert_eq!(code, 0, "{out}\n{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["status_code"], 200);
        assert_eq!(v["status_message"], "Success");
        assert!(v["process_time"].as_f64().unwrap() > 0.0);
        let output: serde_json::Value =
            serde_json::from_str(v["response"]["query_output"].as_str().unwrap()).unwrap();
        assert_eq!(
            output["proof"],
            "for 5FRY4og7L7mGTAwKWB2sBok3ABR3scCkn7Za79zTn3H8BsgH"
        );
        assert_eq!(output["public_signals"], id.as_str());
        assert_eq!(v["response"]["query_input"]["model_id"], id.as_str());
    }
    // A refused caller: the answer is printed, exit code 1.
    let (code, out, _) = query("stranger", "QueryZkProof", &body, &[]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status_code"], 403);
    assert_eq!(
        v["status_message"],
        "Forbidden. Key is blacklisted: not a validator."
    );
    // A synapse the axon does not serve.
    let (code, out, _) = query("default", "QueryForCapacities", "{}", &[]);
    assert_eq!(code, 1);
    assert!(
        out.contains("Synapse name 'QueryForCapacities' not found"),
        "{out}"
    );
    // Bad input never reaches the network.
    let (code, _, err) = query("default", "Nope", "{}", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown synapse \"Nope\""), "{err}");
    let (code, _, err) = query("default", "QueryZkProof", "{not json", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("--body is not valid JSON"), "{err}");
    let (code, _, err) = query(
        "default",
        "QueryZkProof",
        r#"{"query_input": {"model_id": 1}}"#,
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("--body does not fit QueryZkProof"), "{err}");
    runtime.block_on(axon.shutdown());
}
