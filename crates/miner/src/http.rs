//! The miner's monitoring endpoint: `GET /metrics` (Prometheus/OpenMetrics text of
//! [`MinerMetrics`]) and `GET /health` (JSON; 200 while registered with a fresh metagraph,
//! 503 `not_registered`, or 503 `degraded` with the metagraph's age when the chain has not
//! been read for three read intervals).

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
    /// A metagraph read older than this means the chain is not reachable: `/health` then
    /// answers `degraded` (503). The node sets three read intervals.
    pub stale_after: std::time::Duration,
}

/// The `/health` body.
#[derive(Debug, Serialize)]
struct Health<'a> {
    status: &'static str,
    hotkey: &'a str,
    netuid: u16,
    uid: Option<u16>,
    block: u64,
    /// Seconds since the metagraph was last read (`null` before the first read).
    metagraph_age_secs: Option<f64>,
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

/// `/health`'s status: registration first, then whether the chain still answers.
fn health_status(
    uid: Option<u16>,
    age: Option<std::time::Duration>,
    stale_after: std::time::Duration,
) -> &'static str {
    match (uid, age) {
        (None, _) => "not_registered",
        (Some(_), Some(age)) if age > stale_after => "degraded",
        (Some(_), _) => "ok",
    }
}

async fn health(State(state): State<AppState>) -> Response {
    let uid = state.metrics.uid();
    let age = state.metrics.metagraph_age();
    let status = health_status(uid, age, state.info.stale_after);
    let body = Health {
        status,
        hotkey: &state.info.hotkey,
        netuid: state.info.netuid,
        uid,
        block: state.metrics.metagraph_block(),
        metagraph_age_secs: age.map(|a| a.as_millis() as f64 / 1e3),
        axon: state.info.axon.to_string(),
        circuits: state.info.circuits,
        proofs_in_flight: state.metrics.in_flight(),
    };
    let code = if status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn health_is_degraded_when_the_metagraph_goes_stale() {
        let stale = Duration::from_secs(180);
        assert_eq!(health_status(None, None, stale), "not_registered");
        assert_eq!(health_status(Some(1), None, stale), "ok");
        assert_eq!(
            health_status(Some(1), Some(Duration::from_secs(30)), stale),
            "ok"
        );
        assert_eq!(
            health_status(Some(1), Some(Duration::from_secs(181)), stale),
            "degraded"
        );
    }
}
