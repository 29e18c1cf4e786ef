//! What travels between [`DevChainClient`](super::DevChainClient) and the server.

use omron_keys::{AccountId, Keypair, Signature};
use serde::{Deserialize, Serialize};

use crate::dev::Call;
use crate::error::{ChainError, PalletError};

/// Largest request body the server reads.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Domain separator of the signed message, so a signature made here means nothing elsewhere.
const DOMAIN: &[u8] = b"omron-devchain/v1";

/// The bytes a signer signs: domain, genesis hash, nonce (u64 LE), then the call's JSON text.
pub fn signing_payload(genesis: &[u8; 32], nonce: u64, call_json: &str) -> Vec<u8> {
    let mut msg = Vec::with_capacity(DOMAIN.len() + 40 + call_json.len());
    msg.extend_from_slice(DOMAIN);
    msg.extend_from_slice(genesis);
    msg.extend_from_slice(&nonce.to_le_bytes());
    msg.extend_from_slice(call_json.as_bytes());
    msg
}

/// A call with its signer, nonce and signature. The call travels as the exact JSON text that
/// was signed, so neither side has to agree on a canonical re-serialisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCall {
    /// Who signs (ss58).
    pub signer: AccountId,
    /// Strictly increasing per signer.
    pub nonce: u64,
    /// The [`Call`] as JSON text.
    pub call: String,
    /// sr25519 over [`signing_payload`].
    pub signature: Signature,
}

impl SignedCall {
    /// Serialises and signs a call.
    pub fn sign(
        key: &Keypair,
        genesis: &[u8; 32],
        nonce: u64,
        call: &Call,
    ) -> Result<Self, ChainError> {
        let text = serde_json::to_string(call).map_err(|e| ChainError::InvalidArgument {
            what: "call",
            reason: e.to_string(),
        })?;
        let signature = key.sign(&signing_payload(genesis, nonce, &text));
        Ok(Self {
            signer: key.public(),
            nonce,
            call: text,
            signature,
        })
    }

    /// Checks the signature and parses the call.
    pub fn verify(&self, genesis: &[u8; 32]) -> Result<Call, WireError> {
        if !self.signer.verify(
            &signing_payload(genesis, self.nonce, &self.call),
            &self.signature,
        ) {
            return Err(WireError {
                kind: WireErrorKind::BadOrigin,
                name: None,
                detail: format!(
                    "signature of {} does not verify (wrong key or another chain)",
                    self.signer
                ),
            });
        }
        serde_json::from_str(&self.call).map_err(|e| WireError {
            kind: WireErrorKind::InvalidRequest,
            name: None,
            detail: format!("call: {e}"),
        })
    }
}

/// Kinds of failure, each with a fixed HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireErrorKind {
    /// 400: the body is not JSON of the expected shape.
    InvalidRequest,
    /// 401: bad signature or a used nonce.
    BadOrigin,
    /// 404: no such subnet, neuron or route.
    NotFound,
    /// 413: body over [`MAX_REQUEST_BYTES`].
    TooLarge,
    /// 422: the chain refused the call; `name` is the runtime error.
    Rejected,
    /// 422: an argument the chain cannot take.
    InvalidArgument,
    /// 500: the server's state store failed.
    Internal,
}

impl WireErrorKind {
    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidRequest => 400,
            Self::BadOrigin => 401,
            Self::NotFound => 404,
            Self::TooLarge => 413,
            Self::Rejected | Self::InvalidArgument => 422,
            Self::Internal => 500,
        }
    }
}

/// An error body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    /// What kind.
    pub kind: WireErrorKind,
    /// The runtime error name for [`WireErrorKind::Rejected`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Human-readable detail.
    pub detail: String,
}

impl From<&ChainError> for WireError {
    fn from(err: &ChainError) -> Self {
        let (kind, name, detail) = match err {
            ChainError::Rejected { error, detail } => (
                WireErrorKind::Rejected,
                Some(error.name().to_owned()),
                detail.clone(),
            ),
            ChainError::OtherDispatch { name, .. } => {
                (WireErrorKind::Rejected, Some(name.clone()), String::new())
            }
            ChainError::BadOrigin { .. } => (WireErrorKind::BadOrigin, None, err.to_string()),
            ChainError::InvalidArgument { .. } => {
                (WireErrorKind::InvalidArgument, None, err.to_string())
            }
            ChainError::NotFound(what) => (WireErrorKind::NotFound, None, what.clone()),
            _ => (WireErrorKind::Internal, None, err.to_string()),
        };
        Self { kind, name, detail }
    }
}

impl WireError {
    /// Back to a [`ChainError`] on the client side.
    pub fn into_chain_error(self, endpoint: &str) -> ChainError {
        match self.kind {
            WireErrorKind::Rejected => {
                match self.name.as_deref().and_then(PalletError::from_name) {
                    Some(error) => ChainError::Rejected {
                        error,
                        detail: self.detail,
                    },
                    None => ChainError::OtherDispatch {
                        pallet: "SubtensorModule".into(),
                        name: self.name.unwrap_or_default(),
                    },
                }
            }
            WireErrorKind::BadOrigin => ChainError::BadOrigin {
                signer: String::new(),
                reason: self.detail,
            },
            WireErrorKind::NotFound => ChainError::NotFound(self.detail),
            WireErrorKind::InvalidArgument
            | WireErrorKind::InvalidRequest
            | WireErrorKind::TooLarge => ChainError::InvalidArgument {
                what: "request",
                reason: self.detail,
            },
            WireErrorKind::Internal => ChainError::Transport {
                endpoint: endpoint.to_owned(),
                reason: format!("server error: {}", self.detail),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_binds_call_nonce_and_genesis() {
        let key = Keypair::from_uri("//Bob").unwrap();
        let call = Call::Transfer {
            dest: key.public(),
            amount: 5,
        };
        let signed = SignedCall::sign(&key, &[1; 32], 7, &call).unwrap();
        assert_eq!(signed.verify(&[1; 32]).unwrap(), call);
        assert_eq!(
            signed.verify(&[2; 32]).unwrap_err().kind,
            WireErrorKind::BadOrigin
        );
        let mut replayed = signed.clone();
        replayed.nonce = 8;
        assert_eq!(
            replayed.verify(&[1; 32]).unwrap_err().kind,
            WireErrorKind::BadOrigin
        );
        let mut tampered = signed;
        tampered.call = tampered.call.replace("5", "6");
        assert_eq!(
            tampered.verify(&[1; 32]).unwrap_err().kind,
            WireErrorKind::BadOrigin
        );
    }

    #[test]
    fn rejected_errors_keep_their_name_over_the_wire() {
        let err = ChainError::rejected(PalletError::IncorrectWeightVersionKey, "vk 1 < 2");
        let wire = WireError::from(&err);
        let text = serde_json::to_string(&wire).unwrap();
        let back: WireError = serde_json::from_str(&text).unwrap();
        let err = back.into_chain_error("http://x");
        assert_eq!(
            err.pallet_error(),
            Some(PalletError::IncorrectWeightVersionKey)
        );
    }
}
