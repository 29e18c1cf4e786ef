//! Every storage entry the client reads, typed once, so the readers and the layout check (run
//! at connect time and in the offline tests) use the same key and value types.
//!
//! Entries are **required** or **optional**. A required entry is one the nodes cannot work
//! without (tempo, uids, last updates, the weights rules, the owner); a runtime without it is
//! refused at connect, naming it. An optional entry is read when the runtime has it and
//! otherwise stands at a documented default ([`crate::Hyperparameters::default`]'s value):
//! `BondsPenalty` is in finney's runtime but not in spec 218, `StakeThreshold` replaced
//! `WeightsMinStake`, and so on. Whatever a runtime has is checked the same way: keys of our
//! types and a default value that decodes into ours.

use subxt::Metadata;
use subxt::client::{ClientAtBlock, OfflineClientAtBlockT};
use subxt::config::SubstrateConfig;
use subxt::dynamic::Value;
use subxt::ext::frame_decode::storage::{IntoDecodableValues, IntoEncodableValues};
use subxt::ext::scale_decode::DecodeAsType;
use subxt::storage::{Address, DynamicAddress};

use super::calls::{COMMITMENTS, SUBTENSOR};
use crate::error::{ChainError, ChainResult};
use crate::types::{NetUid, Uid};

/// Whether the client needs an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Refused at connect when missing.
    Required,
    /// Read when present, defaulted when not.
    Optional,
}

macro_rules! need {
    (required) => {
        Need::Required
    };
    (optional) => {
        Need::Optional
    };
}

macro_rules! entries {
    ($($need:ident $fn:ident: $pallet:expr, $name:literal, ($($k:ty),*) => $v:ty, sample ($($s:expr),*);)*) => {
        $(
            #[doc = concat!("`", $name, "` (", stringify!($need), ").")]
            pub fn $fn() -> DynamicAddress<($($k,)*), $v> {
                subxt::dynamic::storage($pallet, $name)
            }
        )*

        /// Every entry the client reads: pallet, name and whether it is required.
        pub const ENTRIES: &[(&str, &str, Need)] = &[$(($pallet, $name, need!($need)),)*];

        /// Checks every entry the runtime has: it takes keys of our types and has a value (its
        /// default) that decodes into our type. A missing required entry, or any entry the
        /// runtime renamed or retyped, fails here with the entry's name instead of at the first
        /// read; a missing optional entry is fine.
        pub fn check_layout<C: OfflineClientAtBlockT<SubstrateConfig>>(
            at: &ClientAtBlock<SubstrateConfig, C>,
        ) -> ChainResult<()> {
            $( check(at, $fn(), ($($s,)*), need!($need))?; )*
            Ok(())
        }
    };
}

entries! {
    required tempo: SUBTENSOR, "Tempo", (NetUid) => u16, sample (1);
    required weights_rate_limit: SUBTENSOR, "WeightsSetRateLimit", (NetUid) => u64, sample (1);
    required commit_reveal_enabled: SUBTENSOR, "CommitRevealWeightsEnabled", (NetUid) => bool, sample (1);
    required min_allowed_weights: SUBTENSOR, "MinAllowedWeights", (NetUid) => u16, sample (1);
    required max_weights_limit: SUBTENSOR, "MaxWeightsLimit", (NetUid) => u16, sample (1);
    required weights_version: SUBTENSOR, "WeightsVersionKey", (NetUid) => u64, sample (1);
    required subnet_owner: SUBTENSOR, "SubnetOwner", (NetUid) => [u8; 32], sample (1);
    required uids: SUBTENSOR, "Uids", (NetUid, [u8; 32]) => Uid, sample (1, [0u8; 32]);
    required last_update: SUBTENSOR, "LastUpdate", (NetUid) => Vec<u64>, sample (1);
    optional reveal_period: SUBTENSOR, "RevealPeriodEpochs", (NetUid) => u64, sample (1);
    optional immunity_period: SUBTENSOR, "ImmunityPeriod", (NetUid) => u16, sample (1);
    optional activity_cutoff: SUBTENSOR, "ActivityCutoff", (NetUid) => u16, sample (1);
    optional max_allowed_uids: SUBTENSOR, "MaxAllowedUids", (NetUid) => u16, sample (1);
    optional max_allowed_validators: SUBTENSOR, "MaxAllowedValidators", (NetUid) => u16, sample (1);
    optional kappa: SUBTENSOR, "Kappa", (NetUid) => u16, sample (1);
    optional bonds_moving_avg: SUBTENSOR, "BondsMovingAverage", (NetUid) => u64, sample (1);
    optional bonds_penalty: SUBTENSOR, "BondsPenalty", (NetUid) => u16, sample (1);
    optional serving_rate_limit: SUBTENSOR, "ServingRateLimit", (NetUid) => u64, sample (1);
    optional burn: SUBTENSOR, "Burn", (NetUid) => u64, sample (1);
    optional registration_allowed: SUBTENSOR, "NetworkRegistrationAllowed", (NetUid) => bool, sample (1);
    optional stake_threshold: SUBTENSOR, "StakeThreshold", () => u64, sample ();
    optional weights_min_stake: SUBTENSOR, "WeightsMinStake", () => u64, sample ();
    optional subnet_owner_hotkey: SUBTENSOR, "SubnetOwnerHotkey", (NetUid) => [u8; 32], sample (1);
    optional block_at_registration: SUBTENSOR, "BlockAtRegistration", (NetUid, Uid) => u64, sample (1, 0);
    optional total_hotkey_alpha: SUBTENSOR, "TotalHotkeyAlpha", ([u8; 32], NetUid) => u64, sample ([0u8; 32], 1);
    optional networks_added: SUBTENSOR, "NetworksAdded", (NetUid) => bool, sample (1);
    optional commitment_of: COMMITMENTS, "CommitmentOf", (NetUid, [u8; 32]) => Value, sample (1, [0u8; 32]);
}

/// Whether the runtime has the storage entry `pallet.name`.
pub fn has_entry(metadata: &Metadata, pallet: &str, name: &str) -> bool {
    metadata
        .pallet_by_name(pallet)
        .and_then(|p| p.storage())
        .and_then(|s| s.entry_by_name(name))
        .is_some()
}

/// Whether the runtime has the entry an address points at.
pub fn has<K, V>(metadata: &Metadata, addr: &DynamicAddress<K, V>) -> bool
where
    K: IntoEncodableValues + IntoDecodableValues,
    V: DecodeAsType,
{
    has_entry(metadata, addr.pallet_name(), addr.entry_name())
}

fn check<C, K, V>(
    at: &ClientAtBlock<SubstrateConfig, C>,
    addr: DynamicAddress<K, V>,
    sample: K,
    need: Need,
) -> ChainResult<()>
where
    C: OfflineClientAtBlockT<SubstrateConfig>,
    K: IntoEncodableValues + IntoDecodableValues,
    V: DecodeAsType,
{
    let name = format!("{}.{}", addr.pallet_name(), addr.entry_name());
    if !has(at.metadata_ref(), &addr) {
        return match need {
            Need::Required => Err(ChainError::Unsupported(format!(
                "storage {name}, which this client requires"
            ))),
            Need::Optional => Ok(()),
        };
    }
    let fail = |e: &dyn std::fmt::Display| ChainError::Metadata(format!("storage {name}: {e}"));
    let entry = at.storage().entry(addr).map_err(|e| fail(&e))?;
    entry.fetch_key(sample).map_err(|e| fail(&e))?;
    if let Some(default) = entry.default_value() {
        default.decode().map_err(|e| fail(&e))?;
    }
    Ok(())
}
