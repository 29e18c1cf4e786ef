//! `omron localnet`: the whole subnet on one machine, with one command and no setup.
//!
//! It starts the embedded chain in this process (served on a free loopback port, blocks on a
//! timer), creates a subnet with a short tempo, makes throw-away wallets under the state
//! folder, funds and registers one validator (staked, so it gets a permit at the first epoch)
//! and the miners, then runs each node as a real child process of this binary: `omron miner`
//! per miner, on 127.0.0.2 (the chain refuses 127.0.0.1; both are loopback), and one
//! `omron validator` allowed to query loopback axons. The miners are honest except the last
//! two: one slow (`--dev.delay-ms`) and one faulty (`--dev.faulty`). Honest miner `k` answers
//! `k × --honest-step-ms` late, so their ranking does not depend on the machine's noise.
//!
//! Every few seconds it prints a scoreboard (the validator's `GET /scoreboard` joined with the
//! metagraph); it stops on Ctrl-C or after `--duration`, terminates the nodes, waits for them,
//! and writes `--summary` (see `docs/localnet.md`).

mod app;
mod chain;
mod nodes;
mod scoreboard;

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use omron_bittensor::wallet::{Wallet, expand_home};
use omron_chain::{Chain, Hyperparameters, NetUid, RAO_PER_TAO, epoch_index};
use omron_keys::Keypair;

use crate::Outcome;
use crate::commands::miner::{circuits_dir, shutdown_signal};
use chain::{ChainKind, LocalChain};
use nodes::{MinerKind, Node, free_port, wait_healthy};
use scoreboard::{Frame, KnownMiner, Summary, Terminal, ValidatorBoard};

/// The file that marks a folder as a localnet state folder (so only such a folder is wiped).
const MARKER: &str = "localnet.json";
/// TAO minted to the validator's coldkey, and the part it stakes (above the 1024 TAO that
/// makes a validator).
const VALIDATOR_FUNDS_TAO: u64 = 10_000;
const VALIDATOR_STAKE_TAO: u64 = 4_096;
/// TAO minted to each miner's coldkey (the dev burn is 0.1 TAO).
const MINER_FUNDS_TAO: u64 = 10;
/// The loopback address miners announce.
const MINER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// Responses per score update of the validator: upstream's single proof-of-weights batch
/// (`omron_scoring::constants::SINGLE_POW_BATCH_SIZE`, reference section 5.5).
const SCORE_BATCH: usize = 256;

/// The switch of `omron validator` that lets it query loopback and private axons.
const VALIDATOR_PRIVATE_AXONS_FLAG: &str = "--allow-private-axons";
/// The switch of `omron validator` that turns the owner burn off: the localnet shows how the
/// miners share the incentive, which the burn (80% of the weight to the owner's uid, which
/// mines nothing) would hide.
const VALIDATOR_NO_OWNER_BURN_FLAG: &str = "--no-owner-burn";

/// `omron localnet` flags.
#[derive(Debug, Args)]
pub(crate) struct LocalnetArgs {
    /// Miners to run (3 to 32): all honest but the last two, one slow and one faulty.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(3..=32))]
    miners: u16,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    duration: Option<u64>,
    /// Write the final scoreboard here as JSON (`{"miners": [...], "blocks", "epochs"}`).
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Folder for the chain, wallets, validator state and logs. Wiped at start when it holds
    /// an earlier localnet; any other non-empty folder is refused.
    #[arg(long, value_name = "DIR", default_value = "~/.omron/localnet")]
    state: String,
    /// Time between blocks, in milliseconds.
    #[arg(long = "block-time-ms", value_name = "MS", default_value_t = 250)]
    block_time_ms: u64,
    /// Blocks per epoch of the subnet.
    #[arg(long, value_name = "BLOCKS", default_value_t = 20)]
    tempo: u16,
    /// Folder of circuits the nodes serve and query (default: the repository's `circuits/`).
    #[arg(long, value_name = "DIR")]
    circuits: Option<PathBuf>,
    /// Extra answer delay between consecutive honest miners, in milliseconds: honest miner
    /// `k` answers `k ×` this late, which fixes their ranking on any machine.
    #[arg(long = "honest-step-ms", value_name = "MS", default_value_t = 300)]
    honest_step_ms: u64,
    /// Answer delay of the slow miner, in milliseconds (default: one step above the slowest
    /// honest miner's delay, plus one more step).
    #[arg(long = "slow-delay-ms", value_name = "MS")]
    slow_delay_ms: Option<u64>,
    /// Seconds between two scoreboard prints.
    #[arg(
        long = "scoreboard-interval",
        value_name = "SECONDS",
        default_value_t = 5
    )]
    scoreboard_interval: u64,
    /// Expose the validator's external API on this loopback port (0: any free port), with a
    /// whitelisted development key, so that `omron request` can be tried against the subnet;
    /// the URL, certificate fingerprint and key are printed. Off when not given.
    #[arg(long = "external-api-port", value_name = "PORT")]
    external_api_port: Option<u16>,
    /// The chain: `embedded` (the default: an in-process subtensor with Yuma consensus) or
    /// `subtensor` (the real subtensor runtime, spec 218, executed by chopsticks from npm; needs
    /// node >= 20 and npm, and the genesis of `--genesis`).
    #[arg(long = "chain", value_enum, default_value = "embedded")]
    chain: ChainKind,
    /// The chain spec holding the subtensor runtime, for `--chain subtensor` (default:
    /// `$OMRON_SUBTENSOR_GENESIS`, else `../shared/data/subtensor/raonet-genesis.json` beside
    /// the repository).
    #[arg(long = "genesis", value_name = "FILE")]
    genesis: Option<PathBuf>,
    /// The validator's per-key request rate on the external API (requests a minute).
    #[arg(
        long = "external-api-rate-limit",
        value_name = "PER_MINUTE",
        default_value_t = 600
    )]
    external_api_rate_limit: u32,
    /// The validator's per-key requests in flight on the external API.
    #[arg(
        long = "external-api-max-in-flight",
        value_name = "N",
        default_value_t = 16
    )]
    external_api_max_in_flight: u16,
}

/// A node's wallet under `<state>/wallets`.
struct NodeKeys {
    wallet: String,
    coldkey: Keypair,
    hotkey: Keypair,
}

/// A miner to start.
struct MinerPlan {
    keys: NodeKeys,
    kind: MinerKind,
    delay_ms: u64,
    uid: u16,
}

fn make_wallet(root: &Path, name: &str) -> anyhow::Result<NodeKeys> {
    let wallet = Wallet::new(root, name, "default")?;
    let (coldkey, phrase) = Keypair::generate();
    wallet
        .write_coldkey(&coldkey, Some(&phrase), None)
        .with_context(|| format!("cannot write the {name} coldkey"))?;
    let (hotkey, phrase) = Keypair::generate();
    wallet
        .write_hotkey(&hotkey, Some(&phrase))
        .with_context(|| format!("cannot write the {name} hotkey"))?;
    Ok(NodeKeys {
        wallet: name.to_owned(),
        coldkey,
        hotkey,
    })
}

/// Makes `dir` an empty localnet state folder (keeping nothing of an earlier run).
fn prepare_state(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        if entries.next().is_some() && !dir.join(MARKER).is_file() {
            bail!(
                "{} is not empty and was not made by `omron localnet`; pass another --state",
                dir.display()
            );
        }
        for sub in ["chain", "wallets", "validator", "logs", MARKER] {
            let p = dir.join(sub);
            if p.is_dir() {
                std::fs::remove_dir_all(&p)
                    .with_context(|| format!("cannot clear {}", p.display()))?;
            } else if p.exists() {
                std::fs::remove_file(&p)
                    .with_context(|| format!("cannot clear {}", p.display()))?;
            }
        }
    }
    for sub in ["chain", "wallets", "validator", "logs"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("cannot create {}", dir.join(sub).display()))?;
    }
    let marker = serde_json::json!({
        "created_by": "omron localnet",
        "version": env!("CARGO_PKG_VERSION"),
    });
    std::fs::write(dir.join(MARKER), format!("{marker}\n"))
        .with_context(|| format!("cannot write {}", dir.join(MARKER).display()))?;
    Ok(())
}

/// Delays of the miners, in lineup order.
fn delays(kinds: &[MinerKind], step_ms: u64, slow_ms: u64) -> Vec<u64> {
    let mut honest = 0;
    kinds
        .iter()
        .map(|k| match k {
            MinerKind::Honest => {
                honest += 1;
                (honest - 1) * step_ms
            }
            MinerKind::Slow => slow_ms,
            MinerKind::Faulty => 0,
        })
        .collect()
}

pub(crate) fn run(args: LocalnetArgs) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: LocalnetArgs) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        args.block_time_ms >= 10,
        "--block-time-ms must be at least 10"
    );
    anyhow::ensure!(args.tempo >= 2, "--tempo must be at least 2");
    let kinds = MinerKind::lineup(usize::from(args.miners));
    let honest = kinds.iter().filter(|k| **k == MinerKind::Honest).count() as u64;
    let slowest_honest = honest.saturating_sub(1) * args.honest_step_ms;
    let slow_delay_ms = args
        .slow_delay_ms
        .unwrap_or(slowest_honest + 2 * args.honest_step_ms);
    anyhow::ensure!(
        slow_delay_ms >= slowest_honest + args.honest_step_ms.max(1),
        "--slow-delay-ms ({slow_delay_ms}) must exceed the slowest honest miner's delay ({slowest_honest} ms) by a step"
    );
    let circuits = circuits_dir(args.circuits.as_deref())?;
    let (_, store) = crate::commands::miner::load_store(Some(&circuits))?;
    drop(store);
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let state = expand_home(&args.state);
    prepare_state(&state)?;
    let state = state.canonicalize().unwrap_or(state);
    let wallets = state.join("wallets");
    let logs = state.join("logs");

    // The chain, served to the child processes.
    let block_time = Duration::from_millis(args.block_time_ms);
    let mut local = match args.chain {
        ChainKind::Embedded => LocalChain::embedded(&state.join("chain"), block_time).await?,
        ChainKind::Subtensor => {
            let genesis = args
                .genesis
                .clone()
                .unwrap_or_else(omron_chain::chopsticks::default_genesis);
            LocalChain::subtensor(&state.join("chain"), genesis, block_time).await?
        }
    };
    let url = local.url();
    let dev = local.dev();
    let chain = local.chain();

    // The subnet and its neurons.
    let alice = Keypair::from_uri("//Alice")?;
    let owner_hotkey = Keypair::from_uri("//Alice//localnet-owner")?.public();
    let hyper = Hyperparameters {
        tempo: args.tempo,
        ..Hyperparameters::dev()
    };
    let netuid = dev.create_subnet(&alice, &owner_hotkey, hyper).await?;
    let validator = make_wallet(&wallets, "validator")?;
    dev.mint(
        &alice,
        &validator.coldkey.public(),
        VALIDATOR_FUNDS_TAO * RAO_PER_TAO,
    )
    .await?;
    let validator_uid = chain
        .burned_register(&validator.coldkey, netuid, &validator.hotkey.public())
        .await?;
    dev.add_stake(
        &validator.coldkey,
        &validator.hotkey.public(),
        netuid,
        VALIDATOR_STAKE_TAO * RAO_PER_TAO,
    )
    .await?;
    let mut miners = Vec::new();
    for (i, (kind, delay_ms)) in kinds
        .iter()
        .zip(delays(&kinds, args.honest_step_ms, slow_delay_ms))
        .enumerate()
    {
        let keys = make_wallet(&wallets, &format!("miner{i}"))?;
        dev.mint(
            &alice,
            &keys.coldkey.public(),
            MINER_FUNDS_TAO * RAO_PER_TAO,
        )
        .await?;
        let uid = chain
            .burned_register(&keys.coldkey, netuid, &keys.hotkey.public())
            .await?;
        miners.push(MinerPlan {
            keys,
            kind: *kind,
            delay_ms,
            uid,
        });
    }
    // The validator's permit comes with the first epoch after its stake.
    local.run_to_next_epoch(netuid).await?;
    let start_block = local.block().await?;
    local.start_blocks().await?;
    let chain = local.chain();

    let common = |wallet: &str| -> Vec<OsString> {
        vec![
            "--netuid".into(),
            netuid.to_string().into(),
            "--wallet.name".into(),
            wallet.into(),
            "--wallet.hotkey".into(),
            "default".into(),
            "--wallet.path".into(),
            wallets.clone().into(),
            "--subtensor.network".into(),
            url.clone().into(),
            "--circuits".into(),
            circuits.clone().into(),
        ]
    };
    let mut nodes = Vec::new();
    let mut lines = Vec::new();
    for (i, m) in miners.iter().enumerate() {
        let axon_port = free_port(IpAddr::V4(MINER_IP))?;
        let metrics_port = free_port(IpAddr::V4(Ipv4Addr::LOCALHOST))?;
        let mut a = vec![OsString::from("miner")];
        a.extend(common(&m.keys.wallet));
        a.extend(
            [
                "--axon.ip",
                &MINER_IP.to_string(),
                "--axon.port",
                &axon_port.to_string(),
                "--prometheus.ip",
                "127.0.0.1",
                "--prometheus.port",
                &metrics_port.to_string(),
                "--metagraph.sync-interval",
                "2",
                // About every 12 s at the localnet's 250 ms blocks (the default 2 blocks would
                // be two status lines a second in each miner's log).
                "--status.interval-blocks",
                "48",
            ]
            .map(OsString::from),
        );
        if m.delay_ms > 0 {
            a.extend(["--dev.delay-ms".into(), m.delay_ms.to_string().into()]);
        }
        if m.kind == MinerKind::Faulty {
            a.push("--dev.faulty".into());
        }
        let name = format!("miner{i}");
        let log = logs.join(format!("{name}.log"));
        lines.push(format!(
            "  {name:<9} uid {:<3} {:<6} delay {:>5} ms  axon {MINER_IP}:{axon_port}  metrics http://127.0.0.1:{metrics_port}/metrics  log {}",
            m.uid,
            m.kind.label(),
            m.delay_ms,
            log.display()
        ));
        nodes.push(Node::spawn(
            &name,
            &exe,
            &a,
            log,
            format!("http://127.0.0.1:{metrics_port}/health"),
        )?);
    }
    let api_port = free_port(IpAddr::V4(Ipv4Addr::LOCALHOST))?;
    let vmetrics_port = free_port(IpAddr::V4(Ipv4Addr::LOCALHOST))?;
    let api = format!("http://127.0.0.1:{api_port}");
    let mut a = vec![OsString::from("validator")];
    a.extend(common(&validator.wallet));
    a.extend(
        [
            "--api.port",
            &api_port.to_string(),
            "--prometheus.ip",
            "127.0.0.1",
            "--prometheus.port",
            &vmetrics_port.to_string(),
            VALIDATOR_PRIVATE_AXONS_FLAG,
            VALIDATOR_NO_OWNER_BURN_FLAG,
        ]
        .map(OsString::from),
    );
    a.extend(["--state".into(), state.join("validator").into()]);
    let app = match args.external_api_port {
        Some(port) => {
            a.extend([
                "--external-api-rate-limit".into(),
                args.external_api_rate_limit.to_string().into(),
                "--external-api-max-in-flight".into(),
                args.external_api_max_in_flight.to_string().into(),
            ]);
            Some(app::external_api(&mut a, &state, port, &circuits)?)
        }
        None => {
            a.push("--ignore-external-requests".into());
            None
        }
    };
    let vlog = logs.join("validator.log");
    lines.insert(
        0,
        format!(
            "  validator uid {validator_uid:<3} api {api} (dashboard {api}/, {api}/scoreboard)  metrics http://127.0.0.1:{vmetrics_port}/metrics  log {}",
            vlog.display()
        ),
    );
    nodes.push(Node::spawn(
        "validator",
        &exe,
        &a,
        vlog,
        format!("{api}/health"),
    )?);

    println!(
        "omron localnet: {} (blocks every {} ms), subnet {netuid} (tempo {}), state {}",
        local.describe(),
        args.block_time_ms,
        args.tempo,
        state.display()
    );
    for l in &lines {
        println!("{l}");
    }
    if let Some(app) = &app {
        for l in app {
            println!("{l}");
        }
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .context("cannot build the HTTP client")?;
    wait_healthy(&client, &mut nodes, Duration::from_secs(120)).await?;
    println!(
        "scores move once per {SCORE_BATCH} responses (the validator applies them in proof-of-weights batches, as upstream)"
    );
    println!(
        "all nodes up; scoreboard every {} s{}",
        args.scoreboard_interval,
        match args.duration {
            Some(d) => format!(", stopping after {d} s (or Ctrl-C)"),
            None => ", Ctrl-C stops everything".into(),
        }
    );

    let known: Vec<KnownMiner> = miners
        .iter()
        .map(|m| KnownMiner {
            uid: m.uid,
            hotkey: m.keys.hotkey.public().to_string(),
            kind: m.kind,
        })
        .collect();
    let started = Instant::now();
    let deadline = args
        .duration
        .map(|d| tokio::time::Instant::now() + Duration::from_secs(d));
    let until_deadline = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(until_deadline);
    let signal = shutdown_signal();
    tokio::pin!(signal);
    let mut ticker = tokio::time::interval(Duration::from_secs(args.scoreboard_interval.max(1)));
    ticker.tick().await;
    let mut last_board = ValidatorBoard::default();
    let mut failure = None;
    let mut screen = Terminal::stdout(Duration::from_secs(args.scoreboard_interval.max(1)));
    let source = BoardSource {
        chain,
        netuid,
        tempo: args.tempo,
        known: &known,
        started,
    };
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = &mut until_deadline => break,
            _ = &mut signal => {
                screen.note("interrupted; stopping");
                break;
            }
        }
        if let Some(dead) = nodes
            .iter_mut()
            .find_map(|n| n.exited().map(|s| (n.name.clone(), s)))
        {
            failure = Some(dead);
            break;
        }
        match scoreboard::fetch(&client, &api).await {
            Ok(board) => last_board = board,
            Err(e) => tracing::warn!(error = %e, "cannot read the validator's scoreboard"),
        }
        source.show(&last_board, &mut screen, false).await;
    }

    // The final picture, taken while every node still runs.
    if failure.is_none() {
        match scoreboard::fetch(&client, &api).await {
            Ok(board) => last_board = board,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the final scoreboard; using the last one")
            }
        }
    }
    let end_block = local.block().await?;
    let summary = Summary {
        miners: scoreboard::join(&known, &last_board, &chain.metagraph(netuid).await?),
        blocks: end_block.saturating_sub(start_block),
        epochs: epoch_index(netuid, args.tempo, end_block).saturating_sub(epoch_index(
            netuid,
            args.tempo,
            start_block,
        )),
    };
    source.show(&last_board, &mut screen, true).await;

    // Stop the nodes (they shut down cleanly on SIGTERM), then the chain.
    for n in nodes.iter_mut() {
        n.terminate();
    }
    let statuses: Vec<(String, std::process::ExitStatus)> = tokio::task::block_in_place(|| {
        nodes
            .iter_mut()
            .map(|n| (n.name.clone(), n.wait(Duration::from_secs(20))))
            .collect()
    });
    local.stop().await;
    for (name, status) in &statuses {
        if !status.success() {
            tracing::warn!(node = %name, %status, "node did not exit cleanly");
        }
    }
    if let Some(path) = &args.summary {
        let text = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("summary written to {}", path.display());
    }
    println!(
        "localnet stopped after {} blocks ({} epochs); logs in {}",
        summary.blocks,
        summary.epochs,
        logs.display()
    );
    if let Some(note) = no_batch_yet(&last_board, started.elapsed()) {
        println!("{note}");
    }
    if let Some((name, status)) = failure {
        let log = nodes
            .iter()
            .find(|n| n.name == name)
            .map(|n| (n.log.clone(), n.log_tail(4000)));
        let (path, tail) = log.unwrap_or_default();
        bail!(
            "{name} exited unexpectedly ({status}); its log ({}) ends with:\n{tail}",
            path.display()
        );
    }
    Ok(Outcome::Success)
}

/// What every scoreboard refresh reads besides the validator's board.
struct BoardSource<'a> {
    chain: &'a dyn Chain,
    netuid: NetUid,
    tempo: u16,
    known: &'a [KnownMiner],
    started: Instant,
}

impl BoardSource<'_> {
    /// Shows one refresh of the scoreboard (`last`: the final one, which stays on a terminal).
    async fn show(&self, board: &ValidatorBoard, screen: &mut Terminal, last: bool) {
        let metagraph = match self.chain.metagraph(self.netuid).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the metagraph");
                return;
            }
        };
        let lines = scoreboard::join(self.known, board, &metagraph);
        screen.show(&Frame {
            lines: &lines,
            block: metagraph.block,
            epoch: epoch_index(self.netuid, self.tempo, metagraph.block),
            elapsed: self.started.elapsed(),
            last,
        });
    }
}

/// When no score batch has landed (every score still 0), says so and how long a run needs:
/// the first batch lands after [`SCORE_BATCH`] responses, and a short run ends before it.
fn no_batch_yet(board: &ValidatorBoard, elapsed: Duration) -> Option<String> {
    if board.miners.iter().any(|m| m.score > 0.0) {
        return None;
    }
    let responses: u64 = board.miners.iter().map(|m| m.requests).sum();
    let mut note = format!(
        "no score batch has landed yet, so every score and weight is still 0: the first lands \
         after {SCORE_BATCH} responses ({responses} so far)"
    );
    if responses > 0 {
        let per_sec = responses as f64 / elapsed.as_secs_f64().max(1.0);
        let needed = (SCORE_BATCH as f64 / per_sec).ceil() as u64 + 15;
        note.push_str(&format!(
            "; at this rate run with --duration {needed} or more"
        ));
    }
    Some(note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: LocalnetArgs,
    }

    #[test]
    fn needs_no_flags_and_bounds_the_miner_count() {
        let a = Wrapper::try_parse_from(["x"]).unwrap().args;
        assert_eq!(a.miners, 4);
        assert_eq!(a.duration, None);
        assert_eq!(a.block_time_ms, 250);
        assert!(Wrapper::try_parse_from(["x", "--miners", "2"]).is_err());
        assert!(Wrapper::try_parse_from(["x", "--miners", "33"]).is_err());
    }

    #[test]
    fn delays_form_a_ladder_then_slow_then_none() {
        let a = Wrapper::try_parse_from(["x"]).unwrap().args;
        assert_eq!((a.honest_step_ms, a.slow_delay_ms), (300, None));
        let kinds = MinerKind::lineup(5);
        assert_eq!(delays(&kinds, 300, 2000), vec![0, 300, 600, 2000, 0]);
    }

    #[test]
    fn state_folders_of_others_are_refused_and_ours_are_wiped() {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("ln");
        prepare_state(&ours).unwrap();
        std::fs::write(ours.join("wallets/old"), "x").unwrap();
        prepare_state(&ours).unwrap();
        assert!(!ours.join("wallets/old").exists());
        assert!(ours.join(MARKER).is_file() && ours.join("logs").is_dir());
        let theirs = dir.path().join("theirs");
        std::fs::create_dir_all(&theirs).unwrap();
        std::fs::write(theirs.join("precious"), "x").unwrap();
        let e = prepare_state(&theirs).unwrap_err().to_string();
        assert!(e.contains("not made by"), "{e}");
        assert!(theirs.join("precious").exists());
    }

    #[test]
    fn wallets_are_real_keyfiles() {
        let dir = tempfile::tempdir().unwrap();
        let keys = make_wallet(dir.path(), "miner0").unwrap();
        let w = Wallet::new(dir.path(), "miner0", "default").unwrap();
        assert_eq!(w.hotkey().unwrap().public(), keys.hotkey.public());
        assert_eq!(w.coldkey_public().unwrap(), keys.coldkey.public());
    }

    #[test]
    fn a_run_that_ends_before_the_first_batch_says_when_it_would_land() {
        let row = |uid, requests, score| scoreboard::ValidatorRow {
            uid,
            requests,
            score,
            ..Default::default()
        };
        let board = ValidatorBoard {
            block: 10,
            miners: vec![row(1, 130, 0.0), row(2, 125, 0.0)],
        };
        let note = no_batch_yet(&board, Duration::from_secs(60)).unwrap();
        assert!(note.contains("after 256 responses (255 so far)"), "{note}");
        assert!(note.contains("--duration 76"), "{note}");
        let landed = ValidatorBoard {
            block: 10,
            miners: vec![row(1, 300, 0.2)],
        };
        assert_eq!(no_batch_yet(&landed, Duration::from_secs(60)), None);
    }
}
