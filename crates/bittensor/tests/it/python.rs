//! Running the real Python SDK from tests. The venvs are made by `scripts/test.sh`, which
//! exports their interpreters in `OMRON_BT10_PYTHON` (bittensor 10.5.0) and `OMRON_BT11_PYTHON`
//! (bittensor 11.3.0). A missing variable fails the test: interop is never skipped silently.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The interpreter named by `var`, or a failure telling how to get it.
pub(crate) fn python(var: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "{var} is not set: run scripts/test.sh, which installs the Bittensor SDK venvs the \
             interop tests need (or export {var}=<venv>/bin/python)"
        ),
    }
}

/// `tests/py/<name>`.
pub(crate) fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(name)
}

/// A command with an isolated HOME (importing bittensor writes `~/.bittensor`).
pub(crate) fn command(python: &PathBuf, home: &tempfile::TempDir, script_name: &str) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg(script(script_name))
        .env("HOME", home.path())
        .env("BT_NO_PARSE_CLI_ARGS", "true")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("BT_WALLET_PASSWORD")
        .kill_on_drop(true);
    cmd
}

/// Runs a script to completion and returns its JSON lines; fails with its output otherwise.
pub(crate) async fn run_json_lines(mut cmd: Command, limit: Duration) -> Vec<serde_json::Value> {
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .expect("python script timed out")
        .expect("python script could not start");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python script failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// A long-running script (a server) that printed `READY`; killed when dropped.
pub(crate) struct Server {
    child: Child,
}

impl Server {
    /// Starts `cmd` and waits for its `READY` line.
    pub(crate) async fn start(mut cmd: Command, limit: Duration) -> Self {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("python server could not start");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(limit, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with("READY") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(ready, Ok(true), "python server did not get ready");
        // Keep draining its stdout so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A free TCP port on 127.0.0.1 (for servers that need the port up front).
pub(crate) fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
