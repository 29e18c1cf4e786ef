//! The live scoreboard's frame: the table laid out for a terminal's width and height, with a
//! weight share bar and score and incentive sparklines per miner. Pure text: `screen.rs` puts it
//! on the terminal.

use std::time::Duration;

use omron_chain::RAO_PER_TAO;

use super::sparkline::{History, Sample, share_bar, sparkline};
use super::{SummaryMiner, short};

/// Spaces between two columns.
const GAP: usize = 2;
/// Cells of the weight share bar.
const BAR_CELLS: usize = 10;
/// The narrowest a sparkline gets before its column is dropped.
const MIN_TREND: usize = 8;

/// One picture of the scoreboard.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame<'a> {
    /// One line per miner.
    pub(crate) lines: &'a [SummaryMiner],
    /// The chain's block and the subnet's epoch.
    pub(crate) block: u64,
    pub(crate) epoch: u64,
    /// Since the nodes came up.
    pub(crate) elapsed: Duration,
    /// The last picture, taken as the localnet stops.
    pub(crate) last: bool,
}

/// The columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Uid,
    Hotkey,
    Kind,
    Reqs,
    Verified,
    MeanMs,
    ProofKb,
    Score,
    Weight,
    WeightBar,
    Incentive,
    Emit,
    ScoreTrend,
    IncentiveTrend,
}

const ALL: [Col; 14] = [
    Col::Uid,
    Col::Hotkey,
    Col::Kind,
    Col::Reqs,
    Col::Verified,
    Col::MeanMs,
    Col::ProofKb,
    Col::Score,
    Col::Weight,
    Col::WeightBar,
    Col::Incentive,
    Col::Emit,
    Col::ScoreTrend,
    Col::IncentiveTrend,
];

/// What goes first when the terminal is too narrow: the least telling columns. UID, KIND,
/// SCORE, WEIGHT, INCENTIVE and the score sparkline always stay (past them, lines are cut).
const DROP_ORDER: [Col; 8] = [
    Col::ProofKb,
    Col::Hotkey,
    Col::Reqs,
    Col::MeanMs,
    Col::Emit,
    Col::WeightBar,
    Col::IncentiveTrend,
    Col::Verified,
];

impl Col {
    /// Width in cells; sparklines get theirs from the layout.
    fn width(self) -> usize {
        match self {
            Col::Uid => 4,
            Col::Hotkey => 11,
            Col::Kind => 6,
            Col::Reqs => 5,
            Col::Verified | Col::ProofKb | Col::Score => 8,
            Col::MeanMs => 7,
            Col::Weight => 6,
            Col::WeightBar => BAR_CELLS,
            Col::Incentive | Col::Emit => 9,
            Col::ScoreTrend | Col::IncentiveTrend => MIN_TREND,
        }
    }

    fn is_trend(self) -> bool {
        matches!(self, Col::ScoreTrend | Col::IncentiveTrend)
    }

    /// The header, the longest that fits `width`.
    fn title(self, width: usize) -> &'static str {
        let options: &[&'static str] = match self {
            Col::Uid => &["UID"],
            Col::Hotkey => &["HOTKEY"],
            Col::Kind => &["KIND"],
            Col::Reqs => &["REQS"],
            Col::Verified => &["VERIFIED"],
            Col::MeanMs => &["MEAN_MS"],
            Col::ProofKb => &["PROOF_KB"],
            Col::Score => &["SCORE"],
            Col::Weight => &["WEIGHT"],
            Col::WeightBar => &[""],
            Col::Incentive => &["INCENTIVE"],
            Col::Emit => &["EMIT(TAO)"],
            Col::ScoreTrend => &["SCORE TREND", "SCORE", "TREND"],
            Col::IncentiveTrend => &["INCENTIVE TREND", "INC. TREND", "INCENT", "TREND"],
        };
        options
            .iter()
            .copied()
            .find(|t| t.chars().count() <= width)
            .unwrap_or("")
    }

    /// Numbers are right-aligned, words and bars left-aligned.
    fn right(self) -> bool {
        !matches!(self, Col::Hotkey | Col::Kind | Col::WeightBar)
    }
}

/// Chosen columns and their widths for one terminal width.
fn layout(width: usize, history: usize) -> Vec<(Col, usize)> {
    let need = |cols: &[Col]| -> usize {
        cols.iter().map(|c| c.width()).sum::<usize>() + GAP * cols.len().saturating_sub(1)
    };
    let mut cols = ALL.to_vec();
    for drop in DROP_ORDER {
        if need(&cols) <= width {
            break;
        }
        cols.retain(|c| *c != drop);
    }
    // What is left over widens the sparklines, up to the history they can show; on a terminal
    // too narrow even for the columns that always stay, the sparkline gives up its cells down
    // to the last three.
    let trends = cols.iter().filter(|c| c.is_trend()).count();
    let spare = width.saturating_sub(need(&cols));
    let over = need(&cols).saturating_sub(width);
    let trend = (MIN_TREND + spare / trends.max(1))
        .min(history.max(MIN_TREND))
        .saturating_sub(over)
        .max(3);
    cols.into_iter()
        .map(|c| (c, if c.is_trend() { trend } else { c.width() }))
        .collect()
}

/// Pads `text` to `width` cells (or cuts it there).
fn fit(text: &str, width: usize, right: bool) -> String {
    let len = text.chars().count();
    if len >= width {
        text.chars().take(width).collect()
    } else if right {
        format!("{}{text}", " ".repeat(width - len))
    } else {
        format!("{text}{}", " ".repeat(width - len))
    }
}

/// Cuts `line` to `width` cells (every character here is one cell wide).
fn cut(line: &str, width: usize) -> String {
    line.chars().take(width).collect()
}

fn cell(col: Col, width: usize, m: &SummaryMiner, history: &History, scale: (f64, f64)) -> String {
    let score = |s: &Sample| s.score;
    let incentive = |s: &Sample| s.incentive;
    let text = match col {
        Col::Uid => m.uid.to_string(),
        Col::Hotkey => short(&m.hotkey),
        Col::Kind => m.kind.label().to_owned(),
        Col::Reqs => m.requests.to_string(),
        Col::Verified if m.requests > 0 => {
            format!("{:.0}%", 100.0 * m.verified as f64 / m.requests as f64)
        }
        Col::Verified => "-".to_owned(),
        Col::MeanMs => format!("{:.0}", m.mean_response_ms),
        Col::ProofKb => format!("{:.1}", m.mean_proof_bytes / 1024.0),
        Col::Score => format!("{:.6}", m.score),
        Col::Weight => format!("{:.1}%", 100.0 * m.weight),
        Col::WeightBar => share_bar(m.weight, width),
        Col::Incentive => format!("{:.4}", m.incentive),
        Col::Emit => format!("{:.4}", m.emission as f64 / RAO_PER_TAO as f64),
        Col::ScoreTrend => sparkline(&history.series(m.uid, score), scale.0, width),
        Col::IncentiveTrend => sparkline(&history.series(m.uid, incentive), scale.1, width),
    };
    fit(&text, width, col.right())
}

/// The frame as lines of at most `width` cells and, when `height` is given, at most
/// `height - 1` lines (the cursor needs the last row, or the terminal would scroll and the next
/// refresh could not find the frame's top). `interval` is the time between refreshes.
pub(crate) fn render(
    frame: &Frame<'_>,
    history: &History,
    interval: Duration,
    width: usize,
    height: Option<usize>,
) -> Vec<String> {
    let cols = layout(width, history.capacity());
    let trend = cols
        .iter()
        .find(|(c, _)| c.is_trend())
        .map_or(0, |(_, w)| *w);
    let scale = (
        history.max(trend, |s| s.score),
        history.max(trend, |s| s.incentive),
    );
    let title = format!(
        "── {}block {} · epoch {} · {:.0} s ",
        if frame.last { "final · " } else { "" },
        frame.block,
        frame.epoch,
        frame.elapsed.as_secs_f64()
    );
    let title_len = title.chars().count();
    let mut out = vec![format!(
        "{title}{}",
        "─".repeat(width.saturating_sub(title_len))
    )];
    out.push(
        cols.iter()
            .map(|(c, w)| fit(c.title(*w), *w, c.right()))
            .collect::<Vec<_>>()
            .join(&" ".repeat(GAP)),
    );
    for m in frame.lines {
        out.push(
            cols.iter()
                .map(|(c, w)| cell(*c, *w, m, history, scale))
                .collect::<Vec<_>>()
                .join(&" ".repeat(GAP)),
        );
    }
    let shown = trend.min(history.depth());
    out.push(format!(
        "trends: last {shown} refreshes, every {} s; weight: share of the validator's last weights{}",
        interval.as_secs(),
        if frame.last { "" } else { "; Ctrl-C stops" }
    ));
    if let Some(height) = height {
        let room = height.saturating_sub(1).max(1);
        if out.len() > room {
            let hidden = out.len() - room + 1;
            out.truncate(room.saturating_sub(1));
            out.push(format!(
                "… {hidden} more lines (a taller terminal shows them)"
            ));
            out.truncate(room);
        }
    }
    out.iter().map(|l| cut(l.trim_end(), width)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::localnet::nodes::MinerKind;

    fn miner(uid: u16, kind: MinerKind, score: f64, weight: f64, incentive: f64) -> SummaryMiner {
        SummaryMiner {
            uid,
            hotkey: "5CSkCfAbCdEfGhIjKlMnOpQrStUvWxYz9364".into(),
            kind,
            requests: 111,
            verified: if kind == MinerKind::Faulty { 0 } else { 111 },
            mean_response_ms: 83.0,
            score,
            weight,
            incentive,
            emission: (incentive * 8.6 * RAO_PER_TAO as f64) as u64,
            mean_proof_bytes: 64_716.8,
        }
    }

    fn board(step: f64) -> Vec<SummaryMiner> {
        vec![
            miner(2, MinerKind::Honest, 0.016667 * step, 0.538, 0.538 * step),
            miner(3, MinerKind::Honest, 0.0088 * step, 0.284, 0.284 * step),
            miner(4, MinerKind::Slow, 0.005515 * step, 0.178, 0.178 * step),
            miner(5, MinerKind::Faulty, 0.0, 0.0, 0.0),
        ]
    }

    /// Eight refreshes, scores and incentive climbing from 0 to their last value in sevenths.
    fn history() -> (History, Vec<SummaryMiner>) {
        let mut h = History::new(60);
        let mut last = Vec::new();
        for i in 0..8 {
            last = board(f64::from(i) / 7.0);
            h.record(&last);
        }
        (h, last)
    }

    fn frame(lines: &[SummaryMiner], last: bool) -> Frame<'_> {
        Frame {
            lines,
            block: 459,
            epoch: 21,
            elapsed: Duration::from_secs(110),
            last,
        }
    }

    #[test]
    fn a_wide_terminal_shows_every_column_and_the_trends() {
        let (h, lines) = history();
        let out = render(&frame(&lines, false), &h, Duration::from_secs(5), 160, None);
        assert_eq!(out.len(), 1 + 1 + 4 + 1, "{out:#?}");
        assert!(
            out[0].starts_with("── block 459 · epoch 21 · 110 s ──"),
            "{}",
            out[0]
        );
        assert_eq!(out[0].chars().count(), 160);
        for title in [
            "HOTKEY",
            "PROOF_KB",
            "WEIGHT",
            "EMIT(TAO)",
            "SCORE TREND",
            "INCENTIVE TREND",
        ] {
            assert!(out[1].contains(title), "{title} missing: {}", out[1]);
        }
        // The best miner: its hotkey shortened, its weight as a share with a bar, and both
        // sparklines climbing to the top of the common scale.
        let best = &out[2];
        assert!(
            best.contains("5CSkCf…9364") && best.contains("53.8%"),
            "{best}"
        );
        assert!(best.contains("█████▍"), "{best}");
        assert!(best.contains("▁▂▃▄▅▆▇█"), "{best}");
        // The faulty miner stays on the floor.
        assert!(
            out[5].contains("faulty") && out[5].contains("▁▁▁▁▁▁▁▁"),
            "{}",
            out[5]
        );
        assert!(!out[5].contains('█'), "{}", out[5]);
        // The second miner's incentive ends at 0.284 of the best one's 0.538 (a common scale):
        // 3.7 of 7 steps, drawn as the fifth bar.
        assert!(out[3].ends_with('▅'), "{}", out[3]);
        assert!(
            out[6].starts_with("trends: last 8 refreshes, every 5 s"),
            "{}",
            out[6]
        );
        for l in &out {
            assert!(l.chars().count() <= 160, "{l}");
        }
    }

    #[test]
    fn narrow_terminals_drop_the_least_telling_columns_first() {
        let (h, lines) = history();
        let at = |w: usize| render(&frame(&lines, false), &h, Duration::from_secs(5), w, None);
        let out = at(120);
        assert!(
            !out[1].contains("PROOF_KB") && !out[1].contains("HOTKEY"),
            "{}",
            out[1]
        );
        assert!(
            out[1].contains("MEAN_MS") && out[1].contains("EMIT(TAO)"),
            "{}",
            out[1]
        );
        let out = at(60);
        for gone in ["REQS", "MEAN_MS", "EMIT(TAO)", "INCENTIVE TREND"] {
            assert!(!out[1].contains(gone), "{gone} at 60: {}", out[1]);
        }
        for kept in ["UID", "KIND", "SCORE", "WEIGHT", "INCENTIVE"] {
            assert!(out[1].contains(kept), "{kept} at 60: {}", out[1]);
        }
        assert!(
            out[2].contains("53.8%") && out[2].contains('█'),
            "{}",
            out[2]
        );
        // Below the always-kept columns, the sparkline shrinks so its newest cells still show.
        let out = at(46);
        assert!(out[2].ends_with("▆▇█"), "{}", out[2]);
        assert_eq!(out[2].chars().count(), 46, "{}", out[2]);
        for w in [20, 40, 60, 80, 100, 120] {
            for l in at(w) {
                assert!(l.chars().count() <= w, "over {w}: {l}");
            }
        }
        // Even a silly width yields lines (cut), not a panic.
        assert!(at(0).iter().all(String::is_empty));
    }

    #[test]
    fn short_terminals_keep_the_frame_above_the_last_row() {
        let (h, lines) = history();
        let out = render(
            &frame(&lines, false),
            &h,
            Duration::from_secs(5),
            100,
            Some(6),
        );
        assert_eq!(out.len(), 5, "{out:#?}");
        assert!(out[4].starts_with("… 3 more lines"), "{}", out[4]);
        let out = render(
            &frame(&lines, false),
            &h,
            Duration::from_secs(5),
            100,
            Some(40),
        );
        assert_eq!(out.len(), 7);
    }

    #[test]
    fn the_last_frame_says_so() {
        let (h, lines) = history();
        let out = render(&frame(&lines, true), &h, Duration::from_secs(5), 100, None);
        assert!(out[0].starts_with("── final · block 459"), "{}", out[0]);
        assert!(!out.last().unwrap().contains("Ctrl-C"));
    }

    #[test]
    fn a_miner_without_history_gets_blank_trends() {
        let h = History::new(10);
        let lines = board(1.0);
        let out = render(&frame(&lines, false), &h, Duration::from_secs(5), 160, None);
        assert!(!out[2].contains('▁'), "{}", out[2]);
        assert!(out[6].starts_with("trends: last 0 refreshes"), "{}", out[6]);
    }
}
