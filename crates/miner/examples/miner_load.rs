//! `miner_load`: drives one running `omron miner` the way validators do and measures it.
//!
//! For each circuit of `--circuits` (or only those named by `--circuit`), it sends
//! `--requests` fresh benchmark requests (`QueryZkProof` for model circuits,
//! `ProofOfWeightsSynapse` for scoring circuits, inputs from the circuit's own generator) with
//! `--concurrency` of them in flight, each lane with its own signed dendrite (an axon wants
//! increasing nonces per dendrite, so one dendrite cannot have two requests in flight, exactly
//! as a validator keeps one dendrite per lane). Per circuit it records the client's latency,
//! the miner's own proving time (the delta of `omron_miner_proof_duration_seconds` read from
//! `--metrics`), throughput, proof and request sizes, and, with `--pid`, the miner's CPU time
//! and peak resident set over that circuit's run (its `VmHWM`, reset before each circuit
//! through `/proc/PID/clear_refs`). After each run it verifies every proof here, against the
//! inputs it sent and the miner's hotkey, one at a time, which is what a validator pays per
//! answer: those times are the verify column. Verifying after the run keeps this process off
//! the CPU while the miner proves.
//!
//! ```text
//! cargo run --release -p omron-miner --example miner_load -- \
//!     --axon 127.0.0.2:PORT --axon.hotkey SS58 --wallet.path DIR --wallet.name validator \
//!     --metrics http://127.0.0.1:PORT/metrics --pid PID --concurrency 16 --requests 64
//! ```
//!
//! Prints one table row per circuit and, last, one JSON line per circuit. Exit status 1 when
//! an answered proof does not verify or a request failed other than busy; busy answers (the
//! miner's bounded queue) are a result and are counted. `scripts/miner-sizing.sh` runs it
//! against a fresh chain and miner; `docs/benchmarks.md`, "Miner sizing", has the figures.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use omron_bittensor::dendrite::{AxonTarget, Dendrite};
use omron_bittensor::json::{self, JsonValue};
use omron_bittensor::wallet::Wallet;
use omron_circuit::{CircuitStore, RequestInput, StoredCircuit};
use omron_keys::{AccountId, Keypair};
use omron_protocol::{
    CircuitId, ProofOfWeightsSynapse, ProofSystem, QueryInput, QueryOutput, QueryZkProof,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;

const USAGE: &str = "usage: miner_load --axon IP:PORT --axon.hotkey SS58
                  (--wallet.name NAME [--wallet.path DIR] [--wallet.hotkey default] | --key-uri URI)
                  [--circuits circuits] [--circuit NAME]... [--requests 32] [--concurrency 16]
                  [--warmup 1] [--metrics http://IP:PORT/metrics] [--pid PID] [--seed N]

  --circuit NAME   a folder name under --circuits; repeat it to pick several (default: all)
  --warmup N       requests per circuit sent one at a time before the measured run
  --metrics URL    the miner's Prometheus endpoint: adds its own proving time per proof
  --pid PID        the miner's process id: adds its CPU time and peak RSS per circuit";

/// Linux reports process CPU times in USER_HZ ticks, which the kernel ABI fixes at 100 on
/// the architectures this runs on (x86-64, aarch64).
const TICKS_PER_SECOND: f64 = 100.0;

/// The command line.
#[derive(Debug)]
struct Args {
    axon: std::net::SocketAddr,
    axon_hotkey: AccountId,
    signer: Keypair,
    circuits: PathBuf,
    only: Vec<String>,
    requests: usize,
    concurrency: usize,
    warmup: usize,
    metrics: Option<String>,
    pid: Option<u32>,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let (mut axon, mut axon_hotkey, mut key_uri) = (None, None, None);
    let (mut wallet_name, mut wallet_hotkey) = (None, "default".to_owned());
    let mut wallet_path = omron_bittensor::wallet::expand_home("~/.bittensor/wallets");
    let mut args = Args {
        axon: "127.0.0.1:8091".parse().map_err(|e| format!("{e}"))?,
        axon_hotkey: AccountId([0u8; 32]),
        signer: Keypair::from_uri("//Alice").map_err(|e| e.to_string())?,
        circuits: PathBuf::from("circuits"),
        only: Vec::new(),
        requests: 32,
        concurrency: 16,
        warmup: 1,
        metrics: None,
        pid: None,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = |v: &str| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|e| format!("{flag} {v}: not a whole number ({e})"))
        };
        match flag.as_str() {
            "--axon" => axon = Some(value.parse().map_err(|e| format!("--axon {value}: {e}"))?),
            "--axon.hotkey" => {
                axon_hotkey = Some(
                    AccountId::from_ss58(&value)
                        .map_err(|e| format!("--axon.hotkey {value}: {e}"))?,
                );
            }
            "--key-uri" => key_uri = Some(value),
            "--wallet.name" => wallet_name = Some(value),
            "--wallet.hotkey" => wallet_hotkey = value,
            "--wallet.path" => wallet_path = omron_bittensor::wallet::expand_home(&value),
            "--circuits" => args.circuits = PathBuf::from(value),
            "--circuit" => args.only.push(value),
            "--requests" => args.requests = number(&value)? as usize,
            "--concurrency" => args.concurrency = number(&value)? as usize,
            "--warmup" => args.warmup = number(&value)? as usize,
            "--metrics" => args.metrics = Some(value),
            "--pid" => args.pid = Some(number(&value)? as u32),
            "--seed" => args.seed = number(&value)?,
            other => return Err(format!("unknown flag {other}\n{USAGE}")),
        }
    }
    args.axon = axon.ok_or_else(|| format!("--axon is required\n{USAGE}"))?;
    args.axon_hotkey = axon_hotkey.ok_or_else(|| format!("--axon.hotkey is required\n{USAGE}"))?;
    args.signer = match (key_uri, wallet_name) {
        (Some(uri), None) => Keypair::from_uri(&uri).map_err(|e| format!("--key-uri: {e}"))?,
        (None, Some(name)) => Wallet::new(wallet_path, &name, &wallet_hotkey)
            .and_then(|w| w.hotkey())
            .map_err(|e| format!("wallet {name}/{wallet_hotkey}: {e}"))?,
        _ => return Err(format!("give --wallet.name or --key-uri (one)\n{USAGE}")),
    };
    if args.requests == 0 || args.concurrency == 0 || args.requests > 100_000 {
        return Err("--requests must be 1 to 100000 and --concurrency at least 1".into());
    }
    Ok(args)
}

/// One request as sent, kept to verify the answer against.
#[derive(Debug, Clone)]
enum Request {
    /// A model circuit's input with its nonce.
    Computation(RequestInput),
    /// A scoring circuit's batch.
    Weights(serde_json::Value),
}

/// How one request ended.
#[derive(Debug)]
enum Outcome {
    /// A proof with the outputs the miner claims.
    Proof { proof: Vec<u8>, claimed: String },
    /// The miner's queue was full (`Miner busy: ...`).
    Busy,
    /// HTTP 500 to a `ProofOfWeightsSynapse`: how the miner answers any failure of that
    /// synapse, busy included; told apart afterwards with the miner's own busy counter.
    PowServerError(String),
    /// Anything else: HTTP error, timeout, an error text.
    Failed(String),
}

fn make_requests(
    circuit: &StoredCircuit,
    n: usize,
    rng: &mut StdRng,
) -> Result<Vec<Request>, String> {
    (0..n)
        .map(|_| {
            if circuit.is_proof_of_weights() {
                circuit
                    .generate_pow_inputs(rng)
                    .map(Request::Weights)
                    .ok_or_else(|| format!("{}: no scoring batch generator", circuit.metadata.name))
            } else {
                Ok(Request::Computation(circuit.generate_input(rng)))
            }
        })
        .collect()
}

/// The request's JSON body size in bytes (the inputs dominate it), as the miner receives it.
fn request_bytes(request: &Request) -> usize {
    match request {
        Request::Computation(input) => serde_json::to_vec(input).map_or(0, |v| v.len()),
        Request::Weights(batch) => batch.to_string().len(),
    }
}

async fn send(
    dendrite: &Dendrite,
    target: &AxonTarget,
    circuit: &StoredCircuit,
    request: &Request,
) -> Outcome {
    let timeout = Duration::from_secs(circuit.timeout_secs());
    let id: CircuitId = match circuit.id().parse() {
        Ok(id) => id,
        Err(e) => return Outcome::Failed(format!("circuit id: {e}")),
    };
    match request {
        Request::Computation(input) => {
            let public = match json::to_value(input) {
                Ok(v) => v,
                Err(e) => return Outcome::Failed(format!("input: {e}")),
            };
            let got = dendrite
                .query(
                    target,
                    QueryZkProof::request(QueryInput::new(&id, public)),
                    timeout,
                )
                .await;
            match got.synapse.output() {
                Some(QueryOutput::Proof(p)) => match hex::decode(&p.proof) {
                    Ok(proof) => Outcome::Proof {
                        proof,
                        claimed: p.public_signals,
                    },
                    Err(e) => Outcome::Failed(format!("proof is not hex: {e}")),
                },
                Some(QueryOutput::Error(text)) if text.contains("busy") => Outcome::Busy,
                Some(QueryOutput::Error(text)) => Outcome::Failed(text),
                None => Outcome::Failed(format!(
                    "HTTP {:?}: {:?}",
                    got.base.dendrite.status_code, got.base.dendrite.status_message
                )),
            }
        }
        Request::Weights(batch) => {
            let object = match json::parse(batch.to_string().as_bytes()) {
                Ok(JsonValue::Object(o)) => o,
                _ => return Outcome::Failed("a scoring batch must be a JSON object".into()),
            };
            let synapse = ProofOfWeightsSynapse::request(
                circuit.metadata.netuid.unwrap_or(2),
                id,
                ProofSystem::default(),
                object,
            );
            let got = dendrite.query(target, synapse, timeout).await;
            let message = got.base.dendrite.status_message.clone().unwrap_or_default();
            if got.base.dendrite.status_code == Some(200) && !got.synapse.proof.is_empty() {
                match hex::decode(&got.synapse.proof) {
                    Ok(proof) => Outcome::Proof {
                        proof,
                        claimed: got.synapse.public_signals,
                    },
                    Err(e) => Outcome::Failed(format!("proof is not hex: {e}")),
                }
            } else if message.to_lowercase().contains("busy") {
                Outcome::Busy
            } else if got.base.dendrite.status_code == Some(500) {
                Outcome::PowServerError(message)
            } else {
                Outcome::Failed(format!(
                    "HTTP {:?}: {message}",
                    got.base.dendrite.status_code
                ))
            }
        }
    }
}

/// Checks a proof against the request as a validator does; returns how long it took.
fn verify(
    circuit: &StoredCircuit,
    request: &Request,
    miner: &AccountId,
    proof: &[u8],
    claimed: &str,
) -> Result<Duration, String> {
    let start = Instant::now();
    match request {
        Request::Computation(input) => {
            let outputs: Vec<f64> =
                serde_json::from_str(claimed).map_err(|e| format!("public_signals: {e}"))?;
            circuit
                .verify_response(input, miner.as_bytes(), proof, Some(&outputs))
                .map_err(|e| e.to_string())?;
        }
        Request::Weights(batch) => {
            let outputs: Vec<Vec<i64>> =
                serde_json::from_str(claimed).map_err(|e| format!("public_signals: {e}"))?;
            circuit
                .verify_pow(batch, miner.as_bytes(), proof, Some(&outputs))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(start.elapsed())
}

/// What the load reads from the miner's `/metrics` before and after a run.
#[derive(Debug, Clone, Copy, Default)]
struct MinerCounters {
    /// Sum of `omron_miner_proof_duration_seconds` for the circuit.
    prove_seconds: f64,
    /// Its count.
    proofs: u64,
    /// `omron_miner_requests_total{outcome="busy"}`, both proof synapses.
    busy: u64,
}

/// The miner's counters for circuit `id`.
async fn miner_counters(
    client: &reqwest::Client,
    url: &str,
    id: &str,
) -> Result<MinerCounters, String> {
    let text = client
        .get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let value = |key: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let label = format!("{{circuit=\"{id}\"}}");
    let busy = |synapse: &str| {
        value(&format!(
            "omron_miner_requests_total{{synapse=\"{synapse}\",outcome=\"busy\"}}"
        ))
    };
    Ok(MinerCounters {
        prove_seconds: value(&format!("omron_miner_proof_duration_seconds_sum{label}")),
        proofs: value(&format!("omron_miner_proof_duration_seconds_count{label}")) as u64,
        busy: (busy("QueryZkProof") + busy("ProofOfWeightsSynapse")) as u64,
    })
}

/// The miner's CPU time so far (seconds), from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / TICKS_PER_SECOND)
}

/// The miner's peak resident set in kB (`VmHWM`).
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Resets the miner's `VmHWM` to its current RSS, so the next reading is this run's peak.
fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        f64::NAN
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// Everything measured for one circuit.
async fn run_circuit(
    args: &Args,
    circuit: Arc<StoredCircuit>,
    target: &AxonTarget,
    lanes: &[Arc<Dendrite>],
    http: &reqwest::Client,
    rng: &mut StdRng,
) -> Result<(serde_json::Value, bool), String> {
    let name = circuit.path.file_name().map_or_else(
        || circuit.metadata.name.clone(),
        |n| n.to_string_lossy().into_owned(),
    );
    let id = circuit.id();
    for request in make_requests(&circuit, args.warmup, rng)? {
        if let Outcome::Failed(e) = send(&lanes[0], target, &circuit, &request).await {
            return Err(format!("{name}: warm-up request failed: {e}"));
        }
    }
    let requests = Arc::new(make_requests(&circuit, args.requests, rng)?);
    let before_metrics = match &args.metrics {
        Some(url) => Some(miner_counters(http, url, &id).await?),
        None => None,
    };
    let rss_reset = args.pid.is_some_and(reset_peak_rss);
    let cpu_before = args.pid.and_then(cpu_seconds);

    let next = Arc::new(AtomicUsize::new(0));
    let results = Arc::new(Mutex::new(Vec::with_capacity(requests.len())));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for lane in lanes.iter().take(args.concurrency) {
        let (lane, target, circuit) = (lane.clone(), target.clone(), circuit.clone());
        let (requests, next, results) = (requests.clone(), next.clone(), results.clone());
        tasks.spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(request) = requests.get(index) else {
                    break;
                };
                let sent = Instant::now();
                let outcome = send(&lane, &target, &circuit, request).await;
                let latency = sent.elapsed();
                if let Ok(mut r) = results.lock() {
                    r.push((index, latency, outcome));
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|e| format!("{name}: a lane panicked: {e}"))?;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = match (cpu_before, args.pid.and_then(cpu_seconds)) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let peak_kb = args.pid.and_then(peak_rss_kb);
    let delta = match (&args.metrics, before_metrics) {
        (Some(url), Some(before)) => {
            let after = miner_counters(http, url, &id).await?;
            Some(MinerCounters {
                prove_seconds: after.prove_seconds - before.prove_seconds,
                proofs: after.proofs.saturating_sub(before.proofs),
                busy: after.busy.saturating_sub(before.busy),
            })
        }
        _ => None,
    };
    let miner_prove = delta
        .filter(|d| d.proofs > 0)
        .map(|d| d.prove_seconds / d.proofs as f64);

    let results = std::mem::take(&mut *results.lock().map_err(|_| "results lock poisoned")?);
    let (mut latencies, mut verify_ms, mut proof_bytes) = (Vec::new(), Vec::new(), Vec::new());
    let (mut busy, mut failed, mut unverified) = (0usize, Vec::new(), 0usize);
    let mut pow_500 = Vec::new();
    for (index, latency, outcome) in &results {
        match outcome {
            Outcome::Proof { proof, claimed } => {
                latencies.push(latency.as_secs_f64() * 1e3);
                proof_bytes.push(proof.len() as f64);
                match verify(&circuit, &requests[*index], &target.hotkey, proof, claimed) {
                    Ok(t) => verify_ms.push(t.as_secs_f64() * 1e3),
                    Err(e) => {
                        unverified += 1;
                        eprintln!("{name}: request {index}: proof does not verify: {e}");
                    }
                }
            }
            Outcome::Busy => busy += 1,
            Outcome::PowServerError(e) => pow_500.push(e.clone()),
            Outcome::Failed(e) => failed.push(e.clone()),
        }
    }
    // The miner counted its busy answers; those beyond the ones recognised by their text are
    // the proof-of-weights 500s. Without the counter, a 500 is a failure.
    let counted_busy = delta.map_or(0, |d| d.busy as usize).saturating_sub(busy);
    let as_busy = counted_busy.min(pow_500.len());
    busy += as_busy;
    failed.extend(pow_500.into_iter().skip(as_busy));
    if let Some(first) = failed.first() {
        eprintln!("{name}: {} requests failed, first: {first}", failed.len());
    }
    latencies.sort_by(f64::total_cmp);
    verify_ms.sort_by(f64::total_cmp);
    let req_bytes = mean(
        &requests
            .iter()
            .map(|r| request_bytes(r) as f64)
            .collect::<Vec<_>>(),
    );
    let ok = verify_ms.len();
    let row = json!({
        "circuit": name,
        "concurrency": args.concurrency,
        "requests": requests.len(),
        "verified": ok,
        "busy": busy,
        "failed": failed.len(),
        "unverified": unverified,
        "wall_s": wall,
        "proofs_per_s": ok as f64 / wall,
        "latency_ms": {
            "p50": percentile(&latencies, 50.0),
            "p95": percentile(&latencies, 95.0),
            "max": latencies.last().copied().unwrap_or(f64::NAN),
        },
        "miner_prove_ms_mean": miner_prove.map(|s| s * 1e3),
        "verify_ms": { "p50": percentile(&verify_ms, 50.0), "mean": mean(&verify_ms) },
        "proof_bytes": mean(&proof_bytes),
        "request_bytes": req_bytes,
        "miner_cpu_s": cpu,
        "miner_cores_used": cpu.map(|c| c / wall),
        // CPU per answered proof: what sizing scales by, since it does not depend on how much
        // of the machine other processes took during the run.
        "miner_cpu_ms_per_proof": cpu.filter(|_| ok > 0).map(|c| c * 1e3 / ok as f64),
        "miner_peak_rss_mb": peak_kb.map(|k| k as f64 / 1024.0),
        "peak_rss_reset": rss_reset,
    });
    Ok((row, failed.is_empty() && unverified == 0))
}

fn print_row(row: &serde_json::Value) {
    let f = |v: &serde_json::Value, digits: usize| -> String {
        v.as_f64()
            .map_or_else(|| "-".into(), |x| format!("{x:.digits$}"))
    };
    println!(
        "{:<13} c={:<3} {:>4}/{:<4} busy {:<3} failed {:<2} wall {:>6}s {:>7}/s  latency p50 {:>8} p95 {:>8} ms  prove {:>8} ms  cpu/proof {:>8} ms  verify {:>6} ms  proof {:>7} KB  req {:>7} KB  cpu {:>5} cores  rss {:>6} MB",
        row["circuit"].as_str().unwrap_or("?"),
        row["concurrency"],
        row["verified"],
        row["requests"],
        row["busy"],
        row["failed"],
        f(&row["wall_s"], 2),
        f(&row["proofs_per_s"], 2),
        f(&row["latency_ms"]["p50"], 1),
        f(&row["latency_ms"]["p95"], 1),
        f(&row["miner_prove_ms_mean"], 1),
        f(&row["miner_cpu_ms_per_proof"], 1),
        f(&row["verify_ms"]["p50"], 2),
        row["proof_bytes"]
            .as_f64()
            .map_or_else(|| "-".into(), |b| format!("{:.1}", b / 1000.0)),
        row["request_bytes"]
            .as_f64()
            .map_or_else(|| "-".into(), |b| format!("{:.1}", b / 1000.0)),
        f(&row["miner_cores_used"], 2),
        f(&row["miner_peak_rss_mb"], 1),
    );
}

async fn run(args: Args) -> Result<bool, String> {
    let store = CircuitStore::load(&args.circuits)
        .map_err(|e| format!("loading {}: {e}", args.circuits.display()))?;
    let mut circuits: Vec<Arc<StoredCircuit>> = Vec::new();
    for c in store.iter() {
        let folder = c.path.file_name().map(|n| n.to_string_lossy().into_owned());
        if args.only.is_empty() || folder.as_ref().is_some_and(|f| args.only.contains(f)) {
            circuits.push(Arc::new(c.clone()));
        }
    }
    if circuits.is_empty() {
        return Err(format!(
            "no circuit of {} matches {:?}",
            args.circuits.display(),
            args.only
        ));
    }
    let target = AxonTarget {
        ip: args.axon.ip().to_string(),
        port: args.axon.port(),
        hotkey: args.axon_hotkey,
    };
    let lanes = (0..args.concurrency)
        .map(|_| Dendrite::new(args.signer.clone()).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut rows = Vec::new();
    let mut all_good = true;
    for circuit in circuits {
        let (row, good) = run_circuit(&args, circuit, &target, &lanes, &http, &mut rng).await?;
        print_row(&row);
        all_good &= good;
        rows.push(row);
    }
    for row in &rows {
        println!("{row}");
    }
    Ok(all_good)
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
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("starting the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("miner_load: {e}");
            ExitCode::from(2)
        }
    }
}
