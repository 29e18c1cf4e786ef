//! Read-only questions to the embedded chain, shared by the in-process API and the RPC.

use omron_keys::AccountId;
use serde::{Deserialize, Serialize};

use crate::types::{
    BlockNumber, Commitment, Hyperparameters, Metagraph, NetUid, Rao, SubnetOwner, Uid,
};

/// A read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "query", rename_all = "snake_case", deny_unknown_fields)]
pub enum Query {
    /// Current height.
    Block,
    /// The chain's genesis hash (part of every signed message).
    Genesis,
    /// Every subnet's netuid.
    Subnets,
    /// A subnet's metagraph.
    Metagraph {
        /// Subnet.
        netuid: NetUid,
    },
    /// A subnet's hyperparameters.
    Hyperparameters {
        /// Subnet.
        netuid: NetUid,
    },
    /// A subnet's owner.
    SubnetOwner {
        /// Subnet.
        netuid: NetUid,
    },
    /// The uid of a hotkey.
    UidOf {
        /// Subnet.
        netuid: NetUid,
        /// Hotkey.
        hotkey: AccountId,
    },
    /// Blocks until the subnet's next epoch.
    BlocksUntilNextEpoch {
        /// Subnet.
        netuid: NetUid,
    },
    /// Blocks since a uid's last update.
    BlocksSinceLastUpdate {
        /// Subnet.
        netuid: NetUid,
        /// Uid.
        uid: Uid,
    },
    /// A hotkey's commitment.
    Commitment {
        /// Subnet.
        netuid: NetUid,
        /// Hotkey.
        hotkey: AccountId,
    },
    /// Free balance of an account.
    Balance {
        /// Account.
        account: AccountId,
    },
    /// Total stake on a hotkey in a subnet.
    Stake {
        /// Subnet.
        netuid: NetUid,
        /// Hotkey.
        hotkey: AccountId,
    },
    /// The last nonce an account used in a signed request.
    Nonce {
        /// Account.
        account: AccountId,
    },
}

/// The answer to a [`Query`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum QueryOutput {
    /// A height.
    Block(BlockNumber),
    /// 32 bytes, hex.
    Genesis(String),
    /// Netuids.
    Subnets(Vec<NetUid>),
    /// A metagraph.
    Metagraph(Metagraph),
    /// Hyperparameters.
    Hyperparameters(Hyperparameters),
    /// Owner.
    SubnetOwner(SubnetOwner),
    /// A uid, if any.
    Uid(Option<Uid>),
    /// A count of blocks.
    Blocks(u64),
    /// A commitment, if any.
    Commitment(Option<Commitment>),
    /// Rao.
    Rao(Rao),
    /// A nonce.
    Nonce(u64),
}
