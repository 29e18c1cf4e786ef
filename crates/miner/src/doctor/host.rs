//! The checks of this machine: prove times against the validators' timeouts, free disk space,
//! and the clock against the chain's.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use omron_circuit::{CircuitStore, StoredCircuit};
use omron_keys::Keypair;
use rand::SeedableRng;

use super::{ChainTime, Finding, Verdict};

/// A proof taking more than this share of the timeout is a warning: network time, queueing
/// behind other requests and slower hardware under load all come on top, and the validators
/// score response time.
pub const PROVE_WARN_SHARE: f64 = 0.5;

/// Free space below this fails (bytes): the miner writes logs and temporary files.
pub const DISK_FAIL_BYTES: u64 = 256 << 20;
/// Free space below this warns (bytes).
pub const DISK_WARN_BYTES: u64 = 2 << 30;

/// How far the local clock may be behind the chain's before this axon refuses validators'
/// nonces as "from the future" (`NonceRules::max_future_ns`, 30 s).
pub const CLOCK_BEHIND_FAIL: Duration = Duration::from_secs(30);
/// How far ahead the local clock may be before validators' nonces look older than the SDK's
/// window (`ALLOWED_DELTA` 4 s plus the request's 60 s timeout).
pub const CLOCK_AHEAD_FAIL: Duration = Duration::from_secs(64);
/// Either way, beyond this the clock is worth fixing (the SDK's `ALLOWED_DELTA`).
pub const CLOCK_WARN: Duration = Duration::from_secs(4);

/// Proves one generated input on `circuit` as `hotkey`, the way a validator's request is
/// proved; returns the time.
fn prove_once(circuit: &StoredCircuit, hotkey: &[u8; 32]) -> Result<Duration, String> {
    // Fixed seed: the doctor's numbers are comparable from run to run.
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let started = Instant::now();
    if circuit.is_proof_of_weights() {
        let inputs = circuit
            .generate_pow_inputs(&mut rng)
            .ok_or("the circuit generates no benchmark batch")?;
        circuit
            .prove_pow(&inputs, hotkey)
            .map_err(|e| e.to_string())?;
    } else {
        let input = circuit.generate_input(&mut rng);
        circuit
            .prove_request(&input, hotkey)
            .map_err(|e| e.to_string())?;
    }
    Ok(started.elapsed())
}

/// Check 4, one finding per circuit: its prove time against its timeout (the validators
/// query with `timeout_secs`, 60 s unless the circuit's metadata says otherwise).
pub async fn prove_times(store: &CircuitStore, hotkey: &Keypair) -> Vec<Finding> {
    let key = *hotkey.public().as_bytes();
    let mut out = Vec::new();
    for circuit in store.iter() {
        let name = circuit.metadata.name.clone();
        let timeout = Duration::from_secs(circuit.timeout_secs());
        // Proving is CPU-bound: off the async runtime, one circuit at a time.
        let c = circuit.clone();
        let timed = tokio::task::spawn_blocking(move || prove_once(&c, &key))
            .await
            .map_err(|e| format!("the proving task died: {e}"))
            .and_then(|r| r);
        out.push(prove_finding(&name, timed, timeout));
    }
    out
}

fn prove_finding(name: &str, timed: Result<Duration, String>, timeout: Duration) -> Finding {
    let secs = timeout.as_secs_f64();
    match timed {
        Err(e) => Finding::new("prove", Verdict::Fail, format!("{name}: proving a generated input failed: {e}"))
            .fix("check the circuit folder (recompile with `omron circuit compile`) or stop serving it"),
        Ok(t) if t >= timeout => Finding::new(
            "prove",
            Verdict::Fail,
            format!("{name}: {:.2} s, over the validators' {secs:.0} s timeout", t.as_secs_f64()),
        )
        .fix("every request for this circuit times out: use a faster machine, lower --max-concurrent-proofs, or stop serving the circuit"),
        Ok(t) if t.as_secs_f64() >= secs * PROVE_WARN_SHARE => Finding::new(
            "prove",
            Verdict::Warn,
            format!("{name}: {:.2} s, near the validators' {secs:.0} s timeout", t.as_secs_f64()),
        )
        .fix("network time and concurrent requests come on top: a faster machine or fewer concurrent proofs keeps answers in time"),
        Ok(t) => Finding::new(
            "prove",
            Verdict::Ok,
            format!("{name}: {:.3} s of the validators' {secs:.0} s timeout", t.as_secs_f64()),
        ),
    }
}

/// Check 5a: free disk space where the circuits are.
pub fn disk(dir: &Path) -> Finding {
    let stat = match rustix::fs::statvfs(dir) {
        Ok(s) => s,
        Err(e) => {
            return Finding::new(
                "disk",
                Verdict::Warn,
                format!("cannot read the free space of {}: {e}", dir.display()),
            );
        }
    };
    let free = stat.f_bavail.saturating_mul(stat.f_frsize);
    disk_finding(dir, free)
}

fn disk_finding(dir: &Path, free: u64) -> Finding {
    let gib = free as f64 / (1u64 << 30) as f64;
    let summary = format!("{gib:.1} GiB free in {}", dir.display());
    let fix = "free some space: logs and temporary files go there too";
    if free < DISK_FAIL_BYTES {
        Finding::new("disk", Verdict::Fail, summary).fix(fix)
    } else if free < DISK_WARN_BYTES {
        Finding::new("disk", Verdict::Warn, summary).fix(fix)
    } else {
        Finding::new("disk", Verdict::Ok, summary)
    }
}

/// Check 5b: the local clock against the chain's. Positive `ahead`: the local clock is later.
pub fn clock(chain_time: &Result<ChainTime, String>) -> Finding {
    let t = match chain_time {
        Ok(t) => t,
        Err(e) => {
            return Finding::new(
                "clock",
                Verdict::Warn,
                format!("cannot read the chain's time: {e}"),
            )
            .fix("keep the clock synchronised (NTP: `timedatectl set-ntp true`)");
        }
    };
    // The chain's time may legitimately be up to `lag` old when read.
    let (ahead, behind) = match t.read_at.duration_since(t.at) {
        Ok(d) => (d.saturating_sub(t.lag), Duration::ZERO),
        Err(e) => (Duration::ZERO, e.duration()),
    };
    clock_finding(&t.source, ahead, behind)
}

fn clock_finding(source: &str, ahead: Duration, behind: Duration) -> Finding {
    let fix = "synchronise the clock (NTP: `timedatectl set-ntp true`, or chrony)";
    if behind > CLOCK_BEHIND_FAIL {
        Finding::new("clock", Verdict::Fail, format!(
            "local clock {:.1} s behind the chain ({source}): the axon refuses validators' nonces more than {} s ahead",
            behind.as_secs_f64(), CLOCK_BEHIND_FAIL.as_secs()
        )).fix(fix)
    } else if ahead > CLOCK_AHEAD_FAIL {
        Finding::new("clock", Verdict::Fail, format!(
            "local clock at least {:.1} s ahead of the chain ({source}): validators' requests look older than the {} s nonce window",
            ahead.as_secs_f64(), CLOCK_AHEAD_FAIL.as_secs()
        )).fix(fix)
    } else if behind > CLOCK_WARN || ahead > CLOCK_WARN {
        let (d, dir) = if behind > ahead {
            (behind, "behind")
        } else {
            (ahead, "ahead of")
        };
        Finding::new(
            "clock",
            Verdict::Warn,
            format!(
                "local clock {:.1} s {dir} the chain ({source})",
                d.as_secs_f64()
            ),
        )
        .fix(fix)
    } else {
        Finding::new(
            "clock",
            Verdict::Ok,
            format!(
                "local clock within {} s of the chain ({source})",
                CLOCK_WARN.as_secs()
            ),
        )
    }
}

/// The clock reading for a chain time `at` read now, `lag` old at most.
pub fn chain_time_now(at: SystemTime, lag: Duration, source: String) -> ChainTime {
    ChainTime {
        at,
        read_at: SystemTime::now(),
        lag,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prove_verdicts_by_share_of_the_timeout() {
        let t = Duration::from_secs(60);
        assert_eq!(
            prove_finding("m", Ok(Duration::from_secs(1)), t).verdict,
            Verdict::Ok
        );
        assert_eq!(
            prove_finding("m", Ok(Duration::from_secs(31)), t).verdict,
            Verdict::Warn
        );
        let over = prove_finding("m", Ok(Duration::from_secs(61)), t);
        assert_eq!(over.verdict, Verdict::Fail);
        assert!(
            over.summary.contains("over the validators' 60 s timeout"),
            "{over:?}"
        );
        assert_eq!(
            prove_finding("m", Err("x".into()), t).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn disk_thresholds() {
        let p = Path::new("/x");
        assert_eq!(disk_finding(p, 100 << 20).verdict, Verdict::Fail);
        assert_eq!(disk_finding(p, 1 << 30).verdict, Verdict::Warn);
        assert_eq!(disk_finding(p, 10 << 30).verdict, Verdict::Ok);
        assert_eq!(
            disk(Path::new("/nonexistent/really")).verdict,
            Verdict::Warn
        );
        assert_ne!(disk(Path::new(".")).summary, "");
    }

    #[test]
    fn clock_skew_either_way() {
        let now = SystemTime::now();
        let at = |offset: i64| {
            let base = ChainTime {
                at: now,
                read_at: now,
                lag: Duration::from_secs(12),
                source: "test".into(),
            };
            if offset >= 0 {
                ChainTime {
                    at: now - Duration::from_secs(offset as u64),
                    ..base
                }
            } else {
                ChainTime {
                    at: now + Duration::from_secs((-offset) as u64),
                    ..base
                }
            }
        };
        // A block 10 s old is within the lag.
        assert_eq!(clock(&Ok(at(10))).verdict, Verdict::Ok);
        assert_eq!(clock(&Ok(at(20))).verdict, Verdict::Warn);
        assert_eq!(clock(&Ok(at(100))).verdict, Verdict::Fail);
        assert_eq!(clock(&Ok(at(-2))).verdict, Verdict::Ok);
        assert_eq!(clock(&Ok(at(-10))).verdict, Verdict::Warn);
        let f = clock(&Ok(at(-40)));
        assert_eq!(f.verdict, Verdict::Fail);
        assert!(f.summary.contains("behind"), "{f:?}");
        assert_eq!(clock(&Err("no".into())).verdict, Verdict::Warn);
    }
}
