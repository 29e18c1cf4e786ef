//! The request log and the dashboard's queries over the stored history.
//!
//! Every scored request (a benchmark request, or one miner asked on behalf of an external
//! request) leaves one [`LoggedRequest`] row: who was asked, with which circuit, how it ended
//! and why, the measured response time, the proof size and the uid's score right after. The
//! log keeps the newest [`MAX_REQUEST_LOG`] rows; it is what the dashboard's per-miner time
//! series, per-circuit statistics and list of recent requests read. Scores, weights and the
//! per-uid totals have their own tables; this one only adds history.

use rusqlite::{Connection, Row, params};
use serde::{Deserialize, Serialize};

use super::error::{Result, from_f32_column, from_flag, from_i64, to_i64};
use super::{Store, Writer};

const TABLE: &str = "request_log";
/// Requests the log keeps at most (the oldest go first). At about 300 bytes a row this is
/// some 15 MB, and a day of requests to a few hundred miners.
pub const MAX_REQUEST_LOG: u64 = 50_000;

/// How a logged request ended (the labels of `omron_validator_requests_total{status}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoggedStatus {
    /// The proof verified.
    Verified,
    /// An answer that was not a valid proof (unparsable, or rejected by the verifier).
    Unverified,
    /// No answer: timeout, unreachable axon, a refusal.
    Failed,
}

impl LoggedStatus {
    /// The stored (and serialised) name.
    pub fn as_str(self) -> &'static str {
        match self {
            LoggedStatus::Verified => "verified",
            LoggedStatus::Unverified => "unverified",
            LoggedStatus::Failed => "failed",
        }
    }

    fn parse(id: i64, text: &str) -> Result<Self> {
        match text {
            "verified" => Ok(LoggedStatus::Verified),
            "unverified" => Ok(LoggedStatus::Unverified),
            "failed" => Ok(LoggedStatus::Failed),
            other => Err(super::StoreError::Corrupt {
                table: TABLE,
                key: id.to_string(),
                detail: format!("unknown status {other:?}"),
            }),
        }
    }
}

/// One scored request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// When it was scored, milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// The block it was scored at.
    pub block: u64,
    /// The miner's uid.
    pub uid: u16,
    /// The miner's hotkey (ss58).
    pub hotkey: String,
    /// The circuit asked.
    pub circuit_id: String,
    /// Whether an external request (an app through the external API) caused it.
    pub external: bool,
    /// How it ended.
    pub status: LoggedStatus,
    /// Measured response time, seconds (the timeout when no answer came).
    pub response_time: f64,
    /// Size of the proof received, bytes (0 when none).
    pub proof_bytes: u64,
    /// What verification said: "proof verified", or why it failed.
    pub detail: String,
    /// The uid's score right after this request was scored.
    pub score: f32,
}

/// A logged request with its id (increasing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRequest {
    /// Log id.
    pub id: i64,
    /// The request.
    pub request: LoggedRequest,
}

/// One miner's requests in one block bucket of [`Store::request_series`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesBucket {
    /// The uid.
    pub uid: u16,
    /// The hotkey the requests went to.
    pub hotkey: String,
    /// The bucket's index: it holds blocks `from + index * width ..` up to the next bucket.
    pub index: u64,
    /// Requests scored in the bucket.
    pub requests: u64,
    /// Of which the proof verified.
    pub verified: u64,
    /// Sum of their measured response times, seconds.
    pub response_time_sum: f64,
    /// The uid's score after the bucket's last request.
    pub score: f32,
}

/// What [`Store::circuit_samples`] returns for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct CircuitSample {
    /// The circuit.
    pub circuit_id: String,
    /// How the request ended.
    pub status: LoggedStatus,
    /// Whether an external request caused it.
    pub external: bool,
    /// Measured response time, seconds.
    pub response_time: f64,
    /// Proof size, bytes (0 when none).
    pub proof_bytes: u64,
    /// The block it was scored at.
    pub block: u64,
}

const COLUMNS: &str = "id, created_at_ms, block, uid, hotkey, circuit_id, external, status,
     response_time, proof_bytes, detail, score";

fn typed(r: &Row<'_>) -> rusqlite::Result<Result<StoredRequest>> {
    let id: i64 = r.get(0)?;
    let (created, block, uid): (i64, i64, i64) = (r.get(1)?, r.get(2)?, r.get(3)?);
    let (hotkey, circuit_id): (String, String) = (r.get(4)?, r.get(5)?);
    let (external, status): (i64, String) = (r.get(6)?, r.get(7)?);
    let (response_time, bytes): (f64, i64) = (r.get(8)?, r.get(9)?);
    let (detail, score): (String, f64) = (r.get(10)?, r.get(11)?);
    Ok((|| {
        Ok(StoredRequest {
            id,
            request: LoggedRequest {
                created_at_ms: from_i64(TABLE, id, "created_at_ms", created)?,
                block: from_i64(TABLE, id, "block", block)?,
                uid: from_i64(TABLE, id, "uid", uid)?,
                hotkey,
                circuit_id,
                external: from_flag(TABLE, id, "external", external)?,
                status: LoggedStatus::parse(id, &status)?,
                response_time,
                proof_bytes: from_i64(TABLE, id, "proof_bytes", bytes)?,
                detail,
                score: from_f32_column(TABLE, id, "score", score)?,
            },
        })
    })())
}

fn recent(conn: &Connection, limit: usize, failures_only: bool) -> Result<Vec<StoredRequest>> {
    let limit = to_i64("limit", limit as u64)?;
    let filter = if failures_only {
        "WHERE status <> 'verified'"
    } else {
        ""
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM request_log {filter} ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit], typed)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

impl Writer<'_> {
    /// Appends a scored request to the log and drops the oldest beyond [`MAX_REQUEST_LOG`].
    /// Returns its id.
    pub fn log_request(&mut self, r: &LoggedRequest) -> Result<i64> {
        self.tx
            .prepare_cached(
                "INSERT INTO request_log (created_at_ms, block, uid, hotkey, circuit_id, external,
                     status, response_time, proof_bytes, detail, score)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                to_i64("created_at_ms", r.created_at_ms)?,
                to_i64("block", r.block)?,
                r.uid,
                r.hotkey,
                r.circuit_id,
                r.external,
                r.status.as_str(),
                r.response_time,
                to_i64("proof_bytes", r.proof_bytes)?,
                r.detail,
                f64::from(r.score)
            ])?;
        let id = self.tx.last_insert_rowid();
        let keep = to_i64("request log size", MAX_REQUEST_LOG)?;
        // Ids increase by one per row (nothing else deletes from the middle), so this keeps
        // exactly the newest `keep`.
        self.tx
            .prepare_cached("DELETE FROM request_log WHERE id <= ?1 - ?2")?
            .execute(params![id, keep])?;
        Ok(id)
    }
}

impl Store {
    /// The newest `limit` logged requests, newest first; with `failures_only`, only those
    /// whose proof did not verify.
    pub fn recent_requests(&self, limit: usize, failures_only: bool) -> Result<Vec<StoredRequest>> {
        recent(&self.conn, limit, failures_only)
    }

    /// Requests scored from block `from` on, per (uid, hotkey) and per bucket of `width`
    /// blocks (`width` 0 counts as 1), ordered by uid then bucket.
    pub fn request_series(&self, from: u64, width: u64) -> Result<Vec<SeriesBucket>> {
        let from = to_i64("from block", from)?;
        let width = to_i64("bucket width", width.max(1))?;
        // With exactly one max() aggregate SQLite takes the bare `score` from the row holding
        // the maximum id: the score after the bucket's last request.
        let mut stmt = self.conn.prepare_cached(
            "SELECT uid, hotkey, (block - ?1) / ?2 AS bucket, COUNT(*),
                    SUM(status = 'verified'), SUM(response_time), MAX(id), score
             FROM request_log WHERE block >= ?1
             GROUP BY uid, hotkey, bucket ORDER BY uid, bucket",
        )?;
        let rows = stmt.query_map(params![from, width], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, f64>(5)?,
                r.get::<_, f64>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (uid, hotkey, index, requests, verified, response_time_sum, score) = row?;
            let key = format!("{uid}/{index}");
            out.push(SeriesBucket {
                uid: from_i64(TABLE, &key, "uid", uid)?,
                hotkey,
                index: from_i64(TABLE, &key, "bucket", index)?,
                requests: from_i64(TABLE, &key, "COUNT(*)", requests)?,
                verified: from_i64(TABLE, &key, "verified", verified)?,
                response_time_sum,
                score: from_f32_column(TABLE, &key, "score", score)?,
            });
        }
        Ok(out)
    }

    /// The newest `limit` logged requests reduced to what per-circuit statistics need,
    /// newest first.
    pub fn circuit_samples(&self, limit: usize) -> Result<Vec<CircuitSample>> {
        let limit = to_i64("limit", limit as u64)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, circuit_id, status, external, response_time, proof_bytes, block
             FROM request_log ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, f64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, circuit_id, status, external, response_time, bytes, block) = row?;
            out.push(CircuitSample {
                circuit_id,
                status: LoggedStatus::parse(id, &status)?,
                external: from_flag(TABLE, id, "external", external)?,
                response_time,
                proof_bytes: from_i64(TABLE, id, "proof_bytes", bytes)?,
                block: from_i64(TABLE, id, "block", block)?,
            });
        }
        Ok(out)
    }

    /// The lowest and highest block in the log, if it holds anything.
    pub fn request_log_span(&self) -> Result<Option<(u64, u64)>> {
        let (lo, hi): (Option<i64>, Option<i64>) = self
            .conn
            .prepare_cached("SELECT MIN(block), MAX(block) FROM request_log")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        match (lo, hi) {
            (Some(lo), Some(hi)) => Ok(Some((
                from_i64(TABLE, "span", "MIN(block)", lo)?,
                from_i64(TABLE, "span", "MAX(block)", hi)?,
            ))),
            _ => Ok(None),
        }
    }

    /// Requests in the log.
    pub fn request_log_len(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM request_log")?
            .query_row([], |r| r.get(0))?;
        from_i64(TABLE, "len", "COUNT(*)", n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreLimits;

    fn req(uid: u16, block: u64, status: LoggedStatus, rt: f64, score: f32) -> LoggedRequest {
        LoggedRequest {
            created_at_ms: 1_765_000_000_000 + block,
            block,
            uid,
            hotkey: format!("hk{uid}"),
            circuit_id: if uid == 3 { "c2" } else { "c1" }.into(),
            external: block == 12,
            status,
            response_time: rt,
            proof_bytes: if status == LoggedStatus::Verified {
                4000
            } else {
                0
            },
            detail: match status {
                LoggedStatus::Verified => "proof verified".into(),
                LoggedStatus::Unverified => "proof rejected: bad opening".into(),
                LoggedStatus::Failed => "no answer (status Timeout)".into(),
            },
            score,
        }
    }

    fn store_with(rows: &[LoggedRequest]) -> Store {
        let mut store = Store::open_in_memory(StoreLimits::default()).unwrap();
        store
            .write(|w| rows.iter().try_for_each(|r| w.log_request(r).map(|_| ())))
            .unwrap();
        store
    }

    #[test]
    fn the_log_round_trips_and_lists_newest_first() {
        use LoggedStatus::*;
        let rows = [
            req(2, 10, Verified, 0.5, 0.1),
            req(3, 11, Unverified, 0.2, 0.0),
            req(2, 12, Failed, 60.0, 0.06),
        ];
        let store = store_with(&rows);
        let all = store.recent_requests(10, false).unwrap();
        assert_eq!(all.len(), 3);
        assert!(all[0].id > all[1].id && all[1].id > all[2].id);
        assert_eq!(all[0].request, rows[2]);
        assert_eq!(all[2].request, rows[0]);
        let failures = store.recent_requests(10, true).unwrap();
        assert_eq!(
            failures.iter().map(|r| r.request.block).collect::<Vec<_>>(),
            vec![12, 11]
        );
        assert_eq!(
            store.recent_requests(1, false).unwrap()[0].request.block,
            12
        );
        assert_eq!(store.request_log_len().unwrap(), 3);
        assert_eq!(store.request_log_span().unwrap(), Some((10, 12)));
        let empty = Store::open_in_memory(StoreLimits::default()).unwrap();
        assert_eq!(empty.request_log_span().unwrap(), None);
    }

    #[test]
    fn the_log_keeps_only_the_newest_rows() {
        let mut store = Store::open_in_memory(StoreLimits::default()).unwrap();
        let extra = 3;
        store
            .write(|w| {
                (0..MAX_REQUEST_LOG + extra).try_for_each(|b| {
                    w.log_request(&req(2, b, LoggedStatus::Verified, 1.0, 0.1))
                        .map(|_| ())
                })
            })
            .unwrap();
        assert_eq!(store.request_log_len().unwrap(), MAX_REQUEST_LOG);
        assert_eq!(
            store.request_log_span().unwrap(),
            Some((extra, MAX_REQUEST_LOG + extra - 1)),
            "the oldest went first"
        );
    }

    #[test]
    fn series_buckets_count_sum_and_keep_the_last_score() {
        use LoggedStatus::*;
        let store = store_with(&[
            req(2, 5, Verified, 9.0, 0.9), // before `from`: left out
            req(2, 10, Verified, 1.0, 0.2),
            req(2, 13, Failed, 3.0, 0.1),
            req(2, 14, Verified, 2.0, 0.3),
            req(3, 14, Unverified, 0.5, 0.0),
        ]);
        let series = store.request_series(10, 4).unwrap();
        let two: Vec<_> = series.iter().filter(|b| b.uid == 2).collect();
        assert_eq!(two.len(), 2, "{series:?}");
        assert_eq!((two[0].index, two[0].requests, two[0].verified), (0, 2, 1));
        assert!((two[0].response_time_sum - 4.0).abs() < 1e-12);
        assert_eq!(two[0].score, 0.1, "score after the bucket's last request");
        assert_eq!((two[1].index, two[1].requests, two[1].score), (1, 1, 0.3));
        let three: Vec<_> = series.iter().filter(|b| b.uid == 3).collect();
        assert_eq!((three[0].index, three[0].verified), (1, 0));
        assert_eq!(three[0].hotkey, "hk3");
    }

    #[test]
    fn circuit_samples_carry_status_and_origin() {
        use LoggedStatus::*;
        let store = store_with(&[
            req(2, 12, Verified, 1.5, 0.2),
            req(3, 13, Failed, 60.0, 0.0),
        ]);
        let s = store.circuit_samples(10).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].circuit_id.as_str(), s[0].status, s[0].external),
            ("c2", Failed, false)
        );
        assert_eq!(
            (s[1].proof_bytes, s[1].external, s[1].block),
            (4000, true, 12)
        );
    }
}
