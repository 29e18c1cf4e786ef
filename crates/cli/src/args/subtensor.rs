//! `--subtensor.network`: which chain a command talks to.

use clap::Args;
use omron_chain::Network;

/// Chain selection, shared by every command that reaches the chain.
#[derive(Debug, Clone, Args, PartialEq, Eq)]
#[command(next_help_heading = "Subtensor")]
pub(crate) struct SubtensorArgs {
    /// The chain: `dev` (the embedded chain of `omron chain serve`, http://127.0.0.1:9946),
    /// `finney`, `test`, `local` (a subtensor node at ws://127.0.0.1:9944), or a ws(s):// or
    /// http(s):// URL.
    #[arg(
        long = "subtensor.network",
        value_name = "NETWORK",
        default_value = "dev"
    )]
    pub(crate) network: String,
}

impl Default for SubtensorArgs {
    fn default() -> Self {
        Self {
            network: "dev".into(),
        }
    }
}

impl SubtensorArgs {
    /// The parsed endpoint.
    pub(crate) fn network(&self) -> anyhow::Result<Network> {
        Ok(self.network.parse::<Network>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: SubtensorArgs,
    }

    #[test]
    fn empty_args_are_the_default() {
        let parsed = Wrapper::try_parse_from(["x"]).unwrap();
        assert_eq!(parsed.args, SubtensorArgs::default());
        assert_eq!(
            parsed.args.network().unwrap(),
            Network::Dev(omron_chain::DEV_URL.into())
        );
    }

    #[test]
    fn named_networks_and_urls() {
        let parsed = Wrapper::try_parse_from(["x", "--subtensor.network", "finney"]).unwrap();
        assert!(matches!(
            parsed.args.network().unwrap(),
            Network::Subtensor(_)
        ));
        let parsed = Wrapper::try_parse_from(["x", "--subtensor.network", "nowhere"]).unwrap();
        assert!(parsed.args.network().is_err());
    }
}
