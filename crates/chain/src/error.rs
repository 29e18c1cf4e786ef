//! What can go wrong talking to a chain: the chain's own dispatch errors, by their real names,
//! and the transport, storage and decoding failures around them.

use serde::{Deserialize, Serialize};

/// Defines [`PalletError`] with its name table in one place, so the name a variant prints is
/// exactly the name the real runtime's metadata carries.
macro_rules! pallet_errors {
    ($($(#[$doc:meta])* $name:ident => $pallet:literal,)*) => {
        /// A dispatch error of the subtensor runtime, named as the runtime names it (the
        /// `SubtensorModule`, `Commitments`, `Balances` and `Sudo` pallets' error enums in the
        /// metadata). Most names exist in every runtime; a few only in older or newer ones (the
        /// variant's doc says which), and a runtime reports the name it has: "no such subnet" is
        /// `SubnetNotExists` on finney and `SubNetworkDoesNotExist` in spec 218.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum PalletError {
            $($(#[$doc])* $name,)*
        }

        impl PalletError {
            /// Every variant, for tables and tests.
            pub const ALL: &'static [PalletError] = &[$(PalletError::$name,)*];

            /// The variant name in the runtime metadata.
            pub fn name(self) -> &'static str {
                match self { $(PalletError::$name => stringify!($name),)* }
            }

            /// The pallet whose error enum holds this variant.
            pub fn pallet(self) -> &'static str {
                match self { $(PalletError::$name => $pallet,)* }
            }

            /// Looks a runtime error up by its variant name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $(stringify!($name) => Some(PalletError::$name),)* _ => None }
            }
        }
    };
}

pallet_errors! {
    /// Weights cannot be set on the root network (netuid 0).
    CanNotSetRootNetworkWeights => "SubtensorModule",
    /// `uids` and `weights` differ in length.
    WeightVecNotEqualSize => "SubtensorModule",
    /// No subnet with this netuid.
    SubnetNotExists => "SubtensorModule",
    /// More uids than the subnet has.
    UidsLengthExceedUidsInSubNet => "SubtensorModule",
    /// The hotkey holds no uid in the subnet.
    HotKeyNotRegisteredInSubNet => "SubtensorModule",
    /// The hotkey holds no uid in the subnet (the name `serve_axon` reports).
    HotKeyNotRegisteredInNetwork => "SubtensorModule",
    /// Stake below the subnet's stake threshold.
    NotEnoughStakeToSetWeights => "SubtensorModule",
    /// `version_key` below the subnet's weights version.
    IncorrectWeightVersionKey => "SubtensorModule",
    /// Fewer than `weights_rate_limit` blocks since the last weight set.
    SettingWeightsTooFast => "SubtensorModule",
    /// The neuron holds no validator permit.
    NeuronNoValidatorPermit => "SubtensorModule",
    /// A uid appears twice.
    DuplicateUids => "SubtensorModule",
    /// A uid does not exist in the subnet.
    UidVecContainInvalidOne => "SubtensorModule",
    /// Fewer weights than `min_allowed_weights`.
    WeightVecLengthIsLow => "SubtensorModule",
    /// A weight above `max_weight_limit` after max-upscaling.
    MaxWeightExceeded => "SubtensorModule",
    /// `set_weights` while commit-reveal is on.
    CommitRevealEnabled => "SubtensorModule",
    /// Commit or reveal while commit-reveal is off.
    CommitRevealDisabled => "SubtensorModule",
    /// Commits come faster than the weights rate limit.
    CommittingWeightsTooFast => "SubtensorModule",
    /// More than 10 unrevealed commits.
    TooManyUnrevealedCommits => "SubtensorModule",
    /// No commit to reveal.
    NoWeightsCommitFound => "SubtensorModule",
    /// The revealed weights hash to no pending commit.
    InvalidRevealCommitHashNotMatch => "SubtensorModule",
    /// The reveal window of the commit has passed.
    ExpiredWeightCommit => "SubtensorModule",
    /// The reveal window of the commit has not opened yet.
    RevealTooEarly => "SubtensorModule",
    /// `uids`, `values` have different lengths in a reveal.
    InputLengthsUnequal => "SubtensorModule",
    /// `ip_type` is neither 4 nor 6.
    InvalidIpType => "SubtensorModule",
    /// A reserved address (0x7f000001, ::1, out of range).
    InvalidIpAddress => "SubtensorModule",
    /// Port 0.
    InvalidPort => "SubtensorModule",
    /// Fewer than `serving_rate_limit` blocks since the last serve.
    ServingRateLimitExceeded => "SubtensorModule",
    /// The coldkey cannot pay the burn or the stake.
    NotEnoughBalanceToStake => "SubtensorModule",
    /// The hotkey already holds a uid in the subnet.
    HotKeyAlreadyRegisteredInSubNet => "SubtensorModule",
    /// Registration is closed on the subnet.
    SubNetRegistrationDisabled => "SubtensorModule",
    /// The hotkey belongs to another coldkey.
    NonAssociatedColdKey => "SubtensorModule",
    /// The subnet is full and every neuron is immune.
    NoNeuronIdAvailable => "SubtensorModule",
    /// The hotkey has never been registered anywhere.
    HotKeyAccountNotExists => "SubtensorModule",
    /// A zero or too small amount.
    AmountTooLow => "SubtensorModule",
    /// The signer is not the subnet owner.
    NotSubnetOwner => "SubtensorModule",
    /// The network registration rate limit.
    NetworkTxRateLimitExceeded => "SubtensorModule",
    /// No subnet with this netuid (the older runtimes' name, spec 218; finney says
    /// `SubnetNotExists`).
    SubNetworkDoesNotExist => "SubtensorModule",
    /// More registrations in this block than the subnet's `MaxRegistrationsPerBlock`.
    TooManyRegistrationsThisBlock => "SubtensorModule",
    /// More registrations in this interval than the subnet allows.
    TooManyRegistrationsThisInterval => "SubtensorModule",
    /// `register_network` with a mechanism id the runtime does not offer.
    MechanismDoesNotExist => "SubtensorModule",
    /// A coldkey without enough stake on the hotkey (remove or move stake).
    NotEnoughStake => "SubtensorModule",
    /// The hotkey is owned by another coldkey (older runtimes; `NonAssociatedColdKey` on finney).
    HotKeyNotDelegateAndSignerNotOwnHotKey => "SubtensorModule",
    /// A commitment with more fields than allowed.
    TooManyFieldsInCommitmentInfo => "Commitments",
    /// The account may not commit on this subnet (not registered).
    AccountNotAllowedCommit => "Commitments",
    /// A second commitment within the runtime's commitment rate limit (100 blocks in spec 218;
    /// finney has no such limit).
    CommitmentSetRateLimitExceeded => "Commitments",
    /// A `Sudo` call from an account that is not the sudo key.
    RequireSudo => "Sudo",
    /// The sender cannot pay a transfer.
    InsufficientBalance => "Balances",
}

impl std::fmt::Display for PalletError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}::{}", self.pallet(), self.name())
    }
}

/// Errors from any [`Chain`](crate::Chain) implementation.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The chain refused the call with one of its dispatch errors.
    #[error("chain refused the call: {error} ({detail})")]
    Rejected {
        /// The runtime's error.
        error: PalletError,
        /// What the chain saw (numbers: block, limits, lengths).
        detail: String,
    },
    /// The real runtime returned a dispatch error this crate has no variant for.
    #[error("chain refused the call: {pallet}::{name}")]
    OtherDispatch {
        /// Pallet name from the metadata.
        pallet: String,
        /// Error variant name from the metadata.
        name: String,
    },
    /// A signed request whose signature or nonce the dev chain refuses.
    #[error("bad signature or nonce from {signer}: {reason}")]
    BadOrigin {
        /// The claimed signer (ss58).
        signer: String,
        /// Why it was refused.
        reason: String,
    },
    /// An argument the chain cannot even encode (too long, out of range).
    #[error("invalid argument `{what}`: {reason}")]
    InvalidArgument {
        /// The argument.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A subnet or neuron that does not exist where a read expected one.
    #[error("not found: {0}")]
    NotFound(String),
    /// The chain could not be reached, or the connection broke.
    #[error("transport to {endpoint} failed: {reason}")]
    Transport {
        /// The URL.
        endpoint: String,
        /// What the transport said.
        reason: String,
    },
    /// Bytes from the chain did not decode as expected.
    #[error("could not decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// The decoder's complaint.
        reason: String,
    },
    /// The runtime metadata lacks something this client needs.
    #[error("runtime metadata: {0}")]
    Metadata(String),
    /// The embedded chain's SQLite store failed.
    #[error("chain state store: {0}")]
    Storage(#[from] rusqlite::Error),
    /// The embedded chain's state store has a schema this version does not know.
    #[error("chain state at {path} has schema version {found}, this build reads {expected}")]
    SchemaVersion {
        /// The database.
        path: String,
        /// The version this build writes.
        expected: i64,
        /// The version found.
        found: i64,
    },
    /// A submitted transaction did not make it into a block in time.
    #[error("transaction not included: {0}")]
    NotIncluded(String),
    /// The node refused the transaction before dispatch (transaction validity: a bad nonce or
    /// signature, fees it cannot pay, or one of the runtime's own checks in its transaction
    /// extensions, reported as a numbered `Custom` code that the metadata does not name).
    #[error("transaction refused by the node before dispatch: {reason}")]
    InvalidTransaction {
        /// The node's message (`Custom error: 5`, `Inability to pay some fees`, ...).
        reason: String,
        /// The runtime's `InvalidTransaction::Custom` code, when it is one.
        custom: Option<u8>,
    },
    /// The runtime lacks a call, storage entry or runtime API this operation needs, named
    /// `Pallet.item` (a runtime older or newer than the operation).
    #[error("this runtime has no {0}")]
    Unsupported(String),
}

impl ChainError {
    /// Builds a [`ChainError::Rejected`].
    pub fn rejected(error: PalletError, detail: impl Into<String>) -> Self {
        Self::Rejected {
            error,
            detail: detail.into(),
        }
    }

    /// The runtime error name when the chain refused the call (`"SettingWeightsTooFast"`, ...).
    pub fn dispatch_name(&self) -> Option<&str> {
        match self {
            Self::Rejected { error, .. } => Some(error.name()),
            Self::OtherDispatch { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The typed runtime error, when it is one this crate names.
    pub fn pallet_error(&self) -> Option<PalletError> {
        match self {
            Self::Rejected { error, .. } => Some(*error),
            _ => None,
        }
    }
}

/// Result alias for chain calls.
pub type ChainResult<T> = Result<T, ChainError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in PalletError::ALL {
            assert_eq!(PalletError::from_name(e.name()), Some(*e));
        }
        assert_eq!(PalletError::from_name("NoSuchError"), None);
        let err = ChainError::rejected(
            PalletError::SettingWeightsTooFast,
            "last 3, now 5, limit 100",
        );
        assert_eq!(err.dispatch_name(), Some("SettingWeightsTooFast"));
        assert!(
            err.to_string()
                .contains("SubtensorModule::SettingWeightsTooFast"),
            "{err}"
        );
    }
}
