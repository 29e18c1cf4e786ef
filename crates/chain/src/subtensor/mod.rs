//! [`SubtensorClient`]: the real network (finney, test, a local subtensor node) through subxt,
//! with the runtime metadata read at connect time (no code generation, nothing fetched at
//! build time).
//!
//! Reads go through the runtime API (`NeuronInfoRuntimeApi_get_neurons_lite`) and dynamic
//! storage queries; writes are dynamic extrinsics signed with the hotkey or coldkey and carry
//! the runtime's custom `ChargeTransactionPaymentWrapper` extension. The RPC connection
//! reconnects by itself (exponential backoff); a call that fails on a dropped connection is
//! retried once.

pub mod calls;
pub mod neuron;
pub mod signer;
pub mod storage;

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use omron_keys::{AccountId, Keypair};
use subxt::config::SubstrateConfig;
use subxt::dynamic::Value;
use subxt::ext::scale_decode::DecodeAsType;
use subxt::rpcs::client::ReconnectingRpcClient;
use subxt::tx::TransactionStatus;
use subxt::{OnlineClient, OnlineClientAtBlock};

use crate::chain::{BlockStream, Chain};
use crate::error::{ChainError, ChainResult, PalletError};
use crate::types::{
    BlockNumber, Commitment, Hyperparameters, Metagraph, NetUid, ServeAxon, SubnetOwner, Uid,
    blocks_until_next_epoch,
};
use calls::{CallPayload, SUBTENSOR};

/// How long a submitted extrinsic may take to land in a best block.
const INCLUSION_TIMEOUT: Duration = Duration::from_secs(120);

/// A client of a real subtensor node.
#[derive(Clone)]
pub struct SubtensorClient {
    api: OnlineClient<SubstrateConfig>,
    url: String,
}

impl std::fmt::Debug for SubtensorClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubtensorClient")
            .field("url", &self.url)
            .finish()
    }
}

type AtBlock = OnlineClientAtBlock<SubstrateConfig>;

impl SubtensorClient {
    /// Connects to a node's websocket endpoint (`wss://entrypoint-finney.opentensor.ai:443`).
    pub async fn connect(url: &str) -> ChainResult<Self> {
        let transport = |e: &dyn std::fmt::Display| ChainError::Transport {
            endpoint: url.to_owned(),
            reason: e.to_string(),
        };
        let rpc = ReconnectingRpcClient::builder()
            .connection_timeout(Duration::from_secs(15))
            .request_timeout(Duration::from_secs(60))
            .build(url)
            .await
            .map_err(|e| transport(&e))?;
        let api = OnlineClient::<SubstrateConfig>::from_rpc_client(rpc)
            .await
            .map_err(|e| transport(&e))?;
        let at = api.at_current_block().await.map_err(|e| transport(&e))?;
        // Fail now, naming the entry, if the runtime changed what we read.
        storage::check_layout(&at)?;
        neuron::neurons_lite_output_type(at.metadata_ref())?;
        tracing::info!(
            url,
            block = at.block_number(),
            spec = at.spec_version(),
            "connected to subtensor"
        );
        Ok(Self {
            api,
            url: url.to_owned(),
        })
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
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

    /// Signs, submits and waits until the extrinsic is in a best block, then maps a failed
    /// dispatch to the runtime's error name.
    async fn submit(&self, signer: &Keypair, call: &CallPayload) -> ChainResult<()> {
        let at = self.at().await?;
        let params = signer::tx_params(at.metadata_ref());
        let mut progress = at
            .tx()
            .sign_and_submit_then_watch(call, &signer::KeySigner(signer), params)
            .await
            .map_err(|e| self.transport(e))?;
        let wait = async {
            while let Some(status) = progress.next().await {
                match status.map_err(|e| self.transport(e))? {
                    TransactionStatus::InBestBlock(in_block)
                    | TransactionStatus::InFinalizedBlock(in_block) => {
                        return match in_block.wait_for_success().await {
                            Ok(_) => Ok(()),
                            Err(err) => Err(dispatch_error(err)),
                        };
                    }
                    TransactionStatus::Error { message }
                    | TransactionStatus::Invalid { message }
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
}

/// A failed extrinsic's error, by name when it is a pallet error.
fn dispatch_error(err: subxt::error::TransactionEventsError) -> ChainError {
    use subxt::error::{DispatchError, TransactionEventsError};
    match err {
        TransactionEventsError::ExtrinsicFailed(DispatchError::Module(module)) => match module
            .details()
        {
            Ok(details) => {
                let name = details.variant.name.clone();
                match PalletError::from_name(&name) {
                    Some(error) => {
                        ChainError::rejected(error, format!("{}::{name}", details.pallet.name()))
                    }
                    None => ChainError::OtherDispatch {
                        pallet: details.pallet.name().to_owned(),
                        name,
                    },
                }
            }
            Err(e) => ChainError::Decode {
                what: "module error".into(),
                reason: e.to_string(),
            },
        },
        TransactionEventsError::ExtrinsicFailed(other) => ChainError::OtherDispatch {
            pallet: "System".into(),
            name: other.to_string(),
        },
        other => ChainError::NotIncluded(other.to_string()),
    }
}

#[async_trait]
impl Chain for SubtensorClient {
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
        Ok(Box::pin(blocks.map(move |b| {
            b.map(|b| b.number()).map_err(|e| ChainError::Transport {
                endpoint: url.clone(),
                reason: e.to_string(),
            })
        })))
    }

    async fn metagraph(&self, netuid: NetUid) -> ChainResult<Metagraph> {
        let at = self.at().await?;
        let (api, method) = neuron::NEURON_INFO_API;
        let args = subxt::ext::codec::Encode::encode(&netuid);
        let bytes = at
            .runtime_apis()
            .call_raw(&format!("{api}_{method}"), Some(&args))
            .await
            .map_err(|e| self.transport(e))?;
        let mut neurons = neuron::decode_neurons_lite(at.metadata_ref(), &bytes)?;
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
        neurons.sort_by_key(|n| n.uid);
        Ok(Metagraph {
            netuid,
            block: at.block_number(),
            neurons,
        })
    }

    async fn hyperparameters(&self, netuid: NetUid) -> ChainResult<Hyperparameters> {
        use storage as st;
        let at = self.at().await?;
        let d = Hyperparameters::default();
        let k = (netuid,);
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
                .storage_or(&at, st::reveal_period(), k, d.commit_reveal_period)
                .await?,
            min_allowed_weights: self
                .storage_or(&at, st::min_allowed_weights(), k, d.min_allowed_weights)
                .await?,
            max_weight_limit: self
                .storage_or(&at, st::max_weights_limit(), k, d.max_weight_limit)
                .await?,
            immunity_period: self
                .storage_or(&at, st::immunity_period(), k, d.immunity_period)
                .await?,
            activity_cutoff: self
                .storage_or(&at, st::activity_cutoff(), k, d.activity_cutoff)
                .await?,
            weights_version: self
                .storage_or(&at, st::weights_version(), k, d.weights_version)
                .await?,
            max_allowed_uids: self
                .storage_or(&at, st::max_allowed_uids(), k, d.max_allowed_uids)
                .await?,
            max_allowed_validators: self
                .storage_or(
                    &at,
                    st::max_allowed_validators(),
                    k,
                    d.max_allowed_validators,
                )
                .await?,
            kappa: self.storage_or(&at, st::kappa(), k, d.kappa).await?,
            bonds_moving_avg: self
                .storage_or(&at, st::bonds_moving_avg(), k, d.bonds_moving_avg)
                .await?,
            bonds_penalty: self
                .storage_or(&at, st::bonds_penalty(), k, d.bonds_penalty)
                .await?,
            serving_rate_limit: self
                .storage_or(&at, st::serving_rate_limit(), k, d.serving_rate_limit)
                .await?,
            burn: self.storage_or(&at, st::burn(), k, d.burn).await?,
            registration_allowed: self
                .storage_or(&at, st::registration_allowed(), k, d.registration_allowed)
                .await?,
            stake_threshold: self
                .storage_or(&at, st::stake_threshold(), (), d.stake_threshold)
                .await?,
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
        self.submit(coldkey, &calls::burned_register(netuid, hotkey))
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
        self.submit(hotkey, &calls::serve_axon(netuid, axon)).await
    }

    async fn set_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        uids: &[Uid],
        weights: &[u16],
        version_key: u64,
    ) -> ChainResult<()> {
        self.submit(
            hotkey,
            &calls::set_weights(netuid, uids, weights, version_key),
        )
        .await
    }

    async fn commit_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        commit_hash: [u8; 32],
    ) -> ChainResult<()> {
        self.submit(hotkey, &calls::commit_weights(netuid, &commit_hash))
            .await
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
        self.submit(
            hotkey,
            &calls::reveal_weights(netuid, uids, weights, salt, version_key),
        )
        .await
    }

    async fn set_commitment(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        data: &[u8],
    ) -> ChainResult<()> {
        self.submit(hotkey, &calls::set_commitment(netuid, data)?)
            .await
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
