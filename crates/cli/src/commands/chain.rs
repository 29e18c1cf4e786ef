//! `omron chain ...`: run the embedded local chain, read metagraphs, and the dev operations a
//! local network needs (create a subnet, fund, register, stake, serve an axon).
//!
//! Keys for the dev operations come from substrate-style URIs (`//Alice`, `//Bob/hot`); the
//! embedded chain's genesis funds Alice, Bob and Charlie (1 000 000 TAO) and Dave, Eve and
//! Ferdie (2000 TAO), as a real localnet does.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use omron_chain::{
    Chain, ChainConfig, DevChain, EmbeddedChain, Hyperparameters, Metagraph, RAO_PER_TAO,
    ServeAxon, serve_rpc,
};
use omron_keys::{AccountId, Keypair};

use crate::Outcome;
use crate::args::subtensor::SubtensorArgs;

/// Chain subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ChainCommand {
    /// Run the embedded chain and serve it on 127.0.0.1 until interrupted.
    Serve(ServeArgs),
    /// Print a subnet's metagraph.
    Metagraph {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        subtensor: SubtensorArgs,
    },
    /// Print the current block.
    Block {
        #[command(flatten)]
        subtensor: SubtensorArgs,
    },
    /// Create a subnet (dev chain); prints its netuid.
    CreateSubnet(CreateSubnetArgs),
    /// Mint TAO into an account (dev chain, signed by the sudo key).
    Fund {
        /// Receiving account: an ss58 address or a key URI.
        #[arg(long, value_name = "ADDRESS|URI")]
        to: String,
        /// Amount in TAO.
        #[arg(long, value_name = "TAO")]
        amount: f64,
        /// The sudo key.
        #[arg(long, value_name = "URI", default_value = "//Alice")]
        sudo: String,
        #[command(flatten)]
        subtensor: SubtensorArgs,
    },
    /// Register a hotkey with burn (dev chain); prints its uid.
    Register {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        /// Coldkey paying the burn.
        #[arg(long, value_name = "URI")]
        coldkey: String,
        /// Hotkey to register: an ss58 address or a key URI.
        #[arg(long, value_name = "ADDRESS|URI")]
        hotkey: String,
        #[command(flatten)]
        subtensor: SubtensorArgs,
    },
    /// Stake TAO from a coldkey onto a hotkey (dev chain).
    Stake {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        /// Coldkey paying.
        #[arg(long, value_name = "URI")]
        coldkey: String,
        /// Hotkey to stake on: an ss58 address or a key URI.
        #[arg(long, value_name = "ADDRESS|URI")]
        hotkey: String,
        /// Amount in TAO.
        #[arg(long, value_name = "TAO")]
        amount: f64,
        #[command(flatten)]
        subtensor: SubtensorArgs,
    },
    /// Publish a hotkey's axon address.
    ServeAxon {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        /// The hotkey.
        #[arg(long, value_name = "URI")]
        hotkey: String,
        /// Address to publish (the chain refuses 127.0.0.1; 127.0.0.2 reaches this machine too).
        #[arg(long, default_value = "127.0.0.2")]
        ip: IpAddr,
        /// Port to publish.
        #[arg(long)]
        port: u16,
        #[command(flatten)]
        subtensor: SubtensorArgs,
    },
}

/// `omron chain serve` flags.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// TCP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 9946)]
    port: u16,
    /// Time between blocks, in milliseconds (250 is a fast localnet, 12000 the real chain).
    #[arg(long = "block-time-ms", value_name = "MS", default_value_t = 12_000)]
    block_time_ms: u64,
    /// Folder holding the chain state (`chain.sqlite`); a restarted chain continues from it
    /// (`~` is your home).
    #[arg(long, value_name = "DIR", default_value = "~/.omron/chain")]
    state: String,
}

/// `omron chain create-subnet` flags.
#[derive(Debug, Args)]
pub(crate) struct CreateSubnetArgs {
    /// Owner coldkey (pays the 100 TAO lock).
    #[arg(long, value_name = "URI", default_value = "//Alice")]
    owner: String,
    /// Owner hotkey (becomes uid 0); defaults to `<owner>//owner`.
    #[arg(long = "owner-hotkey", value_name = "URI")]
    owner_hotkey: Option<String>,
    /// Start from the real chain's defaults instead of the dev ones (tempo 20, weights rate
    /// limit 5, one weight suffices, commit-reveal off).
    #[arg(long = "chain-defaults")]
    chain_defaults: bool,
    /// Blocks per epoch.
    #[arg(long)]
    tempo: Option<u16>,
    /// Blocks between two weight sets of one uid.
    #[arg(long = "weights-rate-limit", value_name = "BLOCKS")]
    weights_rate_limit: Option<u64>,
    /// Turn commit-reveal (v2, hash) on or off.
    #[arg(long = "commit-reveal", value_name = "BOOL")]
    commit_reveal: Option<bool>,
    /// Lowest accepted weights version key.
    #[arg(long = "weights-version", value_name = "KEY")]
    weights_version: Option<u64>,
    #[command(flatten)]
    subtensor: SubtensorArgs,
}

pub(crate) fn run(cmd: ChainCommand) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(cmd))
}

fn key(uri: &str) -> anyhow::Result<Keypair> {
    Keypair::from_uri(uri).with_context(|| format!("`{uri}` is not a key URI (e.g. //Alice)"))
}

/// An ss58 address, or the public key of a URI.
fn account(text: &str) -> anyhow::Result<AccountId> {
    if let Ok(account) = text.parse::<AccountId>() {
        return Ok(account);
    }
    Ok(key(text)
        .with_context(|| format!("`{text}` is neither an ss58 address nor a key URI"))?
        .public())
}

fn rao(tao: f64) -> anyhow::Result<u64> {
    anyhow::ensure!(
        tao.is_finite() && tao > 0.0,
        "amount must be a positive number of TAO, got {tao}"
    );
    let rao = tao * RAO_PER_TAO as f64;
    anyhow::ensure!(rao < u64::MAX as f64, "amount {tao} TAO is too large");
    Ok(rao.round() as u64)
}

async fn dev(subtensor: &SubtensorArgs) -> anyhow::Result<omron_chain::DevChainClient> {
    let network = subtensor.network()?;
    network.connect_dev().await.with_context(|| {
        format!(
            "cannot reach the dev chain at {} (is `omron chain serve` running?)",
            network.url()
        )
    })
}

async fn run_async(cmd: ChainCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ChainCommand::Serve(args) => serve(args).await,
        ChainCommand::Metagraph {
            netuid,
            json,
            subtensor,
        } => {
            let network = subtensor.network()?;
            let chain = network
                .connect()
                .await
                .with_context(|| format!("cannot reach {}", network.url()))?;
            let mg = chain.metagraph(netuid).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&mg)?);
            } else {
                print_metagraph(&mg);
            }
            Ok(Outcome::Success)
        }
        ChainCommand::Block { subtensor } => {
            let network = subtensor.network()?;
            let chain = network
                .connect()
                .await
                .with_context(|| format!("cannot reach {}", network.url()))?;
            println!("{}", chain.current_block().await?);
            Ok(Outcome::Success)
        }
        ChainCommand::CreateSubnet(args) => {
            let owner = key(&args.owner)?;
            let hotkey = match &args.owner_hotkey {
                Some(uri) => account(uri)?,
                None => key(&format!("{}//owner", args.owner))?.public(),
            };
            let mut hyper = if args.chain_defaults {
                Hyperparameters::default()
            } else {
                Hyperparameters::dev()
            };
            if let Some(t) = args.tempo {
                hyper.tempo = t;
            }
            if let Some(r) = args.weights_rate_limit {
                hyper.weights_rate_limit = r;
            }
            if let Some(c) = args.commit_reveal {
                hyper.commit_reveal_weights_enabled = c;
            }
            if let Some(v) = args.weights_version {
                hyper.weights_version = v;
            }
            let chain = dev(&args.subtensor).await?;
            let netuid = chain.create_subnet(&owner, &hotkey, hyper).await?;
            println!("{netuid}");
            Ok(Outcome::Success)
        }
        ChainCommand::Fund {
            to,
            amount,
            sudo,
            subtensor,
        } => {
            let chain = dev(&subtensor).await?;
            let dest = account(&to)?;
            chain.mint(&key(&sudo)?, &dest, rao(amount)?).await?;
            println!("{dest} {} rao", chain.balance(&dest).await?);
            Ok(Outcome::Success)
        }
        ChainCommand::Register {
            netuid,
            coldkey,
            hotkey,
            subtensor,
        } => {
            let chain = dev(&subtensor).await?;
            let uid = chain
                .burned_register(&key(&coldkey)?, netuid, &account(&hotkey)?)
                .await?;
            println!("{uid}");
            Ok(Outcome::Success)
        }
        ChainCommand::Stake {
            netuid,
            coldkey,
            hotkey,
            amount,
            subtensor,
        } => {
            let chain = dev(&subtensor).await?;
            let hotkey = account(&hotkey)?;
            chain
                .add_stake(&key(&coldkey)?, &hotkey, netuid, rao(amount)?)
                .await?;
            println!("{hotkey} {} rao", chain.stake(netuid, &hotkey).await?);
            Ok(Outcome::Success)
        }
        ChainCommand::ServeAxon {
            netuid,
            hotkey,
            ip,
            port,
            subtensor,
        } => {
            let network = subtensor.network()?;
            let chain = network
                .connect()
                .await
                .with_context(|| format!("cannot reach {}", network.url()))?;
            let axon = ServeAxon {
                version: 1,
                ip,
                port,
                protocol: 4,
            };
            chain.serve_axon(&key(&hotkey)?, netuid, &axon).await?;
            Ok(Outcome::Success)
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<Outcome> {
    anyhow::ensure!(args.block_time_ms > 0, "--block-time-ms must be positive");
    let config = ChainConfig {
        block_time: Duration::from_millis(args.block_time_ms),
        ..ChainConfig::default()
    };
    let state = expand_home(&args.state);
    let chain = EmbeddedChain::open(&state, config)
        .with_context(|| format!("cannot open the chain state in {}", state.display()))?;
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), args.port);
    let server = serve_rpc(chain.clone(), addr).await?;
    let producer = chain.spawn_block_production();
    // The first stdout line is the URL, for scripts and tests that start us with port 0.
    println!("{}", server.url());
    tracing::info!(url = %server.url(), state = %state.display(), block = chain.block()?, "chain serving");
    shutdown_signal().await;
    producer.stop();
    server.shutdown().await;
    tracing::info!(block = chain.block()?, "chain stopped");
    Ok(Outcome::Success)
}

/// `~/x` under `$HOME`; anything else as given.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

async fn shutdown_signal() {
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

fn print_metagraph(mg: &Metagraph) {
    println!(
        "netuid {} at block {}: {} neurons",
        mg.netuid,
        mg.block,
        mg.n()
    );
    println!(
        "{:>4}  {:<48}  {:>14}  {:>6}  {:>6}  {:>6}  {:>6}  {:>6}  {:>12}  {:<4}  AXON",
        "UID",
        "HOTKEY",
        "STAKE(TAO)",
        "VPERM",
        "INCENT",
        "CONS",
        "DIVS",
        "VTRUST",
        "EMISSION",
        "ACT"
    );
    for n in &mg.neurons {
        let axon = n
            .axon
            .socket_addr()
            .map_or_else(|| "-".to_owned(), |a| a.to_string());
        println!(
            "{:>4}  {:<48}  {:>14.4}  {:>6}  {:>6.4}  {:>6.4}  {:>6.4}  {:>6.4}  {:>12}  {:<4}  {}",
            n.uid,
            n.hotkey.to_string(),
            n.stake as f64 / RAO_PER_TAO as f64,
            if n.validator_permit { "yes" } else { "no" },
            n.incentive.as_f64(),
            n.consensus.as_f64(),
            n.dividends.as_f64(),
            n.validator_trust.as_f64(),
            n.emission,
            if n.active { "yes" } else { "no" },
            axon
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_accounts_parse() {
        assert_eq!(rao(1.5).unwrap(), 1_500_000_000);
        assert!(rao(0.0).is_err() && rao(-1.0).is_err() && rao(f64::NAN).is_err());
        let alice = key("//Alice").unwrap().public();
        assert_eq!(account("//Alice").unwrap(), alice);
        assert_eq!(account(&alice.to_string()).unwrap(), alice);
        assert!(account("not a key").is_err());
    }

    #[test]
    fn state_dir_expands_home() {
        assert_eq!(expand_home("/tmp/x"), PathBuf::from("/tmp/x"));
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(
                expand_home("~/.omron/chain"),
                PathBuf::from(home).join(".omron/chain")
            );
        }
    }
}
