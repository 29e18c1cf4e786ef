//! Which chain `--subtensor.network` names, and connecting to it.

use std::str::FromStr;
use std::sync::Arc;

use crate::chain::Chain;
use crate::error::{ChainError, ChainResult};
use crate::rpc::DevChainClient;
use crate::subtensor::SubtensorClient;

/// Where the embedded chain's RPC listens by default (`omron chain serve`).
pub const DEV_URL: &str = "http://127.0.0.1:9946";
/// The public finney entrypoint.
pub const FINNEY_URL: &str = "wss://entrypoint-finney.opentensor.ai:443";
/// The public testnet entrypoint.
pub const TEST_URL: &str = "wss://test.finney.opentensor.ai:443";
/// A subtensor node on this machine.
pub const LOCAL_URL: &str = "ws://127.0.0.1:9944";

/// A chain endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Network {
    /// An embedded chain served over HTTP (`dev`, or an `http(s)://` URL).
    Dev(String),
    /// A subtensor node over websocket (`finney`, `test`, `local`, or a `ws(s)://` URL).
    Subtensor(String),
}

impl Network {
    /// The endpoint URL.
    pub fn url(&self) -> &str {
        match self {
            Self::Dev(u) | Self::Subtensor(u) => u,
        }
    }

    /// Connects and returns the chain behind the trait.
    pub async fn connect(&self) -> ChainResult<Arc<dyn Chain>> {
        Ok(match self {
            Self::Dev(url) => Arc::new(DevChainClient::connect(url).await?),
            Self::Subtensor(url) => Arc::new(SubtensorClient::connect(url).await?),
        })
    }

    /// Connects to an embedded chain (dev operations need one).
    pub async fn connect_dev(&self) -> ChainResult<DevChainClient> {
        match self {
            Self::Dev(url) => DevChainClient::connect(url).await,
            Self::Subtensor(url) => Err(ChainError::InvalidArgument {
                what: "--subtensor.network",
                reason: format!(
                    "{url} is a subtensor node; dev operations need an embedded chain (`dev` or http://...)"
                ),
            }),
        }
    }
}

impl FromStr for Network {
    type Err = ChainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "dev" => Self::Dev(DEV_URL.into()),
            "finney" => Self::Subtensor(FINNEY_URL.into()),
            "test" => Self::Subtensor(TEST_URL.into()),
            "local" => Self::Subtensor(LOCAL_URL.into()),
            u if u.starts_with("ws://") || u.starts_with("wss://") => Self::Subtensor(u.into()),
            u if u.starts_with("http://") || u.starts_with("https://") => Self::Dev(u.into()),
            other => {
                return Err(ChainError::InvalidArgument {
                    what: "--subtensor.network",
                    reason: format!(
                        "`{other}`: expected dev, finney, test, local, ws(s)://... or http(s)://..."
                    ),
                });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_urls_parse() {
        assert_eq!(
            "dev".parse::<Network>().unwrap(),
            Network::Dev(DEV_URL.into())
        );
        assert_eq!("finney".parse::<Network>().unwrap().url(), FINNEY_URL);
        assert!(matches!(
            "test".parse::<Network>().unwrap(),
            Network::Subtensor(_)
        ));
        assert_eq!("local".parse::<Network>().unwrap().url(), LOCAL_URL);
        assert_eq!(
            "ws://10.0.0.1:9944".parse::<Network>().unwrap(),
            Network::Subtensor("ws://10.0.0.1:9944".into())
        );
        assert_eq!(
            "http://127.0.0.1:1".parse::<Network>().unwrap(),
            Network::Dev("http://127.0.0.1:1".into())
        );
        assert!(
            "mainnet"
                .parse::<Network>()
                .unwrap_err()
                .to_string()
                .contains("expected dev")
        );
    }
}
