//! Issue 9, end to end through the command line: `omron localnet --external-api-port` runs the
//! subnet with the validator's external API; `omron request` (an app) gets a model inference
//! and a proof-of-weights batch proven by the real `omron miner`s, re-verified locally with the
//! circuit files; `omron receipt verify` accepts the records and refuses a tampered one; after
//! the subnet stops, `omron validator export` writes the archive and every exported record
//! re-verifies, while a tampered export is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const OMRON: &str = env!("CARGO_BIN_EXE_omron");
const CAP: Duration = Duration::from_secs(240);

fn omron(args: &[&str]) -> Output {
    Command::new(OMRON)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// `omron receipt verify` of a record, with the circuits folder.
fn receipt_verify(record: &Path, circuits: &str) -> Output {
    omron(&[
        "receipt",
        "verify",
        "--receipt",
        record.to_str().unwrap(),
        "--circuit",
        circuits,
    ])
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn say(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Stops the localnet with Ctrl-C (it takes its final scoreboard and stops every node).
fn interrupt(child: &mut Child) {
    // SAFETY: kill(2) on our own child, which has not been reaped yet.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the localnet did not stop within 60 s of Ctrl-C");
}

fn tampered_copy(src: &Path, dst: &Path) {
    let mut doc: Value = serde_json::from_slice(&std::fs::read(src).unwrap()).unwrap();
    // Another output, in the receipt as well as in the record: the signature no longer holds.
    let out = &mut doc["receipt"]["output"][0];
    *out = Value::from(out.as_f64().unwrap_or(0.0) + 1.0);
    std::fs::write(dst, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

#[test]
fn apps_use_the_localnet_validator_api_and_its_archive_re_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let circuits = dir.path().join("circuits");
    std::fs::create_dir_all(&circuits).unwrap();
    for name in ["mnist-mlp", "sn2-pow-256"] {
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../circuits")
            .join(name);
        std::os::unix::fs::symlink(src.canonicalize().unwrap(), circuits.join(name)).unwrap();
    }
    let state = dir.path().join("state");
    let mut child = Command::new(OMRON)
        .args(["localnet", "--miners", "3", "--scoreboard-interval", "30"])
        .args(["--duration", &CAP.as_secs().to_string()])
        .arg("--state")
        .arg(&state)
        .arg("--circuits")
        .arg(&circuits)
        .args(["--external-api-port", "0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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
    let mut url = None;
    let mut fp = None;
    let mut key = None;
    let started = Instant::now();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120).saturating_sub(started.elapsed()))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("the localnet did not come up with its external API")
            });
        if let Some(v) = line.strip_prefix("OMRON_API_URL=") {
            url = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("OMRON_API_CERT_SHA256=") {
            fp = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("OMRON_API_KEY_URI=") {
            key = Some(v.to_owned());
        } else if line.starts_with("all nodes up") {
            break;
        }
    }
    let (url, fp, key) = (url.unwrap(), fp.unwrap(), key.unwrap());
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let c = circuits.to_str().unwrap();
    let request = |circuit: &str, input: &Path, out: &Path| {
        omron(&[
            "request",
            "--validator",
            &url,
            "--cert-sha256",
            &fp,
            "--key-uri",
            &key,
            "--circuits",
            c,
            "--circuit",
            circuit,
            "--input",
            input.to_str().unwrap(),
            "--output-json",
            out.to_str().unwrap(),
        ])
    };

    // A model inference, with the example input the localnet wrote.
    let record = work.join("mnist.json");
    let out = request("mnist-mlp", &state.join("app-input.json"), &record);
    assert_eq!(code(&out), 0, "{}", say(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified"));
    let out = receipt_verify(&record, c);
    assert_eq!(code(&out), 0, "{}", say(&out));
    let bad = work.join("mnist-tampered.json");
    tampered_copy(&record, &bad);
    let out = receipt_verify(&bad, c);
    assert_eq!(
        code(&out),
        1,
        "a tampered receipt is refused: {}",
        say(&out)
    );

    // A proof-of-weights batch (SN2's scoring), proven by a miner's ProofOfWeightsSynapse.
    let sn2 = omron_circuit::StoredCircuit::load(&circuits.join("sn2-pow-256")).unwrap();
    let batch = sn2.generate_pow_inputs(&mut rand::thread_rng()).unwrap();
    let batch_file = work.join("batch.json");
    std::fs::write(&batch_file, serde_json::to_vec(&batch).unwrap()).unwrap();
    let pow_record = work.join("pow.json");
    let out = request("sn2-pow-256", &batch_file, &pow_record);
    assert_eq!(code(&out), 0, "{}", say(&out));
    let out = receipt_verify(&pow_record, c);
    assert_eq!(code(&out), 0, "{}", say(&out));
    // The same batch again is refused by the validator's hash guard, with a reason.
    let out = request("sn2-pow-256", &batch_file, &work.join("again.json"));
    assert_eq!(code(&out), 2, "{}", say(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already proven"),
        "{}",
        say(&out)
    );

    interrupt(&mut child);

    // The archive, exported and re-verified by anyone with the circuit files.
    let export = dir.path().join("export");
    let validator_state = state.join("validator");
    let out = omron(&[
        "validator",
        "export",
        "--state",
        validator_state.to_str().unwrap(),
        "--out",
        export.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", say(&out));
    let mut records: Vec<PathBuf> = std::fs::read_dir(export.join("external"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p.to_string_lossy().ends_with(".input.json")
        })
        .collect();
    records.sort();
    assert_eq!(
        records.len(),
        2,
        "both verified requests archived: {records:?}"
    );
    for r in &records {
        let out = receipt_verify(r, c);
        assert_eq!(code(&out), 0, "{}: {}", r.display(), say(&out));
    }
    let bad = dir.path().join("export-tampered.json");
    tampered_copy(&records[0], &bad);
    let out = receipt_verify(&bad, c);
    assert_eq!(code(&out), 1, "{}", say(&out));
    // The validator's certificate fingerprint, as the operator reads it.
    let out = omron(&[
        "validator",
        "cert",
        "--state",
        validator_state.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", say(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), fp);
}
