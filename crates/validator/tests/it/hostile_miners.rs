//! The validator against hostile miners (issue 12, section 3): a real node on the embedded
//! chain, two honest miners (real proofs of the shipped MNIST circuit) and one miner of each
//! hostile kind in `hostile`, all on loopback. First a control run with the honest miners
//! alone, then the same run with the hostile ones: each hostile uid must score zero with its
//! reason logged, every request must end within the circuit's timeout, the process must stay
//! within a memory bound while 40 MB answers arrive, and the honest miners must still be
//! verified every time and asked at a comparable rate.
//!
//! A second, shorter run points several miners answering 20 MB each at a validator whose cap on
//! one answer is raised above that: the answers it reads together stay within its answer
//! budget, and the honest miners are verified every time meanwhile.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use omron_bittensor::dendrite::AxonTarget;
use omron_chain::Chain;
use omron_circuit::CircuitStore;
use omron_validator::store::{LoggedStatus, Store, StoredRequest};
use omron_validator::{Scoreboard, Validator, ValidatorConfig};

use crate::hostile::{Exchange, HonestPeer, HostileMiner, Kind};
use crate::miners::Behaviour;
use crate::node::{Net, announce_axon, fast_subnet, key, mnist, wait_for};

/// The benchmark circuit's timeout here: short, so that silent and trickling miners time out
/// many times in one run.
const TIMEOUT_SECS: u64 = 3;
/// How long each run queries miners.
const RUN: Duration = Duration::from_secs(30);
/// What a request may stay open beyond the timeout (scheduling on a busy 2-core machine).
const SLACK: Duration = Duration::from_millis(1500);
/// Growth of the process's resident memory allowed while the validator runs. Measured: +23 MB
/// (+22 MB without hostile miners) now that the 40 MB answers are refused from their declared
/// length by the 8 MiB cap on one answer; +131 to +142 MB when the cap was 64 MiB and each was
/// read and parsed. Unbounded buffering would be gigabytes (dozens of 40 MB answers per run).
/// The margin is for the other tests of this binary, which run beside this one in the same
/// process (except the answer-budget test below, see [`LARGE_ANSWERS`]).
const RSS_GROWTH_LIMIT_MB: u64 = 400;

/// Held by each test of this file for its whole run: the answer-budget test grows the process
/// by about 450 MB (two 20 MB answers parsed at a time, the miners' bodies, the allocator's
/// leftovers), which would land in the other test's memory bound if they ran together.
static LARGE_ANSWERS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The shipped MNIST circuit with a 3 s timeout (metadata only; its id is the same).
fn circuits() -> Arc<CircuitStore> {
    let mut circuit = mnist().iter().next().unwrap().clone();
    circuit.metadata.timeout = Some(TIMEOUT_SECS);
    Arc::new(CircuitStore::from_circuits(vec![circuit]))
}

/// The process's resident set, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Samples the resident set every 20 ms on its own thread and keeps the peak.
struct RssPeak {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl RssPeak {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kib()));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kib(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self { stop, peak, thread }
    }

    /// The peak in KiB.
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
        self.peak.load(Ordering::Relaxed)
    }
}

struct Outcome {
    board: Scoreboard,
    requests: Vec<StoredRequest>,
    honest_uids: Vec<u16>,
    hostile: Vec<(Kind, u16, Vec<Exchange>)>,
    rss_before_kib: u64,
    rss_peak_kib: u64,
    weights: Option<Scoreboard>,
}

impl Outcome {
    fn of(&self, uid: u16) -> Vec<&StoredRequest> {
        self.requests
            .iter()
            .filter(|r| r.request.uid == uid)
            .collect()
    }

    fn row(&self, uid: u16) -> &omron_validator::MinerRow {
        self.board
            .miners
            .iter()
            .find(|m| m.uid == uid)
            .unwrap_or_else(|| panic!("uid {uid} missing: {:?}", self.board))
    }

    /// Honest requests per second over the run.
    fn honest_rate(&self) -> f64 {
        let n: u64 = self.honest_uids.iter().map(|&u| self.row(u).requests).sum();
        n as f64 / RUN.as_secs_f64()
    }

    /// An honest miner's score as a share of the best possible (`1 / n` uids).
    fn honest_share(&self, uid: u16) -> f64 {
        self.row(uid).score * self.board.miners.len().max(1) as f64
    }
}

/// One run: two honest miners, and the hostile ones when `with_hostile`.
async fn run(with_hostile: bool) -> Outcome {
    let circuits = circuits();
    let net = Net::start(
        circuits.clone(),
        fast_subnet(),
        &[Behaviour::Honest, Behaviour::Honest],
        Duration::from_millis(100),
    )
    .await;
    let honest = HonestPeer {
        target: AxonTarget {
            ip: "127.0.0.2".into(),
            port: net.miners[0].port,
            hotkey: net.miners[0].keypair.public(),
        },
    };
    let honest_uids = vec![2, 3];
    let mut hostile = Vec::new();
    if with_hostile {
        let alice = key("//Alice");
        for (i, kind) in Kind::ALL.into_iter().enumerate() {
            let hot = key(&format!("//Alice/hostile{i}"));
            let uid = net
                .chain
                .burned_register(&alice, net.netuid, &hot.public())
                .await
                .unwrap();
            let m = HostileMiner::start(kind, hot, circuits.clone(), honest.clone()).await;
            serve(&net, &m).await;
            hostile.push((uid, m));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("validator.sqlite");
    let config = ValidatorConfig {
        // The reference's MAX_CONCURRENT_REQUESTS, as a real validator runs.
        concurrency: 16,
        api_addr: None,
        metrics_addr: None,
        ..net.config()
    };
    let rss_before_kib = rss_kib();
    let rss = RssPeak::start();
    let v = Validator::start(config, net.parts(Store::open(&file).unwrap(), None))
        .await
        .unwrap();
    let started = Instant::now();
    tokio::time::sleep(RUN).await;
    let board = v.scoreboard().await.unwrap();
    eprintln!(
        "{} run: {:?}, {} batches applied",
        if with_hostile { "hostile" } else { "control" },
        started.elapsed(),
        v.metrics().pow_batches_applied()
    );
    let weights = if with_hostile {
        Some(
            wait_for("weights on chain", Duration::from_secs(60), || async {
                let b = v.scoreboard().await.unwrap();
                b.miners.iter().any(|m| m.weight > 0).then_some(b)
            })
            .await,
        )
    } else {
        None
    };
    v.shutdown().await.unwrap();
    let rss_peak_kib = rss.stop();
    let requests = read_log(&file);
    let mut timed = Vec::new();
    for (uid, m) in hostile {
        timed.push((m.kind, uid, m.exchanges()));
        m.stop().await;
    }
    net.stop().await;
    Outcome {
        board,
        requests,
        honest_uids,
        hostile: timed,
        rss_before_kib,
        rss_peak_kib,
        weights,
    }
}

/// Publishes a hostile miner's axon on the chain.
async fn serve(net: &Net, m: &HostileMiner) {
    announce_axon(&net.chain, net.netuid, &m.keypair, m.port).await;
}

fn read_log(file: &Path) -> Vec<StoredRequest> {
    Store::open(file)
        .unwrap()
        .recent_requests(1_000_000, false)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_miners_score_zero_cost_bounded_time_and_memory_and_honest_miners_are_unaffected() {
    let _alone = LARGE_ANSWERS.lock().await;
    let control = run(false).await;
    let hostile = run(true).await;
    let timeout = Duration::from_secs(TIMEOUT_SECS);
    report(&control, &hostile);

    for (kind, uid, exchanges) in &hostile.hostile {
        let row = hostile.row(*uid);
        let log = hostile.of(*uid);
        assert_eq!(row.score, 0.0, "{kind:?} never earns a score: {row:?}");
        assert_eq!(row.verified, 0, "{kind:?} never verifies: {row:?}");
        assert!(row.requests >= 2, "{kind:?} is still asked: {row:?}");
        // The log is read after the scoreboard, so it may hold a few more.
        assert!(
            log.len() as u64 >= row.requests,
            "{kind:?}: every request logged"
        );
        for r in &log {
            assert_ne!(r.request.status, LoggedStatus::Verified, "{kind:?}");
            assert!(
                r.request.detail.contains(kind.reason()),
                "{kind:?}: logged reason {:?} should say {:?}",
                r.request.detail,
                kind.reason()
            );
            assert_eq!(r.request.score, 0.0, "{kind:?}");
        }
        for e in exchanges {
            assert!(
                e.open_for <= timeout + SLACK,
                "{kind:?}: a request stayed open {:?} (timeout {timeout:?})",
                e.open_for
            );
        }
        if matches!(kind, Kind::Trickle | Kind::Silent) {
            assert!(
                exchanges.iter().all(|e| e.cut_by_validator),
                "{kind:?}: the validator hangs up"
            );
            // One request at a time, one per timeout: the straggler is still sampled.
            let expected = (RUN.as_secs() / (TIMEOUT_SECS + 1)) as usize;
            assert!(
                exchanges.len() >= expected,
                "{kind:?}: {} requests in {RUN:?}, expected at least {expected}",
                exchanges.len()
            );
        }
        if let Some(w) = &hostile.weights {
            let weight = w.miners.iter().find(|m| m.uid == *uid).map(|m| m.weight);
            assert_eq!(weight.unwrap_or(0), 0, "{kind:?} gets no weight");
        }
    }

    for &uid in &hostile.honest_uids {
        for (name, o) in [("control", &control), ("hostile", &hostile)] {
            let row = o.row(uid);
            assert!(row.requests > 10, "{name}: {row:?}");
            assert_eq!(row.verified, row.requests, "{name}: every proof verified");
            assert!(row.score > 0.0, "{name}: {row:?}");
        }
        assert!(
            hostile.honest_share(uid) > 0.5 * control.honest_share(uid),
            "uid {uid}: hostile miners do not drag an honest score down: {} vs {}",
            hostile.honest_share(uid),
            control.honest_share(uid)
        );
        if let Some(w) = &hostile.weights {
            let weight = w.miners.iter().find(|m| m.uid == uid).map(|m| m.weight);
            assert!(weight.unwrap_or(0) > 0, "honest uid {uid} gets weight");
        }
    }
    let (with, without) = (hostile.honest_rate(), control.honest_rate());
    // Every miner here runs in this process on the same two cores: nine hostile miners that
    // prove, relay and answer 40 MB take CPU a real validator would not share, so the honest
    // rate drops for that reason alone. Starving would look different: with 11 uids and 16
    // slots each uid is asked again as soon as its request ends, so honest miners must be
    // asked about as often as the cheaters that also prove (within 20%).
    let provers = hostile
        .hostile
        .iter()
        .filter(|(k, ..)| matches!(k, Kind::GarbageProof | Kind::OtherInput | Kind::OtherNonce))
        .map(|(_, uid, _)| hostile.row(*uid).requests)
        .max()
        .unwrap();
    for &uid in &hostile.honest_uids {
        let asked = hostile.row(uid).requests;
        assert!(
            asked as f64 >= 0.8 * provers as f64,
            "honest uid {uid} asked {asked} times, cheaters that also prove up to {provers}"
        );
    }
    // A floor only (measured: about 18% of the control on a loaded 2-core machine): the
    // per-uid comparison above is the starvation check.
    assert!(
        with > 0.05 * without,
        "honest miners are not starved: {with:.1}/s with hostile miners, {without:.1}/s without"
    );

    let growth_mb = hostile.rss_peak_kib.saturating_sub(hostile.rss_before_kib) / 1024;
    assert!(
        growth_mb < RSS_GROWTH_LIMIT_MB,
        "memory stays bounded: +{growth_mb} MB with {} MB answers",
        crate::hostile::OVERSIZED_BYTES >> 20
    );
}

/// Prints what the assertions look at, so a failure shows the whole picture.
fn report(control: &Outcome, hostile: &Outcome) {
    for (kind, uid, exchanges) in &hostile.hostile {
        let row = hostile.row(*uid);
        let reasons: std::collections::BTreeSet<String> = hostile
            .of(*uid)
            .iter()
            .map(|r| r.request.detail.chars().take(90).collect())
            .collect();
        eprintln!(
            "{kind:?} uid {uid}: {} requests, score {}, {} exchanges (longest {:?}), reasons {:?}",
            row.requests,
            row.score,
            exchanges.len(),
            exchanges.iter().map(|e| e.open_for).max(),
            reasons.iter().take(2).collect::<Vec<_>>()
        );
    }
    for &uid in &hostile.honest_uids {
        for (name, o) in [("control", control), ("hostile", hostile)] {
            let row = o.row(uid);
            eprintln!(
                "{name}: honest uid {uid}: {} requests, {} verified, score {} ({:.3} of the best), {:.1} ms mean",
                row.requests,
                row.verified,
                row.score,
                o.honest_share(uid),
                row.mean_response_ms
            );
        }
    }
    eprintln!(
        "honest requests per second: {:.1} with hostile miners, {:.1} without",
        hostile.honest_rate(),
        control.honest_rate()
    );
    for (name, o) in [("control", control), ("hostile", hostile)] {
        eprintln!(
            "{name}: resident memory {} MB before the validator, {} MB peak (+{} MB)",
            o.rss_before_kib / 1024,
            o.rss_peak_kib / 1024,
            o.rss_peak_kib.saturating_sub(o.rss_before_kib) / 1024
        );
    }
}

/// Several miners answer 20 MB each, all at once, to a validator that reads answers of up to
/// 32 MiB but holds at most 48 MiB of them: two at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_answers_at_once_stay_within_the_answer_budget_and_honest_miners_are_unaffected() {
    const LARGE: usize = 20_000_000;
    const LARGE_MINERS: usize = 4;
    const BUDGET: usize = 48 << 20;
    let _alone = LARGE_ANSWERS.lock().await;
    let circuits = circuits();
    let net = Net::start(
        circuits.clone(),
        fast_subnet(),
        &[Behaviour::Honest, Behaviour::Honest],
        Duration::from_millis(100),
    )
    .await;
    let alice = key("//Alice");
    let mut large = Vec::new();
    for i in 0..LARGE_MINERS {
        let hot = key(&format!("//Alice/large{i}"));
        let uid = net
            .chain
            .burned_register(&alice, net.netuid, &hot.public())
            .await
            .unwrap();
        let m = HostileMiner::oversized(hot, LARGE).await;
        serve(&net, &m).await;
        large.push((uid, m));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("validator.sqlite");
    let config = ValidatorConfig {
        concurrency: 16,
        api_addr: None,
        metrics_addr: None,
        max_answer_bytes: 32 << 20,
        answer_budget_bytes: BUDGET,
        ..net.config()
    };
    let v = Validator::start(config, net.parts(Store::open(&file).unwrap(), None))
        .await
        .unwrap();
    let budget = v.metrics().answer_budget().unwrap();
    // Until every large miner was read at least twice, and at least 8 s.
    let started = Instant::now();
    wait_for("large answers read", Duration::from_secs(90), || async {
        let board = v.scoreboard().await.unwrap();
        let asked = |uid| {
            board
                .miners
                .iter()
                .find(|m| m.uid == uid)
                .map(|m| m.requests)
        };
        let done = large.iter().all(|(uid, _)| asked(*uid).unwrap_or(0) >= 2);
        (done && started.elapsed() > Duration::from_secs(8)).then_some(())
    })
    .await;
    let board = v.scoreboard().await.unwrap();
    v.shutdown().await.unwrap();
    // Requests abandoned at shutdown drop their reservations as their tasks are dropped.
    wait_for("answer bytes released", Duration::from_secs(10), || async {
        (budget.in_use() == 0).then_some(())
    })
    .await;
    let requests = read_log(&file);
    eprintln!(
        "answer budget: peak {} of {BUDGET} bytes, {} waits, {} refusals, {} in use after; {:?}",
        budget.peak(),
        budget.waits(),
        budget.refusals(),
        budget.in_use(),
        started.elapsed()
    );

    assert!(budget.peak() <= BUDGET, "peak {} > {BUDGET}", budget.peak());
    assert!(
        budget.peak() >= 2 * LARGE,
        "two large answers were held at once: peak {}",
        budget.peak()
    );
    assert!(budget.waits() > 0, "large answers waited for room");
    let row = |uid: u16| board.miners.iter().find(|m| m.uid == uid).unwrap();
    for (uid, _) in &large {
        let log: Vec<&str> = requests
            .iter()
            .filter(|r| r.request.uid == *uid)
            .map(|r| r.request.detail.as_str())
            .collect();
        eprintln!("large uid {uid}: {:?}", row(*uid));
        for detail in &log {
            assert!(
                detail.contains("proof rejected") || detail.contains("answer budget"),
                "uid {uid}: {detail}"
            );
        }
        assert!(
            log.iter().any(|d| d.contains("proof rejected")),
            "uid {uid}: its answers were read whole and checked: {log:?}"
        );
    }
    // No honest answer waited out its timeout or was refused for room: every one verified
    // (scores follow at the first 256-answer batch, which this short run does not wait for).
    for uid in [2, 3] {
        let r = row(uid);
        eprintln!("honest uid {uid}: {r:?}");
        assert!(r.requests > 10, "{r:?}");
        assert_eq!(r.verified, r.requests, "every honest proof verified: {r:?}");
    }
    for (_, m) in large {
        m.stop().await;
    }
    net.stop().await;
}
