//! The archive of external requests (apps asking through the external API): what was asked,
//! by whom, which miner proved it, the proof, the proven output and the signed receipt, or why
//! it failed. Kept as one JSON record per request, so that an export is the record itself and
//! anyone can re-verify it with `omron receipt verify`. Bounded: the oldest go first.

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use super::Writer;
use super::error::{Result, StoreError, to_i64};

const TABLE: &str = "external_requests";
/// Records kept at most.
pub const MAX_EXTERNAL_RECORDS: u64 = 100_000;

/// One external request, as archived and exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalRecord {
    /// The request's hash (the answer's `hash`).
    pub request_hash: String,
    /// The JSON-RPC method.
    pub method: String,
    /// The caller's key (ss58).
    pub origin: String,
    /// The circuit id.
    pub circuit_id: String,
    /// `verified` or `failed`.
    pub status: String,
    /// Why it failed (every attempt's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Miners asked.
    pub attempts: u32,
    /// Time from arrival to answer, milliseconds.
    pub latency_ms: f64,
    /// The block when it was answered.
    pub block: u64,
    /// When it was answered, milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// The verified answer's parts (none for a failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proven: Option<ProvenRecord>,
}

/// The verified part of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvenRecord {
    /// The exact input the proof is bound to.
    pub context: serde_json::Value,
    /// The proven output.
    pub output: serde_json::Value,
    /// The proof, hex.
    pub proof: String,
    /// The signed receipt.
    pub receipt: serde_json::Value,
    /// The miner's uid.
    pub miner_uid: u16,
    /// The miner's hotkey (ss58).
    pub miner_hotkey: String,
}

/// A record with its archive id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredExternalRecord {
    /// Archive id (increasing).
    pub id: i64,
    /// The record.
    pub record: ExternalRecord,
}

fn read_rows(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<StoredExternalRecord>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(p, |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, text) = row?;
        let record = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            table: TABLE,
            key: id.to_string(),
            detail: format!("record: {e}"),
        })?;
        out.push(StoredExternalRecord { id, record });
    }
    Ok(out)
}

/// The newest `limit` records, newest first.
pub(super) fn recent(conn: &Connection, limit: usize) -> Result<Vec<StoredExternalRecord>> {
    let limit = to_i64("limit", limit as u64)?;
    read_rows(
        conn,
        "SELECT id, record FROM external_requests ORDER BY id DESC LIMIT ?1",
        [limit],
    )
}

/// Every record answered at or after `block`, oldest first.
pub(super) fn since_block(conn: &Connection, block: u64) -> Result<Vec<StoredExternalRecord>> {
    let block = to_i64("block", block)?;
    read_rows(
        conn,
        "SELECT id, record FROM external_requests WHERE block >= ?1 ORDER BY id",
        [block],
    )
}

impl Writer<'_> {
    /// Archives one external request; evicts the oldest beyond [`MAX_EXTERNAL_RECORDS`].
    pub fn archive_external(&mut self, record: &ExternalRecord) -> Result<i64> {
        let text = serde_json::to_string(record).map_err(|e| StoreError::Corrupt {
            table: TABLE,
            key: record.request_hash.clone(),
            detail: format!("cannot encode: {e}"),
        })?;
        self.tx.execute(
            "INSERT INTO external_requests (request_hash, block, created_at_ms, status, record) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                record.request_hash,
                to_i64("block", record.block)?,
                to_i64("created_at_ms", record.created_at_ms)?,
                record.status,
                text
            ],
        )?;
        let id = self.tx.last_insert_rowid();
        let keep = to_i64("limit", MAX_EXTERNAL_RECORDS)?;
        self.tx.execute(
            "DELETE FROM external_requests WHERE id <= ?1 - ?2",
            params![id, keep],
        )?;
        Ok(id)
    }
}
