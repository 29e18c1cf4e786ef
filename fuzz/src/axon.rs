//! HTTP requests into a real axon on loopback: the HTTP/1 reader, header codecs, both signing
//! schemes, the nonce rules, the body reader and the synapse JSON, up to the typed handlers of
//! the subnet's four synapses (which echo what they parsed).
//!
//! Modes (first byte): raw bytes written to the socket as they are; a request signed with
//! btauth/1 over the fuzzer's body (so the signature passes and the body reaches the JSON
//! reader); a request signed with the SDK scheme (whose signature does not cover a body
//! without hashed fields). In the signed modes the fuzzer also picks the synapse name and
//! adds headers. A panic in any axon task aborts the process (libFuzzer's panic hook, or the
//! replay test's), and a signed request must not get a 500: the handlers cannot fail.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use omron_bittensor::axon::{Axon, AxonConfig, HandlerError, Request};
use omron_bittensor::body_hash::body_hash;
use omron_bittensor::btauth::sign_request;
use omron_bittensor::headers::{self, DENDRITE_PREFIX, sanitize_value, terminal_info_headers};
use omron_bittensor::ids::now_ns;
use omron_bittensor::legacy::{SDK_VERSION_AS_INT, dendrite_message};
use omron_bittensor::synapse::TerminalInfo;
use omron_keys::Keypair;
use omron_protocol::{Competition, ProofOfWeightsSynapse, QueryForCapacities, QueryZkProof};

use crate::Bytes;
use crate::fixtures::{key, runtime};

async fn echo<S>(req: Request<S>) -> Result<S, HandlerError> {
    Ok(req.synapse)
}

/// The axon's address, started once per process (it runs until the process ends).
pub fn axon_addr() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let config = AxonConfig {
            max_body_bytes: 1 << 20,
            header_read_timeout: Duration::from_secs(2),
            ..AxonConfig::default()
        };
        let handle = runtime()
            .block_on(
                Axon::builder(key(1).public())
                    .handler(echo::<QueryZkProof>)
                    .handler(echo::<ProofOfWeightsSynapse>)
                    .handler(echo::<QueryForCapacities>)
                    .handler(echo::<Competition>)
                    .config(config)
                    .serve("127.0.0.1:0".parse().expect("loopback address")),
            )
            .expect("axon starts on loopback");
        let addr = handle.local_addr();
        // The handle lives as long as the process; the axon stops with it.
        std::mem::forget(handle);
        addr
    })
}

const NAMES: [&str; 6] = [
    "QueryZkProof",
    "ProofOfWeightsSynapse",
    "QueryForCapacities",
    "Competition",
    "Synapse",
    "Unknown",
];

/// Nonces strictly increase within the process, as one dendrite's do.
fn next_nonce() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = now_ns();
    let prev = LAST.fetch_max(now, Ordering::Relaxed);
    if prev >= now {
        LAST.fetch_add(1, Ordering::Relaxed) + 1
    } else {
        now
    }
}

/// Sends `request` and reads the answer until the axon closes the connection.
pub fn exchange(request: &[u8]) -> Vec<u8> {
    let Ok(mut stream) = TcpStream::connect(axon_addr()) else {
        return Vec::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.write_all(request);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

pub fn signed_request(bytes: &mut Bytes<'_>, btauth: bool) -> Vec<u8> {
    let dendrite: Keypair = key(2);
    let axon_hotkey = key(1).public();
    let name = match NAMES.get(bytes.u8() as usize) {
        Some(n) => (*n).to_owned(),
        None => String::from_utf8_lossy(bytes.chunk()).replace(['\r', '\n', ' ', '/'], ""),
    };
    let mut extra: Vec<(String, String)> = Vec::new();
    for _ in 0..(bytes.u8() % 4) {
        let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(['\r', '\n'], "");
        extra.push((clean(bytes.chunk()).replace(':', ""), clean(bytes.chunk())));
    }
    let body = bytes.rest();
    let nonce = next_nonce();
    let path = format!("/{name}");
    let mut pairs: Vec<(String, String)> = vec![
        (headers::NAME.into(), name.clone()),
        (headers::TIMEOUT.into(), "12.0".into()),
    ];
    if btauth {
        for (k, v) in sign_request(&dendrite, "POST", &path, body, &axon_hotkey, nonce) {
            pairs.push((k.to_owned(), v));
        }
    } else {
        let hash = body_hash(std::iter::empty());
        let uuid = "5a6f2b1c-0000-4000-8000-000000000001";
        let message = dendrite_message(
            nonce,
            &dendrite.public().to_ss58(),
            &axon_hotkey.to_ss58(),
            uuid,
            &hash,
        );
        let info = TerminalInfo {
            version: Some(SDK_VERSION_AS_INT),
            nonce: Some(nonce),
            uuid: Some(uuid.into()),
            hotkey: Some(dendrite.public().to_ss58()),
            signature: Some(dendrite.sign(message.as_bytes()).to_hex()),
            ..TerminalInfo::default()
        };
        pairs.extend(terminal_info_headers(DENDRITE_PREFIX, &info));
        pairs.push(("bt_header_axon_hotkey".into(), axon_hotkey.to_ss58()));
        pairs.push((headers::COMPUTED_BODY_HASH.into(), hash));
    }
    pairs.extend(extra);
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    )
    .into_bytes();
    for (k, v) in pairs {
        if k.is_empty() {
            continue;
        }
        out.extend_from_slice(format!("{k}: {}\r\n", sanitize_value(&v)).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The target.
pub fn run(data: &[u8]) {
    let mut bytes = Bytes::new(data);
    match bytes.u8() % 3 {
        0 => {
            exchange(bytes.rest());
        }
        mode => {
            let request = signed_request(&mut bytes, mode == 1);
            let answer = exchange(&request);
            assert!(
                !answer.starts_with(b"HTTP/1.1 500"),
                "the axon answered 500 to a signed request: {}",
                String::from_utf8_lossy(&answer[..answer.len().min(400)])
            );
        }
    }
}
