//! Every way the axon refuses a request: one type each, with its fixed status code and the
//! SDK's message text (habit 6 of STYLE.md, after axum's rejections).
//!
//! Where the Python axon answers a failure with a defined code and message (401, 403, 404, 408,
//! 500), the same code and text are used, because Python dendrites and operators' tooling read
//! them. Where the SDK has no defined answer (it crashes into a generic 500), bad syntax is a 400
//! and well-formed input of the wrong shape a 422.

use std::fmt;

use crate::btauth::BtAuthError;
use crate::json::JsonError;
use crate::legacy::VerifyError;
use crate::synapse::SynapseError;

/// A refusal with a fixed status code.
pub trait AxonRejection: fmt::Display {
    /// The HTTP status code.
    const STATUS: u16;
}

/// 404: no handler for the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSynapse {
    /// The requested name.
    pub name: String,
    /// The names served, `Synapse` first.
    pub available: Vec<String>,
}

impl AxonRejection for UnknownSynapse {
    const STATUS: u16 = 404;
}

impl fmt::Display for UnknownSynapse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.available.iter().map(|n| format!("'{n}'")).collect();
        write!(
            f,
            "Synapse name '{}' not found. Available synapses [{}]",
            self.name,
            list.join(", ")
        )
    }
}

/// 403: the blacklist hook refused the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blacklisted {
    /// The hook's reason.
    pub reason: String,
}

impl AxonRejection for Blacklisted {
    const STATUS: u16 = 403;
}

impl fmt::Display for Blacklisted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Forbidden. Key is blacklisted: {}.", self.reason)
    }
}

/// What failed in verification.
#[derive(Debug, Clone, PartialEq)]
pub enum VerifyFailure {
    /// The SDK's (<= 10.x) scheme.
    Sdk(VerifyError),
    /// btauth/1.
    BtAuth(BtAuthError),
}

/// 401: the request's signature, nonce or hotkey did not verify.
#[derive(Debug, Clone, PartialEq)]
pub struct NotVerified(pub VerifyFailure);

impl AxonRejection for NotVerified {
    const STATUS: u16 = 401;
}

impl fmt::Display for NotVerified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            VerifyFailure::Sdk(e) => write!(f, "Not Verified with error: {e}"),
            VerifyFailure::BtAuth(e) => write!(f, "Not Verified with error: {e}"),
        }
    }
}

/// 408: the call did not finish within its timeout (queue wait plus handler).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResponseTimeout {
    /// The timeout in seconds.
    pub seconds: f64,
}

impl AxonRejection for ResponseTimeout {
    const STATUS: u16 = 408;
}

impl fmt::Display for ResponseTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Response timeout after: {}s",
            crate::headers::python_float(self.seconds)
        )
    }
}

/// Why a 500 happened (logged with its id; never sent to the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InternalCause {
    /// The handler returned an error.
    Handler(String),
    /// The response could not be serialised.
    Serialize(String),
}

/// 500 `Internal Server Error #<uuid>`: the id ties the answer to the server log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalError {
    /// Random id, shown to the caller and logged with the cause.
    pub id: String,
    /// What went wrong.
    pub cause: InternalCause,
}

impl InternalError {
    /// A new error with a fresh id.
    pub fn new(cause: InternalCause) -> Self {
        Self {
            id: crate::ids::uuid4(),
            cause,
        }
    }
}

impl AxonRejection for InternalError {
    const STATUS: u16 = 500;
}

impl fmt::Display for InternalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Internal Server Error #{}", self.id)
    }
}

/// 400: a header has bad syntax (a non-numeric nonce, an unparsable timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedHeader {
    /// The header name.
    pub header: &'static str,
    /// What is wrong.
    pub reason: String,
}

impl AxonRejection for MalformedHeader {
    const STATUS: u16 = 400;
}

impl fmt::Display for MalformedHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Improperly formatted request: header {} {}",
            self.header, self.reason
        )
    }
}

/// 400: the body's hashed fields do not match the signed `computed_body_hash`. The SDK's
/// axon raises inside its body check and answers a generic 500; the caller sent a bad
/// request, and is told which part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyHashMismatch {
    /// The signed header value.
    pub header: String,
    /// The hash of the received body.
    pub computed: String,
}

impl AxonRejection for BodyHashMismatch {
    const STATUS: u16 = 400;
}

impl fmt::Display for BodyHashMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "Improperly formatted request: the body does not match the signed computed_body_hash",
        )
    }
}

/// 400: the body is not JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidJson(pub JsonError);

impl AxonRejection for InvalidJson {
    const STATUS: u16 = 400;
}

impl fmt::Display for InvalidJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid JSON body: {}", self.0)
    }
}

/// 422: JSON that does not have the synapse's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidSynapse(pub SynapseError);

impl AxonRejection for InvalidSynapse {
    const STATUS: u16 = 422;
}

impl fmt::Display for InvalidSynapse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid synapse: {}", self.0)
    }
}

/// 413: the body is larger than the axon accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadTooLarge {
    /// The limit in bytes.
    pub limit: usize,
}

impl AxonRejection for PayloadTooLarge {
    const STATUS: u16 = 413;
}

impl fmt::Display for PayloadTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Request body larger than {} bytes", self.limit)
    }
}

/// 431: the headers are larger than the axon accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadersTooLarge {
    /// The limit in bytes.
    pub limit: usize,
    /// Their size.
    pub actual: usize,
}

impl AxonRejection for HeadersTooLarge {
    const STATUS: u16 = 431;
}

impl fmt::Display for HeadersTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Request headers are {} bytes, more than {}",
            self.actual, self.limit
        )
    }
}

/// 503: too many requests are already waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overloaded {
    /// The queue capacity.
    pub queue: usize,
}

impl AxonRejection for Overloaded {
    const STATUS: u16 = 503;
}

impl fmt::Display for Overloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Service overloaded: {} requests already waiting",
            self.queue
        )
    }
}

/// 503: the bytes of the requests already being read or served fill the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodiesInFlight {
    /// The budget in bytes.
    pub limit: usize,
}

impl AxonRejection for BodiesInFlight {
    const STATUS: u16 = 503;
}

impl fmt::Display for BodiesInFlight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Service busy: requests in flight already hold {} bytes",
            self.limit
        )
    }
}

/// 503: the handler had no capacity for the request (all its workers busy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerBusy {
    /// The handler's words.
    pub reason: String,
}

impl AxonRejection for HandlerBusy {
    const STATUS: u16 = 503;
}

impl fmt::Display for HandlerBusy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Service busy: {}", self.reason)
    }
}

/// 405: only POST (and GET, as the SDK's routes accept it) are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodNotAllowed {
    /// The method used.
    pub method: String,
}

impl AxonRejection for MethodNotAllowed {
    const STATUS: u16 = 405;
}

impl fmt::Display for MethodNotAllowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Method {} not allowed; use POST", self.method)
    }
}

/// Any refusal.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection {
    /// 404.
    UnknownSynapse(UnknownSynapse),
    /// 403.
    Blacklisted(Blacklisted),
    /// 401.
    NotVerified(NotVerified),
    /// 408.
    ResponseTimeout(ResponseTimeout),
    /// 500.
    InternalError(InternalError),
    /// 400.
    MalformedHeader(MalformedHeader),
    /// 400.
    InvalidJson(InvalidJson),
    /// 400.
    BodyHashMismatch(BodyHashMismatch),
    /// 422.
    InvalidSynapse(InvalidSynapse),
    /// 413.
    PayloadTooLarge(PayloadTooLarge),
    /// 431.
    HeadersTooLarge(HeadersTooLarge),
    /// 503.
    Overloaded(Overloaded),
    /// 503.
    BodiesInFlight(BodiesInFlight),
    /// 503.
    HandlerBusy(HandlerBusy),
    /// 405.
    MethodNotAllowed(MethodNotAllowed),
}

macro_rules! rejection_variants {
    ($($variant:ident),*) => {
        impl Rejection {
            /// The HTTP status code.
            pub fn status(&self) -> u16 {
                match self { $(Self::$variant(_) => <$variant as AxonRejection>::STATUS,)* }
            }
        }
        impl fmt::Display for Rejection {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self { $(Self::$variant(r) => r.fmt(f),)* }
            }
        }
        $(impl From<$variant> for Rejection {
            fn from(r: $variant) -> Self { Self::$variant(r) }
        })*
    };
}

rejection_variants!(
    UnknownSynapse,
    Blacklisted,
    NotVerified,
    ResponseTimeout,
    InternalError,
    MalformedHeader,
    BodyHashMismatch,
    InvalidJson,
    InvalidSynapse,
    PayloadTooLarge,
    HeadersTooLarge,
    Overloaded,
    BodiesInFlight,
    HandlerBusy,
    MethodNotAllowed
);

impl From<VerifyError> for Rejection {
    fn from(e: VerifyError) -> Self {
        Self::NotVerified(NotVerified(VerifyFailure::Sdk(e)))
    }
}

impl From<BtAuthError> for Rejection {
    fn from(e: BtAuthError) -> Self {
        Self::NotVerified(NotVerified(VerifyFailure::BtAuth(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_texts() {
        let r = Rejection::from(UnknownSynapse {
            name: "NoSuchSynapse".into(),
            available: vec!["Synapse".into(), "QueryZkProof".into()],
        });
        assert_eq!(r.status(), 404);
        assert_eq!(
            r.to_string(),
            "Synapse name 'NoSuchSynapse' not found. Available synapses ['Synapse', 'QueryZkProof']"
        );
        let r = Rejection::from(Blacklisted {
            reason: "Unrecognized hotkey X".into(),
        });
        assert_eq!(
            (r.status(), r.to_string().as_str()),
            (403, "Forbidden. Key is blacklisted: Unrecognized hotkey X.")
        );
        let r = Rejection::from(VerifyError::MissingNonce);
        assert_eq!(
            (r.status(), r.to_string().as_str()),
            (401, "Not Verified with error: Missing Nonce")
        );
        let r = Rejection::from(ResponseTimeout { seconds: 12.0 });
        assert_eq!(
            (r.status(), r.to_string().as_str()),
            (408, "Response timeout after: 12.0s")
        );
        let r = Rejection::from(InternalError::new(InternalCause::Handler("boom".into())));
        assert_eq!(r.status(), 500);
        assert!(r.to_string().starts_with("Internal Server Error #"));
        assert!(!r.to_string().contains("boom"));
        assert_eq!(Rejection::from(PayloadTooLarge { limit: 1 }).status(), 413);
        assert_eq!(
            Rejection::from(InvalidJson(JsonError::TooDeep { max: 1 })).status(),
            400
        );
        assert_eq!(
            Rejection::from(InvalidSynapse(SynapseError::NotAnObject)).status(),
            422
        );
    }
}
