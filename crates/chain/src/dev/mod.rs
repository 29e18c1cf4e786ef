//! [`DevChain`]: the embedded chain's call/query interface, the same in-process
//! ([`EmbeddedChain`](crate::EmbeddedChain)) and over RPC ([`DevChainClient`](crate::DevChainClient)),
//! with the dev operations a local network needs (create a subnet, mint, stake).
//!
//! The vocabulary, [`Call`] and [`Query`] with their outputs, lives here rather than in the
//! embedded chain: the chain implements this interface and the RPC client speaks it, so both
//! depend on this module and this module on neither.

mod call;
mod query;

use async_trait::async_trait;
use omron_keys::{AccountId, Keypair};

pub use call::{Call, CallOutput};
pub use query::{Query, QueryOutput};

use crate::chain::BlockStream;
use crate::error::{ChainError, ChainResult};
use crate::types::{Hyperparameters, NetUid, Rao, Uid};

/// The error for an answer of the wrong kind (a server of another version).
pub(crate) fn unexpected(what: &str, got: &impl std::fmt::Debug) -> ChainError {
    ChainError::Decode {
        what: what.to_owned(),
        reason: format!("unexpected answer {got:?}"),
    }
}

/// A chain that takes [`Call`]s and answers [`Query`]s: the embedded chain, here or remote.
#[async_trait]
pub trait DevChain: Send + Sync {
    /// Signs (when remote) and applies a call.
    async fn submit_call(&self, signer: &Keypair, call: Call) -> ChainResult<CallOutput>;

    /// Answers a read.
    async fn query(&self, query: Query) -> ChainResult<QueryOutput>;

    /// New heights.
    async fn subscribe(&self) -> ChainResult<BlockStream>;

    /// Creates a subnet owned by `coldkey` with `hotkey` as uid 0; returns the netuid.
    async fn create_subnet(
        &self,
        coldkey: &Keypair,
        hotkey: &AccountId,
        hyperparameters: Hyperparameters,
    ) -> ChainResult<NetUid> {
        match self
            .submit_call(
                coldkey,
                Call::CreateSubnet {
                    hotkey: *hotkey,
                    hyperparameters,
                },
            )
            .await?
        {
            CallOutput::NetUid(n) => Ok(n),
            other => Err(unexpected("create_subnet", &other)),
        }
    }

    /// Replaces a subnet's hyperparameters (owner only).
    async fn set_hyperparameters(
        &self,
        owner: &Keypair,
        netuid: NetUid,
        hyperparameters: Hyperparameters,
    ) -> ChainResult<()> {
        self.submit_call(
            owner,
            Call::SetHyperparameters {
                netuid,
                hyperparameters,
            },
        )
        .await
        .map(|_| ())
    }

    /// Creates rao in `dest` (sudo only).
    async fn mint(&self, sudo: &Keypair, dest: &AccountId, amount: Rao) -> ChainResult<()> {
        self.submit_call(
            sudo,
            Call::Mint {
                dest: *dest,
                amount,
            },
        )
        .await
        .map(|_| ())
    }

    /// Moves rao between accounts.
    async fn transfer(&self, from: &Keypair, dest: &AccountId, amount: Rao) -> ChainResult<()> {
        self.submit_call(
            from,
            Call::Transfer {
                dest: *dest,
                amount,
            },
        )
        .await
        .map(|_| ())
    }

    /// Stakes `amount` rao of the coldkey's balance on a hotkey.
    async fn add_stake(
        &self,
        coldkey: &Keypair,
        hotkey: &AccountId,
        netuid: NetUid,
        amount: Rao,
    ) -> ChainResult<()> {
        self.submit_call(
            coldkey,
            Call::AddStake {
                hotkey: *hotkey,
                netuid,
                amount,
            },
        )
        .await
        .map(|_| ())
    }

    /// Free balance of an account.
    async fn balance(&self, account: &AccountId) -> ChainResult<Rao> {
        match self.query(Query::Balance { account: *account }).await? {
            QueryOutput::Rao(r) => Ok(r),
            other => Err(unexpected("balance", &other)),
        }
    }

    /// Total stake on a hotkey in a subnet.
    async fn stake(&self, netuid: NetUid, hotkey: &AccountId) -> ChainResult<Rao> {
        match self
            .query(Query::Stake {
                netuid,
                hotkey: *hotkey,
            })
            .await?
        {
            QueryOutput::Rao(r) => Ok(r),
            other => Err(unexpected("stake", &other)),
        }
    }

    /// Every subnet's netuid.
    async fn subnets(&self) -> ChainResult<Vec<NetUid>> {
        match self.query(Query::Subnets).await? {
            QueryOutput::Subnets(s) => Ok(s),
            other => Err(unexpected("subnets", &other)),
        }
    }

    /// Registers a hotkey (burn paid by the coldkey); returns its uid.
    async fn register(
        &self,
        coldkey: &Keypair,
        netuid: NetUid,
        hotkey: &AccountId,
    ) -> ChainResult<Uid> {
        match self
            .submit_call(
                coldkey,
                Call::BurnedRegister {
                    netuid,
                    hotkey: *hotkey,
                },
            )
            .await?
        {
            CallOutput::Uid(u) => Ok(u),
            other => Err(unexpected("burned_register", &other)),
        }
    }
}

/// Implements [`Chain`](crate::Chain) for a [`DevChain`] by mapping each method to its call or query.
macro_rules! impl_chain_via_dev {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl $crate::Chain for $ty {
            async fn current_block(&self) -> $crate::ChainResult<$crate::BlockNumber> {
                use $crate::dev::DevChain as _;
                match self.query($crate::dev::Query::Block).await? {
                    $crate::dev::QueryOutput::Block(b) => Ok(b),
                    other => Err($crate::dev::unexpected("block", &other)),
                }
            }

            async fn subscribe_blocks(&self) -> $crate::ChainResult<$crate::BlockStream> {
                $crate::dev::DevChain::subscribe(self).await
            }

            async fn metagraph(
                &self,
                netuid: $crate::NetUid,
            ) -> $crate::ChainResult<$crate::Metagraph> {
                use $crate::dev::DevChain as _;
                match self.query($crate::dev::Query::Metagraph { netuid }).await? {
                    $crate::dev::QueryOutput::Metagraph(m) => Ok(m),
                    other => Err($crate::dev::unexpected("metagraph", &other)),
                }
            }

            async fn hyperparameters(
                &self,
                netuid: $crate::NetUid,
            ) -> $crate::ChainResult<$crate::Hyperparameters> {
                use $crate::dev::DevChain as _;
                match self
                    .query($crate::dev::Query::Hyperparameters { netuid })
                    .await?
                {
                    $crate::dev::QueryOutput::Hyperparameters(h) => Ok(h),
                    other => Err($crate::dev::unexpected("hyperparameters", &other)),
                }
            }

            async fn subnet_owner(
                &self,
                netuid: $crate::NetUid,
            ) -> $crate::ChainResult<$crate::SubnetOwner> {
                use $crate::dev::DevChain as _;
                match self
                    .query($crate::dev::Query::SubnetOwner { netuid })
                    .await?
                {
                    $crate::dev::QueryOutput::SubnetOwner(o) => Ok(o),
                    other => Err($crate::dev::unexpected("subnet owner", &other)),
                }
            }

            async fn uid_of(
                &self,
                netuid: $crate::NetUid,
                hotkey: &omron_keys::AccountId,
            ) -> $crate::ChainResult<Option<$crate::Uid>> {
                use $crate::dev::DevChain as _;
                match self
                    .query($crate::dev::Query::UidOf {
                        netuid,
                        hotkey: *hotkey,
                    })
                    .await?
                {
                    $crate::dev::QueryOutput::Uid(u) => Ok(u),
                    other => Err($crate::dev::unexpected("uid", &other)),
                }
            }

            async fn blocks_until_next_epoch(
                &self,
                netuid: $crate::NetUid,
            ) -> $crate::ChainResult<u64> {
                use $crate::dev::DevChain as _;
                match self
                    .query($crate::dev::Query::BlocksUntilNextEpoch { netuid })
                    .await?
                {
                    $crate::dev::QueryOutput::Blocks(b) => Ok(b),
                    other => Err($crate::dev::unexpected("blocks until next epoch", &other)),
                }
            }

            async fn blocks_since_last_update(
                &self,
                netuid: $crate::NetUid,
                uid: $crate::Uid,
            ) -> $crate::ChainResult<u64> {
                use $crate::dev::DevChain as _;
                match self
                    .query($crate::dev::Query::BlocksSinceLastUpdate { netuid, uid })
                    .await?
                {
                    $crate::dev::QueryOutput::Blocks(b) => Ok(b),
                    other => Err($crate::dev::unexpected("blocks since last update", &other)),
                }
            }

            async fn burned_register(
                &self,
                coldkey: &omron_keys::Keypair,
                netuid: $crate::NetUid,
                hotkey: &omron_keys::AccountId,
            ) -> $crate::ChainResult<$crate::Uid> {
                $crate::dev::DevChain::register(self, coldkey, netuid, hotkey).await
            }

            async fn serve_axon(
                &self,
                hotkey: &omron_keys::Keypair,
                netuid: $crate::NetUid,
                axon: &$crate::ServeAxon,
            ) -> $crate::ChainResult<()> {
                use $crate::dev::DevChain as _;
                let call = $crate::dev::Call::ServeAxon {
                    netuid,
                    axon: *axon,
                };
                self.submit_call(hotkey, call).await.map(|_| ())
            }

            async fn set_weights(
                &self,
                hotkey: &omron_keys::Keypair,
                netuid: $crate::NetUid,
                uids: &[$crate::Uid],
                weights: &[u16],
                version_key: u64,
            ) -> $crate::ChainResult<()> {
                use $crate::dev::DevChain as _;
                let call = $crate::dev::Call::SetWeights {
                    netuid,
                    uids: uids.to_vec(),
                    weights: weights.to_vec(),
                    version_key,
                };
                self.submit_call(hotkey, call).await.map(|_| ())
            }

            async fn commit_weights(
                &self,
                hotkey: &omron_keys::Keypair,
                netuid: $crate::NetUid,
                commit_hash: [u8; 32],
            ) -> $crate::ChainResult<()> {
                use $crate::dev::DevChain as _;
                let call = $crate::dev::Call::CommitWeights {
                    netuid,
                    commit_hash,
                };
                self.submit_call(hotkey, call).await.map(|_| ())
            }

            async fn reveal_weights(
                &self,
                hotkey: &omron_keys::Keypair,
                netuid: $crate::NetUid,
                uids: &[$crate::Uid],
                weights: &[u16],
                salt: &[u16],
                version_key: u64,
            ) -> $crate::ChainResult<()> {
                use $crate::dev::DevChain as _;
                let call = $crate::dev::Call::RevealWeights {
                    netuid,
                    uids: uids.to_vec(),
                    weights: weights.to_vec(),
                    salt: salt.to_vec(),
                    version_key,
                };
                self.submit_call(hotkey, call).await.map(|_| ())
            }

            async fn set_commitment(
                &self,
                hotkey: &omron_keys::Keypair,
                netuid: $crate::NetUid,
                data: &[u8],
            ) -> $crate::ChainResult<()> {
                use $crate::dev::DevChain as _;
                let call = $crate::dev::Call::SetCommitment {
                    netuid,
                    data: data.to_vec(),
                };
                self.submit_call(hotkey, call).await.map(|_| ())
            }

            async fn get_commitment(
                &self,
                netuid: $crate::NetUid,
                hotkey: &omron_keys::AccountId,
            ) -> $crate::ChainResult<Option<$crate::Commitment>> {
                use $crate::dev::DevChain as _;
                match self
                    .query($crate::dev::Query::Commitment {
                        netuid,
                        hotkey: *hotkey,
                    })
                    .await?
                {
                    $crate::dev::QueryOutput::Commitment(c) => Ok(c),
                    other => Err($crate::dev::unexpected("commitment", &other)),
                }
            }
        }
    };
}
pub(crate) use impl_chain_via_dev;
