//! Writes the seed corpus of every target into `fuzz/corpus/<target>/` from the shared
//! vectors (`../shared/data/bittensor-wire`), the repository's circuits and models, and valid
//! objects made by the code itself (proofs, signed requests, receipts, answers).
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --no-default-features --example seeds`
//! (idempotent: files are named by content).

use std::path::{Path, PathBuf};

use omron_api::rpc::{InferenceResult, ProofContext, RpcRequest};
use omron_api::{AuthHeaders, UnsignedReceipt, canonical};
use omron_bittensor::btauth::sign_request;
use omron_bittensor::wallet::obfuscate_for_env;
use omron_chain::{Call, Hyperparameters, Query, SignedCall};
use omron_fuzz::api_rpc::{NOW_SECS, VALIDATOR_KEY, answer_fixture};
use omron_fuzz::fixtures::{key, miner_key, stored_circuit};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

struct Seeds {
    root: PathBuf,
}

impl Seeds {
    fn put(&self, target: &str, data: &[u8]) {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        data.hash(&mut h);
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus dir");
        std::fs::write(dir.join(format!("seed-{:016x}", h.finish())), data).expect("seed");
    }

    fn put2(&self, target: &str, head: &[u8], body: &[u8]) {
        let mut v = head.to_vec();
        v.extend_from_slice(body);
        self.put(target, &v);
    }
}

fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.retain(|p| p.to_string_lossy().ends_with(suffix));
    out.sort();
    out
}

fn chunk(v: &mut Vec<u8>, data: &[u8]) {
    let n = data.len().min(255);
    v.push(n as u8);
    v.extend_from_slice(&data[..n]);
}

fn main() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let s = Seeds {
        root: manifest.join("corpus"),
    };
    let wire = manifest.join("../../shared/data/bittensor-wire");
    let circuits = manifest.join("../circuits");

    // proof: each circuit unedited, under each check, and with one edit of each kind.
    for c in 0u8..3 {
        for flags in 0u8..3 {
            s.put("proof", &[c, flags]);
        }
        for kind in 0u8..8 {
            s.put("proof", &[c, 0, kind, 40, 1, 0, 0, 2, 1, 2]);
        }
    }

    // circuit_files: every checked-in vk, metadata and circuit.json.
    let mut names: Vec<String> = std::fs::read_dir(&circuits)
        .expect("circuits/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        let dir = circuits.join(name);
        for (kind, file) in [(0u8, "vk.bin"), (1, "metadata.json"), (2, "circuit.json")] {
            if let Ok(bytes) = std::fs::read(dir.join(file)) {
                s.put2("circuit_files", &[kind], &bytes);
            }
        }
    }

    // request_inputs: a model request and one batch of each proof-of-weights circuit.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let model = stored_circuit("cnn-small");
    s.put(
        "request_inputs",
        &serde_json::to_vec(&model.generate_input(&mut rng)).expect("json"),
    );
    for name in ["sn2-pow-256", "sn27-pow-256", "sn48-pow-256"] {
        let c = stored_circuit(name);
        let inputs = c.generate_pow_inputs(&mut rng).expect("pow inputs");
        s.put(
            "request_inputs",
            &serde_json::to_vec(&inputs).expect("json"),
        );
    }

    // onnx: the small benchmark models (the large ones only slow the fuzzer down).
    for name in ["mlp_small", "mlp_sigmoid", "mlp_tanh", "cnn_small"] {
        let path = manifest
            .join("../bench/models")
            .join(name)
            .join("network.onnx");
        s.put("onnx", &std::fs::read(&path).expect("bench model"));
    }

    // axon: the recorded and handcrafted requests raw; their bodies signed both ways.
    let mut requests = files(&wire.join("handcrafted"), ".request.raw.txt");
    for dump in files(&wire.join("dumps"), "") {
        requests.extend(files(&dump, "request.raw.txt"));
    }
    for path in &requests {
        let raw = std::fs::read(path).expect("request");
        s.put2("axon", &[0], &raw);
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let body = &raw[at + 4..];
            for mode in [1u8, 2] {
                s.put2("axon", &[mode, 0, 0], body);
            }
        }
    }
    for name in 0u8..4 {
        s.put2("axon", &[1, name, 0], b"{}");
    }

    // dendrite: recorded answers raw, and their bodies under a made status line.
    let mut answers = files(&wire.join("dendrite_merge"), ".response.raw.txt");
    for dump in files(&wire.join("dumps"), "") {
        answers.extend(files(&dump, "response.raw.txt"));
    }
    for path in &answers {
        let raw = std::fs::read(path).expect("answer");
        s.put2("dendrite", &[0], &raw);
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let mut v = vec![1u8];
            v.extend_from_slice(&100u32.to_le_bytes()); // 100 + 100 = 200
            v.push(0);
            v.extend_from_slice(&raw[at + 4..]);
            s.put("dendrite", &v);
        }
    }

    // btauth: a signed request, free form (verifies) and signed mode with each kind of edit.
    let now: u64 = 1_750_000_000_000_000_000;
    let body = br#"{"query_input":null}"#;
    let signed = sign_request(
        &key(2),
        "POST",
        "/QueryZkProof",
        body,
        &key(1).public(),
        now,
    );
    let mut free = vec![0u8, signed.len() as u8];
    for (i, (_, v)) in signed.iter().enumerate() {
        free.push(match i {
            0 => 0,
            1 => 1,
            2 => 2,
            3 => 3,
            _ => 4,
        });
        chunk(&mut free, v.as_bytes());
    }
    chunk(&mut free, b"POST");
    chunk(&mut free, b"/QueryZkProof");
    free.extend_from_slice(body);
    s.put("btauth", &free);
    for edit in 0u8..5 {
        let mut v = vec![1u8, 0, 0, 0, 0];
        chunk(&mut v, body);
        v.push(if edit == 4 { 0 } else { 1 });
        chunk(&mut v, b"post");
        v.push(edit);
        v.push(edit);
        s.put("btauth", &v);
    }

    // wallet: the shared test wallets, plain and encrypted, and an env password.
    let wallets = wire.join("wallets");
    for rel in [
        "miner/coldkeypub.txt",
        "miner/hotkeys/default",
        "miner/hotkeys/defaultpub.txt",
        "validator/hotkeys/default",
        "validator/hotkeys/stranger",
        "miner/coldkey",
    ] {
        if let Ok(bytes) = std::fs::read(wallets.join(rel)) {
            s.put2("wallet", &[0], &bytes);
        }
    }
    for rel in ["miner_enc/coldkey", "validator/coldkey"] {
        if let Ok(bytes) = std::fs::read(wallets.join(rel)) {
            s.put2("wallet", &[1], &bytes);
        }
    }
    let var = "BT_PW__ROOT__BITTENSOR_WALLETS_MINER_COLDKEY";
    let mut env = var.as_bytes().to_vec();
    env.push(0);
    env.extend_from_slice(obfuscate_for_env(var, "pass").as_bytes());
    s.put2("wallet", &[2], &env);

    // chain_rpc: every kind of query, a signed call, calls of each kind, answers, SCALE.
    let alice_hot = omron_keys::Keypair::from_uri("//Alice/hot")
        .expect("uri")
        .public();
    let bob_hot = omron_keys::Keypair::from_uri("//Bob/hot")
        .expect("uri")
        .public();
    for q in [
        Query::Block,
        Query::Genesis,
        Query::Subnets,
        Query::Metagraph { netuid: 1 },
        Query::Hyperparameters { netuid: 1 },
        Query::SubnetOwner { netuid: 1 },
        Query::UidOf {
            netuid: 1,
            hotkey: bob_hot,
        },
    ] {
        s.put2("chain_rpc", &[0], &serde_json::to_vec(&q).expect("json"));
    }
    let chain = omron_fuzz::chain_rpc::chain_with_subnet();
    let alice = omron_keys::Keypair::from_uri("//Alice").expect("uri");
    let call = Call::Transfer {
        dest: bob_hot,
        amount: 5,
    };
    let sc = SignedCall::sign(&alice, &chain.genesis_hash(), 7, &call).expect("sign");
    s.put2("chain_rpc", &[1], &serde_json::to_vec(&sc).expect("json"));
    for (who, call) in [
        (
            0u8,
            Call::CreateSubnet {
                hotkey: bob_hot,
                hyperparameters: Hyperparameters::default(),
            },
        ),
        (
            1,
            Call::BurnedRegister {
                netuid: 1,
                hotkey: alice_hot,
            },
        ),
        (
            2,
            Call::SetWeights {
                netuid: 1,
                uids: vec![0, 1],
                weights: vec![1, 65535],
                version_key: 0,
            },
        ),
        (
            0,
            Call::Mint {
                dest: bob_hot,
                amount: 1,
            },
        ),
        (
            0,
            Call::SetHyperparameters {
                netuid: 1,
                hyperparameters: Hyperparameters::default(),
            },
        ),
    ] {
        s.put2(
            "chain_rpc",
            &[2, who],
            &serde_json::to_vec(&call).expect("json"),
        );
    }
    if let Ok(out) = chain.query_now(&Query::Metagraph { netuid: 1 }) {
        s.put2("chain_rpc", &[3], &serde_json::to_vec(&out).expect("json"));
    }
    s.put2(
        "chain_rpc",
        &[3],
        br#"{"kind":"invalid_request","name":null,"detail":"x"}"#,
    );
    s.put2("chain_rpc", &[4], &[0]);
    s.put2("chain_rpc", &[4], &[4, 0]);

    // api_rpc: request frames, a signed receipt, signed headers, a valid answer, a pin.
    let poc = RpcRequest::new(
        "omron.proof_of_computation",
        json!({"circuit": model.id(), "input": {"input_data": [[0.5, 1.0]], "nonce": "00112233445566778899aabbccddeeff"}}),
        1,
    );
    s.put2("api_rpc", &[0], &serde_json::to_vec(&poc).expect("json"));
    let pow = RpcRequest::new(
        "omron.proof_of_weights",
        json!({"evaluation_data": {"a": [1]}, "weights_version": 3}),
        2,
    );
    s.put2("api_rpc", &[0], &serde_json::to_vec(&pow).expect("json"));
    let headers = AuthHeaders::sign(&key(9), NOW_SECS);
    let joined = headers
        .pairs()
        .iter()
        .map(|(_, v)| *v)
        .collect::<Vec<_>>()
        .join("\0");
    s.put2("api_rpc", &[2], joined.as_bytes());
    let fx = answer_fixture();
    let miner = miner_key().public();
    let proof_hex = hex::encode(&fx.proof);
    let receipt = UnsignedReceipt {
        version: omron_api::receipt::RECEIPT_VERSION,
        request_hash: "r1".into(),
        method: "omron.proof_of_weights".into(),
        circuit_id: fx.circuit.id(),
        input_hash: canonical::hash(&fx.evaluation_data),
        output: fx.output.clone(),
        proof_hash: canonical::sha256_hex(&fx.proof),
        miner_uid: 3,
        miner_hotkey: miner.to_ss58(),
        validator_hotkey: key(VALIDATOR_KEY).public().to_ss58(),
        netuid: 2,
        block: 100,
        issued_at: NOW_SECS,
    }
    .sign(&key(VALIDATOR_KEY));
    s.put2(
        "api_rpc",
        &[1],
        &serde_json::to_vec(&receipt).expect("json"),
    );
    let result = InferenceResult {
        hash: "r1".into(),
        public_signals: fx.output.to_string(),
        proof: proof_hex,
        success: true,
        circuit_id: fx.circuit.id(),
        circuit_name: fx.circuit.metadata.name.clone(),
        miner_uid: 3,
        miner_hotkey: miner.to_ss58(),
        output: fx.output.clone(),
        context: ProofContext {
            input: fx.evaluation_data.clone(),
            nonce: None,
            miner_hotkey: miner.to_ss58(),
        },
        receipt,
        attempts: 1,
    };
    let fx_circuit = &fx.circuit;
    omron_api::check_answer(
        fx_circuit,
        omron_api::AppRequest::Weights {
            evaluation_data: &fx.evaluation_data,
        },
        &result,
    )
    .expect("the seed answer checks");
    s.put2("api_rpc", &[3], &serde_json::to_vec(&result).expect("json"));
    s.put2(
        "api_rpc",
        &[4],
        format!("sha256:{}", "ab".repeat(32)).as_bytes(),
    );
    println!("seeds written under {}", s.root.display());
}
