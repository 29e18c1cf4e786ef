//! The external API: apps (and other subnets' validators) ask this validator for verified
//! inferences (guide: `docs/api.md`; the original's `neurons/_validator/api/`, reference §6).
//!
//! * [`cert`]: the TLS certificate, generated on first start and kept in the state folder;
//!   its fingerprint is committed on chain so that clients pin it;
//! * [`listener`]: TLS on top of the TCP listener, handshakes off the accept loop, a cap on
//!   open connections and an idle timeout (`omron_bittensor::guard`);
//! * [`ws`]: `GET /rpc` (JSON-RPC 2.0 over WebSocket), `GET /circuits`, `GET /health`, and
//!   authentication at the upgrade;
//! * [`circuits`]: which circuit a request names, its input schema, its `/circuits` entry.
//!
//! Requests wait in a bounded queue that the request pool drains before it sends benchmark
//! requests; a full queue answers "busy" instead of growing. The queue, the per-key limits and
//! the settings live in [`crate::external_state`], below the node and this server; one
//! request's life in the pool (a miner chosen by score, the proof verified against the app's
//! own input, retries with other miners, the signed receipt) is the node's `route` task.

pub mod cert;
pub mod circuits;
pub(crate) mod listener;
pub(crate) mod ws;

pub use crate::external_state::ExternalApiConfig;
pub(crate) use crate::external_state::{ExternalState, Job};
use crate::shared::Shared;

/// Commits the certificate's fingerprint (its 64 hex digits, as ASCII) under the hotkey on the
/// subnet, unless that is already the commitment; clients read it to pin the certificate. A
/// failure is logged, not fatal: clients can still pin with the fingerprint given out of band.
pub(crate) async fn commit_certificate(shared: &Shared, fingerprint: &str) {
    let netuid = shared.config.netuid;
    let hotkey = shared.hotkey.public();
    match shared.chain.get_commitment(netuid, &hotkey).await {
        Ok(Some(c)) if c.data == fingerprint.as_bytes() => {
            tracing::info!("certificate fingerprint already committed on chain");
            return;
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the current commitment"),
    }
    match shared
        .chain
        .set_commitment(&shared.hotkey, netuid, fingerprint.as_bytes())
        .await
    {
        Ok(()) => tracing::info!(fingerprint, "certificate fingerprint committed on chain"),
        Err(e) => tracing::warn!(error = %e, "cannot commit the certificate fingerprint on chain"),
    }
}
