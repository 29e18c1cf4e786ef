//! Per-uid request statistics: how often the validator asked a miner, how often the proof
//! verified, and the sums behind the mean response time and proof size the scoreboard shows.
//!
//! Like a score, a row belongs to the hotkey that earned it: a uid taken over by another hotkey
//! starts again from zero ([`Writer::sync_hotkeys`] and [`Writer::record_miner_response`]).

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::Writer;
use super::error::{Result, from_i64, to_i64};

const TABLE: &str = "miner_stats";

/// What the validator recorded about one uid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinerStats {
    /// The uid.
    pub uid: u16,
    /// The hotkey (ss58) the statistics belong to.
    pub hotkey: String,
    /// Responses recorded (every request that ended, answered or not).
    pub requests: u64,
    /// Responses whose proof verified.
    pub verified: u64,
    /// Sum of the measured response times, seconds (a failed request counts its timeout).
    pub response_time_sum: f64,
    /// Sum of the proof sizes of the verified responses, bytes.
    pub verified_proof_bytes: u64,
    /// Block of the latest recorded response.
    pub last_block: u64,
}

impl MinerStats {
    /// Mean measured response time in milliseconds over all requests (0 when none).
    pub fn mean_response_ms(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.response_time_sum * 1000.0 / self.requests as f64
        }
    }

    /// Mean proof size in bytes over the verified responses (0 when none verified).
    pub fn mean_proof_bytes(&self) -> f64 {
        if self.verified == 0 {
            0.0
        } else {
            self.verified_proof_bytes as f64 / self.verified as f64
        }
    }
}

/// One response to add to a uid's statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResponseRecord<'a> {
    /// The uid.
    pub uid: u16,
    /// The hotkey (ss58) that answered.
    pub hotkey: &'a str,
    /// Whether its proof verified.
    pub verified: bool,
    /// Measured response time, seconds.
    pub response_time: f64,
    /// Proof size in bytes (counted only when verified).
    pub proof_bytes: u64,
    /// Block at which it was recorded.
    pub block: u64,
}

type RawRow = (i64, String, i64, i64, f64, i64, i64);

fn typed(r: RawRow) -> Result<MinerStats> {
    let (uid, hotkey, requests, verified, response_time_sum, bytes, last_block) = r;
    Ok(MinerStats {
        uid: from_i64(TABLE, uid, "uid", uid)?,
        hotkey,
        requests: from_i64(TABLE, uid, "requests", requests)?,
        verified: from_i64(TABLE, uid, "verified", verified)?,
        response_time_sum,
        verified_proof_bytes: from_i64(TABLE, uid, "verified_proof_bytes", bytes)?,
        last_block: from_i64(TABLE, uid, "last_block", last_block)?,
    })
}

pub(super) fn load(conn: &Connection) -> Result<Vec<MinerStats>> {
    let mut stmt = conn.prepare_cached(
        "SELECT uid, hotkey, requests, verified, response_time_sum, verified_proof_bytes,
                last_block
         FROM miner_stats ORDER BY uid",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        out.push(typed(row?)?);
    }
    Ok(out)
}

/// Drops the statistics of uids whose hotkey changed (called from `sync_hotkeys`).
pub(super) fn reset_if_hotkey_changed(conn: &Connection, uid: u16, hotkey: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM miner_stats WHERE uid = ?1 AND hotkey <> ?2")?
        .execute(params![uid, hotkey])?;
    Ok(())
}

impl Writer<'_> {
    /// Adds one response to its uid's statistics. A row held by another hotkey is replaced
    /// (the uid was re-registered).
    pub fn record_miner_response(&mut self, record: &ResponseRecord<'_>) -> Result<()> {
        reset_if_hotkey_changed(&self.tx, record.uid, record.hotkey)?;
        let exists = self
            .tx
            .prepare_cached("SELECT 1 FROM miner_stats WHERE uid = ?1")?
            .query_row([record.uid], |_| Ok(()))
            .optional()?
            .is_some();
        let bytes = if record.verified {
            to_i64("proof bytes", record.proof_bytes)?
        } else {
            0
        };
        let verified = i64::from(record.verified);
        let block = to_i64("block", record.block)?;
        if exists {
            self.tx
                .prepare_cached(
                    "UPDATE miner_stats
                     SET requests = requests + 1, verified = verified + ?2,
                         response_time_sum = response_time_sum + ?3,
                         verified_proof_bytes = verified_proof_bytes + ?4, last_block = ?5
                     WHERE uid = ?1",
                )?
                .execute(params![
                    record.uid,
                    verified,
                    record.response_time,
                    bytes,
                    block
                ])?;
        } else {
            self.tx
                .prepare_cached(
                    "INSERT INTO miner_stats (uid, hotkey, requests, verified, response_time_sum,
                         verified_proof_bytes, last_block)
                     VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    record.uid,
                    record.hotkey,
                    verified,
                    record.response_time,
                    bytes,
                    block
                ])?;
        }
        Ok(())
    }

    /// The statistics as seen inside this transaction.
    pub fn miner_stats(&self) -> Result<Vec<MinerStats>> {
        load(&self.tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreLimits};

    fn record(uid: u16, hotkey: &str, verified: bool, rt: f64, bytes: u64) -> ResponseRecord<'_> {
        ResponseRecord {
            uid,
            hotkey,
            verified,
            response_time: rt,
            proof_bytes: bytes,
            block: 7,
        }
    }

    #[test]
    fn sums_and_means_count_what_they_say() {
        let mut store = Store::open_in_memory(StoreLimits::default()).unwrap();
        store
            .write(|w| {
                w.record_miner_response(&record(3, "a", true, 0.5, 1000))?;
                w.record_miner_response(&record(3, "a", false, 1.5, 9999))?;
                w.record_miner_response(&record(3, "a", true, 1.0, 3000))
            })
            .unwrap();
        let stats = store.miner_stats().unwrap();
        assert_eq!(stats.len(), 1);
        let s = &stats[0];
        assert_eq!((s.requests, s.verified), (3, 2));
        assert_eq!(
            s.verified_proof_bytes, 4000,
            "unverified bytes are not counted"
        );
        assert!((s.mean_response_ms() - 1000.0).abs() < 1e-9);
        assert!((s.mean_proof_bytes() - 2000.0).abs() < 1e-9);
        let empty = MinerStats {
            requests: 0,
            verified: 0,
            ..s.clone()
        };
        assert_eq!(
            (empty.mean_response_ms(), empty.mean_proof_bytes()),
            (0.0, 0.0)
        );
    }

    #[test]
    fn a_new_hotkey_at_the_uid_starts_from_zero() {
        let mut store = Store::open_in_memory(StoreLimits::default()).unwrap();
        store
            .write(|w| w.record_miner_response(&record(1, "old", true, 0.5, 10)))
            .unwrap();
        store
            .write(|w| w.record_miner_response(&record(1, "new", false, 2.0, 0)))
            .unwrap();
        let s = &store.miner_stats().unwrap()[0];
        assert_eq!((s.hotkey.as_str(), s.requests, s.verified), ("new", 1, 0));
        store
            .write(|w| w.record_miner_response(&record(2, "b", true, 0.5, 10)))
            .unwrap();
        store.sync_hotkeys(&[(2, "c".to_owned())]).unwrap();
        assert!(
            store.miner_stats().unwrap().iter().all(|s| s.uid != 2),
            "sync_hotkeys drops the stats of a re-registered uid"
        );
    }
}
