//! The localnet validator's external API, for newcomers: a whitelisted development key, a
//! certificate made before the validator starts (so its fingerprint can be printed), an example
//! input, and the `omron request` line that uses them.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use anyhow::Context;
use omron_keys::Keypair;

use super::nodes::free_port;

/// The development key whitelisted on the localnet's external API.
pub(crate) const APP_DEV_KEY_URI: &str = "//OmronApp";

/// Turns on the localnet validator's external API on `port` (127.0.0.1) with a whitelisted
/// development key; returns the lines that tell a newcomer how to use it. The certificate is
/// made here, before the validator starts, so its fingerprint can be printed.
pub(super) fn external_api(
    validator_args: &mut Vec<OsString>,
    state: &Path,
    port: u16,
    circuits: &Path,
) -> anyhow::Result<Vec<String>> {
    let port = if port == 0 {
        free_port(IpAddr::V4(Ipv4Addr::LOCALHOST))?
    } else {
        port
    };
    let cert_dir = state.join("validator").join("cert");
    let cert = omron_validator::external::cert::load_or_generate(&cert_dir, &[])
        .context("cannot make the external API certificate")?;
    let key = Keypair::from_uri(APP_DEV_KEY_URI).context("development key")?;
    validator_args.extend(
        [
            "--external-api-host".to_owned(),
            "127.0.0.1".to_owned(),
            "--external-api-port".to_owned(),
            port.to_string(),
            "--whitelisted-public-keys".to_owned(),
            key.public().to_ss58(),
            "--certificate-path".to_owned(),
            cert_dir.display().to_string(),
        ]
        .map(OsString::from),
    );
    // An example input for the first benchmark model, so the printed command runs as is.
    let store = omron_circuit::CircuitStore::load(circuits)?;
    let mut example = Vec::new();
    // The smallest model proves fastest.
    let smallest = store
        .iter()
        .filter(|c| !c.is_proof_of_weights())
        .min_by_key(|c| {
            c.circuit
                .graph()
                .tensors
                .iter()
                .map(|t| t.numel())
                .sum::<usize>()
        });
    if let Some(c) = smallest {
        let input = c.generate_input(&mut rand::thread_rng());
        let path = state.join("app-input.json");
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&serde_json::json!({ "input_data": input.input_data }))?,
        )
        .with_context(|| format!("cannot write {}", path.display()))?;
        example.push(format!(
            "  try it:   omron request --validator wss://127.0.0.1:{port} --cert-sha256 {} --key-uri {APP_DEV_KEY_URI} --circuit {} --input {}",
            cert.fingerprint,
            c.id(),
            path.display()
        ));
    }
    let mut lines = vec![format!(
        "  external API wss://127.0.0.1:{port}/rpc  certificate sha256 {}  whitelisted dev key {APP_DEV_KEY_URI} ({})",
        cert.fingerprint,
        key.public().to_ss58()
    )];
    lines.extend(example);
    // Machine-readable, for scripts and the Python client's tests.
    lines.push(format!("OMRON_API_URL=wss://127.0.0.1:{port}/rpc"));
    lines.push(format!("OMRON_API_CERT_SHA256={}", cert.fingerprint));
    lines.push(format!("OMRON_API_KEY_URI={APP_DEV_KEY_URI}"));
    Ok(lines)
}
