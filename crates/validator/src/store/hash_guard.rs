//! The persistent hash guard: the newest input hashes, so a restarted validator still never
//! repeats inputs (§3.4). Same semantics as [`HashGuard`]: a duplicate changes nothing, a new
//! hash evicts the oldest when full.

use omron_scoring::{HashGuard, InputHash};
use rusqlite::{Connection, OptionalExtension, params};

use super::Writer;
use super::error::{Result, StoreError};

/// The outcome of [`Writer::insert_hash`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashInsert {
    /// The hash is new and now remembered; `evicted` is the oldest hash it pushed out.
    Inserted {
        /// The hash dropped to stay within capacity, if any (the newest of those dropped when
        /// the capacity was lowered since the last run).
        evicted: Option<InputHash>,
    },
    /// The hash was already remembered: the request must not be sent.
    Duplicate,
}

fn to_hash(seq: i64, bytes: Vec<u8>) -> Result<InputHash> {
    let len = bytes.len();
    InputHash::try_from(bytes).map_err(|_| StoreError::Corrupt {
        table: "hash_guard",
        key: seq.to_string(),
        detail: format!("hash has {len} bytes, expected 32"),
    })
}

pub(super) fn load(conn: &Connection, capacity: usize) -> Result<HashGuard> {
    let mut stmt = conn.prepare_cached("SELECT seq, hash FROM hash_guard ORDER BY seq")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
    let mut hashes = Vec::new();
    for row in rows {
        let (seq, bytes) = row?;
        hashes.push(to_hash(seq, bytes)?);
    }
    Ok(HashGuard::from_hashes(capacity, hashes))
}

pub(super) fn contains(conn: &Connection, hash: &InputHash) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM hash_guard WHERE hash = ?1")?
        .query_row([&hash[..]], |_| Ok(()))
        .optional()?
        .is_some())
}

impl Writer<'_> {
    /// Remembers `hash` unless it is already remembered.
    pub fn insert_hash(&mut self, hash: &InputHash) -> Result<HashInsert> {
        if contains(&self.tx, hash)? {
            return Ok(HashInsert::Duplicate);
        }
        let count: i64 = self
            .tx
            .prepare_cached("SELECT COUNT(*) FROM hash_guard")?
            .query_row([], |r| r.get(0))?;
        let capacity = self.limits.hash_guard_capacity.max(1) as i64;
        let mut evicted = None;
        if count >= capacity {
            // Normally exactly one; more only if the capacity was lowered since the last run.
            let mut stmt = self
                .tx
                .prepare_cached("SELECT seq, hash FROM hash_guard ORDER BY seq LIMIT ?1")?;
            let oldest: Vec<(i64, Vec<u8>)> = stmt
                .query_map([count - capacity + 1], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for (seq, bytes) in oldest {
                self.tx
                    .prepare_cached("DELETE FROM hash_guard WHERE seq = ?1")?
                    .execute([seq])?;
                evicted = Some(to_hash(seq, bytes)?);
            }
        }
        self.tx
            .prepare_cached("INSERT INTO hash_guard (hash) VALUES (?1)")?
            .execute(params![&hash[..]])?;
        Ok(HashInsert::Inserted { evicted })
    }

    /// Forgets `hash` (so a failed request may be retried). Returns whether it was present.
    pub fn remove_hash(&mut self, hash: &InputHash) -> Result<bool> {
        let removed = self
            .tx
            .prepare_cached("DELETE FROM hash_guard WHERE hash = ?1")?
            .execute([&hash[..]])?;
        Ok(removed > 0)
    }
}
