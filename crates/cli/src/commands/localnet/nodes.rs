//! The localnet's child processes: `omron miner` and `omron validator`, each a real process of
//! this same binary with its own ports and log file.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// What a localnet miner does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum MinerKind {
    /// Proves honestly (after its small place in the delay ladder).
    Honest,
    /// Proves honestly but answers late (`--dev.delay-ms`).
    Slow,
    /// Sends corrupted proofs (`--dev.faulty`).
    Faulty,
}

impl MinerKind {
    /// The label in tables and the summary.
    pub(crate) fn label(self) -> &'static str {
        match self {
            MinerKind::Honest => "honest",
            MinerKind::Slow => "slow",
            MinerKind::Faulty => "faulty",
        }
    }

    /// The kinds of `n` miners (n ≥ 3): honest ones, then one slow, then one faulty.
    pub(crate) fn lineup(n: usize) -> Vec<MinerKind> {
        (0..n)
            .map(|i| match n - i {
                1 => MinerKind::Faulty,
                2 => MinerKind::Slow,
                _ => MinerKind::Honest,
            })
            .collect()
    }
}

/// Ports [`free_port`] has handed out in this process.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A free TCP port on `ip` (bound and released; the child binds it a moment later), never one
/// this process has handed out before: the children bind their ports only once started, so
/// without the record two picks (a miner's metrics port, then the validator's API port) could
/// get the same port back from the kernel and one node would fail to start.
pub(crate) fn free_port(ip: IpAddr) -> anyhow::Result<u16> {
    // Rejected picks stay bound until we return, so the kernel cannot offer them again.
    let mut rejected = Vec::new();
    for _ in 0..64 {
        let listener = TcpListener::bind(SocketAddr::new(ip, 0))
            .with_context(|| format!("cannot find a free port on {ip}"))?;
        let port = listener.local_addr()?.port();
        let fresh = HANDED_OUT
            .lock()
            .map_err(|_| anyhow::anyhow!("port record poisoned"))?
            .insert(port);
        if fresh {
            return Ok(port);
        }
        rejected.push(listener);
    }
    bail!("no free port on {ip} that this localnet has not handed out already")
}

/// A running child node.
#[derive(Debug)]
pub(crate) struct Node {
    /// `miner0`, `validator`...
    pub(crate) name: String,
    /// Its log file (stdout and stderr).
    pub(crate) log: PathBuf,
    /// Its `/health` URL.
    pub(crate) health: String,
    child: Child,
    exit: Option<ExitStatus>,
}

impl Node {
    /// Starts `exe args...` with stdout and stderr appended to `log`.
    pub(crate) fn spawn(
        name: &str,
        exe: &Path,
        args: &[OsString],
        log: PathBuf,
        health: String,
    ) -> anyhow::Result<Node> {
        let out = File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let err = out.try_clone()?;
        let mut cmd = Command::new(exe);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Plain logs in the files.
            .env("NO_COLOR", "1");
        die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {name} ({})", exe.display()))?;
        Ok(Node {
            name: name.to_owned(),
            log,
            health,
            child,
            exit: None,
        })
    }

    /// The exit status, if the process has ended.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Asks the process to stop (SIGTERM: the nodes shut down cleanly on it).
    pub(crate) fn terminate(&mut self) {
        if self.exited().is_some() {
            return;
        }
        #[cfg(unix)]
        {
            if let Ok(pid) = i32::try_from(self.child.id()) {
                // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own
                // child, not yet reaped (try_wait above saw it running), so it cannot have
                // been reused by another process.
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = self.child.kill();
        }
    }

    /// Waits up to `grace` for the process to end, then kills it.
    pub(crate) fn wait(&mut self, grace: Duration) -> ExitStatus {
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        tracing::warn!(node = %self.name, "did not stop in time; killing it");
        let _ = self.child.kill();
        let status = self.child.wait().unwrap_or_else(|_| failed_status());
        self.exit = Some(status);
        status
    }

    /// The last `max` bytes of the log, for error messages.
    pub(crate) fn log_tail(&self, max: u64) -> String {
        tail(&self.log, max)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Never leave a child behind, whatever path dropped us.
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(unix)]
fn failed_status() -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    ExitStatus::from_raw(1 << 8)
}

#[cfg(not(unix))]
fn failed_status() -> ExitStatus {
    use std::os::windows::process::ExitStatusExt;
    ExitStatus::from_raw(1)
}

/// Each node gets its own process group, so a Ctrl-C at the terminal reaches only the
/// localnet, which takes the final scoreboard while the nodes still run and then stops them
/// in order. On Linux the node also gets SIGTERM when the localnet process dies, even by
/// SIGKILL, so no node outlives it.
fn die_with_parent(cmd: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the forked child before exec and only calls prctl(2),
        // which is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// The last `max` bytes of a file (lossy UTF-8).
pub(crate) fn tail(path: &Path, max: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(max)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Waits until every node answers `GET /health` with 200; fails when one exits first or the
/// time runs out.
pub(crate) async fn wait_healthy(
    client: &reqwest::Client,
    nodes: &mut [Node],
    limit: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    let mut ready = vec![false; nodes.len()];
    while ready.iter().any(|r| !r) {
        for (node, ok) in nodes.iter_mut().zip(ready.iter_mut()) {
            if *ok {
                continue;
            }
            if let Some(status) = node.exited() {
                bail!(
                    "{} exited during start-up ({status}); its log ({}) ends with:\n{}",
                    node.name,
                    node.log.display(),
                    node.log_tail(4000)
                );
            }
            *ok = client
                .get(&node.health)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
        }
        if Instant::now() > deadline {
            let waiting: Vec<&str> = nodes
                .iter()
                .zip(&ready)
                .filter(|(_, ok)| !**ok)
                .map(|(n, _)| n.name.as_str())
                .collect();
            bail!(
                "nodes not healthy after {} s: {} (see their logs)",
                limit.as_secs(),
                waiting.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many picks in one process never repeat a port, whatever the kernel offers.
    #[test]
    fn free_ports_are_never_handed_out_twice() {
        let ip = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
        let ports: Vec<u16> = (0..300).map(|_| free_port(ip).unwrap()).collect();
        let distinct: BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len());
        assert!(ports.iter().all(|&p| p != 0));
    }

    #[test]
    fn lineup_ends_with_slow_and_faulty() {
        use MinerKind::*;
        assert_eq!(MinerKind::lineup(3), vec![Honest, Slow, Faulty]);
        assert_eq!(MinerKind::lineup(4), vec![Honest, Honest, Slow, Faulty]);
        assert_eq!(
            MinerKind::lineup(6)
                .iter()
                .filter(|k| **k == Honest)
                .count(),
            4
        );
        assert_eq!(serde_json::to_string(&Slow).unwrap(), "\"slow\"");
    }

    #[test]
    fn tail_reads_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.log");
        std::fs::write(&p, "0123456789").unwrap();
        assert_eq!(tail(&p, 4), "6789");
        assert_eq!(tail(&p, 100), "0123456789");
        assert_eq!(tail(&dir.path().join("none"), 4), "");
    }

    #[test]
    fn a_node_is_stopped_by_sigterm_and_its_log_kept() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sleep.log");
        let mut node = Node::spawn(
            "sleeper",
            Path::new("/bin/sh"),
            &["-c".into(), "echo started; exec sleep 30".into()],
            log,
            String::new(),
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert!(node.exited().is_none());
        node.terminate();
        let status = node.wait(Duration::from_secs(10));
        assert!(!status.success());
        assert!(node.log_tail(100).contains("started"));
    }
}
