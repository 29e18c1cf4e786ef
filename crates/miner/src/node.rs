//! [`Miner::start`]: registration check, axon, on-chain announcement, metagraph sync, the status
//! line and the monitoring endpoint; [`MinerHandle::shutdown`] stops them in order.
//!
//! The metagraph is read every `sync_interval` (60 s by default); each read refreshes the
//! blacklist's view and the `omron_miner_chain_*` gauges. Independently, the miner follows the
//! chain's new blocks and every [`StatusOptions::every_blocks`] (2 by default: the original
//! miner's status table every 24 s) logs one `miner status` line: the current block, and from
//! the latest metagraph read uid, stake, rank, trust, consensus, incentive and emission, with
//! the proof requests served and failed per circuit since start and since the previous line
//! ([`RequestTally`], counted around the handlers here). While the hotkey holds no uid the line
//! is a warning that says what to do.

use std::net::SocketAddr;
use std::sync::Arc;

use omron_bittensor::axon::{Axon, AxonConfig, AxonHandle, HandlerError, Request};
use omron_chain::{Chain, Metagraph, NetUid, ServeAxon, Uid};
use omron_circuit::CircuitStore;
use omron_keys::{AccountId, Keypair};
use omron_protocol::{Competition, ProofOfWeightsSynapse, QueryForCapacities, QueryZkProof};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use crate::MinerError;
use crate::blacklist::Gatekeeper;
use crate::capacities::Capacities;
use crate::config::MinerConfig;
use crate::handlers::MinerService;
use crate::handlers::{BUSY, EMPTY_INPUT, ERROR};
use crate::http::{HealthInfo, MetricsServer};
use crate::metrics::MinerMetrics;
use crate::prover::ProofService;
use crate::status::{self, NeuronStatus, RequestTally, StatusOptions};

/// The protocol number published with the axon (the Python SDK sends 4).
const AXON_PROTOCOL: u8 = 4;

/// The version published with the axon: `major * 1_000_000 + minor * 1_000 + patch` of this
/// crate, as the SDK encodes its own version.
fn axon_version() -> u32 {
    let mut parts = env!("CARGO_PKG_VERSION")
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor, patch) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    major * 1_000_000 + minor * 1_000 + patch
}

/// Entry point: [`Miner::start`].
#[derive(Debug)]
pub struct Miner;

/// A running miner.
pub struct MinerHandle {
    axon: AxonHandle,
    monitor: Option<MetricsServer>,
    sync: JoinHandle<()>,
    stop: watch::Sender<bool>,
    uid: Uid,
    announced: SocketAddr,
    metrics: Arc<MinerMetrics>,
}

/// Whether the metagraph already shows `addr` for this neuron.
fn already_announced(metagraph: &Metagraph, hotkey: &AccountId, addr: SocketAddr) -> bool {
    metagraph
        .by_hotkey(hotkey)
        .and_then(|n| n.axon.socket_addr())
        .is_some_and(|a| a == addr)
}

async fn announce(
    chain: &dyn Chain,
    hotkey: &Keypair,
    netuid: NetUid,
    addr: SocketAddr,
) -> Result<(), omron_chain::ChainError> {
    let axon = ServeAxon {
        version: axon_version(),
        ip: addr.ip(),
        port: addr.port(),
        protocol: AXON_PROTOCOL,
    };
    chain.serve_axon(hotkey, netuid, &axon).await
}

impl Miner {
    /// Starts a miner for `hotkey` on `chain`, proving with `store`, with the default status
    /// line. Fails when the hotkey is not registered, the store is empty, the axon cannot bind,
    /// the chain refuses the axon address, or the monitoring port cannot bind.
    pub async fn start(
        config: MinerConfig,
        chain: Arc<dyn Chain>,
        hotkey: Keypair,
        store: CircuitStore,
    ) -> Result<MinerHandle, MinerError> {
        Self::start_with_status(config, StatusOptions::default(), chain, hotkey, store).await
    }

    /// [`Miner::start`] with the status line's cadence.
    pub async fn start_with_status(
        config: MinerConfig,
        status_options: StatusOptions,
        chain: Arc<dyn Chain>,
        hotkey: Keypair,
        store: CircuitStore,
    ) -> Result<MinerHandle, MinerError> {
        if store.is_empty() {
            return Err(MinerError::NoCircuits);
        }
        let me = hotkey.public();
        let netuid = config.netuid;
        let metrics = Arc::new(MinerMetrics::new());
        let metagraph = chain.metagraph(netuid).await?;
        let Some(uid) = metagraph.by_hotkey(&me).map(|n| n.uid) else {
            return Err(MinerError::NotRegistered {
                hotkey: me.to_ss58(),
                netuid,
            });
        };
        metrics.set_registration(Some(uid), metagraph.block);
        let status = NeuronStatus::of(&metagraph, uid);
        metrics.set_status(status.as_ref());
        if config.dev.any() {
            warn!(
                delay_ms = config.dev.delay.as_millis() as u64,
                faulty = config.dev.faulty,
                "DEV-ONLY miner behaviour is on (slow answers and/or corrupted proofs): for local test networks only"
            );
        }
        if config.disable_blacklist {
            warn!("blacklist disabled: any caller may request proofs");
        }
        let capacities = if config.capacities.is_empty() {
            Capacities::for_store(&store)
        } else {
            let unknown = config.capacities.unknown_to(&store);
            if !unknown.is_empty() {
                warn!(
                    ?unknown,
                    "capacities list circuits this miner does not hold"
                );
            }
            config.capacities.clone()
        };
        let circuits = store.len();
        for c in store.iter() {
            info!(circuit = %c.id(), name = %c.metadata.name, kind = ?c.metadata.circuit_type, "serving circuit");
        }
        let tally = Arc::new(RequestTally::new(
            store.iter().map(|c| (c.id(), c.metadata.name.clone())),
        ));
        let store = Arc::new(store);
        let gate = Arc::new(Gatekeeper::new(
            metagraph.clone(),
            config.stake_threshold,
            config.disable_blacklist,
        ));
        let prover = ProofService::new(
            store,
            *me.as_bytes(),
            config.max_concurrent_proofs,
            config.max_waiting_proofs,
            metrics.clone(),
            config.dev,
        );
        let service = Arc::new(MinerService::new(
            prover,
            capacities,
            metrics.clone(),
            config.dev,
        ));

        // The announced IP goes in every answer's headers, so it is settled before binding;
        // the port may be learnt from the bind (port 0).
        let bind = config.axon_bind;
        let announced_ip = config
            .announced_addr(0)
            .ok_or(MinerError::NoExternalIp { bind })?
            .ip();
        let axon_config = AxonConfig {
            external_ip: Some(announced_ip.to_string()),
            external_port: config.external_port,
            ..AxonConfig::default()
        };
        let (s1, s2, s3, s4) = (
            service.clone(),
            service.clone(),
            service.clone(),
            service.clone(),
        );
        let (t1, t2) = (tally.clone(), tally.clone());
        let refused = metrics.clone();
        let blacklist_gate = gate.clone();
        let axon = Axon::builder(me)
            .handler(move |req: Request<QueryZkProof>| {
                let s = s1.clone();
                let tally = t1.clone();
                async move {
                    let circuit = requested_circuit(&req.synapse);
                    let answer = s.query_zk_proof(req).await;
                    tally.record(Some(&circuit), is_proof_answer(&answer));
                    Ok::<_, HandlerError>(answer)
                }
            })
            .handler(move |req: Request<ProofOfWeightsSynapse>| {
                let s = s2.clone();
                let tally = t2.clone();
                async move {
                    let circuit = req.synapse.verification_key_hash.to_string();
                    let empty = req.synapse.inputs.is_empty();
                    let answer = s.proof_of_weights(req).await;
                    // Empty inputs come back unchanged, without a proof.
                    tally.record(Some(&circuit), answer.is_ok() && !empty);
                    answer
                }
            })
            .handler(move |req: Request<Competition>| {
                let s = s3.clone();
                async move { Ok::<_, HandlerError>(s.competition(req)) }
            })
            .handler(move |req: Request<QueryForCapacities>| {
                let s = s4.clone();
                async move { Ok::<_, HandlerError>(s.capacities(req)) }
            })
            .blacklist(move |caller| match blacklist_gate.check(caller.hotkey) {
                Ok(()) => None,
                Err(refusal) => {
                    refused.inc_refused(refusal.label());
                    debug!(caller = %caller.hotkey, synapse = caller.synapse, reason = %refusal, "caller refused");
                    Some(refusal.to_string())
                }
            })
            .config(axon_config)
            .serve(bind)
            .await?;
        let announced = SocketAddr::new(
            announced_ip,
            config.external_port.unwrap_or(axon.local_addr().port()),
        );
        info!(uid, netuid, hotkey = %me, bound = %axon.local_addr(), %announced, "miner axon serving");
        if let Some(s) = &status {
            s.log(netuid);
        }

        if already_announced(&metagraph, &me, announced) {
            info!(%announced, "axon already announced on chain");
        } else if let Err(source) = announce(chain.as_ref(), &hotkey, netuid, announced).await {
            axon.shutdown().await;
            return Err(MinerError::Announce {
                addr: announced,
                source,
            });
        } else {
            info!(%announced, "axon announced on chain (serve_axon)");
        }

        let monitor = match config.prometheus {
            Some(addr) => {
                let info = HealthInfo {
                    hotkey: me.to_ss58(),
                    netuid,
                    axon: axon.local_addr(),
                    circuits,
                    stale_after: config.sync_interval * 3,
                };
                match MetricsServer::start(addr, metrics.clone(), info).await {
                    Ok(m) => Some(m),
                    Err(e) => {
                        axon.shutdown().await;
                        return Err(e);
                    }
                }
            }
            None => None,
        };

        let (stop, stopped) = watch::channel(false);
        let sync = tokio::spawn(sync_loop(SyncTask {
            chain,
            hotkey,
            netuid,
            uid: Some(uid),
            status,
            announced,
            gate,
            metrics: metrics.clone(),
            interval: config.sync_interval,
            status_every: status_options.every_blocks.max(1),
            tally,
            stopped,
        }));
        Ok(MinerHandle {
            axon,
            monitor,
            sync,
            stop,
            uid,
            announced,
            metrics,
        })
    }
}

struct SyncTask {
    chain: Arc<dyn Chain>,
    hotkey: Keypair,
    netuid: NetUid,
    uid: Option<Uid>,
    /// The own neuron at the last metagraph read (`None` while unregistered).
    status: Option<NeuronStatus>,
    announced: SocketAddr,
    gate: Arc<Gatekeeper>,
    metrics: Arc<MinerMetrics>,
    interval: std::time::Duration,
    /// A status line every this many blocks.
    status_every: u64,
    tally: Arc<RequestTally>,
    stopped: watch::Receiver<bool>,
}

/// The circuit a `QueryZkProof` names (upstream's default when it names none).
fn requested_circuit(synapse: &QueryZkProof) -> String {
    synapse
        .query_input
        .as_ref()
        .and_then(|i| i.model_id())
        .unwrap_or(omron_scoring::constants::SINGLE_PROOF_OF_WEIGHTS_MODEL_ID)
        .to_owned()
}

/// Whether a `QueryZkProof` answer carries a proof: every other answer is one of the
/// handlers' fixed texts.
fn is_proof_answer(answer: &QueryZkProof) -> bool {
    answer
        .query_output
        .as_deref()
        .is_some_and(|o| ![EMPTY_INPUT, ERROR, BUSY].contains(&o))
}

/// How long to wait before subscribing to blocks again after the stream broke.
const RESUBSCRIBE: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads the metagraph every `interval`: refreshes the blacklist's view and the chain gauges,
/// notices a lost or changed registration, and announces the axon again when the chain shows
/// another address (e.g. after a re-registration). Follows new blocks and logs the status line
/// every `status_every` of them.
async fn sync_loop(mut t: SyncTask) {
    let start = tokio::time::Instant::now();
    let mut sync = tokio::time::interval_at(start + t.interval, t.interval);
    sync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut blocks = subscribe(t.chain.as_ref()).await;
    let mut resubscribe = tokio::time::interval_at(start + RESUBSCRIBE, RESUBSCRIBE);
    let mut last_line: Option<u64> = None;
    let mut last_counts = t.tally.snapshot();
    loop {
        tokio::select! {
            _ = sync.tick() => sync_once(&mut t).await,
            next = next_block(&mut blocks) => match next {
                Some(Ok(block)) => {
                    if last_line.is_none_or(|l| block >= l.saturating_add(t.status_every)) {
                        let now = t.tally.snapshot();
                        status::log_line(t.netuid, &t.hotkey.public(), block, t.status.as_ref(), &now, &last_counts);
                        last_counts = now;
                        last_line = Some(block);
                    }
                }
                Some(Err(err)) => {
                    debug!(%err, "block stream broke; subscribing again");
                    blocks = None;
                }
                None => blocks = None,
            },
            _ = resubscribe.tick(), if blocks.is_none() => blocks = subscribe(t.chain.as_ref()).await,
            _ = t.stopped.changed() => return,
        }
    }
}

async fn subscribe(chain: &dyn Chain) -> Option<omron_chain::BlockStream> {
    match chain.subscribe_blocks().await {
        Ok(s) => Some(s),
        Err(err) => {
            warn!(%err, "cannot follow new blocks; the status line waits until it can");
            None
        }
    }
}

/// The next block of the stream; never resolves without one.
async fn next_block(
    blocks: &mut Option<omron_chain::BlockStream>,
) -> Option<omron_chain::ChainResult<u64>> {
    use futures::StreamExt;
    match blocks {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

/// One metagraph read and what follows from it.
async fn sync_once(t: &mut SyncTask) {
    let me = t.hotkey.public();
    let metagraph = match t.chain.metagraph(t.netuid).await {
        Ok(m) => m,
        Err(err) => {
            warn!(%err, "metagraph sync failed; keeping the previous view");
            return;
        }
    };
    let now = metagraph.by_hotkey(&me).map(|n| n.uid);
    match (t.uid, now) {
        (Some(old), None) => {
            error!(uid = old, netuid = t.netuid, hotkey = %me, "this hotkey is no longer registered: validators will stop querying it; register again")
        }
        (None, Some(new)) => info!(uid = new, "registered again"),
        (Some(old), Some(new)) if old != new => warn!(old, new, "uid changed"),
        _ => {}
    }
    t.uid = now;
    t.metrics.set_registration(now, metagraph.block);
    t.status = now.and_then(|uid| NeuronStatus::of(&metagraph, uid));
    t.metrics.set_status(t.status.as_ref());
    if now.is_some() && !already_announced(&metagraph, &me, t.announced) {
        match announce(t.chain.as_ref(), &t.hotkey, t.netuid, t.announced).await {
            Ok(()) => info!(announced = %t.announced, "axon announced again"),
            Err(err) => warn!(%err, "cannot announce the axon; retrying at the next sync"),
        }
    }
    t.gate.update(metagraph);
}

impl std::fmt::Debug for MinerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MinerHandle")
            .field("uid", &self.uid)
            .field("axon", &self.axon.local_addr())
            .field("announced", &self.announced)
            .finish_non_exhaustive()
    }
}

impl MinerHandle {
    /// The axon's bound address.
    pub fn axon_addr(&self) -> SocketAddr {
        self.axon.local_addr()
    }

    /// The address announced on chain.
    pub fn announced_addr(&self) -> SocketAddr {
        self.announced
    }

    /// The monitoring server's address, when on.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.monitor.as_ref().map(MetricsServer::local_addr)
    }

    /// The uid the miner held at start.
    pub fn uid(&self) -> Uid {
        self.uid
    }

    /// The live metrics.
    pub fn metrics(&self) -> &Arc<MinerMetrics> {
        &self.metrics
    }

    /// Stops the metagraph sync, lets in-flight requests finish (the axon's grace period),
    /// then stops the monitoring server.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.sync.await;
        self.axon.shutdown().await;
        if let Some(m) = self.monitor {
            m.shutdown().await;
        }
        info!("miner stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_encodes_the_crate_version() {
        let v = axon_version();
        let expected: Vec<u32> = env!("CARGO_PKG_VERSION")
            .split('.')
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(
            v,
            expected[0] * 1_000_000 + expected[1] * 1_000 + expected[2]
        );
    }
}
