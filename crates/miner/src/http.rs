//! The miner's monitoring endpoint: `GET /metrics` (Prometheus/OpenMetrics text of
//! [`MinerMetrics`]) and `GET /health` (JSON; 200 while registered, 503 otherwise).

use omron_bittensor::guard::{ConnectionLimits, GuardedListener};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::MinerError;
use crate::metrics::MinerMetrics;

/// The fixed facts `/health` reports next to the live ones.
#[derive(Debug, Clone)]
pub struct HealthInfo {
    /// The miner's hotkey (ss58).
    pub hotkey: String,
    /// The subnet.
    pub netuid: u16,
    /// The axon's bound address.
    pub axon: SocketAddr,
    /// Circuits served.
    pub circuits: usize,
}

/// The `/health` body.
#[derive(Debug, Serialize)]
struct Health<'a> {
    status: &'static str,
    hotkey: &'a str,
    netuid: u16,
    uid: Option<u16>,
    block: u64,
    axon: String,
    circuits: usize,
    proofs_in_flight: i64,
}

#[derive(Clone)]
struct AppState {
    metrics: Arc<MinerMetrics>,
    info: Arc<HealthInfo>,
}

/// A running monitoring server.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// Binds `addr` and serves `/metrics` and `/health`.
    pub async fn start(
        addr: SocketAddr,
        metrics: Arc<MinerMetrics>,
        info: HealthInfo,
    ) -> Result<Self, MinerError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| MinerError::Metrics {
                addr,
                reason: e.to_string(),
            })?;
        let addr = listener.local_addr().map_err(|e| MinerError::Metrics {
            addr,
            reason: e.to_string(),
        })?;
        let app = Router::new()
            .route("/metrics", get(metrics_text))
            .route("/health", get(health))
            .with_state(AppState {
                metrics,
                info: Arc::new(info),
            });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            // Capped connections, closed when silent or old: a slowloris client cannot hold
            // them (the exporter answers short scrapes only).
            let listener = GuardedListener::new(listener, ConnectionLimits::SHORT_REQUESTS);
            if let Err(err) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%err, "metrics server stopped");
            }
        });
        tracing::info!(%addr, "metrics and health served");
        Ok(Self { addr, stop, task })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn health(State(state): State<AppState>) -> Response {
    let uid = state.metrics.uid();
    let body = Health {
        status: if uid.is_some() {
            "ok"
        } else {
            "not_registered"
        },
        hotkey: &state.info.hotkey,
        netuid: state.info.netuid,
        uid,
        block: state.metrics.metagraph_block(),
        axon: state.info.axon.to_string(),
        circuits: state.info.circuits,
        proofs_in_flight: state.metrics.in_flight(),
    };
    let code = if uid.is_some() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}
