//! The once-a-minute INFO line that stands for the per-response lines (now at DEBUG): a
//! validator scoring dozens of responses a second logged about 40 KB/s at INFO, 3.5 GB a day.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the summary is logged.
pub(crate) const SUMMARY_INTERVAL: Duration = Duration::from_secs(60);

/// Responses scored since the last summary.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Window {
    pub(crate) responses: u64,
    pub(crate) verified: u64,
    pub(crate) response_time_sum: f64,
    /// Failures by their first word of detail (bounded: one key per distinct reason word).
    pub(crate) failures: BTreeMap<String, u64>,
}

impl Window {
    fn record(&mut self, verified: bool, response_time: f64, detail: &str) {
        self.responses += 1;
        self.response_time_sum += response_time;
        if verified {
            self.verified += 1;
        } else if self.failures.len() < 16 {
            let reason = detail.split_whitespace().next().unwrap_or("unknown");
            *self.failures.entry(reason.to_owned()).or_default() += 1;
        } else {
            *self.failures.entry("other".to_owned()).or_default() += 1;
        }
    }
}

/// The running window and when it started.
#[derive(Debug)]
pub(crate) struct ResponseSummary {
    inner: Mutex<(Instant, Window)>,
    interval: Duration,
}

impl ResponseSummary {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            inner: Mutex::new((Instant::now(), Window::default())),
            interval,
        }
    }

    /// Counts one scored response; returns the window to log when the interval has passed
    /// (and starts a new one).
    pub(crate) fn record(
        &self,
        verified: bool,
        response_time: f64,
        detail: &str,
    ) -> Option<(Duration, Window)> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.1.record(verified, response_time, detail);
        let elapsed = inner.0.elapsed();
        if elapsed < self.interval {
            return None;
        }
        let window = std::mem::take(&mut inner.1);
        inner.0 = Instant::now();
        Some((elapsed, window))
    }
}

/// Logs a finished window at INFO.
pub(crate) fn log(elapsed: Duration, w: &Window) {
    let mean_ms = if w.responses > 0 {
        1e3 * w.response_time_sum / w.responses as f64
    } else {
        0.0
    };
    let failures: Vec<String> = w.failures.iter().map(|(k, v)| format!("{k}={v}")).collect();
    tracing::info!(
        seconds = elapsed.as_secs(),
        responses = w.responses,
        verified = w.verified,
        failed = w.responses - w.verified,
        mean_response_ms = mean_ms.round(),
        failures = %failures.join(","),
        "responses scored (per-response lines at debug)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_handed_out_once_per_interval() {
        let s = ResponseSummary::new(Duration::from_millis(50));
        assert_eq!(s.record(true, 0.5, "ok"), None);
        assert_eq!(s.record(false, 1.5, "invalid proof: x"), None);
        std::thread::sleep(Duration::from_millis(60));
        let (_, w) = s.record(false, 1.0, "timeout after 60 s").expect("due");
        assert_eq!((w.responses, w.verified), (3, 1));
        assert_eq!(w.response_time_sum, 3.0);
        assert_eq!(w.failures.get("invalid"), Some(&1));
        assert_eq!(w.failures.get("timeout"), Some(&1));
        assert_eq!(s.record(true, 0.1, ""), None, "a new window started");
    }

    #[test]
    fn failure_reasons_are_bounded() {
        let mut w = Window::default();
        for i in 0..100 {
            w.record(false, 0.0, &format!("reason{i} detail"));
        }
        assert!(w.failures.len() <= 17);
        assert_eq!(w.failures.values().sum::<u64>(), 100);
    }
}
