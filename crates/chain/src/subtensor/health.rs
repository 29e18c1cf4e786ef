//! Keeping the [`SubtensorClient`](super::SubtensorClient)'s connection alive, and replacing it
//! when it is not.
//!
//! subxt's reconnecting client already reconnects when the socket *closes*. What it cannot see
//! is a connection that stays open and says nothing: a half-open TCP socket, a node stopped or
//! stuck, a subscription the node silently dropped. (A validator of the original subnet once sat
//! about 17 minutes on such a socket.) Three layers cover it:
//!
//! * **Keepalive.** The socket sends WebSocket pings every [`HealthConfig::keepalive`]; no
//!   answer within twice that closes it, and the reconnecting client opens a new one (with a
//!   short, capped backoff, so a node back after a restart is found within seconds).
//! * **Block watchdog.** While a block stream the client handed out is open
//!   ([`Health::watch_blocks`]), a task checks every half second that a new height arrived within
//!   the *stall timeout*: `stall_blocks` blocks at the block time (the shorter of
//!   [`HealthConfig::block_time`] and the median interval the streams have shown), never below
//!   [`HealthConfig::min_stall`]; 60 s on finney. It does not depend on anyone polling the
//!   stream: a node blocked in a call on the dead socket is freed too. A stall ends the block
//!   streams (the nodes subscribe again) and forces a reconnect.
//! * **Failure count.** [`HealthConfig::max_failures`] RPC calls in a row that fail in transport
//!   or time out ([`HealthConfig::request_timeout`], the wait for a reconnect included) force a
//!   reconnect. A call the node *answered*, even with an error, resets the count.
//!
//! A forced reconnect builds a new RPC connection in the background, retrying until one opens,
//! and swaps it in under the same `OnlineClient`. Calls keep using the old connection until the
//! new one is up; then every call still waiting on the old one is handed back as "connection
//! lost", which subxt retries on the new one, and every subscription of the old one ends (the
//! nodes subscribe again). Stalls and forced reconnects are logged at warn and counted
//! ([`Health::stalls`], [`Health::reconnects`]).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use subxt::rpcs::client::ReconnectingRpcClient;
use subxt::rpcs::client::reconnecting_rpc_client::{ExponentialBackoff, PingConfig};
use subxt::rpcs::client::{RawRpcFuture, RawRpcSubscription, RawValue, RpcClientT};
use tokio::sync::{mpsc, watch};

use crate::chain::BlockStream;
use crate::types::BlockNumber;

/// Block intervals kept to estimate the chain's block time.
const CLOCK_SAMPLES: usize = 16;
/// Intervals needed before the estimate replaces [`HealthConfig::block_time`].
const CLOCK_MIN_SAMPLES: usize = 4;
/// Pause between two attempts of a forced reconnect that failed.
const REBUILD_PAUSE: Duration = Duration::from_secs(1);
/// How often the watchdog looks for a stall.
const STALL_CHECK: Duration = Duration::from_millis(500);

/// When the connection counts as dead, and how a new one is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// Blocks' worth of silence on a block stream that count as a stall.
    pub stall_blocks: u32,
    /// The chain's block time, assumed until the streams show a shorter one (finney: 12 s).
    pub block_time: Duration,
    /// The stall timeout never drops below this, however fast blocks came.
    pub min_stall: Duration,
    /// RPC calls in a row that fail in transport or time out before a forced reconnect.
    pub max_failures: u32,
    /// How long one RPC call may take, waiting for a reconnect included.
    pub request_timeout: Duration,
    /// Interval of the WebSocket pings; no answer within twice this closes the socket.
    pub keepalive: Duration,
    /// How long opening a connection (TCP and WebSocket handshake) may take.
    pub connect_timeout: Duration,
    /// Connection attempts before a (re)connect gives up, with a backoff from 200 ms doubling
    /// to [`HealthConfig::reconnect_max_delay`].
    pub connect_attempts: usize,
    /// The longest pause between two connection attempts.
    pub reconnect_max_delay: Duration,
}

impl Default for HealthConfig {
    /// Finney: 12 s blocks, a stall after 5 of them (60 s); 3 failed calls; 60 s per call;
    /// pings every 20 s; 30 attempts to connect, at most 2 s apart.
    fn default() -> Self {
        Self {
            stall_blocks: 5,
            block_time: Duration::from_secs(12),
            min_stall: Duration::from_secs(10),
            max_failures: 3,
            request_timeout: Duration::from_secs(60),
            keepalive: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            connect_attempts: 30,
            reconnect_max_delay: Duration::from_secs(2),
        }
    }
}

impl HealthConfig {
    /// The stall timeout for an estimated block time.
    pub fn stall_timeout(&self, observed_block_time: Option<Duration>) -> Duration {
        let block_time = observed_block_time.map_or(self.block_time, |t| t.min(self.block_time));
        block_time
            .saturating_mul(self.stall_blocks)
            .max(self.min_stall)
    }

    /// The retry policy of every connection attempt.
    fn backoff(&self) -> std::iter::Take<ExponentialBackoff> {
        ExponentialBackoff::from_millis(2)
            .factor(100)
            .max_delay(self.reconnect_max_delay)
            .take(self.connect_attempts)
    }
}

/// Recent block intervals (per block), for the stall timeout.
#[derive(Debug, Default)]
struct BlockClock {
    last: Option<(BlockNumber, Instant)>,
    samples: std::collections::VecDeque<Duration>,
    /// The last new block, stream opened or connection made: the stall countdown's start.
    quiet_since: Option<Instant>,
}

impl BlockClock {
    fn on_block(&mut self, block: BlockNumber, at: Instant) {
        match self.last {
            Some((last, _)) if block <= last => {}
            Some((last, then)) => {
                let per_block = at.duration_since(then) / u32::try_from(block - last).unwrap_or(1);
                if self.samples.len() == CLOCK_SAMPLES {
                    self.samples.pop_front();
                }
                self.samples.push_back(per_block);
                self.last = Some((block, at));
                self.quiet_since = Some(at);
            }
            None => {
                self.last = Some((block, at));
                self.quiet_since = Some(at);
            }
        }
    }

    /// The median interval, once there are enough.
    fn estimate(&self) -> Option<Duration> {
        if self.samples.len() < CLOCK_MIN_SAMPLES {
            return None;
        }
        let mut sorted: Vec<Duration> = self.samples.iter().copied().collect();
        sorted.sort_unstable();
        sorted.get(sorted.len() / 2).copied()
    }
}

/// The connection's health: failures, block times, stalls, forced reconnects. Shared by the
/// client, its transport, its block streams and the watchdog task.
#[derive(Debug)]
pub struct Health {
    url: String,
    config: HealthConfig,
    failures: AtomicU32,
    stalls: AtomicU64,
    reconnects: AtomicU64,
    /// A forced reconnect is under way.
    reconnecting: AtomicBool,
    /// Since when calls have failed or the connection was lost (for the "restored" line).
    degraded_since: Mutex<Option<Instant>>,
    /// Bumped by every forced reconnect: calls and subscriptions on the old connection end.
    generation: watch::Sender<u64>,
    /// Bumped by every stall and forced reconnect: block streams end.
    restarts: watch::Sender<u64>,
    clock: Mutex<BlockClock>,
    /// Block streams open now (the watchdog looks for stalls only while there are some).
    streams: AtomicUsize,
    /// Wakes the task that rebuilds the connection, with the reason.
    rebuild: mpsc::UnboundedSender<String>,
}

impl Health {
    /// A monitor, and the receiving end of its reconnect requests.
    fn new(url: &str, config: HealthConfig) -> (Arc<Self>, mpsc::UnboundedReceiver<String>) {
        let (rebuild, requests) = mpsc::unbounded_channel();
        let health = Arc::new(Self {
            url: url.to_owned(),
            config,
            failures: AtomicU32::new(0),
            stalls: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            reconnecting: AtomicBool::new(false),
            degraded_since: Mutex::new(None),
            generation: watch::Sender::new(0),
            restarts: watch::Sender::new(0),
            clock: Mutex::new(BlockClock::default()),
            streams: AtomicUsize::new(0),
            rebuild,
        });
        (health, requests)
    }

    /// The settings.
    pub fn config(&self) -> &HealthConfig {
        &self.config
    }

    /// Forced reconnects so far (after stalls and failed calls; not the transport's own
    /// reconnects after a closed socket).
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }

    /// Stalls seen so far: no new block on the open block streams for the stall timeout.
    pub fn stalls(&self) -> u64 {
        self.stalls.load(Ordering::Relaxed)
    }

    /// Failed calls in a row now.
    pub fn failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }

    /// The stall timeout now (see the module doc).
    pub fn stall_timeout(&self) -> Duration {
        let observed = self.clock.lock().ok().and_then(|c| c.estimate());
        self.config.stall_timeout(observed)
    }

    fn generation(&self) -> u64 {
        *self.generation.borrow()
    }

    /// Resolves once `counter` moves past `of`.
    fn moved(counter: &watch::Sender<u64>, of: u64) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = counter.subscribe();
        async move {
            let _ = rx.wait_for(|g| *g != of).await;
        }
    }

    /// Resolves once a forced reconnect replaced the connection of generation `of`.
    fn replaced(&self, of: u64) -> impl Future<Output = ()> + Send + 'static {
        Self::moved(&self.generation, of)
    }

    fn on_block(&self, block: BlockNumber) {
        if let Ok(mut clock) = self.clock.lock() {
            clock.on_block(block, Instant::now());
        }
    }

    /// Restarts the stall countdown (a new stream, a new connection).
    fn alive(&self, now: Instant) {
        if let Ok(mut clock) = self.clock.lock() {
            clock.quiet_since = Some(now);
        }
    }

    /// The watchdog's check: with a block stream open and no new block for the stall timeout,
    /// ends the block streams and forces a reconnect. Returns whether it did.
    fn check_stall(&self, now: Instant) -> bool {
        if self.streams.load(Ordering::Acquire) == 0 || self.reconnecting.load(Ordering::Acquire) {
            return false;
        }
        let (since, last) = match self.clock.lock() {
            Ok(c) => (c.quiet_since, c.last.map(|(b, _)| b)),
            Err(_) => return false,
        };
        let limit = self.stall_timeout();
        if since.is_none_or(|t| now.saturating_duration_since(t) < limit) {
            return false;
        }
        self.stalls.fetch_add(1, Ordering::Relaxed);
        self.restarts.send_modify(|r| *r += 1);
        self.force_reconnect(format!(
            "no new block for {limit:?} (last {})",
            last.map_or("none".into(), |b| format!("#{b}"))
        ));
        true
    }

    /// Asks for a forced reconnect (once at a time).
    pub fn force_reconnect(&self, reason: String) {
        if self.reconnecting.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::warn!(url = %self.url, %reason, "chain connection unhealthy; forcing a reconnect");
        if self.rebuild.send(reason).is_err() {
            self.reconnecting.store(false, Ordering::Release);
        }
    }

    fn degraded(&self, what: &str, error: &dyn std::fmt::Display) {
        let Ok(mut since) = self.degraded_since.lock() else {
            return;
        };
        if since.is_none() {
            *since = Some(Instant::now());
            tracing::warn!(url = %self.url, %error, "{what}; waiting for the chain to come back");
        }
    }

    /// A call the node answered.
    fn on_answer(&self) {
        self.failures.store(0, Ordering::Relaxed);
        if let Ok(mut since) = self.degraded_since.lock()
            && let Some(t) = since.take()
        {
            tracing::info!(
                url = %self.url,
                after_ms = u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX),
                "chain connection restored"
            );
        }
    }

    /// Classifies a call's result: a transport failure or time-out counts, an answer resets.
    fn on_result<T>(&self, result: &Result<T, subxt::rpcs::Error>) {
        use subxt::rpcs::Error as E;
        match result {
            Ok(_) | Err(E::User(_) | E::Deserialization(_) | E::Decode(_)) => self.on_answer(),
            // The transport is reconnecting by itself; the call is retried on the new socket.
            Err(e @ E::DisconnectedWillReconnect(_)) => self.degraded("chain connection lost", e),
            Err(e) => {
                self.degraded("chain call failed", e);
                let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::debug!(url = %self.url, failures = n, error = %e, "chain call failed");
                if n >= self.config.max_failures {
                    self.force_reconnect(format!("{n} calls failed in a row (last: {e})"));
                }
            }
        }
    }

    fn on_rebuilt(&self, started: Instant) {
        self.failures.store(0, Ordering::Relaxed);
        self.alive(Instant::now());
        let n = self.reconnects.fetch_add(1, Ordering::Relaxed) + 1;
        self.generation.send_modify(|g| *g += 1);
        self.restarts.send_modify(|r| *r += 1);
        self.reconnecting.store(false, Ordering::Release);
        tracing::warn!(
            url = %self.url,
            reconnects = n,
            after_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "reconnected to the chain (forced)"
        );
    }

    /// Watches a block stream: its blocks feed the block clock, and it ends at a stall or a
    /// forced reconnect, so the caller subscribes again (on the new connection).
    pub fn watch_blocks(self: &Arc<Self>, inner: BlockStream) -> BlockStream {
        /// Counts the stream as open while it lives.
        struct Open(Arc<Health>);
        impl Drop for Open {
            fn drop(&mut self) {
                self.0.streams.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.streams.fetch_add(1, Ordering::AcqRel);
        self.alive(Instant::now());
        let ended = Self::moved(&self.restarts, *self.restarts.borrow()).boxed();
        let state = (inner, Open(self.clone()), ended);
        futures::stream::unfold(state, |(mut inner, open, mut ended)| async move {
            tokio::select! {
                item = inner.next() => {
                    if let Some(Ok(block)) = &item {
                        open.0.on_block(*block);
                    }
                    item.map(|i| (i, (inner, open, ended)))
                }
                () = &mut ended => None,
            }
        })
        .boxed()
    }
}

/// Looks for stalls every [`STALL_CHECK`] until the client is dropped.
async fn watch_stalls(health: Weak<Health>) {
    loop {
        tokio::time::sleep(STALL_CHECK).await;
        let Some(h) = health.upgrade() else {
            return;
        };
        h.check_stall(Instant::now());
    }
}

/// The RPC transport under the client's `OnlineClient`: a reconnecting WebSocket client that a
/// forced reconnect replaces, with a time limit on every call.
struct Transport {
    health: Arc<Health>,
    current: Arc<RwLock<Arc<ReconnectingRpcClient>>>,
}

impl Transport {
    fn client(&self) -> Arc<ReconnectingRpcClient> {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// The error of a call that ran past [`HealthConfig::request_timeout`].
#[derive(Debug, thiserror::Error)]
#[error("no answer within {0:?}")]
struct TimedOut(Duration);

fn timed_out(limit: Duration) -> subxt::rpcs::Error {
    subxt::rpcs::Error::Client(Box::new(TimedOut(limit)))
}

fn replaced() -> subxt::rpcs::Error {
    subxt::rpcs::Error::DisconnectedWillReconnect("replaced by a forced reconnect".into())
}

impl RpcClientT for Transport {
    fn request_raw<'a>(
        &'a self,
        method: &'a str,
        params: Option<Box<RawValue>>,
    ) -> RawRpcFuture<'a, Box<RawValue>> {
        async move {
            let generation = self.health.generation();
            let client = self.client();
            let limit = self.health.config.request_timeout;
            tokio::select! {
                result = tokio::time::timeout(limit, client.request_raw(method, params)) => {
                    let result = result.unwrap_or_else(|_| Err(timed_out(limit)));
                    self.health.on_result(&result);
                    result
                }
                // The call waited on a connection a forced reconnect replaced: subxt retries
                // it (on the new one) when told the connection was lost.
                () = self.health.replaced(generation) => Err(replaced()),
            }
        }
        .boxed()
    }

    fn subscribe_raw<'a>(
        &'a self,
        sub: &'a str,
        params: Option<Box<RawValue>>,
        unsub: &'a str,
    ) -> RawRpcFuture<'a, RawRpcSubscription> {
        async move {
            let generation = self.health.generation();
            let client = self.client();
            let limit = self.health.config.request_timeout;
            let result = tokio::select! {
                result = tokio::time::timeout(limit, client.subscribe_raw(sub, params, unsub)) => {
                    result.unwrap_or_else(|_| Err(timed_out(limit)))
                }
                () = self.health.replaced(generation) => return Err(replaced()),
            };
            self.health.on_result(&result);
            let RawRpcSubscription { stream, id } = result?;
            let health = self.health.clone();
            // A lost connection is reported on the stream; a forced reconnect ends it.
            let stream = stream
                .inspect(move |item| {
                    if let Err(e @ subxt::rpcs::Error::DisconnectedWillReconnect(_)) = item {
                        health.degraded("chain connection lost", e);
                    }
                })
                .take_until(self.health.replaced(generation))
                .boxed();
            Ok(RawRpcSubscription { stream, id })
        }
        .boxed()
    }
}

/// Opens one reconnecting WebSocket client with the configured keepalive and backoff.
async fn open(
    url: &str,
    config: &HealthConfig,
) -> Result<ReconnectingRpcClient, subxt::rpcs::Error> {
    let ping = PingConfig::new()
        .ping_interval(config.keepalive)
        .inactive_limit(config.keepalive.saturating_mul(2))
        .max_failures(1);
    ReconnectingRpcClient::builder()
        .retry_policy(config.backoff())
        .connection_timeout(config.connect_timeout)
        .request_timeout(config.request_timeout)
        .enable_ws_ping(ping)
        .build(url)
        .await
        .map_err(|e| subxt::rpcs::Error::Client(Box::new(e)))
}

/// Connects to `url` and returns the RPC client for subxt with its health monitor; a task
/// rebuilds the connection when the monitor asks for it (it ends with the client).
pub(crate) async fn connect(
    url: &str,
    config: HealthConfig,
) -> Result<(subxt::rpcs::RpcClient, Arc<Health>), subxt::rpcs::Error> {
    let first = open(url, &config).await?;
    let (health, requests) = Health::new(url, config);
    let current = Arc::new(RwLock::new(Arc::new(first)));
    tokio::spawn(rebuild_on_request(
        requests,
        url.to_owned(),
        Arc::downgrade(&health),
        Arc::downgrade(&current),
    ));
    tokio::spawn(watch_stalls(Arc::downgrade(&health)));
    let transport = Transport {
        health: health.clone(),
        current,
    };
    Ok((subxt::rpcs::RpcClient::new(transport), health))
}

/// Replaces the connection each time the monitor asks, retrying until a new one opens.
async fn rebuild_on_request(
    mut requests: mpsc::UnboundedReceiver<String>,
    url: String,
    health: Weak<Health>,
    current: Weak<RwLock<Arc<ReconnectingRpcClient>>>,
) {
    while requests.recv().await.is_some() {
        let started = Instant::now();
        loop {
            let Some(config) = health.upgrade().map(|h| h.config.clone()) else {
                return;
            };
            match open(&url, &config).await {
                Ok(client) => {
                    let (Some(h), Some(slot)) = (health.upgrade(), current.upgrade()) else {
                        return;
                    };
                    let old = match slot.write() {
                        Ok(mut c) => std::mem::replace(&mut *c, Arc::new(client)),
                        Err(poisoned) => {
                            std::mem::replace(&mut *poisoned.into_inner(), Arc::new(client))
                        }
                    };
                    // Dropping the old client closes its socket and ends its subscriptions.
                    drop(old);
                    h.on_rebuilt(started);
                    break;
                }
                Err(e) => {
                    tracing::warn!(%url, error = %e, "reconnect failed; trying again");
                    tokio::time::sleep(REBUILD_PAUSE).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_default_stall_is_five_finney_blocks() {
        let c = HealthConfig::default();
        assert_eq!(c.stall_timeout(None), secs(60));
        // Faster blocks shorten it, down to the floor; slower ones never lengthen it.
        assert_eq!(c.stall_timeout(Some(secs(3))), secs(15));
        assert_eq!(c.stall_timeout(Some(Duration::from_millis(250))), secs(10));
        assert_eq!(c.stall_timeout(Some(secs(30))), secs(60));
    }

    #[test]
    fn the_backoff_is_capped_and_finite() {
        let c = HealthConfig::default();
        let delays: Vec<Duration> = c.backoff().collect();
        assert_eq!(delays.len(), 30);
        assert_eq!(delays[0], Duration::from_millis(200));
        assert_eq!(delays[1], Duration::from_millis(400));
        assert!(delays.iter().all(|d| *d <= secs(2)));
        assert_eq!(delays[29], secs(2));
    }

    #[test]
    fn the_clock_takes_the_median_per_block_interval() {
        let mut clock = BlockClock::default();
        let t0 = Instant::now();
        clock.on_block(10, t0);
        assert_eq!(clock.estimate(), None);
        // Two blocks at once count as two intervals of half the time; repeats are ignored.
        clock.on_block(12, t0 + secs(2));
        clock.on_block(12, t0 + secs(3));
        clock.on_block(13, t0 + secs(3));
        clock.on_block(14, t0 + secs(4));
        assert_eq!(clock.estimate(), None);
        clock.on_block(15, t0 + secs(15));
        assert_eq!(clock.estimate(), Some(secs(1)));
        for i in 0..20u64 {
            clock.on_block(16 + i, t0 + secs(16 + 12 * (i + 1)));
        }
        assert_eq!(clock.samples.len(), CLOCK_SAMPLES);
        assert_eq!(clock.estimate(), Some(secs(12)));
    }

    fn fast() -> HealthConfig {
        HealthConfig {
            min_stall: Duration::from_millis(300),
            block_time: Duration::from_millis(100),
            ..HealthConfig::default()
        }
    }

    #[tokio::test]
    async fn a_stall_ends_the_streams_and_asks_for_a_reconnect() {
        let (health, mut requests) = Health::new("ws://test", fast());
        let t0 = Instant::now();
        // No stream open: nothing to watch.
        assert!(!health.check_stall(t0 + secs(60)));
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let mut blocks = health.watch_blocks(rx.boxed());
        tx.unbounded_send(Ok(7)).unwrap();
        assert_eq!(blocks.next().await.unwrap().unwrap(), 7);
        let seen = Instant::now();
        let stall = health.stall_timeout();
        assert_eq!(stall, Duration::from_millis(500), "5 blocks of 100 ms");
        assert!(!health.check_stall(seen + stall - Duration::from_millis(50)));
        assert!(health.check_stall(seen + stall));
        assert_eq!(health.stalls(), 1);
        let reason = requests.try_recv().unwrap();
        assert!(
            reason.contains("no new block") && reason.contains("#7"),
            "{reason}"
        );
        // The stream ends at once, without waiting for the new connection.
        assert!(blocks.next().await.is_none(), "a stall ends the stream");
        drop(blocks);
        // One reconnect at a time: nothing more is asked while it runs.
        health.force_reconnect("again".into());
        assert!(requests.try_recv().is_err());
        health.on_rebuilt(Instant::now());
        assert_eq!(health.reconnects(), 1);
        health.force_reconnect("later".into());
        assert_eq!(requests.try_recv().unwrap(), "later");
    }

    #[tokio::test]
    async fn blocks_keep_the_watchdog_quiet() {
        let (health, mut requests) = Health::new("ws://test", fast());
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let mut blocks = health.watch_blocks(rx.boxed());
        for b in 1..=5 {
            tx.unbounded_send(Ok(b)).unwrap();
            assert_eq!(blocks.next().await.unwrap().unwrap(), b);
            assert!(!health.check_stall(Instant::now() + Duration::from_millis(250)));
        }
        assert!(requests.try_recv().is_err());
        assert_eq!(health.stalls(), 0);
    }

    #[tokio::test]
    async fn a_forced_reconnect_ends_the_older_streams() {
        let config = HealthConfig {
            min_stall: secs(30),
            ..HealthConfig::default()
        };
        let (health, _requests) = Health::new("ws://test", config);
        let (_tx, rx) = futures::channel::mpsc::unbounded::<crate::ChainResult<u64>>();
        let mut blocks = health.watch_blocks(rx.boxed());
        let ended = tokio::spawn(async move { blocks.next().await.is_none() });
        tokio::time::sleep(Duration::from_millis(50)).await;
        health.on_rebuilt(Instant::now());
        let ended = tokio::time::timeout(secs(5), ended).await.unwrap().unwrap();
        assert!(ended);
        // The stream is gone: no stall to see any more.
        assert!(!health.check_stall(Instant::now() + secs(120)));
    }

    #[test]
    fn answers_reset_the_count_and_failures_force_a_reconnect() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let (health, mut requests) = Health::new("ws://test", HealthConfig::default());
        let failed = || -> Result<(), subxt::rpcs::Error> {
            Err(subxt::rpcs::Error::Client(Box::new(TimedOut(secs(1)))))
        };
        health.on_result(&failed());
        health.on_result(&failed());
        assert_eq!(health.failures(), 2);
        // The node answered (with a refusal): the connection works.
        health.on_result::<()>(&Err(subxt::rpcs::Error::User(subxt::rpcs::UserError {
            code: 1010,
            message: "Invalid Transaction".into(),
            data: None,
        })));
        assert_eq!(health.failures(), 0);
        // A lost socket is the transport's to reconnect: not a failure.
        let lost = Err::<(), _>(subxt::rpcs::Error::DisconnectedWillReconnect("x".into()));
        health.on_result(&lost);
        assert_eq!(health.failures(), 0);
        for _ in 0..3 {
            health.on_result(&failed());
        }
        let reason = requests.try_recv().unwrap();
        assert!(reason.starts_with("3 calls failed in a row"), "{reason}");
    }
}
