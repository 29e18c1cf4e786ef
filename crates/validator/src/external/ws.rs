//! The external API's HTTP side: `GET /rpc` (WebSocket, JSON-RPC 2.0), `GET /circuits`,
//! `GET /health`.
//!
//! Authentication happens once, at the upgrade: a refused caller gets an HTTP error whose body
//! names the reason (`{"error": ...}`), before any WebSocket exists. On an open connection
//! each text frame is one request, handled in its own task; answers go back as they complete,
//! matched by `id`. A frame over the size limit closes that connection (close code 1009);
//! nothing a caller sends affects other connections.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use futures::{SinkExt, StreamExt};
use omron_api::auth::{self, AuthError, AuthHeaders};
use omron_api::rpc::{
    self, ErrorObject, ProofOfComputationParams, ProofOfWeightsParams, RpcRequest, RpcResponse,
    codes,
};
use omron_keys::AccountId;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::circuits;
use crate::external_state::{ExternalState, Job, JobInput, PERMIT_CACHE, lock};
use crate::shared::Shared;

/// Answers queued per connection before the writer applies backpressure.
const OUTBOX: usize = 64;

#[derive(Clone)]
pub(crate) struct ApiState {
    pub(crate) shared: Arc<Shared>,
    pub(crate) external: Arc<ExternalState>,
}

/// The external API's routes.
pub(crate) fn router(state: ApiState) -> Router {
    Router::new()
        .route("/rpc", get(upgrade))
        .route("/circuits", get(get_circuits))
        .route("/health", get(get_health))
        .with_state(state)
}

async fn get_health(State(s): State<ApiState>) -> Json<Value> {
    let snapshot = s.shared.snapshot();
    Json(json!({
        "status": "ok",
        "uid": snapshot.validator_uid,
        "hotkey": s.shared.hotkey_ss58,
        "netuid": s.shared.config.netuid,
        "block": s.shared.block(),
        "queued": s.external.queued(),
        "circuits": s.shared.all_circuits.len(),
        "certificate_sha256": s.external.fingerprint,
    }))
}

async fn get_circuits(State(s): State<ApiState>) -> Json<Vec<omron_api::CircuitInfo>> {
    let times = s.shared.circuit_times();
    Json(
        s.shared
            .all_circuits
            .iter()
            .map(|c| circuits::circuit_info(c, times.get(&c.id()).copied()))
            .collect(),
    )
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn upgrade(State(s): State<ApiState>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    let netuid = match headers
        .get(auth::NETUID)
        .map(|v| v.to_str().map(str::parse::<u16>))
    {
        None => None,
        Some(Ok(Ok(n))) => Some(n),
        Some(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("malformed header {}: expected a netuid", auth::NETUID),
            );
        }
    };
    let origin = match authorize(&s, &headers, netuid).await {
        Ok(k) => k,
        Err(e) => {
            tracing::info!(error = %e, "external API connection refused");
            s.shared
                .metrics
                .external_request("connect", "refused", None);
            return refuse(StatusCode::UNAUTHORIZED, e.to_string());
        }
    };
    let open = s.external.connections.fetch_add(1, Ordering::SeqCst);
    if open >= s.external.config.max_connections {
        s.external.connections.fetch_sub(1, Ordering::SeqCst);
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("busy: {open} connections open, the most this validator takes"),
        );
    }
    s.shared.metrics.set_external_connections(open + 1);
    let max = s.external.config.max_message_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move {
            connection(s.clone(), socket, origin, netuid).await;
            let left = s.external.connections.fetch_sub(1, Ordering::SeqCst) - 1;
            s.shared.metrics.set_external_connections(left);
        })
}

/// Checks the signature headers and that the key may use the API.
async fn authorize(
    s: &ApiState,
    headers: &HeaderMap,
    netuid: Option<u16>,
) -> Result<AccountId, AuthError> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if !s.external.config.verify_signatures {
        // Development only (said loudly at start): any caller, named by its header if any.
        return Ok(get(auth::ORIGIN)
            .and_then(|o| AccountId::from_ss58(&o).ok())
            .unwrap_or(AccountId([0; 32])));
    }
    let hdrs = AuthHeaders::read(get)?;
    let now = auth::unix_now();
    let (key, ts, signature) = hdrs.verify(now)?;
    if !allowed(s, &key, netuid).await {
        return Err(AuthError::NotAllowed(key.to_ss58()));
    }
    lock(&s.external.replay).accept(&signature, ts, now)?;
    Ok(key)
}

/// Whitelisted, or a validator-permit holder on the subnet named by `x-netuid`.
async fn allowed(s: &ApiState, key: &AccountId, netuid: Option<u16>) -> bool {
    if s.external.config.whitelist.contains(key) {
        return true;
    }
    let Some(netuid) = netuid else {
        return false;
    };
    if netuid == s.shared.config.netuid {
        return s
            .shared
            .snapshot()
            .metagraph
            .neurons
            .iter()
            .any(|n| n.hotkey == *key && n.validator_permit);
    }
    if let Some((at, keys)) = lock(&s.external.permits).get(&netuid)
        && at.elapsed() < PERMIT_CACHE
    {
        return keys.contains(key);
    }
    match s.shared.chain.metagraph(netuid).await {
        Ok(m) => {
            let keys: std::collections::HashSet<AccountId> = m
                .neurons
                .iter()
                .filter(|n| n.validator_permit)
                .map(|n| n.hotkey)
                .collect();
            let ok = keys.contains(key);
            lock(&s.external.permits).insert(netuid, (Instant::now(), keys));
            ok
        }
        Err(e) => {
            tracing::warn!(netuid, error = %e, "cannot read validator permits for x-netuid");
            false
        }
    }
}

/// One WebSocket connection: reads frames, answers each from its own task.
async fn connection(s: ApiState, socket: WebSocket, origin: AccountId, netuid: Option<u16>) {
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(OUTBOX);
    let writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            let closing = matches!(m, Message::Close(_));
            if sink.send(m).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let mut stop = s.shared.stop.clone();
    let mut handlers = tokio::task::JoinSet::new();
    loop {
        let frame = tokio::select! {
            f = stream.next() => f,
            _ = stop.changed() => {
                let _ = out_tx.send(Message::Close(Some(CloseFrame {
                    code: 1001,
                    reason: "validator shutting down".into(),
                }))).await;
                break;
            }
            Some(_) = handlers.join_next(), if !handlers.is_empty() => continue,
        };
        let text = match frame {
            Some(Ok(Message::Text(t))) => t.to_string(),
            Some(Ok(Message::Binary(_))) => {
                let resp = RpcResponse::err(
                    Value::Null,
                    ErrorObject::new(
                        codes::INVALID_REQUEST,
                        "binary frames are not JSON-RPC: send text",
                    ),
                );
                let _ = out_tx.send(Message::Text(encode(&resp).into())).await;
                continue;
            }
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                // Over the size limit, or a broken frame: this connection ends, others go on.
                tracing::info!(origin = %origin.to_ss58(), error = %e, "external API connection closed");
                break;
            }
        };
        let s = s.clone();
        let out = out_tx.clone();
        handlers.spawn(async move {
            let resp = handle(&s, origin, netuid, &text).await;
            let _ = out.send(Message::Text(encode(&resp).into())).await;
        });
    }
    // Answers still being worked on are finished and sent if the peer is still there.
    while handlers.join_next().await.is_some() {}
    drop(out_tx);
    let _ = writer.await;
}

fn encode(resp: &RpcResponse) -> String {
    serde_json::to_string(resp).unwrap_or_else(|e| {
        format!(r#"{{"jsonrpc":"2.0","id":null,"error":{{"code":{},"message":"cannot encode the answer: {e}"}}}}"#, codes::INTERNAL_ERROR)
    })
}

/// One request frame to its answer.
async fn handle(s: &ApiState, origin: AccountId, netuid: Option<u16>, text: &str) -> RpcResponse {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return RpcResponse::err(
                Value::Null,
                ErrorObject::new(codes::PARSE_ERROR, format!("not JSON: {e}")),
            );
        }
    };
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    let req = match serde_json::from_value::<RpcRequest>(value) {
        Ok(r) if r.jsonrpc == rpc::JSONRPC => r,
        Ok(r) => {
            return RpcResponse::err(
                id,
                ErrorObject::new(
                    codes::INVALID_REQUEST,
                    format!("jsonrpc must be \"2.0\", not {:?}", r.jsonrpc),
                ),
            );
        }
        Err(e) => {
            return RpcResponse::err(
                id,
                ErrorObject::new(
                    codes::INVALID_REQUEST,
                    format!("not a JSON-RPC request: {e}"),
                ),
            );
        }
    };
    let method = req.method.clone();
    match serve(s, origin, netuid, req).await {
        Ok(result) => RpcResponse::ok(id, result),
        Err(e) => {
            let label = match e.code {
                codes::BUSY => "busy",
                codes::REQUEST_FAILED => "failed",
                _ => "refused",
            };
            if label == "refused" {
                s.shared
                    .metrics
                    .external_request(metric_method(&method), label, None);
            }
            RpcResponse::err(id, e)
        }
    }
}

fn metric_method(method: &str) -> &'static str {
    match method {
        rpc::PROOF_OF_COMPUTATION => rpc::PROOF_OF_COMPUTATION,
        rpc::PROOF_OF_WEIGHTS => rpc::PROOF_OF_WEIGHTS,
        _ => "other",
    }
}

fn params<T: serde::de::DeserializeOwned>(method: &str, v: Value) -> Result<T, ErrorObject> {
    serde_json::from_value(v)
        .map_err(|e| ErrorObject::new(codes::INVALID_PARAMS, format!("{method} params: {e}")))
}

/// Checks, queues and waits for one request.
async fn serve(
    s: &ApiState,
    origin: AccountId,
    netuid: Option<u16>,
    req: RpcRequest,
) -> Result<Value, ErrorObject> {
    let circuits = &s.shared.all_circuits;
    let (method, circuit, input, hash_source) = match req.method.as_str() {
        rpc::PROOF_OF_COMPUTATION => {
            let p: ProofOfComputationParams = params(&req.method, req.params)?;
            let circuit = circuits::resolve(circuits, &p.circuit)?.clone();
            let input = circuits::computation_input(&circuit, &p.input)?;
            let src = json!({"method": rpc::PROOF_OF_COMPUTATION, "circuit": circuit.id(), "input": p.input});
            (rpc::PROOF_OF_COMPUTATION, circuit, input, src)
        }
        rpc::PROOF_OF_WEIGHTS => {
            let p: ProofOfWeightsParams = params(&req.method, req.params)?;
            let netuid = netuid.ok_or_else(|| {
                ErrorObject::new(
                    codes::INVALID_PARAMS,
                    "omron.proof_of_weights needs the x-netuid header naming the subnet",
                )
            })?;
            let circuit = circuits::resolve_weights(circuits, netuid, p.weights_version)?.clone();
            let input = circuits::weights_input(&circuit, &p.evaluation_data)?;
            let src = json!({"method": rpc::PROOF_OF_WEIGHTS, "circuit": circuit.id(), "evaluation_data": p.evaluation_data});
            (rpc::PROOF_OF_WEIGHTS, circuit, input, src)
        }
        other => {
            return Err(ErrorObject::new(
                codes::METHOD_NOT_FOUND,
                format!(
                    "unknown method '{other}' (methods: {}, {})",
                    rpc::PROOF_OF_COMPUTATION,
                    rpc::PROOF_OF_WEIGHTS
                ),
            ));
        }
    };
    let in_flight = s.external.limits.admit(origin, Instant::now())?;
    // The same input is proven once, as the original's hash guard does for external requests.
    let guarded = match &input {
        JobInput::Computation { input } => crate::benchmark::input_json(input),
        JobInput::Weights { evaluation_data } => evaluation_data.clone(),
    };
    let guard_hash = omron_scoring::input_hash(&guarded);
    let fresh = s
        .shared
        .with_store(move |st| crate::benchmark::admit_value(st, &guarded))
        .await
        .map_err(|e| ErrorObject::new(codes::INTERNAL_ERROR, format!("validator store: {e}")))?;
    if !fresh {
        return Err(ErrorObject::new(
            codes::INVALID_PARAMS,
            "this exact input was already proven (hash guard): send another nonce or batch",
        ));
    }
    let timeout = Duration::from_secs(circuit.timeout_secs());
    let received = Instant::now();
    // Time for a retry after a miner that timed out, plus the original's 10 s in the queue.
    let deadline = received + timeout * 2 + Duration::from_secs(10);
    let (reply, answer) = oneshot::channel();
    let job = Job {
        method,
        origin,
        circuit,
        input,
        request_hash: omron_api::canonical::hash(&hash_source),
        received,
        deadline,
        reply,
    };
    match s.external.queue.try_send(job) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            // Nothing was sent to a miner: the same input may come back once there is room.
            let forget = s
                .shared
                .with_store(move |st| st.remove_hash(&guard_hash))
                .await;
            if let Err(e) = forget {
                tracing::warn!(error = %e, "hash guard entry of a refused request not removed");
            }
            s.shared.metrics.external_request(method, "busy", None);
            in_flight.refund();
            return Err(ErrorObject::new(
                codes::BUSY,
                format!(
                    "validator busy: {} requests already waiting; try again shortly",
                    s.external.config.queue_capacity
                ),
            ));
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            return Err(ErrorObject::new(
                codes::SHUTTING_DOWN,
                "validator shutting down",
            ));
        }
    }
    s.shared.metrics.set_external_queue(s.external.queued());
    match tokio::time::timeout(
        deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(5),
        answer,
    )
    .await
    {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(ErrorObject::new(
            codes::SHUTTING_DOWN,
            "validator shutting down: request dropped",
        )),
        Err(_) => Err(
            ErrorObject::new(codes::REQUEST_FAILED, "Request processing failed")
                .with_data(json!("Request timed out")),
        ),
    }
}
