//! `omron_client.Client`: one signed, certificate-pinned WebSocket connection to a validator's
//! external API, with its own tokio runtime (current-thread), and every answer re-verified with
//! the circuit's files before it is returned.
//!
//! Calls on one client run one at a time (a second thread waits for the first); use one
//! client per thread for parallel requests. The GIL is released while a call waits. A
//! connection that broke is reopened, with freshly signed headers, by the next call; a call is
//! never retried on its own, since the validator may already be working on it.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use omron_api::rpc::{PROOF_OF_COMPUTATION, PROOF_OF_WEIGHTS};
use omron_api::verify::read_app_input;
use omron_api::{
    ApiClient, ClientError, InferenceResult, Pin, ProofOfComputationParams, ProofOfWeightsParams,
    VerifiedAnswer,
};
use omron_keys::Keypair;
use pyo3::prelude::*;
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use crate::circuit::Files;
use crate::convert::{to_json, to_py};
use crate::error::Error;
use crate::keys;
use crate::verify::{check_request, check_weights_circuit};

/// A client of one validator's external API.
///
/// `Client(url, cert_sha256, key_uri=None, mnemonic=None, netuid=None, timeout=120.0)`:
/// `url` is `wss://HOST:PORT` (path `/rpc` by default); `cert_sha256` the SHA-256 fingerprint
/// of the validator's certificate (64 hex digits, as committed on chain), the only certificate
/// trusted (`None` only for a `ws://` URL, a validator behind a TLS proxy on its host); the
/// requests are signed with the key of `key_uri` (`//Alice`, `PHRASE//path`,
/// `0x<seed>`) or `mnemonic`, which the validator must allow (whitelisted, or a validator
/// permit on `netuid`, sent as `x-netuid`). `timeout` (seconds) bounds the connection and
/// each call. Connects at once: a wrong pin or a refused key raises `OmronError` here.
#[pyclass(module = "omron_client", frozen)]
pub(crate) struct Client {
    /// The open connection, if any. Declared before `runtime` so it is dropped first.
    conn: Mutex<Option<ApiClient>>,
    runtime: Runtime,
    url: String,
    pin: Pin,
    key: Keypair,
    netuid: Option<u16>,
    timeout: Duration,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (url, cert_sha256, key_uri=None, mnemonic=None, netuid=None, timeout=120.0))]
    fn new(
        py: Python<'_>,
        url: String,
        cert_sha256: Option<&str>,
        key_uri: Option<&str>,
        mnemonic: Option<&str>,
        netuid: Option<u16>,
        timeout: f64,
    ) -> PyResult<Self> {
        let pin = match cert_sha256 {
            Some(fp) => Pin::sha256(fp).map_err(Error::from)?,
            None => Pin::Plain,
        };
        let key = keys::caller(key_uri, mnemonic)?;
        let timeout = Duration::try_from_secs_f64(timeout)
            .ok()
            .filter(|t| !t.is_zero())
            .ok_or_else(|| {
                Error::Input(format!(
                    "timeout must be a positive number of seconds, not {timeout}"
                ))
            })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Input(format!("cannot start the tokio runtime: {e}")))?;
        let client = Self {
            conn: Mutex::new(None),
            runtime,
            url,
            pin,
            key,
            netuid,
            timeout,
        };
        py.detach(|| {
            let mut conn = client.lock();
            client.connection(&mut conn).map(|_| ())
        })?;
        Ok(client)
    }

    /// Asks the validator to have `input` proven by the circuit `circuit` (its name, id or
    /// folder name; the request names it by id) and re-verifies the answer with the circuit's
    /// files before returning it.
    ///
    /// `input` is `{"input_data": [[...]]}`, optionally with `"nonce"` (8-64 bytes of hex) to
    /// bind the proof to the app's own nonce. `circuit_dir` is the circuit's folder, or a
    /// folder of circuit folders holding it. Returns `{"output", "proof", "receipt",
    /// "miner_uid", "miner_hotkey", "circuit_id", "circuit_name", "hash", "input", "nonce",
    /// "validator", "attempts"}`, where `input` is the exact input proven (keep it with the
    /// proof and receipt to check them again later with `verify_receipt`).
    #[pyo3(signature = (circuit, input, circuit_dir))]
    fn prove<'py>(
        &self,
        py: Python<'py>,
        circuit: &str,
        input: &Bound<'py, PyAny>,
        circuit_dir: PathBuf,
    ) -> PyResult<Bound<'py, PyAny>> {
        let input = to_json(input, "input")?;
        let circuit = circuit.to_owned();
        let answer = py.detach(|| -> Result<Value, Error> {
            let files = Files::open(&circuit_dir)?;
            let c = files.named(&circuit)?;
            if c.is_proof_of_weights() {
                return Err(Error::Input(format!(
                    "'{}' is a proof-of-weights circuit: use prove_weights",
                    c.metadata.name
                )));
            }
            // The same reading the answer is checked with, so a malformed input fails here.
            read_app_input(&input).map_err(Error::Input)?;
            // The id, whatever the caller named: the validator proves exactly the circuit whose
            // files check the answer.
            let params = serde_json::to_value(ProofOfComputationParams {
                circuit: c.id(),
                input,
            })
            .map_err(|e| Error::Input(e.to_string()))?;
            let result = self.call(PROOF_OF_COMPUTATION, params.clone())?;
            let verified = check_request(c, PROOF_OF_COMPUTATION, params, &result)?;
            Ok(answer_json(result, &verified))
        })?;
        to_py(py, &answer)
    }

    /// Asks the validator to have a scoring batch (`evaluation_data`, in the scoring circuit's
    /// input format) proven by the proof-of-weights circuit of the client's `netuid` (and
    /// `weights_version`, if given), and re-verifies the answer with the circuit's files.
    /// `circuit_dir` is the scoring circuit's folder, or a folder of circuit folders (the
    /// validator picks the circuit; the answer's is found there by its id). Returns the same
    /// dict as `prove`.
    #[pyo3(signature = (evaluation_data, circuit_dir, weights_version=None))]
    fn prove_weights<'py>(
        &self,
        py: Python<'py>,
        evaluation_data: &Bound<'py, PyAny>,
        circuit_dir: PathBuf,
        weights_version: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let evaluation_data = to_json(evaluation_data, "evaluation_data")?;
        let answer = py.detach(|| -> Result<Value, Error> {
            let files = Files::open(&circuit_dir)?;
            if let Files::One(c) = &files {
                check_weights_circuit(c, weights_version)?;
            }
            files.scoring(weights_version)?;
            let params = serde_json::to_value(ProofOfWeightsParams {
                evaluation_data,
                weights_version,
            })
            .map_err(|e| Error::Input(e.to_string()))?;
            let result = self.call(PROOF_OF_WEIGHTS, params.clone())?;
            let c = files.answering(&result.circuit_id)?;
            let verified = check_request(c, PROOF_OF_WEIGHTS, params, &result)?;
            Ok(answer_json(result, &verified))
        })?;
        to_py(py, &answer)
    }

    /// The validator's circuits (`GET /circuits`): a list of dicts with `id`, `name`, `type`,
    /// `input_schema`, `timeout`, `measured_prove_ms`, ...
    fn circuits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let list = py.detach(|| -> Result<Value, Error> {
            let get = omron_api::client::get_json(&self.url, &self.pin, "/circuits");
            Ok(self
                .runtime
                .block_on(async { tokio::time::timeout(self.timeout, get).await })
                .map_err(|_| ClientError::Timeout(self.timeout))??)
        })?;
        to_py(py, &list)
    }

    /// Closes the connection (a later call opens a new one).
    fn close(&self, py: Python<'_>) {
        py.detach(|| {
            let conn = self.lock().take();
            if let Some(conn) = conn {
                let _ = self.runtime.block_on(async {
                    tokio::time::timeout(Duration::from_secs(2), conn.close()).await
                });
            }
        });
    }

    /// The caller's hotkey (ss58) that signs the requests.
    #[getter]
    fn hotkey(&self) -> String {
        self.key.public().to_ss58()
    }

    /// The validator's URL.
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close(py);
    }

    fn __repr__(&self) -> String {
        format!("Client(url={:?}, hotkey={:?})", self.url, self.hotkey())
    }
}

impl Client {
    fn lock(&self) -> MutexGuard<'_, Option<ApiClient>> {
        // A panic while holding the lock leaves at worst a half-used connection, which the next
        // transport error replaces.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The open connection, opened (with freshly signed headers) if there is none.
    fn connection<'a>(&self, slot: &'a mut Option<ApiClient>) -> Result<&'a mut ApiClient, Error> {
        if slot.is_none() {
            let connect = ApiClient::connect(&self.url, &self.pin, &self.key, self.netuid);
            let conn = self
                .runtime
                .block_on(async { tokio::time::timeout(self.timeout, connect).await })
                .map_err(|_| ClientError::Timeout(self.timeout))??;
            *slot = Some(conn);
        }
        slot.as_mut()
            .ok_or_else(|| Error::Input("no connection".into()))
    }

    /// Calls `method` and reads its result as an answer; drops a connection that broke.
    fn call(&self, method: &str, params: Value) -> Result<InferenceResult, Error> {
        let mut slot = self.lock();
        let conn = self.connection(&mut slot)?;
        let outcome = self
            .runtime
            .block_on(conn.call(method, params, self.timeout))
            .map_err(Error::from)
            .and_then(|value| {
                serde_json::from_value::<InferenceResult>(value).map_err(|e| {
                    Error::Client(ClientError::Protocol(format!(
                        "the result of {method} is not an answer: {e}"
                    )))
                })
            });
        if let Err(e) = &outcome
            && e.breaks_connection()
        {
            *slot = None;
        }
        outcome
    }
}

/// The dict `prove` and `prove_weights` return.
fn answer_json(result: InferenceResult, verified: &VerifiedAnswer) -> Value {
    json!({
        "output": verified.output,
        "proof": result.proof,
        "receipt": result.receipt,
        "miner_uid": result.miner_uid,
        "miner_hotkey": result.miner_hotkey,
        "circuit_id": result.circuit_id,
        "circuit_name": result.circuit_name,
        "hash": result.hash,
        "input": result.context.input,
        "nonce": result.context.nonce,
        "validator": verified.validator.to_ss58(),
        "attempts": result.attempts,
    })
}
