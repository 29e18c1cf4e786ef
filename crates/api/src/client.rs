//! A client of the external API: opens `wss://HOST:PORT/rpc` trusting only the pinned
//! certificate, signs the connection with the caller's key, and exchanges JSON-RPC frames.
//! It does not verify proofs: callers do that with the circuit's files (`omron request`, the
//! Python package), since a result is only as good as that check.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use omron_keys::Keypair;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, Uri};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::auth::{self, AuthHeaders};
use crate::rpc::{ErrorObject, RpcRequest, RpcResponse};
use crate::tls::{PinnedVerifier, parse_fingerprint};

/// The largest frame a client reads (a proof of a big circuit is a few MB of hex).
pub const MAX_FRAME: usize = 64 << 20;

/// How the server's certificate is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// Exactly the certificate with this SHA-256 fingerprint (hex).
    Sha256(String),
    /// No TLS (`ws://`): only for a validator behind a TLS-terminating proxy on the same host.
    Plain,
}

impl Pin {
    /// A pin from a fingerprint in any usual spelling.
    pub fn sha256(text: &str) -> Result<Self, ClientError> {
        parse_fingerprint(text)
            .map(Pin::Sha256)
            .map_err(ClientError::Url)
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is unusable.
    #[error("bad validator URL: {0}")]
    Url(String),
    /// TCP connect or TLS failed (a pin mismatch is reported here).
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server refused the WebSocket upgrade (authentication failures land here).
    #[error("validator refused the connection: HTTP {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's explanation.
        body: String,
    },
    /// The connection broke or the server closed it.
    #[error("connection lost: {0}")]
    Transport(String),
    /// The server answered with a JSON-RPC error.
    #[error("validator answered {0}")]
    Rpc(ErrorObject),
    /// The server's frame is not what the protocol says.
    #[error("unreadable answer: {0}")]
    Protocol(String),
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Where a validator listens, from its URL.
#[derive(Debug, Clone)]
struct Endpoint {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

fn endpoint(url: &str) -> Result<Endpoint, ClientError> {
    let uri: Uri = url
        .parse()
        .map_err(|e| ClientError::Url(format!("{url}: {e}")))?;
    let tls = match uri.scheme_str() {
        Some("wss") | Some("https") => true,
        Some("ws") | Some("http") => false,
        other => {
            return Err(ClientError::Url(format!(
                "{url}: scheme {other:?}, expected wss:// (or ws:// behind a proxy)"
            )));
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| ClientError::Url(format!("{url}: no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let path = match uri.path() {
        "" | "/" => "/rpc".to_owned(),
        p => p.to_owned(),
    };
    Ok(Endpoint {
        tls,
        host,
        port,
        path,
    })
}

async fn open(ep: &Endpoint, pin: &Pin, url: &str) -> Result<Box<dyn Io>, ClientError> {
    let connect_err = |reason: String| ClientError::Connect {
        url: url.to_owned(),
        reason,
    };
    let tcp = TcpStream::connect((ep.host.as_str(), ep.port))
        .await
        .map_err(|e| connect_err(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    match (ep.tls, pin) {
        (true, Pin::Sha256(fp)) => {
            let config = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
                .with_safe_default_protocol_versions()
                .map_err(|e| connect_err(e.to_string()))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedVerifier::new(fp.clone())))
                .with_no_client_auth();
            let name = rustls::pki_types::ServerName::try_from(ep.host.clone())
                .map_err(|e| connect_err(format!("server name {}: {e}", ep.host)))?;
            let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(|e| connect_err(format!("TLS: {e}")))?;
            Ok(Box::new(stream))
        }
        (true, Pin::Plain) => Err(ClientError::Url(format!(
            "{url}: wss:// needs the certificate's SHA-256 (--cert-sha256, or the validator's hotkey to read it from chain)"
        ))),
        (false, Pin::Plain) => Ok(Box::new(tcp)),
        (false, Pin::Sha256(_)) => Err(ClientError::Url(format!(
            "{url}: a certificate pin needs wss://"
        ))),
    }
}

/// One connection to a validator's `/rpc`.
pub struct ApiClient {
    ws: WebSocketStream<Box<dyn Io>>,
    next_id: u64,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("next_id", &self.next_id)
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    /// Connects to `url` (`wss://HOST:PORT[/rpc]`), signing the upgrade with `key`; `netuid`
    /// (the `x-netuid` header) lets a validator-permit holder of that subnet in.
    pub async fn connect(
        url: &str,
        pin: &Pin,
        key: &Keypair,
        netuid: Option<u16>,
    ) -> Result<Self, ClientError> {
        Self::connect_with(url, pin, &AuthHeaders::sign_now(key), netuid).await
    }

    /// Connects with headers signed beforehand (tests use it to replay or age them).
    pub async fn connect_with(
        url: &str,
        pin: &Pin,
        headers: &AuthHeaders,
        netuid: Option<u16>,
    ) -> Result<Self, ClientError> {
        let ep = endpoint(url)?;
        let io = open(&ep, pin, url).await?;
        let scheme = if ep.tls { "wss" } else { "ws" };
        let host = if ep.host.contains(':') {
            format!("[{}]", ep.host)
        } else {
            ep.host.clone()
        };
        let ws_url = format!("{scheme}://{host}:{}{}", ep.port, ep.path);
        let mut request = ws_url
            .into_client_request()
            .map_err(|e| ClientError::Url(e.to_string()))?;
        let hdrs = request.headers_mut();
        for (name, value) in headers.pairs() {
            let v = HeaderValue::from_str(value)
                .map_err(|e| ClientError::Url(format!("header {name}: {e}")))?;
            hdrs.insert(name, v);
        }
        if let Some(n) = netuid {
            hdrs.insert(auth::NETUID, HeaderValue::from(n));
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME))
            .max_frame_size(Some(MAX_FRAME));
        let (ws, _) = tokio_tungstenite::client_async_with_config(request, io, Some(config))
            .await
            .map_err(|e| match e {
                tungstenite::Error::Http(resp) => ClientError::Refused {
                    status: resp.status().as_u16(),
                    body: resp
                        .body()
                        .as_ref()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .unwrap_or_default(),
                },
                other => ClientError::Transport(other.to_string()),
            })?;
        Ok(Self { ws, next_id: 1 })
    }

    /// Sends a request without waiting; returns its id.
    pub async fn send(&mut self, method: &str, params: Value) -> Result<u64, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let text = serde_json::to_string(&RpcRequest::new(method, params, id))
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.send_text(text).await?;
        Ok(id)
    }

    /// Sends any text frame (tests use it for malformed requests).
    pub async fn send_text(&mut self, text: String) -> Result<(), ClientError> {
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))
    }

    /// The next response frame, whichever request it answers.
    pub async fn next_response(&mut self) -> Result<RpcResponse, ClientError> {
        loop {
            let frame = self
                .ws
                .next()
                .await
                .ok_or_else(|| {
                    ClientError::Transport("the validator closed the connection".into())
                })?
                .map_err(|e| ClientError::Transport(e.to_string()))?;
            match frame {
                Message::Text(t) => {
                    return serde_json::from_str(t.as_str())
                        .map_err(|e| ClientError::Protocol(format!("{e}: {}", t.as_str())));
                }
                Message::Close(c) => {
                    return Err(ClientError::Transport(match c {
                        Some(c) => format!("closed by the validator ({}): {}", c.code, c.reason),
                        None => "closed by the validator".into(),
                    }));
                }
                _ => {}
            }
        }
    }

    /// Calls `method` and waits (at most `timeout`) for its answer; responses to other ids
    /// are dropped.
    pub async fn call(
        &mut self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, ClientError> {
        let id = self.send(method, params).await?;
        let wait = async {
            loop {
                let resp = self.next_response().await?;
                if resp.id != id {
                    continue;
                }
                return match (resp.result, resp.error) {
                    (_, Some(e)) => Err(ClientError::Rpc(e)),
                    (Some(r), None) => Ok(r),
                    (None, None) => Err(ClientError::Protocol("neither result nor error".into())),
                };
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
    }

    /// Closes the connection politely.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// `GET path` on the validator's API (e.g. `/circuits`, `/health`), same trust as [`ApiClient`].
pub async fn get_json(url: &str, pin: &Pin, path: &str) -> Result<Value, ClientError> {
    let ep = endpoint(url)?;
    let mut io = open(&ep, pin, url).await?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}:{}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        ep.host, ep.port
    );
    io.write_all(req.as_bytes())
        .await
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    let mut buf = Vec::new();
    // A TLS peer may close without close_notify after `Connection: close`; what was read counts.
    let read = (&mut io).take(MAX_FRAME as u64).read_to_end(&mut buf).await;
    if let Err(e) = read
        && buf.is_empty()
    {
        return Err(ClientError::Transport(e.to_string()));
    }
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| ClientError::Protocol("no HTTP header".into()))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ClientError::Protocol(format!("bad status line: {head}")))?;
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Err(ClientError::Protocol(
            "chunked answers are not expected".into(),
        ));
    }
    if status != 200 {
        return Err(ClientError::Refused {
            status,
            body: body.to_owned(),
        });
    }
    serde_json::from_str(body).map_err(|e| ClientError::Protocol(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_scheme_host_port_and_path() {
        let e = endpoint("wss://127.0.0.1:8443").unwrap();
        assert!(e.tls);
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("127.0.0.1", 8443, "/rpc")
        );
        let e = endpoint("ws://[::1]:9000/api/rpc").unwrap();
        assert!(!e.tls);
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("::1", 9000, "/api/rpc")
        );
        assert!(endpoint("ftp://x:1").is_err());
        assert!(endpoint("not a url").is_err());
    }
}
