//! A progress line on stderr for the long commands (`omron circuit compile`, `omron prove`,
//! `omron bench`): a spinner, what is being worked on, the current phase with how long it has
//! run, and the time since the command started.
//!
//! The line appears only when stderr is a terminal, and only once the work has lasted
//! [`REVEAL_AFTER`]: a quick command prints nothing extra, and piped or redirected output is
//! byte for byte what it would be without this module. It never writes to stdout; lines the
//! commands print while it is shown go through [`Progress::suspend`] so the two do not mix.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// The commands' help says what to expect (`after_help`).
pub(crate) const HELP: &str = "On a terminal, stderr shows a progress line (the model, the phase, \
     the time it has taken) once the work runs past a second; piped or redirected, nothing is \
     added. stdout carries only the results.";

/// How long work runs before the line appears.
const REVEAL_AFTER: Duration = Duration::from_secs(1);
/// How often the spinner and the clocks are redrawn once shown.
const TICK: Duration = Duration::from_millis(100);

/// The progress line of one command; cleared from the terminal when dropped.
pub(crate) struct Progress {
    /// `None` when stderr is not a terminal: every method is then a no-op.
    shown: Option<Shown>,
}

struct Shown {
    bar: ProgressBar,
    /// What the line says, drawn by the template's `{line}` on each tick, so the subject and
    /// the phase change together.
    line: Arc<Mutex<Line>>,
    /// Dropping the sender tells the reveal thread the work is over.
    reveal: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

/// The changing part of the progress line.
struct Line {
    /// The model or circuit being worked on.
    subject: String,
    /// What is being done to it (e.g. "quantising 141 ONNX nodes").
    phase: String,
    /// When the phase began.
    phase_start: Instant,
}

impl Line {
    fn write(&self, w: &mut dyn std::fmt::Write) {
        let _ = write!(
            w,
            "{}: {} {}",
            self.subject,
            self.phase,
            format_elapsed(self.phase_start.elapsed())
        );
    }
}

impl Progress {
    /// A progress line about `subject` (a model or circuit name), with no phase yet.
    pub(crate) fn start(subject: impl Into<String>) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self { shown: None };
        }
        let line = Arc::new(Mutex::new(Line {
            subject: subject.into(),
            phase: String::new(),
            phase_start: Instant::now(),
        }));
        let drawn = Arc::clone(&line);
        let style = ProgressStyle::with_template("{spinner} {line} (total {total_elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .with_key(
                "line",
                move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                    drawn
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .write(w);
                },
            )
            .with_key(
                "total_elapsed",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&format_elapsed(state.elapsed()));
                },
            );
        // Hidden until the reveal thread gives it the terminal; from then on the steady tick
        // redraws it, picking up the latest subject and phase.
        let bar =
            ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()).with_style(style);
        let (done, wait) = mpsc::channel::<()>();
        let revealed = bar.clone();
        let thread = std::thread::Builder::new()
            .name("omron-progress".into())
            .spawn(move || {
                if let Err(RecvTimeoutError::Timeout) = wait.recv_timeout(REVEAL_AFTER) {
                    revealed.set_draw_target(ProgressDrawTarget::stderr());
                    revealed.enable_steady_tick(TICK);
                }
            });
        // Without the thread the line stays hidden: progress is never worth failing for.
        let reveal = thread.ok().map(|thread| (done, thread));
        Self {
            shown: Some(Shown { bar, line, reveal }),
        }
    }

    fn update(&self, change: impl FnOnce(&mut Line)) {
        if let Some(shown) = &self.shown {
            change(&mut shown.line.lock().unwrap_or_else(PoisonError::into_inner));
        }
    }

    /// Renames what is being worked on (e.g. the next model of a benchmark).
    pub(crate) fn subject(&self, subject: impl Into<String>) {
        self.update(|line| line.subject = subject.into());
    }

    /// Starts a phase (e.g. "quantising"): its clock restarts.
    pub(crate) fn phase(&self, phase: impl Into<String>) {
        self.update(|line| {
            line.phase = phase.into();
            line.phase_start = Instant::now();
        });
    }

    /// Runs `print` (which writes to stdout or stderr) with the line taken off the terminal,
    /// then draws it again below what was printed.
    pub(crate) fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.shown {
            Some(shown) => shown.bar.suspend(print),
            None => print(),
        }
    }

    /// Clears the line for good (before the command's last lines); later calls do nothing.
    pub(crate) fn finish(&mut self) {
        let Some(mut shown) = self.shown.take() else {
            return;
        };
        if let Some((done, thread)) = shown.reveal.take() {
            drop(done);
            // Joined before clearing, so the line cannot be revealed after it was cleared.
            let _ = thread.join();
        }
        shown.bar.disable_steady_tick();
        shown.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `0.4s`, `12.3s`, `2m05s`.
fn format_elapsed(elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let mut text = String::new();
    if secs < 60.0 {
        let _ = write!(text, "{secs:.1}s");
    } else {
        let whole = elapsed.as_secs();
        let _ = write!(text, "{}m{:02}s", whole / 60, whole % 60);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_is_tenths_under_a_minute_then_minutes_and_seconds() {
        assert_eq!(format_elapsed(Duration::from_millis(420)), "0.4s");
        assert_eq!(format_elapsed(Duration::from_millis(59_940)), "59.9s");
        assert_eq!(format_elapsed(Duration::from_secs(125)), "2m05s");
        assert_eq!(format_elapsed(Duration::from_secs(3600)), "60m00s");
    }

    #[test]
    fn without_a_terminal_nothing_is_shown_and_suspend_still_runs() {
        // `cargo test` captures stderr through a pipe, unless run by hand on a terminal.
        if std::io::stderr().is_terminal() {
            return;
        }
        let progress = Progress::start("model");
        assert!(progress.shown.is_none());
        progress.phase("proving");
        assert_eq!(progress.suspend(|| 7), 7);
    }
}
