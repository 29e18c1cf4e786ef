//! One validator holding many miners on loopback (issue 12, section 3): the embedded chain, a
//! subnet of `--miners` miners (256 by default) plus the owner and the validator, and the real
//! validator node querying them in rounds, verifying every proof and setting weights.
//!
//! The miners run in a child process (this example started again with `--serve-miners`), so
//! the memory and CPU printed per round are the validator's (with the embedded chain, which is
//! small) and not the provers'. Every miner is honest and real: an axon answering each
//! `QueryZkProof` with a proof of the shipped MNIST circuit (the smallest shipped model), bound
//! to its hotkey and the request's nonce.
//!
//! ```text
//! cargo run --release -p omron-validator --example many_miners -- --miners 256 --rounds 8
//! ```
//!
//! A "round" here is 256 scored responses (one score batch): with equal miners and 16 requests
//! in flight, each uid is asked once per pool round, so 256 responses are one round of 256 uids.

use std::error::Error;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use omron_bittensor::axon::{Axon, HandlerError, Request};
use omron_chain::{
    Chain, ChainConfig, DevChain, EmbeddedChain, Hyperparameters, RAO_PER_TAO, ServeAxon,
};
use omron_circuit::{CircuitStore, RequestInput, StoredCircuit};
use omron_keys::Keypair;
use omron_protocol::{ProofOutput, QueryZkProof};
use omron_validator::metrics::RequestStatus;
use omron_validator::store::Store;
use omron_validator::{Validator, ValidatorConfig};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn flag(args: &[String], name: &str, default: u64) -> Result<u64> {
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args.get(i + 1).ok_or("flag without value")?.parse()?),
        None => Ok(default),
    }
}

fn mnist() -> Result<StoredCircuit> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../circuits/mnist-mlp");
    Ok(StoredCircuit::load(&dir)?)
}

fn miner_key(i: u64) -> Result<Keypair> {
    Ok(Keypair::from_uri(&format!("//Alice/many{i}"))?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--serve-miners") {
        return serve_miners(flag(&args, "--serve-miners", 256)?).await;
    }
    let miners = flag(&args, "--miners", 256)?;
    let rounds = flag(&args, "--rounds", 8)?;
    validate(miners, rounds).await
}

/// The child: `n` honest miner axons on 127.0.0.2, one line `<index> <port>` each on stdout,
/// then `ready`; exits when its stdin closes (the parent ended, however it ended).
async fn serve_miners(n: u64) -> Result<()> {
    let circuits = Arc::new(CircuitStore::from_circuits(vec![mnist()?]));
    let mut handles = Vec::new();
    let mut out = std::io::stdout().lock();
    for i in 0..n {
        let hotkey = miner_key(i)?.public();
        let circuits = circuits.clone();
        let handle = Axon::builder(hotkey)
            .handler(move |req: Request<QueryZkProof>| {
                let circuits = circuits.clone();
                async move {
                    let mut synapse = req.synapse;
                    synapse.query_output = Some(prove(&circuits, &synapse, hotkey.0).await);
                    Ok::<_, HandlerError>(synapse)
                }
            })
            .serve("127.0.0.2:0".parse()?)
            .await?;
        writeln!(out, "{i} {}", handle.local_addr().port())?;
        handles.push(handle);
    }
    writeln!(out, "ready")?;
    out.flush()?;
    drop(out);
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {}
    })
    .await?;
    for h in handles {
        h.shutdown().await;
    }
    Ok(())
}

async fn prove(circuits: &CircuitStore, synapse: &QueryZkProof, hotkey: [u8; 32]) -> String {
    let error = || "An error occurred".to_owned();
    let Some(query) = &synapse.query_input else {
        return error();
    };
    let Some(circuit) = query.model_id().and_then(|id| circuits.get(id)).cloned() else {
        return error();
    };
    let Ok(input) =
        omron_bittensor::json::from_value::<RequestInput>(query.public_inputs().clone())
    else {
        return error();
    };
    match tokio::task::spawn_blocking(move || circuit.prove_request(&input, &hotkey)).await {
        Ok(Ok((proof, outputs))) => ProofOutput {
            proof: hex::encode(proof),
            public_signals: serde_json::to_string(&outputs).unwrap_or_default(),
        }
        .to_query_output(),
        _ => error(),
    }
}

/// Resident memory, peak resident memory (KiB) and CPU seconds (user + system) of this process.
fn usage() -> (u64, u64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are the 12th
    // and 13th of them, in clock ticks (100 per second on Linux).
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let cpu = (ticks(11) + ticks(12)) as f64 / 100.0;
    (kib("VmRSS:"), kib("VmHWM:"), cpu)
}

async fn validate(miners: u64, rounds: u64) -> Result<()> {
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--serve-miners", &miners.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut ports = Vec::new();
    {
        let stdout = child.stdout.take().ok_or("no child stdout")?;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line?;
            if line == "ready" {
                break;
            }
            let (_, port) = line.split_once(' ').ok_or("bad child line")?;
            ports.push(port.parse::<u16>()?);
        }
    }
    if ports.len() as u64 != miners {
        return Err(format!("{} of {miners} miners started", ports.len()).into());
    }

    let chain = EmbeddedChain::in_memory(ChainConfig {
        block_time: Duration::from_millis(250),
        ..ChainConfig::fast()
    })?;
    let alice = Keypair::from_uri("//Alice")?;
    let hyper = Hyperparameters {
        tempo: 20,
        // The owner, the validator and every miner: no registration prunes another.
        max_allowed_uids: u16::try_from(miners + 2)?,
        ..Hyperparameters::dev()
    };
    let owner = Keypair::from_uri("//Alice/owner")?;
    let netuid = chain.create_subnet(&alice, &owner.public(), hyper).await?;
    let validator = Keypair::from_uri("//Alice/validator")?;
    chain
        .burned_register(&alice, netuid, &validator.public())
        .await?;
    chain
        .add_stake(&alice, &validator.public(), netuid, 2000 * RAO_PER_TAO)
        .await?;
    for (i, port) in ports.iter().enumerate() {
        let hot = miner_key(i as u64)?;
        chain.burned_register(&alice, netuid, &hot.public()).await?;
        let axon = ServeAxon {
            version: 1,
            ip: "127.0.0.2".parse()?,
            port: *port,
            protocol: 4,
        };
        chain.serve_axon(&hot, netuid, &axon).await?;
    }
    chain.run_to_next_epoch(netuid)?;
    let blocks = chain.spawn_block_production();
    println!(
        "{miners} miners registered and serving after {:.1?}",
        started.elapsed()
    );

    let circuit = mnist()?;
    let circuit_id = circuit.id();
    let dir = std::env::temp_dir().join(format!("many-miners-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = ValidatorConfig {
        allow_private_axons: true,
        sync_interval: Duration::from_secs(10),
        api_addr: None,
        ..ValidatorConfig::new(netuid)
    };
    let parts = omron_validator::NodeParts {
        chain: Arc::new(chain.clone()),
        hotkey: validator.clone(),
        circuits: CircuitStore::from_circuits(vec![circuit]),
        store: Store::open(&dir.join("validator.sqlite"))?,
        prover: None,
    };
    let (rss0, _, cpu0) = usage();
    let v = Validator::start(config, parts).await?;
    let metrics = v.metrics();
    let responses = || {
        [
            RequestStatus::Verified,
            RequestStatus::Unverified,
            RequestStatus::Failed,
        ]
        .iter()
        .map(|s| metrics.requests(&circuit_id, *s))
        .sum::<u64>()
    };
    println!("validator started: {} MB resident", rss0 / 1024);
    println!("| round | responses | verified | wall | CPU | CPU use | RSS | peak RSS |");
    println!("|---|---|---|---|---|---|---|---|");
    let (mut last_cpu, mut last_at) = (cpu0, Instant::now());
    for round in 1..=rounds {
        while responses() < round * miners {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (rss, hwm, cpu) = usage();
        let wall = last_at.elapsed().as_secs_f64();
        println!(
            "| {round} | {} | {} | {wall:.2} s | {:.2} s | {:.0}% | {} MB | {} MB |",
            responses(),
            metrics.requests(&circuit_id, RequestStatus::Verified),
            cpu - last_cpu,
            100.0 * (cpu - last_cpu) / wall,
            rss / 1024,
            hwm / 1024
        );
        (last_cpu, last_at) = (cpu, Instant::now());
    }
    let board = v.scoreboard().await?;
    let asked: Vec<u64> = board.miners.iter().map(|m| m.requests).collect();
    let weights_by = Instant::now() + Duration::from_secs(120);
    let weighted = loop {
        let b = v.scoreboard().await?;
        let n = b.miners.iter().filter(|m| m.weight > 0).count();
        if n > 0 || Instant::now() > weights_by {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    println!(
        "{} uids on the scoreboard; requests per uid: min {}, max {}; every proof verified: {}",
        board.miners.len(),
        asked.iter().min().copied().unwrap_or(0),
        asked.iter().max().copied().unwrap_or(0),
        board.miners.iter().all(|m| m.verified == m.requests)
    );
    println!(
        "weights on chain for {weighted} miners; {} score batches applied; total {:.1?}",
        metrics.pow_batches_applied(),
        started.elapsed()
    );
    v.shutdown().await?;
    blocks.stop();
    drop(child.stdin.take());
    child.wait()?;
    std::fs::remove_dir_all(&dir)?;
    if weighted == 0 || board.miners.len() as u64 != miners {
        return Err("not every miner was held, or no weights were set".into());
    }
    Ok(())
}
