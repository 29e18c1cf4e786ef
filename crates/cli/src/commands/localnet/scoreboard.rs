//! The localnet scoreboard: the validator's view (`GET /scoreboard`) joined with the chain's
//! (the metagraph), printed as a table and written as the `--summary` JSON. On a terminal it is
//! a live frame redrawn in place, with sparklines (`terminal.rs`, `screen.rs`,
//! `live.rs`, `sparkline.rs`).

mod live;
mod screen;
mod sparkline;
mod terminal;

pub(crate) use live::Frame;
pub(crate) use terminal::Terminal;

use std::collections::BTreeMap;
use std::time::Duration;

use omron_chain::{Metagraph, RAO_PER_TAO};
use serde::{Deserialize, Serialize};

use super::nodes::MinerKind;

/// One miner in the validator's `GET /scoreboard` (fields the validator may add are ignored;
/// missing ones read as zero).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ValidatorRow {
    pub(crate) uid: u16,
    pub(crate) requests: u64,
    pub(crate) verified: u64,
    pub(crate) mean_response_ms: f64,
    pub(crate) mean_proof_bytes: f64,
    pub(crate) score: f64,
    pub(crate) weight: f64,
}

/// The validator's `GET /scoreboard`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ValidatorBoard {
    pub(crate) block: u64,
    pub(crate) miners: Vec<ValidatorRow>,
}

/// Fetches the validator's scoreboard.
pub(crate) async fn fetch(client: &reqwest::Client, api: &str) -> anyhow::Result<ValidatorBoard> {
    let response = client
        .get(format!("{api}/scoreboard"))
        .timeout(Duration::from_secs(5))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "GET /scoreboard answered {}",
        response.status()
    );
    Ok(response.json().await?)
}

/// One miner in `--summary` (and one line of the table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SummaryMiner {
    /// The miner's uid.
    pub(crate) uid: u16,
    /// Its hotkey (ss58).
    pub(crate) hotkey: String,
    /// honest, slow or faulty.
    pub(crate) kind: MinerKind,
    /// Requests the validator sent it.
    pub(crate) requests: u64,
    /// Of which the proof verified.
    pub(crate) verified: u64,
    /// Mean response time the validator measured, milliseconds.
    pub(crate) mean_response_ms: f64,
    /// The validator's score for it.
    pub(crate) score: f64,
    /// Its share of the validator's last weights (the u16 weight over the sum of all).
    pub(crate) weight: f64,
    /// The chain's incentive for it, in [0, 1].
    pub(crate) incentive: f64,
    /// Rao emitted to it at the last epoch.
    pub(crate) emission: u64,
    /// Mean proof size, bytes (table only).
    #[serde(skip)]
    pub(crate) mean_proof_bytes: f64,
}

/// The `--summary` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Summary {
    /// Every miner, by uid.
    pub(crate) miners: Vec<SummaryMiner>,
    /// Blocks produced while the localnet ran.
    pub(crate) blocks: u64,
    /// Epochs of the subnet that ran meanwhile.
    pub(crate) epochs: u64,
}

/// A miner the localnet started: uid, hotkey and kind.
#[derive(Debug, Clone)]
pub(crate) struct KnownMiner {
    pub(crate) uid: u16,
    pub(crate) hotkey: String,
    pub(crate) kind: MinerKind,
}

/// Joins the validator's rows and the metagraph for the miners the localnet started.
pub(crate) fn join(
    miners: &[KnownMiner],
    board: &ValidatorBoard,
    metagraph: &Metagraph,
) -> Vec<SummaryMiner> {
    let rows: BTreeMap<u16, &ValidatorRow> = board.miners.iter().map(|r| (r.uid, r)).collect();
    let weight_sum: f64 = board.miners.iter().map(|r| r.weight.max(0.0)).sum();
    miners
        .iter()
        .map(|m| {
            let row = rows.get(&m.uid);
            let neuron = metagraph
                .by_uid(m.uid)
                .filter(|n| n.hotkey.to_string() == m.hotkey);
            SummaryMiner {
                uid: m.uid,
                hotkey: m.hotkey.clone(),
                kind: m.kind,
                requests: row.map_or(0, |r| r.requests),
                verified: row.map_or(0, |r| r.verified),
                mean_response_ms: row.map_or(0.0, |r| r.mean_response_ms),
                score: row.map_or(0.0, |r| r.score),
                weight: match row {
                    Some(r) if weight_sum > 0.0 => r.weight.max(0.0) / weight_sum,
                    _ => 0.0,
                },
                incentive: neuron.map_or(0.0, |n| n.incentive.as_f64()),
                emission: neuron.map_or(0, |n| n.emission),
                mean_proof_bytes: row.map_or(0.0, |r| r.mean_proof_bytes),
            }
        })
        .collect()
}

fn short(hotkey: &str) -> String {
    if hotkey.len() > 10 {
        format!("{}…{}", &hotkey[..6], &hotkey[hotkey.len() - 4..])
    } else {
        hotkey.to_owned()
    }
}

/// The plain table, one line per miner: what piped output shows at every refresh.
pub(crate) fn render(lines: &[SummaryMiner], block: u64, epoch: u64, elapsed: Duration) -> String {
    let mut out = format!(
        "── block {block} · epoch {epoch} · {:.0} s ──\n{:>4}  {:<11}  {:<6}  {:>5}  {:>8}  {:>8}  {:>8}  {:>10}  {:>7}  {:>9}  {:>10}\n",
        elapsed.as_secs_f64(),
        "UID",
        "HOTKEY",
        "KIND",
        "REQS",
        "VERIFIED",
        "MEAN_MS",
        "PROOF_KB",
        "SCORE",
        "WEIGHT",
        "INCENTIVE",
        "EMIT(TAO)"
    );
    for m in lines {
        let ratio = if m.requests > 0 {
            format!("{:.0}%", 100.0 * m.verified as f64 / m.requests as f64)
        } else {
            "-".into()
        };
        out.push_str(&format!(
            "{:>4}  {:<11}  {:<6}  {:>5}  {:>8}  {:>8.0}  {:>8.1}  {:>10.6}  {:>7.3}  {:>9.4}  {:>10.4}\n",
            m.uid,
            short(&m.hotkey),
            m.kind.label(),
            m.requests,
            ratio,
            m.mean_response_ms,
            m.mean_proof_bytes / 1024.0,
            m.score,
            m.weight,
            m.incentive,
            m.emission as f64 / RAO_PER_TAO as f64,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_chain::{AxonInfo, NeuronInfo, Proportion};
    use omron_keys::Keypair;

    fn neuron(uid: u16, uri: &str, incentive: u16, emission: u64) -> NeuronInfo {
        let hotkey = Keypair::from_uri(uri).unwrap().public();
        NeuronInfo {
            uid,
            hotkey,
            coldkey: hotkey,
            stake: 0,
            validator_permit: false,
            axon: AxonInfo::default(),
            last_update: 0,
            block_at_registration: 0,
            rank: Proportion::ZERO,
            trust: Proportion::ZERO,
            consensus: Proportion::ZERO,
            incentive: Proportion(incentive),
            dividends: Proportion::ZERO,
            validator_trust: Proportion::ZERO,
            emission,
            active: true,
        }
    }

    #[test]
    fn joins_validator_and_chain_views_and_writes_the_summary_shape() {
        let a = Keypair::from_uri("//a").unwrap().public().to_string();
        let b = Keypair::from_uri("//b").unwrap().public().to_string();
        let miners = vec![
            KnownMiner {
                uid: 1,
                hotkey: a.clone(),
                kind: MinerKind::Honest,
            },
            KnownMiner {
                uid: 2,
                hotkey: b.clone(),
                kind: MinerKind::Faulty,
            },
        ];
        let board: ValidatorBoard = serde_json::from_str(
            r#"{"block": 9, "netuid": 1, "validator_uid": 0, "miners": [
                {"uid": 1, "hotkey": "x", "requests": 4, "verified": 4, "mean_response_ms": 12.5,
                 "mean_proof_bytes": 2048, "score": 0.25, "weight": 65535, "extra": true},
                {"uid": 2, "requests": 4, "verified": 0, "weight": 0}]}"#,
        )
        .unwrap();
        let mg = Metagraph {
            netuid: 1,
            block: 9,
            neurons: vec![neuron(1, "//a", 65535, 7), neuron(2, "//b", 0, 0)],
        };
        let lines = join(&miners, &board, &mg);
        assert_eq!(lines[0].weight, 1.0);
        assert_eq!(lines[0].incentive, 1.0);
        assert_eq!(lines[0].emission, 7);
        assert_eq!((lines[1].verified, lines[1].score), (0, 0.0));
        let summary = Summary {
            miners: lines.clone(),
            blocks: 9,
            epochs: 1,
        };
        let v: serde_json::Value = serde_json::to_value(&summary).unwrap();
        let keys: Vec<&str> = v["miners"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = vec![
            "uid",
            "hotkey",
            "kind",
            "requests",
            "verified",
            "mean_response_ms",
            "score",
            "weight",
            "incentive",
            "emission",
        ];
        let mut got = keys.clone();
        got.sort_unstable();
        expected.sort_unstable();
        assert_eq!(got, expected);
        assert_eq!(v["miners"][1]["kind"], "faulty");
        let table = render(&lines, 9, 1, Duration::from_secs(3));
        assert!(
            table.contains("honest") && table.contains("100%"),
            "{table}"
        );
    }
}
