//! `api_load`: a bounded load benchmark of a validator's external API.
//!
//! Sends `--requests` `omron.proof_of_computation` requests (fresh generated inputs for the
//! circuit in `--circuit-dir`) over `--connections` pinned, signed WebSocket connections,
//! keeping `--concurrency` of them in flight, and checks every successful answer here with
//! the circuit's files ([`omron_api::check_answer`]). A busy or other JSON-RPC error is a
//! result and is counted; an answer that does not verify, a request without exactly one
//! answer, or an answer to no request fails the run (exit 1). Everything stops at
//! `--timeout` seconds.
//!
//! ```text
//! cargo run --release -p omron-api --example api_load -- \
//!     --url wss://127.0.0.1:PORT/rpc --cert-sha256 HEX --key-uri //OmronApp \
//!     --circuit-dir circuits/mnist-mlp --requests 200 --concurrency 200 [--connections 8]
//! ```
//!
//! `--retry-busy MS` sends a request answered busy again (same input) MS later, as a patient
//! app would; `--nonce` sends each input with its own nonce, so the proof is bound to it.
//!
//! Prints a table and, last, one JSON line with the same numbers. `scripts/api-load.sh` runs
//! it against a fresh `omron localnet`; `docs/benchmarks.md` has the figures.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use omron_api::rpc::{PROOF_OF_COMPUTATION, RpcResponse, codes};
use omron_api::{
    ApiClient, AppRequest, ClientError, InferenceResult, Pin, ProofOfComputationParams,
    check_answer,
};
use omron_circuit::StoredCircuit;
use omron_keys::Keypair;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

const USAGE: &str =
    "usage: api_load --url wss://HOST:PORT/rpc --cert-sha256 HEX [--key-uri //OmronApp]
                [--circuit-dir circuits/mnist-mlp] [--requests 200] [--concurrency 16]
                [--connections 8] [--timeout 300] [--seed N] [--nonce] [--retry-busy MS]

  --nonce           send the generated nonce with each input (the proof is bound to it)
  --retry-busy MS   resend a request answered busy (-32001), same input, MS later
                    (latency then counts from its first send); off by default";

/// The command line.
#[derive(Debug, Clone)]
struct Args {
    url: String,
    cert_sha256: String,
    key_uri: String,
    circuit_dir: PathBuf,
    requests: usize,
    concurrency: usize,
    connections: usize,
    timeout: Duration,
    seed: u64,
    nonce: bool,
    retry_busy: Option<Duration>,
}

fn parse_args() -> Result<Args, String> {
    let mut url = None;
    let mut cert = None;
    let mut args = Args {
        url: String::new(),
        cert_sha256: String::new(),
        key_uri: "//OmronApp".into(),
        circuit_dir: PathBuf::from("circuits/mnist-mlp"),
        requests: 200,
        concurrency: 16,
        connections: 8,
        timeout: Duration::from_secs(300),
        // A fresh seed per run: the validator proves an input once (hash guard), so a second
        // run against the same validator must not repeat the first one's inputs.
        seed: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
        nonce: false,
        retry_busy: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        if flag == "--nonce" {
            args.nonce = true;
            continue;
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |v: &str| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|e| format!("{flag} {v}: not a whole number ({e})"))
        };
        match flag.as_str() {
            "--url" => url = Some(value),
            "--cert-sha256" => cert = Some(value),
            "--key-uri" => args.key_uri = value,
            "--circuit-dir" => args.circuit_dir = PathBuf::from(value),
            "--requests" => args.requests = number(&value)? as usize,
            "--concurrency" => args.concurrency = number(&value)? as usize,
            "--connections" => args.connections = number(&value)? as usize,
            "--timeout" => args.timeout = Duration::from_secs(number(&value)?),
            "--seed" => args.seed = number(&value)?,
            "--retry-busy" => args.retry_busy = Some(Duration::from_millis(number(&value)?)),
            other => return Err(format!("unknown flag {other}\n{USAGE}")),
        }
    }
    args.url = url.ok_or_else(|| format!("--url is required\n{USAGE}"))?;
    args.cert_sha256 = cert.ok_or_else(|| format!("--cert-sha256 is required\n{USAGE}"))?;
    if args.requests == 0 || args.concurrency == 0 || args.connections == 0 {
        return Err("--requests, --concurrency and --connections must be at least 1".into());
    }
    if args.requests > 100_000 || args.timeout.is_zero() || args.timeout > Duration::from_secs(3600)
    {
        return Err("--requests is at most 100000 and --timeout 1 to 3600 seconds".into());
    }
    Ok(args)
}

/// What a connection saw for one request.
#[derive(Debug)]
enum Event {
    /// A response frame for request `index`, `latency` after it was first sent.
    Answer {
        index: usize,
        latency: Duration,
        response: RpcResponse,
    },
    /// A busy answer to a request that will be sent again (`--retry-busy`).
    BusyRetry,
    /// No answer: the connection broke or the global timeout came first.
    Lost { reason: String },
    /// A response whose id names no request in flight on its connection.
    Stray { id: Value },
}

/// The requests still to send, shared by the connections: fresh ones in order, then those
/// answered busy once their retry is due.
#[derive(Debug)]
struct Work {
    params: Vec<Value>,
    next: AtomicUsize,
    /// (request, due, first sent), in due order.
    retry: Mutex<VecDeque<(usize, tokio::time::Instant, Instant)>>,
}

/// What a connection does next.
enum Take {
    /// Send request `.0`, first sent at `.1`.
    Send(usize, Instant),
    /// Nothing to send before this instant (a retry is pending).
    Wait(tokio::time::Instant),
    /// Nothing left to send.
    Done,
}

impl Work {
    fn retries(
        &self,
    ) -> std::sync::MutexGuard<'_, VecDeque<(usize, tokio::time::Instant, Instant)>> {
        // The queue has no invariant a panicking holder could break.
        self.retry.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self) -> Take {
        let now = tokio::time::Instant::now();
        {
            let mut queue = self.retries();
            if let Some(&(index, due, first)) = queue.front()
                && due <= now
            {
                queue.pop_front();
                return Take::Send(index, first);
            }
        }
        let index = self.next.fetch_add(1, Ordering::SeqCst);
        if index < self.params.len() {
            return Take::Send(index, Instant::now());
        }
        match self.retries().front() {
            Some(&(_, due, _)) => Take::Wait(due),
            None => Take::Done,
        }
    }
}

/// One connection: keeps up to `cap` requests in flight, taking the next request from `work`,
/// until every request is taken and answered, the connection breaks or `deadline` passes.
async fn drive(
    mut client: ApiClient,
    cap: usize,
    work: Arc<Work>,
    retry_busy: Option<Duration>,
    deadline: tokio::time::Instant,
    events: std::sync::mpsc::Sender<Event>,
) {
    let mut in_flight: HashMap<u64, (usize, Instant)> = HashMap::new();
    let mut broken: Option<String> = None;
    'run: loop {
        // Nothing new is sent after the deadline; what is in flight is waited for until then.
        let mut wait = None;
        while in_flight.len() < cap && tokio::time::Instant::now() < deadline {
            let (index, first) = match work.take() {
                Take::Send(index, first) => (index, first),
                Take::Wait(due) => {
                    wait = Some(due);
                    break;
                }
                Take::Done => break,
            };
            match client
                .send(PROOF_OF_COMPUTATION, work.params[index].clone())
                .await
            {
                Ok(id) => {
                    in_flight.insert(id, (index, first));
                }
                Err(e) => {
                    let _ = events.send(Event::Lost {
                        reason: format!("send: {e}"),
                    });
                    broken = Some(e.to_string());
                    break 'run;
                }
            }
        }
        if in_flight.is_empty() {
            match wait {
                Some(due) if due < deadline => {
                    tokio::time::sleep_until(due).await;
                    continue;
                }
                _ => break,
            }
        }
        let response = match tokio::time::timeout_at(deadline, client.next_response()).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                broken = Some(e.to_string());
                break;
            }
            Err(_) => {
                broken = Some("no answer before the global timeout".into());
                break;
            }
        };
        let entry = response.id.as_u64().and_then(|id| in_flight.remove(&id));
        let busy = response
            .error
            .as_ref()
            .is_some_and(|e| e.code == codes::BUSY);
        let event = match (entry, retry_busy) {
            (Some((index, first)), Some(backoff)) if busy => {
                let due = tokio::time::Instant::now() + backoff;
                if due < deadline {
                    work.retries().push_back((index, due, first));
                    Event::BusyRetry
                } else {
                    Event::Answer {
                        index,
                        latency: first.elapsed(),
                        response,
                    }
                }
            }
            (Some((index, first)), _) => Event::Answer {
                index,
                latency: first.elapsed(),
                response,
            },
            (None, _) => Event::Stray {
                id: response.id.clone(),
            },
        };
        let _ = events.send(event);
    }
    let reason = broken.unwrap_or_default();
    for _ in in_flight.into_values() {
        let _ = events.send(Event::Lost {
            reason: reason.clone(),
        });
    }
    client.close().await;
}

/// The tally of a run.
#[derive(Debug, Default)]
struct Tally {
    answers: Vec<u32>,
    verified: Vec<Duration>,
    busy: usize,
    busy_retried: usize,
    errors: BTreeMap<i64, (usize, String)>,
    rejected: Vec<String>,
    unreadable: Vec<String>,
    lost: BTreeMap<String, usize>,
    stray: Vec<Value>,
    retried: usize,
    miners: BTreeMap<u16, usize>,
}

/// Reads and checks every event until all connections are done; the check of an answer
/// trusts nothing the validator says (the proof is verified against our own input).
fn collect(
    circuit: &StoredCircuit,
    inputs: &[Value],
    events: std::sync::mpsc::Receiver<Event>,
) -> Tally {
    let mut t = Tally {
        answers: vec![0; inputs.len()],
        ..Tally::default()
    };
    for event in events {
        match event {
            Event::Answer {
                index,
                latency,
                response,
            } => {
                t.answers[index] += 1;
                match (response.result, response.error) {
                    (_, Some(e)) => {
                        if e.code == codes::BUSY {
                            t.busy += 1;
                        } else {
                            let text = match &e.data {
                                Some(d) => format!("{}: {d}", e.message),
                                None => e.message.clone(),
                            };
                            t.errors.entry(e.code).or_insert((0, text)).0 += 1;
                        }
                    }
                    (Some(value), None) => match serde_json::from_value::<InferenceResult>(value) {
                        Ok(result) => {
                            let request = AppRequest::Computation {
                                input: &inputs[index],
                            };
                            match check_answer(circuit, request, &result) {
                                Ok(_) => {
                                    t.verified.push(latency);
                                    *t.miners.entry(result.miner_uid).or_default() += 1;
                                    if result.attempts > 1 {
                                        t.retried += 1;
                                    }
                                }
                                Err(e) => t.rejected.push(format!("request {index}: {e}")),
                            }
                        }
                        Err(e) => t.unreadable.push(format!("request {index}: {e}")),
                    },
                    (None, None) => t
                        .unreadable
                        .push(format!("request {index}: neither result nor error")),
                }
            }
            Event::BusyRetry => t.busy_retried += 1,
            Event::Lost { reason } => *t.lost.entry(reason).or_default() += 1,
            Event::Stray { id } => t.stray.push(id),
        }
    }
    t
}

fn percentile(sorted: &[Duration], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1].as_secs_f64() * 1000.0)
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.0} ms"))
}

async fn run(args: Args) -> Result<bool, String> {
    let circuit = StoredCircuit::load(&args.circuit_dir).map_err(|e| {
        format!(
            "cannot load the circuit in {}: {e}",
            args.circuit_dir.display()
        )
    })?;
    if circuit.is_proof_of_weights() {
        return Err(format!(
            "{} is a proof-of-weights circuit; api_load sends proof_of_computation requests",
            args.circuit_dir.display()
        ));
    }
    let key =
        Keypair::from_uri(&args.key_uri).map_err(|e| format!("--key-uri {}: {e}", args.key_uri))?;
    let pin = Pin::sha256(&args.cert_sha256).map_err(|e| e.to_string())?;

    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let inputs: Vec<Value> = (0..args.requests)
        .map(|_| {
            let input = circuit.generate_input(&mut rng);
            if args.nonce {
                json!({ "input_data": input.input_data, "nonce": input.nonce })
            } else {
                json!({ "input_data": input.input_data })
            }
        })
        .collect();
    let params: Vec<Value> = inputs
        .iter()
        .map(|input| {
            serde_json::to_value(ProofOfComputationParams {
                circuit: circuit.id(),
                input: input.clone(),
            })
            .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let work = Arc::new(Work {
        params,
        next: AtomicUsize::new(0),
        retry: Mutex::new(VecDeque::new()),
    });

    // Connections, and each one's share of the concurrency (the shares add up to it).
    let connections = args.connections.min(args.concurrency).min(args.requests);
    let connect_start = Instant::now();
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        let client = tokio::time::timeout(
            Duration::from_secs(30),
            ApiClient::connect(&args.url, &pin, &key, None),
        )
        .await
        .map_err(|_| ClientError::Timeout(Duration::from_secs(30)))
        .and_then(|c| c)
        .map_err(|e| format!("cannot open a connection: {e}"))?;
        clients.push(client);
    }
    let connect_ms = connect_start.elapsed().as_secs_f64() * 1000.0;

    eprintln!(
        "api_load: {} requests, concurrency {}, {} connections, circuit {} ({}), seed {}, own nonce {}, resend on busy: {}",
        args.requests,
        args.concurrency,
        connections,
        circuit.metadata.name,
        circuit.id(),
        args.seed,
        args.nonce,
        args.retry_busy.map_or_else(
            || "no".to_owned(),
            |d| format!("after {} ms", d.as_millis())
        )
    );
    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + args.timeout;
    let (tx, rx) = std::sync::mpsc::channel();
    let collector = {
        let inputs = inputs.clone();
        std::thread::spawn(move || collect(&circuit, &inputs, rx))
    };
    let mut tasks = Vec::with_capacity(connections);
    for (i, client) in clients.into_iter().enumerate() {
        let cap = args.concurrency / connections + usize::from(i < args.concurrency % connections);
        tasks.push(tokio::spawn(drive(
            client,
            cap,
            work.clone(),
            args.retry_busy,
            deadline,
            tx.clone(),
        )));
    }
    drop(tx);
    for task in tasks {
        task.await
            .map_err(|e| format!("a connection task failed: {e}"))?;
    }
    let tally = tokio::task::spawn_blocking(move || collector.join())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|_| "the verifying thread panicked".to_owned())?;
    let wall = start.elapsed();
    Ok(report(&args, connections, connect_ms, wall, tally))
}

/// Prints the table and the JSON line; true when the run holds (every answer that came
/// verifies, every request got exactly one answer, no stray answers).
fn report(args: &Args, connections: usize, connect_ms: f64, wall: Duration, t: Tally) -> bool {
    let mut sorted = t.verified.clone();
    sorted.sort();
    let verified = sorted.len();
    let answered_once = t.answers.iter().filter(|&&n| n == 1).count();
    let unanswered = t.answers.iter().filter(|&&n| n == 0).count();
    let duplicated = t.answers.iter().filter(|&&n| n > 1).count();
    let not_sent = unanswered.saturating_sub(t.lost.values().sum());
    let other_errors: usize = t.errors.values().map(|(n, _)| n).sum();
    let throughput = verified as f64 / wall.as_secs_f64();
    let (p50, p90, p99) = (
        percentile(&sorted, 50.0),
        percentile(&sorted, 90.0),
        percentile(&sorted, 99.0),
    );
    let max = sorted.last().map(|d| d.as_secs_f64() * 1000.0);
    let mean = (verified > 0)
        .then(|| sorted.iter().map(Duration::as_secs_f64).sum::<f64>() * 1000.0 / verified as f64);
    let nothing_lost = answered_once == args.requests && t.stray.is_empty();
    let ok = nothing_lost && t.rejected.is_empty() && t.unreadable.is_empty();

    println!();
    println!(
        "external API load: {} requests, concurrency {}, {} connections",
        args.requests, args.concurrency, connections
    );
    println!("  {:<34} {}", "answered and verified here", verified);
    println!("  {:<34} {}", "busy (-32001), final", t.busy);
    if args.retry_busy.is_some() {
        println!("  {:<34} {}", "busy (-32001), sent again", t.busy_retried);
    }
    for (code, (n, sample)) in &t.errors {
        println!("  {:<34} {n}  e.g. {sample}", format!("error {code}"));
    }
    println!(
        "  {:<34} {}",
        "answers that do not verify",
        t.rejected.len()
    );
    println!("  {:<34} {}", "unreadable answers", t.unreadable.len());
    println!(
        "  {:<34} {} ({} lost, {} not sent, {} answered twice or more, {} stray)",
        "nothing lost",
        if nothing_lost { "yes" } else { "NO" },
        unanswered - not_sent,
        not_sent,
        duplicated,
        t.stray.len()
    );
    for (reason, n) in &t.lost {
        println!("    lost {n}: {reason}");
    }
    println!("  {:<34} {:.0} ms", "connect (all connections)", connect_ms);
    println!("  {:<34} {:.2} s", "wall time", wall.as_secs_f64());
    println!("  {:<34} {:.2} verified/s", "throughput", throughput);
    println!(
        "  {:<34} p50 {}  p90 {}  p99 {}  max {}  mean {}",
        "latency of verified answers",
        ms(p50),
        ms(p90),
        ms(p99),
        ms(max),
        ms(mean)
    );
    println!(
        "  {:<34} {} ({} needed a retry)",
        "answers by miner uid",
        t.miners
            .iter()
            .map(|(u, n)| format!("{u}:{n}"))
            .collect::<Vec<_>>()
            .join(" "),
        t.retried
    );
    for r in t.rejected.iter().chain(&t.unreadable).take(5) {
        println!("  FAILED: {r}");
    }
    if !t.stray.is_empty() {
        println!(
            "  FAILED: answers to no request in flight, ids {:?}",
            t.stray
        );
    }
    let line = json!({
        "requests": args.requests,
        "concurrency": args.concurrency,
        "connections": connections,
        "verified": verified,
        "busy": t.busy,
        "busy_retried": t.busy_retried,
        "own_nonce": args.nonce,
        "retry_busy_ms": args.retry_busy.map(|d| d.as_millis() as u64),
        "errors": t.errors.iter().map(|(c, (n, _))| (c.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "other_errors": other_errors,
        "rejected": t.rejected.len(),
        "unreadable": t.unreadable.len(),
        "lost": unanswered - not_sent,
        "not_sent": not_sent,
        "duplicated": duplicated,
        "stray": t.stray.len(),
        "nothing_lost": nothing_lost,
        "retried": t.retried,
        "miners": t.miners.iter().map(|(u, n)| (u.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "connect_ms": connect_ms,
        "wall_s": wall.as_secs_f64(),
        "throughput_per_s": throughput,
        "latency_ms": {"p50": p50, "p90": p90, "p99": p99, "max": max, "mean": mean},
        "ok": ok,
    });
    println!("{line}");
    ok
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("api_load: {e}");
            ExitCode::from(2)
        }
    }
}
