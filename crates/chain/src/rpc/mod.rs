//! The embedded chain over loopback HTTP, so miners and validators in other processes share one
//! chain: JSON requests, every state-changing call signed by its sr25519 key.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /v1/query` | a [`Query`](crate::Query) | a [`QueryOutput`](crate::QueryOutput) |
//! | `POST /v1/submit` | a [`SignedCall`] | a [`CallOutput`](crate::CallOutput) |
//! | `GET /v1/blocks/next?after=N` | | `{"block": M}` once `M > N` (long poll, at most 20 s) |
//! | `GET /health` | | `ok` |
//!
//! Errors are `{"kind": ..., "name": ..., "detail": ...}` with a fixed status per kind
//! ([`WireError`]).

mod client;
mod server;
mod wire;

pub use client::DevChainClient;
pub use server::{RpcServer, serve_rpc};
pub use wire::{MAX_REQUEST_BYTES, SignedCall, WireError, WireErrorKind, signing_payload};
