//! The proof commands driven through the real `omron` binary: compile, inspect, prove, verify,
//! and every way verification must fail cleanly (exit 1, one line, no panic).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use prost::Message;

fn omron(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_omron"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
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

fn bench_model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../bench/models")
        .join(name)
}

struct Compiled {
    dir: tempfile::TempDir,
}

impl Compiled {
    fn new(model: &str) -> Compiled {
        let dir = tempfile::tempdir().unwrap();
        let src = bench_model(model);
        std::fs::copy(src.join("input.json"), dir.path().join("input.json")).unwrap();
        let out = omron(
            &[
                "circuit",
                "compile",
                src.join("network.onnx").to_str().unwrap(),
                "--out",
                "circuit",
                "--calibration",
                "input.json",
            ],
            dir.path(),
        );
        assert!(out.status.success(), "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("circuit id: "), "{}", text(&out));
        assert!(stdout.contains("argmax agrees"), "{}", text(&out));
        Compiled { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn prove(&self) -> Output {
        omron(
            &[
                "prove",
                "--circuit",
                "circuit",
                "--input",
                "input.json",
                "--out",
                "proof.bin",
                "--output-json",
                "out.json",
            ],
            self.path(),
        )
    }

    fn verify(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "verify",
            "--circuit",
            "circuit",
            "--input",
            "input.json",
            "--proof",
            "proof.bin",
        ];
        args.extend_from_slice(extra);
        omron(&args, self.path())
    }
}

fn assert_rejected(out: &Output, why: &str) {
    assert_eq!(out.status.code(), Some(1), "{why}: {}", text(out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("rejected: "), "{why}: {}", text(out));
    assert_eq!(
        stdout.trim_end().lines().count(),
        1,
        "{why}: one line: {}",
        text(out)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{why}: {}",
        text(out)
    );
}

#[test]
fn compile_prove_verify_and_reject_tampering() {
    let c = Compiled::new("mlp_small");
    let out = c.prove();
    assert!(out.status.success(), "{}", text(&out));
    let verified = c.verify(&["--output-json", "out.json"]);
    assert!(verified.status.success(), "{}", text(&verified));
    assert_eq!(String::from_utf8_lossy(&verified.stdout).trim(), "verified");

    // The output file holds the dequantised output.
    let out_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(c.path().join("out.json")).unwrap()).unwrap();
    assert_eq!(out_json["output"].as_array().unwrap().len(), 8);

    // A different output.
    let mut other = out_json.clone();
    other["output"][0] = serde_json::json!(other["output"][0].as_f64().unwrap() + 0.5);
    std::fs::write(c.path().join("other.json"), other.to_string()).unwrap();
    assert_rejected(
        &c.verify(&["--output-json", "other.json"]),
        "different output",
    );

    // A different input.
    let input: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(c.path().join("input.json")).unwrap())
            .unwrap();
    let mut changed = input.clone();
    changed["input_data"][0][3] = serde_json::json!(0.25);
    std::fs::write(c.path().join("changed.json"), changed.to_string()).unwrap();
    let out = omron(
        &[
            "verify",
            "--circuit",
            "circuit",
            "--input",
            "changed.json",
            "--proof",
            "proof.bin",
        ],
        c.path(),
    );
    assert_rejected(&out, "different input");

    // A wrong context.
    assert_rejected(&c.verify(&["--context", "00ff"]), "different context");
    // A flag that is wrong is the caller's error (exit 2), not a rejected proof.
    let bad_flag = c.verify(&["--context", "zz"]);
    assert_eq!(bad_flag.status.code(), Some(2), "{}", text(&bad_flag));
    assert!(
        text(&bad_flag).contains("--context must be hex"),
        "{}",
        text(&bad_flag)
    );
    assert!(!text(&bad_flag).contains("rejected"), "{}", text(&bad_flag));

    // Single changed bytes, truncation, random bytes, an empty file.
    let proof = std::fs::read(c.path().join("proof.bin")).unwrap();
    for (i, pos) in [0, 9, proof.len() / 3, proof.len() / 2, proof.len() - 1]
        .into_iter()
        .enumerate()
    {
        let mut bad = proof.clone();
        bad[pos] ^= 0x40;
        std::fs::write(c.path().join("proof.bin"), &bad).unwrap();
        assert_rejected(&c.verify(&[]), &format!("flipped byte {i}"));
    }
    std::fs::write(c.path().join("proof.bin"), &proof[..proof.len() / 2]).unwrap();
    assert_rejected(&c.verify(&[]), "truncated");
    let junk: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(c.path().join("proof.bin"), &junk).unwrap();
    assert_rejected(&c.verify(&[]), "random bytes");
    std::fs::write(c.path().join("proof.bin"), b"").unwrap();
    assert_rejected(&c.verify(&[]), "empty");
    std::fs::remove_file(c.path().join("proof.bin")).unwrap();
    assert_rejected(&c.verify(&[]), "missing file");
}

#[test]
fn a_proof_is_rejected_by_another_models_circuit() {
    let a = Compiled::new("mlp_sigmoid");
    let b = Compiled::new("mlp_tanh");
    assert!(a.prove().status.success());
    // Same input shape ([1, 16]), different model: b's circuit must reject a's proof.
    std::fs::copy(a.path().join("proof.bin"), b.path().join("proof.bin")).unwrap();
    std::fs::copy(a.path().join("input.json"), b.path().join("input.json")).unwrap();
    assert_rejected(&b.verify(&[]), "other model");
}

#[test]
fn compiling_twice_gives_the_same_id_and_inspect_shows_it() {
    let a = Compiled::new("cnn_small");
    let b = Compiled::new("cnn_small");
    let id = |c: &Compiled| {
        let info: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(c.path().join("circuit/circuit.json")).unwrap(),
        )
        .unwrap();
        info["id"].as_str().unwrap().to_string()
    };
    assert_eq!(id(&a), id(&b));
    let vk = std::fs::read(a.path().join("circuit/vk.bin")).unwrap();
    let digest = {
        use std::fmt::Write;
        let mut s = String::new();
        for b in sha256(&vk) {
            write!(s, "{b:02x}").unwrap();
        }
        s
    };
    assert_eq!(id(&a), digest, "the id is the sha256 of the verifying key");
    let out = omron(&["circuit", "inspect", "circuit"], a.path());
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&id(&a)) && stdout.contains("Conv"),
        "{}",
        text(&out)
    );
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

#[test]
fn unsupported_ops_are_listed_and_compile_fails() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(bench_model("mlp_small").join("network.onnx")).unwrap();
    let mut model = omron_model::proto::ModelProto::decode(bytes.as_slice()).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let relu = graph.node.iter_mut().find(|n| n.op_type == "Relu").unwrap();
    relu.op_type = "Hardmax".into();
    relu.name = "my_hardmax".into();
    std::fs::write(dir.path().join("bad.onnx"), model.encode_to_vec()).unwrap();
    let out = omron(
        &["circuit", "compile", "bad.onnx", "--out", "c"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("Hardmax") && all.contains("my_hardmax"),
        "{all}"
    );
    assert!(
        !dir.path().join("c").exists(),
        "nothing is written for a refused model"
    );

    std::fs::write(dir.path().join("junk.onnx"), b"definitely not protobuf").unwrap();
    let out = omron(
        &["circuit", "compile", "junk.onnx", "--out", "c"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!text(&out).contains("panicked"), "{}", text(&out));
}

#[test]
fn bench_prints_a_row_per_model_and_circuit_folder() {
    let dir = tempfile::tempdir().unwrap();
    let circuit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../circuits/mnist-mlp");
    let out = omron(
        &[
            "bench",
            "--reps",
            "1",
            bench_model("mlp_small").to_str().unwrap(),
            circuit.to_str().unwrap(),
            "--json",
            "rows.json",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let rows: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("rows.json")).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["model"], "mlp_small");
    assert_eq!(rows[0]["argmax_agrees"], true);
    assert_eq!(rows[1]["model"], "mnist-mlp");
    assert!(rows[1]["argmax_agrees"].is_null());
    for row in rows {
        assert!(row["proof_bytes"].as_u64().unwrap() > 0, "{row}");
    }
}

/// A validator's archived score-batch proof (made with its hotkey, as `StoredCircuitProver`
/// does) is checked by anyone with `omron verify --miner-hotkey`, the nonce coming from the
/// batch itself; another hotkey or another batch is rejected.
#[test]
fn verify_checks_a_validators_batch_proof_by_its_hotkey() {
    use rand::SeedableRng;
    let dir = tempfile::tempdir().unwrap();
    let circuit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../circuits/sn2-pow-256");
    let stored = omron_circuit::StoredCircuit::load(&circuit).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let batch = stored.generate_pow_inputs(&mut rng).unwrap();
    let validator = omron_keys::Keypair::from_uri("//Alice").unwrap().public();
    let (proof, _) = stored.prove_pow(&batch, validator.as_bytes()).unwrap();
    std::fs::write(dir.path().join("batch.json"), batch.to_string()).unwrap();
    std::fs::write(dir.path().join("proof.bin"), &proof).unwrap();
    let verify = |input: &str, hotkey: &str| {
        omron(
            &[
                "verify",
                "--circuit",
                circuit.to_str().unwrap(),
                "--input",
                input,
                "--proof",
                "proof.bin",
                "--miner-hotkey",
                hotkey,
            ],
            dir.path(),
        )
    };
    let ok = verify("batch.json", &validator.to_ss58());
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("verified"));

    let bob = omron_keys::Keypair::from_uri("//Bob").unwrap().public();
    let other_key = verify("batch.json", &bob.to_ss58());
    assert_eq!(other_key.status.code(), Some(1), "{}", text(&other_key));

    let other = stored.generate_pow_inputs(&mut rng).unwrap();
    std::fs::write(dir.path().join("other.json"), other.to_string()).unwrap();
    let other_batch = verify("other.json", &validator.to_ss58());
    assert_eq!(other_batch.status.code(), Some(1), "{}", text(&other_batch));

    // Without --nonce, --miner-hotkey is refused for a model circuit.
    let mlp = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../circuits/mnist-mlp");
    let out = omron(
        &[
            "verify",
            "--circuit",
            mlp.to_str().unwrap(),
            "--input",
            "batch.json",
            "--proof",
            "proof.bin",
            "--miner-hotkey",
            &validator.to_ss58(),
        ],
        dir.path(),
    );
    // Flags that do not fit the circuit: the caller's error (exit 2), not a rejected proof.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only for proof-of-weights"),
        "{}",
        text(&out)
    );
}
