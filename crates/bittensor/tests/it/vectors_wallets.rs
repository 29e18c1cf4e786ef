//! The SDK's wallet files: layout, plaintext keys, `$NACL` coldkeys with the known password.

use omron_bittensor::wallet::{KeyfileData, NaclKey, Wallet, WalletError};

use crate::common::{PASSWORD, account, load_json, wallet, wallets_dir};

#[test]
fn public_files_and_plaintext_keys_give_the_known_addresses() {
    let secrets = load_json("wallets/KNOWN_SECRETS.json");
    for name in ["validator", "miner"] {
        let known = &secrets["wallets"][name];
        let w = wallet(name, "default");
        let cold = account(known["coldkey_ss58"].as_str().unwrap());
        let hot = account(known["hotkey_ss58"].as_str().unwrap());
        assert_eq!(w.coldkey_public().unwrap(), cold);
        assert_eq!(w.hotkey_public().unwrap(), hot);
        assert_eq!(w.hotkey().unwrap().public(), hot);
        assert_eq!(
            w.coldkey_is_encrypted().unwrap(),
            known["coldkey_encrypted"].as_bool().unwrap()
        );
    }
    let stranger = wallet("validator", "stranger");
    assert_eq!(
        stranger.hotkey().unwrap().public().to_ss58(),
        "5Eef3k8dZk97uY1joM2WFJRvuUroAhic5Xed2dq1HscSZUvC"
    );
    // The plaintext miner coldkey loads without a password.
    assert_eq!(
        wallet("miner", "default")
            .coldkey(None)
            .unwrap()
            .public()
            .to_ss58(),
        "5D32HL4QhDbgAvEJQ8DnvqhecaD8fN96EdRRpqLH2Njg9gsX"
    );
}

#[test]
fn listing_the_vector_wallets() {
    let listed = Wallet::list(&wallets_dir()).unwrap();
    let names: Vec<&str> = listed.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["miner", "miner_enc", "validator"]);
    let validator = &listed[2];
    assert_eq!(
        validator.coldkey.unwrap().to_ss58(),
        "5F7a4Wgr9DjxJQuJgVQfSRoNH3ePqvqq3ryP5EfzaCFJYq3T"
    );
    let hotkeys: Vec<&str> = validator.hotkeys.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(hotkeys, ["default", "stranger"]);
    assert!(listed[1].hotkeys.is_empty());
}

/// One test for everything that runs argon2 (512 MiB, about a second each): run serially so
/// parallel tests do not hold several gigabytes at once.
#[test]
fn encrypted_coldkeys_decrypt_with_the_known_password_only() {
    // validator: encrypted coldkey.
    let validator = wallet("validator", "default");
    assert!(matches!(
        validator.coldkey(None),
        Err(WalletError::PasswordRequired { .. })
    ));
    assert_eq!(
        validator
            .coldkey(Some(PASSWORD))
            .unwrap()
            .public()
            .to_ss58(),
        "5F7a4Wgr9DjxJQuJgVQfSRoNH3ePqvqq3ryP5EfzaCFJYq3T"
    );
    assert!(matches!(
        validator.coldkey(Some("wrong password")),
        Err(WalletError::WrongPassword)
    ));

    // One derivation of the known password opens the other files.
    let key = NaclKey::derive(PASSWORD).unwrap();
    // miner_enc decrypts to exactly the plaintext miner coldkey.
    let enc = std::fs::read(wallet("miner_enc", "default").coldkey_path()).unwrap();
    let plain = std::fs::read(wallet("miner", "default").coldkey_path()).unwrap();
    let decrypted = key.open(&enc).unwrap();
    assert_eq!(
        KeyfileData::from_json(&decrypted).unwrap(),
        KeyfileData::from_json(&plain).unwrap()
    );
    // Length per the SDK's format: "$NACL" + nonce + MAC + JSON.
    assert_eq!(enc.len(), 5 + 24 + 16 + decrypted.len());
    let validator_file = std::fs::read(validator.coldkey_path()).unwrap();
    let validator_json = KeyfileData::from_json(&key.open(&validator_file).unwrap()).unwrap();
    assert_eq!(
        validator_json.ss58_address.as_deref(),
        Some("5F7a4Wgr9DjxJQuJgVQfSRoNH3ePqvqq3ryP5EfzaCFJYq3T")
    );

    // Our sealing round-trips (the real SDK reading it is an interop test), fresh nonce each
    // time, and any tampering fails like a wrong password.
    let sealed = key.seal(&plain).unwrap();
    assert!(sealed.starts_with(b"$NACL"));
    assert_ne!(key.seal(&plain).unwrap(), sealed);
    assert_eq!(&key.open(&sealed).unwrap()[..], &plain[..]);
    let mut tampered = sealed.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(matches!(
        key.open(&tampered),
        Err(WalletError::WrongPassword)
    ));
}
