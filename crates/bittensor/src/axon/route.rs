//! Typed handlers behind one object-safe interface, so the axon can hold a table of them.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use omron_keys::AccountId;

use super::rejection::{
    BodyHashMismatch, HandlerBusy, InternalCause, InternalError, InvalidJson, InvalidSynapse,
    Rejection,
};
use crate::json::{self, JsonObject, JsonValue};
use crate::synapse::{Envelope, Synapse, SynapseBase};

/// How a request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// The SDK's (<= 10.x) `bt_header_dendrite_*` signature.
    Sdk,
    /// btauth/1 (`X-Bittensor-*`).
    BtAuth1,
}

/// What the blacklist and priority hooks see. The hotkey is the *claimed* one: these hooks run
/// before the signature is checked (as in the SDK), so they may only refuse or order requests;
/// nothing is granted on their word.
#[derive(Debug, Clone, Copy)]
pub struct CallerInfo<'a> {
    /// The synapse name (URL path).
    pub synapse: &'a str,
    /// The hotkey the request claims.
    pub hotkey: &'a AccountId,
    /// The TCP peer.
    pub peer: SocketAddr,
    /// The authentication scheme.
    pub scheme: AuthScheme,
}

/// A verified call, as a handler receives it.
#[derive(Debug, Clone)]
pub struct Request<S> {
    /// The caller's hotkey, from the verified signature (never from the body).
    pub caller: AccountId,
    /// The subnet fields from the body.
    pub synapse: S,
    /// The body's base fields (unauthenticated; `timeout` and `dendrite.*` are what the client
    /// wrote).
    pub base: SynapseBase,
    /// The TCP peer.
    pub peer: SocketAddr,
    /// The authentication scheme.
    pub scheme: AuthScheme,
    /// The verified nonce (Unix ns).
    pub nonce: u64,
    /// The time the handler has, in seconds.
    pub timeout_secs: f64,
}

/// A handler failure. The caller gets `500 Internal Server Error #<id>` and the message is
/// logged, or, for [`HandlerError::busy`], `503 Service busy: <message>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    /// What went wrong.
    pub message: String,
    /// The handler had no capacity for the request (nothing is wrong with it): a 503.
    pub busy: bool,
}

impl HandlerError {
    /// A failure with a message for the log.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            busy: false,
        }
    }

    /// No capacity now: the caller may try again later, and is told so with a 503.
    pub fn busy(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            busy: true,
        }
    }
}

/// The verified facts a route needs.
pub(crate) struct CallContext {
    pub(crate) caller: AccountId,
    pub(crate) peer: SocketAddr,
    pub(crate) scheme: AuthScheme,
    pub(crate) nonce: u64,
    pub(crate) timeout_secs: f64,
    /// The signed `computed_body_hash` (SDK scheme only; btauth/1 signs the whole body).
    pub(crate) header_body_hash: Option<String>,
}

pub(crate) type HandlerFuture =
    Pin<Box<dyn Future<Output = Result<JsonObject, Rejection>> + Send + 'static>>;

/// A parsed, integrity-checked call whose handler has not started yet.
pub(crate) struct PreparedCall {
    /// The body's base fields.
    pub(crate) base: SynapseBase,
    /// Runs the handler; yields the response's subnet fields.
    pub(crate) run: HandlerFuture,
}

pub(crate) trait Route: Send + Sync {
    fn hash_fields(&self) -> &'static [&'static str];
    fn prepare(&self, body: &[u8], ctx: CallContext) -> Result<PreparedCall, Rejection>;
}

pub(crate) struct TypedRoute<S, F> {
    pub(crate) handler: Arc<F>,
    pub(crate) _synapse: std::marker::PhantomData<fn() -> S>,
}

impl<S, F, Fut> Route for TypedRoute<S, F>
where
    S: Synapse,
    F: Fn(Request<S>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<S, HandlerError>> + Send + 'static,
{
    fn hash_fields(&self) -> &'static [&'static str] {
        S::REQUIRED_HASH_FIELDS
    }

    fn prepare(&self, body: &[u8], ctx: CallContext) -> Result<PreparedCall, Rejection> {
        // An empty body is an empty object (a bare GET ping).
        let value = if body.iter().all(u8::is_ascii_whitespace) {
            JsonValue::Object(JsonObject::new())
        } else {
            json::parse(body).map_err(InvalidJson)?
        };
        let envelope = Envelope::<S>::from_value(value).map_err(InvalidSynapse)?;
        if let Some(header) = &ctx.header_body_hash {
            let computed = envelope.body_hash().map_err(InvalidSynapse)?;
            if *header != computed {
                return Err(BodyHashMismatch {
                    header: header.clone(),
                    computed,
                }
                .into());
            }
        }
        let Envelope { base, synapse } = envelope;
        let request = Request {
            caller: ctx.caller,
            synapse,
            base: base.clone(),
            peer: ctx.peer,
            scheme: ctx.scheme,
            nonce: ctx.nonce,
            timeout_secs: ctx.timeout_secs,
        };
        let handler = self.handler.clone();
        let run: HandlerFuture = Box::pin(async move {
            let out = handler(request).await.map_err(|e| {
                if e.busy {
                    Rejection::from(HandlerBusy { reason: e.message })
                } else {
                    Rejection::from(InternalError::new(InternalCause::Handler(e.message)))
                }
            })?;
            match json::to_value(&out) {
                Ok(JsonValue::Object(o)) => Ok(o),
                Ok(_) => Err(InternalError::new(InternalCause::Serialize(format!(
                    "{} does not serialise to an object",
                    S::NAME
                )))
                .into()),
                Err(e) => Err(InternalError::new(InternalCause::Serialize(e.to_string())).into()),
            }
        });
        Ok(PreparedCall { base, run })
    }
}
