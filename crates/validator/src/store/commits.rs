//! Weight commits waiting for their reveal (commit-reveal subnets). A restarted validator must
//! still reveal what it committed, with the same salt, or the commit expires and the epoch's
//! weights are lost.

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use super::Writer;
use super::error::{Result, StoreError, from_i64, to_i64};

const TABLE: &str = "pending_commits";

/// A commit whose reveal is still due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCommit {
    /// The `weights_history` row this commit belongs to.
    pub record_id: i64,
    /// The committed uids.
    pub uids: Vec<u16>,
    /// Their `u16` weights.
    pub weights: Vec<u16>,
    /// The salt hashed into the commit.
    pub salt: Vec<u16>,
    /// The version key hashed into the commit.
    pub version_key: u64,
    /// Block at which the commit was sent.
    pub commit_block: u64,
    /// Epoch in which the reveal is due.
    pub reveal_epoch: u64,
}

fn list(id: i64, column: &str, text: &str) -> Result<Vec<u16>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        table: TABLE,
        key: id.to_string(),
        detail: format!("{column} is not a list of u16: {e}"),
    })
}

pub(super) fn load(conn: &Connection) -> Result<Vec<PendingCommit>> {
    let mut stmt = conn.prepare_cached(
        "SELECT record_id, uids, weights, salt, version_key, commit_block, reveal_epoch
         FROM pending_commits ORDER BY record_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, i64>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, uids, weights, salt, version_key, commit_block, reveal_epoch) = row?;
        let commit = PendingCommit {
            record_id: id,
            uids: list(id, "uids", &uids)?,
            weights: list(id, "weights", &weights)?,
            salt: list(id, "salt", &salt)?,
            version_key: from_i64(TABLE, id, "version_key", version_key)?,
            commit_block: from_i64(TABLE, id, "commit_block", commit_block)?,
            reveal_epoch: from_i64(TABLE, id, "reveal_epoch", reveal_epoch)?,
        };
        if commit.uids.len() != commit.weights.len() {
            return Err(StoreError::Corrupt {
                table: TABLE,
                key: id.to_string(),
                detail: format!(
                    "{} uids but {} weights",
                    commit.uids.len(),
                    commit.weights.len()
                ),
            });
        }
        out.push(commit);
    }
    Ok(out)
}

impl Writer<'_> {
    /// Remembers a commit until [`Writer::remove_pending_commit`].
    pub fn add_pending_commit(&mut self, commit: &PendingCommit) -> Result<()> {
        if commit.uids.len() != commit.weights.len() {
            return Err(StoreError::ValueOutOfRange {
                what: "committed weights (must have one per uid)",
                value: commit.weights.len().to_string(),
                max: commit.uids.len().to_string(),
            });
        }
        // Serialising integer vectors cannot fail.
        let text = |v: &[u16]| serde_json::to_string(v).unwrap_or_default();
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO pending_commits (record_id, uids, weights, salt,
                     version_key, commit_block, reveal_epoch)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                commit.record_id,
                text(&commit.uids),
                text(&commit.weights),
                text(&commit.salt),
                to_i64("version_key", commit.version_key)?,
                to_i64("commit_block", commit.commit_block)?,
                to_i64("reveal_epoch", commit.reveal_epoch)?
            ])?;
        Ok(())
    }

    /// Forgets a commit (revealed, expired or refused). Returns whether it was there.
    pub fn remove_pending_commit(&mut self, record_id: i64) -> Result<bool> {
        let n = self
            .tx
            .prepare_cached("DELETE FROM pending_commits WHERE record_id = ?1")?
            .execute([record_id])?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreLimits};

    #[test]
    fn commits_round_trip_and_are_removed_once() {
        let mut store = Store::open_in_memory(StoreLimits::default()).unwrap();
        let commit = PendingCommit {
            record_id: 4,
            uids: vec![1, 2],
            weights: vec![65535, 3],
            salt: vec![9, 8, 7, 6, 5, 4, 3, 2],
            version_key: 11002,
            commit_block: 100,
            reveal_epoch: 5,
        };
        store.write(|w| w.add_pending_commit(&commit)).unwrap();
        assert_eq!(store.pending_commits().unwrap(), vec![commit.clone()]);
        assert!(store.write(|w| w.remove_pending_commit(4)).unwrap());
        assert!(!store.write(|w| w.remove_pending_commit(4)).unwrap());
        assert!(store.pending_commits().unwrap().is_empty());
        let bad = PendingCommit {
            weights: vec![1],
            ..commit
        };
        assert!(store.write(|w| w.add_pending_commit(&bad)).is_err());
    }
}
