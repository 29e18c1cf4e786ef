//! The validator's persistent state in one SQLite database (`rusqlite`, SQLite bundled).
//!
//! What it keeps, one module each:
//! * [`scores`](ScoreRow): the score of every uid with the hotkey it belongs to; when the
//!   metagraph shows another hotkey at a uid, [`Writer::sync_hotkeys`] resets that score (the
//!   reference does not, see `docs/scoring.md`);
//! * evaluation windows: per circuit, the last 1024 [`EvaluationItem`]s, one per uid, in window
//!   order (§5.2 of the reference);
//! * the hash guard: the last [`MAX_HASHES`] input hashes, FIFO (§3.4);
//! * the proof-of-weights queue and its last processed step (§5.5);
//! * a proof archive of [`ArchivedProof`]s, bounded in entries and bytes, oldest evicted first;
//! * the history of weight vectors set, with the transaction's outcome ([`WeightsRecord`]),
//!   and the commits still to reveal on commit-reveal subnets ([`PendingCommit`]);
//! * per-uid request statistics for the scoreboard ([`MinerStats`]);
//! * a bounded log of scored requests for the dashboard's history ([`LoggedRequest`]).
//!
//! Every write runs in a transaction: a single call through the convenience methods on
//! [`Store`], or several calls at once through [`Store::write`], which commits them together
//! or not at all (a response's evaluation item, its PoW item and a batch's new scores belong
//! together). The store is synchronous; an async node calls it from a blocking task.
//!
//! Values round-trip exactly: float32 scores and PoW fields are stored as SQLite REALs
//! (float64, which holds every float32), response times as float64, JSON as the exact text
//! given, proofs as blobs.

mod archive;
mod commits;
mod dashboard;
mod error;
mod evaluation;
mod external;
mod hash_guard;
#[cfg(test)]
mod locking_tests;
mod miner_stats;
mod pow_queue;
mod schema;
mod scores;
mod state_file;
mod weights;

use std::path::Path;

use omron_scoring::constants::MAX_HASHES;
use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

pub use archive::{ArchivedProof, NewArchivedProof};
pub use commits::PendingCommit;
pub use dashboard::{
    CircuitSample, LoggedRequest, LoggedStatus, MAX_REQUEST_LOG, SeriesBucket, StoredRequest,
};
pub use error::{Result, StoreError};
pub use external::{ExternalRecord, MAX_EXTERNAL_RECORDS, ProvenRecord, StoredExternalRecord};
pub use hash_guard::HashInsert;
pub use miner_stats::{MinerStats, ResponseRecord};
pub use omron_scoring::{
    DueBatch, EvaluationItem, EvaluationWindow, HashGuard, InputHash, PowItem, PowQueue,
};
pub use scores::ScoreRow;
pub use weights::{TxOutcome, WeightsRecord};

/// The schema version this build writes (the number of migrations it knows).
pub const SCHEMA_VERSION: u32 = schema::MIGRATIONS.len() as u32;

/// Bounds on what the store keeps. The defaults follow the reference where it has one; the
/// evaluation windows are always
/// [`MAX_EVALUATION_ITEMS`](omron_scoring::constants::MAX_EVALUATION_ITEMS) long, as in the
/// reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// Hashes kept by the hash guard ([`MAX_HASHES`] = 32768).
    pub hash_guard_capacity: usize,
    /// Proof archive entries kept (default 10 000).
    pub archive_max_entries: usize,
    /// Proof archive size in bytes, inputs + output + proof (default 1 GiB).
    pub archive_max_bytes: u64,
    /// Weight vectors kept in the history (default 10 000).
    pub weights_history: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            hash_guard_capacity: MAX_HASHES,
            archive_max_entries: 10_000,
            archive_max_bytes: 1 << 30,
            weights_history: 10_000,
        }
    }
}

/// How long one attempt waits on a lock held by another connection (SQLite's busy handler).
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Attempts at taking the write lock before a write fails: with [`BUSY_TIMEOUT`] each, a lock
/// held for up to five minutes (an operator's `sqlite3` session, a backup, an outside checkpoint)
/// delays the node instead of stopping it.
const LOCK_ATTEMPTS: u32 = 60;

/// Starts a write transaction holding the write lock from its first statement. A deferred
/// transaction that reads and then writes must upgrade its lock, and SQLite answers such an
/// upgrade with `SQLITE_BUSY` at once, without the busy timeout, whenever another connection
/// wrote or holds the lock meanwhile; taking the lock up front makes every wait go through
/// the busy handler. A lock still held after [`BUSY_TIMEOUT`] is retried up to
/// [`LOCK_ATTEMPTS`] times before the error reaches the caller.
pub(crate) fn begin_immediate(conn: &Connection) -> Result<Transaction<'_>> {
    let mut attempt = 1;
    loop {
        // `new_unchecked` borrows the connection shared, so a failed attempt's borrow does not
        // stand in the way of the next one; the `&mut` that `Store::write` holds keeps the
        // transactions from nesting.
        match Transaction::new_unchecked(conn, TransactionBehavior::Immediate) {
            Err(e) if is_transient_lock(&e) && attempt < LOCK_ATTEMPTS => {
                tracing::warn!(
                    attempt,
                    max = LOCK_ATTEMPTS,
                    "the validator state is locked by another process; waiting"
                );
                attempt += 1;
            }
            result => return Ok(result?),
        }
    }
}

/// Whether `e` is another connection holding a lock (worth waiting for), not a failure.
fn is_transient_lock(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// The validator's database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    limits: StoreLimits,
}

/// A write transaction: every method writes into it, and [`Store::write`] commits them
/// together when the closure returns `Ok`.
#[derive(Debug)]
pub struct Writer<'a> {
    tx: Transaction<'a>,
    limits: StoreLimits,
}

impl Store {
    /// Opens (creating if needed) the database at `path` with the default limits, and
    /// migrates it to this build's schema. A file that exists but is empty or is not a
    /// validator state is refused ([`StoreError::NotAState`]): starting from empty scores
    /// because a backup went wrong must be the operator's choice ([`Store::set_aside`]).
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with_limits(path, StoreLimits::default())
    }

    /// [`Store::open`] with explicit limits.
    pub fn open_with_limits(path: &Path, limits: StoreLimits) -> Result<Self> {
        state_file::check(path)?;
        let conn = Connection::open(path)?;
        // WAL keeps readers (a dashboard) from blocking the node's writes; NORMAL sync is
        // durable across process crashes, which is the failure a validator restart meets.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::init(conn, limits)
    }

    /// A private in-memory database (tests, throw-away local networks).
    pub fn open_in_memory(limits: StoreLimits) -> Result<Self> {
        Self::init(Connection::open_in_memory()?, limits)
    }

    /// Moves an unusable state file (and its `-wal`/`-shm` companions) aside to
    /// `<name>.invalid-<unix seconds>` so that [`Store::open`] starts a new one; returns
    /// where it went, or `None` when there was no file. Nothing is deleted.
    pub fn set_aside(path: &Path) -> Result<Option<std::path::PathBuf>> {
        state_file::set_aside(path)
    }

    fn init(mut conn: Connection, limits: StoreLimits) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        schema::migrate(&mut conn, schema::MIGRATIONS)?;
        Ok(Self { conn, limits })
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32> {
        schema::read_version(&self.conn)
    }

    /// The newest `limit` external requests, newest first.
    pub fn recent_external(&self, limit: usize) -> Result<Vec<StoredExternalRecord>> {
        external::recent(&self.conn, limit)
    }

    /// Every external request answered at or after `block`, oldest first.
    pub fn external_since_block(&self, block: u64) -> Result<Vec<StoredExternalRecord>> {
        external::since_block(&self.conn, block)
    }

    /// The limits in force.
    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    /// Runs `f` in one transaction: all its writes are committed if it returns `Ok`, none if
    /// it returns `Err` (or panics).
    pub fn write<T>(&mut self, f: impl FnOnce(&mut Writer<'_>) -> Result<T>) -> Result<T> {
        let mut writer = Writer {
            tx: begin_immediate(&self.conn)?,
            limits: self.limits,
        };
        let value = f(&mut writer)?;
        writer.tx.commit()?;
        Ok(value)
    }

    // --- scores -----------------------------------------------------------------------

    /// All stored scores, by uid.
    pub fn scores(&self) -> Result<Vec<ScoreRow>> {
        scores::load(&self.conn)
    }

    /// The score vector of a metagraph of `n` uids (missing uids score 0).
    pub fn score_vector(&self, n: usize) -> Result<Vec<f32>> {
        Ok(scores::to_vector(&scores::load(&self.conn)?, n))
    }

    /// See [`Writer::set_scores`].
    pub fn set_scores(&mut self, rows: &[ScoreRow]) -> Result<()> {
        self.write(|w| w.set_scores(rows))
    }

    /// See [`Writer::sync_hotkeys`].
    pub fn sync_hotkeys(&mut self, hotkeys: &[(u16, String)]) -> Result<Vec<u16>> {
        self.write(|w| w.sync_hotkeys(hotkeys))
    }

    // --- evaluation windows -------------------------------------------------------------

    /// The evaluation window of a circuit (empty if none recorded).
    pub fn evaluation_window(&self, circuit_id: &str) -> Result<EvaluationWindow> {
        evaluation::load(&self.conn, circuit_id)
    }

    /// Circuits with a stored window.
    pub fn evaluation_circuits(&self) -> Result<Vec<String>> {
        evaluation::circuits(&self.conn)
    }

    /// See [`Writer::record_evaluation`].
    pub fn record_evaluation(&mut self, circuit_id: &str, item: &EvaluationItem) -> Result<()> {
        self.write(|w| w.record_evaluation(circuit_id, item))
    }

    // --- hash guard ---------------------------------------------------------------------

    /// The hash guard's hashes as an in-memory guard.
    pub fn hash_guard(&self) -> Result<HashGuard> {
        hash_guard::load(&self.conn, self.limits.hash_guard_capacity)
    }

    /// Whether a hash is remembered.
    pub fn contains_hash(&self, hash: &InputHash) -> Result<bool> {
        hash_guard::contains(&self.conn, hash)
    }

    /// See [`Writer::insert_hash`].
    pub fn insert_hash(&mut self, hash: &InputHash) -> Result<HashInsert> {
        self.write(|w| w.insert_hash(hash))
    }

    /// See [`Writer::remove_hash`].
    pub fn remove_hash(&mut self, hash: &InputHash) -> Result<bool> {
        self.write(|w| w.remove_hash(hash))
    }

    // --- proof-of-weights queue ---------------------------------------------------------

    /// The queue and its last processed step.
    pub fn pow_queue(&self) -> Result<PowQueue> {
        pow_queue::load(&self.conn)
    }

    /// Number of queued items.
    pub fn pow_queue_len(&self) -> Result<usize> {
        pow_queue::len(&self.conn)
    }

    /// The batch due now, if any (see [`PowQueue::due_batch`]; reads only the queue's tail).
    pub fn pow_due_batch(&self) -> Result<Option<DueBatch>> {
        pow_queue::due_batch(&self.conn)
    }

    /// See [`Writer::push_pow_items`].
    pub fn push_pow_items(&mut self, items: &[PowItem]) -> Result<()> {
        self.write(|w| w.push_pow_items(items))
    }

    // --- proof archive ------------------------------------------------------------------

    /// See [`Writer::archive_proof`].
    pub fn archive_proof(&mut self, entry: &NewArchivedProof) -> Result<i64> {
        self.write(|w| w.archive_proof(entry))
    }

    /// An archived proof by id.
    pub fn archived_proof(&self, id: i64) -> Result<Option<ArchivedProof>> {
        archive::get(&self.conn, id)
    }

    /// Archived proofs of one request hash, oldest first.
    pub fn archived_proofs_by_request(&self, request_hash: &str) -> Result<Vec<ArchivedProof>> {
        archive::by_request(&self.conn, request_hash)
    }

    /// The newest `limit` archived proofs, newest first.
    pub fn recent_proofs(&self, limit: usize) -> Result<Vec<ArchivedProof>> {
        archive::recent(&self.conn, limit)
    }

    /// Entries and total bytes of the archive.
    pub fn archive_usage(&self) -> Result<(usize, u64)> {
        archive::usage(&self.conn)
    }

    // --- weights history ----------------------------------------------------------------

    /// See [`Writer::record_weights`].
    pub fn record_weights(&mut self, record: &WeightsRecord) -> Result<i64> {
        self.write(|w| w.record_weights(record))
    }

    /// See [`Writer::set_weights_outcome`].
    pub fn set_weights_outcome(&mut self, id: i64, outcome: &TxOutcome) -> Result<()> {
        self.write(|w| w.set_weights_outcome(id, outcome))
    }

    /// The newest `limit` weight records with their ids, newest first.
    pub fn weights_history(&self, limit: usize) -> Result<Vec<(i64, WeightsRecord)>> {
        weights::recent(&self.conn, limit)
    }

    /// The newest record the chain included (the weights in force), with its id.
    pub fn last_included_weights(&self) -> Result<Option<(i64, WeightsRecord)>> {
        weights::last_included(&self.conn)
    }

    /// Commits waiting for their reveal, oldest first.
    pub fn pending_commits(&self) -> Result<Vec<PendingCommit>> {
        commits::load(&self.conn)
    }

    // --- request statistics ---------------------------------------------------------------

    /// Every uid's request statistics, by uid.
    pub fn miner_stats(&self) -> Result<Vec<MinerStats>> {
        miner_stats::load(&self.conn)
    }
}
