//! `--subtensor.network` and `--subtensor.chain_endpoint`: which chain a command talks to.
//!
//! Two groups with the same flags and different defaults:
//! * [`NodeSubtensorArgs`] for `omron miner` and `omron validator`: `finney`, as the original
//!   subnet's nodes (the Bittensor SDK's default network);
//! * [`SubtensorArgs`] for the dev tools (`omron chain ...`, `omron request`): `dev`, the
//!   embedded chain of `omron chain serve`.
//!
//! `omron localnet` and the tests always pass their chain explicitly, so no default decides
//! where they go.
//!
//! `--subtensor.chain_endpoint`, when given, wins over `--subtensor.network` (the precedence the
//! SDK documents for `setup_config`). It takes a `ws(s)://` URL (a subtensor node), an
//! `http(s)://` URL (an embedded chain), `host:port`, which means `ws://host:port` as the SDK
//! formats an endpoint without a scheme, or a network name.

use anyhow::Context;
use clap::Args;
use omron_chain::Network;

/// The network name of the nodes' default.
pub(crate) const NODE_DEFAULT_NETWORK: &str = "finney";
/// The network name of the dev tools' default.
pub(crate) const DEV_DEFAULT_NETWORK: &str = "dev";

/// Chain selection for the dev tools: the embedded chain unless told otherwise.
#[derive(Debug, Clone, Args, PartialEq, Eq)]
#[command(next_help_heading = "Subtensor")]
pub(crate) struct SubtensorArgs {
    /// The chain: `dev` (the embedded chain of `omron chain serve`, http://127.0.0.1:9946),
    /// `finney`, `test`, `local` (a subtensor node at ws://127.0.0.1:9944), or a ws(s):// or
    /// http(s):// URL.
    #[arg(
        long = "subtensor.network",
        value_name = "NETWORK",
        default_value = DEV_DEFAULT_NETWORK
    )]
    pub(crate) network: String,
    /// The chain's endpoint: a ws(s):// or http(s):// URL, or host:port (ws://); wins over
    /// --subtensor.network.
    #[arg(
        id = "subtensor.chain_endpoint",
        long = "subtensor.chain_endpoint",
        value_name = "URL"
    )]
    pub(crate) chain_endpoint: Option<String>,
}

impl Default for SubtensorArgs {
    fn default() -> Self {
        Self {
            network: DEV_DEFAULT_NETWORK.into(),
            chain_endpoint: None,
        }
    }
}

impl SubtensorArgs {
    /// The chain the flags name.
    pub(crate) fn network(&self) -> anyhow::Result<Network> {
        resolve(&self.network, self.chain_endpoint.as_deref())
    }
}

/// Chain selection for the miner and the validator: finney (mainnet) unless told otherwise.
#[derive(Debug, Clone, Args, PartialEq, Eq)]
#[command(next_help_heading = "Subtensor")]
pub(crate) struct NodeSubtensorArgs {
    /// The chain: `finney` (mainnet), `test`, `local` (a subtensor node at
    /// ws://127.0.0.1:9944), `dev` (the embedded chain of `omron chain serve`,
    /// http://127.0.0.1:9946), or a ws(s):// or http(s):// URL.
    #[arg(
        long = "subtensor.network",
        value_name = "NETWORK",
        default_value = NODE_DEFAULT_NETWORK
    )]
    pub(crate) network: String,
    /// The chain's endpoint: a ws(s):// or http(s):// URL, or host:port (ws://); wins over
    /// --subtensor.network.
    #[arg(
        id = "subtensor.chain_endpoint",
        long = "subtensor.chain_endpoint",
        value_name = "URL"
    )]
    pub(crate) chain_endpoint: Option<String>,
}

impl Default for NodeSubtensorArgs {
    fn default() -> Self {
        Self {
            network: NODE_DEFAULT_NETWORK.into(),
            chain_endpoint: None,
        }
    }
}

impl NodeSubtensorArgs {
    /// The chain the flags name.
    pub(crate) fn network(&self) -> anyhow::Result<Network> {
        resolve(&self.network, self.chain_endpoint.as_deref())
    }
}

/// `--subtensor.chain_endpoint` if given, else `--subtensor.network`.
fn resolve(network: &str, chain_endpoint: Option<&str>) -> anyhow::Result<Network> {
    match chain_endpoint {
        Some(endpoint) => {
            let url = if endpoint.contains("://") || !endpoint.contains(':') {
                // A URL, or a network name (the SDK resolves names given here too).
                endpoint.to_owned()
            } else {
                format!("ws://{endpoint}")
            };
            url.parse::<Network>()
                .ok()
                .filter(|_| !endpoint.is_empty())
                .with_context(|| {
                    format!(
                        "--subtensor.chain_endpoint `{endpoint}`: expected a ws(s):// or http(s):// URL, host:port or a network name"
                    )
                })
        }
        None => Ok(network.parse::<Network>()?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use omron_chain::{DEV_URL, FINNEY_URL};

    #[derive(Parser)]
    struct Dev {
        #[command(flatten)]
        args: SubtensorArgs,
    }

    #[derive(Parser)]
    struct Node {
        #[command(flatten)]
        args: NodeSubtensorArgs,
    }

    #[test]
    fn empty_args_are_the_default() {
        let parsed = Dev::try_parse_from(["x"]).unwrap();
        assert_eq!(parsed.args, SubtensorArgs::default());
        assert_eq!(parsed.args.network().unwrap(), Network::Dev(DEV_URL.into()));
        let parsed = Node::try_parse_from(["x"]).unwrap();
        assert_eq!(parsed.args, NodeSubtensorArgs::default());
        assert_eq!(
            parsed.args.network().unwrap(),
            Network::Subtensor(FINNEY_URL.into())
        );
    }

    #[test]
    fn named_networks_and_urls() {
        let parsed = Dev::try_parse_from(["x", "--subtensor.network", "finney"]).unwrap();
        assert!(matches!(
            parsed.args.network().unwrap(),
            Network::Subtensor(_)
        ));
        let parsed = Node::try_parse_from(["x", "--subtensor.network", "dev"]).unwrap();
        assert_eq!(parsed.args.network().unwrap(), Network::Dev(DEV_URL.into()));
        let parsed = Dev::try_parse_from(["x", "--subtensor.network", "nowhere"]).unwrap();
        assert!(parsed.args.network().is_err());
    }

    #[test]
    fn chain_endpoint_wins_over_the_network() {
        let parsed = Node::try_parse_from([
            "x",
            "--subtensor.network",
            "test",
            "--subtensor.chain_endpoint",
            "wss://node.example:443",
        ])
        .unwrap();
        assert_eq!(
            parsed.args.network().unwrap(),
            Network::Subtensor("wss://node.example:443".into())
        );
        let parsed =
            Dev::try_parse_from(["x", "--subtensor.chain_endpoint", "http://127.0.0.1:4242"])
                .unwrap();
        assert_eq!(
            parsed.args.network().unwrap(),
            Network::Dev("http://127.0.0.1:4242".into())
        );
        // host:port is a subtensor node over ws://, as the SDK formats it.
        let parsed =
            Node::try_parse_from(["x", "--subtensor.chain_endpoint", "10.0.0.1:9944"]).unwrap();
        assert_eq!(
            parsed.args.network().unwrap(),
            Network::Subtensor("ws://10.0.0.1:9944".into())
        );
        let parsed = Node::try_parse_from(["x", "--subtensor.chain_endpoint", "test"]).unwrap();
        assert_eq!(parsed.args.network().unwrap(), "test".parse().unwrap());
        for bad in ["", "ftp://x", "nowhere"] {
            let parsed = Node::try_parse_from(["x", "--subtensor.chain_endpoint", bad]).unwrap();
            let err = parsed.args.network().unwrap_err().to_string();
            assert!(err.contains("--subtensor.chain_endpoint"), "{err}");
        }
    }
}
