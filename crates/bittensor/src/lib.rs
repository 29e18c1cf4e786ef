//! Bittensor wallets and the axon/dendrite wire protocol, byte-compatible with the Python SDK
//! (bittensor <= 10.x) and with its successor btauth/1 (bittensor 11).
//!
//! * [`wallet`]: the SDK's wallet layout and keyfiles (plain and `$NACL`-encrypted), password
//!   environment variables, 0600 files.
//! * [`synapse`]: the [`synapse::Synapse`] trait a subnet's message types implement, the SDK's
//!   base fields ([`synapse::SynapseBase`], [`synapse::TerminalInfo`]) and [`synapse::Envelope`].
//! * [`axon`]: the server (typed handlers, blacklist and priority hooks, verified caller).
//! * [`dendrite`]: the client (signing, SDK merge rules, concurrent queries, a cap on each
//!   answer and an optional budget of answer bytes shared by many dendrites).
//! * [`legacy`] and [`btauth`]: the two request-signing schemes.
//! * [`json`] and [`body_hash`]: JSON as Python sees it, and the `computed_body_hash` over
//!   Python `str()` of the hashed fields.
//! * [`headers`], [`ids`]: header names and codecs, UUIDs and clocks.
//! * [`guard`]: connection caps and idle/lifetime timeouts for the nodes' HTTP servers.
//! * [`process`]: the process's memory, CPU time and file descriptors under the standard
//!   `process_*` metric names, for the nodes' exporters.
//!
//! Keys and addresses come from `omron-keys`. Must not depend on: the chain, the proof engine,
//! the subnet's synapses (`omron-protocol` depends on this crate) or any node crate.

pub mod axon;
pub mod body_hash;
pub mod btauth;
pub mod dendrite;
pub mod guard;
pub mod headers;
pub mod ids;
pub mod json;
pub mod legacy;
pub mod process;
pub mod synapse;
pub mod wallet;
