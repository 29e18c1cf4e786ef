//! The embedded local subtensor: state in SQLite, blocks on a timer (or on demand in tests),
//! the subnet extrinsics with the runtime's checks, and Yuma consensus at every epoch.

mod apply;
mod epoch;
mod store;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use omron_keys::{AccountId, Keypair};
use rusqlite::Connection;
use tokio::sync::watch;

use crate::chain::BlockStream;
use crate::dev::{Call, CallOutput, DevChain, Query, QueryOutput};
use crate::error::{ChainError, ChainResult, PalletError};
use crate::types::{BlockNumber, NetUid, RAO_PER_TAO, Rao, blocks_until_next_epoch};

/// Chain-wide settings of an embedded chain (subnet settings are [`Hyperparameters`](crate::Hyperparameters)).
#[derive(Clone, Debug)]
pub struct ChainConfig {
    /// Time between blocks when producing on a timer.
    pub block_time: Duration,
    /// Rao each subnet accrues per block, paid out at its epoch.
    pub subnet_emission_per_block: Rao,
    /// The owner's share of each epoch's emission, u16 proportion (the runtime's 11796 = 18%).
    pub owner_cut: u16,
    /// Rao a subnet creation burns.
    pub network_lock_cost: Rao,
    /// The account allowed to mint (`//Alice`, as on a real localnet).
    pub sudo: AccountId,
    /// Balances at genesis (applied once, when the state is created).
    pub endowed: Vec<(AccountId, Rao)>,
}

impl ChainConfig {
    /// 250 ms blocks, as a `fast-runtime` localnet.
    pub fn fast() -> Self {
        Self {
            block_time: Duration::from_millis(250),
            ..Self::default()
        }
    }
}

fn dev_account(uri: &str) -> Option<AccountId> {
    Keypair::from_uri(uri).ok().map(|k| k.public())
}

impl Default for ChainConfig {
    /// 12 s blocks, 1 TAO per block per subnet, an 18% owner cut, 100 TAO to create a subnet,
    /// and the real localnet's genesis: Alice (sudo), Bob and Charlie hold 1 000 000 TAO; Dave,
    /// Eve and Ferdie 2000 TAO.
    fn default() -> Self {
        let rich = ["//Alice", "//Bob", "//Charlie"]
            .into_iter()
            .map(|u| (u, 1_000_000 * RAO_PER_TAO));
        let poor = ["//Dave", "//Eve", "//Ferdie"]
            .into_iter()
            .map(|u| (u, 2000 * RAO_PER_TAO));
        let endowed = rich
            .chain(poor)
            .filter_map(|(u, a)| dev_account(u).map(|acc| (acc, a)))
            .collect();
        Self {
            block_time: Duration::from_secs(12),
            subnet_emission_per_block: RAO_PER_TAO,
            owner_cut: 11_796,
            network_lock_cost: 100 * RAO_PER_TAO,
            sudo: dev_account("//Alice").unwrap_or(AccountId([0; 32])),
            endowed,
        }
    }
}

struct Inner {
    conn: Mutex<Connection>,
    config: ChainConfig,
    genesis: [u8; 32],
    blocks: watch::Sender<BlockNumber>,
    location: String,
}

/// An in-process subtensor. Cheap to clone (shared state). Implements [`Chain`](crate::Chain)
/// and [`DevChain`]; serve it to other processes with [`serve_rpc`](crate::serve_rpc).
///
/// Calls apply at once at the current height (a real client would see them in the next block).
#[derive(Clone)]
pub struct EmbeddedChain {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EmbeddedChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedChain")
            .field("state", &self.inner.location)
            .finish()
    }
}

/// File name of the state inside a `--state` folder.
pub const STATE_FILE: &str = "chain.sqlite";

/// SQLite takes a 0-byte file for a new database, so a truncated state would restart the chain
/// from block 0 without a word: a state file that exists must already be a chain state.
fn refuse_foreign_state(path: &Path) -> ChainResult<()> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(()); // missing: a new chain
    };
    let refuse = |reason: &str| ChainError::InvalidArgument {
        what: "chain state",
        reason: format!(
            "{} {reason}; restore it from a backup, or move it away to start a new chain \
             from block 0",
            path.display()
        ),
    };
    if meta.len() == 0 {
        return Err(refuse("is empty (0 bytes)"));
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|_| refuse("cannot be opened as SQLite"))?;
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            [],
            |r| r.get(0),
        )
        .map_err(|_| refuse("is not an SQLite database"))?;
    if tables == 0 {
        return Err(refuse("is an SQLite database without the chain's tables"));
    }
    Ok(())
}

impl EmbeddedChain {
    /// Opens (or creates) the chain whose state lives in `dir/chain.sqlite`.
    pub fn open(dir: &Path, config: ChainConfig) -> ChainResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| ChainError::InvalidArgument {
            what: "state dir",
            reason: format!("cannot create {}: {e}", dir.display()),
        })?;
        let path: PathBuf = dir.join(STATE_FILE);
        refuse_foreign_state(&path)?;
        let conn = Connection::open(&path)?;
        Self::with_connection(conn, config, path.display().to_string())
    }

    /// A chain whose state lives only in memory (tests).
    pub fn in_memory(config: ChainConfig) -> ChainResult<Self> {
        Self::with_connection(Connection::open_in_memory()?, config, ":memory:".into())
    }

    fn with_connection(
        mut conn: Connection,
        config: ChainConfig,
        location: String,
    ) -> ChainResult<Self> {
        store::init(&conn, &location)?;
        let tx = conn.transaction()?;
        let genesis = match store::meta_blob(&tx, "genesis")? {
            Some(g) => g.try_into().map_err(|g: Vec<u8>| ChainError::Decode {
                what: "genesis hash".into(),
                reason: format!("expected 32 bytes, got {}", g.len()),
            })?,
            None => {
                let g: [u8; 32] = rand::random();
                store::set_meta_blob(&tx, "genesis", &g)?;
                store::set_meta_u64(&tx, "block", 0)?;
                for (account, amount) in &config.endowed {
                    store::set_balance(&tx, account, *amount)?;
                }
                g
            }
        };
        let block = store::block(&tx)?;
        tx.commit()?;
        tracing::info!(state = %location, block, "embedded chain opened");
        let (blocks, _) = watch::channel(block);
        Ok(Self {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                config,
                genesis,
                blocks,
                location,
            }),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back on drop), so a poisoned lock is still safe to use.
        self.inner.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Chain-wide settings.
    pub fn config(&self) -> &ChainConfig {
        &self.inner.config
    }

    /// The genesis hash (random, fixed when the state was created).
    pub fn genesis_hash(&self) -> [u8; 32] {
        self.inner.genesis
    }

    /// Produces one block (running any epoch due in it); returns the new height.
    pub fn produce_block(&self) -> ChainResult<BlockNumber> {
        let block = {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            let (block, epochs) = epoch::produce_block(&tx, &self.inner.config)?;
            tx.commit()?;
            if !epochs.is_empty() {
                tracing::info!(block, netuids = ?epochs, "epoch");
            }
            block
        };
        self.inner.blocks.send_replace(block);
        Ok(block)
    }

    /// Produces `n` blocks; returns the new height.
    pub fn produce_blocks(&self, n: u64) -> ChainResult<BlockNumber> {
        let mut block = self.block()?;
        for _ in 0..n {
            block = self.produce_block()?;
        }
        Ok(block)
    }

    /// Produces blocks until the subnet's epoch has run (at most `tempo + 1` blocks).
    pub fn run_to_next_epoch(&self, netuid: NetUid) -> ChainResult<BlockNumber> {
        let tempo = self.hyperparameters_now(netuid)?.tempo;
        let now = self.block()?;
        let wait = blocks_until_next_epoch(netuid, tempo, now + 1);
        self.produce_blocks(wait + 1)
    }

    /// Spawns a task producing a block every `config.block_time`; it stops when the handle is
    /// dropped or [`BlockProducer::stop`] is called. Needs a tokio runtime.
    pub fn spawn_block_production(&self) -> BlockProducer {
        let chain = self.clone();
        let period = self.inner.config.block_time.max(Duration::from_millis(1));
        let handle = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                if let Err(err) = chain.produce_block() {
                    tracing::error!(%err, "block production failed; retrying next tick");
                }
            }
        });
        BlockProducer { handle }
    }

    /// The current height.
    pub fn block(&self) -> ChainResult<BlockNumber> {
        store::block(&self.conn())
    }

    /// Applies a call for an authenticated signer.
    pub fn submit(&self, signer: &AccountId, call: &Call) -> ChainResult<CallOutput> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let block = store::block(&tx)?;
        let out = apply::apply(&tx, &self.inner.config, signer, block, call)?;
        tx.commit()?;
        tracing::debug!(call = call.name(), %signer, block, "applied");
        Ok(out)
    }

    /// Applies a call whose signature the caller verified, after checking the nonce is above
    /// the signer's last one (so a captured request cannot be replayed). The nonce is used up
    /// even when the call fails, as a real chain includes failed extrinsics.
    pub fn submit_with_nonce(
        &self,
        signer: &AccountId,
        nonce: u64,
        call: &Call,
    ) -> ChainResult<CallOutput> {
        let mut conn = self.conn();
        let mut tx = conn.transaction()?;
        let last = store::nonce(&tx, signer)?;
        if nonce <= last {
            return Err(ChainError::BadOrigin {
                signer: signer.to_string(),
                reason: format!("nonce {nonce} not above the last used {last}"),
            });
        }
        store::set_nonce(&tx, signer, nonce)?;
        let block = store::block(&tx)?;
        let result = {
            // The call's changes sit in a savepoint: dropped on error, the nonce kept.
            let sp = tx.savepoint()?;
            let result = apply::apply(&sp, &self.inner.config, signer, block, call);
            if result.is_ok() {
                sp.commit()?;
            }
            result
        };
        tx.commit()?;
        result
    }

    /// Answers a read.
    pub fn query_now(&self, query: &Query) -> ChainResult<QueryOutput> {
        let conn = self.conn();
        let subnet = |netuid: NetUid| {
            store::subnet(&conn, netuid)?.ok_or_else(|| {
                ChainError::rejected(PalletError::SubnetNotExists, format!("netuid {netuid}"))
            })
        };
        Ok(match query {
            Query::Block => QueryOutput::Block(store::block(&conn)?),
            Query::Genesis => {
                QueryOutput::Genesis(format!("0x{}", hex::encode(self.inner.genesis)))
            }
            Query::Subnets => {
                QueryOutput::Subnets(store::subnets(&conn)?.iter().map(|s| s.netuid).collect())
            }
            Query::Metagraph { netuid } => {
                subnet(*netuid)?;
                QueryOutput::Metagraph(crate::Metagraph {
                    netuid: *netuid,
                    block: store::block(&conn)?,
                    neurons: store::neurons(&conn, *netuid)?,
                })
            }
            Query::Hyperparameters { netuid } => {
                QueryOutput::Hyperparameters(subnet(*netuid)?.hyperparameters)
            }
            Query::SubnetOwner { netuid } => QueryOutput::SubnetOwner(subnet(*netuid)?.owner),
            Query::UidOf { netuid, hotkey } => {
                subnet(*netuid)?;
                QueryOutput::Uid(store::uid_of(&conn, *netuid, hotkey)?)
            }
            Query::BlocksUntilNextEpoch { netuid } => {
                let tempo = subnet(*netuid)?.hyperparameters.tempo;
                QueryOutput::Blocks(blocks_until_next_epoch(
                    *netuid,
                    tempo,
                    store::block(&conn)?,
                ))
            }
            Query::BlocksSinceLastUpdate { netuid, uid } => {
                subnet(*netuid)?;
                let n = store::neuron(&conn, *netuid, *uid)?
                    .ok_or_else(|| ChainError::NotFound(format!("uid {uid} on netuid {netuid}")))?;
                QueryOutput::Blocks(store::block(&conn)?.saturating_sub(n.last_update))
            }
            Query::Commitment { netuid, hotkey } => {
                subnet(*netuid)?;
                QueryOutput::Commitment(store::commitment(&conn, *netuid, hotkey)?)
            }
            Query::Balance { account } => QueryOutput::Rao(store::balance(&conn, account)?),
            Query::Stake { netuid, hotkey } => {
                QueryOutput::Rao(store::stake_of(&conn, *netuid, hotkey)?)
            }
            Query::Nonce { account } => QueryOutput::Nonce(store::nonce(&conn, account)?),
        })
    }

    fn hyperparameters_now(&self, netuid: NetUid) -> ChainResult<crate::Hyperparameters> {
        match self.query_now(&Query::Hyperparameters { netuid })? {
            QueryOutput::Hyperparameters(h) => Ok(h),
            other => Err(crate::dev::unexpected("hyperparameters", &other)),
        }
    }

    /// A stream of new heights; a slow consumer sees the latest height, skipping some.
    pub fn block_stream(&self) -> BlockStream {
        let rx = self.inner.blocks.subscribe();
        Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            match rx.changed().await {
                Ok(()) => {
                    let block = *rx.borrow_and_update();
                    Some((Ok(block), rx))
                }
                Err(_) => None,
            }
        }))
    }

    /// Waits until the height exceeds `after` or `timeout` passes; returns the height then.
    pub async fn wait_for_block_after(&self, after: BlockNumber, timeout: Duration) -> BlockNumber {
        let mut rx = self.inner.blocks.subscribe();
        let wait = async {
            loop {
                let now = *rx.borrow_and_update();
                if now > after {
                    return now;
                }
                if rx.changed().await.is_err() {
                    return now;
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(b) => b,
            Err(_) => *self.inner.blocks.borrow(),
        }
    }
}

/// The task producing blocks on a timer; aborted when dropped.
#[derive(Debug)]
pub struct BlockProducer {
    handle: tokio::task::JoinHandle<()>,
}

impl BlockProducer {
    /// Stops producing blocks.
    pub fn stop(self) {
        self.handle.abort();
    }
}

impl Drop for BlockProducer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

#[async_trait]
impl DevChain for EmbeddedChain {
    async fn submit_call(&self, signer: &Keypair, call: Call) -> ChainResult<CallOutput> {
        self.submit(&signer.public(), &call)
    }

    async fn query(&self, query: Query) -> ChainResult<QueryOutput> {
        self.query_now(&query)
    }

    async fn subscribe(&self) -> ChainResult<BlockStream> {
        Ok(self.block_stream())
    }
}

crate::dev::impl_chain_via_dev!(EmbeddedChain);
