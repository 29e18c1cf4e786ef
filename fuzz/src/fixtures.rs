//! What the targets share: the circuits of `circuits/`, fixed keys, one tokio runtime.

use std::path::PathBuf;
use std::sync::OnceLock;

use omron_circuit::StoredCircuit;
use omron_keys::Keypair;

/// The repository's `circuits/` folder.
pub fn circuits_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../circuits")
}

/// Loads `circuits/<name>`; the checked-in circuits must load, so failing is a setup error.
pub fn stored_circuit(name: &str) -> StoredCircuit {
    let dir = circuits_dir().join(name);
    StoredCircuit::load(&dir)
        .unwrap_or_else(|e| panic!("fixture {} does not load: {e}", dir.display()))
}

/// A fixed keypair per role (deterministic, so crashes reproduce).
pub fn key(role: u8) -> Keypair {
    Keypair::from_seed(&[role; 32])
}

/// The miner's hotkey that valid proofs are bound to.
pub fn miner_key() -> &'static Keypair {
    static KEY: OnceLock<Keypair> = OnceLock::new();
    KEY.get_or_init(|| key(7))
}

/// One multi-threaded runtime for the targets that run servers and clients.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}
