//! The process harness the CLI's multi-process tests share: the real `omron` binary with the
//! user's wallet and log settings cleared, children killed and reaped on drop, `omron chain
//! serve` on a free port, plaintext wallets, free ports and a folder with only the MLP circuit.
//! Each test binary uses part of it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub(crate) const OMRON: &str = env!("CARGO_BIN_EXE_omron");

/// A child process killed (and reaped) when dropped.
pub(crate) struct Proc {
    pub(crate) child: Child,
    pub(crate) log: PathBuf,
}

impl Proc {
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn assert_running(&mut self, what: &str) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("{what} exited ({status}):\n{}", self.log());
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command with the user's wallet and log settings cleared (STYLE habit 8).
pub(crate) fn omron() -> Command {
    let mut cmd = Command::new(OMRON);
    for var in [
        "RUST_LOG",
        "BT_WALLET_NAME",
        "BT_WALLET_HOTKEY",
        "BT_WALLET_PATH",
        "BT_WALLET_PASSWORD",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

/// The output's stdout and stderr as text.
pub(crate) fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The stdout of a command that must have succeeded (`what` names it in the failure).
pub(crate) fn check(output: Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

pub(crate) fn run(args: &[&str]) -> String {
    check(omron().args(args).output().unwrap(), &args.join(" "))
}

/// The first line `child` prints on its piped stdout (`omron chain serve` prints its URL
/// there), waited for up to 60 s and required to be a loopback URL.
pub(crate) fn loopback_url_line(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server printed its URL")
        .trim()
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "unexpected first line {url:?}"
    );
    url
}

/// `omron chain serve` on a free port; returns the process and its URL.
pub(crate) fn serve_chain(dir: &Path) -> (Proc, String) {
    let log = dir.join("chain.log");
    let mut child = omron()
        .args(["chain", "serve", "--port", "0", "--block-time-ms", "100"])
        .arg("--state")
        .arg(dir.join("chain"))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let url = loopback_url_line(&mut child);
    (Proc { child, log }, url)
}

/// A wallet with a plaintext coldkey and hotkey; returns the hotkey's ss58 address.
pub(crate) fn wallet(root: &Path, name: &str) -> String {
    let out = run(&[
        "wallet",
        "create",
        "--no-password",
        "--wallet.path",
        root.to_str().unwrap(),
        "--wallet.name",
        name,
    ]);
    out.lines()
        .find_map(|l| l.strip_prefix("hotkey default: "))
        .map(|s| s.split_whitespace().next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no hotkey address in {out}"))
}

/// A folder with only the MLP circuit.
pub(crate) fn mlp_circuits(dir: &Path) -> PathBuf {
    let root = dir.join("circuits");
    std::fs::create_dir_all(&root).unwrap();
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../circuits/mnist-mlp");
    std::os::unix::fs::symlink(src.canonicalize().unwrap(), root.join("mnist-mlp")).unwrap();
    root
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn free_port_on(ip: &str) -> u16 {
    std::net::TcpListener::bind(format!("{ip}:0"))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
