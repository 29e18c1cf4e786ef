//! Errors of the validator store.

use thiserror::Error;

/// Everything that can go wrong opening, reading or writing the store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite failed (I/O, locking, constraint, malformed database file).
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer build with a schema this build does not know.
    #[error("store schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// Version recorded in the database.
        found: u32,
        /// Highest version this build can migrate to.
        supported: u32,
    },
    /// A stored row holds a value that no write of this store can produce.
    #[error("corrupt row in {table} ({key}): {detail}")]
    Corrupt {
        /// Table of the row.
        table: &'static str,
        /// Which row (its key, as text).
        key: String,
        /// What is wrong.
        detail: String,
    },
    /// A value to write does not fit its column (SQLite integers are signed 64-bit).
    #[error("{what} = {value} does not fit the store (max {max})")]
    ValueOutOfRange {
        /// Which value.
        what: &'static str,
        /// The value, as text.
        value: String,
        /// The largest storable value, as text.
        max: String,
    },
    /// Text that must be JSON is not.
    #[error("{field} is not valid JSON: {reason}")]
    InvalidJson {
        /// Which field.
        field: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// One archive entry is larger than the whole archive may be.
    #[error("archive entry of {bytes} bytes exceeds the archive limit of {limit} bytes")]
    ArchiveEntryTooLarge {
        /// Size of the entry (inputs + output + proof).
        bytes: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The state file exists but is not a validator state (empty, not SQLite, or another
    /// program's database): refused rather than silently started afresh.
    #[error(
        "{} is not a validator state: {reason}; restore it from a backup, or start a new \
         state with --fresh-state (the file is moved aside, not deleted)",
        path.display()
    )]
    NotAState {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A weights-history id that does not exist.
    #[error("no weights record with id {id}")]
    UnknownWeightsRecord {
        /// The id asked for.
        id: i64,
    },
}

/// Result alias of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Converts an unsigned value to SQLite's `i64`, or says which value did not fit.
pub(crate) fn to_i64(what: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::ValueOutOfRange {
        what,
        value: value.to_string(),
        max: i64::MAX.to_string(),
    })
}

/// Reads back an `i64` column that this store only ever writes from an unsigned value.
pub(crate) fn from_i64<T: TryFrom<i64>>(
    table: &'static str,
    key: impl ToString,
    column: &str,
    value: i64,
) -> Result<T> {
    T::try_from(value).map_err(|_| StoreError::Corrupt {
        table,
        key: key.to_string(),
        detail: format!("{column} = {value} is out of range"),
    })
}

/// Reads back a 0/1 flag.
pub(crate) fn from_flag(
    table: &'static str,
    key: impl ToString,
    column: &str,
    value: i64,
) -> Result<bool> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(StoreError::Corrupt {
            table,
            key: key.to_string(),
            detail: format!("{column} = {other} is not 0 or 1"),
        }),
    }
}

/// Reads back a REAL column that holds a float32 (every float32 is exact in float64).
pub(crate) fn from_f32_column(
    table: &'static str,
    key: impl ToString,
    column: &str,
    value: f64,
) -> Result<f32> {
    let narrowed = value as f32;
    if f64::from(narrowed) == value || value.is_nan() {
        Ok(narrowed)
    } else {
        Err(StoreError::Corrupt {
            table,
            key: key.to_string(),
            detail: format!("{column} = {value} is not a float32 value"),
        })
    }
}
