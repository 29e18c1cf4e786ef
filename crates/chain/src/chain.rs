//! The [`Chain`] trait: everything a miner or validator asks of the subtensor chain.

use async_trait::async_trait;
use futures::stream::BoxStream;
use omron_keys::{AccountId, Keypair};

use crate::error::{ChainError, ChainResult};
use crate::types::{
    BlockNumber, CommitRevealMode, Commitment, ConnectionHealth, Hyperparameters, Metagraph,
    NetUid, ServeAxon, SubnetOwner, TimelockReceipt, Uid,
};

/// New block heights, in order; an item is an error when the connection broke (the stream then
/// ends, and the caller subscribes again).
pub type BlockStream = BoxStream<'static, ChainResult<BlockNumber>>;

/// A subtensor chain as a subnet sees it. Implemented by the embedded chain
/// ([`EmbeddedChain`](crate::EmbeddedChain)), its RPC client ([`DevChainClient`](crate::DevChainClient))
/// and the real-network client ([`SubtensorClient`](crate::SubtensorClient)).
///
/// Calls that change state take the signing key: the *hotkey* for `serve_axon`, weights and
/// commitments, the *coldkey* for `burned_register` (it pays the burn). They return once the
/// call is in a block, or with the chain's error ([`ChainError::Rejected`](crate::ChainError)).
#[async_trait]
pub trait Chain: Send + Sync {
    /// The current (best) block height.
    async fn current_block(&self) -> ChainResult<BlockNumber>;

    /// A stream of new block heights from now on.
    async fn subscribe_blocks(&self) -> ChainResult<BlockStream>;

    /// All neurons of a subnet.
    async fn metagraph(&self, netuid: NetUid) -> ChainResult<Metagraph>;

    /// The subnet's hyperparameters.
    async fn hyperparameters(&self, netuid: NetUid) -> ChainResult<Hyperparameters>;

    /// The subnet's owner keys.
    async fn subnet_owner(&self, netuid: NetUid) -> ChainResult<SubnetOwner>;

    /// The uid a hotkey holds in a subnet, if registered.
    async fn uid_of(&self, netuid: NetUid, hotkey: &AccountId) -> ChainResult<Option<Uid>>;

    /// Blocks until the subnet's next epoch, as the chain schedules it (0: this block).
    async fn blocks_until_next_epoch(&self, netuid: NetUid) -> ChainResult<u64>;

    /// Blocks since the uid last set (or committed) weights, or registered.
    async fn blocks_since_last_update(&self, netuid: NetUid, uid: Uid) -> ChainResult<u64>;

    /// Registers `hotkey` in the subnet, paying the burn from `coldkey`; returns the uid.
    async fn burned_register(
        &self,
        coldkey: &Keypair,
        netuid: NetUid,
        hotkey: &AccountId,
    ) -> ChainResult<Uid>;

    /// Publishes the hotkey's axon address.
    async fn serve_axon(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        axon: &ServeAxon,
    ) -> ChainResult<()>;

    /// Sets weights (u16 values, already max-upscaled or not: the chain normalises).
    async fn set_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        uids: &[Uid],
        weights: &[u16],
        version_key: u64,
    ) -> ChainResult<()>;

    /// Commits to weights by hash (CRv2, see [`weights_commit_hash`](crate::weights_commit_hash)).
    async fn commit_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        commit_hash: [u8; 32],
    ) -> ChainResult<()>;

    /// Reveals previously committed weights.
    async fn reveal_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        uids: &[Uid],
        weights: &[u16],
        salt: &[u16],
        version_key: u64,
    ) -> ChainResult<()>;

    /// How the connection to the chain has fared (forced reconnects, stalls); `None` for a chain
    /// without a connection to watch (the embedded chain, its loopback RPC client).
    fn connection_health(&self) -> Option<ConnectionHealth> {
        None
    }

    /// How the subnet takes weights now: off (`set_weights`), CRv2 (`commit_weights` then
    /// `reveal_weights`) or timelocked (`commit_timelocked_weights`; the chain reveals).
    ///
    /// The default reads the hyperparameters and answers off or CRv2: the embedded chain and
    /// its RPC client have no timelocked commits. [`SubtensorClient`](crate::SubtensorClient)
    /// reads the runtime's commit-reveal version and the calls its metadata offers.
    async fn commit_reveal_mode(&self, netuid: NetUid) -> ChainResult<CommitRevealMode> {
        Ok(CommitRevealMode::from_hyperparameters(
            &self.hyperparameters(netuid).await?,
        ))
    }

    /// Commits to weights with a timelocked commit (CRv3/CRv4): the payload is encrypted to the
    /// drand quicknet round that follows the subnet's reveal period and submitted with the
    /// commit call the runtime offers for its version. The chain decrypts and sets the weights
    /// by itself once that round's pulse is on chain; there is nothing to reveal.
    ///
    /// The default (the embedded chain, its RPC client) answers
    /// [`ChainError::Unsupported`].
    async fn commit_timelocked_weights(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        uids: &[Uid],
        weights: &[u16],
        version_key: u64,
    ) -> ChainResult<TimelockReceipt> {
        let _ = (hotkey, netuid, uids, weights, version_key);
        Err(ChainError::Unsupported(
            "SubtensorModule.commit_timelocked_weights".into(),
        ))
    }

    /// Publishes up to 128 raw bytes under the hotkey (the `Commitments` pallet).
    async fn set_commitment(
        &self,
        hotkey: &Keypair,
        netuid: NetUid,
        data: &[u8],
    ) -> ChainResult<()>;

    /// Reads a hotkey's commitment.
    async fn get_commitment(
        &self,
        netuid: NetUid,
        hotkey: &AccountId,
    ) -> ChainResult<Option<Commitment>>;
}
