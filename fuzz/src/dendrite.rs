//! HTTP answers into the dendrite: a loopback server reads the dendrite's request and writes
//! the fuzzer's bytes back, then the dendrite merges the answer into its synapse as the SDK
//! does, and the validator's reader of `query_output` (proof and public signals) runs on it.
//!
//! Modes (first byte): the whole HTTP answer raw; or a status line and `Content-Length` made by
//! the target around the fuzzer's extra headers and body, so the JSON merge is reached. The
//! query's timeout is short; a server answer never waits.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use omron_bittensor::dendrite::{AxonTarget, Dendrite, is_success};
use omron_protocol::{QueryInput, QueryZkProof};

use crate::Bytes;
use crate::fixtures::{key, runtime};

/// The answer the server writes next.
static ANSWER: Mutex<Vec<u8>> = Mutex::new(Vec::new());

fn read_request(stream: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk) else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return;
            }
        }
    }
}

fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("loopback listener");
        let addr = listener.local_addr().expect("listener address");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                read_request(&mut stream);
                let answer = ANSWER.lock().map(|a| a.clone()).unwrap_or_default();
                let _ = stream.write_all(&answer);
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        });
        addr
    })
}

fn dendrite() -> &'static Dendrite {
    static D: OnceLock<Dendrite> = OnceLock::new();
    D.get_or_init(|| Dendrite::new(key(2)).expect("dendrite client"))
}

fn answer(bytes: &mut Bytes<'_>) -> Vec<u8> {
    if bytes.u8() % 2 == 0 {
        return bytes.rest().to_vec();
    }
    let status = 100 + bytes.u32() % 500;
    let mut head = format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n");
    for _ in 0..(bytes.u8() % 6) {
        let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(['\r', '\n', ':'], "");
        let name = clean(bytes.chunk());
        let value = clean(bytes.chunk());
        if !name.is_empty() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    let body = bytes.rest();
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// The target.
pub fn run(data: &[u8]) {
    let mut bytes = Bytes::new(data);
    let addr = server();
    if let Ok(mut next) = ANSWER.lock() {
        *next = answer(&mut bytes);
    }
    let target = AxonTarget {
        ip: addr.ip().to_string(),
        port: addr.port(),
        hotkey: key(1).public(),
    };
    let id = omron_protocol::CircuitId::from_digest(&[3; 32]);
    let synapse = QueryZkProof::request(QueryInput::new(
        &id,
        omron_protocol::JsonValue::String("fuzz".into()),
    ));
    let envelope = runtime().block_on(dendrite().query(&target, synapse, Duration::from_secs(3)));
    let _ = is_success(&envelope);
    if let Some(output) = envelope.synapse.output() {
        let _ = output;
    }
}
