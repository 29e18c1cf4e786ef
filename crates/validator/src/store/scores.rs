//! Scores per uid, tied to the hotkey registered at that uid.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::Writer;
use super::error::{Result, from_f32_column, from_i64};

/// The stored score of one uid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRow {
    /// The uid.
    pub uid: u16,
    /// The hotkey (ss58) registered at the uid when the score was earned.
    pub hotkey: String,
    /// The score (float32, as the reference keeps it).
    pub score: f32,
}

pub(super) fn load(conn: &Connection) -> Result<Vec<ScoreRow>> {
    let mut stmt = conn.prepare_cached("SELECT uid, hotkey, score FROM scores ORDER BY uid")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, f64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (uid, hotkey, score) = row?;
        out.push(ScoreRow {
            uid: from_i64("scores", uid, "uid", uid)?,
            hotkey,
            score: from_f32_column("scores", uid, "score", score)?,
        });
    }
    Ok(out)
}

pub(super) fn to_vector(rows: &[ScoreRow], n: usize) -> Vec<f32> {
    let mut scores = vec![0.0f32; n];
    for row in rows {
        if let Some(slot) = scores.get_mut(usize::from(row.uid)) {
            *slot = row.score;
        }
    }
    scores
}

impl Writer<'_> {
    /// Writes these rows (insert or replace by uid).
    pub fn set_scores(&mut self, rows: &[ScoreRow]) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO scores (uid, hotkey, score) VALUES (?1, ?2, ?3)
             ON CONFLICT (uid) DO UPDATE SET hotkey = excluded.hotkey, score = excluded.score",
        )?;
        for row in rows {
            stmt.execute(params![row.uid, row.hotkey, f64::from(row.score)])?;
        }
        Ok(())
    }

    /// Updates the scores of uids already stored, keeping their hotkeys; uids not stored are
    /// skipped (a score is tied to a hotkey, so [`Writer::sync_hotkeys`] must have seen the
    /// uid). Returns how many rows changed.
    pub fn update_scores(&mut self, scores: &[(u16, f32)]) -> Result<usize> {
        let mut stmt = self
            .tx
            .prepare_cached("UPDATE scores SET score = ?2 WHERE uid = ?1")?;
        let mut changed = 0;
        for &(uid, score) in scores {
            changed += stmt.execute(params![uid, f64::from(score)])?;
        }
        Ok(changed)
    }

    /// Aligns the stored hotkeys with the metagraph's: a uid now held by another hotkey has its
    /// score reset to zero (and its request statistics dropped), a new uid starts at zero.
    /// Returns the uids whose score was reset (not the new ones).
    pub fn sync_hotkeys(&mut self, hotkeys: &[(u16, String)]) -> Result<Vec<u16>> {
        let mut reset = Vec::new();
        for (uid, hotkey) in hotkeys {
            super::miner_stats::reset_if_hotkey_changed(&self.tx, *uid, hotkey)?;
            let stored: Option<String> = self
                .tx
                .prepare_cached("SELECT hotkey FROM scores WHERE uid = ?1")?
                .query_row([uid], |r| r.get(0))
                .optional()?;
            match stored {
                Some(ref old) if old == hotkey => {}
                Some(old) => {
                    self.tx
                        .prepare_cached(
                            "UPDATE scores SET hotkey = ?2, score = 0.0 WHERE uid = ?1",
                        )?
                        .execute(params![uid, hotkey])?;
                    tracing::info!(uid, old_hotkey = %old, hotkey = %hotkey, "uid re-registered: score reset");
                    reset.push(*uid);
                }
                None => {
                    self.tx
                        .prepare_cached(
                            "INSERT INTO scores (uid, hotkey, score) VALUES (?1, ?2, 0.0)",
                        )?
                        .execute(params![uid, hotkey])?;
                }
            }
        }
        Ok(reset)
    }

    /// The stored scores as seen inside this transaction.
    pub fn scores(&self) -> Result<Vec<ScoreRow>> {
        load(&self.tx)
    }
}
