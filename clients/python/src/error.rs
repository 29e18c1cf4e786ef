//! The one error type of the extension and its Python face, `omron_client.OmronError`.
//!
//! Every failure (a bad argument, an unreadable circuit folder, a refused connection, a
//! JSON-RPC error, a proof or receipt that does not hold) raises `OmronError` with a message
//! naming the thing, and attributes for programs:
//!
//! * `kind`: a short word, one per variant of [`Error`] (`"input"`, `"circuit"`, `"key"`,
//!   `"prove"`, `"mismatch"`, `"malformed"`, `"receipt"`, `"proof"`, `"url"`, `"connect"`,
//!   `"refused"`, `"transport"`, `"rpc"`, `"protocol"`, `"timeout"`);
//! * `code`: the JSON-RPC error code for `kind == "rpc"`, else `None`;
//! * `status`: the HTTP status for `kind == "refused"`, else `None`;
//! * `data`: the JSON-RPC error's `data` (e.g. each failed attempt), else `None`.

use omron_api::{AnswerError, ClientError};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use crate::convert;

pyo3::create_exception!(
    omron_client,
    OmronError,
    PyException,
    "Any failure of omron_client: see `kind`, `code`, `status` and `data`."
);

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// An argument from Python is unusable.
    #[error("{0}")]
    Input(String),
    /// A circuit folder cannot be read.
    #[error("cannot load the circuit in {path}: {reason}")]
    Circuit {
        /// The folder.
        path: String,
        /// Why.
        reason: String,
    },
    /// The key (URI or mnemonic) is unusable.
    #[error("bad key: {0}")]
    Key(String),
    /// The local prover failed.
    #[error("proving failed: {0}")]
    Prove(String),
    /// An answer or receipt did not pass the local check.
    #[error(transparent)]
    Answer(#[from] AnswerError),
    /// Talking to the validator failed.
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl Error {
    /// The `kind` attribute.
    fn kind(&self) -> &'static str {
        match self {
            Error::Input(_) => "input",
            Error::Circuit { .. } => "circuit",
            Error::Key(_) => "key",
            Error::Prove(_) => "prove",
            Error::Answer(a) => match a {
                AnswerError::Mismatch(_) => "mismatch",
                AnswerError::Malformed(_) => "malformed",
                AnswerError::Receipt(_) => "receipt",
                AnswerError::Proof(_) => "proof",
            },
            Error::Client(c) => match c {
                ClientError::Url(_) => "url",
                ClientError::Connect { .. } => "connect",
                ClientError::Refused { .. } => "refused",
                ClientError::Transport(_) => "transport",
                ClientError::Rpc(_) => "rpc",
                ClientError::Protocol(_) => "protocol",
                ClientError::Timeout(_) => "timeout",
            },
        }
    }

    /// Whether the connection that gave this error can no longer be used.
    pub(crate) fn breaks_connection(&self) -> bool {
        matches!(
            self,
            Error::Client(ClientError::Transport(_) | ClientError::Protocol(_))
        )
    }
}

impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        Python::attach(|py| {
            let py_err = OmronError::new_err(err.to_string());
            if let Err(e) = annotate(py, &py_err, &err) {
                // The attributes are a convenience; the message alone still says it all.
                e.write_unraisable(py, None);
            }
            py_err
        })
    }
}

fn annotate(py: Python<'_>, py_err: &PyErr, err: &Error) -> PyResult<()> {
    let value = py_err.value(py);
    value.setattr("kind", err.kind())?;
    let (code, data) = match err {
        Error::Client(ClientError::Rpc(obj)) => (Some(obj.code), obj.data.as_ref()),
        _ => (None, None),
    };
    value.setattr("code", code)?;
    let status = match err {
        Error::Client(ClientError::Refused { status, .. }) => Some(*status),
        _ => None,
    };
    value.setattr("status", status)?;
    match data {
        Some(d) => value.setattr("data", convert::to_py(py, d)?)?,
        None => value.setattr("data", py.None())?,
    }
    Ok(())
}
