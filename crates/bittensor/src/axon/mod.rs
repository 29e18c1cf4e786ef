//! The axon: an HTTP server that Python dendrites (SDK <= 10.x) and btauth/1 clients accept.
//!
//! ```no_run
//! # async fn demo(hotkey: omron_keys::AccountId) -> Result<(), omron_bittensor::axon::AxonError> {
//! use omron_bittensor::axon::{Axon, HandlerError, Request};
//! use omron_bittensor::synapse::Ping;
//!
//! let axon = Axon::builder(hotkey)
//!     .handler(|req: Request<Ping>| async move { Ok::<_, HandlerError>(req.synapse) })
//!     .blacklist(|caller| (caller.synapse != "Synapse").then(|| "only pings".to_owned()))
//!     .serve("127.0.0.1:0".parse().expect("address"))
//!     .await?;
//! println!("serving on {}", axon.local_addr());
//! axon.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Stricter than the Python axon, by design: a valid signature is always required; handlers get
//! the hotkey from the verified headers, never from the body; bodies, headers, connections, the
//! nonce store and the handler queue are bounded; handlers run under the request's timeout
//! (capped); no counter-signature is sent (the Python dendrite never checks it, and it would
//! make the axon sign strings chosen by strangers).

mod dispatch;
mod priority;
mod rejection;
mod route;

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use omron_keys::AccountId;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

pub use rejection::{
    AxonRejection, Blacklisted, BodiesInFlight, BodyHashMismatch, HandlerBusy, HeadersTooLarge,
    InternalCause, InternalError, InvalidJson, InvalidSynapse, MalformedHeader, MethodNotAllowed,
    NotVerified, Overloaded, PayloadTooLarge, Rejection, ResponseTimeout, UnknownSynapse,
    VerifyFailure,
};
pub use route::{AuthScheme, CallerInfo, HandlerError, Request};

use crate::btauth::ReplayStore;
use crate::ids::{Clock, system_clock};
use crate::legacy::{NonceRules, NonceStore};
use crate::synapse::{DEFAULT_TIMEOUT_SECS, Ping, Synapse};
use dispatch::AxonState;
use priority::PriorityGate;
use route::{Route, TypedRoute};

/// Blacklist hook: `Some(reason)` refuses the caller with 403.
pub type BlacklistFn = Arc<dyn Fn(&CallerInfo<'_>) -> Option<String> + Send + Sync>;
/// Priority hook: higher values are served first when handlers are busy.
pub type PriorityFn = Arc<dyn Fn(&CallerInfo<'_>) -> f64 + Send + Sync>;

/// Limits and identity of an axon. Built once, read-only while serving.
#[derive(Debug, Clone)]
pub struct AxonConfig {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Request bytes held at once over all requests being read or served (at least
    /// `max_body_bytes`). Beyond it new requests get 503: a permitted caller sending many
    /// large requests at once cannot make the process hold more than this in bodies (plus
    /// their parsed form) however many connections it opens.
    pub max_body_bytes_in_flight: usize,
    /// Largest total of request header names and values, in bytes.
    pub max_header_bytes: usize,
    /// Timeout when the client sends none, in seconds (the SDK's default, 12).
    pub default_timeout_secs: f64,
    /// Freshness rules; `max_timeout_secs` also caps how long a handler may run.
    pub nonce_rules: NonceRules,
    /// Most `(hotkey, uuid)` pairs remembered at once.
    pub nonce_store_capacity: usize,
    /// Handlers running at once.
    pub max_running_handlers: usize,
    /// Requests waiting for a handler slot before new ones get 503.
    pub max_queued_requests: usize,
    /// Open connections at once (further ones wait in the OS backlog).
    pub max_connections: usize,
    /// Time a client has to send its request headers.
    pub header_read_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
    /// The IP the axon announces in `bt_header_axon_ip` (default: the bound address).
    pub external_ip: Option<String>,
    /// The port the axon announces (default: the bound port).
    pub external_port: Option<u16>,
}

impl Default for AxonConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024 * 1024,
            max_body_bytes_in_flight: 64 * 1024 * 1024,
            max_header_bytes: 32 * 1024,
            default_timeout_secs: DEFAULT_TIMEOUT_SECS,
            nonce_rules: NonceRules::default(),
            nonce_store_capacity: 100_000,
            max_running_handlers: 32,
            max_queued_requests: 1024,
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            external_ip: None,
            external_port: None,
        }
    }
}

/// Why an axon could not start.
#[derive(Debug, thiserror::Error)]
pub enum AxonError {
    /// The address could not be bound.
    #[error("cannot bind {addr}: {reason}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        reason: String,
    },
    /// Two handlers for one synapse name.
    #[error("synapse {name:?} has two handlers")]
    DuplicateSynapse {
        /// The name.
        name: String,
    },
}

/// Entry point: `Axon::builder(hotkey)`.
pub struct Axon;

impl Axon {
    /// An axon answering for `hotkey` (the address requests must be signed for).
    pub fn builder(hotkey: AccountId) -> AxonBuilder {
        AxonBuilder {
            hotkey,
            routes: Vec::new(),
            duplicate: None,
            blacklist: None,
            priority: None,
            config: AxonConfig::default(),
            clock: system_clock(),
        }
    }
}

/// Configures an axon; see [`Axon::builder`].
pub struct AxonBuilder {
    hotkey: AccountId,
    routes: Vec<(String, Arc<dyn Route>)>,
    duplicate: Option<String>,
    blacklist: Option<BlacklistFn>,
    priority: Option<PriorityFn>,
    config: AxonConfig,
    clock: Clock,
}

impl AxonBuilder {
    /// Serves synapse `S` at `/<S::NAME>` with `handler`, which gets the verified call and
    /// returns the synapse to send back (usually the request with outputs filled in).
    pub fn handler<S, F, Fut>(mut self, handler: F) -> Self
    where
        S: Synapse,
        F: Fn(Request<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<S, HandlerError>> + Send + 'static,
    {
        if S::NAME == Ping::NAME || self.routes.iter().any(|(n, _)| n == S::NAME) {
            self.duplicate = Some(S::NAME.to_owned());
        }
        self.routes.push((
            S::NAME.to_owned(),
            Arc::new(TypedRoute::<S, F> {
                handler: Arc::new(handler),
                _synapse: PhantomData,
            }),
        ));
        self
    }

    /// The blacklist hook (all synapses, the ping included).
    pub fn blacklist<F>(mut self, hook: F) -> Self
    where
        F: Fn(&CallerInfo<'_>) -> Option<String> + Send + Sync + 'static,
    {
        self.blacklist = Some(Arc::new(hook));
        self
    }

    /// The priority hook.
    pub fn priority<F>(mut self, hook: F) -> Self
    where
        F: Fn(&CallerInfo<'_>) -> f64 + Send + Sync + 'static,
    {
        self.priority = Some(Arc::new(hook));
        self
    }

    /// Limits and announced address.
    pub fn config(mut self, config: AxonConfig) -> Self {
        self.config = config;
        self
    }

    /// Replaces the wall clock used for nonce freshness (to replay captured traffic in tests).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Binds `addr` and starts serving in the background.
    pub async fn serve(self, addr: SocketAddr) -> Result<AxonHandle, AxonError> {
        if let Some(name) = self.duplicate {
            return Err(AxonError::DuplicateSynapse { name });
        }
        let listener = TcpListener::bind(addr).await.map_err(|e| AxonError::Bind {
            addr,
            reason: e.to_string(),
        })?;
        let local_addr = listener.local_addr().map_err(|e| AxonError::Bind {
            addr,
            reason: e.to_string(),
        })?;
        let mut routes: Vec<(String, Arc<dyn Route>)> = vec![(
            Ping::NAME.to_owned(),
            Arc::new(TypedRoute::<Ping, _> {
                handler: Arc::new(|req: Request<Ping>| async move {
                    Ok::<_, HandlerError>(req.synapse)
                }),
                _synapse: PhantomData,
            }),
        )];
        routes.extend(self.routes);
        let config = self.config;
        let state = Arc::new(AxonState {
            hotkey_ss58: self.hotkey.to_ss58(),
            hotkey: self.hotkey,
            routes,
            blacklist: self.blacklist,
            priority: self.priority,
            nonces: NonceStore::new(config.nonce_store_capacity),
            replays: ReplayStore::new(config.nonce_store_capacity),
            gate: PriorityGate::new(config.max_running_handlers, config.max_queued_requests),
            body_budget: Arc::new(Semaphore::new(dispatch::budget_units(
                config.max_body_bytes_in_flight.max(config.max_body_bytes),
            ))),
            clock: self.clock,
            local_addr,
            config,
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        info!(addr = %local_addr, hotkey = %state.hotkey_ss58, "axon serving");
        let task = tokio::spawn(accept_loop(listener, state, stop_rx));
        Ok(AxonHandle {
            local_addr,
            stop: stop_tx,
            task,
        })
    }
}

/// A running axon. Dropping it does not stop it; call [`AxonHandle::shutdown`].
pub struct AxonHandle {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl AxonHandle {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets in-flight requests finish (up to the grace period), and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            warn!(error = %e, "axon task ended abnormally");
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<AxonState>,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(state.config.max_connections.max(1)));
    // hyper needs at least 8 KiB of read buffer.
    let buf = (state.config.max_header_bytes + 1024).max(8192);
    let header_timeout = state.config.header_read_timeout;
    let grace = state.config.shutdown_grace;
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    warn!(error = %e, "axon accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let state = state.clone();
        let service = service_fn(move |req| {
            let state = state.clone();
            async move { Ok::<_, Infallible>(dispatch::dispatch(state, peer, req).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(buf)
            .serve_connection(TokioIo::new(stream), service);
        let watched = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = watched.await {
                debug!(%peer, error = %e, "axon connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        warn!("axon shutdown: in-flight requests did not finish in time");
    }
    info!("axon stopped");
}
