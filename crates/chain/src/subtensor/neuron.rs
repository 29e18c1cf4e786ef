//! `NeuronInfoRuntimeApi_get_neurons_lite` decoded against the runtime's own type registry, so a
//! field the runtime adds or reorders does not break us (fields are matched by name).
//!
//! Older runtimes (spec 218 among them) declare the method's output as opaque bytes
//! (`Vec<u8>` holding the SCALE encoding of `Vec<NeuronInfoLite>`) and do not describe
//! `NeuronInfoLite` in their registry at all. For those the bytes are decoded with the layout the
//! struct had in that era ([`LegacyNeuronInfoLite`]: hotkey, coldkey, compact uid and netuid,
//! active, axon, prometheus, the coldkey/stake list, compact rank, emission, incentive,
//! consensus, trust, validator trust, dividends, last update, the permit and a compact pruning
//! score), and every byte must be consumed. Which of the two the runtime speaks is read from the
//! metadata ([`NeuronsLiteShape`]).

use parity_scale_codec::{Compact, Decode};
use subxt::Metadata;
use subxt::ext::scale_decode::{self, DecodeAsType};
use subxt::ext::scale_type_resolver::{Primitive, TypeResolver, visitor};

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
    /// The neuron's hotkey.
    pub fn hotkey(&self) -> omron_keys::AccountId {
        omron_keys::AccountId(self.hotkey)
    }

    /// Replaces the stake list by one entry: the coldkey with `stake` (used where the runtime's
    /// list is not the subnet stake, see the client's `metagraph`).
    pub fn set_stake(&mut self, stake: u64) {
        self.stake = vec![(self.coldkey, stake)];
    }

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

/// `AxonInfo` in the legacy layout (plain integers).
#[derive(Debug, Decode)]
struct LegacyAxonInfo {
    block: u64,
    version: u32,
    ip: u128,
    port: u16,
    ip_type: u8,
    protocol: u8,
    _placeholder1: u8,
    _placeholder2: u8,
}

/// `PrometheusInfo` in the legacy layout (read past, not kept).
#[derive(Debug, Decode)]
struct LegacyPrometheusInfo {
    _block: u64,
    _version: u32,
    _ip: u128,
    _port: u16,
    _ip_type: u8,
}

/// `NeuronInfoLite` as runtimes with an opaque `get_neurons_lite` encode it (spec 218).
#[derive(Debug, Decode)]
pub struct LegacyNeuronInfoLite {
    hotkey: [u8; 32],
    coldkey: [u8; 32],
    uid: Compact<u16>,
    _netuid: Compact<u16>,
    active: bool,
    axon_info: LegacyAxonInfo,
    _prometheus_info: LegacyPrometheusInfo,
    stake: Vec<([u8; 32], Compact<u64>)>,
    rank: Compact<u16>,
    emission: Compact<u64>,
    incentive: Compact<u16>,
    consensus: Compact<u16>,
    trust: Compact<u16>,
    validator_trust: Compact<u16>,
    dividends: Compact<u16>,
    last_update: Compact<u64>,
    validator_permit: bool,
    _pruning_score: Compact<u16>,
}

impl LegacyNeuronInfoLite {
    fn into_raw(self) -> NeuronInfoLiteRaw {
        let a = self.axon_info;
        NeuronInfoLiteRaw {
            hotkey: self.hotkey,
            coldkey: self.coldkey,
            uid: self.uid.0,
            active: self.active,
            axon_info: AxonInfoRaw {
                block: a.block,
                version: a.version,
                ip: a.ip,
                port: a.port,
                ip_type: a.ip_type,
                protocol: a.protocol,
            },
            stake: self.stake.into_iter().map(|(c, s)| (c, s.0)).collect(),
            rank: self.rank.0,
            emission: self.emission.0,
            incentive: self.incentive.0,
            consensus: self.consensus.0,
            trust: self.trust.0,
            validator_trust: self.validator_trust.0,
            dividends: self.dividends.0,
            last_update: self.last_update.0,
            validator_permit: self.validator_permit,
        }
    }
}

/// What the runtime declares `get_neurons_lite` to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NeuronsLiteShape {
    /// A described type (`Vec<NeuronInfoLite>` in the registry, this type id): decoded by
    /// field name.
    Typed(u32),
    /// `Vec<u8>` around the encoded list: decoded with [`LegacyNeuronInfoLite`].
    Opaque,
}

/// The primitive a registry type is, if it is one.
pub fn primitive_of(metadata: &Metadata, ty: u32) -> Option<Primitive> {
    let v = visitor::new((), |_, _| None).visit_primitive(|_, p| Some(p));
    metadata.types().resolve_type(ty, v).ok().flatten()
}

/// The element type of a registry sequence type, if it is one.
pub fn sequence_of(metadata: &Metadata, ty: u32) -> Option<u32> {
    let v = visitor::new((), |_, _| None).visit_sequence(|_, _, inner| Some(inner));
    metadata.types().resolve_type(ty, v).ok().flatten()
}

/// The type id the runtime declares for the method's output.
pub fn neurons_lite_output_type(metadata: &Metadata) -> ChainResult<u32> {
    let (api, method) = NEURON_INFO_API;
    metadata
        .runtime_api_trait_by_name(api)
        .and_then(|t| t.method_by_name(method))
        .map(|m| m.output_ty())
        .ok_or_else(|| ChainError::Unsupported(format!("runtime API {api}_{method}")))
}

/// Which encoding the runtime's `get_neurons_lite` uses.
pub fn neurons_lite_shape(metadata: &Metadata) -> ChainResult<NeuronsLiteShape> {
    let ty = neurons_lite_output_type(metadata)?;
    let is_bytes = sequence_of(metadata, ty)
        .and_then(|inner| primitive_of(metadata, inner))
        .is_some_and(|p| p == Primitive::U8);
    Ok(if is_bytes {
        NeuronsLiteShape::Opaque
    } else {
        NeuronsLiteShape::Typed(ty)
    })
}

fn decode_err(reason: impl std::fmt::Display) -> ChainError {
    ChainError::Decode {
        what: "NeuronInfoLite list".into(),
        reason: reason.to_string(),
    }
}

/// Decodes the SCALE output of `get_neurons_lite` (a `Vec<NeuronInfoLite>`, described or
/// opaque).
pub fn decode_neurons_lite(metadata: &Metadata, bytes: &[u8]) -> ChainResult<Vec<NeuronInfo>> {
    Ok(decode_neurons_lite_raw(metadata, bytes)?
        .into_iter()
        .map(NeuronInfoLiteRaw::into_neuron)
        .collect())
}

/// [`decode_neurons_lite`] before conversion (the caller may correct the stake).
pub fn decode_neurons_lite_raw(
    metadata: &Metadata,
    bytes: &[u8],
) -> ChainResult<Vec<NeuronInfoLiteRaw>> {
    let mut input = bytes;
    let raw = match neurons_lite_shape(metadata)? {
        NeuronsLiteShape::Typed(ty) => {
            Vec::<NeuronInfoLiteRaw>::decode_as_type(&mut input, ty, metadata.types())
                .map_err(decode_err)?
        }
        NeuronsLiteShape::Opaque => {
            let inner = Vec::<u8>::decode(&mut input).map_err(decode_err)?;
            if !input.is_empty() {
                return Err(decode_err(format!(
                    "{} bytes after the opaque list",
                    input.len()
                )));
            }
            let mut inner_input = inner.as_slice();
            let list = Vec::<LegacyNeuronInfoLite>::decode(&mut inner_input).map_err(decode_err)?;
            if !inner_input.is_empty() {
                return Err(decode_err(format!(
                    "{} bytes left over in the opaque list",
                    inner_input.len()
                )));
            }
            list.into_iter()
                .map(LegacyNeuronInfoLite::into_raw)
                .collect()
        }
    };
    if !input.is_empty() {
        return Err(decode_err(format!("{} bytes left over", input.len())));
    }
    Ok(raw)
}
