//! Where the scoreboard goes. Piped or redirected, each refresh appends the plain table (the
//! format scripts and `tests/localnet_e2e.rs` read, unchanged). On a terminal, one live frame
//! is redrawn in place: the cursor goes back up over the last frame, clears to the end of the
//! screen and draws the new one, so the start-up lines above it stay. No raw mode is taken; the
//! only terminal state changed is the hidden cursor, shown again by `finish` or on drop (which
//! also runs when the localnet returns an error or unwinds from a panic; Ctrl-C and SIGTERM end
//! the loop normally, so they reach `finish`).

use std::io::{IsTerminal, Stdout, Write};
use std::time::Duration;

use crossterm::cursor::{Hide, MoveToColumn, MoveUp, Show};
use crossterm::queue;
use crossterm::terminal::{Clear, ClearType};

use super::live::{self, Frame};
use super::sparkline::History;

/// Refreshes a sparkline can remember (five minutes at the default five-second interval).
const HISTORY: usize = 60;
/// The terminal's size when it cannot be read.
const FALLBACK_SIZE: (u16, u16) = (80, 24);

/// The scoreboard's output.
pub(crate) struct Screen<W: Write> {
    out: W,
    /// Between two refreshes (shown in the live footer).
    interval: Duration,
    live: Option<Live>,
    /// A write failed once (logged then, and not again).
    failed: bool,
}

/// The live frame's state.
struct Live {
    history: History,
    /// Lines of the frame now on the screen, below which the cursor sits (0: none to redraw).
    drawn: usize,
    /// That frame, for redrawing it under a note.
    frame: Vec<String>,
    /// The terminal's (columns, rows), read at every refresh so a resize is followed.
    size: fn() -> Option<(u16, u16)>,
    cursor_hidden: bool,
}

fn terminal_size() -> Option<(u16, u16)> {
    crossterm::terminal::size()
        .ok()
        .filter(|(w, h)| *w > 0 && *h > 0)
}

impl Screen<Stdout> {
    /// Live when stdout is a terminal that understands cursor moves, plain otherwise.
    pub(crate) fn stdout(interval: Duration) -> Self {
        let out = std::io::stdout();
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        let live = out.is_terminal() && !dumb;
        tracing::debug!(live, "scoreboard output");
        if live {
            Self::live(out, interval, terminal_size)
        } else {
            Self::plain(out, interval)
        }
    }
}

impl<W: Write> Screen<W> {
    /// Appends the plain table at every refresh.
    pub(crate) fn plain(out: W, interval: Duration) -> Self {
        Self {
            out,
            interval,
            live: None,
            failed: false,
        }
    }

    /// Redraws one frame in place, laid out for `size` (columns, rows).
    pub(crate) fn live(out: W, interval: Duration, size: fn() -> Option<(u16, u16)>) -> Self {
        Self {
            out,
            interval,
            live: Some(Live {
                history: History::new(HISTORY),
                drawn: 0,
                frame: Vec::new(),
                size,
                cursor_hidden: false,
            }),
            failed: false,
        }
    }

    /// Shows one refresh; the last one (`frame.last`) stays on the screen for good.
    pub(crate) fn show(&mut self, frame: &Frame<'_>) {
        let result = match &mut self.live {
            None => plain(&mut self.out, frame),
            Some(live) => {
                live.history.record(frame.lines);
                let (w, h) = (live.size)().unwrap_or(FALLBACK_SIZE);
                live.frame = live::render(
                    frame,
                    &live.history,
                    self.interval,
                    usize::from(w),
                    Some(usize::from(h)),
                );
                redraw(&mut self.out, live, None)
            }
        };
        self.check(result);
        if frame.last {
            self.finish();
        }
    }

    /// Whether this is the live frame (not the plain table).
    pub(crate) fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// Prints a line of its own: above the live frame (which is redrawn under it), or simply
    /// next in the plain output.
    pub(crate) fn note(&mut self, message: &str) {
        let result = match &mut self.live {
            Some(live) if live.drawn > 0 => redraw(&mut self.out, live, Some(message)),
            _ => writeln!(self.out, "{message}").and_then(|()| self.out.flush()),
        };
        self.check(result);
    }

    /// Leaves the terminal as it was found (the cursor shown), with the last frame on it;
    /// output after this goes below it. Idempotent.
    pub(crate) fn finish(&mut self) {
        let Some(live) = &mut self.live else {
            return;
        };
        live.drawn = 0;
        if live.cursor_hidden {
            live.cursor_hidden = false;
            let result = queue!(self.out, Show).and_then(|()| self.out.flush());
            self.check(result);
        }
    }

    fn check(&mut self, result: std::io::Result<()>) {
        if let Err(e) = result
            && !self.failed
        {
            self.failed = true;
            tracing::warn!(error = %e, "cannot write the scoreboard");
        }
    }

    #[cfg(test)]
    pub(crate) fn output(&self) -> &W {
        &self.out
    }
}

impl<W: Write> Drop for Screen<W> {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The plain table, exactly as the localnet has always printed it.
fn plain(out: &mut impl Write, frame: &Frame<'_>) -> std::io::Result<()> {
    if frame.last {
        writeln!(out, "final:")?;
    }
    let table = super::render(frame.lines, frame.block, frame.epoch, frame.elapsed);
    out.write_all(table.as_bytes())?;
    out.flush()
}

/// Erases the frame on the screen, prints `note` (if any) in its place and draws `live.frame`
/// below it.
fn redraw(out: &mut impl Write, live: &mut Live, note: Option<&str>) -> std::io::Result<()> {
    if !live.cursor_hidden {
        queue!(out, Hide)?;
        live.cursor_hidden = true;
    }
    // Back to the frame's first line. `MoveUp(0)` would still move one line on most
    // terminals, hence the guard.
    queue!(out, MoveToColumn(0))?;
    if live.drawn > 0 {
        let up = u16::try_from(live.drawn).unwrap_or(u16::MAX);
        queue!(out, MoveUp(up))?;
    }
    queue!(out, Clear(ClearType::FromCursorDown))?;
    if let Some(note) = note {
        writeln!(out, "{note}")?;
    }
    for line in &live.frame {
        writeln!(out, "{line}")?;
    }
    live.drawn = live.frame.len();
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::super::{SummaryMiner, render};
    use super::*;
    use crate::commands::localnet::nodes::MinerKind;

    const UP: &str = "\x1b[";
    const HIDE: &str = "\x1b[?25l";
    const SHOW: &str = "\x1b[?25h";

    fn lines() -> Vec<SummaryMiner> {
        [(2, MinerKind::Honest, 0.5), (3, MinerKind::Faulty, 0.0)]
            .into_iter()
            .map(|(uid, kind, share)| SummaryMiner {
                uid,
                hotkey: format!("5Hotkey{uid}AbCdEfGhIjKlMnOpQrStUvWx"),
                kind,
                requests: 10,
                verified: if share > 0.0 { 10 } else { 0 },
                mean_response_ms: 80.0,
                score: share / 30.0,
                weight: share,
                incentive: share,
                emission: 1_000_000_000,
                mean_proof_bytes: 2048.0,
            })
            .collect()
    }

    fn frame(lines: &[SummaryMiner], secs: u64, last: bool) -> Frame<'_> {
        Frame {
            lines,
            block: 100 + secs,
            epoch: 5,
            elapsed: Duration::from_secs(secs),
            last,
        }
    }

    fn text(screen: &Screen<Vec<u8>>) -> String {
        String::from_utf8(screen.output().clone()).unwrap()
    }

    #[test]
    fn piped_output_is_the_plain_table_unchanged() {
        let lines = lines();
        let mut screen = Screen::plain(Vec::new(), Duration::from_secs(5));
        screen.show(&frame(&lines, 5, false));
        screen.note("interrupted; stopping");
        screen.show(&frame(&lines, 10, true));
        drop_and_keep(&mut screen);
        let expected = format!(
            "{}interrupted; stopping\nfinal:\n{}",
            render(&lines, 105, 5, Duration::from_secs(5)),
            render(&lines, 110, 5, Duration::from_secs(10)),
        );
        assert_eq!(text(&screen), expected);
        // And that table is the one scripts read: no escape codes, the heading and columns
        // `tests/localnet_e2e.rs` and `docs/localnet.md` show.
        let out = text(&screen);
        assert!(!out.contains('\x1b'), "{out:?}");
        assert!(
            out.starts_with("── block 105 · epoch 5 · 5 s ──\n"),
            "{out}"
        );
        assert!(out.contains(
            "\n UID  HOTKEY       KIND     REQS  VERIFIED   MEAN_MS  PROOF_KB       SCORE   WEIGHT  INCENTIVE   EMIT(TAO)\n"
        ));
        assert!(out.contains(
            "\n   2  5Hotke…UvWx  honest     10      100%        80       2.0    0.016667    0.500     0.5000      1.0000\n"
        ), "{out}");
    }

    /// `finish` as the drop would run it, keeping the output for the assertions.
    fn drop_and_keep(screen: &mut Screen<Vec<u8>>) {
        screen.finish();
    }

    #[test]
    fn live_output_redraws_in_place_and_restores_the_cursor() {
        let lines = lines();
        let mut screen = Screen::live(Vec::new(), Duration::from_secs(5), || Some((100, 30)));
        screen.show(&frame(&lines, 5, false));
        let first = text(&screen);
        assert!(first.starts_with(HIDE), "{first:?}");
        // Title, header, two miners, footer.
        assert_eq!(first.matches('\n').count(), 5, "{first:?}");
        assert!(
            !first.contains(&format!("{UP}5A")),
            "nothing to erase yet: {first:?}"
        );

        screen.show(&frame(&lines, 10, false));
        let second = &text(&screen)[first.len()..];
        assert!(
            second.starts_with(&format!("{UP}1G{UP}5A{UP}J── block 110")),
            "goes back up over the 5 lines and clears: {second:?}"
        );
        assert!(!second.contains(HIDE), "hidden once: {second:?}");

        screen.note("interrupted; stopping");
        let third = &text(&screen)[first.len() + second.len()..];
        assert!(
            third.starts_with(&format!(
                "{UP}1G{UP}5A{UP}Jinterrupted; stopping\n── block 110"
            )),
            "the note takes the frame's place and the frame moves under it: {third:?}"
        );

        screen.show(&frame(&lines, 15, true));
        let out = text(&screen);
        assert!(
            out.ends_with(SHOW),
            "cursor shown after the last frame: {out:?}"
        );
        assert!(out.contains("── final · block 115"), "{out:?}");
        // Output after the last frame goes below it: nothing moves up again.
        let len = out.len();
        screen.note("summary written");
        assert_eq!(&text(&screen)[len..], "summary written\n");
        screen.finish();
        assert_eq!(text(&screen).matches(SHOW).count(), 1, "shown once");
        // Two sparkline samples so far for the best miner, at the top of the scale.
        assert!(out.contains("██"), "{out:?}");
    }

    #[test]
    fn dropping_a_live_screen_mid_run_shows_the_cursor() {
        struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let bytes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let lines = lines();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut screen = Screen::live(Shared(bytes.clone()), Duration::from_secs(5), || None);
            screen.show(&frame(&lines, 5, false));
            panic!("the localnet failed mid-run");
        }));
        assert!(result.is_err());
        let out = String::from_utf8(bytes.lock().unwrap().clone()).unwrap();
        assert!(out.starts_with(HIDE) && out.ends_with(SHOW), "{out:?}");
        // No size: laid out for 80 columns (the title is ruled to the full width).
        let title = out
            .lines()
            .find_map(|l| l.find("── block").map(|i| &l[i..]));
        assert_eq!(title.map(|t| t.chars().count()), Some(80), "{out:?}");
    }

    #[test]
    fn write_errors_are_not_fatal() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
        }
        let lines = lines();
        for mut screen in [
            Screen::plain(Broken, Duration::from_secs(1)),
            Screen::live(Broken, Duration::from_secs(1), || Some((80, 24))),
        ] {
            screen.show(&frame(&lines, 1, false));
            screen.note("x");
            screen.show(&frame(&lines, 2, true));
            assert!(screen.failed);
        }
    }
}
