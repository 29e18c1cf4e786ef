//! [`SubtensorClient`]: the real network (finney, test, a local subtensor node, or the real
//! runtime under chopsticks) through subxt, with the runtime metadata read at connect time (no
//! code generation, nothing fetched at build time).
//!
//! The client reads the runtime instead of assuming it. At connect it checks the storage
//! entries and the runtime API it *requires* ([`storage`]: tempo, uids, last updates, the
//! weights rules, the owner; `NeuronInfoRuntimeApi_get_neurons_lite`) and refuses a runtime
//! without one, naming it; everything else is *optional*: read when the runtime has it, a
//! documented default when it does not (`BondsPenalty`, `StakeThreshold` or the older
//! `WeightsMinStake`, ...). Calls are built from the runtime's own argument lists ([`calls`]);
//! a call the runtime lacks is [`ChainError::Unsupported`] naming it. Checked against finney's
//! December 2025 metadata (offline tests) and the executed spec-218 runtime (chopsticks tests).
//!
//! Reads go through the runtime API (`get_neurons_lite`, described or opaque, see [`neuron`])
//! and dynamic storage queries; writes are dynamic extrinsics signed with the hotkey or coldkey.
//! A failed dispatch (also the inner call of a `Sudo.sudo`) becomes [`ChainError::Rejected`]
//! under the runtime's own error name, or [`ChainError::OtherDispatch`] for names this crate
//! does not type; a transaction the node refuses before dispatch is
//! [`ChainError::InvalidTransaction`]. The RPC connection reconnects by itself (capped
//! backoff); a call that fails on a dropped connection is retried once; a silent connection (no
//! new block for a while, or calls failing in a row) is replaced ([`health`]).

pub mod calls;
pub mod dev;
mod dispatch;
pub mod health;
pub mod neuron;
pub mod signer;
pub mod storage;
pub mod timelocked;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use omron_keys::{AccountId, Keypair};
use subxt::config::SubstrateConfig;
use subxt::dynamic::Value;
use subxt::ext::scale_decode::DecodeAsType;
use subxt::rpcs::RpcClient;
use subxt::tx::TransactionStatus;
use subxt::{Metadata, OnlineClient, OnlineClientAtBlock};

use crate::chain::{BlockStream, Chain};
use crate::error::{ChainError, ChainResult, PalletError};
use crate::types::{
    BlockNumber, CommitRevealMode, Commitment, Hyperparameters, Metagraph, NetUid, ServeAxon,
    SubnetOwner, TimelockReceipt, Uid, blocks_until_next_epoch,
};
use calls::{CallPayload, SUBTENSOR};
pub use dispatch::invalid_transaction;
use dispatch::{dispatch_error, sudo_result};

/// How long a submitted extrinsic may take to land in a best block.
const INCLUSION_TIMEOUT: Duration = Duration::from_secs(120);

/// A client of a real subtensor node.
#[derive(Clone)]
pub struct SubtensorClient {
    api: OnlineClient<SubstrateConfig>,
    rpc: RpcClient,
    url: String,
    health: Arc<health::Health>,
}

impl std::fmt::Debug for SubtensorClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubtensorClient")
            .field("url", &self.url)
            .finish()
    }
}

type AtBlock = OnlineClientAtBlock<SubstrateConfig>;

/// What [`SubtensorClient::submit`] reports of an included extrinsic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Included {
    /// The block it is in.
    pub block: BlockNumber,
    /// `Pallet.Event` names of the events it raised, in order.
    pub events: Vec<String>,
}

impl SubtensorClient {
    /// Connects to a node's websocket endpoint (`wss://entrypoint-finney.opentensor.ai:443`)
    /// with the default keepalive and stall detection ([`health::HealthConfig`]).
    pub async fn connect(url: &str) -> ChainResult<Self> {
        Self::connect_with(url, health::HealthConfig::default()).await
    }

    /// [`Self::connect`] with other keepalive and stall settings.
    pub async fn connect_with(url: &str, config: health::HealthConfig) -> ChainResult<Self> {
        let transport = |e: &dyn std::fmt::Display| ChainError::Transport {
            endpoint: url.to_owned(),
            reason: e.to_string(),
        };
        let (rpc, health) = health::connect(url, config)
            .await
            .map_err(|e| transport(&e))?;
        let api = Self::online_client(&rpc).await.map_err(|e| transport(&e))?;
        let at = api.at_current_block().await.map_err(|e| transport(&e))?;
        // Fail now, naming the entry, if the runtime lacks or changed what we need.
        storage::check_layout(&at)?;
        neuron::neurons_lite_shape(at.metadata_ref())?;
        tracing::info!(
            url,
            block = at.block_number(),
            spec = at.spec_version(),
            "connected to subtensor"
        );
        Ok(Self {
            api,
            rpc,
            url: url.to_owned(),
            health,
        })
    }

    /// subxt's default backend where the node serves the new JSON-RPC spec in full; only the
    /// legacy methods where it lacks `transactionWatch_v1` (chopsticks serves `chainHead_v1`
    /// but submits through `author_submitAndWatchExtrinsic` only).
    async fn online_client(rpc: &RpcClient) -> Result<OnlineClient<SubstrateConfig>, String> {
        #[derive(serde::Deserialize)]
        struct Methods {
            methods: Vec<String>,
        }
        let methods: Methods = rpc
            .request("rpc_methods", subxt::rpcs::client::RpcParams::new())
            .await
            .map_err(|e| format!("rpc_methods: {e}"))?;
        let full = methods
            .methods
            .iter()
            .any(|m| m == "transactionWatch_v1_submitAndWatch");
        if full {
            return OnlineClient::from_rpc_client(rpc.clone())
                .await
                .map_err(|e| e.to_string());
        }
        let legacy = subxt::backend::LegacyBackend::builder().build(rpc.clone());
        OnlineClient::from_backend(std::sync::Arc::new(legacy))
            .await
            .map_err(|e| e.to_string())
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The connection's health: forced reconnects so far, failed calls, the stall timeout.
    pub fn health(&self) -> &health::Health {
        &self.health
    }

    /// The runtime's spec version at the current block.
    pub async fn spec_version(&self) -> ChainResult<u32> {
        Ok(self.at().await?.spec_version())
    }

    /// The runtime metadata at the current block.
    pub async fn metadata(&self) -> ChainResult<subxt::ArcMetadata> {
        Ok(self.at().await?.metadata())
    }

    /// The genesis hash.
    pub fn genesis_hash(&self) -> [u8; 32] {
        self.api.genesis_hash().0
    }

    /// One raw JSON-RPC request on the client's connection (`dev_newBlock` and the like).
    pub async fn rpc_request(
        &self,
        method: &str,
        params: Vec<serde_json::Value>,
    ) -> ChainResult<serde_json::Value> {
        let mut p = subxt::rpcs::client::RpcParams::new();
        for param in params {
            p.push(param).map_err(|e| self.transport(e))?;
        }
        self.rpc
            .request(method, p)
            .await
            .map_err(|e| self.transport(format!("{method}: {e}")))
    }

    fn transport(&self, e: impl std::fmt::Display) -> ChainError {
        ChainError::Transport {
            endpoint: self.url.clone(),
            reason: e.to_string(),
        }
    }

    async fn at(&self) -> ChainResult<AtBlock> {
        match self.api.at_current_block().await {
            Ok(at) => Ok(at),
            Err(first) => {
                // The reconnecting client re-establishes the socket; one retry covers a call
                // that raced the reconnect.
                tracing::debug!(error = %first, "subtensor call failed, retrying once");
                tokio::time::sleep(Duration::from_millis(500)).await;
                self.api
                    .at_current_block()
                    .await
                    .map_err(|e| self.transport(e))
            }
        }
    }

    /// Reads one storage value (the runtime's default when nothing is stored, `None` when the
    /// entry has no default and nothing is stored).
    async fn storage<K, V>(
        &self,
        at: &AtBlock,
        addr: subxt::storage::DynamicAddress<K, V>,
        key: K,
    ) -> ChainResult<Option<V>>
    where
        K: subxt::ext::frame_decode::storage::IntoEncodableValues
            + subxt::ext::frame_decode::storage::IntoDecodableValues
            + Send,
        V: DecodeAsType + Send,
    {
        use subxt::storage::Address;
        let name = format!("{}.{}", addr.pallet_name(), addr.entry_name());
        if !storage::has(at.metadata_ref(), &addr) {
            return Err(ChainError::Unsupported(format!("storage {name}")));
        }
        let value = at
            .storage()
            .try_fetch(addr, key)
            .await
            .map_err(|e| self.transport(e))?;
        value
            .map(|v| v.decode())
            .transpose()
            .map_err(|e| ChainError::Decode {
                what: name,
                reason: e.to_string(),
            })
    }

    /// [`Self::storage`] with a fallback for "nothing stored and no default".
    async fn storage_or<K, V>(
        &self,
        at: &AtBlock,
        addr: subxt::storage::DynamicAddress<K, V>,
        key: K,
        default: V,
    ) -> ChainResult<V>
    where
        K: subxt::ext::frame_decode::storage::IntoEncodableValues
            + subxt::ext::frame_decode::storage::IntoDecodableValues
            + Send,
        V: DecodeAsType + Send,
    {
        Ok(self.storage(at, addr, key).await?.unwrap_or(default))
    }

    /// An optional entry: its value when the runtime has the entry, else `absent`.
    async fn optional<K, V>(
        &self,
        at: &AtBlock,
        addr: subxt::storage::DynamicAddress<K, V>,
        key: K,
        absent: V,
    ) -> ChainResult<V>
    where
        K: subxt::ext::frame_decode::storage::IntoEncodableValues
            + subxt::ext::frame_decode::storage::IntoDecodableValues
            + Send,
        V: DecodeAsType + Send + Clone,
    {
        if !storage::has(at.metadata_ref(), &addr) {
            return Ok(absent);
        }
        self.storage_or(at, addr, key, absent).await
    }

    /// Reads any storage value as a dynamic value (keys in the entry's order); `None` when
    /// nothing is stored and the entry has no default. For dev tools and tests; the [`Chain`]
    /// methods read typed entries.
    pub async fn storage_value(
        &self,
        pallet: &str,
        entry: &str,
        keys: Vec<Value>,
    ) -> ChainResult<Option<Value>> {
        let at = self.at().await?;
        self.storage(
            &at,
            subxt::dynamic::storage::<Vec<Value>, Value>(pallet, entry),
            keys,
        )
        .await
    }

    /// Builds a call against the current runtime's metadata (see [`calls`]).
    pub async fn build_call(
        &self,
        build: impl FnOnce(&Metadata) -> ChainResult<CallPayload>,
    ) -> ChainResult<CallPayload> {
        let at = self.at().await?;
        build(at.metadata_ref())
    }

    /// Builds a call with [`Self::build_call`], signs it with `signer`, and waits for it (see
    /// [`Self::submit`]).
    pub async fn send(
        &self,
        signer: &Keypair,
        build: impl FnOnce(&Metadata) -> ChainResult<CallPayload>,
    ) -> ChainResult<Included> {
        let call = self.build_call(build).await?;
        self.submit(signer, &call).await
    }

    /// `Sudo.sudo(call)` signed by the sudo key, waited for; the inner call's failure is the
    /// error (see [`Self::submit`]).
    pub async fn sudo(
        &self,
        sudo_key: &Keypair,
        build: impl FnOnce(&Metadata) -> ChainResult<CallPayload>,
    ) -> ChainResult<Included> {
        self.send(sudo_key, |md| calls::sudo(md, build(md)?)).await
    }

    /// Signs, submits and waits until the extrinsic is in a best block, then maps a failed
    /// dispatch to the runtime's error name. For a `Sudo.sudo` the inner call's result (the
    /// `Sudo.Sudid` event) counts as the extrinsic's. A call that does not fit the runtime's
    /// argument types fails before anything is sent.
    pub async fn submit(&self, signer: &Keypair, call: &CallPayload) -> ChainResult<Included> {
        let at = self.at().await?;
        at.tx().call_data(call).map_err(|e| {
            ChainError::Metadata(format!(
                "{}.{} does not fit the runtime: {e}",
                call.pallet_name(),
                call.call_name()
            ))
        })?;
        let params = signer::tx_params(at.metadata_ref());
        let mut progress = at
            .tx()
            .sign_and_submit_then_watch(call, &signer::KeySigner(signer), params)
            .await
            .map_err(|e| self.submit_error(e))?;
        let metadata = at.metadata();
        let wait = async {
            while let Some(status) = progress.next().await {
                match status.map_err(|e| self.submit_error(e))? {
                    TransactionStatus::InBestBlock(in_block)
                    | TransactionStatus::InFinalizedBlock(in_block) => {
                        let events = in_block.wait_for_success().await.map_err(dispatch_error)?;
                        let block = self
                            .api
                            .at_block(in_block.block_hash())
                            .await
                            .map(|b| b.block_number())
                            .unwrap_or_default();
                        let mut names = Vec::new();
                        for ev in events.iter() {
                            let ev = ev.map_err(|e| ChainError::Decode {
                                what: "events".into(),
                                reason: e.to_string(),
                            })?;
                            names.push(format!("{}.{}", ev.pallet_name(), ev.event_name()));
                            if ev.pallet_name() == calls::SUDO && ev.event_name() == "Sudid" {
                                sudo_result(ev.field_bytes(), metadata.clone())?;
                            }
                        }
                        return Ok(Included {
                            block,
                            events: names,
                        });
                    }
                    TransactionStatus::Invalid { message } => {
                        return Err(invalid_transaction(message));
                    }
                    TransactionStatus::Error { message }
                    | TransactionStatus::Dropped { message } => {
                        return Err(ChainError::NotIncluded(message));
                    }
                    _ => continue,
                }
            }
            Err(ChainError::NotIncluded("status stream ended".into()))
        };
        tokio::time::timeout(INCLUSION_TIMEOUT, wait)
            .await
            .map_err(|_| {
                ChainError::NotIncluded(format!("not in a block after {INCLUSION_TIMEOUT:?}"))
            })?
    }

    /// A submission error: the node's transaction-validity refusal when it is one.
    fn submit_error(&self, e: impl std::fmt::Display) -> ChainError {
        let text = e.to_string();
        if text.contains("1010") || text.contains("Invalid Transaction") {
            invalid_transaction(text)
        } else {
            self.transport(text)
        }
    }
}

#[async_trait]
impl Chain for SubtensorClient {
    fn connection_health(&self) -> Option<crate::types::ConnectionHealth> {
        Some(crate::types::ConnectionHealth {
            reconnects: self.health.reconnects(),
            stalls: self.health.stalls(),
        })
    }

    async fn current_block(&self) -> ChainResult<BlockNumber> {
        Ok(self.at().await?.block_number())
    }

    async fn subscribe_blocks(&self) -> ChainResult<BlockStream> {
        let blocks = self
            .api
            .stream_best_blocks()
            .await
            .map_err(|e| self.transport(e))?;
        let url = self.url.clone();
        let blocks = Box::pin(blocks.map(move |b| {
            b.map(|b| b.number()).map_err(|e| ChainError::Transport {
                endpoint: url.clone(),
                reason: e.to_string(),
            })
        }));
        // Ends on a stall or a forced reconnect; the caller subscribes again.
        Ok(self.health.watch_blocks(blocks))
    }

    async fn metagraph(&self, netuid: NetUid) -> ChainResult<Metagraph> {
        let at = self.at().await?;
        let md = at.metadata_ref();
        let (api, method) = neuron::NEURON_INFO_API;
        let args = subxt::ext::codec::Encode::encode(&netuid);
        let bytes = at
            .runtime_apis()
            .call_raw(&format!("{api}_{method}"), Some(&args))
            .await
            .map_err(|e| self.transport(e))?;
        let mut raw = neuron::decode_neurons_lite_raw(md, &bytes)?;
        // Runtimes with the opaque API report the deprecated pre-dTAO `Stake` map there; the
        // stake the runtime uses on the subnet is the hotkey's alpha (`TotalHotkeyAlpha`), which
        // is also what the described API reports, so read that where the runtime has it.
        if neuron::neurons_lite_shape(md)? == neuron::NeuronsLiteShape::Opaque
            && storage::has(md, &storage::total_hotkey_alpha())
        {
            let stakes = futures::future::try_join_all(raw.iter().map(|n| {
                self.storage_or(
                    &at,
                    storage::total_hotkey_alpha(),
                    (n.hotkey().0, netuid),
                    0,
                )
            }))
            .await?;
            for (n, stake) in raw.iter_mut().zip(stakes) {
                n.set_stake(stake);
            }
        }
        let mut neurons: Vec<_> = raw
            .into_iter()
            .map(neuron::NeuronInfoLiteRaw::into_neuron)
            .collect();
        if storage::has(md, &storage::block_at_registration()) {
            // One prefix scan for every uid's registration block instead of a read per uid.
            let mut entries = at
                .storage()
                .iter(storage::block_at_registration(), (netuid,))
                .await
                .map_err(|e| self.transport(e))?;
            let mut registered = std::collections::HashMap::new();
            while let Some(entry) = entries.next().await {
                let entry = entry.map_err(|e| self.transport(e))?;
                let decode_err = |e: &dyn std::fmt::Display| ChainError::Decode {
                    what: format!("{SUBTENSOR}.BlockAtRegistration"),
                    reason: e.to_string(),
                };
                let key = entry.key().map_err(|e| decode_err(&e))?;
                let uid = key
                    .part(1)
                    .map(|p| p.decode_as::<Uid>())
                    .transpose()
                    .map_err(|e| decode_err(&e))?
                    .flatten();
                let block = entry.value().decode().map_err(|e| decode_err(&e))?;
                if let Some(uid) = uid {
                    registered.insert(uid, block);
                }
            }
            for n in &mut neurons {
                n.block_at_registration = registered.get(&n.uid).copied().unwrap_or(0);
            }
        }
        neurons.sort_by_key(|n| n.uid);
        Ok(Metagraph {
            netuid,
            block: at.block_number(),
            neurons,
        })
    }

    /// Every field from its storage entry; an entry the runtime lacks stands at
    /// [`Hyperparameters::default`]'s value (documented there and in `docs/chain.md`). The
    /// stake threshold is `StakeThreshold`, or `WeightsMinStake` in runtimes before it.
    async fn hyperparameters(&self, netuid: NetUid) -> ChainResult<Hyperparameters> {
        use storage as st;
        let at = self.at().await?;
        let d = Hyperparameters::default();
        let k = (netuid,);
        let stake_threshold = if storage::has(at.metadata_ref(), &st::stake_threshold()) {
            self.storage_or(&at, st::stake_threshold(), (), d.stake_threshold)
                .await?
        } else {
            self.optional(&at, st::weights_min_stake(), (), d.stake_threshold)
                .await?
        };
        Ok(Hyperparameters {
            tempo: self.storage_or(&at, st::tempo(), k, d.tempo).await?,
            weights_rate_limit: self
                .storage_or(&at, st::weights_rate_limit(), k, d.weights_rate_limit)
                .await?,
            commit_reveal_weights_enabled: self
                .storage_or(
                    &at,
                    st::commit_reveal_enabled(),
                    k,
                    d.commit_reveal_weights_enabled,
                )
                .await?,
            commit_reveal_period: self
                .optional(&at, st::reveal_period(), k, d.commit_reveal_period)
                .await?,
            min_allowed_weights: self
                .storage_or(&at, st::min_allowed_weights(), k, d.min_allowed_weights)
                .await?,
            max_weight_limit: self
                .storage_or(&at, st::max_weights_limit(), k, d.max_weight_limit)
                .await?,
            immunity_period: self
                .optional(&at, st::immunity_period(), k, d.immunity_period)
                .await?,
            activity_cutoff: self
                .optional(&at, st::activity_cutoff(), k, d.activity_cutoff)
                .await?,
            weights_version: self
                .storage_or(&at, st::weights_version(), k, d.weights_version)
                .await?,
            max_allowed_uids: self
                .optional(&at, st::max_allowed_uids(), k, d.max_allowed_uids)
                .await?,
            max_allowed_validators: self
                .optional(
                    &at,
                    st::max_allowed_validators(),
                    k,
                    d.max_allowed_validators,
                )
                .await?,
            kappa: self.optional(&at, st::kappa(), k, d.kappa).await?,
            bonds_moving_avg: self
                .optional(&at, st::bonds_moving_avg(), k, d.bonds_moving_avg)
                .await?,
            bonds_penalty: self
                .optional(&at, st::bonds_penalty(), k, d.bonds_penalty)
                .await?,
            serving_rate_limit: self
                .optional(&at, st::serving_rate_limit(), k, d.serving_rate_limit)
                .await?,
            burn: self.optional(&at, st::burn(), k, d.burn).await?,
            registration_allowed: self
                .optional(&at, st::registration_allowed(), k, d.registration_allowed)
                .await?,
            stake_threshold,
        })
    }

    async fn subnet_owner(&self, netuid: NetUid) -> ChainResult<SubnetOwner> {
        let at = self.at().await?;
        let coldkey = self
            .storage(&at, storage::subnet_owner(), (netuid,))
            .await?;
        let hotkey = self
            .storage(&at, storage::subnet_owner_hotkey(), (netuid,))
            .await?;
        match (coldkey, hotkey) {
            (Some(c), Some(h)) => Ok(SubnetOwner {
                coldkey: AccountId(c),
                hotkey: AccountId(h),
            }),
            _ => Err(ChainError::rejected(
                PalletError::SubnetNotExists,
                format!("netuid {netuid}"),
            )),
        }
    }

    async fn uid_of(&self, netuid: NetUid, hotkey: &AccountId) -> ChainResult<Option<Uid>> {
        let at = self.at().await?;
        self.storage(&at, storage::uids(), (netuid, hotkey.0)).await
    }

    async fn blocks_until_next_epoch(&self, netuid: NetUid) -> ChainResult<u64> {
        let at = self.at().await?;
        let tempo = self
            .storage_or(&at, storage::tempo(), (netuid,), 360u16)
            .await?;
        Ok(blocks_until_next_epoch(netuid, tempo, at.block_number()))
    }

    async fn blocks_since_last_update(&self, netuid: NetUid, uid: Uid) -> ChainResult<u64> {
        let at = self.at().await?;
        let last = self
            .storage_or(&at, storage::last_update(), (netuid,), Vec::new())
            .await?;
        let last = last
            .get(usize::from(uid))
            .copied()
            .ok_or_else(|| ChainError::NotFound(format!("uid {uid} on netuid {netuid}")))?;
        Ok(at.block_number().saturating_sub(last))
    }

    async fn burned_register(
        &self,
        coldkey: &Keypair,
        netuid: NetUid,
        hotkey: &AccountId,
    ) -> ChainResult<Uid> {
        self.send(coldkey, |md| calls::burned_register(md, netuid, hotkey))
            .await?;
        self.uid_of(netuid, hotkey).await?.ok_or_else(|| {
            ChainError::NotFound(format!("{hotkey} not registered after burned_register"))
        })
    }

    async fn serve_axon(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        axon: &ServeAxon,
    ) -> ChainResult<()> {
        self.send(hotkey, |md| calls::serve_axon(md, netuid, axon))
            .await
            .map(drop)
    }

    async fn set_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        uids: &[Uid],
        weights: &[u16],
        version_key: u64,
    ) -> ChainResult<()> {
        self.send(hotkey, |md| {
            calls::set_weights(md, netuid, uids, weights, version_key)
        })
        .await
        .map(drop)
    }

    async fn commit_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        commit_hash: [u8; 32],
    ) -> ChainResult<()> {
        self.send(hotkey, |md| calls::commit_weights(md, netuid, &commit_hash))
            .await
            .map(drop)
    }

    async fn reveal_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        uids: &[Uid],
        weights: &[u16],
        salt: &[u16],
        version_key: u64,
    ) -> ChainResult<()> {
        self.send(hotkey, |md| {
            calls::reveal_weights(md, netuid, uids, weights, salt, version_key)
        })
        .await
        .map(drop)
    }

    async fn commit_reveal_mode(&self, netuid: NetUid) -> ChainResult<CommitRevealMode> {
        self.read_commit_reveal_mode(netuid).await
    }

    async fn commit_timelocked_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        uids: &[Uid],
        weights: &[u16],
        version_key: u64,
    ) -> ChainResult<TimelockReceipt> {
        self.commit_timelocked(hotkey, netuid, uids, weights, version_key)
            .await
    }

    async fn set_commitment(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        data: &[u8],
    ) -> ChainResult<()> {
        self.send(hotkey, |md| calls::set_commitment(md, netuid, data))
            .await
            .map(drop)
    }

    async fn get_commitment(
        &self,
        netuid: NetUid,
        hotkey: &AccountId,
    ) -> ChainResult<Option<Commitment>> {
        let at = self.at().await?;
        let Some(value) = self
            .storage(&at, storage::commitment_of(), (netuid, hotkey.0))
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(commitment_from_value(&value)?))
    }
}

/// Reads `Registration { block, info: { fields: [Raw..(bytes), ...] } }`: the first raw field.
pub fn commitment_from_value<T>(value: &Value<T>) -> ChainResult<Commitment> {
    use subxt::ext::scale_value::{At, ValueDef};
    let bad = |what: &str| ChainError::Decode {
        what: "commitment".into(),
        reason: what.to_owned(),
    };
    let block = value
        .at("block")
        .and_then(|b| b.as_u128())
        .ok_or_else(|| bad("no block"))?;
    let info = value.at("info").ok_or_else(|| bad("no info"))?;
    let mut fields = info.at("fields").ok_or_else(|| bad("no info.fields"))?;
    // `BoundedVec<Data>` decodes as a newtype around the list: step inside it.
    while let Some(inner) = fields
        .at(0)
        .filter(|v| matches!(v.value, ValueDef::Composite(_)))
    {
        fields = inner;
    }
    let first = fields.at(0).ok_or_else(|| bad("no fields"))?;
    let data = match &first.value {
        ValueDef::Variant(v) if v.name.starts_with("Raw") => v
            .values
            .values()
            .next()
            .map(|bytes| match &bytes.value {
                ValueDef::Composite(c) => c
                    .values()
                    .filter_map(|b| b.as_u128())
                    .map(|b| b as u8)
                    .collect(),
                _ => Vec::new(),
            })
            .unwrap_or_default(),
        ValueDef::Variant(v) => return Err(bad(&format!("field kind {} is not raw data", v.name))),
        _ => return Err(bad("field is not a variant")),
    };
    Ok(Commitment {
        block: u64::try_from(block).unwrap_or(u64::MAX),
        data,
    })
}
