//! Shared helpers: paths to the vectors, the known wallets.
#![allow(dead_code)] // helpers used by later test modules

use std::path::PathBuf;

use omron_bittensor::wallet::Wallet;
use omron_keys::{AccountId, Keypair};

/// `../shared/data/bittensor-wire`.
pub(crate) fn wire_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/bittensor-wire")
}

/// The vectors' wallet root.
pub(crate) fn wallets_dir() -> PathBuf {
    wire_dir().join("wallets")
}

/// The known coldkey password.
pub(crate) const PASSWORD: &str = "btwire-Test-Passw0rd!";

/// Reads a JSON vector file.
pub(crate) fn load_json(rel: &str) -> serde_json::Value {
    let path = wire_dir().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("vector is JSON")
}

/// A wallet of the vectors.
pub(crate) fn wallet(name: &str, hotkey: &str) -> Wallet {
    Wallet::new(wallets_dir(), name, hotkey).unwrap()
}

/// The validator's hotkey (the dendrite in the captures).
pub(crate) fn validator_hotkey() -> Keypair {
    wallet("validator", "default").hotkey().unwrap()
}

/// The blacklisted "stranger" hotkey.
pub(crate) fn stranger_hotkey() -> Keypair {
    wallet("validator", "stranger").hotkey().unwrap()
}

/// The miner's hotkey (the axon in the captures).
pub(crate) fn miner_hotkey() -> Keypair {
    wallet("miner", "default").hotkey().unwrap()
}

/// An address from its ss58 text.
pub(crate) fn account(ss58: &str) -> AccountId {
    AccountId::from_ss58(ss58).unwrap()
}
