//! Hostile miners for the adversarial node test (`hostile_miners`): each cheats or misbehaves in
//! one way. Those that speak the protocol are real axons (`omron_bittensor::axon`) that answer
//! with real proofs of our engine made wrong on purpose; those that break HTTP itself are raw
//! TCP servers on loopback, which also time how long the validator keeps each request open.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use omron_bittensor::axon::{Axon, AxonHandle, HandlerError, Request};
use omron_bittensor::dendrite::{AxonTarget, Dendrite};
use omron_circuit::{CircuitStore, RequestInput, StoredCircuit};
use omron_keys::{AccountId, Keypair};
use omron_protocol::{ProofOutput, QueryZkProof};
use rand::{Rng, RngCore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Size of the oversized answer: tens of MB, over the validator's 8 MiB cap on one answer (so
/// it is refused from its declared length, unread). `HostileMiner::oversized` makes answers
/// of other sizes.
pub(crate) const OVERSIZED_BYTES: usize = 40 * 1024 * 1024;

/// One way of cheating or failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A proof whose bytes after the header are random.
    GarbageProof,
    /// A valid proof, with this miner's hotkey and the request's nonce, of another input.
    OtherInput,
    /// A valid proof of the request's input for this miner's hotkey, under another nonce.
    OtherNonce,
    /// A valid proof of the request (input and nonce) made for an honest miner's hotkey.
    OtherHotkey,
    /// An honest miner's answer to an earlier request, obtained by relaying that request to
    /// the honest miner through this miner's own dendrite.
    Replay,
    /// A well-formed answer of [`OVERSIZED_BYTES`] whose proof is half of it in hex.
    Oversized,
    /// HTTP 200, `application/json`, and a body that is not JSON.
    InvalidJson,
    /// Sends the answer's headers, then one body byte every 250 ms, past any timeout.
    Trickle,
    /// Accepts the connection, reads the request and never answers.
    Silent,
}

impl Kind {
    /// Every kind, in the order the test registers them.
    pub(crate) const ALL: [Kind; 9] = [
        Kind::GarbageProof,
        Kind::OtherInput,
        Kind::OtherNonce,
        Kind::OtherHotkey,
        Kind::Replay,
        Kind::Oversized,
        Kind::InvalidJson,
        Kind::Trickle,
        Kind::Silent,
    ];

    /// The words the validator's logged reason must contain for this kind.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Kind::GarbageProof
            | Kind::OtherInput
            | Kind::OtherNonce
            | Kind::OtherHotkey
            | Kind::Replay => "proof rejected",
            Kind::Oversized => "Failed to parse response: body larger than",
            Kind::InvalidJson => "Failed to parse response",
            Kind::Trickle | Kind::Silent => "Request timeout",
        }
    }

    fn raw(self) -> bool {
        matches!(
            self,
            Kind::Oversized | Kind::InvalidJson | Kind::Trickle | Kind::Silent
        )
    }
}

/// How one raw-server exchange ended, timed from the moment its request was read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exchange {
    /// Request read to answer written, or to the validator closing the connection.
    pub(crate) open_for: Duration,
    /// Whether the validator closed the connection before the answer was complete.
    pub(crate) cut_by_validator: bool,
}

/// What the honest miner a relaying or impersonating miner refers to looks like.
#[derive(Clone)]
pub(crate) struct HonestPeer {
    pub(crate) target: AxonTarget,
}

/// A running hostile miner.
pub(crate) struct HostileMiner {
    pub(crate) kind: Kind,
    pub(crate) keypair: Keypair,
    pub(crate) port: u16,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    axon: Option<AxonHandle>,
    server: Option<JoinHandle<()>>,
}

impl HostileMiner {
    /// Starts one on 127.0.0.2 (the chain refuses 127.0.0.1 as an axon address).
    pub(crate) async fn start(
        kind: Kind,
        keypair: Keypair,
        circuits: Arc<CircuitStore>,
        honest: HonestPeer,
    ) -> Self {
        if kind.raw() {
            let body = match kind {
                Kind::Oversized => oversized_body(OVERSIZED_BYTES),
                _ => Vec::new(),
            };
            return Self::raw(kind, keypair, body).await;
        }
        let me = keypair.public();
        let relay = Arc::new(Relay {
            dendrite: Dendrite::new(keypair.clone()).unwrap(),
            honest: honest.clone(),
            last: tokio::sync::Mutex::new(None),
        });
        let handle = Axon::builder(me)
            .handler(move |req: Request<QueryZkProof>| {
                let (circuits, honest, relay) = (circuits.clone(), honest.clone(), relay.clone());
                async move {
                    let mut synapse = req.synapse;
                    synapse.query_output = Some(
                        cheat(kind, &circuits, &synapse, me, &honest.target.hotkey, &relay).await,
                    );
                    Ok::<_, HandlerError>(synapse)
                }
            })
            .serve("127.0.0.2:0".parse().unwrap())
            .await
            .unwrap();
        Self {
            kind,
            keypair,
            port: handle.local_addr().port(),
            exchanges: Arc::new(Mutex::new(Vec::new())),
            axon: Some(handle),
            server: None,
        }
    }

    /// A [`Kind::Oversized`] miner whose answers are `bytes` long.
    pub(crate) async fn oversized(keypair: Keypair, bytes: usize) -> Self {
        Self::raw(Kind::Oversized, keypair, oversized_body(bytes)).await
    }

    /// A raw server of `kind` on 127.0.0.2; `body` is the oversized answer.
    async fn raw(kind: Kind, keypair: Keypair, body: Vec<u8>) -> Self {
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let listener = TcpListener::bind("127.0.0.2:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let body = Arc::new(body);
        let log = exchanges.clone();
        let server = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve_raw(sock, kind, body.clone(), log.clone()));
            }
        });
        Self {
            kind,
            keypair,
            port,
            exchanges,
            axon: None,
            server: Some(server),
        }
    }

    /// The raw server's exchanges so far (empty for axon-based kinds).
    pub(crate) fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges.lock().unwrap().clone()
    }

    pub(crate) async fn stop(self) {
        if let Some(a) = self.axon {
            a.shutdown().await;
        }
        if let Some(s) = self.server {
            s.abort();
        }
    }
}

/// The relaying miner's dendrite and the honest answer it keeps for the next request.
struct Relay {
    dendrite: Dendrite,
    honest: HonestPeer,
    last: tokio::sync::Mutex<Option<String>>,
}

/// The request's circuit and input, as the honest miner reads them.
fn request_of(
    circuits: &CircuitStore,
    synapse: &QueryZkProof,
) -> Option<(StoredCircuit, RequestInput)> {
    let query = synapse.query_input.as_ref()?;
    let circuit = circuits.get(query.model_id()?)?.clone();
    let input =
        omron_bittensor::json::from_value::<RequestInput>(query.public_inputs().clone()).ok()?;
    Some((circuit, input))
}

async fn prove(circuit: StoredCircuit, input: RequestInput, hotkey: AccountId) -> ProofOutput {
    let (proof, outputs) =
        tokio::task::spawn_blocking(move || circuit.prove_request(&input, hotkey.as_bytes()))
            .await
            .unwrap()
            .unwrap();
    ProofOutput {
        proof: hex::encode(proof),
        public_signals: serde_json::to_string(&outputs).unwrap(),
    }
}

async fn cheat(
    kind: Kind,
    circuits: &CircuitStore,
    synapse: &QueryZkProof,
    me: AccountId,
    honest: &AccountId,
    relay: &Relay,
) -> String {
    let Some((circuit, input)) = request_of(circuits, synapse) else {
        return "An error occurred".into();
    };
    let output = match kind {
        Kind::GarbageProof => {
            let mut out = prove(circuit, input, me).await;
            let mut bytes = hex::decode(&out.proof).unwrap();
            rand::thread_rng().fill_bytes(&mut bytes[16..]);
            out.proof = hex::encode(bytes);
            out
        }
        Kind::OtherInput => {
            let mut other = circuit.generate_input(&mut rand::thread_rng());
            other.nonce = input.nonce;
            prove(circuit, other, me).await
        }
        Kind::OtherNonce => {
            let mut nonce = [0u8; 16];
            rand::thread_rng().fill(&mut nonce);
            let moved = RequestInput {
                nonce: hex::encode(nonce),
                ..input
            };
            prove(circuit, moved, me).await
        }
        Kind::OtherHotkey => prove(circuit, input, *honest).await,
        Kind::Replay => return relay.answer(synapse).await,
        Kind::Oversized | Kind::InvalidJson | Kind::Trickle | Kind::Silent => {
            unreachable!("raw servers")
        }
    };
    output.to_query_output()
}

impl Relay {
    /// Relays this request to the honest miner and answers with the honest answer to the
    /// previous one (the current one the first time).
    async fn answer(&self, synapse: &QueryZkProof) -> String {
        let asked = QueryZkProof {
            query_input: synapse.query_input.clone(),
            query_output: None,
        };
        let got = self
            .dendrite
            .query(&self.honest.target, asked, Duration::from_secs(5))
            .await;
        let fresh = got.synapse.query_output.unwrap_or_default();
        let mut last = self.last.lock().await;
        last.replace(fresh.clone()).unwrap_or(fresh)
    }
}

/// `{"name": "QueryZkProof", "query_output": "{\"proof\": \"<hex>\", ...}"}` of `bytes`: an
/// answer a validator that reads it parses all the way to the verifier.
fn oversized_body(bytes: usize) -> Vec<u8> {
    let head = br#"{"name": "QueryZkProof", "query_output": "{\"proof\": \""#;
    let tail = br#"\", \"public_signals\": \"[0.5]\"}"}"#;
    let mut body = Vec::with_capacity(bytes);
    body.extend_from_slice(head);
    body.resize(bytes - tail.len(), b'a');
    body.extend_from_slice(tail);
    body
}

/// Reads one HTTP request (head and `content-length` body); `false` at end of stream.
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
        assert!(buf.len() < 1 << 20, "request head too large");
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

/// Serves one connection the raw way, request after request (the dendrite keeps connections
/// alive), recording how long each exchange stayed open.
async fn serve_raw(
    mut sock: TcpStream,
    kind: Kind,
    body: Arc<Vec<u8>>,
    log: Arc<Mutex<Vec<Exchange>>>,
) {
    while read_request(&mut sock).await {
        let started = Instant::now();
        let record = |cut_by_validator| {
            log.lock().unwrap().push(Exchange {
                open_for: started.elapsed(),
                cut_by_validator,
            })
        };
        match kind {
            Kind::Oversized | Kind::InvalidJson => {
                let body: &[u8] = if kind == Kind::Oversized {
                    &body
                } else {
                    br#"{"name": "QueryZkProof", "query_output": "{\"proof\": "#
                };
                // The axon status header an SDK axon sends, so the answer counts as a success
                // and is read all the way to the verifier.
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     bt_header_axon_status_code: 200\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let sent = async {
                    sock.write_all(head.as_bytes()).await?;
                    sock.write_all(body).await
                }
                .await;
                record(sent.is_err());
                if sent.is_err() {
                    return;
                }
            }
            Kind::Trickle => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return record(true);
                }
                let mut probe = [0u8; 64];
                loop {
                    tokio::select! {
                        // The validator closing its end (or any bytes from it) ends the trickle.
                        _ = sock.read(&mut probe) => return record(true),
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {
                            if sock.write_all(b" ").await.is_err() {
                                return record(true);
                            }
                        }
                    }
                }
            }
            Kind::Silent => {
                let mut probe = [0u8; 64];
                // Returns when the validator gives up and closes the connection.
                let _ = sock.read(&mut probe).await;
                return record(true);
            }
            _ => unreachable!("axon kinds"),
        }
    }
}
