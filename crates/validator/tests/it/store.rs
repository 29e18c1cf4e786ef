//! The validator store across restarts: everything written is read back exactly after the
//! database is closed and opened again, limits hold, transactions are all-or-nothing, and a
//! damaged or newer database is an error, never a panic.

use std::path::{Path, PathBuf};

use omron_scoring::{
    EvaluationItem, EvaluationWindow, HashGuard, PowItem, PowQueue, PyRandom, score_from_scaled,
};
use omron_validator::store::{
    HashInsert, NewArchivedProof, SCHEMA_VERSION, ScoreRow, Store, StoreError, StoreLimits,
    TxOutcome, WeightsRecord,
};

struct TempDb {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn temp_db() -> TempDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("validator.sqlite");
    TempDb { _dir: dir, path }
}

fn reopen(path: &Path, limits: StoreLimits) -> Store {
    Store::open_with_limits(path, limits).expect("reopen")
}

#[test]
fn scores_round_trip_bit_for_bit_and_a_new_hotkey_resets_its_uid() {
    let db = temp_db();
    let hotkeys: Vec<(u16, String)> = (0..5).map(|uid| (uid, format!("5Hotkey{uid}"))).collect();
    let odd_values = [
        score_from_scaled(39_062),
        0.1f32,
        f32::from_bits(1), // smallest subnormal
        1.0 / 256.0,
        0.0,
    ];
    {
        let mut store = Store::open(&db.path).expect("open");
        assert_eq!(
            store.sync_hotkeys(&hotkeys).expect("sync"),
            Vec::<u16>::new()
        );
        let rows: Vec<ScoreRow> = hotkeys
            .iter()
            .zip(odd_values)
            .map(|((uid, hotkey), score)| ScoreRow {
                uid: *uid,
                hotkey: hotkey.clone(),
                score,
            })
            .collect();
        store.set_scores(&rows).expect("set");
    }
    let mut store = reopen(&db.path, StoreLimits::default());
    let rows = store.scores().expect("scores");
    assert_eq!(rows.len(), 5);
    for (row, expected) in rows.iter().zip(odd_values) {
        assert_eq!(row.score.to_bits(), expected.to_bits(), "uid {}", row.uid);
    }
    assert_eq!(store.score_vector(7).expect("vector")[..5], odd_values);
    assert_eq!(store.score_vector(7).expect("vector")[5..], [0.0, 0.0]);

    // uid 2 re-registered by another hotkey; uid 5 is new.
    let mut next = hotkeys.clone();
    next[2].1 = "5Newcomer".to_owned();
    next.push((5, "5Hotkey5".to_owned()));
    assert_eq!(store.sync_hotkeys(&next).expect("sync"), vec![2]);
    drop(store);
    let store = reopen(&db.path, StoreLimits::default());
    let rows = store.scores().expect("scores");
    assert_eq!(
        rows[2],
        ScoreRow {
            uid: 2,
            hotkey: "5Newcomer".to_owned(),
            score: 0.0
        }
    );
    assert_eq!(rows[1].score, 0.1f32, "other uids keep their scores");
    assert_eq!(
        rows[5],
        ScoreRow {
            uid: 5,
            hotkey: "5Hotkey5".to_owned(),
            score: 0.0
        }
    );
}

#[test]
fn update_scores_keeps_hotkeys_and_skips_unknown_uids() {
    let mut store = Store::open_in_memory(StoreLimits::default()).expect("open");
    store
        .sync_hotkeys(&[(0, "a".to_owned()), (1, "b".to_owned())])
        .expect("sync");
    let changed = store
        .write(|w| w.update_scores(&[(1, 0.25), (9, 0.5)]))
        .expect("update");
    assert_eq!(changed, 1);
    assert_eq!(store.score_vector(3).expect("vector"), vec![0.0, 0.25, 0.0]);
    assert_eq!(store.scores().expect("scores")[1].hotkey, "b");
}

#[test]
fn evaluation_windows_match_the_in_memory_window_after_reopen() {
    let db = temp_db();
    let circuit = "4a87c995300f4e9ad9add9d5b800eb93bb3ecd3f9459b617f9924a211407a88c";
    let other = "31df94d233053d9648c3c57362d9aa8aaa0f77761ac520af672103dbb387a6a5";
    let mut rng = PyRandom::from_u64(2024);
    let mut expected = EvaluationWindow::default();
    {
        let mut store = Store::open(&db.path).expect("open");
        // Updates to 1100 distinct uids with repeats: replacements in place and trimming.
        store
            .write(|w| {
                for i in 0..3000u32 {
                    let uid = if i < 1100 {
                        i as u16
                    } else {
                        rng.randbelow(1100) as u16
                    };
                    let item = EvaluationItem {
                        uid,
                        response_time: rng.random() * 60.0,
                        proof_size: rng.randbelow(20_000),
                        verified: rng.randbelow(4) != 0,
                        score: rng.random() as f32 / 256.0,
                        minimum_response_time: rng.random(),
                    };
                    expected.update(item);
                    w.record_evaluation(circuit, &item)?;
                }
                w.record_evaluation(
                    other,
                    &EvaluationItem {
                        uid: 3,
                        response_time: 1.5,
                        proof_size: 10,
                        verified: true,
                        score: 0.0,
                        minimum_response_time: 0.0,
                    },
                )?;
                Ok(())
            })
            .expect("write");
    }
    let store = reopen(&db.path, StoreLimits::default());
    let window = store.evaluation_window(circuit).expect("window");
    assert_eq!(window.len(), 1024);
    assert_eq!(window, expected);
    assert_eq!(
        window.minimum_response_time(60.0),
        expected.minimum_response_time(60.0)
    );
    assert_eq!(
        window.maximum_response_time(60.0),
        expected.maximum_response_time(60.0)
    );
    assert_eq!(store.evaluation_window(other).expect("window").len(), 1);
    assert_eq!(
        store.evaluation_circuits().expect("circuits"),
        vec![other.to_owned(), circuit.to_owned()]
    );
    assert!(
        store
            .evaluation_window("unknown")
            .expect("window")
            .is_empty()
    );
}

#[test]
fn hash_guard_keeps_the_newest_hashes_across_restarts() {
    let db = temp_db();
    let limits = StoreLimits {
        hash_guard_capacity: 4,
        ..StoreLimits::default()
    };
    let h = |b: u8| [b; 32];
    let mut mirror = HashGuard::with_capacity(4);
    {
        let mut store = Store::open_with_limits(&db.path, limits).expect("open");
        for b in 1..=6u8 {
            let evicted = mirror.insert(h(b)).expect("new in mirror");
            assert_eq!(
                store.insert_hash(&h(b)).expect("insert"),
                HashInsert::Inserted { evicted }
            );
        }
        assert_eq!(
            store.insert_hash(&h(6)).expect("insert"),
            HashInsert::Duplicate
        );
    }
    let mut store = reopen(&db.path, limits);
    let loaded = store.hash_guard().expect("guard");
    assert_eq!(
        loaded.iter().collect::<Vec<_>>(),
        mirror.iter().collect::<Vec<_>>()
    );
    assert_eq!(
        store.insert_hash(&h(4)).expect("insert"),
        HashInsert::Duplicate,
        "remembered after restart"
    );
    assert!(
        !store.contains_hash(&h(1)).expect("contains"),
        "evicted stays evicted"
    );
    assert!(store.remove_hash(&h(4)).expect("remove"));
    assert!(!store.remove_hash(&h(4)).expect("remove"));
    assert_eq!(
        store.insert_hash(&h(4)).expect("insert"),
        HashInsert::Inserted { evicted: None },
        "a removed hash may be used again"
    );
    // A lower capacity on the next run trims to it at the next insert.
    drop(store);
    let mut store = reopen(
        &db.path,
        StoreLimits {
            hash_guard_capacity: 2,
            ..limits
        },
    );
    assert!(matches!(
        store.insert_hash(&h(9)).expect("insert"),
        HashInsert::Inserted { evicted: Some(_) }
    ));
    assert_eq!(store.hash_guard().expect("guard").len(), 2);
}

fn pow_item(rng: &mut PyRandom, uid: i64) -> PowItem {
    PowItem {
        maximum_score: (1.0 / 235.0) as f32,
        previous_score: score_from_scaled(rng.randbelow(390_625)),
        verified: rng.randbelow(2) == 1,
        proof_size: rng.randbelow(30_000) as i64,
        response_time: (rng.random() * 60.0) as f32,
        competition: 0.0,
        maximum_response_time: 60.5,
        minimum_response_time: f32::from_bits(0x3dcc_cccd), // 0.1 as float32
        block_number: 5_000_000 + rng.randbelow(1000) as i64,
        validator_uid: 7,
        miner_uid: uid,
    }
}

#[test]
fn pow_queue_and_its_step_survive_restarts() {
    let db = temp_db();
    let mut rng = PyRandom::from_u64(5);
    let mut mirror = PowQueue::default();
    {
        let mut store = Store::open(&db.path).expect("open");
        assert_eq!(store.pow_queue().expect("queue"), mirror);
        let items: Vec<PowItem> = (0..300).map(|i| pow_item(&mut rng, i % 256)).collect();
        let mut padding = PowItem::empty();
        padding.miner_uid = -1;
        store
            .write(|w| {
                w.push_pow_items(&items)?;
                w.push_pow_items(&[padding])?;
                w.set_pow_last_processed_step(1)?;
                w.remove_pow_front(45)?;
                Ok(())
            })
            .expect("write");
        for item in &items {
            mirror.push(*item);
        }
        mirror.push(padding);
        mirror.mark_processed(1);
        mirror.remove_front(45);
    }
    let store = reopen(&db.path, StoreLimits::default());
    let queue = store.pow_queue().expect("queue");
    assert_eq!(queue, mirror);
    assert_eq!(queue.len(), 256);
    assert_eq!(store.pow_queue_len().expect("len"), 256);
    assert_eq!(queue.last_processed_step(), Some(1));
    // 256 items at step 1 already processed: nothing due, exactly as before the restart.
    assert!(queue.due_batch().is_none());
    for (a, b) in queue.items().iter().zip(mirror.items()) {
        assert_eq!(a.previous_score.to_bits(), b.previous_score.to_bits());
        assert_eq!(a.response_time.to_bits(), b.response_time.to_bits());
    }
}

fn proof(i: u64, proof_len: usize) -> NewArchivedProof {
    NewArchivedProof {
        request_hash: format!("{i:064x}"),
        circuit_id: "31df94d233053d9648c3c57362d9aa8aaa0f77761ac520af672103dbb387a6a5".to_owned(),
        miner_uid: (i % 256) as u16,
        miner_hotkey: format!("5Miner{i}"),
        inputs_json: format!(r#"{{"list_items": [0.1, 0.2, {i}], "nonce": {i}}}"#),
        output_json: r#"[0.30000000000000004]"#.to_owned(),
        proof: (0..proof_len).map(|b| (b % 251) as u8).collect(),
        verified: !i.is_multiple_of(3),
        response_time: 1.0 / (i as f64 + 3.0),
        verification_time: if i.is_multiple_of(2) {
            Some(0.012_345)
        } else {
            None
        },
        block: if i.is_multiple_of(4) {
            None
        } else {
            Some(4_000_000 + i)
        },
        created_at_ms: 1_700_000_000_000 + i,
    }
}

#[test]
fn proof_archive_is_exact_bounded_and_rejects_bad_entries() {
    let db = temp_db();
    let limits = StoreLimits {
        archive_max_entries: 3,
        archive_max_bytes: 10_000,
        ..StoreLimits::default()
    };
    let entries: Vec<NewArchivedProof> = (0..5).map(|i| proof(i, 1000)).collect();
    let mut ids = Vec::new();
    {
        let mut store = Store::open_with_limits(&db.path, limits).expect("open");
        for e in &entries {
            ids.push(store.archive_proof(e).expect("archive"));
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
    let mut store = reopen(&db.path, limits);
    let (count, bytes) = store.archive_usage().expect("usage");
    assert_eq!(count, 3, "only the newest three are kept");
    assert_eq!(
        bytes,
        entries[2..]
            .iter()
            .map(NewArchivedProof::size_bytes)
            .sum::<u64>()
    );
    assert_eq!(store.archived_proof(ids[0]).expect("get"), None);
    for (id, e) in ids[2..].iter().zip(&entries[2..]) {
        let got = store.archived_proof(*id).expect("get").expect("kept");
        assert_eq!(&got.entry, e);
        assert_eq!(got.entry.response_time.to_bits(), e.response_time.to_bits());
    }
    let recent = store.recent_proofs(2).expect("recent");
    assert_eq!(
        recent.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![ids[4], ids[3]]
    );
    assert_eq!(
        store
            .archived_proofs_by_request(&entries[3].request_hash)
            .expect("by hash")
            .len(),
        1
    );

    // The byte bound: an 8000-byte proof pushes out older entries until the total fits (the
    // entry limit alone would drop only one).
    let big = proof(10, 8000);
    let big_id = store.archive_proof(&big).expect("archive");
    let (count, bytes) = store.archive_usage().expect("usage");
    assert!(bytes <= 10_000, "archive holds {bytes} bytes");
    assert_eq!(count, 2);
    assert_eq!(store.recent_proofs(1).expect("recent")[0].id, big_id);

    // Too large for the whole archive, or not JSON: refused, nothing changes.
    assert!(matches!(
        store.archive_proof(&proof(11, 20_000)),
        Err(StoreError::ArchiveEntryTooLarge { limit: 10_000, .. })
    ));
    let mut bad = proof(12, 10);
    bad.inputs_json = "{not json".to_owned();
    assert!(matches!(
        store.archive_proof(&bad),
        Err(StoreError::InvalidJson {
            field: "inputs_json",
            ..
        })
    ));
    assert_eq!(store.archive_usage().expect("usage"), (count, bytes));
}

#[test]
fn weights_history_round_trips_and_is_bounded() {
    let db = temp_db();
    let limits = StoreLimits {
        weights_history: 2,
        ..StoreLimits::default()
    };
    let record = |block: u64| WeightsRecord {
        block,
        uids: vec![1, 4, 9],
        weights: vec![65535, 12, 32768],
        version_key: 11002,
        commit_reveal: block.is_multiple_of(2),
        reveal_round: None,
        outcome: TxOutcome::Pending,
        created_at_ms: 1_700_000_000_000 + block,
    };
    let (first, second, third);
    {
        let mut store = Store::open_with_limits(&db.path, limits).expect("open");
        first = store.record_weights(&record(100)).expect("record");
        second = store.record_weights(&record(460)).expect("record");
        store
            .set_weights_outcome(
                second,
                &TxOutcome::Failed {
                    reason: "SettingWeightsTooFast".to_owned(),
                },
            )
            .expect("outcome");
        third = store.record_weights(&record(821)).expect("record");
        store
            .set_weights_outcome(
                third,
                &TxOutcome::Included {
                    tx_hash: "0xabc".to_owned(),
                },
            )
            .expect("outcome");
        assert!(
            matches!(
                store.set_weights_outcome(first, &TxOutcome::Pending),
                Err(StoreError::UnknownWeightsRecord { .. })
            ),
            "the oldest record was dropped"
        );
    }
    let store = reopen(&db.path, limits);
    let history = store.weights_history(10).expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].0, third);
    assert_eq!(
        history[0].1,
        WeightsRecord {
            outcome: TxOutcome::Included {
                tx_hash: "0xabc".to_owned()
            },
            ..record(821)
        }
    );
    assert_eq!(
        history[1].1,
        WeightsRecord {
            outcome: TxOutcome::Failed {
                reason: "SettingWeightsTooFast".to_owned()
            },
            ..record(460)
        }
    );
    let mut store = store;
    assert!(
        store
            .record_weights(&WeightsRecord {
                weights: vec![1],
                ..record(900)
            })
            .is_err()
    );
}

#[test]
fn a_failed_write_leaves_nothing_behind() {
    let db = temp_db();
    {
        let mut store = Store::open(&db.path).expect("open");
        store.sync_hotkeys(&[(0, "a".to_owned())]).expect("sync");
        let result: Result<(), StoreError> = store.write(|w| {
            w.set_scores(&[ScoreRow {
                uid: 0,
                hotkey: "a".to_owned(),
                score: 0.5,
            }])?;
            w.push_pow_items(&[PowItem::empty()])?;
            w.insert_hash(&[7; 32])?;
            // Something later in the same step fails: the whole step must be undone.
            w.set_weights_outcome(12345, &TxOutcome::Pending)
        });
        assert!(matches!(
            result,
            Err(StoreError::UnknownWeightsRecord { id: 12345 })
        ));
    }
    let store = reopen(&db.path, StoreLimits::default());
    assert_eq!(store.score_vector(1).expect("scores"), vec![0.0]);
    assert_eq!(store.pow_queue_len().expect("len"), 0);
    assert!(!store.contains_hash(&[7; 32]).expect("contains"));
}

#[test]
fn newer_or_damaged_databases_are_errors_not_panics() {
    let db = temp_db();
    {
        let store = Store::open(&db.path).expect("open");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    }
    // Damage rows the way only an outside edit could.
    {
        let conn = rusqlite::Connection::open(&db.path).expect("raw open");
        conn.execute(
            "INSERT INTO pow_queue (maximum_score, previous_score, verified, proof_size, response_time,
                 competition, maximum_response_time, minimum_response_time, block_number,
                 validator_uid, miner_uid) VALUES (0.1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0)",
            [],
        )
        .expect("insert");
        conn.execute("INSERT INTO hash_guard (hash) VALUES (x'0102')", [])
            .expect("insert");
        conn.execute(
            "INSERT INTO scores (uid, hotkey, score) VALUES (70000, 'x', 0.5)",
            [],
        )
        .expect("insert");
    }
    {
        let store = Store::open(&db.path).expect("reopen");
        let err = store.pow_queue().expect_err("corrupt queue");
        assert!(
            matches!(
                err,
                StoreError::Corrupt {
                    table: "pow_queue",
                    ..
                }
            ),
            "{err}"
        );
        assert!(matches!(
            store.hash_guard(),
            Err(StoreError::Corrupt {
                table: "hash_guard",
                ..
            })
        ));
        assert!(matches!(
            store.scores(),
            Err(StoreError::Corrupt {
                table: "scores",
                ..
            })
        ));
    }
    {
        let conn = rusqlite::Connection::open(&db.path).expect("raw open");
        conn.execute(
            "UPDATE schema_version SET version = ?1",
            [SCHEMA_VERSION + 1],
        )
        .expect("bump");
    }
    match Store::open(&db.path) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    // A file that is not a database at all.
    let junk = db.path.with_file_name("junk.sqlite");
    std::fs::write(
        &junk,
        b"this is not sqlite, just text long enough to have a header",
    )
    .expect("write");
    // Refused before SQLite could take it for a new database, naming what is wrong.
    match Store::open(&junk) {
        Err(StoreError::NotAState { reason, .. }) => {
            assert!(reason.contains("not an SQLite database"), "{reason}")
        }
        other => panic!("expected NotAState, got {other:?}"),
    }
}
