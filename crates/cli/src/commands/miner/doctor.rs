//! `omron miner doctor`: the checks of [`omron_miner::doctor`] with the miner's own flags,
//! printed one line per check (OK / WARN / FAIL / SKIP, then what to fix). Exit code 0 when
//! nothing failed, 1 when a check failed, 2 when the doctor itself could not run (no wallet,
//! no circuits, no chain).
//!
//! The chain's time for the clock check is read here, because the `Chain` trait has no clock:
//! `Timestamp.Now` from a subtensor node, the RPC server's `Date` header from an embedded chain.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use clap::Args;
use omron_chain::{Chain, Network, SubtensorClient};
use omron_miner::doctor::{self, ChainTime, DoctorConfig, Report, Verdict};

use super::{MinerNodeArgs, load_store, read_hotkey};
use crate::Outcome;

/// `omron miner doctor` flags: the miner's, and two of its own.
#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub(crate) node: MinerNodeArgs,
    /// Do not prove a generated input per circuit (the prove-time check is skipped).
    #[arg(id = "no-prove", long = "no-prove")]
    pub(crate) no_prove: bool,
    /// Seconds to wait for the announced axon's answer.
    #[arg(
        id = "probe-timeout",
        long = "probe-timeout",
        value_name = "SECONDS",
        default_value_t = 12.0
    )]
    pub(crate) probe_timeout_secs: f64,
}

/// A subtensor block's timestamp is up to one 12-second block old when read.
const BLOCK_LAG: Duration = Duration::from_secs(12);
/// An HTTP `Date` is truncated to the second.
const DATE_LAG: Duration = Duration::from_secs(1);

pub(super) async fn run(args: DoctorArgs) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        args.probe_timeout_secs.is_finite() && args.probe_timeout_secs > 0.0,
        "--probe-timeout must be a positive number of seconds"
    );
    let miner = args.node.config()?;
    let hotkey = read_hotkey(&args.node)?;
    let (circuits_dir, store) = load_store(args.node.circuits.as_deref())?;
    let network = args.node.subtensor.network()?;
    let (chain, chain_time) = connect(&network).await?;
    println!(
        "omron miner doctor: hotkey {} on netuid {} at {} ({} circuits in {})",
        hotkey.public(),
        miner.netuid,
        network.url(),
        store.len(),
        circuits_dir.display()
    );
    let config = DoctorConfig {
        miner,
        public_network: is_public(&network),
        circuits_dir,
        probe_timeout: Duration::from_secs_f64(args.probe_timeout_secs),
        chain_time,
        prove: !args.no_prove,
    };
    let report = doctor::run(&config, chain.as_ref(), &hotkey, &store).await;
    print_report(&report);
    Ok(if report.failed() {
        Outcome::Rejected
    } else {
        Outcome::Success
    })
}

/// The chain and its time (or why the time could not be read).
async fn connect(network: &Network) -> anyhow::Result<(Arc<dyn Chain>, Result<ChainTime, String>)> {
    let unreachable = || format!("cannot reach the chain at {}", network.url());
    match network {
        Network::Dev(url) => {
            let chain = network.connect().await.with_context(unreachable)?;
            Ok((chain, date_header(url).await))
        }
        Network::Subtensor(url) => {
            let client = SubtensorClient::connect(url)
                .await
                .with_context(unreachable)?;
            let time = timestamp_now(&client).await;
            Ok((Arc::new(client), time))
        }
    }
}

/// `Timestamp.Now` (milliseconds) of the best block.
async fn timestamp_now(client: &SubtensorClient) -> Result<ChainTime, String> {
    let value = client
        .storage_value("Timestamp", "Now", Vec::new())
        .await
        .map_err(|e| format!("Timestamp.Now: {e}"))?
        .ok_or("Timestamp.Now is empty")?;
    let ms = value
        .as_u128()
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| format!("Timestamp.Now is not a number: {value:?}"))?;
    let block = client.current_block().await.unwrap_or(0);
    Ok(doctor::host::chain_time_now(
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
        BLOCK_LAG,
        format!("Timestamp.Now at block {block}"),
    ))
}

/// The embedded chain's RPC server stamps every answer with a `Date` header.
async fn date_header(url: &str) -> Result<ChainTime, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let answer = client.get(url).send().await.map_err(|e| e.to_string())?;
    let date = answer
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .ok_or("the chain's RPC server sent no Date header")?;
    let at = httpdate::parse_http_date(date).map_err(|e| format!("Date `{date}`: {e}"))?;
    Ok(doctor::host::chain_time_now(
        at,
        DATE_LAG,
        format!("the RPC server's Date at {url}"),
    ))
}

/// Whether validators reach miners of this chain over the internet: every subtensor node
/// but one on this machine. An embedded chain is a test network on this machine.
fn is_public(network: &Network) -> bool {
    match network {
        Network::Dev(_) => false,
        Network::Subtensor(url) => {
            let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
            let host = if let Some(v6) = rest.strip_prefix('[') {
                v6.split(']').next().unwrap_or("")
            } else {
                rest.split([':', '/']).next().unwrap_or("")
            };
            !(host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback()))
        }
    }
}

fn print_report(report: &Report) {
    let mut out = std::io::stdout().lock();
    let _ = write_report(&mut out, report);
}

fn write_report(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    writeln!(out)?;
    for f in &report.findings {
        writeln!(
            out,
            "{:<5} {:<13} {}",
            f.verdict.label(),
            f.check,
            f.summary
        )?;
        for d in &f.details {
            writeln!(out, "{:19}- {d}", "")?;
        }
        if let Some(fix) = &f.fix {
            writeln!(out, "{:19}fix: {fix}", "")?;
        }
    }
    writeln!(out)?;
    let verdict = if report.failed() {
        "FAIL"
    } else if report.count(Verdict::Warn) > 0 {
        "OK with warnings"
    } else {
        "OK"
    };
    writeln!(
        out,
        "{} OK, {} WARN, {} FAIL, {} SKIP: {verdict}",
        report.count(Verdict::Ok),
        report.count(Verdict::Warn),
        report.count(Verdict::Fail),
        report.count(Verdict::Skip)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_miner::doctor::Finding;

    #[test]
    fn local_nodes_are_not_public() {
        for (url, public) in [
            ("finney", true),
            ("test", true),
            ("local", false),
            ("ws://localhost:9944", false),
            ("ws://[::1]:9944", false),
            ("wss://my-lite-node.example:443", true),
            ("dev", false),
        ] {
            let n: Network = url.parse().unwrap();
            assert_eq!(is_public(&n), public, "{url}");
        }
    }

    #[test]
    fn report_lines_carry_verdict_check_details_and_fix() {
        let report = Report {
            findings: vec![
                Finding::new("registration", Verdict::Ok, "uid 1"),
                Finding::new("axon", Verdict::Fail, "does not answer")
                    .details(vec!["chain shows 1.2.3.4:1".into()])
                    .fix("open the port"),
            ],
        };
        let mut out = Vec::new();
        write_report(&mut out, &report).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("OK    registration  uid 1"), "{text}");
        assert!(
            text.contains("FAIL  axon          does not answer"),
            "{text}"
        );
        assert!(text.contains("- chain shows 1.2.3.4:1"), "{text}");
        assert!(text.contains("fix: open the port"), "{text}");
        assert!(
            text.trim_end()
                .ends_with("1 OK, 0 WARN, 1 FAIL, 0 SKIP: FAIL"),
            "{text}"
        );
    }
}
