//! Integration tests of the validator crate, one binary:
//! * `store`: the SQLite store across close and reopen, its bounds and its errors;
//! * `miners`: minimal real miners for the node tests (our axon, real proofs, and the faulty
//!   and slow variants);
//! * `node`: the validator node against the embedded chain and those miners;
//! * `external`: the external API end to end: apps over TLS WebSocket, refusals, receipts;
//! * `dashboard`: the dashboard's JSON endpoints against a running node and a real store;
//! * `dashboard_external`: the dashboard's list of recent external requests (`GET /external`);
//! * `hostile`, `hostile_miners`: miners that cheat or break HTTP, and the node against them;
//! * `pow_benchmark`: proof-of-weights benchmark requests to miners, honest and cheating.

// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dashboard;
mod dashboard_external;
mod external;
mod hostile;
mod hostile_miners;
mod miners;
mod node;
mod pow_benchmark;
mod store;
