//! Shared helpers: paths to the vectors, the known wallets.
#![allow(dead_code)] // helpers used by later test modules

use std::path::PathBuf;

use omron_bittensor::wallet::Wallet;
use omron_keys::{AccountId, Keypair};

/// `../shared/data/bittensor-wire`.
pub(crate) fn wire_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/bittensor-wire")
}

/// The vectors' wallet root.
pub(crate) fn wallets_dir() -> PathBuf {
    wire_dir().join("wallets")
}

/// The known coldkey password.
pub(crate) const PASSWORD: &str = "btwire-Test-Passw0rd!";

/// Reads a JSON vector file.
pub(crate) fn load_json(rel: &str) -> serde_json::Value {
    let path = wire_dir().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("vector is JSON")
}

/// A wallet of the vectors.
pub(crate) fn wallet(name: &str, hotkey: &str) -> Wallet {
    Wallet::new(wallets_dir(), name, hotkey).unwrap()
}

/// The validator's hotkey (the dendrite in the captures).
pub(crate) fn validator_hotkey() -> Keypair {
    wallet("validator", "default").hotkey().unwrap()
}

/// The blacklisted "stranger" hotkey.
pub(crate) fn stranger_hotkey() -> Keypair {
    wallet("validator", "stranger").hotkey().unwrap()
}

/// The miner's hotkey (the axon in the captures).
pub(crate) fn miner_hotkey() -> Keypair {
    wallet("miner", "default").hotkey().unwrap()
}

/// An address from its ss58 text.
pub(crate) fn account(ss58: &str) -> AccountId {
    AccountId::from_ss58(ss58).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The capture harness's protocol (scripts/protocol.py) and axon (scripts/axon_server.py).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use omron_bittensor::axon::{Axon, AxonConfig, AxonHandle, HandlerError, Request};
use omron_bittensor::json::{JsonObject, JsonValue};
use omron_bittensor::synapse::{FieldType, Synapse};
use serde::{Deserialize, Serialize};

/// `QueryZkProof` of the capture harness: `query_input` is hashed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct QueryZkProof {
    #[serde(default)]
    pub(crate) query_input: Option<JsonObject>,
    #[serde(default)]
    pub(crate) query_output: Option<String>,
}

impl Synapse for QueryZkProof {
    const NAME: &'static str = "QueryZkProof";
    const REQUIRED_HASH_FIELDS: &'static [&'static str] = &["query_input"];
}

/// A synapse whose handler fails.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct FailingQuery {
    #[serde(default)]
    pub(crate) payload: Option<String>,
}

impl Synapse for FailingQuery {
    const NAME: &'static str = "FailingQuery";
}

/// A synapse no axon serves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct UnknownQuery {
    #[serde(default)]
    pub(crate) payload: Option<String>,
}

impl Synapse for UnknownQuery {
    const NAME: &'static str = "UnknownQuery";
}

/// The handler answers with the caller it believes in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct WhoAmI {
    #[serde(default)]
    pub(crate) caller: Option<String>,
}

impl Synapse for WhoAmI {
    const NAME: &'static str = "WhoAmI";
}

/// A synapse with a required (no default), hashed field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RequiredFieldQuery {
    pub(crate) prompt: String,
    #[serde(default)]
    pub(crate) answer: Option<String>,
}

impl Synapse for RequiredFieldQuery {
    const NAME: &'static str = "RequiredFieldQuery";
    const REQUIRED_HASH_FIELDS: &'static [&'static str] = &["prompt"];
    const REQUIRED_FIELDS: &'static [(&'static str, FieldType)] = &[("prompt", FieldType::Str)];
}

/// Python `json.dumps(value, sort_keys=True)` (default separators, `ensure_ascii=True`).
pub(crate) fn python_json_dumps_sorted(value: &JsonValue) -> String {
    fn string(s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
    fn write(v: &JsonValue, out: &mut String) {
        match v {
            JsonValue::Null => out.push_str("null"),
            JsonValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            JsonValue::Int(n) => out.push_str(&n.to_string()),
            JsonValue::Float(f) if f.is_nan() => out.push_str("NaN"),
            JsonValue::Float(f) if f.is_infinite() => {
                out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" })
            }
            JsonValue::Float(_) => out.push_str(&omron_bittensor::json::python_repr(v)),
            JsonValue::String(s) => string(s, out),
            JsonValue::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write(item, out);
                }
                out.push(']');
            }
            JsonValue::Object(o) => {
                let mut entries: Vec<(&str, &JsonValue)> = o.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (k, item)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    string(k, out);
                    out.push_str(": ");
                    write(item, out);
                }
                out.push('}');
            }
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// `"proof:" + sha256(json.dumps(query_input, sort_keys=True))`, the capture axon's answer.
pub(crate) fn capture_proof(input: &JsonObject) -> String {
    use sha2::{Digest, Sha256};
    let text = python_json_dumps_sorted(&JsonValue::Object(input.clone()));
    format!("proof:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// A settable clock (Unix ns) for replaying captured traffic.
#[derive(Clone, Default)]
pub(crate) struct TestClock(pub(crate) Arc<AtomicU64>);

impl TestClock {
    pub(crate) fn set(&self, ns: u64) {
        self.0.store(ns, Ordering::SeqCst);
    }
    pub(crate) fn as_clock(&self) -> omron_bittensor::ids::Clock {
        let inner = self.0.clone();
        Arc::new(move || inner.load(Ordering::SeqCst))
    }
}

/// Our axon set up like the capture harness's Python axon: the miner's hotkey; QueryZkProof,
/// FailingQuery and RequiredFieldQuery in that order; only the validator's hotkey allowed
/// (except on the ping route, which the Python axon does not blacklist). The QueryZkProof
/// handler also reports the verified caller, so tests can see the body's forged hotkey is not
/// used.
pub(crate) async fn capture_axon(
    clock: Option<omron_bittensor::ids::Clock>,
    config: AxonConfig,
) -> AxonHandle {
    capture_axon_with(clock, config, false).await
}

/// [`capture_axon`], optionally also serving [`WhoAmI`] (the interop axons do).
pub(crate) async fn capture_axon_with(
    clock: Option<omron_bittensor::ids::Clock>,
    config: AxonConfig,
    whoami: bool,
) -> AxonHandle {
    let allowed = validator_hotkey().public();
    let mut builder = Axon::builder(miner_hotkey().public())
        .config(config)
        .handler(|req: Request<QueryZkProof>| async move {
            let mut s = req.synapse;
            let input = s.query_input.clone().unwrap_or_default();
            if let Some(secs) = input.get("sleep") {
                let secs = match secs {
                    JsonValue::Int(n) => *n as f64,
                    JsonValue::Float(f) => *f,
                    _ => 0.0,
                };
                tokio::time::sleep(std::time::Duration::from_secs_f64(secs)).await;
            }
            s.query_output = Some(capture_proof(&input));
            Ok::<_, HandlerError>(s)
        })
        .handler(|_req: Request<FailingQuery>| async move {
            Err::<FailingQuery, _>(HandlerError::new("handler exploded on purpose"))
        })
        .handler(|req: Request<RequiredFieldQuery>| async move {
            let mut s = req.synapse;
            s.answer = Some(s.prompt.chars().rev().collect());
            Ok::<_, HandlerError>(s)
        });
    if whoami {
        builder = builder.handler(|req: Request<WhoAmI>| async move {
            Ok::<_, HandlerError>(WhoAmI {
                caller: Some(req.caller.to_ss58()),
            })
        });
    }
    builder = builder
        .blacklist(move |caller| {
            (caller.synapse != "Synapse" && *caller.hotkey != allowed)
                .then(|| format!("Unrecognized hotkey {}", caller.hotkey))
        })
        .priority(|_| 1.0);
    if let Some(clock) = clock {
        builder = builder.clock(clock);
    }
    builder
        .serve("127.0.0.1:0".parse::<SocketAddr>().unwrap())
        .await
        .unwrap()
}

/// A raw HTTP exchange: write `request` bytes, read one response.
pub(crate) async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> RawResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before a full response");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(resp) = RawResponse::parse(&buf) {
            return resp;
        }
    }
}

/// A parsed raw HTTP response (status, lowercase headers, body).
#[derive(Debug, Clone)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl RawResponse {
    /// Parses a complete response with a content-length, or `None` if more bytes are needed.
    pub(crate) fn parse(raw: &[u8]) -> Option<Self> {
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&raw[..end]).ok()?;
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let body = raw.get(end + 4..end + 4 + len)?.to_vec();
        Some(Self {
            status,
            headers,
            body,
        })
    }

    /// A header's value (case-insensitive name).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// `{"message": ...}` of an error answer.
    pub(crate) fn message(&self) -> Option<String> {
        self.json()["message"].as_str().map(str::to_owned)
    }
}

/// Unix ns of an HTTP `date:` header ("Tue, 24 Nov 2026 22:02:27 GMT"), plus half a second.
pub(crate) fn http_date_ns(date: &str) -> u64 {
    let parts: Vec<&str> = date.split_whitespace().collect();
    let day: i64 = parts[1].parse().unwrap();
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])
    .unwrap() as i64
        + 1;
    let year: i64 = parts[3].parse().unwrap();
    let hms: Vec<i64> = parts[4].split(':').map(|x| x.parse().unwrap()).collect();
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
    secs as u64 * 1_000_000_000 + 500_000_000
}
