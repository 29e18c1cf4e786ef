//! The running validator: its tasks and the state they share.
//!
//! [`Validator::start`] checks the hotkey's registration, syncs the metagraph, opens the HTTP
//! servers and spawns the tasks:
//!
//! * `sync`: follows new blocks (one stream, reconnected when it breaks) and re-reads the
//!   metagraph and hyperparameters every `sync_interval` and at every new epoch;
//! * `requests`: the request pool (§1.4) — benchmark requests to every queryable uid, at most
//!   `concurrency` at once and each uid once per round; each answer is verified off the async
//!   runtime and scored in one store transaction ([`crate::scorer`]);
//! * `weights`: at every block, sets (or commits, then reveals) weights inside the weight
//!   window ([`crate::weight_window`]);
//! * `prover`: proves applied score batches when a [`BatchProver`] is plugged in.
//!
//! The store is synchronous; every access goes through [`Shared::with_store`], which runs it on
//! a blocking thread. A store failure stops the node (reported by [`Validator::failed`]):
//! running on without persistence would lose what a restart must keep.

mod prover;
pub(crate) mod requests;
mod route;
mod sync;
mod weights;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omron_bittensor::dendrite::AnswerBudget;
use omron_chain::Chain;
use omron_circuit::CircuitStore;
use omron_keys::{AccountId, Keypair};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::api::{self, Scoreboard};
use crate::benchmark::BenchmarkCircuits;
use crate::config::ValidatorConfig;
use crate::error::NodeError;
use crate::external::{self, ExternalState};
use crate::metrics::ValidatorMetrics;
use crate::pow::BatchProver;
pub(crate) use crate::shared::Shared;
use crate::store::Store;
use crate::summary;

/// What the node is built from besides its configuration.
pub struct NodeParts {
    /// The chain (embedded, its RPC client, or the real network).
    pub chain: Arc<dyn Chain>,
    /// The validator's hotkey: signs requests and weights.
    pub hotkey: Keypair,
    /// The circuits benchmark requests are drawn from.
    pub circuits: CircuitStore,
    /// The persistent state.
    pub store: Store,
    /// Proves score batches (proof of weights); `None` until the scoring circuit is available.
    pub prover: Option<Arc<dyn BatchProver>>,
}

impl std::fmt::Debug for NodeParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeParts")
            .field("hotkey", &self.hotkey.public().to_ss58())
            .field("circuits", &self.circuits.len())
            .field("prover", &self.prover.as_ref().map(|p| p.circuit_id()))
            .finish_non_exhaustive()
    }
}

/// A running validator. Dropping it without [`Validator::shutdown`] stops its tasks too, but
/// without waiting for them.
pub struct Validator {
    shared: Arc<Shared>,
    api_addr: Option<SocketAddr>,
    external_addr: Option<SocketAddr>,
    metrics_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    fatal: mpsc::UnboundedReceiver<NodeError>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("uid", &self.uid())
            .field("hotkey", &self.shared.hotkey_ss58)
            .field("api", &self.api_addr)
            .field("metrics", &self.metrics_addr)
            .finish_non_exhaustive()
    }
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<tokio::net::TcpListener, NodeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| NodeError::Bind {
            what,
            addr,
            reason: e.to_string(),
        })
}

impl Validator {
    /// Starts the validator: checks that the hotkey is registered on the subnet, reads the
    /// metagraph, binds the API and metrics servers, and spawns the node's tasks.
    ///
    /// # Errors
    /// An unregistered hotkey, no usable benchmark circuit, a zero concurrency, an answer
    /// budget smaller than one answer, an unreachable chain, a store failure, or an address
    /// that cannot be bound.
    pub async fn start(config: ValidatorConfig, parts: NodeParts) -> Result<Self, NodeError> {
        if config.concurrency == 0 {
            return Err(NodeError::InvalidConfig {
                what: "concurrency",
                reason: "at least one request must be allowed in flight".into(),
            });
        }
        if config.answer_budget_bytes < config.max_answer_bytes {
            return Err(NodeError::InvalidConfig {
                what: "answer_budget_bytes",
                reason: format!(
                    "{} bytes cannot hold one answer of max_answer_bytes ({})",
                    config.answer_budget_bytes, config.max_answer_bytes
                ),
            });
        }
        let circuits = BenchmarkCircuits::new(&parts.circuits)?;
        let netuid = config.netuid;
        let hotkey_id = parts.hotkey.public();
        let hotkey_ss58 = hotkey_id.to_ss58();
        let block = parts.chain.current_block().await?;
        let snapshot = sync::read_snapshot(&*parts.chain, &config, &hotkey_id).await?;
        let mut store = parts.store;
        store.sync_hotkeys(&sync::hotkeys(&snapshot))?;
        tracing::info!(
            netuid,
            uid = snapshot.validator_uid,
            hotkey = %hotkey_ss58,
            block,
            neurons = snapshot.n(),
            queryable = snapshot.queryable.len(),
            circuits = circuits.circuits().len(),
            "validator starting"
        );
        match &parts.prover {
            Some(p) => tracing::info!(circuit = %p.circuit_id(), "proof of weights enabled"),
            None => tracing::info!(
                "proof of weights is not enabled: score batches are evaluated exactly but not proven"
            ),
        }

        let metrics = Arc::new(ValidatorMetrics::new());
        let answer_budget = AnswerBudget::new(config.answer_budget_bytes);
        metrics.watch_answer_budget(answer_budget.clone());
        metrics.set_block(block);
        metrics.set_queryable(snapshot.queryable.len());
        for row in store.scores()? {
            metrics.set_score(row.uid, row.score);
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let (fatal_tx, fatal_rx) = mpsc::unbounded_channel();
        let (pow_tx, pow_rx) = match parts.prover {
            Some(_) => {
                let (tx, rx) = mpsc::channel(prover::QUEUE);
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let all_circuits: Vec<Arc<omron_circuit::StoredCircuit>> =
            parts.circuits.iter().cloned().map(Arc::new).collect();
        let (external_state, external_rx, external_tls) = match &config.external {
            Some(ext) => {
                let cert =
                    external::cert::load_or_generate(&ext.certificate_dir, &ext.certificate_names)?;
                let fingerprint = cert.fingerprint.clone();
                let tls = external::cert::server_config(cert)?;
                let (state, rx) = ExternalState::new(ext.clone(), fingerprint);
                (Some(Arc::new(state)), Some(rx), Some(tls))
            }
            None => (None, None, None),
        };
        let (snapshot_tx, _) = watch::channel(Arc::new(snapshot));
        let (block_tx, _) = watch::channel(block);
        let shared = Arc::new(Shared {
            config: config.clone(),
            chain: parts.chain,
            hotkey: parts.hotkey,
            hotkey_ss58,
            circuits,
            store: Mutex::new(store),
            snapshot: snapshot_tx,
            block: block_tx,
            metrics,
            dendrites: Mutex::new(HashMap::new()),
            answer_budget,
            lanes: Mutex::new(BTreeSet::new()),
            pow_jobs: pow_tx,
            fatal: fatal_tx,
            stop: stop_rx,
            all_circuits,
            external: external_state.clone(),
            busy: Mutex::new(BTreeSet::new()),
            circuit_times: Mutex::new(HashMap::new()),
            summary: summary::ResponseSummary::new(summary::SUMMARY_INTERVAL),
        });

        // Bind before spawning anything, so a busy port fails the start cleanly.
        let api_listener = match config.api_addr {
            Some(addr) => Some(bind("API", addr).await?),
            None => None,
        };
        let metrics_listener = match config.metrics_addr {
            Some(addr) => Some(bind("metrics", addr).await?),
            None => None,
        };
        let external_listener = match &config.external {
            Some(ext) => Some(bind("external API", ext.addr).await?),
            None => None,
        };
        let local =
            |l: &Option<tokio::net::TcpListener>| l.as_ref().and_then(|l| l.local_addr().ok());
        let api_addr = local(&api_listener);
        let metrics_addr = local(&metrics_listener);
        let external_addr = local(&external_listener);
        if let Some(ext) = &external_state {
            if !ext.config.verify_signatures {
                tracing::warn!(
                    "!!! --do-not-verify-external-signatures: the external API accepts ANY caller without a signature. For local development only; never on a public network. !!!"
                );
            }
            if ext.config.commit_certificate {
                external::commit_certificate(&shared, &ext.fingerprint).await;
            }
        }

        let mut tasks: Vec<(&'static str, JoinHandle<()>)> = vec![
            ("sync", tokio::spawn(sync::run(shared.clone()))),
            (
                "requests",
                tokio::spawn(requests::run(shared.clone(), external_rx)),
            ),
        ];
        if config.set_weights {
            tasks.push(("weights", tokio::spawn(weights::run(shared.clone()))));
        } else {
            tracing::info!("weight setting disabled by configuration");
        }
        if let (Some(rx), Some(p)) = (pow_rx, parts.prover) {
            tasks.push(("prover", tokio::spawn(prover::run(shared.clone(), p, rx))));
        }
        // One watch of the blocks (ended with the node) for the API's and the exporter's
        // `/health` and the dashboard, started only when one of them serves.
        let chain_watch = (api_listener.is_some() || metrics_listener.is_some())
            .then(|| api::ChainWatch::start(&shared));
        if let (Some(listener), Some(watch)) = (api_listener, chain_watch.clone()) {
            tasks.push((
                "api",
                tokio::spawn(api::serve(
                    listener,
                    api::api_router(shared.clone(), watch),
                    shared.stop.clone(),
                )),
            ));
            tracing::info!(addr = ?api_addr, "API listening");
        }
        if let (Some(listener), Some(tls), Some(ext)) =
            (external_listener, external_tls, external_state)
        {
            let tls_listener =
                external::listener::TlsListener::new(listener, tls, ext.config.max_connections)
                    .map_err(|e| NodeError::Task(format!("external API listener: {e}")))?;
            let router = external::ws::router(external::ws::ApiState {
                shared: shared.clone(),
                external: ext.clone(),
            });
            tasks.push((
                "external-api",
                tokio::spawn(api::serve_on(tls_listener, router, shared.stop.clone())),
            ));
            tracing::info!(
                addr = ?external_addr,
                certificate_sha256 = %ext.fingerprint,
                "external API listening (wss, JSON-RPC at /rpc)"
            );
        }
        if let (Some(listener), Some(watch)) = (metrics_listener, chain_watch) {
            tasks.push((
                "metrics",
                tokio::spawn(api::serve(
                    listener,
                    api::metrics_router(shared.clone(), watch),
                    shared.stop.clone(),
                )),
            ));
            tracing::info!(addr = ?metrics_addr, "Prometheus exporter listening");
        }
        Ok(Self {
            shared,
            api_addr,
            external_addr,
            metrics_addr,
            stop: stop_tx,
            tasks,
            fatal: fatal_rx,
        })
    }

    /// The validator's uid.
    pub fn uid(&self) -> u16 {
        self.shared.snapshot().validator_uid
    }

    /// The validator's hotkey.
    pub fn hotkey(&self) -> AccountId {
        self.shared.hotkey.public()
    }

    /// Where the API listens (with the port the OS picked for port 0).
    pub fn api_addr(&self) -> Option<SocketAddr> {
        self.api_addr
    }

    /// Where the external API listens.
    pub fn external_addr(&self) -> Option<SocketAddr> {
        self.external_addr
    }

    /// The SHA-256 of the external API's certificate (what clients pin).
    pub fn certificate_fingerprint(&self) -> Option<String> {
        self.shared.external.as_ref().map(|e| e.fingerprint.clone())
    }

    /// Where the Prometheus exporter listens.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The node's metrics.
    pub fn metrics(&self) -> Arc<ValidatorMetrics> {
        self.shared.metrics.clone()
    }

    /// The latest block the node saw.
    pub fn block(&self) -> u64 {
        self.shared.block()
    }

    /// The scoreboard, as `GET /scoreboard` serves it.
    pub async fn scoreboard(&self) -> Result<Scoreboard, NodeError> {
        api::scoreboard(&self.shared).await
    }

    /// Waits until an error stops the node (deregistration, a store failure, a task that
    /// died); never returns while the node runs well.
    pub async fn failed(&mut self) -> NodeError {
        match self.fatal.recv().await {
            Some(e) => e,
            // Every sender lives in `Shared`, which `self` keeps alive.
            None => NodeError::Task("the node's error channel closed".into()),
        }
    }

    /// Stops the node: no new requests; requests in flight get `shutdown_grace` to finish
    /// (then they are abandoned, leaving no partial state); the store is closed once every
    /// task has ended.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        let _ = self.stop.send(true);
        let grace = self.shared.config.shutdown_grace + Duration::from_secs(5);
        let mut first_error = None;
        for (name, mut task) in self.tasks {
            match tokio::time::timeout(grace, &mut task).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(task = name, error = %e, "task ended abnormally");
                    first_error.get_or_insert(NodeError::Task(format!("{name}: {e}")));
                }
                Err(_) => {
                    tracing::warn!(task = name, "task did not stop in time; aborted");
                    task.abort();
                }
            }
        }
        // The last reference closes the SQLite connection (checkpointing the WAL).
        match Arc::try_unwrap(self.shared) {
            Ok(shared) => drop(shared),
            Err(_) => tracing::debug!("store still referenced by a finishing blocking task"),
        }
        tracing::info!("validator stopped");
        first_error.map_or(Ok(()), Err)
    }
}
