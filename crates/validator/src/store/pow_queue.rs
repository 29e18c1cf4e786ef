//! The persistent proof-of-weights queue (§5.5): items oldest first and the last processed
//! step, so that a restart neither loses queued updates nor re-applies a processed batch.
//!
//! The reference trims the queue only through the batched (1024) PoW path; so does this
//! store, through [`Writer::remove_pow_front`].

use omron_scoring::constants::SINGLE_POW_BATCH_SIZE;
use omron_scoring::{DueBatch, PowItem, PowQueue};
use rusqlite::{Connection, OptionalExtension, params};

use super::Writer;
use super::error::{Result, from_f32_column, from_flag, from_i64};

const TABLE: &str = "pow_queue";
const LAST_STEP_KEY: &str = "pow_last_processed_step";

fn last_step(conn: &Connection) -> Result<Option<u64>> {
    let value: Option<Option<i64>> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([LAST_STEP_KEY], |r| r.get(0))
        .optional()?;
    value
        .flatten()
        .map(|v| from_i64("meta", LAST_STEP_KEY, "value", v))
        .transpose()
}

pub(super) fn load(conn: &Connection) -> Result<PowQueue> {
    let items = read_items(
        conn,
        "SELECT seq, maximum_score, previous_score, verified, proof_size, response_time,
                competition, maximum_response_time, minimum_response_time, block_number,
                validator_uid, miner_uid
         FROM pow_queue ORDER BY seq",
    )?;
    Ok(PowQueue::from_parts(items, last_step(conn)?))
}

/// The batch due now, by the rule of [`PowQueue::due_batch`], reading only the last
/// [`SINGLE_POW_BATCH_SIZE`] items: the queue is never trimmed (reference §5.5), so loading it
/// whole on every response would grow without bound.
pub(super) fn due_batch(conn: &Connection) -> Result<Option<DueBatch>> {
    let len = len(conn)?;
    if len < SINGLE_POW_BATCH_SIZE || !len.is_multiple_of(SINGLE_POW_BATCH_SIZE) {
        return Ok(None);
    }
    let step = (len >> 8) as u64;
    if last_step(conn)? == Some(step) {
        return Ok(None);
    }
    let mut items = read_items(
        conn,
        &format!(
            "SELECT seq, maximum_score, previous_score, verified, proof_size, response_time,
                    competition, maximum_response_time, minimum_response_time, block_number,
                    validator_uid, miner_uid
             FROM pow_queue ORDER BY seq DESC LIMIT {SINGLE_POW_BATCH_SIZE}"
        ),
    )?;
    items.reverse();
    Ok(Some(DueBatch { step, items }))
}

fn read_items(conn: &Connection, sql: &str) -> Result<Vec<PowItem>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            [
                r.get::<_, f64>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, f64>(5)?,
                r.get::<_, f64>(6)?,
                r.get::<_, f64>(7)?,
                r.get::<_, f64>(8)?,
            ],
            r.get::<_, i64>(3)?,
            [
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(9)?,
                r.get::<_, i64>(10)?,
                r.get::<_, i64>(11)?,
            ],
        ))
    })?;
    let mut items = Vec::new();
    for row in rows {
        let (seq, floats, verified, ints) = row?;
        let f = |i: usize, name: &str| from_f32_column(TABLE, seq, name, floats[i]);
        items.push(PowItem {
            maximum_score: f(0, "maximum_score")?,
            previous_score: f(1, "previous_score")?,
            verified: from_flag(TABLE, seq, "verified", verified)?,
            proof_size: ints[0],
            response_time: f(2, "response_time")?,
            competition: f(3, "competition")?,
            maximum_response_time: f(4, "maximum_response_time")?,
            minimum_response_time: f(5, "minimum_response_time")?,
            block_number: ints[1],
            validator_uid: ints[2],
            miner_uid: ints[3],
        });
    }
    Ok(items)
}

pub(super) fn len(conn: &Connection) -> Result<usize> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM pow_queue")?
        .query_row([], |r| r.get(0))?;
    from_i64(TABLE, "count", "COUNT(*)", n)
}

impl Writer<'_> {
    /// Appends items to the queue, in order.
    pub fn push_pow_items(&mut self, items: &[PowItem]) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO pow_queue (maximum_score, previous_score, verified, proof_size,
                 response_time, competition, maximum_response_time, minimum_response_time,
                 block_number, validator_uid, miner_uid)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for item in items {
            stmt.execute(params![
                f64::from(item.maximum_score),
                f64::from(item.previous_score),
                item.verified,
                item.proof_size,
                f64::from(item.response_time),
                f64::from(item.competition),
                f64::from(item.maximum_response_time),
                f64::from(item.minimum_response_time),
                item.block_number,
                item.validator_uid,
                item.miner_uid
            ])?;
        }
        Ok(())
    }

    /// Records the last processed step (see [`PowQueue::mark_processed`]).
    pub fn set_pow_last_processed_step(&mut self, step: u64) -> Result<()> {
        let step = super::error::to_i64("pow step", step)?;
        self.tx
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![LAST_STEP_KEY, step])?;
        Ok(())
    }

    /// Drops the `count` oldest items (the batched PoW path's `remove_processed_items`).
    pub fn remove_pow_front(&mut self, count: usize) -> Result<()> {
        let count = super::error::to_i64("pow items to remove", count as u64)?;
        self.tx
            .prepare_cached(
                "DELETE FROM pow_queue WHERE seq IN (SELECT seq FROM pow_queue ORDER BY seq LIMIT ?1)",
            )?
            .execute([count])?;
        Ok(())
    }

    /// The batch due now (see [`PowQueue::due_batch`]), as seen inside this transaction.
    pub fn pow_due_batch(&self) -> Result<Option<DueBatch>> {
        due_batch(&self.tx)
    }

    /// The queue as seen inside this transaction.
    pub fn pow_queue(&self) -> Result<PowQueue> {
        load(&self.tx)
    }

    /// Number of queued items inside this transaction.
    pub fn pow_queue_len(&self) -> Result<usize> {
        len(&self.tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreLimits};

    fn item(uid: i64) -> PowItem {
        PowItem::for_competition(uid as u16, 0.25, 0.0, uid, 0)
    }

    #[test]
    fn due_batch_agrees_with_the_in_memory_queue() {
        let mut store = Store::open_in_memory(StoreLimits::default()).unwrap();
        let mut queue = PowQueue::default();
        for i in 0..700i64 {
            store.push_pow_items(&[item(i % 300)]).unwrap();
            queue.push(item(i % 300));
            let stored = store.pow_due_batch().unwrap();
            assert_eq!(stored, queue.due_batch(), "after {} items", i + 1);
            if let Some(batch) = stored {
                store
                    .write(|w| w.set_pow_last_processed_step(batch.step))
                    .unwrap();
                queue.mark_processed(batch.step);
                assert!(store.pow_due_batch().unwrap().is_none());
            }
        }
        assert_eq!(queue.last_processed_step(), Some(2));
    }
}
