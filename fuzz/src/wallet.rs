//! Keyfiles and wallet secrets: the btwallet JSON (`KeyfileData`: parse, load the key pair,
//! the stated public key), `$NACL` files opened with a fixed password, the format detection,
//! and the obfuscated password environment values.
//!
//! Invariants: a key pair that loads matches the public key the file states; a keyfile
//! re-serialises to the same data.

use std::sync::OnceLock;

use omron_bittensor::wallet::{KeyfileData, NaclKey, deobfuscate_from_env, detect_encryption};

/// The shared test wallets' coldkey password (`bittensor-wire/wallets/KNOWN_SECRETS.json`),
/// so the checked-in encrypted coldkey opens.
pub const PASSWORD: &str = "btwire-Test-Passw0rd!";

/// The `$NACL` key for [`PASSWORD`], derived once (argon2i at 512 MiB is the point of it).
pub fn nacl_key() -> &'static NaclKey {
    static KEY: OnceLock<NaclKey> = OnceLock::new();
    KEY.get_or_init(|| NaclKey::derive(PASSWORD).expect("argon2 derivation"))
}

/// The target.
pub fn run(data: &[u8]) {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 3 {
        0 => keyfile(body),
        1 => {
            let _ = detect_encryption(body);
            if let Ok(plain) = nacl_key().open(body) {
                keyfile(&plain);
            }
        }
        _ => {
            let split = body.iter().position(|&b| b == 0).unwrap_or(body.len());
            let var = String::from_utf8_lossy(&body[..split]);
            let value = String::from_utf8_lossy(body.get(split + 1..).unwrap_or_default());
            let _ = deobfuscate_from_env(&var, &value);
        }
    }
}

fn keyfile(bytes: &[u8]) {
    let Ok(data) = KeyfileData::from_json(bytes) else {
        return;
    };
    let again = KeyfileData::from_json(&data.to_json()).expect("a parsed keyfile re-parses");
    assert_eq!(again, data, "keyfile changed on re-serialisation");
    let stored = data.stored_public();
    if let Ok(pair) = data.keypair() {
        match stored {
            Ok(Some(public)) => assert_eq!(public, pair.public(), "key pair and file disagree"),
            Ok(None) => {}
            Err(e) => panic!("a key pair loaded from a file whose public key does not: {e}"),
        }
    }
}
