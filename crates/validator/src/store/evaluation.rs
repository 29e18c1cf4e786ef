//! Per-circuit evaluation windows: the same replace-in-place, append, trim-the-oldest rule as
//! [`EvaluationWindow::update`], expressed in SQL so a restart sees the identical window.

use omron_scoring::constants::MAX_EVALUATION_ITEMS;
use omron_scoring::{EvaluationItem, EvaluationWindow};
use rusqlite::{Connection, OptionalExtension, params};

use super::Writer;
use super::error::{Result, from_f32_column, from_flag, from_i64, to_i64};

const TABLE: &str = "evaluation_items";

pub(super) fn load(conn: &Connection, circuit_id: &str) -> Result<EvaluationWindow> {
    let mut stmt = conn.prepare_cached(
        "SELECT uid, response_time, proof_size, verified, score, minimum_response_time
         FROM evaluation_items WHERE circuit_id = ?1 ORDER BY pos",
    )?;
    let rows = stmt.query_map([circuit_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, f64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, f64>(4)?,
            r.get::<_, f64>(5)?,
        ))
    })?;
    let mut items = Vec::new();
    for row in rows {
        let (uid, response_time, proof_size, verified, score, minimum_response_time) = row?;
        let key = format!("{circuit_id}/{uid}");
        items.push(EvaluationItem {
            uid: from_i64(TABLE, &key, "uid", uid)?,
            response_time,
            proof_size: from_i64(TABLE, &key, "proof_size", proof_size)?,
            verified: from_flag(TABLE, &key, "verified", verified)?,
            score: from_f32_column(TABLE, &key, "score", score)?,
            minimum_response_time,
        });
    }
    Ok(EvaluationWindow::from_items(items))
}

pub(super) fn circuits(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare_cached("SELECT DISTINCT circuit_id FROM evaluation_items ORDER BY circuit_id")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl Writer<'_> {
    /// Records an evaluation item in a circuit's window: the uid's existing item is replaced
    /// in place, otherwise the item is appended; then the oldest items beyond the window size
    /// are dropped.
    pub fn record_evaluation(&mut self, circuit_id: &str, item: &EvaluationItem) -> Result<()> {
        let proof_size = to_i64("proof_size", item.proof_size)?;
        let updated = self
            .tx
            .prepare_cached(
                "UPDATE evaluation_items
                 SET response_time = ?3, proof_size = ?4, verified = ?5, score = ?6,
                     minimum_response_time = ?7
                 WHERE circuit_id = ?1 AND uid = ?2",
            )?
            .execute(params![
                circuit_id,
                item.uid,
                item.response_time,
                proof_size,
                item.verified,
                f64::from(item.score),
                item.minimum_response_time
            ])?;
        if updated == 0 {
            let next_pos: i64 = self
                .tx
                .prepare_cached("SELECT MAX(pos) FROM evaluation_items WHERE circuit_id = ?1")?
                .query_row([circuit_id], |r| r.get::<_, Option<i64>>(0))
                .optional()?
                .flatten()
                .map_or(0, |p| p + 1);
            self.tx
                .prepare_cached(
                    "INSERT INTO evaluation_items (circuit_id, uid, pos, response_time, proof_size,
                         verified, score, minimum_response_time)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    circuit_id,
                    item.uid,
                    next_pos,
                    item.response_time,
                    proof_size,
                    item.verified,
                    f64::from(item.score),
                    item.minimum_response_time
                ])?;
            let capacity = to_i64("evaluation window size", MAX_EVALUATION_ITEMS as u64)?;
            self.tx
                .prepare_cached(
                    "DELETE FROM evaluation_items WHERE circuit_id = ?1 AND pos IN (
                         SELECT pos FROM evaluation_items WHERE circuit_id = ?1
                         ORDER BY pos DESC LIMIT -1 OFFSET ?2)",
                )?
                .execute(params![circuit_id, capacity])?;
        }
        Ok(())
    }

    /// A circuit's window as seen inside this transaction.
    pub fn evaluation_window(&self, circuit_id: &str) -> Result<EvaluationWindow> {
        load(&self.tx, circuit_id)
    }
}
