//! Refusing a state file that exists but cannot be ours, before SQLite quietly makes it one.
//!
//! SQLite opens a 0-byte file as a new, empty database, and the migrations would then turn
//! it into a fresh state: a validator whose state file was truncated by a failed copy would
//! restart from empty scores without a word. A file that is missing is a first start; a file
//! that is there must hold a validator state.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::{Result, StoreError};

/// Fails with [`StoreError::NotAState`] when `path` exists but is empty, is not an SQLite
/// database, or is an SQLite database without the store's `schema_version` table.
pub(crate) fn check(path: &Path) -> Result<()> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(()); // missing: a new state is created
    };
    let refuse = |reason: String| StoreError::NotAState {
        path: path.to_path_buf(),
        reason,
    };
    if !meta.is_file() {
        return Err(refuse("it is not a regular file".to_owned()));
    }
    if meta.len() == 0 {
        return Err(refuse("the file is empty (0 bytes)".to_owned()));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| refuse(format!("it cannot be opened as SQLite ({e})")))?;
    let ours: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| refuse(format!("it is not an SQLite database ({e})")))?;
    match ours {
        Some(_) => Ok(()),
        None => Err(refuse(
            "it is an SQLite database without the validator's schema".to_owned(),
        )),
    }
}

/// Renames `path` and its `-wal` and `-shm` companions to `<name>.invalid-<unix seconds>`
/// (plus the companion's suffix). Returns the new name of the main file, `None` if missing.
pub(crate) fn set_aside(path: &Path) -> Result<Option<PathBuf>> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let moved = with_suffix(path, &format!(".invalid-{stamp}"));
    let rename = |from: &Path, to: &Path| {
        std::fs::rename(from, to).map_err(|e| StoreError::NotAState {
            path: from.to_path_buf(),
            reason: format!("cannot move it aside to {}: {e}", to.display()),
        })
    };
    rename(path, &moved)?;
    for companion in ["-wal", "-shm"] {
        let from = with_suffix(path, companion);
        if from.exists() {
            rename(&from, &with_suffix(&moved, companion))?;
        }
    }
    Ok(Some(moved))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreLimits};

    fn refused(path: &Path) -> String {
        match Store::open(path) {
            Err(e @ StoreError::NotAState { .. }) => e.to_string(),
            other => panic!("expected NotAState, got {other:?}"),
        }
    }

    #[test]
    fn missing_file_is_a_new_state_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        drop(Store::open(&path).unwrap());
        assert!(Store::open(&path).is_ok());
    }

    #[test]
    fn empty_file_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        std::fs::write(&path, b"").unwrap();
        assert!(refused(&path).contains("empty"));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }

    #[test]
    fn foreign_sqlite_and_garbage_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = dir.path().join("foreign.sqlite");
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE t (x INTEGER)")
            .unwrap();
        assert!(refused(&foreign).contains("without the validator's schema"));
        let garbage = dir.path().join("garbage.sqlite");
        std::fs::write(&garbage, vec![0x42u8; 4096]).unwrap();
        assert!(refused(&garbage).contains("not an SQLite database"));
    }

    #[test]
    fn set_aside_keeps_the_file_and_lets_a_new_state_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        std::fs::write(&path, b"").unwrap();
        let moved = Store::set_aside(&path).unwrap().unwrap();
        assert!(moved.exists() && !path.exists());
        let store = Store::open_with_limits(&path, StoreLimits::default()).unwrap();
        assert!(store.scores().unwrap().is_empty());
        assert_eq!(Store::set_aside(&dir.path().join("none")).unwrap(), None);
    }
}
