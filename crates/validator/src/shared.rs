//! [`Shared`]: the state the validator's tasks (`crate::node`) and its HTTP servers
//! ([`crate::api`], [`crate::external`]) share. It sits below all of them: the node builds it
//! and starts the servers, the servers only read and update it, so none of them imports
//! another to reach it.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use omron_bittensor::dendrite::{AnswerBudget, Dendrite, DendriteConfig};
use omron_chain::Chain;
use omron_keys::Keypair;
use tokio::sync::{mpsc, watch};

use crate::benchmark::BenchmarkCircuits;
use crate::config::ValidatorConfig;
use crate::error::NodeError;
use crate::external_state::ExternalState;
use crate::metrics::ValidatorMetrics;
use crate::pow::PowJob;
use crate::snapshot::Snapshot;
use crate::store::{Store, StoreError};
use crate::summary::ResponseSummary;

/// State shared by the node's tasks and HTTP handlers.
///
/// Every field is `pub(crate)` so that the node can build it; the store, the dendrites, the
/// lanes, the busy uids, the circuit times and the fatal channel are meant to be reached
/// through the methods below, which hold their locks correctly.
pub(crate) struct Shared {
    pub(crate) config: ValidatorConfig,
    pub(crate) chain: Arc<dyn Chain>,
    pub(crate) hotkey: Keypair,
    pub(crate) hotkey_ss58: String,
    pub(crate) circuits: BenchmarkCircuits,
    pub(crate) store: Mutex<Store>,
    pub(crate) snapshot: watch::Sender<Arc<Snapshot>>,
    pub(crate) block: watch::Sender<u64>,
    pub(crate) metrics: Arc<ValidatorMetrics>,
    pub(crate) dendrites: Mutex<HashMap<(u16, u16), Arc<Dendrite>>>,
    /// Answer bytes in flight, shared by every dendrite (`config.answer_budget_bytes`).
    pub(crate) answer_budget: Arc<AnswerBudget>,
    /// Dendrite lanes in use by external requests: (uid, lane), lane >= 1.
    pub(crate) lanes: Mutex<BTreeSet<(u16, u16)>>,
    pub(crate) pow_jobs: Option<mpsc::Sender<PowJob>>,
    pub(crate) fatal: mpsc::UnboundedSender<NodeError>,
    pub(crate) stop: watch::Receiver<bool>,
    /// Every circuit of the store (the external API serves them all).
    pub(crate) all_circuits: Vec<Arc<omron_circuit::StoredCircuit>>,
    /// The external API's state, when it is on.
    pub(crate) external: Option<Arc<ExternalState>>,
    /// Uids with a request in flight (benchmark or external).
    pub(crate) busy: Mutex<BTreeSet<u16>>,
    /// Verified responses per circuit: (count, sum of response times in seconds).
    pub(crate) circuit_times: Mutex<HashMap<String, (u64, f64)>>,
    /// Responses scored since the last once-a-minute summary line.
    pub(crate) summary: ResponseSummary,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Store writes are transactions (rolled back if a panic unwinds through them), and the
    // dendrite map holds no invariant, so a poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Runs `f` on the store from a blocking thread.
    pub(crate) async fn with_store<T, F>(self: &Arc<Self>, f: F) -> Result<T, NodeError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&mut lock(&me.store)))
            .await
            .map_err(|e| NodeError::Task(format!("store access: {e}")))?
            .map_err(NodeError::from)
    }

    /// Reports an error that stops the node.
    pub(crate) fn fail(&self, error: NodeError) {
        tracing::error!(%error, "validator stopping");
        let _ = self.fatal.send(error);
    }

    /// The current snapshot.
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.borrow().clone()
    }

    /// The latest block seen.
    pub(crate) fn block(&self) -> u64 {
        *self.block.borrow()
    }

    /// The dendrite for a uid on a lane: benchmark requests use lane 0 (one request per uid
    /// at a time); external requests claim lanes from 1 ([`Shared::claim_lane`]). Each
    /// dendrite has its own uuid and the axon wants increasing nonces per (hotkey, uuid), so
    /// requests in flight together to one axon never share a dendrite and never race their
    /// nonces.
    pub(crate) fn dendrite(&self, uid: u16, lane: u16) -> Result<Arc<Dendrite>, NodeError> {
        let mut map = lock(&self.dendrites);
        if let Some(d) = map.get(&(uid, lane)) {
            return Ok(d.clone());
        }
        let config = DendriteConfig {
            max_response_bytes: self.config.max_answer_bytes,
            answer_budget: Some(self.answer_budget.clone()),
            ..DendriteConfig::default()
        };
        let d = Arc::new(Dendrite::with_config(self.hotkey.clone(), config)?);
        map.insert((uid, lane), d.clone());
        Ok(d)
    }

    /// The lowest free external lane (>= 1) of `uid`, held until [`Shared::release_lane`].
    pub(crate) fn claim_lane(&self, uid: u16) -> u16 {
        let mut lanes = lock(&self.lanes);
        let lane = (1..).find(|l| !lanes.contains(&(uid, *l))).unwrap_or(1);
        lanes.insert((uid, lane));
        lane
    }

    /// Frees a lane taken by [`Shared::claim_lane`].
    pub(crate) fn release_lane(&self, uid: u16, lane: u16) {
        lock(&self.lanes).remove(&(uid, lane));
    }

    /// The uids with a request in flight (held while the guard lives).
    pub(crate) fn busy_uids(&self) -> MutexGuard<'_, BTreeSet<u16>> {
        lock(&self.busy)
    }

    /// Records a verified response's time for its circuit (`GET /circuits`).
    pub(crate) fn record_circuit_time(&self, circuit: &str, seconds: f64) {
        let mut t = lock(&self.circuit_times);
        let e = t.entry(circuit.to_owned()).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += seconds;
    }

    /// Verified responses per circuit: (count, sum of seconds).
    pub(crate) fn circuit_times(&self) -> HashMap<String, (u64, f64)> {
        lock(&self.circuit_times).clone()
    }

    /// Whether shutdown was asked for.
    pub(crate) fn stopping(&self) -> bool {
        *self.stop.borrow()
    }
}
