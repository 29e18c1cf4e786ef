//! `omron miner`: serve proofs to the subnet's validators (the node itself is `omron-miner`;
//! this module parses the flags, loads the wallet, circuits and chain, and waits for a
//! signal). `omron miner doctor` takes the same flags and checks them ([`doctor`]).
//!
//! Flags keep the original subnet's names (`--netuid`, `--wallet.*`, `--subtensor.network`,
//! which defaults to `finney` as there, `--subtensor.chain_endpoint`, `--axon.*`,
//! `--disable-blacklist`). Two hidden flags, `--dev.delay-ms` and `--dev.faulty`,
//! exist only for `omron localnet`'s slow and faulty miners.

mod doctor;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use omron_circuit::CircuitStore;
use omron_miner::{Capacities, DevOptions, Miner, MinerConfig, StatusOptions};

use crate::Outcome;
use crate::args::axon::AxonArgs;
use crate::args::subtensor::NodeSubtensorArgs;
use crate::args::wallet::WalletArgs;

/// The capacities file upstream reads from the working directory.
pub(crate) const MINER_CONFIG_FILE: &str = "miner.config.toml";

/// `omron miner [doctor]`: the node's flags, or the doctor with the same flags. Flags go
/// after `doctor` (`omron miner doctor --wallet.name x`); given before it they are refused
/// rather than silently ignored.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct MinerArgs {
    #[command(subcommand)]
    pub(crate) command: Option<MinerCommand>,
    #[command(flatten)]
    pub(crate) node: MinerNodeArgs,
}

/// `omron miner` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum MinerCommand {
    /// Check this miner's setup with the same flags as `omron miner`: registration, the
    /// announced axon (probed with a signed request), the blacklist's view of the validators,
    /// prove times against the validators' timeouts, disk and clock. Exits 1 when a check fails.
    Doctor(Box<doctor::DoctorArgs>),
}

/// `omron miner` flags.
#[derive(Debug, Args)]
pub(crate) struct MinerNodeArgs {
    /// The subnet to mine on.
    #[arg(long, value_name = "NETUID", default_value_t = omron_scoring_netuid())]
    pub(crate) netuid: u16,
    /// Serve every caller: skip the registered / stake / validator-permit checks.
    #[arg(id = "disable-blacklist", long = "disable-blacklist")]
    pub(crate) disable_blacklist: bool,
    /// Folder of circuits to serve (default: `circuits/` of the working directory or of the
    /// repository the binary was built in).
    #[arg(long, value_name = "DIR")]
    pub(crate) circuits: Option<PathBuf>,
    /// Capacities answered to QueryForCapacities, as upstream's `miner.config.toml`
    /// (default: that file in the working directory if present, else 400 compute units per
    /// circuit).
    #[arg(id = "miner.config", long = "miner.config", value_name = "FILE")]
    pub(crate) miner_config: Option<PathBuf>,
    /// Proofs computed at once; more requests wait (up to 4 per slot) or get a busy answer
    /// (default: the number of CPUs).
    #[arg(
        id = "max-concurrent-proofs",
        long = "max-concurrent-proofs",
        value_name = "N"
    )]
    pub(crate) max_concurrent_proofs: Option<usize>,
    /// Seconds between metagraph reads (blacklist view, registration check, axon
    /// announcement).
    #[arg(
        id = "metagraph.sync-interval",
        long = "metagraph.sync-interval",
        value_name = "SECONDS",
        default_value_t = 60.0
    )]
    pub(crate) sync_interval_secs: f64,
    /// Log the status line (block, stake, uid, rank, trust, consensus, incentive, emission,
    /// requests served and failed per circuit) every this many blocks; the original printed
    /// its status table every 24 s, two 12-second blocks.
    #[arg(
        id = "status.interval-blocks",
        long = "status.interval-blocks",
        value_name = "BLOCKS",
        default_value_t = omron_miner::status::DEFAULT_STATUS_BLOCKS,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub(crate) status_blocks: u64,
    #[command(flatten)]
    pub(crate) wallet: WalletArgs,
    #[command(flatten)]
    pub(crate) subtensor: NodeSubtensorArgs,
    #[command(flatten)]
    pub(crate) axon: AxonArgs,
    #[command(flatten)]
    pub(crate) prometheus: PrometheusArgs,
    #[command(flatten)]
    pub(crate) dev: DevArgs,
}

fn omron_scoring_netuid() -> u16 {
    // The subnet's mainnet netuid, as the original subnet's documentation says.
    2
}

/// `--prometheus.*`: the metrics and health exporter (off unless a port is given).
#[derive(Debug, Clone, Args, PartialEq, Eq)]
#[command(next_help_heading = "Prometheus")]
pub(crate) struct PrometheusArgs {
    /// Serve `/metrics` (Prometheus) and `/health` on this port (e.g. 9091); off when absent.
    #[arg(id = "prometheus.port", long = "prometheus.port", value_name = "PORT")]
    pub(crate) port: Option<u16>,
    /// Address the exporter binds (loopback by default: metrics and /health are for this
    /// machine's Prometheus; give 0.0.0.0 to expose them, e.g. in a container).
    #[arg(id = "prometheus.ip",
        long = "prometheus.ip", value_name = "IP", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub(crate) ip: IpAddr,
}

impl Default for PrometheusArgs {
    fn default() -> Self {
        Self {
            port: None,
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        }
    }
}

/// Dev-only behaviours for `omron localnet` (hidden from `--help`; the miner logs a warning
/// when one is on).
#[derive(Debug, Clone, Default, Args, PartialEq, Eq)]
pub(crate) struct DevArgs {
    /// DEV ONLY: sleep this many milliseconds before answering each proof request.
    #[arg(
        id = "dev.delay-ms",
        long = "dev.delay-ms",
        value_name = "MS",
        hide = true,
        default_value_t = 0
    )]
    pub(crate) delay_ms: u64,
    /// DEV ONLY: corrupt every proof before sending it.
    #[arg(id = "dev.faulty", long = "dev.faulty", hide = true)]
    pub(crate) faulty: bool,
}

/// Where the circuits are: the flag, else `circuits/` in the working directory, else next to
/// the binary (`target/<profile>/omron` → the repository's `circuits/`), else the repository
/// this binary was built from.
pub(crate) fn circuits_dir(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    let mut tried = Vec::new();
    let mut candidates = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd.join("circuits"));
    }
    if let Ok(exe) = std::env::current_exe() {
        candidates.extend(exe.ancestors().skip(1).take(5).map(|d| d.join("circuits")));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../circuits"));
    for dir in candidates {
        if has_circuit(&dir) {
            return Ok(dir.canonicalize().unwrap_or(dir));
        }
        tried.push(dir.display().to_string());
    }
    bail!(
        "cannot find the circuits folder (tried {}); pass --circuits DIR",
        tried.join(", ")
    )
}

fn has_circuit(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.path().join(omron_circuit::METADATA_FILE).is_file())
    })
}

/// Loads the store and says which folder it came from when it fails.
pub(crate) fn load_store(flag: Option<&Path>) -> anyhow::Result<(PathBuf, CircuitStore)> {
    let dir = circuits_dir(flag)?;
    let store = CircuitStore::load(&dir)
        .with_context(|| format!("cannot load the circuits in {}", dir.display()))?;
    if store.is_empty() {
        bail!(
            "{} holds no circuits (folders with metadata.json)",
            dir.display()
        );
    }
    Ok((dir, store))
}

impl MinerNodeArgs {
    /// The status line's settings.
    fn status(&self) -> StatusOptions {
        StatusOptions {
            every_blocks: self.status_blocks,
        }
    }

    /// The node's settings, built once.
    fn config(&self) -> anyhow::Result<MinerConfig> {
        let mut config = MinerConfig::new(self.netuid, self.axon.bind());
        config.external_ip = self.axon.external_ip;
        config.external_port = self.axon.external_port;
        config.disable_blacklist = self.disable_blacklist;
        if let Some(n) = self.max_concurrent_proofs {
            anyhow::ensure!(n > 0, "--max-concurrent-proofs must be at least 1");
            config.max_concurrent_proofs = n;
            config.max_waiting_proofs = n * 4;
        }
        anyhow::ensure!(
            self.sync_interval_secs.is_finite() && self.sync_interval_secs >= 0.1,
            "--metagraph.sync-interval must be at least 0.1 seconds"
        );
        config.sync_interval = Duration::from_secs_f64(self.sync_interval_secs);
        config.prometheus = self
            .prometheus
            .port
            .map(|p| SocketAddr::new(self.prometheus.ip, p));
        config.capacities = match &self.miner_config {
            Some(path) => Capacities::load(path)?,
            None if Path::new(MINER_CONFIG_FILE).is_file() => {
                tracing::info!(
                    file = MINER_CONFIG_FILE,
                    "capacities from the working directory"
                );
                Capacities::load(Path::new(MINER_CONFIG_FILE))?
            }
            None => Capacities::default(),
        };
        config.dev = DevOptions {
            delay: Duration::from_millis(self.dev.delay_ms),
            faulty: self.dev.faulty,
        };
        Ok(config)
    }
}

pub(crate) fn run(args: MinerArgs) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match args.command {
        Some(MinerCommand::Doctor(doctor)) => runtime.block_on(doctor::run(*doctor)),
        None => runtime.block_on(run_async(args.node)),
    }
}

/// The wallet's hotkey, with the path in the error.
fn read_hotkey(args: &MinerNodeArgs) -> anyhow::Result<omron_keys::Keypair> {
    let wallet = args.wallet.wallet()?;
    wallet.hotkey().with_context(|| {
        format!(
            "cannot read the hotkey {} (create it with `omron wallet create`)",
            wallet.hotkey_path().display()
        )
    })
}

async fn run_async(args: MinerNodeArgs) -> anyhow::Result<Outcome> {
    let config = args.config()?;
    let hotkey = read_hotkey(&args)?;
    let (dir, store) = load_store(args.circuits.as_deref())?;
    tracing::info!(dir = %dir.display(), circuits = store.len(), "circuits loaded");
    let network = args.subtensor.network()?;
    let chain = network
        .connect()
        .await
        .with_context(|| format!("cannot reach the chain at {}", network.url()))?;
    let miner = Miner::start_with_status(config, args.status(), chain, hotkey, store).await?;
    tracing::info!(
        uid = miner.uid(),
        axon = %miner.announced_addr(),
        metrics = ?miner.metrics_addr(),
        "miner running; Ctrl-C stops it"
    );
    shutdown_signal().await;
    tracing::info!("stopping");
    miner.shutdown().await;
    Ok(Outcome::Success)
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: MinerNodeArgs,
    }

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        args: MinerArgs,
    }

    #[test]
    fn doctor_takes_the_miners_flags_after_it_and_refuses_them_before() {
        let run = Cmd::try_parse_from(["x", "--wallet.name", "w", "--netuid", "3"]).unwrap();
        assert!(run.args.command.is_none());
        assert_eq!(run.args.node.netuid, 3);
        let doc = Cmd::try_parse_from([
            "x",
            "doctor",
            "--wallet.name",
            "w",
            "--netuid",
            "3",
            "--axon.port",
            "9000",
            "--no-prove",
        ])
        .unwrap();
        match doc.args.command {
            Some(MinerCommand::Doctor(d)) => {
                assert_eq!((d.node.netuid, d.node.axon.port), (3, 9000));
                assert!(d.no_prove);
            }
            None => panic!("doctor not parsed"),
        }
        assert!(Cmd::try_parse_from(["x", "--netuid", "3", "doctor"]).is_err());
    }

    #[test]
    fn status_cadence_defaults_to_two_blocks_and_refuses_zero() {
        let parsed = Wrapper::try_parse_from(["x"]).unwrap();
        assert_eq!(parsed.args.status().every_blocks, 2);
        let parsed = Wrapper::try_parse_from(["x", "--status.interval-blocks", "10"]).unwrap();
        assert_eq!(parsed.args.status().every_blocks, 10);
        assert!(Wrapper::try_parse_from(["x", "--status.interval-blocks", "0"]).is_err());
    }

    #[derive(Parser)]
    struct Prom {
        #[command(flatten)]
        args: PrometheusArgs,
    }

    #[derive(Parser)]
    struct Dev {
        #[command(flatten)]
        args: DevArgs,
    }

    #[test]
    fn flag_groups_default_when_empty() {
        assert_eq!(
            Prom::try_parse_from(["x"]).unwrap().args,
            PrometheusArgs::default()
        );
        assert_eq!(Dev::try_parse_from(["x"]).unwrap().args, DevArgs::default());
    }

    #[test]
    fn upstream_flags_build_the_config() {
        let parsed = Wrapper::try_parse_from([
            "x",
            "--netuid",
            "7",
            "--axon.port",
            "0",
            "--axon.ip",
            "127.0.0.2",
            "--disable-blacklist",
            "--max-concurrent-proofs",
            "3",
            "--prometheus.port",
            "9091",
            "--metagraph.sync-interval",
            "2.5",
        ])
        .unwrap();
        let c = parsed.args.config().unwrap();
        assert_eq!(c.netuid, 7);
        assert_eq!(c.axon_bind, "127.0.0.2:0".parse().unwrap());
        assert!(c.disable_blacklist);
        assert_eq!((c.max_concurrent_proofs, c.max_waiting_proofs), (3, 12));
        assert_eq!(c.prometheus, Some("127.0.0.1:9091".parse().unwrap()));
        assert_eq!(c.sync_interval, Duration::from_millis(2500));
        assert!(!c.dev.any());
        let bad = Wrapper::try_parse_from(["x", "--max-concurrent-proofs", "0"]).unwrap();
        assert!(bad.args.config().is_err());
    }

    #[test]
    fn the_chain_defaults_to_finney_as_the_original() {
        let parsed = Wrapper::try_parse_from(["x"]).unwrap();
        assert_eq!(
            parsed.args.subtensor.network().unwrap().url(),
            omron_chain::FINNEY_URL
        );
        let parsed =
            Wrapper::try_parse_from(["x", "--subtensor.chain_endpoint", "ws://h:9944"]).unwrap();
        assert_eq!(
            parsed.args.subtensor.network().unwrap().url(),
            "ws://h:9944"
        );
    }

    #[test]
    fn dev_flags_parse_but_stay_out_of_the_help() {
        use clap::CommandFactory;
        let parsed =
            Wrapper::try_parse_from(["x", "--dev.delay-ms", "1500", "--dev.faulty"]).unwrap();
        let c = parsed.args.config().unwrap();
        assert_eq!(c.dev.delay, Duration::from_millis(1500));
        assert!(c.dev.faulty);
        let help = Wrapper::command().render_help().to_string();
        assert!(!help.contains("dev."), "{help}");
        assert!(help.contains("--axon.external_ip") && help.contains("--disable-blacklist"));
    }

    #[test]
    fn circuits_dir_prefers_the_flag_and_finds_the_repository() {
        assert_eq!(
            circuits_dir(Some(Path::new("/x"))).unwrap(),
            PathBuf::from("/x")
        );
        let found = circuits_dir(None).unwrap();
        assert!(has_circuit(&found), "{}", found.display());
    }
}
