//! The localnet's chain: the embedded subtensor (the default: in this process, served over
//! loopback HTTP) or the real subtensor runtime executed by chopsticks (`--chain subtensor`:
//! the shipped genesis, spec version 218, on a loopback WebSocket). Both are set up through the
//! same `DevChain` operations and read through the same `Chain` trait, so the rest of the
//! localnet does not know which one runs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use omron_chain::chopsticks::{BlockMode, Chopsticks, ChopsticksOptions};
use omron_chain::subtensor::dev::SubtensorDev;
use omron_chain::{
    BlockNumber, BlockProducer, Chain, ChainConfig, DevChain, EmbeddedChain, NetUid, RpcServer,
    SubtensorClient, serve_rpc,
};
use omron_keys::Keypair;

/// Which chain the localnet runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ChainKind {
    /// The embedded subtensor (Yuma consensus in SQLite, in this process).
    Embedded,
    /// The real subtensor runtime under chopsticks (needs node >= 20 and npm).
    Subtensor,
}

/// A running localnet chain.
pub(super) enum LocalChain {
    Embedded {
        chain: EmbeddedChain,
        rpc: RpcServer,
        producer: Option<BlockProducer>,
    },
    Subtensor {
        // Kept for its lifetime: dropping it ends the runtime's process.
        chopsticks: Box<Chopsticks>,
        dev: Box<SubtensorDev>,
        client: Arc<SubtensorClient>,
        producer: Option<tokio::task::JoinHandle<()>>,
        block_time: Duration,
    },
}

impl LocalChain {
    /// The embedded chain, its state under `dir`, served on a free loopback port.
    pub(super) async fn embedded(dir: &Path, block_time: Duration) -> anyhow::Result<Self> {
        let config = ChainConfig {
            block_time,
            ..ChainConfig::default()
        };
        let chain = EmbeddedChain::open(dir, config).context("cannot open the localnet chain")?;
        let rpc = serve_rpc(
            chain.clone(),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        )
        .await?;
        Ok(Self::Embedded {
            chain,
            rpc,
            producer: None,
        })
    }

    /// The real runtime from `genesis`, its log under `dir`, with `//Alice` as sudo. Blocks
    /// come at once for every extrinsic while the subnet is set up, then on the timer
    /// ([`LocalChain::start_blocks`]).
    pub(super) async fn subtensor(
        dir: &Path,
        genesis: PathBuf,
        block_time: Duration,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut options = ChopsticksOptions::new(genesis);
        options.block_mode = BlockMode::Instant;
        options.log = Some(dir.join("chopsticks.log"));
        println!(
            "omron localnet: starting the real subtensor runtime (chopsticks {}; the first start installs it and compiles the runtime, up to a few minutes)",
            omron_chain::chopsticks::CHOPSTICKS_VERSION
        );
        let chopsticks = Chopsticks::start(options)
            .await
            .context("cannot start the subtensor runtime")?;
        let client = SubtensorClient::connect(&chopsticks.url())
            .await
            .context("cannot connect to the subtensor runtime")?;
        let dev = SubtensorDev::new(client.clone(), Keypair::from_uri("//Alice")?)
            .await
            .context("cannot take the runtime's sudo key")?;
        Ok(Self::Subtensor {
            chopsticks: Box::new(chopsticks),
            dev: Box::new(dev),
            client: Arc::new(client),
            producer: None,
            block_time,
        })
    }

    /// The endpoint the child nodes get as `--subtensor.network`.
    pub(super) fn url(&self) -> String {
        match self {
            Self::Embedded { rpc, .. } => rpc.url(),
            Self::Subtensor { chopsticks, .. } => chopsticks.url(),
        }
    }

    /// What runs, in words, for the start-up line.
    pub(super) fn describe(&self) -> String {
        match self {
            Self::Embedded { .. } => format!("embedded chain {}", self.url()),
            Self::Subtensor { .. } => format!(
                "real subtensor runtime (spec 218 under chopsticks) {}",
                self.url()
            ),
        }
    }

    /// The dev operations (subnet, funds, stake).
    pub(super) fn dev(&self) -> &dyn DevChain {
        match self {
            Self::Embedded { chain, .. } => chain,
            Self::Subtensor { dev, .. } => dev.as_ref(),
        }
    }

    /// The chain as the nodes see it.
    pub(super) fn chain(&self) -> &dyn Chain {
        match self {
            Self::Embedded { chain, .. } => chain,
            Self::Subtensor { client, .. } => client.as_ref(),
        }
    }

    /// The current height.
    pub(super) async fn block(&self) -> anyhow::Result<BlockNumber> {
        Ok(self.chain().current_block().await?)
    }

    /// Makes blocks until the subnet's next epoch has run.
    pub(super) async fn run_to_next_epoch(&self, netuid: NetUid) -> anyhow::Result<()> {
        match self {
            Self::Embedded { chain, .. } => {
                chain.run_to_next_epoch(netuid)?;
            }
            Self::Subtensor { dev, .. } => {
                dev.run_to_epoch(netuid).await?;
            }
        }
        Ok(())
    }

    /// From now on, a block every block time (the nodes' extrinsics wait for the next one, as
    /// on a real network).
    pub(super) async fn start_blocks(&mut self) -> anyhow::Result<()> {
        match self {
            Self::Embedded {
                chain, producer, ..
            } => *producer = Some(chain.spawn_block_production()),
            Self::Subtensor {
                chopsticks,
                producer,
                block_time,
                ..
            } => {
                chopsticks
                    .rpc("dev_setBlockBuildMode", serde_json::json!(["Manual"]))
                    .await
                    .context("cannot switch the runtime to timed blocks")?;
                *producer = Some(chopsticks.spawn_interval(*block_time));
            }
        }
        Ok(())
    }

    /// Stops block production and the chain.
    pub(super) async fn stop(self) {
        match self {
            Self::Embedded { rpc, producer, .. } => {
                if let Some(p) = producer {
                    p.stop();
                }
                rpc.shutdown().await;
            }
            Self::Subtensor {
                chopsticks,
                producer,
                ..
            } => {
                if let Some(p) = producer {
                    p.abort();
                }
                chopsticks.stop();
            }
        }
    }
}
