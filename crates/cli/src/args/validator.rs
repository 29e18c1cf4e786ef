//! The validator's flag groups: the node itself, its HTTP API and its Prometheus exporter.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::Args;

/// The API's default port.
pub(crate) const DEFAULT_API_PORT: u16 = 8000;
/// The exporter's port when only `--prometheus-monitoring` is given (upstream's default).
pub(crate) const DEFAULT_PROMETHEUS_PORT: u16 = 9090;

/// How the validator queries and where it keeps its state.
#[derive(Debug, Clone, Args, PartialEq)]
#[command(next_help_heading = "Validator")]
pub(crate) struct ValidatorNodeArgs {
    /// Proof requests in flight at most (upstream's MAX_CONCURRENT_REQUESTS).
    #[arg(long = "concurrency", value_name = "N", default_value_t = 16)]
    pub(crate) concurrency: usize,
    /// Folder of circuits to ask for (default: `circuits/` of the working directory or of the
    /// repository the binary was built in).
    #[arg(long = "circuits", value_name = "DIR")]
    pub(crate) circuits: Option<PathBuf>,
    /// Folder of the validator's state (scores, windows, hash guard, PoW queue, weights)
    /// (default: ~/.bittensor/omron-rs/validator/<wallet>/<hotkey>/netuid<N>).
    #[arg(long = "state", value_name = "DIR")]
    pub(crate) state: Option<PathBuf>,
    /// Start a new state when the state file exists but is empty or not a validator state
    /// (the old file is moved aside as `<file>.invalid-<time>`, never deleted). Without it
    /// such a file stops the validator.
    #[arg(long = "fresh-state")]
    pub(crate) fresh_state: bool,
    /// Also query miners whose axon is on a loopback, private or link-local IPv4 address
    /// (local networks only; upstream queries global addresses only).
    #[arg(long = "allow-private-axons")]
    pub(crate) allow_private_axons: bool,
    /// Seconds between metagraph reads (it is also read at every new epoch).
    #[arg(
        id = "metagraph.sync-interval",
        long = "metagraph.sync-interval",
        value_name = "SECONDS",
        default_value_t = 300.0
    )]
    pub(crate) sync_interval_secs: f64,
    /// Never set weights (watch-only: query, verify and score).
    #[arg(long = "no-weights")]
    pub(crate) no_weights: bool,
    /// Set weights without the owner burn of the original's newest release (10.3.2), which
    /// scales every weight by 0.2 and gives the subnet owner's uid 0.8.
    #[arg(long = "no-owner-burn")]
    pub(crate) no_owner_burn: bool,
}

impl Default for ValidatorNodeArgs {
    fn default() -> Self {
        Self {
            concurrency: 16,
            circuits: None,
            state: None,
            fresh_state: false,
            allow_private_axons: false,
            sync_interval_secs: 300.0,
            no_weights: false,
            no_owner_burn: false,
        }
    }
}

/// The validator's HTTP API (`/health`, `/scoreboard`, the dashboard at `/`).
#[derive(Debug, Clone, Args, PartialEq, Eq)]
#[command(next_help_heading = "API")]
pub(crate) struct ApiArgs {
    /// Address the API binds (127.0.0.1: this machine only).
    #[arg(id = "api.host", long = "api.host", value_name = "IP",
        default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub(crate) host: IpAddr,
    /// Port of the API (0: any free port, printed at startup).
    #[arg(id = "api.port", long = "api.port", value_name = "PORT",
        default_value_t = DEFAULT_API_PORT)]
    pub(crate) port: u16,
}

impl Default for ApiArgs {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_API_PORT,
        }
    }
}

impl ApiArgs {
    /// The address to bind.
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

/// The Prometheus exporter (`/metrics`, `/health`): off unless a port or upstream's
/// `--prometheus-monitoring` is given.
#[derive(Debug, Clone, Args, PartialEq, Eq)]
#[command(next_help_heading = "Prometheus")]
pub(crate) struct ValidatorPrometheusArgs {
    /// Serve `/metrics` and `/health` on this port (0: any free port, printed at startup).
    #[arg(
        id = "prometheus.port",
        long = "prometheus.port",
        alias = "prometheus-port",
        value_name = "PORT"
    )]
    pub(crate) port: Option<u16>,
    /// Address the exporter binds (loopback by default: metrics and /health are for this
    /// machine's Prometheus; give 0.0.0.0 to expose them, e.g. in a container).
    #[arg(id = "prometheus.ip", long = "prometheus.ip", value_name = "IP",
        default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub(crate) ip: IpAddr,
    /// Upstream's switch: serve the exporter (on port 9090 unless --prometheus.port says
    /// otherwise).
    #[arg(id = "prometheus-monitoring", long = "prometheus-monitoring")]
    pub(crate) monitoring: bool,
}

impl Default for ValidatorPrometheusArgs {
    fn default() -> Self {
        Self {
            port: None,
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            monitoring: false,
        }
    }
}

impl ValidatorPrometheusArgs {
    /// Where the exporter listens, if it is on.
    pub(crate) fn addr(&self) -> Option<SocketAddr> {
        match (self.port, self.monitoring) {
            (Some(port), _) => Some(SocketAddr::new(self.ip, port)),
            (None, true) => Some(SocketAddr::new(self.ip, DEFAULT_PROMETHEUS_PORT)),
            (None, false) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Node {
        #[command(flatten)]
        args: ValidatorNodeArgs,
    }

    #[derive(Parser)]
    struct Api {
        #[command(flatten)]
        args: ApiArgs,
    }

    #[derive(Parser)]
    struct Prom {
        #[command(flatten)]
        args: ValidatorPrometheusArgs,
    }

    #[test]
    fn empty_args_are_the_defaults() {
        assert_eq!(
            Node::try_parse_from(["x"]).unwrap().args,
            ValidatorNodeArgs::default()
        );
        let api = Api::try_parse_from(["x"]).unwrap().args;
        assert_eq!(api, ApiArgs::default());
        assert_eq!(api.addr(), "127.0.0.1:8000".parse().unwrap());
        let prom = Prom::try_parse_from(["x"]).unwrap().args;
        assert_eq!(prom, ValidatorPrometheusArgs::default());
        assert_eq!(prom.addr(), None, "the exporter is off unless asked for");
    }

    #[test]
    fn prometheus_accepts_the_dotted_and_the_upstream_names() {
        let on = |args: &[&str]| {
            let mut argv = vec!["x"];
            argv.extend(args);
            Prom::try_parse_from(argv).unwrap().args.addr()
        };
        assert_eq!(
            on(&["--prometheus.port", "9191"]),
            Some("127.0.0.1:9191".parse().unwrap())
        );
        assert_eq!(
            on(&["--prometheus-port", "9192", "--prometheus.ip", "127.0.0.1"]),
            Some("127.0.0.1:9192".parse().unwrap())
        );
        assert_eq!(
            on(&["--prometheus-monitoring"]),
            Some("127.0.0.1:9090".parse().unwrap())
        );
    }

    #[test]
    fn node_flags_parse() {
        let n = Node::try_parse_from([
            "x",
            "--concurrency",
            "4",
            "--allow-private-axons",
            "--state",
            "/s",
            "--metagraph.sync-interval",
            "2.5",
            "--no-weights",
            "--no-owner-burn",
        ])
        .unwrap()
        .args;
        assert_eq!(n.concurrency, 4);
        assert!(n.allow_private_axons && n.no_weights && n.no_owner_burn);
        assert!(
            !Node::try_parse_from(["x"]).unwrap().args.no_owner_burn,
            "the owner burn is on by default, as in the original 10.3.2"
        );
        assert_eq!(n.state, Some(PathBuf::from("/s")));
        assert_eq!(n.sync_interval_secs, 2.5);
    }
}

/// The external API for apps (`wss://HOST:PORT/rpc`), with the original subnet's flag names.
#[derive(Debug, Clone, Args, PartialEq)]
#[command(next_help_heading = "External API")]
pub(crate) struct ExternalApiArgs {
    /// Turn the external API off (it is on by default; `--ignore-external-requests true|false`
    /// as the original takes it also works).
    #[arg(long = "ignore-external-requests", value_name = "BOOL", num_args = 0..=1,
        default_value_t = false, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub(crate) ignore: bool,
    /// Address the external API binds.
    #[arg(long = "external-api-host", value_name = "IP",
        default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub(crate) host: IpAddr,
    /// Port of the external API (0: any free port, printed at startup).
    #[arg(
        long = "external-api-port",
        value_name = "PORT",
        default_value_t = 8443
    )]
    pub(crate) port: u16,
    /// Folder of cert.pem and key.pem (default: <state>/cert; a self-signed pair is generated
    /// there on first start).
    #[arg(long = "certificate-path", value_name = "DIR")]
    pub(crate) certificate_path: Option<PathBuf>,
    /// Extra names (IP or DNS) for a generated certificate, comma separated.
    #[arg(
        long = "external-api-certificate-names",
        value_name = "NAMES",
        value_delimiter = ','
    )]
    pub(crate) certificate_names: Vec<String>,
    /// Accept requests without checking their signature. LOCAL DEVELOPMENT ONLY.
    #[arg(long = "do-not-verify-external-signatures")]
    pub(crate) do_not_verify: bool,
    /// Keys (ss58) always allowed, comma separated; others need a validator permit on the
    /// subnet named by their x-netuid header.
    #[arg(
        long = "whitelisted-public-keys",
        value_name = "SS58,...",
        value_delimiter = ','
    )]
    pub(crate) whitelist: Vec<String>,
    /// Largest request message, bytes.
    #[arg(long = "external-api-max-message-bytes", value_name = "BYTES", default_value_t = 1 << 20)]
    pub(crate) max_message_bytes: usize,
    /// Requests per minute per key.
    #[arg(
        long = "external-api-rate-limit",
        value_name = "PER_MINUTE",
        default_value_t = 60
    )]
    pub(crate) rate_limit: u32,
    /// Requests in flight per key.
    #[arg(
        long = "external-api-max-in-flight",
        value_name = "N",
        default_value_t = 4
    )]
    pub(crate) max_in_flight: usize,
    /// Requests waiting for a miner at most; beyond, callers are told the validator is busy.
    #[arg(long = "external-api-queue", value_name = "N", default_value_t = 64)]
    pub(crate) queue: usize,
    /// Miners asked per request at most (the first, then retries).
    #[arg(
        long = "external-api-max-attempts",
        value_name = "N",
        default_value_t = 3
    )]
    pub(crate) max_attempts: u32,
    /// Open connections at most.
    #[arg(
        long = "external-api-max-connections",
        value_name = "N",
        default_value_t = 256
    )]
    pub(crate) max_connections: usize,
    /// Do not commit the certificate's fingerprint on chain at start.
    #[arg(long = "no-commit-certificate")]
    pub(crate) no_commit: bool,
}

impl Default for ExternalApiArgs {
    fn default() -> Self {
        Self {
            ignore: false,
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 8443,
            certificate_path: None,
            certificate_names: Vec::new(),
            do_not_verify: false,
            whitelist: Vec::new(),
            max_message_bytes: 1 << 20,
            rate_limit: 60,
            max_in_flight: 4,
            queue: 64,
            max_attempts: 3,
            max_connections: 256,
            no_commit: false,
        }
    }
}

impl ExternalApiArgs {
    /// The node's settings, or `None` when the API is off.
    pub(crate) fn config(
        &self,
        state_dir: &std::path::Path,
    ) -> anyhow::Result<Option<omron_validator::ExternalApiConfig>> {
        if self.ignore {
            return Ok(None);
        }
        let mut whitelist = Vec::new();
        for k in self
            .whitelist
            .iter()
            .map(|k| k.trim())
            .filter(|k| !k.is_empty())
        {
            whitelist.push(
                omron_keys::AccountId::from_ss58(k)
                    .map_err(|e| anyhow::anyhow!("--whitelisted-public-keys: '{k}': {e}"))?,
            );
        }
        for (flag, n) in [
            ("--external-api-max-message-bytes", self.max_message_bytes),
            ("--external-api-rate-limit", self.rate_limit as usize),
            ("--external-api-max-in-flight", self.max_in_flight),
            ("--external-api-queue", self.queue),
            ("--external-api-max-attempts", self.max_attempts as usize),
            ("--external-api-max-connections", self.max_connections),
        ] {
            if n == 0 {
                anyhow::bail!("{flag} must be at least 1");
            }
        }
        let mut c = omron_validator::ExternalApiConfig::new(
            self.certificate_path
                .clone()
                .unwrap_or_else(|| state_dir.join("cert")),
        );
        c.addr = SocketAddr::new(self.host, self.port);
        c.certificate_names = self.certificate_names.clone();
        c.verify_signatures = !self.do_not_verify;
        c.whitelist = whitelist;
        c.max_message_bytes = self.max_message_bytes;
        c.rate_limit_per_minute = self.rate_limit;
        c.max_in_flight_per_key = self.max_in_flight;
        c.queue_capacity = self.queue;
        c.max_attempts = self.max_attempts;
        c.max_connections = self.max_connections;
        c.commit_certificate = !self.no_commit;
        Ok(Some(c))
    }
}
