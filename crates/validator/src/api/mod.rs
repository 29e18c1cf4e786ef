//! The validator's HTTP endpoints.
//!
//! API (`--api.host`/`--api.port`, 127.0.0.1:8000 by default):
//! * `GET /health` → [`Health`]: `"ok"` (200), or `"degraded"` (503) when no new block has
//!   arrived for a minute (the chain is unreachable or stalled), with the block's age;
//! * `GET /scoreboard` → [`Scoreboard`];
//! * `GET /external?limit=N` → the newest external requests first, as [`ExternalRow`]s
//!   (`limit` 50 by default, at most [`MAX_EXTERNAL_ROWS`]); without proofs, inputs or
//!   outputs, which stay in the archive;
//! * `GET /dashboard/summary`, `/dashboard/miners/series`, `/dashboard/circuits`,
//!   `/dashboard/requests`: the dashboard's parts ([`dashboard`]);
//! * `GET /` → the dashboard: one self-contained HTML page (inline CSS, JS and SVG charts, no
//!   external assets) that polls the endpoints above.
//!
//! Prometheus exporter (`--prometheus.port`): `GET /metrics` (text format 0.0.4) and
//! `GET /health`.
//!
//! Both answer only `GET`; other paths get 404, a malformed query 400, a store failure 500
//! with `{"error": ...}`.

mod chain_watch;
pub mod dashboard;
mod stats;

use omron_bittensor::guard::{ConnectionLimits, GuardedListener};
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::error::NodeError;
use crate::shared::Shared;
use crate::store::StoredExternalRecord;
pub(crate) use chain_watch::ChainWatch;
pub use chain_watch::WeightsMode;

/// The dashboard page.
const DASHBOARD: &str = include_str!("dashboard.html");

/// One miner's line of the scoreboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinerRow {
    /// The uid.
    pub uid: u16,
    /// Its hotkey (ss58), from the metagraph.
    pub hotkey: String,
    /// Requests recorded for this hotkey (answered or not).
    pub requests: u64,
    /// Of which the proof verified.
    pub verified: u64,
    /// Mean measured response time over all requests, milliseconds (a request without an
    /// answer counts its timeout).
    pub mean_response_ms: f64,
    /// Mean proof size over the verified responses, bytes.
    pub mean_proof_bytes: f64,
    /// The current score.
    pub score: f64,
    /// The last `u16` weight this validator set for the uid (0 if none).
    pub weight: u16,
}

/// `GET /scoreboard`: every uid the validator queries or has recorded requests for (its own
/// uid excluded), by uid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scoreboard {
    /// The latest block the validator saw.
    pub block: u64,
    /// The subnet.
    pub netuid: u16,
    /// The validator's uid.
    pub validator_uid: u16,
    /// The miners.
    pub miners: Vec<MinerRow>,
}

/// Rows `GET /external` returns without a `limit`.
pub const DEFAULT_EXTERNAL_ROWS: usize = 50;
/// Rows `GET /external` returns at most, whatever the `limit`.
pub const MAX_EXTERNAL_ROWS: usize = 500;
/// Characters of the receipt signature an [`ExternalRow`] keeps (`0x` and 16 hex digits).
const SIGNATURE_PREFIX: usize = 18;

/// One line of `GET /external`: an archived external request, without its proof, input and
/// output (`omron validator export` writes the full records).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalRow {
    /// Archive id (increasing).
    pub id: i64,
    /// When it was answered, milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// The block when it was answered.
    pub block: u64,
    /// The JSON-RPC method.
    pub method: String,
    /// The caller's key (ss58).
    pub origin: String,
    /// The circuit id (hex).
    pub circuit_id: String,
    /// The circuit's name, if the validator still has that circuit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_name: Option<String>,
    /// `verified` or `failed`.
    pub status: String,
    /// Why it failed (every attempt's reason); none when it verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Miners asked.
    pub attempts: u32,
    /// Time from arrival to answer, milliseconds.
    pub latency_ms: f64,
    /// The uid of the miner whose proof verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miner_uid: Option<u16>,
    /// Its hotkey (ss58).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miner_hotkey: Option<String>,
    /// The request's hash (the answer's `hash`, the receipt's `request_hash`).
    pub request_hash: String,
    /// The start of the receipt's signature (`0x` and 16 hex digits), to match it with the
    /// receipt the app holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_signature: Option<String>,
}

impl ExternalRow {
    /// The row of an archived record; `circuit_name` maps a circuit id to its name.
    fn new(stored: StoredExternalRecord, circuit_name: impl Fn(&str) -> Option<String>) -> Self {
        let r = stored.record;
        let receipt_signature = r
            .proven
            .as_ref()
            .and_then(|p| p.receipt.get("signature"))
            .and_then(|s| s.as_str())
            .map(|s| s.chars().take(SIGNATURE_PREFIX).collect());
        Self {
            id: stored.id,
            created_at_ms: r.created_at_ms,
            block: r.block,
            circuit_name: circuit_name(&r.circuit_id),
            method: r.method,
            origin: r.origin,
            circuit_id: r.circuit_id,
            status: r.status,
            error: r.error,
            attempts: r.attempts,
            latency_ms: r.latency_ms,
            miner_uid: r.proven.as_ref().map(|p| p.miner_uid),
            miner_hotkey: r.proven.map(|p| p.miner_hotkey),
            request_hash: r.request_hash,
            receipt_signature,
        }
    }
}

/// The query of `GET /external`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
struct ExternalQuery {
    /// Rows wanted ([`DEFAULT_EXTERNAL_ROWS`] if absent, at most [`MAX_EXTERNAL_ROWS`]).
    limit: Option<usize>,
}

/// The newest `limit` external requests (at most [`MAX_EXTERNAL_ROWS`]), newest first.
pub(crate) async fn recent_external(
    shared: &Arc<Shared>,
    limit: usize,
) -> Result<Vec<ExternalRow>, NodeError> {
    let limit = limit.min(MAX_EXTERNAL_ROWS);
    let records = shared.with_store(move |s| s.recent_external(limit)).await?;
    let name = |id: &str| dashboard::circuit_name(shared, id);
    Ok(records
        .into_iter()
        .map(|r| ExternalRow::new(r, name))
        .collect())
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// `"ok"`, or `"degraded"` when the chain connection is not (the answer is then a 503).
    pub status: String,
    /// The validator's uid.
    pub uid: u16,
    /// The latest block it saw.
    pub block: u64,
    /// Seconds since that block arrived.
    pub last_block_age_secs: f64,
    /// The chain connection: `ok`, `lagging` (no block for 60 s) or `stalled` (180 s).
    pub chain: String,
}

/// Builds the scoreboard from the snapshot and the store.
pub(crate) async fn scoreboard(shared: &Arc<Shared>) -> Result<Scoreboard, NodeError> {
    let snapshot = shared.snapshot();
    let block = shared.block();
    let (scores, stats, last) = shared
        .with_store(|s| Ok((s.scores()?, s.miner_stats()?, s.last_included_weights()?)))
        .await?;
    let mut miners = Vec::new();
    for neuron in &snapshot.metagraph.neurons {
        let uid = neuron.uid;
        if uid == snapshot.validator_uid {
            continue;
        }
        let hotkey = neuron.hotkey.to_ss58();
        let stat = stats.iter().find(|s| s.uid == uid && s.hotkey == hotkey);
        if stat.is_none() && snapshot.queryable.binary_search(&uid).is_err() {
            continue;
        }
        let score = scores
            .iter()
            .find(|r| r.uid == uid && r.hotkey == hotkey)
            .map_or(0.0, |r| f64::from(r.score));
        let weight = last
            .as_ref()
            .and_then(|(_, rec)| {
                rec.uids
                    .iter()
                    .position(|u| *u == uid)
                    .map(|i| rec.weights[i])
            })
            .unwrap_or(0);
        miners.push(MinerRow {
            uid,
            hotkey,
            requests: stat.map_or(0, |s| s.requests),
            verified: stat.map_or(0, |s| s.verified),
            mean_response_ms: stat.map_or(0.0, |s| s.mean_response_ms()),
            mean_proof_bytes: stat.map_or(0.0, |s| s.mean_proof_bytes()),
            score,
            weight,
        });
    }
    Ok(Scoreboard {
        block,
        netuid: shared.config.netuid,
        validator_uid: snapshot.validator_uid,
        miners,
    })
}

/// `(status, chain)` of `/health` for a last block `age` old.
fn health_status(age: std::time::Duration) -> (&'static str, &'static str) {
    let chain = chain_watch::connection_state(age);
    (if chain == "ok" { "ok" } else { "degraded" }, chain)
}

fn health(shared: &Shared, watch: &ChainWatch) -> Health {
    let age = watch.last_block_age();
    let (status, chain) = health_status(age);
    Health {
        status: status.into(),
        uid: shared.snapshot().validator_uid,
        block: shared.block(),
        // Whole milliseconds: the age is for people and alerts, not for arithmetic.
        last_block_age_secs: age.as_millis() as f64 / 1e3,
        chain: chain.into(),
    }
}

async fn get_health(State(st): State<ApiState>) -> Response {
    let health = health(&st.shared, &st.watch);
    let code = if health.status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(health)).into_response()
}

/// A store failure as a 500 with `{"error": ...}`.
fn internal_error(what: &str, e: &NodeError) -> Response {
    tracing::error!(error = %e, "{what} failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(serde_json::json!({ "error": e.to_string() })),
    )
        .into_response()
}

async fn get_scoreboard(State(shared): State<Arc<Shared>>) -> Response {
    match scoreboard(&shared).await {
        Ok(board) => Json(board).into_response(),
        Err(e) => internal_error("scoreboard", &e),
    }
}

async fn get_external(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<ExternalQuery>,
) -> Response {
    let limit = q.limit.unwrap_or(DEFAULT_EXTERNAL_ROWS);
    match recent_external(&shared, limit).await {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => internal_error("external request list", &e),
    }
}

async fn get_dashboard() -> Html<&'static str> {
    Html(DASHBOARD)
}

/// The API's state: the node's, and the chain watch the dashboard reads.
#[derive(Clone)]
struct ApiState {
    shared: Arc<Shared>,
    watch: Arc<ChainWatch>,
}

impl FromRef<ApiState> for Arc<Shared> {
    fn from_ref(state: &ApiState) -> Self {
        state.shared.clone()
    }
}

/// A dashboard part as JSON, or a 500 naming it.
fn json_or_500<T: Serialize>(what: &str, result: Result<T, NodeError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(e) => internal_error(what, &e),
    }
}

async fn get_summary(State(st): State<ApiState>) -> Response {
    json_or_500(
        "dashboard summary",
        dashboard::summary(&st.shared, &st.watch).await,
    )
}

async fn get_series(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<dashboard::SeriesQuery>,
) -> Response {
    json_or_500("miner series", dashboard::series(&shared, q).await)
}

async fn get_circuits(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<dashboard::CircuitsQuery>,
) -> Response {
    json_or_500("circuit statistics", dashboard::circuits(&shared, q).await)
}

async fn get_requests(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<dashboard::RequestsQuery>,
) -> Response {
    json_or_500("request list", dashboard::requests(&shared, q).await)
}

async fn get_metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        shared.metrics.render(),
    )
        .into_response()
}

/// The API's routes; `watch` (shared with the exporter) follows the blocks for the dashboard
/// and `/health`.
pub(crate) fn api_router(shared: Arc<Shared>, watch: Arc<ChainWatch>) -> Router {
    let state = ApiState { watch, shared };
    Router::new()
        .route("/", get(get_dashboard))
        .route("/health", get(get_health))
        .route("/scoreboard", get(get_scoreboard))
        .route("/external", get(get_external))
        .route("/dashboard/summary", get(get_summary))
        .route("/dashboard/miners/series", get(get_series))
        .route("/dashboard/circuits", get(get_circuits))
        .route("/dashboard/requests", get(get_requests))
        .with_state(state)
}

/// The Prometheus exporter's routes (`watch` for `/health`).
pub(crate) fn metrics_router(shared: Arc<Shared>, watch: Arc<ChainWatch>) -> Router {
    let state = ApiState { watch, shared };
    Router::new()
        .route("/metrics", get(get_metrics))
        .route("/health", get(get_health))
        .with_state(state)
}

/// Serves `router` until `stop` turns true.
pub(crate) async fn serve(listener: TcpListener, router: Router, stop: watch::Receiver<bool>) {
    // Capped connections, closed when silent or old: a slowloris client cannot hold them.
    let listener = GuardedListener::new(listener, ConnectionLimits::SHORT_REQUESTS);
    serve_on(listener, router, stop).await;
}

/// Serves `router` on any listener (TCP, or TLS for the external API) until `stop` turns true.
pub(crate) async fn serve_on<L>(listener: L, router: Router, mut stop: watch::Receiver<bool>)
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let shutdown = async move {
        while !*stop.borrow_and_update() {
            if stop.changed().await.is_err() {
                break;
            }
        }
    };
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(error = %e, "HTTP server failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn health_is_degraded_once_blocks_stop_arriving() {
        assert_eq!(health_status(Duration::from_secs(12)), ("ok", "ok"));
        assert_eq!(
            health_status(Duration::from_secs(61)),
            ("degraded", "lagging")
        );
        assert_eq!(
            health_status(Duration::from_secs(600)),
            ("degraded", "stalled")
        );
    }
}
