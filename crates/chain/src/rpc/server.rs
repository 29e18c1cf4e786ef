//! The axum server in front of an [`EmbeddedChain`].

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query as UrlQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::wire::{MAX_REQUEST_BYTES, SignedCall, WireError, WireErrorKind};
use crate::dev::Query;
use crate::embedded::EmbeddedChain;
use crate::error::{ChainError, ChainResult};

/// Longest a `blocks/next` request waits.
const LONG_POLL: Duration = Duration::from_secs(20);

/// A running RPC server; stops when dropped or on [`RpcServer::shutdown`].
#[derive(Debug)]
pub struct RpcServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RpcServer {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests and waits for in-flight ones.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops (it only stops on shutdown or a listener failure).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for RpcServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `chain` on `addr` (use `127.0.0.1:0` for a free port). Binds before returning, so a
/// port in use is an error here and not later.
pub async fn serve_rpc(chain: EmbeddedChain, addr: SocketAddr) -> ChainResult<RpcServer> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| ChainError::Transport {
            endpoint: addr.to_string(),
            reason: format!("cannot listen: {e}"),
        })?;
    let addr = listener.local_addr().map_err(|e| ChainError::Transport {
        endpoint: addr.to_string(),
        reason: e.to_string(),
    })?;
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/v1/query", post(query))
        .route("/v1/submit", post(submit))
        .route("/v1/blocks/next", get(next_block))
        .fallback(|| async { error(WireErrorKind::NotFound, "no such route".into()) })
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(chain);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(err) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%err, "chain rpc server stopped");
        }
    });
    tracing::info!(%addr, "chain rpc listening");
    Ok(RpcServer {
        addr,
        stop: Some(stop),
        task,
    })
}

fn error(kind: WireErrorKind, detail: String) -> Response {
    wire_error(WireError {
        kind,
        name: None,
        detail,
    })
}

fn wire_error(err: WireError) -> Response {
    let status =
        StatusCode::from_u16(err.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(err)).into_response()
}

fn chain_error(err: &ChainError) -> Response {
    if matches!(err, ChainError::Storage(_)) {
        tracing::error!(%err, "chain state store failed");
    }
    wire_error(WireError::from(err))
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, WireError> {
    if body.len() > MAX_REQUEST_BYTES {
        return Err(WireError {
            kind: WireErrorKind::TooLarge,
            name: None,
            detail: format!("{} bytes, at most {MAX_REQUEST_BYTES}", body.len()),
        });
    }
    serde_json::from_slice(body).map_err(|e| WireError {
        kind: WireErrorKind::InvalidRequest,
        name: None,
        detail: e.to_string(),
    })
}

async fn query(State(chain): State<EmbeddedChain>, body: Bytes) -> Response {
    let q: Query = match parse(&body) {
        Ok(q) => q,
        Err(err) => return wire_error(err),
    };
    match chain.query_now(&q) {
        Ok(out) => axum::Json(out).into_response(),
        Err(err) => chain_error(&err),
    }
}

async fn submit(State(chain): State<EmbeddedChain>, body: Bytes) -> Response {
    let signed: SignedCall = match parse(&body) {
        Ok(s) => s,
        Err(err) => return wire_error(err),
    };
    let call = match signed.verify(&chain.genesis_hash()) {
        Ok(call) => call,
        Err(err) => return wire_error(err),
    };
    match chain.submit_with_nonce(&signed.signer, signed.nonce, &call) {
        Ok(out) => {
            tracing::debug!(call = call.name(), signer = %signed.signer, "rpc call applied");
            axum::Json(out).into_response()
        }
        Err(err) => {
            tracing::debug!(call = call.name(), signer = %signed.signer, %err, "rpc call refused");
            chain_error(&err)
        }
    }
}

#[derive(Deserialize)]
struct After {
    after: u64,
}

async fn next_block(
    State(chain): State<EmbeddedChain>,
    UrlQuery(after): UrlQuery<After>,
) -> Response {
    let block = chain.wait_for_block_after(after.after, LONG_POLL).await;
    axum::Json(serde_json::json!({ "block": block })).into_response()
}
