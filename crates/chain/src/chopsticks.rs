//! A real subtensor runtime on this machine: the npm package `@acala-network/chopsticks`
//! executes the runtime's wasm from a chain spec (the shipped `raonet-genesis.json`: spec
//! version 218, the dynamic-TAO release) and serves the standard JSON-RPC, with no network and
//! no compiled node (`docs/chain.md`, "The real runtime").
//!
//! [`Chopsticks::start`] installs the pinned version into a cache folder when it is missing
//! (npm from the registry; a missing `node` or `npm` is an error naming what to install),
//! starts it on a free loopback port, and waits until it answers. Its dev RPC methods are
//! wrapped: [`Chopsticks::new_blocks`] (`dev_newBlock`, with a count to reach epochs),
//! [`Chopsticks::set_storage`] (`dev_setStorage`), [`Chopsticks::fund`] and
//! [`Chopsticks::set_sudo`]. Dropping it (or [`Chopsticks::stop`]) ends the process.
//!
//! Every block is saved to a SQLite file (`--db`), so a killed runtime comes back where it was:
//! [`Chopsticks::restart`] starts it again on the same port from the last saved block
//! (`--resume`), with everything the blocks wrote (subnets, registrations, stake, weights).
//! Storage written with `dev_setStorage` is the exception: chopsticks keeps it in memory on the
//! head block and saves only what blocks themselves change, so such a write survives a restart
//! only once a later block has written the same key again. [`Chopsticks::freeze`] and
//! [`Chopsticks::thaw`] stop and continue the process (SIGSTOP, SIGCONT): a node that hangs
//! with its sockets open, for the clients' stall detection.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use omron_keys::AccountId;
use serde_json::{Value, json};

use crate::error::{ChainError, ChainResult};

/// The chopsticks version installed and run.
pub const CHOPSTICKS_VERSION: &str = "1.5.1";
/// The npm package.
pub const CHOPSTICKS_PACKAGE: &str = "@acala-network/chopsticks";
/// How long the runtime may take to start (it compiles the wasm first).
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// How blocks are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockMode {
    /// A block for every extrinsic as it arrives (`--build-block-mode Instant`).
    Instant,
    /// Only on `dev_newBlock` ([`Chopsticks::new_blocks`], or [`Chopsticks::spawn_interval`]).
    Manual,
}

/// Where and how to run the runtime.
#[derive(Debug, Clone)]
pub struct ChopsticksOptions {
    /// The chain spec with the runtime in its genesis.
    pub genesis: PathBuf,
    /// Where chopsticks is installed (`node_modules/` inside); installed there when missing.
    pub install_dir: PathBuf,
    /// The port (0: a free one).
    pub port: u16,
    /// Block production.
    pub block_mode: BlockMode,
    /// Where its output goes (`None`: discarded). A restart appends to it.
    pub log: Option<PathBuf>,
    /// The SQLite file every block is saved to (`None`: a fresh file in the temp folder,
    /// removed when the harness is dropped).
    pub db: Option<PathBuf>,
    /// Start from the last block saved in `db` instead of genesis (what
    /// [`Chopsticks::restart`] does); genesis when `db` holds no block.
    pub resume: bool,
}

impl ChopsticksOptions {
    /// The defaults for `genesis`: a free port, instant blocks, installed in
    /// `$OMRON_CHOPSTICKS_DIR` or `~/.cache/omron-rs/chopsticks-<version>`.
    pub fn new(genesis: impl Into<PathBuf>) -> Self {
        Self {
            genesis: genesis.into(),
            install_dir: default_install_dir(),
            port: 0,
            block_mode: BlockMode::Instant,
            log: None,
            db: None,
            resume: false,
        }
    }
}

/// `$OMRON_CHOPSTICKS_DIR`, else `~/.cache/omron-rs/chopsticks-<version>`.
pub fn default_install_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("OMRON_CHOPSTICKS_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/omron-rs")
        .join(format!("chopsticks-{CHOPSTICKS_VERSION}"))
}

/// The genesis shipped beside the repository (`../shared/data/subtensor/raonet-genesis.json`
/// from the workspace root), or `$OMRON_SUBTENSOR_GENESIS`.
pub fn default_genesis() -> PathBuf {
    if let Some(p) = std::env::var_os("OMRON_SUBTENSOR_GENESIS") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/subtensor/raonet-genesis.json")
}

fn harness(reason: impl Into<String>) -> ChainError {
    ChainError::Transport {
        endpoint: "chopsticks".into(),
        reason: reason.into(),
    }
}

fn tool_version(tool: &str) -> Option<String> {
    let out = Command::new(tool).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The entry script of the installed package, installing it first when missing.
pub fn ensure_installed(dir: &Path) -> ChainResult<PathBuf> {
    let entry = dir
        .join("node_modules")
        .join(CHOPSTICKS_PACKAGE)
        .join("chopsticks.cjs");
    let node = tool_version("node").ok_or_else(|| {
        harness(
            "`node` was not found: install Node.js 20 or newer (e.g. `apt-get install nodejs npm`)",
        )
    })?;
    let major: u32 = node
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 20 {
        return Err(harness(format!(
            "node {node} is too old for chopsticks: install Node.js 20 or newer"
        )));
    }
    if entry.exists() {
        return Ok(entry);
    }
    tool_version("npm").ok_or_else(|| {
        harness("`npm` was not found: install npm (e.g. `apt-get install npm`) to fetch chopsticks")
    })?;
    std::fs::create_dir_all(dir).map_err(|e| harness(format!("{}: {e}", dir.display())))?;
    tracing::info!(dir = %dir.display(), "installing {CHOPSTICKS_PACKAGE}@{CHOPSTICKS_VERSION} from the npm registry");
    let status = Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
        ])
        .arg(dir)
        .arg(format!("{CHOPSTICKS_PACKAGE}@{CHOPSTICKS_VERSION}"))
        .stdout(Stdio::null())
        .status()
        .map_err(|e| harness(format!("npm install: {e}")))?;
    if !status.success() || !entry.exists() {
        return Err(harness(format!(
            "npm install {CHOPSTICKS_PACKAGE}@{CHOPSTICKS_VERSION} into {} failed ({status})",
            dir.display()
        )));
    }
    Ok(entry)
}

fn free_port() -> ChainResult<u16> {
    let l = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .map_err(|e| harness(format!("no free port: {e}")))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| harness(e.to_string()))
}

/// The last block chopsticks saved in its database: `(number, hash)`.
pub fn last_saved_block(db: &Path) -> ChainResult<Option<(u64, String)>> {
    if !db.exists() {
        return Ok(None);
    }
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| harness(format!("{}: {e}", db.display())))?;
    let row = conn.query_row(
        "SELECT number, hash FROM block ORDER BY number DESC LIMIT 1",
        [],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
    );
    match row {
        Ok((number, hash)) => Ok(Some((u64::try_from(number).unwrap_or(0), hash))),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        // No table yet: killed before it saved anything.
        Err(rusqlite::Error::SqliteFailure(_, Some(m))) if m.contains("no such table") => Ok(None),
        Err(e) => Err(harness(format!("{}: {e}", db.display()))),
    }
}

/// A running chopsticks process serving the runtime.
#[derive(Debug)]
pub struct Chopsticks {
    child: Option<Child>,
    port: u16,
    http: reqwest::Client,
    options: ChopsticksOptions,
    /// The database is a temp file of ours, removed on drop.
    owned_db: bool,
}

impl Chopsticks {
    /// Installs (when missing), starts and waits for the runtime.
    pub async fn start(options: ChopsticksOptions) -> ChainResult<Self> {
        if !options.genesis.exists() {
            return Err(harness(format!(
                "no chain spec at {} (the subtensor genesis; see docs/chain.md)",
                options.genesis.display()
            )));
        }
        let entry = ensure_installed(&options.install_dir)?;
        let mut options = options;
        let port = if options.port == 0 {
            free_port()?
        } else {
            options.port
        };
        let owned_db = options.db.is_none();
        let db = options
            .db
            .get_or_insert_with(|| {
                std::env::temp_dir().join(format!(
                    "omron-chopsticks-{}-{port}.sqlite",
                    std::process::id()
                ))
            })
            .clone();
        if owned_db {
            remove_db(&db);
        }
        let mut cmd = Command::new("node");
        cmd.arg(&entry)
            .arg("--genesis")
            .arg(&options.genesis)
            .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
            .arg("--db")
            .arg(&db)
            .args([
                "--build-block-mode",
                match options.block_mode {
                    BlockMode::Instant => "Instant",
                    BlockMode::Manual => "Manual",
                },
            ])
            .stdin(Stdio::null());
        if options.resume
            && let Some((number, hash)) = last_saved_block(&db)?
        {
            // By hash: chopsticks' command line reads `--resume 5` or `--resume true` as strings
            // and refuses them; a block hash passes.
            cmd.args(["--resume", &hash]);
            tracing::info!(block = number, %hash, "chopsticks resumes from its database");
        }
        match &options.log {
            Some(path) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .write(true)
                    .append(options.resume)
                    .truncate(!options.resume)
                    .open(path)
                    .map_err(|e| harness(format!("{}: {e}", path.display())))?;
                let g = f.try_clone().map_err(|e| harness(e.to_string()))?;
                cmd.stdout(f).stderr(g);
            }
            None => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // Its own process group: a Ctrl-C meant for a terminal program does not kill the
            // chain under it.
            cmd.process_group(0);
        }
        let child = cmd
            .spawn()
            .map_err(|e| harness(format!("cannot start chopsticks: {e}")))?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| harness(e.to_string()))?;
        let mut me = Self {
            child: Some(child),
            port,
            http,
            options,
            owned_db,
        };
        me.wait_ready().await?;
        Ok(me)
    }

    async fn wait_ready(&mut self) -> ChainResult<()> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(harness(format!(
                    "chopsticks exited at start ({status}); its log: {}",
                    self.options
                        .log
                        .as_ref()
                        .map_or("not kept".into(), |p| p.display().to_string())
                )));
            }
            if self.rpc("chain_getHeader", json!([])).await.is_ok() {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(harness(format!(
                    "chopsticks did not answer within {START_TIMEOUT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The WebSocket endpoint (`ws://127.0.0.1:PORT`) for [`crate::SubtensorClient`].
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database every block is saved to.
    pub fn db(&self) -> Option<&Path> {
        self.options.db.as_deref()
    }

    /// The head's number (`chain_getHeader`).
    pub async fn head(&self) -> ChainResult<u64> {
        let header = self.rpc("chain_getHeader", json!([])).await?;
        header["number"]
            .as_str()
            .and_then(|n| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok())
            .ok_or_else(|| harness(format!("chain_getHeader: no number in {header}")))
    }

    /// One JSON-RPC call over HTTP (chopsticks serves HTTP and WebSocket on one port).
    pub async fn rpc(&self, method: &str, params: Value) -> ChainResult<Value> {
        let url = format!("http://127.0.0.1:{}", self.port);
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let resp: Value = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| harness(format!("{method}: {e}")))?
            .json()
            .await
            .map_err(|e| harness(format!("{method}: {e}")))?;
        if let Some(err) = resp.get("error") {
            return Err(harness(format!("{method}: {err}")));
        }
        Ok(resp.get("result").cloned().unwrap_or(Value::Null))
    }

    /// Makes `count` blocks (`dev_newBlock`); returns the new head's hash.
    pub async fn new_blocks(&self, count: u32) -> ChainResult<Value> {
        self.rpc("dev_newBlock", json!([{ "count": count }])).await
    }

    /// Writes storage (`dev_setStorage`), in chopsticks' pallet/item JSON form.
    pub async fn set_storage(&self, storage: Value) -> ChainResult<()> {
        self.rpc("dev_setStorage", json!([storage]))
            .await
            .map(|_| ())
    }

    /// Gives each account `free` rao (TAO has 9 decimals).
    pub async fn fund(&self, accounts: &[(AccountId, u64)]) -> ChainResult<()> {
        let entries: Vec<Value> = accounts
            .iter()
            .map(|(a, free)| {
                json!([[a.to_ss58()], {
                    "providers": 1,
                    // As strings: balances exceed 2^53 in general.
                    "data": { "free": free.to_string() }
                }])
            })
            .collect();
        self.set_storage(json!({ "System": { "Account": entries } }))
            .await
    }

    /// Makes `key` the runtime's sudo key.
    pub async fn set_sudo(&self, key: &AccountId) -> ChainResult<()> {
        self.set_storage(json!({ "Sudo": { "Key": key.to_ss58() } }))
            .await
    }

    /// Produces a block every `every` until the returned handle is dropped or stopped (for
    /// [`BlockMode::Manual`]: a chain that moves on its own, like a real one).
    pub fn spawn_interval(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let http = self.http.clone();
        let url = format!("http://127.0.0.1:{}", self.port);
        tokio::spawn(async move {
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": "dev_newBlock", "params": [{}]});
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = http.post(&url).json(&body).send().await {
                    tracing::debug!(error = %e, "dev_newBlock failed");
                }
            }
        })
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Kills the process with SIGKILL (a crash, for fault tests); [`Chopsticks::restart`]
    /// brings it back on the same port where it was.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the runtime again on the same port from the last block it saved (killing it
    /// first if it still runs); returns the head it resumed at. Blocks produced but not yet
    /// saved when it died are lost, as a node loses blocks it had not written.
    pub async fn restart(&mut self) -> ChainResult<u64> {
        self.kill();
        let mut options = self.options.clone();
        options.port = self.port;
        options.resume = true;
        let mut fresh = Box::pin(Self::start(options)).await?;
        self.child = fresh.child.take();
        self.head().await
    }

    /// Stops the process without closing anything (SIGSTOP): its sockets stay open and
    /// silent, like a hung node or a half-open connection. [`Chopsticks::thaw`] continues it.
    pub fn freeze(&self) -> ChainResult<()> {
        self.signal("STOP")
    }

    /// Continues a frozen process (SIGCONT).
    pub fn thaw(&self) -> ChainResult<()> {
        self.signal("CONT")
    }

    fn signal(&self, name: &str) -> ChainResult<()> {
        let pid = self
            .child
            .as_ref()
            .map(Child::id)
            .ok_or_else(|| harness("chopsticks is not running"))?;
        let status = Command::new("kill")
            .args(["-s", name, &pid.to_string()])
            .status()
            .map_err(|e| harness(format!("kill -s {name}: {e}")))?;
        if !status.success() {
            return Err(harness(format!("kill -s {name} {pid}: {status}")));
        }
        Ok(())
    }

    /// Stops the process.
    pub fn stop(mut self) {
        self.kill();
    }
}

/// Removes a database file and its journal files.
fn remove_db(db: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

impl Drop for Chopsticks {
    fn drop(&mut self) {
        self.kill();
        if self.owned_db
            && let Some(db) = &self.options.db
        {
            remove_db(db);
        }
    }
}
