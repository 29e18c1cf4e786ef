//! sr25519 keys, signatures and ss58 addresses exactly as Bittensor (substrate, btwallet) uses them.
//!
//! Owns: [`AccountId`] (a public key, shown as an ss58 address with prefix 42), [`Signature`]
//! (64-byte sr25519, shown as `0x` hex), [`Keypair`] (mini-secret seeds, BIP-39 mnemonics the way
//! substrate-bip39 turns them into seeds, `//Alice`-style derivation URIs) and [`KeyError`].
//! Signing always uses the `substrate` signing context.
//!
//! Must not depend on: networking, async runtimes, files or any other omron crate. Wallet files
//! and their encryption live in `omron-bittensor`.

mod account;
mod derive;
mod error;
mod keypair;
mod mnemonic;
mod signature;

pub use account::{AccountId, SS58_PREFIX};
pub use error::KeyError;
pub use keypair::Keypair;
pub use mnemonic::{DEV_PHRASE, mini_secret_from_mnemonic};
pub use signature::Signature;

/// The schnorrkel signing context substrate (and therefore Bittensor) signs under.
pub const SIGNING_CONTEXT: &[u8] = b"substrate";
