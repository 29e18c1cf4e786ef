//! `omron validator`: query the subnet's miners, verify their proofs, score them and set
//! weights (the node itself is `omron-validator`; this module parses the flags, loads the
//! wallet, circuits, store and chain, prints where to reach the node, and waits for a signal
//! or a fatal error).
//!
//! Flags keep the original subnet's names where they exist (`--netuid`, `--wallet.*`,
//! `--subtensor.network`, `--prometheus-port`/`--prometheus-monitoring`); `docs/validator.md`
//! is the operator guide.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use omron_bittensor::wallet::expand_home;
use omron_scoring::constants::SINGLE_POW_BATCH_SIZE as POW_BATCH;
use omron_validator::store::{Store, StoreError};
use omron_validator::{BatchProver, NodeParts, StoredCircuitProver, Validator, ValidatorConfig};

use crate::Outcome;
use crate::args::subtensor::NodeSubtensorArgs;
use crate::args::validator::{
    ApiArgs, ExternalApiArgs, ValidatorNodeArgs, ValidatorPrometheusArgs,
};
use crate::args::wallet::WalletArgs;

/// The state database's file name inside `--state`.
pub(crate) const STATE_FILE: &str = "validator.sqlite";

/// `omron validator` flags (the node), or one of its tools (`cert`, `export`).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ValidatorArgs {
    #[command(subcommand)]
    pub(crate) tool: Option<super::validator_tools::ValidatorTool>,
    /// The subnet to validate.
    #[arg(long = "netuid", value_name = "NETUID", default_value_t = 2)]
    pub(crate) netuid: u16,
    #[command(flatten)]
    pub(crate) node: ValidatorNodeArgs,
    #[command(flatten)]
    pub(crate) api: ApiArgs,
    #[command(flatten)]
    pub(crate) external: ExternalApiArgs,
    #[command(flatten)]
    pub(crate) prometheus: ValidatorPrometheusArgs,
    #[command(flatten)]
    pub(crate) wallet: WalletArgs,
    #[command(flatten)]
    pub(crate) subtensor: NodeSubtensorArgs,
}

impl ValidatorArgs {
    /// The node's settings, built once.
    fn config(&self) -> anyhow::Result<ValidatorConfig> {
        if self.node.concurrency == 0 {
            bail!("--concurrency must be at least 1");
        }
        if !(self.node.sync_interval_secs.is_finite() && self.node.sync_interval_secs >= 0.1) {
            bail!("--metagraph.sync-interval must be at least 0.1 seconds");
        }
        let mut config = ValidatorConfig::new(self.netuid);
        config.concurrency = self.node.concurrency;
        config.allow_private_axons = self.node.allow_private_axons;
        config.sync_interval = Duration::from_secs_f64(self.node.sync_interval_secs);
        config.set_weights = !self.node.no_weights;
        config.owner_burn = !self.node.no_owner_burn;
        config.api_addr = Some(self.api.addr());
        config.metrics_addr = self.prometheus.addr();
        config.external = self.external.config(&self.state_dir())?;
        Ok(config)
    }

    /// The state folder: the flag, else one per wallet, hotkey and subnet.
    pub(crate) fn state_dir(&self) -> PathBuf {
        default_state_dir(self.node.state.as_deref(), &self.wallet, self.netuid)
    }
}

/// The state folder: `state` if given, else one per wallet, hotkey and subnet.
pub(crate) fn default_state_dir(
    state: Option<&std::path::Path>,
    wallet: &WalletArgs,
    netuid: u16,
) -> PathBuf {
    state.map(PathBuf::from).unwrap_or_else(|| {
        expand_home("~/.bittensor/omron-rs/validator")
            .join(&wallet.name)
            .join(&wallet.hotkey)
            .join(format!("netuid{netuid}"))
    })
}

pub(crate) fn run(args: ValidatorArgs) -> anyhow::Result<Outcome> {
    if let Some(tool) = args.tool {
        return super::validator_tools::run(tool);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

/// Opens the validator's state; with `fresh` an unusable file is moved aside first.
fn open_state(state_file: &std::path::Path, fresh: bool) -> anyhow::Result<Store> {
    match Store::open(state_file) {
        Err(StoreError::NotAState { path, reason }) if fresh => {
            let moved = Store::set_aside(&path)?;
            if let Some(moved) = moved {
                tracing::warn!(
                    state = %path.display(),
                    moved = %moved.display(),
                    reason,
                    "the state file was not a validator state; moved aside, starting a new state"
                );
            }
            Ok(Store::open(state_file)?)
        }
        // This message names the file and what to do already.
        Err(e @ StoreError::NotAState { .. }) => Err(e.into()),
        result => result
            .with_context(|| format!("cannot open the validator state {}", state_file.display())),
    }
}

async fn run_async(args: ValidatorArgs) -> anyhow::Result<Outcome> {
    let config = args.config()?;
    let wallet = args.wallet.wallet()?;
    let hotkey = wallet.hotkey().with_context(|| {
        format!(
            "cannot read the hotkey {} (create it with `omron wallet create`)",
            wallet.hotkey_path().display()
        )
    })?;
    let (circuits_dir, circuits) = super::miner::load_store(args.node.circuits.as_deref())?;
    let state_dir = args.state_dir();
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("cannot create the state folder {}", state_dir.display()))?;
    let state_file = state_dir.join(STATE_FILE);
    let store = open_state(&state_file, args.node.fresh_state)?;
    let network = args.subtensor.network()?;
    let chain = network
        .connect()
        .await
        .with_context(|| format!("cannot reach the chain at {}", network.url()))?;
    let loaded = circuits.len();
    // Proof of weights: every applied 256-item batch is proven with the SN2 scoring circuit,
    // when the store ships one (the node logs at startup if it does not).
    let prover = StoredCircuitProver::from_store(&circuits, POW_BATCH, *hotkey.public().as_bytes())
        .map(|p| Arc::new(p) as Arc<dyn BatchProver>);
    let parts = NodeParts {
        chain,
        hotkey,
        circuits,
        store,
        prover,
    };
    let mut validator = Validator::start(config, parts).await?;
    println!(
        "omron validator: uid {} on netuid {} (hotkey {}), block {}",
        validator.uid(),
        args.netuid,
        validator.hotkey(),
        validator.block()
    );
    if let Some(api) = validator.api_addr() {
        println!(
            "omron validator: api http://{api} (GET /health, /scoreboard, / for the dashboard)"
        );
    }
    match (
        validator.external_addr(),
        validator.certificate_fingerprint(),
    ) {
        (Some(addr), Some(fp)) => println!(
            "omron validator: external API wss://{addr}/rpc (certificate sha256 {fp}; GET /circuits, /health)"
        ),
        _ => println!("omron validator: external API off (--ignore-external-requests)"),
    }
    match validator.metrics_addr() {
        Some(m) => println!("omron validator: metrics http://{m}/metrics"),
        None => println!("omron validator: metrics off (--prometheus.port to serve them)"),
    }
    println!(
        "omron validator: state {}, circuits {} ({loaded})",
        state_file.display(),
        circuits_dir.display()
    );
    tracing::info!("validator running; Ctrl-C stops it");
    let fatal = tokio::select! {
        _ = super::miner::shutdown_signal() => None,
        error = validator.failed() => Some(error),
    };
    match fatal {
        None => {
            tracing::info!("stopping");
            validator.shutdown().await?;
            Ok(Outcome::Success)
        }
        Some(error) => {
            // Stop what still runs (servers, requests in flight) before reporting.
            let _ = validator.shutdown().await;
            Err(anyhow::Error::new(error).context("the validator stopped"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn an_empty_state_file_stops_the_validator_unless_a_fresh_state_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(STATE_FILE);
        std::fs::write(&file, b"").unwrap();
        let err = format!("{:#}", open_state(&file, false).unwrap_err());
        assert!(
            err.contains("is empty") && err.contains("--fresh-state"),
            "{err}"
        );
        // Named once, not once per layer of context.
        assert_eq!(
            err.matches(&*file.display().to_string()).count(),
            1,
            "{err}"
        );
        let store = open_state(&file, true).unwrap();
        assert!(store.scores().unwrap().is_empty());
        let moved: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".invalid-"))
            .collect();
        assert_eq!(moved.len(), 1, "the empty file is kept aside");
    }

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ValidatorArgs,
    }

    #[test]
    fn upstream_flags_build_the_config() {
        let parsed = Wrapper::try_parse_from([
            "x",
            "--netuid",
            "7",
            "--wallet.name",
            "v",
            "--wallet.hotkey",
            "h",
            "--concurrency",
            "3",
            "--allow-private-axons",
            "--api.port",
            "0",
            "--prometheus-port",
            "9191",
        ])
        .unwrap();
        let c = parsed.args.config().unwrap();
        assert_eq!(c.netuid, 7);
        assert_eq!(c.concurrency, 3);
        assert!(c.allow_private_axons && c.set_weights);
        assert_eq!(c.api_addr, Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(c.metrics_addr, Some("127.0.0.1:9191".parse().unwrap()));
        assert!(
            parsed
                .args
                .state_dir()
                .ends_with(".bittensor/omron-rs/validator/v/h/netuid7")
        );
        let bad = Wrapper::try_parse_from(["x", "--concurrency", "0"]).unwrap();
        assert!(bad.args.config().is_err());
        let bad = Wrapper::try_parse_from(["x", "--metagraph.sync-interval", "0"]).unwrap();
        assert!(bad.args.config().is_err());
    }

    #[test]
    fn the_netuid_defaults_to_the_subnets() {
        let parsed = Wrapper::try_parse_from(["x"]).unwrap();
        assert_eq!(parsed.args.netuid, 2);
        let config = parsed.args.config().unwrap();
        assert_eq!(config.metrics_addr, None);
        // Mainnet and the owner burn, as the original's newest release.
        assert!(config.owner_burn);
        assert_eq!(
            parsed.args.subtensor.network().unwrap().url(),
            omron_chain::FINNEY_URL
        );
        let parsed = Wrapper::try_parse_from(["x", "--no-owner-burn"]).unwrap();
        assert!(!parsed.args.config().unwrap().owner_burn);
    }
}
