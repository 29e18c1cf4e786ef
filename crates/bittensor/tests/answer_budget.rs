//! Dendrites sharing an [`AnswerBudget`] over real HTTP on 127.0.0.1: large answers from raw
//! servers (declared length, held half-sent until the test lets them go; or chunked), a small
//! honest answer from our axon at the same time, and every way an answer can be refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use omron_bittensor::axon::{Axon, HandlerError, Request};
use omron_bittensor::dendrite::{AnswerBudget, AxonTarget, Dendrite, DendriteConfig, is_success};
use omron_bittensor::synapse::{Envelope, Synapse};
use omron_keys::Keypair;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const MIB: usize = 1024 * 1024;

/// A synapse whose answer carries `data`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Blob {
    #[serde(default)]
    data: Option<String>,
}

impl Synapse for Blob {
    const NAME: &'static str = "Blob";
}

/// How a raw server sends its answer.
#[derive(Debug, Clone, Copy)]
enum Send {
    /// With `content-length`, all at once.
    Declared,
    /// With `content-length`: half, then the rest once the gate opens.
    Gated,
    /// `transfer-encoding: chunked`, 64 KiB chunks.
    Chunked,
}

/// A `Blob` answer of exactly `len` bytes: `{"name": "Blob", "data": "aaa..."}`.
fn blob_body(len: usize) -> Vec<u8> {
    let head = br#"{"name": "Blob", "data": ""#;
    let tail = br#""}"#;
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(head);
    body.resize(len - tail.len(), b'a');
    body.extend_from_slice(tail);
    body
}

/// The `data` length of a [`blob_body`] of `len` bytes.
fn blob_data_len(len: usize) -> usize {
    len - br#"{"name": "Blob", "data": ""}"#.len()
}

/// Reads one request (head, then `content-length` bytes); `false` when the peer is gone.
async fn read_request(sock: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - head_end;
    while have < length {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => have += n,
        }
    }
    true
}

async fn answer(
    sock: &mut TcpStream,
    send: Send,
    body: &[u8],
    gate: &mut watch::Receiver<bool>,
) -> std::io::Result<()> {
    let framing = match send {
        Send::Declared | Send::Gated => format!("content-length: {}", body.len()),
        Send::Chunked => "transfer-encoding: chunked".to_owned(),
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
         bt_header_axon_status_code: 200\r\n{framing}\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).await?;
    match send {
        Send::Declared => sock.write_all(body).await,
        Send::Gated => {
            let (first, rest) = body.split_at(body.len() / 2);
            sock.write_all(first).await?;
            // The gate may be closed (test over): send the rest anyway.
            let _ = gate.wait_for(|open| *open).await;
            sock.write_all(rest).await
        }
        Send::Chunked => {
            for part in body.chunks(64 * 1024) {
                sock.write_all(format!("{:x}\r\n", part.len()).as_bytes())
                    .await?;
                sock.write_all(part).await?;
                sock.write_all(b"\r\n").await?;
            }
            sock.write_all(b"0\r\n\r\n").await
        }
    }
}

/// A raw HTTP server answering every request with the same `Blob` of `len` bytes.
async fn raw_server(send: Send, len: usize, gate: watch::Receiver<bool>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Arc::new(blob_body(len));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (body, mut gate) = (body.clone(), gate.clone());
            tokio::spawn(async move {
                while read_request(&mut sock).await {
                    if answer(&mut sock, send, &body, &mut gate).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn target(addr: SocketAddr, hotkey: &Keypair) -> AxonTarget {
    AxonTarget {
        ip: addr.ip().to_string(),
        port: addr.port(),
        hotkey: hotkey.public(),
    }
}

fn validator() -> Keypair {
    Keypair::from_seed(&[7; 32])
}

fn miner() -> Keypair {
    Keypair::from_seed(&[9; 32])
}

fn dendrite(budget: &Arc<AnswerBudget>, max_response_bytes: usize) -> Dendrite {
    let config = DendriteConfig {
        max_response_bytes,
        answer_budget: Some(budget.clone()),
        ..DendriteConfig::default()
    };
    Dendrite::with_config(validator(), config).unwrap()
}

fn message(got: &Envelope<Blob>) -> String {
    got.base.dendrite.status_message.clone().unwrap_or_default()
}

/// Polls `check` every 20 ms for up to 30 s.
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..1500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_large_answers_stay_within_a_shared_budget_and_a_small_one_still_passes() {
    const LARGE: usize = 20_000_000;
    const LIMIT: usize = 48 * MIB;
    let budget = AnswerBudget::new(LIMIT);
    let (open, gate) = watch::channel(false);
    let large = target(raw_server(Send::Gated, LARGE, gate).await, &miner());
    let honest = Axon::builder(miner().public())
        .handler(|req: Request<Blob>| async move {
            let mut synapse = req.synapse;
            synapse.data = Some("small".into());
            Ok::<_, HandlerError>(synapse)
        })
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let honest = target(honest.local_addr(), &miner());

    // One dendrite per query, as a validator keeps one per uid.
    let mut queries = Vec::new();
    for _ in 0..8 {
        let d = dendrite(&budget, 32 * MIB);
        let large = large.clone();
        queries.push(tokio::spawn(async move {
            d.query(&large, Blob::default(), Duration::from_secs(120))
                .await
        }));
    }
    // Two answers fit (40 MB of 48 MiB) and are held half-sent; the six others wait.
    until("two answers reserved and six waiting", || {
        budget.in_use() == 2 * LARGE && budget.waits() == 6
    })
    .await;

    let got = dendrite(&budget, 32 * MIB)
        .query(&honest, Blob::default(), Duration::from_secs(10))
        .await;
    assert!(is_success(&got), "{:?}", got.base.dendrite);
    assert_eq!(got.synapse.data.as_deref(), Some("small"));
    assert_eq!(
        budget.waits(),
        6,
        "the small answer fit beside the large ones"
    );
    assert_eq!(budget.in_use(), 2 * LARGE, "and freed its bytes");

    open.send(true).unwrap();
    for q in queries {
        let got = q.await.unwrap();
        assert!(is_success(&got), "{:?}", got.base.dendrite);
        assert_eq!(
            got.synapse.data.map(|d| d.len()),
            Some(blob_data_len(LARGE))
        );
    }
    assert!(budget.peak() <= LIMIT, "peak {} > {LIMIT}", budget.peak());
    assert!(budget.peak() >= 2 * LARGE, "peak {}", budget.peak());
    assert_eq!(budget.in_use(), 0, "every answer freed its bytes");
    assert_eq!(budget.refusals(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_answers_free_their_reservations() {
    const LIMIT: usize = 4 * MIB;
    const CAP: usize = 16 * MIB;
    let budget = AnswerBudget::new(LIMIT);
    let (_open, gate) = watch::channel(true);
    let t = Duration::from_secs(10);
    let d = dendrite(&budget, CAP);
    let server = |send, len| raw_server(send, len, gate.clone());

    // Declared larger than the whole budget: refused before reading.
    let over = target(server(Send::Declared, 6_000_000).await, &miner());
    let got = d.query(&over, Blob::default(), t).await;
    assert_eq!(got.base.dendrite.status_code, Some(422));
    assert_eq!(
        message(&got),
        format!(
            "Failed to parse response: the answer's 6000000 bytes are more than the \
             validator's whole answer budget of {LIMIT} bytes"
        )
    );
    assert_eq!(budget.in_use(), 0);

    // Chunked: grows chunk by chunk until a chunk does not fit, then gives back what it held.
    let chunked = target(server(Send::Chunked, 6_000_000).await, &miner());
    let got = d.query(&chunked, Blob::default(), t).await;
    assert_eq!(got.base.dendrite.status_code, Some(422));
    assert!(
        message(&got).starts_with(&format!(
            "Failed to parse response: the validator's answer budget of {LIMIT} bytes was \
             exhausted: no room for "
        )),
        "{}",
        message(&got)
    );
    assert_eq!(budget.in_use(), 0);
    assert!(
        budget.peak() > 3 * MIB,
        "it did hold bytes: {}",
        budget.peak()
    );

    // Declared, fits the budget but not what is left of it: waits until the deadline.
    let fits = target(server(Send::Declared, 3_000_000).await, &miner());
    let held = budget.try_reserve(2 * MIB).unwrap();
    let got = d
        .query(&fits, Blob::default(), Duration::from_secs(1))
        .await;
    assert_eq!(got.base.dendrite.status_code, Some(422));
    assert_eq!(
        message(&got),
        format!(
            "Failed to parse response: the validator's answer budget of {LIMIT} bytes was \
             exhausted: no room for 3000000 more bytes"
        )
    );
    assert_eq!(budget.in_use(), 2 * MIB);
    drop(held);
    assert_eq!(budget.in_use(), 0);
    let refusals = budget.refusals();
    assert_eq!(refusals, 3);

    // Over the per-answer cap: the cap's refusal, before the budget is asked.
    let huge = target(server(Send::Declared, CAP + 1).await, &miner());
    let got = d.query(&huge, Blob::default(), t).await;
    assert_eq!(got.base.dendrite.status_code, Some(422));
    assert_eq!(
        message(&got),
        format!("Failed to parse response: body larger than {CAP} bytes")
    );
    assert_eq!(budget.refusals(), refusals);

    // And the budget still serves: the same 3 MB answer passes now.
    let got = d.query(&fits, Blob::default(), t).await;
    assert!(is_success(&got), "{:?}", got.base.dendrite);
    assert_eq!(
        got.synapse.data.map(|d| d.len()),
        Some(blob_data_len(3_000_000))
    );
    assert_eq!(budget.in_use(), 0);
    assert!(budget.peak() <= LIMIT);
}
