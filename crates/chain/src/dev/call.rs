//! The calls the embedded chain accepts: the subtensor extrinsics a subnet uses plus the dev
//! operations (mint, create subnet, set hyperparameters) a local network needs.

use omron_keys::AccountId;
use serde::{Deserialize, Serialize};

use crate::types::{Hyperparameters, NetUid, Rao, ServeAxon, Uid};

/// A state-changing call, applied on behalf of an (already authenticated) signer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case", deny_unknown_fields)]
pub enum Call {
    /// Signed by the coldkey: registers `hotkey`, burning the subnet's registration cost.
    BurnedRegister {
        /// Subnet.
        netuid: NetUid,
        /// Hotkey to register.
        hotkey: AccountId,
    },
    /// Signed by the hotkey: publishes its axon.
    ServeAxon {
        /// Subnet.
        netuid: NetUid,
        /// Address and versions.
        axon: ServeAxon,
    },
    /// Signed by the hotkey.
    SetWeights {
        /// Subnet.
        netuid: NetUid,
        /// Target uids.
        uids: Vec<Uid>,
        /// u16 weights.
        weights: Vec<u16>,
        /// Must be at least the subnet's weights version (or 0).
        version_key: u64,
    },
    /// Signed by the hotkey: CRv2 commit.
    CommitWeights {
        /// Subnet.
        netuid: NetUid,
        /// `weights_commit_hash(...)`, hex.
        #[serde(with = "hex_array")]
        commit_hash: [u8; 32],
    },
    /// Signed by the hotkey: CRv2 reveal.
    RevealWeights {
        /// Subnet.
        netuid: NetUid,
        /// Target uids.
        uids: Vec<Uid>,
        /// u16 weights.
        weights: Vec<u16>,
        /// Salt used in the commit.
        salt: Vec<u16>,
        /// Version key used in the commit.
        version_key: u64,
    },
    /// Signed by the hotkey: a raw commitment of at most 128 bytes.
    SetCommitment {
        /// Subnet.
        netuid: NetUid,
        /// Bytes, hex.
        #[serde(with = "hex_vec")]
        data: Vec<u8>,
    },
    /// Signed by the coldkey: moves `amount` rao of its balance to stake on `hotkey`.
    AddStake {
        /// Hotkey to stake on.
        hotkey: AccountId,
        /// Subnet.
        netuid: NetUid,
        /// Rao.
        amount: Rao,
    },
    /// Signed by the payer.
    Transfer {
        /// Receiver.
        dest: AccountId,
        /// Rao.
        amount: Rao,
    },
    /// Dev only, signed by the sudo key: creates `amount` rao in `dest`.
    Mint {
        /// Receiver.
        dest: AccountId,
        /// Rao.
        amount: Rao,
    },
    /// Signed by the owner coldkey: creates a subnet whose uid 0 is `hotkey`.
    CreateSubnet {
        /// Owner hotkey.
        hotkey: AccountId,
        /// Its hyperparameters.
        hyperparameters: Hyperparameters,
    },
    /// Signed by the owner coldkey: replaces the subnet's hyperparameters (the real chain splits
    /// this across owner- and root-only admin calls).
    SetHyperparameters {
        /// Subnet.
        netuid: NetUid,
        /// New values.
        hyperparameters: Hyperparameters,
    },
}

impl Call {
    /// Name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::BurnedRegister { .. } => "burned_register",
            Self::ServeAxon { .. } => "serve_axon",
            Self::SetWeights { .. } => "set_weights",
            Self::CommitWeights { .. } => "commit_weights",
            Self::RevealWeights { .. } => "reveal_weights",
            Self::SetCommitment { .. } => "set_commitment",
            Self::AddStake { .. } => "add_stake",
            Self::Transfer { .. } => "transfer",
            Self::Mint { .. } => "mint",
            Self::CreateSubnet { .. } => "create_subnet",
            Self::SetHyperparameters { .. } => "set_hyperparameters",
        }
    }
}

/// What a call returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum CallOutput {
    /// Nothing to return.
    Done,
    /// The uid a registration got.
    Uid(Uid),
    /// The netuid a new subnet got.
    NetUid(NetUid),
}

mod hex_array {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(v)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(text.trim_start_matches("0x")).map_err(D::Error::custom)?;
        bytes
            .try_into()
            .map_err(|b: Vec<u8>| D::Error::custom(format!("expected 32 bytes, got {}", b.len())))
    }
}

mod hex_vec {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(v)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text.trim_start_matches("0x")).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_round_trip_as_json() {
        let calls = [
            Call::CommitWeights {
                netuid: 1,
                commit_hash: [7; 32],
            },
            Call::SetCommitment {
                netuid: 1,
                data: b"hello".to_vec(),
            },
            Call::SetWeights {
                netuid: 2,
                uids: vec![0, 1],
                weights: vec![1, 65535],
                version_key: 3,
            },
        ];
        for call in calls {
            let text = serde_json::to_string(&call).unwrap();
            assert_eq!(serde_json::from_str::<Call>(&text).unwrap(), call, "{text}");
        }
        let bad = r#"{"call":"commit_weights","netuid":1,"commit_hash":"0x0102"}"#;
        assert!(
            serde_json::from_str::<Call>(bad)
                .unwrap_err()
                .to_string()
                .contains("expected 32 bytes")
        );
    }
}
