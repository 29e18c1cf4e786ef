//! The request pipeline, in the SDK's order: route lookup, header checks, blacklist (on the
//! claimed hotkey), verification (SDK signature and nonce, or btauth/1), body parse and hash
//! check, priority queue, handler with timeout, response.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use omron_keys::{AccountId, Signature};
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use super::priority::{GateError, PriorityGate};
use super::rejection::{
    Blacklisted, BodiesInFlight, HeadersTooLarge, MalformedHeader, MethodNotAllowed, Overloaded,
    PayloadTooLarge, Rejection, ResponseTimeout, UnknownSynapse,
};
use super::route::{AuthScheme, CallContext, CallerInfo, Route};
use super::{AxonConfig, BlacklistFn, PriorityFn};
use crate::body_hash::body_hash_of;
use crate::btauth::{self, ReplayStore};
use crate::headers::{self, python_float, sanitize_value, terminal_info_headers};
use crate::ids::Clock;
use crate::json::{self, JsonObject, JsonValue};
use crate::legacy::{NonceStore, VerifyError, dendrite_message, verify_sdk_signature};
use crate::synapse::{SynapseBase, TerminalInfo};

/// Everything a request needs, shared by all connections.
pub(crate) struct AxonState {
    pub(crate) hotkey: AccountId,
    pub(crate) hotkey_ss58: String,
    /// Served synapses, `Synapse` (ping) first, then in registration order.
    pub(crate) routes: Vec<(String, Arc<dyn Route>)>,
    pub(crate) blacklist: Option<BlacklistFn>,
    pub(crate) priority: Option<PriorityFn>,
    pub(crate) config: AxonConfig,
    pub(crate) nonces: NonceStore,
    pub(crate) replays: ReplayStore,
    pub(crate) gate: Arc<PriorityGate>,
    /// Request bytes in flight, in [`BUDGET_UNIT`]s (see `AxonConfig::max_body_bytes_in_flight`).
    pub(crate) body_budget: Arc<Semaphore>,
    pub(crate) clock: Clock,
    pub(crate) local_addr: SocketAddr,
}

/// Bytes per permit of the body budget: semaphores take `u32` permit counts per acquire.
const BUDGET_UNIT: usize = 1024;

/// Permits for `bytes` bytes (at least one, so that empty bodies are counted as requests).
pub(crate) fn budget_units(bytes: usize) -> usize {
    bytes.div_ceil(BUDGET_UNIT).max(1)
}

/// What the error response echoes about the request.
struct Echo {
    name: String,
    timeout: f64,
    dendrite: TerminalInfo,
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn parse_header<T: std::str::FromStr>(
    headers: &HeaderMap,
    name: &'static str,
    what: &str,
) -> Result<Option<T>, Rejection> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .map(Some)
            .ok_or_else(|| {
                MalformedHeader {
                    header: name,
                    reason: format!("is not {what}"),
                }
                .into()
            }),
    }
}

impl AxonState {
    fn route(&self, name: &str) -> Option<&Arc<dyn Route>> {
        self.routes.iter().find(|(n, _)| n == name).map(|(_, r)| r)
    }

    fn axon_info(&self) -> TerminalInfo {
        TerminalInfo {
            ip: Some(
                self.config
                    .external_ip
                    .clone()
                    .unwrap_or_else(|| self.local_addr.ip().to_string()),
            ),
            port: Some(self.config.external_port.unwrap_or(self.local_addr.port())),
            hotkey: Some(self.hotkey_ss58.clone()),
            ..TerminalInfo::default()
        }
    }
}

/// Serves one request; never fails (every failure becomes a response).
pub(crate) async fn dispatch(
    state: Arc<AxonState>,
    peer: SocketAddr,
    req: http::Request<Incoming>,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let mut echo = Echo {
        name: "Synapse".to_owned(),
        timeout: state.config.default_timeout_secs,
        dendrite: TerminalInfo {
            ip: Some(peer.ip().to_string()),
            port: Some(peer.port()),
            ..TerminalInfo::default()
        },
    };
    match handle(&state, peer, req, started, &mut echo).await {
        Ok(response) => response,
        Err(rejection) => {
            match &rejection {
                Rejection::InternalError(e) => {
                    warn!(id = %e.id, cause = ?e.cause, synapse = %echo.name, %peer, "axon internal error");
                }
                other => {
                    debug!(status = other.status(), reason = %other, synapse = %echo.name, %peer, "axon rejected request");
                }
            }
            error_response(&state, &echo, &rejection, started)
        }
    }
}

async fn handle(
    state: &Arc<AxonState>,
    peer: SocketAddr,
    req: http::Request<Incoming>,
    started: Instant,
    echo: &mut Echo,
) -> Result<Response<Full<Bytes>>, Rejection> {
    let (parts, body) = req.into_parts();
    let name = parts.uri.path().trim_start_matches('/').to_owned();
    let route = match state.route(&name) {
        Some(r) => r.clone(),
        None => {
            return Err(UnknownSynapse {
                name,
                available: state.routes.iter().map(|(n, _)| n.clone()).collect(),
            }
            .into());
        }
    };
    echo.name.clone_from(&name);
    if parts.method != Method::POST && parts.method != Method::GET {
        return Err(MethodNotAllowed {
            method: parts.method.to_string(),
        }
        .into());
    }
    let headers = &parts.headers;
    let header_bytes: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > state.config.max_header_bytes {
        return Err(HeadersTooLarge {
            limit: state.config.max_header_bytes,
            actual: header_bytes,
        }
        .into());
    }
    let timeout_header: Option<f64> = parse_header(headers, headers::TIMEOUT, "a number")?;
    let timeout = timeout_header
        .filter(|t| t.is_finite() && *t > 0.0)
        .unwrap_or(state.config.default_timeout_secs)
        .min(state.config.nonce_rules.max_timeout_secs);
    echo.timeout = timeout_header.unwrap_or(state.config.default_timeout_secs);

    let scheme = if btauth::is_btauth(headers) {
        AuthScheme::BtAuth1
    } else {
        AuthScheme::Sdk
    };
    // The claimed hotkey, for the blacklist (which, as in the SDK, runs before verification).
    let claimed = match scheme {
        AuthScheme::BtAuth1 => btauth::claimed_hotkey(headers)?,
        AuthScheme::Sdk => {
            let text = header_str(headers, headers::DENDRITE_HOTKEY)
                .filter(|s| !s.is_empty())
                .ok_or(VerifyError::MissingHotkey)?;
            AccountId::from_ss58(text).map_err(|e| VerifyError::InvalidHotkey {
                hotkey: text.to_owned(),
                reason: e.to_string(),
            })?
        }
    };
    echo.dendrite.hotkey = Some(claimed.to_ss58());
    let info = CallerInfo {
        synapse: &name,
        hotkey: &claimed,
        peer,
        scheme,
    };
    if let Some(blacklist) = &state.blacklist
        && let Some(reason) = blacklist(&info)
    {
        return Err(Blacklisted { reason }.into());
    }

    // The body is needed to verify btauth/1 (it is signed); read it with a hard limit.
    let declared = parse_header::<u64>(headers, "content-length", "an integer")?;
    if let Some(len) = declared
        && len > state.config.max_body_bytes as u64
    {
        return Err(PayloadTooLarge {
            limit: state.config.max_body_bytes,
        }
        .into());
    }
    // Reserve the body's bytes (the limit when no length is declared) until the answer is
    // sent: the raw body and its parsed synapse live that long.
    let reserve = declared.map_or(state.config.max_body_bytes, |len| len as usize);
    let units = u32::try_from(budget_units(reserve)).unwrap_or(u32::MAX);
    let _body_permit = state
        .body_budget
        .clone()
        .try_acquire_many_owned(units)
        .map_err(|_| BodiesInFlight {
            limit: state.config.max_body_bytes_in_flight,
        })?;
    let body = Limited::new(body, state.config.max_body_bytes)
        .collect()
        .await
        .map_err(|_| PayloadTooLarge {
            limit: state.config.max_body_bytes,
        })?
        .to_bytes();

    let now = (state.clock)();
    let ctx = match scheme {
        AuthScheme::BtAuth1 => {
            let target = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let caller = btauth::verify_request(
                headers,
                &body,
                parts.method.as_str(),
                target,
                &state.hotkey,
                now,
                &state.replays,
            )?;
            echo.dendrite.nonce = Some(caller.nonce);
            CallContext {
                caller: caller.hotkey,
                peer,
                scheme,
                nonce: caller.nonce,
                timeout_secs: timeout,
                header_body_hash: None,
            }
        }
        AuthScheme::Sdk => {
            let nonce = verify_sdk(state, headers, &claimed, timeout_header, now, echo)?;
            CallContext {
                caller: claimed,
                peer,
                scheme,
                nonce,
                timeout_secs: timeout,
                header_body_hash: Some(
                    header_str(headers, headers::COMPUTED_BODY_HASH)
                        .unwrap_or("")
                        .to_owned(),
                ),
            }
        }
    };
    let caller = ctx.caller;
    let nonce = ctx.nonce;
    let prepared = route.prepare(&body, ctx)?;

    let deadline = started + Duration::from_secs_f64(timeout);
    let priority = state.priority.as_ref().map_or(0.0, |p| p(&info));
    let remaining = deadline.saturating_duration_since(Instant::now());
    let _permit = state
        .gate
        .acquire(priority, remaining)
        .await
        .map_err(|e| -> Rejection {
            match e {
                GateError::Full => Overloaded {
                    queue: state.config.max_queued_requests,
                }
                .into(),
                GateError::Timeout => ResponseTimeout { seconds: timeout }.into(),
            }
        })?;
    let remaining = deadline.saturating_duration_since(Instant::now());
    let fields = tokio::time::timeout(remaining, prepared.run)
        .await
        .map_err(|_| ResponseTimeout { seconds: timeout })??;

    debug!(synapse = %name, hotkey = %caller, nonce, ?scheme, "axon served request");
    Ok(success_response(
        state,
        &name,
        route.hash_fields(),
        prepared.base,
        fields,
        &echo.dendrite,
        started,
    ))
}

/// The SDK's `default_verify`, stricter where noted in [`crate::legacy`]. Returns the nonce.
fn verify_sdk(
    state: &AxonState,
    headers: &HeaderMap,
    claimed: &AccountId,
    timeout: Option<f64>,
    now: u64,
    echo: &mut Echo,
) -> Result<u64, Rejection> {
    let hotkey_text = header_str(headers, headers::DENDRITE_HOTKEY).unwrap_or("");
    let nonce: u64 = parse_header(headers, headers::DENDRITE_NONCE, "an integer")?
        .ok_or(VerifyError::MissingNonce)?;
    let _version: Option<u64> = parse_header(headers, headers::DENDRITE_VERSION, "an integer")?;
    let uuid = header_str(headers, headers::DENDRITE_UUID).unwrap_or("None");
    echo.dendrite.nonce = Some(nonce);
    echo.dendrite.uuid = Some(uuid.to_owned());
    let rules = &state.config.nonce_rules;
    rules.check_fresh(nonce, timeout, now)?;
    state.nonces.check(claimed, uuid, nonce)?;
    let signature_text = header_str(headers, headers::DENDRITE_SIGNATURE)
        .filter(|s| !s.is_empty())
        .ok_or(VerifyError::MissingSignature)?;
    let signature =
        Signature::from_hex(signature_text).map_err(|_| VerifyError::SignatureFormat)?;
    let body_hash = header_str(headers, headers::COMPUTED_BODY_HASH).unwrap_or("");
    let message = dendrite_message(nonce, hotkey_text, &state.hotkey_ss58, uuid, body_hash);
    if !verify_sdk_signature(claimed, message.as_bytes(), &signature) {
        return Err(VerifyError::SignatureMismatch {
            message,
            signature: signature_text.to_owned(),
        }
        .into());
    }
    state.nonces.commit(claimed, uuid, nonce, rules, now)?;
    Ok(nonce)
}

fn set_header(map: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(&sanitize_value(value)),
    ) {
        map.insert(n, v);
    }
}

fn json_response(status: u16, body: Vec<u8>, headers: HeaderMap) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let map = response.headers_mut();
    map.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    map.extend(headers);
    response
}

fn success_response(
    state: &AxonState,
    name: &str,
    hash_fields: &[&str],
    mut base: SynapseBase,
    fields: JsonObject,
    dendrite: &TerminalInfo,
    started: Instant,
) -> Response<Full<Bytes>> {
    let mut axon = state.axon_info();
    axon.status_code = Some(200);
    axon.status_message = Some("Success".to_owned());
    axon.process_time = Some(started.elapsed().as_secs_f64());
    base.name = Some(name.to_owned());
    base.axon = axon;
    // Echo the verified request facts, not the body's (unauthenticated) dendrite block.
    base.dendrite = dendrite.clone();
    base.computed_body_hash = Some(String::new());
    let mut object = match json::to_value(&base) {
        Ok(JsonValue::Object(o)) => o,
        _ => JsonObject::new(),
    };
    let body_hash = body_hash_of(&fields, hash_fields).unwrap_or_default();
    for (k, v) in fields {
        object.insert(k, v);
    }
    let mut headers = HeaderMap::new();
    set_header(&mut headers, headers::NAME, name);
    set_header(
        &mut headers,
        headers::TIMEOUT,
        &python_float(base.timeout.unwrap_or(state.config.default_timeout_secs)),
    );
    for (k, v) in terminal_info_headers(headers::AXON_PREFIX, &base.axon)
        .into_iter()
        .chain(terminal_info_headers(
            headers::DENDRITE_PREFIX,
            &base.dendrite,
        ))
    {
        set_header(&mut headers, &k, &v);
    }
    set_header(&mut headers, headers::COMPUTED_BODY_HASH, &body_hash);
    json_response(
        200,
        JsonValue::Object(object).to_json_string().into_bytes(),
        headers,
    )
}

fn error_response(
    state: &AxonState,
    echo: &Echo,
    rejection: &Rejection,
    started: Instant,
) -> Response<Full<Bytes>> {
    let status = rejection.status();
    let message = rejection.to_string();
    let mut axon = state.axon_info();
    axon.status_code = Some(status);
    axon.status_message = Some(message.clone());
    axon.process_time = Some(started.elapsed().as_secs_f64());
    let mut headers = HeaderMap::new();
    set_header(&mut headers, headers::NAME, &echo.name);
    set_header(&mut headers, headers::TIMEOUT, &python_float(echo.timeout));
    for (k, v) in terminal_info_headers(headers::AXON_PREFIX, &axon)
        .into_iter()
        .chain(terminal_info_headers(
            headers::DENDRITE_PREFIX,
            &echo.dendrite,
        ))
    {
        set_header(&mut headers, &k, &v);
    }
    let mut body = JsonObject::new();
    body.insert("message", JsonValue::String(message));
    json_response(
        status,
        JsonValue::Object(body).to_json_string().into_bytes(),
        headers,
    )
}
