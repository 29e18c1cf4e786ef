//! The scoreboard on this process's stdout. On a terminal whose stderr is the same terminal,
//! the log lines (the embedded chain logs every epoch, warnings come at any time) would land
//! in the middle of the live frame and the next redraw would erase them and leave half a frame
//! behind. So while the frame is live, stderr is captured through a pipe and each of its lines
//! is printed above the frame as a note; stderr is given back with the last frame, on
//! `finish`, or on drop (which also covers an error return and a panic's unwinding: the panic
//! message, already in the pipe by then, is drained onto the terminal before we return).

use std::io::{IsTerminal, Stdout};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::live::Frame;
use super::screen::Screen;

/// The localnet's scoreboard output.
pub(crate) struct Terminal {
    screen: Arc<Mutex<Screen<Stdout>>>,
    #[cfg(unix)]
    capture: Option<capture::StderrCapture>,
}

impl Terminal {
    /// A live frame when stdout is a terminal (stderr captured when it is one too), the plain
    /// table otherwise.
    pub(crate) fn stdout(interval: Duration) -> Self {
        let screen = Screen::stdout(interval);
        let live = screen.is_live();
        let screen = Arc::new(Mutex::new(screen));
        #[cfg(unix)]
        let capture = if live && std::io::stderr().is_terminal() {
            let target = Arc::clone(&screen);
            match capture::StderrCapture::start(move |line| lock(&target).note(line)) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot capture stderr; logs may cut into the scoreboard");
                    None
                }
            }
        } else {
            None
        };
        #[cfg(not(unix))]
        let _ = live;
        Self {
            screen,
            #[cfg(unix)]
            capture,
        }
    }

    /// Shows one refresh; after the last one the terminal is handed back (`finish`).
    pub(crate) fn show(&mut self, frame: &Frame<'_>) {
        lock(&self.screen).show(frame);
        if frame.last {
            self.finish();
        }
    }

    /// A line of its own (above the live frame).
    pub(crate) fn note(&mut self, message: &str) {
        lock(&self.screen).note(message);
    }

    /// Gives stderr back (printing what it still held) and shows the cursor. Idempotent.
    pub(crate) fn finish(&mut self) {
        lock(&self.screen).finish();
        // Not under the lock: the capture's thread takes it for every line it drains.
        #[cfg(unix)]
        if let Some(capture) = self.capture.take() {
            capture.stop();
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The screen even if a panic poisoned it: showing the cursor again matters more then.
fn lock(screen: &Mutex<Screen<Stdout>>) -> MutexGuard<'_, Screen<Stdout>> {
    screen.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(unix)]
mod capture {
    use std::io::{BufRead, BufReader, PipeReader};
    use std::os::fd::{AsFd, AsRawFd, OwnedFd};
    use std::thread::JoinHandle;

    /// stderr (fd 2) pointed at a pipe, whose lines a thread hands to a callback.
    pub(super) struct StderrCapture {
        /// The original stderr, put back by `stop`.
        saved: OwnedFd,
        reader: JoinHandle<()>,
    }

    impl StderrCapture {
        pub(super) fn start(on_line: impl Fn(&str) + Send + 'static) -> std::io::Result<Self> {
            let (reader, writer) = std::io::pipe()?;
            // A close-on-exec copy, so a child spawned meanwhile does not inherit it.
            let saved = std::io::stderr().as_fd().try_clone_to_owned()?;
            // SAFETY: dup2 on two descriptors open for the duration of the call (the pipe's
            // write end, owned by `writer`, and fd 2); it only makes fd 2 another name of the
            // pipe, which std's stderr keeps writing to without knowing the difference.
            if unsafe { libc::dup2(writer.as_raw_fd(), libc::STDERR_FILENO) } < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // fd 2 is now the only write end, so the reader sees the end of the pipe as soon
            // as `stop` puts the original back.
            drop(writer);
            let spawned = std::thread::Builder::new()
                .name("localnet-stderr".into())
                .spawn(move || drain(reader, on_line));
            match spawned {
                Ok(reader) => Ok(Self { saved, reader }),
                Err(e) => {
                    restore(&saved);
                    Err(e)
                }
            }
        }

        /// Puts the original stderr back and waits until every captured line is out.
        pub(super) fn stop(self) {
            restore(&self.saved);
            let _ = self.reader.join();
        }
    }

    fn restore(saved: &OwnedFd) {
        // SAFETY: dup2 of a descriptor we own onto fd 2; it closes the pipe's write end that
        // fd 2 was, and stderr writes go where they went before `start`.
        unsafe {
            libc::dup2(saved.as_raw_fd(), libc::STDERR_FILENO);
        }
    }

    fn drain(reader: PipeReader, on_line: impl Fn(&str)) {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    on_line(text.trim_end_matches(['\n', '\r']));
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::sync::{Arc, Mutex};

        #[test]
        fn captured_lines_reach_the_callback_and_stderr_comes_back() {
            // The capture swaps this process's fd 2; nothing else in the test binary writes
            // to stderr on purpose, and whatever would lands in `seen`, not on the floor.
            let seen = Arc::new(Mutex::new(Vec::<String>::new()));
            let sink = Arc::clone(&seen);
            let before = std::io::stderr().as_fd().try_clone_to_owned().unwrap();
            let capture =
                StderrCapture::start(move |l| sink.lock().unwrap().push(l.to_owned())).unwrap();
            // Through the raw descriptor, as any writer of fd 2 (tracing, a panic) would.
            let fd2 = std::io::stderr().as_fd().try_clone_to_owned().unwrap();
            let mut w = std::fs::File::from(fd2);
            std::io::Write::write_all(&mut w, b"one\ntwo \xff\nno newline").unwrap();
            drop(w);
            capture.stop();
            let seen = seen.lock().unwrap().clone();
            assert!(seen.contains(&"one".to_owned()), "{seen:?}");
            assert!(seen.contains(&"two \u{fffd}".to_owned()), "{seen:?}");
            assert!(seen.contains(&"no newline".to_owned()), "{seen:?}");
            // fd 2 points at the same file as before the capture.
            let (a, b) = (fstat(&before), fstat(&std::io::stderr().as_fd()));
            assert_eq!(a, b);
        }

        fn fstat(fd: &impl AsRawFd) -> (u64, u64) {
            // SAFETY: fstat fills the zeroed struct for an open descriptor.
            unsafe {
                let mut st: libc::stat = std::mem::zeroed();
                assert_eq!(libc::fstat(fd.as_raw_fd(), &mut st), 0);
                (st.st_dev as u64, st.st_ino as u64)
            }
        }
    }
}
