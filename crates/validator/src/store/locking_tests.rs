//! The store against another process's connection to the same file: an operator's `sqlite3`
//! shell holding a write transaction, or checkpointing the WAL. Writes wait and succeed; none
//! fails with "database is locked".

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::{ScoreRow, Store};

fn row(uid: u16, score: f32) -> ScoreRow {
    ScoreRow {
        uid,
        hotkey: format!("hk{uid}"),
        score,
    }
}

/// Holds `BEGIN IMMEDIATE` on `path` for `hold`, from its own connection and thread.
fn hold_write_lock(path: &std::path::Path, hold: Duration) -> std::thread::JoinHandle<()> {
    let path = path.to_path_buf();
    let locked = Arc::new(Barrier::new(2));
    let signal = locked.clone();
    let handle = std::thread::spawn(move || {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO scores (uid, hotkey, score) VALUES (999, 'outside', 0.5);")
            .unwrap();
        signal.wait();
        std::thread::sleep(hold);
        conn.execute_batch("COMMIT").unwrap();
    });
    locked.wait();
    handle
}

#[test]
fn a_short_outside_write_transaction_delays_a_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let mut store = Store::open(&path).unwrap();
    store.set_scores(&[row(1, 0.25)]).unwrap();
    let outside = hold_write_lock(&path, Duration::from_millis(200));
    // A read-then-write transaction: a deferred one would fail at once on the lock upgrade.
    store
        .write(|w| {
            let before = w.scores()?;
            w.set_scores(&[row(2, before.len() as f32)])
        })
        .unwrap();
    outside.join().unwrap();
    let uids: Vec<u16> = store.scores().unwrap().iter().map(|r| r.uid).collect();
    assert_eq!(uids, vec![1, 2, 999]);
}

#[test]
fn a_lock_held_past_the_busy_timeout_is_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let mut store = Store::open(&path).unwrap();
    let hold = super::BUSY_TIMEOUT + Duration::from_secs(1);
    let start = Instant::now();
    let outside = hold_write_lock(&path, hold);
    store.set_scores(&[row(3, 0.75)]).unwrap();
    // The write could only land once the outside transaction committed.
    assert!(start.elapsed() >= hold - Duration::from_millis(100));
    outside.join().unwrap();
    assert_eq!(store.scores().unwrap().len(), 2);
}

#[test]
fn outside_checkpoints_do_not_fail_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let mut store = Store::open(&path).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let checkpointer = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            let conn = Connection::open(&path).unwrap();
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
            let mut runs = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for mode in ["FULL", "RESTART", "TRUNCATE"] {
                    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
                        .unwrap();
                    runs += 1;
                }
            }
            runs
        })
    };
    for i in 0..300u16 {
        store
            .write(|w| {
                let n = w.scores()?.len();
                w.set_scores(&[row(i, n as f32)])
            })
            .unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(checkpointer.join().unwrap() > 0);
    assert_eq!(store.scores().unwrap().len(), 300);
}
