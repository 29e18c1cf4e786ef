//! The proof archive: what was asked, who answered, with what proof, and whether it verified.
//! Bounded in entries and bytes; the oldest entries go first.
//!
//! Inputs and outputs are kept as the exact JSON text that travelled, so an archived proof can
//! be verified again later against exactly the inputs the validator sent.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::Writer;
use super::error::{Result, StoreError, from_flag, from_i64, to_i64};

const TABLE: &str = "proof_archive";

/// An entry to archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewArchivedProof {
    /// Hash of the request inputs (hex of [`omron_scoring::input_hash`]).
    pub request_hash: String,
    /// Circuit id (sha256 of its verifying key, hex).
    pub circuit_id: String,
    /// Uid of the miner that answered.
    pub miner_uid: u16,
    /// Hotkey (ss58) of the miner that answered.
    pub miner_hotkey: String,
    /// The inputs the validator sent, as the JSON text sent.
    pub inputs_json: String,
    /// The miner's claimed output / public signals, as JSON text.
    pub output_json: String,
    /// The proof bytes.
    pub proof: Vec<u8>,
    /// Whether the proof verified against the validator's own inputs.
    pub verified: bool,
    /// Response time in seconds.
    pub response_time: f64,
    /// Verification time in seconds, when verification ran.
    pub verification_time: Option<f64>,
    /// Block at which the response was scored.
    pub block: Option<u64>,
    /// When it was archived, milliseconds since the Unix epoch.
    pub created_at_ms: u64,
}

impl NewArchivedProof {
    /// Bytes this entry counts against the archive limit.
    pub fn size_bytes(&self) -> u64 {
        (self.inputs_json.len() + self.output_json.len() + self.proof.len()) as u64
    }
}

/// An archived entry with its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedProof {
    /// Archive id (increasing).
    pub id: i64,
    /// The entry as written.
    pub entry: NewArchivedProof,
}

const COLUMNS: &str =
    "id, request_hash, circuit_id, miner_uid, miner_hotkey, inputs_json, output_json, proof,
     verified, response_time, verification_time, block, created_at_ms";

struct RawRow {
    id: i64,
    request_hash: String,
    circuit_id: String,
    miner_uid: i64,
    miner_hotkey: String,
    inputs_json: String,
    output_json: String,
    proof: Vec<u8>,
    verified: i64,
    response_time: f64,
    verification_time: Option<f64>,
    block: Option<i64>,
    created_at_ms: i64,
}

fn raw(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: r.get(0)?,
        request_hash: r.get(1)?,
        circuit_id: r.get(2)?,
        miner_uid: r.get(3)?,
        miner_hotkey: r.get(4)?,
        inputs_json: r.get(5)?,
        output_json: r.get(6)?,
        proof: r.get(7)?,
        verified: r.get(8)?,
        response_time: r.get(9)?,
        verification_time: r.get(10)?,
        block: r.get(11)?,
        created_at_ms: r.get(12)?,
    })
}

fn typed(r: RawRow) -> Result<ArchivedProof> {
    let id = r.id;
    Ok(ArchivedProof {
        id,
        entry: NewArchivedProof {
            request_hash: r.request_hash,
            circuit_id: r.circuit_id,
            miner_uid: from_i64(TABLE, id, "miner_uid", r.miner_uid)?,
            miner_hotkey: r.miner_hotkey,
            inputs_json: r.inputs_json,
            output_json: r.output_json,
            proof: r.proof,
            verified: from_flag(TABLE, id, "verified", r.verified)?,
            response_time: r.response_time,
            verification_time: r.verification_time,
            block: r
                .block
                .map(|b| from_i64(TABLE, id, "block", b))
                .transpose()?,
            created_at_ms: from_i64(TABLE, id, "created_at_ms", r.created_at_ms)?,
        },
    })
}

fn query(conn: &Connection, sql: &str, param: impl rusqlite::Params) -> Result<Vec<ArchivedProof>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(param, raw)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(typed(row?)?);
    }
    Ok(out)
}

pub(super) fn get(conn: &Connection, id: i64) -> Result<Option<ArchivedProof>> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM proof_archive WHERE id = ?1"
        ))?
        .query_row([id], raw)
        .optional()?;
    row.map(typed).transpose()
}

pub(super) fn by_request(conn: &Connection, request_hash: &str) -> Result<Vec<ArchivedProof>> {
    query(
        conn,
        &format!("SELECT {COLUMNS} FROM proof_archive WHERE request_hash = ?1 ORDER BY id"),
        [request_hash],
    )
}

pub(super) fn recent(conn: &Connection, limit: usize) -> Result<Vec<ArchivedProof>> {
    let limit = to_i64("limit", limit as u64)?;
    query(
        conn,
        &format!("SELECT {COLUMNS} FROM proof_archive ORDER BY id DESC LIMIT ?1"),
        [limit],
    )
}

pub(super) fn usage(conn: &Connection) -> Result<(usize, u64)> {
    let (count, bytes): (i64, i64) = conn
        .prepare_cached("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM proof_archive")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((
        from_i64(TABLE, "usage", "COUNT(*)", count)?,
        from_i64(TABLE, "usage", "SUM(bytes)", bytes)?,
    ))
}

fn check_json(field: &'static str, text: &str) -> Result<()> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| StoreError::InvalidJson {
            field,
            reason: e.to_string(),
        })
}

impl Writer<'_> {
    /// Archives a proof and evicts the oldest entries until the archive is within its limits.
    /// Returns the new entry's id.
    ///
    /// # Errors
    /// Inputs or output that are not JSON; an entry larger than the whole archive limit.
    pub fn archive_proof(&mut self, entry: &NewArchivedProof) -> Result<i64> {
        check_json("inputs_json", &entry.inputs_json)?;
        check_json("output_json", &entry.output_json)?;
        let bytes = entry.size_bytes();
        if bytes > self.limits.archive_max_bytes {
            return Err(StoreError::ArchiveEntryTooLarge {
                bytes,
                limit: self.limits.archive_max_bytes,
            });
        }
        let block = entry.block.map(|b| to_i64("block", b)).transpose()?;
        self.tx
            .prepare_cached(
                "INSERT INTO proof_archive (request_hash, circuit_id, miner_uid, miner_hotkey,
                     inputs_json, output_json, proof, verified, response_time, verification_time,
                     block, created_at_ms, bytes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                entry.request_hash,
                entry.circuit_id,
                entry.miner_uid,
                entry.miner_hotkey,
                entry.inputs_json,
                entry.output_json,
                entry.proof,
                entry.verified,
                entry.response_time,
                entry.verification_time,
                block,
                to_i64("created_at_ms", entry.created_at_ms)?,
                to_i64("archive entry bytes", bytes)?
            ])?;
        let id = self.tx.last_insert_rowid();
        self.evict_archive()?;
        Ok(id)
    }

    fn evict_archive(&mut self) -> Result<()> {
        let (mut count, mut total) = usage(&self.tx)?;
        let max_entries = self.limits.archive_max_entries.max(1);
        let max_bytes = self.limits.archive_max_bytes;
        if count <= max_entries && total <= max_bytes {
            return Ok(());
        }
        // Walk from the oldest, summing what must go, then delete that prefix at once.
        let mut cutoff = None;
        {
            let mut stmt = self
                .tx
                .prepare_cached("SELECT id, bytes FROM proof_archive ORDER BY id")?;
            let mut rows = stmt.query([])?;
            while count > max_entries || total > max_bytes {
                let Some(row) = rows.next()? else { break };
                let id: i64 = row.get(0)?;
                let bytes: i64 = row.get(1)?;
                cutoff = Some(id);
                count -= 1;
                total = total.saturating_sub(from_i64(TABLE, id, "bytes", bytes)?);
            }
        }
        if let Some(cutoff) = cutoff {
            let removed = self
                .tx
                .prepare_cached("DELETE FROM proof_archive WHERE id <= ?1")?
                .execute([cutoff])?;
            tracing::debug!(removed, "proof archive: evicted oldest entries");
        }
        Ok(())
    }
}
