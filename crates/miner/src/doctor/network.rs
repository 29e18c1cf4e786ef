//! The checks that ask the chain and the network: registration, the announced axon (probed with
//! a signed request), and the blacklist's view of the validators.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use omron_bittensor::dendrite::{AxonTarget, Dendrite};
use omron_chain::{ChainResult, Metagraph, NetUid, NeuronInfo, RAO_PER_TAO};
use omron_keys::{AccountId, Keypair};
use omron_protocol::QueryForCapacities;

use super::{DoctorConfig, Finding, Verdict};
use crate::blacklist::{Gatekeeper, Refusal};
use crate::config::MinerConfig;

/// How to register, for the fix lines.
fn register_advice(netuid: NetUid, hotkey: &AccountId) -> String {
    format!(
        "register the hotkey {hotkey}: `btcli subnets register --netuid {netuid} --wallet.name <NAME> --wallet.hotkey <HOTKEY>` on finney/test (it burns the registration cost from the coldkey), or `omron chain register --netuid {netuid} --coldkey <URI> --hotkey {hotkey}` on a dev chain; then start `omron miner`"
    )
}

/// Check 1: the hotkey holds a uid. Returns the neuron when it does.
pub fn registration<'a>(
    metagraph: &'a ChainResult<Metagraph>,
    netuid: NetUid,
    hotkey: &AccountId,
) -> (Finding, Option<&'a NeuronInfo>) {
    let mg = match metagraph {
        Ok(mg) => mg,
        Err(err) => {
            let f = Finding::new(
                "registration",
                Verdict::Fail,
                format!("cannot read the metagraph of netuid {netuid}: {err}"),
            )
            .fix("check --netuid and --subtensor.network / --subtensor.chain_endpoint");
            return (f, None);
        }
    };
    match mg.by_hotkey(hotkey) {
        Some(n) => (
            Finding::new(
                "registration",
                Verdict::Ok,
                format!(
                    "hotkey {hotkey} holds uid {} on netuid {netuid} (block {}, registered at block {})",
                    n.uid, mg.block, n.block_at_registration
                ),
            ),
            Some(n),
        ),
        None => (
            Finding::new(
                "registration",
                Verdict::Fail,
                format!(
                    "hotkey {hotkey} is not registered on netuid {netuid} ({} neurons at block {}): validators never query it",
                    mg.n(),
                    mg.block
                ),
            )
            .fix(register_advice(netuid, hotkey)),
            None,
        ),
    }
}

/// Whether validators on the internet cannot dial `ip`.
fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                // 100.64.0.0/10, carrier-grade NAT.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
        }
    }
}

/// What these flags would announce, with the bind port for a missing `--axon.external_port`.
fn expected_addr(miner: &MinerConfig) -> (Option<IpAddr>, u16) {
    let port = miner.external_port.unwrap_or(miner.axon_bind.port());
    (miner.announced_addr(port).map(|a| a.ip()), port)
}

/// Check 2: the announced axon: present, dialable, answering for this hotkey, as the flags say.
pub async fn axon(config: &DoctorConfig, hotkey: &Keypair, me: &NeuronInfo) -> Finding {
    let Some(addr) = me.axon.socket_addr() else {
        let what = if me.axon.block == 0 {
            "no axon announced on chain for this uid".to_owned()
        } else {
            format!(
                "the chain's axon for this uid has no usable address (ip {:#x}, type {})",
                me.axon.ip, me.axon.ip_type
            )
        };
        return Finding::new("axon", Verdict::Fail, format!("{what}: validators cannot find the miner"))
            .fix("start `omron miner` with --axon.external_ip <public IP> (it announces the axon with serve_axon at start-up)");
    };
    let mut details = Vec::new();
    let mut verdict = Verdict::Ok;
    let mut fixes = Vec::new();
    if addr.ip().is_unspecified() || (config.public_network && is_private(addr.ip())) {
        verdict = Verdict::Fail;
        details.push(format!(
            "{} is not an address validators on the internet can dial",
            addr.ip()
        ));
        fixes.push("set --axon.external_ip to this machine's public IP (and forward the port if behind NAT)".to_owned());
    }
    let (ip, port) = expected_addr(&config.miner);
    let flags_match = port == addr.port() && ip.is_none_or(|ip| ip == addr.ip());
    if !flags_match {
        verdict = verdict_max(verdict, Verdict::Warn);
        let shown = ip.map_or_else(
            || format!("<bind ip>:{port}"),
            |ip| SocketAddr::new(ip, port).to_string(),
        );
        details.push(format!(
            "these flags would announce {shown}, the chain shows {addr}: the running miner uses other flags, or is not running"
        ));
        fixes.push("pass `omron miner doctor` the same --axon.* flags as `omron miner`".to_owned());
    }
    let probe = probe(hotkey, addr, config.probe_timeout).await;
    let summary = match probe {
        Ok(answer) => format!(
            "{addr} (announced at block {}) answers a signed request: {answer}",
            me.axon.block
        ),
        Err(problem) => {
            verdict = Verdict::Fail;
            fixes.push(format!(
                "make {addr} reachable: is `omron miner` running with these flags, does --axon.port match, is the port open in the firewall and forwarded to this machine?"
            ));
            format!("the announced axon {addr} does not answer: {problem}")
        }
    };
    let mut f = Finding::new("axon", verdict, summary).details(details);
    if !fixes.is_empty() {
        f = f.fix(fixes.join("; "));
    }
    f
}

fn verdict_max(a: Verdict, b: Verdict) -> Verdict {
    match (a, b) {
        (Verdict::Fail, _) | (_, Verdict::Fail) => Verdict::Fail,
        (Verdict::Warn, _) | (_, Verdict::Warn) => Verdict::Warn,
        _ => a,
    }
}

/// Sends `QueryForCapacities`, signed by the miner's own hotkey, to `addr` and reads the
/// answer. The axon's blacklist runs before its signature check (as the SDK's), so a refusal of
/// this key (it is not a validator) still shows the axon up, speaking the protocol, for this
/// hotkey.
async fn probe(
    hotkey: &Keypair,
    addr: SocketAddr,
    timeout: std::time::Duration,
) -> Result<String, String> {
    let dendrite =
        Dendrite::new(hotkey.clone()).map_err(|e| format!("cannot build a dendrite: {e}"))?;
    let target = AxonTarget {
        ip: addr.ip().to_string(),
        port: addr.port(),
        hotkey: hotkey.public(),
    };
    let started = Instant::now();
    let answer = dendrite
        .query(&target, QueryForCapacities::default(), timeout)
        .await;
    let ms = started.elapsed().as_millis();
    let code = answer.base.dendrite.status_code.unwrap_or(0);
    let message = answer
        .base
        .dendrite
        .status_message
        .clone()
        .unwrap_or_default();
    let axon_hotkey = answer.base.axon.hotkey.clone();
    let me = hotkey.public().to_ss58();
    if let Some(other) = axon_hotkey.as_deref().filter(|h| *h != me) {
        return Err(format!(
            "the axon there answers for another hotkey, {other} (HTTP {code})"
        ));
    }
    match code {
        200 => {
            let circuits = answer.synapse.capacities.map_or(0, |c| c.len());
            Ok(format!(
                "QueryForCapacities answered in {ms} ms ({circuits} circuits)"
            ))
        }
        403 if axon_hotkey.is_some() => Ok(format!(
            "answered in {ms} ms, refusing this non-validator key as its blacklist should ({message})"
        )),
        _ => Err(format!("HTTP {code} after {ms} ms: {message}")),
    }
}

/// Check 3: the miner's blacklist over every validator holding a permit.
pub fn blacklist_view(miner: &MinerConfig, metagraph: &Metagraph, me: &AccountId) -> Finding {
    let gate = Gatekeeper::new(
        metagraph.clone(),
        miner.stake_threshold,
        miner.disable_blacklist,
    );
    let validators: Vec<&NeuronInfo> = metagraph
        .neurons
        .iter()
        .filter(|n| n.validator_permit && n.hotkey != *me)
        .collect();
    if validators.is_empty() {
        return Finding::new(
            "blacklist",
            Verdict::Warn,
            format!(
                "no neuron holds a validator permit at block {}: nobody will query this miner yet",
                metagraph.block
            ),
        )
        .fix("wait for the next epoch (permits are handed out there); on a dev chain stake a validator with `omron chain stake`");
    }
    let tao = |rao: u64| rao as f64 / RAO_PER_TAO as f64;
    let refused: Vec<String> = validators
        .iter()
        .filter_map(|v| {
            gate.check(&v.hotkey).err().map(|r| {
                let why = match r {
                    Refusal::StakeBelowMinimum { stake, threshold } => {
                        format!("stake {:.3} TAO < {:.3} TAO", tao(stake), tao(threshold))
                    }
                    other => other.to_string(),
                };
                format!("refuses uid {} ({}): {why}", v.uid, v.hotkey)
            })
        })
        .collect();
    let n = validators.len();
    let mode = if miner.disable_blacklist {
        " (--disable-blacklist: every caller is served)"
    } else {
        ""
    };
    match refused.len() {
        0 => Finding::new(
            "blacklist",
            Verdict::Ok,
            format!("accepts all {n} validators with a permit{mode}"),
        ),
        r if r == n => Finding::new(
            "blacklist",
            Verdict::Fail,
            format!("refuses all {n} validators with a permit: nobody can query this miner"),
        )
        .details(refused)
        .fix(format!(
            "validators need {:.0} TAO of stake to pass (upstream's VALIDATOR_STAKE_THRESHOLD); on a test subnet run with --disable-blacklist",
            tao(miner.stake_threshold)
        )),
        // Upstream refuses these too, and the validators that pass can score the miner: a
        // listing, nothing for the miner to fix.
        r => Finding::new(
            "blacklist",
            Verdict::Ok,
            format!(
                "accepts {} of {n} validators with a permit; refuses {r} by upstream's rules (they cannot query any upstream miner either)",
                n - r
            ),
        )
        .details(refused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_chain::{AxonInfo, Proportion};

    fn neuron(uid: u16, stake_tao: u64, permit: bool) -> NeuronInfo {
        NeuronInfo {
            uid,
            hotkey: AccountId([uid as u8 + 1; 32]),
            coldkey: AccountId([0; 32]),
            stake: stake_tao * RAO_PER_TAO,
            validator_permit: permit,
            axon: AxonInfo::default(),
            last_update: 0,
            block_at_registration: 0,
            rank: Proportion::ZERO,
            trust: Proportion::ZERO,
            consensus: Proportion::ZERO,
            incentive: Proportion::ZERO,
            dividends: Proportion::ZERO,
            validator_trust: Proportion::ZERO,
            emission: 0,
            active: true,
        }
    }

    fn graph(neurons: Vec<NeuronInfo>) -> Metagraph {
        Metagraph {
            netuid: 2,
            block: 10,
            neurons,
        }
    }

    #[test]
    fn blacklist_view_names_the_refused_validators() {
        let miner = MinerConfig::new(2, "127.0.0.2:0".parse().unwrap());
        let me = AccountId([1; 32]);
        let mg = graph(vec![
            neuron(0, 0, false),
            neuron(1, 5000, true),
            neuron(2, 10, true),
        ]);
        let f = blacklist_view(&miner, &mg, &me);
        assert_eq!(f.verdict, Verdict::Ok, "{f:?}");
        assert!(f.summary.contains("accepts 1 of 2"), "{f:?}");
        assert_eq!(f.details.len(), 1);
        assert!(
            f.details[0].contains("uid 2") && f.details[0].contains("stake 10.000 TAO"),
            "{f:?}"
        );

        let mg = graph(vec![neuron(0, 0, false), neuron(2, 10, true)]);
        let f = blacklist_view(&miner, &mg, &me);
        assert_eq!(f.verdict, Verdict::Fail);
        assert!(f.fix.unwrap().contains("1024 TAO"));

        let mut open = miner.clone();
        open.disable_blacklist = true;
        assert_eq!(blacklist_view(&open, &mg, &me).verdict, Verdict::Ok);

        let mg = graph(vec![neuron(0, 0, false)]);
        assert_eq!(blacklist_view(&miner, &mg, &me).verdict, Verdict::Warn);
    }

    #[test]
    fn registration_fails_with_advice() {
        let mg = Ok(graph(vec![neuron(0, 0, false)]));
        let stranger = AccountId([9; 32]);
        let (f, n) = registration(&mg, 2, &stranger);
        assert_eq!((f.verdict, n.is_none()), (Verdict::Fail, true));
        assert!(f.fix.unwrap().contains("btcli subnets register --netuid 2"));
        let (f, n) = registration(&mg, 2, &AccountId([1; 32]));
        assert_eq!(f.verdict, Verdict::Ok);
        assert_eq!(n.map(|n| n.uid), Some(0));
    }

    #[test]
    fn private_addresses() {
        for ip in [
            "10.1.2.3",
            "192.168.0.1",
            "127.0.0.2",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["203.0.113.7", "8.8.8.8", "2001:db8::1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }
}
