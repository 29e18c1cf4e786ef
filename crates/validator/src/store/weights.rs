//! History of the weight vectors this validator set, with what the chain said.

use rusqlite::{Connection, Row, params};
use serde::{Deserialize, Serialize};

use super::Writer;
use super::error::{Result, StoreError, from_flag, from_i64, to_i64};

const TABLE: &str = "weights_history";

/// What became of a weights transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxOutcome {
    /// Submitted, result not known yet.
    Pending,
    /// Included in a block.
    Included {
        /// The extrinsic hash (hex).
        tx_hash: String,
    },
    /// Rejected or failed to submit.
    Failed {
        /// The chain's or the client's error.
        reason: String,
    },
}

impl TxOutcome {
    fn columns(&self) -> (&'static str, &str) {
        match self {
            TxOutcome::Pending => ("pending", ""),
            TxOutcome::Included { tx_hash } => ("included", tx_hash),
            TxOutcome::Failed { reason } => ("failed", reason),
        }
    }

    fn from_columns(id: i64, outcome: &str, detail: String) -> Result<Self> {
        match outcome {
            "pending" => Ok(TxOutcome::Pending),
            "included" => Ok(TxOutcome::Included { tx_hash: detail }),
            "failed" => Ok(TxOutcome::Failed { reason: detail }),
            other => Err(StoreError::Corrupt {
                table: TABLE,
                key: id.to_string(),
                detail: format!("unknown outcome {other:?}"),
            }),
        }
    }
}

/// One weight vector set on chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightsRecord {
    /// Block at which the weights were computed.
    pub block: u64,
    /// Uids with non-zero weight.
    pub uids: Vec<u16>,
    /// Their `u16` weights (the emit form of `convert_weights_and_uids_for_emit`).
    pub weights: Vec<u16>,
    /// The weights version key sent.
    pub version_key: u64,
    /// Whether they went through commit-reveal (v2 or timelocked).
    pub commit_reveal: bool,
    /// For a timelocked commit (CRv3/CRv4), the drand round it is encrypted to: the chain
    /// reveals the weights once that round's pulse is on chain. `None` otherwise.
    pub reveal_round: Option<u64>,
    /// The transaction's outcome.
    pub outcome: TxOutcome,
    /// When they were set, milliseconds since the Unix epoch.
    pub created_at_ms: u64,
}

fn parse_u16_list(id: i64, column: &str, text: &str) -> Result<Vec<u16>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        table: TABLE,
        key: id.to_string(),
        detail: format!("{column} is not a list of u16: {e}"),
    })
}

struct RawRow {
    id: i64,
    block: i64,
    uids: String,
    weights: String,
    version_key: i64,
    commit_reveal: i64,
    outcome: String,
    detail: String,
    created_at_ms: i64,
    reveal_round: Option<i64>,
}

fn raw(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: r.get(0)?,
        block: r.get(1)?,
        uids: r.get(2)?,
        weights: r.get(3)?,
        version_key: r.get(4)?,
        commit_reveal: r.get(5)?,
        outcome: r.get(6)?,
        detail: r.get(7)?,
        created_at_ms: r.get(8)?,
        reveal_round: r.get(9)?,
    })
}

fn typed(r: RawRow) -> Result<(i64, WeightsRecord)> {
    let id = r.id;
    let uids = parse_u16_list(id, "uids", &r.uids)?;
    let weights = parse_u16_list(id, "weights", &r.weights)?;
    if uids.len() != weights.len() {
        return Err(StoreError::Corrupt {
            table: TABLE,
            key: id.to_string(),
            detail: format!("{} uids but {} weights", uids.len(), weights.len()),
        });
    }
    Ok((
        id,
        WeightsRecord {
            block: from_i64(TABLE, id, "block", r.block)?,
            uids,
            weights,
            version_key: from_i64(TABLE, id, "version_key", r.version_key)?,
            commit_reveal: from_flag(TABLE, id, "commit_reveal", r.commit_reveal)?,
            reveal_round: r
                .reveal_round
                .map(|v| from_i64(TABLE, id, "reveal_round", v))
                .transpose()?,
            outcome: TxOutcome::from_columns(id, &r.outcome, r.detail)?,
            created_at_ms: from_i64(TABLE, id, "created_at_ms", r.created_at_ms)?,
        },
    ))
}

pub(super) fn recent(conn: &Connection, limit: usize) -> Result<Vec<(i64, WeightsRecord)>> {
    let limit = to_i64("limit", limit as u64)?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, block, uids, weights, version_key, commit_reveal, outcome, detail, created_at_ms,
                reveal_round
         FROM weights_history ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], raw)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(typed(row?)?);
    }
    Ok(out)
}

/// The newest record the chain included (the weights in force), if any.
pub(super) fn last_included(conn: &Connection) -> Result<Option<(i64, WeightsRecord)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, block, uids, weights, version_key, commit_reveal, outcome, detail, created_at_ms,
                reveal_round
         FROM weights_history WHERE outcome = 'included' ORDER BY id DESC LIMIT 1",
    )?;
    let mut rows = stmt.query_map([], raw)?;
    rows.next().transpose()?.map(typed).transpose()
}

impl Writer<'_> {
    /// Appends a weights record and drops the oldest beyond the history limit. Returns its id.
    pub fn record_weights(&mut self, record: &WeightsRecord) -> Result<i64> {
        if record.uids.len() != record.weights.len() {
            return Err(StoreError::ValueOutOfRange {
                what: "weights (must have one per uid)",
                value: record.weights.len().to_string(),
                max: record.uids.len().to_string(),
            });
        }
        let (outcome, detail) = record.outcome.columns();
        // Serialising integer vectors cannot fail.
        let uids = serde_json::to_string(&record.uids).unwrap_or_default();
        let weights = serde_json::to_string(&record.weights).unwrap_or_default();
        self.tx
            .prepare_cached(
                "INSERT INTO weights_history (block, uids, weights, version_key, commit_reveal,
                     outcome, detail, created_at_ms, reveal_round)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                to_i64("block", record.block)?,
                uids,
                weights,
                to_i64("version_key", record.version_key)?,
                record.commit_reveal,
                outcome,
                detail,
                to_i64("created_at_ms", record.created_at_ms)?,
                record
                    .reveal_round
                    .map(|r| to_i64("reveal_round", r))
                    .transpose()?
            ])?;
        let id = self.tx.last_insert_rowid();
        let keep = to_i64(
            "weights history size",
            self.limits.weights_history.max(1) as u64,
        )?;
        self.tx
            .prepare_cached(
                "DELETE FROM weights_history WHERE id IN (
                     SELECT id FROM weights_history ORDER BY id DESC LIMIT -1 OFFSET ?1)",
            )?
            .execute([keep])?;
        Ok(id)
    }

    /// Records the drand round a timelocked commit of this record is encrypted to.
    pub fn set_weights_reveal_round(&mut self, id: i64, reveal_round: u64) -> Result<()> {
        let changed = self
            .tx
            .prepare_cached("UPDATE weights_history SET reveal_round = ?2 WHERE id = ?1")?
            .execute(params![id, to_i64("reveal_round", reveal_round)?])?;
        if changed == 0 {
            return Err(StoreError::UnknownWeightsRecord { id });
        }
        Ok(())
    }

    /// Sets the outcome of a recorded weights transaction.
    pub fn set_weights_outcome(&mut self, id: i64, outcome: &TxOutcome) -> Result<()> {
        let (outcome, detail) = outcome.columns();
        let changed = self
            .tx
            .prepare_cached("UPDATE weights_history SET outcome = ?2, detail = ?3 WHERE id = ?1")?
            .execute(params![id, outcome, detail])?;
        if changed == 0 {
            return Err(StoreError::UnknownWeightsRecord { id });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreLimits};

    #[test]
    fn a_timelocked_commit_keeps_its_reveal_round() {
        let mut store = Store::open_in_memory(StoreLimits::default()).unwrap();
        let record = WeightsRecord {
            block: 7_000_000,
            uids: vec![0, 3],
            weights: vec![65535, 13107],
            version_key: 11002,
            commit_reveal: true,
            reveal_round: None,
            outcome: TxOutcome::Pending,
            created_at_ms: 1_765_000_000_000,
        };
        let set = store.record_weights(&record).unwrap();
        let committed = store.record_weights(&record).unwrap();
        store
            .write(|w| {
                w.set_weights_reveal_round(committed, 21_000_000)?;
                w.set_weights_outcome(
                    committed,
                    &TxOutcome::Included {
                        tx_hash: String::new(),
                    },
                )
            })
            .unwrap();
        let history = store.weights_history(10).unwrap();
        assert_eq!(history[0].0, committed);
        assert_eq!(history[0].1.reveal_round, Some(21_000_000));
        assert_eq!(history[1], (set, record));
        let (id, included) = store.last_included_weights().unwrap().unwrap();
        assert_eq!((id, included.reveal_round), (committed, Some(21_000_000)));
        assert!(matches!(
            store.write(|w| w.set_weights_reveal_round(999, 1)),
            Err(StoreError::UnknownWeightsRecord { id: 999 })
        ));
    }
}
