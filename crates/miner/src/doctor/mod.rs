//! `omron miner doctor`: checks that a miner can earn, each answered OK / WARN / FAIL with what
//! to fix. The checks follow the question "why is my incentive zero?" in order:
//!
//! 1. [`network::registration`]: the hotkey holds a uid on the subnet;
//! 2. [`network::axon`]: the chain shows an axon address for it, one validators can dial, that
//!    answers a signed request from our dendrite for this hotkey, and that these flags would
//!    announce;
//! 3. [`network::blacklist_view`]: the miner's own blacklist ([`crate::Gatekeeper`]) accepts
//!    the validators holding a permit;
//! 4. [`host::prove_times`]: every served circuit proves a generated input (as a validator's
//!    request) well within the validators' timeout for it;
//! 5. [`host::disk`] and [`host::clock`]: free disk space where the circuits are, and the local
//!    clock against the chain's (the axon refuses nonces from a clock too far off).
//!
//! The checks only read: nothing is announced or registered. The CLI prints the [`Report`] and
//! exits 1 when any check failed.

pub mod host;
pub mod network;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use omron_chain::Chain;
use omron_circuit::CircuitStore;
use omron_keys::Keypair;

use crate::config::MinerConfig;

/// A check's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to do.
    Ok,
    /// Works, but worth a look.
    Warn,
    /// Costs incentive until fixed.
    Fail,
    /// Not run, because an earlier check failed (e.g. no uid, so no axon to probe).
    Skip,
}

impl Verdict {
    /// The printed label.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "OK",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "SKIP",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The check's short name (`registration`, `axon`, ...).
    pub check: &'static str,
    /// Its answer.
    pub verdict: Verdict,
    /// What was found, in one line.
    pub summary: String,
    /// Further lines (e.g. the refused validators).
    pub details: Vec<String>,
    /// What to do about a WARN or FAIL.
    pub fix: Option<String>,
}

impl Finding {
    /// A finding without details or fix.
    pub fn new(check: &'static str, verdict: Verdict, summary: impl Into<String>) -> Self {
        Self {
            check,
            verdict,
            summary: summary.into(),
            details: Vec::new(),
            fix: None,
        }
    }

    /// Adds what to do.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// Adds detail lines.
    pub fn details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }
}

/// Every finding, in check order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The findings.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether any check failed (the CLI's exit code 1).
    pub fn failed(&self) -> bool {
        self.findings.iter().any(|f| f.verdict == Verdict::Fail)
    }

    /// How many findings have this verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.findings
            .iter()
            .filter(|f| f.verdict == verdict)
            .count()
    }
}

/// The chain's idea of "now", read by the caller: the [`Chain`] trait has no clock, so the
/// CLI reads `Timestamp.Now` from a subtensor node or the `Date` header of the embedded chain's
/// RPC server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainTime {
    /// The chain's time.
    pub at: SystemTime,
    /// When it was read locally.
    pub read_at: SystemTime,
    /// How old the chain's time may be when read (a block timestamp is up to one block old;
    /// a `Date` header is truncated to the second).
    pub lag: Duration,
    /// Where it came from, for the report (`Timestamp.Now at block 123`).
    pub source: String,
}

/// What the doctor checks against: the miner's own settings and where things are.
#[derive(Debug, Clone)]
pub struct DoctorConfig {
    /// The miner's settings, from the same flags as `omron miner`.
    pub miner: MinerConfig,
    /// Whether validators reach the miner over the internet (finney, test, a remote node): a
    /// private or loopback axon address then fails. `false` for a chain on this machine.
    pub public_network: bool,
    /// The circuits folder (for the disk check).
    pub circuits_dir: PathBuf,
    /// How long the axon probe waits for an answer.
    pub probe_timeout: Duration,
    /// The chain's time, or why it could not be read.
    pub chain_time: Result<ChainTime, String>,
    /// Whether to prove once per circuit (skip with `--no-prove` when proving takes long).
    pub prove: bool,
}

/// Runs every check, in order.
pub async fn run(
    config: &DoctorConfig,
    chain: &dyn Chain,
    hotkey: &Keypair,
    store: &CircuitStore,
) -> Report {
    let mut findings = Vec::new();
    let netuid = config.miner.netuid;
    let metagraph = chain.metagraph(netuid).await;
    let (registration, neuron) = network::registration(&metagraph, netuid, &hotkey.public());
    findings.push(registration);
    match (&metagraph, neuron) {
        (Ok(mg), Some(me)) => {
            findings.push(network::axon(config, hotkey, me).await);
            findings.push(network::blacklist_view(&config.miner, mg, &hotkey.public()));
        }
        _ => {
            for check in ["axon", "blacklist"] {
                findings.push(Finding::new(
                    check,
                    Verdict::Skip,
                    "needs a registered hotkey (see registration)",
                ));
            }
        }
    }
    if config.prove {
        findings.extend(host::prove_times(store, hotkey).await);
    } else {
        findings.push(Finding::new(
            "prove",
            Verdict::Skip,
            "--no-prove: circuits not timed",
        ));
    }
    findings.push(host::disk(&config.circuits_dir));
    findings.push(host::clock(&config.chain_time));
    Report { findings }
}
