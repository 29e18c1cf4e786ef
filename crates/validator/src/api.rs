//! The validator's HTTP endpoints.
//!
//! API (`--api.host`/`--api.port`, 127.0.0.1:8000 by default):
//! * `GET /health` → `{"status": "ok", "uid": u16, "block": u64}`;
//! * `GET /scoreboard` → [`Scoreboard`];
//! * `GET /` → a self-contained HTML page that polls `/scoreboard` (no external assets).
//!
//! Prometheus exporter (`--prometheus.port`): `GET /metrics` (text format 0.0.4) and
//! `GET /health`.
//!
//! Both answer only `GET`; other paths get 404, a store failure 500 with `{"error": ...}`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::error::NodeError;
use crate::node::Shared;

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

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` while the node serves.
    pub status: String,
    /// The validator's uid.
    pub uid: u16,
    /// The latest block it saw.
    pub block: u64,
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

fn health(shared: &Shared) -> Health {
    Health {
        status: "ok".into(),
        uid: shared.snapshot().validator_uid,
        block: shared.block(),
    }
}

async fn get_health(State(shared): State<Arc<Shared>>) -> Json<Health> {
    Json(health(&shared))
}

async fn get_scoreboard(State(shared): State<Arc<Shared>>) -> Response {
    match scoreboard(&shared).await {
        Ok(board) => Json(board).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "scoreboard failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(serde_json::json!({ "error": e.to_string() })),
            )
                .into_response()
        }
    }
}

async fn get_dashboard() -> Html<&'static str> {
    Html(DASHBOARD)
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

/// The API's routes.
pub(crate) fn api_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(get_dashboard))
        .route("/health", get(get_health))
        .route("/scoreboard", get(get_scoreboard))
        .with_state(shared)
}

/// The Prometheus exporter's routes.
pub(crate) fn metrics_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/metrics", get(get_metrics))
        .route("/health", get(get_health))
        .with_state(shared)
}

/// Serves `router` until `stop` turns true.
pub(crate) async fn serve(listener: TcpListener, router: Router, stop: watch::Receiver<bool>) {
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
