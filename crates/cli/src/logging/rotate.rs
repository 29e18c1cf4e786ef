//! A size-rotated log file, as Python's `RotatingFileHandler` (which the bittensor SDK uses for
//! `--logging.record_log`) keeps it: `NAME` is written until the next record would take it past
//! the size limit, then `NAME.{keep-1}` moves to `NAME.{keep}` (the oldest is dropped), ...,
//! `NAME` to `NAME.1`, and a fresh `NAME` is started. At most `keep + 1` files exist.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tracing_subscriber::fmt::MakeWriter;

/// The open file and its size so far.
#[derive(Debug)]
struct Inner {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    file: File,
    size: u64,
}

impl Inner {
    fn backup(&self, n: u32) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.keep > 0 {
            for n in (1..self.keep).rev() {
                let from = self.backup(n);
                if from.exists() {
                    std::fs::rename(&from, self.backup(n + 1))?;
                }
            }
            std::fs::rename(&self.path, self.backup(1))?;
        }
        self.file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&self.path)?;
        self.size = 0;
        Ok(())
    }

    /// Writes one record whole, rotating first when it would not fit (a record larger than
    /// the limit still goes into a file of its own rather than being cut).
    fn write_record(&mut self, record: &[u8]) -> io::Result<()> {
        if self.size > 0 && self.size + record.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(record)?;
        self.size += record.len() as u64;
        Ok(())
    }
}

/// A log file rotated by size, shareable between threads; a [`MakeWriter`] for `tracing`.
#[derive(Debug, Clone)]
pub(crate) struct RotatingFile {
    inner: Arc<Mutex<Inner>>,
}

impl RotatingFile {
    /// Opens (appending to) `path`, creating its folder; rotates past `max_bytes`, keeping
    /// `keep` older files.
    pub(crate) fn open(path: &Path, max_bytes: u64, keep: u32) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner {
                path: path.to_owned(),
                max_bytes,
                keep,
                file,
                size,
            })),
        })
    }
}

/// The writer of one event: holds the file's lock for the event's single write.
#[derive(Debug)]
pub(crate) struct RecordWriter<'a> {
    inner: MutexGuard<'a, Inner>,
}

impl Write for RecordWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_record(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.file.flush()
    }
}

impl<'a> MakeWriter<'a> for RotatingFile {
    type Writer = RecordWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        // A panic while writing a log line leaves the file usable.
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        RecordWriter { inner }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(f: &RotatingFile, text: &str) {
        f.make_writer().write_all(text.as_bytes()).expect("write");
    }

    #[test]
    fn rotates_by_size_and_keeps_a_bounded_number_of_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("logs/omron-test.log");
        let f = RotatingFile::open(&path, 20, 2).expect("open");
        for i in 0..5 {
            // 10 bytes each: two records fill a file.
            write(&f, &format!("record {i:02}\n"));
        }
        let read = |p: PathBuf| std::fs::read_to_string(p).expect("read");
        assert_eq!(read(path.clone()), "record 04\n");
        assert_eq!(
            read(dir.path().join("logs/omron-test.log.1")),
            "record 02\nrecord 03\n"
        );
        assert_eq!(
            read(dir.path().join("logs/omron-test.log.2")),
            "record 00\nrecord 01\n"
        );
        write(&f, "record 05\nrecord 06\n");
        // The oldest file (records 0 and 1) is gone; never more than keep + 1 files.
        assert_eq!(
            read(dir.path().join("logs/omron-test.log.2")),
            "record 02\nrecord 03\n"
        );
        assert!(!dir.path().join("logs/omron-test.log.3").exists());
        assert_eq!(
            std::fs::read_dir(dir.path().join("logs"))
                .expect("dir")
                .count(),
            3
        );
    }

    #[test]
    fn reopening_appends_and_counts_the_existing_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.log");
        write(
            &RotatingFile::open(&path, 25, 1).expect("open"),
            "first run\n",
        );
        let f = RotatingFile::open(&path, 25, 1).expect("reopen");
        write(&f, "second run\n");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "first run\nsecond run\n"
        );
        write(&f, "third run\n");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "third run\n");
        let mut old = path.into_os_string();
        old.push(".1");
        assert_eq!(
            std::fs::read_to_string(old).expect("read"),
            "first run\nsecond run\n"
        );
    }
}
