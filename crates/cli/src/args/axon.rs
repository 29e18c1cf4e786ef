//! `--axon.*`: where a miner's axon listens and the address it announces on chain (the SDK's
//! flag names).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Args;

/// The SDK's default axon port.
pub(crate) const DEFAULT_AXON_PORT: u16 = 8091;

/// Axon address flags.
#[derive(Debug, Clone, Args, PartialEq, Eq)]
#[command(next_help_heading = "Axon")]
pub(crate) struct AxonArgs {
    /// TCP port the axon listens on.
    #[arg(id = "axon.port",
        long = "axon.port", value_name = "PORT", default_value_t = DEFAULT_AXON_PORT)]
    pub(crate) port: u16,
    /// Local address the axon binds (0.0.0.0: every interface).
    #[arg(id = "axon.ip",
        long = "axon.ip", value_name = "IP", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub(crate) ip: IpAddr,
    /// Address announced on chain, where validators dial (needed when --axon.ip is 0.0.0.0).
    #[arg(id = "axon.external_ip", long = "axon.external_ip", value_name = "IP")]
    pub(crate) external_ip: Option<IpAddr>,
    /// Port announced on chain (default: --axon.port), e.g. behind a port forward.
    #[arg(
        id = "axon.external_port",
        long = "axon.external_port",
        value_name = "PORT"
    )]
    pub(crate) external_port: Option<u16>,
}

impl Default for AxonArgs {
    fn default() -> Self {
        Self {
            port: DEFAULT_AXON_PORT,
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            external_ip: None,
            external_port: None,
        }
    }
}

impl AxonArgs {
    /// The bind address.
    pub(crate) fn bind(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: AxonArgs,
    }

    #[test]
    fn empty_args_are_the_default() {
        let parsed = Wrapper::try_parse_from(["x"]).unwrap();
        assert_eq!(parsed.args, AxonArgs::default());
        assert_eq!(parsed.args.bind(), "0.0.0.0:8091".parse().unwrap());
    }

    #[test]
    fn dotted_flags() {
        let parsed = Wrapper::try_parse_from([
            "x",
            "--axon.port",
            "9000",
            "--axon.ip",
            "127.0.0.2",
            "--axon.external_ip",
            "203.0.113.7",
            "--axon.external_port",
            "19000",
        ])
        .unwrap();
        assert_eq!(parsed.args.bind(), "127.0.0.2:9000".parse().unwrap());
        assert_eq!(
            parsed.args.external_ip,
            Some("203.0.113.7".parse().unwrap())
        );
        assert_eq!(parsed.args.external_port, Some(19000));
        assert!(Wrapper::try_parse_from(["x", "--axon.external_ip", "nowhere"]).is_err());
    }
}
