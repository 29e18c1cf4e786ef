//! Replays the keys and signatures captured from the real Bittensor SDK
//! (`../shared/data/bittensor-wire/`): mnemonics to exact addresses, keyfile secrets, and every
//! sr25519 signature seen on the wire.

use std::path::PathBuf;

use omron_keys::{AccountId, Keypair, Signature};
use serde_json::Value;

fn wire_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/bittensor-wire")
}

fn load(rel: &str) -> Value {
    let path = wire_dir().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("vector file is JSON")
}

#[test]
fn known_mnemonics_give_the_known_addresses() {
    let secrets = load("wallets/KNOWN_SECRETS.json");
    let mut checked = 0;
    for (name, wallet) in secrets["wallets"].as_object().unwrap() {
        let mut cases = Vec::new();
        for role in ["coldkey", "hotkey"] {
            if let Some(m) = wallet.get(format!("{role}_mnemonic")) {
                cases.push((
                    m.as_str().unwrap(),
                    wallet[format!("{role}_ss58")].as_str().unwrap(),
                    wallet[format!("{role}_public_hex")].as_str().unwrap(),
                ));
            }
        }
        if let Some(extra) = wallet.get("extra_hotkeys") {
            for hk in extra.as_object().unwrap().values() {
                cases.push((
                    hk["hotkey_mnemonic"].as_str().unwrap(),
                    hk["hotkey_ss58"].as_str().unwrap(),
                    hk["hotkey_public_hex"].as_str().unwrap(),
                ));
            }
        }
        for (mnemonic, ss58, public_hex) in cases {
            let pair = Keypair::from_mnemonic(mnemonic, None).unwrap();
            assert_eq!(pair.public().to_ss58(), ss58, "wallet {name}");
            assert_eq!(pair.public().to_hex(), public_hex, "wallet {name}");
            assert_eq!(AccountId::from_ss58(ss58).unwrap(), pair.public());
            checked += 1;
        }
    }
    assert_eq!(
        checked, 5,
        "validator coldkey+hotkey+stranger, miner coldkey+hotkey"
    );
}

#[test]
fn plaintext_keyfile_secrets_agree() {
    // The miner coldkey is stored in plaintext: its phrase, seed and 64-byte private key must
    // all describe the same key, and the seed must expand to exactly that private key.
    let file = load("wallets/miner/coldkey");
    let from_phrase = Keypair::from_mnemonic(file["secretPhrase"].as_str().unwrap(), None).unwrap();
    let seed_bytes = hex::decode(&file["secretSeed"].as_str().unwrap()[2..]).unwrap();
    let seed: [u8; 32] = seed_bytes.try_into().unwrap();
    let from_seed = Keypair::from_seed(&seed);
    let private = hex::decode(&file["privateKey"].as_str().unwrap()[2..]).unwrap();
    let from_private = Keypair::from_secret_key_bytes(&private).unwrap();
    assert_eq!(from_phrase.seed(), Some(seed));
    assert_eq!(from_seed.secret_key_bytes().to_vec(), private);
    assert_eq!(from_phrase.public(), from_seed.public());
    assert_eq!(from_phrase.public(), from_private.public());
    assert_eq!(
        from_phrase.public().to_ss58(),
        file["ss58Address"].as_str().unwrap()
    );
}

#[test]
fn every_captured_signature_verifies_as_recorded() {
    let vectors = load("signing_vectors.json");
    let mut plain_ok = 0;
    let mut plain_bad = 0;
    for v in vectors["dendrite_signatures"].as_array().unwrap() {
        let signer = AccountId::from_hex(v["dendrite_pubkey_hex"].as_str().unwrap()).unwrap();
        let message = hex::decode(v["message_hex"].as_str().unwrap()).unwrap();
        assert_eq!(message, v["message_utf8"].as_str().unwrap().as_bytes());
        let sig = Signature::from_hex(v["signature"].as_str().unwrap()).unwrap();
        let expected = v["verifies_plain"].as_bool().unwrap();
        assert_eq!(signer.verify(&message, &sig), expected, "{}", v["source"]);
        if expected {
            plain_ok += 1
        } else {
            plain_bad += 1
        }
    }
    assert_eq!((plain_ok, plain_bad), (38, 8));
    let mut axon = 0;
    for v in vectors["axon_signatures"].as_array().unwrap() {
        let signer = AccountId::from_hex(v["signer_pubkey_hex"].as_str().unwrap()).unwrap();
        assert_eq!(signer.to_ss58(), v["signer_hotkey"].as_str().unwrap());
        let sig = Signature::from_hex(v["signature"].as_str().unwrap()).unwrap();
        let message = v["message_utf8"].as_str().unwrap().as_bytes();
        assert!(signer.verify(message, &sig), "{}", v["source"]);
        // Any change to the message breaks it.
        let mut tampered = message.to_vec();
        tampered[0] ^= 1;
        assert!(!signer.verify(&tampered, &sig));
        axon += 1;
    }
    assert_eq!(axon, 25);
    for v in vectors["btauth1_v11"].as_array().unwrap() {
        let signer = AccountId::from_ss58(v["hotkey"].as_str().unwrap()).unwrap();
        let payload = hex::decode(v["payload_hex"].as_str().unwrap()).unwrap();
        let sig = Signature::from_hex(v["signature"].as_str().unwrap()).unwrap();
        assert_eq!(
            signer.verify(&payload, &sig),
            v["verifies_plain"].as_bool().unwrap()
        );
    }
}

#[test]
fn chain_reference_alice_fixture_verifies() {
    // bittensor-chain-reference.md §1.6: //Alice signing a dendrite message.
    let alice = Keypair::from_uri("//Alice").unwrap().public();
    assert_eq!(
        alice.to_ss58(),
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    );
    let msg = "1700000000000000000.5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY.\
               5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty.\
               11111111-2222-3333-4444-555555555555.\
               a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a";
    let sig = Signature::from_hex(
        "0x0680230ad8d2d76f826191d4ffe1bd343344a7ed1de658c015ea961f84fbcd695b759c36dba4b19b98530bad33d845589b400a4a1375e4868d12d07e04aaa981",
    )
    .unwrap();
    assert!(alice.verify(msg.as_bytes(), &sig));
}
