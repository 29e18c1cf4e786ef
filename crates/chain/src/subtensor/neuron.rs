//! `NeuronInfoRuntimeApi_get_neurons_lite` decoded against the runtime's own type registry, so a
//! field the runtime adds or reorders does not break us (fields are matched by name).

use subxt::Metadata;
use subxt::ext::scale_decode::{self, DecodeAsType};

use crate::error::{ChainError, ChainResult};
use crate::types::{AxonInfo, NeuronInfo, Proportion};

/// The runtime API trait and method.
pub const NEURON_INFO_API: (&str, &str) = ("NeuronInfoRuntimeApi", "get_neurons_lite");

/// `AxonInfo` as the runtime encodes it.
#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct AxonInfoRaw {
    block: u64,
    version: u32,
    ip: u128,
    port: u16,
    ip_type: u8,
    protocol: u8,
}

/// `NeuronInfoLite` as the runtime encodes it (compact numbers decode into plain ones).
#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct NeuronInfoLiteRaw {
    hotkey: [u8; 32],
    coldkey: [u8; 32],
    uid: u16,
    active: bool,
    axon_info: AxonInfoRaw,
    stake: Vec<([u8; 32], u64)>,
    rank: u16,
    emission: u64,
    incentive: u16,
    consensus: u16,
    trust: u16,
    validator_trust: u16,
    dividends: u16,
    last_update: u64,
    validator_permit: bool,
}

impl NeuronInfoLiteRaw {
    /// Into our type; `block_at_registration` is not part of `NeuronInfoLite` and is set by
    /// the caller.
    pub fn into_neuron(self) -> NeuronInfo {
        let stake = self
            .stake
            .iter()
            .fold(0u64, |acc, (_, s)| acc.saturating_add(*s));
        NeuronInfo {
            uid: self.uid,
            hotkey: omron_keys::AccountId(self.hotkey),
            coldkey: omron_keys::AccountId(self.coldkey),
            stake,
            validator_permit: self.validator_permit,
            axon: AxonInfo {
                block: self.axon_info.block,
                version: self.axon_info.version,
                ip: self.axon_info.ip,
                port: self.axon_info.port,
                ip_type: self.axon_info.ip_type,
                protocol: self.axon_info.protocol,
            },
            last_update: self.last_update,
            block_at_registration: 0,
            rank: Proportion(self.rank),
            trust: Proportion(self.trust),
            consensus: Proportion(self.consensus),
            incentive: Proportion(self.incentive),
            dividends: Proportion(self.dividends),
            validator_trust: Proportion(self.validator_trust),
            emission: self.emission,
            active: self.active,
        }
    }
}

/// The type id the runtime declares for the method's output.
pub fn neurons_lite_output_type(metadata: &Metadata) -> ChainResult<u32> {
    let (api, method) = NEURON_INFO_API;
    metadata
        .runtime_api_trait_by_name(api)
        .and_then(|t| t.method_by_name(method))
        .map(|m| m.output_ty())
        .ok_or_else(|| ChainError::Metadata(format!("runtime API {api}_{method} missing")))
}

/// Decodes the SCALE output of `get_neurons_lite` (a `Vec<NeuronInfoLite>`).
pub fn decode_neurons_lite(metadata: &Metadata, bytes: &[u8]) -> ChainResult<Vec<NeuronInfo>> {
    let ty = neurons_lite_output_type(metadata)?;
    let mut input = bytes;
    let raw = Vec::<NeuronInfoLiteRaw>::decode_as_type(&mut input, ty, metadata.types()).map_err(
        |e| ChainError::Decode {
            what: "NeuronInfoLite list".into(),
            reason: e.to_string(),
        },
    )?;
    if !input.is_empty() {
        return Err(ChainError::Decode {
            what: "NeuronInfoLite list".into(),
            reason: format!("{} bytes left over", input.len()),
        });
    }
    Ok(raw
        .into_iter()
        .map(NeuronInfoLiteRaw::into_neuron)
        .collect())
}
