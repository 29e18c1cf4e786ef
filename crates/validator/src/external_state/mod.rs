//! The external API's settings and the state it shares with the node: the bounded queue of
//! [`Job`]s the request pool drains ahead of benchmark requests, the replay guard, the per-key
//! [`limits`] and the cache of other subnets' permit holders.
//!
//! It sits below the node and the API's server ([`crate::external`]): both reach it through
//! [`crate::shared::Shared::external`], and the validator's configuration holds
//! [`ExternalApiConfig`].

pub(crate) mod limits;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use omron_api::auth::ReplayGuard;
use omron_api::rpc::ErrorObject;
use omron_keys::AccountId;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// Settings of the external API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalApiConfig {
    /// Where it listens (`--external-api-host`, `--external-api-port`; 0.0.0.0:8443).
    pub addr: SocketAddr,
    /// Folder of `cert.pem` and `key.pem` (`--certificate-path`); generated there if absent.
    pub certificate_dir: PathBuf,
    /// Extra names (IP addresses or DNS names) for a generated certificate.
    pub certificate_names: Vec<String>,
    /// Check the request signatures (off only with `--do-not-verify-external-signatures`).
    pub verify_signatures: bool,
    /// Keys always allowed (`--whitelisted-public-keys`).
    pub whitelist: Vec<AccountId>,
    /// Largest WebSocket message accepted, bytes.
    pub max_message_bytes: usize,
    /// Requests per minute per key.
    pub rate_limit_per_minute: u32,
    /// Requests in flight per key.
    pub max_in_flight_per_key: usize,
    /// Requests waiting for a miner at most (beyond: "busy").
    pub queue_capacity: usize,
    /// Miners asked per request at most.
    pub max_attempts: u32,
    /// Connections open at most (WebSocket and plain HTTP alike; beyond, new ones are dropped).
    pub max_connections: usize,
    /// Commit the certificate's fingerprint on chain at start (as the original does).
    pub commit_certificate: bool,
}

impl ExternalApiConfig {
    /// The defaults: 0.0.0.0:8443, signatures checked, 1 MiB messages, 60 requests a minute
    /// and 4 in flight per key, 64 waiting, 3 miners per request, 256 connections.
    pub fn new(certificate_dir: PathBuf) -> Self {
        Self {
            addr: SocketAddr::from(([0, 0, 0, 0], 8443)),
            certificate_dir,
            certificate_names: Vec::new(),
            verify_signatures: true,
            whitelist: Vec::new(),
            max_message_bytes: 1 << 20,
            rate_limit_per_minute: 60,
            max_in_flight_per_key: 4,
            queue_capacity: 64,
            max_attempts: 3,
            max_connections: 256,
            commit_certificate: true,
        }
    }
}

/// What an external request asks for, checked against the circuit before it is queued.
#[derive(Debug, Clone)]
pub(crate) enum JobInput {
    /// A model input (`input_data`) and the nonce the proof will be bound to.
    Computation { input: omron_circuit::RequestInput },
    /// A scoring batch.
    Weights { evaluation_data: Value },
}

/// One queued external request.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) method: &'static str,
    pub(crate) origin: AccountId,
    pub(crate) circuit: std::sync::Arc<omron_circuit::StoredCircuit>,
    pub(crate) input: JobInput,
    pub(crate) request_hash: String,
    pub(crate) received: Instant,
    pub(crate) deadline: Instant,
    pub(crate) reply: oneshot::Sender<Result<Value, ErrorObject>>,
}

/// The external API's state inside the node.
pub(crate) struct ExternalState {
    pub(crate) config: ExternalApiConfig,
    pub(crate) queue: mpsc::Sender<Job>,
    pub(crate) replay: Mutex<ReplayGuard>,
    pub(crate) limits: limits::KeyLimits,
    /// Validator-permit holders of other subnets (`x-netuid`), read from chain and cached.
    pub(crate) permits: Mutex<HashMap<u16, (Instant, HashSet<AccountId>)>>,
    /// The certificate's fingerprint.
    pub(crate) fingerprint: String,
    /// Open connections.
    pub(crate) connections: std::sync::atomic::AtomicUsize,
}

/// How long another subnet's permit holders are cached.
pub(crate) const PERMIT_CACHE: Duration = Duration::from_secs(600);

impl ExternalState {
    pub(crate) fn new(
        config: ExternalApiConfig,
        fingerprint: String,
    ) -> (Self, mpsc::Receiver<Job>) {
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let limits =
            limits::KeyLimits::new(config.rate_limit_per_minute, config.max_in_flight_per_key);
        (
            Self {
                config,
                queue: tx,
                replay: Mutex::new(ReplayGuard::new(100_000)),
                limits,
                permits: Mutex::new(HashMap::new()),
                fingerprint,
                connections: std::sync::atomic::AtomicUsize::new(0),
            },
            rx,
        )
    }

    /// Requests waiting for a miner.
    pub(crate) fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each guarded value is a cache or a counter map without cross-field invariants.
    m.lock().unwrap_or_else(|p| p.into_inner())
}
