//! Every storage entry the client reads, typed once, so the readers and the layout check (run
//! at connect time and in the offline tests) use the same key and value types.

use subxt::client::{ClientAtBlock, OfflineClientAtBlockT};
use subxt::config::SubstrateConfig;
use subxt::dynamic::Value;
use subxt::ext::frame_decode::storage::{IntoDecodableValues, IntoEncodableValues};
use subxt::ext::scale_decode::DecodeAsType;
use subxt::storage::{Address, DynamicAddress};

use super::calls::{COMMITMENTS, SUBTENSOR};
use crate::error::{ChainError, ChainResult};
use crate::types::{NetUid, Uid};

macro_rules! entries {
    ($($fn:ident: $pallet:expr, $name:literal, ($($k:ty),*) => $v:ty, sample ($($s:expr),*);)*) => {
        $(
            #[doc = concat!("`", $name, "`.")]
            pub fn $fn() -> DynamicAddress<($($k,)*), $v> {
                subxt::dynamic::storage($pallet, $name)
            }
        )*

        /// Checks that every entry exists in the runtime, takes keys of our types and has a
        /// value (its default) that decodes into our type. A runtime that renamed or retyped
        /// one fails here with the entry's name instead of at the first read.
        pub fn check_layout<C: OfflineClientAtBlockT<SubstrateConfig>>(
            at: &ClientAtBlock<SubstrateConfig, C>,
        ) -> ChainResult<()> {
            $( check(at, $fn(), ($($s,)*))?; )*
            Ok(())
        }
    };
}

entries! {
    tempo: SUBTENSOR, "Tempo", (NetUid) => u16, sample (1);
    weights_rate_limit: SUBTENSOR, "WeightsSetRateLimit", (NetUid) => u64, sample (1);
    commit_reveal_enabled: SUBTENSOR, "CommitRevealWeightsEnabled", (NetUid) => bool, sample (1);
    reveal_period: SUBTENSOR, "RevealPeriodEpochs", (NetUid) => u64, sample (1);
    min_allowed_weights: SUBTENSOR, "MinAllowedWeights", (NetUid) => u16, sample (1);
    max_weights_limit: SUBTENSOR, "MaxWeightsLimit", (NetUid) => u16, sample (1);
    immunity_period: SUBTENSOR, "ImmunityPeriod", (NetUid) => u16, sample (1);
    activity_cutoff: SUBTENSOR, "ActivityCutoff", (NetUid) => u16, sample (1);
    weights_version: SUBTENSOR, "WeightsVersionKey", (NetUid) => u64, sample (1);
    max_allowed_uids: SUBTENSOR, "MaxAllowedUids", (NetUid) => u16, sample (1);
    max_allowed_validators: SUBTENSOR, "MaxAllowedValidators", (NetUid) => u16, sample (1);
    kappa: SUBTENSOR, "Kappa", (NetUid) => u16, sample (1);
    bonds_moving_avg: SUBTENSOR, "BondsMovingAverage", (NetUid) => u64, sample (1);
    bonds_penalty: SUBTENSOR, "BondsPenalty", (NetUid) => u16, sample (1);
    serving_rate_limit: SUBTENSOR, "ServingRateLimit", (NetUid) => u64, sample (1);
    burn: SUBTENSOR, "Burn", (NetUid) => u64, sample (1);
    registration_allowed: SUBTENSOR, "NetworkRegistrationAllowed", (NetUid) => bool, sample (1);
    stake_threshold: SUBTENSOR, "StakeThreshold", () => u64, sample ();
    subnet_owner: SUBTENSOR, "SubnetOwner", (NetUid) => [u8; 32], sample (1);
    subnet_owner_hotkey: SUBTENSOR, "SubnetOwnerHotkey", (NetUid) => [u8; 32], sample (1);
    uids: SUBTENSOR, "Uids", (NetUid, [u8; 32]) => Uid, sample (1, [0u8; 32]);
    last_update: SUBTENSOR, "LastUpdate", (NetUid) => Vec<u64>, sample (1);
    block_at_registration: SUBTENSOR, "BlockAtRegistration", (NetUid, Uid) => u64, sample (1, 0);
    commitment_of: COMMITMENTS, "CommitmentOf", (NetUid, [u8; 32]) => Value, sample (1, [0u8; 32]);
}

fn check<C, K, V>(
    at: &ClientAtBlock<SubstrateConfig, C>,
    addr: DynamicAddress<K, V>,
    sample: K,
) -> ChainResult<()>
where
    C: OfflineClientAtBlockT<SubstrateConfig>,
    K: IntoEncodableValues + IntoDecodableValues,
    V: DecodeAsType,
{
    let name = format!("{}.{}", addr.pallet_name(), addr.entry_name());
    let fail = |e: &dyn std::fmt::Display| ChainError::Metadata(format!("storage {name}: {e}"));
    let entry = at.storage().entry(addr).map_err(|e| fail(&e))?;
    entry.fetch_key(sample).map_err(|e| fail(&e))?;
    if let Some(default) = entry.default_value() {
        default.decode().map_err(|e| fail(&e))?;
    }
    Ok(())
}
