//! The store's schema and its migrations.
//!
//! `schema_version` holds one row: the number of migrations applied. Migration `i` (0-based)
//! takes the schema from version `i` to `i + 1`; each runs in its own transaction together
//! with the version bump, so a crash leaves the database at a whole version. Migrations are
//! append-only: a released one is never edited, a change is a new entry.

use rusqlite::{Connection, OptionalExtension};

use super::error::{Result, StoreError};

/// The migrations of this build, oldest first.
pub(crate) const MIGRATIONS: &[&str] = &[
    // Version 1: the initial schema.
    r#"
    -- Scores per uid. A uid re-registered by another hotkey starts again from zero.
    CREATE TABLE scores (
        uid     INTEGER PRIMARY KEY,
        hotkey  TEXT    NOT NULL,
        score   REAL    NOT NULL
    );

    -- Per-circuit response-time windows (one item per uid; pos orders the window).
    CREATE TABLE evaluation_items (
        circuit_id            TEXT    NOT NULL,
        uid                   INTEGER NOT NULL,
        pos                   INTEGER NOT NULL,
        response_time         REAL    NOT NULL,
        proof_size            INTEGER NOT NULL,
        verified              INTEGER NOT NULL,
        score                 REAL    NOT NULL,
        minimum_response_time REAL    NOT NULL,
        PRIMARY KEY (circuit_id, uid),
        UNIQUE (circuit_id, pos)
    );

    -- The hash guard: the newest input hashes, oldest first by seq.
    CREATE TABLE hash_guard (
        seq  INTEGER PRIMARY KEY AUTOINCREMENT,
        hash BLOB    NOT NULL UNIQUE
    );

    -- The proof-of-weights queue, oldest first by seq.
    CREATE TABLE pow_queue (
        seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
        maximum_score         REAL    NOT NULL,
        previous_score        REAL    NOT NULL,
        verified              INTEGER NOT NULL,
        proof_size            INTEGER NOT NULL,
        response_time         REAL    NOT NULL,
        competition           REAL    NOT NULL,
        maximum_response_time REAL    NOT NULL,
        minimum_response_time REAL    NOT NULL,
        block_number          INTEGER NOT NULL,
        validator_uid         INTEGER NOT NULL,
        miner_uid             INTEGER NOT NULL
    );

    -- Small named values (the PoW queue's last processed step).
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value INTEGER
    );

    -- Verified (and failed) proofs, newest last; bounded in entries and bytes.
    CREATE TABLE proof_archive (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        request_hash      TEXT    NOT NULL,
        circuit_id        TEXT    NOT NULL,
        miner_uid         INTEGER NOT NULL,
        miner_hotkey      TEXT    NOT NULL,
        inputs_json       TEXT    NOT NULL,
        output_json       TEXT    NOT NULL,
        proof             BLOB    NOT NULL,
        verified          INTEGER NOT NULL,
        response_time     REAL    NOT NULL,
        verification_time REAL,
        block             INTEGER,
        created_at_ms     INTEGER NOT NULL,
        bytes             INTEGER NOT NULL
    );
    CREATE INDEX proof_archive_request_hash ON proof_archive (request_hash);
    CREATE INDEX proof_archive_miner ON proof_archive (miner_uid, id);

    -- Weight vectors this validator set (or tried to).
    CREATE TABLE weights_history (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        block         INTEGER NOT NULL,
        uids          TEXT    NOT NULL,
        weights       TEXT    NOT NULL,
        version_key   INTEGER NOT NULL,
        commit_reveal INTEGER NOT NULL,
        outcome       TEXT    NOT NULL,
        detail        TEXT    NOT NULL,
        created_at_ms INTEGER NOT NULL
    );
    "#,
    // Version 2: what the node needs beyond the scoring state.
    r#"
    -- Per-uid request statistics for the scoreboard, tied to the hotkey like the scores.
    CREATE TABLE miner_stats (
        uid                 INTEGER PRIMARY KEY,
        hotkey              TEXT    NOT NULL,
        requests            INTEGER NOT NULL,
        verified            INTEGER NOT NULL,
        response_time_sum   REAL    NOT NULL,
        verified_proof_bytes INTEGER NOT NULL,
        last_block          INTEGER NOT NULL
    );

    -- Weight commits (commit-reveal) waiting for their reveal; the weights_history row they
    -- belong to is named by record_id.
    CREATE TABLE pending_commits (
        record_id    INTEGER PRIMARY KEY,
        uids         TEXT    NOT NULL,
        weights      TEXT    NOT NULL,
        salt         TEXT    NOT NULL,
        version_key  INTEGER NOT NULL,
        commit_block INTEGER NOT NULL,
        reveal_epoch INTEGER NOT NULL
    );
    "#,
    // Version 3: requests from apps through the external API, one JSON record each.
    r#"
    CREATE TABLE external_requests (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        request_hash  TEXT    NOT NULL,
        block         INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        status        TEXT    NOT NULL,
        record        TEXT    NOT NULL
    );
    CREATE INDEX external_requests_block ON external_requests (block);
    "#,
    // Version 4: the drand round a timelocked commit (CRv3/CRv4) is encrypted to; NULL for
    // set_weights and CRv2 commits.
    r#"
    ALTER TABLE weights_history ADD COLUMN reveal_round INTEGER;
    "#,
    // Version 5: every scored request (benchmark, and each miner an external request asked)
    // with its outcome and the reason it failed, for the dashboard's history; bounded.
    r#"
    CREATE TABLE request_log (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at_ms INTEGER NOT NULL,
        block         INTEGER NOT NULL,
        uid           INTEGER NOT NULL,
        hotkey        TEXT    NOT NULL,
        circuit_id    TEXT    NOT NULL,
        external      INTEGER NOT NULL,
        status        TEXT    NOT NULL,
        response_time REAL    NOT NULL,
        proof_bytes   INTEGER NOT NULL,
        detail        TEXT    NOT NULL,
        score         REAL    NOT NULL
    );
    CREATE INDEX request_log_block ON request_log (block);
    "#,
];

/// Reads the recorded version (0 for a new database).
pub(crate) fn read_version(conn: &Connection) -> Result<u32> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let version: Option<i64> = conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .optional()?;
    match version {
        None => Ok(0),
        Some(v) => u32::try_from(v).map_err(|_| StoreError::Corrupt {
            table: "schema_version",
            key: "version".to_owned(),
            detail: format!("version {v} is not a valid schema version"),
        }),
    }
}

/// Brings the database to the newest version of `migrations`, one transaction per step.
/// Returns the versions applied (empty if it was current).
pub(crate) fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<Vec<u32>> {
    let supported = migrations.len() as u32;
    let found = read_version(conn)?;
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    let mut applied = Vec::new();
    for (index, sql) in migrations.iter().enumerate().skip(found as usize) {
        let version = index as u32 + 1;
        let tx = super::begin_immediate(conn)?;
        tx.execute_batch(sql)?;
        tx.execute("DELETE FROM schema_version", [])?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [version],
        )?;
        tx.commit()?;
        tracing::info!(version, "store schema migrated");
        applied.push(version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: [&str; 2] = [
        "CREATE TABLE a (x INTEGER);",
        "ALTER TABLE a ADD COLUMN y INTEGER NOT NULL DEFAULT 7;",
    ];

    #[test]
    fn migrations_apply_in_order_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn, &STEPS[..1]).unwrap(), vec![1]);
        conn.execute("INSERT INTO a (x) VALUES (1)", []).unwrap();
        // A later build adds a step: only that one runs, the data survives.
        assert_eq!(migrate(&mut conn, &STEPS).unwrap(), vec![2]);
        let (x, y): (i64, i64) = conn
            .query_row("SELECT x, y FROM a", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!((x, y), (1, 7));
        assert!(migrate(&mut conn, &STEPS).unwrap().is_empty());
        assert_eq!(read_version(&conn).unwrap(), 2);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &STEPS).unwrap();
        assert!(matches!(
            migrate(&mut conn, &STEPS[..1]),
            Err(StoreError::SchemaTooNew {
                found: 2,
                supported: 1
            })
        ));
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        let broken = [STEPS[0], "CREATE TABLE a (oops INTEGER);"];
        assert!(migrate(&mut conn, &broken).is_err());
        assert_eq!(read_version(&conn).unwrap(), 1);
    }

    #[test]
    fn the_real_schema_applies_to_an_empty_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(
            migrate(&mut conn, MIGRATIONS).unwrap(),
            (1..=MIGRATIONS.len() as u32).collect::<Vec<_>>()
        );
    }
}
