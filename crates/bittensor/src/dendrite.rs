//! The dendrite: signs requests a Python axon accepts and merges answers as the SDK does.
//!
//! A query never fails with an error: like the SDK, the outcome is in the returned synapse's
//! `dendrite.status_code`/`status_message` (200 success; 408 timeout; 503 unreachable; 422 an
//! answer that cannot be read; otherwise the axon's own code and message), and
//! `dendrite.process_time` is set when an answer arrived.
//!
//! Merge rules (the SDK's `process_server_response`): on HTTP 200 the answer's synapse replaces
//! the local one entirely (inputs the axon did not echo are lost, as in Python); otherwise only
//! `axon.status_code`/`status_message` are set from the HTTP status and the `message` field.
//! Then the `bt_header_axon_*`/`bt_header_dendrite_*` headers are laid over `axon`/`dendrite`,
//! and the dendrite's status is copied from the axon's.
//!
//! Nonces: a dendrite has one UUID and strictly increasing nonces, like the SDK's. An axon
//! (Python or ours) rejects a nonce not above the last one it accepted for that `(hotkey,
//! uuid)`, so two requests racing to the *same* axon may see the later-signed one arrive first
//! and the other refused. Use one `Dendrite` per concurrent purpose (e.g. proofs and capacity
//! checks) when the same axon is queried concurrently.
//!
//! Memory: each answer body is capped ([`DendriteConfig::max_response_bytes`]), and dendrites
//! that share an [`AnswerBudget`] ([`DendriteConfig::answer_budget`]) together hold at most its
//! limit of answer bytes (the policy is on [`AnswerBudget`]).

mod budget;

pub use budget::{AnswerBudget, AnswerReservation, BudgetRefusal};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use omron_keys::{AccountId, Keypair};
use tracing::debug;

use crate::axon::AuthScheme;
use crate::btauth;
use crate::headers::{
    self, overlay_terminal_info, python_float, terminal_info_from_headers, terminal_info_headers,
};
use crate::ids::{Clock, system_clock, uuid4};
use crate::json::{self, JsonValue};
use crate::legacy::{SDK_VERSION_AS_INT, dendrite_message};
use crate::synapse::{Envelope, Synapse, TerminalInfo};

/// Answers at least this large are parsed on a blocking thread, not on the async runtime.
const PARSE_OFF_RUNTIME_BYTES: usize = 256 * 1024;

/// The default cap on one answer body: 8 MiB. The largest honest answer of the shipped
/// circuits is a `QueryZkProof` of the age CNN: its proof is 762 367 bytes (up to 767 KB
/// measured), sent as hex (twice that) inside the `query_output` string, beside the echoed
/// input (249 KB): 1 775 106 bytes of JSON in all (`omron prove` on `circuits/age`, answer
/// rebuilt as the miner writes it). The proof-of-weights answers are smaller (sn48's proof:
/// 478 KB). 8 MiB leaves 4.7 times that, for larger models, without letting one answer cost
/// tens of MB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Where an axon is: its address and the hotkey it answers for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AxonTarget {
    /// IP address (v4 or v6) or host name.
    pub ip: String,
    /// TCP port.
    pub port: u16,
    /// The axon's hotkey (requests are signed for it).
    pub hotkey: AccountId,
}

impl AxonTarget {
    fn url(&self, name: &str) -> String {
        if self.ip.contains(':') {
            format!("http://[{}]:{}/{name}", self.ip, self.port)
        } else {
            format!("http://{}:{}/{name}", self.ip, self.port)
        }
    }
}

/// Dendrite settings.
#[derive(Debug, Clone)]
pub struct DendriteConfig {
    /// The IP reported in `bt_header_dendrite_ip` (the axon replaces it with the TCP peer
    /// anyway); `None` omits it.
    pub external_ip: Option<String>,
    /// How requests are signed.
    pub scheme: AuthScheme,
    /// Largest answer body read, in bytes ([`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub max_response_bytes: usize,
    /// Answer bytes in flight shared with other dendrites; `None`: only the per-answer cap.
    pub answer_budget: Option<Arc<AnswerBudget>>,
}

impl Default for DendriteConfig {
    fn default() -> Self {
        Self {
            external_ip: None,
            scheme: AuthScheme::Sdk,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            answer_budget: None,
        }
    }
}

/// Why a dendrite could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct DendriteError(String);

/// A signing HTTP client for axons.
pub struct Dendrite {
    keypair: Keypair,
    hotkey_ss58: String,
    uuid: String,
    config: DendriteConfig,
    client: reqwest::Client,
    last_nonce: AtomicU64,
    clock: Clock,
}

impl std::fmt::Debug for Dendrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dendrite")
            .field("hotkey", &self.hotkey_ss58)
            .field("uuid", &self.uuid)
            .finish_non_exhaustive()
    }
}

/// The result of [`Dendrite::query`]'s HTTP exchange before merging.
enum Outcome {
    /// An HTTP answer.
    Answer {
        status: u16,
        headers: http::HeaderMap,
        body: AnswerBody,
    },
    /// No usable answer: status and message for the dendrite.
    Failed(u16, String),
}

/// An answer body and the budget bytes it holds, released when it is dropped (after merging).
struct AnswerBody {
    bytes: Vec<u8>,
    held: Option<AnswerReservation>,
}

impl Dendrite {
    /// A dendrite signing with `keypair` (the validator's hotkey), default settings.
    pub fn new(keypair: Keypair) -> Result<Self, DendriteError> {
        Self::with_config(keypair, DendriteConfig::default())
    }

    /// A dendrite with explicit settings.
    pub fn with_config(keypair: Keypair, config: DendriteConfig) -> Result<Self, DendriteError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| DendriteError(e.to_string()))?;
        Ok(Self {
            hotkey_ss58: keypair.public().to_ss58(),
            keypair,
            uuid: uuid4(),
            config,
            client,
            last_nonce: AtomicU64::new(0),
            clock: system_clock(),
        })
    }

    /// Replaces the wall clock used for nonces (tests of stale-nonce handling).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The signing hotkey.
    pub fn hotkey(&self) -> AccountId {
        self.keypair.public()
    }

    /// The per-instance UUID sent with every request.
    pub fn uuid(&self) -> &str {
        &self.uuid
    }

    /// A nonce above every one used before: `max(now, last + 1)`, so a Python axon (which
    /// wants strictly increasing nonces per uuid) never sees a repeat.
    fn next_nonce(&self) -> u64 {
        let now = (self.clock)();
        let mut last = self.last_nonce.load(Ordering::Relaxed);
        loop {
            let next = now.max(last.saturating_add(1));
            match self
                .last_nonce
                .compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(actual) => last = actual,
            }
        }
    }

    /// Queries one axon and returns the merged synapse.
    pub async fn query<S: Synapse>(
        &self,
        target: &AxonTarget,
        synapse: S,
        timeout: Duration,
    ) -> Envelope<S> {
        let started = Instant::now();
        let timeout_secs = timeout.as_secs_f64();
        let mut local = Envelope::new(synapse);
        local.base.timeout = Some(timeout_secs);
        let nonce = self.next_nonce();
        local.base.dendrite = TerminalInfo {
            ip: self.config.external_ip.clone(),
            version: Some(SDK_VERSION_AS_INT),
            nonce: Some(nonce),
            uuid: Some(self.uuid.clone()),
            hotkey: Some(self.hotkey_ss58.clone()),
            ..TerminalInfo::default()
        };
        local.base.axon = TerminalInfo {
            ip: Some(target.ip.clone()),
            port: Some(target.port),
            hotkey: Some(target.hotkey.to_ss58()),
            ..TerminalInfo::default()
        };
        let request = match self.build_request(target, &mut local, nonce, timeout) {
            Ok(r) => r,
            Err(message) => {
                set_status(&mut local, 400, message);
                return local;
            }
        };
        let deadline = started + timeout;
        match self
            .send(request, target, S::NAME, timeout_secs, deadline)
            .await
        {
            Outcome::Failed(code, message) => {
                debug!(axon = %target.hotkey, code, %message, "dendrite query failed");
                set_status(&mut local, code, message);
                local
            }
            Outcome::Answer {
                status,
                headers,
                body,
            } => {
                // A large answer takes long to parse (a 40 MB one took seconds in a debug
                // build): off the async runtime, so it cannot stall every other request.
                let AnswerBody { bytes, held } = body;
                let (mut merged, readable) = if bytes.len() >= PARSE_OFF_RUNTIME_BYTES {
                    let parse = tokio::task::spawn_blocking(move || {
                        merge_answer(local, status, &headers, &bytes)
                    });
                    match parse.await {
                        Ok(merged) => merged,
                        // A blocking task is never cancelled while this future is polled
                        // (only a runtime shutdown would, and it stops polling too): the
                        // error is a panic of the parser, passed on as if it ran here.
                        Err(e) => std::panic::resume_unwind(e.into_panic()),
                    }
                } else {
                    let merged = merge_answer(local, status, &headers, &bytes);
                    drop(bytes);
                    merged
                };
                // The body is dropped (with the blocking task's closure, or just above): its
                // budget bytes are free for other answers.
                drop(held);
                // As in the SDK, process_time is set only when the answer could be read.
                if readable {
                    merged.base.dendrite.process_time = Some(started.elapsed().as_secs_f64());
                }
                merged
            }
        }
    }

    /// Queries many axons concurrently with the same synapse; results are in `targets` order.
    /// Repeated targets are queried one after another (see the body).
    pub async fn query_many<S: Synapse>(
        &self,
        targets: &[AxonTarget],
        synapse: &S,
        timeout: Duration,
    ) -> Vec<Envelope<S>> {
        // Different axons are queried concurrently; requests to the *same* axon go one after
        // another. An axon requires strictly increasing nonces per (hotkey, uuid), so two
        // concurrent requests from this dendrite could arrive out of order and the later nonce
        // would be refused as stale.
        let mut groups: Vec<(&AxonTarget, Vec<usize>)> = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            let same = |g: &&mut (&AxonTarget, Vec<usize>)| {
                g.0.ip == t.ip && g.0.port == t.port && g.0.hotkey == t.hotkey
            };
            match groups.iter_mut().find(same) {
                Some(g) => g.1.push(i),
                None => groups.push((t, vec![i])),
            }
        }
        let per_group = futures::future::join_all(groups.into_iter().map(|(target, indices)| {
            let synapse = synapse.clone();
            async move {
                let mut out = Vec::with_capacity(indices.len());
                for i in indices {
                    out.push((i, self.query(target, synapse.clone(), timeout).await));
                }
                out
            }
        }))
        .await;
        let mut ordered: Vec<Option<Envelope<S>>> = targets.iter().map(|_| None).collect();
        for (i, envelope) in per_group.into_iter().flatten() {
            ordered[i] = Some(envelope);
        }
        ordered.into_iter().flatten().collect()
    }

    fn build_request<S: Synapse>(
        &self,
        target: &AxonTarget,
        local: &mut Envelope<S>,
        nonce: u64,
        timeout: Duration,
    ) -> Result<reqwest::RequestBuilder, String> {
        let body_hash = local
            .body_hash()
            .map_err(|e| format!("Invalid request synapse: {e}"))?;
        let mut pairs: Vec<(String, String)> = vec![
            (headers::NAME.into(), S::NAME.into()),
            (
                headers::TIMEOUT.into(),
                python_float(local.base.timeout.unwrap_or_default()),
            ),
        ];
        let body;
        match self.config.scheme {
            AuthScheme::Sdk => {
                let message = dendrite_message(
                    nonce,
                    &self.hotkey_ss58,
                    &target.hotkey.to_ss58(),
                    &self.uuid,
                    &body_hash,
                );
                local.base.dendrite.signature =
                    Some(self.keypair.sign(message.as_bytes()).to_hex());
                body = local
                    .to_json_bytes()
                    .map_err(|e| format!("Invalid request synapse: {e}"))?;
                pairs.extend(terminal_info_headers(
                    headers::AXON_PREFIX,
                    &local.base.axon,
                ));
                pairs.extend(terminal_info_headers(
                    headers::DENDRITE_PREFIX,
                    &local.base.dendrite,
                ));
                for (field, kind) in S::REQUIRED_FIELDS {
                    pairs.push((
                        format!("{}{field}", headers::INPUT_OBJ_PREFIX),
                        kind.empty_header_value().to_owned(),
                    ));
                }
                pairs.push((headers::COMPUTED_BODY_HASH.into(), body_hash));
            }
            AuthScheme::BtAuth1 => {
                body = local
                    .to_json_bytes()
                    .map_err(|e| format!("Invalid request synapse: {e}"))?;
                let target_path = format!("/{}", S::NAME);
                for (k, v) in btauth::sign_request(
                    &self.keypair,
                    "POST",
                    &target_path,
                    &body,
                    &target.hotkey,
                    nonce,
                ) {
                    pairs.push((k.to_owned(), v));
                }
            }
        }
        let mut builder = self
            .client
            .post(target.url(S::NAME))
            .timeout(timeout)
            .header(http::header::CONTENT_TYPE, "application/json");
        for (k, v) in pairs {
            builder = builder.header(k, headers::sanitize_value(&v));
        }
        Ok(builder.body(body))
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        target: &AxonTarget,
        name: &str,
        timeout_secs: f64,
        deadline: Instant,
    ) -> Outcome {
        let timed_out = || {
            Outcome::Failed(
                408,
                format!(
                    "Request timeout after {} seconds",
                    python_float(timeout_secs)
                ),
            )
        };
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return timed_out(),
            Err(e) if e.is_connect() => {
                return Outcome::Failed(
                    503,
                    format!(
                        "Service unavailable at {}:{}/{name}",
                        target.ip, target.port
                    ),
                );
            }
            Err(e) => return Outcome::Failed(503, format!("Service disconnected: {e}")),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let cap = self.config.max_response_bytes;
        let too_large = || {
            Outcome::Failed(
                422,
                format!("Failed to parse response: body larger than {cap} bytes"),
            )
        };
        let over_budget = |refusal: BudgetRefusal| {
            Outcome::Failed(422, format!("Failed to parse response: {refusal}"))
        };
        // A declared length over the cap is refused before any of the body is read; one within
        // it is reserved whole before reading (see `budget` for why).
        let declared = match response.content_length() {
            Some(len) if len > cap as u64 => return too_large(),
            Some(len) => Some(len as usize),
            None => None,
        };
        let mut held = match &self.config.answer_budget {
            None => None,
            Some(budget) => {
                let wait = deadline.saturating_duration_since(Instant::now());
                match budget.reserve(declared.unwrap_or(0), wait).await {
                    Ok(reservation) => Some(reservation),
                    Err(refusal) => return over_budget(refusal),
                }
            }
        };
        let mut body = Vec::with_capacity(declared.unwrap_or(0));
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let len = body.len() + chunk.len();
                    if len > cap {
                        return too_large();
                    }
                    // Only an undeclared length grows (HTTP/1 stops a declared one at its end).
                    if let Some(h) = held.as_mut()
                        && len > h.bytes()
                        && let Err(refusal) = h.try_grow(len - h.bytes())
                    {
                        return over_budget(refusal);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return timed_out(),
                Err(e) => return Outcome::Failed(422, format!("Failed to parse response: {e}")),
            }
        }
        Outcome::Answer {
            status,
            headers,
            body: AnswerBody { bytes: body, held },
        }
    }
}

fn set_status<S>(local: &mut Envelope<S>, code: u16, message: String) {
    local.base.dendrite.status_code = Some(code);
    local.base.dendrite.status_message = Some(message);
}

/// The SDK's `process_server_response`. The flag is false for an answer that could not be
/// read: then the synapse is the local one with a 422 from the dendrite (the axon's HTTP status
/// may already be recorded).
pub(crate) fn merge_answer<S: Synapse>(
    mut local: Envelope<S>,
    status: u16,
    headers: &http::HeaderMap,
    body: &[u8],
) -> (Envelope<S>, bool) {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        set_status(
            &mut local,
            422,
            format!(
                "Failed to parse response: {status}, message='Attempt to decode JSON with unexpected mimetype: {mime}'"
            ),
        );
        return (local, false);
    }
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match json::parse(body) {
            Ok(v) => Some(v),
            Err(e) => {
                set_status(&mut local, 422, format!("Failed to parse response: {e}"));
                return (local, false);
            }
        }
    };
    if status == 200 {
        let Some(value) = parsed else {
            set_status(
                &mut local,
                422,
                "Failed to parse response: empty body".into(),
            );
            return (local, false);
        };
        match Envelope::<S>::from_value(value) {
            Ok(server) => local = server,
            Err(e) => {
                set_status(&mut local, 422, format!("Failed to parse response: {e}"));
                return (local, false);
            }
        }
    } else {
        local.base.axon.status_code = Some(status);
        match parsed {
            Some(JsonValue::Object(o)) => {
                local.base.axon.status_message = o
                    .get("message")
                    .and_then(JsonValue::as_str)
                    .map(str::to_owned);
            }
            _ => {
                set_status(
                    &mut local,
                    422,
                    "Failed to parse response: error answer without a JSON object".into(),
                );
                return (local, false);
            }
        }
    }
    overlay_terminal_info(
        &mut local.base.dendrite,
        terminal_info_from_headers(headers::DENDRITE_PREFIX, headers),
    );
    overlay_terminal_info(
        &mut local.base.axon,
        terminal_info_from_headers(headers::AXON_PREFIX, headers),
    );
    local.base.dendrite.status_code = local.base.axon.status_code;
    local.base.dendrite.status_message = local.base.axon.status_message.clone();
    (local, true)
}

/// True when a merged answer is a success (`dendrite.status_code == 200`), as `is_success`.
pub fn is_success<S>(envelope: &Envelope<S>) -> bool {
    envelope.base.dendrite.status_code == Some(200)
}
