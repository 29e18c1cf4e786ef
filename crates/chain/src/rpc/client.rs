//! [`DevChainClient`]: a [`Chain`](crate::Chain) that reaches an embedded chain served by
//! `omron chain serve` (or [`serve_rpc`](super::serve_rpc)) in another process.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use omron_keys::Keypair;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use super::wire::{SignedCall, WireError};
use crate::chain::BlockStream;
use crate::dev::{Call, CallOutput, DevChain, Query, QueryOutput, unexpected};
use crate::error::{ChainError, ChainResult};
use crate::types::BlockNumber;

/// How often an idempotent read is tried before giving up.
const READ_ATTEMPTS: u32 = 3;

/// Client of an embedded chain's RPC. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DevChainClient {
    inner: std::sync::Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base: String,
    http: reqwest::Client,
    genesis: OnceCell<[u8; 32]>,
    last_nonce: Mutex<u64>,
}

impl DevChainClient {
    /// A client of the chain at `url` (`http://127.0.0.1:9946`); nothing is sent yet.
    pub fn new(url: &str) -> ChainResult<Self> {
        let base = url.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(ChainError::InvalidArgument {
                what: "url",
                reason: format!("`{url}` is not an http(s) URL"),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ChainError::Transport {
                endpoint: base.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            inner: std::sync::Arc::new(Inner {
                base,
                http,
                genesis: OnceCell::new(),
                last_nonce: Mutex::new(0),
            }),
        })
    }

    /// Connects and checks the chain answers.
    pub async fn connect(url: &str) -> ChainResult<Self> {
        let client = Self::new(url)?;
        client.genesis().await?;
        Ok(client)
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.inner.base
    }

    fn transport(&self, e: impl std::fmt::Display) -> ChainError {
        ChainError::Transport {
            endpoint: self.inner.base.clone(),
            reason: e.to_string(),
        }
    }

    async fn decode<T: DeserializeOwned>(&self, resp: reqwest::Response) -> ChainResult<T> {
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| self.transport(e))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| ChainError::Decode {
                what: format!("answer from {}", self.inner.base),
                reason: e.to_string(),
            });
        }
        match serde_json::from_slice::<WireError>(&body) {
            Ok(err) => Err(err.into_chain_error(&self.inner.base)),
            Err(_) => Err(self.transport(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ))),
        }
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> ChainResult<T> {
        let url = format!("{}{path}", self.inner.base);
        let resp = self
            .inner
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        self.decode(resp).await
    }

    async fn read(&self, query: &Query) -> ChainResult<QueryOutput> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.post("/v1/query", query).await {
                Err(ChainError::Transport { endpoint, reason }) if attempt < READ_ATTEMPTS => {
                    tracing::debug!(%endpoint, %reason, attempt, "chain read failed, retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
                other => return other,
            }
        }
    }

    async fn genesis(&self) -> ChainResult<[u8; 32]> {
        self.inner
            .genesis
            .get_or_try_init(|| async {
                match self.read(&Query::Genesis).await? {
                    QueryOutput::Genesis(text) => hex::decode(text.trim_start_matches("0x"))
                        .ok()
                        .and_then(|b| <[u8; 32]>::try_from(b).ok())
                        .ok_or_else(|| unexpected("genesis", &text)),
                    other => Err(unexpected("genesis", &other)),
                }
            })
            .await
            .copied()
    }

    /// A nonce above every nonce this process used: the clock in nanoseconds, bumped past the
    /// last one, so separate processes signing with one key rarely collide.
    fn next_nonce(&self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut last = self
            .inner
            .last_nonce
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *last = now.max(*last + 1);
        *last
    }

    /// Waits for the first block above `after` (long poll on the server).
    pub async fn next_block_after(&self, after: BlockNumber) -> ChainResult<BlockNumber> {
        let url = format!("{}/v1/blocks/next?after={after}", self.inner.base);
        let resp = self
            .inner
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let v: serde_json::Value = self.decode(resp).await?;
        v.get("block")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| unexpected("block", &v))
    }
}

#[async_trait]
impl DevChain for DevChainClient {
    async fn submit_call(&self, signer: &Keypair, call: Call) -> ChainResult<CallOutput> {
        let genesis = self.genesis().await?;
        let signed = SignedCall::sign(signer, &genesis, self.next_nonce(), &call)?;
        self.post("/v1/submit", &signed).await
    }

    async fn query(&self, query: Query) -> ChainResult<QueryOutput> {
        self.read(&query).await
    }

    async fn subscribe(&self) -> ChainResult<BlockStream> {
        let start = match self.read(&Query::Block).await? {
            QueryOutput::Block(b) => b,
            other => return Err(unexpected("block", &other)),
        };
        let client = self.clone();
        Ok(Box::pin(futures::stream::unfold(
            Some(start),
            move |state| {
                let client = client.clone();
                async move {
                    let last = state?;
                    loop {
                        match client.next_block_after(last).await {
                            Ok(b) if b > last => return Some((Ok(b), Some(b))),
                            Ok(_) => continue,
                            Err(err) => return Some((Err(err), None)),
                        }
                    }
                }
            },
        )))
    }
}

crate::dev::impl_chain_via_dev!(DevChainClient);
