//! [`SubtensorDev`]: the dev operations of [`DevChain`] (create a subnet, set its
//! hyperparameters, fund, stake, register) on a real subtensor runtime, for tests and a local
//! network on the real runtime (`docs/chain.md`, "The real runtime").
//!
//! Everything goes through the runtime's own extrinsics, signed as on a real localnet, with
//! three exceptions that need a dev node's storage writes (chopsticks' `dev_setStorage`, sent on
//! the client's own connection):
//!
//! * **The sudo key.** [`SubtensorDev::new`] makes the given key (`//Alice`) the runtime's
//!   `Sudo.Key` when it is not already, and writes its `System.Account` with [`SUDO_FLOAT`] free
//!   when it has less than half of that (fees are paid up front, even by the sudo key). Root
//!   calls are then `Sudo.sudo(...)` signed with it; accounts are funded with
//!   `Sudo.sudo(Balances.force_set_balance)`.
//! * **Alpha stake.** A new dynamic-TAO subnet's pool starts with 1 rao of alpha against 1 rao
//!   of TAO (spec 218's `register_network`), so `add_stake` of any amount buys next to no
//!   alpha. [`DevChain::add_stake`] therefore sends the real `add_stake` (the TAO leaves the
//!   coldkey and enters the pool) and then tops the coldkey's alpha up to what it had plus
//!   `amount` (1 TAO → 1 alpha, the embedded chain's one currency) by writing, exactly as the
//!   runtime's own `increase_stake_for_hotkey_and_coldkey_on_subnet` does:
//!   `Alpha(hotkey, coldkey, netuid) += shares`, `TotalHotkeyShares(hotkey, netuid) += shares`,
//!   `TotalHotkeyAlpha(hotkey, netuid) += alpha`, `SubnetAlphaOut(netuid) += alpha`, where
//!   `shares = alpha` for a hotkey without shares and `alpha × shares / total alpha` otherwise.
//!   Only runtimes that keep `Alpha` as plain `u64` shares (spec 218) take this; others answer
//!   [`ChainError::Unsupported`].
//! * **The registration burn.** `Burn` is written beside `sudo_set_min_burn` /
//!   `sudo_set_max_burn` so a new burn applies at once instead of at the next adjustment.
//!
//! [`SubtensorDev::new_blocks`] makes blocks (`dev_newBlock`); with chopsticks' instant mode
//! every extrinsic makes its own block as well.

use async_trait::async_trait;
use omron_keys::{AccountId, Keypair};
use parity_scale_codec::Encode;
use subxt::dynamic::Value;
use subxt::ext::frame_decode::storage::{IntoDecodableValues, IntoEncodableValues};
use subxt::ext::scale_value::At;

use super::calls::{self, SUBTENSOR};
use super::{SubtensorClient, storage};
use crate::chain::{BlockStream, Chain};
use crate::dev::DevChain;
use crate::dev::{Call, CallOutput, Query, QueryOutput};
use crate::error::{ChainError, ChainResult, PalletError};
use crate::types::{BlockNumber, Hyperparameters, NetUid, Rao};

/// Registrations a dev subnet allows per interval and per block (the runtime's defaults, 1
/// per block and a few per interval, refuse a test that registers several neurons at once).
pub const DEV_REGISTRATIONS_LIMIT: u16 = 1000;

/// What [`SubtensorDev::new`] gives the sudo key when it has less than half of it (rao).
pub const SUDO_FLOAT: Rao = 1_000_000 * crate::types::RAO_PER_TAO;

/// Dev operations on a real runtime, beside its [`SubtensorClient`].
#[derive(Debug, Clone)]
pub struct SubtensorDev {
    client: SubtensorClient,
    sudo: Keypair,
}

impl SubtensorDev {
    /// Takes `sudo` as the root key, writing it into `Sudo.Key` when the runtime has another
    /// (needs a dev node: chopsticks' `dev_setStorage`).
    pub async fn new(client: SubtensorClient, sudo: Keypair) -> ChainResult<Self> {
        let me = Self { client, sudo };
        let key = me.sudo.public();
        let at = me.client.at().await?;
        let current: Option<[u8; 32]> = if storage::has_entry(at.metadata_ref(), calls::SUDO, "Key")
        {
            me.client
                .storage(&at, subxt::dynamic::storage(calls::SUDO, "Key"), ())
                .await?
        } else {
            return Err(ChainError::Unsupported("storage Sudo.Key".into()));
        };
        if current != Some(key.0) {
            me.set_storage(calls::SUDO, "Key", (), key.0.encode())
                .await?;
            tracing::info!(sudo = %key, "set the runtime's sudo key");
        }
        // The sudo key pays fees up front (refunded for `Sudo.sudo`): give it a balance.
        if me.free_balance(&key).await? < SUDO_FLOAT / 2 {
            let nonce = me.account_nonce(&key).await?;
            let info = Value::named_composite([
                ("nonce", Value::u128(nonce.into())),
                ("consumers", Value::u128(0)),
                ("providers", Value::u128(1)),
                ("sufficients", Value::u128(0)),
                (
                    "data",
                    Value::named_composite([
                        ("free", Value::u128(SUDO_FLOAT.into())),
                        ("reserved", Value::u128(0)),
                        ("frozen", Value::u128(0)),
                        ("flags", Value::u128(0)),
                    ]),
                ),
            ]);
            me.set_storage_value("System", "Account", (key.0,), info)
                .await?;
        }
        Ok(me)
    }

    /// The client.
    pub fn client(&self) -> &SubtensorClient {
        &self.client
    }

    /// The sudo key.
    pub fn sudo_key(&self) -> &Keypair {
        &self.sudo
    }

    /// Makes `count` blocks (`dev_newBlock`) and returns the new height once the client sees it.
    pub async fn new_blocks(&self, count: u32) -> ChainResult<BlockNumber> {
        let target = self.client.current_block().await? + u64::from(count);
        self.client
            .rpc_request("dev_newBlock", vec![serde_json::json!({ "count": count })])
            .await?;
        self.wait_for_block(target).await
    }

    /// Waits (up to 30 s) until the client's current block is at least `target`.
    pub async fn wait_for_block(&self, target: BlockNumber) -> ChainResult<BlockNumber> {
        let started = std::time::Instant::now();
        loop {
            let now = self.client.current_block().await?;
            if now >= target {
                return Ok(now);
            }
            if started.elapsed() > std::time::Duration::from_secs(30) {
                return Err(ChainError::NotIncluded(format!(
                    "block {target} not seen after 30 s (at {now})"
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Makes blocks until the subnet's epoch block has just been produced (its next epoch is
    /// `tempo + 1` blocks away); returns the height.
    pub async fn run_to_epoch(&self, netuid: NetUid) -> ChainResult<BlockNumber> {
        let left = self.client.blocks_until_next_epoch(netuid).await?;
        let count = u32::try_from(left + 1).map_err(|_| ChainError::InvalidArgument {
            what: "netuid",
            reason: format!("tempo 0 on netuid {netuid}: no epoch ever runs"),
        })?;
        self.new_blocks(count).await
    }

    /// Writes one storage value (SCALE bytes) under the key the metadata gives `pallet.entry`
    /// at `key` (`dev_setStorage`).
    pub async fn set_storage<K: IntoEncodableValues + IntoDecodableValues>(
        &self,
        pallet: &str,
        entry: &str,
        key: K,
        value: Vec<u8>,
    ) -> ChainResult<()> {
        let at = self.client.at().await?;
        let addr = subxt::dynamic::storage::<K, Value>(pallet, entry);
        let raw_key = at
            .storage()
            .entry(addr)
            .and_then(|e| e.fetch_key(key))
            .map_err(|e| ChainError::Metadata(format!("storage {pallet}.{entry}: {e}")))?;
        let pair = serde_json::json!([[
            format!("0x{}", hex::encode(raw_key)),
            format!("0x{}", hex::encode(value))
        ]]);
        self.client
            .rpc_request("dev_setStorage", vec![pair])
            .await?;
        Ok(())
    }

    /// Writes one storage value given as a dynamic value, encoded against the entry's value
    /// type in the metadata (`dev_setStorage`).
    pub async fn set_storage_value<K: IntoEncodableValues + IntoDecodableValues>(
        &self,
        pallet: &str,
        entry: &str,
        key: K,
        value: Value,
    ) -> ChainResult<()> {
        let md = self.client.metadata().await?;
        let ty = md
            .pallet_by_name(pallet)
            .and_then(|p| p.storage())
            .and_then(|s| s.entry_by_name(entry))
            .map(|e| e.value_ty())
            .ok_or_else(|| ChainError::Unsupported(format!("storage {pallet}.{entry}")))?;
        let bytes = subxt::ext::scale_encode::EncodeAsType::encode_as_type(&value, ty, md.types())
            .map_err(|e| ChainError::Metadata(format!("storage {pallet}.{entry}: {e}")))?;
        self.set_storage(pallet, entry, key, bytes).await
    }

    async fn account_nonce(&self, account: &AccountId) -> ChainResult<u64> {
        let next = self
            .client
            .rpc_request(
                "system_accountNextIndex",
                vec![serde_json::json!(account.to_ss58())],
            )
            .await?;
        Ok(next.as_u64().unwrap_or(0))
    }

    /// Free balance (`System.Account`'s `data.free`).
    pub async fn free_balance(&self, account: &AccountId) -> ChainResult<Rao> {
        let at = self.client.at().await?;
        let info: Option<Value> = self
            .client
            .storage(
                &at,
                subxt::dynamic::storage::<([u8; 32],), Value>("System", "Account"),
                (account.0,),
            )
            .await?;
        let free = info
            .as_ref()
            .and_then(|v| v.at("data"))
            .and_then(|d| d.at("free"))
            .and_then(|f| f.as_u128())
            .unwrap_or(0);
        Ok(u64::try_from(free).unwrap_or(u64::MAX))
    }

    /// Sets each account's free balance (`Sudo.sudo(Balances.force_set_balance)`).
    pub async fn fund(&self, accounts: &[(AccountId, Rao)]) -> ChainResult<()> {
        for (account, free) in accounts {
            self.client
                .sudo(&self.sudo, |md| {
                    calls::force_set_balance(md, account, *free)
                })
                .await?;
        }
        Ok(())
    }

    /// A per-subnet `AdminUtils` setter through `Sudo.sudo`.
    pub async fn sudo_set(&self, setter: &str, netuid: NetUid, value: Value) -> ChainResult<()> {
        self.client
            .sudo(&self.sudo, |md| calls::admin_set(md, setter, netuid, value))
            .await
            .map(drop)
    }

    /// A global `AdminUtils` setter through `Sudo.sudo`.
    pub async fn sudo_set_global(&self, setter: &str, value: Value) -> ChainResult<()> {
        self.client
            .sudo(&self.sudo, |md| calls::admin_set_global(md, setter, value))
            .await
            .map(drop)
    }

    /// Every subnet's netuid (`NetworksAdded`).
    pub async fn netuids(&self) -> ChainResult<Vec<NetUid>> {
        let at = self.client.at().await?;
        if !storage::has(at.metadata_ref(), &storage::networks_added()) {
            return Err(ChainError::Unsupported(format!(
                "storage {SUBTENSOR}.NetworksAdded"
            )));
        }
        let mut entries = at
            .storage()
            .iter(storage::networks_added(), ())
            .await
            .map_err(|e| self.client.transport(e))?;
        let mut netuids = Vec::new();
        while let Some(entry) = entries.next().await {
            let entry = entry.map_err(|e| self.client.transport(e))?;
            let key = entry.key().map_err(|e| self.client.transport(e))?;
            let netuid = key
                .part(0)
                .map(|p| p.decode_as::<NetUid>())
                .transpose()
                .map_err(|e| self.client.transport(e))?
                .flatten();
            let added: bool = entry
                .value()
                .decode()
                .map_err(|e| self.client.transport(e))?;
            if let (Some(n), true) = (netuid, added) {
                netuids.push(n);
            }
        }
        netuids.sort_unstable();
        Ok(netuids)
    }

    /// The hotkey's alpha on the subnet (`TotalHotkeyAlpha`).
    pub async fn alpha(&self, netuid: NetUid, hotkey: &AccountId) -> ChainResult<Rao> {
        let at = self.client.at().await?;
        self.client
            .storage_or(&at, storage::total_hotkey_alpha(), (hotkey.0, netuid), 0)
            .await
    }

    /// Adds `alpha` to the coldkey's stake on the hotkey by storage (see the module docs for
    /// exactly what is written).
    pub async fn credit_alpha(
        &self,
        coldkey: &AccountId,
        hotkey: &AccountId,
        netuid: NetUid,
        alpha: Rao,
    ) -> ChainResult<()> {
        let at = self.client.at().await?;
        let md = at.metadata_ref();
        let shares_entry = md
            .pallet_by_name(SUBTENSOR)
            .and_then(|p| p.storage())
            .and_then(|s| s.entry_by_name("Alpha"))
            .ok_or_else(|| ChainError::Unsupported(format!("storage {SUBTENSOR}.Alpha")))?;
        let is_u64 = super::neuron::primitive_of(md, shares_entry.value_ty())
            == Some(subxt::ext::scale_type_resolver::Primitive::U64);
        if !is_u64 {
            return Err(ChainError::Unsupported(format!(
                "{SUBTENSOR}.Alpha as plain u64 shares (the dev stake top-up writes those)"
            )));
        }
        let u64_entry =
            |name: &'static str| subxt::dynamic::storage::<Vec<Value>, u64>(SUBTENSOR, name);
        let key2 = || vec![Value::from_bytes(hotkey.0), Value::u128(netuid.into())];
        let read = |name: &'static str, key: Vec<Value>| {
            let at = &at;
            async move { self.client.storage_or(at, u64_entry(name), key, 0).await }
        };
        let total_shares = read("TotalHotkeyShares", key2()).await?;
        let total_alpha = read("TotalHotkeyAlpha", key2()).await?;
        let shares_key = vec![
            Value::from_bytes(hotkey.0),
            Value::from_bytes(coldkey.0),
            Value::u128(netuid.into()),
        ];
        let shares = read("Alpha", shares_key.clone()).await?;
        let alpha_out = read("SubnetAlphaOut", vec![Value::u128(netuid.into())]).await?;
        let bought = if total_shares == 0 || total_alpha == 0 {
            alpha
        } else {
            let b = u128::from(alpha) * u128::from(total_shares) / u128::from(total_alpha);
            u64::try_from(b).unwrap_or(u64::MAX)
        };
        let writes: [(&str, Vec<Value>, u64); 4] = [
            ("Alpha", shares_key, shares.saturating_add(bought)),
            (
                "TotalHotkeyShares",
                key2(),
                total_shares.saturating_add(bought),
            ),
            (
                "TotalHotkeyAlpha",
                key2(),
                total_alpha.saturating_add(alpha),
            ),
            (
                "SubnetAlphaOut",
                vec![Value::u128(netuid.into())],
                alpha_out.saturating_add(alpha),
            ),
        ];
        for (name, key, value) in writes {
            self.set_storage(SUBTENSOR, name, key, value.encode())
                .await?;
        }
        Ok(())
    }

    /// Sets a subnet's registration burn now: `sudo_set_min_burn` and `sudo_set_max_burn` to
    /// `burn` (so the runtime's adjustment keeps it there) and `Burn` itself by storage.
    pub async fn set_burn(&self, netuid: NetUid, burn: Rao) -> ChainResult<()> {
        self.sudo_set("sudo_set_min_burn", netuid, Value::u128(burn.into()))
            .await?;
        self.sudo_set("sudo_set_max_burn", netuid, Value::u128(burn.into()))
            .await?;
        self.set_storage(SUBTENSOR, "Burn", (netuid,), burn.encode())
            .await
    }

    /// Applies every field of `hyper` that differs from the subnet's current value through its
    /// `AdminUtils` setter under sudo. A field the runtime has no setter for is
    /// [`ChainError::Unsupported`] naming the setter (only when it would change something).
    pub async fn apply_hyperparameters(
        &self,
        netuid: NetUid,
        hyper: &Hyperparameters,
    ) -> ChainResult<()> {
        let now = self.client.hyperparameters(netuid).await?;
        let u = |v: u64| Value::u128(v.into());
        let fields: [(&str, bool, Value); 15] = [
            (
                "sudo_set_tempo",
                now.tempo != hyper.tempo,
                u(hyper.tempo.into()),
            ),
            (
                "sudo_set_weights_set_rate_limit",
                now.weights_rate_limit != hyper.weights_rate_limit,
                u(hyper.weights_rate_limit),
            ),
            (
                "sudo_set_commit_reveal_weights_enabled",
                now.commit_reveal_weights_enabled != hyper.commit_reveal_weights_enabled,
                Value::bool(hyper.commit_reveal_weights_enabled),
            ),
            (
                "sudo_set_commit_reveal_weights_interval",
                now.commit_reveal_period != hyper.commit_reveal_period,
                u(hyper.commit_reveal_period),
            ),
            (
                "sudo_set_min_allowed_weights",
                now.min_allowed_weights != hyper.min_allowed_weights,
                u(hyper.min_allowed_weights.into()),
            ),
            (
                "sudo_set_max_weight_limit",
                now.max_weight_limit != hyper.max_weight_limit,
                u(hyper.max_weight_limit.into()),
            ),
            (
                "sudo_set_immunity_period",
                now.immunity_period != hyper.immunity_period,
                u(hyper.immunity_period.into()),
            ),
            (
                "sudo_set_activity_cutoff",
                now.activity_cutoff != hyper.activity_cutoff,
                u(hyper.activity_cutoff.into()),
            ),
            (
                "sudo_set_weights_version_key",
                now.weights_version != hyper.weights_version,
                u(hyper.weights_version),
            ),
            (
                "sudo_set_max_allowed_uids",
                now.max_allowed_uids != hyper.max_allowed_uids,
                u(hyper.max_allowed_uids.into()),
            ),
            (
                "sudo_set_max_allowed_validators",
                now.max_allowed_validators != hyper.max_allowed_validators,
                u(hyper.max_allowed_validators.into()),
            ),
            (
                "sudo_set_kappa",
                now.kappa != hyper.kappa,
                u(hyper.kappa.into()),
            ),
            (
                "sudo_set_bonds_moving_average",
                now.bonds_moving_avg != hyper.bonds_moving_avg,
                u(hyper.bonds_moving_avg),
            ),
            (
                "sudo_set_bonds_penalty",
                now.bonds_penalty != hyper.bonds_penalty,
                u(hyper.bonds_penalty.into()),
            ),
            (
                "sudo_set_serving_rate_limit",
                now.serving_rate_limit != hyper.serving_rate_limit,
                u(hyper.serving_rate_limit),
            ),
        ];
        for (setter, differs, value) in fields {
            if differs {
                self.sudo_set(setter, netuid, value).await?;
            }
        }
        if now.registration_allowed != hyper.registration_allowed {
            self.sudo_set(
                "sudo_set_network_registration_allowed",
                netuid,
                Value::bool(hyper.registration_allowed),
            )
            .await?;
        }
        if now.burn != hyper.burn {
            self.set_burn(netuid, hyper.burn).await?;
        }
        if now.stake_threshold != hyper.stake_threshold {
            let md = self.client.metadata().await?;
            let setter = ["sudo_set_stake_threshold", "sudo_set_weights_min_stake"]
                .into_iter()
                .find(|s| calls::has_call(&md, calls::ADMIN_UTILS, s))
                .ok_or_else(|| {
                    ChainError::Unsupported("AdminUtils.sudo_set_stake_threshold".into())
                })?;
            self.sudo_set_global(setter, u(hyper.stake_threshold))
                .await?;
        }
        Ok(())
    }

    /// Creates a subnet owned by `coldkey` (which pays the lock cost) with `hotkey` as uid 0:
    /// the network rate limit is lifted (`sudo_set_network_rate_limit(0)`), `register_network`
    /// is sent as the runtime's metadata wants it (with `mechid` 1 where it takes one), the
    /// registration limits are raised to [`DEV_REGISTRATIONS_LIMIT`], and `hyper` is applied.
    pub async fn create_subnet_as(
        &self,
        coldkey: &Keypair,
        hotkey: &AccountId,
        hyper: &Hyperparameters,
    ) -> ChainResult<NetUid> {
        self.sudo_set_global("sudo_set_network_rate_limit", Value::u128(0))
            .await?;
        let before = self.netuids().await?;
        self.client
            .send(coldkey, |md| calls::register_network(md, hotkey))
            .await?;
        let netuid = self
            .netuids()
            .await?
            .into_iter()
            .find(|n| !before.contains(n))
            .ok_or_else(|| ChainError::NotFound("the new subnet after register_network".into()))?;
        let limit = Value::u128(DEV_REGISTRATIONS_LIMIT.into());
        self.sudo_set(
            "sudo_set_target_registrations_per_interval",
            netuid,
            limit.clone(),
        )
        .await?;
        self.sudo_set("sudo_set_max_registrations_per_block", netuid, limit)
            .await?;
        self.apply_hyperparameters(netuid, hyper).await?;
        Ok(netuid)
    }

    /// Stakes `amount` rao from `coldkey` on `hotkey` (see the module docs): the real
    /// `add_stake`, then the alpha top-up to `amount` alpha more than before.
    pub async fn add_stake_as(
        &self,
        coldkey: &Keypair,
        hotkey: &AccountId,
        netuid: NetUid,
        amount: Rao,
    ) -> ChainResult<()> {
        let cold = coldkey.public();
        let before = self.coldkey_alpha(&cold, hotkey, netuid).await?;
        self.client
            .send(coldkey, |md| calls::add_stake(md, hotkey, netuid, amount))
            .await?;
        let after = self.coldkey_alpha(&cold, hotkey, netuid).await?;
        let target = before.saturating_add(amount);
        if after < target {
            self.credit_alpha(&cold, hotkey, netuid, target - after)
                .await?;
        }
        Ok(())
    }

    /// The coldkey's alpha on the hotkey: its shares × total alpha / total shares.
    pub async fn coldkey_alpha(
        &self,
        coldkey: &AccountId,
        hotkey: &AccountId,
        netuid: NetUid,
    ) -> ChainResult<Rao> {
        let at = self.client.at().await?;
        let entry =
            |name: &'static str| subxt::dynamic::storage::<Vec<Value>, u64>(SUBTENSOR, name);
        let key2 = || vec![Value::from_bytes(hotkey.0), Value::u128(netuid.into())];
        if !storage::has_entry(at.metadata_ref(), SUBTENSOR, "Alpha") {
            return Err(ChainError::Unsupported(format!(
                "storage {SUBTENSOR}.Alpha"
            )));
        }
        let shares = self
            .client
            .storage_or(
                &at,
                entry("Alpha"),
                vec![
                    Value::from_bytes(hotkey.0),
                    Value::from_bytes(coldkey.0),
                    Value::u128(netuid.into()),
                ],
                0,
            )
            .await
            .map_err(|e| match e {
                ChainError::Decode { .. } => {
                    ChainError::Unsupported(format!("{SUBTENSOR}.Alpha as plain u64 shares"))
                }
                other => other,
            })?;
        let total_shares = self
            .client
            .storage_or(&at, entry("TotalHotkeyShares"), key2(), 0)
            .await?;
        let total_alpha = self
            .client
            .storage_or(&at, entry("TotalHotkeyAlpha"), key2(), 0)
            .await?;
        if total_shares == 0 {
            return Ok(0);
        }
        let alpha = u128::from(shares) * u128::from(total_alpha) / u128::from(total_shares);
        Ok(u64::try_from(alpha).unwrap_or(u64::MAX))
    }

    async fn owner_check(&self, signer: &Keypair, netuid: NetUid) -> ChainResult<()> {
        let owner = self.client.subnet_owner(netuid).await?;
        if owner.coldkey != signer.public() {
            return Err(ChainError::rejected(
                PalletError::NotSubnetOwner,
                format!("{} does not own netuid {netuid}", signer.public()),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl DevChain for SubtensorDev {
    /// Each [`Call`] as the runtime's extrinsic: `Mint` is `Sudo.sudo(force_set_balance)`
    /// signed by `signer` (the runtime refuses any key but the sudo key with `RequireSudo`);
    /// `SetHyperparameters` checks that `signer` owns the subnet, then applies the values under
    /// this dev's sudo key.
    async fn submit_call(&self, signer: &Keypair, call: Call) -> ChainResult<CallOutput> {
        let c = &self.client;
        match call {
            Call::BurnedRegister { netuid, hotkey } => c
                .burned_register(signer, netuid, &hotkey)
                .await
                .map(CallOutput::Uid),
            Call::ServeAxon { netuid, axon } => c
                .serve_axon(signer, netuid, &axon)
                .await
                .map(|()| CallOutput::Done),
            Call::SetWeights {
                netuid,
                uids,
                weights,
                version_key,
            } => c
                .set_weights(signer, netuid, &uids, &weights, version_key)
                .await
                .map(|()| CallOutput::Done),
            Call::CommitWeights {
                netuid,
                commit_hash,
            } => c
                .commit_weights(signer, netuid, commit_hash)
                .await
                .map(|()| CallOutput::Done),
            Call::RevealWeights {
                netuid,
                uids,
                weights,
                salt,
                version_key,
            } => c
                .reveal_weights(signer, netuid, &uids, &weights, &salt, version_key)
                .await
                .map(|()| CallOutput::Done),
            Call::SetCommitment { netuid, data } => c
                .set_commitment(signer, netuid, &data)
                .await
                .map(|()| CallOutput::Done),
            Call::AddStake {
                hotkey,
                netuid,
                amount,
            } => self
                .add_stake_as(signer, &hotkey, netuid, amount)
                .await
                .map(|()| CallOutput::Done),
            Call::Transfer { dest, amount } => c
                .send(signer, |md| calls::transfer(md, &dest, amount))
                .await
                .map(|_| CallOutput::Done),
            Call::Mint { dest, amount } => {
                let free = self.free_balance(&dest).await?;
                c.sudo(signer, |md| {
                    calls::force_set_balance(md, &dest, free.saturating_add(amount))
                })
                .await
                .map(|_| CallOutput::Done)
            }
            Call::CreateSubnet {
                hotkey,
                hyperparameters,
            } => self
                .create_subnet_as(signer, &hotkey, &hyperparameters)
                .await
                .map(CallOutput::NetUid),
            Call::SetHyperparameters {
                netuid,
                hyperparameters,
            } => {
                self.owner_check(signer, netuid).await?;
                self.apply_hyperparameters(netuid, &hyperparameters)
                    .await
                    .map(|()| CallOutput::Done)
            }
        }
    }

    async fn query(&self, query: Query) -> ChainResult<QueryOutput> {
        let c = &self.client;
        Ok(match query {
            Query::Block => QueryOutput::Block(c.current_block().await?),
            Query::Genesis => QueryOutput::Genesis(hex::encode(c.genesis_hash())),
            Query::Subnets => QueryOutput::Subnets(self.netuids().await?),
            Query::Metagraph { netuid } => QueryOutput::Metagraph(c.metagraph(netuid).await?),
            Query::Hyperparameters { netuid } => {
                QueryOutput::Hyperparameters(c.hyperparameters(netuid).await?)
            }
            Query::SubnetOwner { netuid } => {
                QueryOutput::SubnetOwner(c.subnet_owner(netuid).await?)
            }
            Query::UidOf { netuid, hotkey } => QueryOutput::Uid(c.uid_of(netuid, &hotkey).await?),
            Query::BlocksUntilNextEpoch { netuid } => {
                QueryOutput::Blocks(c.blocks_until_next_epoch(netuid).await?)
            }
            Query::BlocksSinceLastUpdate { netuid, uid } => {
                QueryOutput::Blocks(c.blocks_since_last_update(netuid, uid).await?)
            }
            Query::Commitment { netuid, hotkey } => {
                QueryOutput::Commitment(c.get_commitment(netuid, &hotkey).await?)
            }
            Query::Balance { account } => QueryOutput::Rao(self.free_balance(&account).await?),
            Query::Stake { netuid, hotkey } => QueryOutput::Rao(self.alpha(netuid, &hotkey).await?),
            Query::Nonce { account } => QueryOutput::Nonce(self.account_nonce(&account).await?),
        })
    }

    async fn subscribe(&self) -> ChainResult<BlockStream> {
        self.client.subscribe_blocks().await
    }
}
