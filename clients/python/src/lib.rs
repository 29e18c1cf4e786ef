//! `omron_client._native`: the omron-rs API client and proof verifier as a Python extension
//! (PyO3), re-exported by the pure-Python package `omron_client` (`python/omron_client/`).
//!
//! Everything runs in-process: proofs are verified with `omron-circuit` and `omron-api` (the
//! same code a validator runs), requests go over `omron-api`'s pinned WebSocket client on a
//! tokio runtime owned by each [`client::Client`]. The GIL is released while proving,
//! verifying or waiting on the network.
//!
//! * [`verify`]: `verify`, `verify_answer`, `verify_receipt`: checks with the circuit's files;
//! * [`local`]: `sample_input`, `prove_locally`, `make_answer`: offline inputs, proving and
//!   signing, for trials and tests;
//! * [`client`]: `Client`, the API client that re-verifies every answer;
//! * [`error`]: `OmronError`, the one exception;
//! * [`circuit`]: `circuit_info`, and circuit folders and proofs as arguments;
//! * [`keys`]: `ss58_address`, and keys as arguments;
//! * [`convert`]: JSON values from and to Python.
//!
//! Depends on `omron-api`, `omron-circuit` and `omron-keys` only: nothing of the nodes.

mod circuit;
mod client;
mod convert;
mod error;
mod keys;
mod local;
mod verify;

use pyo3::prelude::*;

/// The native half of `omron_client`: import `omron_client`, not this module.
#[pymodule]
mod _native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::circuit::circuit_info;
    #[pymodule_export]
    use super::client::Client;
    #[pymodule_export]
    use super::error::OmronError;
    #[pymodule_export]
    use super::keys::ss58_address;
    #[pymodule_export]
    use super::local::make_answer;
    #[pymodule_export]
    use super::local::prove_locally;
    #[pymodule_export]
    use super::local::sample_input;
    #[pymodule_export]
    use super::verify::verify;
    #[pymodule_export]
    use super::verify::verify_answer;
    #[pymodule_export]
    use super::verify::verify_receipt;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add("PROOF_OF_COMPUTATION", omron_api::rpc::PROOF_OF_COMPUTATION)?;
        m.add("PROOF_OF_WEIGHTS", omron_api::rpc::PROOF_OF_WEIGHTS)?;
        Ok(())
    }
}
